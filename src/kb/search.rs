//! Finding the knowledge base's items from a resident's own words.
//!
//! A question is cut into words (`thai::words`) and the terms of a controlled vocabulary
//! (`config/vocabulary.toml`) are found among them (`thai::terms`): whole words only, the
//! longer of two overlapping terms winning, and long terms despite a typo or two. Each
//! concept groups Thai and English synonyms, so a question in either language finds the
//! same items. Items are ranked by the concepts they share with the question, each
//! weighted by how rare it is among the items (inverse document frequency).
//!
//! Some concepts say what kind of answer is wanted rather than what it is about: who is
//! responsible, whether it is done, the score, what a term means, which channels exist.
//! They make the `Aspect` of the answer, so that its first line answers just that.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use serde::Deserialize;

use crate::domain::Lang;
use crate::kb::{Item, KnowledgeBase};
use crate::thai::terms::{Hit, TermSet, Text};
use crate::thai::words::Segmenter;

/// Concepts that say what kind of answer is wanted rather than what it is about.
const PROGRESS: &str = "progress";
const SCORE: &str = "score";
const RESPONSIBLE: &str = "responsible";
const MEANING: &str = "meaning";
const MEASURE: &str = "measure";
/// Concepts of the ways residents reach the office.
const CHANNELS: &[&str] = &["website", "facebook", "line", "channel"];
/// Concepts too general to choose an item by when a division is named.
const GENERIC: &[&str] = &["plan", "project", "staff", "improvement"];
/// The assessment framework's own terms, explained by the glossary.
const GLOSSARY_CONCEPTS: &[&str] = &["ita", "iit", "eit", "oit"];
/// A question longer than this is cut before matching: nobody asks about a measure in an
/// essay, and matching costs time in the length of the text.
const MAX_QUERY_CHARS: usize = 300;
/// An item must score at least this share of the best item's score to be shown too.
const TIE_CUTOFF: f32 = 0.9;
const MAX_ITEMS: usize = 2;
/// A passage quoted from the plan is at least this long (neighbouring clauses join it)
/// and at most this long (it is cut with "…").
const MIN_PASSAGE_CHARS: usize = 50;
const MAX_PASSAGE_CHARS: usize = 170;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VocabularyFile {
    #[serde(rename = "concept")]
    concepts: Vec<RawConcept>,
}

/// The vocabulary file, read and checked.
pub struct Vocabulary {
    concepts: Vec<RawConcept>,
}

impl Vocabulary {
    pub fn parse(source: &str) -> anyhow::Result<Self> {
        let file: VocabularyFile = toml::from_str(source)?;
        let mut seen = HashSet::default();
        for concept in &file.concepts {
            anyhow::ensure!(
                seen.insert(concept.id.as_str()),
                "concept `{}` is defined twice",
                concept.id
            );
        }
        Ok(Self {
            concepts: file.concepts,
        })
    }

    /// Every term, for the segmenter's word list.
    pub fn terms(&self) -> impl Iterator<Item = &str> {
        self.concepts
            .iter()
            .flat_map(|c| c.th.iter().chain(&c.en))
            .map(String::as_str)
    }
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

/// What the question asks about an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aspect {
    /// Who is responsible.
    Responsible,
    /// Whether it is done.
    Status,
    /// Which channels the office has.
    Channels,
    /// Which measures it has.
    Measures,
    /// What the plan says about it.
    General,
}

/// What a question asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// Scores of these assessments (all when the question names none).
    Scores(Vec<String>),
    /// What these terms of the assessment mean (glossary ids: `ita`, `iit`…).
    Meaning(Vec<String>),
    /// These items, best first (two only when they tie), and what is asked of them.
    Items {
        ids: Vec<String>,
        aspect: Aspect,
    },
    /// What this division is responsible for.
    Division {
        division: String,
        items: Vec<String>,
    },
    /// The progress of every item.
    Overview,
    NotFound,
}

/// A question read: its answer and the concepts it named, for choosing what to quote.
pub struct Reading {
    pub answer: Answer,
    /// Concept indices the question names, with their confidence.
    concepts: HashMap<usize, f32>,
}

