//! The inbox: runs each inbound event exactly once through the engine, commits what it
//! changed, makes it durable, and only then returns the replies.
//!
//! Queued platform events come in rounds (`handle_round`) whose answers are deliveries:
//! there the dispatcher's flush, before it sends, is what makes the turns durable.
//!
//! Events of one person are handled one at a time (a lock per conversation, sharded), so
//! a fast double tap cannot file a case twice; different people run in parallel.

use std::hash::{Hash as _, Hasher as _};
use std::sync::Arc;

use anyhow::Context as _;
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{Mutex, Notify};

use crate::config::Settings;
use crate::delivery::forward;
use crate::delivery::ChannelMessage;
use crate::domain::case::{Case, CaseCode, FiledCase, Notice, Receipt};
use crate::domain::change::CaseChange;
use crate::domain::update::{Subscription, Topic, Update, UpdateState};
use crate::domain::{Channel, ChatKey, Lang};
use crate::engine::{Action, Engine, Inbound, Lookup, Outbound};
use crate::store::{
    unix_ms, AuditNote, Body, CaseWrite, ChatChange, Group, Outcome, Outgoing, Route, Store,
    TurnWrite,
};
use crate::telemetry::Redactor;

const N_LOCK_SHARDS: usize = 256;
/// How many times a turn runs when what it read changes meanwhile (a code spent, its
/// case changed by staff at the same moment). Each run reads the new state; more than
/// a few in a row would take a storm of changes to one case.
const MAX_TURN_TRIES: u32 = 5;
/// How long a code for linking two chat apps stays valid.
const LINK_CODE_MINUTES: i64 = 10;

/// A random 6-digit code, easy to type on a phone.
fn link_code() -> String {
    use rand::Rng as _;
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000))
}

/// What a turn's action writes (as values, for the turn's transaction) and what it
/// adds to the engine's replies.
#[derive(Default)]
struct TurnChanges {
    case: Option<CaseChange>,
    chat: Option<ChatChange>,
    /// The receipt of an anonymous complaint, shown once and stored only as a hash.
    receipt: Option<Receipt>,
    replies: Vec<Outbound>,
}

/// Whether a committed turn has something to say in the log (`log_committed`).
fn has_news(write: &TurnWrite) -> bool {
    write.chat_change.is_some() || write.case.as_ref().is_some_and(CaseWrite::files)
}

/// Says in the log what a committed turn did (no code, no personal data).
fn log_committed(write: &TurnWrite) {
    match &write.chat_change {
        Some(ChatChange::IssueLinkCode { .. }) => tracing::info!("link code issued"),
        Some(ChatChange::RedeemLinkCode(redemption)) => {
            tracing::info!(result = ?redemption.linked(), "link code redeemed");
        }
        Some(ChatChange::RedeemEnrolCode(enrolment)) => match enrolment.role() {
            Some(role) => tracing::info!(role = %role.label(), "enrolment code redeemed"),
            None => tracing::info!("unusable enrolment code"),
        },
        Some(ChatChange::Subscribe(_)) => tracing::info!("subscribed to updates"),
        Some(ChatChange::Unsubscribe) => tracing::info!("unsubscribed from updates"),
        Some(ChatChange::ScheduleUpdate(update)) => {
            tracing::info!(update = update.id, "update scheduled");
        }
        None => {}
    }
    let Some(case) = write
        .case
        .as_ref()
        .filter(|case| case.files())
        .map(CaseWrite::case)
    else {
        return;
    };
    if case.anonymous {
        // Outside the event's span: its person tag would tie the anonymous case to the
        // chat account that filed it.
        tracing::info!(parent: None, case = %log_code(case), kind = case.kind.as_str(), "case filed");
    } else {
        tracing::info!(case = %log_code(case), kind = case.kind.as_str(), "case filed");
    }
}

