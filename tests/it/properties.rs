//! Properties over HTTP: the real server, every platform channel on against its local
//! fake, fed random and mutated bodies on each webhook route and on the web chat's
//! `/api/chat`. No body yields a 5xx, and the server still answers a normal request after.
//!
//! One server per property, reused across its cases: proptest's closure is synchronous,
//! so each case runs with `Runtime::block_on` on a runtime built once per property.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;
use tokio::runtime::Runtime;

use crate::helpers::{
    settings, Resident, TestApp, LINE_SECRET, MESSENGER_APP_SECRET, MESSENGER_PAGE_TOKEN,
    MESSENGER_VERIFY_TOKEN, TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET,
};
use crate::line_fake::FakeLine;
use crate::messenger_fake::FakeGraph;
use crate::strategies::{body_from, line_body, messenger_body, telegram_body, web_request};
use crate::telegram_fake::FakeTelegram;

/// Cases per property: enough to reach odd corners, few enough to run in seconds.
const CASES: u32 = 48;

/// The server with LINE, Messenger and Telegram on, each against its fake, and the web
/// chat's rate limits off (the cases come fast, from one address).
struct Server {
    runtime: Runtime,
    app: Option<TestApp>,
    _fakes: (FakeLine, FakeGraph, FakeTelegram),
    _data_dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let data_dir = tempfile::tempdir().unwrap();
        let (app, fakes) = runtime.block_on(async {
            let line = FakeLine::start().await;
            let graph = FakeGraph::start().await;
            let telegram = FakeTelegram::start().await;
            let mut settings = settings(data_dir.path(), None);
            settings.line.api_base = line.base_url.clone();
            settings.line.data_api_base = line.base_url.clone();
            settings.messenger.graph_base = graph.base_url.clone();
            settings.telegram.api_url = telegram.api_url.clone();
            settings.server.web_chat_per_session_per_minute = 0;
            settings.server.web_chat_per_address_per_minute = 0;
            let secrets = tambon::config::Secrets {
                line: Some(tambon::config::LineSecrets {
                    channel_secret: LINE_SECRET.to_owned().into(),
                    access_token: crate::line_fake::TOKEN.to_owned().into(),
                }),
                messenger: Some(tambon::config::MessengerSecrets {
                    app_secret: MESSENGER_APP_SECRET.to_owned().into(),
                    page_token: MESSENGER_PAGE_TOKEN.to_owned().into(),
                    verify_token: MESSENGER_VERIFY_TOKEN.to_owned().into(),
                }),
                telegram: Some(tambon::config::TelegramSecrets {
                    bot_token: TELEGRAM_TOKEN.to_owned().into(),
                    webhook_secret: Some(TELEGRAM_WEBHOOK_SECRET.to_owned().into()),
                }),
            };
            let app = TestApp::spawn_with(settings, secrets).await;
            (app, (line, graph, telegram))
        });
        Self {
            runtime,
            app: Some(app),
            _fakes: fakes,
            _data_dir: data_dir,
        }
    }

    fn app(&self) -> &TestApp {
        self.app.as_ref().unwrap()
    }

    /// Runs `post` on every case of `bodies`: the status it returns must not be a server
    /// error. Returns how many were accepted (200), to show the cases reached past the
    /// gate too.
    fn never_fails<S: Strategy>(&self, bodies: S, post: impl Fn(&Self, S::Value) -> u16) -> usize {
        let accepted = std::cell::RefCell::new(0);
        // PROPTEST_CASES asks for more (or fewer), as for the other properties.
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(CASES);
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&bodies, |body| {
            let status = post(self, body);
            *accepted.borrow_mut() += usize::from(status == 200);
            if status >= 500 {
                return Err(TestCaseError::fail(format!("answered {status}")));
            }
            Ok(())
        });
        if let Err(error) = result {
            panic!("{error}");
        }
        accepted.into_inner()
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(app) = self.app.take() {
            self.runtime.block_on(app.stop());
        }
    }
}

