//! The plan's Thai as a resident should read it: `measures.toml` keeps the seed's text
//! verbatim, spaces and all, and the seed comes from a PDF whose narrow table columns
//! wrapped lines in the middle of words and phrases ("อบต.บ้าน เพชร", "ผู้นำ ชุมชน").
//! `tidy_thai` takes out the spaces those wraps left and keeps the ones Thai writing
//! puts between clauses, around numbers, abbreviations and Latin words.
//! It only ever changes white space.

use crate::thai::words::Segmenter;

/// `text` with the spaces that line wraps broke into Thai words and phrases removed,
/// runs of white space written once (a run holding a line break as a line break), and
/// no white space at either end.
///
/// A space is removed only when it stands alone between two Thai letters and either a
/// word around it never has a space on that side (a space after "เพื่อ" or "การ", before
/// "ต่างๆ"), or the segmenter reads the two sides joined as fewer words, one of them
/// across the join ("บ้าน|เพชร" becomes "บ้านเพชร", "มีส่วน|ร่วม" becomes "มีส่วนร่วม").
/// A space before a conjunction that opens a clause ("แต่", "และ", "เพื่อ") or before
/// an abbreviation ("พ.ศ.", "อบต.") is kept.
#[must_use]
pub fn tidy_thai(text: &str, segmenter: &Segmenter) -> String {
    let chunks = chunks(text);
    let mut out = String::with_capacity(text.len());
    for (idx, &(start, end)) in chunks.iter().enumerate() {
        if idx > 0 {
            let (prev_start, prev_end) = chunks[idx - 1];
            let gap = &text[prev_end..start];
            if gap.contains('\n') {
                out.push('\n');
            } else if gap != " "
                || !is_broken(&text[prev_start..prev_end], &text[start..end], segmenter)
            {
                out.push(' ');
            }
        }
        out.push_str(&text[start..end]);
    }
    out
}

/// Words that take what follows them (nominalisers, prepositions, conjunctions, auxiliary
/// verbs): Thai writing never puts a space after one, so a space there is a line wrap.
/// "ว่า" is not here: "สัญญาว่า จะ..." is the plan's own style.
const BOUND_TO_NEXT: &[&str] = &[
    "การ",
    "ความ",
    "ผู้",
    "เพื่อ",
    "และ",
    "หรือ",
    "แต่",
    "ซึ่ง",
    "โดย",
    "ของ",
    "ใน",
    "จาก",
    "กับ",
    "แก่",
    "ให้",
    "ที่",
    "มี",
    "จะ",
    "อย่าง",
];

/// Words that attach to what comes before them: a space before one is a line wrap.
const BOUND_TO_PREVIOUS: &[&str] = &["ต่างๆ", "อย่าง"];

/// Conjunctions that open a clause, which Thai writing sets off with a space before
/// them: a space there is kept even when the words around it would join into one
/// ("แล้ว แต่" is "then, but", not "แล้วแต่", "it depends").
const CLAUSE_OPENERS: &[&str] = &[
    "และ",
    "หรือ",
    "แต่",
    "ซึ่ง",
    "เพื่อ",
    "โดย",
    "เช่น",
    "จึง",
    "ทั้งนี้",
    "ดังนั้น",
    "รวมถึง",
    "ตลอดจน",
    "พร้อมทั้ง",
    "ตั้งแต่",
    "เพราะ",
    "หาก",
    "ถ้า",
    "เพียงแต่",
    "อีกทั้ง",
    "นอกจากนี้",
];

/// Byte ranges of the runs of non-white-space characters of `text`.
fn chunks(text: &str) -> Vec<(usize, usize)> {
    let mut chunks = Vec::new();
    let mut start = None;
    for (idx, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(chunk_start)) => {
                chunks.push((chunk_start, idx));
                start = None;
            }
            (false, None) => start = Some(idx),
            _ => {}
        }
    }
    if let Some(chunk_start) = start {
        chunks.push((chunk_start, text.len()));
    }
    chunks
}

