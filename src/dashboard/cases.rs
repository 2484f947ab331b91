//! The queue, the case page and what staff do to a case from it.
//!
//! Every handler checks the role against the case (`Role::can_see`) and answers a case
//! it may not see exactly as one that does not exist. Every view of a corruption
//! complaint, and every change, is written to the audit log.

use std::sync::Arc;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use chrono::Utc;
use minijinja::context;
use serde::Deserialize;

use super::auth::Staff;
use super::view::{self, Deadlines};
use super::Dashboard;
use crate::domain::case::{Case, CaseCode, CaseKind, StaffNote};
use crate::domain::change::CaseChange;
use crate::engine::AuditEvent;
use crate::http::AppState;

/// Most rows a queue page lists.
const MAX_ROWS: usize = 500;

pub async fn home(_staff: Staff) -> Redirect {
    Redirect::to("/staff/queue")
}

/// The statistics are public: the dashboard links to the page residents see.
pub async fn report(_staff: Staff) -> Redirect {
    Redirect::to("/report")
}

#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct QueueFilter {
    /// A status id, `all`, or empty for every case not closed.
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    division: String,
    /// Older than this many days.
    #[serde(default)]
    age: String,
    #[serde(default)]
    overdue: Option<String>,
}

impl QueueFilter {
    fn admits(&self, case: &Case, overdue: bool, now: chrono::DateTime<Utc>) -> bool {
        let status_ok = match self.status.as_str() {
            "" => !case.status.is_closed(),
            "all" => true,
            status => case.status.as_str() == status,
        };
        let age_ok = crate::thai::normalize_digits(&self.age)
            .parse::<i64>()
            .map_or(true, |days| (now - case.created_at).num_days() >= days);
        status_ok
            && age_ok
            && (self.category.is_empty() || case.category == self.category)
            && (self.division.is_empty() || case.concerns_division(&self.division))
            && (self.overdue.is_none() || overdue)
    }
}

/// The cases a staff member may see, filtered, overdue first, then oldest first.
fn visible_cases(
    state: &AppState,
    dashboard: &Dashboard,
    staff: &Staff,
    filter: &QueueFilter,
) -> anyhow::Result<Vec<(Case, Option<crate::calendar::Overdue>)>> {
    let now = Utc::now();
    let mut rows = Vec::new();
    let store = state.inbox.store();
    // The default view (not closed) reads the index of open cases, not every case.
    let cases: Box<dyn Iterator<Item = crate::store::Result<Case>>> = if filter.status.is_empty() {
        Box::new(store.open_cases())
    } else {
        Box::new(store.all_cases())
    };
    for case in cases {
        let case = case?;
        if !staff.role.can_see(&case) {
            continue;
        }
        let overdue = dashboard.overdue(&state.settings, &case, now);
        if filter.admits(&case, overdue.is_some(), now) {
            rows.push((case, overdue));
        }
    }
    rows.sort_by_key(|(case, overdue)| (overdue.is_none(), case.created_at));
    Ok(rows)
}

pub async fn queue(
    State(state): State<AppState>,
    Extension(dashboard): Extension<Arc<Dashboard>>,
    staff: Staff,
    Query(filter): Query<QueueFilter>,
) -> Response {
    let rows = match visible_cases(&state, &dashboard, &staff, &filter) {
        Ok(rows) => rows,
        Err(error) => return internal(&error),
    };
    let engine = state.inbox.engine();
    let now = Utc::now();
    let n_overdue = rows.iter().filter(|(_, o)| o.is_some()).count();
    let cases: Vec<view::QueueRow> = rows
        .iter()
        .take(MAX_ROWS)
        .map(|(case, overdue)| view::queue_row(engine, case, *overdue, now))
        .collect();
    let scope = match &staff.role {
        crate::domain::role::Role::Staff { division } => state
            .settings
            .division_name(division, crate::domain::Lang::Th),
        _ => "ทุกกอง".to_owned(),
    };
    let categories: Vec<view::Choice> = state
        .settings
        .categories
        .iter()
        .filter(|c| match &staff.role {
            // A division's staff filter by the categories routed to them.
            crate::domain::role::Role::Staff { division } => {
                c.division == *division && !c.kinds.contains(&CaseKind::Corruption)
            }
            _ => true,
        })
        .map(|c| view::Choice {
            id: c.id.clone(),
            label: c.th.clone(),
        })
        .collect();
    dashboard.page(
        "queue.html",
        context! {
            office => state.settings.office.name_th,
            staff => staff_context(&staff),
            csrf => staff.csrf,
            scope => scope,
            cases => cases,
            n_overdue => n_overdue,
            filter => filter,
            statuses => view::status_choices(engine),
            categories => categories,
            divisions => if staff.role.sees_all() { view::division_choices(engine) } else { Vec::new() },
        },
    )
}

