//! What the dashboard's pages show of a case, in Thai: labels from the locale files and
//! settings, dates in the Buddhist era, the reporter only where the role may see it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::case::{Case, CaseEventKind, Status};
use crate::domain::role::Role;
use crate::domain::{Channel, Lang};
use crate::engine::Engine;

const LANG: Lang = Lang::Th;

/// The statuses staff may set (withdrawn is the resident's alone).
pub const SETTABLE: [Status; 5] = [
    Status::Received,
    Status::Accepted,
    Status::InProgress,
    Status::Resolved,
    Status::Rejected,
];

#[derive(Serialize)]
pub struct Choice {
    pub id: String,
    pub label: String,
}

pub fn status_label(engine: &Engine, status: Status) -> String {
    engine
        .locales()
        .text(LANG, &format!("status-{}", status.as_str()))
}

pub fn status_choices(engine: &Engine) -> Vec<Choice> {
    SETTABLE
        .iter()
        .map(|status| Choice {
            id: status.as_str().to_owned(),
            label: status_label(engine, *status),
        })
        .collect()
}

pub fn parse_status(id: &str) -> Option<Status> {
    SETTABLE.into_iter().find(|status| status.as_str() == id)
}

pub fn division_choices(engine: &Engine) -> Vec<Choice> {
    engine
        .settings()
        .divisions
        .iter()
        .map(|division| Choice {
            id: division.id.clone(),
            label: division.th.clone(),
        })
        .collect()
}

/// The last day a deadline allows, as people say it ("by 30 Nov"): a deadline is the
/// instant that day ends.
fn due_day(deadline: DateTime<Utc>) -> String {
    let day = crate::calendar::due_date(deadline);
    // Noon in Bangkok, so the date shown is that day whatever the offset.
    let noon = day.and_hms_opt(5, 0, 0).unwrap_or_default().and_utc();
    crate::thai::format_date(noon, LANG)
}

pub fn when(at: DateTime<Utc>) -> String {
    crate::thai::format_datetime(at, LANG)
}

fn category_label(engine: &Engine, id: &str) -> String {
    engine
        .settings()
        .category(id)
        .map_or_else(|| id.to_owned(), |c| c.th.clone())
}

/// One row of the queue.
#[derive(Serialize)]
pub struct QueueRow {
    pub code: String,
    pub kind: String,
    pub category: String,
    pub status: String,
    pub division: String,
    pub assignee: Option<String>,
    pub created: String,
    pub age_days: i64,
    /// Why it is overdue, if it is.
    pub overdue: Option<String>,
}

pub fn queue_row(
    engine: &Engine,
    case: &Case,
    overdue: Option<crate::calendar::Overdue>,
    now: DateTime<Utc>,
) -> QueueRow {
    QueueRow {
        code: case.code.clone(),
        kind: engine
            .locales()
            .text(LANG, &format!("kind-{}", case.kind.as_str())),
        category: category_label(engine, &case.category),
        status: status_label(engine, case.status),
        division: engine.settings().division_name(&case.division, LANG),
        assignee: case.assignee.as_ref().map(assignee_label),
        created: when(case.created_at),
        age_days: (now - case.created_at).num_days(),
        overdue: overdue.map(overdue_label),
    }
}

pub fn overdue_label(overdue: crate::calendar::Overdue) -> String {
    match overdue {
        crate::calendar::Overdue::Acknowledgement => "เกินกำหนดรับเรื่อง".to_owned(),
        crate::calendar::Overdue::Resolution => "เกินกำหนดแล้วเสร็จ".to_owned(),
    }
}

/// A staff member as the queue shows them: a dashboard login by name, a chat by channel.
pub fn assignee_label(who: &crate::domain::ChatKey) -> String {
    match who.channel {
        Channel::Dashboard => who.user.clone(),
        channel => format!("เจ้าหน้าที่ทาง {channel}"),
    }
}

/// One entry of a case's thread.
#[derive(Serialize)]
pub struct ThreadEntry {
    pub at: String,
    /// `resident`, `staff` or `system`: how the entry is styled.
    pub who: &'static str,
    pub text: String,
    pub photo: Option<String>,
}

#[derive(Serialize)]
pub struct NoteView {
    pub at: String,
    pub by: String,
    pub text: String,
}

