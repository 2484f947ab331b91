//! The Send API client and the Messenger sender of the outbox, with Messenger's rules:
//! one message a call, 2,000 characters a text, at most 13 quick replies of 20
//! characters, button templates (3 buttons, 640 characters) for cards, and the 24-hour
//! window: outside it only a permitted message tag, else the message is kept for the
//! resident's next message and reported as not deliverable.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::config::Messenger as MessengerSettings;
use crate::delivery::{BoxFuture, ChannelMessage, ChannelSender, Failure};
use crate::domain::{Channel, ChatKey};
use crate::engine::payload::{SHARE_LOCATION, SHARE_PHOTO};
use crate::engine::{Card, Choice, Outbound, MAX_CHOICES};
use crate::store::{Delivery, Store};

pub const MAX_TEXT_CHARS: usize = 2_000;
const MAX_TEMPLATE_TEXT: usize = 640;
const MAX_TEMPLATE_BUTTONS: usize = 3;
const MAX_TITLE_CHARS: usize = 20;
const WINDOW: chrono::Duration = chrono::Duration::hours(24);
const HUMAN_AGENT_WINDOW: chrono::Duration = chrono::Duration::days(7);
const HUMAN_AGENT: &str = "HUMAN_AGENT";

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    send_url: String,
    token: SecretString,
    permitted_tags: Vec<String>,
    store: Store,
}

impl Client {
    pub fn new(
        settings: &MessengerSettings,
        token: SecretString,
        timeout: Duration,
        store: Store,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("tambon/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            send_url: format!(
                "{}/{}/me/messages",
                settings.graph_base.trim_end_matches('/'),
                settings.graph_version
            ),
            token,
            permitted_tags: settings.permitted_tags.clone(),
            store,
        })
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    async fn send_one(
        &self,
        to: &str,
        message: &Value,
        tag: Option<&str>,
    ) -> Result<(), SendError> {
        let mut body = json!({
            "recipient": { "id": to },
            "messaging_type": if tag.is_some() { "MESSAGE_TAG" } else { "RESPONSE" },
            "message": message,
        });
        if let Some(tag) = tag {
            body["tag"] = json!(tag);
        }
        let response = self
            .http
            .post(&self.send_url)
            .bearer_auth(self.token.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(|error| {
                SendError::Failed(Failure {
                    message: if error.is_timeout() {
                        "timed out".to_owned()
                    } else {
                        "connection failed".to_owned()
                    },
                    permanent: false,
                    retry_after: None,
                })
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_secs);
        let error: Value = response.json().await.unwrap_or_default();
        let code = error["error"]["code"].as_i64().unwrap_or_default();
        let subcode = error["error"]["error_subcode"].as_i64().unwrap_or_default();
        let message = error["error"]["message"].as_str().unwrap_or_default();
        // Meta counts the window from when the resident wrote, which a late webhook can
        // hide from us: its refusal means "hold it", like a window we saw closed.
        if code == 10 || subcode == OUTSIDE_WINDOW_SUBCODE {
            return Err(SendError::OutsideWindow);
        }
        if code == PERSON_UNAVAILABLE {
            return Err(SendError::Unavailable);
        }
        // Meta's rate limits come as 4, 17, 32 or 613, often with HTTP 400.
        let rate_limited =
            matches!(code, 4 | 17 | 32 | 613) || status == StatusCode::TOO_MANY_REQUESTS;
        Err(SendError::Failed(Failure {
            message: format!("Send API answered HTTP {status} (code {code}): {message}"),
            permanent: !rate_limited && status.is_client_error(),
            retry_after,
        }))
    }

    /// Keeps the messages from `first` on for the resident's next message, and says so.
    fn hold(&self, chat: &ChatKey, messages: &[Outbound]) -> Failure {
        if let Err(error) = self.store.hold_messages(chat, messages) {
            return Failure {
                message: format!("cannot keep the message: {error}"),
                permanent: false,
                retry_after: None,
            };
        }
        Failure {
            message: "not deliverable: outside Messenger's 24-hour window; kept for the resident's next message".to_owned(),
            permanent: true,
            retry_after: None,
        }
    }

    /// The person cannot be reached any more: their subscription to updates ends, as an
    /// unfollow would end it, and the delivery is dead with the reason.
    fn gone(&self, chat: &ChatKey) -> Failure {
        match self.store.remove_subscription(chat) {
            Ok(true) => tracing::info!(
                "a Messenger person cannot be reached any more; their subscription ended"
            ),
            Ok(false) => {}
            Err(error) => tracing::error!(error = ?error, "cannot end a subscription"),
        }
        Failure {
            message: "not deliverable: the person blocked the page or left Messenger (551)"
                .to_owned(),
            permanent: true,
            retry_after: None,
        }
    }

    /// Sends a delivery's messages in order, one call each; `delivery.progress` counts
    /// those sent, so a retry sends only the rest.
    async fn deliver(&self, delivery: &mut Delivery) -> Result<(), Failure> {
        let message = ChannelMessage::of(delivery)?;
        let chat = ChatKey::new(Channel::Messenger, message.to.clone());
        // Each reply's Send API messages, so that what is held after a partial send
        // starts at the first reply not wholly sent.
        let parts: Vec<Vec<Value>> = message
            .messages
            .iter()
            .map(|m| render(std::slice::from_ref(m)))
            .collect();
        let progress = delivery.progress as usize;
        let first_unsent = {
            let mut n_parts = 0;
            parts
                .iter()
                .position(|reply_parts| {
                    n_parts += reply_parts.len();
                    n_parts > progress
                })
                .unwrap_or(parts.len())
        };
        let tag = match self.window(&chat, message.human_agent) {
            Window::Open => None,
            Window::Tagged(tag) => Some(tag),
            Window::Closed => return Err(self.hold(&chat, &message.messages[first_unsent..])),
        };
        let mut part_idx = 0;
        for (reply_idx, reply_parts) in parts.iter().enumerate() {
            for part in reply_parts {
                if part_idx >= progress {
                    match self.send_one(&message.to, part, tag.as_deref()).await {
                        Ok(()) => {
                            delivery.progress = u32::try_from(part_idx + 1).unwrap_or(u32::MAX)
                        }
                        Err(SendError::OutsideWindow) => {
                            return Err(self.hold(&chat, &message.messages[reply_idx..]));
                        }
                        Err(SendError::Unavailable) => return Err(self.gone(&chat)),
                        Err(SendError::Failed(failure)) => return Err(failure),
                    }
                }
                part_idx += 1;
            }
        }
        Ok(())
    }

    /// Whether a message may go to `chat` now, and how.
    fn window(&self, chat: &ChatKey, human_agent: bool) -> Window {
        let Ok(Some(last_seen)) = self.store.last_seen(chat) else {
            return Window::Closed;
        };
        let since = Utc::now().signed_duration_since(last_seen);
        if since < WINDOW {
            return Window::Open;
        }
        let tag_permitted = self.permitted_tags.iter().any(|t| t == HUMAN_AGENT);
        if human_agent && tag_permitted && since < HUMAN_AGENT_WINDOW {
            return Window::Tagged(HUMAN_AGENT.to_owned());
        }
        Window::Closed
    }
}

/// Meta's error code for a person who blocked the page or left Messenger.
const PERSON_UNAVAILABLE: i64 = 551;

/// Meta's error subcode for a message outside the allowed window.
const OUTSIDE_WINDOW_SUBCODE: i64 = 2_018_278;

enum SendError {
    OutsideWindow,
    /// The person blocked the page or left Messenger (551).
    Unavailable,
    Failed(Failure),
}

enum Window {
    Open,
    Tagged(String),
    Closed,
}

impl ChannelSender for Client {
    fn send<'a>(&'a self, delivery: &'a mut Delivery) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(self.deliver(delivery))
    }
}

