//! Domain newtypes shared by every part: who is talking (`ChatKey`), in which language,
//! and the case model in `case`.

pub mod case;
pub mod change;
pub mod role;
pub mod update;

use std::fmt;

use serde::{Deserialize, Serialize};

/// A channel a person can reach the office through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    Terminal,
    Line,
    Messenger,
    Telegram,
    /// The staff web dashboard: the "user" is the login name.
    Dashboard,
}

impl Channel {
    pub const ALL: [Self; 6] = [
        Self::Web,
        Self::Terminal,
        Self::Line,
        Self::Messenger,
        Self::Telegram,
        Self::Dashboard,
    ];

    /// Reads a channel by its name (`line`, `telegram`…).
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether tambon can push a message to a person on this channel unasked.
    #[must_use]
    pub fn can_push(self) -> bool {
        matches!(self, Self::Line | Self::Messenger | Self::Telegram)
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Terminal => "terminal",
            Self::Line => "line",
            Self::Messenger => "messenger",
            Self::Telegram => "telegram",
            Self::Dashboard => "dashboard",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One person on one channel: the channel plus the platform's user id.
///
/// The user id is personal data: never log it, log `ChatKey::redacted` instead.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChatKey {
    pub channel: Channel,
    pub user: String,
}

impl ChatKey {
    #[must_use]
    pub fn new(channel: Channel, user: impl Into<String>) -> Self {
        Self {
            channel,
            user: user.into(),
        }
    }
}

/// The two languages tambon speaks. Thai is the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    Th,
    En,
}

impl Lang {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Th => "th",
            Self::En => "en",
        }
    }
}

/// A point on the map, as a resident shared it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// What became of a link code sent to join two chat identities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linked {
    Done,
    /// Unknown, used or expired.
    BadCode,
    /// The code was made in this same chat.
    SameChat,
}
