//! Cases: filing, lookup and the changes a resident makes, each committed in one sled
//! transaction together with the conversation state, the processed-event marker and the
//! outbox deliveries it causes.

use chrono::{DateTime, Utc};
use sled::transaction::TransactionalTree;
use sled::Transactional as _;

use crate::delivery::forward::Notice;
use crate::domain::case::{
    Case, CaseCode, CaseEvent, CaseEventKind, NewCase, StaffNote, Status, CASE_RECORD_VERSION,
};
use crate::domain::{Channel, ChatKey};
use crate::engine::Conversation;
use crate::store::chat_changes::{ChatTrees, N_CHAT_TREES};
use crate::store::outbox::{Body, Delivery, Route};
use crate::store::{
    abort, decode, encode, get_json, keys, transaction_result, ChatChange, ConversationRecord,
    Error, OutcomeRecord, Result, Store, TxResult, RECORD_VERSION,
};

/// A change to cases that a conversation turn makes.
#[derive(Debug)]
pub enum CaseChange {
    /// File a new case. `receipt_hash` is set for an anonymous corruption complaint.
    File {
        case: Box<NewCase>,
        receipt_hash: Option<Vec<u8>>,
    },
    /// The resident adds information to an open case.
    AddInfo { case_id: u64, text: String },
    /// The resident withdraws an open case.
    Withdraw { case_id: u64 },
    /// Staff answer the resident.
    StaffAnswer { case_id: u64, text: String },
    /// Staff move the case to another status.
    SetStatus { case_id: u64, to: Status },
    /// A staff member takes the case: it is theirs, and accepted if it was new.
    Take { case_id: u64, staff: ChatKey },
    /// Staff close the case as resolved, with a note to the resident and optionally a
    /// photo of the result.
    Close {
        case_id: u64,
        note: String,
        photo: Option<String>,
    },
    /// Staff hand the case to another division, which owns it from now on.
    Forward { case_id: u64, to: String },
    /// Staff bring another division in to work the case with its owner.
    CoResponsible { case_id: u64, division: String },
    /// A note among staff, never shown to the resident.
    Note { case_id: u64, note: StaffNote },
    /// Staff give the case to someone (or to nobody).
    Assign {
        case_id: u64,
        staff: Option<ChatKey>,
    },
    /// The resident confirms the resolution with a rating, 1 to 5.
    Rate { case_id: u64, stars: u8 },
    /// The resident says the resolved case was not fixed.
    Reopen { case_id: u64 },
    /// Staff attach a photo of the result (after closing from a chat).
    AfterPhoto { case_id: u64, media_id: String },
}

impl CaseChange {
    /// The existing case a change is about (none for filing).
    pub fn case_id(&self) -> Option<u64> {
        match self {
            Self::File { .. } => None,
            Self::AddInfo { case_id, .. }
            | Self::Withdraw { case_id }
            | Self::StaffAnswer { case_id, .. }
            | Self::SetStatus { case_id, .. }
            | Self::Take { case_id, .. }
            | Self::Close { case_id, .. }
            | Self::Forward { case_id, .. }
            | Self::CoResponsible { case_id, .. }
            | Self::Note { case_id, .. }
            | Self::Assign { case_id, .. }
            | Self::Rate { case_id, .. }
            | Self::Reopen { case_id }
            | Self::AfterPhoto { case_id, .. } => Some(*case_id),
        }
    }

