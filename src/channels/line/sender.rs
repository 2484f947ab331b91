//! The LINE sender of the outbox: answers go with the event's free reply token while it
//! is fresh, and as pushes with `X-Line-Retry-Key` otherwise.
//!
//! A reply token can be spent once, and LINE gives no way to ask whether it was. So
//! before the first reply with a token, the delivery is marked `reply_tried` on disk. A
//! later attempt at a marked delivery (after a timeout, a 5xx, or a crash of the whole
//! process) tries the same token again and, if LINE refuses it, counts the part as sent:
//! the earlier try may have reached the resident, and a push would say it twice. What
//! each channel promises across a crash is written down in ARCHITECTURE.md.

use chrono::Utc;
use reqwest::StatusCode;

use crate::channels::line::client::{Client, Error};
use crate::channels::line::render;
use crate::delivery::{BoxFuture, ChannelMessage, ChannelSender, Failure};
use crate::store::{Delivery, Store};

#[derive(Clone)]
pub struct Sender {
    pub client: Client,
    /// Where the reply mark is written before a reply token is spent.
    pub store: Store,
}

/// How one part of a delivery goes out.
enum Route<'a> {
    Reply { token: &'a str, tried_before: bool },
    Push,
}

impl Sender {
    /// Sends a delivery's messages: the first five with the reply token while it is
    /// fresh, the rest (or all, once it is stale or refused) pushed with a retry key per
    /// part. `delivery.progress` counts the parts sent.
    async fn deliver(&self, delivery: &mut Delivery) -> Result<(), Failure> {
        // Written marked and not readied by a dispatcher (`prepare` takes the mark's
        // opening): ready it here, with the mark off on disk if it must come off.
        if delivery.marked_in.is_some() && self.prepare(delivery) {
            self.remember(delivery).await?;
        }
        let message = ChannelMessage::of(delivery)?;
        let rendered = render::messages(&message.messages);
        let parts: Vec<&[render::Message]> =
            rendered.chunks(render::MAX_MESSAGES_PER_CALL).collect();
        let now_ms = crate::store::unix_ms(Utc::now());
        for (part_idx, part) in parts.iter().enumerate().skip(delivery.progress as usize) {
            let route = match message.reply_token.as_deref() {
                // Marked on disk by `prepare` for this attempt: not tried yet.
                Some(token) if part_idx == 0 && delivery.reply_marked_now => Route::Reply {
                    token,
                    tried_before: false,
                },
                Some(token) if part_idx == 0 && delivery.reply_tried => Route::Reply {
                    token,
                    tried_before: true,
                },
                Some(token)
                    if part_idx == 0 && message.reply_by_ms.is_some_and(|by| now_ms < by) =>
                {
                    // Not marked (a sender used without its dispatcher): mark it now.
                    delivery.reply_tried = true;
                    self.remember(delivery).await?;
                    Route::Reply {
                        token,
                        tried_before: false,
                    }
                }
                _ => Route::Push,
            };
            let replied = match route {
                Route::Reply {
                    token,
                    tried_before,
                } => self.reply(delivery, token, part, tried_before).await?,
                Route::Push => false,
            };
            if !replied {
                let retry_key = retry_key(delivery.id, part_idx);
                if message.to_many.is_empty() {
                    self.client
                        .push(&message.to, part, &retry_key)
                        .await
                        .map_err(failure)?;
                } else {
                    self.client
                        .multicast(&message.to_many, part, &retry_key)
                        .await
                        .map_err(failure)?;
                }
            }
            delivery.progress = u32::try_from(part_idx + 1).unwrap_or(u32::MAX);
        }
        Ok(())
    }

    /// Replies with the token; `Ok(false)` when the part must be pushed instead (a token
    /// refused on its first try: expired, never used by us).
    async fn reply(
        &self,
        delivery: &mut Delivery,
        token: &str,
        part: &[render::Message],
        tried_before: bool,
    ) -> Result<bool, Failure> {
        delivery.reply_marked_now = false;
        match self.client.reply(token, part).await {
            Ok(()) => Ok(true),
            Err(Error::Status {
                status: StatusCode::BAD_REQUEST,
                ..
            }) if tried_before => {
                // Spent, by us before a timeout or crash, or expired before we came
                // back: LINE cannot say which. Saying it twice is the worse mistake.
                tracing::warn!(
                    delivery = delivery.id,
                    "reply token refused after an earlier try that may have reached the resident: counted as sent, not pushed"
                );
                Ok(true)
            }
            Err(Error::Status {
                status: StatusCode::BAD_REQUEST,
                ..
            }) => {
                tracing::info!(
                    delivery = delivery.id,
                    "reply token refused, pushing instead"
                );
                // Refused on its first try: it reached nobody. The mark comes off (on
                // disk) so that an attempt after a crash during the push pushes again,
                // with the same retry key, instead of counting the refused token as sent.
                delivery.reply_tried = false;
                self.remember(delivery).await?;
                Ok(false)
            }
            Err(Error::NotConnected) => {
                // The request never left: the token is as unused as before.
                delivery.reply_tried = tried_before;
                Err(failure(Error::NotConnected))
            }
            Err(error) => Err(failure(error)),
        }
    }

    /// Puts the reply mark on disk (before the token is spent, or once it was refused).
    async fn remember(&self, delivery: &Delivery) -> Result<(), Failure> {
        let not_saved = |error: crate::store::Error| Failure {
            message: format!("cannot mark the reply as tried: {error}"),
            permanent: false,
            retry_after: None,
        };
        self.store
            .save_deliveries(std::slice::from_ref(delivery))
            .map_err(not_saved)?;
        self.store.sync().await.map_err(not_saved)
    }
}

