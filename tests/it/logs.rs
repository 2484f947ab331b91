//! What the log says, at the production level, on the real binary, after residents of
//! every channel (web chat, LINE, Messenger, Telegram) filed a named complaint with
//! their phone number and an anonymous corruption complaint: none of what they wrote
//! nor who they are is in it (message texts, platform ids, the web session, phone
//! numbers, receipts).

use serde_json::json;

use crate::binary::{config_for, settled, Server};
use crate::helpers::{
    LINE_SECRET, MESSENGER_APP_SECRET, MESSENGER_PAGE_TOKEN, MESSENGER_VERIFY_TOKEN,
    TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET,
};
use crate::line_fake::FakeLine;
use crate::messenger_fake::FakeGraph;
use crate::telegram_fake::FakeTelegram;

const SESSION: &str = "logs-web-session-7c2e91";
const LINE_USER: &str = "U5e0f1a2b3c4d5e6f708192a3b4c5d6e7";
const PSID: &str = "7391827364551029";
const TELEGRAM_CHAT: i64 = 7_301_122_334;

const DESCRIPTION: &str = "ท่อประปาแตกหน้าบ้านเลขที่ 99/1 น้ำท่วมซอย";
const PHONE: &str = "081-234-5678";
const ACCUSATION: &str = "เจ้าหน้าที่เรียกเงินสามพันบาทแลกใบอนุญาตก่อสร้าง";

