//! A local fake of Meta's Graph API as the Messenger channel uses it: the Send API
//! (`POST /{version}/me/messages`) and the CDN that serves the photos residents attach.
//!
//! It records every request in order, checks the page access token (Graph's error 190
//! otherwise), checks each Send API body against Messenger's rules (recipient, messaging
//! type and tag, text length, quick replies, button templates, text xor attachment),
//! keeping what it found wrong in `Recorded::violations` and refusing such a body with
//! Graph's error 100, and can be told to fail the next calls (a rate limit, a 500).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

/// The only page access token the fake accepts (`Authorization: Bearer …`).
pub const TOKEN: &str = crate::helpers::MESSENGER_PAGE_TOKEN;

/// Messenger's limits.
pub const MAX_TEXT_CHARS: usize = 2_000;
pub const MAX_QUICK_REPLIES: usize = 13;
pub const MAX_TITLE_CHARS: usize = 20;
pub const MAX_PAYLOAD_CHARS: usize = 1_000;
pub const MAX_TEMPLATE_TEXT_CHARS: usize = 640;
pub const MAX_TEMPLATE_BUTTONS: usize = 3;

/// The tags Meta still accepts with `messaging_type: MESSAGE_TAG`.
const TAGS: [&str; 4] = [
    "HUMAN_AGENT",
    "CONFIRMED_EVENT_UPDATE",
    "POST_PURCHASE_UPDATE",
    "ACCOUNT_UPDATE",
];

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    /// The JSON body; `Null` if it was empty or not JSON.
    pub body: Value,
    /// What breaks Messenger's rules in a Send API body (empty for other requests).
    pub violations: Vec<String>,
    /// The HTTP status the fake answered.
    pub status: u16,
}

impl Recorded {
    /// Whether this is a Send API call (`POST /{version}/me/messages`).
    #[must_use]
    pub fn is_send(&self) -> bool {
        self.method == "POST" && is_send_path(&self.path)
    }

    /// The PSID the message was for.
    #[must_use]
    pub fn recipient(&self) -> &str {
        self.body["recipient"]["id"].as_str().unwrap_or_default()
    }
}

#[derive(Default)]
struct Fake {
    requests: Vec<Recorded>,
    /// Failures to answer, in order: each after that many more accepted calls.
    failures: VecDeque<(usize, u16, Value)>,
    photos: HashMap<String, (String, Vec<u8>)>,
    last_message_id: u64,
    /// When each person last wrote to the page, as Meta knows it: what opens the
    /// 24-hour window (and the 7 days of a `HUMAN_AGENT` tag).
    last_wrote: HashMap<String, chrono::DateTime<chrono::Utc>>,
    /// People who blocked the page or left Messenger: error 551.
    unavailable: std::collections::HashSet<String>,
}

type Shared = Arc<Mutex<Fake>>;

/// The running fake; the server stops when this is dropped.
pub struct FakeGraph {
    /// `http://127.0.0.1:PORT`, standing for `https://graph.facebook.com` (and the CDN).
    pub base_url: String,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeGraph {
    pub async fn start() -> FakeGraph {
        let state = Shared::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake Graph API binds a port");
        let port = listener.local_addr().unwrap().port();
        let app = Router::new()
            .fallback(handle)
            .with_state(state.clone())
            .layer(DefaultBodyLimit::max(16 * 1024 * 1024));
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the fake Graph API serves");
        });
        FakeGraph {
            base_url: format!("http://127.0.0.1:{port}"),
            state,
            server,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Fake> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `psid` wrote to the page at `at`: as with Meta, a message to them is refused
    /// outside 24 hours from it (7 days with the `HUMAN_AGENT` tag), and to someone who
    /// never wrote, always.
    pub fn user_wrote(&self, psid: &str, at: chrono::DateTime<chrono::Utc>) {
        let mut fake = self.lock();
        let last = fake.last_wrote.entry(psid.to_owned()).or_insert(at);
        *last = (*last).max(at);
    }

    /// Every person who sends a message or a postback in this webhook body wrote to the
    /// page at the item's time: call it with each body posted to tambon.
    pub fn received(&self, body: &[u8]) {
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        let items = body["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|entry| entry["messaging"].as_array().into_iter().flatten());
        for item in items {
            let wrote = item["message"].is_object() && item["message"]["is_echo"] != true
                || item["postback"].is_object();
            let (Some(psid), Some(ms)) =
                (item["sender"]["id"].as_str(), item["timestamp"].as_i64())
            else {
                continue;
            };
            if let (true, Some(at)) = (wrote, chrono::DateTime::from_timestamp_millis(ms)) {
                self.user_wrote(psid, at);
            }
        }
    }

    /// `psid` blocked the page (or left Messenger): every message to them gets 551.
    pub fn make_unavailable(&self, psid: &str) {
        self.lock().unavailable.insert(psid.to_owned());
    }

    /// Every request received, in order, including refused ones and photo downloads.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// The Send API calls, in order, including refused ones.
    pub fn sends(&self) -> Vec<Recorded> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.is_send())
            .cloned()
            .collect()
    }

