use super::*;

const DIVISIONS: &[&str] = &["office", "finance", "engineering", "welfare", "education"];

fn shipped() -> KnowledgeBase {
    KnowledgeBase::parse(include_str!("../../config/measures.toml"), DIVISIONS)
        .expect("the shipped knowledge base is valid")
}

#[test]
fn shipped_plan_has_the_three_assessments_and_their_scores() {
    let kb = shipped();
    let scores: Vec<(String, f64)> = kb
        .assessments
        .iter()
        .map(|a| (a.acronym(), a.score))
        .collect();
    assert_eq!(
        scores,
        vec![
            ("IIT".to_owned(), 77.77),
            ("EIT".to_owned(), 79.59),
            ("OIT".to_owned(), 37.50)
        ]
    );
    assert_eq!(
        kb.assessment("iit").unwrap().indicator_th,
        "การใช้จ่ายงบประมาณ"
    );
    assert_eq!(
        kb.assessment("eit").unwrap().indicator_th,
        "การปรับปรุงระบบการทำงาน"
    );
    assert_eq!(
        kb.assessment("oit").unwrap().indicator_th,
        "การป้องกันการทุจริต"
    );
}

#[test]
fn shipped_plan_has_every_row_of_the_seed() {
    let kb = shipped();
    let ids: Vec<&str> = kb.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["iit-1", "eit-1", "oit-1", "oit-2", "oit-3"]);
    // The seed ticks "ดำเนินการแล้ว" for every row.
    assert!(kb.items.iter().all(|i| i.status == Status::Done));
    assert_eq!(kb.item("iit-1").unwrap().divisions, ["finance"]);
    assert_eq!(
        kb.item("eit-1").unwrap().divisions,
        ["office", "finance", "engineering", "welfare"]
    );
    assert_eq!(kb.item("oit-3").unwrap().divisions.len(), 5);
    // OIT rows 2 and 3 list no measure in the seed: none is invented.
    assert!(kb.item("oit-2").unwrap().measures.is_empty());
    assert!(kb.item("oit-3").unwrap().measures.is_empty());
    let names: Vec<&str> = kb
        .item("iit-1")
        .unwrap()
        .measures
        .iter()
        .map(|m| m.name.th.as_str())
        .collect();
    assert_eq!(
        names,
        ["มาตรการสร้างการรับรู้ภายใน", "มาตรการเผยแพร่ข้อมูลต่อสาธารณะ"]
    );
}

#[test]
fn every_thai_text_is_quoted_from_the_seed() {
    let seed = include_str!("../../tests/data/ita-2563-improvement-plan.txt")
        .replace("<p>", "")
        .replace("</p>", "");
    let kb = shipped();
    let mut texts: Vec<&str> = Vec::new();
    for assessment in &kb.assessments {
        texts.extend([
            assessment.title_th.as_str(),
            assessment.indicator_th.as_str(),
            assessment.finding_th.as_str(),
        ]);
    }
    for item in &kb.items {
        texts.extend(item.weaknesses.iter().map(|t| t.th.as_str()));
        texts.extend(item.guidelines.iter().map(|t| t.th.as_str()));
        for measure in &item.measures {
            texts.push(&measure.name.th);
            texts.extend(measure.details.iter().map(|t| t.th.as_str()));
        }
    }
    assert!(texts.len() > 40);
    for text in texts {
        assert!(seed.contains(text), "not in the seed: {text}");
    }
}

const MINIMAL: &str = r#"
fiscal_year_th = "ปีงบประมาณ พ.ศ. ๒๕๖๔"
[[assessment]]
id = "iit"
title_th = "t"
title_en = "t"
indicator_th = "i"
indicator_en = "i"
score = 77.77
finding_th = "f"
finding_en = "f"

[[item]]
id = "iit-1"
assessment = "iit"
weaknesses_th = ["w"]
weaknesses_en = ["w"]
guidelines_th = ["g"]
guidelines_en = ["g"]
divisions = ["finance"]
status = "done"

[[item.measure]]
th = "มาตรการ"
en = "measure"
"#;

#[test]
fn a_minimal_plan_loads() {
    let kb = KnowledgeBase::parse(MINIMAL, DIVISIONS).unwrap();
    assert_eq!(kb.items.len(), 1);
}

#[test]
fn an_unknown_division_is_named_with_its_line() {
    let source = MINIMAL.replace(r#"divisions = ["finance"]"#, r#"divisions = ["finanse"]"#);
    let error = format!(
        "{:#}",
        KnowledgeBase::parse(&source, DIVISIONS).unwrap_err()
    );
    assert!(error.contains("line 20"), "{error}");
    assert!(error.contains("unknown division `finanse`"), "{error}");
}

#[test]
fn a_duplicate_item_id_is_named_with_its_line() {
    let second = MINIMAL[MINIMAL.find("[[item]]").unwrap()..].to_owned();
    let source = format!("{MINIMAL}\n{second}");
    let error = format!(
        "{:#}",
        KnowledgeBase::parse(&source, DIVISIONS).unwrap_err()
    );
    assert!(error.contains("duplicate item id `iit-1`"), "{error}");
    assert!(error.contains("line 28"), "{error}");
}

#[test]
fn an_empty_measure_is_refused() {
    let source = MINIMAL.replace(r#"th = "มาตรการ""#, r#"th = "  ""#);
    let error = format!(
        "{:#}",
        KnowledgeBase::parse(&source, DIVISIONS).unwrap_err()
    );
    assert!(error.contains("line 24: empty measure"), "{error}");
}

#[test]
fn mismatched_translations_are_refused() {
    let source = MINIMAL.replace(r#"weaknesses_en = ["w"]"#, r#"weaknesses_en = ["w", "x"]"#);
    let error = format!(
        "{:#}",
        KnowledgeBase::parse(&source, DIVISIONS).unwrap_err()
    );
    assert!(
        error.contains("1 Thai entries but 2 English ones"),
        "{error}"
    );
}

#[test]
fn the_e_plannacc_paragraph_continues_oit_row_2() {
    let kb = shipped();
    let has_it = |id: &str| {
        kb.item(id)
            .unwrap()
            .guidelines
            .iter()
            .any(|g| g.th.contains("e-plannacc"))
    };
    assert!(has_it("oit-2"));
    assert!(!has_it("oit-3"));
}
