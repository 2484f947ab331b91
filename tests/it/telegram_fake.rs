//! A local fake of the Telegram Bot API as teloxide calls it: `POST /bot{token}/{method}`
//! (JSON or multipart bodies) and file downloads at `GET /file/bot{token}/{file_path}`.
//!
//! It records every call in order (method, body, time, status, answer), refuses a wrong
//! token with Telegram's 401, checks each `sendMessage` against Telegram's limits (text
//! of 1–4,096 UTF-16 units, inline buttons with 1–64 bytes of `callback_data`), keeping
//! what it found wrong in `Recorded::violations` and refusing such a message with a 400,
//! serves queued updates to `getUpdates` with Telegram's offset rules, serves registered
//! files to `getFile` and the download URL, and can be told to fail the next calls to a
//! method (flood control, a group that became a supergroup).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

/// The only bot token the fake accepts.
pub const TOKEN: &str = crate::helpers::TELEGRAM_TOKEN;

/// The method name recorded for a file download (`GET /file/bot{token}/{file_path}`);
/// its body is `{"file_path": …}`.
pub const DOWNLOAD: &str = "download";

/// Telegram's limits.
pub const MAX_TEXT_UTF16: usize = 4_096;
pub const MAX_CALLBACK_DATA_BYTES: usize = 64;

/// The longest a `getUpdates` call is held open when there is nothing to serve.
const MAX_POLL_WAIT: Duration = Duration::from_secs(1);

/// The bot itself, as the `from` of the messages it sends.
const BOT_ID: i64 = 123_456;

/// One call as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The Bot API method (`sendMessage`, `getUpdates`…), or [`DOWNLOAD`].
    pub method: String,
    /// The parameters: the JSON body, or a multipart body's fields (each parsed as JSON
    /// when it is JSON, else a string); `Null` when there were none.
    pub body: Value,
    /// When the call arrived.
    pub at: Instant,
    /// Whether the URL held the right bot token.
    pub authorised: bool,
    /// The HTTP status the fake answered (0 while a `getUpdates` call is still open).
    pub status: u16,
    /// The JSON the fake answered (`Null` for a file's bytes).
    pub response: Value,
    /// What breaks Telegram's rules in a `sendMessage` (empty for other calls).
    pub violations: Vec<String>,
}

