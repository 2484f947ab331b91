//! The Telegram channel end to end, against a local fake of the Bot API: teloxide's own
//! update fixtures, the webhook's secret token, a whole conversation with a photo,
//! duplicate updates, long answers, flood control, a group that became a supergroup,
//! and long polling.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use tambon::domain::{Channel, ChatKey};

use crate::helpers::{eventually, TestApp, TELEGRAM_WEBHOOK_SECRET};
use crate::telegram_fake::{
    migrated, retry_after, FakeTelegram, Recorded, DOWNLOAD, MAX_TEXT_UTF16,
};

/// The resident: a private chat's id is the person's id.
const USER: i64 = 1001;
/// The main menu's buttons, in order.
const MENU: [&str; 6] = ["ask", "suggest", "complain", "corrupt", "follow", "lang"];
/// The group the bot is added to, and the supergroup it becomes.
const GROUP: i64 = -100;
const SUPERGROUP: i64 = -1_001_234_567_890;

fn fixtures() -> PathBuf {
    std::env::var_os("TAMBON_FIXTURES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
        PathBuf::from,
    )
}

fn json_files(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut files: Vec<(PathBuf, Value)> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            (path, value)
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// Every update of the fixtures: the files of `updates/`, each `messages/` file wrapped
/// as an update, and the callback query wrapped too.
fn fixture_updates() -> Vec<(PathBuf, Value)> {
    let root = fixtures().join("telegram");
    let mut found = json_files(&root.join("updates"));
    for (n, (path, message)) in json_files(&root.join("messages")).into_iter().enumerate() {
        found.push((
            path,
            json!({ "update_id": 900_000 + n, "message": message }),
        ));
    }
    let query_path = root.join("callback-query.json");
    let query: Value = serde_json::from_slice(&std::fs::read(&query_path).unwrap()).unwrap();
    found.push((
        query_path,
        json!({ "update_id": 900_100, "callback_query": query }),
    ));
    assert!(
        found.len() >= 26,
        "Telegram fixtures not found under {}",
        fixtures().display()
    );
    found
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn person() -> Value {
    json!({ "id": USER, "is_bot": false, "first_name": "ก" })
}

fn private_chat() -> Value {
    json!({ "id": USER, "type": "private", "first_name": "ก" })
}

/// A message from the resident in the private chat, with these fields.
fn message(update_id: i64, fields: Value) -> Value {
    let mut message = json!({
        "message_id": update_id,
        "date": now(),
        "chat": private_chat(),
        "from": person(),
    });
    for (key, value) in fields.as_object().unwrap() {
        message[key] = value.clone();
    }
    json!({ "update_id": update_id, "message": message })
}

fn text(update_id: i64, text: &str) -> Value {
    message(update_id, json!({ "text": text }))
}

fn photo(update_id: i64, file_id: &str, size: usize) -> Value {
    message(
        update_id,
        json!({ "photo": [{
            "file_id": file_id, "file_unique_id": format!("u-{file_id}"),
            "width": 90, "height": 90, "file_size": size,
        }] }),
    )
}

/// The resident presses the button `data` under one of the bot's messages.
fn press(update_id: i64, query_id: &str, data: &str) -> Value {
    json!({ "update_id": update_id, "callback_query": {
        "id": query_id,
        "from": person(),
        "chat_instance": "x",
        "data": data,
        "message": {
            "message_id": 1, "date": now(), "chat": private_chat(),
            "from": { "id": 123_456, "is_bot": true, "first_name": "tambon", "username": "tambon_bot" },
            "text": "เมนู",
        },
    }})
}

/// The bot added to group `chat` by the resident.
fn added_to_group(update_id: i64, chat: i64) -> Value {
    let bot =
        json!({ "id": 123_456, "is_bot": true, "first_name": "tambon", "username": "tambon_bot" });
    json!({ "update_id": update_id, "my_chat_member": {
        "chat": { "id": chat, "title": "กองช่าง", "type": "group" },
        "from": person(),
        "date": now(),
        "old_chat_member": { "user": bot, "status": "left" },
        "new_chat_member": { "user": bot, "status": "member" },
    }})
}

async fn post(app: &TestApp, update: &Value) {
    let status = app
        .post_telegram(
            &serde_json::to_vec(update).unwrap(),
            Some(TELEGRAM_WEBHOOK_SECRET),
        )
        .await;
    assert_eq!(status, 200, "{update}");
}

/// Waits for a first call after the first `before` (polls aside), then until everything
/// received was processed and sent; returns the new calls.
async fn settle(app: &TestApp, fake: &FakeTelegram, before: usize) -> Vec<Recorded> {
    eventually("a call to the Bot API", || {
        fake.calls_but_polls().len() > before
    })
    .await;
    app.settled().await;
    fake.calls_but_polls()[before..].to_vec()
}

/// Posts an update and returns the Bot API calls it caused.
async fn exchange(app: &TestApp, fake: &FakeTelegram, update: Value) -> Vec<Recorded> {
    let before = fake.calls_but_polls().len();
    post(app, &update).await;
    settle(app, fake, before).await
}

/// Checks that `calls` are an answer to `chat`: messages accepted as Telegram would
/// (preceded by the answer to the button press `query`, when one was pressed); returns
/// the messages.
fn answer(calls: &[Recorded], chat: i64, query: Option<&str>) -> Vec<Recorded> {
    let (acks, sends): (Vec<Recorded>, Vec<Recorded>) = calls
        .iter()
        .cloned()
        .partition(|c| c.method == "answerCallbackQuery");
    match query {
        Some(id) => {
            assert_eq!(acks.len(), 1, "one answerCallbackQuery: {calls:#?}");
            assert_eq!(acks[0].body["callback_query_id"], id);
            assert!(acks[0].ok());
        }
        None => assert!(acks.is_empty(), "no button was pressed: {calls:#?}"),
    }
    assert!(!sends.is_empty(), "no message sent");
    for send in &sends {
        assert_eq!(send.method, "sendMessage", "{calls:#?}");
        assert_eq!(send.chat_id(), Some(chat), "{}", send.body);
        assert!(send.violations.is_empty(), "{:?}", send.violations);
        assert!(send.ok(), "{} {}", send.status, send.response);
        assert!(send.text().encode_utf16().count() <= MAX_TEXT_UTF16);
    }
    sends
}

/// What the resident reads in `sends`, with the buttons' data as `[data]`.
fn shown(sends: &[Recorded]) -> String {
    sends
        .iter()
        .map(|s| {
            let buttons: Vec<String> = s.callback_data().iter().map(|d| format!("[{d}]")).collect();
            format!("{}\n{}", s.text(), buttons.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The main menu as inline buttons: the six entries first (then `sub` for updates and
/// `link` for linking another app's account).
fn assert_menu(send: &Recorded) {
    let data = send.callback_data();
    assert!(data.len() >= MENU.len(), "{data:?}");
    assert_eq!(data[..MENU.len()], MENU, "{data:?}");
    assert!(
        data[MENU.len()..].iter().all(|d| d == "sub" || d == "link"),
        "{data:?}"
    );
    // Two buttons a row.
    let rows = send.body["reply_markup"]["inline_keyboard"]
        .as_array()
        .unwrap();
    assert!(rows.iter().all(|row| row.as_array().unwrap().len() <= 2));
}

/// Asserts that the fake saw nothing Telegram would refuse and no wrong token.
fn assert_clean(fake: &FakeTelegram) {
    assert_eq!(fake.violations(), Vec::<String>::new());
    assert!(
        fake.calls().iter().all(|c| c.authorised),
        "{:#?}",
        fake.calls()
    );
}

#[tokio::test]
async fn every_fixture_is_accepted_with_the_secret_token_and_refused_without() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, false).await;
    post_fixtures(&app).await;
    // Bodies that are not updates: refused, but only once the token is right.
    let not_updates: [&[u8]; 6] = [
        b"{not json",
        b"",
        b"[]",
        br#"{"message":{"text":"no id"}}"#,
        br#"{"update_id":"7"}"#,
        br#"{"update_id":-7}"#,
    ];
    for body in not_updates {
        let shown = String::from_utf8_lossy(body);
        assert_eq!(app.post_telegram(body, None).await, 401, "{shown}");
        assert_eq!(
            app.post_telegram(body, Some(TELEGRAM_WEBHOOK_SECRET)).await,
            400,
            "{shown}"
        );
    }
    let health: Value = app.get("/healthz").await.json().await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_clean(&fake);
    app.stop().await;
}

/// Posts every fixture update with a wrong or no secret token (401), then with the
/// right one (200); returns the updates.
async fn post_fixtures(app: &TestApp) -> Vec<(PathBuf, Value)> {
    let almost = &TELEGRAM_WEBHOOK_SECRET[..TELEGRAM_WEBHOOK_SECRET.len() - 1];
    let updates = fixture_updates();
    for (path, update) in &updates {
        let bytes = serde_json::to_vec(update).unwrap();
        for wrong in [None, Some(""), Some("wrong"), Some(almost)] {
            assert_eq!(
                app.post_telegram(&bytes, wrong).await,
                401,
                "{}",
                path.display()
            );
        }
        assert_eq!(
            app.post_telegram(&bytes, Some(TELEGRAM_WEBHOOK_SECRET))
                .await,
            200,
            "{}",
            path.display()
        );
    }
    updates
}

#[tokio::test]
async fn every_fixture_is_processed_and_the_server_stays_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, false).await;
    let updates = post_fixtures(&app).await;
    app.settled().await;

    // The server is still healthy: a resident's /start is answered. (Fixtures use
    // update ids 0 and 1, so this one has its own.)
    let greeting = exchange(&app, &fake, text(5_000_001, "/start")).await;
    assert_menu(answer(&greeting, USER, None).last().unwrap());

    // What the fixtures caused: answers in the private chats (and groups that addressed
    // the bot), the one callback query answered, and the largest size of each photo
    // asked for (unknown to the fake, so refused).
    assert_clean(&fake);
    let calls = fake.calls_but_polls();
    let fixture_chats: Vec<i64> = updates
        .iter()
        .filter_map(|(_, u)| {
            ["message", "my_chat_member"]
                .iter()
                .find_map(|kind| u[kind]["chat"]["id"].as_i64())
        })
        .chain([USER])
        .collect();
    for call in &calls {
        match call.method.as_str() {
            "sendMessage" => {
                assert!(call.ok(), "{} {}", call.body, call.response);
                let chat = call.chat_id().unwrap();
                assert!(fixture_chats.contains(&chat), "a message to {chat}");
            }
            "answerCallbackQuery" => assert_eq!(call.body["callback_query_id"], "id"),
            "getFile" => assert_eq!(call.status, 400),
            other => panic!("unexpected call {other}: {}", call.body),
        }
    }
    assert_eq!(fake.n_calls_to("answerCallbackQuery"), 1);
    let mut asked: Vec<String> = fake
        .calls_to("getFile")
        .iter()
        .map(|c| c.body["file_id"].as_str().unwrap().to_owned())
        .collect();
    asked.sort();
    assert_eq!(
        asked,
        [
            "AgACAgQAAxkBAAINhGKvijUVSn2i3980bQIIc1fqWGNCAAJpvDEbEmaBUfuA43fR-BnlAQADAgADeQADJAQ",
            "AgADAgAD36sxG-PX0UvQSXIn9rccdw-ACA4ABAEAAwIAA3kAAyTcBAABFgQ",
        ]
    );
    for chat in [218_485_655, 408_258_968, 250_918_540, 27_433_968] {
        assert!(
            !fake.sent_to(chat).is_empty(),
            "the private message in chat {chat} was answered"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_resident_asks_files_a_complaint_with_a_photo_and_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start().await;
    let jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF fake jpeg".to_vec();
    fake.set_file("f1", jpeg.clone());
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, false).await;

    let greeting = answer(&exchange(&app, &fake, text(1, "/start")).await, USER, None);
    assert_menu(greeting.last().unwrap());
    assert!(greeting
        .iter()
        .rev()
        .skip(1)
        .all(|s| s.callback_data().is_empty()));

    let score = answer(
        &exchange(&app, &fake, text(2, "What was the OIT score?")).await,
        USER,
        None,
    );
    assert!(shown(&score).contains("37.50"), "{}", shown(&score));

    let categories = answer(
        &exchange(&app, &fake, press(3, "cb1", "complain")).await,
        USER,
        Some("cb1"),
    );
    assert!(
        categories
            .last()
            .unwrap()
            .callback_data()
            .contains(&"cat:roads".to_owned()),
        "{}",
        shown(&categories)
    );
    let describe = exchange(&app, &fake, press(4, "cb2", "cat:roads")).await;
    answer(&describe, USER, Some("cb2"));
    let asks_place = answer(
        &exchange(&app, &fake, text(5, "ถนนหน้าโรงเรียนเป็นหลุมลึก")).await,
        USER,
        None,
    );
    // Sharing a location is done from the attachment menu: no button for it.
    assert_eq!(
        asks_place.last().unwrap().callback_data(),
        ["skip", "cancel"]
    );
    let asks_photo = answer(
        &exchange(&app, &fake, text(6, "หน้าโรงเรียนบ้านเพชร หมู่ ๒")).await,
        USER,
        None,
    );
    assert_eq!(
        asks_photo.last().unwrap().callback_data(),
        ["skip", "cancel"]
    );

    // A photo over the size limit is refused without being fetched; one that is not a
    // JPEG or PNG is fetched, then refused.
    let too_big = exchange(&app, &fake, photo(7, "big", 6 * 1024 * 1024)).await;
    answer(&too_big, USER, None);
    fake.set_file("f2", b"GIF89a not a photo we take".to_vec());
    let calls = exchange(&app, &fake, photo(8, "f2", 26)).await;
    let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(methods[..2], ["getFile", DOWNLOAD], "{methods:?}");
    answer(&calls[2..], USER, None);

    // The photo: its file asked for, downloaded, then the answer.
    let calls = exchange(&app, &fake, photo(9, "f1", jpeg.len())).await;
    let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(methods[..2], ["getFile", DOWNLOAD], "{methods:?}");
    assert_eq!(calls[0].body["file_id"], "f1");
    assert!(calls[0].ok());
    assert_eq!(calls[1].body["file_path"], "photos/f1.jpg");
    assert!(calls[1].ok());
    let got_photo = answer(&calls[2..], USER, None);
    // One photo kept: the two refused ones are not counted.
    assert!(
        shown(&got_photo).contains("ได้รับรูปแล้ว 1 รูป"),
        "{}",
        shown(&got_photo)
    );

    answer(
        &exchange(&app, &fake, press(10, "cb3", "done")).await,
        USER,
        Some("cb3"),
    );
    let summary = answer(
        &exchange(&app, &fake, press(11, "cb4", "skip")).await,
        USER,
        Some("cb4"),
    );
    let summary_text = shown(&summary);
    assert!(
        summary_text.contains("ถนนหน้าโรงเรียนเป็นหลุมลึก")
            && summary_text.contains("หน้าโรงเรียนบ้านเพชร หมู่ ๒")
            && summary_text.contains("รูปภาพ: 1"),
        "{summary_text}"
    );
    assert!(summary
        .last()
        .unwrap()
        .callback_data()
        .contains(&"confirm".to_owned()));

    let year = tambon::thai::buddhist_year(chrono::Utc::now());
    let code = format!("CP-{year}-0001");
    let receipt = answer(
        &exchange(&app, &fake, press(12, "cb5", "confirm")).await,
        USER,
        Some("cb5"),
    );
    assert!(shown(&receipt).contains(&code), "{}", shown(&receipt));

    let status = answer(
        &exchange(&app, &fake, text(13, &format!("/status {code}"))).await,
        USER,
        None,
    );
    assert!(shown(&status).contains(&code), "{}", shown(&status));

    // Nothing else went to Telegram: one answer per update, no group, no retry.
    assert_clean(&fake);
    assert_eq!(fake.n_calls_to("answerCallbackQuery"), 5);
    assert_eq!(fake.n_calls_to("getFile"), 2);
    assert_eq!(fake.n_calls_to(DOWNLOAD), 2);
    assert!(fake
        .calls_to("sendMessage")
        .iter()
        .all(|c| c.chat_id() == Some(USER) && c.ok()));
    app.stop().await;

    let store = crate::helpers::reopen(dir.path());
    assert_eq!(store.n_cases(), 1);
    let case = store.all_cases().next().unwrap().unwrap();
    assert_eq!(case.code, code);
    assert_eq!(
        case.reporter,
        Some(ChatKey::new(Channel::Telegram, USER.to_string()))
    );
    assert_eq!(case.photos.len(), 1);
    let media = store.media(&case.photos[0]).unwrap().unwrap();
    assert_eq!(media.bytes, jpeg);
    assert_eq!(media.content_type, "image/jpeg");
}

/// Files a complaint in category roads from the resident, whose first update is `first`.
async fn complain(
    app: &TestApp,
    fake: &FakeTelegram,
    first: i64,
    description: &str,
) -> Vec<Recorded> {
    let steps = [
        press(first, &format!("q{first}"), "complain"),
        press(first + 1, &format!("q{}", first + 1), "cat:roads"),
        text(first + 2, description),
        press(first + 3, &format!("q{}", first + 3), "skip"),
        press(first + 4, &format!("q{}", first + 4), "skip"),
        press(first + 5, &format!("q{}", first + 5), "skip"),
    ];
    for step in steps {
        exchange(app, fake, step).await;
    }
    exchange(
        app,
        fake,
        press(first + 6, &format!("q{}", first + 6), "confirm"),
    )
    .await
}

#[tokio::test]
async fn a_duplicate_update_is_answered_once() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, false).await;

    // A question posted twice, the second time while the first may still be running.
    let question = serde_json::to_vec(&text(1, "What was the OIT score?")).unwrap();
    let (first, second) = tokio::join!(
        app.post_telegram(&question, Some(TELEGRAM_WEBHOOK_SECRET)),
        app.post_telegram(&question, Some(TELEGRAM_WEBHOOK_SECRET)),
    );
    assert_eq!((first, second), (200, 200));
    let answered = answer(&settle(&app, &fake, 0).await, USER, None);
    assert!(shown(&answered).contains("37.50"));

    // A confirmation posted twice files one case.
    let steps = [
        press(2, "q2", "complain"),
        press(3, "q3", "cat:roads"),
        text(4, "ไฟส่องสว่างดับทั้งซอย"),
        press(5, "q5", "skip"),
        press(6, "q6", "skip"),
        press(7, "q7", "skip"),
    ];
    for step in steps {
        exchange(&app, &fake, step).await;
    }
    let confirm = press(8, "q8", "confirm");
    let receipt = answer(
        &exchange(&app, &fake, confirm.clone()).await,
        USER,
        Some("q8"),
    );
    let year = tambon::thai::buddhist_year(chrono::Utc::now());
    assert!(shown(&receipt).contains(&format!("CP-{year}-0001")));
    let n_calls = fake.calls().len();
    post(&app, &confirm).await;
    post(&app, &text(1, "What was the OIT score?")).await;
    app.settled().await;
    assert_eq!(
        fake.calls().len(),
        n_calls,
        "{:#?}",
        &fake.calls()[n_calls..]
    );
    assert_clean(&fake);
    app.stop().await;

    let store = crate::helpers::reopen(dir.path());
    assert_eq!(store.n_cases(), 1);
}

/// The texts of the web chat's replies to `question`, as Telegram would show them
/// before any splitting.
async fn web_texts(app: &TestApp, question: &str) -> Vec<String> {
    let (status, body) = app
        .chat(json!({ "session": "session-long-answer-0001", "id": "long-1", "text": question }))
        .await;
    assert_eq!(status, 200, "{body}");
    body["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reply| match reply["type"].as_str().unwrap() {
            "card" => std::iter::once(reply["title"].as_str().unwrap())
                .chain(
                    reply["lines"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|l| l.as_str().unwrap()),
                )
                .collect::<Vec<_>>()
                .join("\n"),
            _ => reply["text"].as_str().unwrap().to_owned(),
        })
        .collect()
}

fn without_whitespace(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[tokio::test]
async fn a_long_answer_is_split_into_messages_telegram_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, false).await;

    let question = "มาตรการป้องกันการทุจริตมีอะไรบ้าง";
    let sends = answer(&exchange(&app, &fake, text(1, question)).await, USER, None);
    assert!(sends.len() >= 2, "{}", shown(&sends));
    // In order, nothing lost: the same text as the web chat's answer.
    let expected = web_texts(&app, question).await;
    let received: Vec<&str> = sends.iter().map(Recorded::text).collect();
    assert_eq!(
        without_whitespace(&received.concat()),
        without_whitespace(&expected.concat()),
        "{received:#?}"
    );
    assert!(sends.len() >= expected.len());
    assert!(sends.iter().all(|s| s.ok() && !s.text().trim().is_empty()));
    assert_menu(sends.last().unwrap());
    // Message ids show the order Telegram received them in.
    let ids: Vec<i64> = sends
        .iter()
        .map(|s| s.response["result"]["message_id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    // A description longer than one message: emoji are two UTF-16 units each, so
    // 2,420 characters are 4,620 units, more than Telegram takes in one message.
    let description = "😀😀😀😀😀😀😀😀😀😀 ".repeat(220);
    assert!(description.trim_end().encode_utf16().count() > MAX_TEXT_UTF16);
    for step in [
        press(2, "q2", "complain"),
        press(3, "q3", "cat:roads"),
        text(4, description.trim_end()),
        press(5, "q5", "skip"),
        press(6, "q6", "skip"),
    ] {
        exchange(&app, &fake, step).await;
    }
    let summary = answer(
        &exchange(&app, &fake, press(7, "q7", "skip")).await,
        USER,
        Some("q7"),
    );
    assert!(
        summary.len() >= 2,
        "the summary is split: {}",
        shown(&summary)
    );
    let joined: String = summary.iter().map(Recorded::text).collect();
    assert_eq!(
        joined.matches('😀').count(),
        2_200,
        "every emoji arrives, none cut in half"
    );
    // The buttons come with the last part only.
    assert!(summary[..summary.len() - 1]
        .iter()
        .all(|s| s.callback_data().is_empty()));
    assert!(summary
        .last()
        .unwrap()
        .callback_data()
        .contains(&"confirm".to_owned()));
    assert_clean(&fake);
    app.stop().await;
}

#[tokio::test]
async fn flood_control_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, false).await;
    let menu_accepted = |fake: &FakeTelegram, n: usize| {
        fake.calls_to("sendMessage")
            .iter()
            .filter(|c| c.ok() && !c.callback_data().is_empty())
            .count()
            >= n
    };

    // Flood control on the first message of an answer: the answer waits, then goes.
    fake.fail_next("sendMessage", 429, retry_after(1));
    post(&app, &text(1, "What was the OIT score?")).await;
    eventually("the answer after flood control", || menu_accepted(&fake, 1)).await;
    app.settled().await;
    let sends = fake.calls_to("sendMessage");
    assert_eq!(
        sends.len(),
        3,
        "a message refused, then the answer's two: {sends:#?}"
    );
    assert_eq!(sends[0].status, 429);
    assert_eq!(sends[0].body, sends[1].body, "the same message again");
    assert!(sends[1..].iter().all(Recorded::ok));
    assert!(sends[1].text().contains("37.50"), "{}", sends[1].text());
    assert_menu(&sends[2]);
    let waited = sends[1].at - sends[0].at;
    assert!(waited >= Duration::from_secs(1), "retried after {waited:?}");
    assert!(waited < Duration::from_secs(5), "retried after {waited:?}");

    // Flood control on the last message: what already went out is not sent again.
    fake.fail_next_when("sendMessage", 429, retry_after(1), |params| {
        params["reply_markup"].is_object()
    });
    post(&app, &text(2, "What was the IIT score?")).await;
    eventually("the rest of the answer after flood control", || {
        menu_accepted(&fake, 2)
    })
    .await;
    app.settled().await;
    let sends = fake.calls_to("sendMessage")[3..].to_vec();
    let statuses: Vec<u16> = sends.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [200, 429, 200], "{sends:#?}");
    assert!(sends[0].text().contains("77.77"), "{}", sends[0].text());
    assert_eq!(sends[1].body, sends[2].body);
    assert!(sends[2].at - sends[1].at >= Duration::from_secs(1));
    assert_eq!(fake.calls_but_polls().len(), 6);
    assert_clean(&fake);
    app.stop().await;
}

