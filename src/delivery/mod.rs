//! The dispatcher: sends what the outbox holds, retrying with exponential backoff and
//! jitter, honouring Retry-After, and giving up after a limit (the delivery is then dead,
//! visible with `tambon cases deliveries`).

pub mod forward;
mod sign;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt as _;
use rand::Rng as _;
use tokio::sync::Notify;

use serde::{Deserialize, Serialize};

use crate::config::{DestinationKind, Settings};
use crate::domain::Channel;
use crate::engine::Outbound;
use crate::health::Health;
use crate::store::{Delivery, DeliveryState, Route, Store};

pub use sign::{signature_header, SIGNATURE_HEADER};

/// How long the dispatcher sleeps at most when nothing is due: a safety net, since
/// enqueuing wakes it anyway.
const IDLE_POLL: Duration = Duration::from_secs(30);

/// How many due deliveries the dispatcher takes at a time: their reply marks share one
/// flush and their completions one transaction.
const DUE_BATCH: usize = 256;

/// The dispatcher's name in `/healthz`.
const WORKER: &str = "dispatcher";

/// Why one attempt failed.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    /// The receiver will never accept it (a 4xx other than 408 and 429): don't retry.
    pub permanent: bool,
    /// The receiver asked us to wait this long (Retry-After).
    pub retry_after: Option<Duration>,
}

/// The body of a delivery to a platform chat: channel-neutral replies, rendered by the
/// channel's adapter when sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelMessage {
    /// The chat: a user, group or room id of the platform.
    pub to: String,
    /// Several users at once, where the platform can (LINE multicast, at most 500):
    /// then `to` is unused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to_many: Vec<String>,
    /// The platform's reply token, if the event came with one.
    pub reply_token: Option<String>,
    /// Until when the reply token may be used (Unix milliseconds); later, push.
    pub reply_by_ms: Option<u64>,
    pub messages: Vec<Outbound>,
    /// A staff member's answer (not an automatic one): on Messenger it may use the
    /// `HUMAN_AGENT` tag outside the 24-hour window.
    #[serde(default)]
    pub human_agent: bool,
}

impl ChannelMessage {
    /// The message a chat delivery carries; a body that cannot be read will never be
    /// sent (a permanent failure).
    pub fn of(delivery: &Delivery) -> Result<Self, Failure> {
        delivery.body.chat_message().map_err(|error| Failure {
            message: format!("unreadable delivery: {error}"),
            permanent: true,
            retry_after: None,
        })
    }
}

/// A future returned by a trait object (no `async fn` in `dyn` traits yet).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A channel adapter's sending side. It may advance `delivery.progress` as parts go
/// out, so that a retry sends only what is left.
pub trait ChannelSender: Send + Sync {
    /// Readies a delivery before its batch goes out. Returns `true` when it changed
    /// something that must be on disk before the call (LINE's mark on a reply token
    /// about to be spent): the dispatcher then writes and flushes the whole batch's
    /// changes at once, before any of them is sent.
    fn prepare(&self, _delivery: &mut Delivery) -> bool {
        false
    }

    fn send<'a>(&'a self, delivery: &'a mut Delivery) -> BoxFuture<'a, Result<(), Failure>>;
}

#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    settings: Arc<Settings>,
    client: reqwest::Client,
    wake: Arc<Notify>,
    senders: Arc<HashMap<Channel, Arc<dyn ChannelSender>>>,
    /// Where it beats at every turn of its loop (`/healthz`).
    health: Arc<Health>,
}

impl Dispatcher {
    pub fn new(
        store: Store,
        settings: Arc<Settings>,
        wake: Arc<Notify>,
        senders: HashMap<Channel, Arc<dyn ChannelSender>>,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(settings.delivery.timeout())
            .user_agent(concat!("tambon/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            store,
            settings,
            client,
            wake,
            senders: Arc::new(senders),
            health: Arc::default(),
        })
    }

