//! The Messaging API client: reply, push, loading animation, profile, message content,
//! and the calls `tambon line` makes. Base URLs come from configuration.

use std::time::Duration;

use anyhow::Context as _;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::render::Message;
use crate::channels::media::read_photo;
use crate::config::Line as LineSettings;
use crate::domain::Lang;
use crate::store::Media;

/// Errors of a single Messaging API call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("request failed: {0}")]
    Transport(String),
    /// No connection was made: the request cannot have reached LINE.
    #[error("connection failed")]
    NotConnected,
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
    /// `Bearer <token>`, made once (marked sensitive: never shown in a debug print).
    authorization: reqwest::header::HeaderValue,
    /// The endpoints every answer uses, parsed once rather than for every call.
    reply_url: reqwest::Url,
    push_url: reqwest::Url,
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
        let api_base = settings.api_base.trim_end_matches('/').to_owned();
        let endpoint = |path: &str| {
            reqwest::Url::parse(&format!("{api_base}{path}"))
                .with_context(|| format!("[line] api_base `{api_base}` is not a URL"))
        };
        let mut authorization =
            reqwest::header::HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
                .context("the LINE channel access token is not a valid header value")?;
        authorization.set_sensitive(true);
        Ok(Self {
            http,
            reply_url: endpoint("/v2/bot/message/reply")?,
            push_url: endpoint("/v2/bot/message/push")?,
            api_base,
            data_api_base: settings.data_api_base.trim_end_matches('/').to_owned(),
            authorization,
            loading_seconds: settings.loading_seconds.clamp(5, 60) / 5 * 5,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_base)
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
        let response = request
            .header(reqwest::header::AUTHORIZATION, self.authorization.clone())
            .send()
            .await
            .map_err(|error| {
                if error.is_connect() {
                    Error::NotConnected
                } else {
                    Error::Transport(describe(&error))
                }
            })?;
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
    pub async fn reply(&self, reply_token: &str, messages: &[Message]) -> Result<(), Error> {
        let body = Outgoing {
            reply_token: Some(reply_token),
            to: None,
            messages,
        };
        self.call(self.http.post(self.reply_url.clone()).json(&body))
            .await
            .map(drop)
    }

    /// Pushes to a user, group or room. `retry_key` (a UUID) makes a retry of the same
    /// push safe: LINE answers 409 to a key it already accepted, which counts as sent.
    /// Sends the same messages to up to 500 users in one call.
    pub async fn multicast(
        &self,
        to: &[String],
        messages: &[Message],
        retry_key: &str,
    ) -> Result<(), Error> {
        let request = self
            .http
            .post(self.url("/v2/bot/message/multicast"))
            .header("X-Line-Retry-Key", retry_key)
            .json(&Outgoing {
                reply_token: None,
                to: Some(Recipients::Many(to)),
                messages,
            });
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

    pub async fn push(&self, to: &str, messages: &[Message], retry_key: &str) -> Result<(), Error> {
        let request = self
            .http
            .post(self.push_url.clone())
            .header("X-Line-Retry-Key", retry_key)
            .json(&Outgoing {
                reply_token: None,
                to: Some(Recipients::One(to)),
                messages,
            });
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

/// The body of a reply, push or multicast, serialised from borrowed parts: the messages
/// are not copied into a new JSON tree for every call.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Outgoing<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<Recipients<'a>>,
    messages: &'a [Message],
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum Recipients<'a> {
    One(&'a str),
    Many(&'a [String]),
}
