//! The store: the only module that touches sled. It offers typed operations (load a
//! conversation, file a case, enqueue a delivery…) and never hands out trees or bytes.
//!
//! Every change that a resident is told about is first made durable with
//! `Store::sync`, which batches concurrent callers into one flush (group commit): under
//! load one fsync serves many events instead of one each.

mod audit;
mod cases;
mod chat_changes;
mod delivery_record;
mod groups;
mod inbound;
mod keys;
mod logins;
mod outbox;
mod people;
mod progress;
mod roles;
mod updates;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::domain::{Channel, ChatKey};
use crate::engine::{Conversation, Outbound};

pub use crate::domain::Linked;
pub use audit::{AuditEntry, AuditNote, AuditReport};
pub use cases::{CaseWrite, Outgoing, TurnWrite};
pub use chat_changes::{ChatChange, Enrolment, LinkRedemption};
pub use groups::Group;
pub use inbound::{Backlog, Enqueued, NewEvent, QueuedEvent};
pub use logins::{Login, Session, LOGIN_RECORD_VERSION};
pub use outbox::{has_fresh_reply_token, unix_ms, Body, Delivery, DeliveryState, Route};
pub use updates::FanoutStep;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// sled failed: disk full, I/O error, or the data directory is locked by another process.
    #[error("storage failure")]
    Sled(#[from] sled::Error),
    /// A record could not be read back: written by an incompatible version, or damaged.
    #[error("unreadable record in tree {tree}")]
    Corrupt {
        tree: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("a record could not be encoded")]
    Encode(#[source] serde_json::Error),
    /// A binary record (postcard) could not be written or read back.
    #[error("unreadable or unwritable binary record in tree {tree}")]
    Binary {
        tree: &'static str,
        #[source]
        source: postcard::Error,
    },
    /// A change names a case that does not exist.
    #[error("no case with id {0}")]
    NoSuchCase(u64),
    /// What a turn read before its transaction changed meanwhile (a one-time code spent
    /// by another turn): nothing was written, and the turn can run again.
    #[error("a concurrent turn changed what this one read: run it again")]
    Conflict,
}

pub type Result<T> = std::result::Result<T, Error>;

/// Version of the stored conversation and outcome records.
const RECORD_VERSION: u8 = 1;

#[derive(Serialize, Deserialize)]
struct ConversationRecord {
    v: u8,
    conversation: Conversation,
}

/// What was answered to an event, kept so that a redelivery gets the same answer
/// without being processed again.
#[derive(Serialize, Deserialize)]
struct OutcomeRecord {
    v: u8,
    at_ms: i64,
    /// Recorded at the gate, when it was queued.
    #[serde(default)]
    pending: bool,
    replies: Option<serde_json::Value>,
    /// For a queued event: its place in the inbound queue. The turn that consumes the
    /// queue entry is what marks it processed (the record is not written again): an
    /// event is processed once its place is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    queue_place: Option<(Channel, u64)>,
}

impl OutcomeRecord {
    /// The processed marker a turn writes, if any. A queued event needs none: the turn
    /// empties its queue place, which marks it (`queue_place`); only an answer kept for
    /// a redelivery (web chat) or an event that was never queued is written.
    fn after_turn(
        dequeued: bool,
        kept: Option<serde_json::Value>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<Self> {
        (!dequeued || kept.is_some()).then(|| Self {
            v: RECORD_VERSION,
            at_ms: now.timestamp_millis(),
            pending: false,
            replies: kept,
            queue_place: None,
        })
    }

    /// Whether the event is still waiting in the inbound queue.
    fn still_queued(&self, queue: &sled::Tree) -> Result<bool> {
        Ok(match (self.pending, self.queue_place) {
            (false, _) => false,
            (true, Some((channel, seq))) => queue.contains_key(keys::queued(channel, seq))?,
            // Written before queue places were recorded (it was rewritten when processed).
            (true, None) => true,
        })
    }
}

/// What the store knows of an event id.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Received and waiting in the inbound queue.
    Pending,
    /// Processed; the replies given, where they were kept.
    Processed(Option<serde_json::Value>),
}

/// A photo a resident sent, kept with the case.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Media {
    pub content_type: String,
    #[serde(with = "base64_bytes")]
    pub bytes: Vec<u8>,
}

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    meta: sled::Tree,
    chatkey_conversation: sled::Tree,
    eventkey_outcome: sled::Tree,
    caseid_case: sled::Tree,
    casecode_caseid: sled::Tree,
    receipthash_caseid: sled::Tree,
    reporter_caseid: sled::Tree,
    /// Finished deliveries that are kept (`outbox::kept_record`).
    deliveryid_delivery: sled::Tree,
    /// Pending deliveries, by when they are next due (`outbox`).
    due_delivery: sled::Tree,
    mediaid_media: sled::Tree,
    channelseq_event: sled::Tree,
    channel_group: sled::Tree,
    chatkey_seen: sled::Tree,
    linkcode_chatkey: sled::Tree,
    chatkey_role: sled::Tree,
    enrolcode_role: sled::Tree,
    auditseq_entry: sled::Tree,
    chatkey_person: sled::Tree,
    /// The reverse of `chatkey_person`: a person's chats under one prefix.
    person_chatkey: sled::Tree,
    chatkey_held: sled::Tree,
    username_login: sled::Tree,
    sessionhash_session: sled::Tree,
    itemid_progress: sled::Tree,
    chatkey_subscription: sled::Tree,
    updateid_update: sled::Tree,
    /// Updates not yet fully fanned out (scheduled or sending): what the fan-out polls.
    pending_updateid: sled::Tree,
    /// The cases not closed: the queues, reminders and staff views read these alone.
    open_caseid: sled::Tree,
    commit: std::sync::Arc<GroupCommit>,
    /// This opening of the store (random): a reply mark written with it is known to be
    /// untried by whoever holds the same opening (`Delivery::marked_in`).
    opening: u64,
    /// The installation secret, read once: it keys the event-id hashes.
    secret: std::sync::Arc<[u8]>,
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let db = sled::Config::new()
            .path(dir)
            // Durability comes from our own group-committed flushes, not a timer.
            .flush_every_ms(None)
            .cache_capacity(8 * 1024 * 1024)
            .open()?;
        Self::from_db(db)
    }

    /// A store that lives in memory and disappears when dropped: for tests.
    pub fn temporary() -> Result<Self> {
        Self::from_db(sled::Config::new().temporary(true).open()?)
    }

    fn from_db(db: sled::Db) -> Result<Self> {
        let store = Self::from_db_unchecked(db)?;
        store.index_open_cases()?;
        store.index_people_chats()?;
        store.schedule_indexed_deliveries()?;
        Ok(store)
    }

    fn from_db_unchecked(db: sled::Db) -> Result<Self> {
        let tree = |name: &str| db.open_tree(name);
        let meta = tree("meta")?;
        let secret = installation_secret(&db, &meta)?.into();
        Ok(Self {
            secret,
            meta,
            chatkey_conversation: tree("chatkey_conversation")?,
            eventkey_outcome: tree("eventkey_outcome")?,
            caseid_case: tree("caseid_case")?,
            casecode_caseid: tree("casecode_caseid")?,
            receipthash_caseid: tree("receipthash_caseid")?,
            reporter_caseid: tree("reporter_caseid")?,
            deliveryid_delivery: tree("deliveryid_delivery")?,
            due_delivery: tree("due_delivery")?,
            mediaid_media: tree("mediaid_media")?,
            channelseq_event: tree("channelseq_event")?,
            chatkey_seen: tree("chatkey_seen")?,
            linkcode_chatkey: tree("linkcode_chatkey")?,
            chatkey_role: tree("chatkey_role")?,
            enrolcode_role: tree("enrolcode_role")?,
            auditseq_entry: tree("auditseq_entry")?,
            chatkey_person: tree("chatkey_person")?,
            person_chatkey: tree("person_chatkey")?,
            chatkey_held: tree("chatkey_held")?,
            channel_group: tree("channel_group")?,
            username_login: tree("username_login")?,
            sessionhash_session: tree("sessionhash_session")?,
            itemid_progress: tree("itemid_progress")?,
            chatkey_subscription: tree("chatkey_subscription")?,
            updateid_update: tree("updateid_update")?,
            pending_updateid: tree("pending_updateid")?,
            open_caseid: tree("open_caseid")?,
            commit: std::sync::Arc::new(GroupCommit::default()),
            opening: rand::random(),
            db,
        })
    }

    /// This opening of the store: another process, or a later opening, has another.
    #[must_use]
    pub fn opening(&self) -> u64 {
        self.opening
    }

    /// Waits until every change made before this call is on disk. Concurrent callers
    /// share one flush.
    pub async fn sync(&self) -> Result<()> {
        self.commit.sync(&self.db).await
    }

    /// Flushes everything now, on the calling thread: for command-line tools outside
    /// the async runtime, and for work already on a blocking thread.
    pub fn sync_blocking(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    /// A random secret of this installation, created on first start: keys the hashes
    /// that stand for personal data in logs, and salts receipt hashes.
    #[must_use]
    pub fn installation_secret(&self) -> Vec<u8> {
        self.secret.to_vec()
    }

    pub fn conversation(&self, chat: &ChatKey) -> Result<Option<Conversation>> {
        let record: Option<ConversationRecord> = get_json(
            &self.chatkey_conversation,
            "chatkey_conversation",
            &keys::chat(chat),
        )?;
        Ok(record.map(|r| r.conversation))
    }

    /// What became of an event id, if it was seen.
    pub fn outcome(&self, channel: Channel, event_id: &str) -> Result<Option<Outcome>> {
        let record: Option<OutcomeRecord> = get_json(
            &self.eventkey_outcome,
            "eventkey_outcome",
            &keys::event(&self.secret, channel, event_id),
        )?;
        let Some(record) = record else {
            return Ok(None);
        };
        Ok(Some(if record.still_queued(&self.channelseq_event)? {
            Outcome::Pending
        } else {
            Outcome::Processed(record.replies)
        }))
    }

    /// Keeps the answer to a processed event for redeliveries.
    pub fn record_replies(
        &self,
        channel: Channel,
        event_id: &str,
        replies: serde_json::Value,
    ) -> Result<()> {
        let record = OutcomeRecord {
            v: RECORD_VERSION,
            at_ms: chrono::Utc::now().timestamp_millis(),
            pending: false,
            replies: Some(replies),
            queue_place: None,
        };
        self.eventkey_outcome.insert(
            keys::event(&self.secret, channel, event_id),
            encode(&record)?,
        )?;
        Ok(())
    }

    /// Forgets processed events older than `max_age_ms`: platforms redeliver within
    /// minutes to hours, so the dedupe window need not be forever.
    pub fn prune_outcomes(&self, max_age_ms: i64) -> Result<usize> {
        let cutoff = chrono::Utc::now().timestamp_millis() - max_age_ms;
        let mut n_removed = 0;
        for entry in self.eventkey_outcome.iter() {
            let (key, value) = entry?;
            // An event still in the queue keeps its record: a redelivery must not queue
            // it twice. (One pending from before queue places were recorded is a week
            // old: long processed, or dropped.)
            let old = match serde_json::from_slice::<OutcomeRecord>(&value) {
                Ok(record) => {
                    record.at_ms < cutoff
                        && !(record.queue_place.is_some()
                            && record.still_queued(&self.channelseq_event)?)
                }
                Err(_) => true,
            };
            if old {
                self.eventkey_outcome.remove(key)?;
                n_removed += 1;
            }
        }
        Ok(n_removed)
    }

    /// When the person last wrote (their last processed event).
    pub fn last_seen(&self, chat: &ChatKey) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        Ok(self
            .chatkey_seen
            .get(keys::chat(chat))?
            .and_then(|bytes| keys::parse_id(&bytes))
            .and_then(|ms| chrono::DateTime::from_timestamp_millis(i64::try_from(ms).ok()?)))
    }

    /// Keeps messages a platform would not deliver now (Messenger outside its 24-hour
    /// window), to be shown with the person's next answer.
    pub fn hold_messages(&self, chat: &ChatKey, messages: &[Outbound]) -> Result<()> {
        // An atomic read-modify-write: deliveries to one person may fail at the same time.
        self.chatkey_held
            .fetch_and_update(keys::chat(chat), |current| {
                let mut held: Vec<Outbound> = current
                    .and_then(|bytes| serde_json::from_slice(bytes).ok())
                    .unwrap_or_default();
                held.extend_from_slice(messages);
                serde_json::to_vec(&held).ok()
            })?;
        Ok(())
    }

    /// The messages held for a person.
    pub fn held_messages(&self, chat: &ChatKey) -> Result<Vec<Outbound>> {
        Ok(get_json(&self.chatkey_held, "chatkey_held", &keys::chat(chat))?.unwrap_or_default())
    }

    pub fn save_media(&self, media: &Media) -> Result<String> {
        let id = self.db.generate_id()?;
        let mut suffix = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut suffix);
        // Unguessable, so that one resident cannot attach another's photo.
        let media_id = format!("m{id}-{}", hex::encode(suffix));
        self.mediaid_media
            .insert(media_id.as_bytes(), encode(media)?)?;
        Ok(media_id)
    }

    pub fn media(&self, media_id: &str) -> Result<Option<Media>> {
        get_json(&self.mediaid_media, "mediaid_media", media_id.as_bytes())
    }
}

