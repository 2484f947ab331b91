//! A turn's writes that are not about a case: link codes, roles, subscriptions and
//! scheduled updates. The inbox makes them as values, after reading what it must (is the
//! code good? whose is it?), and the turn's transaction applies them with the rest of the
//! turn: a crash keeps the turn and its change together or neither, so a redelivered
//! event finds its code unspent and gets the same answer.
//!
//! What was read before the transaction is checked in it: a code spent meanwhile by
//! someone else aborts the turn with `Error::Conflict`, to be run again.

use chrono::{DateTime, Utc};
use sled::transaction::TransactionalTree;
use sled::Transactional as _;

use crate::domain::role::Role;
use crate::domain::update::{Subscription, Update};
use crate::domain::{ChatKey, Linked};
use crate::store::{abort, encode, keys, transaction_result, Error, Result, Store, TxResult};

/// One write of a turn besides its case, conversation and answer.
#[derive(Clone, Debug)]
pub enum ChatChange {
    /// Keep a fresh one-time code that links whoever sends it to the turn's chat.
    IssueLinkCode {
        code: String,
        expires_at: DateTime<Utc>,
    },
    /// Spend a link code (`Store::plan_link_redemption`).
    RedeemLinkCode(LinkRedemption),
    /// Spend an enrolment code (`Store::plan_enrolment`).
    RedeemEnrolCode(Enrolment),
    /// Subscribe the turn's chat to updates (replacing its subscription).
    Subscribe(Subscription),
    /// End the turn's chat's subscription, if it has one.
    Unsubscribe,
    /// Schedule an update; its id is already given (`Store::new_update_id`).
    ScheduleUpdate(Box<Update>),
}

/// A link code's redemption, read before the turn's transaction and made in it.
#[derive(Clone, Debug)]
pub struct LinkRedemption {
    pub(super) code: String,
    /// The code's record as it was read: the transaction spends it only if it still is.
    pub(super) spent: Option<Vec<u8>>,
    pub(super) linked: Linked,
    /// What the link joins, when it is made (`Linked::Done`).
    pub(super) joining: Option<Joining>,
}

/// Two chats that become one person (merging two people if both already were linked).
#[derive(Clone, Debug)]
pub(super) struct Joining {
    /// The chat that issued the code, and the one that sent it.
    pub first_key: Vec<u8>,
    pub second_key: Vec<u8>,
    /// Every identity of both people.
    pub members: Vec<Vec<u8>>,
    /// The person id they get if neither chat had one.
    pub new_person: u64,
}

impl LinkRedemption {
    /// What the resident is told.
    #[must_use]
    pub fn linked(&self) -> Linked {
        self.linked
    }
}

/// An enrolment code's redemption, read before the turn's transaction and made in it.
#[derive(Clone, Debug)]
pub struct Enrolment {
    pub(super) code: String,
    /// The code's record as it was read: the transaction spends it only if it still is.
    pub(super) spent: Option<Vec<u8>>,
    /// The role granted (none for an unknown or expired code), as it will be stored.
    pub(super) granted: Option<(Role, Vec<u8>)>,
}

impl Enrolment {
    /// The role the chat gets, if the code was good.
    #[must_use]
    pub fn role(&self) -> Option<&Role> {
        self.granted.as_ref().map(|(role, _)| role)
    }
}

/// How many trees a `ChatChange` may write (`Store::chat_trees`).
pub(super) const N_CHAT_TREES: usize = 8;

/// The trees a `ChatChange` writes, inside a transaction.
pub(super) struct ChatTrees<'a> {
    pub link_codes: &'a TransactionalTree,
    pub people: &'a TransactionalTree,
    /// Each person's chats (`keys::person_chat`): the reverse of `people`.
    pub person_chats: &'a TransactionalTree,
    pub enrol_codes: &'a TransactionalTree,
    pub roles: &'a TransactionalTree,
    pub subscriptions: &'a TransactionalTree,
    pub updates: &'a TransactionalTree,
    pub pending_updates: &'a TransactionalTree,
}

impl<'a> ChatTrees<'a> {
    /// The views of a transaction over `Store::chat_trees`, in that order.
    pub(super) fn of(views: &'a [TransactionalTree]) -> Self {
        let [link_codes, people, person_chats, enrol_codes, roles, subscriptions, updates, pending_updates] =
            views
        else {
            unreachable!("a view for each of the chat trees");
        };
        Self {
            link_codes,
            people,
            person_chats,
            enrol_codes,
            roles,
            subscriptions,
            updates,
            pending_updates,
        }
    }
}

