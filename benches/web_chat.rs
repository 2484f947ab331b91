//! Load benchmark of the web chat API: events per second, latency to the answer and CPU
//! per event, at concurrency 1 and 64, against the real server on 127.0.0.1.
//!
//! Each event is a question to the knowledge base from its own session: validated,
//! deduplicated, run through the engine, committed in one sled transaction and made
//! durable by the group commit before the answer is returned.
//!
//! Run: `cargo bench --bench web_chat` (optionally `-- N_EVENTS`).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tambon::config::Settings;
use tambon::startup::Application;

const QUESTIONS: &[&str] = &[
    "มาตรการป้องกันการทุจริตมีอะไรบ้าง",
    "กองคลังรับผิดชอบเรื่องอะไร",
    "ความคืบหน้าการเปิดเผยข้อมูลงบประมาณ",
    "What was the OIT score?",
    "who is responsible for the procurement plan?",
];

/// Messages as residents type them, for the cost of reading one.
const MESSAGES: &[&str] = &[
    "ถนนหน้าบ้านเป็นหลุม รถล้มไปสองคันแล้ว",
    "ติดตามเรื่อง CP-2569-0001 ค่ะ",
    "อยากแจ้งทุจริตแต่ไม่อยากบอกชื่อได้มั้ยคะ",
    "คะแนนโอไอทีเท่าไหร่",
    "who handles the budget report?",
    "สวัสดีค่ะ",
];

fn main() -> anyhow::Result<()> {
    let n_events: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(5_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(n_events))
}

async fn run(n_events: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut settings = Settings::load(&root.join("config/tambon.toml"))?;
    settings.server.listen = "127.0.0.1:0".parse()?;
    settings.server.data_dir = dir.path().to_owned();
    // The load comes from one address and a few sessions: no rate limits here.
    settings.server.web_chat_per_session_per_minute = 0;
    settings.server.web_chat_per_address_per_minute = 0;

    let started = Instant::now();
    let engine = tambon::startup::load_engine(&Arc::new(settings.clone()))?;
    let loaded = started.elapsed();
    std::hint::black_box(engine.kb());
    println!(
        "engine: files read and checked in {loaded:?}; knowledge (Thai segmenter, plan \
         index, intents) ready on its own thread after {:?}",
        started.elapsed()
    );
    let n_answers = 2_000;
    let started = Instant::now();
    for n in 0..n_answers {
        let question = QUESTIONS[n % QUESTIONS.len()];
        std::hint::black_box(engine.answer_question(tambon::domain::Lang::Th, question));
    }
    println!(
        "knowledge-base answer (search and render, no I/O): {:.1} µs",
        started.elapsed().as_secs_f64() * 1e6 / n_answers as f64
    );
    let started = Instant::now();
    for n in 0..n_answers {
        let message = MESSAGES[n % MESSAGES.len()];
        std::hint::black_box(engine.read(message));
    }
    println!(
        "reading a resident's message (words, intent, plan): {:.1} µs",
        started.elapsed().as_secs_f64() * 1e6 / n_answers as f64
    );

    let started = Instant::now();
    let app = Application::build(settings, &tambon::config::Secrets::default()).await?;
    let address = format!("http://127.0.0.1:{}/api/chat", app.port());
    let build_time = started.elapsed();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    println!("start-up (open store, load plan, vocabulary, texts; bind): {build_time:?}");

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()?;
    for concurrency in [1usize, 64] {
        let result = load(&client, &address, n_events, concurrency).await?;
        println!(
            "concurrency {concurrency:>2}: {:>7.0} events/s, p50 {:>6.2} ms, p99 {:>6.2} ms, CPU {:.3} ms/event (whole process: server and client)",
            result.per_second, result.p50_ms, result.p99_ms, result.cpu_ms_per_event
        );
    }
    let _ = stop.send(());
    server.await??;
    Ok(())
}

struct LoadResult {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_ms_per_event: f64,
}

async fn load(
    client: &reqwest::Client,
    address: &str,
    n_events: usize,
    concurrency: usize,
) -> anyhow::Result<LoadResult> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let cpu_before = process_cpu_time();
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let address = address.to_owned();
        let next = Arc::clone(&next);
        workers.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= n_events {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let body = serde_json::json!({
                    "session": format!("bench-session-{concurrency}-{worker:04}-{n:08}"),
                    "id": format!("e{n}"),
                    "text": QUESTIONS[n % QUESTIONS.len()],
                });
                let sent = Instant::now();
                let response = client.post(&address).json(&body).send().await?;
                anyhow::ensure!(response.status().is_success(), "HTTP {}", response.status());
                let _ = response.bytes().await?;
                latencies.push(sent.elapsed());
            }
        });
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(n_events);
    while let Some(result) = workers.join_next().await {
        latencies.extend(result??);
    }
    let elapsed = started.elapsed();
    let cpu = process_cpu_time() - cpu_before;
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Ok(LoadResult {
        per_second: n_events as f64 / elapsed.as_secs_f64(),
        p50_ms: at(0.50).as_secs_f64() * 1e3,
        p99_ms: at(0.99).as_secs_f64() * 1e3,
        cpu_ms_per_event: cpu.as_secs_f64() * 1e3 / n_events as f64,
    })
}

/// User plus system CPU time of this process so far (Linux: /proc/self/stat).
fn process_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    // The kernel's clock tick is 100 Hz on every Linux this runs on.
    Duration::from_millis(ticks * 10)
}