impl Recorded {
    /// The chat a `sendMessage` was for.
    #[must_use]
    pub fn chat_id(&self) -> Option<i64> {
        match &self.body["chat_id"] {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// The text of a `sendMessage`.
    #[must_use]
    pub fn text(&self) -> &str {
        self.body["text"].as_str().unwrap_or_default()
    }

    /// The `callback_data` of every inline button of a `sendMessage`, row by row.
    #[must_use]
    pub fn callback_data(&self) -> Vec<String> {
        self.body["reply_markup"]["inline_keyboard"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|button| button["callback_data"].as_str().map(str::to_owned))
            .collect()
    }

    /// Whether the fake accepted the call.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.status == 200
    }

    /// The `update_id`s a `getUpdates` call was answered with.
    #[must_use]
    pub fn served_update_ids(&self) -> Vec<i64> {
        self.response["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|update| update["update_id"].as_i64())
            .collect()
    }
}

/// Which calls a queued failure is for.
type Matcher = Box<dyn Fn(&Value) -> bool + Send>;

/// A queued failure: the next call to `method` whose parameters `matches` accept.
struct Failure {
    method: String,
    matches: Matcher,
    status: u16,
    body: Value,
}

#[derive(Default)]
struct Fake {
    calls: Vec<Recorded>,
    failures: Vec<Failure>,
    files: HashMap<String, Vec<u8>>,
    updates: Vec<Value>,
    last_message_id: i64,
    /// Chats whose person blocked the bot: 403, as Telegram answers.
    blocked: std::collections::HashSet<i64>,
    /// Chats that do not exist (deleted accounts, wrong ids): 400 "chat not found".
    unknown: std::collections::HashSet<i64>,
}

type Shared = Arc<Mutex<Fake>>;

fn lock(state: &Shared) -> MutexGuard<'_, Fake> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The running fake; the server stops when this is dropped.
pub struct FakeTelegram {
    /// `http://127.0.0.1:PORT`, standing for `https://api.telegram.org`.
    pub api_url: String,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeTelegram {
    pub async fn start() -> FakeTelegram {
        let state = Shared::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake Bot API binds a port");
        let port = listener.local_addr().unwrap().port();
        let app = Router::new()
            .fallback(handle)
            .with_state(state.clone())
            .layer(DefaultBodyLimit::max(16 * 1024 * 1024));
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the fake Bot API serves");
        });
        FakeTelegram {
            api_url: format!("http://127.0.0.1:{port}"),
            state,
            server,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Fake> {
        lock(&self.state)
    }

    /// Every call received, in order, including refused ones and downloads.
    pub fn calls(&self) -> Vec<Recorded> {
        self.lock().calls.clone()
    }

    /// The calls to `method`, in order.
    pub fn calls_to(&self, method: &str) -> Vec<Recorded> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// The number of calls to `method` so far.
    pub fn n_calls_to(&self, method: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .count()
    }

    /// The calls other than `getUpdates` (which a polling bot makes all the time).
    pub fn calls_but_polls(&self) -> Vec<Recorded> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method != "getUpdates")
            .cloned()
            .collect()
    }

    /// The `sendMessage` calls to `chat_id`, in order, accepted or not.
    pub fn sent_to(&self, chat_id: i64) -> Vec<Recorded> {
        self.calls_to("sendMessage")
            .into_iter()
            .filter(|c| c.chat_id() == Some(chat_id))
            .collect()
    }

    /// Every violation of Telegram's rules seen so far, with its method.
    pub fn violations(&self) -> Vec<String> {
        self.lock()
            .calls
            .iter()
            .flat_map(|c| {
                c.violations
                    .iter()
                    .map(move |v| format!("{}: {v}", c.method))
            })
            .collect()
    }

    /// The next call to `method` gets `status` and `body` (after the token check).
    /// Several queue up in order.
    pub fn fail_next(&self, method: &str, status: u16, body: Value) {
        self.fail_next_when(method, status, body, |_| true);
    }

    /// The next call to `method` for `chat_id` gets `status` and `body`; calls for other
    /// chats go through.
    pub fn fail_next_in_chat(&self, method: &str, chat_id: i64, status: u16, body: Value) {
        self.fail_next_when(method, status, body, move |params| {
            chat_id_of(params) == Some(chat_id)
        });
    }

    /// The next call to `method` whose parameters satisfy `matches` gets `status` and
    /// `body`; other calls go through.
    pub fn fail_next_when(
        &self,
        method: &str,
        status: u16,
        body: Value,
        matches: impl Fn(&Value) -> bool + Send + 'static,
    ) {
        StatusCode::from_u16(status).expect("fail_next needs a valid HTTP status");
        self.lock().failures.push(Failure {
            method: method.to_owned(),
            matches: Box::new(matches),
            status,
            body,
        });
    }

    /// The person of `chat_id` blocks the bot: every message to them is refused with 403.
    pub fn block(&self, chat_id: i64) {
        self.lock().blocked.insert(chat_id);
    }

    /// `chat_id` does not exist (any more): messages to it get 400 "chat not found".
    pub fn forget_chat(&self, chat_id: i64) {
        self.lock().unknown.insert(chat_id);
    }

    /// `getFile` knows `file_id`, and the download URL serves `bytes`.
    pub fn set_file(&self, file_id: &str, bytes: Vec<u8>) {
        self.lock().files.insert(file_id.to_owned(), bytes);
    }

    /// An update for `getUpdates` to serve (it needs an `update_id`).
    pub fn queue_update(&self, update: Value) {
        assert!(
            update["update_id"].is_i64(),
            "an update needs an update_id: {update}"
        );
        self.lock().updates.push(update);
    }

    /// The updates queued and not yet confirmed by a later offset.
    pub fn pending_updates(&self) -> usize {
        self.lock().updates.len()
    }
}

/// Telegram's error body.
pub fn error(code: u16, description: &str) -> Value {
    json!({ "ok": false, "error_code": code, "description": description })
}

/// Telegram's answer to a bot that sends too much: try again after `seconds`.
pub fn retry_after(seconds: u64) -> Value {
    json!({
        "ok": false,
        "error_code": 429,
        "description": format!("Too Many Requests: retry after {seconds}"),
        "parameters": { "retry_after": seconds },
    })
}

/// Telegram's answer to a message for a group that became the supergroup `new_id`.
pub fn migrated(new_id: i64) -> Value {
    json!({
        "ok": false,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": { "migrate_to_chat_id": new_id },
    })
}

fn ok(result: Value) -> (u16, Value) {
    (200, json!({ "ok": true, "result": result }))
}

async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = percent_decode(uri.path());
    let segments: Vec<&str> = path.trim_start_matches('/').splitn(3, '/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["file", bot, file_path]) if bot.starts_with("bot") => {
            download(&state, &bot[3..], file_path)
        }
        (_, [bot, api_method]) if bot.starts_with("bot") => {
            let params = parameters(&headers, &body, uri.query());
            call(&state, &bot[3..], &canonical(api_method), params).await
        }
        _ => json_response(404, &error(404, "Not Found")),
    }
}

