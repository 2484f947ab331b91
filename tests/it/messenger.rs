//! The Messenger channel end to end, against a local fake of the Graph API: Meta's own
//! webhook bodies, signatures, the verification handshake, a whole conversation with a
//! photo, redelivery, the 24-hour window and held messages, retries and long answers.
//! Every Send API body the fake receives is checked against Messenger's rules.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};
use tambon::delivery::{ChannelMessage, ChannelSender as _};
use tambon::domain::{Channel, ChatKey};
use tambon::engine::Outbound;
use tambon::store::{Delivery, DeliveryState, Route, Store, TurnWrite};

use crate::helpers::{eventually, TestApp, MESSENGER_APP_SECRET, MESSENGER_VERIFY_TOKEN};
use crate::messenger_fake::{FakeGraph, Recorded, TOKEN};

const PSID: &str = "PSID1";
const JPEG: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF fake jpeg";

fn fixtures() -> PathBuf {
    std::env::var_os("TAMBON_FIXTURES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
        PathBuf::from,
    )
}

/// Every Messenger webhook body of the fixtures (the files whose JSON has `entry`), in
/// path order.
fn fixture_bodies() -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, found: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "json") {
                let bytes = std::fs::read(&path).unwrap();
                let is_webhook =
                    serde_json::from_slice::<Value>(&bytes).is_ok_and(|v| v.get("entry").is_some());
                if is_webhook {
                    found.push((path, bytes));
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(&fixtures().join("messenger"), &mut found);
    found.sort();
    assert!(
        found.len() >= 40,
        "Messenger fixtures not found under {}",
        fixtures().display()
    );
    found
}

/// Whether a fixture item is something a resident did that a bot answers, by
/// Messenger's documentation: a message that is not the page's echo, or a postback,
/// with a sender, in `messaging` (not `standby`).
fn answerable(item: &Value) -> bool {
    item["sender"]["id"]
        .as_str()
        .is_some_and(|id| !id.is_empty())
        && ((item["message"].is_object() && item["message"]["is_echo"] != json!(true))
            || item["postback"].is_object())
}

/// The senders a fixture body should get answers for.
fn answerable_senders(body: &Value) -> BTreeSet<String> {
    if body["object"] != "page" {
        return BTreeSet::new();
    }
    body["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|entry| entry["messaging"].as_array().into_iter().flatten())
        .filter(|item| answerable(item))
        .map(|item| item["sender"]["id"].as_str().unwrap().to_owned())
        .collect()
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// A webhook body with these `messaging` items.
fn envelope(items: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "page",
        "entry": [{ "id": "PAGE", "time": now_ms(), "messaging": items }],
    }))
    .unwrap()
}

/// A `messaging` item from `psid`, now, with the event's fields.
fn item(psid: &str, event: Value) -> Value {
    let mut item = json!({
        "sender": { "id": psid },
        "recipient": { "id": "PAGE" },
        "timestamp": now_ms(),
    });
    for (key, value) in event.as_object().unwrap() {
        item[key] = value.clone();
    }
    item
}

fn text(mid: &str, text: &str) -> Vec<u8> {
    envelope(vec![item(
        PSID,
        json!({ "message": { "mid": mid, "text": text } }),
    )])
}

/// A button tap.
fn postback(mid: &str, payload: &str) -> Vec<u8> {
    envelope(vec![item(
        PSID,
        json!({ "postback": { "mid": mid, "title": payload, "payload": payload } }),
    )])
}

/// A quick reply tap: a message with the label as text and the payload.
fn quick_reply(mid: &str, label: &str, payload: &str) -> Vec<u8> {
    envelope(vec![item(
        PSID,
        json!({ "message": { "mid": mid, "text": label, "quick_reply": { "payload": payload } } }),
    )])
}

/// A message with image attachments at these URLs.
fn images(mid: &str, urls: &[String]) -> Vec<u8> {
    let attachments: Vec<Value> = urls
        .iter()
        .map(|url| json!({ "type": "image", "payload": { "url": url } }))
        .collect();
    envelope(vec![item(
        PSID,
        json!({ "message": { "mid": mid, "attachments": attachments } }),
    )])
}

/// What the resident sees in one Send API call: the text, then the quick replies or
/// buttons as `[title|payload]`.
fn seen(request: &Recorded) -> String {
    let message = &request.body["message"];
    let (text, choices) = match message.get("attachment") {
        Some(attachment) => (
            &attachment["payload"]["text"],
            &attachment["payload"]["buttons"],
        ),
        None => (&message["text"], &message["quick_replies"]),
    };
    let mut out = text.as_str().unwrap_or_default().to_owned();
    let choices: Vec<String> = choices
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "[{}|{}]",
                c["title"].as_str().unwrap(),
                c["payload"].as_str().unwrap()
            )
        })
        .collect();
    if !choices.is_empty() {
        out.push('\n');
        out.push_str(&choices.join(" "));
    }
    out
}

fn seen_all(requests: &[Recorded]) -> String {
    requests.iter().map(seen).collect::<Vec<_>>().join("\n")
}

fn payloads(request: &Recorded) -> Vec<&str> {
    let message = &request.body["message"];
    let choices = message
        .get("quick_replies")
        .unwrap_or(&message["attachment"]["payload"]["buttons"]);
    choices
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["payload"].as_str().unwrap())
        .collect()
}

/// The main menu, as quick replies.
fn assert_menu(request: &Recorded) {
    let offered = payloads(request);
    assert!(
        offered.starts_with(&["ask", "suggest", "complain", "corrupt", "follow"]),
        "{offered:?}"
    );
    assert!(request.body["message"]["quick_replies"].is_array());
}

/// Every Send API call so far broke none of Messenger's rules and was an answer (a
/// RESPONSE) with the page token.
fn assert_all_clean(fake: &FakeGraph) {
    for request in fake.sends() {
        assert!(
            request.violations.is_empty(),
            "{:?} in {}",
            request.violations,
            request.body
        );
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/v21.0/me/messages");
        assert_eq!(
            request.headers["authorization"],
            format!("Bearer {TOKEN}").as_str()
        );
        assert_eq!(request.headers["content-type"], "application/json");
    }
}

