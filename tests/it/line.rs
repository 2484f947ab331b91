//! The LINE channel end to end, against a local fake of the Messaging API: LINE's own
//! webhook bodies, signatures, a whole conversation, redelivery, token expiry, retries,
//! groups, the rich menu and `line check`.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::helpers::{eventually, TestApp};
use crate::line_fake::{FakeLine, Recorded, TOKEN};
use crate::openapi::Spec;

const USER: &str = "U4af4980629aaaaaaaaaaaaaaaaaaaaaa";

fn fixtures() -> PathBuf {
    std::env::var_os("TAMBON_FIXTURES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
        PathBuf::from,
    )
}

/// Every LINE webhook body of the fixtures: the files whose JSON has `events`.
fn fixture_bodies() -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, found: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "json") {
                let bytes = std::fs::read(&path).unwrap();
                let is_webhook = serde_json::from_slice::<Value>(&bytes)
                    .is_ok_and(|v| v.get("events").is_some());
                if is_webhook {
                    found.push((path, bytes));
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(&fixtures().join("line"), &mut found);
    assert!(
        found.len() >= 28,
        "LINE fixtures not found under {}",
        fixtures().display()
    );
    found
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A webhook body with one event from `USER`, fresh, with its own ids.
fn body(n: usize, kind: &str, extra: Value) -> Vec<u8> {
    let mut event = json!({
        "type": kind,
        "mode": "active",
        "timestamp": now_ms(),
        "source": { "type": "user", "userId": USER },
        "webhookEventId": format!("01TEST{n:020}"),
        "deliveryContext": { "isRedelivery": false },
        "replyToken": format!("reply-token-{n}"),
    });
    for (key, value) in extra.as_object().unwrap() {
        event[key] = value.clone();
    }
    serde_json::to_vec(&json!({ "destination": "Ubot", "events": [event] })).unwrap()
}

fn text(n: usize, text: &str) -> Vec<u8> {
    body(
        n,
        "message",
        json!({ "message": { "id": format!("m{n}"), "type": "text", "text": text } }),
    )
}

fn postback(n: usize, data: &str) -> Vec<u8> {
    body(n, "postback", json!({ "postback": { "data": data } }))
}

/// The text a resident sees in the messages of a reply or push, flattened.
fn seen(request: &Recorded) -> String {
    let mut out = Vec::new();
    for message in request.body["messages"].as_array().unwrap() {
        collect_text(message, &mut out);
    }
    out.join("\n")
}

fn collect_text(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("text" | "label" | "data" | "altText", Value::String(s)) => {
                        out.push(s.clone())
                    }
                    _ => collect_text(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_text(v, out)),
        _ => {}
    }
}

/// Posts an event and waits for the answer the fake receives at `path`.
async fn exchange(app: &TestApp, line: &FakeLine, event: Vec<u8>, path: &str) -> Recorded {
    let before = line.requests_to(path).len();
    assert_eq!(app.post_line(&event).await, 200);
    eventually(&format!("a call to {path}"), || {
        line.requests_to(path).len() > before
    })
    .await;
    line.requests_to(path).pop().unwrap()
}

fn assert_schema(schema: &str, request: &Recorded) {
    if let Err(errors) = Spec::messaging_api().validate(schema, &request.body) {
        panic!("{schema} invalid: {errors:?}\n{}", request.body);
    }
}

#[tokio::test]
async fn every_fixture_is_accepted_signed_and_refused_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let line = FakeLine::start().await;
    let app = TestApp::spawn_line(dir.path(), &line.base_url).await;
    for (path, bytes) in fixture_bodies() {
        assert_eq!(
            app.post_line_signed(&bytes, None).await,
            401,
            "{}",
            path.display()
        );
        assert_eq!(
            app.post_line_signed(&bytes, Some("d3Jvbmc=")).await,
            401,
            "{}",
            path.display()
        );
        let mut tampered = bytes.clone();
        tampered.push(b' ');
        let secret = secrecy::SecretString::from(crate::helpers::LINE_SECRET.to_owned());
        let signature = tambon::channels::line::signature::sign(&secret, &bytes);
        assert_eq!(
            app.post_line_signed(&tampered, Some(&signature)).await,
            401,
            "{}",
            path.display()
        );
        assert_eq!(app.post_line(&bytes).await, 200, "{}", path.display());
    }
    // The connection check LINE sends, and a malformed body.
    assert_eq!(
        app.post_line(br#"{"destination":"U1","events":[]}"#).await,
        200
    );
    assert_eq!(app.post_line(b"{not json").await, 400);
    // Everything queued is processed, none of it crashed the worker.
    let mut queued = u64::MAX;
    for _ in 0..200 {
        let health: Value = app.get("/healthz").await.json().await.unwrap();
        queued = health["inbound_queued"].as_u64().unwrap();
        if queued == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(queued, 0, "every fixture event was processed or dropped");
    // The fixtures' events are years old: their reply tokens are stale, so the answers
    // to residents are pushed, each valid against LINE's schema. (Many fixture files
    // reuse one message id, so they are one event to tambon.)
    eventually("answers pushed", || {
        line.requests_to("/v2/bot/message/push").len() >= 5
    })
    .await;
    for request in line.requests_to("/v2/bot/message/push") {
        assert_schema("PushMessageRequest", &request);
    }
    assert!(line.requests_to("/v2/bot/message/reply").is_empty());
    app.stop().await;
}

#[test]
fn known_signature_vectors_verify() {
    let vectors: Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("line/signature-vectors.json")).unwrap(),
    )
    .unwrap();
    for vector in vectors["vectors"].as_array().unwrap() {
        let secret =
            secrecy::SecretString::from(vector["channel_secret"].as_str().unwrap().to_owned());
        let verified = tambon::channels::line::signature::verify(
            &secret,
            vector["body"].as_str().unwrap().as_bytes(),
            vector["x_line_signature"].as_str().unwrap(),
        );
        assert_eq!(verified, vector["valid"].as_bool().unwrap(), "{vector}");
    }
}