/// Whether the single space between the chunks `left` and `right` is a line wrap.
fn is_broken(left: &str, right: &str, segmenter: &Segmenter) -> bool {
    let tail = thai_tail(left);
    let head = thai_head(right);
    if tail.is_empty() || head.is_empty() {
        // Digits, Latin, punctuation, "ฯ" or "ๆ" beside the space: a real one.
        return false;
    }
    // "พ.ศ.", "อบต.", "ป.ป.ช.": Thai sets an abbreviation off with a space.
    if right[head.len()..].starts_with('.') {
        return false;
    }
    let left_words = segmenter.cut(tail);
    let right_words = segmenter.cut(head);
    let (Some(&last), Some(&first)) = (left_words.last(), right_words.first()) else {
        return false;
    };
    if CLAUSE_OPENERS.contains(&first) {
        return false;
    }
    if BOUND_TO_NEXT.contains(&last) || BOUND_TO_PREVIOUS.contains(&first) {
        return true;
    }
    // Joined, the sides must read as one word made of whole words of each side: a word
    // that only moves a boundary ("ปฏิบัติงาน|การ" read as "ปฏิบัติ|งานการ") is not one
    // the wrap broke.
    let joined = format!("{tail}{head}");
    let joined_words = segmenter.cut(&joined);
    let left_starts: Vec<usize> = spans(tail, &left_words)
        .into_iter()
        .map(|(start, _)| start)
        .collect();
    let right_ends: Vec<usize> = spans(head, &right_words)
        .into_iter()
        .map(|(_, end)| tail.len() + end)
        .collect();
    spans(&joined, &joined_words)
        .into_iter()
        .any(|(start, end)| {
            start < tail.len()
                && tail.len() < end
                && left_starts.contains(&start)
                && right_ends.contains(&end)
        })
}

/// The byte range in `text` of each of `words`, which are slices of it.
fn spans(text: &str, words: &[&str]) -> Vec<(usize, usize)> {
    let base = text.as_ptr() as usize;
    words
        .iter()
        .map(|word| {
            let start = word.as_ptr() as usize - base;
            (start, start + word.len())
        })
        .collect()
}

/// A Thai letter, vowel or tone mark: not a Thai digit, "ฯ", "ๆ" or "฿", which sit
/// beside real spaces.
fn is_thai_letter(c: char) -> bool {
    matches!(c, '\u{0E01}'..='\u{0E2E}' | '\u{0E30}'..='\u{0E3A}' | '\u{0E40}'..='\u{0E45}' | '\u{0E47}'..='\u{0E4E}')
}

/// The Thai letters that end `chunk`, with a "ๆ" they may hold ("ต่างๆ").
fn thai_tail(chunk: &str) -> &str {
    let start = chunk
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_thai_letter(c) || c == 'ๆ')
        .last()
        .map_or(chunk.len(), |(idx, _)| idx);
    let tail = &chunk[start..];
    if tail.ends_with('ๆ') {
        return "";
    }
    tail
}