#[tokio::test]
async fn a_group_that_became_a_supergroup_receives_its_cases_at_its_new_id() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, false).await;
    post(&app, &added_to_group(1, GROUP)).await;
    app.settled().await;
    let n_joined_calls = fake.calls().len();
    assert!(
        fake.calls()
            .iter()
            .all(|c| c.method == "sendMessage" && c.chat_id() == Some(GROUP)),
        "at most a hint to the group: {:#?}",
        fake.calls()
    );
    app.stop().await;

    // An admin binds the group to the engineering division.
    {
        let store = crate::helpers::reopen(dir.path());
        let group = store.group(Channel::Telegram, &GROUP.to_string()).unwrap();
        assert!(
            group.is_some_and(|g| g.left_at.is_none()),
            "the join was recorded"
        );
        assert!(store
            .bind_group(Channel::Telegram, &GROUP.to_string(), Some("engineering"))
            .unwrap());
        store.sync_blocking().unwrap();
    }
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, false).await;
    fake.fail_next_in_chat("sendMessage", GROUP, 400, migrated(SUPERGROUP));
    let receipt = complain(&app, &fake, 10, "ถนนหน้าโรงเรียนเป็นหลุมลึก").await;
    let year = tambon::thai::buddhist_year(chrono::Utc::now());
    let code = format!("CP-{year}-0001");
    eventually("the card delivered to the supergroup", || {
        fake.sent_to(SUPERGROUP).iter().any(Recorded::ok)
    })
    .await;
    assert!(
        receipt
            .iter()
            .chain(fake.sent_to(USER).iter())
            .any(|c| c.text().contains(&code)),
        "the resident got the receipt"
    );
    let n_to_group = fake.sent_to(GROUP).len();
    let after_join: Vec<Recorded> = fake.calls()[n_joined_calls..]
        .iter()
        .filter(|c| c.chat_id() == Some(GROUP))
        .cloned()
        .collect();
    assert_eq!(
        after_join.len(),
        1,
        "one try at the old id: {after_join:#?}"
    );
    assert_eq!(after_join[0].status, 400);
    let to_supergroup = fake.sent_to(SUPERGROUP);
    assert_eq!(to_supergroup.len(), 1, "{to_supergroup:#?}");
    assert!(to_supergroup[0].ok());
    assert_eq!(
        to_supergroup[0].text(),
        after_join[0].text(),
        "the same card"
    );
    let card = to_supergroup[0].text();
    assert!(
        card.contains(&code) && card.contains("ถนนหน้าโรงเรียนเป็นหลุมลึก"),
        "{card}"
    );
    assert!(
        !card.contains(&USER.to_string()),
        "the resident's id is not shown to staff"
    );

    // The next case goes straight to the new id.
    complain(&app, &fake, 20, "ท่อระบายน้ำอุดตัน").await;
    let code_2 = format!("CP-{year}-0002");
    eventually("the second card", || {
        fake.sent_to(SUPERGROUP)
            .iter()
            .any(|c| c.ok() && c.text().contains(&code_2))
    })
    .await;
    assert_eq!(
        fake.sent_to(GROUP).len(),
        n_to_group,
        "nothing more to the old id"
    );
    assert_clean(&fake);
    app.stop().await;

    let store = crate::helpers::reopen(dir.path());
    assert_eq!(
        store.group(Channel::Telegram, &GROUP.to_string()).unwrap(),
        None
    );
    let group = store
        .group(Channel::Telegram, &SUPERGROUP.to_string())
        .unwrap()
        .expect("the group is known by its new id");
    assert_eq!(group.id, SUPERGROUP.to_string());
    assert_eq!(group.division.as_deref(), Some("engineering"));
    assert_eq!(group.left_at, None);
    let bound: Vec<String> = store
        .groups_of("engineering")
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(bound, [SUPERGROUP.to_string()]);
}

