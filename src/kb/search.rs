//! Finding the knowledge base's items from a resident's own words.
//!
//! Thai is written without spaces between words, so instead of splitting a question into
//! words we look for the terms of a controlled vocabulary (`config/vocabulary.toml`) inside
//! it: exact substrings first, then approximate ones (one or two edits) to tolerate typos.
//! English questions are split into words and matched the same way, word by word. Each
//! concept groups Thai and English synonyms, so a question in either language finds the
//! same items. Items are ranked by the concepts they share with the question, each
//! weighted by how rare it is among the items (inverse document frequency).

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

use crate::kb::{Item, KnowledgeBase};

/// Concepts that say what kind of answer is wanted rather than what it is about.
const PROGRESS: &str = "progress";
const SCORE: &str = "score";
const RESPONSIBLE: &str = "responsible";
/// A question longer than this is cut before matching: nobody asks about a measure in an
/// essay, and approximate matching costs time in the length of the text.
const MAX_QUERY_CHARS: usize = 300;
/// An item must score at least this share of the best item's score to be shown too.
const RELATIVE_CUTOFF: f32 = 0.5;
const MAX_ITEMS: usize = 3;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VocabularyFile {
    #[serde(rename = "concept")]
    concepts: Vec<RawConcept>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConcept {
    id: String,
    #[serde(default)]
    th: Vec<String>,
    #[serde(default)]
    en: Vec<String>,
}

struct Concept {
    id: String,
    /// Thai (or any script) terms, lower-cased, spaces removed.
    compact_terms: Vec<Vec<char>>,
    /// English phrases as lower-case words.
    phrases: Vec<Vec<String>>,
}

/// What a question asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// Scores of these assessments (all when the question names none).
    Scores(Vec<String>),
    /// These items, best first.
    Items(Vec<String>),
    /// What this division is responsible for.
    Division {
        division: String,
        items: Vec<String>,
    },
    /// The progress of every item.
    Overview,
    NotFound,
}

/// The search index over the knowledge base.
pub struct Index {
    concepts: Vec<Concept>,
    /// For each item (in knowledge-base order): concept index → weight.
    item_concepts: Vec<HashMap<usize, f32>>,
    item_ids: Vec<String>,
    item_assessments: Vec<String>,
    item_divisions: Vec<Vec<String>>,
    idf: Vec<f32>,
    /// Concept index of each assessment id (`iit`, `eit`, `oit`), if the vocabulary has it.
    assessment_concepts: Vec<(String, usize)>,
    /// Concept index of each division id.
    division_concepts: Vec<(String, usize)>,
}

impl Index {
    /// Builds the index from the vocabulary file. `divisions` are `(id, Thai name,
    /// English name)`: their names become concepts too.
    pub fn load(
        vocabulary: &Path,
        kb: &KnowledgeBase,
        divisions: &[(&str, &str, &str)],
    ) -> anyhow::Result<Self> {
        let source = std::fs::read_to_string(vocabulary)
            .with_context(|| format!("cannot read the vocabulary {}", vocabulary.display()))?;
        Self::build(&source, kb, divisions)
            .with_context(|| format!("invalid vocabulary {}", vocabulary.display()))
    }

    pub fn build(
        vocabulary_source: &str,
        kb: &KnowledgeBase,
        divisions: &[(&str, &str, &str)],
    ) -> anyhow::Result<Self> {
        let file: VocabularyFile = toml::from_str(vocabulary_source)?;
        let mut concepts: Vec<Concept> = Vec::with_capacity(file.concepts.len());
        for raw in file.concepts {
            anyhow::ensure!(
                concepts.iter().all(|c| c.id != raw.id),
                "concept `{}` is defined twice",
                raw.id
            );
            concepts.push(Concept::new(raw.id, &raw.th, &raw.en));
        }
        let mut division_concepts = Vec::new();
        for (id, th, en) in divisions {
            let th_name = th.trim_end_matches('ฯ').to_owned();
            let en_name = en.to_lowercase();
            let mut en_terms = vec![en_name.clone()];
            // "Finance Division" is asked about as "finance" too.
            let short: Vec<&str> = en_name
                .split_whitespace()
                .filter(|w| !matches!(*w, "division" | "office" | "of" | "the"))
                .collect();
            if !short.is_empty() {
                en_terms.push(short.join(" "));
            }
            // The vocabulary may already know the division by other names: merge them.
            let extra = Concept::new((*id).to_owned(), &[th_name], &en_terms);
            if let Some(idx) = concepts.iter().position(|c| c.id == *id) {
                concepts[idx].compact_terms.extend(extra.compact_terms);
                concepts[idx].phrases.extend(extra.phrases);
                division_concepts.push(((*id).to_owned(), idx));
            } else {
                division_concepts.push(((*id).to_owned(), concepts.len()));
                concepts.push(extra);
            }
        }
        let assessment_concepts = kb
            .assessments
            .iter()
            .filter_map(|a| {
                let idx = concepts.iter().position(|c| c.id == a.id)?;
                Some((a.id.clone(), idx))
            })
            .collect();

        let item_concepts: Vec<HashMap<usize, f32>> = kb
            .items
            .iter()
            .map(|item| item_weights(&concepts, kb, item))
            .collect();
        let n_items = item_concepts.len().max(1) as f32;
        let idf = (0..concepts.len())
            .map(|idx| {
                let df = item_concepts
                    .iter()
                    .filter(|w| w.contains_key(&idx))
                    .count();
                if df == 0 {
                    0.0
                } else {
                    (1.0 + n_items / df as f32).ln()
                }
            })
            .collect();
        Ok(Self {
            concepts,
            item_concepts,
            item_ids: kb.items.iter().map(|i| i.id.clone()).collect(),
            item_assessments: kb.items.iter().map(|i| i.assessment.clone()).collect(),
            item_divisions: kb.items.iter().map(|i| i.divisions.clone()).collect(),
            idf,
            assessment_concepts,
            division_concepts,
        })
    }

