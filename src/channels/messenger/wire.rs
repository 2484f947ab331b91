//! Messenger's webhook JSON (snake_case, `object: "page"`, `entry[].messaging[]`), read
//! leniently: items without a sender or timestamp, unknown fields and unknown event kinds
//! are tolerated.

use serde::Deserialize;
use sha2::Digest as _;

#[derive(Debug, Deserialize)]
pub struct Body {
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    /// Items for this app to handle.
    #[serde(default)]
    pub messaging: Vec<serde_json::Value>,
    /// Items seen while another app owns the thread: record, never answer.
    #[serde(default)]
    pub standby: Vec<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Item {
    #[serde(default)]
    pub sender: Option<Party>,
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub postback: Option<Postback>,
}

#[derive(Debug, Deserialize)]
pub struct Party {
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    #[serde(default)]
    pub mid: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub is_echo: bool,
    #[serde(default)]
    pub quick_reply: Option<QuickReply>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Deserialize)]
pub struct QuickReply {
    pub payload: String,
}

#[derive(Debug, Deserialize)]
pub struct Attachment {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub payload: Option<AttachmentPayload>,
}

#[derive(Debug, Deserialize)]
pub struct AttachmentPayload {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub coordinates: Option<Coordinates>,
}

#[derive(Debug, Deserialize)]
pub struct Coordinates {
    pub lat: f64,
    pub long: f64,
}

#[derive(Debug, Deserialize)]
pub struct Postback {
    #[serde(default)]
    pub mid: Option<String>,
    #[serde(default)]
    pub payload: String,
}

impl Item {
    /// The sender's page-scoped id, if the item has one.
    #[must_use]
    pub fn sender_id(&self) -> Option<&str> {
        self.sender
            .as_ref()?
            .id
            .as_deref()
            .filter(|id| !id.is_empty())
    }

    /// Whether the item is something a resident did that tambon answers: a message
    /// (not the page's own echo) or a postback.
    #[must_use]
    pub fn is_answerable(&self) -> bool {
        self.sender_id().is_some()
            && (self.message.as_ref().is_some_and(|m| !m.is_echo) || self.postback.is_some())
    }

    /// There is no event id: dedupe on `message.mid` or `postback.mid`, else on a hash
    /// of the item's JSON (a redelivery repeats it byte for byte).
    #[must_use]
    pub fn dedupe_key(&self, raw: &serde_json::Value) -> String {
        if let Some(mid) = self.message.as_ref().and_then(|m| m.mid.as_ref()) {
            return format!("mid:{mid}");
        }
        if let Some(mid) = self.postback.as_ref().and_then(|p| p.mid.as_ref()) {
            return format!("mid:{mid}");
        }
        let digest = sha2::Sha256::digest(raw.to_string().as_bytes());
        format!("json:{}", hex::encode(&digest[..16]))
    }
}
