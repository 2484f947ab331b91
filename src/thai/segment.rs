//! Thai word segmentation: kham-core's newmm, with our own words found by their first
//! letter.
//!
//! kham-core's `Tokenizer` takes words missing from its list as an overlay that it
//! compares, whole, with the text at every position: with our ~475 words, most sharing
//! their first two bytes, that comparison was the largest single cost of understanding
//! a message (11% of the server's CPU at c=64 in `benches/line_webhook`, issue 15), and
//! the crate offers no other way to add words short of rebuilding its trie (2 s).
//!
//! `Lexicon::segment` is kham-core 0.8's `Tokenizer::segment` (MIT OR Apache-2.0) step
//! for step, built from the crate's public parts (its pre-tokenizer, Thai character
//! clusters, trie and frequencies): Thai runs are cut at cluster boundaries by a forward
//! pass that prefers, in order, fewer unknown pieces, fewer pieces, more dictionary
//! words, and a higher corpus frequency. The one change is where the extra words come
//! from: a table by first letter instead of a scan. A test checks that it cuts texts
//! exactly as kham-core's tokenizer with the same overlay does.

use kham_core::dict::Dict;
use kham_core::freq::FreqMap;
use kham_core::TokenKind;
use rustc_hash::FxHashMap;

/// The built-in word list and frequencies, and our extra words.
pub struct Lexicon {
    dict: Dict,
    freq: FreqMap,
    /// Words the built-in list lacks, by their first letter.
    extra_by_first: FxHashMap<char, Vec<Box<str>>>,
}

/// A piece of a cut text: a Thai word (`Thai`), a run of Thai letters no word of the
/// list covers (`Unknown`), or a run of another script (Latin, numbers, punctuation…).
/// White space is left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece<'t> {
    pub text: &'t str,
    pub kind: TokenKind,
}

impl Lexicon {
    /// kham-core's built-in list with `extra_words` (one a line, as kham-core's
    /// overlay reads them: trimmed, blank lines and `#` comments skipped).
    #[must_use]
    pub fn with_extra_words(extra_words: &str) -> Self {
        let dict = kham_core::dict::builtin_dict();
        let mut extra_by_first: FxHashMap<char, Vec<Box<str>>> = FxHashMap::default();
        for word in extra_words.lines().map(str::trim) {
            if word.is_empty() || word.starts_with('#') || dict.contains(word) {
                continue;
            }
            let Some(first) = word.chars().next() else {
                continue;
            };
            let words = extra_by_first.entry(first).or_default();
            if !words.iter().any(|known| &**known == word) {
                words.push(word.into());
            }
        }
        Self {
            dict,
            freq: FreqMap::builtin(),
            extra_by_first,
        }
    }

    /// `text` cut into pieces, in order.
    #[must_use]
    pub fn segment<'t>(&self, text: &'t str) -> Vec<Piece<'t>> {
        let mut pieces = Vec::new();
        for token in kham_core::pre_tokenizer::pre_tokenize(text) {
            match token.kind {
                TokenKind::Thai => self.segment_thai(token.text, &mut pieces),
                TokenKind::Whitespace => {}
                kind => pieces.push(Piece {
                    text: token.text,
                    kind,
                }),
            }
        }
        pieces
    }

    /// A run of Thai letters cut at the best path through its cluster boundaries.
    fn segment_thai<'t>(&self, run: &'t str, pieces: &mut Vec<Piece<'t>>) {
        let bounds = kham_core::tcc::tcc_boundaries(run);
        if bounds.len() <= 1 {
            return;
        }
        let n = bounds.len();
        let mut best: Vec<Option<Score>> = vec![None; n];
        let mut from = vec![0usize; n];
        let mut is_word = vec![false; n];
        best[0] = Some(Score::default());
        // The lengths of the words that start at a boundary: one buffer for the run.
        let mut word_lens: Vec<usize> = Vec::new();
        for i in 0..n - 1 {
            let Some(score) = best[i] else {
                continue;
            };
            let at = bounds[i];
            let rest = &run[at..];
            word_lens.clear();
            word_lens.extend(self.dict.prefixes(rest).iter().map(|word| word.len()));
            let first = rest.chars().next();
            for word in first
                .and_then(|first| self.extra_by_first.get(&first))
                .into_iter()
                .flatten()
            {
                if rest.starts_with(&**word) && !word_lens.contains(&word.len()) {
                    word_lens.push(word.len());
                }
            }
            for &len in &word_lens {
                if let Ok(j) = bounds.binary_search(&(at + len)) {
                    let candidate = Some(score.word(self.freq.get(&rest[..len])));
                    if candidate > best[j] {
                        best[j] = candidate;
                        from[j] = i;
                        is_word[j] = true;
                    }
                }
            }
            // Else one cluster, as an unknown piece.
            let candidate = Some(score.unknown());
            if candidate > best[i + 1] {
                best[i + 1] = candidate;
                from[i + 1] = i;
                is_word[i + 1] = false;
            }
        }
        let mut path = vec![n - 1];
        while let Some(&at) = path.last().filter(|&&at| at != 0) {
            path.push(from[at]);
        }
        path.reverse();
        for step in path.windows(2) {
            pieces.push(Piece {
                text: &run[bounds[step[0]]..bounds[step[1]]],
                kind: if is_word[step[1]] {
                    TokenKind::Thai
                } else {
                    TokenKind::Unknown
                },
            });
        }
    }
}

/// A path's score, compared field by field in this order (kham-core's `DpScore`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Score {
    neg_unknowns: i32,
    neg_pieces: i32,
    words: i32,
    frequency: u64,
}

impl Score {
    fn word(self, frequency: u32) -> Self {
        Self {
            neg_pieces: self.neg_pieces - 1,
            words: self.words + 1,
            frequency: self.frequency + u64::from(frequency),
            ..self
        }
    }

    fn unknown(self) -> Self {
        Self {
            neg_unknowns: self.neg_unknowns - 1,
            neg_pieces: self.neg_pieces - 1,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Thai words quoted in the repository's vocabulary and intents: the extra words
    /// the bot really gives the segmenter (most of them missing from kham-core's list).
    fn our_words() -> String {
        let config = [
            include_str!("../../config/vocabulary.toml"),
            include_str!("../../config/intents.toml"),
        ];
        let mut words = String::new();
        for quoted in config.iter().flat_map(|c| c.split('"').skip(1).step_by(2)) {
            if quoted.chars().any(super::super::is_thai) && !quoted.contains(char::is_whitespace) {
                words.push_str(quoted);
                words.push('\n');
            }
        }
        words
    }

    #[test]
    fn texts_are_cut_exactly_as_kham_cores_tokenizer_cuts_them() {
        let extra = our_words();
        assert!(extra.lines().count() > 200, "the vocabulary was read");
        let ours = Lexicon::with_extra_words(&extra);
        let kham = kham_core::Tokenizer::builder().dict_merge(&extra).build();
        let corpus = include_str!("../../tests/data/resident_messages.txt");
        let messages = corpus
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split('|').next());
        // The words themselves and the residents' messages, raw and normalised.
        let mut n_compared = 0;
        for text in extra.lines().chain(messages) {
            let normal = super::super::words::normalize(text);
            for text in [text, normal.as_str()] {
                let expected: Vec<Piece> = kham
                    .segment(text)
                    .into_iter()
                    .map(|token| Piece {
                        text: token.text,
                        kind: token.kind,
                    })
                    .collect();
                assert_eq!(ours.segment(text), expected, "{text}");
                n_compared += 1;
            }
        }
        assert!(n_compared > 500);
    }
}