/// Telegram's method names are case-insensitive (teloxide sends `SendMessage`): the
/// name as the Bot API documents it, `sendMessage`.
fn canonical(method: &str) -> String {
    const KNOWN: [&str; 8] = [
        "getMe",
        "sendMessage",
        "answerCallbackQuery",
        "getFile",
        "getUpdates",
        "setWebhook",
        "deleteWebhook",
        "getWebhookInfo",
    ];
    KNOWN
        .iter()
        .find(|known| known.eq_ignore_ascii_case(method))
        .map_or_else(|| method.to_owned(), |known| (*known).to_owned())
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut response = axum::Json(body).into_response();
    *response.status_mut() = StatusCode::from_u16(status).expect("a valid status");
    response
}

fn download(state: &Shared, token: &str, file_path: &str) -> Response {
    let mut fake = lock(state);
    let authorised = token == TOKEN;
    let file_id = file_path
        .strip_prefix("photos/")
        .and_then(|name| name.strip_suffix(".jpg"));
    let bytes = file_id.and_then(|id| fake.files.get(id)).cloned();
    let (status, response) = match (authorised, &bytes) {
        (false, _) => (401, error(401, "Unauthorized")),
        (true, None) => (404, error(404, "Not Found")),
        (true, Some(_)) => (200, Value::Null),
    };
    fake.calls.push(Recorded {
        method: DOWNLOAD.to_owned(),
        body: json!({ "file_path": file_path }),
        at: Instant::now(),
        authorised,
        status,
        response: response.clone(),
        violations: Vec::new(),
    });
    drop(fake);
    match (status, bytes) {
        (200, Some(bytes)) => ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response(),
        _ => json_response(status, &response),
    }
}

async fn call(state: &Shared, token: &str, method: &str, params: Value) -> Response {
    let authorised = token == TOKEN;
    let violations = if authorised && method == "sendMessage" {
        send_message_violations(&params)
    } else {
        Vec::new()
    };
    let index = {
        let mut fake = lock(state);
        fake.calls.push(Recorded {
            method: method.to_owned(),
            body: params.clone(),
            at: Instant::now(),
            authorised,
            status: 0,
            response: Value::Null,
            violations: violations.clone(),
        });
        fake.calls.len() - 1
    };
    let failure = if authorised {
        let mut fake = lock(state);
        fake.failures
            .iter()
            .position(|f| f.method == method && (f.matches)(&params))
            .map(|at| fake.failures.remove(at))
            .map(|f| (f.status, f.body))
    } else {
        None
    };
    let (status, response) = match failure {
        _ if !authorised => (401, error(401, "Unauthorized")),
        Some(failure) => failure,
        None => answer(state, method, &params, &violations).await,
    };
    let mut fake = lock(state);
    fake.calls[index].status = status;
    fake.calls[index].response = response.clone();
    drop(fake);
    json_response(status, &response)
}

