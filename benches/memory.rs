//! Memory of the server with many cases on file: the store is filled with N cases
//! (default 100,000; suggestions and complaints of 400 characters), all but the last
//! 2,000 resolved, as years of an office's work would leave them; then `tambon serve`
//! starts on it. Reported: the time to fill, start-up, the server's resident memory when
//! idle, and after `/report` (which reads every case).
//!
//! Run: `cargo bench --bench memory` (optionally `-- N_CASES`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tambon::domain::case::{CaseKind, NewCase};
use tambon::domain::change::CaseChange;
use tambon::domain::{Channel, ChatKey};
use tambon::store::Store;

fn main() -> anyhow::Result<()> {
    let n_cases: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");

    let started = Instant::now();
    {
        let store = Store::open(&data)?;
        let text = "ไฟถนนหน้าวัดดับมาหลายคืนแล้ว ".repeat(14);
        let n_open = 2_000.min(n_cases);
        for n in 0..n_cases {
            let reporter = ChatKey::new(Channel::Line, format!("U{n:032x}"));
            let filed = store.commit_case_change(
                &reporter,
                CaseChange::File {
                    case: Box::new(NewCase {
                        kind: if n % 3 == 0 {
                            CaseKind::Suggestion
                        } else {
                            CaseKind::Complaint
                        },
                        category: "roads".to_owned(),
                        division: "engineering".to_owned(),
                        text: text.clone(),
                        location: None,
                        place: Some("หมู่ 3".to_owned()),
                        photos: Vec::new(),
                        contact: Some("089-000-0000".to_owned()),
                        reporter: reporter.clone(),
                        anonymous: false,
                    }),
                    receipt_hash: None,
                },
                chrono::Utc::now(),
            )?;
            if n < n_cases - n_open {
                store.commit_case_change(
                    &reporter,
                    CaseChange::Close {
                        case_id: filed.id,
                        note: "ซ่อมเรียบร้อยแล้ว".to_owned(),
                        photo: None,
                    },
                    chrono::Utc::now(),
                )?;
            }
        }
        store.sync_blocking()?;
    }
    println!(
        "{n_cases} cases filed in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let started = Instant::now();
    let mut server = Command::new(env!("CARGO_BIN_EXE_tambon"))
        .args([
            "--config",
            root.join("config/tambon.toml").to_str().unwrap_or_default(),
            "--data-dir",
            data.to_str().unwrap_or_default(),
        ])
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let client = reqwest::Client::new();
        loop {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not start"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        println!(
            "start-up to a served /healthz with {n_cases} cases: {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        println!(
            "server resident memory, idle: {:.1} MiB",
            rss_kib(server.id()) as f64 / 1024.0
        );
        let asked = Instant::now();
        let page = client.get(format!("{base}/report")).send().await?;
        anyhow::ensure!(page.status().is_success(), "/report: {}", page.status());
        page.bytes().await?;
        println!(
            "/report over {n_cases} cases: {:.0} ms; server resident memory after: {:.1} MiB",
            asked.elapsed().as_secs_f64() * 1e3,
            rss_kib(server.id()) as f64 / 1024.0
        );
        Ok(())
    });
    server.kill()?;
    server.wait()?;
    result
}

/// The resident memory of a process, from /proc.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