#[tokio::test]
async fn a_resident_asks_files_a_suggestion_with_photo_and_location_and_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let line = FakeLine::start().await;
    line.set_profile(USER, "th");
    let jpeg = b"\xff\xd8\xff\xe0fake jpeg".to_vec();
    line.set_content("photo-1", "image/jpeg", jpeg.clone());
    let app = TestApp::spawn_line(dir.path(), &line.base_url).await;
    let reply = "/v2/bot/message/reply";

    // A question, answered with the free reply token, as Flex cards.
    let answer = exchange(&app, &line, text(1, "มาตรการป้องกันการทุจริตมีอะไรบ้าง"), reply).await;
    assert_eq!(
        answer.headers["authorization"],
        format!("Bearer {TOKEN}").as_str()
    );
    assert_eq!(answer.body["replyToken"], "reply-token-1");
    assert_schema("ReplyMessageRequest", &answer);
    assert_eq!(answer.body["messages"][0]["type"], "flex");
    let shown = seen(&answer);
    assert!(shown.contains("OIT · การป้องกันการทุจริต (37.50)"), "{shown}");
    // One line answers the question: the measures, then who is responsible.
    assert!(
        shown.contains("มาตรการ: มาตรการในการส่งเสริมความโปร่งใสในการจัดซื้อจัดจ้าง"),
        "{shown}"
    );
    assert!(shown.contains("✓ ดำเนินการแล้ว"), "{shown}");
    // The profile said Thai; the menu is the quick reply of the last message.
    let items = answer.body["messages"].as_array().unwrap().last().unwrap()["quickReply"]["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        items, 8,
        "the menu: ask, suggest, complain, corruption, follow, language, updates, link"
    );

    // A suggestion with a location and a photo.
    let categories = exchange(&app, &line, postback(2, "suggest"), reply).await;
    assert!(seen(&categories).contains("cat:roads"));
    exchange(&app, &line, postback(3, "cat:roads"), reply).await;
    let asks_place = exchange(&app, &line, text(4, "ควรติดไฟส่องสว่างที่สะพานหมู่ ๒"), reply).await;
    assert_schema("ReplyMessageRequest", &asks_place);
    let location_action = &asks_place.body["messages"][0]["quickReply"]["items"][0]["action"];
    assert_eq!(
        location_action["type"], "location",
        "sharing a place opens LINE's location picker"
    );
    let location = body(
        5,
        "message",
        json!({ "message": { "id": "m5", "type": "location", "title": "สะพาน", "address": "หมู่ ๒ บ้านเพชร", "latitude": 15.5, "longitude": 101.9 } }),
    );
    let asks_photo = exchange(&app, &line, location, reply).await;
    assert_eq!(
        asks_photo.body["messages"][0]["quickReply"]["items"][0]["action"]["type"],
        "cameraRoll"
    );
    let photo = body(
        6,
        "message",
        json!({ "message": { "id": "photo-1", "type": "image", "contentProvider": { "type": "line" } } }),
    );
    let got_photo = exchange(&app, &line, photo, reply).await;
    assert!(
        seen(&got_photo).contains("ได้รับรูปแล้ว 1 รูป"),
        "{}",
        seen(&got_photo)
    );
    assert!(line.requests_to("/v2/bot/message/photo-1/content").len() == 1);
    let loading = line.requests_to("/v2/bot/chat/loading/start");
    assert_eq!(
        loading.len(),
        1,
        "the loading animation shows while the photo is fetched"
    );
    assert_eq!(loading[0].body["chatId"], USER);
    assert_schema("ShowLoadingAnimationRequest", &loading[0]);
    exchange(&app, &line, postback(7, "done"), reply).await;
    let summary = exchange(&app, &line, postback(8, "skip"), reply).await;
    let shown = seen(&summary);
    assert!(
        shown.contains("15.50000, 101.90000") && shown.contains("รูปภาพ: 1"),
        "{shown}"
    );
    let confirm = postback(9, "confirm");
    let receipt = exchange(&app, &line, confirm.clone(), reply).await;
    assert_schema("ReplyMessageRequest", &receipt);
    let year = tambon::thai::buddhist_year(chrono::Utc::now());
    let code = format!("SG-{year}-0001");
    assert!(
        seen(&receipt).contains(&format!("รับเรื่องแล้ว เลขที่ {code}")),
        "{}",
        seen(&receipt)
    );
    assert_eq!(
        receipt.body["messages"][0]["type"], "flex",
        "the receipt is a card"
    );

    // LINE redelivers the confirmation: nothing is answered twice, no second case.
    let n_calls = line.requests().len();
    let mut redelivered: Value = serde_json::from_slice(&confirm).unwrap();
    redelivered["events"][0]["deliveryContext"]["isRedelivery"] = json!(true);
    assert_eq!(
        app.post_line(&serde_json::to_vec(&redelivered).unwrap())
            .await,
        200
    );

    // Following the case by its code.
    let followed = exchange(&app, &line, text(10, &code.to_lowercase()), reply).await;
    assert!(seen(&followed).contains(&code), "{}", seen(&followed));
    let followed_text = seen(&followed);
    assert!(
        followed_text.contains("ควรติดไฟส่องสว่างที่สะพานหมู่ ๒"),
        "{followed_text}"
    );
    assert!(followed_text.contains("รับเรื่องแล้ว"), "{followed_text}");
    assert_eq!(
        line.requests().len(),
        n_calls + 1,
        "only the lookup was answered after the redelivery"
    );
    app.stop().await;

    let store = crate::helpers::reopen(dir.path());
    assert_eq!(store.n_cases(), 1);
    let case = store.all_cases().next().unwrap().unwrap();
    assert_eq!(case.code, code);
    assert_eq!(case.location.as_ref().unwrap().latitude, 15.5);
    assert_eq!(
        case.location.as_ref().unwrap().address.as_deref(),
        Some("หมู่ ๒ บ้านเพชร")
    );
    let media = store.media(&case.photos[0]).unwrap().unwrap();
    assert_eq!(media.bytes, jpeg);
}

