//! What a resident means by a free-text message: greeting, thanks, help, a complaint, a
//! suggestion, a corruption report, following a case, news, linking accounts, or a
//! question about the plan.
//!
//! Data-driven: the terms and examples of each intent are in `config/intents.toml`, the
//! terms of each complaint category in `config/tambon.toml`. A message is cut into
//! words (`thai::words`), the terms are found among them (`thai::terms`), and each intent
//! scores its terms (1 each, weak ones 0.5), its closest example, and for complaints
//! the words of a problem told plainly; the plan's own reading of the message
//! (`kb::Index`) counts for the plan. Codes and receipts anywhere in the text come
//! first. Pure: no I/O after loading.

use rustc_hash::FxHashSet as HashSet;

use serde::Deserialize;

use crate::config::Category;
use crate::domain::case::{CaseCode, CaseKind, Receipt};
use crate::thai::terms::{Hit, TermSet, Text};
use crate::thai::words::{normalize, Script, Segmenter, Word};

/// What a message is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Corruption,
    Follow,
    Complain,
    Suggest,
    Subscribe,
    Link,
    Plan,
    Help,
    Thanks,
    Greeting,
    /// Nothing certain.
    Unknown,
}

impl Intent {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Corruption => "corruption",
            Self::Follow => "follow",
            Self::Complain => "complain",
            Self::Suggest => "suggest",
            Self::Subscribe => "subscribe",
            Self::Link => "link",
            Self::Plan => "plan",
            Self::Help => "help",
            Self::Thanks => "thanks",
            Self::Greeting => "greeting",
            Self::Unknown => "unknown",
        }
    }

    /// The kind of case an intent files, if it files one.
    #[must_use]
    pub fn case_kind(self) -> Option<CaseKind> {
        match self {
            Self::Complain => Some(CaseKind::Complaint),
            Self::Suggest => Some(CaseKind::Suggestion),
            Self::Corruption => Some(CaseKind::Corruption),
            _ => None,
        }
    }
}

/// Weight of a term, of a weak term, of a problem word, of a category's term with a
/// problem word, and of an example as close as can be.
const TERM: f32 = 1.0;
const WEAK: f32 = 0.5;
const PROBLEM: f32 = 0.7;
const CATEGORY: f32 = 0.5;
const CATEGORY_ALONE: f32 = 0.3;
const EXAMPLE: f32 = 1.5;
/// A term found despite a typo counts this share.
const TYPO: f32 = 0.9;
/// A statement of this many content words about a category's matter leans to a complaint.
const STATEMENT: f32 = 0.6;
const STATEMENT_WORDS: usize = 4;
/// How much the plan's own reading of the message counts for the plan.
const PLAN_FOUND: f32 = 0.8;
/// An intent must score this much to win; below it, the plan answers if it can.
const THRESHOLD: f32 = 0.9;
/// An example counts only when at least this share of the words is shared.
const MIN_SIMILARITY: f32 = 0.6;
/// Content words enough to be a description even with no category named.
const MIN_DESCRIPTION_WORDS: usize = 3;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    words: WordLists,
    #[serde(rename = "intent")]
    intents: Vec<RawIntent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WordLists {
    particles: Vec<String>,
    fillers: Vec<String>,
    how: Vec<String>,
    problem: Vec<String>,
    anonymous: Vec<String>,
    question: Vec<String>,
    english: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntent {
    id: Intent,
    terms: Vec<String>,
    #[serde(default)]
    weak: Vec<String>,
    #[serde(default)]
    examples: Vec<String>,
}

/// The intents as written in `config/intents.toml`, before the segmenter exists.
pub struct Definitions {
    file: File,
}

impl Definitions {
    pub fn parse(source: &str) -> anyhow::Result<Self> {
        let file: File = toml::from_str(source)?;
        let mut seen = HashSet::default();
        for intent in &file.intents {
            anyhow::ensure!(
                intent.id != Intent::Unknown,
                "`unknown` is what no intent means"
            );
            anyhow::ensure!(
                seen.insert(intent.id),
                "intent `{}` is defined twice",
                intent.id.as_str()
            );
            anyhow::ensure!(
                !intent.terms.is_empty(),
                "intent `{}` has no terms",
                intent.id.as_str()
            );
        }
        Ok(Self { file })
    }

    /// Every term and example word, for the segmenter's word list.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        let lists = &self.file.words;
        self.file
            .intents
            .iter()
            .flat_map(|i| i.terms.iter().chain(&i.weak))
            .chain(&lists.particles)
            .chain(&lists.fillers)
            .chain(&lists.how)
            .chain(&lists.problem)
            .chain(&lists.anonymous)
            .chain(&lists.question)
            .map(String::as_str)
    }
}

