//! Readings of short texts kept for the next time the same text comes.
//!
//! Residents send the same short texts again and again: the rich menu's and the quick
//! replies' labels, "สวัสดีครับ", the plan's common questions. Reading one (cutting Thai
//! into words, the typo search, the classifier, the plan's index) costs about 60 µs,
//! the largest single cost of a turn; finding it again costs a hash of the text.
//!
//! A reading depends on the text alone: the knowledge it is read against is built once
//! and never changes while the engine lives (the progress staff report is kept apart, in
//! `ProgressBoard`, and read when the answer is rendered). So a kept reading is exactly
//! the reading the text would get again, and a cache cannot change an answer.
//!
//! Only short texts are kept: a long one is a description of a matter, rarely sent twice,
//! and may carry personal data that has no business lingering in memory.

use std::sync::Arc;

use quick_cache::sync::Cache;

/// Longest text kept, in bytes: a question of about 80 Thai letters.
pub const MAX_KEPT_TEXT_BYTES: usize = 240;

/// How many readings are kept: far more than the distinct texts of menus, quick replies
/// and common questions. A reading with its scores and reasons takes a few KiB: with
/// 1,024 kept, `benches/line_webhook` with unique texts ended 2–5 MiB higher.
const KEPT_READINGS: usize = 512;

/// The readings (`T`) of recently read short texts; shared by the engine's clones.
pub struct Recall<T> {
    // The default hasher (SipHash with a random key), not FxHash: the keys are what
    // anyone may send, and a bounded table still should not degrade on chosen texts.
    readings: Cache<String, Arc<T>>,
}

impl<T> Default for Recall<T> {
    fn default() -> Self {
        Self {
            readings: Cache::new(KEPT_READINGS),
        }
    }
}

impl<T> Recall<T> {
    /// The reading of `text`: the kept one, or `read`'s, kept when the text is short.
    pub fn reading_of(&self, text: &str, read: impl FnOnce() -> T) -> Arc<T> {
        if text.len() > MAX_KEPT_TEXT_BYTES {
            return Arc::new(read());
        }
        if let Some(kept) = self.readings.get(text) {
            return kept;
        }
        let reading = Arc::new(read());
        self.readings.insert(text.to_owned(), Arc::clone(&reading));
        reading
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn a_short_text_is_read_once_and_a_long_one_every_time() {
        let recall = Recall::default();
        let reads = Cell::new(0);
        let read = |text: &str| {
            reads.set(reads.get() + 1);
            text.chars().count()
        };
        let short = "สวัสดีครับ";
        for _ in 0..3 {
            assert_eq!(*recall.reading_of(short, || read(short)), 10);
        }
        assert_eq!(reads.get(), 1, "the short text was read again");

        let long = "ถนน".repeat(MAX_KEPT_TEXT_BYTES / "ถนน".len() + 1);
        recall.reading_of(&long, || read(&long));
        recall.reading_of(&long, || read(&long));
        assert_eq!(reads.get(), 3, "a long text was kept");
    }

    #[test]
    fn each_text_keeps_its_own_reading() {
        let recall = Recall::default();
        recall.reading_of("hello", || "greeting");
        recall.reading_of("thanks", || "thanks");
        let kept = |text| *recall.reading_of(text, || panic!("{text} was read again"));
        assert_eq!(kept("hello"), "greeting");
        assert_eq!(kept("thanks"), "thanks");
    }
}