#[tokio::test]
async fn an_expired_reply_token_falls_back_to_a_push_with_a_retry_key() {
    let dir = tempfile::tempdir().unwrap();
    let line = FakeLine::start().await;
    let app = TestApp::spawn_line(dir.path(), &line.base_url).await;
    let mut old: Value = serde_json::from_slice(&text(20, "What was the OIT score?")).unwrap();
    old["events"][0]["timestamp"] = json!(now_ms() - 10 * 60 * 1000);
    let pushed = exchange(
        &app,
        &line,
        serde_json::to_vec(&old).unwrap(),
        "/v2/bot/message/push",
    )
    .await;
    assert_eq!(pushed.body["to"], USER);
    assert_schema("PushMessageRequest", &pushed);
    let retry_key = pushed.headers["x-line-retry-key"].to_str().unwrap();
    assert_eq!(retry_key.len(), 36, "a UUID: {retry_key}");
    assert!(seen(&pushed).contains("37.50"), "{}", seen(&pushed));
    assert!(
        line.requests_to("/v2/bot/message/reply").is_empty(),
        "a stale token is not tried"
    );

    // A token LINE refuses (already used) also falls back to a push.
    line.expire_reply_token("reply-token-21");
    let pushed = exchange(
        &app,
        &line,
        text(21, "What was the IIT score?"),
        "/v2/bot/message/push",
    )
    .await;
    assert!(seen(&pushed).contains("77.77"), "{}", seen(&pushed));
    assert_eq!(line.requests_to("/v2/bot/message/reply").len(), 1);
    app.stop().await;
}