/// Runs a turn again when its commit found that what it read changed meanwhile
/// (`store::Error::Conflict`): a one-time code spent, a case changed, a case number
/// taken by another turn. The next run reads the new state.
fn with_retries<T>(mut attempt: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let mut tries = 1;
    loop {
        match attempt() {
            Err(error)
                if tries < MAX_TURN_TRIES
                    && matches!(
                        error.downcast_ref::<crate::store::Error>(),
                        Some(crate::store::Error::Conflict)
                    ) =>
            {
                tracing::info!(tries, "what the turn read changed meanwhile: again");
                tries += 1;
            }
            result => return result,
        }
    }
}

/// A turn decided and not written: what it will write (none for a redelivery) and the
/// answer.
struct PlannedTurn {
    write: Option<TurnWrite>,
    handled: Handled,
}

impl PlannedTurn {
    fn nothing(handled: Handled) -> Self {
        Self {
            write: None,
            handled,
        }
    }
}

/// A turn panicked (`Inbox::in_turn`).
struct Panicked;

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

    /// Tells the dispatcher the outbox has something due now.
    pub fn wake_dispatcher(&self) {
        self.dispatcher_wake.notify_one();
    }

    /// Handles one event and returns the replies (web chat, terminal).
    pub async fn handle(self: &Arc<Self>, inbound: Inbound) -> anyhow::Result<Handled> {
        self.handle_envelope(Envelope {
            inbound,
            answer: AnswerVia::Inline,
            queued: None,
            over_limit: false,
        })
        .await
    }

    /// Handles a round of queued platform events, at most one per person, in one pass
    /// on one blocking thread: every turn is decided first, then all of them commit in
    /// one transaction. When one of them was decided from something another changed
    /// meanwhile (`store::Error::Conflict`: two changes to one case, two filings taking
    /// one number, a code spent), none is written and each turn of the round runs again
    /// on its own. The round is not flushed here: its answers are deliveries, and the
    /// dispatcher flushes before it sends any (a crash before that runs the still-queued
    /// events again, nothing having been said). The results are in the order of
    /// `envelopes`. A turn that panics is reported as `Turned::Panicked`, so that its
    /// event is dropped instead of jamming the queue.
    pub async fn handle_round(self: &Arc<Self>, envelopes: Vec<Envelope>) -> Vec<Turned> {
        if envelopes.is_empty() {
            return Vec::new();
        }
        let n = envelopes.len();
        let inbox = Arc::clone(self);
        let turned = tokio::task::spawn_blocking(move || inbox.run_round(&envelopes)).await;
        let turned = match turned {
            Ok(turned) => turned,
            Err(error) => {
                tracing::error!(%error, "a round of turns did not finish");
                return (0..n)
                    .map(|_| Turned::Failed(anyhow::anyhow!("the round did not finish")))
                    .collect();
            }
        };
        let n_outgoing: usize = turned
            .iter()
            .map(|t| match t {
                Turned::Done(_, n) => *n,
                _ => 0,
            })
            .sum();
        if n_outgoing > 0 {
            self.dispatcher_wake.notify_one();
        }
        turned
    }

    /// `handle_round` on its blocking thread.
    fn run_round(&self, envelopes: &[Envelope]) -> Vec<Turned> {
        let mut turned: Vec<Option<Turned>> = Vec::with_capacity(envelopes.len());
        // The round's writes; and for each decided turn, its place in the round, its
        // answer and its write (none for a redelivery).
        let mut writes = Vec::new();
        let mut planned = Vec::new();
        for (at, envelope) in envelopes.iter().enumerate() {
            match self.in_turn(envelope, || self.plan(envelope)) {
                Ok(Ok(PlannedTurn { write, handled })) => {
                    turned.push(None);
                    let write_at = write.map(|write| {
                        writes.push(write);
                        writes.len() - 1
                    });
                    planned.push((at, handled, write_at));
                }
                Ok(Err(error)) => turned.push(Some(Turned::Failed(error))),
                Err(Panicked) => turned.push(Some(Turned::Panicked)),
            }
        }
        // Everything of the round is decided and nothing of it written.
        crate::faults::crash_point("before-commit");
        match self.store.commit_turns(&writes) {
            Ok(()) => {
                for (at, handled, write_at) in planned {
                    let n_outgoing = write_at.map_or(0, |i| {
                        let write = &writes[i];
                        // In the event's span, as a turn committed on its own logs;
                        // most turns have nothing to log and need no span.
                        if has_news(write) {
                            let _in_span = self.event_span(&envelopes[at].inbound).entered();
                            log_committed(write);
                        }
                        write.outgoing.len()
                    });
                    turned[at] = Some(Turned::Done(handled, n_outgoing));
                }
            }
            Err(crate::store::Error::Conflict) => {
                tracing::info!("a round's turns overlapped: each runs again on its own");
                for (at, _, _) in planned {
                    let envelope = &envelopes[at];
                    turned[at] = Some(match self.in_turn(envelope, || self.process(envelope)) {
                        Ok(Ok((handled, n_outgoing))) => Turned::Done(handled, n_outgoing),
                        Ok(Err(error)) => Turned::Failed(error),
                        Err(Panicked) => Turned::Panicked,
                    });
                }
            }
            Err(error) => {
                tracing::error!(error = ?error, "cannot commit a round's turns");
                for (at, _, _) in planned {
                    turned[at] = Some(Turned::Failed(anyhow::anyhow!(
                        "the round's turns were not committed"
                    )));
                }
            }
        }
        // Every place was filled above; `Panicked` (drop the event) is only the safe
        // reading of a place that was not.
        turned
            .into_iter()
            .map(|t| t.unwrap_or(Turned::Panicked))
            .collect()
    }

    /// Runs `work` for an event of a round, in the event's span and under its person's
    /// lock; a panic is caught and reported.
    fn in_turn<T>(&self, envelope: &Envelope, work: impl FnOnce() -> T) -> Result<T, Panicked> {
        let span = self.event_span(&envelope.inbound);
        let _in_span = span.enter();
        let shard = self.lock_shard(&envelope.inbound.sender);
        let _turn_lock = self.locks[shard].blocking_lock();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|_| Panicked)
    }

    /// Handles one event. When the answer goes through the outbox it is committed with
    /// the turn; the replies are returned as well.
    async fn handle_envelope(self: &Arc<Self>, envelope: Envelope) -> anyhow::Result<Handled> {
        use tracing::Instrument as _;
        let span = self.event_span(&envelope.inbound);
        self.handle_in_span(envelope).instrument(span).await
    }

    /// The log span of an event: its channel and its person as a keyed tag.
    fn event_span(&self, inbound: &Inbound) -> tracing::Span {
        let user_tag = self.redactor.tag(&inbound.sender);
        tracing::info_span!("event", channel = %inbound.channel(), user = %user_tag)
    }

    async fn handle_in_span(self: &Arc<Self>, envelope: Envelope) -> anyhow::Result<Handled> {
        let shard = self.lock_shard(&envelope.inbound.sender);
        let (handled, n_outgoing) = {
            let _turn_lock = self.locks[shard].lock().await;
            let inbox = Arc::clone(self);
            let span = tracing::Span::current();
            tokio::task::spawn_blocking(move || span.in_scope(|| inbox.process(&envelope)))
                .await
                .context("the event task did not finish (a panic, or the shutdown)")??
        };
        // Everything this turn wrote, and every earlier write, reaches the disk before
        // the resident hears of it.
        self.store
            .sync()
            .await
            .context("cannot make the turn durable")?;
        if n_outgoing > 0 {
            self.dispatcher_wake.notify_one();
        }
        Ok(handled)
    }

    fn lock_shard(&self, chat: &ChatKey) -> usize {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        chat.hash(&mut hasher);
        (hasher.finish() % N_LOCK_SHARDS as u64) as usize
    }

    /// One turn on its own: decided, then committed in its own transaction. Returns the
    /// replies and how many deliveries the outbox got.
    fn process(&self, envelope: &Envelope) -> anyhow::Result<(Handled, usize)> {
        with_retries(|| {
            let PlannedTurn { write, handled } = self.plan(envelope)?;
            let Some(write) = write else {
                return Ok((handled, 0));
            };
            crate::faults::crash_point("before-commit");
            self.store.commit_turns(std::slice::from_ref(&write))?;
            log_committed(&write);
            Ok((handled, write.outgoing.len()))
        })
    }

    /// The synchronous part of a turn: dedupe, engine, and everything the turn will
    /// write, decided. Reads the store; writes nothing.
    fn plan(&self, envelope: &Envelope) -> anyhow::Result<PlannedTurn> {
        let inbound = &envelope.inbound;
        let channel = inbound.channel();
        // A queued event is unprocessed as long as it is queued (its turn empties its
        // queue place in the same transaction): only an event answered inline is looked up.
        if let (Some(event_id), None) = (&inbound.event_id, envelope.queued) {
            match self.store.outcome(channel, event_id)? {
                Some(Outcome::Processed(kept)) => {
                    tracing::info!("redelivered event, not processed again");
                    let replies = kept
                        .and_then(|value| serde_json::from_value(value).ok())
                        .unwrap_or_default();
                    return Ok(PlannedTurn::nothing(Handled::Duplicate(replies)));
                }
                // Queued for a channel's worker: not this path's to answer.
                Some(Outcome::Pending) => {
                    return Ok(PlannedTurn::nothing(Handled::Duplicate(Vec::new())))
                }
                None => {}
            }
        }
        let stored = self.store.conversation(&inbound.sender)?;
        // What was on disk, to leave it there when the step does not change it.
        let stored_before = stored.clone();
        let conversation = stored.unwrap_or_default();
        let lookup = StoreLookup {
            store: &self.store,
            receipts: &self.receipts,
            redactor: &self.redactor,
        };
        let step = if envelope.over_limit {
            tracing::info!("a person over their limit is asked to slow down");
            self.engine.slow_down(conversation)
        } else {
            self.engine.step(conversation, inbound, &lookup)?
        };
        let lang = step.conversation.lang.unwrap_or_default();
        // A conversation the step left as it was is not written again: most questions of
        // a returning resident. A new person's is written even unchanged, so that their
        // next message is not taken for a first one (`line::Line::read_event`).
        let conversation =
            (stored_before.as_ref() != Some(&step.conversation)).then_some(step.conversation);
        let TurnChanges {
            case: change,
            chat: chat_change,
            receipt,
            replies: extra_replies,
        } = match step.action {
            Some(action) => self.changes_of(action, inbound, lang)?,
            None => TurnChanges::default(),
        };
        let (case_write, notices) = match change {
            Some(change) => {
                let (write, notices) = self.store.plan_case_change(change, inbound.received_at)?;
                (Some(write), notices)
            }
            None => (None, Vec::new()),
        };
        let case = case_write.as_ref().map(CaseWrite::case);
        let filed = case_write
            .as_ref()
            .filter(|write| write.files())
            .map(CaseWrite::case);
        let mut outgoing = match case {
            Some(case) => self.forwards_of(case, &notices)?,
            None => Vec::new(),
        };
        let mut replies = step.replies;
        replies.extend(extra_replies);
        // Only the web chat answers a redelivery with the first answer; platforms' answers
        // go through the outbox and are not kept twice. The kept answer shows a notice
        // instead of a receipt, which is never stored in clear.
        let keep = if inbound.event_id.is_some() && matches!(envelope.answer, AnswerVia::Inline) {
            let mut kept = replies.clone();
            if let Some(case) = filed {
                let filed = FiledCase {
                    case: case.clone(),
                    receipt: None,
                };
                kept.extend(self.engine.filed_replies(lang, &filed, false));
            }
            serde_json::to_value(&kept).ok()
        } else {
            None
        };
        if let Some(case) = filed {
            let filed = FiledCase {
                case: case.clone(),
                receipt: receipt.clone(),
            };
            replies.extend(self.engine.filed_replies(lang, &filed, true));
        }
        // Messages a platform would not deliver earlier go out with this answer.
        // Only Messenger holds messages (outside its 24-hour window).
        let held = match (&envelope.answer, channel) {
            (AnswerVia::Outbox { .. }, Channel::Messenger) => {
                self.store.held_messages(&inbound.sender)?
            }
            _ => Vec::new(),
        };
        let release_held = held.len();
        if let AnswerVia::Outbox {
            reply_token,
            reply_by,
        } = &envelope.answer
        {
            let mut messages = held;
            messages.extend(replies.iter().cloned());
            if !messages.is_empty() {
                let message = ChannelMessage {
                    to: inbound.conversation.clone(),
                    to_many: Vec::new(),
                    reply_token: reply_token.clone(),
                    reply_by_ms: reply_by.map(unix_ms),
                    messages,
                    human_agent: false,
                };
                outgoing.push(Outgoing {
                    route: Route::Channel { channel },
                    reply_by_ms: message.reply_token.as_ref().and(message.reply_by_ms),
                    body: Body::Chat(message),
                    sensitive: filed.is_some_and(|case| case.anonymous),
                });
            }
        }
        let audit = if step.audit.is_empty() {
            Vec::new()
        } else {
            audit_notes(&self.actor_label(&inbound.sender)?, step.audit)
        };
        let write = TurnWrite {
            event: inbound.event_id.clone().map(|id| (channel, id)),
            conversation,
            case: case_write,
            chat_change,
            outgoing,
            keep,
            dequeue: envelope.queued.map(|seq| (channel, seq)),
            audit,
            release_held,
            ..TurnWrite::new(inbound.sender.clone(), inbound.received_at)
        };
        Ok(PlannedTurn {
            write: Some(write),
            handled: Handled::Replies(replies),
        })
    }

    /// What a turn's action writes, as values for its transaction, with the replies that
    /// depend on what the store said (a code good or not). Reads the store; writes nothing.
    fn changes_of(
        &self,
        action: Action,
        inbound: &Inbound,
        lang: Lang,
    ) -> anyhow::Result<TurnChanges> {
        let mut changes = TurnChanges::default();
        let now = inbound.received_at;
        match action {
            Action::IssueLinkCode => {
                let code = link_code();
                changes.replies = self.engine.link_code_replies(lang, &code);
                changes.chat = Some(ChatChange::IssueLinkCode {
                    code,
                    expires_at: now + chrono::Duration::minutes(LINK_CODE_MINUTES),
                });
            }
            Action::RedeemLinkCode { code } => {
                let redemption = self
                    .store
                    .plan_link_redemption(&inbound.sender, &code, now)?;
                changes.replies = self.engine.link_result_replies(lang, redemption.linked());
                changes.chat = Some(ChatChange::RedeemLinkCode(redemption));
            }
            Action::Enrol { code } => {
                let enrolment = self.store.plan_enrolment(&code, now)?;
                changes.replies = self.engine.enrol_replies(lang, enrolment.role());
                changes.chat = Some(ChatChange::RedeemEnrolCode(enrolment));
            }
            Action::Subscribe { village, topics } => {
                changes.chat = Some(ChatChange::Subscribe(Subscription {
                    v: 1,
                    chat: inbound.sender.clone(),
                    village,
                    topics,
                    since: now,
                }));
            }
            Action::Unsubscribe => changes.chat = Some(ChatChange::Unsubscribe),
            Action::SendUpdate(new) => {
                let hold = chrono::Duration::minutes(i64::from(self.settings.updates.hold_minutes));
                changes.chat = Some(ChatChange::ScheduleUpdate(Box::new(Update {
                    v: 1,
                    id: self.store.new_update_id()?,
                    author: inbound.sender.clone(),
                    author_label: self.actor_label(&inbound.sender)?,
                    topic: new.topic,
                    villages: new.villages,
                    text: new.text,
                    photo: new.photo,
                    location: new.location,
                    created_at: now,
                    send_at: now + hold,
                    state: UpdateState::Scheduled,
                    n_recipients: 0,
                    n_undeliverable: 0,
                })));
            }
            Action::Case(mut change) => {
                if let CaseChange::File { case, receipt_hash } = &mut change {
                    if case.anonymous {
                        let receipt = Receipt::generate();
                        *receipt_hash = Some(self.receipts.hash(&receipt)?);
                        changes.receipt = Some(receipt);
                    }
                }
                changes.case = Some(change);
            }
        }
        Ok(changes)
    }

    /// How the audit log names a person (`actor_label`).
    fn actor_label(&self, who: &ChatKey) -> anyhow::Result<String> {
        actor_label(&self.store, &self.redactor, who)
    }

    /// What a case's notices send: to its division (`forwards`), and to its resident
    /// in their language.
    fn forwards_of(&self, case: &Case, notices: &[Notice]) -> anyhow::Result<Vec<Outgoing>> {
        if notices.is_empty() {
            return Ok(Vec::new());
        }
        let resident_lang = match &case.reporter {
            Some(reporter) if notices.iter().any(Notice::is_for_resident) => self
                .store
                .conversation(reporter)?
                .and_then(|conversation| conversation.lang),
            _ => None,
        };
        let context = ForwardContext {
            groups: self.store.groups()?,
            resident_lang,
        };
        Ok(notices
            .iter()
            .flat_map(|notice| self.forwards(&context, case, notice))
            .collect())
    }

    /// A change staff make outside a chat (the dashboard): committed with its forwards
    /// (the resident's answer, the division's notices) and its audit entries, and made
    /// durable before returning.
    pub async fn staff_change(
        self: &Arc<Self>,
        actor: &ChatKey,
        change: CaseChange,
        audit: Vec<crate::engine::AuditEvent>,
    ) -> anyhow::Result<Case> {
        let inbox = Arc::clone(self);
        let actor = actor.clone();
        let (case, n_outgoing) = tokio::task::spawn_blocking(move || {
            let label = inbox.actor_label(&actor)?;
            with_retries(|| {
                let now = chrono::Utc::now();
                let (write, notices) = inbox.store.plan_case_change(change.clone(), now)?;
                let case = write.case().clone();
                let turn = TurnWrite {
                    outgoing: inbox.forwards_of(&case, &notices)?,
                    case: Some(write),
                    audit: audit_notes(&label, audit.clone()),
                    ..TurnWrite::new(actor.clone(), now)
                };
                inbox.store.commit_turns(std::slice::from_ref(&turn))?;
                anyhow::Ok((case, turn.outgoing.len()))
            })
        })
        .await
        .context("the staff change did not finish")??;
        self.store
            .sync()
            .await
            .context("cannot make the change durable")?;
        if n_outgoing > 0 {
            self.dispatcher_wake.notify_one();
        }
        Ok(case)
    }

    /// Writes audit entries outside a turn (a dashboard view), durably.
    pub async fn audit(
        self: &Arc<Self>,
        actor: &ChatKey,
        events: Vec<crate::engine::AuditEvent>,
    ) -> anyhow::Result<()> {
        let notes = audit_notes(&self.actor_label(actor)?, events);
        self.store.audit(&notes)?;
        self.store.sync().await?;
        Ok(())
    }

    /// What one notice of a case sends: to the resident (a notice for them), or to the
    /// division's configured destinations and the group chats bound to it.
    fn forwards(&self, context: &ForwardContext, case: &Case, notice: &Notice) -> Vec<Outgoing> {
        // What staff did goes to the resident, on the channel they wrote from; the web
        // chat and the terminal have no push, and an anonymous reporter follows by
        // receipt: they see it in the case's timeline.
        if notice.is_for_resident() {
            let Some(reporter) = case.reporter.as_ref().filter(|r| r.channel.can_push()) else {
                return Vec::new();
            };
            let lang = context.resident_lang.unwrap_or_default();
            let message = ChannelMessage {
                to: reporter.user.clone(),
                to_many: Vec::new(),
                reply_token: None,
                reply_by_ms: None,
                messages: vec![self.engine.resident_update(lang, case, notice)],
                human_agent: true,
            };
            return vec![Outgoing {
                route: Route::Channel {
                    channel: reporter.channel,
                },
                body: Body::Chat(message),
                sensitive: false,
                reply_by_ms: None,
            }];
        }
        // A division brought in as co-responsible is told; every other notice goes to
        // the owning division.
        let division = match notice {
            Notice::CoResponsible { division } => division.as_str(),
            _ => case.division.as_str(),
        };
        let mut outgoing: Vec<Outgoing> = self
            .settings
            .destinations_of(division)
            .into_iter()
            .map(|destination| Outgoing {
                route: Route::Destination {
                    id: destination.id.clone(),
                },
                body: Body::from(&forward::body(case, notice)),
                sensitive: false,
                reply_by_ms: None,
            })
            .collect();
        for group in context.groups.iter().filter(|g| g.receives(division)) {
            let message = ChannelMessage {
                to: group.id.clone(),
                to_many: Vec::new(),
                reply_token: None,
                reply_by_ms: None,
                messages: vec![self.engine.staff_card(case, notice)],
                human_agent: false,
            };
            outgoing.push(Outgoing {
                route: Route::Channel {
                    channel: group.channel,
                },
                body: Body::Chat(message),
                sensitive: false,
                reply_by_ms: None,
            });
        }
        outgoing
    }
}

