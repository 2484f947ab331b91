//! Finding known terms among a text's words, in Thai or English, despite a typo or two.
//!
//! A Thai term is found where it equals a run of whole words (`words::Segmenter`), never
//! inside a word: "งบ" is not in "ทำ|ไง|บ้าง". An English term is a phrase of whole
//! words. When terms of different owners overlap, the longer one wins ("ป้องกันการทุจริต",
//! a plan topic, swallows "ทุจริต", a report of corruption), as in dictionary-based
//! segmentation itself.

use super::words::{normalize, Script, Segmenter, Word};

/// A text prepared for finding terms in it.
pub struct Text {
    words: Vec<Word>,
    /// Which characters of the Thai block occur in the text: a term with more absent
    /// characters than its typo budget cannot be in it and is not searched for.
    thai_present: u128,
    /// The same for each word: a run of words that lacks more of a term's letters than
    /// its typo budget cannot be a typo of it, and is not compared letter by letter.
    word_masks: Vec<u128>,
    /// Each word's length in characters (counted once, not at every comparison).
    word_chars: Vec<usize>,
    /// Indices of the Latin and number words, in order: English phrases are found here.
    latin: Vec<usize>,
    /// The lengths of those words, as a set (bit `n` for `n` bytes, longer ones on bit
    /// 63): a phrase whose first word is no typo's length away from any is not searched.
    latin_lengths: u64,
}

impl Text {
    #[must_use]
    pub fn new(segmenter: &Segmenter, text: &str) -> Self {
        Self::from_words(segmenter.words(text))
    }

    #[must_use]
    pub fn from_words(words: Vec<Word>) -> Self {
        let word_masks: Vec<u128> = words.iter().map(|w| thai_mask(&w.text)).collect();
        let word_chars = words.iter().map(|w| w.text.chars().count()).collect();
        let thai_present = word_masks.iter().fold(0u128, |mask, word| mask | word);
        let latin = words
            .iter()
            .enumerate()
            .filter(|(_, w)| matches!(w.script, Script::Latin | Script::Number))
            .map(|(idx, _)| idx)
            .collect::<Vec<usize>>();
        let latin_lengths = latin
            .iter()
            .fold(0, |set, &idx| set | length_bit(words[idx].text.len()));
        Self {
            words,
            thai_present,
            word_masks,
            word_chars,
            latin,
            latin_lengths,
        }
    }

    #[must_use]
    pub fn words(&self) -> &[Word] {
        &self.words
    }

    /// The Latin-script words, in order.
    pub fn latin_words(&self) -> impl Iterator<Item = &str> {
        self.latin.iter().map(|&idx| self.words[idx].text.as_str())
    }
}

/// Where a term was found.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// Whose term it is (a concept, an intent…), as given to `TermSet::add`.
    pub owner: usize,
    /// The term as written in the configuration.
    pub term: String,
    /// The words it covers: `start..end` in `Text::words`.
    pub start: usize,
    pub end: usize,
    /// Found to the letter, or despite typos.
    pub exact: bool,
}

/// Terms, each belonging to an owner.
#[derive(Default)]
pub struct TermSet {
    terms: Vec<Term>,
    /// The Thai terms by their first letter: a word is compared only with the terms
    /// that could start there.
    thai_by_first: rustc_hash::FxHashMap<char, Vec<usize>>,
    /// The English phrases by their first word: a text's word is compared only with
    /// the phrases that could start there.
    phrases_by_first: rustc_hash::FxHashMap<String, Vec<usize>>,
    /// The terms that can be found despite a typo, in order: the search for near misses
    /// goes through these only. A Thai term of five characters or fewer bears no typo,
    /// and a phrase whose every word bears none is found exactly or not at all: the
    /// exact pass found it, or a longer term of another owner swallowed it, and that
    /// term would explain it away as a near miss too.
    typo_tolerant: Vec<usize>,
}

struct Term {
    owner: usize,
    written: String,
    form: Form,
    /// A Thai term's letters as one string, and their set: what the typo search
    /// compares runs of words with (made once, not at every search).
    joined: String,
    mask: u128,
}

enum Form {
    /// Thai (or mixed) script, normalised, without spaces: equal to a run of words.
    Thai(Vec<char>),
    /// Latin words: a phrase.
    Phrase(Vec<String>),
}

