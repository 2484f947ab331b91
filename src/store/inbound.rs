//! The inbound queue: platform events recorded durably before the platform is answered
//! 200, and processed after, off the request path. An event id already seen (queued or
//! processed) is not queued again, so a redelivery is recorded once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::ConflictableTransactionError;
use sled::Transactional as _;

use crate::domain::Channel;
use crate::store::{
    decode, encode, keys, transaction_result, Error, OutcomeRecord, Result, Store, RECORD_VERSION,
};

/// An event waiting to be processed, as the channel's gate read it: its chat (for
/// ordering and limits) and the channel's own compact record of the event (`payload`),
/// so that no later stage reads the platform's JSON again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedEvent {
    pub seq: u64,
    pub channel: Channel,
    pub event_id: String,
    /// The chat it belongs to: a user, group or chat id. One chat's events run in order.
    pub chat: String,
    /// Whether it counts against the person's limit: what a person sends in a private
    /// chat (a message, a tap); follows, unfollows and group events never count.
    pub counted: bool,
    pub received_at: DateTime<Utc>,
    /// The channel's record of the event, in the channel's own encoding.
    pub payload: Vec<u8>,
}

/// An event for the queue, as a channel's gate hands it over.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub channel: Channel,
    pub event_id: String,
    pub chat: String,
    pub counted: bool,
    pub payload: Vec<u8>,
    /// `false` for an event to record but never answer (LINE's standby mode): it is
    /// marked processed without being queued.
    pub process: bool,
}

/// What became of an event handed to the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// New: queued (or, with `process: false`, recorded as processed).
    New,
    /// Seen before: nothing was written.
    Duplicate,
}

/// The stored form of a queued event: `QUEUE_RECORD_VERSION`, then postcard.
#[derive(Serialize, Deserialize)]
struct QueueRecord<'a> {
    channel: Channel,
    #[serde(borrow)]
    event_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    chat: std::borrow::Cow<'a, str>,
    counted: bool,
    received_at_ms: i64,
    #[serde(borrow)]
    payload: std::borrow::Cow<'a, [u8]>,
}

/// Version of `QueueRecord`; a record that starts with `{` is the JSON of version 1.
const QUEUE_RECORD_VERSION: u8 = 2;

/// A queued event of the JSON era (before the compact records): its raw platform JSON
/// becomes the payload, which the channels still read.
#[derive(Deserialize)]
struct JsonQueueRecord {
    channel: Channel,
    event_id: String,
    raw: String,
    received_at: DateTime<Utc>,
}

fn encode_queued(event: &NewEvent, received_at: DateTime<Utc>) -> Result<Vec<u8>> {
    let record = QueueRecord {
        channel: event.channel,
        event_id: event.event_id.as_str().into(),
        chat: event.chat.as_str().into(),
        counted: event.counted,
        received_at_ms: received_at.timestamp_millis(),
        payload: event.payload.as_slice().into(),
    };
    let bytes = vec![QUEUE_RECORD_VERSION];
    postcard::to_extend(&record, bytes).map_err(|source| Error::Binary {
        tree: "channelseq_event",
        source,
    })
}

fn decode_queued(seq: u64, bytes: &[u8]) -> Result<QueuedEvent> {
    match bytes.split_first() {
        Some((&QUEUE_RECORD_VERSION, rest)) => {
            let record: QueueRecord<'_> =
                postcard::from_bytes(rest).map_err(|source| Error::Binary {
                    tree: "channelseq_event",
                    source,
                })?;
            Ok(QueuedEvent {
                seq,
                channel: record.channel,
                event_id: record.event_id.into_owned(),
                chat: record.chat.into_owned(),
                counted: record.counted,
                received_at: DateTime::from_timestamp_millis(record.received_at_ms)
                    .unwrap_or_default(),
                payload: record.payload.into_owned(),
            })
        }
        _ => {
            let record: JsonQueueRecord = decode("channelseq_event", bytes)?;
            Ok(QueuedEvent {
                seq,
                channel: record.channel,
                event_id: record.event_id,
                // Not read at the gate then: all such events run one after the other.
                chat: String::new(),
                counted: false,
                received_at: record.received_at,
                payload: record.raw.into_bytes(),
            })
        }
    }
}