/// A reply LINE carried out but whose answer was lost looks, to tambon, like a failure.
/// The retry finds the token spent: the part counts as sent, and no push says it twice.
#[tokio::test]
async fn a_reply_that_may_have_been_taken_is_never_pushed_again() {
    let dir = tempfile::tempdir().unwrap();
    let line = FakeLine::start().await;
    let app = TestApp::spawn_line(dir.path(), &line.base_url).await;
    line.lose_next_answer("/v2/bot/message/reply");
    assert_eq!(
        app.post_line(&text(40, "What was the EIT score?")).await,
        200
    );
    eventually("the reply tried again after the lost answer", || {
        line.requests_to("/v2/bot/message/reply").len() >= 2
    })
    .await;
    // Another resident's answer after it: the dispatcher has moved on.
    let later = exchange(&app, &line, text(41, "สวัสดี"), "/v2/bot/message/reply").await;
    assert_eq!(later.body["replyToken"], "reply-token-41");
    app.stop().await;

    let replies = line.requests_to("/v2/bot/message/reply");
    let for_40: Vec<_> = replies
        .iter()
        .filter(|r| r.body["replyToken"] == "reply-token-40")
        .collect();
    assert_eq!(for_40.len(), 2, "tried, then tried again");
    assert_eq!(for_40[1].status, 400, "LINE refuses the spent token");
    let delivered: Vec<_> = line
        .accepted("/v2/bot/message/reply")
        .into_iter()
        .filter(|r| r.body["replyToken"] == "reply-token-40")
        .collect();
    assert_eq!(delivered.len(), 1);
    assert!(
        seen(&delivered[0]).contains("79.59"),
        "{}",
        seen(&delivered[0])
    );
    assert!(
        line.requests_to("/v2/bot/message/push").is_empty(),
        "the answer was not pushed a second time"
    );
    // Both answers count as delivered (and, about no case, are forgotten): nothing is
    // left to send after a restart.
    let store = crate::helpers::reopen(dir.path());
    let left: Vec<_> = store.all_deliveries().map(|d| d.unwrap()).collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let line = FakeLine::start().await;
    let app = TestApp::spawn_line(dir.path(), &line.base_url).await;
    line.fail_next("/v2/bot/message/reply", 429, None);
    line.fail_next("/v2/bot/message/reply", 500, None);
    assert_eq!(
        app.post_line(&text(30, "What was the EIT score?")).await,
        200
    );
    eventually("a successful reply after a 429 and a 500", || {
        line.requests_to("/v2/bot/message/reply").len() >= 3
    })
    .await;
    let attempts = line.requests_to("/v2/bot/message/reply");
    assert!(attempts
        .iter()
        .all(|r| r.body["replyToken"] == "reply-token-30"));
    assert!(seen(&attempts[2]).contains("79.59"));

    // A push that fails with a 500 is retried with the same retry key.
    line.fail_next("/v2/bot/message/push", 500, None);
    let mut old: Value = serde_json::from_slice(&text(31, "What was the OIT score?")).unwrap();
    old["events"][0]["timestamp"] = json!(now_ms() - 10 * 60 * 1000);
    assert_eq!(app.post_line(&serde_json::to_vec(&old).unwrap()).await, 200);
    eventually("a push after a 500", || {
        line.requests_to("/v2/bot/message/push").len() >= 2
    })
    .await;
    let pushes = line.requests_to("/v2/bot/message/push");
    assert_eq!(
        pushes[0].headers["x-line-retry-key"],
        pushes[1].headers["x-line-retry-key"]
    );
    app.stop().await;
}