#[tokio::test]
async fn long_polling_answers_each_update_once() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, true).await;
    // No webhook in polling mode.
    let start = serde_json::to_vec(&text(1, "/start")).unwrap();
    assert_eq!(
        app.post_telegram(&start, Some(TELEGRAM_WEBHOOK_SECRET))
            .await,
        404
    );

    fake.queue_update(text(1, "/start"));
    let greeting = answer(&settle(&app, &fake, 0).await, USER, None);
    assert_menu(greeting.last().unwrap());
    // The next call confirms the update: Telegram forgets it.
    eventually("update 1 confirmed", || {
        fake.calls_to("getUpdates")
            .iter()
            .any(|c| c.body["offset"] == 2)
    })
    .await;
    assert_eq!(fake.pending_updates(), 0);
    let polls = fake.calls_to("getUpdates");
    assert!(
        polls.iter().all(|c| c.body["timeout"] == 1),
        "{:#?}",
        polls[0].body
    );
    app.stop().await;

    // Telegram serves update 1 again (its confirmation was lost in a crash), and a new one.
    let n_greetings = fake.calls_to("sendMessage").len();
    fake.queue_update(text(1, "/start"));
    fake.queue_update(text(2, "What was the OIT score?"));
    let before = fake.calls_but_polls().len();
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, true).await;
    let calls = settle(&app, &fake, before).await;
    let sends = answer(&calls, USER, None);
    assert!(
        fake.calls_to("getUpdates")
            .iter()
            .any(|c| c.served_update_ids() == [1, 2]),
        "update 1 was served again"
    );
    assert!(shown(&sends).contains("37.50"), "{}", shown(&sends));
    assert_eq!(
        fake.calls_to("sendMessage").len(),
        n_greetings + sends.len(),
        "update 1 was not answered again"
    );
    assert_clean(&fake);
    app.stop().await;
    assert!(fake
        .calls_to("getUpdates")
        .iter()
        .all(|c| c.status == 200 || c.status == 0));
}

