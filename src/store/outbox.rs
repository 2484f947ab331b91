//! The outbox: deliveries waiting to leave the process, with their retry schedule.
//!
//! A pending delivery lives in `due_delivery`, keyed by when it is next due and its id,
//! so the dispatcher reads what it must send, and only that, in one scan; a finished one
//! that is kept (a case's, an update's, a forward, a dead one) moves to
//! `deliveryid_delivery`. An answer is then written once and removed once: one tree
//! operation each way, where a record and a separate due index took two.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::TransactionalTree;
use sled::Transactional as _;

use crate::delivery::ChannelMessage;
use crate::domain::Channel;
use crate::store::delivery_record::{decode_delivery, encode_delivery};
use crate::store::{abort, keys, transaction_result, Result, Store, TxResult};

/// Version of the stored delivery: 1 and 2 were JSON (2 carries `reply_by_ms`); 3 is
/// binary (`delivery_record`).
pub(super) const DELIVERY_RECORD_VERSION: u8 = 3;
/// The first version whose records carry `reply_by_ms`.
const WITH_REPLY_BY: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Gave up after the last attempt; staff can see it and retry.
    Dead,
}

/// A delivery's body, typed: a chat message stays a `ChannelMessage` from the turn that
/// wrote it to the sender that renders it (stored in binary, `delivery_record`), so no
/// JSON is written or parsed on an answer's way. What a destination receives is JSON
/// text, fixed when the delivery was enqueued.
#[derive(Clone, Debug)]
pub enum Body {
    /// A message to a platform chat, rendered by the channel's adapter when sent.
    Chat(ChannelMessage),
    /// The JSON a destination receives (a division's webhook, the log); also the body
    /// of a delivery written as JSON by an earlier version, whatever its route.
    Json(Box<serde_json::value::RawValue>),
    /// A chat message once delivered: only how many it reached is kept.
    Sent { n_recipients: u64 },
    /// A body that held a receipt, wiped once finished.
    Wiped,
}

impl Body {
    /// A JSON body, serialised once.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Self> {
        serde_json::value::to_raw_value(value).map(Self::Json)
    }

    /// The chat message the body carries. A JSON body (written by an earlier version)
    /// is read as one.
    pub fn chat_message(&self) -> std::result::Result<ChannelMessage, String> {
        match self {
            Self::Chat(message) => Ok(message.clone()),
            Self::Json(text) => serde_json::from_str(text.get()).map_err(|e| e.to_string()),
            Self::Sent { .. } | Self::Wiped => Err("the message is no longer kept".to_owned()),
        }
    }

    /// The body as a JSON tree, for the rare readers that look into it (the dashboard,
    /// the log destination, tests); `Value::Null` if a JSON body cannot be read.
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        match self {
            Self::Chat(message) => serde_json::to_value(message).unwrap_or_default(),
            Self::Json(text) => serde_json::from_str(text.get()).unwrap_or_default(),
            Self::Sent { n_recipients } => {
                serde_json::json!({ "sent": true, "n_recipients": n_recipients })
            }
            Self::Wiped => serde_json::json!({ "wiped": "held a receipt" }),
        }
    }

    /// How many a chat message is addressed to (its `to_many`, or one), or reached once
    /// sent.
    #[must_use]
    pub fn recipients(&self) -> u64 {
        /// Of a JSON body, read without a tree.
        #[derive(Deserialize)]
        struct Addressed {
            #[serde(default)]
            to_many: Vec<serde::de::IgnoredAny>,
            n_recipients: Option<u64>,
        }
        let n = match self {
            Self::Chat(message) => message.to_many.len() as u64,
            Self::Sent { n_recipients } => *n_recipients,
            Self::Json(text) => serde_json::from_str::<Addressed>(text.get())
                .map_or(1, |a| a.n_recipients.unwrap_or(a.to_many.len() as u64)),
            Self::Wiped => 1,
        };
        n.max(1)
    }

    /// The JSON text (what a destination's webhook is sent).
    #[must_use]
    pub fn json_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Self::Json(text) => std::borrow::Cow::Borrowed(text.get()),
            other => std::borrow::Cow::Owned(other.json().to_string()),
        }
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Chat(a), Self::Chat(b)) => a == b,
            // The same text: `RawValue` has no equality of its own.
            (Self::Json(a), Self::Json(b)) => a.get() == b.get(),
            (Self::Sent { n_recipients: a }, Self::Sent { n_recipients: b }) => a == b,
            (Self::Wiped, Self::Wiped) => true,
            _ => false,
        }
    }
}

