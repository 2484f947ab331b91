//! A local fake of the LINE Messaging API (`api.line.me`) and its data host
//! (`api-data.line.me`), both served from one `base_url`. It records every request, checks
//! the channel access token, validates request bodies against LINE's OpenAPI document (a
//! body LINE would refuse gets LINE's 400), keeps reply tokens single-use, honours
//! `X-Line-Retry-Key`, and can be told to fail the next request to a path.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use crate::openapi::Spec;

/// The only channel access token the fake accepts (`Authorization: Bearer test-line-token`).
pub const TOKEN: &str = "test-line-token";

const AUTH_FAILED: &str =
    "Authentication failed. Confirm that the access token in the authorization header is valid.";

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    /// The JSON body; `Null` if the body was empty, not JSON, or an image.
    pub body: Value,
    /// What LINE did with it: the status of the fake's own answer, even when the client
    /// was then told something else (see `lose_next_answer`).
    pub status: u16,
}

struct RichMenu {
    image: Option<(String, Vec<u8>)>,
}

#[derive(Default)]
struct Fake {
    requests: Vec<Recorded>,
    failures: HashMap<String, VecDeque<(u16, Option<u64>)>>,
    lost_answers: HashMap<String, usize>,
    used_reply_tokens: HashSet<String>,
    expired_reply_tokens: HashSet<String>,
    /// Retry key → (request id, response body) of the request that was accepted with it.
    accepted_retry_keys: HashMap<String, (String, Value)>,
    profiles: HashMap<String, String>,
    contents: HashMap<String, (String, Vec<u8>)>,
    rich_menus: HashMap<String, RichMenu>,
    default_rich_menu: Option<String>,
    last_request_id: u64,
    last_rich_menu: u64,
}

type Shared = Arc<Mutex<Fake>>;

