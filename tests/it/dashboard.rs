//! The staff side end to end: a staff member enrolled through a chat, a case arriving in
//! the division's LINE group as a card with buttons, answers from the group chat and
//! from the dashboard both reaching the resident, and who may see what (by URL, by API,
//! by chat), with CSRF, lockout and the audit log.

use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tambon::domain::role::Role;
use tambon::domain::Channel;

use crate::helpers::{eventually, reopen, TestApp};
use crate::line_fake::FakeLine;

const RESIDENT: &str = "U00000000000000000000000dashresident";
const STAFF_USER: &str = "U0000000000000000000000000dashstaff";
const GROUP: &str = "C000000000000000000000000engineering";
pub const PASSWORD: &str = "correct horse battery";

fn event(n: usize, source: Value, kind: &str, extra: Value) -> Vec<u8> {
    let mut event = json!({
        "type": kind, "mode": "active", "timestamp": chrono::Utc::now().timestamp_millis(),
        "source": source,
        "webhookEventId": format!("01DASH{n:020}"),
        "deliveryContext": { "isRedelivery": false },
        "replyToken": format!("dash-token-{n}"),
    });
    for (key, value) in extra.as_object().unwrap() {
        event[key] = value.clone();
    }
    serde_json::to_vec(&json!({ "destination": "Ubot", "events": [event] })).unwrap()
}

fn user(id: &str) -> Value {
    json!({ "type": "user", "userId": id })
}

fn group() -> Value {
    json!({ "type": "group", "groupId": GROUP, "userId": STAFF_USER })
}

fn postback(n: usize, source: Value, data: &str) -> Vec<u8> {
    event(
        n,
        source,
        "postback",
        json!({ "postback": { "data": data } }),
    )
}

fn text(n: usize, source: Value, text: &str) -> Vec<u8> {
    event(
        n,
        source,
        "message",
        json!({ "message": { "id": format!("dm{n}"), "type": "text", "text": text } }),
    )
}

/// Sends an event and waits for the reply to it.
async fn turn(app: &TestApp, line: &FakeLine, body: Vec<u8>) -> String {
    let before = line.requests_to("/v2/bot/message/reply").len();
    assert_eq!(app.post_line(&body).await, 200);
    eventually("a LINE reply", || {
        line.requests_to("/v2/bot/message/reply").len() > before
    })
    .await;
    line.requests_to("/v2/bot/message/reply")
        .pop()
        .unwrap()
        .body
        .to_string()
}

fn pushed_to(line: &FakeLine, to: &str) -> Vec<String> {
    line.requests_to("/v2/bot/message/push")
        .into_iter()
        .filter(|r| r.body["to"] == to)
        .map(|r| r.body["messages"].to_string())
        .collect()
}

/// The resident's events, in order, numbered from `first`: `(true, payload)` taps a
/// button, `(false, text)` types.
async fn resident_steps(app: &TestApp, line: &FakeLine, first: usize, steps: &[(bool, &str)]) {
    for (n, (is_button, data)) in steps.iter().enumerate() {
        let body = if *is_button {
            postback(first + n, user(RESIDENT), data)
        } else {
            text(first + n, user(RESIDENT), data)
        };
        turn(app, line, body).await;
    }
}

