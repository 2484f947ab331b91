//! `spawn_app`: the server on port 0 over a temporary data directory, and a fake
//! division webhook that records what it receives.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use tambon::config::{Destination, DestinationKind, Settings};
use tambon::startup::Application;
use tokio::sync::oneshot;

/// The secret the fake division webhook shares with tambon.
pub const HOOK_SECRET: &str = "test-hook-secret";
pub const HOOK_SECRET_ENV: &str = "TAMBON_TEST_HOOK_SECRET";

pub struct TestApp {
    pub address: String,
    /// The running application's store (sled allows one opener: dropped by `stop`).
    pub store: tambon::store::Store,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub fn settings(data_dir: &Path, hook_url: Option<&str>) -> Settings {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut settings =
        Settings::load(&root.join("config/tambon.toml")).expect("the shipped configuration loads");
    settings.server.listen = "127.0.0.1:0".parse().unwrap();
    settings.server.data_dir = data_dir.to_owned();
    settings.delivery.base_delay_ms = 20;
    settings.delivery.max_delay_ms = 100;
    settings.delivery.max_attempts = 5;
    // The fakes take any rate; pacing is tested on its own (`sender::Pacer`).
    settings.telegram.max_messages_per_second = 0;
    if let Some(url) = hook_url {
        // SAFETY of intent: every test sets the same value, so concurrent tests agree.
        std::env::set_var(HOOK_SECRET_ENV, HOOK_SECRET);
        settings.destinations.push(Destination {
            id: "engineering-hook".to_owned(),
            kind: DestinationKind::Webhook {
                url: url.to_owned(),
                secret_env: Some(HOOK_SECRET_ENV.to_owned()),
            },
        });
        for division in &mut settings.divisions {
            if division.id == "engineering" {
                division.destinations.push("engineering-hook".to_owned());
            }
        }
    }
    settings
}

/// The secrets of the tests' LINE channel and Telegram bot.
pub fn line_and_telegram_secrets() -> tambon::config::Secrets {
    tambon::config::Secrets {
        line: Some(tambon::config::LineSecrets {
            channel_secret: LINE_SECRET.to_owned().into(),
            access_token: crate::line_fake::TOKEN.to_owned().into(),
        }),
        messenger: None,
        telegram: Some(tambon::config::TelegramSecrets {
            bot_token: TELEGRAM_TOKEN.to_owned().into(),
            webhook_secret: Some(TELEGRAM_WEBHOOK_SECRET.to_owned().into()),
        }),
    }
}

/// The Telegram secrets of the tests.
pub const TELEGRAM_TOKEN: &str = "123456:test-telegram-token";
pub const TELEGRAM_WEBHOOK_SECRET: &str = "test-telegram-webhook-secret";

/// The Messenger secrets of the tests.
pub const MESSENGER_APP_SECRET: &str = "test-messenger-app-secret";
pub const MESSENGER_PAGE_TOKEN: &str = "test-messenger-page-token";
pub const MESSENGER_VERIFY_TOKEN: &str = "test-messenger-verify-token";

/// The LINE channel secret tests sign webhook bodies with.
pub const LINE_SECRET: &str = "test-line-channel-secret";

impl TestApp {
    pub async fn spawn(data_dir: &Path, hook_url: Option<&str>) -> Self {
        Self::spawn_with(
            settings(data_dir, hook_url),
            tambon::config::Secrets::default(),
        )
        .await
    }

    /// The server with the LINE channel on, its APIs at `line_api` (a local fake).
    pub async fn spawn_line(data_dir: &Path, line_api: &str) -> Self {
        Self::spawn_line_with(settings(data_dir, None), line_api).await
    }

    /// The server with `settings` and the LINE channel on, its API at `line_api`.
    pub async fn spawn_line_with(mut settings: Settings, line_api: &str) -> Self {
        settings.line.api_base = line_api.to_owned();
        settings.line.data_api_base = line_api.to_owned();
        let secrets = tambon::config::Secrets {
            line: Some(tambon::config::LineSecrets {
                channel_secret: LINE_SECRET.to_owned().into(),
                access_token: crate::line_fake::TOKEN.to_owned().into(),
            }),
            messenger: None,
            telegram: None,
        };
        Self::spawn_with(settings, secrets).await
    }

    /// The server with the Messenger channel on, its Graph API at `graph_api` (a fake).
    pub async fn spawn_messenger(data_dir: &Path, graph_api: &str) -> Self {
        let mut settings = settings(data_dir, None);
        settings.messenger.graph_base = graph_api.to_owned();
        let secrets = tambon::config::Secrets {
            line: None,
            messenger: Some(tambon::config::MessengerSecrets {
                app_secret: MESSENGER_APP_SECRET.to_owned().into(),
                page_token: MESSENGER_PAGE_TOKEN.to_owned().into(),
                verify_token: MESSENGER_VERIFY_TOKEN.to_owned().into(),
            }),
            telegram: None,
        };
        Self::spawn_with(settings, secrets).await
    }