/// What a resident does: types or taps.
#[derive(Clone, Copy)]
enum Step {
    Text(&'static str),
    Tap(&'static str),
}

/// A named complaint with a phone number, then an anonymous corruption complaint.
const STEPS: &[Step] = &[
    Step::Text(DESCRIPTION),
    Step::Tap("cat:water"),
    Step::Tap("skip"),
    Step::Tap("skip"),
    Step::Text(PHONE),
    Step::Tap("confirm"),
    Step::Tap("corrupt"),
    Step::Tap("continue"),
    Step::Tap("cat:cc-bribe"),
    Step::Text(ACCUSATION),
    Step::Tap("skip"),
    Step::Tap("skip"),
    Step::Tap("anon:yes"),
    Step::Tap("confirm"),
];

#[tokio::test]
async fn the_log_holds_nothing_a_resident_sent_on_any_channel() {
    let line = FakeLine::start().await;
    let graph = FakeGraph::start().await;
    let telegram = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(
        dir.path(),
        &line.base_url,
        &[
            (
                "graph_base = \"https://graph.facebook.com\"",
                &format!("graph_base = \"{}\"", graph.base_url),
            ),
            (
                "api_url = \"https://api.telegram.org\"",
                &format!("api_url = \"{}\"", telegram.api_url),
            ),
        ],
    );
    let log = dir.path().join("tambon.log");
    let server = Server::start_with(
        &config,
        &dir.path().join("data"),
        Some(&log),
        &[
            ("MESSENGER_APP_SECRET", MESSENGER_APP_SECRET),
            ("MESSENGER_PAGE_TOKEN", MESSENGER_PAGE_TOKEN),
            ("MESSENGER_VERIFY_TOKEN", MESSENGER_VERIFY_TOKEN),
            ("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN),
            ("TELEGRAM_WEBHOOK_SECRET", TELEGRAM_WEBHOOK_SECRET),
        ],
    )
    .await;
    let http = reqwest::Client::new();

    let mut receipts = Vec::new();
    for channel in ["web", "line", "messenger", "telegram"] {
        let mut seen = String::new();
        for (n, step) in STEPS.iter().enumerate() {
            let body = event(channel, n, *step);
            if channel == "messenger" {
                // Meta opens the person's window when they write.
                graph.received(&body);
            }
            let (path, headers) = match channel {
                "web" => ("/api/chat", vec![]),
                "line" => (
                    "/webhook/line",
                    vec![(
                        "x-line-signature",
                        tambon::channels::line::signature::sign(
                            &LINE_SECRET.to_owned().into(),
                            &body,
                        ),
                    )],
                ),
                "messenger" => (
                    "/webhook/messenger",
                    vec![(
                        "x-hub-signature-256",
                        tambon::channels::messenger::signature::sign(
                            &MESSENGER_APP_SECRET.to_owned().into(),
                            &body,
                        ),
                    )],
                ),
                _ => (
                    "/webhook/telegram",
                    vec![(
                        "x-telegram-bot-api-secret-token",
                        TELEGRAM_WEBHOOK_SECRET.to_owned(),
                    )],
                ),
            };
            let mut request = http
                .post(format!("{}{path}", server.base))
                .header("content-type", "application/json")
                .body(body);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{channel} step {n}");
            if channel == "web" {
                seen.push_str(&response.text().await.unwrap());
            }
            settled(&http, &server.base).await;
        }
        let answers = match channel {
            "web" => seen,
            "line" => json!(line
                .requests()
                .iter()
                .map(|r| r.body.clone())
                .collect::<Vec<_>>())
            .to_string(),
            "messenger" => json!(graph
                .sends()
                .iter()
                .map(|r| r.body.clone())
                .collect::<Vec<_>>())
            .to_string(),
            _ => json!(telegram
                .calls()
                .iter()
                .map(|c| c.body.clone())
                .collect::<Vec<_>>())
            .to_string(),
        };
        assert!(
            answers.contains(&format!(
                "CP-{}-",
                tambon::thai::buddhist_year(chrono::Utc::now())
            )),
            "{channel}: the named complaint was filed: {answers}"
        );
        let receipt = receipt_in(&answers)
            .unwrap_or_else(|| panic!("{channel}: no receipt shown: {answers}"));
        receipts.push(receipt);
    }
    server.kill();

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.contains("case filed"),
        "the log is the server's: {logs}"
    );
    let mut secrets: Vec<String> = [
        SESSION,
        LINE_USER,
        PSID,
        &TELEGRAM_CHAT.to_string(),
        DESCRIPTION,
        "ท่อประปาแตก",
        ACCUSATION,
        "เรียกเงิน",
        PHONE,
        "0812345678",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for receipt in &receipts {
        secrets.push(receipt.clone());
        secrets.push(receipt.replace(' ', ""));
    }
    for secret in &secrets {
        let lines: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains(secret.as_str()))
            .collect();
        assert!(lines.is_empty(), "{secret:?} is in the log: {lines:#?}");
    }
}

/// The webhook body (or web chat request) of step `n` on `channel`.
fn event(channel: &str, n: usize, step: Step) -> Vec<u8> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let body = match (channel, step) {
        ("web", Step::Text(text)) => {
            json!({ "session": SESSION, "id": format!("w{n}"), "text": text })
        }
        ("web", Step::Tap(payload)) => {
            json!({ "session": SESSION, "id": format!("w{n}"), "postback": payload })
        }
        ("line", step) => {
            let mut event = json!({
                "mode": "active",
                "timestamp": now_ms,
                "source": { "type": "user", "userId": LINE_USER },
                "webhookEventId": format!("01LOGS{n:020}"),
                "deliveryContext": { "isRedelivery": false },
                "replyToken": format!("logs-token-{n}"),
            });
            match step {
                Step::Text(text) => {
                    event["type"] = json!("message");
                    event["message"] =
                        json!({ "id": format!("lm{n}"), "type": "text", "text": text });
                }
                Step::Tap(data) => {
                    event["type"] = json!("postback");
                    event["postback"] = json!({ "data": data });
                }
            }
            json!({ "destination": "Ubot", "events": [event] })
        }
        ("messenger", step) => {
            let mut item = json!({
                "sender": { "id": PSID },
                "recipient": { "id": "PAGE" },
                "timestamp": now_ms,
            });
            match step {
                Step::Text(text) => {
                    item["message"] = json!({ "mid": format!("m.logs.{n}"), "text": text });
                }
                Step::Tap(payload) => {
                    item["postback"] = json!({ "mid": format!("m.logs.{n}"), "title": payload, "payload": payload });
                }
            }
            json!({ "object": "page", "entry": [{ "id": "PAGE", "time": now_ms, "messaging": [item] }] })
        }
        (_, step) => {
            let person = json!({ "id": TELEGRAM_CHAT, "is_bot": false, "first_name": "ก" });
            let chat = json!({ "id": TELEGRAM_CHAT, "type": "private", "first_name": "ก" });
            let update_id = 500_000 + i64::try_from(n).unwrap();
            match step {
                Step::Text(text) => json!({ "update_id": update_id, "message": {
                    "message_id": update_id, "date": now_ms / 1000, "chat": chat, "from": person, "text": text,
                }}),
                Step::Tap(data) => json!({ "update_id": update_id, "callback_query": {
                    "id": format!("logs-query-{n}"), "from": person, "chat_instance": "x", "data": data,
                    "message": {
                        "message_id": 1, "date": now_ms / 1000, "chat": chat,
                        "from": { "id": 123_456, "is_bot": true, "first_name": "tambon", "username": "tambon_bot" },
                        "text": "เมนู",
                    },
                }}),
            }
        }
    };
    serde_json::to_vec(&body).unwrap()
}

/// The 16-digit receipt shown in `text` ("1234 5678 9012 3456").
fn receipt_in(text: &str) -> Option<String> {
    let at = text.find("เลขรับเรื่องของท่านคือ ")? + "เลขรับเรื่องของท่านคือ ".len();
    let receipt: String = text[at..].chars().take(19).collect();
    let digits = receipt.chars().filter(char::is_ascii_digit).count();
    (digits == 16).then_some(receipt)
}