impl TermSet {
    /// Adds `term` for `owner`. A term with a Thai letter is matched against runs of
    /// words; one without is an English phrase.
    pub fn add(&mut self, owner: usize, term: &str) {
        let normal = normalize(term);
        let form = if normal.chars().any(super::is_thai) {
            Form::Thai(normal.chars().filter(|c| !c.is_whitespace()).collect())
        } else {
            Form::Phrase(
                normal
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )
        };
        let empty = match &form {
            Form::Thai(chars) => chars.is_empty(),
            Form::Phrase(words) => words.is_empty(),
        };
        if !empty {
            let idx = self.terms.len();
            match &form {
                Form::Thai(chars) => self.thai_by_first.entry(chars[0]).or_default().push(idx),
                Form::Phrase(words) => {
                    self.phrases_by_first
                        .entry(words[0].clone())
                        .or_default()
                        .push(idx);
                }
            }
            let joined: String = match &form {
                Form::Thai(chars) => chars.iter().collect(),
                Form::Phrase(_) => String::new(),
            };
            let tolerates_typos = match &form {
                Form::Thai(chars) => edit_budget(chars.len()) > 0,
                Form::Phrase(words) => words.iter().any(|w| edit_budget_latin(w.len()) > 0),
            };
            if tolerates_typos {
                self.typo_tolerant.push(idx);
            }
            self.terms.push(Term {
                owner,
                written: term.to_owned(),
                mask: thai_mask(&joined),
                joined,
                form,
            });
        }
    }

    /// Every term in `text`. With `fuzzy`, terms long enough to tolerate typos are also
    /// found one or two edits away, unless their owner was found exactly.
    #[must_use]
    pub fn find(&self, text: &Text, fuzzy: bool) -> Vec<Hit> {
        // Each term's hits, found from the words' first letters, then put in the order
        // of a pass term by term (which the rest relies on for ties).
        let mut found: Vec<(usize, Hit)> = Vec::new();
        for (start, word) in text.words.iter().enumerate() {
            let Some(first) = word.text.chars().next() else {
                continue;
            };
            for &idx in self.thai_by_first.get(&first).into_iter().flatten() {
                let term = &self.terms[idx];
                if let Form::Thai(chars) = &term.form {
                    if let Some(end) = run_equal_from(text, start, chars) {
                        found.push((idx, term.hit(start, end, true)));
                    }
                }
            }
        }
        for (at, &word_idx) in text.latin.iter().enumerate() {
            let word = text.words[word_idx].text.as_str();
            // "plans" starts the phrases of "plan" too (`word_matches`).
            let singular = word.strip_suffix('s').filter(|w| !w.is_empty());
            let candidates = [Some(word), singular]
                .into_iter()
                .flatten()
                .filter_map(|first| self.phrases_by_first.get(first))
                .flatten();
            for &idx in candidates {
                let term = &self.terms[idx];
                if let Form::Phrase(phrase) = &term.form {
                    let window = text.latin.get(at..at + phrase.len());
                    if let Some((start, end)) =
                        window.and_then(|window| window_matches(text, window, phrase, false))
                    {
                        found.push((idx, term.hit(start, end, true)));
                    }
                }
            }
        }
        found.sort_by_key(|(idx, hit)| (*idx, hit.start));
        let hits: Vec<Hit> = found.into_iter().map(|(_, hit)| hit).collect();
        // The longer of two overlapping terms of different owners wins.
        let n_chars = |hit: &Hit| -> usize { text.word_chars[hit.start..hit.end].iter().sum() };
        let swallowed: Vec<bool> = hits
            .iter()
            .map(|hit| {
                hits.iter().any(|other| {
                    other.owner != hit.owner
                        && other.start <= hit.start
                        && hit.end <= other.end
                        && n_chars(other) > n_chars(hit)
                })
            })
            .collect();
        let mut kept: Vec<Hit> = hits
            .into_iter()
            .zip(swallowed)
            .filter(|(_, swallowed)| !swallowed)
            .map(|(hit, _)| hit)
            .collect();
        if fuzzy {
            let near = self.near_misses(text, &kept);
            kept.extend(near);
        }
        kept.sort_by_key(|hit| (hit.start, hit.end, hit.owner));
        kept
    }