/// How a message was read.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub intent: Intent,
    /// A case code written anywhere in the message.
    pub code: Option<CaseCode>,
    /// A receipt (16 digits) written anywhere in the message.
    pub receipt: Option<Receipt>,
    /// Whether the message tells the matter itself (then it is the case's description).
    pub describes: bool,
    /// The category its words suggest, for the kind of case the intent files.
    pub category: Option<String>,
    /// Whether it asks to report without a name.
    pub asks_anonymity: bool,
    /// Whether it is a question rather than a statement.
    pub asks: bool,
    /// Every intent that scored, best first.
    pub scores: Vec<(Intent, f32)>,
    /// Why: the terms and examples that counted.
    pub reasons: Vec<String>,
}

impl Reading {
    /// The best-scoring intents that start something, after the winner: what to offer
    /// when nothing is certain.
    #[must_use]
    pub fn likely_actions(&self, n: usize) -> Vec<Intent> {
        let actionable = [
            Intent::Complain,
            Intent::Suggest,
            Intent::Corruption,
            Intent::Follow,
            Intent::Plan,
        ];
        let mut found: Vec<Intent> = self
            .scores
            .iter()
            .filter(|(intent, score)| *score > 0.0 && actionable.contains(intent))
            .map(|(intent, _)| *intent)
            .collect();
        for fallback in [Intent::Plan, Intent::Complain, Intent::Suggest] {
            if !found.contains(&fallback) {
                found.push(fallback);
            }
        }
        found.truncate(n);
        found
    }
}

/// The classifier, built once at start-up.
pub struct Classifier {
    segmenter: Segmenter,
    /// Owner `2 × i` is intent `i`'s terms, `2 × i + 1` its weak terms.
    terms: TermSet,
    intents: Vec<Intent>,
    /// Per intent: its examples as sets of content words.
    examples: Vec<Vec<(String, HashSet<String>)>>,
    particles: HashSet<String>,
    fillers: HashSet<String>,
    how: TermSet,
    problem: TermSet,
    anonymous: TermSet,
    question: TermSet,
    english: HashSet<String>,
    /// Terms of each category (owner: index in `categories`).
    category_terms: TermSet,
    categories: Vec<Category>,
}

