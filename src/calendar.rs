//! Working days at a Thai government office, and the deadlines of a case counted in them.
//!
//! A working day is a Monday to Friday that is not a government holiday; the holidays
//! come from `config/holidays.toml`, which the office extends every year. Days are
//! Bangkok dates (UTC+7 all year). A deadline of n working days is counted from the
//! day after the case was received, as Thai administrative practice counts, and falls
//! at the end of the n-th working day: the midnight that ends it, Bangkok time. That
//! instant is an exclusive bound: a case is on time strictly before it.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Datelike, Days, NaiveDate, TimeDelta, TimeZone, Utc, Weekday};
use serde::Deserialize;
use toml::Spanned;

use crate::domain::case::Case;
use crate::domain::Lang;

/// The government holidays on which the office is closed, besides Saturdays and Sundays.
#[derive(Clone, Debug, Default)]
pub struct Holidays {
    /// Each holiday with its names; `None` for dates given without names (tests).
    dates: BTreeMap<NaiveDate, Option<Names>>,
}

impl Holidays {
    /// Reads a holiday list (`config/holidays.toml`). A date that is not `YYYY-MM-DD`, a
    /// date listed twice or a missing name is an error naming the file and the line.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let source = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the holiday list {}", path.display()))?;
        Self::parse(&source).with_context(|| format!("invalid holiday list {}", path.display()))
    }

    /// No holidays: only Saturdays and Sundays are days off.
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// Holidays without names.
    #[must_use]
    pub fn from_dates(dates: impl IntoIterator<Item = NaiveDate>) -> Self {
        Self {
            dates: dates.into_iter().map(|date| (date, None)).collect(),
        }
    }

    /// Whether the office is open on `date`: a Monday to Friday that is not a holiday.
    #[must_use]
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        is_weekday(date) && !self.dates.contains_key(&date)
    }

    /// The holiday's name, if `date` is a named holiday.
    #[must_use]
    pub fn name(&self, date: NaiveDate, lang: Lang) -> Option<&str> {
        let names = self.dates.get(&date)?.as_ref()?;
        Some(match lang {
            Lang::Th => &names.th,
            Lang::En => &names.en,
        })
    }

    /// The last date the list knows: after it, only weekends count as days off, so the
    /// list needs extending.
    #[must_use]
    pub fn last_listed(&self) -> Option<NaiveDate> {
        self.dates.keys().next_back().copied()
    }

    /// The deadline for something received at `start`: the end of the n-th working day
    /// after its Bangkok date (the day of receipt does not count), that is the midnight
    /// that ends that day, Bangkok time. `n = 0` gives the end of the day of receipt.
    /// A deadline beyond chrono's range saturates at `DateTime::<Utc>::MAX_UTC`.
    #[must_use]
    pub fn add_working_days(&self, start: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        self.nth_working_day_after(bangkok_date(start), n)
            .and_then(end_of_day)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// How many working days lie after `from`'s Bangkok date, up to and including `to`'s:
    /// a case received on a Friday and resolved on the next Wednesday took 3. Zero when
    /// `to` is not after `from`.
    #[must_use]
    pub fn working_days_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        let first = bangkok_date(from);
        let last = bangkok_date(to);
        if to <= from || last <= first {
            return 0;
        }
        let n_weekdays = weekdays_through(last) - weekdays_through(first);
        n_weekdays - self.weekday_holidays(first, last)
    }

    /// The n-th working day after `date`, `date` itself for `n = 0`; `None` past chrono's
    /// last date.
    fn nth_working_day_after(&self, date: NaiveDate, n: u32) -> Option<NaiveDate> {
        // Jump over weekends by arithmetic, then once more for each holiday jumped over:
        // the holidays are few, so this ends after a handful of rounds, whatever `n`.
        let mut day = date;
        let mut n_remaining = i64::from(n);
        while n_remaining > 0 {
            let target = nth_weekday_after(day, n_remaining)?;
            n_remaining = self.weekday_holidays(day, target);
            day = target;
        }
        Some(day)
    }

    /// How many holidays fall on a Monday to Friday after `after`, up to and including
    /// `up_to` (which must not be before `after`).
    fn weekday_holidays(&self, after: NaiveDate, up_to: NaiveDate) -> i64 {
        let n_holidays = self
            .dates
            .range((Bound::Excluded(after), Bound::Included(up_to)))
            .filter(|(date, _)| is_weekday(**date))
            .count();
        i64::try_from(n_holidays).unwrap_or(i64::MAX)
    }

    fn parse(source: &str) -> anyhow::Result<Self> {
        let file: File = toml::from_str(source)?;
        let line_of = |offset: usize| source[..offset.min(source.len())].matches('\n').count() + 1;
        let mut dates = BTreeMap::new();
        let mut lines = BTreeMap::new();
        for entry in file.holidays {
            let line = line_of(entry.date.span().start);
            let text = entry.date.get_ref();
            let date = parse_date(text).with_context(|| {
                format!("line {line}: holiday `{text}` is not a date (expected YYYY-MM-DD)")
            })?;
            anyhow::ensure!(
                !entry.th.trim().is_empty() && !entry.en.trim().is_empty(),
                "line {line}: holiday {date} needs both a Thai (`th`) and an English (`en`) name"
            );
            if let Some(first_line) = lines.insert(date, line) {
                anyhow::bail!(
                    "line {line}: holiday {date} is listed twice (first on line {first_line})"
                );
            }
            let names = Names {
                th: entry.th,
                en: entry.en,
            };
            dates.insert(date, Some(names));
        }
        Ok(Self { dates })
    }
}