/// Posts a signed webhook body, as Meta would, and tells the fake who wrote when (Meta
/// opens a person's 24-hour window when they write).
async fn post(app: &TestApp, fake: &FakeGraph, body: &[u8]) -> u16 {
    fake.received(body);
    app.post_messenger(body).await
}

/// Posts an event and returns the Send API calls it caused (the whole answer).
async fn exchange(app: &TestApp, fake: &FakeGraph, event: Vec<u8>) -> Vec<Recorded> {
    let before = fake.sends().len();
    assert_eq!(post(app, fake, &event).await, 200);
    eventually("an answer through the Send API", || {
        fake.sends().len() > before
    })
    .await;
    app.settled().await;
    let answer = fake.sends()[before..].to_vec();
    for request in &answer {
        assert_eq!(request.status, 200, "{}", request.body);
        assert_eq!(request.body["recipient"]["id"], PSID);
        assert_eq!(request.body["messaging_type"], "RESPONSE");
        assert!(request.body.get("tag").is_none());
    }
    answer
}

/// A body is refused without the right signature of exactly its bytes.
async fn check_refusals(app: &TestApp, path: &Path, bytes: &[u8]) {
    let path = path.display();
    let secret = secrecy::SecretString::from(MESSENGER_APP_SECRET.to_owned());
    assert_eq!(app.post_messenger_signed(bytes, None).await, 401, "{path}");
    let zeros = format!("sha256={}", "0".repeat(64));
    assert_eq!(
        app.post_messenger_signed(bytes, Some(&zeros)).await,
        401,
        "{path}"
    );
    let signature = tambon::channels::messenger::signature::sign(&secret, bytes);
    let legacy = signature.replacen("sha256=", "sha1=", 1);
    assert_eq!(
        app.post_messenger_signed(bytes, Some(&legacy)).await,
        401,
        "{path}"
    );
    let mut tampered = bytes.to_vec();
    tampered.push(b' ');
    assert_eq!(
        app.post_messenger_signed(&tampered, Some(&signature)).await,
        401,
        "{path}"
    );
    let other = secrecy::SecretString::from("another-app-secret".to_owned());
    let foreign = tambon::channels::messenger::signature::sign(&other, bytes);
    assert_eq!(
        app.post_messenger_signed(bytes, Some(&foreign)).await,
        401,
        "{path}"
    );
}

#[tokio::test]
async fn messenger_every_fixture_is_accepted_signed_and_refused_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGraph::start().await;
    let app = TestApp::spawn_messenger(dir.path(), &fake.base_url).await;
    let (silent, answered): (Vec<_>, Vec<_>) =
        fixture_bodies().into_iter().partition(|(_, bytes)| {
            answerable_senders(&serde_json::from_slice(bytes).unwrap()).is_empty()
        });
    assert!(silent.len() >= 25 && answered.len() >= 12);
    let named = |name: &str| silent.iter().any(|(path, _)| path.ends_with(name));
    for name in [
        "fbmq/object-not-page.json",
        "fbmq/message-echo.json",
        "botman/message-echo.json",
        "fbmq/standby-only-postback.json",
        "fbmq/read.json",
        "fbmq/delivery.json",
        "botman/delivery-no-timestamp.json",
        "fbmq/referral.json",
        "botbuilder-dotnet/referral.json",
        "botman/optin-user-ref-no-sender.json",
        "fbmq/app-roles-no-sender.json",
        "botman/empty-messaging-item.json",
    ] {
        assert!(named(name), "{name} is among the bodies not to answer");
    }

    // Echoes, standby items, receipts, referrals, items without a sender, another
    // object: accepted, never answered.
    for (path, bytes) in &silent {
        check_refusals(&app, path, bytes).await;
        assert_eq!(post(&app, &fake, bytes).await, 200, "{}", path.display());
    }
    app.settled().await;
    assert!(
        fake.requests().is_empty(),
        "nothing is answered to {:?}",
        fake.requests()
    );

    // A resident's messages and taps: each sender is answered.
    let mut expected = BTreeSet::new();
    for (path, bytes) in &answered {
        check_refusals(&app, path, bytes).await;
        // The samples were written years ago; delivered now, their senders wrote now.
        for psid in answerable_senders(&serde_json::from_slice(bytes).unwrap()) {
            fake.user_wrote(&psid, Utc::now());
        }
        assert_eq!(post(&app, &fake, bytes).await, 200, "{}", path.display());
        expected.extend(answerable_senders(&serde_json::from_slice(bytes).unwrap()));
    }
    // Meta's connection check, and a malformed body.
    assert_eq!(
        post(&app, &fake, br#"{"object":"page","entry":[]}"#).await,
        200
    );
    assert_eq!(post(&app, &fake, b"{not json").await, 400);
    assert_eq!(app.post_messenger_signed(b"{not json", None).await, 401);
    app.settled().await;
    let recipients: BTreeSet<String> = fake
        .sends()
        .iter()
        .map(|r| r.recipient().to_owned())
        .collect();
    assert_eq!(recipients, expected);
    assert_all_clean(&fake);
    assert!(fake.sends().iter().all(|r| r.status == 200
        && r.body["messaging_type"] == "RESPONSE"
        && r.body.get("tag").is_none()));
    // No photo was fetched: the image fixtures share their `mid` with an audio one,
    // which came first.
    assert!(fake.requests().iter().all(Recorded::is_send));
    app.stop().await;
}