impl Classifier {
    #[must_use]
    pub fn new(definitions: Definitions, categories: &[Category], segmenter: Segmenter) -> Self {
        let File { words, intents } = definitions.file;
        let mut terms = TermSet::default();
        let mut ids = Vec::with_capacity(intents.len());
        let mut english: HashSet<String> = words.english.iter().map(|w| normalize(w)).collect();
        for (idx, intent) in intents.iter().enumerate() {
            ids.push(intent.id);
            for term in &intent.terms {
                terms.add(2 * idx, term);
            }
            for term in &intent.weak {
                terms.add(2 * idx + 1, term);
            }
            for term in intent.terms.iter().chain(&intent.weak) {
                let term = normalize(term);
                if term.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') {
                    english.extend(term.split_whitespace().map(str::to_owned));
                }
            }
        }
        let set_of =
            |list: &[String]| -> HashSet<String> { list.iter().map(|w| normalize(w)).collect() };
        let term_set = |list: &[String]| -> TermSet {
            let mut set = TermSet::default();
            for term in list {
                set.add(0, term);
            }
            set
        };
        let mut category_terms = TermSet::default();
        for (idx, category) in categories.iter().enumerate() {
            for term in &category.terms {
                category_terms.add(idx, term);
            }
        }
        let particles = set_of(&words.particles);
        let fillers = set_of(&words.fillers);
        let mut classifier = Self {
            segmenter,
            terms,
            intents: ids,
            examples: Vec::new(),
            particles,
            fillers,
            how: term_set(&words.how),
            problem: term_set(&words.problem),
            anonymous: term_set(&words.anonymous),
            question: term_set(&words.question),
            english,
            category_terms,
            categories: categories.to_vec(),
        };
        classifier.examples = intents
            .iter()
            .map(|intent| {
                intent
                    .examples
                    .iter()
                    .map(|example| {
                        let words = classifier.segmenter.words(example);
                        (example.clone(), classifier.content_words(&words))
                    })
                    .collect()
            })
            .collect();
        classifier
    }

    /// Reads `text`, already cut into words as `prepared`. `plan_found` says whether the
    /// plan has an answer to it.
    #[must_use]
    pub fn read_prepared(&self, text: &str, prepared: &Text, plan_found: bool) -> Reading {
        let code = find_case_code(text);
        let receipt = find_receipt(text);
        let words = prepared.words();
        let hits = self.terms.find(prepared, true);
        // Problem words are short: a typo of one is another word ("ไม่ไหว", "ไม่ไหล").
        let problem_hits = self.problem.find(prepared, false);
        let category_hits = self.category_terms.find(prepared, true);
        let how_to = !self.how.find(prepared, false).is_empty();
        let asks_anonymity = !self.anonymous.find(prepared, false).is_empty();
        let asks = text.contains('?') || !self.question.find(prepared, false).is_empty();
        let content = self.content_words(words);

        let mut reasons = Vec::new();
        let mut scores: Vec<(Intent, f32)> = self.intents.iter().map(|i| (*i, 0.0)).collect();
        // Each stretch of words counts once for an intent: its longest term there, once
        // however often it is written ("ถึงไหนแล้ว" is not also "ถึงไหน").
        let mut counted: HashSet<(usize, &str)> = HashSet::default();
        for hit in &hits {
            let intent_idx = hit.owner / 2;
            let inside_longer = hits.iter().any(|other| {
                other.owner / 2 == intent_idx
                    && other.start <= hit.start
                    && hit.end <= other.end
                    && (other.end - other.start > hit.end - hit.start || other.owner < hit.owner)
            });
            if inside_longer || !counted.insert((intent_idx, hit.term.as_str())) {
                continue;
            }
            let weight = if hit.owner % 2 == 0 { TERM } else { WEAK };
            let weight = if hit.exact { weight } else { weight * TYPO };
            scores[intent_idx].1 += weight;
            reasons.push(format!(
                "{} +{weight:.1} ← \"{}\"{}",
                self.intents[intent_idx].as_str(),
                hit.term,
                if hit.exact { "" } else { " (typo)" }
            ));
        }
        for (intent_idx, examples) in self.examples.iter().enumerate() {
            let best = examples
                .iter()
                .map(|(example, example_words)| (example, similarity(&content, example_words)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((example, sim)) = best.filter(|(_, sim)| *sim >= MIN_SIMILARITY) {
                let weight = EXAMPLE * sim;
                scores[intent_idx].1 += weight;
                reasons.push(format!(
                    "{} +{weight:.1} ← example \"{example}\"",
                    self.intents[intent_idx].as_str()
                ));
            }
        }
        // A suggestion often names the problem it would solve: its words then do not
        // make it a complaint.
        let suggests = self
            .intents
            .iter()
            .position(|i| *i == Intent::Suggest)
            .is_some_and(|idx| hits.iter().any(|hit| hit.owner == 2 * idx));
        let has_problem = !problem_hits.is_empty() && !suggests;
        let has_category = !category_hits.is_empty();
        let mut add = |intent: Intent, weight: f32, why: String| {
            if let Some(entry) = scores.iter_mut().find(|(i, _)| *i == intent) {
                entry.1 += weight;
                reasons.push(format!("{} +{weight:.1} ← {why}", intent.as_str()));
            }
        };
        if has_problem {
            add(
                Intent::Complain,
                PROBLEM,
                format!("a problem \"{}\"", problem_hits[0].term),
            );
        }
        if has_category {
            let term = &category_hits[0].term;
            if has_problem {
                add(
                    Intent::Complain,
                    CATEGORY,
                    format!("a category's \"{term}\""),
                );
            } else {
                add(
                    Intent::Complain,
                    CATEGORY_ALONE,
                    format!("a category's \"{term}\""),
                );
                add(
                    Intent::Suggest,
                    CATEGORY_ALONE,
                    format!("a category's \"{term}\""),
                );
                // A statement about a category's matter, not a question: most likely
                // something wrong with it.
                if content.len() >= STATEMENT_WORDS && !how_to && !asks && !suggests {
                    add(
                        Intent::Complain,
                        STATEMENT,
                        "a statement about it".to_owned(),
                    );
                }
            }
        }
        if asks_anonymity {
            add(
                Intent::Corruption,
                WEAK,
                "asks to stay anonymous".to_owned(),
            );
        }
        if plan_found {
            add(
                Intent::Plan,
                PLAN_FOUND,
                "the plan has an answer".to_owned(),
            );
        }
        // Best first; a tie goes to the intent listed first in the file.
        let order = |intent: &Intent| self.intents.iter().position(|i| i == intent);
        scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(order(&a.0).cmp(&order(&b.0))));

        let mut intent = match scores.first() {
            Some((intent, score)) if *score >= THRESHOLD => *intent,
            _ if plan_found => Intent::Plan,
            _ => Intent::Unknown,
        };
        if code.is_some() || receipt.is_some() {
            intent = Intent::Follow;
            reasons.push("follow ← a case code or receipt in the text".to_owned());
        }
        let kind = intent.case_kind();
        let category = kind.and_then(|kind| self.guess_category(kind, &category_hits));
        // What is left once the intent's own words, particles and fillers are gone.
        let covered: HashSet<usize> = hits
            .iter()
            .chain(&problem_hits)
            .flat_map(|hit| hit.start..hit.end)
            .collect();
        let n_content = words
            .iter()
            .enumerate()
            .filter(|(idx, word)| !covered.contains(idx) && self.is_content(word))
            .count();
        let describes =
            kind.is_some() && !how_to && (has_problem || n_content >= MIN_DESCRIPTION_WORDS);
        Reading {
            intent,
            code,
            receipt,
            describes,
            category,
            asks_anonymity,
            asks,
            scores: scores.into_iter().filter(|(_, s)| *s > 0.0).collect(),
            reasons,
        }
    }

    /// Whether `text` is a clear English sentence: at least `min_words` English words
    /// and no Thai. A short Latin string, a code or an acronym is not.
    #[must_use]
    pub fn is_english(&self, text: &str, min_words: usize) -> bool {
        if text.chars().any(crate::thai::is_thai) {
            return false;
        }
        let normal = normalize(text);
        let words: Vec<&str> = normal
            .split(|c: char| !c.is_ascii_alphabetic() && c != '\'')
            .filter(|w| !w.is_empty())
            .collect();
        let known = words
            .iter()
            .filter(|w| {
                self.english.contains(**w) || self.english.contains(w.trim_end_matches('s'))
            })
            .count();
        known >= min_words && known * 3 >= words.len()
    }

    /// A human-readable account of the reading, for `tambon kb ask --explain`.
    #[must_use]
    pub fn explain(&self, reading: &Reading) -> String {
        let mut lines = vec![format!("intent: {}", reading.intent.as_str())];
        let scores: Vec<String> = reading
            .scores
            .iter()
            .map(|(intent, score)| format!("{} {score:.1}", intent.as_str()))
            .collect();
        lines.push(format!("scores: {}", scores.join(", ")));
        lines.extend(reading.reasons.iter().map(|r| format!("  {r}")));
        if let Some(category) = &reading.category {
            lines.push(format!("category: {category}"));
        }
        lines.push(format!(
            "describes the matter: {}; asks to stay anonymous: {}",
            reading.describes, reading.asks_anonymity
        ));
        lines.join("\n")
    }

    /// The category of `kind` whose terms `text` names most.
    #[must_use]
    pub fn guess_category_of(&self, kind: CaseKind, text: &str) -> Option<String> {
        let prepared = Text::new(&self.segmenter, text);
        self.guess_category(kind, &self.category_terms.find(&prepared, true))
    }

    fn guess_category(&self, kind: CaseKind, hits: &[Hit]) -> Option<String> {
        let mut counts: Vec<(usize, usize)> = Vec::new();
        for hit in hits {
            if !self.categories[hit.owner].kinds.contains(&kind) {
                continue;
            }
            match counts.iter_mut().find(|(idx, _)| *idx == hit.owner) {
                Some(entry) => entry.1 += 1,
                None => counts.push((hit.owner, 1)),
            }
        }
        // Most terms found wins; on a tie, the category listed first.
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        counts
            .first()
            .map(|(idx, _)| self.categories[*idx].id.clone())
    }

    fn is_content(&self, word: &Word) -> bool {
        matches!(word.script, Script::Thai | Script::Latin | Script::Number)
            && !self.particles.contains(&word.text)
            && !self.fillers.contains(&word.text)
    }

    fn content_words(&self, words: &[Word]) -> HashSet<String> {
        words
            .iter()
            .filter(|w| self.is_content(w))
            .map(|w| w.text.clone())
            .collect()
    }
}

