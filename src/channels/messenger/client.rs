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

    async fn send_one(&self, to: &str, message: &Value, tag: Option<&str>) -> Result<(), Failure> {
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
            .map_err(|error| Failure {
                message: if error.is_timeout() {
                    "timed out".to_owned()
                } else {
                    "connection failed".to_owned()
                },
                permanent: false,
                retry_after: None,
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
        let message = error["error"]["message"].as_str().unwrap_or_default();
        // Meta's rate limits come as 4, 17, 32 or 613, often with HTTP 400.
        let rate_limited =
            matches!(code, 4 | 17 | 32 | 613) || status == StatusCode::TOO_MANY_REQUESTS;
        Err(Failure {
            message: format!("Send API answered HTTP {status} (code {code}): {message}"),
            permanent: !rate_limited && status.is_client_error(),
            retry_after,
        })
    }

    /// Sends a delivery's messages in order, one call each; `delivery.progress` counts
    /// those sent, so a retry sends only the rest.
    async fn deliver(&self, delivery: &mut Delivery) -> Result<(), Failure> {
        let message: ChannelMessage =
            serde_json::from_value(delivery.body.clone()).map_err(|error| Failure {
                message: format!("unreadable delivery: {error}"),
                permanent: true,
                retry_after: None,
            })?;
        let chat = ChatKey::new(Channel::Messenger, message.to.clone());
        let tag = match self.window(&chat, message.human_agent) {
            Window::Open => None,
            Window::Tagged(tag) => Some(tag),
            Window::Closed => {
                self.store
                    .hold_messages(&chat, &message.messages)
                    .map_err(|error| Failure {
                        message: format!("cannot keep the message: {error}"),
                        permanent: false,
                        retry_after: None,
                    })?;
                return Err(Failure {
                    message: "not deliverable: outside Messenger's 24-hour window; kept for the resident's next message".to_owned(),
                    permanent: true,
                    retry_after: None,
                });
            }
        };
        let rendered = render(&message.messages);
        for (idx, part) in rendered.iter().enumerate().skip(delivery.progress as usize) {
            self.send_one(&message.to, part, tag.as_deref()).await?;
            delivery.progress = u32::try_from(idx + 1).unwrap_or(u32::MAX);
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

/// Splits at most `max` characters a piece, preferring line breaks and spaces.
#[must_use]
pub fn split_chars(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > max {
        let window = &rest[..max];
        let cut = window
            .iter()
            .rposition(|&c| c == '\n')
            .or_else(|| window.iter().rposition(|&c| c == ' '))
            .filter(|&at| at > max / 2)
            .map_or(max, |at| at + 1);
        pieces.push(rest[..cut].iter().collect::<String>().trim_end().to_owned());
        rest.drain(..cut);
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest.into_iter().collect());
    }
    pieces
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}