/// A body with its signature right, or wrong.
fn signed_or_not(
    bodies: BoxedStrategy<serde_json::Value>,
) -> impl Strategy<Value = (Vec<u8>, bool)> {
    (body_from(bodies), prop::bool::weighted(0.7))
}

#[test]
fn line_webhook_never_answers_a_server_error() {
    let server = Server::start();
    let line_secret = secrecy::SecretString::from(LINE_SECRET.to_owned());
    let accepted = server.never_fails(signed_or_not(line_body()), |server, (body, signed)| {
        let signature = if signed {
            tambon::channels::line::signature::sign(&line_secret, &body)
        } else {
            "c2lnbmF0dXJl".to_owned()
        };
        server.block_on(server.app().post_line_signed(&body, Some(&signature)))
    });
    assert!(accepted > 0, "no case got past the gate");
    // Still up: a well-formed signed event is recorded.
    let body = serde_json::to_vec(&json!({ "events": [{
        "type": "follow", "mode": "active", "timestamp": 1_700_000_000_000i64,
        "source": { "type": "user", "userId": "U0000000000000000000000000000000f" },
        "webhookEventId": "01PROPERTYAFTERFOLLOW00000", "replyToken": "r",
    }]}))
    .unwrap();
    assert_eq!(server.block_on(server.app().post_line(&body)), 200);
}

#[test]
fn messenger_webhook_never_answers_a_server_error() {
    let server = Server::start();
    let app_secret = secrecy::SecretString::from(MESSENGER_APP_SECRET.to_owned());
    let accepted = server.never_fails(signed_or_not(messenger_body()), |server, (body, signed)| {
        let header = if signed {
            tambon::channels::messenger::signature::sign(&app_secret, &body)
        } else {
            "sha256=00".to_owned()
        };
        server.block_on(server.app().post_messenger_signed(&body, Some(&header)))
    });
    assert!(accepted > 0, "no case got past the gate");
    let body = serde_json::to_vec(&json!({ "object": "page", "entry": [{ "messaging": [{
        "sender": { "id": "1234567890" }, "timestamp": 1_700_000_000_000i64,
        "message": { "mid": "m_property_after", "text": "สวัสดี" },
    }]}]}))
    .unwrap();
    assert_eq!(server.block_on(server.app().post_messenger(&body)), 200);
}

#[test]
fn telegram_webhook_never_answers_a_server_error() {
    let server = Server::start();
    let accepted = server.never_fails(signed_or_not(telegram_body()), |server, (body, signed)| {
        let secret = if signed {
            TELEGRAM_WEBHOOK_SECRET
        } else {
            "guess"
        };
        server.block_on(server.app().post_telegram(&body, Some(secret)))
    });
    assert!(accepted > 0, "no case got past the gate");
    let body = serde_json::to_vec(&json!({ "update_id": 4_000_000_000u32, "message": {
        "message_id": 1, "date": 1_700_000_000,
        "chat": { "id": 42, "type": "private", "first_name": "ก" },
        "from": { "id": 42, "is_bot": false, "first_name": "ก" },
        "text": "สวัสดี",
    }}))
    .unwrap();
    assert_eq!(
        server.block_on(server.app().post_telegram(&body, None)),
        401
    );
    assert_eq!(
        server.block_on(
            server
                .app()
                .post_telegram(&body, Some(TELEGRAM_WEBHOOK_SECRET))
        ),
        200
    );
}

#[test]
fn web_chat_never_answers_a_server_error() {
    let server = Server::start();
    // Half the requests well-formed, so that many reach the engine.
    let bodies = prop_oneof![
        web_request().prop_map(|request| serde_json::to_vec(&request).unwrap()),
        body_from(web_request()),
    ];
    let accepted = server.never_fails(bodies, |server, body| {
        let response =
            server.block_on(server.app().post_raw("/api/chat", "application/json", body));
        response.status().as_u16()
    });
    assert!(accepted > 0, "no case got past the gate");
    // Still up, and still answering a resident.
    let resident = Resident::new(server.app(), "after-properties");
    let seen = server.block_on(resident.text("สวัสดี"));
    assert!(!seen.is_empty());
}