fn installation_secret(db: &sled::Db, meta: &sled::Tree) -> Result<Vec<u8>> {
    const KEY: &[u8] = b"installation_secret";
    if let Some(secret) = meta.get(KEY)? {
        return Ok(secret.to_vec());
    }
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    // Two first starts racing: whoever wrote first wins, and both use that.
    match meta.compare_and_swap(KEY, None as Option<&[u8]>, Some(&secret[..]))? {
        Ok(()) => {
            db.flush()?;
            Ok(secret.to_vec())
        }
        Err(current) => Ok(current.current.map(|v| v.to_vec()).unwrap_or_default()),
    }
}

type TxResult<T> = std::result::Result<T, ConflictableTransactionError<Error>>;

/// Ends a transaction with one of our errors.
fn abort(error: Error) -> ConflictableTransactionError<Error> {
    ConflictableTransactionError::Abort(error)
}

/// A transaction's result as ours.
fn transaction_result<T>(result: std::result::Result<T, TransactionError<Error>>) -> Result<T> {
    match result {
        Ok(value) => Ok(value),
        Err(TransactionError::Abort(error)) => Err(error),
        Err(TransactionError::Storage(error)) => Err(Error::Sled(error)),
    }
}

fn encode<T>(value: &T) -> Result<Vec<u8>>
where
    T: Serialize,
{
    serde_json::to_vec(value).map_err(Error::Encode)
}