/// A clause of the plan's text, with the concepts it names.
struct Passage {
    /// Which of the item's texts it comes from (for not quoting one text twice).
    source: usize,
    text: String,
    concepts: HashSet<usize>,
}

/// The search index over the knowledge base.
pub struct Index {
    segmenter: Segmenter,
    terms: TermSet,
    concept_ids: Vec<String>,
    /// For each item (in knowledge-base order): concept index → weight.
    item_concepts: Vec<HashMap<usize, f32>>,
    /// For each item, its text cut into passages: Thai, then English.
    item_passages: Vec<[Vec<Passage>; 2]>,
    item_ids: Vec<String>,
    item_assessments: Vec<String>,
    item_divisions: Vec<Vec<String>>,
    item_has_measures: Vec<bool>,
    idf: Vec<f32>,
    /// How rare each concept is among the passages of the whole plan: what makes a
    /// passage the one that answers.
    passage_idf: Vec<f32>,
    /// Concept index of each assessment id (`iit`, `eit`, `oit`), if the vocabulary has it.
    assessment_concepts: Vec<(String, usize)>,
    /// Concept index of each division id.
    division_concepts: Vec<(String, usize)>,
}

/// What the index is built from besides the vocabulary file.
pub struct Sources<'a> {
    pub kb: &'a KnowledgeBase,
    /// `(id, Thai name, English name)` of each division: their names become concepts.
    pub divisions: &'a [(&'a str, &'a str, &'a str)],
    /// More ways of writing a concept: `(concept id, spellings)` (the glossary's).
    pub spellings: &'a [(String, Vec<String>)],
    pub segmenter: Segmenter,
}

