//! The inbound queue: platform events recorded durably before the platform is answered
//! 200, and processed after, off the request path. An event id already seen (queued or
//! processed) is not queued again, so a redelivery is recorded once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional as _;

use crate::domain::Channel;
use crate::store::{decode, encode, keys, Error, OutcomeRecord, Result, Store, RECORD_VERSION};

/// An event waiting to be processed: its channel, id and the platform's JSON of it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueuedEvent {
    pub v: u8,
    #[serde(skip)]
    pub seq: u64,
    pub channel: Channel,
    pub event_id: String,
    pub raw: String,
    pub received_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// New: queued (or, with `process: false`, recorded as processed).
    New,
    /// Seen before: nothing was written.
    Duplicate,
}

impl Store {
    /// Records an event. With `process: false` (an event to record but never answer,
    /// like LINE's standby mode) it is marked processed without being queued.
    pub fn enqueue_inbound(
        &self,
        channel: Channel,
        event_id: &str,
        raw: &str,
        received_at: DateTime<Utc>,
        process: bool,
    ) -> Result<Enqueued> {
        let event_key = keys::event(&self.secret, channel, event_id);
        let outcome = encode(&OutcomeRecord {
            v: RECORD_VERSION,
            at_ms: received_at.timestamp_millis(),
            pending: process,
            replies: None,
        })?;
        let result =
            (&self.eventkey_outcome, &self.channelseq_event).transaction(|(outcomes, queue)| {
                if outcomes.get(&event_key)?.is_some() {
                    return Ok(Enqueued::Duplicate);
                }
                outcomes.insert(event_key.as_slice(), outcome.as_slice())?;
                if process {
                    let seq = queue.generate_id()?;
                    let queued = QueuedEvent {
                        v: RECORD_VERSION,
                        seq,
                        channel,
                        event_id: event_id.to_owned(),
                        raw: raw.to_owned(),
                        received_at,
                    };
                    let bytes = encode(&queued).map_err(ConflictableTransactionError::Abort)?;
                    queue.insert(keys::queued(channel, seq), bytes)?;
                }
                Ok(Enqueued::New)
            });
        match result {
            Ok(enqueued) => Ok(enqueued),
            Err(TransactionError::Abort(error)) => Err(error),
            Err(TransactionError::Storage(error)) => Err(Error::Sled(error)),
        }
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
            let mut event: QueuedEvent = decode("channelseq_event", &value)?;
            event.seq = key
                .len()
                .checked_sub(8)
                .and_then(|at| keys::parse_id(&key[at..]))
                .unwrap_or_default();
            queued.push(event);
        }
        Ok(queued)
    }

    /// Drops a queued event that cannot be processed (unreadable, or with nobody to
    /// answer), marking it processed so that a redelivery does not bring it back.
    pub fn drop_inbound(&self, event: &QueuedEvent) -> Result<()> {
        let outcome = encode(&OutcomeRecord {
            v: RECORD_VERSION,
            at_ms: event.received_at.timestamp_millis(),
            pending: false,
            replies: None,
        })?;
        let event_key = keys::event(&self.secret, event.channel, &event.event_id);
        let queue_key = keys::queued(event.channel, event.seq);
        (&self.eventkey_outcome, &self.channelseq_event)
            .transaction(|(outcomes, queue)| {
                outcomes.insert(event_key.as_slice(), outcome.as_slice())?;
                queue.remove(queue_key.as_slice())?;
                Ok(())
            })
            .map_err(|error: TransactionError<()>| match error {
                TransactionError::Storage(error) => Error::Sled(error),
                TransactionError::Abort(()) => {
                    Error::Sled(sled::Error::Unsupported("aborted".to_owned()))
                }
            })
    }

    /// Removes a queue entry whose event turned out to be processed already.
    pub fn remove_queued(&self, channel: Channel, seq: u64) -> Result<()> {
        self.channelseq_event.remove(keys::queued(channel, seq))?;
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
        for key in self.due_deliveryid.iter().keys() {
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
