//! Rendering channel-neutral replies as LINE message objects.
//!
//! LINE's limits: 5,000 characters a text message, counted in UTF-16 code units; at most
//! 5 messages a call (the caller chunks); at most 13 quick-reply items, 20 characters a
//! quick-reply label, 40 a button label, 300 bytes of postback data. Quick replies show
//! only on the last message of a call, so they go on the last message.
//!
//! Typed: a reply is serialised straight into the request body, with no JSON tree built
//! and dropped for every answer (about 7% of a LINE event's CPU when it was one). Flex
//! bubbles too (cards, in which the plan's answers come): they were 4% more.

use serde::Serialize;

use crate::engine::payload::{SHARE_LOCATION, SHARE_PHOTO};
use crate::engine::{Card, Choice, Outbound, MAX_CHOICES};

/// Longest text message, in UTF-16 code units.
pub const MAX_TEXT_UTF16: usize = 5_000;
/// Messages one reply or push call carries.
pub const MAX_MESSAGES_PER_CALL: usize = 5;
const MAX_QUICK_REPLY_LABEL: usize = 20;
const MAX_BUTTON_LABEL: usize = 40;
const MAX_ALT_TEXT: usize = 400;
/// Flex text components are kept under this, so a long card stays far from LINE's
/// 30 KB bubble limit.
const MAX_CARD_LINE_UTF16: usize = 2_000;
const ACCENT: &str = "#1B5E20";

/// One LINE message object, as the Messaging API takes it.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Message {
    Text {
        text: String,
        #[serde(rename = "quickReply", skip_serializing_if = "Option::is_none")]
        quick_reply: Option<QuickReply>,
    },
    Flex {
        #[serde(rename = "altText")]
        alt_text: String,
        contents: Box<Bubble>,
        #[serde(rename = "quickReply", skip_serializing_if = "Option::is_none")]
        quick_reply: Option<QuickReply>,
    },
}

impl Message {
    fn set_quick_reply(&mut self, quick: QuickReply) {
        match self {
            Self::Text { quick_reply, .. } | Self::Flex { quick_reply, .. } => {
                *quick_reply = Some(quick);
            }
        }
    }
}

#[derive(Debug, Serialize)]
pub struct QuickReply {
    items: Vec<QuickReplyItem>,
}

#[derive(Debug, Serialize)]
struct QuickReplyItem {
    /// Always "action".
    #[serde(rename = "type")]
    kind: &'static str,
    action: Action,
}

/// A LINE action, of a quick reply or a card's button.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Action {
    Location {
        label: String,
    },
    CameraRoll {
        label: String,
    },
    Postback {
        label: String,
        data: String,
        #[serde(rename = "displayText")]
        display_text: String,
    },
}

/// The LINE messages for a list of replies, in order.
#[must_use]
pub fn messages(replies: &[Outbound]) -> Vec<Message> {
    let mut out = Vec::new();
    let mut quick_reply = None;
    for reply in replies {
        match reply {
            Outbound::Text { text } => out.extend(
                split_utf16(text, MAX_TEXT_UTF16)
                    .into_iter()
                    .map(text_message),
            ),
            Outbound::QuickReplies { text, choices } => {
                out.extend(
                    split_utf16(text, MAX_TEXT_UTF16)
                        .into_iter()
                        .map(text_message),
                );
                quick_reply = Some(quick_reply_object(choices));
            }
            Outbound::Card(card) => out.push(flex_card(card)),
        }
    }
    // The quick reply of the last reply that had one rides on the last message.
    if let (Some(quick_reply), Some(last)) = (quick_reply, out.last_mut()) {
        last.set_quick_reply(quick_reply);
    }
    out
}

fn text_message(text: String) -> Message {
    Message::Text {
        text,
        quick_reply: None,
    }
}

