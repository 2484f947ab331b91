//! The yearly statistics the office publishes for the ITA's OIT assessment: the cases
//! received in one Thai fiscal year (1 October to 30 September, named by its Buddhist-era
//! year) by channel, kind, category and month, what became of them, how residents rated
//! them, and the bare counts of corruption complaints, which are never described.
//!
//! `year_report` computes a `YearReport` from plain cases (no I/O); `to_csv` (for Excel),
//! `to_html` (a printable A4 page) and `to_text` (the CLI) render it, all three from the
//! same list of sections so they never disagree.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::config::Settings;
use crate::domain::case::{Case, CaseKind, Status};
use crate::domain::{Channel, Lang};
use crate::thai;

/// What a Thai report says when the year had no corruption complaint.
pub const NO_CORRUPTION_TH: &str = "ไม่มีเรื่องร้องเรียนการทุจริต";

/// The statistics of one fiscal year, as the cases stood at `as_of`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct YearReport {
    /// The fiscal year in the Buddhist era: 2569 runs from 1 October 2025 to 30 September
    /// 2026, Bangkok time.
    pub year_be: u32,
    /// The first instant of the year: 1 October, 00:00 in Bangkok.
    pub start: DateTime<Utc>,
    /// The first instant after the year: the next 1 October, 00:00 in Bangkok.
    pub end: DateTime<Utc>,
    /// When the figures were taken: statuses and ratings are those the cases had then.
    pub as_of: DateTime<Utc>,
    /// Every case received in the year, corruption complaints included.
    pub received: u32,
    /// Cases received per channel, corruption complaints included (a bare number). Every
    /// channel is listed, in a fixed order; `channel: None` counts cases whose channel was
    /// not recorded.
    pub by_channel: Vec<ChannelCount>,
    /// Cases received per kind, corruption complaints included (a bare number). Every
    /// kind is listed.
    pub by_kind: Vec<KindCount>,
    /// Cases received per category id, most first. Corruption complaints are left out:
    /// their categories (bribery, procurement…) would describe them.
    pub by_category: Vec<CategoryCount>,
    /// Cases received in each of the 12 months, in fiscal order (October first).
    /// Corruption complaints are left out: no date of theirs is published, only their
    /// count per half-year in `corruption`.
    pub by_month: Vec<MonthCount>,
    /// What became of the cases that are not corruption complaints.
    pub outcomes: Outcomes,
    /// How residents rated the cases that are not corruption complaints.
    pub satisfaction: Satisfaction,
    /// Corruption complaints: counts only.
    pub corruption: Corruption,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChannelCount {
    /// `None`: the case's channel was not recorded.
    pub channel: Option<Channel>,
    pub count: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KindCount {
    pub kind: CaseKind,
    pub count: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CategoryCount {
    /// The category id, as in the configuration.
    pub category: String,
    pub count: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonthCount {
    /// The calendar year of the month, Buddhist era (October 2025 is in 2568).
    pub year_be: u32,
    /// The calendar month, 1 to 12.
    pub month: u32,
    pub count: u32,
}

/// What became of the year's cases that are not corruption complaints, at `as_of`:
/// `received = resolved + rejected + withdrawn + open`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Outcomes {
    pub received: u32,
    pub resolved: u32,
    pub rejected: u32,
    pub withdrawn: u32,
    /// Received, accepted or in progress.
    pub open: u32,
    /// The median time from filing to resolution of the resolved cases, in days of 24
    /// hours (calendar days, not working days), to one decimal; `None` if none is resolved.
    pub median_days_to_resolve: Option<f64>,
    /// How many times residents said a resolved case was not fixed, summed over the cases.
    pub reopened: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Satisfaction {
    /// How many cases were rated.
    pub ratings: u32,
    /// The mean rating, 1 to 5, to one decimal; `None` without ratings.
    pub mean: Option<f64>,
    /// How many ratings gave 1, 2, 3, 4 and 5 stars (index 0 is 1 star).
    pub distribution: [u32; 5],
}

/// Corruption complaints, as bare counts: nothing that could describe one (text,
/// category, code, division, date) is kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Corruption {
    pub total: u32,
    /// Resolved or rejected.
    pub done: u32,
    /// Neither done nor withdrawn.
    pub in_progress: u32,
    pub withdrawn: u32,
    /// Received October to March.
    pub first_half: u32,
    /// Received April to September.
    pub second_half: u32,
}

impl YearReport {
    /// Whether the fiscal year was over when the figures were taken.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.as_of >= self.end
    }

    /// How many cases of `kind` were received.
    #[must_use]
    pub fn received_of(&self, kind: CaseKind) -> u32 {
        self.by_kind
            .iter()
            .find(|count| count.kind == kind)
            .map_or(0, |count| count.count)
    }
}

/// The statistics of the fiscal year `year_be` (Buddhist era) from every case the office
/// holds, as they stand at `now`: a case counts in the year it was filed, in Bangkok time.
/// A year outside 544..=10542 (1 to 9999 CE) is brought to the nearest end of that range;
/// the CLI checks the year typed.
#[must_use]
pub fn year_report(
    cases: impl IntoIterator<Item = Case>,
    year_be: u32,
    now: DateTime<Utc>,
) -> YearReport {
    let year_be = year_be.clamp(MIN_YEAR_BE, MAX_YEAR_BE);
    let (start, end) = fiscal_year_bounds(year_be);
    let mut tally = Tally::default();
    for case in cases {
        if case.created_at < start || case.created_at >= end {
            continue;
        }
        tally.add(&case);
    }
    tally.into_report(year_be, start, end, now)
}

/// The fiscal year (Buddhist era) that `now` falls in, in Bangkok time: from 1 October
/// it is the next calendar year's (1 October 2025 is in fiscal year 2569).
#[must_use]
pub fn current_fiscal_year_be(now: DateTime<Utc>) -> u32 {
    let month = now.with_timezone(&thai::bangkok()).month();
    thai::buddhist_year(now) + u32::from(month >= 10)
}

/// The report as CSV for Excel: the UTF-8 byte-order mark, CRLF line ends, and one row
/// per figure as `section,item,value`, labelled in `lang` (category ids become their
/// names). With `thai_digits` the figures and dates are written in Thai digits; names
/// from the configuration are kept as they are.
#[must_use]
pub fn to_csv(report: &YearReport, settings: &Settings, lang: Lang, thai_digits: bool) -> String {
    let page = Page::new(report, settings, lang, thai_digits);
    let mut csv = String::from("\u{feff}");
    let mut row = |cells: [&str; 3]| {
        let line: Vec<String> = cells.iter().map(|cell| csv_field(cell)).collect();
        csv.push_str(&line.join(","));
        csv.push_str("\r\n");
    };
    let (section, item, value) = match lang {
        Lang::Th => ("หัวข้อ", "รายการ", "ค่า"),
        Lang::En => ("section", "item", "value"),
    };
    row([section, item, value]);
    let about = pick(lang, "รายงาน", "report");
    row([about, pick(lang, "หน่วยงาน", "office"), &page.office]);
    row([about, pick(lang, "ชื่อรายงาน", "title"), &page.title]);
    row([about, pick(lang, "ช่วงเวลา", "period"), &page.period]);
    row([about, pick(lang, "ข้อมูล ณ", "as of"), &page.as_of]);
    let note = pick(lang, "หมายเหตุ", "note");
    for section in &page.sections {
        if let Some(statement) = &section.statement {
            row([&section.heading, note, statement]);
        }
        for line in &section.rows {
            row([&section.heading, &line.label, &line.value]);
        }
        for text in &section.notes {
            row([&section.heading, note, text]);
        }
    }
    csv
}

/// The report as a complete, self-contained HTML page to print on A4: the office's name,
/// the title with the fiscal year, and one table per section. Everything from the data
/// is HTML-escaped.
///
/// # Panics
///
/// If the embedded template is broken, which the unit tests would have shown.
#[must_use]
pub fn to_html(report: &YearReport, settings: &Settings, lang: Lang, thai_digits: bool) -> String {
    let page = Page::new(report, settings, lang, thai_digits);
    let mut env = minijinja::Environment::empty();
    // `empty` escapes nothing by default; `.html` templates must be escaped.
    env.set_auto_escape_callback(minijinja::default_auto_escape_callback);
    env.add_template(TEMPLATE_NAME, TEMPLATE)
        .expect("the report template parses");
    env.get_template(TEMPLATE_NAME)
        .and_then(|template| template.render(minijinja::Value::from_serialize(&page)))
        .expect("the report template renders")
}

/// The report as plain text for the terminal (`tambon report --year 2569`).
#[must_use]
pub fn to_text(report: &YearReport, settings: &Settings, lang: Lang) -> String {
    let page = Page::new(report, settings, lang, false);
    let mut text = String::new();
    for line in [&page.office, &page.title, &page.period, &page.as_of] {
        text.push_str(line);
        text.push('\n');
    }
    for section in &page.sections {
        let _ = write!(text, "\n{}\n", section.heading);
        if let Some(statement) = &section.statement {
            let _ = writeln!(text, "  {statement}");
        }
        for row in &section.rows {
            let _ = writeln!(text, "  {}: {}", row.label, row.value);
        }
        for note in &section.notes {
            let _ = writeln!(text, "  * {note}");
        }
    }
    text
}

const TEMPLATE_NAME: &str = "report.html";
const TEMPLATE: &str = include_str!("report.html");

/// The years chrono can name in the common era, 1 to 9999, in the Buddhist era.
const MIN_YEAR_BE: u32 = 544;
const MAX_YEAR_BE: u32 = 10_542;

/// The order channels are listed in: the platforms residents use most first.
const CHANNEL_ORDER: [Channel; 6] = [
    Channel::Line,
    Channel::Messenger,
    Channel::Telegram,
    Channel::Web,
    Channel::Terminal,
    Channel::Dashboard,
];

const KINDS: [CaseKind; 4] = [
    CaseKind::Suggestion,
    CaseKind::Complaint,
    CaseKind::Corruption,
    CaseKind::Question,
];

const THAI_MONTHS: [&str; 12] = [
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
];
use crate::thai::{to_thai_digits, THAI_MONTHS_SHORT};
const ENGLISH_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The first instant of fiscal year `year_be` and the first instant after it, in UTC.
fn fiscal_year_bounds(year_be: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let year_ce = i32::try_from(year_be).unwrap_or(i32::MAX) - thai::BE_OFFSET;
    let first_of_october = |year: i32| {
        thai::bangkok()
            .with_ymd_and_hms(year, 10, 1, 0, 0, 0)
            .single()
            .expect("1 October 00:00 exists at a fixed offset")
            .with_timezone(&Utc)
    };
    (first_of_october(year_ce - 1), first_of_october(year_ce))
}

/// The month's place in the fiscal year, 0 (October) to 11 (September), in Bangkok time.
fn fiscal_month(at: DateTime<Utc>) -> usize {
    let month0 = at.with_timezone(&thai::bangkok()).month0() as usize;
    (month0 + 3) % 12
}

/// The counts gathered while the cases go by.
#[derive(Default)]
struct Tally {
    received: u32,
    by_channel: HashMap<Option<Channel>, u32>,
    by_kind: [u32; 4],
    by_category: BTreeMap<String, u32>,
    by_month: [u32; 12],
    outcomes: Outcomes,
    days_to_resolve: Vec<f64>,
    rating_sum: u32,
    satisfaction: Satisfaction,
    corruption: Corruption,
}

impl Tally {
    fn add(&mut self, case: &Case) {
        self.received += 1;
        *self.by_channel.entry(case.channel).or_default() += 1;
        if let Some(idx) = KINDS.iter().position(|&kind| kind == case.kind) {
            self.by_kind[idx] += 1;
        }
        let month_idx = fiscal_month(case.created_at);
        if case.kind == CaseKind::Corruption {
            // Counts only: nothing else of a corruption complaint is read.
            let corruption = &mut self.corruption;
            corruption.total += 1;
            match case.status {
                Status::Resolved | Status::Rejected => corruption.done += 1,
                Status::Withdrawn => corruption.withdrawn += 1,
                Status::Received | Status::Accepted | Status::InProgress => {
                    corruption.in_progress += 1;
                }
            }
            if month_idx < 6 {
                corruption.first_half += 1;
            } else {
                corruption.second_half += 1;
            }
            return;
        }
        self.by_month[month_idx] += 1;
        *self.by_category.entry(case.category.clone()).or_default() += 1;
        let outcomes = &mut self.outcomes;
        outcomes.received += 1;
        outcomes.reopened += case.reopen_count;
        match case.status {
            Status::Resolved => outcomes.resolved += 1,
            Status::Rejected => outcomes.rejected += 1,
            Status::Withdrawn => outcomes.withdrawn += 1,
            Status::Received | Status::Accepted | Status::InProgress => outcomes.open += 1,
        }
        if let Some(resolved_at) = case.resolved_at() {
            let seconds = (resolved_at - case.created_at).num_seconds().max(0);
            #[allow(clippy::cast_precision_loss)] // Seconds of a case's life fit in f64.
            self.days_to_resolve.push(seconds as f64 / 86_400.0);
        }
        if let Some(stars @ 1..=5) = case.rating {
            self.satisfaction.ratings += 1;
            self.satisfaction.distribution[usize::from(stars - 1)] += 1;
            self.rating_sum += u32::from(stars);
        }
    }

    fn into_report(
        mut self,
        year_be: u32,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        as_of: DateTime<Utc>,
    ) -> YearReport {
        let mut channels: Vec<Channel> = CHANNEL_ORDER.to_vec();
        channels.extend(Channel::ALL.iter().filter(|c| !CHANNEL_ORDER.contains(c)));
        let by_channel = channels
            .into_iter()
            .map(Some)
            .chain([None])
            .map(|channel| ChannelCount {
                channel,
                count: self.by_channel.get(&channel).copied().unwrap_or(0),
            })
            .collect();
        let by_kind = KINDS
            .iter()
            .zip(self.by_kind)
            .map(|(&kind, count)| KindCount { kind, count })
            .collect();
        let mut by_category: Vec<CategoryCount> = self
            .by_category
            .into_iter()
            .map(|(category, count)| CategoryCount { category, count })
            .collect();
        // Most first; the map already ordered equal counts by id.
        by_category.sort_by_key(|count| std::cmp::Reverse(count.count));
        let first_month = start.with_timezone(&thai::bangkok()).date_naive();
        let by_month = (0..12u32)
            .zip(self.by_month)
            .map(|(idx, count)| {
                let date = first_month
                    .checked_add_months(chrono::Months::new(idx))
                    .unwrap_or(first_month);
                MonthCount {
                    year_be: u32::try_from(date.year() + thai::BE_OFFSET).unwrap_or(0),
                    month: date.month(),
                    count,
                }
            })
            .collect();
        self.outcomes.median_days_to_resolve = median(&mut self.days_to_resolve).map(one_decimal);
        if self.satisfaction.ratings > 0 {
            self.satisfaction.mean = Some(one_decimal(
                f64::from(self.rating_sum) / f64::from(self.satisfaction.ratings),
            ));
        }
        YearReport {
            year_be,
            start,
            end,
            as_of,
            received: self.received,
            by_channel,
            by_kind,
            by_category,
            by_month,
            outcomes: self.outcomes,
            satisfaction: self.satisfaction,
            corruption: self.corruption,
        }
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

fn one_decimal(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn pick(lang: Lang, th: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Th => th,
        Lang::En => en,
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break. A field that Excel
/// would read as a formula (`=`, `+`, `-`, `@` followed by more) is prefixed with `'`.
fn csv_field(text: &str) -> String {
    let formula =
        text.len() > 1 && text.starts_with(['=', '+', '-', '@']) || text.starts_with(['\t', '\r']);
    let text = if formula {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// What every rendering shows, with labels in one language and figures already written.
#[derive(Serialize)]
struct Page {
    lang: &'static str,
    office: String,
    title: String,
    period: String,
    as_of: String,
    item_header: &'static str,
    value_header: &'static str,
    sections: Vec<Section>,
}

#[derive(Serialize)]
struct Section {
    /// A stable id, for the HTML anchor.
    id: &'static str,
    heading: String,
    /// A sentence shown before the table ("no corruption complaints").
    statement: Option<String>,
    rows: Vec<Row>,
    notes: Vec<String>,
}

#[derive(Serialize)]
struct Row {
    label: String,
    value: String,
    /// A total, shown in bold.
    total: bool,
}

impl Row {
    fn new(label: impl Into<String>, value: String) -> Self {
        Self {
            label: label.into(),
            value,
            total: false,
        }
    }

    fn total(label: impl Into<String>, value: String) -> Self {
        Self {
            total: true,
            ..Self::new(label, value)
        }
    }
}

/// Writes what the report generates (figures, dates, its own labels) in Thai digits
/// when asked; names from the configuration are never changed.
struct Writer {
    lang: Lang,
    thai_digits: bool,
}

impl Writer {
    fn text(&self, text: String) -> String {
        if self.thai_digits {
            to_thai_digits(&text)
        } else {
            text
        }
    }

    fn int(&self, value: u32) -> String {
        self.text(value.to_string())
    }

    fn decimal(&self, value: Option<f64>) -> String {
        value.map_or_else(|| "-".to_owned(), |v| self.text(format!("{v:.1}")))
    }

    fn date(&self, date: NaiveDate) -> String {
        let month0 = date.month0() as usize;
        self.text(match self.lang {
            Lang::Th => format!(
                "{} {} {}",
                date.day(),
                THAI_MONTHS[month0],
                date.year() + thai::BE_OFFSET
            ),
            Lang::En => format!("{} {} {}", date.day(), ENGLISH_MONTHS[month0], date.year()),
        })
    }

    /// `ต.ค. 2568`, `Oct 2025`.
    fn month(&self, month: u32, year_be: u32) -> String {
        let month0 = month.clamp(1, 12) as usize - 1;
        self.text(match self.lang {
            Lang::Th => format!("{} {year_be}", THAI_MONTHS_SHORT[month0]),
            Lang::En => format!(
                "{} {}",
                &ENGLISH_MONTHS[month0][..3],
                i64::from(year_be) - i64::from(thai::BE_OFFSET)
            ),
        })
    }
}

impl Page {
    fn new(report: &YearReport, settings: &Settings, lang: Lang, thai_digits: bool) -> Self {
        let writer = Writer { lang, thai_digits };
        let bangkok = thai::bangkok();
        let first_day = report.start.with_timezone(&bangkok).date_naive();
        let last_day = first_day
            .checked_add_months(chrono::Months::new(12))
            .and_then(|next| next.pred_opt())
            .unwrap_or(first_day);
        let year_ce = i64::from(report.year_be) - i64::from(thai::BE_OFFSET);
        let title = writer.text(match lang {
            Lang::Th => format!(
                "สถิติเรื่องร้องเรียน/ข้อเสนอแนะ ประจำปีงบประมาณ พ.ศ. {}",
                report.year_be
            ),
            Lang::En => format!(
                "Complaints and suggestions: statistics of fiscal year {year_ce} (B.E. {})",
                report.year_be
            ),
        });
        let period = match lang {
            Lang::Th => format!(
                "ระหว่างวันที่ {} ถึงวันที่ {}",
                writer.date(first_day),
                writer.date(last_day)
            ),
            Lang::En => format!(
                "From {} to {}",
                writer.date(first_day),
                writer.date(last_day)
            ),
        };
        let mut as_of = writer.text(match lang {
            Lang::Th => format!("ข้อมูล ณ วันที่ {}", thai::format_datetime(report.as_of, lang)),
            Lang::En => format!(
                "Figures as of {} (Bangkok time)",
                thai::format_datetime(report.as_of, lang)
            ),
        });
        if !report.is_complete() {
            as_of.push_str(pick(
                lang,
                " (ปีงบประมาณยังไม่สิ้นสุด)",
                "; the fiscal year is not over",
            ));
        }
        Self {
            lang: lang.code(),
            office: settings.office.name(lang).to_owned(),
            title,
            period,
            as_of,
            item_header: pick(lang, "รายการ", "Item"),
            value_header: pick(lang, "จำนวน", "Count"),
            sections: vec![
                kind_section(report, &writer),
                channel_section(report, &writer),
                month_section(report, &writer),
                category_section(report, settings, &writer),
                outcome_section(report, &writer),
                satisfaction_section(report, &writer),
                corruption_section(report, &writer),
            ],
        }
    }
}

const NOT_CORRUPTION_TH: &str = " (ไม่รวมเรื่องร้องเรียนการทุจริต)";
const NOT_CORRUPTION_EN: &str = " (corruption complaints excluded)";

fn heading(lang: Lang, th: &str, en: &str, without_corruption: bool) -> String {
    let (text, suffix) = match lang {
        Lang::Th => (th, NOT_CORRUPTION_TH),
        Lang::En => (en, NOT_CORRUPTION_EN),
    };
    if without_corruption {
        format!("{text}{suffix}")
    } else {
        text.to_owned()
    }
}

fn kind_section(report: &YearReport, writer: &Writer) -> Section {
    let lang = writer.lang;
    let mut rows: Vec<Row> = report
        .by_kind
        .iter()
        .map(|count| Row::new(kind_name(count.kind, lang), writer.int(count.count)))
        .collect();
    rows.push(Row::total(
        pick(lang, "รวมทั้งหมด", "Total"),
        writer.int(report.received),
    ));
    Section {
        id: "kinds",
        heading: heading(lang, "จำแนกตามประเภทเรื่อง", "By kind", false),
        statement: None,
        rows,
        notes: Vec::new(),
    }
}

fn channel_section(report: &YearReport, writer: &Writer) -> Section {
    let lang = writer.lang;
    let mut rows: Vec<Row> = report
        .by_channel
        .iter()
        // Channels residents rarely use are shown only when they were used.
        .filter(|count| {
            count.count > 0
                || matches!(
                    count.channel,
                    Some(Channel::Line | Channel::Messenger | Channel::Telegram | Channel::Web)
                )
        })
        .map(|count| Row::new(channel_name(count.channel, lang), writer.int(count.count)))
        .collect();
    rows.push(Row::total(
        pick(lang, "รวมทั้งหมด", "Total"),
        writer.int(report.received),
    ));
    Section {
        id: "channels",
        heading: heading(lang, "จำแนกตามช่องทางที่รับเรื่อง", "By channel", false),
        statement: None,
        rows,
        notes: Vec::new(),
    }
}

fn month_section(report: &YearReport, writer: &Writer) -> Section {
    let lang = writer.lang;
    let mut rows: Vec<Row> = report
        .by_month
        .iter()
        .map(|count| {
            Row::new(
                writer.month(count.month, count.year_be),
                writer.int(count.count),
            )
        })
        .collect();
    let first_half: u32 = report.by_month.iter().take(6).map(|m| m.count).sum();
    let second_half: u32 = report.by_month.iter().skip(6).map(|m| m.count).sum();
    let (first_label, second_label) = half_labels(report, writer);
    rows.push(Row::total(first_label, writer.int(first_half)));
    rows.push(Row::total(second_label, writer.int(second_half)));
    rows.push(Row::total(
        pick(lang, "รวมทั้งปี", "Whole year"),
        writer.int(first_half + second_half),
    ));
    Section {
        id: "months",
        heading: heading(lang, "จำแนกตามเดือนที่รับเรื่อง", "By month received", true),
        statement: None,
        rows,
        notes: vec![pick(
            lang,
            "เรื่องร้องเรียนการทุจริตแสดงเฉพาะจำนวนรายครึ่งปี ในหัวข้อเรื่องร้องเรียนการทุจริต",
            "Corruption complaints are counted per half-year only, in their own section.",
        )
        .to_owned()],
    }
}

fn category_section(report: &YearReport, settings: &Settings, writer: &Writer) -> Section {
    let lang = writer.lang;
    let count_of = |id: &str| {
        report
            .by_category
            .iter()
            .find(|count| count.category == id)
            .map_or(0, |count| count.count)
    };
    let mut listed = HashSet::new();
    let mut rows = Vec::new();
    // Every category residents can file an ordinary case under, in the configured order;
    // categories only corruption complaints use are never named.
    for category in &settings.categories {
        if category
            .kinds
            .iter()
            .all(|&kind| kind == CaseKind::Corruption)
        {
            continue;
        }
        listed.insert(category.id.as_str());
        rows.push(Row::new(
            category.name(lang),
            writer.int(count_of(&category.id)),
        ));
    }
    // Then categories no longer configured.
    for count in &report.by_category {
        if listed.contains(count.category.as_str()) {
            continue;
        }
        let name = settings
            .category(&count.category)
            .map_or(count.category.as_str(), |category| category.name(lang));
        rows.push(Row::new(name, writer.int(count.count)));
    }
    rows.push(Row::total(
        pick(lang, "รวม", "Total"),
        writer.int(report.outcomes.received),
    ));
    Section {
        id: "categories",
        heading: heading(lang, "จำแนกตามหมวดเรื่อง", "By category", true),
        statement: None,
        rows,
        notes: Vec::new(),
    }
}

fn outcome_section(report: &YearReport, writer: &Writer) -> Section {
    let lang = writer.lang;
    let outcomes = &report.outcomes;
    let rows = vec![
        Row::total(
            pick(lang, "เรื่องที่รับ", "Received"),
            writer.int(outcomes.received),
        ),
        Row::new(
            pick(lang, "ดำเนินการเสร็จแล้ว", "Resolved"),
            writer.int(outcomes.resolved),
        ),
        Row::new(
            pick(lang, "ไม่รับพิจารณา", "Rejected"),
            writer.int(outcomes.rejected),
        ),
        Row::new(
            pick(lang, "ผู้ร้องถอนเรื่อง", "Withdrawn by the resident"),
            writer.int(outcomes.withdrawn),
        ),
        Row::new(
            pick(lang, "อยู่ระหว่างดำเนินการ", "Still open"),
            writer.int(outcomes.open),
        ),
        Row::new(
            pick(
                lang,
                "ระยะเวลาดำเนินการจนเสร็จ (ค่ามัธยฐาน, วัน)",
                "Time to resolve (median, days)",
            ),
            writer.decimal(outcomes.median_days_to_resolve),
        ),
        Row::new(
            pick(
                lang,
                "จำนวนครั้งที่เปิดเรื่องใหม่ (ผู้ร้องแจ้งว่ายังไม่ได้แก้ไข)",
                "Reopened (the resident said it was not fixed)",
            ),
            writer.int(outcomes.reopened),
        ),
    ];
    Section {
        id: "outcomes",
        heading: heading(lang, "ผลการดำเนินการ", "Outcomes", true),
        statement: None,
        rows,
        notes: vec![pick(
            lang,
            "ระยะเวลาดำเนินการนับเป็นวันตามปฏิทิน ตั้งแต่รับเรื่องจนดำเนินการเสร็จ; สถานะ ณ วันที่ของข้อมูล",
            "Time to resolve counts calendar days from filing to resolution; statuses are as of the date of the figures.",
        )
        .to_owned()],
    }
}

fn satisfaction_section(report: &YearReport, writer: &Writer) -> Section {
    let lang = writer.lang;
    let satisfaction = &report.satisfaction;
    let mut rows = vec![
        Row::total(
            pick(lang, "จำนวนผู้ให้คะแนน", "Ratings given"),
            writer.int(satisfaction.ratings),
        ),
        Row::total(
            pick(lang, "คะแนนเฉลี่ย (เต็ม 5)", "Mean rating (out of 5)"),
            writer.decimal(satisfaction.mean),
        ),
    ];
    for stars in (1..=5u32).rev() {
        let label = match lang {
            Lang::Th => format!("{stars} ดาว"),
            Lang::En if stars == 1 => "1 star".to_owned(),
            Lang::En => format!("{stars} stars"),
        };
        rows.push(Row::new(
            writer.text(label),
            writer.int(satisfaction.distribution[stars as usize - 1]),
        ));
    }
    Section {
        id: "satisfaction",
        heading: heading(lang, "ความพึงพอใจของผู้ร้อง", "Residents' satisfaction", true),
        statement: None,
        rows,
        notes: Vec::new(),
    }
}

fn corruption_section(report: &YearReport, writer: &Writer) -> Section {
    let lang = writer.lang;
    let corruption = &report.corruption;
    let total = Row::total(
        pick(
            lang,
            "เรื่องร้องเรียนการทุจริตทั้งหมด",
            "Corruption complaints received",
        ),
        writer.int(corruption.total),
    );
    let (statement, rows) = if corruption.total == 0 {
        (
            Some(pick(lang, NO_CORRUPTION_TH, "No corruption complaints").to_owned()),
            vec![total],
        )
    } else {
        let (first_label, second_label) = half_labels(report, writer);
        (
            None,
            vec![
                total,
                Row::new(
                    pick(
                        lang,
                        "ดำเนินการแล้วเสร็จ (รวมที่ไม่รับพิจารณา)",
                        "Done (resolved or rejected)",
                    ),
                    writer.int(corruption.done),
                ),
                Row::new(
                    pick(lang, "อยู่ระหว่างดำเนินการ", "In progress"),
                    writer.int(corruption.in_progress),
                ),
                Row::new(
                    pick(lang, "ผู้ร้องถอนเรื่อง", "Withdrawn by the reporter"),
                    writer.int(corruption.withdrawn),
                ),
                Row::new(first_label, writer.int(corruption.first_half)),
                Row::new(second_label, writer.int(corruption.second_half)),
            ],
        )
    };
    Section {
        id: "corruption",
        heading: heading(
            lang,
            "เรื่องร้องเรียนการทุจริตและประพฤติมิชอบ",
            "Corruption complaints",
            false,
        ),
        statement,
        rows,
        notes: vec![pick(
            lang,
            "แสดงเฉพาะจำนวน ไม่เปิดเผยรายละเอียดของเรื่อง เพื่อคุ้มครองผู้ร้องเรียน",
            "Counts only: nothing of a complaint is published, to protect those who report.",
        )
        .to_owned()],
    }
}

/// `ครึ่งปีแรก (ต.ค. 2568 – มี.ค. 2569)` and `ครึ่งปีหลัง (เม.ย. – ก.ย. 2569)`.
fn half_labels(report: &YearReport, writer: &Writer) -> (String, String) {
    let (start_be, end_be) = (report.year_be - 1, report.year_be);
    let (first, second) = match writer.lang {
        Lang::Th => (
            format!("ครึ่งปีแรก (ต.ค. {start_be} – มี.ค. {end_be})"),
            format!("ครึ่งปีหลัง (เม.ย. – ก.ย. {end_be})"),
        ),
        Lang::En => {
            let offset = thai::BE_OFFSET.unsigned_abs();
            let (start_ce, end_ce) = (
                start_be.saturating_sub(offset),
                end_be.saturating_sub(offset),
            );
            (
                format!("First half (Oct {start_ce} – Mar {end_ce})"),
                format!("Second half (Apr – Sep {end_ce})"),
            )
        }
    };
    (writer.text(first), writer.text(second))
}

fn kind_name(kind: CaseKind, lang: Lang) -> &'static str {
    match kind {
        CaseKind::Suggestion => pick(lang, "ข้อเสนอแนะ", "Suggestions"),
        CaseKind::Complaint => pick(lang, "เรื่องร้องเรียน", "Complaints"),
        CaseKind::Corruption => pick(lang, "เรื่องร้องเรียนการทุจริต", "Corruption complaints"),
        CaseKind::Question => pick(lang, "คำถามถึงเจ้าหน้าที่", "Questions to staff"),
    }
}

fn channel_name(channel: Option<Channel>, lang: Lang) -> &'static str {
    match channel {
        Some(Channel::Line) => "LINE",
        Some(Channel::Messenger) => "Facebook Messenger",
        Some(Channel::Telegram) => "Telegram",
        Some(Channel::Web) => pick(lang, "แชตบนเว็บไซต์", "Web chat"),
        Some(Channel::Terminal) => pick(lang, "เทอร์มินัล", "Terminal"),
        Some(Channel::Dashboard) => pick(lang, "เจ้าหน้าที่บันทึกแทน", "Recorded by staff"),
        None => pick(lang, "ไม่ได้บันทึกช่องทาง", "Channel not recorded"),
    }
}

#[cfg(test)]
mod tests;