/// The date in Bangkok at the instant `at`.
#[must_use]
pub fn bangkok_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&crate::thai::bangkok()).date_naive()
}

/// The Bangkok date a deadline closes: the last day on which the case is on time, the
/// one to show a resident or staff ("by Wednesday 11 March").
#[must_use]
pub fn due_date(deadline: DateTime<Utc>) -> NaiveDate {
    let last_instant = deadline
        .checked_sub_signed(TimeDelta::nanoseconds(1))
        .unwrap_or(deadline);
    bangkok_date(last_instant)
}

/// How long a case may wait, in working days: `[deadlines]` in `config/tambon.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeadlineSettings {
    /// Working days to acknowledge a case (accept it, answer it or move it).
    pub accept_working_days: u32,
    /// Working days to resolve a case.
    pub resolve_working_days: u32,
    /// The holiday list, relative to the configuration file's folder.
    pub holidays: PathBuf,
    /// The hour (Bangkok time) at which each division's chat gets the day's reminder of
    /// overdue cases.
    pub reminder_hour: u32,
    /// Deadlines of particular categories, by category id; what a category leaves out
    /// comes from the defaults above.
    pub category: BTreeMap<String, CategoryDeadline>,
}

impl Default for DeadlineSettings {
    fn default() -> Self {
        Self {
            accept_working_days: 3,
            resolve_working_days: 15,
            holidays: PathBuf::from("holidays.toml"),
            reminder_hour: 8,
            category: BTreeMap::new(),
        }
    }
}

impl DeadlineSettings {
    /// Working days to acknowledge a case of `category`.
    #[must_use]
    pub fn accept_days(&self, category: &str) -> u32 {
        self.category
            .get(category)
            .and_then(|deadline| deadline.accept_working_days)
            .unwrap_or(self.accept_working_days)
    }

    /// Working days to resolve a case of `category`.
    #[must_use]
    pub fn resolve_days(&self, category: &str) -> u32 {
        self.category
            .get(category)
            .and_then(|deadline| deadline.resolve_working_days)
            .unwrap_or(self.resolve_working_days)
    }
}

