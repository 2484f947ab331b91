//! The worker that runs a platform channel's queued events through the inbox.
//!
//! A webhook (or a long-polling loop) records each event durably in the inbound queue and
//! answers the platform at once; this worker takes the queue in order, lets the channel
//! turn each raw event into an `Envelope` (fetching a photo or a profile on the way),
//! and hands it to the inbox, whose turn removes the queue entry. One person's events
//! run in order, different people's in parallel; a crash resumes from the queue.
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

use crate::delivery::BoxFuture;
use crate::domain::Channel;
use crate::health::Health;
use crate::inbox::{Envelope, Inbox};
use crate::limits::Limiter;
use crate::store::{QueuedEvent, Store};

/// How many queued events the worker takes at a time.
const BATCH: usize = 256;
/// How long the worker sleeps when woken by nothing: a safety net.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// Where a raw event belongs, read before any work is done for it.
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
    /// Where a raw event belongs.
    fn route(&self, raw: &str) -> Route;
    /// The envelope for a raw event, or `None` when there is nothing to run through the
    /// engine (the event is then marked processed and dropped).
    fn envelope<'a>(
        &'a self,
        queued: &'a QueuedEvent,
    ) -> BoxFuture<'a, anyhow::Result<Option<Envelope>>>;
}

/// Runs `channel`'s queued events until the task is dropped.
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
    loop {
        health.beat(&worker);
        let queued = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.queued_inbound(channel, BATCH)).await??
        };
        if queued.is_empty() {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
            continue;
        }
        let mut by_chat: HashMap<String, Vec<(QueuedEvent, Admission)>> = HashMap::new();
        let now = Instant::now();
        let mut n_dropped = 0usize;
        for event in queued {
            let route = converter.route(&event.raw);
            let admission = limits.admit(&route, now);
            if admission == Admission::Drop {
                n_dropped += 1;
                if let Err(error) = store.drop_inbound(&event) {
                    tracing::error!(error = ?error, %channel, "cannot drop a queued event");
                }
                continue;
            }
            by_chat
                .entry(route.chat)
                .or_default()
                .push((event, admission));
        }
        if n_dropped > 0 {
            tracing::warn!(%channel, n_dropped, "dropped events of people over their limit");
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (_, events) in by_chat {
            let store = store.clone();
            let inbox = Arc::clone(&inbox);
            let converter = Arc::clone(&converter);
            tasks.spawn(async move {
                for (event, admission) in events {
                    let over_limit = admission == Admission::SlowDown;
                    process_isolated(&store, &inbox, &converter, event, over_limit).await;
                }
            });
        }
        while let Some(result) = tasks.join_next().await {
            if let Err(error) = result {
                tracing::error!(%error, %channel, "queued event task failed");
            }
        }
    }
}

/// Runs one event in a task of its own, so that a panic while reading it (a parser's
/// bug on some odd payload) drops that event instead of retrying it forever.
async fn process_isolated(
    store: &Store,
    inbox: &Arc<Inbox>,
    converter: &Arc<dyn Converter>,
    event: QueuedEvent,
    over_limit: bool,
) {
    let mut task = {
        let store = store.clone();
        let inbox = Arc::clone(inbox);
        let converter = Arc::clone(converter);
        let event = event.clone();
        AbortOnDrop(tokio::spawn(async move {
            process(&store, &inbox, converter.as_ref(), event, over_limit).await
        }))
    };
    if let Err(error) = (&mut task.0).await {
        tracing::error!(%error, channel = %event.channel, "a queued event crashed its task; dropped");
        if let Err(error) = store.drop_inbound(&event) {
            tracing::error!(error = ?error, "cannot drop a queued event");
        }
    }
}

/// Runs one queued event; on failure it stays queued and is tried again.
async fn process(
    store: &Store,
    inbox: &Arc<Inbox>,
    converter: &dyn Converter,
    queued: QueuedEvent,
    over_limit: bool,
) {
    // Acknowledged and on disk, nothing of its turn done yet.
    crate::faults::crash_point("before-turn");
    let channel = queued.channel;
    let envelope = match converter.envelope(&queued).await {
        Ok(Some(envelope)) => Envelope {
            over_limit,
            ..envelope
        },
        Ok(None) => {
            if let Err(error) = store.drop_inbound(&queued) {
                tracing::error!(error = ?error, %channel, "cannot drop a queued event");
            }
            return;
        }
        Err(error) => {
            tracing::error!(error = ?error, %channel, "cannot read a queued event; dropped");
            if let Err(error) = store.drop_inbound(&queued) {
                tracing::error!(error = ?error, %channel, "cannot drop a queued event");
            }
            return;
        }
    };
    if let Err(error) = inbox.handle_envelope(envelope).await {
        tracing::error!(error = ?error, %channel, "queued event failed; it stays queued");
        tokio::time::sleep(Duration::from_secs(1)).await;
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

/// What a webhook answers once it has queued a request's events: `record` runs off the
/// async threads and says how many events were new; the new ones are made durable and
/// the worker woken, then 200. On any failure, 503, so that the platform redelivers and
/// nothing is lost.
pub async fn record_and_acknowledge<F>(
    store: &Store,
    wake: &Notify,
    channel: Channel,
    record: F,
) -> StatusCode
where
    F: FnOnce() -> anyhow::Result<usize> + Send + 'static,
{
    match tokio::task::spawn_blocking(record).await {
        Ok(Ok(0)) => StatusCode::OK,
        Ok(Ok(_)) => match store.sync().await {
            Ok(()) => {
                // On disk, not yet acknowledged: the platform will deliver it again.
                crate::faults::crash_point("before-ack");
                wake.notify_one();
                StatusCode::OK
            }
            Err(error) => {
                tracing::error!(error = ?error, %channel, "cannot make received events durable");
                StatusCode::SERVICE_UNAVAILABLE
            }
        },
        Ok(Err(error)) => {
            tracing::error!(error = ?error, %channel, "cannot record received events");
            StatusCode::SERVICE_UNAVAILABLE
        }
        Err(error) => {
            tracing::error!(%error, %channel, "recording task failed");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// Aborts the task when dropped: when the worker is stopped, so are its events' tasks.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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

    #[test]
    fn zero_turns_the_limit_off() {
        let limits = PersonLimits::per_minute(0);
        let now = Instant::now();
        for _ in 0..1_000 {
            assert_eq!(limits.admit(&route("U1", true), now), Admission::Run);
        }
    }
}
