//! The inbox: runs each inbound event exactly once through the engine, commits what it
//! changed, makes it durable, and only then returns the replies.
//!
//! Events of one person are handled one at a time (a lock per conversation, sharded), so
//! a fast double tap cannot file a case twice; different people run in parallel.

use std::hash::{Hash as _, Hasher as _};
use std::sync::Arc;

use anyhow::Context as _;
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{Mutex, Notify};

use crate::config::Settings;
use crate::domain::case::{Case, CaseCode, FiledCase, NewCase, Receipt};
use crate::domain::ChatKey;
use crate::engine::{Action, Engine, Inbound, Lookup, Outbound};
use crate::store::{CaseChange, Store, Turn};
use crate::telemetry::Redactor;

const N_LOCK_SHARDS: usize = 256;

/// What became of an event.
#[derive(Debug)]
pub enum Handled {
    /// Processed now; these are the replies.
    Replies(Vec<Outbound>),
    /// Processed before (a redelivery); the replies given then, where they were kept.
    Duplicate(Vec<Outbound>),
}

impl Handled {
    #[must_use]
    pub fn replies(&self) -> &[Outbound] {
        match self {
            Self::Replies(replies) | Self::Duplicate(replies) => replies,
        }
    }
}

pub struct Inbox {
    engine: Engine,
    store: Store,
    settings: Arc<Settings>,
    locks: Vec<Mutex<()>>,
    dispatcher_wake: Arc<Notify>,
    receipts: ReceiptHasher,
    redactor: Redactor,
}

impl Inbox {
    pub fn new(
        engine: Engine,
        store: Store,
        settings: Arc<Settings>,
        dispatcher_wake: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        let secret = store.installation_secret();
        Ok(Self {
            engine,
            receipts: ReceiptHasher::new(secret.clone()),
            redactor: Redactor::new(secret),
            store,
            settings,
            locks: (0..N_LOCK_SHARDS).map(|_| Mutex::new(())).collect(),
            dispatcher_wake,
        })
    }

    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Handles one event. On an internal failure the resident gets a polite apology and
    /// the error is logged; nothing half-done is committed.
    pub async fn handle(self: &Arc<Self>, inbound: Inbound) -> anyhow::Result<Handled> {
        use tracing::Instrument as _;
        let user_tag = self.redactor.tag(&inbound.sender);
        let span = tracing::info_span!("event", channel = %inbound.channel(), user = %user_tag);
        self.handle_in_span(inbound).instrument(span).await
    }

    async fn handle_in_span(self: &Arc<Self>, inbound: Inbound) -> anyhow::Result<Handled> {
        let shard = self.lock_shard(&inbound.sender);
        let (handled, changed_cases) = {
            let _turn_lock = self.locks[shard].lock().await;
            let inbox = Arc::clone(self);
            let span = tracing::Span::current();
            tokio::task::spawn_blocking(move || span.in_scope(|| inbox.process(&inbound)))
                .await
                .context("the event task panicked")??
        };
        // Everything this turn wrote, and every earlier write, reaches the disk before
        // the resident hears of it.
        self.store
            .sync()
            .await
            .context("cannot make the turn durable")?;
        if changed_cases {
            self.dispatcher_wake.notify_one();
        }
        Ok(handled)
    }

    fn lock_shard(&self, chat: &ChatKey) -> usize {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        chat.hash(&mut hasher);
        (hasher.finish() % N_LOCK_SHARDS as u64) as usize
    }

    /// The synchronous part of a turn: dedupe, engine, commit.
    fn process(&self, inbound: &Inbound) -> anyhow::Result<(Handled, bool)> {
        let channel = inbound.channel();
        if let Some(event_id) = &inbound.event_id {
            if let Some(kept) = self.store.outcome(channel, event_id)? {
                tracing::info!("redelivered event, not processed again");
                let replies = kept
                    .and_then(|value| serde_json::from_value(value).ok())
                    .unwrap_or_default();
                return Ok((Handled::Duplicate(replies), false));
            }
        }
        let conversation = self
            .store
            .conversation(&inbound.sender)?
            .unwrap_or_default();
        let lookup = StoreLookup {
            store: &self.store,
            receipts: &self.receipts,
        };
        let step = self.engine.step(conversation, inbound, &lookup)?;
        let lang = step.conversation.lang.unwrap_or_default();
        let mut receipt = None;
        let change = match step.action.clone() {
            None => None,
            Some(Action::File(new)) => {
                receipt = new.anonymous.then(Receipt::generate);
                let receipt_hash = receipt
                    .as_ref()
                    .map(|r| self.receipts.hash(r))
                    .transpose()?;
                Some(CaseChange::File {
                    destinations: self.destinations(&new.division),
                    case: Box::new(new),
                    receipt_hash,
                })
            }
            Some(Action::AddInfo { case_id, text }) => Some(CaseChange::AddInfo {
                destinations: self.destinations_of_case(case_id)?,
                case_id,
                text,
            }),
            Some(Action::Withdraw { case_id }) => Some(CaseChange::Withdraw {
                destinations: self.destinations_of_case(case_id)?,
                case_id,
            }),
        };
        let changed_cases = change.is_some();
        let filing = matches!(change, Some(CaseChange::File { .. }));
        let case = self.store.commit_turn(Turn {
            chat: &inbound.sender,
            event: inbound.event_id.as_deref().map(|id| (channel, id)),
            conversation: &step.conversation,
            change,
            now: inbound.received_at,
        })?;
        let mut replies = step.replies;
        let mut kept_replies = replies.clone();
        if let (true, Some(case)) = (filing, case) {
            tracing::info!(case = %log_code(&case), kind = case.kind.as_str(), "case filed");
            let filed = FiledCase { case, receipt };
            replies.extend(self.engine.filed_replies(lang, &filed, true));
            kept_replies.extend(self.engine.filed_replies(lang, &filed, false));
        }
        if let Some(event_id) = &inbound.event_id {
            self.store
                .record_replies(channel, event_id, serde_json::to_value(&kept_replies)?)?;
        }
        Ok((Handled::Replies(replies), changed_cases))
    }