/// One category's own deadlines (`[deadlines.category.<id>]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDeadline {
    pub accept_working_days: Option<u32>,
    pub resolve_working_days: Option<u32>,
}

/// A case's deadlines. Each is the midnight (Bangkok time) that ends the last allowed
/// working day: the case is on time strictly before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    pub accept_by: DateTime<Utc>,
    pub resolve_by: DateTime<Utc>,
}

/// The deadlines of `case`, counted from when it was filed, by its category.
#[must_use]
pub fn deadlines(settings: &DeadlineSettings, holidays: &Holidays, case: &Case) -> Deadlines {
    Deadlines {
        accept_by: holidays.add_working_days(case.created_at, settings.accept_days(&case.category)),
        resolve_by: holidays
            .add_working_days(case.created_at, settings.resolve_days(&case.category)),
    }
}

/// Which deadline an open case has missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overdue {
    /// Nobody acknowledged it in time, and nobody has yet.
    Acknowledgement,
    /// It is still open after its resolution deadline.
    Resolution,
}

/// Whether `case` is overdue at `now`. A closed case never is. An open case past its
/// resolution deadline is overdue for resolution, whatever else; one past its
/// acknowledgement deadline that staff have not acknowledged is overdue for
/// acknowledgement. Once acknowledged, even late, only the resolution deadline counts.
#[must_use]
pub fn overdue(
    settings: &DeadlineSettings,
    holidays: &Holidays,
    case: &Case,
    now: DateTime<Utc>,
) -> Option<Overdue> {
    if case.status.is_closed() {
        return None;
    }
    let due = deadlines(settings, holidays, case);
    if now >= due.resolve_by {
        Some(Overdue::Resolution)
    } else if now >= due.accept_by && case.acknowledged_at().is_none() {
        Some(Overdue::Acknowledgement)
    } else {
        None
    }
}

#[derive(Clone, Debug)]
struct Names {
    th: String,
    en: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, rename = "holiday")]
    holidays: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    date: Spanned<String>,
    th: String,
    en: String,
}

/// A date written exactly `YYYY-MM-DD`.
fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|date| date.format("%Y-%m-%d").to_string() == text)
}

