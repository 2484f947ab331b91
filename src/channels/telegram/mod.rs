//! The Telegram bot, with teloxide: its `Bot` sends, its `types::Update` parses.
//!
//! Updates arrive either on our own `POST /webhook/telegram` route (the secret-token
//! header compared in constant time; teloxide's bundled handler is not mounted because
//! it compares in non-constant time and logs whole bodies on parse errors) or by long
//! polling. Either way each update is recorded once, by `update_id`, in the inbound
//! queue, and the queue worker runs it through the inbox. Answers leave through the
//! outbox as messages with inline keyboards.

pub mod sender;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use teloxide::net::Download as _;
use teloxide::requests::{Request as _, Requester as _};
use teloxide::types::{ChatMemberUpdated, Message, Update, UpdateKind};
use tokio::sync::Notify;

use crate::channels::queue::{Converter, Route};
use crate::channels::recorder::Recorder;
use crate::config::{Settings, TelegramSecrets};
use crate::delivery::BoxFuture;
use crate::domain::{Channel, ChatKey, Location};
use crate::engine::{Inbound, InboundKind};
use crate::inbox::{AnswerVia, Envelope};
use crate::store::{Media, NewEvent, QueuedEvent, Store};

pub struct Telegram {
    pub bot: teloxide::Bot,
    token: SecretString,
    webhook_secret: Option<SecretString>,
    settings: Arc<Settings>,
    store: Store,
    /// Wakes the queue worker when an update was recorded.
    pub wake: Arc<Notify>,
    /// The one writer of received updates (group commit).
    recorder: Recorder,
}

impl Telegram {
    pub fn new(
        settings: Arc<Settings>,
        secrets: &TelegramSecrets,
        store: Store,
    ) -> anyhow::Result<Self> {
        let api_url = reqwest::Url::parse(&settings.telegram.api_url)?;
        let bot = teloxide::Bot::new(secrets.bot_token.expose_secret()).set_api_url(api_url);
        let wake = Arc::new(Notify::new());
        Ok(Self {
            bot,
            token: secrets.bot_token.clone(),
            webhook_secret: secrets.webhook_secret.clone(),
            settings,
            recorder: Recorder::start(store.clone(), Arc::clone(&wake))?,
            store,
            wake,
        })
    }

    /// What the queue keeps of an update: its id, its chat, and the update's JSON as
    /// Telegram sent it.
    fn new_event(update_id: u32, raw: &serde_json::Value) -> NewEvent {
        let route = route(raw);
        NewEvent {
            channel: Channel::Telegram,
            event_id: update_id.to_string(),
            chat: route.chat,
            counted: route.counted,
            payload: raw.to_string().into_bytes(),
            process: true,
        }
    }