    /// Makes the change to an existing case; returns what to tell its division or its
    /// resident.
    fn apply_to(&self, case: &mut Case, now: DateTime<Utc>) -> Vec<Notice> {
        match self {
            Self::File { .. } => Vec::new(),
            Self::AddInfo { text, .. } => {
                case.record(now, CaseEventKind::ResidentInfo { text: text.clone() });
                vec![Notice::InfoAdded { text: text.clone() }]
            }
            Self::Withdraw { .. } => {
                case.record(now, CaseEventKind::Withdrawn);
                case.status = Status::Withdrawn;
                vec![Notice::Withdrawn]
            }
            Self::StaffAnswer { text, .. } => {
                case.record(now, CaseEventKind::StaffAnswer { text: text.clone() });
                vec![Notice::StaffAnswer { text: text.clone() }]
            }
            Self::SetStatus { to, .. } => {
                case.record(now, CaseEventKind::StatusChanged { to: *to });
                case.status = *to;
                vec![Notice::StatusChanged { to: *to }]
            }
            Self::Take { staff, .. } => {
                let newly_accepted = case.status == Status::Received;
                if newly_accepted {
                    case.record(
                        now,
                        CaseEventKind::StatusChanged {
                            to: Status::Accepted,
                        },
                    );
                    case.status = Status::Accepted;
                }
                case.assignee = Some(staff.clone());
                if newly_accepted {
                    vec![Notice::StatusChanged {
                        to: Status::Accepted,
                    }]
                } else {
                    Vec::new()
                }
            }
            Self::Close { note, photo, .. } => {
                case.record(now, CaseEventKind::StaffAnswer { text: note.clone() });
                if let Some(media_id) = photo {
                    case.record(
                        now,
                        CaseEventKind::AfterPhoto {
                            media_id: media_id.clone(),
                        },
                    );
                }
                case.record(
                    now,
                    CaseEventKind::StatusChanged {
                        to: Status::Resolved,
                    },
                );
                case.status = Status::Resolved;
                vec![
                    Notice::StaffAnswer { text: note.clone() },
                    Notice::StatusChanged {
                        to: Status::Resolved,
                    },
                ]
            }
            Self::Forward { to, .. } => {
                let from = std::mem::replace(&mut case.division, to.clone());
                case.record(
                    now,
                    CaseEventKind::Forwarded {
                        from: from.clone(),
                        to: to.clone(),
                    },
                );
                case.co_divisions.retain(|d| d != to);
                // The new division decides who works it.
                case.assignee = None;
                vec![Notice::Forwarded { from }]
            }
            Self::CoResponsible { division, .. } => {
                if case.concerns_division(division) {
                    return Vec::new();
                }
                case.co_divisions.push(division.clone());
                case.record(
                    now,
                    CaseEventKind::CoResponsible {
                        division: division.clone(),
                    },
                );
                vec![Notice::CoResponsible {
                    division: division.clone(),
                }]
            }
            Self::Note { note, .. } => {
                case.notes.push(note.clone());
                Vec::new()
            }
            Self::Assign { staff, .. } => {
                case.assignee.clone_from(staff);
                Vec::new()
            }
            Self::Rate { stars, .. } => {
                let stars = (*stars).clamp(1, 5);
                case.rating = Some(stars);
                case.record(now, CaseEventKind::Rated { stars });
                vec![Notice::Rated { stars }]
            }
            Self::AfterPhoto { media_id, .. } => {
                case.record(
                    now,
                    CaseEventKind::AfterPhoto {
                        media_id: media_id.clone(),
                    },
                );
                Vec::new()
            }
            Self::Reopen { .. } => {
                case.record(now, CaseEventKind::Reopened);
                case.record(
                    now,
                    CaseEventKind::StatusChanged {
                        to: Status::InProgress,
                    },
                );
                case.status = Status::InProgress;
                case.reopen_count += 1;
                case.rating = None;
                vec![Notice::Reopened]
            }
        }
    }
}

/// Something to put in the outbox.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub route: Route,
    pub body: Body,
    /// The body holds a secret, wiped once delivered.
    pub sensitive: bool,
    /// A chat message's reply token is good until then (Unix ms): such a delivery is
    /// written marked (`Delivery::marked_in`).
    pub reply_by_ms: Option<u64>,
}

