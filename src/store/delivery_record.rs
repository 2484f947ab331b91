//! How a delivery is stored: a version byte, then postcard. A delivery is written when
//! its turn enqueues it and again when its attempt is written back, and read at each
//! attempt: as JSON, those were a fifth of what the outbox cost an answer (dates written
//! and parsed as text, every field by name).
//!
//! The stored form is its own set of types, borrowed from the `Delivery` when written:
//! postcard writes fields by position, so these types are the format, and a change to
//! them is a new version. The domain types keep their JSON shape for the web chat and
//! the dashboard. Records of versions 1 and 2 (JSON, beginning with `{`) are still read.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::delivery::ChannelMessage;
use crate::domain::Channel;
use crate::engine::{Card, Choice, Outbound};
use crate::store::outbox::{Body, Delivery, DeliveryState, Route, DELIVERY_RECORD_VERSION};
use crate::store::{Error, Result};

/// The stored form of a `Delivery`, after its version byte.
#[derive(Serialize, Deserialize)]
struct Record<'a> {
    id: u64,
    route: RouteRecord<'a>,
    case_id: Option<u64>,
    body: BodyRecord<'a>,
    state: DeliveryState,
    attempts: u32,
    progress: u32,
    reply_tried: bool,
    marked_in: Option<u64>,
    sensitive: bool,
    next_attempt_ms: u64,
    last_error: Option<Cow<'a, str>>,
    created_at: Moment,
    finished_at: Option<Moment>,
    update_id: Option<u64>,
    reply_by_ms: Option<u64>,
}

/// A moment to the nanosecond, as chrono keeps it: seconds and nanoseconds since 1970.
#[derive(Serialize, Deserialize)]
struct Moment(i64, u32);

impl From<DateTime<Utc>> for Moment {
    fn from(at: DateTime<Utc>) -> Self {
        Self(at.timestamp(), at.timestamp_subsec_nanos())
    }
}

impl Moment {
    fn at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.0, self.1).unwrap_or_default()
    }
}

#[derive(Serialize, Deserialize)]
enum RouteRecord<'a> {
    Destination(Cow<'a, str>),
    Channel(Channel),
}

#[derive(Serialize, Deserialize)]
enum BodyRecord<'a> {
    Chat(ChatRecord<'a>),
    Json(Cow<'a, str>),
    Sent(u64),
    Wiped,
}

#[derive(Serialize, Deserialize)]
struct ChatRecord<'a> {
    to: Cow<'a, str>,
    to_many: Cow<'a, [String]>,
    reply_token: Option<Cow<'a, str>>,
    reply_by_ms: Option<u64>,
    messages: Vec<OutboundRecord<'a>>,
    human_agent: bool,
}

