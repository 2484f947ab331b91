//! The web chat API end to end: questions, every kind of case, restarts, forwarding,
//! redelivery and bad input.

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::json;
use sha2::Sha256;
use tambon::store::DeliveryState;

use crate::helpers::{code_in, eventually, render, FakeHook, Resident, TestApp, HOOK_SECRET};

fn year_be() -> u32 {
    tambon::thai::buddhist_year(chrono::Utc::now())
}

#[tokio::test]
async fn health_and_page_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path(), None).await;
    // Health says what it checked: the store answered a read, and the dispatcher went
    // round its loop lately.
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let health: serde_json::Value = response.json().await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["store"], "ok", "{health}");
    assert_eq!(health["inbound_queued"], 0, "{health}");
    assert_eq!(health["deliveries_pending"], 0, "{health}");
    let workers = health["workers"].as_array().unwrap();
    let dispatcher = workers
        .iter()
        .find(|w| w["name"] == "dispatcher")
        .unwrap_or_else(|| panic!("the dispatcher beats: {health}"));
    assert_eq!(dispatcher["stuck"], false);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
    let page = app.get("/").await.text().await.unwrap();
    assert!(page.contains("<html lang=\"th\""));
    assert!(
        !page.contains("https://") && !page.contains("http://"),
        "no external assets"
    );
    let info: serde_json::Value = app.get("/api/info").await.json().await.unwrap();
    assert_eq!(info["office_th"], "องค์การบริหารส่วนตำบลบ้านเพชร");
    app.stop().await;
}