    fn near_misses(&self, text: &Text, exact: &[Hit]) -> Vec<Hit> {
        let mut near = Vec::new();
        for term in self.typo_tolerant.iter().map(|&idx| &self.terms[idx]) {
            if exact.iter().any(|hit| hit.owner == term.owner)
                || near.iter().any(|hit: &Hit| hit.owner == term.owner)
            {
                continue;
            }
            let found = match &term.form {
                Form::Thai(chars) => {
                    let budget = edit_budget(chars.len());
                    // Each absent letter costs an edit wherever it occurs: first by the
                    // letters' set (cheap, and most terms stop here), then letter by letter.
                    let n_absent_letters = (term.mask & !text.thai_present).count_ones() as usize;
                    let too_far = || {
                        chars
                            .iter()
                            .filter(|&&c| {
                                thai_bit(c).is_some_and(|bit| text.thai_present & bit == 0)
                            })
                            .count()
                            > budget
                    };
                    if budget == 0 || n_absent_letters > budget || too_far() {
                        None
                    } else {
                        runs_near(text, chars.len(), &term.joined, term.mask, budget)
                    }
                }
                Form::Phrase(phrase) => {
                    // A word within the budget of the first, or it with an "s".
                    let first = phrase[0].len();
                    let budget = edit_budget_latin(first);
                    let lengths = (first.saturating_sub(budget)..=first + budget.max(1))
                        .fold(0, |set, len| set | length_bit(len));
                    if text.latin_lengths & lengths == 0 {
                        None
                    } else {
                        phrase_windows(text, phrase, true).next()
                    }
                }
            };
            let Some((start, end)) = found else {
                continue;
            };
            // A near miss that an exact term explains is no typo: "ลงบประมาณ" is one
            // edit from "ปีงบประมาณ" only because it holds "งบประมาณ".
            let explained = exact
                .iter()
                .any(|hit| hit.start < end && start < hit.end && hit.owner != term.owner);
            if !explained {
                near.push(term.hit(start, end, false));
            }
        }
        near
    }
}

impl Term {
    fn hit(&self, start: usize, end: usize, exact: bool) -> Hit {
        Hit {
            owner: self.owner,
            term: self.written.clone(),
            start,
            end,
            exact,
        }
    }
}

/// The end of the run of whole words from `start` whose letters are exactly `chars`.
fn run_equal_from(text: &Text, start: usize, chars: &[char]) -> Option<usize> {
    let mut at = 0;
    for (end, word) in text.words.iter().enumerate().skip(start) {
        for c in word.text.chars() {
            if chars.get(at) != Some(&c) {
                return None;
            }
            at += 1;
        }
        if at == chars.len() {
            return Some(end + 1);
        }
    }
    None
}

/// The first run of whole words within `budget` edits of `chars` (a swap of two
/// neighbouring letters is one edit).
fn runs_near(
    text: &Text,
    n_term_chars: usize,
    term: &str,
    term_mask: u128,
    budget: usize,
) -> Option<(usize, usize)> {
    // One buffer for every run: cleared, not allocated again.
    let mut joined = String::new();
    for start in 0..text.words.len() {
        joined.clear();
        let mut n_chars = 0;
        let mut run_mask = 0u128;
        for (end, word) in text.words.iter().enumerate().skip(start) {
            joined.push_str(&word.text);
            n_chars += text.word_chars[end];
            run_mask |= text.word_masks[end];
            if n_chars > n_term_chars + budget {
                break;
            }
            // Letters of the term the run lacks: each costs at least one edit.
            let n_missing = (term_mask & !run_mask).count_ones() as usize;
            // A piece of the term is a shorter word, not a typo of it ("การประเมิน" is
            // not "ผลการประเมิน" misspelt).
            if n_chars + budget >= n_term_chars
                && n_missing <= budget
                && !term.contains(joined.as_str())
                && strsim::osa_distance(&joined, term) <= budget
            {
                return Some((start, end + 1));
            }
        }
    }
    None
}

/// A word's length in bytes as a bit of `Text::latin_lengths`.
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

