//! Progress staff report on the plan's items after the plan was written: an item marked
//! done, or a note of what was done so far. Kept in the store, on top of
//! `config/measures.toml`; the answers residents get show the latest.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::kb::Status;

/// One progress report on an item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub status: Status,
    /// What was done, in the staff member's words (shown to residents).
    pub note: Option<String>,
    pub at: DateTime<Utc>,
    /// Who reported it, as the audit log names people.
    pub by: String,
}

/// The latest progress of each item, read by every answer: a lock held only to copy
/// one entry out.
#[derive(Debug, Default)]
pub struct ProgressBoard {
    latest: RwLock<HashMap<String, Progress>>,
}

impl ProgressBoard {
    /// The latest progress of an item, if staff reported any.
    #[must_use]
    pub fn latest(&self, item_id: &str) -> Option<Progress> {
        self.latest
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(item_id)
            .cloned()
    }

    /// Records a report as the item's latest (after the store has it).
    pub fn set(&self, item_id: &str, progress: Progress) {
        self.latest
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(item_id.to_owned(), progress);
    }
}
