//! The LINE Official Account channel.
//!
//! `POST /webhook/line` checks the signature on the raw body, records each event durably
//! in the inbound queue (once per event id) and answers 200 at once; a worker then runs
//! the queued events through the inbox, off the request path. Answers leave through the
//! outbox: with the free reply token while it is fresh, else pushed.

pub mod client;
pub mod event;
pub mod ops;
pub mod render;
pub mod sender;
pub mod signature;
pub mod webhook;
pub mod wire;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use secrecy::SecretString;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::channels::line::event::Event;
use crate::channels::queue::Converter;
use crate::channels::recorder::Recorder;
use crate::config::{LineSecrets, Settings};
use crate::delivery::BoxFuture;
use crate::domain::{Channel, ChatKey, Location};
use crate::engine::{Engine, Inbound, InboundKind};
use crate::inbox::{AnswerVia, Envelope};
use crate::limits::Limiter;
use crate::store::{QueuedEvent, Store};

pub use client::Client;

/// The queue is behind when the worker's last event had waited longer than this (ms):
/// what arrives then gets the loading animation.
const SLOW_QUEUE_MS: u64 = 1_000;

/// LINE's loading animation is a courtesy: at most this many calls a second, so that a
/// long backlog (every arriving resident waits) does not spend on dots the calls and the
/// CPU its answers need. Measured with `benches/line_webhook` at c=64: a call for nearly
/// every event of the burst before this cap. LINE's API allows 2,000 calls a second.
const LOADING_CALLS_PER_SECOND: u32 = 100;
/// Loading calls waiting for LINE at once, at most: a slow API does not pile them up.
const LOADING_CALLS_IN_FLIGHT: usize = 16;

/// What the loading animation may still spend: a rate and a number of calls at once.
pub struct LoadingBudget {
    per_second: Limiter<()>,
    in_flight: Arc<Semaphore>,
}

impl LoadingBudget {
    #[must_use]
    pub fn new(per_second: u32, in_flight: usize) -> Self {
        Self {
            per_second: Limiter::per_second(per_second),
            in_flight: Arc::new(Semaphore::new(in_flight)),
        }
    }

    /// A call's permit, held until it is answered; `None` when the budget is spent.
    pub fn take(&self, now: Instant) -> Option<OwnedSemaphorePermit> {
        let permit = Arc::clone(&self.in_flight).try_acquire_owned().ok()?;
        self.per_second.take(&(), now).ok()?;
        Some(permit)
    }
}

/// How far behind the queue worker is: the wait of the last event it took up, and when.
///
/// The loading animation is shown when an event *arrives* while the worker is behind,
/// so the resident sees during the wait that an answer is coming. Shown when the worker
/// takes the event up, it came a moment before the answer, or after it (LINE then shows
/// the dots with nothing to follow), and it cost a call for every event of a backlog.
#[derive(Default)]
pub struct QueueLag {
    waited_ms: AtomicU64,
    seen_at_ms: AtomicU64,
}

impl QueueLag {
    /// The worker took up an event that had waited `waited_ms`.
    pub fn observe(&self, waited_ms: u64, now_ms: u64) {
        self.waited_ms.store(waited_ms, Ordering::Relaxed);
        self.seen_at_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Whether an event arriving at `now_ms` will wait: the worker's last event waited
    /// long, and it took it up lately (a worker gone idle since is not behind).
    #[must_use]
    pub fn behind(&self, now_ms: u64) -> bool {
        let seen_at = self.seen_at_ms.load(Ordering::Relaxed);
        self.waited_ms.load(Ordering::Relaxed) > SLOW_QUEUE_MS
            && now_ms.saturating_sub(seen_at) <= 2 * SLOW_QUEUE_MS
    }
}

/// Everything the LINE channel needs, shared by the webhook route and the worker.
pub struct Line {
    pub client: Client,
    channel_secret: SecretString,
    settings: Arc<Settings>,
    store: Store,
    /// Wakes the queue worker when the webhook recorded something.
    pub wake: Arc<Notify>,
    /// The one writer of received events (group commit).
    recorder: Recorder,
    /// How far behind the queue worker is, for the webhook's loading animation.
    pub lag: QueueLag,
    /// What the loading animation may spend.
    loading: LoadingBudget,
    /// Reads whether a first message shows its language, before LINE is asked for it.
    engine: Engine,
}

impl Line {
    pub fn new(
        settings: Arc<Settings>,
        secrets: &LineSecrets,
        store: Store,
        engine: Engine,
    ) -> anyhow::Result<Self> {
        let client = Client::new(
            &settings.line,
            secrets.access_token.clone(),
            settings.delivery.timeout(),
        )?;
        let wake = Arc::new(Notify::new());
        Ok(Self {
            client,
            channel_secret: secrets.channel_secret.clone(),
            settings,
            recorder: Recorder::start(store.clone(), Arc::clone(&wake))?,
            store,
            wake,
            lag: QueueLag::default(),
            loading: LoadingBudget::new(LOADING_CALLS_PER_SECOND, LOADING_CALLS_IN_FLIGHT),
            engine,
        })
    }