/// One web chat session sending without pause is asked to wait (429 with Retry-After
/// and a polite text the page shows), and nobody else is slowed by it.
#[tokio::test]
async fn a_flood_from_one_session_is_slowed_politely() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path(), None).await;
    let session = "flooding-session-0001";
    // The shipped limit: 60 a minute, all at once after a quiet spell, then one a
    // second. Sent one after another until refused: the burst always passes, and at
    // most one more per second the sending took (a loaded machine sends slowly).
    let started = std::time::Instant::now();
    let mut n = 0;
    let response = loop {
        let body = json!({ "session": session, "id": format!("m{n}"), "text": "สวัสดีค่ะ" });
        let response = app
            .post_raw(
                "/api/chat",
                "application/json",
                serde_json::to_vec(&body).unwrap(),
            )
            .await;
        if response.status().as_u16() != 200 {
            break response;
        }
        n += 1;
        assert!(n <= 1_000, "never refused");
    };
    let refilled = started.elapsed().as_secs() + 1;
    assert!(
        (60..=60 + refilled).contains(&n),
        "{n} messages passed in {refilled} s"
    );
    assert_eq!(response.status().as_u16(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("กรุณารอสักครู่"),
        "{body}"
    );
    let (status, _) = app
        .chat(json!({ "session": "another-session-0001", "id": "m0", "text": "สวัสดีค่ะ" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

/// A script that makes up a new session for every message is still slowed: by its
/// client address.
#[tokio::test]
async fn new_sessions_from_one_address_are_slowed_too() {
    const LIMIT: u32 = 10;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::helpers::settings(dir.path(), None);
    settings.server.web_chat_per_address_per_minute = LIMIT;
    let app = TestApp::spawn_with(settings, tambon::config::Secrets::default()).await;
    let message = |n: u32| {
        serde_json::to_vec(
            &json!({ "session": format!("made-up-session-{n:04}"), "id": "m0", "text": "สวัสดีค่ะ" }),
        )
        .unwrap()
    };
    // Sent until refused: the burst passes, and at most one more per 6 s of sending.
    let started = std::time::Instant::now();
    let mut n = 0;
    let response = loop {
        let response = app
            .post_raw("/api/chat", "application/json", message(n))
            .await;
        if response.status().as_u16() != 200 {
            break response;
        }
        n += 1;
        assert!(n <= 1_000, "never refused");
    };
    let refilled = u32::try_from(started.elapsed().as_secs() / 6).unwrap() + 1;
    assert!(
        (LIMIT..=LIMIT + refilled).contains(&n),
        "{n} messages passed"
    );
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
    app.stop().await;
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path(), None).await;
    let client = reqwest::Client::new();
    for path in ["/", "/staff/login", "/report"] {
        let response = client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        // The web chat's own script, by its hash; no other inline script.
        assert!(csp.contains("script-src 'sha256-"), "{path}: {csp}");
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap();
        assert!(!script_src.contains("unsafe"), "{path}: {script_src}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn questions_in_thai_and_english_quote_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path(), None).await;
    let resident = Resident::new(&app, "asker");

    // One card, its first line answering what was asked.
    let seen = resident.text("มาตรการป้องกันการทุจริตมีอะไรบ้าง").await;
    assert_eq!(seen.matches("== ").count(), 1, "{seen}");
    assert!(seen.contains("== OIT · การป้องกันการทุจริต (37.50) ==\nมาตรการ: มาตรการในการส่งเสริมความโปร่งใสในการจัดซื้อจัดจ้าง; มาตรการให้ผู้มีส่วนได้ส่วนเสียมีส่วนร่วมในการดำเนินการ"), "{seen}");
    assert!(
        seen.contains(
            "ผู้รับผิดชอบ: สำนักปลัด, กองคลัง, กองช่าง, กองสวัสดิการสังคม, กองการศึกษาฯ · ✓ ดำเนินการแล้ว"
        ),
        "{seen}"
    );
    assert!(seen.contains("[ดูทั้งหมด|kb:oit-1]"), "{seen}");
    // The whole item on request: guidelines too, with the PDF's broken spacing gone.
    let whole = resident.tap("kb:oit-1").await;
    assert!(whole.contains("แนวทางการดำเนินการ:"), "{whole}");
    assert!(whole.contains("ติดบอร์ด"), "{whole}");

    let seen = resident.text("กองคลังรับผิดชอบเรื่องอะไร").await;
    assert!(seen.contains("กองคลัง รับผิดชอบ 5 เรื่อง"), "{seen}");
    assert!(
        seen.contains("• IIT: จัดทำแผนใช้จ่ายงบประมาณและแผนการจัดซื้อจัดจ้างอย่างมีคุณภาพ — ✓ ดำเนินการแล้ว"),
        "{seen}"
    );

    let seen = resident.text("ความคืบหน้าการเปิดเผยข้อมูลงบประมาณ").await;
    let first_card = seen.split("== ").nth(1).unwrap();
    assert!(
        first_card.starts_with(
            "IIT · การใช้จ่ายงบประมาณ (77.77) ==\n✓ ดำเนินการแล้ว ตามแผนปี ๒๕๖๔ · ผู้รับผิดชอบ: กองคลัง"
        ),
        "{seen}"
    );

    let seen = resident
        .text("who is responsible for the procurement plan?")
        .await;
    let first_card = seen.split("== ").nth(1).unwrap();
    assert!(
        first_card.starts_with(
            "IIT · Budget spending (77.77) ==\nResponsible: Finance Division (✓ done)"
        ),
        "{seen}"
    );

    let seen = resident.text("What was the OIT score?").await;
    assert!(seen.contains("OIT") && seen.contains("37.50"), "{seen}");
    assert!(
        !seen.contains("77.77"),
        "only the OIT was asked for: {seen}"
    );
    app.stop().await;
}

/// Walks a resident through a suggestion or complaint; returns the receipt card.
async fn file_simple(resident: &Resident<'_>, kind: &str, category: &str, text: &str) -> String {
    resident.tap(kind).await;
    resident.tap(&format!("cat:{category}")).await;
    resident.text(text).await;
    resident.tap("skip").await;
    resident.tap("skip").await;
    resident.tap("skip").await;
    resident.tap("confirm").await
}

#[tokio::test]
async fn every_kind_of_case_is_filed_and_followed() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path(), None).await;
    let year = year_be();
    let resident = Resident::new(&app, "filer");

    let seen = file_simple(&resident, "suggest", "waste", "ควรเพิ่มถังขยะที่ตลาดนัด").await;
    assert!(
        seen.contains(&format!("รับเรื่องแล้ว เลขที่ SG-{year}-0001")),
        "{seen}"
    );
    assert!(seen.contains("ส่งต่อถึง: สำนักปลัด"), "{seen}");

    let seen = file_simple(&resident, "complain", "roads", "ไฟถนนหน้าวัดดับ").await;
    assert!(seen.contains(&format!("CP-{year}-0001")), "{seen}");
    assert!(seen.contains("ส่งต่อถึง: กองช่าง"), "{seen}");

    // A named corruption complaint goes to the integrity officer.
    resident.tap("corrupt").await;
    resident.tap("continue").await;
    resident.tap("cat:cc-bribe").await;
    resident.text("มีการเรียกเงินเพื่อเร่งออกใบอนุญาต").await;
    resident.tap("skip").await;
    resident.tap("skip").await;
    resident.tap("anon:no").await;
    resident.text("081-234-5678").await;
    let seen = resident.tap("confirm").await;
    assert!(seen.contains(&format!("CC-{year}-0001")), "{seen}");
    assert!(
        seen.contains("ส่งต่อถึง: เจ้าหน้าที่ผู้รับผิดชอบเรื่องร้องเรียนการทุจริต"),
        "{seen}"
    );

    // A question nobody in the plan answers goes to staff.
    resident.text("ตลาดนัดเปิดวันไหน").await;
    let seen = resident.tap("staffq").await;
    assert!(seen.contains(&format!("QS-{year}-0001")), "{seen}");

    // Following: the resident's own cases are offered, and shown with their timeline.
    let seen = resident.tap("follow").await;
    assert!(
        seen.contains(&format!("[SG-{year}-0001|case:SG-{year}-0001]")),
        "{seen}"
    );
    let seen = resident.text(&format!("cp-{year}-1")).await;
    assert!(seen.contains(&format!("== CP-{year}-0001 ==")), "{seen}");
    assert!(seen.contains("สถานะ: รับเรื่องแล้ว"), "{seen}");
    // Dates in the Buddhist era: "6 ธ.ค. 2569" (filed a moment ago, maybe just before
    // midnight in Bangkok).
    let now = chrono::Utc::now();
    let days = [now, now - chrono::Duration::minutes(1)]
        .map(|at| tambon::thai::format_date(at, tambon::domain::Lang::Th));
    assert!(days[0].ends_with(&format!(" {year}")), "{}", days[0]);
    assert!(
        days.iter().any(|day| seen.contains(day.as_str())),
        "Buddhist-era dates ({days:?}): {seen}"
    );

    // Adding information and withdrawing.
    resident.tap("add").await;
    let seen = resident.text("ดับทั้งซอยเลยค่ะ").await;
    assert!(
        seen.contains(&format!("เพิ่มข้อมูลในCP-{year}-0001แล้ว")),
        "{seen}"
    );
    resident.text(&format!("CP-{year}-0001")).await;
    resident.tap("withdraw").await;
    resident.tap("withdraw:yes").await;
    let seen = resident.text(&format!("CP-{year}-0001")).await;
    assert!(seen.contains("ท่านเพิ่มข้อมูล: ดับทั้งซอยเลยค่ะ"), "{seen}");
    assert!(seen.contains("สถานะ: ถอนเรื่องแล้ว"), "{seen}");

    // Nobody else sees them.
    let stranger = Resident::new(&app, "stranger");
    let seen = stranger.text(&format!("SG-{year}-0001")).await;
    assert!(seen.contains("ไม่พบเรื่องตามเลขนี้"), "{seen}");
    assert!(!seen.contains("ถังขยะ"), "{seen}");
    app.stop().await;
}

#[tokio::test]
async fn an_anonymous_corruption_complaint_is_followed_by_its_receipt_only() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path(), None).await;
    let reporter = Resident::new(&app, "whistleblower");
    reporter.tap("corrupt").await;
    reporter.tap("continue").await;
    reporter.tap("cat:cc-procure").await;
    reporter.text("ฮั้วประมูลโครงการถนนสายใหม่").await;
    reporter.tap("skip").await;
    reporter.tap("skip").await;
    let seen = reporter.tap("anon:yes").await;
    assert!(seen.contains("ไม่ระบุตัวตน"), "{seen}");
    let seen = reporter.tap("confirm").await;
    let receipt: String = seen
        .split("เลขรับเรื่องของท่านคือ ")
        .nth(1)
        .unwrap_or_else(|| panic!("no receipt in {seen}"))
        .chars()
        .take(19)
        .collect();
    assert_eq!(
        receipt.chars().filter(char::is_ascii_digit).count(),
        16,
        "{receipt}"
    );
    assert!(
        !seen.contains("CC-"),
        "the anonymous reporter is not given the code: {seen}"
    );

    // The receipt works from any chat, read aloud with Thai digits too.
    let thai_digits: String = receipt
        .chars()
        .map(|c| {
            c.to_digit(10)
                .map_or(c, |d| char::from_u32('๐' as u32 + d).unwrap())
        })
        .collect();
    let other = Resident::new(&app, "other-device");
    let seen = other.text(&thai_digits).await;
    assert!(seen.contains("== เรื่องที่แจ้งโดยไม่ระบุตัวตน =="), "{seen}");
    assert!(seen.contains("สถานะ: รับเรื่องแล้ว"), "{seen}");

    // A wrong receipt finds nothing.
    let wrong: String = receipt
        .chars()
        .map(|c| {
            if c == '0' {
                '1'
            } else if c.is_ascii_digit() {
                '0'
            } else {
                c
            }
        })
        .collect();
    let seen = other.text(&wrong).await;
    assert!(seen.contains("ไม่พบเรื่องตามเลขนี้"), "{seen}");
    app.stop().await;

    // On disk: no reporter and no receipt in clear.
    let store = crate::helpers::reopen(dir.path());
    let case = store.all_cases().next().unwrap().unwrap();
    assert!(case.anonymous);
    assert_eq!(case.reporter, None);
    drop(store);
    let digits: String = receipt.chars().filter(char::is_ascii_digit).collect();
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(digits.len()).any(|w| w == digits.as_bytes()),
            "receipt found in clear in {}",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn a_restart_resumes_mid_flow_and_keeps_filed_cases() {
    let dir = tempfile::tempdir().unwrap();
    let year = year_be();
    let app = TestApp::spawn(dir.path(), None).await;
    let session = Resident::new(&app, "restart").session;
    let resident = Resident {
        app: &app,
        session: session.clone(),
    };
    resident.tap("complain").await;
    resident.tap("cat:water").await;
    app.stop().await;

    let app = TestApp::spawn(dir.path(), None).await;
    let resident = Resident {
        app: &app,
        session: session.clone(),
    };
    let seen = resident.text("น้ำประปาไม่ไหลสามวันแล้ว").await;
    assert!(
        seen.contains("ต้องการระบุสถานที่ไหม"),
        "the flow resumed at the location step: {seen}"
    );
    resident.tap("skip").await;
    resident.tap("skip").await;
    resident.tap("skip").await;
    let seen = resident.tap("confirm").await;
    let code = code_in(&seen);
    assert_eq!(code, format!("CP-{year}-0001"));
    app.stop().await;

    let app = TestApp::spawn(dir.path(), None).await;
    let resident = Resident { app: &app, session };
    let seen = resident.text(&code).await;
    assert!(seen.contains("น้ำประปาไม่ไหลสามวันแล้ว"), "{seen}");
    assert!(seen.contains(&format!("== {code} ==")), "{seen}");
    assert!(seen.contains("ประปาและน้ำใช้"), "{seen}");
    app.stop().await;
}

#[tokio::test]
async fn a_forward_reaches_a_failing_webhook_with_a_valid_signature() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, url) = FakeHook::start(2).await;
    let app = TestApp::spawn(dir.path(), Some(&url)).await;
    let resident = Resident::new(&app, "forward");
    let seen = file_simple(&resident, "complain", "roads", "ท่อระบายน้ำอุดตัน ซอย ๕").await;
    let code = code_in(&seen);

    eventually("three attempts at the webhook", || hook.n_received() >= 3).await;
    let received = hook.received.lock().unwrap().clone();
    // Same delivery each time: refused twice, accepted the third.
    let delivery_ids: Vec<&str> = received
        .iter()
        .map(|(headers, _)| headers["x-tambon-delivery"].to_str().unwrap())
        .collect();
    assert!(
        delivery_ids.windows(2).all(|w| w[0] == w[1]),
        "{delivery_ids:?}"
    );
    let (headers, body) = received.last().unwrap();
    let signature = headers["x-tambon-signature-256"].to_str().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(signature, expected);
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["event"], "case.filed");
    assert_eq!(json["case"]["code"], code.as_str());
    assert_eq!(json["case"]["text"], "ท่อระบายน้ำอุดตัน ซอย ๕");
    assert_eq!(json["case"]["division"], "engineering");
    app.stop().await;

    let store = crate::helpers::reopen(dir.path());
    let deliveries: Vec<_> = store.all_deliveries().map(Result::unwrap).collect();
    let to_hook = deliveries
        .iter()
        .find(|d| d.route.to_string() == "engineering-hook")
        .unwrap();
    assert_eq!(to_hook.state, DeliveryState::Delivered);
    assert_eq!(to_hook.attempts, 3);
}

