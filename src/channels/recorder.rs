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
        // How well requests group (RUST_LOG=tambon::channels::recorder=debug).
        tracing::debug!(n_requests = batch.len(), n_events, "recording a batch");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Channel;

    fn event(event_id: &str, chat: &str) -> NewEvent {
        NewEvent {
            channel: Channel::Line,
            event_id: event_id.to_owned(),
            chat: chat.to_owned(),
            counted: true,
            payload: event_id.as_bytes().to_vec(),
            process: true,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_requests_at_once_are_each_answered_and_an_event_is_recorded_once() {
        let store = Store::temporary().unwrap();
        let wake = Arc::new(Notify::new());
        let recorder = Recorder::start(store.clone(), Arc::clone(&wake)).unwrap();
        let mut requests = tokio::task::JoinSet::new();
        for idx in 0..64 {
            let recorder = recorder.clone();
            requests.spawn(async move {
                // Each request: its own event, and one that every request carries (a
                // redelivery racing the first delivery).
                let events = vec![
                    event(&format!("ev-{idx}"), &format!("U{idx}")),
                    event("ev-shared", "U0"),
                ];
                recorder.record(events).await.unwrap()
            });
        }
        let mut n_shared_new = 0;
        while let Some(answer) = requests.join_next().await {
            let answer = answer.unwrap();
            assert_eq!(answer.len(), 2, "each request hears of its own events");
            assert_eq!(answer[0], Enqueued::New);
            n_shared_new += usize::from(answer[1] == Enqueued::New);
        }
        assert_eq!(n_shared_new, 1, "the shared event was recorded once");
        let queued = store.queued_inbound(Channel::Line, 1_000).unwrap();
        assert_eq!(queued.len(), 65);
        assert_eq!(
            queued.iter().filter(|e| e.event_id == "ev-shared").count(),
            1
        );
    }

    #[tokio::test]
    async fn the_writer_lets_go_of_the_store_when_its_last_handle_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let recorder = Recorder::start(store.clone(), Arc::new(Notify::new())).unwrap();
        recorder.record(vec![event("ev-1", "U1")]).await.unwrap();
        drop(recorder);
        drop(store);
        // sled locks its directory while open: reopening works once the writer's
        // thread has ended and dropped its handle.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let reopened = loop {
            match Store::open(dir.path()) {
                Ok(store) => break store,
                Err(error) if std::time::Instant::now() > deadline => {
                    panic!("the store stayed locked: {error}")
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        };
        // And what it acknowledged was on disk.
        assert_eq!(reopened.queued_inbound(Channel::Line, 10).unwrap().len(), 1);
    }
}
