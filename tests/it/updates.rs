//! Subscriptions and village updates end to end: residents on LINE and Telegram
//! subscribe to two villages in chat; a village head's update reaches exactly the first
//! village's subscribers, once each, through a restart in the middle of the fan-out; LINE
//! gets one multicast for many; a Messenger subscriber outside the 24-hour window is
//! reported as not deliverable; "หยุด" and unfollowing end a subscription at once.

use std::time::Duration;

use serde_json::{json, Value};
use tambon::domain::role::Role;
use tambon::domain::update::{Subscription, Topic, UpdateState};
use tambon::domain::{Channel, ChatKey};

use crate::helpers::{eventually, reopen, settings, TestApp};
use crate::line_fake::FakeLine;
use crate::telegram_fake::FakeTelegram;

const NEWS: &str = "พรุ่งนี้ประปาหมู่ 1 ปิดซ่อมท่อ 9.00-12.00 น.";

fn line_event(n: usize, user: &str, kind: &str, extra: Value) -> Vec<u8> {
    let mut event = json!({
        "type": kind, "mode": "active", "timestamp": chrono::Utc::now().timestamp_millis(),
        "source": { "type": "user", "userId": user },
        "webhookEventId": format!("01UPD{n:021}"),
        "deliveryContext": { "isRedelivery": false },
        "replyToken": format!("upd-token-{n}"),
    });
    for (key, value) in extra.as_object().unwrap() {
        event[key] = value.clone();
    }
    serde_json::to_vec(&json!({ "destination": "Ubot", "events": [event] })).unwrap()
}

/// A LINE user's events, numbered apart from everyone else's.
struct LineUser<'a> {
    app: &'a TestApp,
    line: &'a FakeLine,
    id: String,
}

