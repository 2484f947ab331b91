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
            (&self.eventkey_outcome, &self.inboundseq_event).transaction(|(outcomes, queue)| {
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
                    queue.insert(&keys::id(seq), bytes)?;
                }
                Ok(Enqueued::New)
            });
        match result {
            Ok(enqueued) => Ok(enqueued),
            Err(TransactionError::Abort(error)) => Err(error),
            Err(TransactionError::Storage(error)) => Err(Error::Sled(error)),
        }
    }

    /// The oldest queued events, at most `limit`.
    pub fn queued_inbound(&self, limit: usize) -> Result<Vec<QueuedEvent>> {
        let mut queued = Vec::new();
        for entry in self.inboundseq_event.iter().take(limit) {
            let (key, value) = entry?;
            let mut event: QueuedEvent = decode("inboundseq_event", &value)?;
            event.seq = keys::parse_id(&key).unwrap_or_default();
            queued.push(event);
        }
        Ok(queued)
    }

    /// Drops a queued event that cannot be processed (unreadable): it is logged by the
    /// caller and marked processed so that a redelivery does not bring it back.
    pub fn drop_inbound(&self, seq: u64) -> Result<()> {
        self.inboundseq_event.remove(keys::id(seq))?;
        Ok(())
    }

    pub fn n_queued_inbound(&self) -> usize {
        self.inboundseq_event.len()
    }
}
