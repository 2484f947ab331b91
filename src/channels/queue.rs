//! The worker that runs a platform channel's queued events through the inbox.
//!
//! A webhook (or a long-polling loop) has the recorder write each event durably in the
//! inbound queue and answers the platform at once; this worker takes the queue in
//! batches, lets the channel turn each queued record into an `Envelope` (fetching a photo
//! or a profile on the way), and hands rounds of them to the inbox, whose turns remove
//! the queue entries. One person's events run in order, different people's together; a
//! crash resumes from the queue.
//!
//! A person who floods a private chat is slowed here, before any work is done for the
//! flood: past their limit (`[server] platform_messages_per_person_per_minute`) they are
//! asked once a minute to slow down, and the rest of what they send in that time is
//! recorded as processed and dropped, so that the others' events behind theirs in the
//! queue do not wait for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use tokio::sync::Notify;

use crate::channels::recorder::Recorder;
use crate::delivery::BoxFuture;
use crate::domain::Channel;
use crate::health::Health;
use crate::inbox::{Envelope, Inbox, Turned};
use crate::limits::Limiter;
use crate::store::{Enqueued, NewEvent, QueuedEvent, Store};

/// How many queued events the worker takes at a time.
const BATCH: usize = 256;
/// How often at most an idle worker forgets the limits of people gone quiet.
const TRIM_EVERY: Duration = Duration::from_secs(2);
/// How long the worker sleeps when woken by nothing: a safety net.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// Where an event belongs, read at the gate before any work is done for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The chat it belongs to, for ordering (a user, group or chat id).
    pub chat: String,
    /// Whether it counts against the person's limit: what a person sends in a private
    /// chat (a message, a tap). Follows, unfollows and group events are never dropped.
    pub counted: bool,
}

/// A channel's reading of its own queued events.
pub trait Converter: Send + Sync {
    /// The envelope for a queued event, or `None` when there is nothing to run through the
    /// engine (the event is then marked processed and dropped).
    fn envelope<'a>(
        &'a self,
        queued: &'a QueuedEvent,
    ) -> BoxFuture<'a, anyhow::Result<Option<Envelope>>>;
}