/// The forwards a case change causes: what goes to the division's destinations.
pub type Forwards<'a> = &'a dyn Fn(&Case, &Notice) -> Vec<Outgoing>;
/// The answer to the resident, when it goes through the outbox (platform chats); given
/// the case the turn filed or changed, if any.
pub type ReplyPlan<'a> = &'a dyn Fn(Option<&Case>) -> Option<Outgoing>;
/// The answer kept for a redelivery of the event (web chat), given the case the turn
/// filed or changed: written with the processed marker, in the turn's transaction.
pub type KeepPlan<'a> = &'a dyn Fn(Option<&Case>) -> Option<serde_json::Value>;

/// Everything one processed event changes.
pub struct Turn<'a> {
    pub chat: &'a ChatKey,
    /// The platform event id, marked as processed in the same transaction.
    pub event: Option<(Channel, &'a str)>,
    /// The conversation's new state; none for a change made outside a chat.
    pub conversation: Option<&'a Conversation>,
    pub change: Option<CaseChange>,
    /// The turn's other write (a link code, a role, a subscription, an update).
    pub chat_change: Option<&'a ChatChange>,
    pub now: DateTime<Utc>,
    pub forwards: Forwards<'a>,
    pub reply: Option<ReplyPlan<'a>>,
    /// The answer to keep for a redelivery, with the processed marker (`event`).
    pub keep: Option<KeepPlan<'a>>,
    /// The inbound queue entry this turn consumes: its channel and sequence number.
    pub dequeue: Option<(Channel, u64)>,
    /// What this turn writes to the audit log, in the same transaction.
    pub audit: Vec<crate::store::AuditNote>,
    /// How many of this person's held messages (the oldest) go out with this turn's
    /// answer: they are forgotten; any held since stay.
    pub release_held: usize,
}

/// A turn that changed no case and wrote no audit entry: the person's conversation,
/// the processed marker and the answer. Such turns of different people touch no key
/// in common, so many of them commit in one transaction (`Store::commit_plain_turns`).
#[derive(Clone, Debug)]
pub struct PlainTurn {
    pub chat: ChatKey,
    /// The platform event id, marked as processed.
    pub event: Option<(Channel, String)>,
    /// The conversation as the turn left it; none when unchanged (nothing to write).
    pub conversation: Option<Conversation>,
    pub now: DateTime<Utc>,
    /// The answer, when it goes through the outbox.
    pub reply: Option<Outgoing>,
    /// The answer kept for a redelivery (web chat).
    pub keep: Option<serde_json::Value>,
    /// The inbound queue entry it consumes.
    pub dequeue: Option<(Channel, u64)>,
}

/// How many trees a turn writes besides those of its chat change.
const N_TURN_TREES: usize = 13;