impl std::fmt::Display for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.json_text())
    }
}

impl From<&serde_json::Value> for Body {
    fn from(value: &serde_json::Value) -> Self {
        // A `Value` always serialises.
        Self::of(value).expect("a JSON value serialises")
    }
}

/// Written as JSON, for records of the JSON versions (tests write such records to check
/// that they are still read).
impl Serialize for Body {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::Chat(message) => message.serialize(serializer),
            Self::Json(text) => text.serialize(serializer),
            other => other.json().serialize(serializer),
        }
    }
}

/// Read from a JSON record (versions 1 and 2): kept as the JSON it was.
impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        Box::<serde_json::value::RawValue>::deserialize(deserializer).map(Self::Json)
    }
}

/// Where a delivery goes. In a JSON record (versions 1 and 2) written internally tagged
/// (`{"kind": "channel", …}`), read back through `RouteFields`, a plain struct: serde
/// buffers every field of an internally tagged enum before it reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "RouteFields")]
pub enum Route {
    /// A destination of `tambon.toml` (a division's webhook, the log).
    Destination { id: String },
    /// A chat on a platform, sent by that channel's adapter; the body is a
    /// `delivery::ChannelMessage`.
    Channel { channel: Channel },
}

/// What a `Route` is written as: its tag and the field of each kind.
#[derive(Deserialize)]
struct RouteFields {
    kind: RouteKind,
    id: Option<String>,
    channel: Option<Channel>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RouteKind {
    Destination,
    Channel,
}

impl TryFrom<RouteFields> for Route {
    type Error = &'static str;

    fn try_from(fields: RouteFields) -> std::result::Result<Self, Self::Error> {
        match (fields.kind, fields.id, fields.channel) {
            (RouteKind::Destination, Some(id), _) => Ok(Self::Destination { id }),
            (RouteKind::Channel, _, Some(channel)) => Ok(Self::Channel { channel }),
            (RouteKind::Destination, None, _) => Err("a destination route without its `id`"),
            (RouteKind::Channel, _, None) => Err("a channel route without its `channel`"),
        }
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Destination { id } => f.write_str(id),
            Self::Channel { channel } => write!(f, "{channel} chat"),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Delivery {
    pub v: u8,
    pub id: u64,
    pub route: Route,
    pub case_id: Option<u64>,
    /// What to send, fixed when the delivery was enqueued.
    pub body: Body,
    pub state: DeliveryState,
    pub attempts: u32,
    /// How many parts were already sent, when a platform takes a message in several
    /// calls: a retry goes on from there and sends nothing twice.
    #[serde(default)]
    pub progress: u32,
    /// A reply with the platform's single-use reply token was tried, and may have been
    /// taken, even if no answer came back (a crash, a timeout). Written to disk before
    /// the call: a later attempt must not send the same part again by another route.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reply_tried: bool,
    /// The opening of the store (`Store::opening`) that wrote the delivery already marked
    /// `reply_tried` (a fresh reply token, marked in the turn's own transaction): until
    /// an attempt by that same opening, the mark means "about to be tried", not "may
    /// have been tried", so the dispatcher need not write a mark before it spends the
    /// token. Taken (cleared) by the sender's `prepare`; another opening (a restart)
    /// reads it as an ordinary mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marked_in: Option<u64>,
    /// Not stored: `reply_tried` was set for this very attempt (by the sender's
    /// `prepare`), so the token has not been tried yet.
    #[serde(skip)]
    pub reply_marked_now: bool,
    /// The body holds a secret (an anonymous receipt): it is wiped once delivered.
    #[serde(default)]
    pub sensitive: bool,
    pub next_attempt_ms: u64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The update (to subscribers) this delivery carries, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_id: Option<u64>,
    /// Until when (Unix ms) the body's single-use reply token may be used; none when it
    /// has none. Written at enqueue from the typed message, so that neither the turn nor
    /// the sender reads the body to find out (records of version 1 did not have it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_by_ms: Option<u64>,
}

impl Delivery {
    #[must_use]
    pub fn new(
        id: u64,
        route: Route,
        case_id: Option<u64>,
        body: Body,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            v: DELIVERY_RECORD_VERSION,
            id,
            route,
            case_id,
            body,
            state: DeliveryState::Pending,
            attempts: 0,
            progress: 0,
            reply_tried: false,
            marked_in: None,
            reply_marked_now: false,
            sensitive: false,
            next_attempt_ms: unix_ms(now),
            last_error: None,
            created_at: now,
            finished_at: None,
            update_id: None,
            reply_by_ms: None,
        }
    }

    /// Whether the delivery is a chat message with a single-use reply token still fresh.
    #[must_use]
    pub fn has_fresh_reply_token(&self, now: DateTime<Utc>) -> bool {
        if self.v < WITH_REPLY_BY {
            return has_fresh_reply_token(&self.route, &self.body, now);
        }
        matches!(self.route, Route::Channel { .. })
            && self.reply_by_ms.is_some_and(|by| unix_ms(now) < by)
    }
}

/// Whether a delivery's body is a chat message with a single-use reply token that is
/// still fresh, read off the body: for deliveries written before `Delivery::reply_by_ms`.
#[must_use]
pub fn has_fresh_reply_token(route: &Route, body: &Body, now: DateTime<Utc>) -> bool {
    /// The two fields asked about; the rest of the body is skipped, not built.
    #[derive(Deserialize)]
    struct Token<'a> {
        // A `Cow` borrows the token, and still reads one written with escapes.
        #[serde(borrow, default)]
        reply_token: Option<std::borrow::Cow<'a, str>>,
        #[serde(default)]
        reply_by_ms: Option<u64>,
    }
    let fresh = |reply_token: bool, reply_by_ms: Option<u64>| {
        reply_token && reply_by_ms.is_some_and(|by| unix_ms(now) < by)
    };
    matches!(route, Route::Channel { .. })
        && match body {
            Body::Chat(message) => fresh(message.reply_token.is_some(), message.reply_by_ms),
            Body::Json(text) => serde_json::from_str::<Token>(text.get())
                .is_ok_and(|token| fresh(token.reply_token.is_some(), token.reply_by_ms)),
            Body::Sent { .. } | Body::Wiped => false,
        }
}

#[must_use]
pub fn unix_ms(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp_millis()).unwrap_or(0)
}

