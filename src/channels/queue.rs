//! The worker that runs a platform channel's queued events through the inbox.
//!
//! A webhook (or a long-polling loop) records each event durably in the inbound queue and
//! answers the platform at once; this worker takes the queue in order, lets the channel
//! turn each raw event into an `Envelope` (fetching a photo or a profile on the way),
//! and hands it to the inbox, whose turn removes the queue entry. One person's events
//! run in order, different people's in parallel; a crash resumes from the queue.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::Notify;

use crate::delivery::BoxFuture;
use crate::domain::Channel;
use crate::inbox::{Envelope, Inbox};
use crate::store::{QueuedEvent, Store};

/// How many queued events the worker takes at a time.
const BATCH: usize = 256;
/// How long the worker sleeps when woken by nothing: a safety net.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// A channel's reading of its own queued events.
pub trait Converter: Send + Sync {
    /// The chat a raw event belongs to, for ordering (a user, group or chat id).
    fn chat_of(&self, raw: &str) -> String;
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
) -> anyhow::Result<()> {
    loop {
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
        let mut by_chat: HashMap<String, Vec<QueuedEvent>> = HashMap::new();
        for event in queued {
            by_chat
                .entry(converter.chat_of(&event.raw))
                .or_default()
                .push(event);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (_, events) in by_chat {
            let store = store.clone();
            let inbox = Arc::clone(&inbox);
            let converter = Arc::clone(&converter);
            tasks.spawn(async move {
                for event in events {
                    process_isolated(&store, &inbox, &converter, event).await;
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
) {
    let mut task = {
        let store = store.clone();
        let inbox = Arc::clone(inbox);
        let converter = Arc::clone(converter);
        let event = event.clone();
        AbortOnDrop(tokio::spawn(async move {
            process(&store, &inbox, converter.as_ref(), event).await
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
) {
    let channel = queued.channel;
    let envelope = match converter.envelope(&queued).await {
        Ok(Some(envelope)) => envelope,
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