#[test]
fn messenger_known_signature_vectors_verify() {
    let vectors: Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("messenger/signature-vectors.json")).unwrap(),
    )
    .unwrap();
    let sha256: Vec<&Value> = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["header"] == "X-Hub-Signature-256")
        .collect();
    assert_eq!(sha256.len(), 1);
    for vector in vectors["vectors"].as_array().unwrap() {
        let secret = secrecy::SecretString::from(vector["app_secret"].as_str().unwrap().to_owned());
        let body = vector["body"].as_str().unwrap().as_bytes();
        let value = vector["value"].as_str().unwrap();
        let verified = tambon::channels::messenger::signature::verify(&secret, body, value);
        if vector["header"] == "X-Hub-Signature-256" {
            assert!(verified, "{vector}");
            assert_eq!(
                tambon::channels::messenger::signature::sign(&secret, body),
                value
            );
            // Another secret, another body, a changed digit: refused.
            let other = secrecy::SecretString::from("Baz".to_owned());
            assert!(!tambon::channels::messenger::signature::verify(
                &other, body, value
            ));
            let mut longer = body.to_vec();
            longer.push(b'\n');
            assert!(!tambon::channels::messenger::signature::verify(
                &secret, &longer, value
            ));
            let last = value.chars().last().unwrap();
            let changed = format!(
                "{}{}",
                &value[..value.len() - 1],
                if last == '0' { '1' } else { '0' }
            );
            assert!(!tambon::channels::messenger::signature::verify(
                &secret, body, &changed
            ));
        } else {
            // The legacy SHA-1 header is not accepted.
            assert!(!verified, "{vector}");
        }
    }
}

