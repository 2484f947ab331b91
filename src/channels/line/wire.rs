//! LINE's webhook JSON, as far as tambon reads it. Lenient by design: unknown fields are
//! ignored, and unknown event, source and message types are kept by name so that the
//! adapter maps them to "unsupported" instead of failing the request.

use serde::Deserialize;
use sha2::Digest as _;

/// The webhook body. Events stay raw JSON until each is read on its own, so that one odd
/// event cannot fail the others.
#[derive(Debug, Deserialize)]
pub struct CallbackRequest {
    #[serde(default)]
    pub destination: Option<String>,
    pub events: Vec<Box<serde_json::value::RawValue>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default)]
    pub webhook_event_id: Option<String>,
    #[serde(default)]
    pub delivery_context: Option<DeliveryContext>,
    #[serde(default)]
    pub reply_token: Option<String>,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub postback: Option<Postback>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub room_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryContext {
    #[serde(default)]
    pub is_redelivery: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub mention: Option<Mention>,
    #[serde(default)]
    pub content_provider: Option<ContentProvider>,
}

#[derive(Debug, Deserialize)]
pub struct Mention {
    #[serde(default)]
    pub mentionees: Vec<Mentionee>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mentionee {
    #[serde(default)]
    pub index: usize,
    #[serde(default)]
    pub length: usize,
    #[serde(default)]
    pub is_self: bool,
}

#[derive(Debug, Deserialize)]
pub struct ContentProvider {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Deserialize)]
pub struct Postback {
    pub data: String,
}

impl Event {
    /// The key this event is processed once by: `webhookEventId`, or for older bodies
    /// without it the message id, or else a hash of the event's JSON text `raw`.
    #[must_use]
    pub fn dedupe_key(&self, raw: &str) -> String {
        if let Some(id) = &self.webhook_event_id {
            return id.clone();
        }
        if let Some(id) = self.message.as_ref().and_then(|m| m.id.as_ref()) {
            return format!("message:{id}");
        }
        let digest = sha2::Sha256::digest(raw.as_bytes());
        format!("json:{}", hex::encode(&digest[..16]))
    }

    /// Whether another channel holds this chat (LINE's module mode): record, never answer.
    #[must_use]
    pub fn is_standby(&self) -> bool {
        self.mode.as_deref() == Some("standby")
    }

    #[must_use]
    pub fn is_redelivery(&self) -> bool {
        self.delivery_context
            .as_ref()
            .is_some_and(|c| c.is_redelivery)
    }
}