/// Runs `channel`'s queued events until the task is dropped.
///
/// The worker takes up to `BATCH` queued events and runs them in rounds: a round holds
/// the next event of every person in the batch, so one person's events stay in order
/// while different people's share one blocking pass (`Inbox::handle_round`).
pub async fn run(
    channel: Channel,
    store: Store,
    inbox: Arc<Inbox>,
    converter: Arc<dyn Converter>,
    wake: Arc<Notify>,
    per_person_per_minute: u32,
    health: Arc<Health>,
) -> anyhow::Result<()> {
    let limits = PersonLimits::per_minute(per_person_per_minute);
    let worker = format!("queue:{channel}");
    let mut last_trim = Instant::now();
    loop {
        health.beat(&worker);
        let queued = store.queued_inbound(channel, BATCH)?;
        if queued.is_empty() {
            // A backlog just worked off: forget the limits of the people who have gone
            // quiet.
            if last_trim.elapsed() > TRIM_EVERY {
                limits.forget_quiet(Instant::now());
                last_trim = Instant::now();
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
            continue;
        }
        let mut chats = by_chat(&limits, &store, queued);
        let mut any_failed = false;
        while !chats.is_empty() {
            health.beat(&worker);
            let round: Vec<(QueuedEvent, Admission)> = chats
                .iter_mut()
                .filter_map(std::collections::VecDeque::pop_front)
                .collect();
            chats.retain(|events| !events.is_empty());
            let failed_chats = run_round(&store, &inbox, converter.as_ref(), round).await;
            if !failed_chats.is_empty() {
                any_failed = true;
                // What follows a failed event of the same person waits for it: their
                // order is kept, and the next pass starts again with the failed one.
                chats.retain(|events| {
                    events
                        .front()
                        .is_none_or(|(event, _)| !failed_chats.contains(&event.chat))
                });
            }
        }
        if any_failed {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// The batch's events by person, in queue order, with each one's admission; events
/// dropped for a flood are marked processed on the way.
fn by_chat(
    limits: &PersonLimits,
    store: &Store,
    queued: Vec<QueuedEvent>,
) -> Vec<std::collections::VecDeque<(QueuedEvent, Admission)>> {
    let now = Instant::now();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut chats: Vec<std::collections::VecDeque<(QueuedEvent, Admission)>> = Vec::new();
    let mut n_dropped = 0usize;
    for event in queued {
        let route = Route {
            chat: event.chat.clone(),
            counted: event.counted,
        };
        let admission = limits.admit(&route, now);
        if admission == Admission::Drop {
            n_dropped += 1;
            drop_event(store, &event);
            continue;
        }
        let slot = *index.entry(route.chat).or_insert_with(|| {
            chats.push(std::collections::VecDeque::new());
            chats.len() - 1
        });
        chats[slot].push_back((event, admission));
    }
    if n_dropped > 0 {
        tracing::warn!(n_dropped, "dropped events of people over their limit");
    }
    chats
}

/// One round: every event read into an envelope (concurrently: a photo to fetch does
/// not hold up the others), then all of them through the inbox in one pass. Returns the
/// chats whose event failed and stays queued.
async fn run_round(
    store: &Store,
    inbox: &Arc<Inbox>,
    converter: &dyn Converter,
    round: Vec<(QueuedEvent, Admission)>,
) -> Vec<String> {
    use futures_util::FutureExt as _;
    // Acknowledged and on disk, nothing of these turns done yet.
    crate::faults::crash_point("before-turn");
    let read = round
        .iter()
        .map(|(event, _)| std::panic::AssertUnwindSafe(converter.envelope(event)).catch_unwind());
    let read = futures_util::future::join_all(read).await;
    let mut envelopes = Vec::with_capacity(round.len());
    let mut chats = Vec::with_capacity(round.len());
    for ((event, admission), read) in round.into_iter().zip(read) {
        match read {
            Ok(Ok(Some(envelope))) => {
                envelopes.push(Envelope {
                    over_limit: admission == Admission::SlowDown,
                    ..envelope
                });
                chats.push(event);
            }
            Ok(Ok(None)) => drop_event(store, &event),
            Ok(Err(error)) => {
                tracing::error!(error = ?error, channel = %event.channel, "cannot read a queued event; dropped");
                drop_event(store, &event);
            }
            Err(_) => {
                tracing::error!(channel = %event.channel, "reading a queued event panicked; dropped");
                drop_event(store, &event);
            }
        }
    }
    let mut failed = Vec::new();
    for (event, turned) in chats.into_iter().zip(inbox.handle_round(envelopes).await) {
        match turned {
            Turned::Done(..) => {}
            Turned::Failed(error) => {
                tracing::error!(error = ?error, channel = %event.channel, "queued event failed; it stays queued");
                failed.push(event.chat);
            }
            Turned::Panicked => {
                tracing::error!(channel = %event.channel, "a queued event crashed its turn; dropped");
                drop_event(store, &event);
            }
        }
    }
    failed
}

/// Marks a queued event processed without a turn.
fn drop_event(store: &Store, event: &QueuedEvent) {
    if let Err(error) = store.drop_inbound(event) {
        tracing::error!(error = ?error, channel = %event.channel, "cannot drop a queued event");
    }
}

/// What becomes of a queued event, by its person's limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Admission {
    /// Run through the engine as usual.
    Run,
    /// Over the limit: answered with a request to slow down, not run.
    SlowDown,
    /// Over the limit, and already asked to slow down this minute: dropped unanswered.
    Drop,
}

/// The per-person limits of one channel: messages a minute, and one request a minute
/// to slow down (a flood is not answered by a flood).
struct PersonLimits {
    messages: Limiter<String>,
    notices: Limiter<String>,
}

impl PersonLimits {
    /// `per_minute = 0` turns the limit off.
    fn per_minute(per_minute: u32) -> Self {
        Self {
            messages: Limiter::per_minute(per_minute),
            notices: Limiter::per_minute(u32::from(per_minute > 0)),
        }
    }

    /// Forgets the people whose limits have refilled: they are as new ones.
    fn forget_quiet(&self, now: Instant) {
        self.messages.forget_quiet(now);
        self.notices.forget_quiet(now);
    }

    fn admit(&self, route: &Route, now: Instant) -> Admission {
        if !route.counted || self.messages.take(&route.chat, now).is_ok() {
            Admission::Run
        } else if self.notices.take(&route.chat, now).is_ok() {
            Admission::SlowDown
        } else {
            Admission::Drop
        }
    }
}

/// What a webhook answers once its gate has read a request's events: 200 once the new
/// ones are on disk (the recorder's group commit) and the worker woken; on any failure
/// 503, so that the platform redelivers and nothing is lost.
pub async fn record_and_acknowledge(
    recorder: &Recorder,
    channel: Channel,
    events: Vec<NewEvent>,
) -> StatusCode {
    match recorder.record(events).await {
        Ok(enqueued) => {
            let n_seen = enqueued
                .iter()
                .filter(|e| **e == Enqueued::Duplicate)
                .count();
            if n_seen > 0 {
                tracing::info!(%channel, n_seen, "events already received");
            }
            StatusCode::OK
        }
        Err(error) => {
            tracing::error!(error = ?error, %channel, "cannot record received events");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(chat: &str, counted: bool) -> Route {
        Route {
            chat: chat.to_owned(),
            counted,
        }
    }

    #[test]
    fn past_the_limit_a_person_is_asked_once_to_slow_down_then_dropped() {
        let limits = PersonLimits::per_minute(3);
        let now = Instant::now();
        let flood: Vec<_> = (0..10)
            .map(|_| limits.admit(&route("U1", true), now))
            .collect();
        use Admission::{Drop, Run, SlowDown};
        assert_eq!(
            flood,
            [Run, Run, Run, SlowDown, Drop, Drop, Drop, Drop, Drop, Drop]
        );
        // Somebody else is not slowed by the flood.
        assert_eq!(limits.admit(&route("U2", true), now), Run);
        // Events that are not messages (a follow, an unfollow, a group's) always run.
        assert_eq!(limits.admit(&route("U1", false), now), Run);
        // A minute later the person is heard again.
        let later = now + Duration::from_secs(61);
        assert_eq!(limits.admit(&route("U1", true), later), Run);
    }

    fn queued(seq: u64, chat: &str) -> QueuedEvent {
        QueuedEvent {
            seq,
            channel: Channel::Line,
            event_id: format!("ev-{seq}"),
            chat: chat.to_owned(),
            counted: true,
            received_at: chrono::Utc::now(),
            payload: Vec::new(),
        }
    }

    #[test]
    fn a_batch_is_split_by_person_each_in_queue_order() {
        let store = Store::temporary().unwrap();
        let limits = PersonLimits::per_minute(2);
        let batch = vec![
            queued(1, "A"),
            queued(2, "B"),
            queued(3, "A"),
            queued(4, "A"),
            queued(5, "A"),
            queued(6, "B"),
        ];
        let chats = by_chat(&limits, &store, batch);
        let seen: Vec<Vec<(u64, Admission)>> = chats
            .iter()
            .map(|events| events.iter().map(|(e, a)| (e.seq, *a)).collect())
            .collect();
        use Admission::{Run, SlowDown};
        // A's third message is asked to slow down and the fourth is dropped; rounds take
        // the front of each person's list, so A's and B's first messages share a round.
        assert_eq!(
            seen,
            [
                vec![(1, Run), (3, Run), (4, SlowDown)],
                vec![(2, Run), (6, Run)]
            ]
        );
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limits = PersonLimits::per_minute(0);
        let now = Instant::now();
        for _ in 0..1_000 {
            assert_eq!(limits.admit(&route("U1", true), now), Admission::Run);
        }
    }
}