impl ChatChange {
    /// Makes the change for `chat`, inside the caller's transaction.
    pub(super) fn apply(&self, chat: &ChatKey, trees: &ChatTrees<'_>) -> TxResult<()> {
        match self {
            Self::IssueLinkCode { code, expires_at } => {
                let record = super::people::LinkCode::new(chat, *expires_at);
                trees
                    .link_codes
                    .insert(code.as_bytes(), encode(&record).map_err(abort)?)?;
            }
            Self::RedeemLinkCode(redemption) => {
                spend(
                    trees.link_codes,
                    &redemption.code,
                    redemption.spent.as_deref(),
                )?;
                if let Some(joining) = &redemption.joining {
                    let person = trees
                        .people
                        .get(&joining.first_key)?
                        .or(trees.people.get(&joining.second_key)?)
                        .and_then(|bytes| person_id(&bytes))
                        .unwrap_or(joining.new_person);
                    let encoded = encode(&person).map_err(abort)?;
                    for member in &joining.members {
                        let was = trees.people.insert(member.as_slice(), encoded.as_slice())?;
                        // A member of the other person (two people merged) leaves its
                        // old person's chats.
                        if let Some(was) = was.and_then(|bytes| person_id(&bytes)) {
                            trees.person_chats.remove(keys::person_chat(was, member))?;
                        }
                        trees
                            .person_chats
                            .insert(keys::person_chat(person, member), &[])?;
                    }
                }
            }
            Self::RedeemEnrolCode(enrolment) => {
                spend(
                    trees.enrol_codes,
                    &enrolment.code,
                    enrolment.spent.as_deref(),
                )?;
                if let Some((_, record)) = &enrolment.granted {
                    trees.roles.insert(keys::chat(chat), record.as_slice())?;
                }
            }
            Self::Subscribe(subscription) => {
                trees.subscriptions.insert(
                    keys::chat(&subscription.chat),
                    encode(subscription).map_err(abort)?,
                )?;
            }
            Self::Unsubscribe => {
                trees.subscriptions.remove(keys::chat(chat))?;
            }
            Self::ScheduleUpdate(update) => {
                let id = keys::id(update.id);
                trees
                    .updates
                    .insert(&id, encode(update.as_ref()).map_err(abort)?)?;
                trees.pending_updates.insert(&id, &[])?;
            }
        }
        Ok(())
    }
}

/// The person id a `chatkey_person` value holds, if it reads.
fn person_id(bytes: &[u8]) -> Option<u64> {
    serde_json::from_slice(bytes).ok()
}

/// Spends a one-time code read as `read` before the transaction: removes it, unless it
/// changed meanwhile (spent or made by another turn), which aborts with a conflict.
fn spend(codes: &TransactionalTree, code: &str, read: Option<&[u8]>) -> TxResult<()> {
    let now_there = codes.get(code.as_bytes())?;
    if now_there.as_deref() != read {
        return Err(abort(Error::Conflict));
    }
    if read.is_some() {
        codes.remove(code.as_bytes())?;
    }
    Ok(())
}

impl Store {
    /// The trees a `ChatChange` may write, in the order `ChatTrees::of` reads them.
    pub(super) fn chat_trees(&self) -> [&sled::Tree; N_CHAT_TREES] {
        [
            &self.linkcode_chatkey,
            &self.chatkey_person,
            &self.person_chatkey,
            &self.enrolcode_role,
            &self.chatkey_role,
            &self.chatkey_subscription,
            &self.updateid_update,
            &self.pending_updateid,
        ]
    }

    /// Applies a change on its own, outside any turn (tests, the command line): what a
    /// turn would write with it, in one transaction.
    pub(super) fn apply_chat_change(&self, chat: &ChatKey, change: &ChatChange) -> Result<()> {
        transaction_result(
            self.chat_trees()[..].transaction(|views| change.apply(chat, &ChatTrees::of(views))),
        )
    }
}

/// Runs `attempt` again for as long as it conflicts: a code spent meanwhile is read as
/// spent by the next attempt, which then does not conflict.
pub(super) fn again_on_conflict<T>(mut attempt: impl FnMut() -> Result<T>) -> Result<T> {
    loop {
        match attempt() {
            Err(Error::Conflict) => {}
            result => return result,
        }
    }
}