/// The running fake; the server stops when this is dropped.
pub struct FakeLine {
    /// `http://127.0.0.1:PORT`, standing for both `https://api.line.me` and
    /// `https://api-data.line.me`.
    pub base_url: String,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeLine {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeLine {
    pub async fn start() -> FakeLine {
        let state = Shared::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake LINE API binds a port");
        let port = listener.local_addr().unwrap().port();
        let app = Router::new()
            .fallback(handle)
            .with_state(state.clone())
            .layer(DefaultBodyLimit::max(16 * 1024 * 1024));
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the fake LINE API serves");
        });
        FakeLine {
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

    /// Every request received, in order, including refused ones.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// The requests to exactly `path` (no query string), in order.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        let fake = self.lock();
        fake.requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// The next request to `path` gets `status` (with `Retry-After: retry_after` if given)
    /// and `{"message":"fake failure"}`, before any other check. Several queue up in order.
    pub fn fail_next(&self, path: &str, status: u16, retry_after: Option<u64>) {
        StatusCode::from_u16(status).expect("fail_next needs a valid HTTP status");
        self.lock()
            .failures
            .entry(path.to_owned())
            .or_default()
            .push_back((status, retry_after));
    }

    /// The next request to `path` is carried out, but its client is answered 502, as
    /// when a proxy loses the answer: the client cannot tell whether it took effect.
    pub fn lose_next_answer(&self, path: &str) {
        *self.lock().lost_answers.entry(path.to_owned()).or_default() += 1;
    }

    /// The requests to `path` that LINE carried out (2xx), in order.
    pub fn accepted(&self, path: &str) -> Vec<Recorded> {
        self.requests_to(path)
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }

    /// Makes `token` refused by the reply endpoint, as LINE does once a token is too old.
    pub fn expire_reply_token(&self, token: &str) {
        self.lock().expired_reply_tokens.insert(token.to_owned());
    }

    /// `GET /v2/bot/profile/{user_id}` answers with this user's profile.
    pub fn set_profile(&self, user_id: &str, language: &str) {
        self.lock()
            .profiles
            .insert(user_id.to_owned(), language.to_owned());
    }

    /// `GET /v2/bot/message/{message_id}/content` answers with these bytes.
    pub fn set_content(&self, message_id: &str, content_type: &str, bytes: Vec<u8>) {
        self.lock()
            .contents
            .insert(message_id.to_owned(), (content_type.to_owned(), bytes));
    }

    /// The content type and bytes uploaded as the image of rich menu `id`.
    pub fn rich_menu_image(&self, id: &str) -> Option<(String, Vec<u8>)> {
        self.lock().rich_menus.get(id)?.image.clone()
    }

    /// The rich menu last set as default for all users.
    pub fn default_rich_menu(&self) -> Option<String> {
        self.lock().default_rich_menu.clone()
    }
}

/// What the fake answers, before it becomes an HTTP response.
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Body,
}

enum Body {
    Json(Value),
    Raw(String, Vec<u8>),
}

impl Answer {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Json(body),
        }
    }

    fn message(status: u16, message: &str) -> Self {
        Self::json(status, json!({ "message": message }))
    }

    fn not_found() -> Self {
        Self::message(404, "Not found")
    }

    fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
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
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let json_body = if content_type.starts_with("image/") {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    fake.requests.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        headers: headers.clone(),
        body: json_body.clone(),
        status: 0,
    });
    fake.last_request_id += 1;
    let request_id = format!("00000000-0000-4000-8000-{:012x}", fake.last_request_id);

    let answer = answer(
        &mut fake,
        &method,
        &path,
        &headers,
        &content_type,
        &json_body,
        &body,
        &request_id,
    );
    if let Some(recorded) = fake.requests.last_mut() {
        recorded.status = answer.status;
    }
    let answer = match fake.lost_answers.get_mut(&path) {
        Some(n) if *n > 0 => {
            *n -= 1;
            Answer::message(502, "fake: the answer was lost on its way back")
        }
        _ => answer,
    };
    drop(fake);

    let mut response = match answer.body {
        Body::Json(value) => axum::Json(value).into_response(),
        Body::Raw(content_type, bytes) => {
            ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
    };
    *response.status_mut() = StatusCode::from_u16(answer.status).expect("a valid status");
    let response_headers = response.headers_mut();
    response_headers.insert(
        "x-line-request-id",
        HeaderValue::from_str(&request_id).unwrap(),
    );
    for (name, value) in answer.headers {
        response_headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).expect("a valid header value"),
        );
    }
    response
}