/// What is kept of a delivery once written back, if anything. An answer in a chat that
/// no case or update refers to is forgotten once delivered: it was the reply to a
/// question, the resident has it, and keeping one record an event would grow the outbox
/// (and every scan of it: dead letters, update counts) with the traffic. Otherwise, once
/// a chat message is out its body is not needed again, and a body with a receipt goes as
/// soon as it is finished, delivered or not. Forwards to divisions are kept whole, as the
/// record of what each division was sent.
fn kept_record(mut delivery: Delivery) -> Result<Option<Vec<u8>>> {
    let finished = delivery.state != DeliveryState::Pending;
    let is_chat = matches!(delivery.route, Route::Channel { .. });
    let delivered_chat = is_chat && delivery.state == DeliveryState::Delivered;
    if delivered_chat
        && delivery.case_id.is_none()
        && delivery.update_id.is_none()
        && !delivery.sensitive
    {
        return Ok(None);
    }
    if finished && (delivery.sensitive || delivered_chat) {
        delivery.body = if delivery.sensitive {
            Body::Wiped
        } else {
            // How many it reached stays: an update's delivered count is read here.
            Body::Sent {
                n_recipients: delivery.body.recipients(),
            }
        };
    }
    encode_delivery(&delivery).map(Some)
}

/// Puts a pending delivery in the schedule, at its due time: inside the transaction of
/// whatever enqueues it.
pub(super) fn schedule(due: &TransactionalTree, delivery: &Delivery) -> TxResult<()> {
    due.insert(
        &keys::due(delivery.next_attempt_ms, delivery.id),
        encode_delivery(delivery).map_err(abort)?,
    )?;
    Ok(())
}

impl Store {
    /// Pending deliveries due at `now`, earliest first, at most `limit`.
    pub fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>> {
        let now_ms = unix_ms(now);
        let mut due = Vec::new();
        for entry in self.due_delivery.iter() {
            let (key, record) = entry?;
            let Some((due_ms, _)) = keys::parse_due(&key) else {
                continue;
            };
            if due_ms > now_ms || due.len() >= limit {
                break;
            }
            due.push(decode_delivery("due_delivery", &record)?);
        }
        Ok(due)
    }

