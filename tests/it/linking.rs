//! One resident on LINE and on Telegram: after linking the two with a one-time code,
//! their cases are theirs from either app, and nobody else's.

use serde_json::{json, Value};

use crate::helpers::{eventually, TestApp, LINE_SECRET, TELEGRAM_WEBHOOK_SECRET};
use crate::line_fake::FakeLine;
use crate::telegram_fake::FakeTelegram;

const LINE_USER: &str = "U00000000000000000000000000link";
const TELEGRAM_USER: i64 = 7_001;

fn line_event(n: usize, kind: &str, extra: Value) -> Vec<u8> {
    let mut event = json!({
        "type": kind, "mode": "active", "timestamp": chrono::Utc::now().timestamp_millis(),
        "source": { "type": "user", "userId": LINE_USER },
        "webhookEventId": format!("01LINK{n:020}"),
        "deliveryContext": { "isRedelivery": false },
        "replyToken": format!("link-token-{n}"),
    });
    for (key, value) in extra.as_object().unwrap() {
        event[key] = value.clone();
    }
    serde_json::to_vec(&json!({ "destination": "Ubot", "events": [event] })).unwrap()
}

fn telegram_text(update_id: u32, text: &str) -> Vec<u8> {
    let user = json!({ "id": TELEGRAM_USER, "is_bot": false, "first_name": "สมศรี" });
    serde_json::to_vec(&json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": chrono::Utc::now().timestamp(),
            "chat": { "id": TELEGRAM_USER, "type": "private", "first_name": "สมศรี" },
            "from": user, "text": text
        }
    }))
    .unwrap()
}

/// What LINE's last reply showed, flattened.
fn last_line_reply(line: &FakeLine) -> String {
    let reply = line
        .requests_to("/v2/bot/message/reply")
        .pop()
        .expect("a reply");
    reply.body.to_string()
}

async fn line_says(app: &TestApp, line: &FakeLine, body: Vec<u8>) -> String {
    let before = line.requests_to("/v2/bot/message/reply").len();
    let secret = secrecy::SecretString::from(LINE_SECRET.to_owned());
    let signature = tambon::channels::line::signature::sign(&secret, &body);
    assert_eq!(app.post_line_signed(&body, Some(&signature)).await, 200);
    eventually("a LINE reply", || {
        line.requests_to("/v2/bot/message/reply").len() > before
    })
    .await;
    last_line_reply(line)
}

async fn telegram_says(app: &TestApp, telegram: &FakeTelegram, body: Vec<u8>) -> String {
    let before = telegram.sent_to(TELEGRAM_USER).len();
    assert_eq!(
        app.post_telegram(&body, Some(TELEGRAM_WEBHOOK_SECRET))
            .await,
        200
    );
    eventually("a Telegram message", || {
        telegram.sent_to(TELEGRAM_USER).len() > before
    })
    .await;
    // Let a multi-part answer finish.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    telegram.sent_to(TELEGRAM_USER)[before..]
        .iter()
        .map(|r| r.text().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_resident_links_line_and_telegram_and_follows_a_case_from_either() {
    let dir = tempfile::tempdir().unwrap();
    let line = FakeLine::start().await;
    let telegram = FakeTelegram::start().await;
    let app = TestApp::spawn_line_and_telegram(dir.path(), &line.base_url, &telegram.api_url).await;
    let year = tambon::thai::buddhist_year(chrono::Utc::now());
    let code = format!("CP-{year}-0001");

    // A complaint filed on LINE.
    for (n, event) in [
        line_event(1, "postback", json!({ "postback": { "data": "complain" } })),
        line_event(
            2,
            "postback",
            json!({ "postback": { "data": "cat:water" } }),
        ),
        line_event(
            3,
            "message",
            json!({ "message": { "id": "lm3", "type": "text", "text": "น้ำประปาขุ่นมาสามวัน" } }),
        ),
        line_event(4, "postback", json!({ "postback": { "data": "skip" } })),
        line_event(5, "postback", json!({ "postback": { "data": "skip" } })),
        line_event(6, "postback", json!({ "postback": { "data": "skip" } })),
        line_event(7, "postback", json!({ "postback": { "data": "confirm" } })),
    ]
    .into_iter()
    .enumerate()
    {
        let seen = line_says(&app, &line, event).await;
        if n == 6 {
            assert!(seen.contains(&code), "{seen}");
        }
    }

    // Telegram does not know it yet.
    let seen = telegram_says(
        &app,
        &telegram,
        telegram_text(1, &format!("/status {code}")),
    )
    .await;
    assert!(seen.contains("ไม่พบเรื่อง"), "{seen}");

    // The resident asks LINE for a code and sends it from Telegram.
    let seen = line_says(
        &app,
        &line,
        line_event(8, "postback", json!({ "postback": { "data": "link" } })),
    )
    .await;
    let link_code: String = seen
        .split("รหัสเชื่อมบัญชีของท่านคือ ")
        .nth(1)
        .unwrap_or_else(|| panic!("no link code in {seen}"))
        .chars()
        .take(6)
        .collect();
    let seen = telegram_says(
        &app,
        &telegram,
        telegram_text(2, &format!("เชื่อม {link_code}")),
    )
    .await;
    assert!(seen.contains("เชื่อมบัญชีแล้ว"), "{seen}");

    // Now the case is theirs on Telegram, and LINE still sees it.
    let seen = telegram_says(
        &app,
        &telegram,
        telegram_text(3, &format!("/status {code}")),
    )
    .await;
    assert!(
        seen.contains(&code) && seen.contains("น้ำประปาขุ่นมาสามวัน"),
        "{seen}"
    );
    let seen = line_says(
        &app,
        &line,
        line_event(
            9,
            "message",
            json!({ "message": { "id": "lm9", "type": "text", "text": code } }),
        ),
    )
    .await;
    assert!(seen.contains("น้ำประปาขุ่นมาสามวัน"), "{seen}");
    app.stop().await;
}
