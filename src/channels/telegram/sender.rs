//! The Telegram sender of the outbox: texts of at most 4,096 characters, choices as
//! inline keyboards (callback data at most 64 bytes), flood control's `retry_after`
//! honoured, and a group that became a supergroup followed to its new id.

use std::time::Duration;

use teloxide::payloads::SendMessageSetters as _;
use teloxide::requests::{Request as _, Requester as _};
use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup};
use teloxide::{ApiError, RequestError};

use crate::channels::line::render::split_utf16;
use crate::delivery::{BoxFuture, ChannelMessage, ChannelSender, Failure};
use crate::domain::{Channel, ChatKey};
use crate::engine::payload::{SHARE_LOCATION, SHARE_PHOTO};
use crate::engine::{Choice, Outbound};
use crate::store::{Delivery, Store};

/// Telegram counts a message's length in UTF-16 code units.
pub const MAX_TEXT_UTF16: usize = 4_096;
const MAX_CALLBACK_DATA: usize = 64;
const BUTTONS_PER_ROW: usize = 2;

/// One message to send: its text and buttons.
#[derive(Debug, PartialEq)]
pub struct Part {
    pub text: String,
    pub buttons: Vec<Choice>,
}

#[derive(Clone)]
pub struct Sender {
    pub bot: teloxide::Bot,
    pub store: Store,
    pub pacer: std::sync::Arc<Pacer>,
}