#[tokio::test]
async fn a_migration_message_moves_the_group_binding() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, false).await;
    post(&app, &added_to_group(1, GROUP)).await;
    app.settled().await;
    app.stop().await;
    {
        let store = crate::helpers::reopen(dir.path());
        assert!(store
            .bind_group(Channel::Telegram, &GROUP.to_string(), Some("engineering"))
            .unwrap());
        store.sync_blocking().unwrap();
    }
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, false).await;
    // Telegram's service message in the old group: it became the supergroup.
    let migration = json!({ "update_id": 2, "message": {
        "message_id": 16, "date": now(),
        "chat": { "id": GROUP, "title": "กองช่าง", "type": "group" },
        "from": person(),
        "migrate_to_chat_id": SUPERGROUP,
    }});
    post(&app, &migration).await;
    app.settled().await;
    let n_to_group = fake.sent_to(GROUP).len();
    complain(&app, &fake, 10, "ถนนหน้าโรงเรียนเป็นหลุมลึก").await;
    let year = tambon::thai::buddhist_year(chrono::Utc::now());
    let code = format!("CP-{year}-0001");
    eventually("the card delivered to the supergroup", || {
        fake.sent_to(SUPERGROUP)
            .iter()
            .any(|c| c.ok() && c.text().contains(&code))
    })
    .await;
    assert_eq!(
        fake.sent_to(GROUP).len(),
        n_to_group,
        "nothing tried at the old id"
    );
    assert_clean(&fake);
    app.stop().await;
    let store = crate::helpers::reopen(dir.path());
    let group = store
        .group(Channel::Telegram, &SUPERGROUP.to_string())
        .unwrap()
        .expect("the group is known by its new id");
    assert_eq!(group.division.as_deref(), Some("engineering"));
    assert_eq!(
        store.group(Channel::Telegram, &GROUP.to_string()).unwrap(),
        None
    );
}