    /// The Send API calls for one PSID, in order.
    pub fn sends_to(&self, psid: &str) -> Vec<Recorded> {
        self.sends()
            .into_iter()
            .filter(|r| r.recipient() == psid)
            .collect()
    }

    /// The Send API calls the fake accepted (HTTP 200), in order.
    pub fn delivered(&self) -> Vec<Recorded> {
        self.sends()
            .into_iter()
            .filter(|r| r.status == 200)
            .collect()
    }

    /// The requests for one photo path.
    pub fn photo_requests(&self, path: &str) -> Vec<Recorded> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.method == "GET" && r.path == path)
            .cloned()
            .collect()
    }

    /// The next Send API call gets `status` with `body` (a Graph error), before any
    /// other check. Several queue up in order.
    pub fn fail_next(&self, status: u16, body: Value) {
        self.fail_after(0, status, body);
    }

    /// Like `fail_next`, once `n_accepted` more Send API calls went through: to fail
    /// the middle of an answer sent in several calls.
    pub fn fail_after(&self, n_accepted: usize, status: u16, body: Value) {
        StatusCode::from_u16(status).expect("fail_next needs a valid HTTP status");
        self.lock().failures.push_back((n_accepted, status, body));
    }

    /// Meta's rate limit: HTTP 400 with error code 613.
    pub fn rate_limit_next(&self) {
        self.fail_next(
            400,
            json!({"error": {"code": 613, "message": "Calls to this api have exceeded the rate limit.", "type": "OAuthException"}}),
        );
    }

    /// `GET <path>` answers with these bytes, as Meta's CDN does for an attachment whose
    /// `payload.url` is `format!("{base_url}{path}")`.
    pub fn set_photo(&self, path: &str, content_type: &str, bytes: Vec<u8>) {
        assert!(path.starts_with('/'), "a photo path starts with /");
        self.lock()
            .photos
            .insert(path.to_owned(), (content_type.to_owned(), bytes));
    }

    /// The URL of a photo set with `set_photo`.
    #[must_use]
    pub fn photo_url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// `/{version}/me/messages`, any version segment.
fn is_send_path(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(segments.as_slice(), [version, "me", "messages"] if !version.is_empty())
}

fn graph_error(code: i64, message: &str) -> Value {
    json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "FAKE"}})
}

async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut fake = state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let path = uri.path().to_owned();
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let is_send = method == Method::POST && is_send_path(&path);
    let violations = if is_send {
        violations(&json_body)
    } else {
        Vec::new()
    };

    let (status, answer) = if method == Method::GET {
        match fake.photos.get(&path) {
            Some((content_type, bytes)) => {
                let response = (
                    [(header::CONTENT_TYPE, content_type.clone())],
                    bytes.clone(),
                )
                    .into_response();
                fake.requests.push(Recorded {
                    method: method.to_string(),
                    path,
                    headers,
                    body: Value::Null,
                    violations,
                    status: 200,
                });
                return response;
            }
            None => (
                404,
                graph_error(803, "Some of the aliases you requested do not exist"),
            ),
        }
    } else if !is_send {
        (400, graph_error(2500, "Unknown path components"))
    } else if let Some((status, failure)) = next_failure(&mut fake.failures) {
        (status, failure)
    } else if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        != Some(TOKEN)
    {
        (
            400,
            json!({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}),
        )
    } else if let Some(first) = violations.first() {
        (400, graph_error(100, &format!("(#100) {first}")))
    } else if let Some(refusal) = refusal(&fake, &json_body) {
        (400, refusal)
    } else {
        fake.last_message_id += 1;
        (
            200,
            json!({
                "recipient_id": json_body["recipient"]["id"],
                "message_id": format!("m_{}", fake.last_message_id),
            }),
        )
    };
    fake.requests.push(Recorded {
        method: method.to_string(),
        path,
        headers,
        body: json_body,
        violations,
        status,
    });
    drop(fake);
    let mut response = axum::Json(answer).into_response();
    *response.status_mut() = StatusCode::from_u16(status).expect("a valid status");
    response
}