impl Store {
    /// Commits a turn atomically and returns the case it filed or changed. Not yet
    /// durable: call `sync` before telling the resident.
    pub fn commit_turn(&self, turn: Turn<'_>) -> Result<Option<Case>> {
        let chat_key = keys::chat(turn.chat);
        let conversation = turn
            .conversation
            .map(|conversation| {
                encode(&ConversationRecord {
                    v: RECORD_VERSION,
                    conversation: conversation.clone(),
                })
            })
            .transpose()?;
        // More trees than sled's tuples take: a slice, whose views come back in order,
        // the turn's own first, then those of its chat change.
        let turn_trees: [&sled::Tree; N_TURN_TREES] = [
            &self.meta,
            &self.chatkey_conversation,
            &self.eventkey_outcome,
            &self.caseid_case,
            &self.casecode_caseid,
            &self.receipthash_caseid,
            &self.reporter_caseid,
            &self.due_delivery,
            &self.channelseq_event,
            &self.chatkey_seen,
            &self.chatkey_held,
            &self.auditseq_entry,
            &self.open_caseid,
        ];
        let trees: Vec<&sled::Tree> = turn_trees.into_iter().chain(self.chat_trees()).collect();
        let result = trees[..].transaction(|views| {
            let views: &[TransactionalTree; N_TURN_TREES + N_CHAT_TREES] =
                views.as_slice().try_into().expect("a view for each tree");
            let [
                meta,
                conversations,
                outcomes,
                cases,
                codes,
                receipts,
                reporters,
                due,
                inbound,
                seen,
                held,
                audit_log,
                open,
                chat_views @ ..,
            ] = views;
            if let Some(change) = turn.chat_change {
                change.apply(turn.chat, &ChatTrees::of(chat_views))?;
            }
            crate::store::audit::append(meta, audit_log, &turn.audit, turn.now)?;
            if let Some(conversation) = &conversation {
                conversations.insert(chat_key.as_slice(), conversation.as_slice())?;
            }
            note_last_seen(seen, turn.chat, &chat_key, turn.event.is_some(), turn.now)?;
            if turn.release_held > 0 {
                let mut still_held: Vec<crate::engine::Outbound> = held
                    .get(chat_key.as_slice())?
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                    .unwrap_or_default();
                still_held.drain(..turn.release_held.min(still_held.len()));
                if still_held.is_empty() {
                    held.remove(chat_key.as_slice())?;
                } else {
                    held.insert(chat_key.as_slice(), encode(&still_held).map_err(abort)?)?;
                }
            }
            if let Some((channel, seq)) = turn.dequeue {
                inbound.remove(keys::queued(channel, seq))?;
            }
            let outbox = Outbox {
                due,
                opening: self.opening,
            };
            let case = match &turn.change {
                None => None,
                Some(CaseChange::File { case, receipt_hash }) => {
                    let filed = new_case(meta, cases, case, turn.now)?;
                    codes.insert(filed.code.as_bytes(), &keys::id(filed.id))?;
                    open.insert(&keys::id(filed.id), &[])?;
                    match receipt_hash {
                        Some(hash) => {
                            receipts.insert(hash.as_slice(), &keys::id(filed.id))?;
                        }
                        None => {
                            if let Some(reporter) = &filed.reporter {
                                reporters
                                    .insert(keys::reporter_case(reporter, filed.id), &[])?;
                            }
                        }
                    }
                    outbox.enqueue_all(
                        (turn.forwards)(&filed, &Notice::Filed),
                        Some(filed.id),
                        turn.now,
                    )?;
                    Some(filed)
                }
                Some(change) => {
                    let case_id = change.case_id().unwrap_or_default();
                    let mut case = load_case(cases, case_id)?;
                    let notices = change.apply_to(&mut case, turn.now);
                    cases.insert(&keys::id(case.id), encode(&case).map_err(abort)?)?;
                    if case.status.is_closed() {
                        open.remove(&keys::id(case.id))?;
                    } else {
                        open.insert(&keys::id(case.id), &[])?;
                    }
                    for notice in &notices {
                        outbox.enqueue_all(
                            (turn.forwards)(&case, notice),
                            Some(case.id),
                            turn.now,
                        )?;
                    }
                    Some(case)
                }
            };
            if let Some(reply) = turn.reply.and_then(|plan| plan(case.as_ref())) {
                outbox.enqueue_all(vec![reply], case.as_ref().map(|c| c.id), turn.now)?;
            }
            // The processed marker, with the answer kept for a redelivery: a
            // redelivery after a crash finds both or neither.
            let kept = turn.keep.and_then(|keep| keep(case.as_ref()));
            let outcome = OutcomeRecord::after_turn(turn.dequeue.is_some(), kept, turn.now);
            if let (Some((channel, event_id)), Some(outcome)) = (turn.event, outcome) {
                outcomes.insert(
                    keys::event(&self.secret, channel, event_id),
                    encode(&outcome).map_err(abort)?,
                )?;
            }
            Ok(case)
        });
        transaction_result(result)
    }