/// Whether the server's inbound queue empties within `within`.
async fn drains_within(app: &TestApp, within: Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        let health: Value = app.get("/healthz").await.json().await.unwrap();
        if health["inbound_queued"] == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn long_polling_takes_every_kind_of_update_and_stays_responsive() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, true).await;
    // Every fixture update, each with its own id, as Telegram's getUpdates would serve
    // them to a bot that asked for every kind (reactions included).
    for (n, (_, mut update)) in fixture_updates().into_iter().enumerate() {
        update["update_id"] = json!(100 + n);
        fake.queue_update(update);
    }
    eventually("every update fetched and confirmed", || {
        fake.pending_updates() == 0
    })
    .await;
    assert!(
        drains_within(&app, Duration::from_secs(5)).await,
        "every polled update was processed or dropped"
    );
    fake.queue_update(text(1_000, "/start"));
    eventually("the greeting", || !fake.sent_to(USER).is_empty()).await;
    assert_clean(&fake);
    app.stop().await;
}

#[tokio::test]
async fn an_update_that_cannot_be_read_is_dropped_not_retried_forever() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, false).await;
    // A reaction with neither `user` nor `actor_chat`: teloxide-core 0.13 panics
    // reading it (message_reaction_updated.rs, `deserialize_actor`).
    let unreadable = json!({ "update_id": 1, "message_reaction": {
        "chat": { "id": -1_002_184_233_434_i64, "title": "Test", "type": "supergroup" },
        "message_id": 35, "date": now(), "old_reaction": [], "new_reaction": [],
    }});
    post(&app, &unreadable).await;
    assert!(
        drains_within(&app, Duration::from_secs(5)).await,
        "the unreadable update left the queue"
    );
    let greeting = exchange(&app, &fake, text(2, "/start")).await;
    assert_menu(answer(&greeting, USER, None).last().unwrap());
    app.stop().await;
}