/// A browser of the dashboard: its cookies, no automatic redirects.
pub struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: std::collections::BTreeMap<String, String>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.address.clone(),
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            cookies: Default::default(),
        }
    }

    pub fn keep_cookies(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let value = value.to_str().unwrap();
            let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
            assert!(
                attributes.contains("HttpOnly") && attributes.contains("SameSite=Strict"),
                "{value}"
            );
            assert!(attributes.contains("Secure"), "secure by default: {value}");
            let (name, cookie) = pair.split_once('=').unwrap();
            if cookie.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), cookie.to_owned());
            }
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        let status = response.status();
        let body = if status.is_redirection() {
            response.headers()["location"].to_str().unwrap().to_owned()
        } else {
            response.text().await.unwrap()
        };
        (status, body)
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        let status = response.status();
        let body = if status.is_redirection() {
            response.headers()["location"].to_str().unwrap().to_owned()
        } else {
            response.text().await.unwrap()
        };
        (status, body)
    }

    pub async fn post_body(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// The CSRF token of the page at `path`.
    pub async fn csrf(&mut self, path: &str) -> String {
        let (status, page) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        csrf_in(&page)
    }

    pub async fn log_in(&mut self, username: &str, password: &str) -> (StatusCode, String) {
        let csrf = self.csrf("/staff/login").await;
        self.post(
            "/staff/login",
            &[
                ("username", username),
                ("password", password),
                ("csrf", &csrf),
            ],
        )
        .await
    }

    pub async fn logged_in(app: &TestApp, username: &str) -> Self {
        let mut browser = Self::new(app);
        let (status, location) = browser.log_in(username, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
        assert_eq!(location, "/staff/queue");
        browser
    }
}

/// 32 wrong passwords sent at once: the lockout counts each of them (it is counted
/// atomically, never read and written back over a parallel attempt), so the right
/// password is refused afterwards; attempts for names that do not exist are checked in
/// turns and never fail the server.
/// Each `(name, password)` tried by a browser of its own, all at once; the statuses,
/// each asserted to be a refusal (401) or a "come back later" (429), never a failure.
async fn logins_at_once(app: &TestApp, attempts: Vec<(String, String)>) -> Vec<StatusCode> {
    let mut ready = Vec::new();
    for attempt in attempts {
        let mut browser = Browser::new(app);
        let csrf = browser.csrf("/staff/login").await;
        ready.push((browser, csrf, attempt));
    }
    let mut running = tokio::task::JoinSet::new();
    for (mut browser, csrf, (name, password)) in ready {
        running.spawn(async move {
            browser
                .post(
                    "/staff/login",
                    &[
                        ("username", &name),
                        ("password", &password),
                        ("csrf", &csrf),
                    ],
                )
                .await
                .0
        });
    }
    let statuses = running.join_all().await;
    assert!(
        statuses
            .iter()
            .all(|s| matches!(*s, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS)),
        "{statuses:?}"
    );
    statuses
}

#[tokio::test]
async fn parallel_wrong_passwords_lock_the_login_and_parallel_attempts_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = reopen(dir.path());
        tambon::dashboard::add_user(&store, "somchai", PASSWORD, &Role::Admin).unwrap();
    }
    // Every attempt here comes from 127.0.0.1: without the per-address limit (tested
    // on its own below), the lockout and the turns are what hold.
    let mut settings = crate::helpers::settings(dir.path(), None);
    settings.dashboard.login_attempts_per_address_per_minute = 0;
    let app = TestApp::spawn_with(settings, tambon::config::Secrets::default()).await;
    let wrong: Vec<(String, String)> = (0..32)
        .map(|_| ("somchai".to_owned(), "wrong password!".to_owned()))
        .collect();
    let statuses = logins_at_once(&app, wrong).await;
    let n_refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(
        n_refused < 5,
        "at most 4 wrong passwords before the lock: {statuses:?}"
    );
    let mut owner = Browser::new(&app);
    let (status, page) = owner.log_in("somchai", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(page.contains("ระงับชั่วคราว"), "{page}");
    // A script cannot skip the login page by choosing its own value for both the
    // cookie and the field: only a token the server signed counts.
    let mut script = Browser::new(&app);
    let chosen = "a".repeat(43);
    script.cookies.insert(
        tambon::dashboard::LOGIN_CSRF_COOKIE.to_owned(),
        chosen.clone(),
    );
    let (status, _) = script
        .post(
            "/staff/login",
            &[("username", "nobody"), ("password", "x"), ("csrf", &chosen)],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Names that do not exist, many at once: each is checked (against a dummy hash, in
    // turns, well within the wait) and refused like a wrong password.
    let unknown: Vec<(String, String)> = (0..16)
        .map(|n| (format!("nobody{n}"), "x".to_owned()))
        .collect();
    let statuses = logins_at_once(&app, unknown).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    app.stop().await;
}

/// Password checks take turns: with one turn and no wait, of sixteen attempts sent at once
/// some are told to come back (429 with `Retry-After`) instead of each running its own
/// 19 MiB Argon2 at the same time.
#[tokio::test]
async fn password_checks_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::helpers::settings(dir.path(), None);
    settings.dashboard.login_attempts_per_address_per_minute = 0;
    settings.dashboard.max_parallel_password_checks = 1;
    settings.dashboard.password_check_wait_seconds = 0;
    let app = TestApp::spawn_with(settings, tambon::config::Secrets::default()).await;
    let attempts: Vec<(String, String)> = (0..16)
        .map(|n| (format!("nobody{n}"), "x".to_owned()))
        .collect();
    let statuses = logins_at_once(&app, attempts).await;
    let n_waited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        (1..16).contains(&n_waited),
        "one check at a time, the rest told to come back: {statuses:?}"
    );
    app.stop().await;
}

