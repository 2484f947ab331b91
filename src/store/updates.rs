//! Subscriptions to updates, the updates themselves, and their fan-out: each step
//! enqueues the deliveries for a batch of subscribers and moves the update's cursor past
//! them in one transaction, so a restart resumes after the last step and nobody gets an
//! update twice.

use chrono::{DateTime, Utc};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional as _;

use crate::domain::update::{Subscription, Update, UpdateState};
use crate::domain::ChatKey;
use crate::store::outbox::Delivery;
use crate::store::{
    decode, encode, get_json, keys, transaction_result, Error, Outgoing, Result, Store,
};

/// One fan-out step's result, to commit.
pub struct FanoutStep {
    pub deliveries: Vec<Outgoing>,
    /// Recipients the deliveries address.
    pub n_recipients: u64,
    pub n_undeliverable: u64,
    /// The store key of the last subscriber handled; none when every subscriber is.
    pub cursor: Option<Vec<u8>>,
}

impl Store {
    pub fn set_subscription(&self, subscription: &Subscription) -> Result<()> {
        self.chatkey_subscription
            .insert(keys::chat(&subscription.chat), encode(subscription)?)?;
        Ok(())
    }

    pub fn subscription(&self, chat: &ChatKey) -> Result<Option<Subscription>> {
        get_json(
            &self.chatkey_subscription,
            "chatkey_subscription",
            &keys::chat(chat),
        )
    }

    /// Ends a subscription at once. Returns whether there was one.
    pub fn remove_subscription(&self, chat: &ChatKey) -> Result<bool> {
        Ok(self
            .chatkey_subscription
            .remove(keys::chat(chat))?
            .is_some())
    }

    /// Subscriptions after the store key `after` (from the first if none), at most
    /// `limit`, with their keys.
    pub fn subscriptions_after(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Subscription)>> {
        let range = match after {
            Some(after) => self
                .chatkey_subscription
                .range::<&[u8], _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
            None => self.chatkey_subscription.iter(),
        };
        range
            .take(limit)
            .map(|entry| {
                let (key, value) = entry?;
                Ok((key.to_vec(), decode("chatkey_subscription", &value)?))
            })
            .collect()
    }

    /// Every subscription (a scan: the office has thousands, not millions).
    pub fn subscriptions(&self) -> impl Iterator<Item = Result<Subscription>> + '_ {
        self.chatkey_subscription
            .iter()
            .map(|entry| decode("chatkey_subscription", &entry?.1))
    }

    /// An id for an update to schedule in a turn (`ChatChange::ScheduleUpdate`).
    pub fn new_update_id(&self) -> Result<u64> {
        Ok(self.db.generate_id()?)
    }

    /// Records a new update (its id is given here).
    pub fn create_update(&self, mut update: Update) -> Result<Update> {
        update.id = self.new_update_id()?;
        let record = encode(&update)?;
        (&self.updateid_update, &self.pending_updateid)
            .transaction(|(updates, pending)| {
                updates.insert(&keys::id(update.id), record.as_slice())?;
                pending.insert(&keys::id(update.id), &[])?;
                Ok(())
            })
            .map_err(|error: TransactionError<()>| match error {
                TransactionError::Storage(error) => Error::Sled(error),
                TransactionError::Abort(()) => {
                    Error::Sled(sled::Error::Unsupported("aborted".to_owned()))
                }
            })?;
        Ok(update)
    }

    /// Updates still to go out or going out, oldest first: what the fan-out works on,
    /// without reading every update ever sent.
    pub fn pending_updates(&self) -> Result<Vec<Update>> {
        let mut pending = Vec::new();
        for entry in self.pending_updateid.iter() {
            let (key, _) = entry?;
            match keys::parse_id(&key).map(|id| self.update(id)).transpose()? {
                Some(Some(update))
                    if matches!(
                        update.state,
                        UpdateState::Scheduled | UpdateState::Sending { .. }
                    ) =>
                {
                    pending.push(update);
                }
                // Finished (a crash between its withdrawal and this index), gone, or an
                // unreadable key: nothing to do for it.
                _ => {
                    self.pending_updateid.remove(key)?;
                }
            }
        }
        Ok(pending)
    }

    pub fn update(&self, id: u64) -> Result<Option<Update>> {
        get_json(&self.updateid_update, "updateid_update", &keys::id(id))
    }

    /// Every update, oldest first.
    pub fn updates(&self) -> Result<Vec<Update>> {
        self.updateid_update
            .iter()
            .map(|entry| decode("updateid_update", &entry?.1))
            .collect()
    }

    /// Ends the hold of a scheduled update: it goes out at `now`. Returns whether it was
    /// waiting.
    pub fn release_update(&self, id: u64, now: DateTime<Utc>) -> Result<bool> {
        let mut released = false;
        self.updateid_update
            .fetch_and_update(keys::id(id), |current| {
                let mut update: Update = serde_json::from_slice(current?).ok()?;
                released = update.state == UpdateState::Scheduled;
                if released {
                    update.send_at = update.send_at.min(now);
                }
                serde_json::to_vec(&update).ok()
            })?;
        Ok(released)
    }

    /// Withdraws an update that has not started going out. Returns whether it did.
    pub fn withdraw_update(&self, id: u64, by: &str, now: DateTime<Utc>) -> Result<bool> {
        let mut withdrawn = false;
        self.updateid_update
            .fetch_and_update(keys::id(id), |current| {
                let mut update: Update = serde_json::from_slice(current?).ok()?;
                withdrawn = update.state == UpdateState::Scheduled;
                if withdrawn {
                    update.state = UpdateState::Withdrawn {
                        by: by.to_owned(),
                        at: now,
                    };
                }
                serde_json::to_vec(&update).ok()
            })?;
        if withdrawn {
            self.pending_updateid.remove(keys::id(id))?;
        }
        Ok(withdrawn)
    }

    /// Commits one fan-out step: its deliveries, and the update's new cursor and counts,
    /// provided the update is still where `expected` says (no other worker moved it).
    /// Returns whether it committed.
    pub fn commit_fanout_step(
        &self,
        expected: &Update,
        step: FanoutStep,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let key = keys::id(expected.id);
        let result = (
            &self.updateid_update,
            &self.due_delivery,
            &self.pending_updateid,
        )
            .transaction(|(updates, due, pending)| {
                let abort = ConflictableTransactionError::Abort;
                let Some(bytes) = updates.get(key.as_slice())? else {
                    return Ok(false);
                };
                let mut update: Update = decode("updateid_update", &bytes).map_err(abort)?;
                if update.state != expected.state {
                    return Ok(false);
                }
                for item in &step.deliveries {
                    let id = due.generate_id()?;
                    let mut delivery =
                        Delivery::new(id, item.route.clone(), None, item.body.clone(), now);
                    delivery.update_id = Some(update.id);
                    crate::store::outbox::schedule(due, &delivery)?;
                }
                update.n_recipients += step.n_recipients;
                update.n_undeliverable += step.n_undeliverable;
                update.state = match &step.cursor {
                    Some(cursor) => UpdateState::Sending {
                        cursor: cursor.clone(),
                    },
                    None => {
                        pending.remove(key.as_slice())?;
                        UpdateState::Sent { finished_at: now }
                    }
                };
                updates.insert(&key, encode(&update).map_err(abort)?)?;
                Ok(true)
            });
        transaction_result(result)
    }
}