/// A whole case for its page.
#[derive(Serialize)]
pub struct CaseView {
    pub code: String,
    pub kind: String,
    pub corruption: bool,
    pub category: String,
    pub status: String,
    pub status_id: &'static str,
    pub closed: bool,
    pub division: String,
    pub co_divisions: String,
    pub assignee: Option<String>,
    pub assignee_login: Option<String>,
    pub created: String,
    pub accept_by: Option<String>,
    pub resolve_by: Option<String>,
    pub overdue: Option<String>,
    pub text: String,
    pub place: String,
    pub map: Option<String>,
    pub reporter: String,
    pub contact: String,
    pub rating: Option<u8>,
    pub reopen_count: u32,
    pub photos: Vec<String>,
    pub thread: Vec<ThreadEntry>,
    pub notes: Vec<NoteView>,
    pub reply_hint: String,
}

pub struct Deadlines {
    pub accept_by: DateTime<Utc>,
    pub resolve_by: DateTime<Utc>,
    pub overdue: Option<crate::calendar::Overdue>,
}

pub fn case_view(
    engine: &Engine,
    role: &Role,
    case: &Case,
    deadlines: Option<&Deadlines>,
) -> CaseView {
    let hidden = "ปกปิด (เห็นได้เฉพาะเจ้าหน้าที่ผู้รับผิดชอบเรื่องร้องเรียนการทุจริต)";
    let sees_reporter = role.sees_reporter(case);
    let reporter = match (&case.reporter, sees_reporter) {
        (_, false) => hidden.to_owned(),
        (None, true) => "ไม่ประสงค์ออกนาม (ติดตามด้วยเลขรับเรื่อง)".to_owned(),
        (Some(reporter), true) => format!("ผู้ใช้ {} ({})", reporter.channel, reporter.user),
    };
    let contact = if sees_reporter {
        case.contact
            .clone()
            .unwrap_or_else(|| "ไม่ได้ให้ไว้".to_owned())
    } else {
        hidden.to_owned()
    };
    let place = match (&case.location, &case.place) {
        (Some(location), _) => location
            .address
            .clone()
            .unwrap_or_else(|| format!("{:.5}, {:.5}", location.latitude, location.longitude)),
        (None, Some(place)) => place.clone(),
        (None, None) => "ไม่ระบุ".to_owned(),
    };
    let map = case.location.as_ref().map(|l| {
        format!(
            "https://www.openstreetmap.org/?mlat={:.6}&mlon={:.6}#map=17/{:.6}/{:.6}",
            l.latitude, l.longitude, l.latitude, l.longitude
        )
    });
    let reply_hint = match &case.reporter {
        Some(reporter) if reporter.channel.can_push() => {
            format!("คำตอบจะส่งถึงผู้แจ้งทาง {} ทันที", reporter.channel)
        }
        Some(_) => "ผู้แจ้งเขียนมาทางเว็บไซต์: จะเห็นคำตอบเมื่อติดตามเรื่องด้วยเลขเรื่อง".to_owned(),
        None => "ผู้แจ้งไม่ประสงค์ออกนาม: จะเห็นคำตอบเมื่อติดตามด้วยเลขรับเรื่อง".to_owned(),
    };
    CaseView {
        code: case.code.clone(),
        kind: engine
            .locales()
            .text(LANG, &format!("kind-{}", case.kind.as_str())),
        corruption: case.kind == crate::domain::case::CaseKind::Corruption,
        category: category_label(engine, &case.category),
        status: status_label(engine, case.status),
        status_id: case.status.as_str(),
        closed: case.status.is_closed(),
        division: engine.settings().division_name(&case.division, LANG),
        co_divisions: case
            .co_divisions
            .iter()
            .map(|d| engine.settings().division_name(d, LANG))
            .collect::<Vec<_>>()
            .join(", "),
        assignee: case.assignee.as_ref().map(assignee_label),
        assignee_login: case
            .assignee
            .as_ref()
            .filter(|a| a.channel == Channel::Dashboard)
            .map(|a| a.user.clone()),
        created: when(case.created_at),
        accept_by: deadlines.map(|d| due_day(d.accept_by)),
        resolve_by: deadlines.map(|d| due_day(d.resolve_by)),
        overdue: deadlines.and_then(|d| d.overdue).map(overdue_label),
        text: case.text.clone(),
        place,
        map,
        reporter,
        contact,
        rating: case.rating,
        reopen_count: case.reopen_count,
        photos: case.photos.clone(),
        thread: case
            .events
            .iter()
            .map(|event| thread_entry(engine, event.at, &event.kind))
            .collect(),
        notes: case
            .notes
            .iter()
            .map(|note| NoteView {
                at: when(note.at),
                by: note.by.clone(),
                text: note.text.clone(),
            })
            .collect(),
        reply_hint,
    }
}