pub fn staff_context(staff: &Staff) -> minijinja::Value {
    context! {
        username => staff.username,
        role => staff.role_name,
        admin => staff.is_admin(),
    }
}

/// The case a URL names, if this staff member may see it.
fn visible_case(state: &AppState, staff: &Staff, code: &str) -> anyhow::Result<Option<Case>> {
    let Some(code) = CaseCode::parse(code) else {
        return Ok(None);
    };
    Ok(state
        .inbox
        .store()
        .case_by_code(&code)?
        .filter(|case| staff.role.can_see(case)))
}

/// Records a view of a corruption complaint in the audit log.
async fn audit_view(
    state: &AppState,
    staff: &Staff,
    case: &Case,
    what: &str,
) -> anyhow::Result<()> {
    if case.kind != CaseKind::Corruption {
        return Ok(());
    }
    state
        .inbox
        .audit(
            &staff.identity(),
            vec![AuditEvent {
                action: "view".to_owned(),
                case_code: case.code.clone(),
                detail: format!("{what}; reporter shown: {}", staff.role.sees_reporter(case)),
            }],
        )
        .await
}

#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    pub done: String,
}

fn done_message(done: &str) -> Option<&'static str> {
    Some(match done {
        "reply" => "ส่งคำตอบแล้ว",
        "status" => "เปลี่ยนสถานะแล้ว",
        "assign" => "มอบหมายแล้ว",
        "note" => "บันทึกภายในแล้ว",
        "forward" => "ส่งต่อแล้ว",
        "co" => "ขอให้ร่วมดำเนินการแล้ว",
        "close" => "ปิดเรื่องและแจ้งผู้แจ้งแล้ว",
        _ => return None,
    })
}

pub async fn case_page(
    State(state): State<AppState>,
    Extension(dashboard): Extension<Arc<Dashboard>>,
    staff: Staff,
    Path(code): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let case = match visible_case(&state, &staff, &code) {
        Ok(Some(case)) => case,
        Ok(None) => return view::not_found(),
        Err(error) => return internal(&error),
    };
    // The view is on record before anything of it is shown.
    if let Err(error) = audit_view(&state, &staff, &case, "case page").await {
        return internal(&error);
    }
    let engine = state.inbox.engine();
    let now = Utc::now();
    let deadlines = dashboard.deadlines(&state.settings, &case, now);
    let assignees = match assignable_logins(&state, &case) {
        Ok(assignees) => assignees,
        Err(error) => return internal(&error),
    };
    let divisions: Vec<view::Choice> = view::division_choices(engine)
        .into_iter()
        .filter(|d| d.id != case.division)
        .collect();
    dashboard.page(
        "case.html",
        context! {
            office => state.settings.office.name_th,
            staff => staff_context(&staff),
            csrf => staff.csrf,
            case => view::case_view(engine, &staff.role, &case, Some(&deadlines)),
            statuses => view::status_choices(engine),
            divisions => divisions,
            assignees => assignees,
            flash => done_message(&done.done),
            flash_kind => "ok",
        },
    )
}

/// Dashboard logins whose role may see the case: who it can be given to.
fn assignable_logins(state: &AppState, case: &Case) -> anyhow::Result<Vec<String>> {
    let store = state.inbox.store();
    let mut names = Vec::new();
    for login in store.logins()? {
        let role = store.role_of(&super::dashboard_identity(&login.username))?;
        if role.can_see(case) {
            names.push(login.username);
        }
    }
    Ok(names)
}

#[derive(Deserialize)]
pub struct TextForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    assignee: String,
}

#[derive(Deserialize)]
pub struct ForwardForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    division: String,
    #[serde(default)]
    how: String,
}

/// A text staff typed: trimmed, not empty, not longer than a resident's may be.
fn staff_text(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty() && text.chars().count() <= crate::engine::MAX_TEXT_CHARS)
        .then(|| text.to_owned())
}

/// Runs a change on a visible case, then goes back to the case page.
async fn change_case(
    state: &AppState,
    staff: &Staff,
    code: &str,
    csrf: &str,
    make: impl FnOnce(&Case) -> Option<(CaseChange, AuditEvent)>,
    done: &str,
) -> Response {
    if !super::auth::csrf_matches(&staff.csrf, csrf) {
        return view::forbidden();
    }
    let case = match visible_case(state, staff, code) {
        Ok(Some(case)) => case,
        Ok(None) => return view::not_found(),
        Err(error) => return internal(&error),
    };
    let Some((change, audit)) = make(&case) else {
        return (
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            axum::response::Html(
                "<!doctype html><meta charset=utf-8><p>ข้อมูลไม่ครบหรือไม่ถูกต้อง กรุณากลับไปแก้ไข</p>",
            ),
        )
            .into_response();
    };
    match state
        .inbox
        .staff_change(&staff.identity(), change, vec![audit])
        .await
    {
        Ok(_) => Redirect::to(&format!("/staff/cases/{}?done={done}", case.code)).into_response(),
        Err(error) => internal(&error),
    }
}