#[tokio::test]
async fn a_webhook_that_never_accepts_leaves_a_dead_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, url) = FakeHook::start(usize::MAX).await;
    let app = TestApp::spawn(dir.path(), Some(&url)).await;
    let resident = Resident::new(&app, "dead");
    file_simple(&resident, "complain", "roads", "ถนนทรุด").await;
    // max_attempts is 5 in the test settings.
    eventually("five attempts", || hook.n_received() >= 5).await;
    // The delivery is dead (no longer pending): nothing can try it again.
    app.settled().await;
    assert_eq!(hook.n_received(), 5, "no attempt after the last");
    app.stop().await;
    let store = crate::helpers::reopen(dir.path());
    let dead: Vec<_> = store
        .all_deliveries()
        .map(Result::unwrap)
        .filter(|d| d.state == DeliveryState::Dead)
        .collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("HTTP 500 Internal Server Error")
    );
}

#[tokio::test]
async fn a_redelivered_message_creates_no_second_case() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path(), None).await;
    let resident = Resident::new(&app, "redeliver");
    resident.tap("suggest").await;
    resident.tap("cat:other").await;
    resident.text("เปิดรับฟังความเห็นทางออนไลน์").await;
    resident.tap("skip").await;
    resident.tap("skip").await;
    resident.tap("skip").await;
    let confirm =
        json!({ "session": resident.session, "id": "the-same-id", "postback": "confirm" });
    let (_, first) = app.chat(confirm.clone()).await;
    let (_, second) = app.chat(confirm).await;
    assert_eq!(first["duplicate"], false);
    assert_eq!(second["duplicate"], true);
    assert_eq!(
        first["replies"], second["replies"],
        "a retry sees the same receipt"
    );
    let seen = resident.tap("follow").await;
    assert_eq!(seen.matches("|case:SG-").count(), 1, "{seen}");
    app.stop().await;
    let store = crate::helpers::reopen(dir.path());
    assert_eq!(store.n_cases(), 1);
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path(), None).await;

    let response = app
        .post_raw("/api/chat", "application/json", b"{not json".to_vec())
        .await;
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("malformed JSON"),
        "{body}"
    );

    let huge = json!({ "session": "session-huge-000000", "id": "1", "text": "ก".repeat(100_000) });
    let response = app
        .post_raw(
            "/api/chat",
            "application/json",
            serde_json::to_vec(&huge).unwrap(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"].is_string());

    let (status, body) = app
        .chat(json!({ "session": "short", "id": "1", "text": "hi" }))
        .await;
    assert_eq!(status.as_u16(), 400, "{body}");
    let (status, body) = app
        .chat(json!({ "session": "session-two-of-them", "id": "1", "text": "a", "postback": "b" }))
        .await;
    assert_eq!(status.as_u16(), 400, "{body}");
    let (status, body) = app
        .chat(json!({ "session": "session-unknown-field", "id": "1", "txt": "a" }))
        .await;
    assert_eq!(status.as_u16(), 400, "{body}");
    let (status, body) = app
        .chat(json!({ "session": "session-bad-image-00", "id": "1", "image": "m1-nope" }))
        .await;
    assert_eq!(status.as_u16(), 400, "{body}");

    let response = app
        .post_raw(
            "/api/chat/upload?session=session-upload-0000",
            "image/png",
            b"not a png".to_vec(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 400);

    // An unknown code and a long description get polite replies.
    let resident = Resident::new(&app, "bad");
    let seen = resident.text("CP-2569-9999").await;
    assert!(seen.contains("ไม่พบเรื่องตามเลขนี้"), "{seen}");
    resident.tap("complain").await;
    resident.tap("cat:roads").await;
    let seen = resident.text(&"ก".repeat(5_001)).await;
    assert!(seen.contains("เกินกว่าที่รับได้"), "{seen}");
    let seen = resident.text("").await;
    assert!(seen.contains("ยังไม่ได้รับรายละเอียด"), "{seen}");
    let seen = resident.tap("no-such-button").await;
    assert!(
        seen.contains("กรุณาพิมพ์รายละเอียดเป็นข้อความ"),
        "a stray button mid-flow asks again: {seen}"
    );

    let health = app.get("/healthz").await;
    assert!(health.status().is_success());
    app.stop().await;
}

#[tokio::test]
async fn a_photo_and_a_location_are_kept_with_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path(), None).await;
    let resident = Resident::new(&app, "photo");
    resident.tap("complain").await;
    resident.tap("cat:roads").await;
    resident.text("เสาไฟล้ม").await;
    let seen = resident
        .send(json!({ "location": { "latitude": 14.1, "longitude": 100.6 } }))
        .await;
    assert!(seen.contains("รูปภาพ"), "{seen}");
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let response = app
        .post_raw(
            &format!("/api/chat/upload?session={}", resident.session),
            "image/png",
            png,
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let upload: serde_json::Value = response.json().await.unwrap();
    let media_id = upload["media_id"].as_str().unwrap();
    let seen = resident.send(json!({ "image": media_id })).await;
    assert!(seen.contains("ได้รับรูปแล้ว 1 รูป"), "{seen}");
    resident.tap("done").await;
    let summary = resident.tap("skip").await;
    assert!(summary.contains("14.10000, 100.60000"), "{summary}");
    assert!(summary.contains("รูปภาพ: 1"), "{summary}");
    resident.tap("confirm").await;
    app.stop().await;
    let store = crate::helpers::reopen(dir.path());
    let case = store.all_cases().next().unwrap().unwrap();
    assert_eq!(case.photos, [media_id]);
    assert_eq!(case.location.unwrap().latitude, 14.1);
    assert_eq!(
        store.media(media_id).unwrap().unwrap().content_type,
        "image/png"
    );
}

#[tokio::test]
async fn two_chats_of_one_person_are_linked_by_a_one_time_code() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path(), None).await;
    let phone = Resident::new(&app, "phone");
    let laptop = Resident::new(&app, "laptop");
    let seen = file_simple(&phone, "complain", "roads", "ท่อแตกหน้าบ้าน").await;
    let code = code_in(&seen);
    assert!(
        laptop.text(&code).await.contains("ไม่พบเรื่อง"),
        "not linked yet"
    );

    let seen = phone.tap("link").await;
    let link_code: String = seen
        .split("รหัสเชื่อมบัญชีของท่านคือ ")
        .nth(1)
        .unwrap_or_else(|| panic!("no link code in {seen}"))
        .chars()
        .take(6)
        .collect();
    assert_eq!(link_code.len(), 6);
    // Sent back to the chat that made it, it does nothing.
    assert!(phone
        .text(&format!("เชื่อม {link_code}"))
        .await
        .contains("อีกแอปหนึ่ง"));
    // It was spent: ask again, and use it from the other chat, in Thai digits.
    let seen = phone.tap("link").await;
    let link_code: String = seen
        .split("รหัสเชื่อมบัญชีของท่านคือ ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect();
    let thai: String = link_code
        .chars()
        .map(|c| char::from_u32('๐' as u32 + c.to_digit(10).unwrap()).unwrap())
        .collect();
    let seen = laptop.text(&format!("เชื่อม {thai}")).await;
    assert!(seen.contains("เชื่อมบัญชีแล้ว"), "{seen}");
    let seen = laptop.text(&code).await;
    assert!(seen.contains(&format!("== {code} ==")), "{seen}");
    let seen = laptop.tap("follow").await;
    assert!(seen.contains(&format!("|case:{code}]")), "{seen}");
    // A spent code links nobody else.
    let stranger = Resident::new(&app, "stranger");
    assert!(stranger
        .text(&format!("link {link_code}"))
        .await
        .contains("does not work"));
    assert!(stranger.text(&code).await.contains("Case not found"));
    app.stop().await;
}