/// One address trying password after password, under any names, is stopped before any
/// password is checked, and told how long to wait.
#[tokio::test]
async fn one_address_cannot_try_password_after_password() {
    const LIMIT: u32 = 5;
    let dir = tempfile::tempdir().unwrap();
    {
        let store = reopen(dir.path());
        tambon::dashboard::add_user(&store, "somchai", PASSWORD, &Role::Admin).unwrap();
    }
    let mut settings = crate::helpers::settings(dir.path(), None);
    settings.dashboard.login_attempts_per_address_per_minute = LIMIT;
    let app = TestApp::spawn_with(settings, tambon::config::Secrets::default()).await;
    let mut script = Browser::new(&app);
    for n in 0..LIMIT {
        let (status, page) = script.log_in(&format!("guess{n}"), "123456").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{page}");
    }
    // The next attempt, even with a right name and password, is not checked.
    let csrf = script.csrf("/staff/login").await;
    let response = script
        .post_body(
            "/staff/login",
            "application/x-www-form-urlencoded",
            format!(
                "username=somchai&password={}&csrf={csrf}",
                PASSWORD.replace(' ', "+")
            )
            .into_bytes(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After: {wait}");
    let page = response.text().await.unwrap();
    assert!(page.contains("หลายครั้งเกินไป"), "{page}");
    assert!(page.contains(&format!("รอ {wait} วินาที")), "{page}");
    app.stop().await;
}

/// Over plain http at a LAN address the browser drops the `Secure` login cookie: the
/// page says to use HTTPS (or `secure_cookies = false`), not that the form expired.
#[tokio::test]
async fn a_login_over_plain_http_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path(), None).await;
    let client = reqwest::Client::new();
    let page = client
        .get(format!("{}/staff/login", app.address))
        .header("host", "192.168.1.20:8080")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&page);
    // The browser kept no cookie: it came over http.
    let response = client
        .post(format!("{}/staff/login", app.address))
        .header("host", "192.168.1.20:8080")
        .form(&[("username", "somchai"), ("password", "x"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(page.contains("HTTPS"), "{page}");
    assert!(page.contains("secure_cookies = false"), "{page}");
    assert!(!page.contains("แบบฟอร์มหมดอายุ"), "{page}");
    // On localhost the same missing cookie is an expired form.
    let response = client
        .post(format!("{}/staff/login", app.address))
        .form(&[("username", "somchai"), ("password", "x"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

fn csrf_in(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_case_reaches_the_division_group_and_answers_from_chat_and_dashboard_reach_the_resident()
{
    let dir = tempfile::tempdir().unwrap();
    let in_a_day = chrono::Utc::now() + chrono::Duration::days(1);
    let engineering = Role::Staff {
        division: "engineering".to_owned(),
    };
    let enrol_code = {
        let store = reopen(dir.path());
        for (name, role) in [
            ("somchai", engineering.clone()),
            (
                "malee",
                Role::Staff {
                    division: "finance".to_owned(),
                },
            ),
            ("wichai", Role::IntegrityOfficer),
            ("admin", Role::Admin),
        ] {
            tambon::dashboard::add_user(&store, name, PASSWORD, &role).unwrap();
        }
        store
            .group_joined(Channel::Line, GROUP, chrono::Utc::now())
            .unwrap();
        assert!(store
            .bind_group(Channel::Line, GROUP, Some("engineering"))
            .unwrap());
        let code = store.create_enrol_code(&engineering, in_a_day).unwrap();
        store.sync_blocking().unwrap();
        code
    };
    let line = FakeLine::start().await;
    let app = TestApp::spawn_line(dir.path(), &line.base_url).await;
    let year = tambon::thai::buddhist_year(chrono::Utc::now());
    let complaint = format!("CP-{year}-0001");
    let corruption = format!("CC-{year}-0001");

    // A staff member enrols by sending the code to the bot in a private LINE chat; the
    // code works once.
    let seen = turn(&app, &line, text(1, user(STAFF_USER), &enrol_code)).await;
    assert!(seen.contains("กองช่าง"), "{seen}");
    let seen = turn(&app, &line, text(2, user("Uanother"), &enrol_code)).await;
    assert!(seen.contains("ใช้ไม่ได้"), "a used code does nothing: {seen}");

    // A resident files a road complaint and a named corruption complaint.
    resident_steps(
        &app,
        &line,
        10,
        &[
            (true, "complain"),
            (true, "cat:roads"),
            (false, "ไฟถนนหน้าวัดดับมาสามคืน"),
            (true, "skip"),
            (true, "skip"),
            (false, "089-123-4567"),
            (true, "confirm"),
            (true, "corrupt"),
            (true, "continue"),
            (true, "cat:cc-procure"),
            (false, "ผู้รับเหมารายเดิมได้งานทุกครั้ง"),
            (true, "skip"),
            (true, "skip"),
            (true, "anon:no"),
            (false, "081-555-0000"),
            (true, "confirm"),
        ],
    )
    .await;

    // The division's group gets the road complaint as a card with buttons, and never
    // the corruption complaint.
    eventually("the card in the division's group", || {
        pushed_to(&line, GROUP)
            .iter()
            .any(|m| m.contains(&complaint))
    })
    .await;
    let cards = pushed_to(&line, GROUP).join("\n");
    assert!(cards.contains("ไฟถนนหน้าวัดดับมาสามคืน"), "{cards}");
    assert!(
        cards.contains("รับเรื่อง") && cards.contains("st:take:"),
        "{cards}"
    );
    assert!(!cards.contains(&corruption), "{cards}");
    let take = cards
        .split("st:take:")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

    // In the group: the take button, then an answer typed as a command. Other chatter
    // in the group is not for the bot.
    let seen = turn(
        &app,
        &line,
        postback(40, group(), &format!("st:take:{take}")),
    )
    .await;
    assert!(seen.contains("ไว้ดูแลแล้ว"), "{seen}");
    let seen = turn(
        &app,
        &line,
        text(
            41,
            group(),
            &format!("ตอบ {complaint} ช่างไฟฟ้าจะเข้าไปเปลี่ยนหลอดพรุ่งนี้"),
        ),
    )
    .await;
    assert!(seen.contains("ส่งคำตอบถึงผู้แจ้งเรื่อง"), "{seen}");
    let seen = turn(&app, &line, text(42, group(), &format!("เปิด {corruption}"))).await;
    assert!(seen.contains("ไม่พบเรื่องนี้ในคิวของท่าน"), "{seen}");
    assert!(!seen.contains("081-555-0000"));
    eventually("the group's answer pushed to the resident", || {
        pushed_to(&line, RESIDENT)
            .iter()
            .any(|m| m.contains("ช่างไฟฟ้าจะเข้าไปเปลี่ยนหลอดพรุ่งนี้"))
    })
    .await;

    // The dashboard: the engineer's queue lists the case, not the corruption complaint.
    let mut somchai = Browser::logged_in(&app, "somchai").await;
    let (status, queue) = somchai.get("/staff/queue").await;
    assert_eq!(status, StatusCode::OK);
    assert!(queue.contains(&complaint), "{queue}");
    assert!(!queue.contains(&corruption), "{queue}");
    let case_path = format!("/staff/cases/{complaint}");
    let (_, page) = somchai.get(&case_path).await;
    assert!(page.contains("ไฟถนนหน้าวัดดับมาสามคืน") && page.contains("089-123-4567"));
    assert!(
        page.contains("ช่างไฟฟ้าจะเข้าไปเปลี่ยนหลอดพรุ่งนี้"),
        "the chat answer is in the thread"
    );
    let csrf = csrf_in(&page);

    // A POST without the CSRF token, or with another, is refused and changes nothing.
    let reply = format!("{case_path}/reply");
    let (status, _) = somchai.post(&reply, &[("text", "ไม่ควรถึงผู้แจ้ง")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = somchai
        .post(&reply, &[("text", "ไม่ควรถึงผู้แจ้ง"), ("csrf", "forged")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The dashboard's answer and status reach the resident on LINE.
    let (status, location) = somchai
        .post(
            &reply,
            &[("text", "เปลี่ยนหลอดไฟเรียบร้อยแล้วค่ะ"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.ends_with("?done=reply"), "{location}");
    let (status, _) = somchai
        .post(
            &format!("{case_path}/note"),
            &[("text", "ใช้หลอด LED จากคลังพัสดุ"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = somchai
        .post(
            &format!("{case_path}/status"),
            &[("status", "in_progress"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    eventually("the dashboard's answer pushed to the resident", || {
        let pushed = pushed_to(&line, RESIDENT).join("\n");
        pushed.contains("เปลี่ยนหลอดไฟเรียบร้อยแล้วค่ะ") && pushed.contains("กำลังดำเนินการ")
    })
    .await;
    let (_, page) = somchai.get(&format!("{case_path}?done=status")).await;
    assert!(page.contains("id=\"flash\""), "{page}");
    assert!(page.contains("<span id=\"case-status\">กำลังดำเนินการ</span>"));
    assert!(page.contains("ใช้หลอด LED จากคลังพัสดุ"), "the note, for staff");
    // The internal note never reaches the resident, on any channel or in the timeline.
    let timeline = turn(&app, &line, text(50, user(RESIDENT), &complaint)).await;
    assert!(timeline.contains("เปลี่ยนหลอดไฟเรียบร้อยแล้วค่ะ"), "{timeline}");
    assert!(!timeline.contains("LED"), "{timeline}");
    assert!(!pushed_to(&line, RESIDENT).join("").contains("LED"));
    assert!(!pushed_to(&line, RESIDENT).join("").contains("ไม่ควรถึงผู้แจ้ง"));

    // Staff of another division: not by URL, not by API, not in the queue. What they
    // get is exactly what a code that does not exist gets.
    let mut malee = Browser::logged_in(&app, "malee").await;
    let missing_code = |code: &str| format!("{}-9999", code.rsplit_once('-').unwrap().0);
    for (path, code) in [
        (case_path.clone(), &complaint),
        (format!("/staff/api/cases/{complaint}"), &complaint),
        (format!("/staff/cases/{corruption}"), &corruption),
        (format!("/staff/api/cases/{corruption}"), &corruption),
    ] {
        let (status, body) = malee.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(!body.contains("081-555-0000") && !body.contains("089-123-4567"));
        let missing = missing_code(code);
        let (missing_status, missing_body) =
            malee.get(&path.replace(code.as_str(), &missing)).await;
        assert_eq!(status, missing_status, "{path}");
        assert_eq!(
            body.replace(code.as_str(), "CODE"),
            missing_body.replace(&missing, "CODE"),
            "{path}: a case not allowed looks like one that does not exist"
        );
    }
    let (_, queue) = malee.get("/staff/api/queue").await;
    assert!(
        !queue.contains(&complaint) && !queue.contains(&corruption),
        "{queue}"
    );
    let malee_csrf = csrf_in(&malee.get("/staff/queue").await.1);
    let (status, body) = malee
        .post(&reply, &[("text", "แทรก"), ("csrf", &malee_csrf)])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nor answer it");
    let missing = missing_code(&complaint);
    let (missing_status, missing_body) = malee
        .post(
            &reply.replace(&complaint, &missing),
            &[("text", "แทรก"), ("csrf", &malee_csrf)],
        )
        .await;
    assert_eq!(
        (status, body.replace(&complaint, "CODE")),
        (missing_status, missing_body.replace(&missing, "CODE"))
    );
    // The engineer cannot open the corruption complaint either.
    let (status, body) = somchai.get(&format!("/staff/cases/{corruption}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let missing = missing_code(&corruption);
    let (missing_status, missing_body) = somchai.get(&format!("/staff/cases/{missing}")).await;
    assert_eq!(
        (status, body.replace(&corruption, "CODE")),
        (missing_status, missing_body.replace(&missing, "CODE"))
    );

    // The integrity officer sees the reporter; the admin sees the case, not who sent it.
    let mut wichai = Browser::logged_in(&app, "wichai").await;
    let (status, page) = wichai.get(&format!("/staff/cases/{corruption}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("081-555-0000") && page.contains(RESIDENT),
        "{page}"
    );
    let (_, api) = wichai.get(&format!("/staff/api/cases/{corruption}")).await;
    assert!(api.contains("081-555-0000"), "{api}");
    let mut admin = Browser::logged_in(&app, "admin").await;
    let (status, page) = admin.get(&format!("/staff/cases/{corruption}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("ผู้รับเหมารายเดิมได้งานทุกครั้ง"));
    assert!(
        !page.contains("081-555-0000") && !page.contains(RESIDENT),
        "{page}"
    );
    let (_, api) = admin.get(&format!("/staff/api/cases/{corruption}")).await;
    assert!(
        !api.contains("081-555-0000") && api.contains("\"reporter_hidden\":true"),
        "{api}"
    );
    // Only the admin reads the audit log.
    let (status, _) = wichai.get("/staff/audit").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, audit) = admin.get("/staff/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(audit.contains("ครบถ้วน"), "the chain verifies: {audit}");

    // Closing from the group: a photo sent next is the result's; other photos in the
    // group are chatter, not for the bot.
    let seen = turn(
        &app,
        &line,
        text(60, group(), &format!("ปิด {complaint} เปลี่ยนหลอดไฟแล้ว")),
    )
    .await;
    assert!(seen.contains("ส่งภาพหลังดำเนินการ"), "{seen}");
    line.set_content("after-1", "image/jpeg", b"\xff\xd8\xff\xe0 after".to_vec());
    let photo = |n: usize, id: &str| {
        event(
            n,
            group(),
            "message",
            json!({ "message": { "id": id, "type": "image", "contentProvider": { "type": "line" } } }),
        )
    };
    let seen = turn(&app, &line, photo(61, "after-1")).await;
    assert!(seen.contains("แนบภาพหลังดำเนินการ"), "{seen}");
    let n_replies = line.requests_to("/v2/bot/message/reply").len();
    assert_eq!(app.post_line(&photo(62, "after-2")).await, 200);
    app.settled().await;
    assert_eq!(
        line.requests_to("/v2/bot/message/reply").len(),
        n_replies,
        "a second photo is chatter"
    );

    // Logging out ends the session: the same cookie no longer opens the queue.
    let stolen = somchai.cookies.clone();
    let (status, location) = somchai.post("/staff/logout", &[("csrf", &csrf)]).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/staff/login")
    );
    somchai.cookies = stolen;
    let (status, location) = somchai.get("/staff/queue").await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/staff/login")
    );
    drop((somchai, malee, wichai, admin));
    app.stop().await;

    // Every view of the corruption complaint is in the audit log, by whom, with whether
    // the reporter was shown; every change too.
    let store = reopen(dir.path());
    let entries = store.audit_entries().unwrap();
    let views: Vec<String> = entries
        .iter()
        .filter(|e| e.action == "view" && e.case_code == corruption)
        .map(|e| format!("{} | {}", e.actor, e.detail))
        .collect();
    assert_eq!(views.len(), 4, "{views:?}");
    assert!(
        views[0].starts_with("integrity_officer wichai")
            && views[0].ends_with("reporter shown: true")
    );
    assert!(views[3].starts_with("admin admin") && views[3].ends_with("reporter shown: false"));
    for action in ["take", "answer", "status", "note"] {
        assert!(
            entries
                .iter()
                .any(|e| e.action == action && e.case_code == complaint),
            "{action}"
        );
    }
    assert_eq!(store.verify_audit().unwrap().broken, None);
    let case = store
        .all_cases()
        .find_map(|c| c.ok().filter(|c| c.code == complaint))
        .unwrap();
    let after: Vec<&str> = case.after_photos().collect();
    assert_eq!(after.len(), 1);
    assert_eq!(
        store.media(after[0]).unwrap().unwrap().bytes,
        b"\xff\xd8\xff\xe0 after"
    );
}

#[tokio::test]
async fn logins_lock_after_repeated_failures_and_a_revoked_role_ends_the_session() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = reopen(dir.path());
        tambon::dashboard::add_user(&store, "somchai", PASSWORD, &Role::Admin).unwrap();
    }
    let app = TestApp::spawn(dir.path(), None).await;
    let mut browser = Browser::new(&app);
    // A login form posted without its cookie's token is refused.
    let (status, _) = browser
        .post(
            "/staff/login",
            &[
                ("username", "somchai"),
                ("password", PASSWORD),
                ("csrf", "x"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for _ in 0..4 {
        let (status, page) = browser.log_in("somchai", "wrong password!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง"));
    }
    let (status, page) = browser.log_in("somchai", "wrong password!").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    let (status, _) = browser.log_in("somchai", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "locked even with the right password"
    );
    app.stop().await;

    // After the lockout (made to pass here by a fresh login record), a revoked role
    // ends an open session at once.
    {
        let store = reopen(dir.path());
        tambon::dashboard::add_user(&store, "somchai", PASSWORD, &Role::Admin).unwrap();
    }
    let app = TestApp::spawn(dir.path(), None).await;
    let mut browser = Browser::logged_in(&app, "somchai").await;
    let (status, _) = browser.get("/staff/enrol").await;
    assert_eq!(status, StatusCode::OK);
    // An admin makes an enrolment code in the dashboard; it works once in a chat.
    let csrf = browser.csrf("/staff/enrol").await;
    let (status, page) = browser
        .post(
            "/staff/enrol",
            &[("role", "staff:welfare"), ("village", ""), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let code = page
        .split("รหัสลงทะเบียน TB-")
        .nth(1)
        .map(|rest| format!("TB-{}", &rest[..9]))
        .expect("the new code is shown");
    let clerk = crate::helpers::Resident::new(&app, "clerk");
    assert!(clerk.text(&code).await.contains("กองสวัสดิการสังคม"));
    assert!(crate::helpers::Resident::new(&app, "other")
        .text(&code)
        .await
        .contains("ใช้ไม่ได้"));
    app.stop().await;
    {
        let store = reopen(dir.path());
        assert!(store
            .revoke_role(&tambon::dashboard::dashboard_identity("somchai"))
            .unwrap());
    }
    let app = TestApp::spawn(dir.path(), None).await;
    browser.base = app.address.clone();
    let (status, location) = browser.get("/staff/queue").await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/staff/login")
    );
    app.stop().await;
}

/// A `multipart/form-data` body by hand (the tests' HTTP client has no multipart).
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "tambon-test-boundary-7d1e";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"after.png\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn a_closed_case_is_rated_or_reopened_and_progress_and_statistics_are_published() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = reopen(dir.path());
        let engineering = Role::Staff {
            division: "engineering".to_owned(),
        };
        let finance = Role::Staff {
            division: "finance".to_owned(),
        };
        tambon::dashboard::add_user(&store, "somchai", PASSWORD, &engineering).unwrap();
        tambon::dashboard::add_user(&store, "malee", PASSWORD, &finance).unwrap();
    }
    let line = FakeLine::start().await;
    let app = TestApp::spawn_line(dir.path(), &line.base_url).await;
    let year = tambon::thai::buddhist_year(chrono::Utc::now());
    let complaint = format!("CP-{year}-0001");
    resident_steps(
        &app,
        &line,
        100,
        &[
            (true, "complain"),
            (true, "cat:water"),
            (false, "น้ำประปาไม่ไหลสามวันแล้ว"),
            (true, "skip"),
            (true, "skip"),
            (true, "skip"),
            (true, "confirm"),
        ],
    )
    .await;

    // Staff close it from the dashboard with a photo of the result.
    let mut somchai = Browser::logged_in(&app, "somchai").await;
    let case_path = format!("/staff/cases/{complaint}");
    let csrf = somchai.csrf(&case_path).await;
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR fake but with a PNG signature";
    let (content_type, body) = multipart(
        &[("csrf", &csrf), ("text", "ซ่อมท่อประปาแล้ว น้ำไหลปกติ")],
        Some(("photo", png)),
    );
    let response = somchai
        .post_body(&format!("{case_path}/close"), &content_type, body)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // The resident is asked to rate it or say it is not fixed.
    eventually("the rating question", || {
        pushed_to(&line, RESIDENT)
            .iter()
            .any(|m| m.contains("ซ่อมท่อประปาแล้ว") || m.contains("reopen:"))
            && pushed_to(&line, RESIDENT)
                .iter()
                .any(|m| m.contains("reopen:"))
    })
    .await;
    let question = pushed_to(&line, RESIDENT)
        .into_iter()
        .find(|m| m.contains("reopen:"))
        .unwrap();
    assert!(
        question.contains("rate:") && question.contains("⭐⭐⭐⭐⭐"),
        "{question}"
    );
    let case_id = question
        .split("reopen:")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    // The case page shows the photo, which staff can open.
    let (_, page) = somchai.get(&case_path).await;
    let photo = page
        .split(&format!("/staff/media/{complaint}/"))
        .nth(1)
        .expect("a link to the after photo")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let response = somchai
        .client
        .get(format!("{}/staff/media/{complaint}/{photo}", somchai.base))
        .header("cookie", somchai.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().as_ref(), png);

    // "Not fixed": the case is open again, and the resident is told.
    let seen = turn(
        &app,
        &line,
        postback(120, user(RESIDENT), &format!("reopen:{case_id}")),
    )
    .await;
    assert!(seen.contains(&complaint), "{seen}");
    let (_, page) = somchai.get(&case_path).await;
    assert!(
        page.contains("<span id=\"case-status\">กำลังดำเนินการ</span>"),
        "{page}"
    );
    assert!(page.contains("เปิดเรื่องซ้ำ") && page.contains("1 ครั้ง"));
    // Closed again; this time the resident rates it 4. A second rating is refused.
    let csrf = somchai.csrf(&case_path).await;
    let (content_type, body) = multipart(&[("csrf", &csrf), ("text", "เปลี่ยนมาตรวัดน้ำแล้ว")], None);
    let response = somchai
        .post_body(&format!("{case_path}/close"), &content_type, body)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let seen = turn(
        &app,
        &line,
        postback(121, user(RESIDENT), &format!("rate:{case_id}:4")),
    )
    .await;
    assert!(seen.contains("ขอบคุณ"), "{seen}");
    let seen = turn(
        &app,
        &line,
        postback(122, user(RESIDENT), &format!("rate:{case_id}:1")),
    )
    .await;
    assert!(!seen.contains("ขอบคุณ"), "one rating per resolution: {seen}");
    // Someone else cannot rate it.
    let seen = turn(
        &app,
        &line,
        postback(123, user("Ustranger"), &format!("reopen:{case_id}")),
    )
    .await;
    assert!(!seen.contains(&complaint), "{seen}");
    let (_, page) = somchai.get(&case_path).await;
    assert!(page.contains("4 / 5"), "{page}");

    // Progress on a measure: only its divisions may report; residents see it at once.
    let measures_csrf = somchai.csrf("/staff/measures").await;
    let (status, _) = somchai
        .post(
            "/staff/measures/iit-1",
            &[
                ("status", "done"),
                ("note", "แอบอ้าง"),
                ("csrf", &measures_csrf),
            ],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "iit-1 is the finance division's"
    );
    let mut malee = Browser::logged_in(&app, "malee").await;
    let csrf = malee.csrf("/staff/measures").await;
    let (status, _) = malee
        .post(
            "/staff/measures/iit-1",
            &[
                ("status", "done"),
                ("note", "ติดประกาศรายงานงบประมาณไตรมาส 4 บนเว็บไซต์แล้ว"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let resident = crate::helpers::Resident::new(&app, "asker");
    let answer = resident.text("ใครรับผิดชอบรายงานงบประมาณ").await;
    assert!(
        answer.contains("ติดประกาศรายงานงบประมาณไตรมาส 4 บนเว็บไซต์แล้ว"),
        "{answer}"
    );

    // The public statistics: the year's page and an Excel-ready CSV.
    let fiscal = tambon::report::current_fiscal_year_be(chrono::Utc::now());
    let page = app
        .get(&format!("/report?year={fiscal}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("ไม่มีเรื่องร้องเรียนการทุจริต"), "{page}");
    assert!(
        !page.contains("น้ำประปาไม่ไหล"),
        "cases are counted, never described"
    );
    let csv = app
        .get(&format!("/report.csv?year={fiscal}&digits=thai"))
        .await
        .bytes()
        .await
        .unwrap();
    assert!(
        csv.starts_with("\u{feff}".as_bytes()),
        "a byte-order mark for Excel"
    );
    let csv = String::from_utf8(csv.to_vec()).unwrap();
    assert!(csv.contains("\r\n") && csv.contains('๔'), "{csv}");
    assert_eq!(app.get("/report?year=abc").await.status(), 400);
    drop((somchai, malee, resident));
    app.stop().await;

    let store = reopen(dir.path());
    let case = store
        .all_cases()
        .find_map(|c| c.ok().filter(|c| c.code == complaint))
        .unwrap();
    assert_eq!((case.rating, case.reopen_count), (Some(4), 1));
    assert_eq!(case.after_photos().count(), 1);
}
