//! The knowledge base: the office's ITA improvement plan (`config/measures.toml`) and the
//! vocabulary that finds its items from a resident's own words (`config/vocabulary.toml`).
//!
//! Pure data and pure functions: loading happens once at start-up, lookups do no I/O.

pub mod display;
pub mod glossary;
pub mod progress;
mod search;

use std::collections::HashSet;

use anyhow::Context as _;
use serde::Deserialize;
use toml::Spanned;

use crate::domain::Lang;

pub use search::{Answer, Aspect, Index, Reading, Sources, Vocabulary};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    fiscal_year_th: String,
    #[serde(rename = "assessment")]
    assessments: Vec<Assessment>,
    #[serde(rename = "item")]
    items: Vec<RawItem>,
}

/// One of the three assessments (IIT, EIT, OIT) with its weakest indicator.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    pub id: String,
    pub title_th: String,
    pub title_en: String,
    pub indicator_th: String,
    pub indicator_en: String,
    pub score: f64,
    pub finding_th: String,
    pub finding_en: String,
}

impl Assessment {
    /// `IIT`, `EIT` or `OIT`.
    #[must_use]
    pub fn acronym(&self) -> String {
        self.id.to_ascii_uppercase()
    }

    #[must_use]
    pub fn indicator(&self, lang: Lang) -> &str {
        pick(lang, &self.indicator_th, &self.indicator_en)
    }

    #[must_use]
    pub fn title(&self, lang: Lang) -> &str {
        pick(lang, &self.title_th, &self.title_en)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: Spanned<String>,
    assessment: Spanned<String>,
    weaknesses_th: Vec<String>,
    weaknesses_en: Vec<String>,
    guidelines_th: Vec<String>,
    guidelines_en: Vec<String>,
    divisions: Vec<Spanned<String>>,
    status: Status,
    #[serde(default, rename = "measure")]
    measures: Vec<RawMeasure>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeasure {
    th: Spanned<String>,
    en: String,
    #[serde(default)]
    details_th: Vec<String>,
    #[serde(default)]
    details_en: Vec<String>,
}

/// Progress of an item, as the plan's last column records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Done,
    NotDone,
}

/// A row of an assessment's table: weaknesses, guidelines, measures, who is responsible,
/// and whether it is done.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: String,
    pub assessment: String,
    pub weaknesses: Vec<Text>,
    pub guidelines: Vec<Text>,
    pub measures: Vec<Measure>,
    pub divisions: Vec<String>,
    pub status: Status,
}

#[derive(Clone, Debug)]
pub struct Measure {
    pub name: Text,
    pub details: Vec<Text>,
}

/// A text in both languages.
#[derive(Clone, Debug)]
pub struct Text {
    /// As the plan has it, verbatim.
    pub th: String,
    pub en: String,
    /// The Thai as residents are shown it: the plan's words without the spaces the
    /// PDF's line wraps left in them (`KnowledgeBase::tidy`).
    pub shown_th: String,
}

impl Text {
    fn new(th: String, en: String) -> Self {
        Self {
            shown_th: th.clone(),
            th,
            en,
        }
    }

    /// The text to show a resident.
    #[must_use]
    pub fn get(&self, lang: Lang) -> &str {
        pick(lang, &self.shown_th, &self.en)
    }
}

fn pick<'a>(lang: Lang, th: &'a str, en: &'a str) -> &'a str {
    match lang {
        Lang::Th => th,
        Lang::En => en,
    }
}

/// The improvement plan, validated.
#[derive(Clone, Debug)]
pub struct KnowledgeBase {
    pub fiscal_year_th: String,
    pub assessments: Vec<Assessment>,
    pub items: Vec<Item>,
}

