use super::*;
use crate::thai::words::Segmenter;

fn index() -> (KnowledgeBase, Index) {
    let divisions = [
        ("office", "สำนักปลัด", "Office of the Chief Administrator"),
        ("finance", "กองคลัง", "Finance Division"),
        ("engineering", "กองช่าง", "Engineering Division"),
        ("welfare", "กองสวัสดิการสังคม", "Social Welfare Division"),
        ("education", "กองการศึกษาฯ", "Education Division"),
    ];
    let ids: Vec<&str> = divisions.iter().map(|d| d.0).collect();
    let kb = KnowledgeBase::parse(include_str!("../../../config/measures.toml"), &ids).unwrap();
    let vocabulary = Vocabulary::parse(include_str!("../../../config/vocabulary.toml")).unwrap();
    let terms: Vec<&str> = vocabulary.terms().collect();
    let segmenter = Segmenter::with_terms(terms.clone(), terms);
    let index = Index::build(
        &vocabulary,
        Sources {
            kb: &kb,
            divisions: &divisions,
            spellings: &[],
            segmenter,
        },
    );
    (kb, index)
}

fn items(answer: Answer) -> Vec<String> {
    match answer {
        Answer::Items { ids, .. } => ids,
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
    let reading = index.read("ปีงบประมาณ ๒๕๖๔");
    let found: Vec<&str> = reading
        .concepts
        .keys()
        .map(|idx| index.concept_ids[*idx].as_str())
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
fn words_are_matched_whole_not_inside_other_words() {
    let (_, index) = index();
    // "งบ" is inside "ทำไงบ้าง", "ไอที" inside "โอไอที": neither is asked about.
    assert_eq!(index.answer("ทำไงบ้าง"), Answer::NotFound);
    assert_eq!(
        index.answer("คะแนนโอไอทีเท่าไหร่"),
        Answer::Scores(vec!["oit".to_owned()])
    );
    // A Latin acronym glued to Thai is still a word.
    let Answer::Items { ids, aspect } = index.answer("ใครดูแลเรื่องITAคะ")
    else {
        panic!("expected items");
    };
    assert_eq!(ids, ["oit-2"]);
    assert_eq!(aspect, Aspect::Responsible);
}

#[test]
fn the_aspect_asked_shapes_the_answer() {
    let (_, index) = index();
    let aspect = |q: &str| match index.answer(q) {
        Answer::Items { aspect, .. } => aspect,
        other => panic!("{q}: expected items, got {other:?}"),
    };
    assert_eq!(
        aspect("who handles the budget report?"),
        Aspect::Responsible
    );
    assert_eq!(aspect("แผนจัดซื้อจัดจ้างปี๖๔ทำแล้วยัง"), Aspect::Status);
    assert_eq!(aspect("อบต.มีเฟสบุ๊คมั้ย"), Aspect::Channels);
    assert_eq!(
        index.answer("EIT คืออะไร"),
        Answer::Meaning(vec!["eit".to_owned()])
    );
}

#[test]
fn short_years_read_as_buddhist_era() {
    let (_, index) = index();
    let reading = index.read("รายงานปี๖๓");
    assert!(
        reading
            .concepts
            .keys()
            .any(|idx| index.concept_ids[*idx] == "year_2563"),
        "{}",
        index.explain("รายงานปี๖๓")
    );
}

#[test]
fn a_huge_question_is_cut_before_matching() {
    let (_, index) = index();
    let question = "งบประมาณ".repeat(10_000);
    assert_eq!(items(index.answer(&question))[0], "iit-1");
}
