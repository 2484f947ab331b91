//! A resident's text as words: normalised, then cut by a dictionary-based Thai segmenter.
//!
//! Thai is written without spaces between words, so "งบ" is a substring of "ทำไงบ้าง" and
//! "ไอที" of "โอไอที". Matching on substrings finds words that are not there; matching on
//! words does not. The segmenter is `kham-core`'s (maximal matching over a 62,000-word
//! CC0 Thai word list, bounded by Thai character clusters), run by `segment::Lexicon`
//! with the plan's and the bot's own terms added, so that a term of ours comes out as
//! one word.
//!
//! The word list holds compounds ("มาตรการป้องกัน", "เสียหลาย") that would hide a term we
//! look for, so such a word is cut around the term when what is left on either side is a
//! word too ("มาตรการ|ป้องกัน"). Our own words ("โอไอที") are never cut, so that nothing
//! is found inside them.
//!
//! Building the segmenter takes a few hundred milliseconds (its frequency table is
//! decompressed), so `Segmenter::new` starts it on a thread of its own and the first
//! text to be cut waits for it: start-up does not.

use std::sync::{Arc, OnceLock};

use rustc_hash::FxHashSet as HashSet;

use super::segment::Lexicon;

/// The segmenter with our own words added; cheap to clone.
#[derive(Clone)]
pub struct Segmenter {
    inner: Arc<Inner>,
}

struct Inner {
    lexicon: OnceLock<Lexicon>,
    /// Our terms, one a line, merged over the built-in word list.
    extra_words: String,
    /// Our own words, normalised: never cut.
    own_words: HashSet<String>,
    /// Terms looked for, normalised: a word of the list that holds one is cut around it.
    terms: HashSet<String>,
    /// Beginnings of those terms: a word that ends with one is cut before it, so that
    /// the term can run on into the next word ("แล้ว|ยังไม่มีใครมา").
    term_starts: HashSet<String>,
}

/// The shortest beginning of a term that cuts a word before it.
const MIN_TERM_START_CHARS: usize = 3;
/// How many times a word's pieces are cut again.
const MAX_CUT_DEPTH: usize = 3;

/// One word of a text, normalised (see `normalize`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub script: Script,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Script {
    Thai,
    Latin,
    Number,
    /// Punctuation, emoji and anything else.
    Other,
}

impl Segmenter {
    /// A segmenter that also knows `extra_words` as words (any script; Thai ones
    /// matter). Building starts at once on its own thread.
    #[must_use]
    pub fn new<I, S>(extra_words: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::with_terms(extra_words, Vec::<String>::new())
    }

    /// Like `new`, and a word of the list that holds one of `terms` is cut around it.
    #[must_use]
    pub fn with_terms<I, S, T, U>(extra_words: I, terms: T) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
        T: IntoIterator<Item = U>,
        U: AsRef<str>,
    {
        let terms_set: HashSet<String> = terms
            .into_iter()
            .map(|t| normalize(t.as_ref()))
            .filter(|t| t.chars().any(super::is_thai) && !t.contains(char::is_whitespace))
            .collect();
        let mut list = String::new();
        // Our terms are words of the list too (so that a typo'd one we know, "ขอบคุน",
        // is one word), but only our own words are never cut.
        for term in &terms_set {
            list.push_str(term);
            list.push('\n');
        }
        let mut own_words = HashSet::default();
        for word in extra_words {
            let word = normalize(word.as_ref());
            // Only Thai words shape the segmentation; spaces cannot be in a word.
            if word.chars().any(super::is_thai) && !word.contains(char::is_whitespace) {
                list.push_str(&word);
                list.push('\n');
                own_words.insert(word);
            }
        }
        let segmenter = Self {
            inner: Arc::new(Inner {
                lexicon: OnceLock::new(),
                extra_words: list,
                own_words,
                term_starts: terms_set
                    .iter()
                    .flat_map(|term| {
                        let bounds: Vec<usize> = term.char_indices().map(|(i, _)| i).collect();
                        bounds
                            .into_iter()
                            .skip(MIN_TERM_START_CHARS)
                            .map(|end| term[..end].to_owned())
                            .collect::<Vec<_>>()
                    })
                    .collect(),
                terms: terms_set,
            }),
        };
        let warm = segmenter.clone();
        // If the thread cannot start, the first use builds it instead.
        let _ = std::thread::Builder::new()
            .name("thai-segmenter".to_owned())
            .spawn(move || {
                warm.lexicon();
            });
        segmenter
    }