    /// What the question asks for.
    #[must_use]
    pub fn answer(&self, question: &str) -> Answer {
        let query = Query::new(question);
        let found = find_concepts(&self.concepts, &query, true);
        let has = |id: &str| {
            self.concepts
                .iter()
                .position(|c| c.id == id)
                .is_some_and(|idx| found.contains_key(&idx))
        };
        let assessments: Vec<String> = self
            .assessment_concepts
            .iter()
            .filter(|(_, idx)| found.contains_key(idx))
            .map(|(id, _)| id.clone())
            .collect();
        let division = self
            .division_concepts
            .iter()
            .find(|(_, idx)| found.contains_key(idx))
            .map(|(id, _)| id.clone());
        let special: Vec<usize> = self
            .assessment_concepts
            .iter()
            .chain(&self.division_concepts)
            .map(|(_, idx)| *idx)
            .collect();
        let topical: Vec<(usize, f32)> = found
            .iter()
            .filter(|(idx, _)| {
                !special.contains(idx)
                    && ![PROGRESS, SCORE, RESPONSIBLE].contains(&self.concepts[**idx].id.as_str())
            })
            .map(|(idx, conf)| (*idx, *conf))
            .collect();

        if has(SCORE) {
            return Answer::Scores(assessments);
        }
        if topical.is_empty() {
            if let Some(division) = division {
                let items = self.items_where(|i| self.item_divisions[i].contains(&division));
                return Answer::Division { division, items };
            }
            if !assessments.is_empty() {
                return Answer::Items(
                    self.items_where(|i| assessments.contains(&self.item_assessments[i])),
                );
            }
            if has(PROGRESS) {
                return Answer::Overview;
            }
            return Answer::NotFound;
        }

        let mut ranked: Vec<(usize, f32)> = (0..self.item_ids.len())
            .map(|item_idx| {
                let weights = &self.item_concepts[item_idx];
                let score = topical
                    .iter()
                    .filter_map(|(idx, conf)| weights.get(idx).map(|w| w * conf * self.idf[*idx]))
                    .sum();
                (item_idx, score)
            })
            .filter(|(_, score)| *score > 0.0)
            .collect();
        // Naming an assessment or a division narrows the answer, unless nothing is left.
        let narrowed: Vec<(usize, f32)> = ranked
            .iter()
            .copied()
            .filter(|(i, _)| {
                (assessments.is_empty() || assessments.contains(&self.item_assessments[*i]))
                    && division
                        .as_ref()
                        .is_none_or(|d| self.item_divisions[*i].contains(d))
            })
            .collect();
        if !narrowed.is_empty() {
            ranked = narrowed;
        }
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let Some(&(_, best)) = ranked.first() else {
            return Answer::NotFound;
        };
        Answer::Items(
            ranked
                .into_iter()
                .take_while(|(_, score)| *score >= best * RELATIVE_CUTOFF)
                .take(MAX_ITEMS)
                .map(|(i, _)| self.item_ids[i].clone())
                .collect(),
        )
    }

