use std::path::Path;

use chrono::{Duration, TimeZone};

use super::*;
use crate::config::Category;
use crate::domain::case::{CaseEvent, CaseEventKind};

fn settings() -> Settings {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Settings::load(&root.join("config/tambon.toml")).unwrap()
}

/// An instant given in Bangkok time.
fn bangkok(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    thai::bangkok()
        .with_ymd_and_hms(year, month, day, hour, minute, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn case(kind: CaseKind, category: &str, created_at: DateTime<Utc>) -> Case {
    Case {
        v: 1,
        id: 1,
        code: format!("{}-2569-0001", kind.code_prefix()),
        kind,
        category: category.to_owned(),
        division: "office".to_owned(),
        text: "ไฟถนนหน้าบ้านดับ".to_owned(),
        location: None,
        place: None,
        photos: Vec::new(),
        contact: None,
        reporter: None,
        anonymous: false,
        status: Status::Received,
        created_at,
        assignee: None,
        channel: Some(Channel::Line),
        co_divisions: Vec::new(),
        notes: Vec::new(),
        rating: None,
        reopen_count: 0,
        events: vec![CaseEvent {
            at: created_at,
            kind: CaseEventKind::Filed,
        }],
    }
}

fn with_status(mut case: Case, status: Status) -> Case {
    case.status = status;
    case.events.push(CaseEvent {
        at: case.created_at + Duration::hours(1),
        kind: CaseEventKind::StatusChanged { to: status },
    });
    case
}

/// A complaint filed in the middle of fiscal year 2569, resolved `hours` later.
fn resolved_after(hours: i64) -> Case {
    let filed = bangkok(2026, 1, 10, 9, 0);
    let mut case = case(CaseKind::Complaint, "roads", filed);
    case.status = Status::Resolved;
    case.events.push(CaseEvent {
        at: filed + Duration::hours(hours),
        kind: CaseEventKind::StatusChanged {
            to: Status::Resolved,
        },
    });
    case
}

fn now() -> DateTime<Utc> {
    bangkok(2026, 10, 15, 10, 0)
}

const CORRUPTION_TEXT: &str = "ปลัดเรียกเงินใต้โต๊ะ 5,000 บาท";

/// A bribery complaint; its category's name in the configuration is "การเรียกรับสินบน".
fn bribery(created_at: DateTime<Utc>, status: Status) -> Case {
    let mut case = with_status(case(CaseKind::Corruption, "cc-bribe", created_at), status);
    case.code = "CC-2569-0042".to_owned();
    case.division = crate::config::INTEGRITY_DIVISION.to_owned();
    case.text = CORRUPTION_TEXT.to_owned();
    case.anonymous = true;
    case.channel = Some(Channel::Web);
    case
}

#[test]
fn fiscal_year_starts_on_first_october_in_bangkok() {
    // 30 Sep 2026 17:30 UTC is already 1 Oct 2026 00:30 in Bangkok: fiscal year 2570.
    let late = Utc.with_ymd_and_hms(2026, 9, 30, 17, 30, 0).unwrap();
    // 30 Sep 2026 16:59 UTC is 23:59 in Bangkok: still 2569.
    let last = Utc.with_ymd_and_hms(2026, 9, 30, 16, 59, 0).unwrap();
    // 30 Sep 2025 17:00 UTC is 1 Oct 2025 00:00 in Bangkok: the first instant of 2569.
    let first = Utc.with_ymd_and_hms(2025, 9, 30, 17, 0, 0).unwrap();
    let before = first - Duration::seconds(1);
    assert_eq!(current_fiscal_year_be(late), 2570);
    assert_eq!(current_fiscal_year_be(last), 2569);
    assert_eq!(current_fiscal_year_be(first), 2569);
    assert_eq!(current_fiscal_year_be(before), 2568);
    assert_eq!(current_fiscal_year_be(bangkok(2026, 1, 1, 0, 0)), 2569);

    let cases = [late, last, first, before].map(|at| case(CaseKind::Complaint, "roads", at));
    let report = year_report(cases.clone(), 2569, now());
    assert_eq!(report.received, 2, "{report:#?}");
    assert_eq!(report.by_month[0].count, 1, "1 Oct 2025 is the first month");
    assert_eq!(
        report.by_month[11].count, 1,
        "30 Sep 2026 is the last month"
    );
    let next = year_report(cases, 2570, now());
    assert_eq!(next.received, 1);
    assert_eq!(next.by_month[0].count, 1);
}

#[test]
fn months_run_in_fiscal_order() {
    let report = year_report(Vec::new(), 2569, now());
    let months: Vec<(u32, u32)> = report
        .by_month
        .iter()
        .map(|m| (m.month, m.year_be))
        .collect();
    assert_eq!(
        months,
        [
            (10, 2568),
            (11, 2568),
            (12, 2568),
            (1, 2569),
            (2, 2569),
            (3, 2569),
            (4, 2569),
            (5, 2569),
            (6, 2569),
            (7, 2569),
            (8, 2569),
            (9, 2569)
        ]
    );
    let text = to_text(&report, &settings(), Lang::Th);
    let october = text.find("ต.ค. 2568:").unwrap();
    let september = text.find("ก.ย. 2569:").unwrap();
    assert!(october < september, "{text}");
    assert!(
        text.contains("ระหว่างวันที่ 1 ตุลาคม 2568 ถึงวันที่ 30 กันยายน 2569"),
        "{text}"
    );
}

#[test]
fn median_days_to_resolve() {
    let report = year_report(
        [1, 2, 10].map(|days| resolved_after(days * 24)),
        2569,
        now(),
    );
    assert_eq!(report.outcomes.median_days_to_resolve, Some(2.0));
    let report = year_report([1, 3].map(|days| resolved_after(days * 24)), 2569, now());
    assert_eq!(report.outcomes.median_days_to_resolve, Some(2.0));
    // 36 hours is a day and a half; the median is kept to one decimal.
    let report = year_report([resolved_after(36)], 2569, now());
    assert_eq!(report.outcomes.median_days_to_resolve, Some(1.5));
    let report = year_report([resolved_after(25)], 2569, now());
    assert_eq!(report.outcomes.median_days_to_resolve, Some(1.0));
    // Rejected cases have no time to resolve.
    let rejected = with_status(case(CaseKind::Complaint, "roads", now()), Status::Rejected);
    let report = year_report([rejected], 2570, now());
    assert_eq!(report.outcomes.median_days_to_resolve, None);
}

#[test]
fn outcomes_and_satisfaction_count_ordinary_cases() {
    let filed = bangkok(2026, 2, 1, 8, 0);
    let mut rated_five = resolved_after(48);
    rated_five.rating = Some(5);
    let mut rated_two = resolved_after(24);
    rated_two.rating = Some(2);
    rated_two.reopen_count = 2;
    let mut rated_four = with_status(case(CaseKind::Suggestion, "water", filed), Status::Rejected);
    rated_four.rating = Some(4);
    let withdrawn = with_status(
        case(CaseKind::Question, "question", filed),
        Status::Withdrawn,
    );
    let open = with_status(
        case(CaseKind::Complaint, "roads", filed),
        Status::InProgress,
    );
    let mut unrecorded = case(CaseKind::Complaint, "retired-id", filed);
    unrecorded.channel = None;
    let mut rated_corruption = bribery(filed, Status::Resolved);
    rated_corruption.rating = Some(1);
    rated_corruption.reopen_count = 7;

    let report = year_report(
        [
            rated_five,
            rated_two,
            rated_four,
            withdrawn,
            open,
            unrecorded,
            rated_corruption,
        ],
        2569,
        now(),
    );
    assert_eq!(report.received, 7);
    let outcomes = &report.outcomes;
    assert_eq!(outcomes.received, 6);
    assert_eq!(
        (
            outcomes.resolved,
            outcomes.rejected,
            outcomes.withdrawn,
            outcomes.open
        ),
        (2, 1, 1, 2)
    );
    assert_eq!(
        outcomes.reopened, 2,
        "a corruption complaint's reopenings are not counted"
    );
    assert_eq!(outcomes.median_days_to_resolve, Some(1.5));
    let satisfaction = &report.satisfaction;
    assert_eq!(satisfaction.ratings, 3);
    assert_eq!(satisfaction.mean, Some(3.7), "(5 + 2 + 4) / 3");
    assert_eq!(satisfaction.distribution, [0, 1, 0, 1, 1]);

    assert_eq!(report.received_of(CaseKind::Complaint), 4);
    assert_eq!(report.received_of(CaseKind::Corruption), 1);
    let channel = |channel| {
        report
            .by_channel
            .iter()
            .find(|count| count.channel == channel)
            .unwrap()
            .count
    };
    assert_eq!(channel(Some(Channel::Line)), 5);
    assert_eq!(channel(Some(Channel::Web)), 1, "the corruption complaint");
    assert_eq!(channel(None), 1);
    assert_eq!(
        report.by_category,
        [
            CategoryCount {
                category: "roads".to_owned(),
                count: 3
            },
            CategoryCount {
                category: "question".to_owned(),
                count: 1
            },
            CategoryCount {
                category: "retired-id".to_owned(),
                count: 1
            },
            CategoryCount {
                category: "water".to_owned(),
                count: 1
            },
        ]
    );
    assert_eq!(report.by_month.iter().map(|m| m.count).sum::<u32>(), 6);
}

#[test]
fn corruption_complaints_are_only_counted() {
    let cases = [
        bribery(bangkok(2025, 10, 3, 9, 0), Status::Resolved),
        bribery(bangkok(2025, 12, 3, 9, 0), Status::Rejected),
        bribery(bangkok(2026, 3, 31, 23, 59), Status::InProgress),
        bribery(bangkok(2026, 4, 1, 0, 0), Status::Received),
        bribery(bangkok(2026, 9, 1, 9, 0), Status::Withdrawn),
        case(CaseKind::Complaint, "roads", bangkok(2026, 5, 5, 9, 0)),
    ];
    let report = year_report(cases, 2569, now());
    assert_eq!(
        report.corruption,
        Corruption {
            total: 5,
            done: 2,
            in_progress: 2,
            withdrawn: 1,
            first_half: 3,
            second_half: 2,
        }
    );
    assert_eq!(report.received, 6);
    assert_eq!(report.received_of(CaseKind::Corruption), 5);
    assert!(report.by_category.iter().all(|c| c.category == "roads"));
    assert_eq!(report.by_month.iter().map(|m| m.count).sum::<u32>(), 1);

    let settings = settings();
    let bribery_name = &settings.category("cc-bribe").unwrap().th;
    assert_eq!(bribery_name, "การเรียกรับสินบน");
    let json = serde_json::to_string(&report).unwrap();
    let html = to_html(&report, &settings, Lang::Th, false);
    let csv = to_csv(&report, &settings, Lang::Th, false);
    let text = to_text(&report, &settings, Lang::Th);
    for (name, rendered) in [
        ("json", &json),
        ("html", &html),
        ("csv", &csv),
        ("text", &text),
    ] {
        for secret in [
            CORRUPTION_TEXT,
            "ใต้โต๊ะ",
            bribery_name,
            "Bribery",
            "cc-bribe",
            "CC-2569",
            "integrity",
        ] {
            assert!(
                !rendered.contains(secret),
                "{name} shows {secret}: {rendered}"
            );
        }
        assert!(!rendered.contains(NO_CORRUPTION_TH), "{name}: {rendered}");
    }
    assert!(
        html.contains("เรื่องร้องเรียนการทุจริตทั้งหมด</td><td class=\"value\">5</td>"),
        "{html}"
    );
    assert!(csv.contains("เรื่องร้องเรียนการทุจริตทั้งหมด,5\r\n"), "{csv}");
    assert!(
        csv.contains("ดำเนินการแล้วเสร็จ (รวมที่ไม่รับพิจารณา),2\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains("ครึ่งปีแรก (ต.ค. 2568 – มี.ค. 2569),3\r\n"),
        "{csv}"
    );
    assert!(csv.contains("ครึ่งปีหลัง (เม.ย. – ก.ย. 2569),2\r\n"), "{csv}");
}

#[test]
fn no_corruption_complaints_is_said() {
    let report = year_report(
        [case(
            CaseKind::Complaint,
            "roads",
            bangkok(2026, 5, 5, 9, 0),
        )],
        2569,
        now(),
    );
    assert_eq!(report.corruption, Corruption::default());
    let settings = settings();
    let html = to_html(&report, &settings, Lang::Th, false);
    assert!(
        html.contains(&format!("<p class=\"statement\">{NO_CORRUPTION_TH}</p>")),
        "{html}"
    );
    let csv = to_csv(&report, &settings, Lang::Th, false);
    assert!(
        csv.contains(&format!(
            "เรื่องร้องเรียนการทุจริตและประพฤติมิชอบ,หมายเหตุ,{NO_CORRUPTION_TH}\r\n"
        )),
        "{csv}"
    );
    assert!(to_text(&report, &settings, Lang::Th).contains(NO_CORRUPTION_TH));
    assert!(to_html(&report, &settings, Lang::En, false).contains("No corruption complaints"));
}

#[test]
fn csv_opens_in_excel() {
    let report = year_report([resolved_after(30)], 2569, now());
    let csv = to_csv(&report, &settings(), Lang::Th, false);
    assert!(csv.starts_with("\u{feff}หัวข้อ,รายการ,ค่า\r\n"), "{csv}");
    assert!(csv.ends_with("\r\n"));
    assert_eq!(
        csv.matches('\n').count(),
        csv.matches("\r\n").count(),
        "every line ends with CRLF"
    );
    assert!(csv.contains("รายงาน,ชื่อรายงาน,สถิติเรื่องร้องเรียน/ข้อเสนอแนะ ประจำปีงบประมาณ พ.ศ. 2569\r\n"));
    assert!(
        csv.contains("ผลการดำเนินการ (ไม่รวมเรื่องร้องเรียนการทุจริต),\"ระยะเวลาดำเนินการจนเสร็จ (ค่ามัธยฐาน, วัน)\",1.3\r\n"),
        "{csv}"
    );
}

#[test]
fn csv_quotes_commas_and_quotes() {
    let mut settings = settings();
    settings.categories.push(Category {
        id: "lanes".to_owned(),
        th: "ถนน, ซอย \"หมู่ 3\"".to_owned(),
        en: "Lanes".to_owned(),
        division: "engineering".to_owned(),
        kinds: vec![CaseKind::Complaint],
        terms: Vec::new(),
    });
    let report = year_report(
        [case(
            CaseKind::Complaint,
            "lanes",
            bangkok(2026, 5, 5, 9, 0),
        )],
        2569,
        now(),
    );
    let csv = to_csv(&report, &settings, Lang::Th, false);
    assert!(
        csv.contains("ไม่รวมเรื่องร้องเรียนการทุจริต),\"ถนน, ซอย \"\"หมู่ 3\"\"\",1\r\n"),
        "{csv}"
    );
    assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    assert_eq!(csv_field("-"), "-");
    assert_eq!(csv_field("a\nb"), "\"a\nb\"");
}

#[test]
fn html_escapes_what_comes_from_the_data() {
    let mut settings = settings();
    settings.office.name_th = "อบต. <b>บ้านเพชร</b> & co".to_owned();
    settings.categories.push(Category {
        id: "xss".to_owned(),
        th: "<script>alert(\"x\")</script>".to_owned(),
        en: "x".to_owned(),
        division: "engineering".to_owned(),
        kinds: vec![CaseKind::Complaint],
        terms: Vec::new(),
    });
    let report = year_report(
        [case(CaseKind::Complaint, "xss", bangkok(2026, 5, 5, 9, 0))],
        2569,
        now(),
    );
    let html = to_html(&report, &settings, Lang::Th, false);
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert("), "{html}");
    assert!(
        html.contains("อบต. &lt;b&gt;บ้านเพชร&lt;&#x2f;b&gt; &amp; co"),
        "{html}"
    );
}

#[test]
fn html_is_a_whole_printable_page() {
    let report = year_report([resolved_after(30)], 2569, now());
    let html = to_html(&report, &settings(), Lang::Th, false);
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<html lang=\"th\">"));
    assert!(html.contains("@media print"));
    assert!(html.contains("size: A4"));
    assert!(html.contains("องค์การบริหารส่วนตำบลบ้านเพชร"));
    // minijinja escapes `/` too; a browser shows "สถิติเรื่องร้องเรียน/ข้อเสนอแนะ".
    assert!(
        html.contains("<h1>สถิติเรื่องร้องเรียน&#x2f;ข้อเสนอแนะ ประจำปีงบประมาณ พ.ศ. 2569</h1>"),
        "{html}"
    );
    assert!(html.contains("ระหว่างวันที่ 1 ตุลาคม 2568 ถึงวันที่ 30 กันยายน 2569"));
    for external in ["src=", "href=", "@import", "url("] {
        assert!(!html.contains(external), "no external asset: {external}");
    }
    assert!(html.trim_end().ends_with("</html>"));
}

#[test]
fn thai_digits_on_request() {
    let report = year_report([resolved_after(30)], 2569, now());
    let settings = settings();
    let html = to_html(&report, &settings, Lang::Th, true);
    assert!(html.contains("ประจำปีงบประมาณ พ.ศ. ๒๕๖๙"), "{html}");
    assert!(
        html.contains("ระหว่างวันที่ ๑ ตุลาคม ๒๕๖๘ ถึงวันที่ ๓๐ กันยายน ๒๕๖๙"),
        "{html}"
    );
    assert!(html.contains("<td class=\"value\">๑.๓</td>"), "{html}");
    let csv = to_csv(&report, &settings, Lang::Th, true);
    assert!(csv.contains("พ.ศ. ๒๕๖๙"), "{csv}");
    assert!(csv.contains("ม.ค. ๒๕๖๙,๑\r\n"), "{csv}");
    assert!(!csv.contains("2569"), "{csv}");
    let plain = to_csv(&report, &settings, Lang::Th, false);
    assert!(plain.contains("ม.ค. 2569,1\r\n"), "{plain}");
    assert_eq!(to_thai_digits("SG-2569-0107 ๑"), "SG-๒๕๖๙-๐๑๐๗ ๑");
}

#[test]
fn an_unfinished_year_says_so() {
    let during = bangkok(2026, 3, 15, 10, 30);
    let report = year_report(Vec::new(), current_fiscal_year_be(during), during);
    assert_eq!(report.year_be, 2569);
    assert!(!report.is_complete());
    let text = to_text(&report, &settings(), Lang::Th);
    assert!(
        text.contains("ข้อมูล ณ วันที่ 15 มี.ค. 2569 10:30 น. (ปีงบประมาณยังไม่สิ้นสุด)"),
        "{text}"
    );
    assert!(year_report(Vec::new(), 2569, now()).is_complete());
    let english = to_text(&report, &settings(), Lang::En);
    assert!(
        english.contains("fiscal year 2026 (B.E. 2569)"),
        "{english}"
    );
    assert!(
        english.contains("From 1 October 2025 to 30 September 2026"),
        "{english}"
    );
}