    fn lexicon(&self) -> &Lexicon {
        self.inner
            .lexicon
            .get_or_init(|| Lexicon::with_extra_words(&self.inner.extra_words))
    }

    /// Whether `piece` is one word of the list (the segmenter reads it as one known
    /// word). Asking the segmenter spares a second copy of the list in memory.
    fn is_listed(&self, piece: &str) -> bool {
        let pieces = self.lexicon().segment(piece);
        pieces.len() == 1 && pieces[0].kind == kham_core::TokenKind::Thai
    }

    /// A word of the list cut around the longest term it holds, when what is left on
    /// either side is a word too, else before the beginning of a term it ends with; the
    /// pieces are cut again the same way. Never one of our own words.
    fn split_compound(&self, word: &str) -> Option<Vec<String>> {
        self.split_compound_within(word, MAX_CUT_DEPTH)
    }

    fn split_compound_within(&self, word: &str, depth: usize) -> Option<Vec<String>> {
        if depth == 0 || self.inner.own_words.contains(word) {
            return None;
        }
        let bounds: Vec<usize> = word
            .char_indices()
            .map(|(idx, _)| idx)
            .chain(std::iter::once(word.len()))
            .collect();
        let last = bounds.len() - 1;
        let is_word = |piece: &str| piece.is_empty() || self.is_listed(piece);
        let mut best: Option<(usize, usize)> = None;
        for start in 0..last {
            for end in (start + 1)..=last {
                if (start, end) == (0, last) || end - start <= best.map_or(0, |(s, e)| e - s) {
                    continue;
                }
                let (before, term, after) = (
                    &word[..bounds[start]],
                    &word[bounds[start]..bounds[end]],
                    &word[bounds[end]..],
                );
                if self.inner.terms.contains(term) && is_word(before) && is_word(after) {
                    best = Some((start, end));
                }
            }
        }
        if best.is_none() {
            // A term that begins inside the word and runs on past its end.
            best = (1..last)
                .find(|&start| {
                    self.inner.term_starts.contains(&word[bounds[start]..])
                        && self.is_listed(&word[..bounds[start]])
                })
                .map(|start| (start, last));
        }
        let (start, end) = best?;
        let pieces = [
            &word[..bounds[start]],
            &word[bounds[start]..bounds[end]],
            &word[bounds[end]..],
        ];
        let mut words = Vec::new();
        for piece in pieces.into_iter().filter(|piece| !piece.is_empty()) {
            match self.split_compound_within(piece, depth - 1) {
                Some(parts) => words.extend(parts),
                None => words.push(piece.to_owned()),
            }
        }
        Some(words)
    }

    /// The words of `text`, normalised, without white space; Buddhist-era years written
    /// short ("ปี๖๔") read in full ("2564").
    #[must_use]
    pub fn words(&self, text: &str) -> Vec<Word> {
        let normal = normalize(text);
        let mut words: Vec<Word> = Vec::new();
        for token in self.lexicon().segment(&normal) {
            if token.text.trim().is_empty() {
                continue;
            }
            let script = match token.kind {
                kham_core::TokenKind::Thai => Script::Thai,
                kham_core::TokenKind::Latin => Script::Latin,
                kham_core::TokenKind::Number => Script::Number,
                _ => Script::Other,
            };
            let parts = (script == Script::Thai)
                .then(|| self.split_compound(token.text))
                .flatten();
            match parts {
                Some(parts) => words.extend(parts.into_iter().map(|text| Word { text, script })),
                None => words.push(Word {
                    text: token.text.to_owned(),
                    script,
                }),
            }
        }
        read_years(&mut words);
        words
    }

    /// `text` cut into words as it is written (no normalisation), white space left out.
    #[must_use]
    pub fn cut<'t>(&self, text: &'t str) -> Vec<&'t str> {
        self.lexicon()
            .segment(text)
            .into_iter()
            .map(|token| token.text)
            .filter(|word| !word.trim().is_empty())
            .collect()
    }
}

/// The form every text is compared in: Thai marks in canonical order, Thai digits as
/// ASCII, lower case, no zero-width characters, and a letter held down ("ค่าาาา",
/// "helloooo") written once.
#[must_use]
pub fn normalize(text: &str) -> String {
    let canonical = kham_core::normalizer::normalize(text);
    let digits = super::normalize_digits(&canonical);
    let chars: Vec<char> = digits
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| !matches!(c, '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}'))
        .collect();
    let mut out = String::with_capacity(digits.len());
    for run in chars.chunk_by(|a, b| a == b) {
        // Three or more of one letter is a letter held down: written once. Digits are
        // kept as typed ("0001" is a case number), and so is a letter written twice.
        if run.len() >= 3 && !run[0].is_ascii_digit() {
            out.push(run[0]);
        } else {
            out.extend(run);
        }
    }
    out
}

