//! The Messaging API client: reply, push, loading animation, profile, message content,
//! and the calls `tambon line` makes. Base URLs come from configuration.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::channels::line::render;
use crate::channels::media::read_photo;
use crate::config::Line as LineSettings;
use crate::delivery::{BoxFuture, ChannelMessage, ChannelSender, Failure};
use crate::domain::Lang;
use crate::store::{Delivery, Media};

/// Errors of a single Messaging API call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("request failed: {0}")]
    Transport(String),
    #[error("LINE answered HTTP {status}: {message}")]
    Status {
        status: StatusCode,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("unexpected answer from LINE: {0}")]
    Unexpected(String),
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    api_base: String,
    data_api_base: String,
    token: SecretString,
    loading_seconds: u32,
}

impl Client {
    pub fn new(
        settings: &LineSettings,
        token: SecretString,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("tambon/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            api_base: settings.api_base.trim_end_matches('/').to_owned(),
            data_api_base: settings.data_api_base.trim_end_matches('/').to_owned(),
            token,
            loading_seconds: settings.loading_seconds.clamp(5, 60) / 5 * 5,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_base)
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
        let response = request
            .bearer_auth(self.token.expose_secret())
            .send()
            .await
            .map_err(|error| Error::Transport(describe(&error)))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_secs);
        let message = response
            .json::<Value>()
            .await
            .ok()
            .and_then(|body| body["message"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Err(Error::Status {
            status,
            message,
            retry_after,
        })
    }

    async fn post_json(&self, path: &str, body: &Value) -> Result<reqwest::Response, Error> {
        self.call(self.http.post(self.url(path)).json(body)).await
    }

    /// Replies with a reply token (free).
    pub async fn reply(&self, reply_token: &str, messages: &[Value]) -> Result<(), Error> {
        self.post_json(
            "/v2/bot/message/reply",
            &json!({ "replyToken": reply_token, "messages": messages }),
        )
        .await
        .map(drop)
    }

    /// Pushes to a user, group or room. `retry_key` (a UUID) makes a retry of the same
    /// push safe: LINE answers 409 to a key it already accepted, which counts as sent.
    /// Sends the same messages to up to 500 users in one call.
    pub async fn multicast(
        &self,
        to: &[String],
        messages: &[Value],
        retry_key: &str,
    ) -> Result<(), Error> {
        let request = self
            .http
            .post(self.url("/v2/bot/message/multicast"))
            .header("X-Line-Retry-Key", retry_key)
            .json(&json!({ "to": to, "messages": messages }));
        match self.call(request).await {
            // 409: a retry of a call LINE already took.
            Ok(_)
            | Err(Error::Status {
                status: StatusCode::CONFLICT,
                ..
            }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    pub async fn push(&self, to: &str, messages: &[Value], retry_key: &str) -> Result<(), Error> {
        let request = self
            .http
            .post(self.url("/v2/bot/message/push"))
            .header("X-Line-Retry-Key", retry_key)
            .json(&json!({ "to": to, "messages": messages }));
        match self.call(request).await {
            Ok(_) => Ok(()),
            Err(Error::Status {
                status: StatusCode::CONFLICT,
                ..
            }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Shows the "typing" animation in a one-to-one chat while a slow answer is made.
    pub async fn show_loading(&self, user_id: &str) -> Result<(), Error> {
        self.post_json(
            "/v2/bot/chat/loading/start",
            &json!({ "chatId": user_id, "loadingSeconds": self.loading_seconds }),
        )
        .await
        .map(drop)
    }

    /// The language the user's LINE app is set to, if it is one tambon speaks.
    pub async fn profile_language(&self, user_id: &str) -> Result<Option<Lang>, Error> {
        let response = self
            .call(
                self.http
                    .get(self.url(&format!("/v2/bot/profile/{user_id}"))),
            )
            .await?;
        let profile: Value = response
            .json()
            .await
            .map_err(|error| Error::Unexpected(describe(&error)))?;
        Ok(match profile["language"].as_str() {
            Some(lang) if lang.starts_with("th") => Some(Lang::Th),
            Some(lang) if lang.starts_with("en") => Some(Lang::En),
            _ => None,
        })
    }

    /// Fetches a photo a user sent, from the data host, refusing anything that is not a
    /// JPEG, PNG or WebP image or is larger than `max_bytes`.
    pub async fn content(&self, message_id: &str, max_bytes: usize) -> Result<Media, Error> {
        let url = format!("{}/v2/bot/message/{message_id}/content", self.data_api_base);
        let response = self.call(self.http.get(url)).await?;
        read_photo(response, max_bytes)
            .await
            .map_err(|error| Error::Unexpected(error.to_string()))
    }

    /// GET a JSON document of the API (bot info, webhook endpoint).
    pub async fn get_json(&self, path: &str) -> Result<Value, Error> {
        self.call(self.http.get(self.url(path)))
            .await?
            .json()
            .await
            .map_err(|error| Error::Unexpected(describe(&error)))
    }

    /// POST a JSON document and read the JSON answer.
    pub async fn post_for_json(&self, path: &str, body: &Value) -> Result<Value, Error> {
        let response = self.post_json(path, body).await?;
        let text = response
            .text()
            .await
            .map_err(|error| Error::Transport(describe(&error)))?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Uploads a rich menu's image to the data host.
    pub async fn upload_rich_menu_image(
        &self,
        rich_menu_id: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), Error> {
        let url = format!(
            "{}/v2/bot/richmenu/{rich_menu_id}/content",
            self.data_api_base
        );
        self.call(
            self.http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes),
        )
        .await
        .map(drop)
    }

    /// Sends a delivery's messages: the first five with the reply token while it is
    /// fresh, the rest (or all, once it is stale or refused) pushed with a retry key per
    /// part. `delivery.progress` counts the parts sent.
    async fn deliver(&self, delivery: &mut Delivery) -> Result<(), Failure> {
        let message: ChannelMessage =
            serde_json::from_value(delivery.body.clone()).map_err(|error| Failure {
                message: format!("unreadable delivery: {error}"),
                permanent: true,
                retry_after: None,
            })?;
        let rendered = render::messages(&message.messages);
        let parts: Vec<&[Value]> = rendered.chunks(render::MAX_MESSAGES_PER_CALL).collect();
        let now_ms = crate::store::unix_ms(Utc::now());
        for (part_idx, part) in parts.iter().enumerate().skip(delivery.progress as usize) {
            let fresh_token = message
                .reply_token
                .as_deref()
                .filter(|_| part_idx == 0 && message.reply_by_ms.is_some_and(|by| now_ms < by));
            let mut sent = false;
            if let Some(token) = fresh_token {
                match self.reply(token, part).await {
                    Ok(()) => sent = true,
                    // Used or expired after all: push instead.
                    Err(Error::Status {
                        status: StatusCode::BAD_REQUEST,
                        ..
                    }) => {
                        tracing::info!(
                            delivery = delivery.id,
                            "reply token refused, pushing instead"
                        );
                    }
                    Err(error) => return Err(failure(error)),
                }
            }
            if !sent {
                let retry_key = retry_key(delivery.id, part_idx);
                if message.to_many.is_empty() {
                    self.push(&message.to, part, &retry_key)
                        .await
                        .map_err(failure)?;
                } else {
                    self.multicast(&message.to_many, part, &retry_key)
                        .await
                        .map_err(failure)?;
                }
            }
            delivery.progress = u32::try_from(part_idx + 1).unwrap_or(u32::MAX);
        }
        Ok(())
    }
}

impl ChannelSender for Client {
    fn send<'a>(&'a self, delivery: &'a mut Delivery) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(self.deliver(delivery))
    }
}

/// A UUID for `X-Line-Retry-Key`, the same for every attempt at one part of one delivery.
#[must_use]
pub fn retry_key(delivery_id: u64, part_idx: usize) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("tambon-line-push:{delivery_id}:{part_idx}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // Mark it as a version 4, RFC 4122 UUID, as LINE expects.
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// How the dispatcher should treat a failed call: 429 and 5xx (and network trouble)
/// are retried with backoff; other 4xx will not get better.
fn failure(error: Error) -> Failure {
    match &error {
        Error::Status {
            status,
            retry_after,
            ..
        } => Failure {
            permanent: status.is_client_error()
                && *status != StatusCode::TOO_MANY_REQUESTS
                && *status != StatusCode::REQUEST_TIMEOUT,
            retry_after: *retry_after,
            message: error.to_string(),
        },
        Error::Transport(_) => Failure {
            message: error.to_string(),
            permanent: false,
            retry_after: None,
        },
        Error::Unexpected(_) => Failure {
            message: error.to_string(),
            permanent: true,
            retry_after: None,
        },
    }
}

/// reqwest's errors can name the URL; say what failed without it.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else if error.is_decode() {
        "unreadable answer".to_owned()
    } else {
        let mut text = error.to_string();
        if let Some(url) = error.url() {
            text = text.replace(url.as_str(), "<url>");
        }
        text
    }
}
