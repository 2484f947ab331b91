//! The real `tambon serve` binary as a child process, on a real data directory: for the
//! tests that kill it (`crash.rs`) or read what it logs (`privacy.rs`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::LINE_SECRET;
use crate::line_fake::TOKEN;

pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// Starts the server and waits until it answers. With `log`, its log lines (the
    /// production level, `info`) go to that file; without, only errors, nowhere.
    pub async fn start(config: &Path, data: &Path, log: Option<&Path>) -> Server {
        Self::start_with(config, data, log, &[]).await
    }

    /// `start`, with more environment variables (other channels' secrets).
    pub async fn start_with(
        config: &Path,
        data: &Path,
        log: Option<&Path>,
        env: &[(&str, &str)],
    ) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_tambon"));
        command
            .args(["--config", config.to_str().unwrap()])
            .args(["--data-dir", data.to_str().unwrap()])
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("LINE_CHANNEL_SECRET", LINE_SECRET)
            .env("LINE_CHANNEL_ACCESS_TOKEN", TOKEN)
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::null());
        match log {
            Some(path) => command
                .env("RUST_LOG", "info")
                .stderr(std::fs::File::create(path).unwrap()),
            None => command.env("RUST_LOG", "error").stderr(Stdio::null()),
        };
        let child = command.spawn().expect("tambon starts");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        let client = reqwest::Client::new();
        while client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server comes up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    /// Waits, at most `within`, for the process to end by itself (at a crash point).
    pub async fn exited(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shipped configuration with its files found from anywhere and LINE pointed at
/// `line_api` (a fake), with `replace` applied (each `from` must be found); written to
/// `dir`.
pub fn config_for(dir: &Path, line_api: &str, replace: &[(&str, &str)]) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let shipped = std::fs::read_to_string(root.join("tambon.toml")).unwrap();
    let mut config = crate::helpers::with_absolute_paths(&shipped, &root)
        .replace(
            "api_base = \"https://api.line.me\"",
            &format!("api_base = \"{line_api}\""),
        )
        .replace(
            "data_api_base = \"https://api-data.line.me\"",
            &format!("data_api_base = \"{line_api}\""),
        );
    assert!(config.contains(line_api));
    for (from, to) in replace {
        assert!(config.contains(from), "{from} is in config/tambon.toml");
        config = config.replace(from, to);
    }
    config.push('\n');
    let path = dir.join("tambon.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// Posts a LINE webhook body signed as LINE would; the status, or `None` when the
/// server did not answer (it died).
pub async fn post_line(http: &reqwest::Client, base: &str, body: &[u8]) -> Option<u16> {
    let secret = secrecy::SecretString::from(LINE_SECRET.to_owned());
    let signature = tambon::channels::line::signature::sign(&secret, body);
    let response = http
        .post(format!("{base}/webhook/line"))
        .header("content-type", "application/json")
        .header("x-line-signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}

/// Waits until the server has processed everything received and sent everything due.
pub async fn settled(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let health: serde_json::Value = http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if health["inbound_queued"] == 0 && health["deliveries_pending"] == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "never settled: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