impl Index {
    /// Builds the index: the concepts of the vocabulary, the division names and the
    /// glossary's spellings, found in every text of the plan.
    #[must_use]
    pub fn build(vocabulary: &Vocabulary, sources: Sources<'_>) -> Self {
        let Sources {
            kb,
            divisions,
            spellings,
            segmenter,
        } = sources;
        let mut concept_ids: Vec<String> = Vec::with_capacity(vocabulary.concepts.len());
        let mut terms = TermSet::default();
        for raw in &vocabulary.concepts {
            let idx = concept_ids.len();
            concept_ids.push(raw.id.clone());
            for term in raw.th.iter().chain(&raw.en) {
                terms.add(idx, term);
            }
        }
        let concept_of = |id: &str, concept_ids: &mut Vec<String>| -> usize {
            concept_ids.iter().position(|c| c == id).unwrap_or_else(|| {
                concept_ids.push(id.to_owned());
                concept_ids.len() - 1
            })
        };
        let mut division_concepts = Vec::new();
        for (id, th, en) in divisions {
            let idx = concept_of(id, &mut concept_ids);
            terms.add(idx, th.trim_end_matches('ฯ'));
            let en_name = en.to_lowercase();
            terms.add(idx, &en_name);
            // "Finance Division" is asked about as "finance" too.
            let short: Vec<&str> = en_name
                .split_whitespace()
                .filter(|w| !matches!(*w, "division" | "office" | "of" | "the"))
                .collect();
            if !short.is_empty() {
                terms.add(idx, &short.join(" "));
            }
            division_concepts.push(((*id).to_owned(), idx));
        }
        for (id, words) in spellings {
            let idx = concept_of(id, &mut concept_ids);
            for word in words {
                terms.add(idx, word);
            }
        }
        let assessment_concepts = kb
            .assessments
            .iter()
            .filter_map(|a| {
                let idx = concept_ids.iter().position(|c| *c == a.id)?;
                Some((a.id.clone(), idx))
            })
            .collect();

        let mut index = Self {
            segmenter,
            terms,
            concept_ids,
            item_concepts: Vec::new(),
            item_passages: Vec::new(),
            item_ids: kb.items.iter().map(|i| i.id.clone()).collect(),
            item_assessments: kb.items.iter().map(|i| i.assessment.clone()).collect(),
            item_divisions: kb.items.iter().map(|i| i.divisions.clone()).collect(),
            item_has_measures: kb.items.iter().map(|i| !i.measures.is_empty()).collect(),
            idf: Vec::new(),
            passage_idf: Vec::new(),
            assessment_concepts,
            division_concepts,
        };
        index.item_concepts = kb
            .items
            .iter()
            .map(|item| index.item_weights(kb, item))
            .collect();
        index.item_passages = kb
            .items
            .iter()
            .map(|item| {
                [
                    index.passages(item, Lang::Th),
                    index.passages(item, Lang::En),
                ]
            })
            .collect();
        let all_passages: Vec<&Passage> = index.item_passages.iter().flatten().flatten().collect();
        let n_passages = all_passages.len().max(1) as f32;
        index.passage_idf = (0..index.concept_ids.len())
            .map(|idx| {
                let df = all_passages
                    .iter()
                    .filter(|p| p.concepts.contains(&idx))
                    .count();
                (1.0 + n_passages / (df.max(1) as f32)).ln()
            })
            .collect();
        let n_items = index.item_concepts.len().max(1) as f32;
        index.idf = (0..index.concept_ids.len())
            .map(|idx| {
                let df = index
                    .item_concepts
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
        index
    }

    /// What the question asks for.
    #[must_use]
    pub fn answer(&self, question: &str) -> Answer {
        self.read(question).answer
    }

    /// The question read: its answer and the concepts it names.
    #[must_use]
    pub fn read(&self, question: &str) -> Reading {
        self.read_text(&self.prepare(question))
    }

    /// `question` prepared for reading: cut short, cut into words.
    #[must_use]
    pub fn prepare(&self, question: &str) -> Text {
        let question: String = question.chars().take(MAX_QUERY_CHARS).collect();
        Text::new(&self.segmenter, &question)
    }

    /// A question already cut into words, read.
    #[must_use]
    pub fn read_text(&self, text: &Text) -> Reading {
        let hits = self.terms.find(text, true);
        let mut concepts: HashMap<usize, f32> = HashMap::default();
        for hit in &hits {
            let confidence = if hit.exact { 1.0 } else { 0.8 };
            let entry = concepts.entry(hit.owner).or_insert(0.0);
            *entry = entry.max(confidence);
        }
        let answer = self.answer_from(&concepts);
        Reading { answer, concepts }
    }

    fn hits(&self, question: &str) -> Vec<Hit> {
        self.terms.find(&self.prepare(question), true)
    }

    fn concept(&self, id: &str) -> Option<usize> {
        self.concept_ids.iter().position(|c| c == id)
    }

    fn answer_from(&self, found: &HashMap<usize, f32>) -> Answer {
        let has = |id: &str| self.concept(id).is_some_and(|idx| found.contains_key(&idx));
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
        let glossary: Vec<String> = GLOSSARY_CONCEPTS
            .iter()
            .filter(|id| has(id))
            .map(|id| (*id).to_owned())
            .collect();
        let asking: Vec<&str> = [PROGRESS, SCORE, RESPONSIBLE, MEANING, MEASURE]
            .into_iter()
            .chain(CHANNELS.iter().copied())
            .collect();
        let special: Vec<usize> = self
            .assessment_concepts
            .iter()
            .chain(&self.division_concepts)
            .map(|(_, idx)| *idx)
            .collect();
        let topical: Vec<(usize, f32)> = found
            .iter()
            .filter(|(idx, _)| {
                !special.contains(idx) && !asking.contains(&self.concept_ids[**idx].as_str())
            })
            .map(|(idx, conf)| (*idx, *conf))
            .collect();

        if has(SCORE) {
            return Answer::Scores(assessments);
        }
        if has(MEANING) && !glossary.is_empty() && !has(RESPONSIBLE) {
            return Answer::Meaning(glossary);
        }
        let aspect = if has(RESPONSIBLE) {
            Aspect::Responsible
        } else if has(PROGRESS) {
            Aspect::Status
        } else if CHANNELS.iter().any(|c| has(c)) {
            Aspect::Channels
        } else if has(MEASURE) {
            Aspect::Measures
        } else {
            Aspect::General
        };
        // Channels are what the question is about, too.
        let topical: Vec<(usize, f32)> = topical
            .into_iter()
            .chain(
                CHANNELS
                    .iter()
                    .filter_map(|c| self.concept(c))
                    .filter_map(|idx| found.get(&idx).map(|conf| (idx, *conf))),
            )
            .collect();
        // "What is the Engineering Division responsible for?": its list, whatever else
        // the question names in passing.
        if let Some(division) = division.clone().filter(|_| aspect == Aspect::Responsible) {
            if topical
                .iter()
                .all(|(idx, _)| GENERIC.contains(&self.concept_ids[*idx].as_str()))
            {
                let items = self.items_where(|i| self.item_divisions[i].contains(&division));
                return Answer::Division { division, items };
            }
        }
        if topical.is_empty() {
            if let Some(division) = division {
                let items = self.items_where(|i| self.item_divisions[i].contains(&division));
                return Answer::Division { division, items };
            }
            if !assessments.is_empty() {
                return Answer::Items {
                    ids: self.items_where(|i| assessments.contains(&self.item_assessments[i])),
                    aspect,
                };
            }
            if !glossary.is_empty() {
                return Answer::Meaning(glossary);
            }
            if has(PROGRESS) {
                return Answer::Overview;
            }
            if has(MEASURE) {
                return Answer::Items {
                    ids: self.item_ids.clone(),
                    aspect,
                };
            }
            return Answer::NotFound;
        }

        let mut ranked: Vec<(usize, f32)> = (0..self.item_ids.len())
            .map(|item_idx| {
                let weights = &self.item_concepts[item_idx];
                let mut score: f32 = topical
                    .iter()
                    .filter_map(|(idx, conf)| weights.get(idx).map(|w| w * conf * self.idf[*idx]))
                    .sum();
                // "Which measures…" is best answered by an item that lists measures.
                if aspect == Aspect::Measures && !self.item_has_measures[item_idx] {
                    score *= 0.5;
                }
                // "Is there a Facebook page?" is best answered where the plan lists the
                // office's channels together.
                if aspect == Aspect::Channels {
                    score += CHANNELS
                        .iter()
                        .filter_map(|c| self.concept(c))
                        .filter(|idx| weights.contains_key(idx))
                        .map(|idx| 0.5 * self.idf[idx])
                        .sum::<f32>();
                }
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
            if !glossary.is_empty() {
                return Answer::Meaning(glossary);
            }
            return Answer::NotFound;
        };
        Answer::Items {
            ids: ranked
                .into_iter()
                .take_while(|(_, score)| *score >= best * TIE_CUTOFF)
                .take(MAX_ITEMS)
                .map(|(i, _)| self.item_ids[i].clone())
                .collect(),
            aspect,
        }
    }

    /// The clauses of an item's text that best support an answer to `reading`, best
    /// first, in `lang`: at most `n`, from different texts of the item.
    #[must_use]
    pub fn support(&self, reading: &Reading, item_id: &str, lang: Lang, n: usize) -> Vec<String> {
        let Some(item_idx) = self.item_ids.iter().position(|id| id == item_id) else {
            return Vec::new();
        };
        let passages = &self.item_passages[item_idx][usize::from(lang == Lang::En)];
        // Each pick answers what the earlier ones left out.
        let mut covered: HashSet<usize> = HashSet::default();
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < n {
            let score = |passage: &Passage| -> f32 {
                reading
                    .concepts
                    .iter()
                    .filter(|(idx, _)| passage.concepts.contains(idx) && !covered.contains(idx))
                    .map(|(idx, conf)| conf * self.passage_idf[*idx])
                    .sum()
            };
            let best = passages
                .iter()
                .enumerate()
                .filter(|(idx, p)| {
                    !chosen.contains(idx) && chosen.iter().all(|c| passages[*c].source != p.source)
                })
                .map(|(idx, p)| (idx, score(p)))
                .filter(|(_, s)| *s > 0.0)
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
            let Some((idx, _)) = best else {
                break;
            };
            covered.extend(passages[idx].concepts.iter().copied());
            chosen.push(idx);
        }
        chosen
            .into_iter()
            .map(|idx| self.widen(passages, idx))
            .collect()
    }

    /// The channels (`website`, `facebook`, `line`) an item's text names, in that order.
    #[must_use]
    pub fn channels_of(&self, item_id: &str) -> Vec<&'static str> {
        let Some(item_idx) = self.item_ids.iter().position(|id| id == item_id) else {
            return Vec::new();
        };
        ["website", "facebook", "line"]
            .into_iter()
            .filter(|id| {
                self.concept(id)
                    .is_some_and(|idx| self.item_concepts[item_idx].get(&idx) == Some(&1.0))
            })
            .collect()
    }

    /// A passage with its neighbours from the same text until it says enough. A
    /// passage that says who is responsible takes the clauses before it, which name
    /// whom ("…ได้มอบหมายให้นางนิภาพร … รับผิดชอบเรื่อง…").
    fn widen(&self, passages: &[Passage], idx: usize) -> String {
        let source = passages[idx].source;
        let (mut first, mut last) = (idx, idx);
        let len = |first: usize, last: usize| -> usize {
            passages[first..=last]
                .iter()
                .map(|p| p.text.chars().count() + 1)
                .sum()
        };
        let says_who = self
            .concept(RESPONSIBLE)
            .is_some_and(|c| passages[idx].concepts.contains(&c));
        while says_who
            && first > 0
            && passages[first - 1].source == source
            && len(first - 1, last) <= MAX_PASSAGE_CHARS
        {
            first -= 1;
        }
        while len(first, last) < MIN_PASSAGE_CHARS {
            if last + 1 < passages.len() && passages[last + 1].source == source {
                last += 1;
            } else if first > 0 && passages[first - 1].source == source {
                first -= 1;
            } else {
                break;
            }
        }
        let mut text = passages[first..=last]
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        // A parenthesis the cut left open ends the passage before it.
        if text.matches('(').count() > text.matches(')').count() {
            if let Some(open) = text.rfind('(') {
                text.truncate(open);
                text.truncate(text.trim_end().len());
            }
        }
        crate::thai::truncate(&text, MAX_PASSAGE_CHARS)
    }

    /// Which concepts the question names, which intent-free answer it gets, and how each
    /// item scores: for tuning the vocabulary (`tambon kb ask --explain`).
    #[must_use]
    pub fn explain(&self, question: &str) -> String {
        let words: Vec<String> = self
            .segmenter
            .words(&question.chars().take(MAX_QUERY_CHARS).collect::<String>())
            .into_iter()
            .map(|w| w.text)
            .collect();
        let mut lines = vec![format!("words: {}", words.join("|"))];
        let hits = self.hits(question);
        for hit in &hits {
            let idx = hit.owner;
            lines.push(format!(
                "concept {} ← \"{}\"{} (idf {:.2})",
                self.concept_ids[idx],
                hit.term,
                if hit.exact { "" } else { " (typo)" },
                self.idf[idx]
            ));
        }
        let reading = self.read(question);
        lines.push(format!("answer: {:?}", reading.answer));
        for (item_idx, weights) in self.item_concepts.iter().enumerate() {
            let shared: Vec<String> = reading
                .concepts
                .keys()
                .filter_map(|idx| {
                    weights
                        .get(idx)
                        .map(|w| format!("{}×{w:.1}", self.concept_ids[*idx]))
                })
                .collect();
            if !shared.is_empty() {
                lines.push(format!(
                    "item {}: {}",
                    self.item_ids[item_idx],
                    shared.join(" ")
                ));
            }
        }
        lines.join("\n")
    }

    /// The concepts named in `text`.
    fn concepts_in(&self, text: &str) -> HashSet<usize> {
        self.terms
            .find(&Text::new(&self.segmenter, text), false)
            .into_iter()
            .map(|hit| hit.owner)
            .collect()
    }

    /// Which concepts describe an item: its own text, and its assessment's indicator
    /// (for OIT, "การป้องกันการทุจริต": every OIT row is about corruption prevention).
    fn item_weights(&self, kb: &KnowledgeBase, item: &Item) -> HashMap<usize, f32> {
        let mut weights = HashMap::default();
        if let Some(assessment) = kb.assessment(&item.assessment) {
            let indicator = format!("{} {}", assessment.indicator_th, assessment.indicator_en);
            for idx in self.concepts_in(&indicator) {
                weights.insert(idx, 1.0);
            }
        }
        for text in item_texts(item) {
            for words in [&text.th, &text.en] {
                for idx in self.concepts_in(words) {
                    weights.insert(idx, 1.0);
                }
            }
        }
        weights
    }

    /// An item's texts cut into clauses, each with the concepts it names.
    fn passages(&self, item: &Item, lang: Lang) -> Vec<Passage> {
        let mut passages = Vec::new();
        for (source, text) in item_texts(item).into_iter().enumerate() {
            for clause in clauses(text.get(lang), lang) {
                let concepts = self.concepts_in(&clause);
                passages.push(Passage {
                    source,
                    text: clause,
                    concepts,
                });
            }
        }
        passages
    }

    fn items_where(&self, keep: impl Fn(usize) -> bool) -> Vec<String> {
        (0..self.item_ids.len())
            .filter(|i| keep(*i))
            .map(|i| self.item_ids[i].clone())
            .collect()
    }
}

/// Every text of an item, in reading order: weaknesses, guidelines, measures and their
/// details.
fn item_texts(item: &Item) -> Vec<&crate::kb::Text> {
    let mut texts: Vec<&crate::kb::Text> = item.weaknesses.iter().collect();
    texts.extend(&item.guidelines);
    for measure in &item.measures {
        texts.push(&measure.name);
        texts.extend(&measure.details);
    }
    texts
}

/// A text as passages to quote: whole when it is short enough, else cut into pieces of
/// at most `MAX_PASSAGE_CHARS` at its clause boundaries: Thai at the spaces between two
/// Thai letters (the shown text keeps only the spaces that part clauses; spaces around
/// numbers and abbreviations stay inside), English at its sentence and clause
/// punctuation, then at commas.
fn clauses(text: &str, lang: Lang) -> Vec<String> {
    let pieces: Vec<&str> = match lang {
        Lang::Th => split_thai_clauses(text),
        Lang::En => split_english_clauses(text)
            .into_iter()
            .flat_map(|sentence| {
                if sentence.chars().count() > MAX_PASSAGE_CHARS {
                    sentence.split_inclusive(", ").collect()
                } else {
                    vec![sentence]
                }
            })
            .collect(),
    };
    // A clause longer than a passage is cut at its spaces.
    let pieces: Vec<&str> = pieces
        .into_iter()
        .flat_map(|piece| {
            if piece.chars().count() > MAX_PASSAGE_CHARS {
                piece.split(' ').collect()
            } else {
                vec![piece]
            }
        })
        .collect();
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    for piece in pieces {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        let fits = current.chars().count() + 1 + piece.chars().count() <= MAX_PASSAGE_CHARS;
        if !current.is_empty() && !fits {
            chunks.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(piece);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

fn split_thai_clauses(text: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut pieces = Vec::new();
    let mut start = 0;
    for (pos, &(idx, c)) in chars.iter().enumerate() {
        let thai_before = pos > 0 && is_thai_letter(chars[pos - 1].1);
        let thai_after = chars
            .get(pos + 1)
            .is_some_and(|&(_, next)| is_thai_letter(next));
        if c == ' ' && thai_before && thai_after {
            pieces.push(&text[start..idx]);
            start = idx + 1;
        }
    }
    pieces.push(&text[start..]);
    pieces
}

/// A Thai letter or mark, not a Thai digit.
fn is_thai_letter(c: char) -> bool {
    crate::thai::is_thai(c) && !('๐'..='๙').contains(&c)
}

fn split_english_clauses(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (idx, c) in text.char_indices() {
        if !matches!(c, ';' | '.' | ':') || bytes.get(idx + 1) != Some(&b' ') {
            continue;
        }
        // "Mrs. Nipaporn", "B.E. 2564": a short word or an abbreviation goes on.
        let word = text[start..idx].rsplit(' ').next().unwrap_or_default();
        if c == '.' && (word.len() <= 3 || word.contains('.')) {
            continue;
        }
        pieces.push(&text[start..=idx]);
        start = idx + 1;
    }
    pieces.push(&text[start..]);
    pieces
}

#[cfg(test)]
mod tests;