fn is_weekday(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// How many Mondays to Fridays there are from 1 January of year 1 (a Monday) through
/// `date`; only differences between two dates mean anything.
fn weekdays_through(date: NaiveDate) -> i64 {
    let days_since_monday_one = i64::from(date.num_days_from_ce()) - 1;
    let whole_weeks = days_since_monday_one.div_euclid(7);
    let day_of_week = days_since_monday_one.rem_euclid(7);
    whole_weeks * 5 + (day_of_week + 1).min(5)
}

/// The n-th Monday-to-Friday after `date` (n ≥ 1), holidays aside.
fn nth_weekday_after(date: NaiveDate, n: i64) -> Option<NaiveDate> {
    // The weekdays after a Saturday or a Sunday are those after the Friday before it.
    let friday_or_weekday = match date.weekday() {
        Weekday::Sat => date.checked_sub_days(Days::new(1))?,
        Weekday::Sun => date.checked_sub_days(Days::new(2))?,
        _ => date,
    };
    let day_of_week = i64::from(friday_or_weekday.weekday().num_days_from_monday());
    let whole_weeks = n / 5;
    let n_rest = n % 5;
    let weekend = if day_of_week + n_rest > 4 { 2 } else { 0 };
    let n_days = whole_weeks.checked_mul(7)?.checked_add(n_rest + weekend)?;
    friday_or_weekday.checked_add_days(Days::new(u64::try_from(n_days).ok()?))
}

/// The midnight that ends `date` in Bangkok.
fn end_of_day(date: NaiveDate) -> Option<DateTime<Utc>> {
    let midnight = date.succ_opt()?.and_hms_opt(0, 0, 0)?;
    let local = crate::thai::bangkok()
        .from_local_datetime(&midnight)
        .single()?;
    Some(local.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::{CaseEventKind, Status};

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a test date")
    }

    /// An instant given in Bangkok time, `YYYY-MM-DD HH:MM`.
    fn bangkok(text: &str) -> DateTime<Utc> {
        let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
            .expect("a test date and time");
        crate::thai::bangkok()
            .from_local_datetime(&naive)
            .single()
            .expect("a fixed offset is never ambiguous")
            .with_timezone(&Utc)
    }

    /// The deadline that ends `day` in Bangkok: midnight, 17:00 UTC of `day`.
    fn end_of(day: &str) -> DateTime<Utc> {
        Utc.from_utc_datetime(&date(day).and_hms_opt(17, 0, 0).expect("17:00"))
    }

    fn shipped() -> Holidays {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/holidays.toml");
        Holidays::load(&path).expect("the shipped holiday list loads")
    }

    fn case(category: &str, created_at: DateTime<Utc>) -> Case {
        serde_json::from_value(serde_json::json!({
            "v": 1,
            "id": 1,
            "code": "CP-2569-0001",
            "kind": "complaint",
            "category": category,
            "division": "engineering",
            "text": "ไฟถนนดับ",
            "location": null,
            "photos": [],
            "contact": null,
            "reporter": null,
            "anonymous": false,
            "status": "received",
            "created_at": created_at,
            "events": [{ "at": created_at, "event": "filed" }],
        }))
        .expect("a test case")
    }

    #[test]
    fn friday_receipt_plus_three_working_days_ends_on_wednesday() {
        let received = bangkok("2026-03-06 10:00");
        assert_eq!(date("2026-03-06").weekday(), Weekday::Fri);
        let deadline = Holidays::empty().add_working_days(received, 3);
        assert_eq!(deadline, end_of("2026-03-11"));
        assert_eq!(due_date(deadline), date("2026-03-11"));
        assert_eq!(due_date(deadline).weekday(), Weekday::Wed);
    }

    #[test]
    fn the_deadline_is_the_midnight_that_ends_the_last_day_in_bangkok() {
        let deadline = Holidays::empty().add_working_days(bangkok("2026-03-06 10:00"), 3);
        assert_eq!(deadline, bangkok("2026-03-12 00:00"));
        assert_eq!(bangkok_date(deadline), date("2026-03-12"));
    }

    #[test]
    fn zero_working_days_is_the_end_of_the_day_of_receipt_even_on_a_holiday() {
        let holidays = Holidays::from_dates([date("2026-03-07"), date("2026-03-09")]);
        assert_eq!(
            holidays.add_working_days(bangkok("2026-03-09 08:00"), 0),
            end_of("2026-03-09")
        );
        assert_eq!(
            holidays.add_working_days(bangkok("2026-03-07 23:59"), 0),
            end_of("2026-03-07")
        );
    }

    #[test]
    fn a_holiday_in_the_span_pushes_the_deadline_one_working_day() {
        let received = bangkok("2026-03-06 10:00");
        let holidays = Holidays::from_dates([date("2026-03-10")]);
        assert_eq!(holidays.add_working_days(received, 3), end_of("2026-03-12"));
        // A holiday on a weekend changes nothing, nor does one after the deadline.
        let weekend_and_later = Holidays::from_dates([date("2026-03-08"), date("2026-03-12")]);
        assert_eq!(
            weekend_and_later.add_working_days(received, 3),
            end_of("2026-03-11")
        );
    }

    #[test]
    fn receipt_on_a_weekend_counts_from_the_monday() {
        let holidays = Holidays::empty();
        for received in ["2026-03-07 09:00", "2026-03-08 21:00"] {
            assert_eq!(
                holidays.add_working_days(bangkok(received), 1),
                end_of("2026-03-09"),
                "{received}"
            );
        }
    }

    #[test]
    fn the_day_of_receipt_is_the_bangkok_date_not_the_utc_date() {
        let holidays = Holidays::empty();
        // 23:30 on Monday in Bangkok is 16:30 UTC, still Monday.
        let late_monday = Utc.with_ymd_and_hms(2026, 3, 9, 16, 30, 0).unwrap();
        assert_eq!(late_monday, bangkok("2026-03-09 23:30"));
        assert_eq!(bangkok_date(late_monday), date("2026-03-09"));
        assert_eq!(
            holidays.add_working_days(late_monday, 1),
            end_of("2026-03-10")
        );
        // 00:30 on Tuesday in Bangkok is 17:30 UTC on Monday: it counts from Tuesday.
        let early_tuesday = Utc.with_ymd_and_hms(2026, 3, 9, 17, 30, 0).unwrap();
        assert_eq!(early_tuesday, bangkok("2026-03-10 00:30"));
        assert_eq!(bangkok_date(early_tuesday), date("2026-03-10"));
        assert_eq!(
            holidays.add_working_days(early_tuesday, 1),
            end_of("2026-03-11")
        );
    }

    #[test]
    fn songkran_2026_is_skipped() {
        let holidays = shipped();
        for day in ["2026-04-13", "2026-04-14", "2026-04-15"] {
            assert!(!holidays.is_working_day(date(day)), "{day}");
            assert_eq!(holidays.name(date(day), Lang::Th), Some("วันสงกรานต์"));
            assert_eq!(
                holidays.name(date(day), Lang::En),
                Some("Songkran Festival")
            );
        }
        // Received on Friday 10 April: 16, 17 and 20 April are the three working days.
        let deadline = holidays.add_working_days(bangkok("2026-04-10 14:00"), 3);
        assert_eq!(deadline, end_of("2026-04-20"));
        assert_eq!(
            holidays.working_days_between(bangkok("2026-04-10 14:00"), bangkok("2026-04-20 09:00")),
            3
        );
    }

    #[test]
    fn the_shipped_list_loads_and_every_weekend_holiday_has_its_substitution_day() {
        let holidays = shipped();
        assert!(holidays.dates.len() >= 40, "{}", holidays.dates.len());
        assert!(!holidays.is_working_day(date("2026-12-31")));
        assert_eq!(
            holidays.name(date("2026-12-31"), Lang::En),
            Some("New Year's Eve")
        );
        assert_eq!(holidays.last_listed(), Some(date("2027-12-31")));
        for (day, names) in &holidays.dates {
            let names = names.as_ref().expect("the shipped holidays have names");
            assert!(
                (2026..=2027).contains(&day.year()),
                "{day} is outside 2026-2027"
            );
            if names.en.ends_with(" (substitution)") {
                assert!(
                    is_weekday(*day),
                    "the substitution day {day} falls on a weekend"
                );
                assert!(names.th.starts_with("วันหยุดชดเชย"), "{day}: {}", names.th);
            }
            if is_weekday(*day) {
                continue;
            }
            // The substitution day is the next weekday that is not already a holiday.
            let substitution = format!("{} (substitution)", names.en);
            let next_free_weekday = (1..=14)
                .map(|n_days| *day + Days::new(n_days))
                .find(|later| {
                    is_weekday(*later)
                        && holidays
                            .name(*later, Lang::En)
                            .is_none_or(|name| name == substitution)
                })
                .expect("a free weekday within two weeks");
            assert_eq!(
                holidays.name(next_free_weekday, Lang::En),
                Some(substitution.as_str()),
                "{day} ({}) falls on a weekend: its substitution day should be {next_free_weekday}",
                names.en
            );
        }
    }

    #[test]
    fn a_bad_or_duplicate_date_names_the_file_and_the_line() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let path = folder.path().join("holidays.toml");
        let entry = |day: &str| {
            format!("[[holiday]]\ndate = \"{day}\"\nth = \"วันหยุด\"\nen = \"Holiday\"\n\n")
        };

        for bad in ["2026-02-30", "2026-4-06", "06/04/2026", ""] {
            std::fs::write(&path, entry("2026-01-01") + &entry(bad)).expect("write");
            let error = format!("{:#}", Holidays::load(&path).expect_err(bad));
            assert!(error.contains(&path.display().to_string()), "{error}");
            assert!(error.contains("line 7"), "{error}");
            assert!(error.contains(&format!("`{bad}`")), "{error}");
        }

        std::fs::write(
            &path,
            entry("2026-04-13") + &entry("2026-04-14") + &entry("2026-04-13"),
        )
        .expect("write");
        let error = format!("{:#}", Holidays::load(&path).expect_err("a duplicate"));
        assert!(error.contains(&path.display().to_string()), "{error}");
        assert!(
            error.contains("line 12: holiday 2026-04-13 is listed twice (first on line 2)"),
            "{error}"
        );

        std::fs::write(
            &path,
            "[[holiday]]\ndate = \"2026-04-13\"\nth = \"\"\nen = \"x\"\n",
        )
        .expect("write");
        let error = format!("{:#}", Holidays::load(&path).expect_err("a missing name"));
        assert!(
            error.contains("line 2: holiday 2026-04-13 needs"),
            "{error}"
        );

        std::fs::write(
            &path,
            entry("2026-04-13").replace("en =", "note = \"x\"\nen ="),
        )
        .expect("write");
        assert!(
            Holidays::load(&path).is_err(),
            "an unknown field is an error"
        );

        let error = format!(
            "{:#}",
            Holidays::load(&folder.path().join("missing.toml")).unwrap_err()
        );
        assert!(error.contains("missing.toml"), "{error}");
    }

    #[test]
    fn working_days_between_counts_after_the_first_date_through_the_last() {
        let holidays = Holidays::from_dates([date("2026-03-10")]);
        let friday = bangkok("2026-03-06 10:00");
        assert_eq!(
            Holidays::empty().working_days_between(friday, bangkok("2026-03-11 16:00")),
            3
        );
        assert_eq!(
            holidays.working_days_between(friday, bangkok("2026-03-11 16:00")),
            2
        );
        assert_eq!(
            holidays.working_days_between(friday, bangkok("2026-03-08 16:00")),
            0
        );
        assert_eq!(
            holidays.working_days_between(friday, bangkok("2026-03-06 23:59")),
            0
        );
        assert_eq!(holidays.working_days_between(friday, friday), 0);
        assert_eq!(
            holidays.working_days_between(bangkok("2026-03-11 16:00"), friday),
            0
        );
    }

    /// The arithmetic agrees with counting one day at a time, across weekends, the
    /// shipped holidays and year ends.
    #[test]
    fn the_arithmetic_agrees_with_counting_day_by_day() {
        let holidays = shipped();
        let mut start = date("2025-12-20");
        while start <= date("2027-12-31") {
            let received = bangkok(&format!("{start} 12:00"));
            let mut day = start;
            for n in 0..=40_u32 {
                if n > 0 {
                    day = day.succ_opt().unwrap();
                    while !holidays.is_working_day(day) {
                        day = day.succ_opt().unwrap();
                    }
                }
                let deadline = holidays.add_working_days(received, n);
                assert_eq!(deadline, end_of(&day.to_string()), "{start} + {n}");
                assert_eq!(
                    holidays.working_days_between(received, deadline - TimeDelta::seconds(1)),
                    i64::from(n),
                    "{start} .. {day}"
                );
            }
            start = start.succ_opt().unwrap();
        }
    }

    #[test]
    fn an_absurd_number_of_days_saturates_instead_of_panicking() {
        let far = Holidays::empty().add_working_days(bangkok("2026-03-06 10:00"), u32::MAX);
        assert_eq!(far, DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn deadline_settings_default_and_override_per_category() {
        let defaults: DeadlineSettings = toml::from_str("").unwrap();
        assert_eq!(defaults, DeadlineSettings::default());
        assert_eq!(defaults.accept_days("roads"), 3);
        assert_eq!(defaults.resolve_days("roads"), 15);
        assert_eq!(defaults.holidays, PathBuf::from("holidays.toml"));

        let settings: DeadlineSettings = toml::from_str(
            "resolve_working_days = 20\n\
             [category.streetlights]\naccept_working_days = 1\nresolve_working_days = 5\n\
             [category.roads]\naccept_working_days = 2\n",
        )
        .unwrap();
        assert_eq!(settings.accept_days("streetlights"), 1);
        assert_eq!(settings.resolve_days("streetlights"), 5);
        assert_eq!(settings.accept_days("roads"), 2);
        assert_eq!(settings.resolve_days("roads"), 20);
        assert_eq!(settings.accept_days("waste"), 3);
        assert_eq!(settings.resolve_days("waste"), 20);

        let received = bangkok("2026-03-06 10:00");
        let holidays = Holidays::empty();
        let streetlight = deadlines(&settings, &holidays, &case("streetlights", received));
        assert_eq!(streetlight.accept_by, end_of("2026-03-09"));
        assert_eq!(streetlight.resolve_by, end_of("2026-03-13"));
        let waste = deadlines(&settings, &holidays, &case("waste", received));
        assert_eq!(waste.accept_by, end_of("2026-03-11"));
        assert_eq!(waste.resolve_by, end_of("2026-04-03"));

        assert!(toml::from_str::<DeadlineSettings>("accept_days = 3").is_err());
        assert!(toml::from_str::<DeadlineSettings>("[category.roads]\naccept = 3").is_err());
    }

    #[test]
    fn overdue_rules() {
        let settings = DeadlineSettings::default();
        let holidays = Holidays::empty();
        // Received Friday 6 March 2026: acknowledge by the end of Wednesday 11 March,
        // resolve by the end of Friday 27 March.
        let received = bangkok("2026-03-06 10:00");
        let open = case("roads", received);
        assert_eq!(
            deadlines(&settings, &holidays, &open).resolve_by,
            end_of("2026-03-27")
        );

        let check = |case: &Case, now: &str| overdue(&settings, &holidays, case, bangkok(now));
        assert_eq!(check(&open, "2026-03-11 23:59"), None);
        assert_eq!(
            check(&open, "2026-03-12 00:00"),
            Some(Overdue::Acknowledgement)
        );
        assert_eq!(
            check(&open, "2026-03-27 23:59"),
            Some(Overdue::Acknowledgement)
        );
        assert_eq!(check(&open, "2026-03-28 00:00"), Some(Overdue::Resolution));

        // Acknowledged, even late: only the resolution deadline counts.
        let mut late = open.clone();
        late.status = Status::Accepted;
        late.record(
            bangkok("2026-03-20 09:00"),
            CaseEventKind::StatusChanged {
                to: Status::Accepted,
            },
        );
        assert_eq!(check(&late, "2026-03-20 10:00"), None);
        assert_eq!(check(&late, "2026-03-28 00:00"), Some(Overdue::Resolution));

        let mut answered = open.clone();
        answered.record(
            bangkok("2026-03-09 09:00"),
            CaseEventKind::StaffAnswer {
                text: "รับเรื่องแล้ว".to_owned(),
            },
        );
        assert_eq!(check(&answered, "2026-03-12 00:00"), None);

        // A closed case is never overdue.
        for status in [Status::Resolved, Status::Rejected, Status::Withdrawn] {
            let mut closed = open.clone();
            closed.status = status;
            assert_eq!(check(&closed, "2026-03-12 00:00"), None, "{status:?}");
            assert_eq!(check(&closed, "2026-06-01 00:00"), None, "{status:?}");
        }
    }
}