#[tokio::test]
async fn standby_events_are_recorded_and_never_answered() {
    let dir = tempfile::tempdir().unwrap();
    let line = FakeLine::start().await;
    let app = TestApp::spawn_line(dir.path(), &line.base_url).await;
    let mut standby: Value = serde_json::from_slice(&text(40, "สวัสดี")).unwrap();
    standby["events"][0]["mode"] = json!("standby");
    assert_eq!(
        app.post_line(&serde_json::to_vec(&standby).unwrap()).await,
        200
    );
    // An active event after it is answered, and is the only one.
    exchange(&app, &line, text(41, "สวัสดี"), "/v2/bot/message/reply").await;
    let replies = line.requests_to("/v2/bot/message/reply");
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].body["replyToken"], "reply-token-41");
    // Nor pushed: the standby event was never queued, so nothing can be sent for it.
    assert!(line.requests_to("/v2/bot/message/push").is_empty());
    // Health names the LINE worker, which went round its loop.
    let health: Value = app.get("/healthz").await.json().await.unwrap();
    let names: Vec<&str> = health["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"queue:line"), "{health}");
    app.stop().await;
}

#[tokio::test]
async fn a_flood_from_one_person_is_slowed_and_does_not_hold_up_the_others() {
    const LIMIT: u32 = 5;
    const FLOOD: usize = 40;
    const OTHER: &str = "U0000000000bbbbbbbbbbbbbbbbbbbbbb";
    let dir = tempfile::tempdir().unwrap();
    let line = FakeLine::start().await;
    let mut settings = crate::helpers::settings(dir.path(), None);
    settings.server.platform_messages_per_person_per_minute = LIMIT;
    let app = TestApp::spawn_line_with(settings, &line.base_url).await;

    // One person sends 40 messages at once (LINE batches them in one webhook call).
    let events: Vec<Value> = (0..FLOOD)
        .map(|i| {
            let one: Value = serde_json::from_slice(&text(100 + i, "สวัสดี")).unwrap();
            one["events"][0].clone()
        })
        .collect();
    let flood = json!({ "destination": "Ubot", "events": events });
    assert_eq!(
        app.post_line(&serde_json::to_vec(&flood).unwrap()).await,
        200
    );

    // Somebody else writes right after and is answered as usual…
    let from_other = |n: usize| {
        let mut event: Value = serde_json::from_slice(&text(n, "สวัสดี")).unwrap();
        event["events"][0]["source"]["userId"] = json!(OTHER);
        serde_json::to_vec(&event).unwrap()
    };
    let answered = |token: &str| {
        line.requests_to("/v2/bot/message/reply")
            .iter()
            .any(|r| r.body["replyToken"] == token)
    };
    assert_eq!(app.post_line(&from_other(200)).await, 200);
    eventually("the other person's answer", || answered("reply-token-200")).await;
    // …and again once the worker has gone past the whole flood (it was queued first).
    assert_eq!(app.post_line(&from_other(201)).await, 200);
    eventually("the other person's second answer", || {
        answered("reply-token-201")
    })
    .await;

    // The flooder got answers to their first five messages, then one request to slow
    // down, then nothing: the rest was dropped before any work was done for it.
    let to_flooder: Vec<Recorded> = line
        .requests_to("/v2/bot/message/reply")
        .into_iter()
        .filter(|r| {
            !r.body["replyToken"]
                .as_str()
                .unwrap()
                .starts_with("reply-token-20")
        })
        .collect();
    let tokens: Vec<&str> = to_flooder
        .iter()
        .map(|r| r.body["replyToken"].as_str().unwrap())
        .collect();
    assert_eq!(
        tokens,
        (100..=100 + LIMIT as usize)
            .map(|n| format!("reply-token-{n}"))
            .collect::<Vec<_>>(),
        "answers to the flooder"
    );
    let slow_down = "ท่านส่งข้อความถี่เกินไป";
    for answered in &to_flooder[..LIMIT as usize] {
        assert!(!seen(answered).contains(slow_down), "{}", seen(answered));
    }
    assert!(
        seen(&to_flooder[LIMIT as usize]).contains(slow_down),
        "{}",
        seen(&to_flooder[LIMIT as usize])
    );
    assert!(line.requests_to("/v2/bot/message/push").is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_bound_group_receives_its_division_cases_and_stays_quiet_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let line = FakeLine::start().await;
    let app = TestApp::spawn_line(dir.path(), &line.base_url).await;
    let group = "Cgroup0000000000000000000000000001";
    let join = json!({ "destination": "Ubot", "events": [{
        "type": "join", "mode": "active", "timestamp": now_ms(),
        "source": { "type": "group", "groupId": group },
        "webhookEventId": "01JOIN", "deliveryContext": { "isRedelivery": false }, "replyToken": "rt-join"
    }]});
    assert_eq!(
        app.post_line(&serde_json::to_vec(&join).unwrap()).await,
        200
    );
    // Chatter in the group is not answered; a mention is.
    let chatter = json!({ "destination": "Ubot", "events": [{
        "type": "message", "mode": "active", "timestamp": now_ms(),
        "source": { "type": "group", "groupId": group, "userId": USER },
        "webhookEventId": "01CHAT", "deliveryContext": { "isRedelivery": false }, "replyToken": "rt-chat",
        "message": { "id": "g1", "type": "text", "text": "ประชุมพรุ่งนี้กี่โมง" }
    }]});
    assert_eq!(
        app.post_line(&serde_json::to_vec(&chatter).unwrap()).await,
        200
    );
    let mention = json!({ "destination": "Ubot", "events": [{
        "type": "message", "mode": "active", "timestamp": now_ms(),
        "source": { "type": "group", "groupId": group, "userId": USER },
        "webhookEventId": "01MENTION", "deliveryContext": { "isRedelivery": false }, "replyToken": "rt-mention",
        "message": { "id": "g2", "type": "text", "text": "@tambon ช่วยด้วย",
            "mention": { "mentionees": [{ "index": 0, "length": 7, "type": "user", "userId": "Ubot", "isSelf": true }] } }
    }]});
    let hint = exchange(
        &app,
        &line,
        serde_json::to_vec(&mention).unwrap(),
        "/v2/bot/message/reply",
    )
    .await;
    assert_eq!(hint.body["replyToken"], "rt-mention");
    // One group's events run in order: the chatter, queued before the mention, has been
    // through the engine by now, and got no answer by either route.
    assert_eq!(
        line.requests_to("/v2/bot/message/reply").len(),
        1,
        "the chatter got no answer"
    );
    assert!(
        line.requests_to("/v2/bot/message/push").is_empty(),
        "nor a push"
    );
    app.stop().await;

    // An admin binds the group to the engineering division.
    {
        let store = crate::helpers::reopen(dir.path());
        assert!(store
            .bind_group(tambon::domain::Channel::Line, group, Some("engineering"))
            .unwrap());
        store.sync_blocking().unwrap();
    }
    let app = TestApp::spawn_line(dir.path(), &line.base_url).await;
    for (n, event) in [
        postback(50, "complain"),
        postback(51, "cat:roads"),
        text(52, "ถนนหน้าโรงเรียนเป็นหลุมลึก"),
        postback(53, "skip"),
        postback(54, "skip"),
        postback(55, "skip"),
        postback(56, "confirm"),
    ]
    .into_iter()
    .enumerate()
    {
        exchange(&app, &line, event, "/v2/bot/message/reply").await;
        let _ = n;
    }
    eventually("the case pushed to the group", || {
        line.requests_to("/v2/bot/message/push")
            .iter()
            .any(|r| r.body["to"] == group)
    })
    .await;
    let to_group = line
        .requests_to("/v2/bot/message/push")
        .into_iter()
        .find(|r| r.body["to"] == group)
        .unwrap();
    assert_schema("PushMessageRequest", &to_group);
    let shown = seen(&to_group);
    assert!(
        shown.contains("เรื่องใหม่ CP-") && shown.contains("ถนนหน้าโรงเรียนเป็นหลุมลึก"),
        "{shown}"
    );
    assert!(
        !shown.contains(USER),
        "the resident's LINE id is not shown to staff"
    );
    app.stop().await;
}

#[tokio::test]
async fn rich_menu_and_check_talk_to_the_api() {
    let line = FakeLine::start().await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut settings = tambon::config::Settings::load(&root.join("config/tambon.toml")).unwrap();
    settings.line.api_base = line.base_url.clone();
    settings.line.data_api_base = line.base_url.clone();
    let client = tambon::channels::line::Client::new(
        &settings.line,
        TOKEN.to_owned().into(),
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    let id = tambon::channels::line::ops::rich_menu(&client, &settings.line)
        .await
        .unwrap();
    let created = line.requests_to("/v2/bot/richmenu").pop().unwrap();
    assert_eq!(created.body["chatBarText"], "เมนู");
    assert_eq!(created.body["areas"].as_array().unwrap().len(), 6);
    assert_schema("RichMenuRequest", &created);
    let (content_type, image) = line.rich_menu_image(&id).unwrap();
    assert_eq!(content_type, "image/png");
    assert_eq!(
        image,
        std::fs::read(root.join("config/line-rich-menu.png")).unwrap()
    );
    assert_eq!(line.default_rich_menu().as_deref(), Some(id.as_str()));

    let report = tambon::channels::line::ops::check(&client).await.unwrap();
    assert!(report.contains("token: ok"), "{report}");
    assert!(report.contains("webhook test: ok"), "{report}");

    let bad = tambon::channels::line::Client::new(
        &settings.line,
        "wrong".to_owned().into(),
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    let error = tambon::channels::line::ops::check(&bad).await.unwrap_err();
    assert!(
        format!("{error:#}").contains("access token does not work"),
        "{error:#}"
    );
}

#[tokio::test]
async fn the_profile_language_is_the_first_hint() {
    let dir = tempfile::tempdir().unwrap();
    let line = FakeLine::start().await;
    line.set_profile(USER, "en");
    let app = TestApp::spawn_line(dir.path(), &line.base_url).await;
    let greeting = exchange(
        &app,
        &line,
        body(60, "follow", json!({})),
        "/v2/bot/message/reply",
    )
    .await;
    assert!(seen(&greeting).contains("Hello!"), "{}", seen(&greeting));
    // A Thai message then switches to Thai: the script of what residents write wins.
    let answer = exchange(&app, &line, text(61, "สวัสดี"), "/v2/bot/message/reply").await;
    assert!(seen(&answer).contains("สวัสดีค่ะ"), "{}", seen(&answer));
    app.stop().await;
}

/// LINE is asked for a person's language only when their first message cannot tell: a
/// clear English sentence is answered in English with no profile call (the profile,
/// Thai here, would not have been read), a case code alone in the profile's language.
#[tokio::test]
async fn line_is_asked_for_a_language_only_when_the_first_message_cannot_tell() {
    let dir = tempfile::tempdir().unwrap();
    let line = FakeLine::start().await;
    let (writes_english, writes_code) = ("Uwritesenglish", "Uwritescode");
    line.set_profile(writes_english, "th");
    line.set_profile(writes_code, "en");
    let app = TestApp::spawn_line(dir.path(), &line.base_url).await;
    let from = |n: usize, user: &str, words: &str| {
        body(
            n,
            "message",
            json!({
                "source": { "type": "user", "userId": user },
                "message": { "id": format!("m{n}"), "type": "text", "text": words },
            }),
        )
    };
    // A question waits for the knowledge, which reading English needs: until it is
    // built, LINE is asked rather than the worker kept waiting.
    exchange(
        &app,
        &line,
        text(80, "มาตรการป้องกันการทุจริตมีอะไรบ้าง"),
        "/v2/bot/message/reply",
    )
    .await;

    let answer = exchange(
        &app,
        &line,
        from(81, writes_english, "What was the EIT score?"),
        "/v2/bot/message/reply",
    )
    .await;
    assert!(
        seen(&answer).contains("EIT: 79.59") && seen(&answer).contains("Ask about measures"),
        "answered in English: {}",
        seen(&answer)
    );
    assert!(
        line.requests_to(&format!("/v2/bot/profile/{writes_english}"))
            .is_empty(),
        "no profile call for a message that shows its language"
    );

    let answer = exchange(
        &app,
        &line,
        from(82, writes_code, "CP-2569-0001"),
        "/v2/bot/message/reply",
    )
    .await;
    assert_eq!(
        line.requests_to(&format!("/v2/bot/profile/{writes_code}"))
            .len(),
        1,
        "a case code does not show a language: the profile is asked"
    );
    assert!(
        seen(&answer).contains("Ask about measures"),
        "answered in the profile's English: {}",
        seen(&answer)
    );
    app.stop().await;
}

/// What the outbox keeps of answers: nothing of a delivered answer that no case refers
/// to (a question's, an intake step's), and the answer that shows an anonymous
/// complaint's receipt is wiped once finished, even when it could not be delivered
/// (dead): no receipt stays in the store in clear.
#[tokio::test]
async fn answers_are_not_kept_once_sent_and_a_receipt_never_stays() {
    let dir = tempfile::tempdir().unwrap();
    let line = FakeLine::start().await;
    let app = TestApp::spawn_line(dir.path(), &line.base_url).await;
    exchange(
        &app,
        &line,
        text(300, "What was the EIT score?"),
        "/v2/bot/message/reply",
    )
    .await;
    let steps = [
        postback(301, "corrupt"),
        postback(302, "continue"),
        postback(303, "cat:cc-bribe"),
        text(304, "เจ้าหน้าที่เรียกเงินแลกใบอนุญาต"),
        postback(305, "skip"),
        postback(306, "skip"),
        postback(307, "anon:yes"),
    ];
    for step in steps {
        exchange(&app, &line, step, "/v2/bot/message/reply").await;
    }
    // The confirmation's answer cannot be delivered: its token has expired and LINE
    // refuses the push for good.
    line.expire_reply_token("reply-token-308");
    line.fail_next("/v2/bot/message/push", 403, None);
    assert_eq!(app.post_line(&postback(308, "confirm")).await, 200);
    eventually("the receipt's delivery given up", || {
        app.store
            .all_deliveries()
            .any(|d| d.unwrap().state == tambon::store::DeliveryState::Dead)
    })
    .await;
    app.settled().await;

    let deliveries: Vec<_> = app.store.all_deliveries().map(Result::unwrap).collect();
    let chat =
        |d: &&tambon::store::Delivery| matches!(d.route, tambon::store::Route::Channel { .. });
    let delivered: Vec<_> = deliveries
        .iter()
        .filter(chat)
        .filter(|d| d.state == tambon::store::DeliveryState::Delivered)
        .collect();
    assert!(
        delivered.is_empty(),
        "eight answers were sent: {delivered:?}"
    );
    assert_eq!(line.accepted("/v2/bot/message/reply").len(), 8);
    let dead: Vec<_> = deliveries
        .iter()
        .filter(|d| d.state == tambon::store::DeliveryState::Dead)
        .collect();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let body = dead[0].body.to_string();
    assert!(
        !body.contains("เลขรับเรื่อง"),
        "the receipt's answer is kept: {body}"
    );
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    assert!(digits.len() < 16, "a receipt may be in {body}");
    app.stop().await;
}
