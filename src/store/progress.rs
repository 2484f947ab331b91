//! Progress reports on the plan's items, each item's kept in order.

use crate::kb::progress::Progress;
use crate::store::{encode, get_json, Result, Store};

impl Store {
    /// Adds a report to an item's history.
    pub fn add_progress(&self, item_id: &str, progress: &Progress) -> Result<()> {
        let mut history = self.progress_history(item_id)?;
        history.push(progress.clone());
        self.itemid_progress
            .insert(item_id.as_bytes(), encode(&history)?)?;
        Ok(())
    }

    /// An item's reports, oldest first.
    pub fn progress_history(&self, item_id: &str) -> Result<Vec<Progress>> {
        Ok(
            get_json(&self.itemid_progress, "itemid_progress", item_id.as_bytes())?
                .unwrap_or_default(),
        )
    }

    /// The latest report of every item that has one.
    pub fn latest_progress(&self) -> Result<Vec<(String, Progress)>> {
        let mut latest = Vec::new();
        for entry in self.itemid_progress.iter() {
            let (key, value) = entry?;
            let history: Vec<Progress> = crate::store::decode("itemid_progress", &value)?;
            if let (Ok(id), Some(last)) = (std::str::from_utf8(&key), history.last()) {
                latest.push((id.to_owned(), last.clone()));
            }
        }
        Ok(latest)
    }
}