#[derive(Serialize, Deserialize)]
enum OutboundRecord<'a> {
    Text(Cow<'a, str>),
    QuickReplies(Cow<'a, str>, Cow<'a, [Choice]>),
    Card(Cow<'a, Card>),
}

/// The delivery's record: the version byte, then postcard.
pub(super) fn encode_delivery(delivery: &Delivery) -> Result<Vec<u8>> {
    encode_delivery_with_body(delivery, &delivery.body)
}

/// The record of `delivery` with `body` in place of its own: a new delivery is encoded
/// from the turn's message without a copy of it.
pub(super) fn encode_delivery_with_body(delivery: &Delivery, body: &Body) -> Result<Vec<u8>> {
    let record = Record {
        id: delivery.id,
        route: match &delivery.route {
            Route::Destination { id } => RouteRecord::Destination(Cow::Borrowed(id)),
            Route::Channel { channel } => RouteRecord::Channel(*channel),
        },
        case_id: delivery.case_id,
        body: body_record(body),
        state: delivery.state,
        attempts: delivery.attempts,
        progress: delivery.progress,
        reply_tried: delivery.reply_tried,
        marked_in: delivery.marked_in,
        sensitive: delivery.sensitive,
        next_attempt_ms: delivery.next_attempt_ms,
        last_error: delivery.last_error.as_deref().map(Cow::Borrowed),
        created_at: delivery.created_at.into(),
        finished_at: delivery.finished_at.map(Moment::from),
        update_id: delivery.update_id,
        reply_by_ms: delivery.reply_by_ms,
    };
    let mut bytes = Vec::with_capacity(256);
    bytes.push(DELIVERY_RECORD_VERSION);
    postcard::to_extend(&record, bytes).map_err(|source| Error::Binary {
        tree: "due_delivery",
        source,
    })
}

/// A delivery read back from its record, binary or (written by an earlier version) JSON.
pub(super) fn decode_delivery(tree: &'static str, bytes: &[u8]) -> Result<Delivery> {
    match bytes.split_first() {
        Some((&DELIVERY_RECORD_VERSION, rest)) => {
            let record: Record<'_> =
                postcard::from_bytes(rest).map_err(|source| Error::Binary { tree, source })?;
            delivery_of(record).map_err(|source| Error::Corrupt { tree, source })
        }
        // Versions 1 and 2: a JSON object.
        _ => crate::store::decode(tree, bytes),
    }
}

fn body_record(body: &Body) -> BodyRecord<'_> {
    match body {
        Body::Chat(message) => BodyRecord::Chat(ChatRecord {
            to: Cow::Borrowed(&message.to),
            to_many: Cow::Borrowed(&message.to_many),
            reply_token: message.reply_token.as_deref().map(Cow::Borrowed),
            reply_by_ms: message.reply_by_ms,
            messages: message
                .messages
                .iter()
                .map(|outbound| match outbound {
                    Outbound::Text { text } => OutboundRecord::Text(Cow::Borrowed(text)),
                    Outbound::QuickReplies { text, choices } => {
                        OutboundRecord::QuickReplies(Cow::Borrowed(text), Cow::Borrowed(choices))
                    }
                    Outbound::Card(card) => OutboundRecord::Card(Cow::Borrowed(card)),
                })
                .collect(),
            human_agent: message.human_agent,
        }),
        Body::Json(text) => BodyRecord::Json(Cow::Borrowed(text.get())),
        Body::Sent { n_recipients } => BodyRecord::Sent(*n_recipients),
        Body::Wiped => BodyRecord::Wiped,
    }
}

fn delivery_of(record: Record<'_>) -> serde_json::Result<Delivery> {
    Ok(Delivery {
        v: DELIVERY_RECORD_VERSION,
        id: record.id,
        route: match record.route {
            RouteRecord::Destination(id) => Route::Destination {
                id: id.into_owned(),
            },
            RouteRecord::Channel(channel) => Route::Channel { channel },
        },
        case_id: record.case_id,
        body: body_of(record.body)?,
        state: record.state,
        attempts: record.attempts,
        progress: record.progress,
        reply_tried: record.reply_tried,
        marked_in: record.marked_in,
        reply_marked_now: false,
        sensitive: record.sensitive,
        next_attempt_ms: record.next_attempt_ms,
        last_error: record.last_error.map(Cow::into_owned),
        created_at: record.created_at.at(),
        finished_at: record.finished_at.as_ref().map(Moment::at),
        update_id: record.update_id,
        reply_by_ms: record.reply_by_ms,
    })
}

fn body_of(record: BodyRecord<'_>) -> serde_json::Result<Body> {
    Ok(match record {
        BodyRecord::Chat(chat) => Body::Chat(ChannelMessage {
            to: chat.to.into_owned(),
            to_many: chat.to_many.into_owned(),
            reply_token: chat.reply_token.map(Cow::into_owned),
            reply_by_ms: chat.reply_by_ms,
            messages: chat
                .messages
                .into_iter()
                .map(|outbound| match outbound {
                    OutboundRecord::Text(text) => Outbound::Text {
                        text: text.into_owned(),
                    },
                    OutboundRecord::QuickReplies(text, choices) => Outbound::QuickReplies {
                        text: text.into_owned(),
                        choices: choices.into_owned(),
                    },
                    OutboundRecord::Card(card) => Outbound::Card(card.into_owned()),
                })
                .collect(),
            human_agent: chat.human_agent,
        }),
        // Checked again, as any JSON read from disk.
        BodyRecord::Json(text) => {
            Body::Json(serde_json::value::RawValue::from_string(text.into_owned())?)
        }
        BodyRecord::Sent(n_recipients) => Body::Sent { n_recipients },
        BodyRecord::Wiped => Body::Wiped,
    })
}
