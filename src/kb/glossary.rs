//! The terms of the ITA framework (ITA, IIT, EIT, OIT) explained in plain words, for
//! residents who ask "EIT คืออะไร": `config/glossary.toml`, loaded once at start-up.
//! A term's id is that of its concept in `config/vocabulary.toml`.

use std::collections::HashSet;

use serde::Deserialize;

use crate::domain::Lang;

/// The glossary, validated.
#[derive(Clone, Debug)]
pub struct Glossary {
    pub terms: Vec<Term>,
}

/// One term: its names, what it means, and how residents write it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    pub id: String,
    pub acronym: String,
    name_th: String,
    name_en: String,
    meaning_th: String,
    meaning_en: String,
    /// The acronym, its Thai-script spelling ("อีไอที") and the full names.
    pub spellings: Vec<String>,
}

impl Term {
    /// The full name ("แบบวัดการรับรู้ของผู้มีส่วนได้ส่วนเสียภายนอก").
    #[must_use]
    pub fn name(&self, lang: Lang) -> &str {
        super::pick(lang, &self.name_th, &self.name_en)
    }

    /// Who answers it and what it measures, in a sentence or two.
    #[must_use]
    pub fn meaning(&self, lang: Lang) -> &str {
        super::pick(lang, &self.meaning_th, &self.meaning_en)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(rename = "term")]
    terms: Vec<Term>,
}

impl Glossary {
    /// Validates `glossary.toml`.
    pub fn parse(source: &str) -> anyhow::Result<Self> {
        let file: File = toml::from_str(source)?;
        let mut seen_ids = HashSet::new();
        for term in &file.terms {
            anyhow::ensure!(!term.id.trim().is_empty(), "a term has an empty id");
            anyhow::ensure!(
                seen_ids.insert(term.id.as_str()),
                "duplicate term id `{}`",
                term.id
            );
            let texts = [
                &term.acronym,
                &term.name_th,
                &term.name_en,
                &term.meaning_th,
                &term.meaning_en,
            ];
            anyhow::ensure!(
                texts.iter().all(|text| !text.trim().is_empty()),
                "term `{}` has an empty text",
                term.id
            );
            anyhow::ensure!(
                !term.spellings.is_empty() && term.spellings.iter().all(|s| !s.trim().is_empty()),
                "term `{}` has no spellings or an empty one",
                term.id
            );
        }
        Ok(Self { terms: file.terms })
    }

    #[must_use]
    pub fn term(&self, id: &str) -> Option<&Term> {
        self.terms.iter().find(|term| term.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Glossary {
        Glossary::parse(include_str!("../../config/glossary.toml"))
            .expect("the shipped glossary is valid")
    }

    #[test]
    fn shipped_glossary_has_the_four_terms_of_the_framework() {
        let glossary = shipped();
        let ids: Vec<&str> = glossary.terms.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["ita", "iit", "eit", "oit"]);
        for term in &glossary.terms {
            assert_eq!(term.acronym, term.id.to_ascii_uppercase());
            assert!(term.spellings.contains(&term.acronym), "{}", term.id);
            assert!(
                term.meaning(Lang::Th).chars().count() <= 180,
                "{}: a short meaning",
                term.id
            );
        }
    }

    #[test]
    fn shipped_glossary_says_who_answers_what() {
        let glossary = shipped();
        let term = |id: &str| glossary.term(id).unwrap();
        assert_eq!(
            term("ita").name(Lang::Th),
            "การประเมินคุณธรรมและความโปร่งใสในการดำเนินงานของหน่วยงานภาครัฐ"
        );
        assert_eq!(
            term("eit").name(Lang::Th),
            "แบบวัดการรับรู้ของผู้มีส่วนได้ส่วนเสียภายนอก"
        );
        assert_eq!(
            term("oit").name(Lang::En),
            "Open Data Integrity and Transparency Assessment"
        );
        for (id, thai, english) in [
            ("ita", "คุณธรรม", "integrity"),
            ("iit", "ภายใน", "internal"),
            ("eit", "ภายนอก", "external"),
            ("oit", "เปิดเผยข้อมูล", "disclos"),
        ] {
            assert!(term(id).meaning(Lang::Th).contains(thai), "{id}");
            assert!(term(id).meaning(Lang::En).contains(english), "{id}");
        }
        assert!(term("ita").meaning(Lang::Th).contains("ป.ป.ช."));
        assert!(term("eit").spellings.iter().any(|s| s == "อีไอที"));
        assert!(glossary.term("xyz").is_none());
    }

    const ONE_TERM: &str = r#"
[[term]]
id = "eit"
acronym = "EIT"
name_th = "แบบวัดการรับรู้ของผู้มีส่วนได้ส่วนเสียภายนอก"
name_en = "External Integrity and Transparency Assessment"
meaning_th = "ผู้มีส่วนได้ส่วนเสียภายนอก"
meaning_en = "external stakeholders"
spellings = ["EIT", "อีไอที"]
"#;

    #[test]
    fn a_duplicate_id_is_refused() {
        assert!(Glossary::parse(ONE_TERM).is_ok());
        let source = format!("{ONE_TERM}{ONE_TERM}");
        let error = format!("{:#}", Glossary::parse(&source).unwrap_err());
        assert!(error.contains("duplicate term id `eit`"), "{error}");
    }

    #[test]
    fn an_empty_text_or_unknown_field_is_refused() {
        let empty = ONE_TERM.replace(
            r#"meaning_en = "external stakeholders""#,
            r#"meaning_en = " ""#,
        );
        let error = format!("{:#}", Glossary::parse(&empty).unwrap_err());
        assert!(error.contains("term `eit` has an empty text"), "{error}");
        let unknown = format!("{ONE_TERM}note = \"x\"\n");
        assert!(Glossary::parse(&unknown).is_err());
    }
}
