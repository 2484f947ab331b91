//! The case: a suggestion, complaint, corruption complaint or question filed by a resident.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{ChatKey, Location};

/// Version of the serialized `Case` record; bump when its shape changes.
pub const CASE_RECORD_VERSION: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    Suggestion,
    Complaint,
    Corruption,
    Question,
}

impl CaseKind {
    /// The prefix of the public case code (`SG-2569-0001`).
    #[must_use]
    pub fn code_prefix(self) -> &'static str {
        match self {
            Self::Suggestion => "SG",
            Self::Complaint => "CP",
            Self::Corruption => "CC",
            Self::Question => "QS",
        }
    }

    #[must_use]
    pub fn from_code_prefix(prefix: &str) -> Option<Self> {
        [
            Self::Suggestion,
            Self::Complaint,
            Self::Corruption,
            Self::Question,
        ]
        .into_iter()
        .find(|kind| kind.code_prefix() == prefix)
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suggestion => "suggestion",
            Self::Complaint => "complaint",
            Self::Corruption => "corruption",
            Self::Question => "question",
        }
    }
}

/// `received → accepted → in_progress → resolved | rejected`, or withdrawn by the resident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Received,
    Accepted,
    InProgress,
    Resolved,
    Rejected,
    Withdrawn,
}

impl Status {
    #[must_use]
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Resolved | Self::Rejected | Self::Withdrawn)
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Accepted => "accepted",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
        }
    }
}

/// A public case code such as `SG-2569-0001`: kind, Buddhist-era year, sequence number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CaseCode {
    pub kind: CaseKind,
    pub year_be: u32,
    pub number: u32,
}

impl CaseCode {
    /// Reads a code the way a resident may type it: any case, Thai digits, spaces or
    /// dashes around the parts (`sg 2569 1`, `SG-๒๕๖๙-๐๐๐๑`).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let ascii = crate::thai::normalize_digits(text.trim()).to_ascii_uppercase();
        let mut parts = ascii.split(['-', ' ', '/']).filter(|part| !part.is_empty());
        let prefix = parts.next()?;
        let kind = CaseKind::from_code_prefix(prefix)?;
        let year_be: u32 = parts.next()?.parse().ok()?;
        let number: u32 = parts.next()?.parse().ok()?;
        if parts.next().is_some() || !(2500..=2700).contains(&year_be) || number == 0 {
            return None;
        }
        Some(Self {
            kind,
            year_be,
            number,
        })
    }
}

impl fmt::Display for CaseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{:04}",
            self.kind.code_prefix(),
            self.year_be,
            self.number
        )
    }
}

/// What happened to a case, in order; the resident sees this as the timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: CaseEventKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CaseEventKind {
    Filed,
    StatusChanged { to: Status },
    StaffAnswer { text: String },
    ResidentInfo { text: String },
    Withdrawn,
}

/// A case as stored. `reporter` is `None` for an anonymous corruption complaint, whose
/// holder proves ownership with the receipt (only its hash is stored, in the store).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub v: u8,
    pub id: u64,
    pub code: String,
    pub kind: CaseKind,
    pub category: String,
    pub division: String,
    pub text: String,
    pub location: Option<Location>,
    /// Where, in the resident's words, when they typed it instead of sharing a location.
    #[serde(default)]
    pub place: Option<String>,
    pub photos: Vec<String>,
    pub contact: Option<String>,
    pub reporter: Option<ChatKey>,
    pub anonymous: bool,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub events: Vec<CaseEvent>,
    /// The staff member who took the case.
    #[serde(default)]
    pub assignee: Option<ChatKey>,
}

/// A case the engine asks to file; the store gives it an id, code and (if anonymous) a
/// receipt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewCase {
    pub kind: CaseKind,
    pub category: String,
    pub division: String,
    pub text: String,
    pub location: Option<Location>,
    pub place: Option<String>,
    pub photos: Vec<String>,
    pub contact: Option<String>,
    pub reporter: ChatKey,
    pub anonymous: bool,
}

/// A 16-digit secret given to the reporter of an anonymous corruption complaint.
#[derive(Clone, PartialEq, Eq)]
pub struct Receipt(String);

impl Receipt {
    /// Reads 16 digits, ASCII or Thai, ignoring spaces and dashes between them.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let ascii = crate::thai::normalize_digits(text.trim());
        if !ascii
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
        {
            return None;
        }
        let digits: String = ascii.chars().filter(char::is_ascii_digit).collect();
        (digits.len() == 16).then_some(Self(digits))
    }

    #[must_use]
    pub fn generate() -> Self {
        use rand::Rng;
        let mut rng = rand::rngs::OsRng;
        Self(
            (0..16)
                .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
                .collect(),
        )
    }

    #[must_use]
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Groups of four, easy to read aloud: `1234 5678 9012 3456`.
    #[must_use]
    pub fn display(&self) -> String {
        self.0
            .as_bytes()
            .chunks(4)
            .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receipt(<secret>)")
    }
}

/// A case just written and flushed, with what the resident must be told.
#[derive(Clone, Debug)]
pub struct FiledCase {
    pub case: Case,
    pub receipt: Option<Receipt>,
}

/// Why a case is forwarded to its division.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    Filed,
    InfoAdded {
        text: String,
    },
    Withdrawn,
    /// Staff answered the resident: the resident is told on their channel.
    StaffAnswer {
        text: String,
    },
    /// Staff moved the case: the resident is told on their channel.
    StatusChanged {
        to: Status,
    },
}
