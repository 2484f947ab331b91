use chrono::TimeZone;

use super::*;

#[test]
fn thai_digits_become_ascii() {
    assert_eq!(normalize_digits("SG-๒๕๖๙-๐๐๐๑"), "SG-2569-0001");
    assert_eq!(normalize_digits("หมู่ที่ ๓"), "หมู่ที่ 3");
}

#[test]
fn buddhist_year_follows_bangkok_new_year() {
    // 31 Dec 2025 18:00 UTC is already 1 Jan 2026 in Bangkok: year 2569 BE.
    let at = Utc.with_ymd_and_hms(2025, 12, 31, 18, 0, 0).unwrap();
    assert_eq!(buddhist_year(at), 2569);
    let at = Utc.with_ymd_and_hms(2025, 12, 31, 16, 59, 0).unwrap();
    assert_eq!(buddhist_year(at), 2568);
}

#[test]
fn dates_are_shown_in_bangkok_time() {
    let at = Utc.with_ymd_and_hms(2026, 11, 25, 11, 5, 0).unwrap();
    assert_eq!(format_datetime(at, Lang::Th), "25 พ.ย. 2569 18:05 น.");
    assert_eq!(format_datetime(at, Lang::En), "25 Nov 2026 18:05");
}

#[test]
fn script_tells_the_language() {
    assert_eq!(detect_lang("สวัสดี"), Some(Lang::Th));
    assert_eq!(detect_lang("hello"), Some(Lang::En));
    assert_eq!(detect_lang("1234"), None);
}

#[test]
fn splitting_never_separates_a_thai_vowel_or_tone_mark() {
    // "ที่" is ท + ี + ่: no piece may start with ี or ่.
    let text = "ที่".repeat(700);
    let pieces = split_text(&text, 100, |_| 1);
    assert!(pieces.len() > 20);
    assert_eq!(pieces.concat(), text);
    for piece in &pieces {
        assert!(piece.chars().count() <= 100);
        assert!(!piece.chars().next().is_some_and(is_combining), "{piece}");
    }
}

#[test]
fn truncating_keeps_clusters_whole() {
    // Three characters fit before "…": ผ ู ้ is one cluster, kept whole.
    assert_eq!(truncate("ผู้ใหญ่บ้านหมู่ที่สาม", 4), "ผู้…");
    // Two would split it: the marks go with their consonant, not alone.
    assert_eq!(truncate("ที่ว่าการอำเภอ", 3), "ท…");
    assert_eq!(truncate("สั้น", 20), "สั้น");
}

/// The character-by-character truncation `truncate` replaced, kept as its reference.
fn truncate_by_chars(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut kept: Vec<char> = text.chars().take(max_chars.saturating_sub(1)).collect();
    while kept.len() > 1 && text.chars().nth(kept.len()).is_some_and(is_combining) {
        kept.pop();
    }
    let mut cut: String = kept.into_iter().collect();
    cut.push('…');
    cut
}

proptest::proptest! {
    #[test]
    fn truncating_cuts_where_it_did_char_by_char(
        text in "[กขคผูั้่ิีใหญบานมทสาม a-z\u{0301}]{0,40}",
        max_chars in 0usize..45,
    ) {
        proptest::prop_assert_eq!(truncate(&text, max_chars), truncate_by_chars(&text, max_chars));
    }
}
