//! Cases and the turns that change them. A turn is decided before its transaction: the
//! case as it will be (`Store::plan_case_change`), its deliveries, its answer; the
//! transaction (`Store::commit_turns`, many turns at once) writes those values, and
//! checks that what each case was planned from is still what is stored.

use chrono::{DateTime, Utc};
use sled::transaction::TransactionalTree;
use sled::Transactional as _;

use crate::domain::case::{Case, CaseCode, Notice};
use crate::domain::change::CaseChange;
use crate::domain::{Channel, ChatKey};
use crate::engine::Conversation;
use crate::store::chat_changes::{ChatTrees, N_CHAT_TREES};
use crate::store::delivery_record::encode_delivery_with_body;
use crate::store::outbox::{Body, Delivery, Route};
use crate::store::{
    abort, decode, encode, get_json, keys, transaction_result, AuditNote, ChatChange,
    ConversationRecord, Error, OutcomeRecord, Result, Store, TxResult, RECORD_VERSION,
};

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

/// A case as a turn leaves it, decided before the turn's transaction, with what the
/// store must still hold for it to stand (`Store::plan_case_change`).
#[derive(Debug)]
pub struct CaseWrite {
    case: Case,
    /// The case's record, encoded once.
    record: Vec<u8>,
    basis: Basis,
    /// An anonymous complaint's receipt hash, indexed with the new case.
    receipt_hash: Option<Vec<u8>>,
}

/// What a case write was planned from.
#[derive(Debug)]
enum Basis {
    /// A new case: its number is the one after `previous` in its kind's and year's
    /// sequence (`sequence_key` in `meta`).
    Filed {
        sequence_key: Vec<u8>,
        previous: u64,
    },
    /// A case changed from this record, which must still be the stored one.
    Changed { read: sled::IVec },
}

impl CaseWrite {
    /// The case as the turn leaves it.
    #[must_use]
    pub fn case(&self) -> &Case {
        &self.case
    }

    /// Whether the write files a new case.
    #[must_use]
    pub fn files(&self) -> bool {
        matches!(self.basis, Basis::Filed { .. })
    }
}

/// Everything one turn writes, decided before its transaction: one processed event (or
/// a change staff make on the dashboard).
#[derive(Debug)]
pub struct TurnWrite {
    pub chat: ChatKey,
    /// The platform event id, marked as processed in the same transaction.
    pub event: Option<(Channel, String)>,
    /// The conversation as the turn left it; none when unchanged (or outside a chat).
    pub conversation: Option<Conversation>,
    pub case: Option<CaseWrite>,
    /// The turn's other write (a link code, a role, a subscription, an update).
    pub chat_change: Option<ChatChange>,
    pub now: DateTime<Utc>,
    /// The deliveries: the case's forwards and notices, then the answer. Those of a turn
    /// with a case belong to that case.
    pub outgoing: Vec<Outgoing>,
    /// The answer kept for a redelivery (web chat), with the processed marker.
    pub keep: Option<serde_json::Value>,
    /// The inbound queue entry this turn consumes: its channel and sequence number.
    pub dequeue: Option<(Channel, u64)>,
    /// What this turn writes to the audit log.
    pub audit: Vec<AuditNote>,
    /// How many of this person's held messages (the oldest) go out with this turn's
    /// answer: they are forgotten; any held since stay.
    pub release_held: usize,
}

impl TurnWrite {
    /// A turn of `chat` at `now` that writes nothing yet.
    #[must_use]
    pub fn new(chat: ChatKey, now: DateTime<Utc>) -> Self {
        Self {
            chat,
            event: None,
            conversation: None,
            case: None,
            chat_change: None,
            now,
            outgoing: Vec::new(),
            keep: None,
            dequeue: None,
            audit: Vec::new(),
            release_held: 0,
        }
    }