/// Words that say the number after them is a year.
const YEAR_MARKERS: &[&str] = &["ปี", "พ.ศ.", "พ.ศ", "พศ", "ปีงบ", "ปีงบประมาณ", "งบปี"];
/// Words after a short number that say it counts something, not a year.
const COUNT_UNITS: &[&str] = &[
    "วัน",
    "เดือน",
    "ปี",
    "คน",
    "บาท",
    "ครั้ง",
    "หลัง",
    "คัน",
    "ชั่วโมง",
    "นาที",
    "จุด",
    "ราย",
    "ข้อ",
    "ครอบครัว",
    "days",
    "day",
    "months",
    "hours",
    "people",
];

/// Reads short Buddhist-era years in full: a two-digit number after "ปี" or "พ.ศ."
/// ("ปี๖๔"), or alone between 60 and 79 and not counting something ("รายงานผล ๖๓"),
/// becomes 25xx.
fn read_years(words: &mut [Word]) {
    for idx in 0..words.len() {
        if words[idx].script != Script::Number || words[idx].text.len() != 2 {
            continue;
        }
        let Ok(short) = words[idx].text.parse::<u32>() else {
            continue;
        };
        let after_marker = idx
            .checked_sub(1)
            .and_then(|before| words.get(before))
            .is_some_and(|w| YEAR_MARKERS.contains(&w.text.as_str()));
        let before_unit = words
            .get(idx + 1)
            .is_some_and(|w| COUNT_UNITS.contains(&w.text.as_str()));
        let next_is_punct = words
            .get(idx + 1)
            .is_some_and(|w| w.script == Script::Other && w.text != "?");
        let alone_year = (60..80).contains(&short) && !before_unit && !next_is_punct;
        if after_marker || alone_year {
            words[idx].text = format!("25{short:02}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(segmenter: &Segmenter, text: &str) -> String {
        segmenter
            .words(text)
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join("|")
    }

    #[test]
    fn words_are_not_substrings() {
        let segmenter = Segmenter::new(["โอไอที", "ไอที"]);
        assert_eq!(cut(&segmenter, "ทำไงบ้าง"), "ทำ|ไง|บ้าง");
        assert_eq!(cut(&segmenter, "คะแนนโอไอทีเท่าไหร่"), "คะแนน|โอไอที|เท่าไหร่");
    }

    #[test]
    fn compounds_of_the_word_list_are_cut_but_ours_stay_whole() {
        let segmenter = Segmenter::with_terms(["โอไอที"], ["มาตรการ", "เสีย", "ไอที"]);
        assert_eq!(
            cut(&segmenter, "มาตรการป้องกันการทุจริต"),
            "มาตรการ|ป้องกัน|การ|ทุจริต"
        );
        assert_eq!(cut(&segmenter, "ไฟเสียหลายวัน"), "ไฟ|เสีย|หลาย|วัน");
        assert_eq!(cut(&segmenter, "คะแนนโอไอที"), "คะแนน|โอไอที");
    }

    #[test]
    fn latin_glued_to_thai_is_a_word_of_its_own() {
        let segmenter = Segmenter::new(Vec::<String>::new());
        assert_eq!(cut(&segmenter, "ใครดูแลเรื่องITAคะ"), "ใคร|ดูแล|เรื่อง|ita|คะ");
    }

    #[test]
    fn short_and_thai_digit_years_read_in_full() {
        let segmenter = Segmenter::new(Vec::<String>::new());
        assert_eq!(cut(&segmenter, "ปี๖๔"), "ปี|2564");
        assert_eq!(cut(&segmenter, "รายงานผล ๖๓"), "รายงาน|ผล|2563");
        assert_eq!(cut(&segmenter, "ไม่ไหล 3 วัน"), "ไม่|ไหล|3|วัน");
        assert_eq!(cut(&segmenter, "รอ 65 วันแล้ว"), "รอ|65|วัน|แล้ว");
    }

    #[test]
    fn held_down_letters_are_written_once() {
        assert_eq!(normalize("ขอบคุณค่าาาา"), "ขอบคุณค่า");
        assert_eq!(normalize("Helloooo"), "hello");
        // Only the held-down run is written once, not every double letter of the text.
        assert_eq!(normalize("good soooo"), "good so");
        assert_eq!(normalize("CP-2569-0001"), "cp-2569-0001");
        assert_eq!(normalize("๑๒๓"), "123");
    }
}