fn audit_event(case: &Case, action: &str, detail: String) -> AuditEvent {
    AuditEvent {
        action: action.to_owned(),
        case_code: case.code.clone(),
        detail,
    }
}

pub async fn reply(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Form(form): Form<TextForm>,
) -> Response {
    let text = staff_text(&form.text);
    change_case(
        &state,
        &staff,
        &code,
        &form.csrf,
        |case| {
            let text = text?;
            let detail = format!("{} characters", text.chars().count());
            Some((
                CaseChange::StaffAnswer {
                    case_id: case.id,
                    text,
                },
                audit_event(case, "answer", detail),
            ))
        },
        "reply",
    )
    .await
}

pub async fn set_status(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Form(form): Form<StatusForm>,
) -> Response {
    let to = view::parse_status(&form.status);
    change_case(
        &state,
        &staff,
        &code,
        &form.csrf,
        |case| {
            let to = to.filter(|to| *to != case.status)?;
            Some((
                CaseChange::SetStatus {
                    case_id: case.id,
                    to,
                },
                audit_event(
                    case,
                    "status",
                    format!("{} -> {}", case.status.as_str(), to.as_str()),
                ),
            ))
        },
        "status",
    )
    .await
}

pub async fn assign(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Form(form): Form<AssignForm>,
) -> Response {
    let assignee = form.assignee.trim().to_owned();
    let allowed = match visible_case(&state, &staff, &code) {
        Ok(Some(case)) => match assignable_logins(&state, &case) {
            Ok(logins) => assignee.is_empty() || logins.contains(&assignee),
            Err(error) => return internal(&error),
        },
        Ok(None) => return view::not_found(),
        Err(error) => return internal(&error),
    };
    change_case(
        &state,
        &staff,
        &code,
        &form.csrf,
        |case| {
            if !allowed {
                return None;
            }
            let to = (!assignee.is_empty()).then(|| super::dashboard_identity(&assignee));
            Some((
                CaseChange::Assign {
                    case_id: case.id,
                    staff: to,
                },
                audit_event(
                    case,
                    "assign",
                    format!(
                        "to {}",
                        if assignee.is_empty() {
                            "nobody"
                        } else {
                            &assignee
                        }
                    ),
                ),
            ))
        },
        "assign",
    )
    .await
}

pub async fn note(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Form(form): Form<TextForm>,
) -> Response {
    let text = staff_text(&form.text);
    let by = format!("{} {}", staff.username, staff.role.label());
    change_case(
        &state,
        &staff,
        &code,
        &form.csrf,
        |case| {
            let text = text?;
            Some((
                CaseChange::Note {
                    case_id: case.id,
                    note: StaffNote {
                        at: Utc::now(),
                        by,
                        text,
                    },
                },
                audit_event(case, "note", String::new()),
            ))
        },
        "note",
    )
    .await
}

pub async fn forward(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Form(form): Form<ForwardForm>,
) -> Response {
    let division = state
        .settings
        .division(&form.division)
        .map(|d| d.id.clone());
    let co = form.how == "co";
    change_case(
        &state,
        &staff,
        &code,
        &form.csrf,
        |case| {
            // Corruption complaints stay with the integrity officer.
            let division =
                division.filter(|d| *d != case.division && case.kind != CaseKind::Corruption)?;
            let detail = format!("{} -> {division}", case.division);
            Some(if co {
                (
                    CaseChange::CoResponsible {
                        case_id: case.id,
                        division,
                    },
                    audit_event(case, "co_responsible", detail),
                )
            } else {
                (
                    CaseChange::Forward {
                        case_id: case.id,
                        to: division,
                    },
                    audit_event(case, "forward", detail),
                )
            })
        },
        if co { "co" } else { "forward" },
    )
    .await
}