    fn destinations(&self, division: &str) -> Vec<String> {
        self.settings
            .destinations_of(division)
            .into_iter()
            .map(|d| d.id.clone())
            .collect()
    }

    fn destinations_of_case(&self, case_id: u64) -> anyhow::Result<Vec<String>> {
        let case = self.store.case(case_id)?.context("the case disappeared")?;
        Ok(self.destinations(&case.division))
    }

    /// Files a case directly, outside any conversation (tests and tools).
    pub async fn file_case(&self, new: NewCase) -> anyhow::Result<FiledCase> {
        let receipt = new.anonymous.then(Receipt::generate);
        let receipt_hash = receipt
            .as_ref()
            .map(|r| self.receipts.hash(r))
            .transpose()?;
        let conversation = self.store.conversation(&new.reporter)?.unwrap_or_default();
        let reporter = new.reporter.clone();
        let case = self
            .store
            .commit_turn(Turn {
                chat: &reporter,
                event: None,
                conversation: &conversation,
                change: Some(CaseChange::File {
                    destinations: self.destinations(&new.division),
                    case: Box::new(new),
                    receipt_hash,
                }),
                now: chrono::Utc::now(),
            })?
            .context("filing returned no case")?;
        self.store.sync().await?;
        self.dispatcher_wake.notify_one();
        Ok(FiledCase { case, receipt })
    }
}

/// The code to log for a case: an anonymous one is logged by id only, so that its code
/// in the log cannot be matched against the moment someone sent a message.
fn log_code(case: &Case) -> String {
    if case.anonymous {
        format!("#{}", case.id)
    } else {
        case.code.clone()
    }
}

struct StoreLookup<'a> {
    store: &'a Store,
    receipts: &'a ReceiptHasher,
}

impl Lookup for StoreLookup<'_> {
    fn case(&self, case_id: u64) -> anyhow::Result<Option<Case>> {
        Ok(self.store.case(case_id)?)
    }

    fn case_by_code(&self, code: &CaseCode) -> anyhow::Result<Option<Case>> {
        Ok(self.store.case_by_code(code)?)
    }

    fn case_by_receipt(&self, receipt: &Receipt) -> anyhow::Result<Option<Case>> {
        let hash = self.receipts.hash(receipt)?;
        Ok(self.store.case_by_receipt_hash(&hash)?)
    }

    fn cases_of(&self, reporter: &ChatKey) -> anyhow::Result<Vec<Case>> {
        Ok(self.store.cases_of(reporter)?)
    }
}

/// The slow hash under which an anonymous receipt is stored: Argon2id, salted with the
/// installation secret. Deterministic, so a receipt finds its case by hash lookup; slow,
/// so that trying all 10^16 receipts against a stolen store is out of reach.
struct ReceiptHasher {
    salt: Vec<u8>,
    argon2: Argon2<'static>,
}

impl ReceiptHasher {
    fn new(salt: Vec<u8>) -> Self {
        // OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
        let params = Params::new(19 * 1024, 2, 1, Some(32)).expect("valid Argon2 parameters");
        Self {
            salt,
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        }
    }

    fn hash(&self, receipt: &Receipt) -> anyhow::Result<Vec<u8>> {
        let mut out = vec![0u8; 32];
        self.argon2
            .hash_password_into(receipt.digits().as_bytes(), &self.salt, &mut out)
            .map_err(|error| anyhow::anyhow!("cannot hash a receipt: {error}"))?;
        Ok(out)
    }
}