impl LineUser<'_> {
    async fn send(&self, kind: &str, extra: Value) -> String {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let before = self.line.requests_to("/v2/bot/message/reply").len();
        assert_eq!(
            self.app
                .post_line(&line_event(n, &self.id, kind, extra))
                .await,
            200
        );
        if kind == "unfollow" {
            // Nothing is answered: wait until the worker has taken the event.
            for _ in 0..200 {
                let health: Value = self.app.get("/healthz").await.json().await.unwrap();
                if health["inbound_queued"] == 0 {
                    return String::new();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("the unfollow was not processed");
        }
        eventually("a LINE reply", || {
            self.line.requests_to("/v2/bot/message/reply").len() > before
        })
        .await;
        self.line
            .requests_to("/v2/bot/message/reply")
            .pop()
            .unwrap()
            .body
            .to_string()
    }

    async fn tap(&self, data: &str) -> String {
        self.send("postback", json!({ "postback": { "data": data } }))
            .await
    }

    async fn text(&self, text: &str) -> String {
        self.send(
            "message",
            json!({ "message": { "id": format!("m-{}", rand_id()), "type": "text", "text": text } }),
        )
        .await
    }

    async fn subscribe(&self, village: u32) {
        let seen = self.tap("sub").await;
        assert!(
            seen.contains("sub:v:1") && seen.contains("sub:v:2"),
            "{seen}"
        );
        let seen = self.tap(&format!("sub:v:{village}")).await;
        assert!(seen.contains("sub:done"), "{seen}");
        let seen = self.tap("sub:done").await;
        assert!(seen.contains(&format!("หมู่ {village}")), "{seen}");
    }
}

fn rand_id() -> u64 {
    use rand::Rng as _;
    rand::thread_rng().gen()
}

/// A Telegram user pressing a button in their private chat.
fn press(update_id: i64, user: i64, data: &str) -> Value {
    let chat = json!({ "id": user, "type": "private", "first_name": "ก" });
    json!({ "update_id": update_id, "callback_query": {
        "id": format!("q{update_id}"),
        "from": { "id": user, "is_bot": false, "first_name": "ก" },
        "chat_instance": "x",
        "data": data,
        "message": {
            "message_id": 1, "date": chrono::Utc::now().timestamp(), "chat": chat,
            "from": { "id": 123_456, "is_bot": true, "first_name": "tambon", "username": "tambon_bot" },
            "text": "เมนู",
        },
    }})
}

async fn telegram_subscribe(app: &TestApp, fake: &FakeTelegram, user: i64, village: u32, n: i64) {
    for (i, data) in [
        "sub".to_owned(),
        format!("sub:v:{village}"),
        "sub:done".to_owned(),
    ]
    .iter()
    .enumerate()
    {
        let before = fake.calls_to("sendMessage").len();
        let update = press(n + i as i64, user, data);
        let status = app
            .post_telegram(
                &serde_json::to_vec(&update).unwrap(),
                Some(crate::helpers::TELEGRAM_WEBHOOK_SECRET),
            )
            .await;
        assert_eq!(status, 200);
        eventually("a Telegram answer", || {
            fake.calls_to("sendMessage").len() > before
        })
        .await;
    }
}

/// The LINE users a multicast or push reached with the news.
fn line_recipients(line: &FakeLine) -> Vec<String> {
    let mut to = Vec::new();
    for request in line.requests_to("/v2/bot/message/multicast") {
        if request.body["messages"].to_string().contains("ประปาหมู่ 1") {
            to.extend(
                request.body["to"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u.as_str().unwrap().to_owned()),
            );
        }
    }
    for request in line.requests_to("/v2/bot/message/push") {
        if request.body["messages"].to_string().contains("ประปาหมู่ 1") {
            to.push(request.body["to"].as_str().unwrap().to_owned());
        }
    }
    to.sort();
    to
}

#[tokio::test]
async fn a_village_heads_update_reaches_that_villages_subscribers_once_through_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let head_code = {
        let store = reopen(dir.path());
        // A Messenger subscriber of village 1 who has not written for two days.
        store
            .set_subscription(&Subscription {
                v: 1,
                chat: ChatKey::new(Channel::Messenger, "psid-quiet"),
                village: Some(1),
                topics: Topic::ALL.to_vec(),
                since: chrono::Utc::now() - chrono::Duration::days(2),
            })
            .unwrap();
        tambon::dashboard::add_user(&store, "admin", crate::dashboard::PASSWORD, &Role::Admin)
            .unwrap();
        let code = store
            .create_enrol_code(
                &Role::VillageHead { village: 1 },
                chrono::Utc::now() + chrono::Duration::days(1),
            )
            .unwrap();
        store.sync_blocking().unwrap();
        code
    };
    let line = FakeLine::start().await;
    let telegram = FakeTelegram::start().await;
    let spawn = |hold_minutes: u32| {
        let mut settings = settings(dir.path(), None);
        settings.line.api_base = line.base_url.clone();
        settings.line.data_api_base = line.base_url.clone();
        settings.telegram.api_url = telegram.api_url.clone();
        settings.updates.hold_minutes = hold_minutes;
        settings.updates.max_per_day = 1;
        // Four subscribers a step: the restart falls between steps.
        settings.updates.batch = 4;
        settings
    };
    let app = TestApp::spawn_with(spawn(60), crate::helpers::line_and_telegram_secrets()).await;

    // LINE residents of village 1 (A, B, G, and C and F who leave) and of village 2
    // (H); Telegram residents of village 1 (1001) and 2 (1002).
    let user = |id: &str| LineUser {
        app: &app,
        line: &line,
        id: format!("U{id:0>32}"),
    };
    for (id, village) in [("a", 1), ("b", 1), ("c", 1), ("f", 1), ("g", 1), ("h", 2)] {
        user(id).subscribe(village).await;
    }
    telegram_subscribe(&app, &telegram, 1001, 1, 500).await;
    telegram_subscribe(&app, &telegram, 1002, 2, 510).await;
    // The web chat cannot push: it is told where to subscribe.
    let web = crate::helpers::Resident::new(&app, "web-resident");
    assert!(web.tap("sub").await.contains("LINE"));

    // C stops at once; F blocks the bot.
    let seen = user("c").text("หยุด").await;
    assert!(seen.contains("เลิกรับข่าวแล้ว"), "{seen}");
    user("f").send("unfollow", json!({})).await;

    // The village head enrols, writes, sees the preview with the audience, confirms.
    let head = user("head");
    assert!(head.text(&head_code).await.contains("ผู้ใหญ่บ้าน"));
    let seen = head.text("ประกาศ").await;
    assert!(seen.contains("พิมพ์ข้อความข่าว"), "{seen}");
    let seen = head.text(NEWS).await;
    assert!(seen.contains("upd:skip"), "{seen}");
    let seen = head.tap("upd:skip").await;
    // A, B, G on LINE, 1001 on Telegram, the quiet Messenger subscriber.
    assert!(seen.contains("ส่งถึงผู้รับ 5 คน"), "{seen}");
    assert!(seen.contains(NEWS), "the preview: {seen}");
    let seen = head.tap("upd:send").await;
    assert!(seen.contains("จะเริ่มส่งในอีก 60 นาที"), "{seen}");
    // One update a day for a village head.
    assert!(head.text("ประกาศ").await.contains("ครบจำนวน"));
    // A resident cannot announce: the word is just a question.
    assert!(!user("a").text("ประกาศ").await.contains("พิมพ์ข้อความข่าว"));
    app.stop().await;

    // The hold is over; one fan-out step runs, and the process dies before sending.
    {
        let store = reopen(dir.path());
        let update = store.updates().unwrap().pop().unwrap();
        assert_eq!(update.state, UpdateState::Scheduled);
        // An admin ends the hold (`tambon updates send-now`).
        let now = chrono::Utc::now();
        assert!(store.release_update(update.id, now).unwrap());
        let update = store.update(update.id).unwrap().unwrap();
        assert!(tambon::fanout::step(&store, &spawn(60), &update, now).unwrap());
        let update = store.update(update.id).unwrap().unwrap();
        assert!(
            matches!(update.state, UpdateState::Sending { .. }),
            "{update:?}"
        );
        assert_eq!(update.n_recipients, 3, "the first step: LINE A, B, G");
        store.sync_blocking().unwrap();
    }
    assert!(
        line_recipients(&line).is_empty(),
        "nothing sent before the restart"
    );

    // The restart resumes: the pending multicast goes, then the rest of the fan-out.
    let app = TestApp::spawn_with(spawn(0), crate::helpers::line_and_telegram_secrets()).await;
    eventually("the news on Telegram", || {
        telegram
            .calls_to("sendMessage")
            .iter()
            .any(|c| c.text().contains("ประปาหมู่ 1"))
    })
    .await;
    eventually("the news on LINE", || line_recipients(&line).len() == 3).await;
    // The fan-out finished and everything it enqueued went out: nothing more can come.
    eventually("the fan-out finished", || {
        app.store
            .updates()
            .unwrap()
            .iter()
            .all(|u| matches!(u.state, UpdateState::Sent { .. }))
    })
    .await;
    app.settled().await;
    let expected: Vec<String> = ["a", "b", "g"]
        .iter()
        .map(|id| format!("U{id:0>32}"))
        .collect();
    assert_eq!(
        line_recipients(&line),
        expected,
        "once each, village 1 only"
    );
    let multicasts: Vec<_> = line
        .requests_to("/v2/bot/message/multicast")
        .into_iter()
        .filter(|r| r.body["messages"].to_string().contains("ประปาหมู่ 1"))
        .collect();
    assert_eq!(multicasts.len(), 1, "one call for the three");
    let on_telegram: Vec<i64> = telegram
        .calls_to("sendMessage")
        .iter()
        .filter(|c| c.text().contains("ประปาหมู่ 1"))
        .filter_map(|c| c.chat_id())
        .collect();
    assert_eq!(on_telegram, vec![1001]);
    // The dashboard shows the record.
    let mut admin = crate::dashboard::Browser::logged_in(&app, "admin").await;
    let (_, page) = admin.get("/staff/updates").await;
    assert!(
        page.contains("ประปาหมู่ 1 ปิดซ่อมท่อ") && page.contains("ส่งแล้ว"),
        "{page}"
    );
    assert!(
        page.contains("ส่งถึง 4") && page.contains("ส่งไม่ได้ตามกติกาแพลตฟอร์ม 1"),
        "{page}"
    );
    drop(admin);
    app.stop().await;

    // The record: who, when, to whom, how many.
    let store = reopen(dir.path());
    let update = store.updates().unwrap().pop().unwrap();
    assert!(
        matches!(update.state, UpdateState::Sent { .. }),
        "{update:?}"
    );
    assert!(
        store.pending_updates().unwrap().is_empty(),
        "nothing left to fan out"
    );
    assert_eq!(update.villages, vec![1]);
    assert_eq!(update.text, NEWS);
    assert!(
        update.author_label.starts_with("village_head(1)"),
        "{}",
        update.author_label
    );
    assert_eq!(
        (update.n_recipients, update.n_undeliverable),
        (4, 1),
        "the Messenger subscriber outside the window is reported"
    );
    let counts = tambon::fanout::delivery_counts(&store).unwrap()[&update.id].clone();
    assert_eq!((counts.delivered, counts.dead, counts.pending), (4, 0, 0));
    assert!(store
        .subscription(&ChatKey::new(Channel::Line, format!("U{:0>32}", "c")))
        .unwrap()
        .is_none());
    assert!(store
        .subscription(&ChatKey::new(Channel::Line, format!("U{:0>32}", "f")))
        .unwrap()
        .is_none());
}