/// Spaces the bot's messages to a rate Telegram accepts, so that a fan-out is not met
/// by a storm of 429s (which are still honoured, per delivery, if they come).
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pacer {
    /// At most `per_second` messages a second; 0 for no pacing.
    #[must_use]
    pub fn new(per_second: u32) -> Self {
        let interval = if per_second == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(1) / per_second
        };
        Self {
            interval,
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits for this message's turn.
    pub async fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

impl Sender {
    async fn deliver(&self, delivery: &mut Delivery) -> Result<(), Failure> {
        let mut message = ChannelMessage::of(delivery)?;
        let chat_id: i64 = message.to.parse().map_err(|_| Failure {
            message: "not a Telegram chat id".to_owned(),
            permanent: true,
            retry_after: None,
        })?;
        let parts = render(&message.messages);
        for (idx, part) in parts.iter().enumerate().skip(delivery.progress as usize) {
            self.pacer.wait().await;
            let mut request = self.bot.send_message(ChatId(chat_id), part.text.clone());
            if !part.buttons.is_empty() {
                request = request.reply_markup(keyboard(&part.buttons));
            }
            match request.send().await {
                Ok(_) => delivery.progress = u32::try_from(idx + 1).unwrap_or(u32::MAX),
                Err(RequestError::MigrateToChatId(new_id)) => {
                    // The group is a supergroup now: remember its id, and send there.
                    if let Err(error) = self.store.group_migrated(
                        Channel::Telegram,
                        &message.to,
                        &new_id.0.to_string(),
                    ) {
                        tracing::error!(error = ?error, "cannot record a Telegram group's new id");
                    }
                    message.to = new_id.0.to_string();
                    delivery.body = crate::store::Body::Chat(message);
                    return Err(Failure {
                        message: "the group became a supergroup; sending to its new id".to_owned(),
                        permanent: false,
                        retry_after: Some(Duration::ZERO),
                    });
                }
                Err(RequestError::Api(api)) if unreachable(&api) => {
                    // Blocked, deleted, kicked: nothing will reach this chat again, so
                    // its subscription to updates ends, as an unfollow would end it.
                    let chat = ChatKey::new(Channel::Telegram, message.to.clone());
                    match self.store.remove_subscription(&chat) {
                        Ok(true) => tracing::info!(
                            "a Telegram chat cannot be reached any more; its subscription ended"
                        ),
                        Ok(false) => {}
                        Err(error) => {
                            tracing::error!(error = ?error, "cannot end a subscription");
                        }
                    }
                    return Err(failure(&RequestError::Api(api)));
                }
                Err(error) => return Err(failure(&error)),
            }
        }
        Ok(())
    }
}

impl ChannelSender for Sender {
    fn send<'a>(&'a self, delivery: &'a mut Delivery) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(self.deliver(delivery))
    }
}

/// Replies as Telegram messages; a choice that cannot travel as an inline button
/// (sharing a location or a photo, which residents do from the attachment menu, or data
/// over 64 bytes) is left out.
#[must_use]
pub fn render(replies: &[Outbound]) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut push = |text: &str, buttons: &[Choice]| {
        let mut pieces = split_utf16(text, MAX_TEXT_UTF16);
        let last = pieces.pop().unwrap_or_default();
        parts.extend(pieces.into_iter().map(|text| Part {
            text,
            buttons: Vec::new(),
        }));
        let buttons = buttons
            .iter()
            .filter(|c| {
                c.payload != SHARE_LOCATION
                    && c.payload != SHARE_PHOTO
                    && c.payload.len() <= MAX_CALLBACK_DATA
            })
            .cloned()
            .collect();
        parts.push(Part {
            text: last,
            buttons,
        });
    };
    for reply in replies {
        match reply {
            Outbound::Text { text } => push(text, &[]),
            Outbound::QuickReplies { text, choices } => push(text, choices),
            Outbound::Card(card) => {
                let text = std::iter::once(card.title.as_str())
                    .chain(card.lines.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join("\n");
                push(&text, &card.buttons);
            }
        }
    }
    parts
}

fn keyboard(choices: &[Choice]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(
        choices
            .chunks(BUTTONS_PER_ROW)
            .map(|row| {
                row.iter()
                    .map(|c| InlineKeyboardButton::callback(c.label.clone(), c.payload.clone()))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>(),
    )
}

/// Whether Telegram says the chat cannot be written to any more.
fn unreachable(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::BotBlocked
            | ApiError::ChatNotFound
            | ApiError::UserDeactivated
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::CantInitiateConversation
    )
}

fn failure(error: &RequestError) -> Failure {
    match error {
        RequestError::RetryAfter(seconds) => Failure {
            message: "flood control".to_owned(),
            permanent: false,
            retry_after: Some(seconds.duration()),
        },
        RequestError::Network(_) | RequestError::Io(_) => Failure {
            message: describe(error),
            permanent: false,
            retry_after: None,
        },
        // Telegram's own refusals (blocked by the user, chat not found…) will not change.
        RequestError::Api(_)
        | RequestError::InvalidJson { .. }
        | RequestError::MigrateToChatId(_) => Failure {
            message: describe(error),
            permanent: matches!(error, RequestError::Api(_)),
            retry_after: None,
        },
    }
}

/// A request error without the URL, which holds the bot token.
#[must_use]
pub fn describe(error: &RequestError) -> String {
    match error {
        RequestError::Network(error) if error.is_timeout() => "timed out".to_owned(),
        RequestError::Network(error) if error.is_connect() => "connection failed".to_owned(),
        RequestError::Network(_) => "network error".to_owned(),
        RequestError::InvalidJson { .. } => "unreadable answer from Telegram".to_owned(),
        RequestError::Api(api) => format!("Telegram refused: {api}"),
        RequestError::RetryAfter(seconds) => format!("retry after {}s", seconds.seconds()),
        RequestError::MigrateToChatId(id) => format!("migrated to {}", id.0),
        RequestError::Io(error) => format!("I/O error: {error}"),
    }
}

#[cfg(test)]
mod pacer_tests {
    use super::Pacer;

    #[tokio::test]
    async fn messages_are_spaced_to_the_rate() {
        let pacer = Pacer::new(100);
        let start = tokio::time::Instant::now();
        for _ in 0..11 {
            pacer.wait().await;
        }
        // The 11th message goes out a tenth of a second after the first, not at once.
        let elapsed = start.elapsed();
        assert!(
            elapsed >= std::time::Duration::from_millis(95),
            "{elapsed:?}"
        );
        let unpaced = Pacer::new(0);
        let start = tokio::time::Instant::now();
        for _ in 0..1000 {
            unpaced.wait().await;
        }
        assert!(start.elapsed() < std::time::Duration::from_millis(50));
    }
}