#[allow(clippy::too_many_arguments)]
fn answer(
    fake: &mut Fake,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    content_type: &str,
    body: &Value,
    raw: &[u8],
    request_id: &str,
) -> Answer {
    if let Some((status, retry_after)) = fake.failures.get_mut(path).and_then(VecDeque::pop_front) {
        let failure = Answer::message(status, "fake failure");
        return match retry_after {
            Some(seconds) => failure.with_header("retry-after", seconds.to_string()),
            None => failure,
        };
    }

    let authorised = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(TOKEN);
    if !authorised {
        return Answer::message(401, AUTH_FAILED);
    }

    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["v2", "bot", "message", "reply"]) => reply(fake, body),
        ("POST", ["v2", "bot", "message", "push"]) => {
            send(fake, headers, body, request_id, "PushMessageRequest")
        }
        ("POST", ["v2", "bot", "message", "multicast"]) => {
            send(fake, headers, body, request_id, "MulticastRequest")
        }
        ("POST", ["v2", "bot", "chat", "loading", "start"]) => loading(body),
        ("GET", ["v2", "bot", "profile", user_id]) => match fake.profiles.get(*user_id) {
            Some(language) => Answer::json(
                200,
                json!({"userId": user_id, "displayName": "ทดสอบ", "language": language}),
            ),
            None => Answer::not_found(),
        },
        ("GET", ["v2", "bot", "message", message_id, "content"]) => {
            match fake.contents.get(*message_id) {
                Some((content_type, bytes)) => Answer {
                    status: 200,
                    headers: Vec::new(),
                    body: Body::Raw(content_type.clone(), bytes.clone()),
                },
                None => Answer::not_found(),
            }
        }
        ("GET", ["v2", "bot", "info"]) => Answer::json(
            200,
            json!({"userId": "Ubot", "basicId": "@tambon", "displayName": "tambon"}),
        ),
        ("GET", ["v2", "bot", "channel", "webhook", "endpoint"]) => Answer::json(
            200,
            json!({"endpoint": "https://example.invalid/webhook/line", "active": true}),
        ),
        ("POST", ["v2", "bot", "channel", "webhook", "test"]) => {
            if !body.is_null() {
                if let Err(errors) =
                    Spec::messaging_api().validate("TestWebhookEndpointRequest", body)
                {
                    return bad_request(&errors);
                }
            }
            let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            Answer::json(
                200,
                json!({"success": true, "timestamp": timestamp, "statusCode": 200,
                    "reason": "OK", "detail": "200"}),
            )
        }
        ("POST", ["v2", "bot", "richmenu"]) => create_rich_menu(fake, body),
        ("POST", ["v2", "bot", "richmenu", id, "content"]) => {
            upload_rich_menu_image(fake, id, content_type, raw)
        }
        ("POST", ["v2", "bot", "user", "all", "richmenu", id]) => match fake.rich_menus.get(*id) {
            None => Answer::not_found(),
            Some(menu) if menu.image.is_none() => {
                Answer::message(400, "must upload richmenu image before applying it to user")
            }
            Some(_) => {
                fake.default_rich_menu = Some((*id).to_owned());
                Answer::json(200, json!({}))
            }
        },
        _ => Answer::not_found(),
    }
}

/// LINE's answer to a body that breaks the schema.
fn bad_request(errors: &[String]) -> Answer {
    let details: Vec<Value> = errors
        .iter()
        .map(|e| match e.split_once(": ") {
            Some((property, message)) => json!({"message": message, "property": property}),
            None => json!({ "message": e }),
        })
        .collect();
    Answer::json(
        400,
        json!({
            "message": format!("The request body has {} error(s)", errors.len()),
            "details": details,
        }),
    )
}

fn sent_messages(body: &Value) -> Value {
    let count = body["messages"].as_array().map_or(0, Vec::len);
    (1..=count)
        .map(|i| json!({"id": i.to_string(), "quoteToken": "q"}))
        .collect()
}

fn reply(fake: &mut Fake, body: &Value) -> Answer {
    if let Err(errors) = Spec::messaging_api().validate("ReplyMessageRequest", body) {
        return bad_request(&errors);
    }
    let token = body["replyToken"].as_str().unwrap_or_default().to_owned();
    if fake.expired_reply_tokens.contains(&token) || !fake.used_reply_tokens.insert(token) {
        return Answer::message(400, "Invalid reply token");
    }
    Answer::json(200, json!({ "sentMessages": sent_messages(body) }))
}