#[tokio::test]
async fn messenger_verification_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGraph::start().await;
    let app = TestApp::spawn_messenger(dir.path(), &fake.base_url).await;
    let handshake = |mode: &str, token: &str, challenge: Option<&str>| {
        let mut path = format!("/webhook/messenger?hub.mode={mode}&hub.verify_token={token}");
        if let Some(challenge) = challenge {
            path.push_str(&format!("&hub.challenge={challenge}"));
        }
        path
    };
    let ok = app
        .get(&handshake(
            "subscribe",
            MESSENGER_VERIFY_TOKEN,
            Some("1158201444"),
        ))
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");

    for path in [
        handshake("subscribe", "wrong-token", Some("1158201444")),
        handshake("subscribe", "", Some("1158201444")),
        handshake("unsubscribe", MESSENGER_VERIFY_TOKEN, Some("1158201444")),
        handshake("subscribe", MESSENGER_VERIFY_TOKEN, None),
        "/webhook/messenger".to_owned(),
    ] {
        assert_eq!(app.get(&path).await.status(), 403, "{path}");
    }
    assert!(fake.requests().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn messenger_a_resident_asks_files_a_complaint_with_a_photo_and_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGraph::start().await;
    fake.set_photo("/cdn/v/t1/photo-1.jpg", "image/jpeg", JPEG.to_vec());
    let app = TestApp::spawn_messenger(dir.path(), &fake.base_url).await;

    // A question: the answer, then the menu as quick replies.
    let answer = exchange(&app, &fake, text("m.1", "What was the OIT score?")).await;
    assert_eq!(answer.len(), 2, "{}", seen_all(&answer));
    assert!(seen(&answer[0]).contains("37.50"), "{}", seen(&answer[0]));
    assert!(answer[0].body["message"].get("quick_replies").is_none());
    assert_menu(&answer[1]);

    // A complaint: the categories as quick replies (titles cut to 20 characters).
    let categories = exchange(&app, &fake, postback("p.2", "complain")).await;
    assert_eq!(categories.len(), 1);
    let offered = payloads(&categories[0]);
    assert!(offered.contains(&"cat:roads"), "{offered:?}");
    assert_eq!(offered.last(), Some(&"cancel"));
    // The category picked by a quick reply.
    let asks_description = exchange(
        &app,
        &fake,
        quick_reply("m.3", "Roads, drains, stre…", "cat:roads"),
    )
    .await;
    assert_eq!(asks_description.len(), 1);
    assert!(payloads(&asks_description[0]).is_empty());
    let asks_place = exchange(&app, &fake, text("m.4", "ถนนหน้าโรงเรียนเป็นหลุมลึก รถล้มบ่อย")).await;
    assert_eq!(asks_place.len(), 1);
    // No location quick reply on Messenger any more: the place is typed, or skipped.
    assert_eq!(payloads(&asks_place[0]), ["skip", "cancel"]);
    let asks_photo = exchange(&app, &fake, text("m.5", "หน้าโรงเรียนบ้านเพชร หมู่ ๒")).await;
    assert_eq!(asks_photo.len(), 1);
    assert_eq!(payloads(&asks_photo[0]), ["skip", "cancel"]);
    let photo_url = fake.photo_url("/cdn/v/t1/photo-1.jpg");
    let got_photo = exchange(&app, &fake, images("m.6", std::slice::from_ref(&photo_url))).await;
    assert_eq!(got_photo.len(), 1);
    assert!(
        seen(&got_photo[0]).contains("ได้รับรูปแล้ว 1 รูป"),
        "{}",
        seen(&got_photo[0])
    );
    assert_eq!(payloads(&got_photo[0]), ["done", "cancel"]);
    assert_eq!(fake.photo_requests("/cdn/v/t1/photo-1.jpg").len(), 1);
    let asks_contact = exchange(&app, &fake, postback("p.7", "done")).await;
    assert_eq!(payloads(&asks_contact[0]), ["skip", "cancel"]);
    let summary = exchange(&app, &fake, postback("p.8", "skip")).await;
    let shown = seen_all(&summary);
    assert!(
        shown.contains("หน้าโรงเรียนบ้านเพชร หมู่ ๒") && shown.contains("รูปภาพ: 1"),
        "{shown}"
    );
    let last = summary.last().unwrap();
    assert_eq!(last.body["message"]["attachment"]["type"], "template");
    assert_eq!(
        last.body["message"]["attachment"]["payload"]["template_type"],
        "button"
    );
    assert_eq!(payloads(last), ["confirm", "cancel"]);

    let receipt = exchange(&app, &fake, postback("p.9", "confirm")).await;
    let year = tambon::thai::buddhist_year(Utc::now());
    let code = format!("CP-{year}-0001");
    let shown = seen_all(&receipt);
    assert!(shown.contains(&format!("รับเรื่องแล้ว เลขที่ {code}")), "{shown}");
    let card = receipt.iter().find(|r| seen(r).contains(&code)).unwrap();
    assert!(
        card.body["message"]["attachment"]["payload"]["template_type"] == "button"
            || card.body["message"]["text"].is_string(),
        "{}",
        card.body
    );

    // Following the case by its code.
    let followed = exchange(&app, &fake, text("m.10", &code.to_lowercase())).await;
    let shown = seen_all(&followed);
    assert!(shown.contains(&code), "{shown}");
    assert!(shown.contains("ถนนหน้าโรงเรียนเป็นหลุมลึก"), "{shown}");
    assert!(shown.contains("รับเรื่องแล้ว"), "{shown}");
    assert_all_clean(&fake);
    assert!(fake.sends().iter().all(|r| r.recipient() == PSID));
    app.stop().await;

    let store = crate::helpers::reopen(dir.path());
    assert_eq!(store.n_cases(), 1);
    let case = store.all_cases().next().unwrap().unwrap();
    assert_eq!(case.code, code);
    assert_eq!(case.category, "roads");
    assert_eq!(case.text, "ถนนหน้าโรงเรียนเป็นหลุมลึก รถล้มบ่อย");
    assert_eq!(case.place.as_deref(), Some("หน้าโรงเรียนบ้านเพชร หมู่ ๒"));
    assert_eq!(case.reporter, Some(ChatKey::new(Channel::Messenger, PSID)));
    assert_eq!(case.photos.len(), 1);
    let media = store.media(&case.photos[0]).unwrap().unwrap();
    assert_eq!(media.content_type, "image/jpeg");
    assert_eq!(media.bytes, JPEG);
    assert!(store
        .held_messages(&ChatKey::new(Channel::Messenger, PSID))
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn messenger_a_photo_that_is_not_an_image_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGraph::start().await;
    fake.set_photo("/cdn/page.html", "text/html", b"<html></html>".to_vec());
    let app = TestApp::spawn_messenger(dir.path(), &fake.base_url).await;
    exchange(&app, &fake, postback("p.1", "complain")).await;
    exchange(&app, &fake, postback("p.2", "cat:roads")).await;
    exchange(&app, &fake, text("m.3", "ไฟถนนดับทั้งซอย")).await;
    // At the place step, a page that is not a photo, and a missing one.
    let refused = exchange(
        &app,
        &fake,
        images("m.4", &[fake.photo_url("/cdn/page.html")]),
    )
    .await;
    let again = exchange(
        &app,
        &fake,
        images("m.5", &[fake.photo_url("/cdn/missing.jpg")]),
    )
    .await;
    assert_eq!(seen_all(&refused), seen_all(&again));
    assert_eq!(payloads(refused.last().unwrap()), ["skip", "cancel"]);
    assert_all_clean(&fake);
    app.stop().await;
    let store = crate::helpers::reopen(dir.path());
    assert_eq!(store.n_cases(), 0);
}

#[tokio::test]
async fn messenger_a_redelivered_item_is_answered_once_and_files_one_case() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGraph::start().await;
    let app = TestApp::spawn_messenger(dir.path(), &fake.base_url).await;

    // The same message twice, and twice in one body.
    let hello = text("m.1", "สวัสดี");
    exchange(&app, &fake, hello.clone()).await;
    let n_sends = fake.sends().len();
    assert_eq!(post(&app, &fake, &hello).await, 200);
    let item: Value = serde_json::from_slice::<Value>(&text("m.2", "สวัสดี")).unwrap()["entry"][0]
        ["messaging"][0]
        .clone();
    let twice = envelope(vec![item.clone(), item]);
    let answer = exchange(&app, &fake, twice).await;
    assert_eq!(fake.sends().len(), n_sends + answer.len());
    assert_eq!(seen_all(&answer), seen_all(&fake.sends()[..n_sends]));

    for (n, event) in [
        postback("p.3", "complain"),
        postback("p.4", "cat:roads"),
        text("m.5", "ถนนทรุดหน้าวัด"),
        postback("p.6", "skip"),
        postback("p.7", "skip"),
        postback("p.8", "skip"),
    ]
    .into_iter()
    .enumerate()
    {
        let answer = exchange(&app, &fake, event).await;
        assert!(!answer.is_empty(), "step {n}");
    }
    let confirm = postback("p.9", "confirm");
    let receipt = exchange(&app, &fake, confirm.clone()).await;
    assert!(seen_all(&receipt).contains("CP-"), "{}", seen_all(&receipt));
    let n_sends = fake.sends().len();
    // Meta redelivers the tap, byte for byte and with a new `time` on the entry.
    assert_eq!(post(&app, &fake, &confirm).await, 200);
    let mut again: Value = serde_json::from_slice(&confirm).unwrap();
    again["entry"][0]["time"] = json!(now_ms() + 1000);
    assert_eq!(
        post(&app, &fake, &serde_json::to_vec(&again).unwrap()).await,
        200
    );
    app.settled().await;
    assert_eq!(fake.sends().len(), n_sends, "the redelivery got no answer");
    assert_all_clean(&fake);
    app.stop().await;
    let store = crate::helpers::reopen(dir.path());
    assert_eq!(store.n_cases(), 1);
}