async fn answer(
    state: &Shared,
    method: &str,
    params: &Value,
    violations: &[String],
) -> (u16, Value) {
    match method {
        "getMe" => ok(bot_user()),
        "sendMessage" => {
            if let Some(first) = violations.first() {
                return (400, error(400, &format!("Bad Request: {first}")));
            }
            let Some(chat_id) = chat_id_of(params) else {
                return (400, error(400, "Bad Request: chat not found"));
            };
            let mut fake = lock(state);
            if fake.blocked.contains(&chat_id) {
                return (403, error(403, "Forbidden: bot was blocked by the user"));
            }
            if fake.unknown.contains(&chat_id) {
                return (400, error(400, "Bad Request: chat not found"));
            }
            fake.last_message_id += 1;
            let mut message = json!({
                "message_id": fake.last_message_id,
                "from": bot_user(),
                "date": chrono::Utc::now().timestamp(),
                "chat": chat(chat_id),
                "text": params["text"],
            });
            if params["reply_markup"]["inline_keyboard"].is_array() {
                message["reply_markup"] = params["reply_markup"].clone();
            }
            ok(message)
        }
        "answerCallbackQuery" => match params["callback_query_id"].as_str() {
            Some(id) if !id.is_empty() => ok(json!(true)),
            _ => (
                400,
                error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid"),
            ),
        },
        "getFile" => {
            let file_id = params["file_id"].as_str().unwrap_or_default();
            match lock(state).files.get(file_id) {
                Some(bytes) => ok(json!({
                    "file_id": file_id,
                    "file_unique_id": format!("unique-{file_id}"),
                    "file_size": bytes.len(),
                    "file_path": format!("photos/{file_id}.jpg"),
                })),
                None => (400, error(400, "Bad Request: invalid file_id")),
            }
        }
        "getUpdates" => get_updates(state, params).await,
        "deleteWebhook" | "setWebhook" => ok(json!(true)),
        "getWebhookInfo" => ok(json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 })),
        _ => (404, error(404, "Not Found")),
    }
}

