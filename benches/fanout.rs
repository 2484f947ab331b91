//! Benchmark of an update's fan-out to 10,000 subscribers against local fakes of the
//! LINE Messaging API and the Telegram Bot API (on 127.0.0.1, answering 200 at once).
//!
//! The store is filled with subscribers of village 1 (by default 9,000 on LINE, who get
//! multicasts of 500, and 1,000 on Telegram, who get a message each), one update is
//! scheduled to go out now, and the real server starts: the time is from its start to the
//! last recipient reached at the fakes, with the fan-out steps (one transaction per 500
//! subscribers) and the outbox dispatcher as they run in production.
//!
//! Run: `cargo bench --bench fanout` (optionally `-- N_LINE N_TELEGRAM`).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tambon::config::{LineSecrets, Secrets, Settings, TelegramSecrets};
use tambon::domain::update::{Subscription, Topic, Update, UpdateState};
use tambon::domain::{Channel, ChatKey};
use tambon::startup::Application;

#[derive(Clone, Default)]
struct Reached {
    line: Arc<AtomicUsize>,
    line_calls: Arc<AtomicUsize>,
    telegram: Arc<AtomicUsize>,
}

async fn multicast(State(reached): State<Reached>, Json(body): Json<Value>) -> Json<Value> {
    let n = body["to"].as_array().map_or(0, Vec::len);
    reached.line.fetch_add(n, Ordering::SeqCst);
    reached.line_calls.fetch_add(1, Ordering::SeqCst);
    Json(json!({}))
}

async fn send_message(State(reached): State<Reached>, Json(body): Json<Value>) -> Json<Value> {
    reached.telegram.fetch_add(1, Ordering::SeqCst);
    Json(json!({ "ok": true, "result": {
        "message_id": 1, "date": 0,
        "chat": { "id": body["chat_id"], "type": "private", "first_name": "x" },
        "text": body["text"],
    }}))
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse::<usize>().ok());
    let n_line = args.next().unwrap_or(9_000);
    let n_telegram = args.next().unwrap_or(1_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(n_line, n_telegram))
}

async fn run(n_line: usize, n_telegram: usize) -> anyhow::Result<()> {
    let reached = Reached::default();
    let fake = Router::new()
        .route("/v2/bot/message/multicast", post(multicast))
        .route("/bot{token}/SendMessage", post(send_message))
        .route("/bot{token}/sendMessage", post(send_message))
        .with_state(reached.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let fake_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, fake).await });

    let dir = tempfile::tempdir()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut settings = Settings::load(&root.join("config/tambon.toml"))?;
    settings.server.listen = "127.0.0.1:0".parse()?;
    settings.server.data_dir = dir.path().to_owned();
    settings.line.api_base = fake_url.clone();
    settings.line.data_api_base = fake_url.clone();
    settings.telegram.api_url = fake_url.clone();
    settings.telegram.mode = tambon::config::TelegramMode::Webhook;
    // The fake takes any rate: this measures tambon's own cost. Against the real API the
    // sender paces Telegram to `max_messages_per_second` (30: 10,000 take 5.6 minutes).
    settings.telegram.max_messages_per_second = 0;

    let started = Instant::now();
    {
        let store = tambon::store::Store::open(dir.path())?;
        let now = chrono::Utc::now();
        let subscribe = |chat: ChatKey| {
            store.set_subscription(&Subscription {
                v: 1,
                chat,
                village: Some(1),
                topics: Topic::ALL.to_vec(),
                since: now,
            })
        };
        for n in 0..n_line {
            subscribe(ChatKey::new(Channel::Line, format!("U{n:032x}")))?;
        }
        for n in 0..n_telegram {
            subscribe(ChatKey::new(
                Channel::Telegram,
                format!("{}", 700_000_000 + n),
            ))?;
        }
        store.create_update(Update {
            v: 1,
            id: 0,
            author: ChatKey::new(Channel::Line, "Uhead"),
            author_label: "staff(office) bench".to_owned(),
            topic: Topic::Office,
            villages: Vec::new(),
            text: "ประกาศ: วันพรุ่งนี้ อบต. เปิดรับชำระภาษีที่ดินถึง 18.00 น.".to_owned(),
            photo: None,
            location: None,
            created_at: now,
            send_at: now,
            state: UpdateState::Scheduled,
            n_recipients: 0,
            n_undeliverable: 0,
        })?;
        store.sync_blocking()?;
    }
    println!(
        "{} subscribers written in {:.2} s",
        n_line + n_telegram,
        started.elapsed().as_secs_f64()
    );

    let secrets = Secrets {
        line: Some(LineSecrets {
            channel_secret: "bench-secret".to_owned().into(),
            access_token: "bench-token".to_owned().into(),
        }),
        messenger: None,
        telegram: Some(TelegramSecrets {
            bot_token: "123:bench".to_owned().into(),
            webhook_secret: Some("bench".to_owned().into()),
        }),
    };
    let started = Instant::now();
    let app = Application::build(settings, &secrets).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let deadline = started + Duration::from_secs(120);
    loop {
        let line = reached.line.load(Ordering::SeqCst);
        let telegram = reached.telegram.load(Ordering::SeqCst);
        if line >= n_line && telegram >= n_telegram {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {line} LINE and {telegram} Telegram recipients reached in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "fan-out to {} subscribers ({} on LINE in {} multicast calls, {} on Telegram): {:.2} s from start-up to the last recipient reached",
        n_line + n_telegram,
        reached.line.load(Ordering::SeqCst),
        reached.line_calls.load(Ordering::SeqCst),
        reached.telegram.load(Ordering::SeqCst),
        elapsed.as_secs_f64()
    );
    let _ = stop.send(());
    server.await??;
    Ok(())
}