#[test]
fn an_update_is_withdrawn_only_before_it_goes_out() {
    let store = tambon::store::Store::temporary().unwrap();
    let settings = settings(std::path::Path::new("/nonexistent"), None);
    let now = chrono::Utc::now();
    let later = now + chrono::Duration::minutes(6);
    let scheduled = |author: &str| tambon::domain::update::Update {
        v: 1,
        id: 0,
        author: ChatKey::new(Channel::Line, author),
        author_label: "village_head(1) x".to_owned(),
        topic: Topic::Village,
        villages: vec![1],
        text: "ข่าว".to_owned(),
        photo: None,
        location: None,
        created_at: now,
        send_at: now + chrono::Duration::minutes(5),
        state: UpdateState::Scheduled,
        n_recipients: 0,
        n_undeliverable: 0,
    };
    let revoked = store.create_update(scheduled("Urevoked")).unwrap();
    let withdrawn = store.create_update(scheduled("Uhead")).unwrap();
    assert_eq!(
        store.pending_updates().unwrap().len(),
        2,
        "both wait out the hold"
    );

    // An admin withdraws one during the hold: the fan-out then does nothing with it.
    assert!(store.withdraw_update(withdrawn.id, "admin", now).unwrap());
    let withdrawn = store.update(withdrawn.id).unwrap().unwrap();
    assert!(!tambon::fanout::step(&store, &settings, &withdrawn, later).unwrap());
    // The other's author is no longer a village head (no role at all here): when the
    // hold is over it is withdrawn, not sent, and can no longer be withdrawn again.
    assert!(tambon::fanout::step(&store, &settings, &revoked, later).unwrap());
    assert!(matches!(
        store.update(revoked.id).unwrap().unwrap().state,
        UpdateState::Withdrawn { .. }
    ));
    assert!(!store.withdraw_update(revoked.id, "admin", later).unwrap());
    assert!(store.pending_updates().unwrap().is_empty());
    assert!(store.all_deliveries().next().is_none(), "nothing was sent");
}