/// The Thai letters that open `chunk`, with a "ๆ" they may hold ("ต่างๆ").
fn thai_head(chunk: &str) -> &str {
    if !chunk.starts_with(is_thai_letter) {
        return "";
    }
    let end = chunk
        .char_indices()
        .find(|&(_, c)| !is_thai_letter(c) && c != 'ๆ')
        .map_or(chunk.len(), |(idx, _)| idx);
    &chunk[..end]
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The office's name and some of the plan's terms, as the bot adds them.
    fn segmenter() -> Segmenter {
        Segmenter::new([
            "บ้านเพชร",
            "อบต",
            "ผู้นำชุมชน",
            "ชำนาญการ",
            "ใช้จ่ายงบประมาณ",
            "แผนการจัดซื้อจัดจ้าง",
        ])
    }

    fn squeezed(text: &str) -> String {
        text.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// Every Thai text of the shipped plan that residents are shown.
    fn shipped_texts() -> Vec<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/measures.toml");
        let source = std::fs::read_to_string(path).unwrap();
        let plan: toml::Table = toml::from_str(&source).unwrap();
        let mut texts = Vec::new();
        let strings = |value: Option<&toml::Value>| -> Vec<String> {
            match value {
                Some(toml::Value::String(text)) => vec![text.clone()],
                Some(toml::Value::Array(list)) => list
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let tables = |key: &str, table: &toml::Table| -> Vec<toml::Table> {
            table
                .get(key)
                .and_then(toml::Value::as_array)
                .map(|list| list.iter().filter_map(|v| v.as_table().cloned()).collect())
                .unwrap_or_default()
        };
        for assessment in tables("assessment", &plan) {
            texts.extend(strings(assessment.get("finding_th")));
        }
        for item in tables("item", &plan) {
            texts.extend(strings(item.get("weaknesses_th")));
            texts.extend(strings(item.get("guidelines_th")));
            for measure in tables("measure", &item) {
                texts.extend(strings(measure.get("th")));
                texts.extend(strings(measure.get("details_th")));
            }
        }
        texts
    }

    #[test]
    fn a_word_broken_by_a_line_wrap_is_joined() {
        let segmenter = segmenter();
        assert_eq!(
            tidy_thai(
                "ลงข้อมูลต่างๆในเว็บไซต์ของ อบต.บ้าน เพชร ปรับปรุงเว็บไซต์ให้เป็นปัจจุบัน",
                &segmenter
            ),
            "ลงข้อมูลต่างๆในเว็บไซต์ของ อบต.บ้านเพชร ปรับปรุงเว็บไซต์ให้เป็นปัจจุบัน"
        );
        assert_eq!(
            tidy_thai(
                "ส่งหนังสือประชาสัมพันธ์ข้อมูลให้ผู้นำ ชุมชน เช่น กำนันตำบล ผู้ใหญ่บ้าน เพื่อ ประชาสัมพันธ์ต่อไป",
                &segmenter
            ),
            "ส่งหนังสือประชาสัมพันธ์ข้อมูลให้ผู้นำชุมชน เช่น กำนันตำบล ผู้ใหญ่บ้าน เพื่อประชาสัมพันธ์ต่อไป"
        );
        assert_eq!(
            tidy_thai("เข้ามามีส่วนร่วมอย่าง ต่อเนื่อง", &segmenter),
            "เข้ามามีส่วนร่วมอย่างต่อเนื่อง"
        );
        assert_eq!(
            tidy_thai("ประชาคมเสนอโครงการ ต่างๆ", &segmenter),
            "ประชาคมเสนอโครงการต่างๆ"
        );
        assert_eq!(
            tidy_thai(
                "จัดทำแผนใช้จ่าย งบประมาณและแผนการ จัดซื้อจัดจ้างอย่างมีคุณภาพ",
                &segmenter
            ),
            "จัดทำแผนใช้จ่ายงบประมาณและแผนการจัดซื้อจัดจ้างอย่างมีคุณภาพ"
        );
    }

    #[test]
    fn real_spaces_stay() {
        let segmenter = segmenter();
        let text = "ผลคะแนนของตัวชี้วัด ด้านการป้องกันการทุจริต มีค่าต่ำสุด เท่ากับ ๓๗.๕๐ \
                    ผู้บริหารควรแสดงเจตจำนงหรือคำมั่นสัญญาว่า จะปฏิบัติงานด้วยความซื่อสัตย์สุจริต \
                    โปร่งใส และเป็นไปตามหลักธรรมาภิบาล การให้บริการ ณ จุดเดียว (one stop service) \
                    การเผยแพร่ข้อมูลนานแล้ว แต่ประชาชน อาจเข้าไม่ถึง ตั้งแต่ ป.ป.ช. ได้กำหนด \
                    มอบหมายให้นางนิภาพร โนนรุ่งเรือง ตำแหน่ง นักวิเคราะห์นโยบายและแผนชำนาญการ รับผิดชอบ";
        assert_eq!(tidy_thai(text, &segmenter), text);
    }

    #[test]
    fn runs_of_white_space_are_written_once() {
        let segmenter = segmenter();
        assert_eq!(
            tidy_thai("  ประจำปี   พ.ศ. ๒๕๖๔ \n รอบ ๖ เดือน ", &segmenter),
            "ประจำปี พ.ศ. ๒๕๖๔\nรอบ ๖ เดือน"
        );
    }

    #[test]
    fn the_shipped_plan_changes_only_in_white_space() {
        let segmenter = segmenter();
        let texts = shipped_texts();
        assert!(texts.len() > 30, "{} texts", texts.len());
        for text in &texts {
            let tidy = tidy_thai(text, &segmenter);
            assert_eq!(squeezed(&tidy), squeezed(text), "{tidy}");
            assert!(!tidy.contains("บ้าน เพชร"), "{tidy}");
            assert!(!tidy.contains("ผู้นำ ชุมชน"), "{tidy}");
        }
    }
}