/// A retried confirm of an anonymous complaint (the connection dropped before the answer
/// arrived) files nothing twice and is answered from the answer kept on disk, which holds
/// a notice instead of the receipt: the receipt is never stored, so whoever reads the
/// store, or retries with the same message id, does not get it.
#[tokio::test]
async fn a_retried_anonymous_complaint_is_answered_without_its_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path(), None).await;
    let reporter = Resident::new(&app, "retrying-whistleblower");
    reporter.tap("corrupt").await;
    reporter.tap("continue").await;
    reporter.tap("cat:cc-procure").await;
    reporter.text("ฮั้วประมูลโครงการถนนสายใหม่").await;
    reporter.tap("skip").await;
    reporter.tap("skip").await;
    reporter.tap("anon:yes").await;
    let confirm =
        json!({ "session": reporter.session, "id": "confirm-once", "postback": "confirm" });
    let (_, first) = app.chat(confirm.clone()).await;
    let (_, retry) = app.chat(confirm).await;
    let first = render(&first);
    let receipt: String = first
        .split("เลขรับเรื่องของท่านคือ ")
        .nth(1)
        .unwrap_or_else(|| panic!("no receipt in {first}"))
        .chars()
        .take(19)
        .collect();
    let digits: String = receipt.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(digits.len(), 16, "{receipt}");
    assert!(retry["duplicate"] == true, "{retry}");
    let retry = render(&retry);
    assert!(!retry.trim().is_empty(), "the retry is answered");
    assert!(
        !retry.contains(&receipt) && !retry.contains(&digits),
        "the kept answer shows the receipt: {retry}"
    );
    app.stop().await;
    let store = crate::helpers::reopen(dir.path());
    assert_eq!(store.n_cases(), 1);
}