#[tokio::test]
async fn messenger_echoes_standby_receipts_referrals_and_senderless_items_get_no_answer() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGraph::start().await;
    let app = TestApp::spawn_messenger(dir.path(), &fake.base_url).await;
    let page = |from: &str, to: &str, event: Value| {
        let mut echo = item(from, event);
        echo["recipient"] = json!({ "id": to });
        echo
    };
    let silent = [
        envelope(vec![page(
            "PAGE",
            PSID,
            json!({ "message": { "mid": "m.echo", "is_echo": true, "app_id": 1, "text": "สวัสดีค่ะ" } }),
        )]),
        serde_json::to_vec(&json!({ "object": "page", "entry": [{ "id": "PAGE", "time": now_ms(),
            "standby": [item(PSID, json!({ "message": { "mid": "m.standby", "text": "ถามหน่อย" } }))] }] }))
        .unwrap(),
        serde_json::to_vec(&json!({ "object": "page", "entry": [{ "id": "PAGE", "time": now_ms(),
            "standby": [item(PSID, json!({ "postback": { "payload": "complain" } }))] }] }))
        .unwrap(),
        envelope(vec![item(PSID, json!({ "read": { "watermark": now_ms() } }))]),
        envelope(vec![item(
            PSID,
            json!({ "delivery": { "mids": ["m.x"], "watermark": now_ms() } }),
        )]),
        envelope(vec![item(
            PSID,
            json!({ "referral": { "ref": "poster", "source": "SHORTLINK", "type": "OPEN_THREAD" } }),
        )]),
        envelope(vec![json!({ "recipient": { "id": "PAGE" }, "timestamp": now_ms(),
            "message": { "mid": "m.nobody", "text": "ไม่มีผู้ส่ง" } })]),
        envelope(vec![json!({ "sender": { "id": "" }, "recipient": { "id": "PAGE" }, "timestamp": now_ms(),
            "postback": { "payload": "complain" } })]),
        envelope(vec![json!({ "recipient": { "id": "PAGE" }, "timestamp": now_ms(),
            "optin": { "ref": "x", "user_ref": "UREF" } })]),
        envelope(vec![item(PSID, json!({ "reaction": { "mid": "m.1", "action": "react", "emoji": "👍" } }))]),
        serde_json::to_vec(&json!({ "object": "instagram", "entry": [{ "id": "IG", "time": now_ms(),
            "messaging": [item(PSID, json!({ "message": { "mid": "m.ig", "text": "hello" } }))] }] }))
        .unwrap(),
    ];
    for body in &silent {
        assert_eq!(
            post(&app, &fake, body).await,
            200,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    app.settled().await;
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());

    // Then the resident writes: only that is answered.
    let answer = exchange(&app, &fake, text("m.1", "What was the OIT score?")).await;
    assert!(seen(&answer[0]).contains("37.50"));
    assert_eq!(fake.sends().len(), answer.len());
    assert_all_clean(&fake);
    app.stop().await;
}

#[tokio::test]
async fn messenger_an_old_timestamp_still_counts_as_writing_now() {
    // tambon takes the later of the item's timestamp and the time it arrived, so an
    // item whose timestamp is far behind (held back by Meta, or stamped wrong) still
    // opens the window: it is answered as a RESPONSE. (Meta knows when the person
    // really wrote: now.)
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGraph::start().await;
    fake.user_wrote(PSID, Utc::now());
    let app = TestApp::spawn_messenger(dir.path(), &fake.base_url).await;
    let mut late: Value = serde_json::from_slice(&text("m.1", "What was the OIT score?")).unwrap();
    late["entry"][0]["messaging"][0]["timestamp"] = json!(now_ms() - 25 * 3_600_000);
    let answer = exchange(&app, &fake, serde_json::to_vec(&late).unwrap()).await;
    assert!(seen(&answer[0]).contains("37.50"));
    assert_all_clean(&fake);
    app.stop().await;
}

/// A Send API client on `store`, pointed at the fake.
fn client(fake: &FakeGraph, store: &Store) -> tambon::channels::messenger::Client {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::helpers::settings(dir.path(), None);
    settings.messenger.graph_base = fake.base_url.clone();
    tambon::channels::messenger::Client::new(
        &settings.messenger,
        TOKEN.to_owned().into(),
        Duration::from_secs(5),
        store.clone(),
    )
    .unwrap()
}

/// Records that `psid` last wrote at `at`, as a processed event does.
fn seen_at(store: &Store, fake: &FakeGraph, psid: &str, at: chrono::DateTime<Utc>) {
    fake.user_wrote(psid, at);
    let chat = ChatKey::new(Channel::Messenger, psid);
    let conversation = store.conversation(&chat).unwrap().unwrap_or_default();
    let event_id = format!("mid:seed-{}", at.timestamp_millis());
    store
        .commit_turns(&[TurnWrite {
            event: Some((Channel::Messenger, event_id)),
            conversation: Some(conversation),
            ..TurnWrite::new(chat.clone(), at)
        }])
        .unwrap();
    assert_eq!(
        store
            .last_seen(&chat)
            .unwrap()
            .map(|t| t.timestamp_millis()),
        Some(at.timestamp_millis())
    );
}

fn delivery(psid: &str, messages: Vec<Outbound>, human_agent: bool) -> Delivery {
    let message = ChannelMessage {
        to: psid.to_owned(),
        to_many: Vec::new(),
        reply_token: None,
        reply_by_ms: None,
        messages,
        human_agent,
    };
    Delivery::new(
        1,
        Route::Channel {
            channel: Channel::Messenger,
        },
        None,
        tambon::store::Body::of(&message).unwrap(),
        Utc::now(),
    )
}

fn say(text: &str) -> Outbound {
    Outbound::Text {
        text: text.to_owned(),
    }
}

/// Someone who blocked the page (Meta's 551): the delivery is dead with the reason, and
/// their subscription to updates ends, as an unfollow would end it.
#[tokio::test]
async fn messenger_a_person_who_blocked_the_page_is_unsubscribed() {
    let fake = FakeGraph::start().await;
    let store = Store::temporary().unwrap();
    let client = client(&fake, &store);
    seen_at(&store, &fake, "P-gone", Utc::now());
    let chat = ChatKey::new(Channel::Messenger, "P-gone");
    store
        .set_subscription(&tambon::domain::update::Subscription {
            v: 1,
            chat: chat.clone(),
            village: Some(1),
            topics: tambon::domain::update::Topic::ALL.to_vec(),
            since: Utc::now(),
        })
        .unwrap();
    fake.make_unavailable("P-gone");
    let failure = client
        .send(&mut delivery("P-gone", vec![say("ข่าวหมู่ 1")], false))
        .await
        .unwrap_err();
    assert!(failure.permanent, "{failure:?}");
    assert!(failure.message.contains("551"), "{failure:?}");
    assert!(store.subscription(&chat).unwrap().is_none());
    assert!(
        store.held_messages(&chat).unwrap().is_empty(),
        "nothing kept for them"
    );
}

