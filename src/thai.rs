//! Thai text helpers: Thai digits, the Buddhist era, Bangkok time, script detection.

use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};

use crate::domain::Lang;

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

const THAI_MONTHS: [&str; 12] = [
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
const ENGLISH_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

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
            THAI_MONTHS[month_idx],
            local.year() + BE_OFFSET,
            local.hour(),
            local.minute()
        ),
        Lang::En => format!(
            "{} {} {} {:02}:{:02}",
            local.day(),
            ENGLISH_MONTHS[month_idx],
            local.year(),
            local.hour(),
            local.minute()
        ),
    }
}

#[cfg(test)]
mod tests;