    /// The server with the Telegram channel on, its Bot API at `bot_api` (a fake), in
    /// webhook mode, or polling when `polling` is set.
    pub async fn spawn_telegram(data_dir: &Path, bot_api: &str, polling: bool) -> Self {
        let mut settings = settings(data_dir, None);
        settings.telegram.api_url = bot_api.to_owned();
        settings.telegram.poll_timeout_secs = 1;
        if polling {
            settings.telegram.mode = tambon::config::TelegramMode::Polling;
        }
        let secrets = tambon::config::Secrets {
            line: None,
            messenger: None,
            telegram: Some(tambon::config::TelegramSecrets {
                bot_token: TELEGRAM_TOKEN.to_owned().into(),
                webhook_secret: Some(TELEGRAM_WEBHOOK_SECRET.to_owned().into()),
            }),
        };
        Self::spawn_with(settings, secrets).await
    }

    /// The server with both LINE and Telegram on, against their fakes.
    pub async fn spawn_line_and_telegram(data_dir: &Path, line_api: &str, bot_api: &str) -> Self {
        let mut settings = settings(data_dir, None);
        settings.line.api_base = line_api.to_owned();
        settings.line.data_api_base = line_api.to_owned();
        settings.telegram.api_url = bot_api.to_owned();
        Self::spawn_with(settings, line_and_telegram_secrets()).await
    }

    /// Posts a Telegram update with the webhook's secret token (or `secret`); returns
    /// the HTTP status.
    pub async fn post_telegram(&self, body: &[u8], secret: Option<&str>) -> u16 {
        let mut request = self
            .client
            .post(format!("{}/webhook/telegram", self.address))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(secret) = secret {
            request = request.header("x-telegram-bot-api-secret-token", secret);
        }
        request.send().await.unwrap().status().as_u16()
    }

    /// Posts a Messenger webhook body signed as Meta would; returns the HTTP status.
    pub async fn post_messenger(&self, body: &[u8]) -> u16 {
        let secret = secrecy::SecretString::from(MESSENGER_APP_SECRET.to_owned());
        let signature = tambon::channels::messenger::signature::sign(&secret, body);
        self.post_messenger_signed(body, Some(&signature)).await
    }

    pub async fn post_messenger_signed(&self, body: &[u8], signature: Option<&str>) -> u16 {
        let mut request = self
            .client
            .post(format!("{}/webhook/messenger", self.address))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        request.send().await.unwrap().status().as_u16()
    }

    pub async fn spawn_with(settings: Settings, secrets: tambon::config::Secrets) -> Self {
        if std::env::var("TEST_LOG").is_ok() {
            tambon::telemetry::init();
        }
        let app = Application::build(settings, &secrets)
            .await
            .expect("the application builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let store = app.store();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self {
            address,
            store,
            client: reqwest::Client::new(),
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// Waits until everything received has been processed and everything due has gone
    /// out: the inbound queues are empty (a turn removes its event in the transaction
    /// that writes its answers) and no delivery is pending. A delivery waiting for a
    /// retry keeps it waiting; a dead one does not. Proof that nothing more will be
    /// sent, where a quiet spell would only suggest it.
    pub async fn settled(&self) {
        eventually("everything processed and sent", || {
            self.store.n_queued_inbound() == 0
                && self
                    .store
                    .next_due_ms()
                    .expect("the outbox reads")
                    .is_none()
        })
        .await;
    }

    /// Stops the server as SIGTERM would, and waits until the store is closed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.address))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Posts a chat message; returns the status and the JSON answer.
    pub async fn chat(&self, body: Value) -> (StatusCode, Value) {
        let response = self
            .post_raw(
                "/api/chat",
                "application/json",
                serde_json::to_vec(&body).unwrap(),
            )
            .await;
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, response.json().await.unwrap())
    }

    /// Posts a LINE webhook body signed as LINE would; returns the HTTP status.
    pub async fn post_line(&self, body: &[u8]) -> u16 {
        let secret = secrecy::SecretString::from(LINE_SECRET.to_owned());
        let signature = tambon::channels::line::signature::sign(&secret, body);
        self.post_line_signed(body, Some(&signature)).await
    }

    pub async fn post_line_signed(&self, body: &[u8], signature: Option<&str>) -> u16 {
        let mut request = self
            .client
            .post(format!("{}/webhook/line", self.address))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("x-line-signature", signature);
        }
        request.send().await.unwrap().status().as_u16()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }
}

static EVENT_IDS: AtomicUsize = AtomicUsize::new(0);

/// A resident in the web chat: a session, and a fresh event id per message.
pub struct Resident<'a> {
    pub app: &'a TestApp,
    pub session: String,
}

impl<'a> Resident<'a> {
    pub fn new(app: &'a TestApp, name: &str) -> Self {
        Self {
            app,
            session: format!(
                "session-{name}-{:08}",
                EVENT_IDS.fetch_add(1, Ordering::SeqCst)
            ),
        }
    }