/// How alike two sets of words are (Jaccard).
fn similarity(a: &HashSet<String>, b: &HashSet<String>) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a.intersection(b).count();
    shared as f32 / (a.len() + b.len() - shared) as f32
}

/// A case code anywhere in the text: `ติดตามเรื่อง cp-๒๕๖๙-๐๐๐๑ค่ะ`.
#[must_use]
pub fn find_case_code(text: &str) -> Option<CaseCode> {
    let ascii = crate::thai::normalize_digits(text).to_ascii_uppercase();
    let chars: Vec<char> = ascii.chars().collect();
    for start in 0..chars.len() {
        if start > 0 && chars[start - 1].is_ascii_alphabetic() {
            continue;
        }
        if !chars[start].is_ascii_alphabetic() {
            continue;
        }
        // Prefix, separator, year, separator, number: take what can be a code and let
        // `CaseCode::parse` decide.
        let mut end = start;
        let mut n_groups = 0;
        let mut in_group = false;
        while end < chars.len() {
            let c = chars[end];
            let separator = matches!(c, '-' | ' ' | '/');
            if c.is_ascii_alphanumeric() {
                if !in_group {
                    n_groups += 1;
                    in_group = true;
                }
            } else if separator {
                if n_groups >= 3 {
                    break;
                }
                in_group = false;
            } else {
                break;
            }
            end += 1;
        }
        let candidate: String = chars[start..end].iter().collect();
        if let Some(code) = CaseCode::parse(candidate.trim()) {
            return Some(code);
        }
    }
    None
}