/// What Meta answers a well-formed send it will not deliver: the person is gone (551),
/// or the message is outside its window (10 / 2018278).
fn refusal(fake: &Fake, body: &Value) -> Option<Value> {
    let psid = body["recipient"]["id"].as_str().unwrap_or_default();
    if fake.unavailable.contains(psid) {
        return Some(json!({"error": {
            "message": "(#551) This person isn't available right now.",
            "type": "OAuthException", "code": 551, "error_subcode": 1_545_041, "fbtrace_id": "FAKE",
        }}));
    }
    let window = match (body["messaging_type"].as_str(), body["tag"].as_str()) {
        (Some("RESPONSE" | "UPDATE"), _) => chrono::Duration::hours(24),
        (Some("MESSAGE_TAG"), Some("HUMAN_AGENT")) => chrono::Duration::days(7),
        _ => return None,
    };
    let open = fake
        .last_wrote
        .get(psid)
        .is_some_and(|at| chrono::Utc::now() - *at < window);
    (!open).then(|| {
        json!({"error": {
            "message": "(#10) This message is sent outside of allowed window.",
            "type": "OAuthException", "code": 10, "error_subcode": 2_018_278, "fbtrace_id": "FAKE",
        }})
    })
}

/// The failure due now, if any; otherwise counts one more call towards the next one.
/// (A call refused for its token or body still counts: the fake cannot tell.)
fn next_failure(failures: &mut VecDeque<(usize, u16, Value)>) -> Option<(u16, Value)> {
    match failures.front_mut() {
        Some((0, _, _)) => failures.pop_front().map(|(_, status, body)| (status, body)),
        Some((n_left, _, _)) => {
            *n_left -= 1;
            None
        }
        None => None,
    }
}

