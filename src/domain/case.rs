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
    StatusChanged {
        to: Status,
    },
    StaffAnswer {
        text: String,
    },
    ResidentInfo {
        text: String,
    },
    Withdrawn,
    /// Moved to another division, which now owns it.
    Forwarded {
        from: String,
        to: String,
    },
    /// Another division brought in to work the case with its own.
    CoResponsible {
        division: String,
    },
    /// The resident said the resolved case was not fixed: it is open again.
    Reopened,
    /// The resident confirmed the resolution and rated it, 1 to 5.
    Rated {
        stars: u8,
    },
    /// A photo staff attached when closing, showing the result.
    AfterPhoto {
        media_id: String,
    },
}

/// A note among staff about a case: never shown to the resident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffNote {
    pub at: DateTime<Utc>,
    /// Who wrote it, as the audit log names people (role and login or tag).
    pub by: String,
    pub text: String,
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
    /// The channel the case came from (kept for anonymous cases too: it says nothing of
    /// who sent it, and the statistics count by channel).
    #[serde(default)]
    pub channel: Option<crate::domain::Channel>,
    /// Other divisions working the case with its own.
    #[serde(default)]
    pub co_divisions: Vec<String>,
    /// Notes among staff, kept apart from `events` so no resident view can show them.
    #[serde(default)]
    pub notes: Vec<StaffNote>,
    /// The resident's rating of the resolution, 1 to 5, once given.
    #[serde(default)]
    pub rating: Option<u8>,
    /// How many times the resident said "not fixed" and the case was reopened.
    #[serde(default)]
    pub reopen_count: u32,
}

impl Case {
    /// Adds an event to the timeline.
    pub fn record(&mut self, at: DateTime<Utc>, kind: CaseEventKind) {
        self.events.push(CaseEvent { at, kind });
    }

    /// Whether `division` works this case, as owner or co-responsible.
    #[must_use]
    pub fn concerns_division(&self, division: &str) -> bool {
        self.division == division || self.co_divisions.iter().any(|d| d == division)
    }

    /// When the case was last resolved, if it is resolved now.
    #[must_use]
    pub fn resolved_at(&self) -> Option<DateTime<Utc>> {
        if self.status != Status::Resolved {
            return None;
        }
        self.events.iter().rev().find_map(|event| match event.kind {
            CaseEventKind::StatusChanged {
                to: Status::Resolved,
            } => Some(event.at),
            _ => None,
        })
    }

    /// When staff first acknowledged the case (accepted it, answered it or moved it).
    #[must_use]
    pub fn acknowledged_at(&self) -> Option<DateTime<Utc>> {
        self.events.iter().find_map(|event| match event.kind {
            CaseEventKind::StatusChanged { .. } | CaseEventKind::StaffAnswer { .. } => {
                Some(event.at)
            }
            _ => None,
        })
    }

    /// The photos staff attached when closing.
    pub fn after_photos(&self) -> impl Iterator<Item = &str> {
        self.events.iter().filter_map(|event| match &event.kind {
            CaseEventKind::AfterPhoto { media_id } => Some(media_id.as_str()),
            _ => None,
        })
    }
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
    /// The case was moved here from another division.
    Forwarded {
        from: String,
    },
    /// This division was brought in to work the case with its owner.
    CoResponsible {
        division: String,
    },
    /// The resident rated the resolution.
    Rated {
        stars: u8,
    },
    /// The resident said it was not fixed: the case is open again.
    Reopened,
}

impl Notice {
    /// Whether the notice is for the case's resident (else for its division).
    #[must_use]
    pub fn is_for_resident(&self) -> bool {
        matches!(self, Self::StaffAnswer { .. } | Self::StatusChanged { .. })
    }
}