#[tokio::test]
async fn messenger_the_24_hour_window() {
    let fake = FakeGraph::start().await;
    let store = Store::temporary().unwrap();
    let client = client(&fake, &store);
    let hours_ago = |h: i64| Utc::now() - chrono::Duration::hours(h);

    // Within the window: an answer.
    seen_at(&store, &fake, "P-recent", hours_ago(23));
    client
        .send(&mut delivery("P-recent", vec![say("ผลการพิจารณา")], false))
        .await
        .unwrap();
    let sent = fake.sends();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].body,
        json!({ "recipient": { "id": "P-recent" }, "messaging_type": "RESPONSE",
                "message": { "text": "ผลการพิจารณา" } })
    );

    // Over 24 hours: nothing goes out; the message is kept for the next answer.
    seen_at(&store, &fake, "P-late", hours_ago(25));
    let failure = client
        .send(&mut delivery(
            "P-late",
            vec![say("เรื่องของท่านเสร็จแล้ว")],
            false,
        ))
        .await
        .unwrap_err();
    assert!(failure.permanent, "{failure:?}");
    assert!(failure.message.contains("24-hour"), "{failure:?}");
    assert_eq!(fake.sends().len(), 1, "nothing more was sent");
    let late = ChatKey::new(Channel::Messenger, "P-late");
    assert_eq!(
        store.held_messages(&late).unwrap(),
        vec![say("เรื่องของท่านเสร็จแล้ว")]
    );
    // A second one is kept after it.
    let _ = client
        .send(&mut delivery("P-late", vec![say("อีกเรื่อง")], false))
        .await
        .unwrap_err();
    assert_eq!(
        store.held_messages(&late).unwrap(),
        vec![say("เรื่องของท่านเสร็จแล้ว"), say("อีกเรื่อง")]
    );

    // Someone who never wrote: kept too.
    let failure = client
        .send(&mut delivery("P-never", vec![say("x")], false))
        .await
        .unwrap_err();
    assert!(failure.permanent);
    assert_eq!(fake.sends().len(), 1);

    // A staff answer 3 days after the last message: with the HUMAN_AGENT tag.
    seen_at(&store, &fake, "P-staff", hours_ago(72));
    client
        .send(&mut delivery("P-staff", vec![say("เจ้าหน้าที่ตอบ")], true))
        .await
        .unwrap();
    let tagged = fake.sends().pop().unwrap();
    assert_eq!(tagged.body["messaging_type"], "MESSAGE_TAG");
    assert_eq!(tagged.body["tag"], "HUMAN_AGENT");
    assert_eq!(tagged.body["recipient"]["id"], "P-staff");
    assert!(tagged.violations.is_empty(), "{:?}", tagged.violations);
    assert_eq!(tagged.status, 200);
    // Within 24 hours a staff answer is a plain RESPONSE.
    client
        .send(&mut delivery("P-recent", vec![say("เจ้าหน้าที่ตอบ")], true))
        .await
        .unwrap();
    assert_eq!(
        fake.sends().pop().unwrap().body["messaging_type"],
        "RESPONSE"
    );
    // An automatic answer 3 days later is not a staff answer: kept.
    assert!(
        client
            .send(&mut delivery("P-staff", vec![say("อัตโนมัติ")], false))
            .await
            .unwrap_err()
            .permanent
    );
    // 8 days after: too late even for a staff member.
    seen_at(&store, &fake, "P-old", hours_ago(8 * 24));
    let n_sends = fake.sends().len();
    assert!(
        client
            .send(&mut delivery("P-old", vec![say("ช้าไป")], true))
            .await
            .unwrap_err()
            .permanent
    );
    assert_eq!(fake.sends().len(), n_sends);
    assert_eq!(
        store
            .held_messages(&ChatKey::new(Channel::Messenger, "P-old"))
            .unwrap(),
        vec![say("ช้าไป")]
    );
    assert!(fake.sends().iter().all(|r| r.violations.is_empty()));
}

#[tokio::test]
async fn messenger_held_messages_go_out_with_the_next_answer() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGraph::start().await;
    let chat = ChatKey::new(Channel::Messenger, PSID);
    // The resident last wrote 25 hours ago; a message for them could not go out.
    {
        let store = crate::helpers::reopen(dir.path());
        seen_at(
            &store,
            &fake,
            PSID,
            Utc::now() - chrono::Duration::hours(25),
        );
        let client = client(&fake, &store);
        let failure = client
            .send(&mut delivery(
                PSID,
                vec![say("เรื่องที่แจ้งไว้ซ่อมเสร็จแล้วค่ะ")],
                false,
            ))
            .await
            .unwrap_err();
        assert!(failure.permanent);
        store.sync().await.unwrap();
    }
    assert!(fake.requests().is_empty());

    let app = TestApp::spawn_messenger(dir.path(), &fake.base_url).await;
    let answer = exchange(&app, &fake, text("m.1", "What was the OIT score?")).await;
    assert_eq!(answer.len(), 3, "{}", seen_all(&answer));
    assert_eq!(
        answer[0].body["message"],
        json!({ "text": "เรื่องที่แจ้งไว้ซ่อมเสร็จแล้วค่ะ" })
    );
    assert!(seen(&answer[1]).contains("37.50"));
    // Shown once only.
    let next = exchange(&app, &fake, text("m.2", "What was the IIT score?")).await;
    assert!(
        !seen_all(&next).contains("ซ่อมเสร็จแล้ว"),
        "{}",
        seen_all(&next)
    );
    assert_all_clean(&fake);
    app.stop().await;
    let store = crate::helpers::reopen(dir.path());
    assert!(store.held_messages(&chat).unwrap().is_empty());
}