    /// When the next pending delivery is due, in Unix milliseconds.
    pub fn next_due_ms(&self) -> Result<Option<u64>> {
        Ok(self
            .due_delivery
            .first()?
            .and_then(|(key, _)| keys::parse_due(&key))
            .map(|(due_ms, _)| due_ms))
    }

    /// The delivery `id`, pending or finished.
    pub fn delivery(&self, id: u64) -> Result<Option<Delivery>> {
        if let Some(record) = self.deliveryid_delivery.get(keys::id(id))? {
            return decode_delivery("deliveryid_delivery", &record).map(Some);
        }
        // Pending ones are few: the schedule is read key by key for it.
        for entry in self.due_delivery.iter() {
            let (key, record) = entry?;
            if keys::parse_due(&key).is_some_and(|(_, of)| of == id) {
                return decode_delivery("due_delivery", &record).map(Some);
            }
        }
        Ok(None)
    }

    /// Writes the delivery's new state and moves it in the schedule: out of it when
    /// delivered or dead, to its new time when rescheduled.
    pub fn update_delivery(&self, previous_due_ms: u64, delivery: &Delivery) -> Result<()> {
        self.finish_deliveries(vec![(previous_due_ms, delivery.clone())])
    }

    /// `update_delivery` for a batch, in one transaction: each delivery with the due
    /// time it had when its attempt began.
    pub fn finish_deliveries(&self, finished: Vec<(u64, Delivery)>) -> Result<()> {
        let mut prepared = Vec::with_capacity(finished.len());
        for (previous_due_ms, delivery) in finished {
            let old_due = keys::due(previous_due_ms, delivery.id);
            let id = delivery.id;
            let next = if delivery.state == DeliveryState::Pending {
                let key = keys::due(delivery.next_attempt_ms, id);
                Placed::Scheduled(key, encode_delivery(&delivery)?)
            } else {
                match kept_record(delivery)? {
                    Some(record) => Placed::Kept(record),
                    None => Placed::Forgotten,
                }
            };
            prepared.push((id, old_due, next));
        }
        if !prepared
            .iter()
            .any(|(_, _, next)| matches!(next, Placed::Kept(_)))
        {
            // The schedule alone changes (answers forgotten, retries moved): one batch of
            // that tree is as atomic as a transaction, and blind, where a transaction
            // reads every key it writes first.
            let mut batch = sled::Batch::default();
            for (_, old_due, next) in prepared {
                batch.remove(&old_due);
                if let Placed::Scheduled(key, record) = next {
                    batch.insert(&key, record);
                }
            }
            self.due_delivery.apply_batch(batch)?;
            return Ok(());
        }
        let result =
            (&self.deliveryid_delivery, &self.due_delivery).transaction(|(deliveries, due)| {
                for (id, old_due, next) in &prepared {
                    due.remove(old_due)?;
                    match next {
                        Placed::Scheduled(key, record) => {
                            due.insert(key, record.as_slice())?;
                        }
                        Placed::Kept(record) => {
                            deliveries.insert(&keys::id(*id), record.as_slice())?;
                        }
                        Placed::Forgotten => {}
                    }
                }
                Ok(())
            });
        transaction_result(result)
    }

    /// Writes deliveries in the middle of an attempt, in their places in the schedule:
    /// what senders must remember before calls they cannot take back.
    pub fn save_deliveries(&self, deliveries: &[Delivery]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for delivery in deliveries {
            batch.insert(
                &keys::due(delivery.next_attempt_ms, delivery.id),
                encode_delivery(delivery)?,
            );
        }
        self.due_delivery.apply_batch(batch)?;
        Ok(())
    }

