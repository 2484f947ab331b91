//! Subscriptions of residents to updates, and the updates village heads and staff send.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{ChatKey, Location};

/// What a resident can follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Notices of the office to everyone.
    Office,
    /// Updates of the resident's village, from its head.
    Village,
    /// Progress of the ITA measures.
    Progress,
}

impl Topic {
    pub const ALL: [Self; 3] = [Self::Office, Self::Village, Self::Progress];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Office => "office",
            Self::Village => "village",
            Self::Progress => "progress",
        }
    }

    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// A chat identity's subscription. Removed (not flagged) when the person stops, so the
/// store keeps nothing of someone who left.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub v: u8,
    pub chat: ChatKey,
    /// หมู่ที่ N, if the resident chose one.
    pub village: Option<u32>,
    pub topics: Vec<Topic>,
    pub since: DateTime<Utc>,
}

impl Subscription {
    #[must_use]
    pub fn follows(&self, topic: Topic) -> bool {
        self.topics.contains(&topic)
    }

    /// Whether an update reaches this subscriber.
    #[must_use]
    pub fn receives(&self, update: &Update) -> bool {
        if !self.follows(update.topic) {
            return false;
        }
        match update.topic {
            // A village's update reaches the subscribers of that village only.
            Topic::Village => self.village.is_some_and(|v| update.villages.contains(&v)),
            // Office notices and progress go to the chosen villages, or to everyone.
            Topic::Office | Topic::Progress => {
                update.villages.is_empty()
                    || self.village.is_some_and(|v| update.villages.contains(&v))
            }
        }
    }
}

/// Where an update is in its life.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UpdateState {
    /// Confirmed; goes out at `send_at` unless withdrawn first.
    Scheduled,
    /// Being fanned out: subscribers up to `cursor` (a store key) are done.
    Sending { cursor: Vec<u8> },
    /// Every subscriber's delivery is in the outbox.
    Sent { finished_at: DateTime<Utc> },
    /// Withdrawn by an admin before it went out.
    Withdrawn { by: String, at: DateTime<Utc> },
}

/// An update as recorded: who sent what, when, to whom, and how far its fan-out went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub v: u8,
    pub id: u64,
    pub author: ChatKey,
    /// The author as the audit log names people (role and tag).
    pub author_label: String,
    pub topic: Topic,
    /// หมู่ที่ the update is for; empty for every village.
    pub villages: Vec<u32>,
    pub text: String,
    pub photo: Option<String>,
    pub location: Option<Location>,
    pub created_at: DateTime<Utc>,
    pub send_at: DateTime<Utc>,
    pub state: UpdateState,
    /// Subscribers it was addressed to so far (deliveries enqueued, by recipient).
    pub n_recipients: u64,
    /// Subscribers the platform's rules forbid reaching now (Messenger outside its
    /// 24-hour window): reported, not silently dropped.
    pub n_undeliverable: u64,
}

impl Update {
    /// An update not recorded yet (no id, no author label), scheduled for `at`: what a
    /// preview renders and what the audience is counted for.
    #[must_use]
    pub fn draft(author: ChatKey, topic: Topic, villages: Vec<u32>, at: DateTime<Utc>) -> Self {
        Self {
            v: 1,
            id: 0,
            author,
            author_label: String::new(),
            topic,
            villages,
            text: String::new(),
            photo: None,
            location: None,
            created_at: at,
            send_at: at,
            state: UpdateState::Scheduled,
            n_recipients: 0,
            n_undeliverable: 0,
        }
    }
}
