//! kill -9 under load, on the real binary: residents in the web chat and on LINE keep
//! writing while the server is killed and started again, five times. Afterwards no
//! answer a resident retried for is empty, and no LINE resident got an answer twice
//! (the fake refuses a spent reply token with 400, as LINE does).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng as _;
use serde_json::{json, Value};

use crate::binary::{config_for, post_line, settled, Server};
use crate::line_fake::FakeLine;

const CRASH_RUNS: usize = 5;
/// LINE events are posted until the kill, up to this many a run.
const MAX_LINE_EVENTS_PER_RUN: usize = 80;
const WEB_RESIDENTS_PER_RUN: usize = 12;

/// A web resident's complaint, message by message: a problem told plainly, its guessed
/// category confirmed, no place, no photo, no contact, confirmed.
/// Digits tap the n-th choice shown.
const WEB_FLOW: &[&str] = &["น้ำประปาไม่ไหล 3 วันแล้ว", "1", "2", "2", "1", "1"];
/// What the answer to the last step says: the case's code.
const FILED: &str = "รับเรื่องแล้ว เลขที่ CP-";

#[tokio::test]
async fn kill_9_under_load_loses_no_answer_and_says_nothing_twice() {
    let line = FakeLine::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(
        dir.path(),
        &line.base_url,
        // These residents write as fast as the server answers, all from 127.0.0.1.
        &[
            (
                "web_chat_per_address_per_minute = 300",
                "web_chat_per_address_per_minute = 100000",
            ),
            (
                "web_chat_per_session_per_minute = 60",
                "web_chat_per_session_per_minute = 100000",
            ),
        ],
    );
    let data = dir.path().join("data");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    let mut line_users = Vec::new();
    let mut web_checks = WebChecks::default();
    for run in 0..CRASH_RUNS {
        let server = Server::start(&config, &data, None).await;
        let unacked = Arc::new(Mutex::new(Vec::new()));
        let line_load = tokio::spawn(post_events(
            http.clone(),
            server.base.clone(),
            run,
            Arc::clone(&unacked),
        ));
        let residents: Vec<_> = (0..WEB_RESIDENTS_PER_RUN)
            .map(|i| {
                tokio::spawn(web_resident(
                    http.clone(),
                    server.base.clone(),
                    format!("crash-session-{run}-{i}"),
                ))
            })
            .collect();
        let kill_after = Duration::from_millis(rand::thread_rng().gen_range(300..1_200));
        tokio::time::sleep(kill_after).await;
        server.kill();
        line_users.extend(line_load.await.unwrap());
        let mut interrupted = Vec::new();
        for resident in residents {
            interrupted.push(resident.await.unwrap());
        }

        // Back up: LINE redelivers what was not acknowledged; web residents retry the
        // message left without an answer, and a page reloaded asks its last one again.
        let server = Server::start(&config, &data, None).await;
        let redeliveries: Vec<_> = std::mem::take(&mut *unacked.lock().unwrap());
        for (user, event_id) in redeliveries {
            let body = line_event(&user, &event_id, true);
            let status = post_line(&http, &server.base, &body).await;
            assert_eq!(status, Some(200), "a redelivery after the restart");
        }
        for resident in interrupted {
            web_checks
                .check_retries(&http, &server.base, resident)
                .await;
        }
        server.kill();
    }

    // A last start to let everything recorded be answered.
    let server = Server::start(&config, &data, None).await;
    let answered = |line: &FakeLine| answers_per_user(line);
    let deadline = Instant::now() + Duration::from_secs(60);
    while line_users
        .iter()
        .any(|u| answered(&line).get(u).copied().unwrap_or(0) == 0)
    {
        if Instant::now() > deadline {
            let answers = answered(&line);
            let missing: Vec<_> = line_users
                .iter()
                .filter(|u| !answers.contains_key(*u))
                .collect();
            panic!(
                "{} of {} LINE events never answered: {:?}",
                missing.len(),
                line_users.len(),
                &missing[..missing.len().min(10)]
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Everything received processed, everything due sent: nothing more can go out.
    settled(&http, &server.base).await;
    // Every case a resident was shown the code of is there, for the session that filed it.
    for (n, (session, code)) in web_checks.filed.iter().enumerate() {
        // Out of the complaint the resident was in the middle of, then the code.
        let cancel = json!({ "session": session, "id": format!("{session}-cancel-{n}"), "postback": "cancel" });
        chat(&http, &server.base, &cancel)
            .await
            .expect("the cancel is answered");
        let message =
            json!({ "session": session, "id": format!("{session}-check-{n}"), "text": code });
        let answer = chat(&http, &server.base, &message)
            .await
            .expect("the lookup is answered");
        let shown = answer["replies"].as_array().is_some_and(|replies| {
            replies.iter().any(|r| {
                r["type"] == "card"
                    && r["title"]
                        .as_str()
                        .is_some_and(|t| t.contains(code.as_str()))
            })
        });
        assert!(
            shown,
            "{code}, acknowledged to {session}, is lost: {answer}"
        );
    }
    server.kill();

    let answers = answers_per_user(&line);
    let twice: Vec<_> = line_users
        .iter()
        .filter(|u| answers.get(*u).copied().unwrap_or(0) > 1)
        .collect();
    let refused_retries = line
        .requests_to("/v2/bot/message/reply")
        .iter()
        .filter(|r| r.status == 400)
        .count();
    eprintln!(
        "kill -9 runs: {CRASH_RUNS}; LINE events: {}, answered twice: {}, spent reply tokens tried again: {refused_retries}, pushes: {}; web cases filed: {}, retries: {} ({} duplicates, {} of the confirm step), empty answers: {}",
        line_users.len(),
        twice.len(),
        line.accepted("/v2/bot/message/push").len(),
        web_checks.filed.len(),
        web_checks.retries,
        web_checks.duplicates,
        web_checks.confirm_retries,
        web_checks.empty.len(),
    );
    assert!(
        !web_checks.filed.is_empty(),
        "the web residents filed cases"
    );
    assert!(twice.is_empty(), "LINE residents answered twice: {twice:?}");
    assert!(
        web_checks.empty.is_empty(),
        "retries answered with nothing: {:?}",
        web_checks.empty
    );
}

/// The real server, killed with SIGKILL when asked (or when dropped).
fn line_event(user: &str, event_id: &str, redelivery: bool) -> Vec<u8> {
    line_text_event(user, event_id, redelivery, "What was the EIT score?")
}

fn line_text_event(user: &str, event_id: &str, redelivery: bool, text: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "destination": "Ubot",
        "events": [{
            "type": "message",
            "mode": "active",
            "timestamp": chrono::Utc::now().timestamp_millis(),
            "source": { "type": "user", "userId": user },
            "webhookEventId": event_id,
            "deliveryContext": { "isRedelivery": redelivery },
            "replyToken": format!("token-{event_id}"),
            "message": { "id": format!("m-{event_id}"), "type": "text", "text": text },
        }],
    }))
    .unwrap()
}