fn quick_reply_object(choices: &[Choice]) -> QuickReply {
    QuickReply {
        items: choices
            .iter()
            .take(MAX_CHOICES)
            .map(|choice| QuickReplyItem {
                kind: "action",
                action: action(choice, MAX_QUICK_REPLY_LABEL),
            })
            .collect(),
    }
}

/// A choice as a LINE action: sharing a location or a photo opens the LINE app's own
/// pickers; anything else is a postback that shows the label as the resident's message.
fn action(choice: &Choice, max_label: usize) -> Action {
    let label = truncate_chars(&choice.label, max_label);
    match choice.payload.as_str() {
        SHARE_LOCATION => Action::Location { label },
        SHARE_PHOTO => Action::CameraRoll { label },
        payload => Action::Postback {
            label,
            data: payload.to_owned(),
            display_text: truncate_chars(&choice.label, 300),
        },
    }
}

/// A card as a Flex bubble: the title in the header, each line as wrapped text, buttons
/// in the footer.
fn flex_card(card: &Card) -> Message {
    let body = card
        .lines
        .iter()
        .map(|line| {
            let text = split_utf16(line, MAX_CARD_LINE_UTF16)
                .into_iter()
                .next()
                .unwrap_or_default();
            // LINE refuses an empty text component.
            let text = if text.is_empty() {
                " ".to_owned()
            } else {
                text
            };
            Component::Text {
                text,
                wrap: true,
                size: Some("sm"),
                weight: None,
                color: None,
            }
        })
        .collect();
    let footer = (!card.buttons.is_empty()).then(|| FlexBox {
        kind: "box",
        layout: "vertical",
        background_color: None,
        spacing: None,
        contents: card
            .buttons
            .iter()
            .map(|choice| Component::Button {
                style: "link",
                height: "sm",
                action: action(choice, MAX_BUTTON_LABEL),
            })
            .collect(),
    });
    let bubble = Bubble {
        kind: "bubble",
        header: FlexBox {
            kind: "box",
            layout: "vertical",
            background_color: Some(ACCENT),
            spacing: None,
            contents: vec![Component::Text {
                text: card.title.clone(),
                wrap: true,
                size: None,
                weight: Some("bold"),
                color: Some("#FFFFFF"),
            }],
        },
        body: FlexBox {
            kind: "box",
            layout: "vertical",
            background_color: None,
            spacing: Some("sm"),
            contents: body,
        },
        footer,
    };
    let alt_text = std::iter::once(card.title.as_str())
        .chain(card.lines.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("\n");
    Message::Flex {
        alt_text: truncate_chars(&alt_text, MAX_ALT_TEXT),
        contents: Box::new(bubble),
        quick_reply: None,
    }
}

/// A Flex bubble, as the Messaging API takes it (the parts of it that cards use).
#[derive(Debug, Serialize)]
pub struct Bubble {
    /// Always "bubble".
    #[serde(rename = "type")]
    kind: &'static str,
    header: FlexBox,
    body: FlexBox,
    #[serde(skip_serializing_if = "Option::is_none")]
    footer: Option<FlexBox>,
}

/// A Flex box component.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FlexBox {
    /// Always "box".
    #[serde(rename = "type")]
    kind: &'static str,
    layout: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    background_color: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spacing: Option<&'static str>,
    contents: Vec<Component>,
}

/// A component inside a Flex box.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Component {
    Text {
        text: String,
        wrap: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        size: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        weight: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        color: Option<&'static str>,
    },
    Button {
        style: &'static str,
        height: &'static str,
        action: Action,
    },
}

/// Splits a text into pieces of at most `max_units` UTF-16 code units.
#[must_use]
pub fn split_utf16(text: &str, max_units: usize) -> Vec<String> {
    crate::thai::split_text(text, max_units, char::len_utf16)
}

fn truncate_chars(text: &str, max_chars: usize) -> String {
    crate::thai::truncate(text, max_chars)
}

#[cfg(test)]
mod tests;