    /// Commits plain turns of different people in one transaction: every one of them or
    /// none. Not yet durable: call `sync` before telling anyone.
    pub fn commit_plain_turns(&self, turns: &[PlainTurn]) -> Result<()> {
        if turns.is_empty() {
            return Ok(());
        }
        let mut prepared = Vec::with_capacity(turns.len());
        for turn in turns {
            let conversation = turn
                .conversation
                .as_ref()
                .map(|conversation| {
                    encode(&ConversationRecord {
                        v: RECORD_VERSION,
                        conversation: conversation.clone(),
                    })
                })
                .transpose()?;
            let record =
                OutcomeRecord::after_turn(turn.dequeue.is_some(), turn.keep.clone(), turn.now);
            let outcome = match (&turn.event, record) {
                (Some((channel, event_id)), Some(record)) => Some((
                    keys::event(&self.secret, *channel, event_id),
                    encode(&record)?,
                )),
                _ => None,
            };
            prepared.push((keys::chat(&turn.chat), conversation, outcome));
        }
        let result = (
            &self.chatkey_conversation,
            &self.eventkey_outcome,
            &self.due_delivery,
            &self.channelseq_event,
            &self.chatkey_seen,
        )
            .transaction(|(conversations, outcomes, due, inbound, seen)| {
                let outbox = Outbox {
                    due,
                    opening: self.opening,
                };
                for (turn, (chat_key, conversation, outcome)) in turns.iter().zip(&prepared) {
                    if let Some(conversation) = conversation {
                        conversations.insert(chat_key.as_slice(), conversation.as_slice())?;
                    }
                    note_last_seen(seen, &turn.chat, chat_key, turn.event.is_some(), turn.now)?;
                    if let Some((channel, seq)) = turn.dequeue {
                        inbound.remove(keys::queued(channel, seq))?;
                    }
                    if let Some(reply) = &turn.reply {
                        outbox.enqueue_all(vec![reply.clone()], None, turn.now)?;
                    }
                    if let Some((event_key, record)) = outcome {
                        outcomes.insert(event_key.as_slice(), record.as_slice())?;
                    }
                }
                Ok(())
            });
        transaction_result(result)
    }

    pub fn case(&self, case_id: u64) -> Result<Option<Case>> {
        get_json(&self.caseid_case, "caseid_case", &keys::id(case_id))
    }