/// A receipt anywhere in the text: sixteen digits, alone or in groups with spaces or
/// dashes.
#[must_use]
pub fn find_receipt(text: &str) -> Option<Receipt> {
    let ascii = crate::thai::normalize_digits(text);
    let mut run = String::new();
    for c in ascii.chars().chain(std::iter::once('.')) {
        if c.is_ascii_digit() || c == ' ' || c == '-' {
            run.push(c);
            continue;
        }
        if let Some(receipt) = Receipt::parse(run.trim_matches([' ', '-'])) {
            return Some(receipt);
        }
        run.clear();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_found_inside_a_sentence() {
        let code = find_case_code("ติดตามเรื่อง CP-2569-0001 ค่ะ").unwrap();
        assert_eq!(code.to_string(), "CP-2569-0001");
        let code = find_case_code("เรื่องcp-๒๕๖๙-๐๐๐๑ถึงไหนแล้ว").unwrap();
        assert_eq!(code.to_string(), "CP-2569-0001");
        assert!(find_case_code("CP-2569").is_none());
        assert!(find_case_code("ITA 2563").is_none());
    }

    #[test]
    fn a_receipt_is_found_inside_a_sentence() {
        let receipt = find_receipt("ใบรับ 1234 5678 9012 3456 ค่ะ").unwrap();
        assert_eq!(receipt.digits(), "1234567890123456");
        assert!(find_receipt("โทร 0812345678").is_none());
    }
}