/// How the audit log and staff notes name a person: role and a keyed tag (a dashboard
/// login by its name: it is the office's own, not personal data).
fn actor_label(store: &Store, redactor: &Redactor, who: &ChatKey) -> anyhow::Result<String> {
    let role = store.role_of(who)?.label();
    Ok(if who.channel == Channel::Dashboard {
        format!("{role} {}", who.user)
    } else {
        format!("{role} {}", redactor.tag(who))
    })
}

/// Audit events as the log records them, under the actor's label.
fn audit_notes(label: &str, events: Vec<crate::engine::AuditEvent>) -> Vec<AuditNote> {
    events
        .into_iter()
        .map(|event| AuditNote {
            actor: label.to_owned(),
            action: event.action,
            case_code: event.case_code,
            detail: event.detail,
        })
        .collect()
}

/// What `forwards` reads from the store before a turn's transaction.
struct ForwardContext {
    groups: Vec<Group>,
    resident_lang: Option<Lang>,
}

/// What became of one turn of a round (`Inbox::handle_round`).
#[derive(Debug)]
pub enum Turned {
    /// Committed (durable by the dispatcher's flush before anything is sent); the
    /// replies, and how many deliveries it put in the outbox.
    Done(Handled, usize),
    /// Not committed (a storage error): the event stays queued and is tried again.
    Failed(anyhow::Error),
    /// The turn panicked: a bug on some odd input. Trying again would panic again.
    Panicked,
}