/// Long polling: confirms the updates below `offset`, then serves those from `offset` on,
/// at once if there are any, else after waiting (at most a second) for some.
async fn get_updates(state: &Shared, params: &Value) -> (u16, Value) {
    let offset = params["offset"].as_i64().unwrap_or(0);
    let limit = params["limit"]
        .as_u64()
        .filter(|l| (1..=100).contains(l))
        .unwrap_or(100) as usize;
    let timeout = Duration::from_secs(params["timeout"].as_u64().unwrap_or(0)).min(MAX_POLL_WAIT);
    let deadline = Instant::now() + timeout;
    loop {
        {
            let mut fake = lock(state);
            if offset > 0 {
                fake.updates
                    .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            }
            let mut served: Vec<Value> = fake
                .updates
                .iter()
                .filter(|u| u["update_id"].as_i64().unwrap_or(0) >= offset)
                .cloned()
                .collect();
            served.sort_by_key(|u| u["update_id"].as_i64());
            served.truncate(limit);
            if !served.is_empty() || Instant::now() >= deadline {
                return ok(Value::Array(served));
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Telegram's rules for `sendMessage`.
fn send_message_violations(params: &Value) -> Vec<String> {
    let mut violations = Vec::new();
    if chat_id_of(params).is_none() {
        violations.push("chat_id is missing or not a chat id".to_owned());
    }
    match params["text"].as_str() {
        None => violations.push("message text is empty (no text)".to_owned()),
        Some(text) if text.trim().is_empty() => {
            violations.push("message text is empty".to_owned());
        }
        Some(text) => {
            let units = text.encode_utf16().count();
            if units > MAX_TEXT_UTF16 {
                violations.push(format!("message is too long ({units} UTF-16 units)"));
            }
        }
    }
    let markup = &params["reply_markup"];
    if !markup.is_null() {
        match markup["inline_keyboard"].as_array() {
            None => violations.push(format!("reply_markup is not an inline keyboard: {markup}")),
            Some(rows) => {
                for (r, row) in rows.iter().enumerate() {
                    let Some(buttons) = row.as_array() else {
                        violations.push(format!("inline_keyboard[{r}] is not a row"));
                        continue;
                    };
                    for (b, button) in buttons.iter().enumerate() {
                        if button["text"].as_str().is_none_or(str::is_empty) {
                            violations
                                .push(format!("inline_keyboard[{r}][{b}]: button text is empty"));
                        }
                        match button["callback_data"].as_str() {
                            Some(data) if (1..=MAX_CALLBACK_DATA_BYTES).contains(&data.len()) => {}
                            Some(data) => violations.push(format!(
                                "inline_keyboard[{r}][{b}]: BUTTON_DATA_INVALID ({} bytes)",
                                data.len()
                            )),
                            None => violations.push(format!(
                                "inline_keyboard[{r}][{b}]: no callback_data: {button}"
                            )),
                        }
                    }
                }
            }
        }
    }
    violations
}

fn chat_id_of(params: &Value) -> Option<i64> {
    match &params["chat_id"] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn bot_user() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": "tambon", "username": "tambon_bot" })
}

/// A chat as Telegram describes it: supergroups and channels have ids below -10^12,
/// groups other negative ids, people positive ones.
fn chat(id: i64) -> Value {
    if id <= -1_000_000_000_000 {
        json!({ "id": id, "type": "supergroup", "title": "กลุ่ม" })
    } else if id < 0 {
        json!({ "id": id, "type": "group", "title": "กลุ่ม" })
    } else {
        json!({ "id": id, "type": "private", "first_name": "ก" })
    }
}

/// A call's parameters: a JSON body, a multipart body's fields, or the query string.
fn parameters(headers: &HeaderMap, body: &[u8], query: Option<&str>) -> Value {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(boundary) = content_type
        .strip_prefix("multipart/form-data")
        .and_then(|rest| rest.split("boundary=").nth(1))
    {
        return multipart_fields(body, boundary.trim_matches('"'));
    }
    if !body.is_empty() {
        return serde_json::from_slice(body).unwrap_or(Value::Null);
    }
    match query {
        Some(query) => Value::Object(
            query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (percent_decode(k), field_value(&percent_decode(v))))
                .collect(),
        ),
        None => Value::Null,
    }
}

/// A multipart field as JSON when it is JSON (numbers, reply markups), else a string.
fn field_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The fields of a `multipart/form-data` body (files as their size in bytes).
fn multipart_fields(body: &[u8], boundary: &str) -> Value {
    let delimiter = format!("--{boundary}");
    let text = String::from_utf8_lossy(body);
    let mut fields = serde_json::Map::new();
    for part in text.split(delimiter.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let Some((head, content)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let content = content.strip_suffix("\r\n").unwrap_or(content);
        let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        let value = if head.contains("filename=") {
            json!({ "file_bytes": content.len() })
        } else {
            field_value(content)
        };
        fields.insert(name.to_owned(), value);
    }
    Value::Object(fields)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::{json, Value};
    use teloxide::net::Download as _;
    use teloxide::payloads::{GetUpdatesSetters as _, SendMessageSetters as _};
    use teloxide::requests::{Request as _, Requester as _};
    use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, UpdateKind};
    use teloxide::{ApiError, RequestError};

    use super::{migrated, retry_after, FakeTelegram, DOWNLOAD, TOKEN};

    fn bot(fake: &FakeTelegram, token: &str) -> teloxide::Bot {
        teloxide::Bot::new(token).set_api_url(fake.api_url.parse().unwrap())
    }

    fn text_update(update_id: i64, text: &str) -> Value {
        json!({ "update_id": update_id, "message": {
            "message_id": update_id, "date": 1_700_000_000,
            "chat": { "id": 1001, "type": "private", "first_name": "ก" },
            "from": { "id": 1001, "is_bot": false, "first_name": "ก" },
            "text": text,
        }})
    }

    async fn post(fake: &FakeTelegram, method: &str, body: &Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/bot{TOKEN}/{method}", fake.api_url))
            .json(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    #[tokio::test]
    async fn telegram_fake_answers_teloxide() {
        let fake = FakeTelegram::start().await;
        let bot = bot(&fake, TOKEN);
        let keyboard = InlineKeyboardMarkup::new(vec![vec![
            InlineKeyboardButton::callback("ถาม", "ask"),
            InlineKeyboardButton::callback("ร้องเรียน", "complain"),
        ]]);
        let sent = bot
            .send_message(ChatId(1001), "สวัสดี")
            .reply_markup(keyboard)
            .send()
            .await
            .unwrap();
        assert_eq!(sent.chat.id, ChatId(1001));
        assert!(sent.chat.is_private());
        assert_eq!(sent.text(), Some("สวัสดี"));
        assert!(sent.reply_markup().is_some());
        for chat in [-100, -1_001_234_567_890] {
            let sent = bot
                .send_message(ChatId(chat), "ประกาศ")
                .send()
                .await
                .unwrap();
            assert_eq!(sent.chat.id, ChatId(chat));
            assert!(!sent.chat.is_private());
        }
        assert!(bot
            .answer_callback_query(teloxide::types::CallbackQueryId("cb1".to_owned()))
            .send()
            .await
            .is_ok());

        let jpeg = b"\xff\xd8\xff\xe0fake jpeg".to_vec();
        fake.set_file("f1", jpeg.clone());
        let file = bot.get_file("f1".to_owned().into()).send().await.unwrap();
        assert_eq!(file.path, "photos/f1.jpg");
        assert_eq!(file.size as usize, jpeg.len());
        let mut bytes = Vec::new();
        bot.download_file(&file.path, &mut bytes).await.unwrap();
        assert_eq!(bytes, jpeg);
        let missing = bot.get_file("f2".to_owned().into()).send().await;
        assert!(matches!(missing, Err(RequestError::Api(_))), "{missing:?}");

        let calls = fake.calls();
        let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
        assert_eq!(
            methods,
            [
                "sendMessage",
                "sendMessage",
                "sendMessage",
                "answerCallbackQuery",
                "getFile",
                DOWNLOAD,
                "getFile"
            ]
        );
        assert_eq!(calls[0].chat_id(), Some(1001));
        assert_eq!(calls[0].text(), "สวัสดี");
        assert_eq!(calls[0].callback_data(), ["ask", "complain"]);
        assert_eq!(calls[3].body["callback_query_id"], "cb1");
        assert_eq!(calls[4].body["file_id"], "f1");
        assert_eq!(calls[5].body["file_path"], "photos/f1.jpg");
        assert!(calls
            .iter()
            .all(|c| c.authorised && c.violations.is_empty()));
        assert!(calls.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(calls[6].status, 400);
        assert!(fake.violations().is_empty());
    }

    #[tokio::test]
    async fn telegram_fake_refuses_a_wrong_token() {
        let fake = FakeTelegram::start().await;
        let wrong = bot(&fake, "123456:wrong");
        let refused = wrong.send_message(ChatId(1001), "x").send().await;
        assert!(
            matches!(refused, Err(RequestError::Api(ApiError::InvalidToken))),
            "{refused:?}"
        );
        fake.set_file("f1", vec![0xff, 0xd8, 0xff]);
        let mut bytes = Vec::new();
        assert!(wrong
            .download_file("photos/f1.jpg", &mut bytes)
            .await
            .is_err());
        let raw = reqwest::get(format!("{}/bot123456:wrong/getMe", fake.api_url))
            .await
            .unwrap();
        assert_eq!(raw.status(), 401);
        assert_eq!(
            raw.json::<Value>().await.unwrap(),
            json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
        );
        let calls = fake.calls();
        assert_eq!(calls.len(), 3);
        assert!(calls.iter().all(|c| !c.authorised && c.status == 401));
        assert!(fake.calls_to("sendMessage")[0].violations.is_empty());
    }

    #[tokio::test]
    async fn telegram_fake_fails_on_demand() {
        let fake = FakeTelegram::start().await;
        let bot = bot(&fake, TOKEN);
        fake.fail_next("sendMessage", 429, retry_after(1));
        fake.fail_next("sendMessage", 400, migrated(-1_001_234_567_890));
        let flood = bot.send_message(ChatId(1001), "a").send().await;
        assert!(
            matches!(&flood, Err(RequestError::RetryAfter(s)) if s.duration() == Duration::from_secs(1)),
            "{flood:?}"
        );
        let moved = bot.send_message(ChatId(-100), "b").send().await;
        assert!(
            matches!(
                moved,
                Err(RequestError::MigrateToChatId(ChatId(-1_001_234_567_890)))
            ),
            "{moved:?}"
        );
        assert!(bot.send_message(ChatId(1001), "c").send().await.is_ok());
        // A failure for one chat leaves the others alone.
        fake.fail_next_in_chat("sendMessage", -100, 400, migrated(-1_001_234_567_890));
        assert!(bot.send_message(ChatId(1001), "d").send().await.is_ok());
        assert!(bot.send_message(ChatId(-100), "e").send().await.is_err());
        assert!(bot.send_message(ChatId(-100), "f").send().await.is_ok());
        let statuses: Vec<u16> = fake.calls().iter().map(|c| c.status).collect();
        assert_eq!(statuses, [429, 400, 200, 200, 400, 200]);
        assert_eq!(fake.calls()[0].response["parameters"]["retry_after"], 1);
    }

    #[tokio::test]
    async fn telegram_fake_checks_send_message() {
        let fake = FakeTelegram::start().await;
        let long = "ก".repeat(4_097);
        let emoji = "😀".repeat(2_049); // 4,098 UTF-16 units
        let fits = "😀".repeat(2_048);
        let bad_button =
            json!({"inline_keyboard": [[{"text": "x", "callback_data": "d".repeat(65)}]]});
        let empty_data = json!({"inline_keyboard": [[{"text": "x", "callback_data": ""}]]});
        let cases = [
            (json!({"chat_id": 1, "text": ""}), 1),
            (json!({"chat_id": 1}), 1),
            (json!({"chat_id": 1, "text": long}), 1),
            (json!({"chat_id": 1, "text": emoji}), 1),
            (json!({"chat_id": 1, "text": fits}), 0),
            (
                json!({"chat_id": 1, "text": "x", "reply_markup": bad_button}),
                1,
            ),
            (
                json!({"chat_id": 1, "text": "x", "reply_markup": empty_data}),
                1,
            ),
            (json!({"text": "x"}), 1),
        ];
        for (body, n_violations) in &cases {
            let (status, answer) = post(&fake, "sendMessage", body).await;
            let expected = if *n_violations == 0 { 200 } else { 400 };
            assert_eq!(status, expected, "{answer}");
            assert_eq!(answer["ok"], *n_violations == 0);
        }
        let recorded = fake.calls_to("sendMessage");
        for ((_, n_violations), call) in cases.iter().zip(&recorded) {
            assert_eq!(
                call.violations.len(),
                *n_violations,
                "{:?}",
                call.violations
            );
        }
        assert_eq!(fake.violations().len(), 7);
    }

    #[tokio::test]
    async fn telegram_fake_serves_updates_by_offset() {
        let fake = FakeTelegram::start().await;
        let bot = bot(&fake, TOKEN);
        for id in 1..=3 {
            fake.queue_update(text_update(id, &format!("m{id}")));
        }
        let all = bot.get_updates().timeout(1).send().await.unwrap();
        assert_eq!(all.iter().map(|u| u.id.0).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(matches!(all[0].kind, UpdateKind::Message(_)));
        // Asking from 2 confirms update 1: it is gone for good.
        let later = bot.get_updates().offset(2).send().await.unwrap();
        assert_eq!(later.iter().map(|u| u.id.0).collect::<Vec<_>>(), [2, 3]);
        let again = bot.get_updates().offset(0).send().await.unwrap();
        assert_eq!(again.iter().map(|u| u.id.0).collect::<Vec<_>>(), [2, 3]);
        // Nothing left: an empty answer after about the timeout, at most a second.
        let started = Instant::now();
        let none = bot
            .get_updates()
            .offset(4)
            .timeout(30)
            .send()
            .await
            .unwrap();
        assert!(none.is_empty());
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
            "{waited:?}"
        );
        assert_eq!(fake.pending_updates(), 0);
        // An update queued while a call waits is served at once.
        let waiting = tokio::spawn({
            let bot = bot.clone();
            async move { bot.get_updates().offset(4).timeout(1).send().await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        fake.queue_update(text_update(4, "m4"));
        let served = waiting.await.unwrap().unwrap();
        assert_eq!(served.iter().map(|u| u.id.0).collect::<Vec<_>>(), [4]);
        let polls = fake.calls_to("getUpdates");
        assert_eq!(polls.len(), 5);
        assert_eq!(polls[1].body["offset"], 2);
        assert_eq!(polls[4].served_update_ids(), [4]);
    }
}