#[tokio::test]
async fn staff_send_an_office_notice_to_chosen_villages_from_any_chat() {
    let dir = tempfile::tempdir().unwrap();
    let code = {
        let store = reopen(dir.path());
        for (user, village) in [("U1", 1), ("U2", 2), ("U3", 3), ("U4", 3)] {
            store
                .set_subscription(&Subscription {
                    v: 1,
                    chat: ChatKey::new(Channel::Line, user),
                    village: Some(village),
                    topics: vec![Topic::Office],
                    since: chrono::Utc::now(),
                })
                .unwrap();
        }
        let code = store
            .create_enrol_code(
                &Role::Staff {
                    division: "office".to_owned(),
                },
                chrono::Utc::now() + chrono::Duration::days(1),
            )
            .unwrap();
        store.sync_blocking().unwrap();
        code
    };
    let app = TestApp::spawn(dir.path(), None).await;
    let clerk = crate::helpers::Resident::new(&app, "clerk");
    clerk.text(&code).await;
    let seen = clerk.text("announce").await;
    assert!(
        seen.contains("upd:v:2") && seen.contains("upd:next"),
        "{seen}"
    );
    clerk.tap("upd:v:2").await;
    let seen = clerk.tap("upd:v:3").await;
    assert!(seen.contains("2, 3"), "{seen}");
    clerk.tap("upd:next").await;
    // Too long is refused and asked again.
    let seen = clerk.text(&"ก".repeat(1001)).await;
    assert!(seen.contains("1000"), "{seen}");
    clerk
        .text("ขอเชิญประชุมประชาคมหมู่บ้าน วันเสาร์นี้ 9.00 น. ที่ศาลาประชาคม")
        .await;
    let seen = clerk.tap("upd:skip").await;
    assert!(seen.contains("ส่งถึงผู้รับ 3 คน"), "villages 2 and 3: {seen}");
    let seen = clerk.tap("upd:send").await;
    assert!(seen.contains("จะเริ่มส่ง"), "{seen}");
    app.stop().await;
    let store = reopen(dir.path());
    let update = store.updates().unwrap().pop().unwrap();
    assert_eq!(
        (update.topic, update.villages.clone()),
        (Topic::Office, vec![2, 3])
    );
    assert!(update.author_label.starts_with("staff(office)"));
}