/// How the answer to an event reaches the resident.
#[derive(Clone, Debug)]
pub enum AnswerVia {
    /// Returned to the caller (web chat, terminal).
    Inline,
    /// Sent by the channel through the outbox: with the platform's reply token while it
    /// is fresh, else pushed.
    Outbox {
        reply_token: Option<String>,
        reply_by: Option<chrono::DateTime<chrono::Utc>>,
    },
}

/// An event with how to answer it and, for a queued platform event, its queue entry.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub inbound: Inbound,
    pub answer: AnswerVia,
    pub queued: Option<u64>,
    /// The person sent more than their limit allows (`channels::queue`): the event is
    /// answered with a request to slow down instead of being run through the engine.
    pub over_limit: bool,
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
    redactor: &'a Redactor,
}

impl Lookup for StoreLookup<'_> {
    fn actor_label(&self, who: &ChatKey) -> anyhow::Result<String> {
        actor_label(self.store, self.redactor, who)
    }

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

    fn identities(&self, chat: &ChatKey) -> anyhow::Result<Vec<ChatKey>> {
        Ok(self.store.identities(chat)?)
    }

    fn role_of(&self, chat: &ChatKey) -> anyhow::Result<crate::domain::role::Role> {
        Ok(self.store.role_of(chat)?)
    }

    fn subscription(&self, chat: &ChatKey) -> anyhow::Result<Option<Subscription>> {
        Ok(self.store.subscription(chat)?)
    }

    fn audience(&self, topic: Topic, villages: &[u32]) -> anyhow::Result<usize> {
        // The same rule as the fan-out, on a draft of the update.
        let draft = Update::draft(
            ChatKey::new(Channel::Dashboard, ""),
            topic,
            villages.to_vec(),
            chrono::Utc::now(),
        );
        let mut n = 0;
        for subscription in self.store.subscriptions() {
            if subscription?.receives(&draft) {
                n += 1;
            }
        }
        Ok(n)
    }

    fn updates_since(
        &self,
        author: &ChatKey,
        since: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<u32> {
        let n = self
            .store
            .updates()?
            .iter()
            .filter(|u| u.author == *author && u.created_at >= since)
            .count();
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn open_cases(&self) -> anyhow::Result<Vec<Case>> {
        Ok(self.store.open_cases().collect::<Result<Vec<_>, _>>()?)
    }
}

/// The slow hash under which an anonymous receipt is stored: Argon2id, salted with the
/// installation secret. Deterministic, so a receipt finds its case by hash lookup; slow,
/// so that trying all 10^16 receipts against a stolen store is out of reach.
///
/// Each hash takes 19 MiB while it runs, so at most `MAX_PARALLEL_RECEIPT_HASHES` run at
/// once and the others wait their turn: many lookups at once cannot exhaust memory.
struct ReceiptHasher {
    salt: Vec<u8>,
    argon2: Argon2<'static>,
    turns: Turns,
}

/// Receipt hashes run at once.
const MAX_PARALLEL_RECEIPT_HASHES: usize = 2;

/// A counting limit for blocking threads: `take` waits until fewer than `max` turns are
/// out.
struct Turns {
    out: std::sync::Mutex<usize>,
    returned: std::sync::Condvar,
    max: usize,
}

/// A turn, given back when dropped.
struct HashTurn<'a>(&'a Turns);