    /// Turns a queued event into the engine's `Inbound`, doing the I/O the event needs
    /// first (fetching a photo, asking LINE for the person's language).
    async fn read_event(&self, queued: &QueuedEvent) -> anyhow::Result<Option<Envelope>> {
        let event = Event::decode(&queued.payload)?;
        let user_id = event.user_id.clone();
        let chat_id = event.group_id.clone();
        let in_group = chat_id.is_some();
        let conversation = event.chat().to_owned();
        let now = Utc::now();
        let waited = now.signed_duration_since(queued.received_at);
        self.lag.observe(
            u64::try_from(waited.num_milliseconds()).unwrap_or(0),
            crate::store::unix_ms(now),
        );

        let kind = match event.kind.as_str() {
            "message" => match &event.message {
                Some(message) if in_group => {
                    if message.mentions_bot {
                        InboundKind::GroupMention
                    } else if let Some(text) = message
                        .text
                        .as_deref()
                        .filter(|text| crate::engine::is_staff_command(text))
                    {
                        // Staff commands work in a division's group.
                        InboundKind::Text(text.to_owned())
                    } else if message.kind == "image"
                        && self.group_awaits_photo(chat_id.as_deref())?
                    {
                        // The photo of a result, after a close typed in the group.
                        self.message_kind(message, None).await
                    } else {
                        // Group chatter is not for the bot.
                        InboundKind::Unsupported("group-message".to_owned())
                    }
                }
                Some(message) => self.message_kind(message, user_id.as_deref()).await,
                None => InboundKind::Unsupported("message".to_owned()),
            },
            "postback" => match &event.postback {
                Some(data) => InboundKind::Postback(data.clone()),
                None => InboundKind::Unsupported("postback".to_owned()),
            },
            "follow" => InboundKind::Follow,
            "unfollow" => InboundKind::Unfollow,
            "join" => {
                if let Some(chat_id) = &chat_id {
                    self.store
                        .group_joined(Channel::Line, chat_id, queued.received_at)?;
                    tracing::info!("joined a LINE group; bind it with `tambon line bind`");
                }
                InboundKind::Join
            }
            "leave" => {
                if let Some(chat_id) = &chat_id {
                    self.store
                        .group_left(Channel::Line, chat_id, queued.received_at)?;
                }
                InboundKind::Leave
            }
            other => {
                tracing::info!(event_type = other, "unsupported LINE event");
                InboundKind::Unsupported(other.to_owned())
            }
        };
        if conversation.is_empty() {
            tracing::info!(event_type = %event.kind, "LINE event without a source; recorded only");
            return Ok(None);
        }
        // In a group the bot's state belongs to the group, not to whoever spoke.
        let sender = ChatKey::new(
            Channel::Line,
            if in_group {
                conversation.clone()
            } else {
                user_id.clone().unwrap_or_default()
            },
        );
        // A first message that shows its language (Thai, a clear English sentence) is
        // answered in it whatever the profile says (engine::dialogue), so LINE is asked
        // only when the event itself cannot tell.
        let shows_language = self.engine.language_of_first_message(&kind).is_some();
        let lang_hint = match (&user_id, in_group) {
            (Some(user_id), false)
                if !shows_language && self.store.conversation(&sender)?.is_none() =>
            {
                match self.client.profile_language(user_id).await {
                    Ok(lang) => lang,
                    Err(error) => {
                        tracing::info!(%error, "no language from the LINE profile");
                        None
                    }
                }
            }
            _ => None,
        };
        let event_time = event
            .timestamp_ms
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .unwrap_or(queued.received_at);
        let ttl = chrono::Duration::seconds(
            i64::try_from(self.settings.line.reply_token_ttl_secs).unwrap_or(30),
        );
        Ok(Some(Envelope {
            inbound: Inbound {
                event_id: Some(queued.event_id.clone()),
                sender,
                conversation,
                kind,
                received_at: queued.received_at,
                lang_hint,
            },
            answer: AnswerVia::Outbox {
                reply_token: event.reply_token.clone(),
                reply_by: Some(event_time + ttl),
            },
            queued: Some(queued.seq),
            over_limit: false,
        }))
    }