fn n_chars(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

/// A non-empty string of at most `max` characters, else a violation.
fn check_string(value: &Value, what: &str, max: usize, out: &mut Vec<String>) {
    match value.as_str() {
        None => out.push(format!("{what} is missing or not a string")),
        Some("") => out.push(format!("{what} is empty")),
        Some(_) if n_chars(value) > max => out.push(format!(
            "{what} has {} characters, more than {max}",
            n_chars(value)
        )),
        Some(_) => {}
    }
}

/// What breaks Messenger's rules in a Send API body.
#[must_use]
pub fn violations(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if !body.is_object() {
        out.push("the body is not a JSON object".to_owned());
        return out;
    }
    if body["recipient"]["id"].as_str().is_none_or(str::is_empty) {
        out.push("recipient.id is missing".to_owned());
    }
    match body["messaging_type"].as_str() {
        Some("RESPONSE" | "UPDATE") => {
            if body.get("tag").is_some() {
                out.push("tag is only for messaging_type MESSAGE_TAG".to_owned());
            }
        }
        Some("MESSAGE_TAG") => match body["tag"].as_str() {
            Some(tag) if TAGS.contains(&tag) => {}
            Some(tag) => out.push(format!("tag {tag} is not a message tag")),
            None => out.push("messaging_type MESSAGE_TAG needs a tag".to_owned()),
        },
        Some(other) => out.push(format!("messaging_type {other} is unknown")),
        None => out.push("messaging_type is missing".to_owned()),
    }
    let message = &body["message"];
    match (message.is_object(), body.get("sender_action").is_some()) {
        (true, true) => out.push("sender_action cannot go with a message".to_owned()),
        (false, false) => out.push("message is missing".to_owned()),
        (false, true) => return out,
        (true, false) => {}
    }
    match (message.get("text"), message.get("attachment")) {
        (Some(_), Some(_)) => out.push("message has both text and attachment".to_owned()),
        (None, None) => out.push("message has neither text nor attachment".to_owned()),
        (Some(text), None) => check_string(text, "message.text", MAX_TEXT_CHARS, &mut out),
        (None, Some(attachment)) => check_attachment(attachment, &mut out),
    }
    if let Some(quick_replies) = message.get("quick_replies") {
        check_quick_replies(quick_replies, &mut out);
    }
    out
}

fn check_quick_replies(quick_replies: &Value, out: &mut Vec<String>) {
    let Some(items) = quick_replies.as_array() else {
        out.push("message.quick_replies is not an array".to_owned());
        return;
    };
    if items.is_empty() {
        out.push("message.quick_replies is empty".to_owned());
    }
    if items.len() > MAX_QUICK_REPLIES {
        out.push(format!(
            "message.quick_replies has {} items, more than {MAX_QUICK_REPLIES}",
            items.len()
        ));
    }
    for (i, item) in items.iter().enumerate() {
        let what = format!("message.quick_replies[{i}]");
        match item["content_type"].as_str() {
            Some("text") => {
                check_string(
                    &item["title"],
                    &format!("{what}.title"),
                    MAX_TITLE_CHARS,
                    out,
                );
                check_string(
                    &item["payload"],
                    &format!("{what}.payload"),
                    MAX_PAYLOAD_CHARS,
                    out,
                );
            }
            other => out.push(format!("{what}.content_type is {other:?}, not \"text\"")),
        }
    }
}

fn check_attachment(attachment: &Value, out: &mut Vec<String>) {
    let payload = &attachment["payload"];
    match attachment["type"].as_str() {
        Some("image" | "audio" | "video" | "file") => {
            if payload["url"].as_str().is_none() && payload["attachment_id"].as_str().is_none() {
                out.push(
                    "a media attachment needs payload.url or payload.attachment_id".to_owned(),
                );
            }
        }
        Some("template") => match payload["template_type"].as_str() {
            Some("button") => {
                check_string(
                    &payload["text"],
                    "button template text",
                    MAX_TEMPLATE_TEXT_CHARS,
                    out,
                );
                check_buttons(&payload["buttons"], "button template", out);
            }
            Some("generic") => {
                let elements = payload["elements"]
                    .as_array()
                    .map_or(&[][..], Vec::as_slice);
                if elements.is_empty() || elements.len() > 10 {
                    out.push("a generic template has 1 to 10 elements".to_owned());
                }
                for (i, element) in elements.iter().enumerate() {
                    check_string(&element["title"], &format!("elements[{i}].title"), 80, out);
                    if let Some(buttons) = element.get("buttons") {
                        check_buttons(buttons, &format!("elements[{i}]"), out);
                    }
                }
            }
            Some("media") => {
                if payload["elements"].as_array().is_none_or(|e| e.len() != 1) {
                    out.push("a media template has exactly one element".to_owned());
                }
            }
            other => out.push(format!("template_type {other:?} is not supported")),
        },
        other => out.push(format!("attachment type {other:?} is unknown")),
    }
}

fn check_buttons(buttons: &Value, what: &str, out: &mut Vec<String>) {
    let Some(buttons) = buttons.as_array() else {
        out.push(format!("{what} has no buttons"));
        return;
    };
    if buttons.is_empty() || buttons.len() > MAX_TEMPLATE_BUTTONS {
        out.push(format!(
            "{what} has {} buttons, not 1 to {MAX_TEMPLATE_BUTTONS}",
            buttons.len()
        ));
    }
    for (i, button) in buttons.iter().enumerate() {
        let at = format!("{what} buttons[{i}]");
        check_string(
            &button["title"],
            &format!("{at}.title"),
            MAX_TITLE_CHARS,
            out,
        );
        match button["type"].as_str() {
            Some("postback") => {
                check_string(
                    &button["payload"],
                    &format!("{at}.payload"),
                    MAX_PAYLOAD_CHARS,
                    out,
                );
            }
            Some("web_url") => {
                if button["url"].as_str().is_none() {
                    out.push(format!("{at} (web_url) has no url"));
                }
            }
            Some("phone_number") => {
                if button["payload"]
                    .as_str()
                    .is_none_or(|p| !p.starts_with('+'))
                {
                    out.push(format!("{at} (phone_number) needs a +number payload"));
                }
            }
            other => out.push(format!("{at}.type {other:?} is unknown")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::{json, Value};

    use super::{violations, FakeGraph, TOKEN};

    async fn send(fake: &FakeGraph, version: &str, token: &str, body: &Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/{version}/me/messages", fake.base_url))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// These people wrote just now: their window is open.
    fn wrote_now(fake: &FakeGraph, psids: &[&str]) {
        for psid in psids {
            fake.user_wrote(psid, chrono::Utc::now());
        }
    }

    fn text(psid: &str, text: &str) -> Value {
        json!({"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": text}})
    }

    #[tokio::test]
    async fn messenger_fake_answers_records_and_checks_the_token() {
        let fake = FakeGraph::start().await;
        wrote_now(&fake, &["P1", "P2"]);
        let (status, answer) = send(&fake, "v21.0", TOKEN, &text("P1", "สวัสดี")).await;
        assert_eq!(status, 200);
        assert_eq!(answer, json!({"recipient_id": "P1", "message_id": "m_1"}));
        let (status, answer) = send(&fake, "v99.9", TOKEN, &text("P2", "hi")).await;
        assert_eq!(
            (status, answer),
            (200, json!({"recipient_id": "P2", "message_id": "m_2"}))
        );

        let (status, answer) = send(&fake, "v21.0", "wrong", &text("P1", "x")).await;
        assert_eq!(status, 400);
        assert_eq!(
            answer,
            json!({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}})
        );
        let bare = reqwest::Client::new()
            .post(format!("{}/v21.0/me/messages", fake.base_url))
            .json(&text("P1", "x"))
            .send()
            .await
            .unwrap();
        assert_eq!(bare.status(), 400);

        // Another path is not the Send API.
        let other = reqwest::Client::new()
            .post(format!("{}/v21.0/12345/messages", fake.base_url))
            .bearer_auth(TOKEN)
            .json(&text("P1", "x"))
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 400);

        let recorded = fake.requests();
        assert_eq!(recorded.len(), 5);
        assert_eq!(recorded[0].method, "POST");
        assert_eq!(recorded[0].path, "/v21.0/me/messages");
        assert_eq!(
            recorded[0].headers["authorization"],
            format!("Bearer {TOKEN}").as_str()
        );
        assert_eq!(recorded[0].body, text("P1", "สวัสดี"));
        assert!(recorded[0].violations.is_empty());
        assert_eq!(
            recorded.iter().map(|r| r.status).collect::<Vec<_>>(),
            vec![200, 200, 400, 400, 400]
        );
        assert_eq!(fake.sends().len(), 4);
        assert_eq!(fake.delivered().len(), 2);
        assert_eq!(fake.sends_to("P2").len(), 1);
    }

    #[tokio::test]
    async fn messenger_fake_fail_next_then_success() {
        let fake = FakeGraph::start().await;
        wrote_now(&fake, &["P1", "P2"]);
        fake.rate_limit_next();
        fake.fail_next(
            500,
            json!({"error": {"code": 2, "message": "Service temporarily unavailable"}}),
        );
        let body = text("P1", "ลองใหม่");
        let (status, answer) = send(&fake, "v21.0", TOKEN, &body).await;
        assert_eq!(status, 400);
        assert_eq!(answer["error"]["code"], 613);
        // Failures come before the token check.
        let (status, answer) = send(&fake, "v21.0", "wrong", &body).await;
        assert_eq!((status, answer["error"]["code"].clone()), (500, json!(2)));
        let (status, answer) = send(&fake, "v21.0", TOKEN, &body).await;
        assert_eq!((status, answer["message_id"].clone()), (200, json!("m_1")));
        assert_eq!(fake.sends().len(), 3);
        assert!(fake.sends().iter().all(|r| r.body == body));

        // A failure after two more calls.
        fake.fail_after(2, 400, json!({"error": {"code": 613}}));
        let statuses = [
            send(&fake, "v21.0", TOKEN, &body).await.0,
            send(&fake, "v21.0", TOKEN, &body).await.0,
            send(&fake, "v21.0", TOKEN, &body).await.0,
            send(&fake, "v21.0", TOKEN, &body).await.0,
        ];
        assert_eq!(statuses, [200, 200, 400, 200]);
        assert_eq!(fake.delivered().len(), 4);
    }

    #[tokio::test]
    async fn messenger_fake_serves_photos() {
        let fake = FakeGraph::start().await;
        wrote_now(&fake, &["P1", "P2"]);
        let jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3];
        fake.set_photo("/cdn/p1.jpg", "image/jpeg", jpeg.clone());
        let photo = reqwest::get(fake.photo_url("/cdn/p1.jpg")).await.unwrap();
        assert_eq!(photo.status(), 200);
        assert_eq!(photo.headers()["content-type"], "image/jpeg");
        assert_eq!(photo.bytes().await.unwrap().to_vec(), jpeg);
        let missing = reqwest::get(fake.photo_url("/cdn/p2.jpg")).await.unwrap();
        assert_eq!(missing.status(), 404);
        assert_eq!(fake.photo_requests("/cdn/p1.jpg").len(), 1);
        assert!(fake.sends().is_empty());
    }

    #[tokio::test]
    async fn messenger_fake_refuses_what_messenger_refuses() {
        let fake = FakeGraph::start().await;
        wrote_now(&fake, &["P1", "P2"]);
        let long = text("P1", &"ก".repeat(2_001));
        let (status, answer) = send(&fake, "v21.0", TOKEN, &long).await;
        assert_eq!(status, 400);
        assert_eq!(answer["error"]["code"], 100);
        let recorded = fake.sends().pop().unwrap();
        assert_eq!(
            recorded.violations,
            vec!["message.text has 2001 characters, more than 2000"]
        );
        let (status, _) = send(&fake, "v21.0", TOKEN, &text("P1", &"ก".repeat(2_000))).await;
        assert_eq!(status, 200);
    }

    #[test]
    fn messenger_fake_rules() {
        let base = |message: Value| json!({"recipient": {"id": "P1"}, "messaging_type": "RESPONSE", "message": message});
        let quick = |n: usize, title: &str, payload: &str| -> Value {
            (0..n)
                .map(|_| json!({"content_type": "text", "title": title, "payload": payload}))
                .collect()
        };
        let button = |title: &str| json!({"type": "postback", "title": title, "payload": "p"});
        let template = |text: &str, buttons: Vec<Value>| {
            base(json!({"attachment": {"type": "template", "payload": {
                "template_type": "button", "text": text, "buttons": buttons}}}))
        };
        let ok = [
            base(
                json!({"text": "x", "quick_replies": quick(13, &"ก".repeat(20), &"p".repeat(1000))}),
            ),
            template(
                &"x".repeat(640),
                vec![button("a"), button("b"), button("c")],
            ),
            json!({"recipient": {"id": "P1"}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT", "message": {"text": "x"}}),
            json!({"recipient": {"id": "P1"}, "messaging_type": "UPDATE", "message": {"text": "x"}}),
        ];
        for body in &ok {
            assert_eq!(violations(body), Vec::<String>::new(), "{body}");
        }
        let bad = [
            (
                json!({"messaging_type": "RESPONSE", "message": {"text": "x"}}),
                "recipient.id is missing",
            ),
            (
                json!({"recipient": {"id": "P1"}, "message": {"text": "x"}}),
                "messaging_type is missing",
            ),
            (
                json!({"recipient": {"id": "P1"}, "messaging_type": "PUSH", "message": {"text": "x"}}),
                "messaging_type PUSH is unknown",
            ),
            (
                json!({"recipient": {"id": "P1"}, "messaging_type": "MESSAGE_TAG", "message": {"text": "x"}}),
                "messaging_type MESSAGE_TAG needs a tag",
            ),
            (
                json!({"recipient": {"id": "P1"}, "messaging_type": "RESPONSE", "tag": "HUMAN_AGENT", "message": {"text": "x"}}),
                "tag is only for messaging_type MESSAGE_TAG",
            ),
            (base(json!({"text": ""})), "message.text is empty"),
            (base(json!({})), "message has neither text nor attachment"),
            (
                base(
                    json!({"text": "x", "attachment": {"type": "image", "payload": {"url": "u"}}}),
                ),
                "message has both text and attachment",
            ),
            (
                base(json!({"text": "x", "quick_replies": quick(14, "t", "p")})),
                "message.quick_replies has 14 items, more than 13",
            ),
            (
                base(json!({"text": "x", "quick_replies": quick(1, &"t".repeat(21), "p")})),
                "message.quick_replies[0].title has 21 characters, more than 20",
            ),
            (
                base(json!({"text": "x", "quick_replies": quick(1, "t", "")})),
                "message.quick_replies[0].payload is empty",
            ),
            (
                base(json!({"text": "x", "quick_replies": quick(1, "t", &"p".repeat(1001))})),
                "message.quick_replies[0].payload has 1001 characters, more than 1000",
            ),
            (
                base(json!({"text": "x", "quick_replies": [{"content_type": "location"}]})),
                "message.quick_replies[0].content_type is Some(\"location\"), not \"text\"",
            ),
            (
                template(&"x".repeat(641), vec![button("a")]),
                "button template text has 641 characters, more than 640",
            ),
            (
                template("x", vec![]),
                "button template has 0 buttons, not 1 to 3",
            ),
            (
                template("x", vec![button("a"); 4]),
                "button template has 4 buttons, not 1 to 3",
            ),
            (
                template("x", vec![button(&"b".repeat(21))]),
                "button template buttons[0].title has 21 characters, more than 20",
            ),
        ];
        for (body, expected) in &bad {
            assert_eq!(violations(body), vec![expected.to_owned()], "{body}");
        }
    }

    /// Meta's own Send API samples (with the `messaging_type` they now require) pass.
    #[test]
    fn messenger_fake_accepts_metas_samples() {
        let root = std::env::var_os("TAMBON_FIXTURES").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
            std::path::PathBuf::from,
        );
        let collection: Value = serde_json::from_slice(
            &std::fs::read(
                root.join("messenger/meta-postman/messenger-platform-api.postman_collection.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let mut bodies = Vec::new();
        fn walk(value: &Value, out: &mut Vec<(String, Value)>) {
            if let Some(items) = value["item"].as_array() {
                items.iter().for_each(|item| walk(item, out));
            }
            let url = value["request"]["url"]["raw"].as_str().unwrap_or_default();
            if url.ends_with("/messages") {
                if let Some(raw) = value["request"]["body"]["raw"].as_str() {
                    out.push((
                        value["name"].as_str().unwrap_or_default().to_owned(),
                        serde_json::from_str(raw).unwrap(),
                    ));
                }
            }
        }
        walk(&collection, &mut bodies);
        assert!(bodies.len() >= 5, "{bodies:?}");
        for (name, mut body) in bodies {
            body["messaging_type"] = json!("RESPONSE");
            assert_eq!(violations(&body), Vec::<String>::new(), "{name}: {body}");
        }
    }

    #[tokio::test]
    async fn messenger_fake_keeps_metas_window_and_refuses_people_who_left() {
        let fake = FakeGraph::start().await;
        let outside = |answer: &Value| {
            answer["error"]["code"] == 10 && answer["error"]["error_subcode"] == 2_018_278
        };
        // Someone who never wrote: refused.
        let (status, answer) = send(&fake, "v21.0", TOKEN, &text("P9", "x")).await;
        assert_eq!(status, 400);
        assert!(outside(&answer), "{answer}");
        // Wrote 25 hours ago: a RESPONSE is refused, a staff answer tagged HUMAN_AGENT
        // goes (7 days).
        let now = chrono::Utc::now();
        fake.user_wrote("P9", now - chrono::Duration::hours(25));
        let (status, answer) = send(&fake, "v21.0", TOKEN, &text("P9", "x")).await;
        assert!(status == 400 && outside(&answer), "{answer}");
        let tagged = json!({"recipient": {"id": "P9"}, "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT", "message": {"text": "เจ้าหน้าที่ตอบ"}});
        assert_eq!(send(&fake, "v21.0", TOKEN, &tagged).await.0, 200);
        // An earlier message does not move the window back.
        fake.user_wrote("P9", now - chrono::Duration::days(30));
        assert_eq!(send(&fake, "v21.0", TOKEN, &tagged).await.0, 200);
        // Eight days on, not even the tag.
        let fake = FakeGraph::start().await;
        fake.user_wrote("P9", now - chrono::Duration::days(8));
        let (status, answer) = send(&fake, "v21.0", TOKEN, &tagged).await;
        assert!(status == 400 && outside(&answer), "{answer}");

        // A webhook body opens the window of whoever wrote in it, at its time.
        let body = json!({"object": "page", "entry": [{"id": "PAGE", "time": 0, "messaging": [
            {"sender": {"id": "P8"}, "recipient": {"id": "PAGE"},
             "timestamp": now.timestamp_millis(), "message": {"mid": "m.1", "text": "สวัสดี"}},
        ]}]});
        fake.received(&serde_json::to_vec(&body).unwrap());
        assert_eq!(send(&fake, "v21.0", TOKEN, &text("P8", "ค่ะ")).await.0, 200);
        // Someone who blocked the page: 551.
        fake.make_unavailable("P8");
        let (status, answer) = send(&fake, "v21.0", TOKEN, &text("P8", "ค่ะ")).await;
        assert_eq!((status, answer["error"]["code"].clone()), (400, json!(551)));
    }
}