    pub fn case_by_code(&self, code: &CaseCode) -> Result<Option<Case>> {
        match self.casecode_caseid.get(code.to_string().as_bytes())? {
            Some(id) => match keys::parse_id(&id) {
                Some(id) => self.case(id),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    pub fn case_by_receipt_hash(&self, hash: &[u8]) -> Result<Option<Case>> {
        match self.receipthash_caseid.get(hash)? {
            Some(id) => match keys::parse_id(&id) {
                Some(id) => self.case(id),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// The cases a resident filed under their name, from any of their linked chats,
    /// oldest first.
    pub fn cases_of(&self, reporter: &ChatKey) -> Result<Vec<Case>> {
        let mut found = Vec::new();
        for identity in self.identities(reporter)? {
            for entry in self
                .reporter_caseid
                .scan_prefix(keys::reporter_prefix(&identity))
            {
                let (key, _) = entry?;
                let Some(id) = key
                    .len()
                    .checked_sub(8)
                    .and_then(|at| keys::parse_id(&key[at..]))
                else {
                    continue;
                };
                if let Some(case) = self.case(id)? {
                    found.push(case);
                }
            }
        }
        found.sort_by_key(|case| case.id);
        Ok(found)
    }

    /// Every case not closed, oldest first (from the index of open cases).
    pub fn open_cases(&self) -> impl Iterator<Item = Result<Case>> + '_ {
        self.open_caseid.iter().filter_map(move |entry| {
            let id = match entry {
                Ok((key, _)) => keys::parse_id(&key)?,
                Err(error) => return Some(Err(error.into())),
            };
            self.case(id).transpose()
        })
    }

    /// Builds the index of open cases of a store written before it existed.
    pub(super) fn index_open_cases(&self) -> Result<()> {
        const INDEXED: &[u8] = b"open_cases_indexed";
        if self.meta.get(INDEXED)?.is_some() {
            return Ok(());
        }
        for case in self.all_cases() {
            let case = case?;
            if !case.status.is_closed() {
                self.open_caseid.insert(keys::id(case.id), &[])?;
            }
        }
        self.meta.insert(INDEXED, &[1])?;
        Ok(())
    }

    /// Every case, oldest first.
    pub fn all_cases(&self) -> impl Iterator<Item = Result<Case>> + '_ {
        self.caseid_case
            .iter()
            .map(|entry| decode("caseid_case", &entry?.1))
    }

    pub fn n_cases(&self) -> usize {
        self.caseid_case.len()
    }
}

fn load_case(cases: &TransactionalTree, case_id: u64) -> TxResult<Case> {
    let bytes = cases
        .get(keys::id(case_id))?
        .ok_or_else(|| abort(Error::NoSuchCase(case_id)))?;
    decode("caseid_case", &bytes).map_err(abort)
}

/// Allocates the next code of the kind and year, and writes the case.
fn new_case(
    meta: &TransactionalTree,
    cases: &TransactionalTree,
    new: &NewCase,
    now: DateTime<Utc>,
) -> TxResult<Case> {
    let year_be = crate::thai::buddhist_year(now);
    let prefix = new.kind.code_prefix();
    let sequence_key = keys::sequence(prefix, year_be);
    let number = meta
        .get(&sequence_key)?
        .and_then(|bytes| keys::parse_id(&bytes))
        .unwrap_or(0)
        + 1;
    meta.insert(sequence_key, &keys::id(number))?;
    let id = cases.generate_id()?;
    let code = CaseCode {
        kind: new.kind,
        year_be,
        number: u32::try_from(number).unwrap_or(u32::MAX),
    };
    let case = Case {
        v: CASE_RECORD_VERSION,
        id,
        code: code.to_string(),
        kind: new.kind,
        category: new.category.clone(),
        division: new.division.clone(),
        text: new.text.clone(),
        location: new.location.clone(),
        place: new.place.clone(),
        photos: new.photos.clone(),
        contact: new.contact.clone(),
        reporter: (!new.anonymous).then(|| new.reporter.clone()),
        anonymous: new.anonymous,
        status: Status::Received,
        created_at: now,
        events: vec![CaseEvent {
            at: now,
            kind: CaseEventKind::Filed,
        }],
        assignee: None,
        channel: Some(new.reporter.channel),
        co_divisions: Vec::new(),
        notes: Vec::new(),
        rating: None,
        reopen_count: 0,
    };
    cases.insert(&keys::id(id), encode(&case).map_err(abort)?)?;
    Ok(case)
}

/// When a person last wrote (a turn of one of their events) matters for Messenger's
/// 24-hour window.
fn note_last_seen(
    seen: &TransactionalTree,
    chat: &ChatKey,
    chat_key: &[u8],
    wrote: bool,
    now: DateTime<Utc>,
) -> TxResult<()> {
    if wrote && chat.channel == Channel::Messenger {
        seen.insert(chat_key, &keys::id(crate::store::unix_ms(now)))?;
    }
    Ok(())
}

/// The outbox's schedule inside a transaction.
struct Outbox<'a> {
    due: &'a TransactionalTree,
    /// The store's opening, for deliveries written marked.
    opening: u64,
}

impl Outbox<'_> {
    fn enqueue_all(
        &self,
        outgoing: Vec<Outgoing>,
        case_id: Option<u64>,
        now: DateTime<Utc>,
    ) -> TxResult<()> {
        for item in outgoing {
            let id = self.due.generate_id()?;
            let mut delivery = Delivery::new(id, item.route, case_id, item.body, now);
            delivery.sensitive = item.sensitive;
            delivery.reply_by_ms = item.reply_by_ms;
            if delivery.has_fresh_reply_token(now) {
                delivery.reply_tried = true;
                delivery.marked_in = Some(self.opening);
            }
            crate::store::outbox::schedule(self.due, &delivery)?;
        }
        Ok(())
    }
}