    /// Whether a group's conversation waits for an "after" photo.
    fn group_awaits_photo(&self, group_id: Option<&str>) -> anyhow::Result<bool> {
        let Some(group_id) = group_id else {
            return Ok(false);
        };
        Ok(self
            .store
            .conversation(&ChatKey::new(Channel::Line, group_id))?
            .is_some_and(|c| c.awaits_after_photo()))
    }

    async fn message_kind(&self, message: &event::Message, user_id: Option<&str>) -> InboundKind {
        match message.kind.as_str() {
            // A late answer shows the animation from the webhook (`QueueLag`).
            "text" => InboundKind::Text(message.text.clone().unwrap_or_default()),
            "location" => match (message.latitude, message.longitude) {
                (Some(latitude), Some(longitude)) => InboundKind::Location(Location {
                    latitude,
                    longitude,
                    address: message.address.clone().or_else(|| message.title.clone()),
                }),
                _ => InboundKind::UnsupportedMessage("location".to_owned()),
            },
            "image" => {
                // Fetching the photo from LINE takes a while: show that we are on it.
                if let Some(user_id) = user_id {
                    self.show_loading(user_id);
                }
                match &message.id {
                    Some(id) => self.fetch_photo(id).await,
                    None => InboundKind::ImageRejected,
                }
            }
            other => InboundKind::UnsupportedMessage(other.to_owned()),
        }
    }

    async fn fetch_photo(&self, message_id: &str) -> InboundKind {
        let max_bytes = self.settings.server.max_photo_bytes;
        let media = match self.client.content(message_id, max_bytes).await {
            Ok(media) => media,
            Err(error) => {
                tracing::info!(%error, "LINE photo not taken");
                return InboundKind::ImageRejected;
            }
        };
        match self.store.save_media(&media) {
            Ok(media_id) => InboundKind::Image(media_id),
            Err(error) => {
                tracing::error!(error = ?error, "cannot keep a LINE photo");
                InboundKind::ImageRejected
            }
        }
    }

    /// Fire and forget: the animation is a courtesy, never worth delaying the answer,
    /// and skipped when its budget is spent.
    pub fn show_loading(&self, user_id: &str) {
        let Some(permit) = self.loading.take(Instant::now()) else {
            return;
        };
        let client = self.client.clone();
        let user_id = user_id.to_owned();
        tokio::spawn(async move {
            let _answered_or_failed = permit;
            if let Err(error) = client.show_loading(&user_id).await {
                tracing::debug!(%error, "no loading animation");
            }
        });
    }
}

impl Converter for Line {
    fn envelope<'a>(
        &'a self,
        queued: &'a QueuedEvent,
    ) -> BoxFuture<'a, anyhow::Result<Option<Envelope>>> {
        Box::pin(self.read_event(queued))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loading_calls_stop_at_the_rate_and_at_the_calls_in_flight() {
        let start = Instant::now();
        let budget = LoadingBudget::new(100, 1_000);
        let held: Vec<_> = (0..250).filter_map(|_| budget.take(start)).collect();
        assert_eq!(held.len(), 100, "a second's worth at once, no more");
        let later = start + std::time::Duration::from_millis(100);
        assert_eq!((0..50).filter_map(|_| budget.take(later)).count(), 10);

        let budget = LoadingBudget::new(1_000, 16);
        let mut held: Vec<_> = (0..20).filter_map(|_| budget.take(start)).collect();
        assert_eq!(held.len(), 16, "at most 16 wait for LINE at once");
        held.pop();
        assert!(
            budget.take(start).is_some(),
            "an answered call frees its place"
        );
    }

    #[test]
    fn the_queue_is_behind_only_while_the_worker_takes_up_late_events() {
        let lag = QueueLag::default();
        assert!(
            !lag.behind(10_000),
            "a worker that took nothing up is not behind"
        );
        lag.observe(300, 10_000);
        assert!(!lag.behind(10_100), "events answered within a second");
        lag.observe(4_000, 20_000);
        assert!(lag.behind(20_500), "the last event waited four seconds");
        assert!(lag.behind(22_000));
        assert!(
            !lag.behind(30_000),
            "ten seconds without an event taken up: the worker is idle, not behind"
        );
    }
}