    pub fn next_id() -> String {
        format!("ev{}", EVENT_IDS.fetch_add(1, Ordering::SeqCst))
    }

    pub async fn text(&self, text: &str) -> String {
        self.send(json!({ "text": text })).await
    }

    pub async fn tap(&self, payload: &str) -> String {
        self.send(json!({ "postback": payload })).await
    }

    /// Sends one message and returns what the resident sees, as plain text (buttons as
    /// `[label|payload]`).
    pub async fn send(&self, mut message: Value) -> String {
        message["session"] = json!(self.session);
        message["id"] = json!(Self::next_id());
        let (status, body) = self.app.chat(message).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        render(&body)
    }
}

pub fn render(body: &Value) -> String {
    let button = |c: &Value| {
        format!(
            "[{}|{}]",
            c["label"].as_str().unwrap(),
            c["payload"].as_str().unwrap()
        )
    };
    let mut out = Vec::new();
    for reply in body["replies"].as_array().expect("replies") {
        match reply["type"].as_str().unwrap() {
            "text" => out.push(reply["text"].as_str().unwrap().to_owned()),
            "quick_replies" => {
                out.push(reply["text"].as_str().unwrap().to_owned());
                out.push(
                    reply["choices"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(button)
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
            "card" => {
                out.push(format!("== {} ==", reply["title"].as_str().unwrap()));
                for line in reply["lines"].as_array().unwrap() {
                    out.push(line.as_str().unwrap().to_owned());
                }
                out.push(
                    reply["buttons"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(button)
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
            other => panic!("unknown reply type {other}"),
        }
    }
    out.join("\n")
}

/// A division's webhook that refuses the first `n_failures` requests with a 500.
#[derive(Clone, Default)]
pub struct FakeHook {
    pub received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    n_failures: Arc<AtomicUsize>,
}

impl FakeHook {
    pub async fn start(n_failures: usize) -> (Self, String) {
        let hook = Self {
            received: Arc::default(),
            n_failures: Arc::new(AtomicUsize::new(n_failures)),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let router = Router::new()
            .route("/hook", post(receive))
            .with_state(hook.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (hook, url)
    }

    pub fn n_received(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

async fn receive(State(hook): State<FakeHook>, headers: HeaderMap, body: Bytes) -> StatusCode {
    hook.received.lock().unwrap().push((headers, body));
    let left = hook.n_failures.load(Ordering::SeqCst);
    if left > 0 {
        hook.n_failures.store(left - 1, Ordering::SeqCst);
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

/// Waits (bounded) until `done` holds.
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The case code in a receipt card title ("รับเรื่องแล้ว เลขที่ CP-2569-0001").
pub fn code_in(seen: &str) -> String {
    seen.split_whitespace()
        .find(|word| {
            let parts: Vec<&str> = word.split('-').collect();
            parts.len() == 3 && parts[0].len() == 2 && parts[1].len() == 4
        })
        .unwrap_or_else(|| panic!("no case code in {seen}"))
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

/// Opens the store of a stopped server. Its last blocking tasks may hold sled's lock for
/// a few more milliseconds after `stop` returns (they cannot be cancelled), so retry.
pub fn reopen(data_dir: &Path) -> tambon::store::Store {
    let mut last_error = None;
    for _ in 0..100 {
        match tambon::store::Store::open(data_dir) {
            Ok(store) => return store,
            Err(error) => last_error = Some(error),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("cannot reopen the store: {last_error:?}");
}

/// A configuration's text with each relative file it names (`measures = "measures.toml"`,
/// `locales = "../locales"`…) made absolute against `config_dir`, so that a copy of it
/// works from any folder.
pub fn with_absolute_paths(config: &str, config_dir: &Path) -> String {
    config
        .lines()
        .map(|line| {
            let Some((key, value)) = line.split_once(" = \"") else {
                return line.to_owned();
            };
            let value = value.trim_end_matches('"');
            let path = config_dir.join(value);
            let relative = !value.is_empty() && !value.starts_with('/') && !value.contains("://");
            if relative && path.exists() {
                format!("{key} = {:?}", path.to_str().unwrap())
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The choice a digit picks in an answer, or `None` for anything else. `key` names a
/// choice: `payload` in the web chat; `action` in LINE, whose postback actions carry
/// `data` and whose location action, counted all the same, carries none.
pub fn picked(answer: &Value, key: &str, input: &str) -> Option<String> {
    fn collect<'a>(value: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == key {
                        out.push(v);
                    } else {
                        collect(v, key, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, key, out)),
            _ => {}
        }
    }
    let n: usize = input.parse().ok()?;
    let mut choices = Vec::new();
    collect(answer, key, &mut choices);
    let choice = choices.get(n.checked_sub(1)?)?;
    choice
        .as_str()
        .or_else(|| choice["data"].as_str())
        .map(str::to_owned)
}