    /// Which concepts the question mentions and how each item scores: for tuning the
    /// vocabulary (`tambon kb ask --explain`).
    #[must_use]
    pub fn explain(&self, question: &str) -> String {
        let found = find_concepts(&self.concepts, &Query::new(question), true);
        let mut lines: Vec<String> = found
            .iter()
            .map(|(idx, conf)| {
                format!(
                    "concept {} ({conf:.1}, idf {:.2})",
                    self.concepts[*idx].id, self.idf[*idx]
                )
            })
            .collect();
        lines.sort();
        for (item_idx, weights) in self.item_concepts.iter().enumerate() {
            let shared: Vec<String> = found
                .keys()
                .filter_map(|idx| {
                    weights
                        .get(idx)
                        .map(|w| format!("{}×{w:.1}", self.concepts[*idx].id))
                })
                .collect();
            lines.push(format!(
                "item {}: {}",
                self.item_ids[item_idx],
                shared.join(" ")
            ));
        }
        lines.join("\n")
    }

    fn items_where(&self, keep: impl Fn(usize) -> bool) -> Vec<String> {
        (0..self.item_ids.len())
            .filter(|i| keep(*i))
            .map(|i| self.item_ids[i].clone())
            .collect()
    }
}

/// How strongly each concept describes an item: its own text counts fully, its
/// assessment's indicator (for OIT, "การป้องกันการทุจริต") a little.
fn item_weights(concepts: &[Concept], kb: &KnowledgeBase, item: &Item) -> HashMap<usize, f32> {
    let mut own = Vec::new();
    for text in item.weaknesses.iter().chain(&item.guidelines) {
        own.push(text);
    }
    for measure in &item.measures {
        own.push(&measure.name);
        own.extend(&measure.details);
    }
    let own_th = Query::new_unbounded(
        &own.iter()
            .map(|t| t.th.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    );
    let own_en = Query::new_unbounded(
        &own.iter()
            .map(|t| t.en.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    );
    let indicator = kb
        .assessment(&item.assessment)
        .map(|a| Query::new_unbounded(&format!("{} {}", a.indicator_th, a.indicator_en)));

    let mut weights = HashMap::new();
    if let Some(indicator) = &indicator {
        for idx in find_concepts(concepts, indicator, false).into_keys() {
            weights.insert(idx, 0.5);
        }
    }
    for text in [&own_th, &own_en] {
        for idx in find_concepts(concepts, text, false).into_keys() {
            weights.insert(idx, 1.0);
        }
    }
    weights
}

/// The concepts a text mentions, with the confidence of each: 1.0 when found to the
/// letter, 0.8 when found despite typos (only with `fuzzy`).
///
/// Thai terms are matched longest first: a term found only inside a longer term of
/// another concept does not count ("งบประมาณ" inside "ปีงบประมาณ" is a date, not the
/// budget), as in dictionary-based Thai word segmentation.
fn find_concepts(concepts: &[Concept], query: &Query, fuzzy: bool) -> HashMap<usize, f32> {
    let mut spans: Vec<(usize, usize, usize)> = Vec::new();
    for (idx, concept) in concepts.iter().enumerate() {
        for term in &concept.compact_terms {
            spans.extend(
                occurrences(&query.compact, term).map(|start| (start, start + term.len(), idx)),
            );
        }
    }
    let swallowed = |&(start, end, idx): &(usize, usize, usize)| {
        spans.iter().any(|&(other_start, other_end, other_idx)| {
            other_idx != idx
                && other_start <= start
                && end <= other_end
                && other_end - other_start > end - start
        })
    };
    let mut found = HashMap::new();
    let mut fuzzy_found = Vec::new();
    for span in &spans {
        if !swallowed(span) {
            found.insert(span.2, 1.0);
        }
    }
    for (idx, concept) in concepts.iter().enumerate() {
        if found.contains_key(&idx) {
            continue;
        }
        if concept
            .phrases
            .iter()
            .any(|phrase| phrase_in(&query.words, phrase, false))
        {
            found.insert(idx, 1.0);
        } else if fuzzy && !spans.iter().any(|span| span.2 == idx) && concept.fuzzy_in(query) {
            fuzzy_found.push(idx);
        }
    }
    // A near miss that another concept's exact term explains is no typo: "ลงบประมาณ" is
    // one edit from "ปีงบประมาณ" only because it holds "งบประมาณ".
    for idx in fuzzy_found {
        let explained = concepts[idx].compact_terms.iter().any(|term| {
            found.keys().any(|&other| {
                concepts[other].compact_terms.iter().any(|exact| {
                    occurrences(&query.compact, exact).next().is_some()
                        && occurrences(term, exact).next().is_some()
                })
            })
        });
        if !explained {
            found.insert(idx, 0.8);
        }
    }
    found
}

/// A text prepared for matching: Thai digits made ASCII, lower case, and two views of it.
struct Query {
    /// Without any white space: Thai words are found inside it.
    compact: Vec<char>,
    /// Which characters of the Thai block occur in `compact`: a term with more absent
    /// characters than its typo budget cannot be in the text, and is not searched for.
    thai_present: u128,
    /// Split at anything that is not a letter or digit: English words.
    words: Vec<String>,
}

impl Query {
    fn new(text: &str) -> Self {
        let text: String = text.chars().take(MAX_QUERY_CHARS).collect();
        Self::new_unbounded(&text)
    }

    fn new_unbounded(text: &str) -> Self {
        let lower = crate::thai::normalize_digits(text).to_lowercase();
        let compact = compact(&lower);
        let thai_present = compact
            .iter()
            .filter_map(|&c| thai_bit(c))
            .fold(0u128, |mask, bit| mask | bit);
        Self {
            compact,
            thai_present,
            words: lower
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

fn compact(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '\u{200b}' | '\u{200c}' | '\u{200d}'))
        .collect()
}

impl Concept {
    fn new(id: String, th: &[String], en: &[String]) -> Self {
        Self {
            id,
            compact_terms: th
                .iter()
                .map(|t| compact(&crate::thai::normalize_digits(t).to_lowercase()))
                .filter(|t| !t.is_empty())
                .collect(),
            phrases: en
                .iter()
                .map(|p| {
                    p.to_lowercase()
                        .split(|c: char| !c.is_alphanumeric())
                        .filter(|w| !w.is_empty())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .filter(|p| !p.is_empty())
                .collect(),
        }
    }

    /// Whether one of the terms is in the text despite a typo or two.
    fn fuzzy_in(&self, query: &Query) -> bool {
        let thai = self.compact_terms.iter().any(|term| {
            let budget = edit_budget(term.len());
            let n_absent = term
                .iter()
                .filter(|&&c| thai_bit(c).is_some_and(|bit| query.thai_present & bit == 0))
                .count();
            budget > 0 && n_absent <= budget && approx_contains(&query.compact, term, budget)
        });
        thai || self
            .phrases
            .iter()
            .any(|phrase| phrase_in(&query.words, phrase, true))
    }
}

/// How many typos a term of this many characters tolerates: short terms none, or
/// "แผน" would be found in every sentence (Thai vowel and tone marks count as
/// characters, so Thai terms are longer than they look).
fn edit_budget(n_chars: usize) -> usize {
    match n_chars {
        0..=5 => 0,
        6..=10 => 1,
        _ => 2,
    }
}

/// Where `needle` starts in `haystack`.
fn occurrences<'h>(haystack: &'h [char], needle: &'h [char]) -> impl Iterator<Item = usize> + 'h {
    haystack
        .windows(needle.len().max(1))
        .enumerate()
        .filter(move |(_, window)| !needle.is_empty() && *window == needle)
        .map(|(start, _)| start)
}

/// Whether `pattern` occurs in `text` with at most `budget` edits (Sellers' algorithm:
/// edit distance where a match may start anywhere in the text).
fn approx_contains(text: &[char], pattern: &[char], budget: usize) -> bool {
    let mut column: Vec<usize> = (0..=pattern.len()).collect();
    for &c in text {
        let mut diagonal = column[0];
        column[0] = 0;
        for (p_idx, &p) in pattern.iter().enumerate() {
            let above = column[p_idx + 1];
            let substitution = diagonal + usize::from(p != c);
            column[p_idx + 1] = substitution.min(above + 1).min(column[p_idx] + 1);
            diagonal = above;
        }
        if column[pattern.len()] <= budget {
            return true;
        }
    }
    false
}

fn phrase_in(words: &[String], phrase: &[String], fuzzy: bool) -> bool {
    words.windows(phrase.len()).any(|window| {
        window
            .iter()
            .zip(phrase)
            .all(|(word, term)| word_matches(word, term, fuzzy))
    })
}

fn word_matches(word: &str, term: &str, fuzzy: bool) -> bool {
    if word == term || word.strip_suffix('s') == Some(term) {
        return true;
    }
    if !fuzzy {
        return false;
    }
    let budget = edit_budget(term.len());
    // Lengths that differ by more than the budget cannot be within it (English terms
    // are ASCII, so bytes are characters).
    budget > 0
        && word.is_ascii()
        && word.len().abs_diff(term.len()) <= budget
        && strsim::levenshtein(word, term) <= budget
}

/// The bit of a Thai character in a 128-bit set of the Thai block (U+0E00–U+0E7F).
fn thai_bit(c: char) -> Option<u128> {
    let offset = u32::from(c).checked_sub(0x0E00)?;
    (offset < 128).then(|| 1u128 << offset)
}

#[cfg(test)]
mod tests;