    /// Every delivery, pending or finished, oldest first.
    pub fn all_deliveries(&self) -> impl Iterator<Item = Result<Delivery>> + '_ {
        let pending: Vec<Result<Delivery>> = self
            .due_delivery
            .iter()
            .map(|entry| decode_delivery("due_delivery", &entry?.1))
            .collect();
        let finished = self
            .deliveryid_delivery
            .iter()
            .map(|entry| decode_delivery("deliveryid_delivery", &entry?.1));
        oldest_first(pending, finished)
    }

    /// Puts a dead delivery back in the queue, due now.
    pub fn retry_delivery(&self, id: u64, now: DateTime<Utc>) -> Result<bool> {
        let key = keys::id(id);
        let Some(record) = self.deliveryid_delivery.get(key)? else {
            return Ok(false);
        };
        let mut delivery = decode_delivery("deliveryid_delivery", &record)?;
        if delivery.state != DeliveryState::Dead {
            return Ok(false);
        }
        delivery.state = DeliveryState::Pending;
        delivery.attempts = 0;
        delivery.finished_at = None;
        delivery.next_attempt_ms = unix_ms(now);
        let result =
            (&self.deliveryid_delivery, &self.due_delivery).transaction(|(deliveries, due)| {
                deliveries.remove(&key)?;
                schedule(due, &delivery)
            });
        transaction_result(result)?;
        Ok(true)
    }

    /// Moves the deliveries of a store written before the schedule held them (its
    /// `due_deliveryid` indexed ids of records in `deliveryid_delivery`) into the
    /// schedule, in one transaction, and drops the old index.
    pub(super) fn schedule_indexed_deliveries(&self) -> Result<()> {
        let db = &self.db;
        const OLD_INDEX: &[u8] = b"due_deliveryid";
        if !db.tree_names().iter().any(|name| name == OLD_INDEX) {
            return Ok(());
        }
        let index = db.open_tree(OLD_INDEX)?;
        // Read before the transaction: a tree read inside one would wait on the
        // transaction's own lock.
        let indexed = index.iter().keys().collect::<sled::Result<Vec<_>>>()?;
        let result = (&index, &self.deliveryid_delivery, &self.due_delivery).transaction(
            |(index, deliveries, due)| {
                for key in &indexed {
                    if let Some((_, id)) = keys::parse_due(key) {
                        if let Some(record) = deliveries.remove(&keys::id(id))? {
                            due.insert(key, record)?;
                        }
                    }
                    index.remove(key)?;
                }
                Ok(())
            },
        );
        transaction_result(result)?;
        db.flush()?;
        db.drop_tree(OLD_INDEX)?;
        Ok(())
    }
}

/// Where a delivery goes once its attempt is written back.
enum Placed {
    /// Still pending: back in the schedule at its new time (key, record).
    Scheduled([u8; 16], Vec<u8>),
    /// Finished and kept (`kept_record`).
    Kept(Vec<u8>),
    /// Finished, and nothing refers to it.
    Forgotten,
}

/// Two sequences of deliveries merged by id: the pending ones (few, in due order) and
/// the finished ones (in id order).
fn oldest_first<'a>(
    mut pending: Vec<Result<Delivery>>,
    finished: impl Iterator<Item = Result<Delivery>> + 'a,
) -> impl Iterator<Item = Result<Delivery>> + 'a {
    // An error sorts first, so that it shows.
    pending.sort_by_key(|delivery| delivery.as_ref().map_or(0, |d| d.id));
    let mut pending = pending.into_iter().peekable();
    let mut finished = finished.peekable();
    std::iter::from_fn(move || {
        let take_pending = match (pending.peek(), finished.peek()) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(Ok(p)), Some(Ok(f))) => p.id < f.id,
            (Some(Err(_)), _) => true,
            (Some(Ok(_)), Some(Err(_))) => false,
        };
        if take_pending {
            pending.next()
        } else {
            finished.next()
        }
    })
}

impl Store {
    /// Puts deliveries in the outbox unless `marker` was already set, and sets it, in
    /// one transaction: a job that runs again (a restart, a second timer) sends nothing
    /// twice. Returns whether it enqueued.
    pub fn enqueue_once(
        &self,
        marker: &str,
        outgoing: Vec<crate::store::Outgoing>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let key = format!("once:{marker}");
        let result = (&self.meta, &self.due_delivery).transaction(|(meta, due)| {
            if meta.get(key.as_bytes())?.is_some() {
                return Ok(false);
            }
            meta.insert(key.as_bytes(), &keys::id(unix_ms(now)))?;
            for item in &outgoing {
                let id = due.generate_id()?;
                let mut delivery =
                    Delivery::new(id, item.route.clone(), None, item.body.clone(), now);
                delivery.sensitive = item.sensitive;
                schedule(due, &delivery)?;
            }
            Ok(true)
        });
        transaction_result(result)
    }
}
