//! The Facebook Page's Messenger channel.
//!
//! `GET /webhook/messenger` answers Meta's verification handshake; `POST` checks
//! `X-Hub-Signature-256` on the raw body, records each answerable item in the inbound
//! queue (deduplicated on its `mid`) and answers 200 at once. The queue worker then turns
//! each item into an `Inbound`; answers leave through the outbox, within Messenger's
//! 24-hour window.

pub mod client;
pub mod signature;
pub mod webhook;
pub mod wire;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use secrecy::SecretString;
use tokio::sync::Notify;

use crate::channels::queue::{Converter, Route};
use crate::channels::recorder::Recorder;
use crate::config::{MessengerSecrets, Settings};
use crate::delivery::BoxFuture;
use crate::domain::{Channel, ChatKey, Location};
use crate::engine::{Inbound, InboundKind};
use crate::inbox::{AnswerVia, Envelope};
use crate::store::{QueuedEvent, Store};

pub use client::Client;

pub struct Messenger {
    pub client: Client,
    app_secret: SecretString,
    verify_token: SecretString,
    settings: Arc<Settings>,
    store: Store,
    /// Wakes the queue worker when the webhook recorded something.
    pub wake: Arc<Notify>,
    /// The one writer of received events (group commit).
    recorder: Recorder,
}

impl Messenger {
    pub fn new(
        settings: Arc<Settings>,
        secrets: &MessengerSecrets,
        store: Store,
    ) -> anyhow::Result<Self> {
        let client = Client::new(
            &settings.messenger,
            secrets.page_token.clone(),
            settings.delivery.timeout(),
            store.clone(),
        )?;
        let wake = Arc::new(Notify::new());
        Ok(Self {
            client,
            app_secret: secrets.app_secret.clone(),
            verify_token: secrets.verify_token.clone(),
            settings,
            recorder: Recorder::start(store.clone(), Arc::clone(&wake))?,
            store,
            wake,
        })
    }

    async fn read_item(&self, queued: &QueuedEvent) -> anyhow::Result<Option<Envelope>> {
        // Messenger's items are queued as the platform's JSON of the item.
        let item: wire::Item = serde_json::from_slice(&queued.payload)?;
        let Some(sender) = item.sender_id().map(str::to_owned) else {
            return Ok(None);
        };
        let kind = if let Some(postback) = &item.postback {
            InboundKind::Postback(postback.payload.clone())
        } else if let Some(message) = &item.message {
            if message.is_echo {
                return Ok(None);
            }
            if let Some(quick_reply) = &message.quick_reply {
                InboundKind::Postback(quick_reply.payload.clone())
            } else if let Some(text) = &message.text {
                InboundKind::Text(text.clone())
            } else if message
                .attachments
                .iter()
                .filter(|a| a.kind == "image")
                .count()
                > 1
            {
                // Photos picked together arrive as one message: keep each.
                let mut media_ids = Vec::new();
                for attachment in message
                    .attachments
                    .iter()
                    .filter(|a| a.kind == "image")
                    .take(crate::engine::MAX_PHOTOS)
                {
                    if let InboundKind::Image(media_id) = self.attachment_kind(attachment).await {
                        media_ids.push(media_id);
                    }
                }
                if media_ids.is_empty() {
                    InboundKind::ImageRejected
                } else {
                    InboundKind::Images(media_ids)
                }
            } else if let Some(attachment) = message.attachments.first() {
                self.attachment_kind(attachment).await
            } else {
                InboundKind::UnsupportedMessage("empty".to_owned())
            }
        } else {
            return Ok(None);
        };
        let happened = item
            .timestamp
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .unwrap_or(queued.received_at);
        Ok(Some(Envelope {
            inbound: Inbound {
                event_id: Some(queued.event_id.clone()),
                sender: ChatKey::new(Channel::Messenger, sender.clone()),
                conversation: sender,
                kind,
                received_at: happened.max(queued.received_at),
                lang_hint: None,
            },
            answer: AnswerVia::Outbox {
                reply_token: None,
                reply_by: None,
            },
            queued: Some(queued.seq),
            over_limit: false,
        }))
    }

    async fn attachment_kind(&self, attachment: &wire::Attachment) -> InboundKind {
        let payload = attachment.payload.as_ref();
        match attachment.kind.as_str() {
            "location" => match payload.and_then(|p| p.coordinates.as_ref()) {
                Some(at) => InboundKind::Location(Location {
                    latitude: at.lat,
                    longitude: at.long,
                    address: None,
                }),
                None => InboundKind::UnsupportedMessage("location".to_owned()),
            },
            "image" => match payload.and_then(|p| p.url.as_deref()) {
                Some(url) => self.fetch_photo(url).await,
                None => InboundKind::ImageRejected,
            },
            other => InboundKind::UnsupportedMessage(other.to_owned()),
        }
    }

    /// Downloads a photo from the URL Messenger gave (its CDN), bounded in size and
    /// checked to be an image.
    async fn fetch_photo(&self, url: &str) -> InboundKind {
        let max_bytes = self.settings.server.max_photo_bytes;
        let result = async {
            let response = self
                .client
                .http()
                .get(url)
                .send()
                .await?
                .error_for_status()?;
            anyhow::Ok(crate::channels::media::read_photo(response, max_bytes).await?)
        }
        .await;
        match result.and_then(|media| Ok(self.store.save_media(&media)?)) {
            Ok(media_id) => InboundKind::Image(media_id),
            Err(error) => {
                tracing::info!(error = %error.root_cause(), "Messenger photo not taken");
                InboundKind::ImageRejected
            }
        }
    }
}

/// Where an item belongs, and whether it counts against its person's limit.
fn route(value: &serde_json::Value) -> Route {
    let chat = value["sender"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Messenger chats with a page are always private.
    let sent = value.get("message").is_some() || value.get("postback").is_some();
    Route {
        chat,
        counted: sent,
    }
}

impl Converter for Messenger {
    fn envelope<'a>(
        &'a self,
        queued: &'a QueuedEvent,
    ) -> BoxFuture<'a, anyhow::Result<Option<Envelope>>> {
        Box::pin(self.read_item(queued))
    }
}
