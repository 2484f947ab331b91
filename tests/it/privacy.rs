//! What the logs say of residents: an anonymous corruption complaint is never tied to
//! the chat account that filed it. Checked on the real binary's log output.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::binary::{config_for, post_line, Server};
use crate::helpers::{eventually, picked};
use crate::line_fake::FakeLine;

/// Files a complaint through `tambon chat` with these inputs; the log lines printed.
fn logs_of_chat(data: &std::path::Path, inputs: &[&str]) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut chat = Command::new(env!("CARGO_BIN_EXE_tambon"))
        .args([
            "--config",
            root.join("config/tambon.toml").to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "chat",
        ])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = chat.stdin.take().unwrap();
        for input in inputs {
            writeln!(stdin, "{input}").unwrap();
        }
    }
    let output = chat.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_anonymous_case_is_logged_without_the_person() {
    let dir = tempfile::tempdir().unwrap();
    // Anonymous: continue, bribery, the matter, no place, no photo, anonymous, confirm.
    let logs = logs_of_chat(
        dir.path(),
        &["แจ้งทุจริต", "1", "2", "มีคนเรียกเงินใต้โต๊ะ", "2", "2", "1", "1"],
    );
    let filed: Vec<&str> = logs.lines().filter(|l| l.contains("case filed")).collect();
    assert_eq!(filed.len(), 1, "{logs}");
    assert!(filed[0].contains("kind=\"corruption\""), "{logs}");
    assert!(
        !filed[0].contains("user="),
        "the person's tag: {}",
        filed[0]
    );
    assert!(
        !filed[0].contains("event{"),
        "the person's span: {}",
        filed[0]
    );

    // A named complaint keeps its person tag: the tag is there to follow a resident's
    // own case, so its absence above is the rule for anonymous ones, not an accident.
    let dir = tempfile::tempdir().unwrap();
    let logs = logs_of_chat(dir.path(), &["ไฟถนนดับ", "1", "2", "2", "1", "1"]);
    let filed: Vec<&str> = logs.lines().filter(|l| l.contains("case filed")).collect();
    assert_eq!(filed.len(), 1, "{logs}");
    assert!(filed[0].contains("user="), "{}", filed[0]);
}

/// Anonymous corruption complaints on the web chat and on LINE, on the real server at
/// its production log level: no log line carries the person's session, platform id or
/// tag beside the case.
#[tokio::test]
async fn an_anonymous_complaint_on_the_web_chat_or_line_is_logged_without_the_person() {
    const SESSION: &str = "privacy-web-session-4f1c9a";
    const LINE_USER: &str = "U7a1b2c3d4e5f60718293a4b5c6d7e8f9";
    // Anonymous: continue, bribery, the matter, no place, no photo, anonymous, confirm.
    const FLOW: &[&str] = &["แจ้งทุจริต", "1", "2", "มีคนเรียกเงินใต้โต๊ะ", "2", "2", "1", "1"];
    let line = FakeLine::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(dir.path(), &line.base_url, &[]);
    let log = dir.path().join("tambon.log");
    let server = Server::start(&config, &dir.path().join("data"), Some(&log)).await;
    let http = reqwest::Client::new();

    // Digits pick the n-th choice of the last answer, as a tap would.
    let mut answer = Value::Null;
    for (n, input) in FLOW.iter().enumerate() {
        let mut message = json!({ "session": SESSION, "id": format!("m{n}") });
        match picked(&answer, "payload", input) {
            Some(payload) => message["postback"] = json!(payload),
            None => message["text"] = json!(input),
        }
        answer = http
            .post(format!("{}/api/chat", server.base))
            .json(&message)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    }
    assert!(
        answer.to_string().contains("เลขรับเรื่องของท่านคือ"),
        "the web resident got a receipt: {answer}"
    );

    let mut answer = Value::Null;
    for (n, input) in FLOW.iter().enumerate() {
        let mut event = json!({
            "type": "message",
            "mode": "active",
            "timestamp": chrono::Utc::now().timestamp_millis(),
            "source": { "type": "user", "userId": LINE_USER },
            "webhookEventId": format!("01PRIVACY{n:017}"),
            "deliveryContext": { "isRedelivery": false },
            "replyToken": format!("privacy-token-{n}"),
        });
        match picked(&answer, "action", input) {
            Some(data) => {
                event["type"] = json!("postback");
                event["postback"] = json!({ "data": data });
            }
            None => {
                event["message"] = json!({ "id": format!("pm{n}"), "type": "text", "text": input });
            }
        }
        let body =
            serde_json::to_vec(&json!({ "destination": "Ubot", "events": [event] })).unwrap();
        assert_eq!(post_line(&http, &server.base, &body).await, Some(200));
        let token = format!("privacy-token-{n}");
        let reply = || {
            line.requests_to("/v2/bot/message/reply")
                .into_iter()
                .find(|r| r.body["replyToken"] == token)
        };
        eventually("the LINE reply", || reply().is_some()).await;
        answer = reply().unwrap().body;
    }
    assert!(
        answer.to_string().contains("เลขรับเรื่องของท่านคือ"),
        "the LINE resident got a receipt: {answer}"
    );
    eventually("both cases in the log", || {
        std::fs::read_to_string(&log)
            .unwrap()
            .matches("case filed")
            .count()
            == 2
    })
    .await;
    server.kill();

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(!logs.contains(SESSION), "a session id in the log:\n{logs}");
    assert!(
        !logs.contains(LINE_USER),
        "a LINE user id in the log:\n{logs}"
    );
    for text in ["เรียกเงินใต้โต๊ะ", "แจ้งทุจริต"]
    {
        assert!(!logs.contains(text), "a message text in the log:\n{logs}");
    }
    // Nor the code of an anonymous case: logged at the moment it was filed, it could be
    // matched against who wrote then (a proxy's access log, a LINE account's activity).
    assert!(!logs.contains("CC-"), "an anonymous case's code:\n{logs}");
    let filed: Vec<&str> = logs.lines().filter(|l| l.contains("case filed")).collect();
    for line in &filed {
        assert!(line.contains("kind=\"corruption\""), "{line}");
        assert!(!line.contains("user="), "the person's tag: {line}");
        assert!(!line.contains("event{"), "the person's span: {line}");
    }
    // Whatever else is logged of these cases (their deliveries, their forwards) is
    // never beside a person's tag.
    let case_ids: Vec<&str> = filed
        .iter()
        .filter_map(|line| line.split_whitespace().find(|w| w.starts_with("case=")))
        .collect();
    assert_eq!(case_ids.len(), 2, "{filed:?}");
    for line in logs.lines() {
        if case_ids.iter().any(|id| line.contains(id)) {
            assert!(!line.contains("user="), "a person beside the case: {line}");
        }
    }
}