impl KnowledgeBase {
    /// Validates `measures.toml`. `known_divisions` are the division ids of
    /// `tambon.toml`.
    pub fn parse(source: &str, known_divisions: &[&str]) -> anyhow::Result<Self> {
        let file: File = toml::from_str(source)?;
        let line_of = |offset: usize| source[..offset.min(source.len())].matches('\n').count() + 1;
        let assessment_ids: HashSet<&str> =
            file.assessments.iter().map(|a| a.id.as_str()).collect();
        anyhow::ensure!(
            assessment_ids.len() == file.assessments.len(),
            "an assessment id is used twice"
        );
        let mut seen_ids = HashSet::new();
        let mut items = Vec::with_capacity(file.items.len());
        for raw in file.items {
            let id_line = line_of(raw.id.span().start);
            anyhow::ensure!(
                !raw.id.get_ref().trim().is_empty(),
                "line {id_line}: empty item id"
            );
            anyhow::ensure!(
                seen_ids.insert(raw.id.get_ref().clone()),
                "line {id_line}: duplicate item id `{}`",
                raw.id.get_ref()
            );
            anyhow::ensure!(
                assessment_ids.contains(raw.assessment.get_ref().as_str()),
                "line {}: unknown assessment `{}`",
                line_of(raw.assessment.span().start),
                raw.assessment.get_ref()
            );
            anyhow::ensure!(
                !raw.divisions.is_empty(),
                "line {id_line}: item `{}` names no responsible division",
                raw.id.get_ref()
            );
            for division in &raw.divisions {
                anyhow::ensure!(
                    known_divisions.contains(&division.get_ref().as_str()),
                    "line {}: unknown division `{}`",
                    line_of(division.span().start),
                    division.get_ref()
                );
            }
            let weaknesses = pair(raw.weaknesses_th, raw.weaknesses_en)
                .with_context(|| format!("line {id_line}: weaknesses"))?;
            let guidelines = pair(raw.guidelines_th, raw.guidelines_en)
                .with_context(|| format!("line {id_line}: guidelines"))?;
            let mut measures = Vec::with_capacity(raw.measures.len());
            for measure in raw.measures {
                let line = line_of(measure.th.span().start);
                anyhow::ensure!(
                    !measure.th.get_ref().trim().is_empty() && !measure.en.trim().is_empty(),
                    "line {line}: empty measure"
                );
                measures.push(Measure {
                    name: Text::new(measure.th.into_inner(), measure.en),
                    details: pair(measure.details_th, measure.details_en)
                        .with_context(|| format!("line {line}: measure details"))?,
                });
            }
            items.push(Item {
                id: raw.id.into_inner(),
                assessment: raw.assessment.into_inner(),
                weaknesses,
                guidelines,
                measures,
                divisions: raw.divisions.into_iter().map(Spanned::into_inner).collect(),
                status: raw.status,
            });
        }
        Ok(Self {
            fiscal_year_th: file.fiscal_year_th,
            assessments: file.assessments,
            items,
        })
    }

    /// Prepares the Thai shown to residents: the plan's words without the spaces its
    /// PDF's line wraps left in them.
    pub fn tidy(&mut self, segmenter: &crate::thai::words::Segmenter) {
        for item in &mut self.items {
            let texts = item
                .weaknesses
                .iter_mut()
                .chain(&mut item.guidelines)
                .chain(
                    item.measures
                        .iter_mut()
                        .flat_map(|m| std::iter::once(&mut m.name).chain(m.details.iter_mut())),
                );
            for text in texts {
                text.shown_th = display::tidy_thai(&text.th, segmenter);
            }
        }
    }

    #[must_use]
    pub fn assessment(&self, id: &str) -> Option<&Assessment> {
        self.assessments.iter().find(|a| a.id == id)
    }

    #[must_use]
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }
}

/// Zips the Thai and English renderings of a list, which must match one to one.
fn pair(th: Vec<String>, en: Vec<String>) -> anyhow::Result<Vec<Text>> {
    anyhow::ensure!(
        th.len() == en.len(),
        "{} Thai entries but {} English ones",
        th.len(),
        en.len()
    );
    anyhow::ensure!(
        th.iter().chain(&en).all(|t| !t.trim().is_empty()),
        "an empty entry"
    );
    Ok(th
        .into_iter()
        .zip(en)
        .map(|(th, en)| Text::new(th, en))
        .collect())
}

#[cfg(test)]
mod tests;