#[tokio::test]
async fn messenger_rate_limits_and_server_errors_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGraph::start().await;
    let app = TestApp::spawn_messenger(dir.path(), &fake.base_url).await;
    let rate_limit = json!({"error": {"code": 613, "message": "Calls to this api have exceeded the rate limit.", "type": "OAuthException"}});

    // A rate limit (HTTP 400, code 613), then success.
    fake.fail_next(400, rate_limit.clone());
    assert_eq!(
        post(&app, &fake, &text("m.1", "What was the OIT score?")).await,
        200
    );
    eventually("the answer after a rate limit", || {
        fake.delivered().len() >= 2
    })
    .await;
    app.settled().await;
    let sends = fake.sends();
    assert_eq!(sends.len(), 3);
    assert_eq!(sends[0].status, 400);
    assert_eq!(sends[0].body, sends[1].body, "the same part is tried again");
    assert!(seen(&sends[1]).contains("37.50"));

    // A 500, then success.
    fake.fail_next(500, json!({"error": {"code": 2, "message": "An unexpected error has occurred. Please retry your request later.", "type": "OAuthException"}}));
    assert_eq!(
        post(&app, &fake, &text("m.2", "What was the EIT score?")).await,
        200
    );
    eventually("the answer after a 500", || fake.delivered().len() >= 4).await;
    app.settled().await;
    let sends = fake.sends();
    assert_eq!(sends.len(), 6);
    assert_eq!(sends[3].status, 500);
    assert_eq!(sends[3].body, sends[4].body);
    assert!(seen(&sends[4]).contains("79.59"), "{}", seen(&sends[4]));

    // A rate limit in the middle of a two-part answer: the first part is not sent twice.
    fake.fail_after(1, 400, rate_limit);
    assert_eq!(
        post(&app, &fake, &text("m.3", "What was the IIT score?")).await,
        200
    );
    eventually("both parts after a rate limit", || {
        fake.delivered().len() >= 6
    })
    .await;
    app.settled().await;
    let sends = &fake.sends()[6..];
    assert_eq!(
        sends.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 400, 200]
    );
    assert!(seen(&sends[0]).contains("77.77"), "{}", seen(&sends[0]));
    assert_eq!(sends[1].body, sends[2].body);
    assert_ne!(sends[0].body, sends[2].body);
    assert_all_clean(&fake);
    app.stop().await;

    // A refusal that is not a rate limit is not retried.
    let store = crate::helpers::reopen(dir.path());
    assert!(store
        .all_deliveries()
        .map(Result::unwrap)
        .all(|d| d.state == DeliveryState::Delivered));
}

#[tokio::test]
async fn messenger_a_refused_token_is_not_retried() {
    let fake = FakeGraph::start().await;
    let store = Store::temporary().unwrap();
    seen_at(&store, &fake, PSID, Utc::now());
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::helpers::settings(dir.path(), None);
    settings.messenger.graph_base = fake.base_url.clone();
    let wrong = tambon::channels::messenger::Client::new(
        &settings.messenger,
        "expired-token".to_owned().into(),
        Duration::from_secs(5),
        store.clone(),
    )
    .unwrap();
    let failure = wrong
        .send(&mut delivery(PSID, vec![say("x")], false))
        .await
        .unwrap_err();
    assert!(failure.permanent, "{failure:?}");
    assert!(failure.message.contains("190"), "{failure:?}");
    // A rate limit and a server error are worth another try.
    let client = client(&fake, &store);
    fake.rate_limit_next();
    let failure = client
        .send(&mut delivery(PSID, vec![say("x")], false))
        .await
        .unwrap_err();
    assert!(!failure.permanent, "{failure:?}");
    fake.fail_next(503, json!({}));
    let failure = client
        .send(&mut delivery(PSID, vec![say("x")], false))
        .await
        .unwrap_err();
    assert!(!failure.permanent, "{failure:?}");
}

#[tokio::test]
async fn messenger_long_answers_are_split() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGraph::start().await;
    let app = TestApp::spawn_messenger(dir.path(), &fake.base_url).await;

    // Two items tie: two cards, one call each, in order, then the menu.
    let answer = exchange(&app, &fake, text("m.1", "ระบบ e-plannacc กับการทำประชาคม")).await;
    assert!(answer.len() >= 3, "{}", seen_all(&answer));
    for request in &answer {
        assert!(seen(request).chars().count() <= 2_000);
    }
    let (last, cards) = answer.split_last().unwrap();
    assert!(
        cards
            .iter()
            .all(|c| seen(c).starts_with("OIT · การป้องกันการทุจริต (37.50)")),
        "{}",
        seen_all(&answer)
    );
    assert_menu(last);

    // A long description: the summary card is cut into texts of at most 640
    // characters, in order, and its last part carries the buttons.
    exchange(&app, &fake, postback("p.2", "complain")).await;
    exchange(&app, &fake, postback("p.3", "cat:roads")).await;
    let sentence = "ถนนสายหลักหน้าโรงเรียนชำรุดเป็นหลุมลึกหลายจุด ";
    let description: String = sentence.repeat(4_000 / sentence.chars().count());
    let description = description.trim_end().to_owned();
    assert!(description.chars().count() > 3_000 && description.chars().count() <= 5_000);
    exchange(&app, &fake, text("m.4", &description)).await;
    exchange(&app, &fake, postback("p.5", "skip")).await;
    exchange(&app, &fake, postback("p.6", "skip")).await;
    let summary = exchange(&app, &fake, postback("p.7", "skip")).await;
    assert!(summary.len() >= 6, "{} parts", summary.len());
    let (template, texts) = summary.split_last().unwrap();
    for part in texts {
        let text = part.body["message"]["text"].as_str().unwrap();
        assert!(text.chars().count() <= 640, "{}", text.chars().count());
        assert!(part.body["message"].get("quick_replies").is_none());
    }
    assert_eq!(payloads(template), ["confirm", "cancel"]);
    let joined: String = summary
        .iter()
        .map(|r| {
            r.body["message"]["text"]
                .as_str()
                .or(r.body["message"]["attachment"]["payload"]["text"].as_str())
                .unwrap()
                .replace(['\n', ' '], "")
        })
        .collect();
    assert!(
        joined.contains(&description.replace(' ', "")),
        "the description arrives whole, in order"
    );
    assert_all_clean(&fake);
    app.stop().await;

    // A text over 2,000 characters: cut at spaces into parts of at most 2,000.
    let fake = FakeGraph::start().await;
    let store = Store::temporary().unwrap();
    seen_at(&store, &fake, PSID, Utc::now());
    let long = "ประกาศรายชื่อผู้มีสิทธิ์รับเบี้ยยังชีพ ".repeat(120);
    let long = long.trim_end();
    assert!(long.chars().count() > 4_000);
    client(&fake, &store)
        .send(&mut delivery(PSID, vec![say(long)], false))
        .await
        .unwrap();
    let parts: Vec<String> = fake
        .sends()
        .iter()
        .map(|r| r.body["message"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(parts.len(), 3);
    assert!(parts.iter().all(|p| p.chars().count() <= 2_000));
    assert_eq!(parts.join(" "), long);
    assert!(fake.sends().iter().all(|r| r.violations.is_empty()));
}

#[tokio::test]
async fn messenger_several_photos_in_one_message_are_all_kept() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGraph::start().await;
    fake.set_photo("/cdn/a.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 a".to_vec());
    fake.set_photo("/cdn/b.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 b".to_vec());
    let app = TestApp::spawn_messenger(dir.path(), &fake.base_url).await;
    for event in [
        postback("p.1", "complain"),
        postback("p.2", "cat:roads"),
        text("m.3", "ทางระบายน้ำอุดตัน"),
        postback("p.4", "skip"),
    ] {
        exchange(&app, &fake, event).await;
    }
    // Messenger sends photos picked together as one message with several attachments.
    let got = exchange(
        &app,
        &fake,
        images(
            "m.5",
            &[fake.photo_url("/cdn/a.jpg"), fake.photo_url("/cdn/b.jpg")],
        ),
    )
    .await;
    assert_eq!(fake.photo_requests("/cdn/a.jpg").len(), 1);
    assert_eq!(
        fake.photo_requests("/cdn/b.jpg").len(),
        1,
        "the second photo is fetched"
    );
    assert!(
        seen_all(&got).contains("ได้รับรูปแล้ว 2 รูป"),
        "{}",
        seen_all(&got)
    );
    app.stop().await;
}