/// A Telegram subscriber who blocked the bot: the news to them is refused with 403, the
/// delivery is dead with the reason, and their subscription ends, so the next update
/// does not try them again. So for a chat that no longer exists (400 "chat not found").
/// Another subscriber is not affected.
#[tokio::test]
async fn a_telegram_subscriber_who_blocked_the_bot_is_unsubscribed() {
    const BLOCKER: i64 = 2_001;
    const READER: i64 = 2_002;
    const GONE: i64 = 2_003;
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_telegram(dir.path(), &fake.api_url, false).await;
    telegram_subscribe(&app, &fake, BLOCKER, 1, 800).await;
    telegram_subscribe(&app, &fake, READER, 1, 810).await;
    telegram_subscribe(&app, &fake, GONE, 1, 820).await;
    fake.block(BLOCKER);
    fake.forget_chat(GONE);

    // A village head's update, its hold over.
    let head = ChatKey::new(Channel::Line, format!("U{:0>32}", "head"));
    let now = chrono::Utc::now();
    app.store
        .grant_role(&head, &Role::VillageHead { village: 1 }, now)
        .unwrap();
    let update = |text: &str| tambon::domain::update::Update {
        v: 1,
        id: 0,
        author: head.clone(),
        author_label: "village_head(1) ผู้ใหญ่บ้าน".to_owned(),
        topic: Topic::Village,
        villages: vec![1],
        text: text.to_owned(),
        photo: None,
        location: None,
        created_at: now,
        send_at: now,
        state: UpdateState::Scheduled,
        n_recipients: 0,
        n_undeliverable: 0,
    };
    app.store.create_update(update(NEWS)).unwrap();
    let to_reader = |text: &str| {
        fake.sent_to(READER)
            .iter()
            .any(|c| c.ok() && c.text().contains(text))
    };
    eventually("the news reaches the reader", || to_reader("ประปาหมู่ 1")).await;
    eventually("the refused delivery given up", || {
        app.store.all_deliveries().any(|d| {
            let d = d.unwrap();
            d.state == tambon::store::DeliveryState::Dead
                && d.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("blocked"))
        })
    })
    .await;
    let blocker = ChatKey::new(Channel::Telegram, BLOCKER.to_string());
    assert!(
        app.store.subscription(&blocker).unwrap().is_none(),
        "the blocker's subscription ended"
    );
    let gone = ChatKey::new(Channel::Telegram, GONE.to_string());
    eventually("the gone chat's subscription ended", || {
        app.store.subscription(&gone).unwrap().is_none()
    })
    .await;
    let reader = ChatKey::new(Channel::Telegram, READER.to_string());
    assert!(app.store.subscription(&reader).unwrap().is_some());

    // The next update goes to the reader only: the blocker is not tried again.
    let refused_before = fake
        .sent_to(BLOCKER)
        .iter()
        .filter(|c| c.status == 403)
        .count();
    app.store
        .create_update(update("ถนนสายหลักหมู่ 1 ปิดซ่อมวันเสาร์"))
        .unwrap();
    eventually("the second news reaches the reader", || {
        to_reader("ถนนสายหลักหมู่ 1")
    })
    .await;
    app.settled().await;
    let refused_after = fake
        .sent_to(BLOCKER)
        .iter()
        .filter(|c| c.status == 403)
        .count();
    assert_eq!(
        refused_before, refused_after,
        "the blocker was not tried again"
    );
    app.stop().await;
}
