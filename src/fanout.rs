//! Fan-out of updates to subscribers, through the outbox.
//!
//! An update goes out at its `send_at` (after the hold in which an admin may withdraw
//! it). Each step takes a batch of subscriptions after the update's cursor, turns those
//! who receive it into deliveries (LINE: one multicast per 500; Telegram and Messenger:
//! one each), and commits them with the new cursor in one transaction. A crash between
//! steps resumes at the cursor: nobody is addressed twice. The outbox then sends with
//! each platform's retries and rate limits (`Retry-After`, LINE's retry key).
//!
//! Messenger allows a message only within 24 hours of the person's last one (no tag
//! fits news): those subscribers are counted as not deliverable, not silently dropped.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::config::Settings;
use crate::delivery::ChannelMessage;
use crate::domain::role::Role;
use crate::domain::update::{Topic, Update, UpdateState};
use crate::domain::Channel;
use crate::engine::Outbound;
use crate::store::{FanoutStep, Outgoing, Route, Store};

/// Most recipients of one LINE multicast call.
pub const LINE_MULTICAST_MAX: usize = 500;
/// How long Messenger lets a Page message a person after their last message.
const MESSENGER_WINDOW: chrono::Duration = chrono::Duration::hours(24);
/// How often the worker looks for updates whose hold is over.
const POLL: Duration = Duration::from_secs(1);

/// Runs one step of one update; returns whether it did anything.
pub fn step(
    store: &Store,
    settings: &Settings,
    update: &Update,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let cursor = match &update.state {
        UpdateState::Scheduled if update.send_at > now => return Ok(false),
        UpdateState::Scheduled => {
            // A village head whose role was revoked before the update went out: it
            // does not go out.
            if author_revoked(store, update)? {
                store.withdraw_update(update.id, "role revoked", now)?;
                tracing::info!(
                    update = update.id,
                    "update dropped: its author's role was revoked"
                );
                return Ok(true);
            }
            None
        }
        UpdateState::Sending { cursor } => Some(cursor.as_slice()),
        UpdateState::Sent { .. } | UpdateState::Withdrawn { .. } => return Ok(false),
    };
    let batch_size = settings.updates.batch.max(1);
    let batch = store.subscriptions_after(cursor, batch_size)?;
    let message = crate::engine::update_message(settings, update);
    let mut line = Vec::new();
    let mut deliveries = Vec::new();
    let mut n_undeliverable = 0;
    for (_, subscription) in &batch {
        if !subscription.receives(update) {
            continue;
        }
        let chat = &subscription.chat;
        // Messenger only within 24 hours of the person's last message: no tag fits news.
        let outside_window = chat.channel == Channel::Messenger
            && store
                .last_seen(chat)?
                .is_none_or(|seen| now - seen >= MESSENGER_WINDOW);
        match chat.channel {
            Channel::Line => line.push(chat.user.clone()),
            Channel::Messenger if outside_window => n_undeliverable += 1,
            Channel::Messenger | Channel::Telegram => {
                deliveries.push(channel_message(
                    chat.channel,
                    &chat.user,
                    Vec::new(),
                    &message,
                )?);
            }
            // No push on these: they cannot subscribe.
            Channel::Web | Channel::Terminal | Channel::Dashboard => n_undeliverable += 1,
        }
    }
    let n_recipients = (line.len() + deliveries.len()) as u64;
    for recipients in line.chunks(LINE_MULTICAST_MAX) {
        deliveries.push(channel_message(
            Channel::Line,
            "",
            recipients.to_vec(),
            &message,
        )?);
    }
    let next_cursor = if batch.len() < batch_size {
        None
    } else {
        batch.last().map(|(key, _)| key.clone())
    };
    let committed = store.commit_fanout_step(
        update,
        FanoutStep {
            deliveries,
            n_recipients,
            n_undeliverable,
            cursor: next_cursor,
        },
        now,
    )?;
    Ok(committed)
}

fn author_revoked(store: &Store, update: &Update) -> anyhow::Result<bool> {
    if update.topic != Topic::Village {
        return Ok(false);
    }
    Ok(!matches!(
        store.role_of(&update.author)?,
        Role::VillageHead { .. } | Role::Staff { .. } | Role::Admin
    ))
}

fn channel_message(
    channel: Channel,
    to: &str,
    to_many: Vec<String>,
    messages: &[Outbound],
) -> anyhow::Result<Outgoing> {
    let message = ChannelMessage {
        to: to.to_owned(),
        to_many,
        reply_token: None,
        reply_by_ms: None,
        messages: messages.to_vec(),
        human_agent: false,
    };
    Ok(Outgoing {
        route: Route::Channel { channel },
        body: crate::store::Body::Chat(message),
        sensitive: false,
        reply_by_ms: None,
    })
}

/// Steps every due update until none is left, then waits; wakes the dispatcher when
/// deliveries were enqueued.
pub async fn run(store: Store, settings: Arc<Settings>, dispatcher_wake: Arc<Notify>) {
    loop {
        let job = {
            let (store, settings) = (store.clone(), Arc::clone(&settings));
            tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
                let mut n_steps = 0;
                for update in store.pending_updates()? {
                    while step(
                        &store,
                        &settings,
                        &store.update(update.id)?.unwrap_or(update.clone()),
                        Utc::now(),
                    )? {
                        n_steps += 1;
                    }
                }
                Ok(n_steps)
            })
        };
        match job.await {
            Ok(Ok(0)) => {}
            Ok(Ok(n_steps)) => {
                if let Err(error) = store.sync().await {
                    tracing::warn!(error = ?error, "cannot flush the fan-out");
                }
                dispatcher_wake.notify_one();
                tracing::info!(n_steps, "updates fanned out");
            }
            Ok(Err(error)) => tracing::warn!(error = ?error, "fan-out failed; will retry"),
            Err(error) => tracing::warn!(%error, "fan-out task failed"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// How an update's deliveries went, counted by recipient.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub delivered: u64,
    pub pending: u64,
    pub dead: u64,
}

/// Counts each update's recipients by the state of their delivery, in one pass over the
/// outbox (a list of updates reads it once, not once an update).
pub fn delivery_counts(
    store: &Store,
) -> anyhow::Result<std::collections::HashMap<u64, DeliveryCounts>> {
    let mut counts: std::collections::HashMap<u64, DeliveryCounts> =
        std::collections::HashMap::new();
    for delivery in store.all_deliveries() {
        let delivery = delivery?;
        let Some(update_id) = delivery.update_id else {
            continue;
        };
        // A multicast reaches many; a delivered body is trimmed to its count.
        let n = delivery.body.recipients();
        let of_update = counts.entry(update_id).or_default();
        match delivery.state {
            crate::store::DeliveryState::Delivered => of_update.delivered += n,
            crate::store::DeliveryState::Pending => of_update.pending += n,
            crate::store::DeliveryState::Dead => of_update.dead += n,
        }
    }
    Ok(counts)
}

/// An update's state in a word, for lists.
#[must_use]
pub fn state_label(state: &UpdateState) -> &'static str {
    match state {
        UpdateState::Scheduled => "scheduled",
        UpdateState::Sending { .. } => "sending",
        UpdateState::Sent { .. } => "sent",
        UpdateState::Withdrawn { .. } => "withdrawn",
    }
}
