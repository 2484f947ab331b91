//! Thai text helpers: Thai digits, the Buddhist era, Bangkok time, script detection.

use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};

use crate::domain::Lang;

pub mod segment;
pub mod terms;
pub mod words;

/// Asia/Bangkok is UTC+7 all year (Thailand has had no daylight saving time since 1920),
/// so a fixed offset is exact and spares us a time-zone database.
#[must_use]
pub fn bangkok() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("UTC+7 is a valid offset")
}

/// Offset between the Buddhist era and the common era.
pub const BE_OFFSET: i32 = 543;

#[must_use]
pub fn buddhist_year(at: DateTime<Utc>) -> u32 {
    u32::try_from(at.with_timezone(&bangkok()).year() + BE_OFFSET).unwrap_or(0)
}

/// Replaces Thai digits (๐-๙) with ASCII digits, leaving everything else as it is.
#[must_use]
pub fn normalize_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '๐'..='๙' => char::from_digit(c as u32 - '๐' as u32, 10).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Writes ASCII digits as Thai digits (๐-๙): the inverse of `normalize_digits`.
#[must_use]
pub fn to_thai_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(digit) if c.is_ascii_digit() => char::from_u32('๐' as u32 + digit).unwrap_or(c),
            _ => c,
        })
        .collect()
}

#[must_use]
pub fn is_thai(c: char) -> bool {
    ('\u{0E00}'..='\u{0E7F}').contains(&c)
}

/// The language a text is written in, if it tells: Thai script wins over Latin letters.
#[must_use]
pub fn detect_lang(text: &str) -> Option<Lang> {
    if text.chars().any(is_thai) {
        Some(Lang::Th)
    } else if text.chars().any(|c| c.is_ascii_alphabetic()) {
        Some(Lang::En)
    } else {
        None
    }
}

/// Whether `c` is a mark written over or under the character before it (Thai vowel and
/// tone marks, combining diacritics): a text must never be cut just before one.
#[must_use]
pub fn is_combining(c: char) -> bool {
    matches!(c, '\u{0E31}' | '\u{0E34}'..='\u{0E3A}' | '\u{0E47}'..='\u{0E4E}' | '\u{0300}'..='\u{036F}' | '\u{200D}' | '\u{FE0F}')
}

/// Splits a text into pieces of at most `max_units`, counting each character with
/// `units` (1 for characters, `char::len_utf16` for platforms that count UTF-16).
/// Prefers a line break, then a space, in the second half of a piece; never cuts a
/// character from its vowel or tone marks.
#[must_use]
pub fn split_text(text: &str, max_units: usize, units: impl Fn(char) -> usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.chars().map(&units).sum::<usize>() > max_units {
        let mut used = 0;
        let mut fit = 0;
        for (idx, c) in rest.char_indices() {
            used += units(c);
            if used > max_units {
                break;
            }
            fit = idx + c.len_utf8();
        }
        // Step back until the next character starts a new cluster.
        while fit > 0 && rest[fit..].chars().next().is_some_and(is_combining) {
            fit = rest[..fit]
                .char_indices()
                .next_back()
                .map_or(0, |(idx, _)| idx);
        }
        if fit == 0 {
            // One cluster longer than a piece: cut it anyway rather than loop.
            fit = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let window = &rest[..fit];
        let cut = window
            .rfind('\n')
            .or_else(|| window.rfind(' '))
            .filter(|&at| at > fit / 2)
            .map_or(fit, |at| at + 1);
        pieces.push(rest[..cut].trim_end().to_owned());
        rest = &rest[cut..];
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest.to_owned());
    }
    pieces
}

/// Shortens a text to at most `max_chars` characters, ending with "…", without
/// cutting a character from its marks.
#[must_use]
pub fn truncate(text: &str, max_chars: usize) -> String {
    // Walks no further than the limit: answers truncate long passages of the plan.
    if text.char_indices().nth(max_chars).is_none() {
        return text.to_owned();
    }
    let mut n_kept = max_chars.saturating_sub(1);
    let mut end = text
        .char_indices()
        .nth(n_kept)
        .map_or(text.len(), |(at, _)| at);
    // Marks after the cut would be left without their character: cut before it instead.
    while n_kept > 1 && text[end..].chars().next().is_some_and(is_combining) {
        end = text[..end]
            .char_indices()
            .next_back()
            .map_or(0, |(at, _)| at);
        n_kept -= 1;
    }
    let mut cut = String::with_capacity(end + '…'.len_utf8());
    cut.push_str(&text[..end]);
    cut.push('…');
    cut
}

/// Abbreviated Thai month names, January first.
pub const THAI_MONTHS_SHORT: [&str; 12] = [
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
];
/// Abbreviated English month names, January first.
pub const ENGLISH_MONTHS_SHORT: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A date for a resident, in Bangkok: `25 พ.ย. 2569` in Thai, `25 Nov 2026` in English.
#[must_use]
pub fn format_date(at: DateTime<Utc>, lang: Lang) -> String {
    let local = at.with_timezone(&bangkok());
    let month_idx = local.month0() as usize;
    match lang {
        Lang::Th => format!(
            "{} {} {}",
            local.day(),
            THAI_MONTHS_SHORT[month_idx],
            local.year() + BE_OFFSET
        ),
        Lang::En => format!(
            "{} {} {}",
            local.day(),
            ENGLISH_MONTHS_SHORT[month_idx],
            local.year()
        ),
    }
}

/// A date and time for a resident, in Bangkok time: `25 พ.ย. 2569 18:05 น.` in Thai (Buddhist
/// era), `25 Nov 2026 18:05` in English.
#[must_use]
pub fn format_datetime(at: DateTime<Utc>, lang: Lang) -> String {
    let local = at.with_timezone(&bangkok());
    let month_idx = local.month0() as usize;
    match lang {
        Lang::Th => format!(
            "{} {} {} {:02}:{:02} น.",
            local.day(),
            THAI_MONTHS_SHORT[month_idx],
            local.year() + BE_OFFSET,
            local.hour(),
            local.minute()
        ),
        Lang::En => format!(
            "{} {} {} {:02}:{:02}",
            local.day(),
            ENGLISH_MONTHS_SHORT[month_idx],
            local.year(),
            local.hour(),
            local.minute()
        ),
    }
}

#[cfg(test)]
mod tests;