/// Replies as Send API `message` objects, one per call.
#[must_use]
pub fn render(replies: &[Outbound]) -> Vec<Value> {
    let mut out = Vec::new();
    for reply in replies {
        match reply {
            Outbound::Text { text } => out.extend(
                split_chars(text, MAX_TEXT_CHARS)
                    .into_iter()
                    .map(|t| json!({ "text": t })),
            ),
            Outbound::QuickReplies { text, choices } => {
                let mut pieces: Vec<Value> = split_chars(text, MAX_TEXT_CHARS)
                    .into_iter()
                    .map(|t| json!({ "text": t }))
                    .collect();
                let quick: Vec<Value> = choices
                    .iter()
                    // Messenger has no location or photo quick reply any more: residents
                    // type the place or attach a photo themselves.
                    .filter(|c| c.payload != SHARE_LOCATION && c.payload != SHARE_PHOTO)
                    .take(MAX_CHOICES)
                    .map(|c| json!({ "content_type": "text", "title": truncate(&c.label, MAX_TITLE_CHARS), "payload": c.payload }))
                    .collect();
                if let (Some(last), false) = (pieces.last_mut(), quick.is_empty()) {
                    last["quick_replies"] = json!(quick);
                }
                out.append(&mut pieces);
            }
            Outbound::Card(card) => out.extend(card_messages(card)),
        }
    }
    out
}

/// A card as text, its last part a button template carrying the buttons.
fn card_messages(card: &Card) -> Vec<Value> {
    let text = std::iter::once(card.title.as_str())
        .chain(card.lines.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("\n");
    if card.buttons.is_empty() {
        return split_chars(&text, MAX_TEXT_CHARS)
            .into_iter()
            .map(|t| json!({ "text": t }))
            .collect();
    }
    let mut pieces = split_chars(&text, MAX_TEMPLATE_TEXT);
    let last = pieces.pop().unwrap_or_default();
    let mut out: Vec<Value> = pieces.into_iter().map(|t| json!({ "text": t })).collect();
    let buttons: Vec<Value> = card
        .buttons
        .iter()
        .take(MAX_TEMPLATE_BUTTONS)
        .map(|c: &Choice| json!({ "type": "postback", "title": truncate(&c.label, MAX_TITLE_CHARS), "payload": c.payload }))
        .collect();
    out.push(json!({
        "attachment": {
            "type": "template",
            "payload": { "template_type": "button", "text": last, "buttons": buttons }
        }
    }));
    out
}

/// Splits at most `max` characters a piece.
#[must_use]
pub fn split_chars(text: &str, max: usize) -> Vec<String> {
    crate::thai::split_text(text, max, |_| 1)
}

fn truncate(text: &str, max: usize) -> String {
    crate::thai::truncate(text, max)
}