impl ChannelSender for Sender {
    /// Marks a delivery whose first part will spend a fresh reply token: the dispatcher
    /// puts the marks of a whole batch on disk with one flush before any token is used.
    ///
    /// A delivery its turn wrote already marked, by this same opening of the store
    /// (`Delivery::marked_in`), has not been tried: its mark is on disk with it, and
    /// nothing need be written, unless its token went stale in the queue. Then it will
    /// be pushed, and the mark comes off on disk first: a crash during the push must
    /// push again, not count the stale token as spent.
    fn prepare(&self, delivery: &mut Delivery) -> bool {
        if delivery.progress > 0 {
            return false;
        }
        let fresh_token = delivery.has_fresh_reply_token(Utc::now());
        match delivery.marked_in.take() {
            Some(opening) if opening == self.store.opening() => {
                if fresh_token {
                    delivery.reply_marked_now = true;
                    return false;
                }
                delivery.reply_tried = false;
                return true;
            }
            // Marked by an earlier process, which may have tried it.
            Some(_) => return false,
            None => {}
        }
        if delivery.reply_tried {
            return false;
        }
        if fresh_token {
            delivery.reply_tried = true;
            delivery.reply_marked_now = true;
        }
        fresh_token
    }

    fn send<'a>(&'a self, delivery: &'a mut Delivery) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(self.deliver(delivery))
    }
}

/// A UUID for `X-Line-Retry-Key`, the same for every attempt at one part of one delivery.
#[must_use]
pub fn retry_key(delivery_id: u64, part_idx: usize) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("tambon-line-push:{delivery_id}:{part_idx}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // Mark it as a version 4, RFC 4122 UUID, as LINE expects.
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// How the dispatcher should treat a failed call: 429 and 5xx (and network trouble)
/// are retried with backoff; other 4xx will not get better.
fn failure(error: Error) -> Failure {
    match &error {
        Error::Status {
            status,
            retry_after,
            ..
        } => Failure {
            permanent: status.is_client_error()
                && *status != StatusCode::TOO_MANY_REQUESTS
                && *status != StatusCode::REQUEST_TIMEOUT,
            retry_after: *retry_after,
            message: error.to_string(),
        },
        Error::Transport(_) | Error::NotConnected => Failure {
            message: error.to_string(),
            permanent: false,
            retry_after: None,
        },
        Error::Unexpected(_) => Failure {
            message: error.to_string(),
            permanent: true,
            retry_after: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;

    use super::*;
    use crate::domain::{Channel, ChatKey};
    use crate::engine::Conversation;
    use crate::store::{Outgoing, Route as StoreRoute, TurnWrite};

    fn sender(store: &Store) -> Sender {
        let client = Client::new(
            &crate::config::Line::default(),
            "test-token".to_owned().into(),
            Duration::from_secs(1),
        )
        .unwrap();
        Sender {
            client,
            store: store.clone(),
        }
    }

    /// A turn's answer with a reply token good until `reply_by_ms`, as its turn writes it.
    fn answer_written(store: &Store, reply_by_ms: u64) -> Delivery {
        let now = Utc::now();
        store
            .commit_turns(&[TurnWrite {
                conversation: Some(Conversation::default()),
                outgoing: vec![Outgoing {
                    route: StoreRoute::Channel {
                        channel: Channel::Line,
                    },
                    body: crate::store::Body::from(&serde_json::json!({
                        "to": "U1", "reply_token": "token-1", "reply_by_ms": reply_by_ms,
                        "messages": [],
                    })),
                    sensitive: false,
                    reply_by_ms: Some(reply_by_ms),
                }],
                ..TurnWrite::new(ChatKey::new(Channel::Line, "U1"), now)
            }])
            .unwrap();
        store.due_deliveries(now, 10).unwrap().pop().unwrap()
    }

    fn in_ms(ms: u64) -> u64 {
        crate::store::unix_ms(Utc::now()) + ms
    }

    #[test]
    fn an_answer_written_marked_is_ready_to_reply_without_another_write() {
        let store = Store::temporary().unwrap();
        let mut delivery = answer_written(&store, in_ms(60_000));
        // The mark went to disk with the turn.
        assert!(delivery.reply_tried);
        assert_eq!(delivery.marked_in, Some(store.opening()));
        assert!(!sender(&store).prepare(&mut delivery), "nothing to write");
        assert!(delivery.reply_marked_now, "not tried before");
        assert_eq!(delivery.marked_in, None, "an attempt will have been made");
    }

    #[test]
    fn an_answer_whose_token_went_stale_in_the_queue_is_unmarked_before_its_push() {
        let store = Store::temporary().unwrap();
        let mut delivery = answer_written(&store, in_ms(30));
        std::thread::sleep(Duration::from_millis(60));
        assert!(
            sender(&store).prepare(&mut delivery),
            "the unmark is written"
        );
        assert!(!delivery.reply_tried);
        assert!(!delivery.reply_marked_now);
    }

    #[test]
    fn after_a_restart_a_mark_written_with_the_answer_may_have_been_tried() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = answer_written(&store, in_ms(60_000)).id;
        store.sync_blocking().unwrap();
        let first_opening = store.opening();
        drop(store);
        let store = crate::store::reopen(dir.path());
        assert_ne!(store.opening(), first_opening);
        let mut delivery = store.delivery(id).unwrap().unwrap();
        assert!(!sender(&store).prepare(&mut delivery), "nothing to write");
        assert!(
            delivery.reply_tried,
            "tried again with its token, never pushed"
        );
        assert!(
            !delivery.reply_marked_now,
            "the earlier process may have tried it"
        );
    }
}