/// Closing takes a form with a file: the note to the resident and an optional photo of
/// the result.
pub async fn close(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    mut multipart: Multipart,
) -> Response {
    let max_photo = state.settings.server.max_photo_bytes;
    let mut csrf = String::new();
    let mut text = String::new();
    let mut photo: Option<crate::store::Media> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                tracing::info!(%error, "unreadable close form");
                return bad_form("แบบฟอร์มไม่สมบูรณ์");
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let Ok(bytes) = field.bytes().await else {
            return bad_form("อ่านแบบฟอร์มไม่ได้ หรือไฟล์ใหญ่เกินไป");
        };
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "text" => text = String::from_utf8_lossy(&bytes).into_owned(),
            "photo" if !bytes.is_empty() => {
                if bytes.len() > max_photo {
                    return bad_form("ภาพใหญ่เกินไป");
                }
                let Some(content_type) = crate::channels::media::photo_type(&bytes) else {
                    return bad_form("รับเฉพาะภาพ JPEG, PNG หรือ WebP");
                };
                photo = Some(crate::store::Media {
                    content_type: content_type.to_owned(),
                    bytes: bytes.to_vec(),
                });
            }
            _ => {}
        }
    }
    if !super::auth::csrf_matches(&staff.csrf, &csrf) {
        return view::forbidden();
    }
    let photo_id = match photo {
        Some(media) => match state.inbox.store().save_media(&media) {
            Ok(id) => Some(id),
            Err(error) => return internal(&anyhow::Error::from(error)),
        },
        None => None,
    };
    let text = staff_text(&text);
    change_case(
        &state,
        &staff,
        &code,
        &csrf,
        |case| {
            let note = text?;
            Some((
                CaseChange::Close {
                    case_id: case.id,
                    note,
                    photo: photo_id,
                },
                audit_event(
                    case,
                    "close",
                    format!("{} -> resolved", case.status.as_str()),
                ),
            ))
        },
        "close",
    )
    .await
}

fn bad_form(why: &str) -> Response {
    (
        axum::http::StatusCode::BAD_REQUEST,
        axum::response::Html(format!(
            "<!doctype html><meta charset=utf-8><p>{}</p>",
            minijinja::HtmlEscape(why)
        )),
    )
        .into_response()
}

/// A photo of a visible case: the resident's or the "after" photo.
pub async fn media(
    State(state): State<AppState>,
    staff: Staff,
    Path((code, media_id)): Path<(String, String)>,
) -> Response {
    let case = match visible_case(&state, &staff, &code) {
        Ok(Some(case)) => case,
        Ok(None) => return view::not_found(),
        Err(error) => return internal(&error),
    };
    let belongs = case.photos.contains(&media_id) || case.after_photos().any(|p| p == media_id);
    if !belongs {
        return view::not_found();
    }
    if let Err(error) = audit_view(&state, &staff, &case, "photo").await {
        return internal(&error);
    }
    match state.inbox.store().media(&media_id) {
        Ok(Some(media)) => (
            [
                (CONTENT_TYPE, media.content_type),
                (CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            media.bytes,
        )
            .into_response(),
        Ok(None) => view::not_found(),
        Err(error) => internal(&anyhow::Error::from(error)),
    }
}

/// The queue as JSON, for the office's own tools.
pub async fn api_queue(
    State(state): State<AppState>,
    Extension(dashboard): Extension<Arc<Dashboard>>,
    staff: Staff,
    Query(filter): Query<QueueFilter>,
) -> Response {
    match visible_cases(&state, &dashboard, &staff, &filter) {
        Ok(rows) => {
            let cases: Vec<view::ApiCase<'_>> = rows
                .iter()
                .map(|(case, _)| view::api_case(&staff.role, case))
                .collect();
            Json(serde_json::json!({ "cases": cases })).into_response()
        }
        Err(error) => internal(&error),
    }
}

/// One case as JSON: the same visibility and audit as its page.
pub async fn api_case(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
) -> Response {
    let case = match visible_case(&state, &staff, &code) {
        Ok(Some(case)) => case,
        Ok(None) => {
            return (
                axum::http::StatusCode::NOT_FOUND,
                Json(serde_json::json!({ "error": "no such case in your queue" })),
            )
                .into_response()
        }
        Err(error) => return internal(&error),
    };
    if let Err(error) = audit_view(&state, &staff, &case, "api").await {
        return internal(&error);
    }
    Json(view::api_case(&staff.role, &case)).into_response()
}

pub fn internal(error: &anyhow::Error) -> Response {
    tracing::error!(error = ?error, "dashboard request failed");
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "internal error",
    )
        .into_response()
}

impl Dashboard {
    /// The case's deadlines and whether it is overdue now.
    pub fn deadlines(
        &self,
        settings: &crate::config::Settings,
        case: &Case,
        now: chrono::DateTime<Utc>,
    ) -> Deadlines {
        let due = crate::calendar::deadlines(&settings.deadlines, &self.holidays, case);
        Deadlines {
            accept_by: due.accept_by,
            resolve_by: due.resolve_by,
            overdue: crate::calendar::overdue(&settings.deadlines, &self.holidays, case, now),
        }
    }

    pub fn overdue(
        &self,
        settings: &crate::config::Settings,
        case: &Case,
        now: chrono::DateTime<Utc>,
    ) -> Option<crate::calendar::Overdue> {
        crate::calendar::overdue(&settings.deadlines, &self.holidays, case, now)
    }
}