impl Turns {
    fn new(max: usize) -> Self {
        Self {
            out: std::sync::Mutex::new(0),
            returned: std::sync::Condvar::new(),
            max: max.max(1),
        }
    }

    fn take(&self) -> HashTurn<'_> {
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *out >= self.max {
            out = self
                .returned
                .wait(out)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *out += 1;
        HashTurn(self)
    }
}

impl Drop for HashTurn<'_> {
    fn drop(&mut self) {
        let mut out = self
            .0
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *out -= 1;
        self.0.returned.notify_one();
    }
}

impl ReceiptHasher {
    fn new(salt: Vec<u8>) -> Self {
        // OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
        let params = Params::new(19 * 1024, 2, 1, Some(32)).expect("valid Argon2 parameters");
        Self {
            salt,
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            turns: Turns::new(MAX_PARALLEL_RECEIPT_HASHES),
        }
    }

    fn hash(&self, receipt: &Receipt) -> anyhow::Result<Vec<u8>> {
        let _turn = self.turns.take();
        let mut out = vec![0u8; 32];
        crate::hashing::hash_into(
            &self.argon2,
            receipt.digits().as_bytes(),
            &self.salt,
            &mut out,
        )
        .map_err(|error| anyhow::anyhow!("cannot hash a receipt: {error}"))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn no_more_than_the_allowed_turns_run_at_once() {
        let turns = Turns::new(2);
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    let _turn = turns.take();
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        // Every turn was given back.
        assert_eq!(*turns.out.lock().unwrap(), 0);
    }
}