fn thread_entry(engine: &Engine, at: DateTime<Utc>, kind: &CaseEventKind) -> ThreadEntry {
    let division = |id: &str| engine.settings().division_name(id, LANG);
    let (who, text, photo) = match kind {
        CaseEventKind::Filed => ("resident", "ผู้แจ้งส่งเรื่อง".to_owned(), None),
        CaseEventKind::StatusChanged { to } => (
            "system",
            format!("สถานะเป็น \"{}\"", status_label(engine, *to)),
            None,
        ),
        CaseEventKind::StaffAnswer { text } => ("staff", format!("เจ้าหน้าที่ตอบ: {text}"), None),
        CaseEventKind::ResidentInfo { text } => ("resident", format!("ผู้แจ้งเพิ่มข้อมูล: {text}"), None),
        CaseEventKind::Withdrawn => ("resident", "ผู้แจ้งถอนเรื่อง".to_owned(), None),
        CaseEventKind::Forwarded { from, to } => (
            "system",
            format!("ส่งต่อจาก {} ถึง {}", division(from), division(to)),
            None,
        ),
        CaseEventKind::CoResponsible { division: d } => {
            ("system", format!("{} ร่วมดำเนินการ", division(d)), None)
        }
        CaseEventKind::Reopened => (
            "resident",
            "ผู้แจ้งแจ้งว่ายังไม่ได้รับการแก้ไข: เปิดเรื่องอีกครั้ง".to_owned(),
            None,
        ),
        CaseEventKind::Rated { stars } => (
            "resident",
            format!("ผู้แจ้งให้คะแนนความพึงพอใจ {stars} จาก 5"),
            None,
        ),
        CaseEventKind::AfterPhoto { media_id } => {
            ("staff", "ภาพหลังดำเนินการ".to_owned(), Some(media_id.clone()))
        }
    };
    ThreadEntry {
        at: when(at),
        who,
        text,
        photo,
    }
}

/// A case for the JSON API: what the page shows, the reporter only where allowed.
#[derive(Serialize)]
pub struct ApiCase<'a> {
    pub code: &'a str,
    pub kind: &'a str,
    pub category: &'a str,
    pub division: &'a str,
    pub status: &'a str,
    pub text: &'a str,
    pub created_at: DateTime<Utc>,
    pub reporter: Option<&'a crate::domain::ChatKey>,
    pub contact: Option<&'a str>,
    pub reporter_hidden: bool,
}

pub fn api_case<'a>(role: &Role, case: &'a Case) -> ApiCase<'a> {
    let sees_reporter = role.sees_reporter(case);
    ApiCase {
        code: &case.code,
        kind: case.kind.as_str(),
        category: &case.category,
        division: &case.division,
        status: case.status.as_str(),
        text: &case.text,
        created_at: case.created_at,
        reporter: case.reporter.as_ref().filter(|_| sees_reporter),
        contact: case.contact.as_deref().filter(|_| sees_reporter),
        reporter_hidden: !sees_reporter,
    }
}

pub fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        axum::response::Html(
            "<!doctype html><meta charset=utf-8><p>คำขอไม่ถูกต้อง (แบบฟอร์มหมดอายุ): กรุณากลับไปโหลดหน้าใหม่แล้วลองอีกครั้ง</p>",
        ),
    )
        .into_response()
}

pub fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::response::Html(
            "<!doctype html><meta charset=utf-8><p>ไม่พบเรื่องนี้ในคิวของท่าน <a href=\"/staff/queue\">กลับไปที่คิวงาน</a></p>",
        ),
    )
        .into_response()
}