    /// Beats on `health` at every turn of the loop and every batch of sends.
    #[must_use]
    pub fn with_health(mut self, health: Arc<Health>) -> Self {
        self.health = health;
        self
    }

    /// Runs until the task is dropped.
    pub async fn run(self) -> anyhow::Result<()> {
        loop {
            self.health.beat(WORKER);
            if self.send_due().await? > 0 {
                continue;
            }
            let sleep = match self.store.next_due_ms()? {
                Some(due_ms) => {
                    let now_ms = crate::store::unix_ms(Utc::now());
                    Duration::from_millis(due_ms.saturating_sub(now_ms)).min(IDLE_POLL)
                }
                None => IDLE_POLL,
            };
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// Sends every delivery due now; failures are rescheduled. Returns how many were
    /// attempted.
    ///
    /// A batch at a time, all on this task: the batch is flushed once before any of it
    /// is sent (with the marks its senders need on disk), its calls run concurrently, and what
    /// became of them is written back in one transaction.
    pub async fn send_due(&self) -> anyhow::Result<usize> {
        let mut n_attempted = 0;
        loop {
            self.health.beat(WORKER);
            let mut due = self.store.due_deliveries(Utc::now(), DUE_BATCH)?;
            if due.is_empty() {
                return Ok(n_attempted);
            }
            n_attempted += due.len();
            let marked: Vec<Delivery> = due
                .iter_mut()
                .filter_map(|delivery| self.prepare(delivery).then(|| delivery.clone()))
                .collect();
            if !marked.is_empty() {
                self.store.save_deliveries(&marked)?;
            }
            // Nothing leaves before it is on disk: this one flush makes durable the
            // batch's reply marks and the turns that wrote its deliveries (the queue
            // worker does not flush its rounds; this flush is what an answer waits for).
            self.store.sync().await?;
            // At most `concurrency` calls in flight; the batch is written back as one.
            let finished: Vec<(u64, Delivery)> = futures_util::stream::iter(due)
                .map(|delivery| self.attempt(delivery))
                .buffer_unordered(self.settings.delivery.concurrency.max(1))
                .collect()
                .await;
            let n_delivered = finished
                .iter()
                .filter(|(_, d)| d.state == DeliveryState::Delivered)
                .count();
            let n = finished.len();
            self.store.finish_deliveries(finished)?;
            tracing::debug!(n_delivered, n, "a batch of deliveries sent");
        }
    }

    /// Lets the delivery's channel sender ready it (see `ChannelSender::prepare`).
    fn prepare(&self, delivery: &mut Delivery) -> bool {
        match &delivery.route {
            Route::Channel { channel } => self
                .senders
                .get(channel)
                .is_some_and(|sender| sender.prepare(delivery)),
            Route::Destination { .. } => false,
        }
    }

    /// One attempt; returns the delivery's previous due time and its new state, to be
    /// written with the rest of the batch.
    async fn attempt(&self, mut delivery: Delivery) -> (u64, Delivery) {
        let previous_due_ms = delivery.next_attempt_ms;
        let outcome = self.send(&mut delivery).await;
        // Sent (or failed), and not yet recorded as such.
        crate::faults::crash_point("after-send");
        delivery.attempts += 1;
        let now = Utc::now();
        match outcome {
            Ok(()) => {
                delivery.state = DeliveryState::Delivered;
                delivery.finished_at = Some(now);
                delivery.last_error = None;
                tracing::debug!(delivery = delivery.id, route = %delivery.route, attempts = delivery.attempts, "delivered");
            }
            Err(failure) => {
                delivery.last_error = Some(failure.message.clone());
                if failure.permanent || delivery.attempts >= self.settings.delivery.max_attempts {
                    delivery.state = DeliveryState::Dead;
                    delivery.finished_at = Some(now);
                    tracing::warn!(delivery = delivery.id, route = %delivery.route, attempts = delivery.attempts, error = %failure.message, "delivery is dead");
                } else {
                    let delay = failure
                        .retry_after
                        .unwrap_or_else(|| self.backoff(delivery.attempts));
                    delivery.next_attempt_ms = crate::store::unix_ms(now)
                        + u64::try_from(delay.as_millis()).unwrap_or(u64::MAX / 2);
                    tracing::info!(delivery = delivery.id, route = %delivery.route, attempts = delivery.attempts, retry_in_ms = delay.as_millis() as u64, error = %failure.message, "delivery failed, will retry");
                }
            }
        }
        (previous_due_ms, delivery)
    }

    /// Exponential backoff with jitter: up to `base × 2^(attempts-1)`, capped, and at
    /// least half of that, so that retries of many deliveries spread out.
    fn backoff(&self, attempts: u32) -> Duration {
        let config = &self.settings.delivery;
        let exponential = config
            .base_delay_ms
            .saturating_mul(1u64 << attempts.saturating_sub(1).min(30))
            .min(config.max_delay_ms);
        let jittered = rand::thread_rng().gen_range(exponential / 2..=exponential.max(1));
        Duration::from_millis(jittered)
    }

    async fn send(&self, delivery: &mut Delivery) -> Result<(), Failure> {
        let destination_id = match &delivery.route {
            Route::Destination { id } => id.clone(),
            Route::Channel { channel } => {
                let Some(sender) = self.senders.get(channel).cloned() else {
                    return Err(Failure {
                        message: format!("the {channel} channel is off"),
                        permanent: false,
                        retry_after: None,
                    });
                };
                return sender.send(delivery).await;
            }
        };
        let Some(destination) = self
            .settings
            .destinations
            .iter()
            .find(|d| d.id == destination_id)
        else {
            return Err(Failure {
                message: format!("unknown destination `{destination_id}`"),
                permanent: false,
                retry_after: None,
            });
        };
        match &destination.kind {
            DestinationKind::Log => {
                // An anonymous case's code is not logged (`inbox::log_code`): beside the
                // moment it was filed it could be matched against who wrote then.
                let body = delivery.body.json();
                let case = &body["case"];
                let code = if case["anonymous"] == true {
                    "(anonymous)"
                } else {
                    case["code"].as_str().unwrap_or_default()
                };
                tracing::info!(
                    delivery = delivery.id,
                    destination = %destination.id,
                    event = body["event"].as_str().unwrap_or_default(),
                    case = code,
                    "forwarded to the log"
                );
                Ok(())
            }
            DestinationKind::Webhook { url, secret_env } => {
                let body = delivery.body.json_text().as_bytes().to_vec();
                let mut request = self
                    .client
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header("X-Tambon-Delivery", delivery.id.to_string());
                if let Some(secret) = secret_env
                    .as_deref()
                    .and_then(crate::config::secret_from_env)
                {
                    request = request.header(SIGNATURE_HEADER, signature_header(&secret, &body));
                }
                let response = request.body(body).send().await.map_err(|error| Failure {
                    message: format!("request failed: {}", without_url(&error)),
                    permanent: false,
                    retry_after: None,
                })?;
                classify(response.status(), response.headers())
            }
        }
    }
}

/// reqwest's errors name the URL, which may carry a token: say what failed without it.
fn without_url(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    if error.is_connect() {
        return "connection failed".to_owned();
    }
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    text
}

/// Maps an HTTP answer to success, a retryable failure or a permanent one.
pub fn classify(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
) -> Result<(), Failure> {
    if status.is_success() {
        return Ok(());
    }
    let retry_after = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let permanent = status.is_client_error()
        && status != reqwest::StatusCode::REQUEST_TIMEOUT
        && status != reqwest::StatusCode::TOO_MANY_REQUESTS;
    Err(Failure {
        message: format!("HTTP {status}"),
        permanent,
        retry_after,
    })
}