impl Store {
    /// Records events received together, in one transaction: each new one is queued
    /// (or, with `process: false`, only marked processed); one seen before (queued or
    /// processed) writes nothing. Returns what became of each, in order.
    pub fn enqueue_inbound(
        &self,
        events: &[NewEvent],
        received_at: DateTime<Utc>,
    ) -> Result<Vec<Enqueued>> {
        let mut prepared = Vec::with_capacity(events.len());
        for event in events {
            let queued = event
                .process
                .then(|| encode_queued(event, received_at))
                .transpose()?;
            prepared.push((
                keys::event(&self.secret, event.channel, &event.event_id),
                queued,
                event.channel,
            ));
        }
        let result =
            (&self.eventkey_outcome, &self.channelseq_event).transaction(|(outcomes, queue)| {
                let mut enqueued = Vec::with_capacity(prepared.len());
                for (event_key, queued, channel) in &prepared {
                    // Also a duplicate within this very batch: the first one counts.
                    if outcomes.get(event_key)?.is_some() {
                        enqueued.push(Enqueued::Duplicate);
                        continue;
                    }
                    let mut outcome = OutcomeRecord {
                        v: RECORD_VERSION,
                        at_ms: received_at.timestamp_millis(),
                        pending: false,
                        replies: None,
                        queue_place: None,
                    };
                    if let Some(queued) = queued {
                        let seq = queue.generate_id()?;
                        queue.insert(keys::queued(*channel, seq), queued.as_slice())?;
                        // Its turn empties this place, which marks it processed.
                        outcome.pending = true;
                        outcome.queue_place = Some((*channel, seq));
                    }
                    let outcome = encode(&outcome).map_err(ConflictableTransactionError::Abort)?;
                    outcomes.insert(event_key.as_slice(), outcome)?;
                    enqueued.push(Enqueued::New);
                }
                Ok(enqueued)
            });
        transaction_result(result)
    }

    /// The oldest queued events of a channel, at most `limit`.
    pub fn queued_inbound(&self, channel: Channel, limit: usize) -> Result<Vec<QueuedEvent>> {
        let mut queued = Vec::new();
        for entry in self
            .channelseq_event
            .scan_prefix(keys::queued_prefix(channel))
            .take(limit)
        {
            let (key, value) = entry?;
            let seq = key
                .len()
                .checked_sub(8)
                .and_then(|at| keys::parse_id(&key[at..]))
                .unwrap_or_default();
            let event = decode_queued(seq, &value)?;
            queued.push(event);
        }
        Ok(queued)
    }

    /// Drops a queued event that cannot be processed (unreadable, or with nobody to
    /// answer). Its emptied queue place marks it processed, so that a redelivery does
    /// not bring it back (`OutcomeRecord::queue_place`).
    pub fn drop_inbound(&self, event: &QueuedEvent) -> Result<()> {
        self.channelseq_event
            .remove(keys::queued(event.channel, event.seq))?;
        Ok(())
    }

    pub fn n_queued_inbound(&self) -> usize {
        self.channelseq_event.len()
    }

    /// What waits in the store, read key by key so that a storage error shows: events
    /// received and not yet processed, deliveries not yet sent (nor dead).
    pub fn backlog(&self) -> Result<Backlog> {
        let mut backlog = Backlog::default();
        for key in self.channelseq_event.iter().keys() {
            key?;
            backlog.inbound_queued += 1;
        }
        for key in self.due_delivery.iter().keys() {
            key?;
            backlog.deliveries_pending += 1;
        }
        Ok(backlog)
    }
}

/// What waits in the store (`Store::backlog`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Backlog {
    pub inbound_queued: usize,
    pub deliveries_pending: usize,
}