    /// Long polling: asks Telegram for updates until the task is dropped. The updates
    /// are read as raw JSON and queued as Telegram sent them (not as teloxide would
    /// write them back, which does not always read again).
    pub async fn poll(self: Arc<Self>) -> anyhow::Result<()> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(
                u64::from(self.settings.telegram.poll_timeout_secs) + 10,
            ))
            .build()?;
        let url = format!(
            "{}/bot{}/getUpdates",
            self.settings.telegram.api_url.trim_end_matches('/'),
            self.token.expose_secret()
        );
        let mut offset: i64 = 0;
        loop {
            let request = http.post(&url).json(&serde_json::json!({
                "offset": offset,
                "timeout": self.settings.telegram.poll_timeout_secs,
            }));
            let answer: anyhow::Result<serde_json::Value> =
                async { Ok(request.send().await?.error_for_status()?.json().await?) }.await;
            let updates = match answer {
                Ok(answer) => answer["result"].as_array().cloned().unwrap_or_default(),
                Err(error) => {
                    // The error may carry the URL, which holds the token: say less.
                    tracing::warn!(error = %error.root_cause().to_string().replace(self.token.expose_secret(), "<token>"), "getUpdates failed; trying again");
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    continue;
                }
            };
            let mut events = Vec::new();
            for update in &updates {
                let Some(update_id) = update["update_id"].as_i64() else {
                    continue;
                };
                offset = offset.max(update_id + 1);
                let Ok(update_id) = u32::try_from(update_id) else {
                    continue;
                };
                events.push(Self::new_event(update_id, update));
            }
            // On disk (and the worker woken) before the next getUpdates confirms them.
            self.recorder.record(events).await?;
        }
    }

    async fn read_update(&self, queued: &QueuedEvent) -> anyhow::Result<Option<Envelope>> {
        // Telegram's updates are queued as the platform's JSON of the update.
        let update: Update = serde_json::from_slice(&queued.payload)?;
        let (chat_id, in_group, kind) = match update.kind {
            UpdateKind::Message(message) => self.message(&message).await?,
            UpdateKind::CallbackQuery(query) => {
                // Stop the button's spinner at once; the answer follows as a message.
                let bot = self.bot.clone();
                let query_id = query.id.clone();
                tokio::spawn(async move {
                    if let Err(error) = bot.answer_callback_query(query_id).send().await {
                        tracing::debug!(error = %sender::describe(&error), "callback query not answered");
                    }
                });
                let Some(chat) = query.message.as_ref().map(|m| m.chat()) else {
                    return Ok(None);
                };
                let data = query.data.clone().unwrap_or_default();
                (chat.id.0, !chat.is_private(), InboundKind::Postback(data))
            }
            UpdateKind::MyChatMember(member) => self.membership(&member)?,
            UpdateKind::Error(_) => {
                tracing::info!("unsupported Telegram update kind");
                return Ok(None);
            }
            _ => {
                tracing::info!("Telegram update not for the bot");
                return Ok(None);
            }
        };
        let chat_id = chat_id.to_string();
        // In a group, only staff commands, buttons and an awaited photo are for the bot.
        let photo_awaited = in_group
            && matches!(&kind, InboundKind::Image(_))
            && self
                .store
                .conversation(&ChatKey::new(Channel::Telegram, chat_id.clone()))?
                .is_some_and(|c| c.awaits_after_photo());
        Ok(Some(Envelope {
            inbound: Inbound {
                event_id: Some(queued.event_id.clone()),
                sender: ChatKey::new(Channel::Telegram, chat_id.clone()),
                conversation: chat_id,
                kind: if in_group
                    && !matches!(
                        &kind,
                        InboundKind::GroupMention
                            | InboundKind::Join
                            | InboundKind::Leave
                            | InboundKind::Postback(_)
                    )
                    && !matches!(&kind, InboundKind::Text(text) if crate::engine::is_staff_command(text))
                    && !photo_awaited
                {
                    InboundKind::Unsupported("group-message".to_owned())
                } else {
                    kind
                },
                received_at: queued.received_at,
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

    /// A message's chat, whether it is a group, and what it means to the engine.
    async fn message(&self, message: &Message) -> anyhow::Result<(i64, bool, InboundKind)> {
        let chat = &message.chat;
        let in_group = !chat.is_private();
        if let Some(new_id) = message.migrate_to_chat_id() {
            // The group became a supergroup: its new id receives the division's cases.
            self.store.group_migrated(
                Channel::Telegram,
                &chat.id.0.to_string(),
                &new_id.0.to_string(),
            )?;
            return Ok((
                chat.id.0,
                in_group,
                InboundKind::Unsupported("migrate".to_owned()),
            ));
        }
        let kind = if let Some(text) = message.text() {
            command(text, in_group)
        } else if let Some(location) = message.location() {
            InboundKind::Location(Location {
                latitude: location.latitude,
                longitude: location.longitude,
                address: message.venue().map(|v| v.title.clone()),
            })
        } else if let Some(photos) = message.photo() {
            match photos.iter().max_by_key(|p| p.width * p.height) {
                Some(photo) => self.fetch_photo(&photo.file).await,
                None => InboundKind::ImageRejected,
            }
        } else {
            InboundKind::UnsupportedMessage("non-text".to_owned())
        };
        Ok((chat.id.0, in_group, kind))
    }

    /// The bot added to or removed from a group, or blocked by a person.
    fn membership(&self, member: &ChatMemberUpdated) -> anyhow::Result<(i64, bool, InboundKind)> {
        let chat = &member.chat;
        let present = member.new_chat_member.is_present();
        if chat.is_private() {
            let kind = if present {
                InboundKind::Follow
            } else {
                InboundKind::Unfollow
            };
            return Ok((chat.id.0, false, kind));
        }
        let id = chat.id.0.to_string();
        if present {
            self.store
                .group_joined(Channel::Telegram, &id, Utc::now())?;
            tracing::info!("joined a Telegram group; bind it with `tambon telegram bind`");
            Ok((chat.id.0, true, InboundKind::Join))
        } else {
            self.store.group_left(Channel::Telegram, &id, Utc::now())?;
            Ok((chat.id.0, true, InboundKind::Leave))
        }
    }

    async fn fetch_photo(&self, file: &teloxide::types::FileMeta) -> InboundKind {
        let max_bytes = self.settings.server.max_photo_bytes;
        if file.size as usize > max_bytes {
            return InboundKind::ImageRejected;
        }
        let result = async {
            let file = self.bot.get_file(file.id.clone()).send().await?;
            let mut bytes: Vec<u8> = Vec::new();
            self.bot.download_file(&file.path, &mut bytes).await?;
            anyhow::ensure!(bytes.len() <= max_bytes, "the photo is too large");
            let content_type = if bytes.starts_with(b"\xff\xd8\xff") {
                "image/jpeg"
            } else if bytes.starts_with(b"\x89PNG") {
                "image/png"
            } else {
                anyhow::bail!("not a JPEG or PNG photo");
            };
            Ok(self.store.save_media(&Media {
                content_type: content_type.to_owned(),
                bytes,
            })?)
        }
        .await;
        match result {
            Ok(media_id) => InboundKind::Image(media_id),
            Err(error) => {
                tracing::info!(error = %error.root_cause(), "Telegram photo not taken");
                InboundKind::ImageRejected
            }
        }
    }
}

/// Reads the bot's commands (`/start`, `/help`, `/status CODE`, `/lang`); any other text
/// is for the engine as it is. In a group, a command addressed to the bot is a mention.
fn command(text: &str, in_group: bool) -> InboundKind {
    let trimmed = text.trim();
    let Some(rest) = trimmed.strip_prefix('/') else {
        return InboundKind::Text(text.to_owned());
    };
    if in_group {
        return InboundKind::GroupMention;
    }
    let (name, argument) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    // `/status@tambon_bot` names the bot; drop that part.
    let name = name.split('@').next().unwrap_or_default().to_lowercase();
    match name.as_str() {
        "start" => InboundKind::Postback(crate::engine::payload::START.to_owned()),
        "help" | "menu" => InboundKind::Postback(crate::engine::payload::MENU.to_owned()),
        "lang" | "language" => InboundKind::Postback(crate::engine::payload::LANGUAGE.to_owned()),
        "status" if !argument.trim().is_empty() => InboundKind::Text(argument.trim().to_owned()),
        "status" => InboundKind::Postback(crate::engine::payload::FOLLOW.to_owned()),
        "cancel" => InboundKind::Postback(crate::engine::payload::CANCEL.to_owned()),
        _ => InboundKind::Text(text.to_owned()),
    }
}

/// Where an update belongs, and whether it counts against its person's limit.
fn route(value: &serde_json::Value) -> Route {
    let chat = ["message", "edited_message", "my_chat_member"]
        .iter()
        .map(|kind| &value[kind]["chat"])
        .chain([&value["callback_query"]["message"]["chat"]])
        .find(|chat| chat["id"].is_i64());
    let sent = ["message", "edited_message", "callback_query"]
        .iter()
        .any(|kind| value.get(kind).is_some());
    Route {
        chat: chat
            .and_then(|chat| chat["id"].as_i64())
            .map(|id| id.to_string())
            .unwrap_or_default(),
        counted: sent && chat.is_some_and(|chat| chat["type"] == "private"),
    }
}

impl Converter for Telegram {
    fn envelope<'a>(
        &'a self,
        queued: &'a QueuedEvent,
    ) -> BoxFuture<'a, anyhow::Result<Option<Envelope>>> {
        Box::pin(self.read_update(queued))
    }
}

#[cfg(test)]
mod tests;