/// `phrase` where it occurs among the Latin words, lazily, as word ranges of the text.
fn phrase_windows<'a>(
    text: &'a Text,
    phrase: &'a [String],
    fuzzy: bool,
) -> impl Iterator<Item = (usize, usize)> + 'a {
    // No window at all when the phrase is longer than the text's Latin words.
    let size = if phrase.is_empty() || text.latin.len() < phrase.len() {
        text.latin.len() + 1
    } else {
        phrase.len()
    };
    text.latin
        .windows(size)
        .filter_map(move |window| window_matches(text, window, phrase, fuzzy))
}

/// Whether the Latin words at `window` (indices into the text's words) are `phrase`,
/// as the word range they cover.
fn window_matches(
    text: &Text,
    window: &[usize],
    phrase: &[String],
    fuzzy: bool,
) -> Option<(usize, usize)> {
    let (&first, &last) = (window.first()?, window.last()?);
    let words_match = window.len() == phrase.len()
        && window
            .iter()
            .zip(phrase)
            .all(|(&idx, term)| word_matches(&text.words[idx].text, term, fuzzy));
    // Latin words must be adjacent in the text too (a Thai word between breaks it),
    // apart from punctuation such as the hyphen of "e-plannacc".
    let adjacent = || {
        text.words[first..=last]
            .iter()
            .all(|w| w.script != Script::Thai)
    };
    (words_match && adjacent()).then_some((first, last + 1))
}

fn word_matches(word: &str, term: &str, fuzzy: bool) -> bool {
    if word == term || word.strip_suffix('s') == Some(term) {
        return true;
    }
    if !fuzzy {
        return false;
    }
    let budget = edit_budget_latin(term.len());
    // Lengths that differ by more than the budget cannot be within it (English terms
    // are ASCII, so bytes are characters). A word that only adds or drops an ending is
    // another word, not a typo ("office", "officer").
    budget > 0
        && word.len().abs_diff(term.len()) <= budget
        && word.is_ascii()
        && !word.starts_with(term)
        && !term.starts_with(word)
        && (!term.is_ascii()
            || ((letter_set(word) ^ letter_set(term)).count_ones() as usize <= 2 * budget
                && letters_apart(word, term) <= 2 * budget))
        && strsim::osa_distance(word, term) <= budget
}

#[cfg(test)]
mod letters_apart_tests {
    use super::letters_apart;

    #[test]
    fn a_typo_is_never_ruled_out() {
        // Each edit moves at most two letters apart; a swap moves none.
        for (word, term, n_edits) in [
            ("procurement", "procurement", 0),
            ("procurment", "procurement", 1),
            ("procuremnet", "procurement", 1),
            ("prokurement", "procurement", 1),
            ("budgte", "budget", 1),
            ("oit", "eit", 1),
        ] {
            assert!(letters_apart(word, term) <= 2 * n_edits, "{word} / {term}");
        }
        assert_eq!(letters_apart("budget", "office"), 10);
    }
}

/// How many letters two ASCII words do not share, counted with repeats: an edit changes
/// this by at most two, so more than twice the budget rules out a typo before the
/// (costlier) edit distance is computed.
fn letters_apart(a: &str, b: &str) -> usize {
    let mut counts = [0i32; 128];
    for byte in a.bytes() {
        counts[usize::from(byte & 0x7f)] += 1;
    }
    for byte in b.bytes() {
        counts[usize::from(byte & 0x7f)] -= 1;
    }
    counts.iter().map(|n| n.unsigned_abs() as usize).sum()
}

/// The set of an ASCII word's letters: a letter in one word's set and not the other's is
/// at least one of `letters_apart`, so this is a cheaper first bound.
fn letter_set(word: &str) -> u128 {
    word.bytes()
        .fold(0u128, |set, byte| set | 1u128 << (byte & 0x7f))
}

/// How many typos a term of this many characters tolerates: short terms none, or
/// "แผน" would be found everywhere (Thai vowel and tone marks count as characters, so
/// Thai terms are longer than they look).
#[must_use]
pub fn edit_budget(n_chars: usize) -> usize {
    match n_chars {
        0..=5 => 0,
        6..=10 => 1,
        _ => 2,
    }
}

/// Typos an English word of this many letters tolerates: Latin letters are whole
/// letters, so a long word bears two ("corupption").
fn edit_budget_latin(n_letters: usize) -> usize {
    match n_letters {
        0..=5 => 0,
        6..=8 => 1,
        _ => 2,
    }
}