/// A UUID in its canonical text form, which LINE requires of `X-Line-Retry-Key`.
fn is_uuid(key: &str) -> bool {
    key.len() == 36
        && key.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Push and multicast: `X-Line-Retry-Key` first, then the body.
fn send(
    fake: &mut Fake,
    headers: &HeaderMap,
    body: &Value,
    request_id: &str,
    schema: &str,
) -> Answer {
    let retry_key = match headers.get("x-line-retry-key").map(HeaderValue::to_str) {
        None => None,
        Some(Ok(key)) if is_uuid(key) => Some(key.to_ascii_lowercase()),
        Some(_) => {
            return Answer::message(
                400,
                "The value for the 'X-Line-Retry-Key' header is invalid",
            )
        }
    };
    if let Some((accepted_id, accepted_body)) = retry_key
        .as_ref()
        .and_then(|k| fake.accepted_retry_keys.get(k))
    {
        let mut conflict = json!({"message": "The retry key is already accepted"});
        if let Some(sent) = accepted_body.get("sentMessages") {
            conflict["sentMessages"] = sent.clone();
        }
        return Answer::json(409, conflict)
            .with_header("x-line-accepted-request-id", accepted_id.clone());
    }
    if let Err(errors) = Spec::messaging_api().validate(schema, body) {
        return bad_request(&errors);
    }
    let response = if schema == "PushMessageRequest" {
        json!({ "sentMessages": sent_messages(body) })
    } else {
        json!({})
    };
    if let Some(key) = retry_key {
        fake.accepted_retry_keys
            .insert(key, (request_id.to_owned(), response.clone()));
    }
    Answer::json(200, response)
}

fn loading(body: &Value) -> Answer {
    if let Err(errors) = Spec::messaging_api().validate("ShowLoadingAnimationRequest", body) {
        return bad_request(&errors);
    }
    // The document says so only in prose.
    if body["loadingSeconds"].as_u64().is_some_and(|s| s % 5 != 0) {
        return bad_request(&["loadingSeconds: must be a multiple of 5".to_owned()]);
    }
    Answer::json(202, json!({}))
}

fn create_rich_menu(fake: &mut Fake, body: &Value) -> Answer {
    if let Err(errors) = Spec::messaging_api().validate("RichMenuRequest", body) {
        return bad_request(&errors);
    }
    // LINE's reference requires these; the OpenAPI document lists none as required.
    let missing: Vec<String> = ["size", "selected", "name", "chatBarText", "areas"]
        .iter()
        .filter(|name| body.get(**name).is_none())
        .map(|name| format!("{name}: must be specified"))
        .collect();
    if !missing.is_empty() {
        return bad_request(&missing);
    }
    fake.last_rich_menu += 1;
    let id = format!("richmenu-{}", fake.last_rich_menu);
    fake.rich_menus.insert(id.clone(), RichMenu { image: None });
    Answer::json(200, json!({ "richMenuId": id }))
}

fn upload_rich_menu_image(fake: &mut Fake, id: &str, content_type: &str, raw: &[u8]) -> Answer {
    let Some(menu) = fake.rich_menus.get_mut(id) else {
        return Answer::not_found();
    };
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media_type != "image/png" && media_type != "image/jpeg" {
        return Answer::message(415, "Unsupported Media Type");
    }
    if raw.is_empty() {
        return Answer::message(400, "The request body is empty");
    }
    if menu.image.is_some() {
        return Answer::message(400, "An image has already been uploaded to the richmenu");
    }
    menu.image = Some((media_type, raw.to_vec()));
    Answer::json(200, json!({}))
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use serde_json::{json, Value};

    use super::{FakeLine, TOKEN};

    const KEY: &str = "123e4567-e89b-12d3-a456-426614174000";

    fn text(s: &str) -> Value {
        json!({"type": "text", "text": s})
    }

    async fn post(
        fake: &FakeLine,
        path: &str,
        body: &Value,
        retry_key: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", fake.base_url))
            .bearer_auth(TOKEN)
            .json(body);
        if let Some(key) = retry_key {
            request = request.header("X-Line-Retry-Key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (
            status,
            headers,
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn get(fake: &FakeLine, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}{path}", fake.base_url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn line_fake_requires_the_channel_token() {
        let fake = FakeLine::start().await;
        let client = reqwest::Client::new();
        let url = format!("{}/v2/bot/info", fake.base_url);
        let none = client.get(&url).send().await.unwrap();
        assert_eq!(none.status(), 401);
        let body: Value = none.json().await.unwrap();
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Authentication failed"),
            "{body}"
        );
        let wrong = client.get(&url).bearer_auth("other").send().await.unwrap();
        assert_eq!(wrong.status(), 401);
        let right = get(&fake, "/v2/bot/info").await;
        assert_eq!(right.status(), 200);
        assert!(right.headers().contains_key("x-line-request-id"));
        let info: Value = right.json().await.unwrap();
        assert_eq!(
            info,
            json!({"userId": "Ubot", "basicId": "@tambon", "displayName": "tambon"})
        );

        let recorded = fake.requests();
        assert_eq!(recorded.len(), 3, "refused requests are recorded too");
        assert!(recorded
            .iter()
            .all(|r| r.method == "GET" && r.path == "/v2/bot/info"));
        assert!(recorded[0].headers.get("authorization").is_none());
        assert_eq!(
            recorded[2].headers["authorization"],
            format!("Bearer {TOKEN}").as_str()
        );
    }

    #[tokio::test]
    async fn line_fake_reply_token_is_single_use() {
        let fake = FakeLine::start().await;
        let body = json!({"replyToken": "r1", "messages": [text("สวัสดี")]});
        let (status, _, answer) = post(&fake, "/v2/bot/message/reply", &body, None).await;
        assert_eq!(status, 200);
        assert_eq!(
            answer,
            json!({"sentMessages": [{"id": "1", "quoteToken": "q"}]})
        );

        let (status, _, answer) = post(&fake, "/v2/bot/message/reply", &body, None).await;
        assert_eq!(status, 400);
        assert_eq!(answer, json!({"message": "Invalid reply token"}));

        fake.expire_reply_token("r2");
        let old = json!({"replyToken": "r2", "messages": [text("ช้าไป")]});
        let (status, _, answer) = post(&fake, "/v2/bot/message/reply", &old, None).await;
        assert_eq!(status, 400);
        assert_eq!(answer["message"], "Invalid reply token");

        let recorded = fake.requests_to("/v2/bot/message/reply");
        assert_eq!(recorded.len(), 3);
        assert_eq!(recorded[0].method, "POST");
        assert_eq!(recorded[0].body, body);
        assert_eq!(recorded[2].body["messages"][0]["text"], "ช้าไป");
    }

    #[tokio::test]
    async fn line_fake_refuses_bodies_the_spec_forbids() {
        let fake = FakeLine::start().await;
        let six = json!({"replyToken": "r", "messages": vec![text("x"); 6]});
        let (status, _, answer) = post(&fake, "/v2/bot/message/reply", &six, None).await;
        assert_eq!(status, 400);
        assert_eq!(answer["message"], "The request body has 1 error(s)");
        assert_eq!(
            answer["details"],
            json!([{"message": "more than 5 items", "property": "messages[5]"}])
        );
        // A refused body does not use up the token.
        let one = json!({"replyToken": "r", "messages": [text("x")]});
        let (status, _, _) = post(&fake, "/v2/bot/message/reply", &one, None).await;
        assert_eq!(status, 200);

        let loading = |seconds: u64| json!({"chatId": "U1", "loadingSeconds": seconds});
        let (status, _, answer) =
            post(&fake, "/v2/bot/chat/loading/start", &loading(20), None).await;
        assert_eq!((status, answer), (StatusCode::ACCEPTED, json!({})));
        let (status, _, _) = post(&fake, "/v2/bot/chat/loading/start", &loading(7), None).await;
        assert_eq!(status, 400);
        let (status, _, _) = post(&fake, "/v2/bot/chat/loading/start", &loading(65), None).await;
        assert_eq!(status, 400);
    }

    #[tokio::test]
    async fn line_fake_retry_key_is_accepted_once() {
        let fake = FakeLine::start().await;
        let body = json!({"to": "U1", "messages": [text("แจ้งผล"), text("ขอบคุณ")]});
        let (status, headers, first) = post(&fake, "/v2/bot/message/push", &body, Some(KEY)).await;
        assert_eq!(status, 200);
        assert_eq!(
            first,
            json!({"sentMessages": [{"id": "1", "quoteToken": "q"}, {"id": "2", "quoteToken": "q"}]})
        );
        let accepted_id = headers["x-line-request-id"].clone();

        let (status, headers, again) = post(&fake, "/v2/bot/message/push", &body, Some(KEY)).await;
        assert_eq!(status, 409);
        assert_eq!(again["message"], "The retry key is already accepted");
        assert_eq!(again["sentMessages"], first["sentMessages"]);
        assert_eq!(headers["x-line-accepted-request-id"], accepted_id);

        // Without a key, or with another one, a push goes through again.
        let (status, _, _) = post(&fake, "/v2/bot/message/push", &body, None).await;
        assert_eq!(status, 200);
        let other = "123e4567-e89b-12d3-a456-426614174001";
        let (status, _, _) = post(&fake, "/v2/bot/message/push", &body, Some(other)).await;
        assert_eq!(status, 200);
        // LINE wants a UUID.
        let (status, _, answer) = post(&fake, "/v2/bot/message/push", &body, Some("k1")).await;
        assert_eq!(status, 400, "{answer}");

        let multicast = json!({"to": ["U1", "U2"], "messages": [text("ประกาศ")]});
        let (status, _, answer) =
            post(&fake, "/v2/bot/message/multicast", &multicast, Some(KEY)).await;
        assert_eq!(status, 409, "{answer}");
        let fresh = "123e4567-e89b-12d3-a456-426614174002";
        let (status, _, answer) =
            post(&fake, "/v2/bot/message/multicast", &multicast, Some(fresh)).await;
        assert_eq!((status, answer), (StatusCode::OK, json!({})));
        assert_eq!(fake.requests_to("/v2/bot/message/push").len(), 5);
        assert_eq!(
            fake.requests_to("/v2/bot/message/push")[0].headers["x-line-retry-key"],
            KEY
        );
    }

    #[tokio::test]
    async fn line_fake_fail_next_then_success() {
        let fake = FakeLine::start().await;
        fake.fail_next("/v2/bot/message/push", 429, Some(3));
        fake.fail_next("/v2/bot/message/push", 500, None);
        let body = json!({"to": "U1", "messages": [text("ลองใหม่")]});

        let (status, headers, answer) = post(&fake, "/v2/bot/message/push", &body, Some(KEY)).await;
        assert_eq!(status, 429);
        assert_eq!(headers["retry-after"], "3");
        assert_eq!(answer, json!({"message": "fake failure"}));

        let (status, headers, _) = post(&fake, "/v2/bot/message/push", &body, Some(KEY)).await;
        assert_eq!(status, 500);
        assert!(!headers.contains_key("retry-after"));

        // The failed attempts did not make the key accepted.
        let (status, _, _) = post(&fake, "/v2/bot/message/push", &body, Some(KEY)).await;
        assert_eq!(status, 200);
        let (status, _, _) = post(&fake, "/v2/bot/message/push", &body, Some(KEY)).await;
        assert_eq!(status, 409);

        // Failures are per path, and come before the token check.
        fake.fail_next("/v2/bot/info", 503, None);
        let bare = reqwest::get(format!("{}/v2/bot/info", fake.base_url))
            .await
            .unwrap();
        assert_eq!(bare.status(), 503);
        assert_eq!(get(&fake, "/v2/bot/info").await.status(), 200);

        let pushes = fake.requests_to("/v2/bot/message/push");
        assert_eq!(pushes.len(), 4);
        assert!(pushes.iter().all(|r| r.body == body));
    }

    #[tokio::test]
    async fn line_fake_serves_content_and_profiles() {
        let fake = FakeLine::start().await;
        fake.set_profile("U1", "th");
        let profile = get(&fake, "/v2/bot/profile/U1").await;
        assert_eq!(profile.status(), 200);
        assert_eq!(
            profile.json::<Value>().await.unwrap(),
            json!({"userId": "U1", "displayName": "ทดสอบ", "language": "th"})
        );
        assert_eq!(get(&fake, "/v2/bot/profile/U2").await.status(), 404);

        let jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0, 1, 2, 3];
        fake.set_content("m1", "image/jpeg", jpeg.clone());
        let content = get(&fake, "/v2/bot/message/m1/content").await;
        assert_eq!(content.status(), 200);
        assert_eq!(content.headers()["content-type"], "image/jpeg");
        assert_eq!(content.bytes().await.unwrap().to_vec(), jpeg);
        assert_eq!(get(&fake, "/v2/bot/message/m2/content").await.status(), 404);
        assert_eq!(get(&fake, "/v2/bot/nothing/here").await.status(), 404);
    }

    #[tokio::test]
    async fn line_fake_webhook_and_rich_menu_endpoints() {
        let fake = FakeLine::start().await;
        let endpoint: Value = get(&fake, "/v2/bot/channel/webhook/endpoint")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            endpoint,
            json!({"endpoint": "https://example.invalid/webhook/line", "active": true})
        );
        let test_body = json!({"endpoint": "https://example.invalid/webhook/line"});
        let (status, _, tested) =
            post(&fake, "/v2/bot/channel/webhook/test", &test_body, None).await;
        assert_eq!(status, 200);
        assert_eq!(tested["success"], true);
        assert_eq!(tested["statusCode"], 200);
        assert!(
            chrono::DateTime::parse_from_rfc3339(tested["timestamp"].as_str().unwrap()).is_ok()
        );

        let menu = json!({
            "size": {"width": 2500, "height": 843},
            "selected": true,
            "name": "tambon",
            "chatBarText": "เมนู",
            "areas": [{"bounds": {"x": 0, "y": 0, "width": 1250, "height": 843},
                       "action": {"type": "message", "label": "ถาม", "text": "ถาม"}}]
        });
        let (status, _, created) = post(&fake, "/v2/bot/richmenu", &menu, None).await;
        assert_eq!(
            (status, created.clone()),
            (StatusCode::OK, json!({"richMenuId": "richmenu-1"}))
        );
        let (status, _, _) = post(&fake, "/v2/bot/richmenu", &json!({"name": "x"}), None).await;
        assert_eq!(status, 400);

        let client = reqwest::Client::new();
        let set_default = || {
            client
                .post(format!(
                    "{}/v2/bot/user/all/richmenu/richmenu-1",
                    fake.base_url
                ))
                .bearer_auth(TOKEN)
                .send()
        };
        assert_eq!(set_default().await.unwrap().status(), 400, "no image yet");

        let upload = |content_type: &'static str| {
            client
                .post(format!(
                    "{}/v2/bot/richmenu/richmenu-1/content",
                    fake.base_url
                ))
                .bearer_auth(TOKEN)
                .header("content-type", content_type)
                .body(vec![0x89, b'P', b'N', b'G'])
                .send()
        };
        assert_eq!(upload("text/plain").await.unwrap().status(), 415);
        assert_eq!(upload("image/png").await.unwrap().status(), 200);
        assert_eq!(
            upload("image/png").await.unwrap().status(),
            400,
            "only once"
        );
        assert_eq!(
            fake.rich_menu_image("richmenu-1"),
            Some(("image/png".to_owned(), vec![0x89, b'P', b'N', b'G']))
        );
        let uploads = fake.requests_to("/v2/bot/richmenu/richmenu-1/content");
        assert_eq!(uploads.len(), 3);
        assert!(uploads.iter().all(|r| r.body.is_null()));

        let set = set_default().await.unwrap();
        assert_eq!(set.status(), 200);
        assert_eq!(set.json::<Value>().await.unwrap(), json!({}));
        assert_eq!(fake.default_rich_menu().as_deref(), Some("richmenu-1"));
    }
}
