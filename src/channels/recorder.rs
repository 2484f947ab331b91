//! The one writer of received platform events: webhook handlers hand it what they
//! verified and wait; it appends everything that arrived meanwhile in one transaction
//! and one flush, then answers them all. Under load one fsync serves many requests, and
//! no request waits for a thread of its own.
//!
//! It runs on a thread of its own (the work is a sled transaction and an fsync, both
//! blocking), and stops when the last `Recorder` handle is dropped.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::store::{Enqueued, NewEvent, Store};

/// How many events at most go into one transaction.
const MAX_BATCH_EVENTS: usize = 1_024;

/// A request's events and where to say what became of them.
struct Request {
    events: Vec<NewEvent>,
    done: oneshot::Sender<Result<Vec<Enqueued>, String>>,
}

/// A handle on the writer. Cloning it is cheap; the writer stops when all are dropped.
#[derive(Clone)]
pub struct Recorder {
    requests: mpsc::UnboundedSender<Request>,
    /// The queue worker to wake once new events are on disk.
    wake: Arc<Notify>,
}

impl Recorder {
    /// Starts the writer of `store`; `wake` is woken after each request that recorded
    /// something new.
    pub fn start(store: Store, wake: Arc<Notify>) -> anyhow::Result<Self> {
        let (requests, receiver) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("tambon-recorder".to_owned())
            .spawn(move || write_until_closed(&store, receiver))?;
        Ok(Self { requests, wake })
    }

    /// Records events durably, once per event id; returns what became of each, in
    /// order. When this returns `Ok`, every new event is on disk and the worker woken.
    pub async fn record(&self, events: Vec<NewEvent>) -> anyhow::Result<Vec<Enqueued>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (done, answer) = oneshot::channel();
        self.requests
            .send(Request { events, done })
            .map_err(|_| anyhow::anyhow!("the recorder has stopped"))?;
        let enqueued = answer
            .await
            .map_err(|_| anyhow::anyhow!("the recorder stopped before answering"))?
            .map_err(|error| anyhow::anyhow!("cannot record received events: {error}"))?;
        // Woken from here, not by the writer: the platform's 200 is on its way before
        // the worker can start on the event.
        if enqueued.contains(&Enqueued::New) {
            self.wake.notify_one();
        }
        Ok(enqueued)
    }

    /// The worker's wake-up, for events recorded some other way.
    #[must_use]
    pub fn wake(&self) -> &Arc<Notify> {
        &self.wake
    }
}

/// The writer's loop: one request, everything else already waiting, one transaction,
/// one flush, the answers.
fn write_until_closed(store: &Store, mut receiver: mpsc::UnboundedReceiver<Request>) {
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = vec![first];
        let mut n_events = batch[0].events.len();
        while n_events < MAX_BATCH_EVENTS {
            match receiver.try_recv() {
                Ok(request) => {
                    n_events += request.events.len();
                    batch.push(request);
                }
                Err(_) => break,
            }
        }
        let counts: Vec<usize> = batch.iter().map(|request| request.events.len()).collect();
        let events: Vec<NewEvent> = batch
            .iter_mut()
            .flat_map(|request| std::mem::take(&mut request.events))
            .collect();
        let written = store
            .enqueue_inbound(&events, Utc::now())
            .and_then(|enqueued| {
                if enqueued.contains(&Enqueued::New) {
                    store.sync_blocking()?;
                }
                Ok(enqueued)
            });
        match written {
            Ok(enqueued) => {
                if enqueued.contains(&Enqueued::New) {
                    // On disk, not yet acknowledged: the platform will deliver it again.
                    crate::faults::crash_point("before-ack");
                }
                let mut enqueued = enqueued.into_iter();
                for (request, n) in batch.into_iter().zip(counts) {
                    let theirs: Vec<Enqueued> = enqueued.by_ref().take(n).collect();
                    let _ = request.done.send(Ok(theirs));
                }
            }
            Err(error) => {
                tracing::error!(error = ?error, "cannot record received events");
                for request in batch {
                    let _ = request.done.send(Err(error.to_string()));
                }
            }
        }
    }
}
