//! The web chat's JSON, as the page in `page.html` speaks it.

use serde::{Deserialize, Serialize};

use crate::engine::{Card, Choice, Outbound};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// A random id the page keeps for this browser: the resident's identity on the web.
    pub session: String,
    /// A fresh id per message, the same on a retry: the dedupe key.
    pub id: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub postback: Option<String>,
    #[serde(default)]
    pub location: Option<WireLocation>,
    #[serde(default)]
    pub image: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireLocation {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ChatResponse {
    pub replies: Vec<WireReply>,
    pub duplicate: bool,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireReply {
    Text {
        text: String,
    },
    QuickReplies {
        text: String,
        choices: Vec<WireChoice>,
    },
    Card {
        title: String,
        lines: Vec<String>,
        buttons: Vec<WireChoice>,
    },
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct WireChoice {
    pub label: String,
    pub payload: String,
}

impl From<&Choice> for WireChoice {
    fn from(choice: &Choice) -> Self {
        Self {
            label: choice.label.clone(),
            payload: choice.payload.clone(),
        }
    }
}

impl From<&Outbound> for WireReply {
    fn from(reply: &Outbound) -> Self {
        match reply {
            Outbound::Text { text } => Self::Text { text: text.clone() },
            Outbound::QuickReplies { text, choices } => Self::QuickReplies {
                text: text.clone(),
                choices: choices.iter().map(WireChoice::from).collect(),
            },
            Outbound::Card(Card {
                title,
                lines,
                buttons,
            }) => Self::Card {
                title: title.clone(),
                lines: lines.clone(),
                buttons: buttons.iter().map(WireChoice::from).collect(),
            },
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct UploadResponse {
    pub media_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Info {
    pub office_th: String,
    pub office_en: String,
    pub privacy_note_th: String,
    pub privacy_note_en: String,
}