fn decode<T>(tree: &'static str, bytes: &[u8]) -> Result<T>
where
    T: DeserializeOwned,
{
    serde_json::from_slice(bytes).map_err(|source| Error::Corrupt { tree, source })
}

fn get_json<T>(tree: &sled::Tree, name: &'static str, key: &[u8]) -> Result<Option<T>>
where
    T: DeserializeOwned,
{
    tree.get(key)?.map(|bytes| decode(name, &bytes)).transpose()
}

/// Group commit: each caller takes a ticket after its write; one flush makes every write
/// with a ticket taken before the flush began durable, so waiting callers whose ticket is
/// covered return without flushing again.
#[derive(Default)]
struct GroupCommit {
    tickets: AtomicU64,
    flushed: AtomicU64,
    flushing: tokio::sync::Mutex<()>,
}

impl GroupCommit {
    async fn sync(&self, db: &sled::Db) -> Result<()> {
        let ticket = self.tickets.fetch_add(1, Ordering::SeqCst) + 1;
        let _flushing = self.flushing.lock().await;
        if self.flushed.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let covered = self.tickets.load(Ordering::SeqCst);
        // On a blocking thread: a flush waits for the disk, and our sled runs its IO
        // jobs on the calling thread (vendor/sled/PATCHES.md), so `flush_async` would
        // block the runtime.
        let db = db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|error| Error::Sled(sled::Error::ReportableBug(error.to_string())))??;
        self.flushed.fetch_max(covered, Ordering::SeqCst);
        Ok(())
    }
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
    {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D>(deserializer: D) -> Result<Vec<u8>, D::Error>
    where
        D: Deserializer<'de>,
    {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

/// Opens a store just closed, for tests: sled's threads may hold the directory's lock
/// for a moment after the last handle is dropped.
#[cfg(test)]
pub(crate) fn reopen(path: &Path) -> Store {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Store::open(path) {
            Ok(store) => return store,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(error) => panic!("cannot reopen the store: {error:?}"),
        }
    }
}

#[cfg(test)]
mod tests;