/// The Thai characters of `text` as a 128-bit set of the Thai block.
fn thai_mask(text: &str) -> u128 {
    text.chars()
        .filter_map(thai_bit)
        .fold(0u128, |mask, bit| mask | bit)
}

/// The bit of a Thai character in a 128-bit set of the Thai block (U+0E00–U+0E7F).
fn thai_bit(c: char) -> Option<u128> {
    let offset = u32::from(c).checked_sub(0x0E00)?;
    (offset < 128).then(|| 1u128 << offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners(segmenter: &Segmenter, set: &TermSet, text: &str) -> Vec<usize> {
        let mut owners: Vec<usize> = set
            .find(&Text::new(segmenter, text), true)
            .into_iter()
            .map(|hit| hit.owner)
            .collect();
        owners.dedup();
        owners
    }

    #[test]
    fn thai_terms_match_whole_words_only() {
        let segmenter = Segmenter::new(["งบ", "ไอที", "โอไอที"]);
        let mut set = TermSet::default();
        set.add(0, "งบ");
        set.add(1, "ไอที");
        set.add(2, "โอไอที");
        assert_eq!(owners(&segmenter, &set, "ทำไงบ้าง"), Vec::<usize>::new());
        assert_eq!(owners(&segmenter, &set, "คะแนนโอไอทีเท่าไหร่"), vec![2]);
        assert_eq!(owners(&segmenter, &set, "งบปี๖๔"), vec![0]);
    }

    /// Nor at the start of a longer word: "งบ" (budget) is not in "งบดุล" (a balance
    /// sheet), a word of its own.
    #[test]
    fn a_term_is_not_found_at_the_start_of_a_longer_word() {
        let segmenter = Segmenter::new(["งบ", "งบดุล"]);
        let mut set = TermSet::default();
        set.add(0, "งบ");
        assert_eq!(owners(&segmenter, &set, "ขอดูงบดุลปีนี้"), Vec::<usize>::new());
        assert_eq!(owners(&segmenter, &set, "ขอดูงบปีนี้"), vec![0]);
    }

    #[test]
    fn the_longer_of_two_overlapping_terms_wins() {
        let segmenter = Segmenter::new(["ป้องกันการทุจริต"]);
        let mut set = TermSet::default();
        set.add(0, "ทุจริต");
        set.add(1, "ป้องกันการทุจริต");
        assert_eq!(
            owners(&segmenter, &set, "มาตรการป้องกันการทุจริตมีอะไรบ้าง"),
            vec![1]
        );
        assert_eq!(owners(&segmenter, &set, "อยากแจ้งทุจริต"), vec![0]);
    }

    #[test]
    fn english_phrases_and_latin_glued_to_thai() {
        let segmenter = Segmenter::new(Vec::<String>::new());
        let mut set = TermSet::default();
        set.add(0, "ITA");
        set.add(1, "budget report");
        assert_eq!(owners(&segmenter, &set, "ใครดูแลเรื่องITAคะ"), vec![0]);
        assert_eq!(
            owners(&segmenter, &set, "who handles the budget reports?"),
            vec![1]
        );
    }

    #[test]
    fn typos_are_tolerated_in_long_terms() {
        let segmenter = Segmenter::new(["งบประมาณ", "ร้องเรียน"]);
        let mut set = TermSet::default();
        set.add(0, "งบประมาณ");
        set.add(1, "procurement");
        assert_eq!(owners(&segmenter, &set, "งบประมาน ปีนี้"), vec![0]);
        assert_eq!(owners(&segmenter, &set, "procurment plan"), vec![1]);
        // A letter more, two letters swapped, and a typo in a phrase's first word.
        assert_eq!(owners(&segmenter, &set, "procurrement plan"), vec![1]);
        assert_eq!(owners(&segmenter, &set, "porcurement"), vec![1]);
        set.add(2, "budget report");
        assert_eq!(
            owners(&segmenter, &set, "who does the budgte report"),
            vec![2]
        );
        assert_eq!(owners(&segmenter, &set, "the budgte reports"), vec![2]);
        // A phrase of short words bears no typo.
        set.add(3, "oit rank");
        assert_eq!(owners(&segmenter, &set, "oit rnak"), Vec::<usize>::new());
    }
}