    /// A turn that changes no case, nothing else of the chat's, and no audit entry: its
    /// writes touch only its own person's keys (`commit_turns` then needs five trees).
    fn is_plain(&self) -> bool {
        self.case.is_none()
            && self.chat_change.is_none()
            && self.audit.is_empty()
            && self.release_held == 0
    }
}

/// A turn's records encoded before its transaction, which then only inserts them: the
/// less a transaction does, the shorter it holds sled's lock (every other write, the
/// webhook's acknowledgements among them, waits for it).
struct Encoded {
    chat_key: Vec<u8>,
    conversation: Option<Vec<u8>>,
    outcome: Option<(Vec<u8>, Vec<u8>)>,
    /// The turn's deliveries, under their places in the schedule.
    deliveries: Vec<([u8; 16], Vec<u8>)>,
}

/// How many trees a turn can write besides those of its chat change.
const N_TURN_TREES: usize = 13;

impl Store {
    /// Makes a case change to a copy of the case (or files a new one) and says what to
    /// tell about it. Reads the store and writes nothing: the write stands only if, when
    /// its turn commits, the case is still as read here (a filing: no other case took
    /// its number); otherwise the commit fails with `Error::Conflict`.
    pub fn plan_case_change(
        &self,
        change: CaseChange,
        now: DateTime<Utc>,
    ) -> Result<(CaseWrite, Vec<Notice>)> {
        let (case, basis, receipt_hash, notices) = match change {
            CaseChange::File {
                case: new,
                receipt_hash,
            } => {
                let year_be = crate::thai::buddhist_year(now);
                let sequence_key = keys::sequence(new.kind.code_prefix(), year_be);
                let previous = self
                    .meta
                    .get(&sequence_key)?
                    .and_then(|bytes| keys::parse_id(&bytes))
                    .unwrap_or(0);
                let code = CaseCode {
                    kind: new.kind,
                    year_be,
                    number: u32::try_from(previous + 1).unwrap_or(u32::MAX),
                };
                // Ids are not read back: one taken by a turn that then did not commit
                // is skipped, as sled's own ids are across a restart.
                let case = Case::filed(&new, self.db.generate_id()?, code, now);
                let basis = Basis::Filed {
                    sequence_key: sequence_key.to_vec(),
                    previous,
                };
                (case, basis, receipt_hash, vec![Notice::Filed])
            }
            change => {
                let case_id = change.case_id().unwrap_or_default();
                let read = self
                    .caseid_case
                    .get(keys::id(case_id))?
                    .ok_or(Error::NoSuchCase(case_id))?;
                let mut case: Case = decode("caseid_case", &read)?;
                let notices = change.apply_to(&mut case, now);
                (case, Basis::Changed { read }, None, notices)
            }
        };
        Ok((
            CaseWrite {
                record: encode(&case)?,
                case,
                basis,
                receipt_hash,
            },
            notices,
        ))
    }

    /// Plans and commits one case change as `chat`, with no delivery and no audit entry;
    /// returns the case as written. For what puts cases on file outside a conversation
    /// (the memory bench, tests).
    pub fn commit_case_change(
        &self,
        chat: &ChatKey,
        change: CaseChange,
        now: DateTime<Utc>,
    ) -> Result<Case> {
        let (write, _notices) = self.plan_case_change(change, now)?;
        let case = write.case().clone();
        self.commit_turns(&[TurnWrite {
            case: Some(write),
            ..TurnWrite::new(chat.clone(), now)
        }])?;
        Ok(case)
    }