#[tokio::test]
async fn messenger_a_closed_window_does_not_hold_parts_already_sent() {
    let fake = FakeGraph::start().await;
    let store = Store::temporary().unwrap();
    let client = client(&fake, &store);
    seen_at(
        &store,
        &fake,
        PSID,
        Utc::now() - chrono::Duration::hours(25),
    );
    // The first part went out before the window closed (then a rate limit).
    let mut partly_sent = delivery(PSID, vec![say("ส่วนที่หนึ่ง"), say("ส่วนที่สอง")], false);
    partly_sent.progress = 1;
    assert!(client.send(&mut partly_sent).await.unwrap_err().permanent);
    assert_eq!(
        store
            .held_messages(&ChatKey::new(Channel::Messenger, PSID))
            .unwrap(),
        vec![say("ส่วนที่สอง")]
    );
}

#[tokio::test]
async fn messenger_a_long_thai_text_is_not_cut_inside_a_character() {
    let fake = FakeGraph::start().await;
    let store = Store::temporary().unwrap();
    seen_at(&store, &fake, PSID, Utc::now());
    // Thai is written without spaces between words: 2,400 characters with none.
    let long = "ที่นี่".repeat(400);
    client(&fake, &store)
        .send(&mut delivery(PSID, vec![say(&long)], false))
        .await
        .unwrap();
    let parts: Vec<String> = fake
        .sends()
        .iter()
        .map(|r| r.body["message"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(parts.concat(), long);
    let combining =
        |c: char| matches!(c, '\u{0E31}' | '\u{0E34}'..='\u{0E3A}' | '\u{0E47}'..='\u{0E4E}');
    for part in &parts {
        assert!(
            !part.starts_with(combining),
            "a part starts with {:?}",
            part.chars().next()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn messenger_messages_held_at_once_are_all_kept() {
    let fake = FakeGraph::start().await;
    let store = Store::temporary().unwrap();
    let client = client(&fake, &store);
    seen_at(
        &store,
        &fake,
        PSID,
        Utc::now() - chrono::Duration::hours(25),
    );
    // The dispatcher sends up to `delivery.concurrency` deliveries at once; several
    // can be for one resident whose window has closed.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let client = client.clone();
        tasks.spawn(async move {
            let failure = client
                .send(&mut delivery(
                    PSID,
                    vec![say(&format!("ข้อความ {i}"))],
                    false,
                ))
                .await
                .unwrap_err();
            assert!(failure.permanent);
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let held = store
        .held_messages(&ChatKey::new(Channel::Messenger, PSID))
        .unwrap();
    assert_eq!(held.len(), 100, "every message is kept");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn messenger_a_message_meta_refuses_as_outside_the_window_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGraph::start().await;
    let app = TestApp::spawn_messenger(dir.path(), &fake.base_url).await;
    // Meta delivers an item late (after an outage): tambon counts it as written now,
    // but Meta's window runs from when the resident wrote, and refuses the answer.
    fake.fail_next(
        400,
        json!({"error": {"message": "(#10) This message is sent outside of allowed window.",
            "type": "OAuthException", "code": 10, "error_subcode": 2018278}}),
    );
    let mut late: Value = serde_json::from_slice(&text("m.1", "What was the OIT score?")).unwrap();
    late["entry"][0]["messaging"][0]["timestamp"] = json!(now_ms() - 25 * 3_600_000);
    assert_eq!(
        post(&app, &fake, &serde_json::to_vec(&late).unwrap()).await,
        200
    );
    app.settled().await;
    assert_eq!(fake.delivered().len(), 0);
    // The resident writes again: the answer they missed comes first.
    let answer = exchange(&app, &fake, text("m.2", "สวัสดี")).await;
    assert!(seen(&answer[0]).contains("37.50"), "{}", seen_all(&answer));
    app.stop().await;
}