/// Posts new events, eight at a time, until the server dies under them (at most
/// `MAX_LINE_EVENTS_PER_RUN`). Returns every user written for; an event not
/// acknowledged with 200 goes to `unacked` as (user, event id), for LINE to redeliver.
async fn post_events(
    http: reqwest::Client,
    base: String,
    run: usize,
    unacked: Arc<Mutex<Vec<(String, String)>>>,
) -> Vec<String> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (http, base, next, unacked) = (
            http.clone(),
            base.clone(),
            Arc::clone(&next),
            Arc::clone(&unacked),
        );
        workers.spawn(async move {
            let mut users = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= MAX_LINE_EVENTS_PER_RUN {
                    return users;
                }
                let user = format!("U{run:02}{i:030}");
                let event_id = format!("crash-{run}-{i}");
                users.push(user.clone());
                let body = line_event(&user, &event_id, false);
                if post_line(&http, &base, &body).await != Some(200) {
                    unacked.lock().unwrap().push((user, event_id));
                    return users;
                }
            }
        });
    }
    let mut users = Vec::new();
    while let Some(written) = workers.join_next().await {
        users.extend(written.unwrap());
    }
    users
}

/// A kill at each chosen moment of a LINE event's life (`tambon::faults`): recorded but
/// not acknowledged, acknowledged but not processed, answered but not recorded as
/// answered (by reply token, and by push with its retry key). After the restart the
/// resident has exactly one answer: never none, never two.
#[tokio::test]
async fn a_kill_at_each_chosen_moment_leaves_one_answer() {
    for (point, by_push) in [
        ("before-ack", false),
        ("before-turn", false),
        ("after-send", false),
        ("after-send", true),
    ] {
        let line = FakeLine::start().await;
        let dir = tempfile::tempdir().unwrap();
        let config = config_for(dir.path(), &line.base_url, &[]);
        let data = dir.path().join("data");
        let http = reqwest::Client::new();
        let user = format!("U{:032}", 7);
        let event_id = "01CHOSEN0000000000000000000";
        let token = format!("token-{event_id}");
        if by_push {
            // A token past its time: the answer goes by push, with a retry key.
            line.expire_reply_token(&token);
        }

        let mut server = Server::start_with(
            &config,
            &data,
            None,
            &[(tambon::faults::CRASH_AT_ENV, point)],
        )
        .await;
        let acknowledged =
            post_line(&http, &server.base, &line_event(&user, event_id, false)).await;
        assert!(
            server.exited(Duration::from_secs(20)).await,
            "{point}: the server stops at its crash point"
        );
        match point {
            "before-ack" => assert_ne!(acknowledged, Some(200), "{point}"),
            "after-send" => assert_eq!(acknowledged, Some(200), "{point}"),
            _ => {}
        }

        // Back up: LINE delivers again what was not acknowledged.
        let server = Server::start(&config, &data, None).await;
        if acknowledged != Some(200) {
            let status = post_line(&http, &server.base, &line_event(&user, event_id, true)).await;
            assert_eq!(status, Some(200), "{point}: the redelivery");
        }
        let answered = || {
            line.accepted("/v2/bot/message/reply").len()
                + line
                    .accepted("/v2/bot/message/push")
                    .iter()
                    .filter(|p| p.body["to"] == user.as_str())
                    .count()
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while answered() == 0 {
            assert!(Instant::now() < deadline, "{point}: never answered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        settled(&http, &server.base).await;
        server.kill();

        assert_eq!(
            answered(),
            1,
            "{point} (push: {by_push}): exactly one answer"
        );
        let pushes = line.requests_to("/v2/bot/message/push");
        if by_push {
            assert!(line.accepted("/v2/bot/message/reply").is_empty(), "{point}");
            // The push after the restart carried the same key, which LINE had carried
            // out already: 409, counted as sent.
            assert!(
                pushes.iter().any(|p| p.status == 409),
                "{point}: {pushes:?}"
            );
        } else {
            assert!(
                pushes.is_empty(),
                "{point}: no push after a reply: {pushes:?}"
            );
        }
    }
}

/// A staff member's enrolment is one with its turn: killed after the code was read and
/// before the turn committed, the server comes back, runs the queued event again and
/// enrols them, with one answer. (That a code is never spent apart from its turn is
/// checked in the store's tests: here sled's unflushed buffer would hide it.)
#[tokio::test]
async fn an_enrolment_cut_off_by_a_kill_is_made_after_the_restart() {
    let line = FakeLine::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(dir.path(), &line.base_url, &[]);
    let data = dir.path().join("data");
    let code = {
        let store = crate::helpers::reopen(&data);
        let code = store
            .create_enrol_code(
                &tambon::domain::role::Role::Staff {
                    division: "engineering".to_owned(),
                },
                chrono::Utc::now() + chrono::Duration::days(1),
            )
            .unwrap();
        store.sync_blocking().unwrap();
        code
    };
    let http = reqwest::Client::new();
    let user = format!("U{:032}", 11);
    let event = line_text_event(&user, "01ENROL00000000000000000000", false, &code);
    let mut server = Server::start_with(
        &config,
        &data,
        None,
        &[(tambon::faults::CRASH_AT_ENV, "before-commit")],
    )
    .await;
    assert_eq!(post_line(&http, &server.base, &event).await, Some(200));
    assert!(
        server.exited(Duration::from_secs(20)).await,
        "the server stops before the turn commits"
    );
    assert!(line.accepted("/v2/bot/message/reply").is_empty());

    let server = Server::start(&config, &data, None).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while line.accepted("/v2/bot/message/reply").is_empty() {
        assert!(Instant::now() < deadline, "never answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    settled(&http, &server.base).await;
    server.kill();
    let replies = line.accepted("/v2/bot/message/reply");
    let said = replies[0].body.to_string();
    assert!(said.contains("ลงทะเบียนแล้ว"), "{said}");
    assert_eq!(replies.len(), 1);
}

/// Telegram's send API takes no idempotency key: what ARCHITECTURE.md promises there is
/// "at least once". A kill before the turn loses nothing and repeats nothing; a kill
/// between Telegram's acceptance and its record sends the answer once more after the
/// restart, and never more.
#[tokio::test]
async fn telegram_answers_at_least_once_across_a_kill() {
    use crate::helpers::{TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET};
    use crate::telegram_fake::FakeTelegram;
    const CHAT: i64 = 4_242;
    for (point, expected_sends) in [("before-turn", 1), ("after-send", 2)] {
        let line = FakeLine::start().await;
        let telegram = FakeTelegram::start().await;
        let dir = tempfile::tempdir().unwrap();
        let config = config_for(
            dir.path(),
            &line.base_url,
            &[(
                "api_url = \"https://api.telegram.org\"",
                &format!("api_url = \"{}\"", telegram.api_url),
            )],
        );
        let data = dir.path().join("data");
        let secrets = [
            ("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN),
            ("TELEGRAM_WEBHOOK_SECRET", TELEGRAM_WEBHOOK_SECRET),
        ];
        let mut env = secrets.to_vec();
        env.push((tambon::faults::CRASH_AT_ENV, point));
        let mut server = Server::start_with(&config, &data, None, &env).await;
        let update = json!({ "update_id": 77, "message": {
            "message_id": 77, "date": chrono::Utc::now().timestamp(),
            "chat": { "id": CHAT, "type": "private", "first_name": "ก" },
            "from": { "id": CHAT, "is_bot": false, "first_name": "ก" },
            "text": "What was the EIT score?",
        }});
        let status = reqwest::Client::new()
            .post(format!("{}/webhook/telegram", server.base))
            .header("content-type", "application/json")
            .header("x-telegram-bot-api-secret-token", TELEGRAM_WEBHOOK_SECRET)
            .body(update.to_string())
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16());
        assert_eq!(status, Some(200), "{point}: acknowledged before the kill");
        assert!(
            server.exited(Duration::from_secs(20)).await,
            "{point}: the server stops at its crash point"
        );

        let server = Server::start_with(&config, &data, None, &secrets).await;
        let http = reqwest::Client::new();
        settled(&http, &server.base).await;
        server.kill();
        let answers: Vec<_> = telegram
            .sent_to(CHAT)
            .into_iter()
            .filter(|c| c.ok() && c.text().contains("79.59"))
            .collect();
        assert_eq!(
            answers.len(),
            expected_sends,
            "{point}: the answer sent {} times",
            answers.len()
        );
    }
}

/// The code in an answer that filed a case.
fn filed_code(answer: &Value) -> Option<String> {
    let text = answer.to_string();
    let at = text.find(FILED)? + FILED.len() - "CP-".len();
    Some(text[at..].chars().take("CP-2569-0001".len()).collect())
}

/// Where a web resident was when the server died.
struct Interrupted {
    session: String,
    /// The last message answered, and its answer.
    last_answered: Option<(Value, Value)>,
    /// The message sent when the connection broke, if any.
    in_flight: Option<Value>,
    /// The codes of the cases filed (seen in an answer) before the crash.
    filed: Vec<String>,
}

/// Files complaints one after another until the server dies under it.
async fn web_resident(http: reqwest::Client, base: String, session: String) -> Interrupted {
    let mut last_answered: Option<(Value, Value)> = None;
    let mut filed = Vec::new();
    for round in 0.. {
        for (step, input) in WEB_FLOW.iter().enumerate() {
            let id = format!("{session}-{round}-{step}");
            let mut message = json!({ "session": session, "id": id });
            // A digit taps the n-th choice of the last answer.
            let last = last_answered.as_ref().map_or(&Value::Null, |(_, a)| a);
            match crate::helpers::picked(last, "payload", input) {
                Some(payload) => message["postback"] = json!(payload),
                None => message["text"] = json!(input),
            }
            match chat(&http, &base, &message).await {
                Some(answer) => {
                    if let Some(code) = filed_code(&answer) {
                        filed.push(code);
                    }
                    last_answered = Some((message, answer));
                }
                None => {
                    return Interrupted {
                        session,
                        last_answered,
                        in_flight: Some(message),
                        filed,
                    }
                }
            }
        }
    }
    unreachable!("the server is killed")
}

async fn chat(http: &reqwest::Client, base: &str, message: &Value) -> Option<Value> {
    let response = http
        .post(format!("{base}/api/chat"))
        .json(message)
        .send()
        .await
        .ok()?;
    assert_eq!(response.status(), 200, "the web chat answers");
    response.json().await.ok()
}

#[derive(Default)]
struct WebChecks {
    retries: usize,
    duplicates: usize,
    /// Cases filed, their code seen (before a crash or in a retry's answer), by the
    /// session that filed them.
    filed: Vec<(String, String)>,
    /// Retries of the last step (confirm), each answered with the case's code.
    confirm_retries: usize,
    /// (session, message id) of retries whose answer had no replies.
    empty: Vec<(String, String)>,
}

impl WebChecks {
    async fn check_retries(&mut self, http: &reqwest::Client, base: &str, resident: Interrupted) {
        self.filed.extend(
            resident
                .filed
                .iter()
                .map(|code| (resident.session.clone(), code.clone())),
        );
        let mut retried = Vec::new();
        if let Some((message, first_answer)) = resident.last_answered {
            let again = chat(http, base, &message)
                .await
                .expect("a retry is answered");
            assert_eq!(again["duplicate"], true, "{again}");
            assert_eq!(
                again["replies"], first_answer["replies"],
                "a retry gets the answer kept from the first time"
            );
            retried.push((message, again));
        }
        if let Some(message) = resident.in_flight {
            let again = chat(http, base, &message)
                .await
                .expect("a retry is answered");
            retried.push((message, again));
        }
        for (message, answer) in retried {
            self.retries += 1;
            if answer["duplicate"] == true {
                self.duplicates += 1;
            }
            if message["postback"] == "confirm" {
                self.confirm_retries += 1;
                assert!(
                    answer.to_string().contains(FILED),
                    "a retried confirm shows the case's code: {answer}"
                );
                if let (false, Some(code)) = (answer["duplicate"] == true, filed_code(&answer)) {
                    self.filed.push((resident.session.clone(), code));
                }
            }
            let empty = answer["replies"].as_array().is_none_or(Vec::is_empty);
            if empty {
                self.empty.push((
                    resident.session.clone(),
                    message["id"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
}

/// How many answers LINE carried out for each user: replies (by the event's token)
/// and pushes.
fn answers_per_user(line: &FakeLine) -> HashMap<String, usize> {
    let mut answers = HashMap::new();
    for reply in line.accepted("/v2/bot/message/reply") {
        let token = reply.body["replyToken"].as_str().unwrap_or_default();
        // token-crash-RUN-I belongs to user U{RUN:02}{I:030}.
        let Some((run, i)) = token
            .strip_prefix("token-crash-")
            .and_then(|rest| rest.split_once('-'))
        else {
            continue;
        };
        let user = format!(
            "U{:02}{:030}",
            run.parse::<usize>().unwrap(),
            i.parse::<usize>().unwrap()
        );
        *answers.entry(user).or_default() += 1;
    }
    for push in line.accepted("/v2/bot/message/push") {
        if let Some(user) = push.body["to"].as_str() {
            *answers.entry(user.to_owned()).or_default() += 1;
        }
    }
    answers
}