    /// Commits turns in one transaction: every one of them or none. A case write whose
    /// case changed since it was planned (or whose number another filing took) fails the
    /// whole commit with `Error::Conflict`, having written nothing: its turn must be
    /// planned again. Turns that change no case, nothing else of their chat's and no
    /// audit entry (most: a question answered) touch five trees, and commit over those
    /// alone. Not yet durable: call `sync` before telling anyone.
    pub fn commit_turns(&self, turns: &[TurnWrite]) -> Result<()> {
        if turns.is_empty() {
            return Ok(());
        }
        let encoded = turns
            .iter()
            .map(|turn| self.encode_turn(turn))
            .collect::<Result<Vec<_>>>()?;
        if turns.iter().all(TurnWrite::is_plain) {
            return self.commit_plain_turns(turns, &encoded);
        }
        // More trees than sled's tuples take: a slice, whose views come back in order,
        // the turn's own first, then those of chat changes.
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
            for (turn, encoded) in turns.iter().zip(&encoded) {
                if let Some(change) = &turn.chat_change {
                    change.apply(&turn.chat, &ChatTrees::of(chat_views))?;
                }
                crate::store::audit::append(meta, audit_log, &turn.audit, turn.now)?;
                if let Some(conversation) = &encoded.conversation {
                    conversations.insert(encoded.chat_key.as_slice(), conversation.as_slice())?;
                }
                note_last_seen(seen, turn, &encoded.chat_key)?;
                if turn.release_held > 0 {
                    release_held(held, &encoded.chat_key, turn.release_held)?;
                }
                if let Some((channel, seq)) = turn.dequeue {
                    inbound.remove(keys::queued(channel, seq))?;
                }
                if let Some(write) = &turn.case {
                    write_case(
                        CaseTrees {
                            meta,
                            cases,
                            codes,
                            receipts,
                            reporters,
                            open,
                        },
                        write,
                    )?;
                }
                for (key, record) in &encoded.deliveries {
                    due.insert(key, record.as_slice())?;
                }
                // The processed marker, with the answer kept for a redelivery: a
                // redelivery after a crash finds both or neither.
                if let Some((event_key, record)) = &encoded.outcome {
                    outcomes.insert(event_key.as_slice(), record.as_slice())?;
                }
            }
            Ok(())
        });
        transaction_result(result)
    }

    /// `commit_turns` of plain turns: over the five trees they touch.
    fn commit_plain_turns(&self, turns: &[TurnWrite], encoded: &[Encoded]) -> Result<()> {
        let result = (
            &self.chatkey_conversation,
            &self.eventkey_outcome,
            &self.due_delivery,
            &self.channelseq_event,
            &self.chatkey_seen,
        )
            .transaction(|(conversations, outcomes, due, inbound, seen)| {
                for (turn, encoded) in turns.iter().zip(encoded) {
                    if let Some(conversation) = &encoded.conversation {
                        conversations
                            .insert(encoded.chat_key.as_slice(), conversation.as_slice())?;
                    }
                    note_last_seen(seen, turn, &encoded.chat_key)?;
                    if let Some((channel, seq)) = turn.dequeue {
                        inbound.remove(keys::queued(channel, seq))?;
                    }
                    for (key, record) in &encoded.deliveries {
                        due.insert(key, record.as_slice())?;
                    }
                    if let Some((event_key, record)) = &encoded.outcome {
                        outcomes.insert(event_key.as_slice(), record.as_slice())?;
                    }
                }
                Ok(())
            });
        transaction_result(result)
    }

    /// The records of a turn that do not depend on what its transaction reads.
    fn encode_turn(&self, turn: &TurnWrite) -> Result<Encoded> {
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
        let record = OutcomeRecord::after_turn(turn.dequeue.is_some(), turn.keep.clone(), turn.now);
        let outcome = match (&turn.event, record) {
            (Some((channel, event_id)), Some(record)) => Some((
                keys::event(&self.secret, *channel, event_id).to_vec(),
                encode(&record)?,
            )),
            _ => None,
        };
        let case_id = turn.case.as_ref().map(|write| write.case.id);
        let deliveries = turn
            .outgoing
            .iter()
            .map(|item| self.encode_new_delivery(item, case_id, turn.now))
            .collect::<Result<_>>()?;
        Ok(Encoded {
            chat_key: keys::chat(&turn.chat).to_vec(),
            conversation,
            outcome,
            deliveries,
        })
    }

    /// A new delivery's place in the schedule and its record. Its id is taken now: one
    /// whose turn then does not commit is skipped. An answer whose reply token is fresh
    /// is written marked by this opening of the store (`Delivery::marked_in`).
    fn encode_new_delivery(
        &self,
        item: &Outgoing,
        case_id: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<([u8; 16], Vec<u8>)> {
        // The body is encoded from the item: the delivery only carries the rest.
        let mut delivery = Delivery::new(
            self.db.generate_id()?,
            item.route.clone(),
            case_id,
            Body::Wiped,
            now,
        );
        delivery.sensitive = item.sensitive;
        delivery.reply_by_ms = item.reply_by_ms;
        if delivery.has_fresh_reply_token(now) {
            delivery.reply_tried = true;
            delivery.marked_in = Some(self.opening);
        }
        let record = encode_delivery_with_body(&delivery, &item.body)?;
        Ok((keys::due(delivery.next_attempt_ms, delivery.id), record))
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

/// The trees a case write touches, inside a transaction.
struct CaseTrees<'a> {
    meta: &'a TransactionalTree,
    cases: &'a TransactionalTree,
    codes: &'a TransactionalTree,
    receipts: &'a TransactionalTree,
    reporters: &'a TransactionalTree,
    open: &'a TransactionalTree,
}

/// Writes a planned case, if what it was planned from still stands; else ends the
/// transaction with `Error::Conflict`.
fn write_case(trees: CaseTrees<'_>, write: &CaseWrite) -> TxResult<()> {
    let case = &write.case;
    let id = keys::id(case.id);
    match &write.basis {
        Basis::Filed {
            sequence_key,
            previous,
        } => {
            let number = trees
                .meta
                .get(sequence_key.as_slice())?
                .and_then(|bytes| keys::parse_id(&bytes))
                .unwrap_or(0);
            if number != *previous {
                return Err(abort(Error::Conflict));
            }
            trees
                .meta
                .insert(sequence_key.as_slice(), &keys::id(previous + 1))?;
            trees.codes.insert(case.code.as_bytes(), &id)?;
            match (&write.receipt_hash, &case.reporter) {
                (Some(hash), _) => {
                    trees.receipts.insert(hash.as_slice(), &id)?;
                }
                (None, Some(reporter)) => {
                    trees
                        .reporters
                        .insert(keys::reporter_case(reporter, case.id), &[])?;
                }
                (None, None) => {}
            }
        }
        Basis::Changed { read } => {
            if trees.cases.get(id)?.as_ref() != Some(read) {
                return Err(abort(Error::Conflict));
            }
        }
    }
    trees.cases.insert(&id, write.record.as_slice())?;
    if case.status.is_closed() {
        trees.open.remove(&id)?;
    } else {
        trees.open.insert(&id, &[])?;
    }
    Ok(())
}

/// Forgets the oldest `n` of a person's held messages: they go out with this answer.
fn release_held(held: &TransactionalTree, chat_key: &[u8], n: usize) -> TxResult<()> {
    let mut still_held: Vec<crate::engine::Outbound> = held
        .get(chat_key)?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    still_held.drain(..n.min(still_held.len()));
    if still_held.is_empty() {
        held.remove(chat_key)?;
    } else {
        held.insert(chat_key, encode(&still_held).map_err(abort)?)?;
    }
    Ok(())
}

/// When a person last wrote (a turn of one of their events) matters for Messenger's
/// 24-hour window.
fn note_last_seen(seen: &TransactionalTree, turn: &TurnWrite, chat_key: &[u8]) -> TxResult<()> {
    if turn.event.is_some() && turn.chat.channel == Channel::Messenger {
        seen.insert(chat_key, &keys::id(crate::store::unix_ms(turn.now)))?;
    }
    Ok(())
}
