use std::path::Path;

use super::*;

fn index() -> (KnowledgeBase, Index) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let divisions = [
        ("office", "สำนักปลัด", "Office of the Chief Administrator"),
        ("finance", "กองคลัง", "Finance Division"),
        ("engineering", "กองช่าง", "Engineering Division"),
        ("welfare", "กองสวัสดิการสังคม", "Social Welfare Division"),
        ("education", "กองการศึกษาฯ", "Education Division"),
    ];
    let ids: Vec<&str> = divisions.iter().map(|d| d.0).collect();
    let kb = KnowledgeBase::load(&root.join("config/measures.toml"), &ids).unwrap();
    let index = Index::load(&root.join("config/vocabulary.toml"), &kb, &divisions).unwrap();
    (kb, index)
}

fn items(answer: Answer) -> Vec<String> {
    match answer {
        Answer::Items(ids) => ids,
        other => panic!("expected items, got {other:?}"),
    }
}

#[test]
fn corruption_prevention_finds_the_oit_rows() {
    let (_, index) = index();
    let found = items(index.answer("มาตรการป้องกันการทุจริตมีอะไรบ้าง"));
    assert!(!found.is_empty());
    assert!(found.iter().all(|id| id.starts_with("oit-")), "{found:?}");
}

#[test]
fn a_division_question_lists_what_it_is_responsible_for() {
    let (_, index) = index();
    let Answer::Division { division, items } = index.answer("กองคลังรับผิดชอบเรื่องอะไร")
    else {
        panic!("expected a division answer");
    };
    assert_eq!(division, "finance");
    assert_eq!(items, ["iit-1", "eit-1", "oit-1", "oit-2", "oit-3"]);
    let Answer::Division { division, items } =
        index.answer("what is the engineering division responsible for")
    else {
        panic!("expected a division answer");
    };
    assert_eq!(division, "engineering");
    assert_eq!(items, ["eit-1", "oit-1", "oit-2", "oit-3"]);
}

#[test]
fn budget_disclosure_progress_puts_the_budget_row_first() {
    let (_, index) = index();
    let found = items(index.answer("ความคืบหน้าการเปิดเผยข้อมูลงบประมาณ"));
    assert_eq!(found[0], "iit-1");
}

#[test]
fn score_questions_give_scores() {
    let (_, index) = index();
    assert_eq!(
        index.answer("What was the OIT score?"),
        Answer::Scores(vec!["oit".to_owned()])
    );
    assert_eq!(
        index.answer("ผลคะแนน ITA เป็นอย่างไร"),
        Answer::Scores(Vec::new())
    );
}

#[test]
fn procurement_plan_in_english_finds_the_budget_row() {
    let (_, index) = index();
    let found = items(index.answer("who is responsible for the procurement plan?"));
    assert_eq!(found[0], "iit-1");
}

#[test]
fn thai_digits_and_typos_are_tolerated() {
    let (_, index) = index();
    // "งบประมาน" misspells งบประมาณ; "procurment" misspells procurement.
    assert_eq!(items(index.answer("งบประมาน"))[0], "iit-1");
    assert_eq!(items(index.answer("procurment plan"))[0], "iit-1");
    assert_eq!(
        items(index.answer("มาตรการป้องกันทุจรติ"))[0].get(..4),
        Some("oit-")
    );
    // A fiscal-year date is not a question about the budget.
    let found: Vec<&str> = find_concepts(&index.concepts, &Query::new("ปีงบประมาณ ๒๕๖๔"), false)
        .keys()
        .map(|idx| index.concepts[*idx].id.as_str())
        .collect();
    assert!(found.contains(&"fiscal_year"), "{found:?}");
    assert!(!found.contains(&"budget"), "{found:?}");
}

#[test]
fn unrelated_questions_find_nothing() {
    let (_, index) = index();
    assert_eq!(index.answer("ราคาข้าววันนี้เท่าไหร่"), Answer::NotFound);
    assert_eq!(index.answer("what's the weather like"), Answer::NotFound);
    assert_eq!(index.answer(""), Answer::NotFound);
}

#[test]
fn progress_alone_gives_the_overview() {
    let (_, index) = index();
    assert_eq!(index.answer("ความคืบหน้า"), Answer::Overview);
}

#[test]
fn approximate_matching_allows_the_given_number_of_edits() {
    let text: Vec<char> = "xxงบประมานxx".chars().collect();
    let term: Vec<char> = "งบประมาณ".chars().collect();
    assert!(approx_contains(&text, &term, 1));
    assert!(!approx_contains(&text, &term, 0));
}

#[test]
fn a_huge_question_is_cut_before_matching() {
    let (_, index) = index();
    let question = "งบประมาณ".repeat(10_000);
    assert_eq!(items(index.answer(&question))[0], "iit-1");
}
