//! Progress of the plan's measures: staff of a responsible division (or an admin) mark an
//! item done or add a note; residents' answers show it from then on.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::auth::Staff;
use super::cases::{internal, staff_context};
use super::view;
use super::Dashboard;
use crate::domain::role::Role;
use crate::domain::Lang;
use crate::engine::AuditEvent;
use crate::http::AppState;
use crate::kb::progress::Progress;
use crate::kb::{Item, Status};

#[derive(Serialize)]
struct ItemView {
    id: String,
    assessment: String,
    weakness: String,
    measures: Vec<String>,
    divisions: String,
    done: bool,
    latest: Option<String>,
    history: Vec<String>,
    may_update: bool,
}

/// Whether a staff member may report progress on an item.
fn may_update(role: &Role, item: &Item) -> bool {
    match role {
        Role::Admin => true,
        Role::Staff { division } => item.divisions.iter().any(|d| d == division),
        _ => false,
    }
}

pub async fn page(
    State(state): State<AppState>,
    Extension(dashboard): Extension<Arc<Dashboard>>,
    staff: Staff,
    axum::extract::Query(done): axum::extract::Query<super::cases::Done>,
) -> Response {
    let engine = state.inbox.engine();
    let kb = engine.kb();
    let mut items = Vec::new();
    for item in &kb.items {
        let history = match state.inbox.store().progress_history(&item.id) {
            Ok(history) => history,
            Err(error) => return internal(&error.into()),
        };
        let describe = |p: &Progress| {
            format!(
                "{} · {} · {}{}",
                view::when(p.at),
                p.by,
                if p.status == Status::Done {
                    "ดำเนินการแล้ว"
                } else {
                    "ยังไม่ดำเนินการ"
                },
                p.note
                    .as_ref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            )
        };
        let status = history.last().map_or(item.status, |p| p.status);
        items.push(ItemView {
            id: item.id.clone(),
            assessment: kb
                .assessment(&item.assessment)
                .map(|a| format!("{} · {}", a.acronym(), a.indicator(Lang::Th)))
                .unwrap_or_default(),
            weakness: item
                .weaknesses
                .first()
                .map(|w| w.get(Lang::Th).to_owned())
                .unwrap_or_default(),
            measures: item
                .measures
                .iter()
                .map(|m| m.name.get(Lang::Th).to_owned())
                .collect(),
            divisions: item
                .divisions
                .iter()
                .map(|d| state.settings.division_name(d, Lang::Th))
                .collect::<Vec<_>>()
                .join(", "),
            done: status == Status::Done,
            latest: history.last().map(describe),
            history: history.iter().rev().map(describe).collect(),
            may_update: may_update(&staff.role, item),
        });
    }
    dashboard.page(
        "measures.html",
        context! {
            office => state.settings.office.name_th,
            staff => staff_context(&staff),
            csrf => staff.csrf,
            items => items,
            flash => (done.done == "progress").then_some("บันทึกความคืบหน้าแล้ว ประชาชนจะเห็นในคำตอบทันที"),
            flash_kind => "ok",
        },
    )
}

#[derive(Deserialize)]
pub struct ProgressForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    note: String,
}

/// Longest progress note, in characters: it is shown inside residents' answers.
const MAX_NOTE_CHARS: usize = 500;

pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(item_id): Path<String>,
    Form(form): Form<ProgressForm>,
) -> Response {
    if !super::auth::csrf_matches(&staff.csrf, &form.csrf) {
        return view::forbidden();
    }
    let engine = state.inbox.engine();
    let Some(item) = engine.kb().item(&item_id) else {
        return view::not_found();
    };
    if !may_update(&staff.role, item) {
        return (
            axum::http::StatusCode::FORBIDDEN,
            axum::response::Html(
                "<!doctype html><meta charset=utf-8><p>เฉพาะเจ้าหน้าที่ของกองที่รับผิดชอบมาตรการนี้</p>",
            ),
        )
            .into_response();
    }
    let status = match form.status.as_str() {
        "done" => Status::Done,
        "not_done" => Status::NotDone,
        _ => return view::not_found(),
    };
    let note = form.note.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return view::not_found();
    }
    let progress = Progress {
        status,
        note: (!note.is_empty()).then(|| note.to_owned()),
        at: Utc::now(),
        by: format!("{} ({})", staff.username, staff.role.label()),
    };
    let store = state.inbox.store();
    if let Err(error) = store.add_progress(&item.id, &progress) {
        return internal(&error.into());
    }
    let audit = vec![AuditEvent {
        action: "progress".to_owned(),
        case_code: item.id.clone(),
        detail: format!("{status:?}"),
    }];
    // The audit entry's sync makes the report durable too, before anyone is shown it.
    if let Err(error) = state.inbox.audit(&staff.identity(), audit).await {
        return internal(&error);
    }
    engine.progress().set(&item.id, progress.clone());
    // Residents who follow the measures' progress get a short update.
    if let Err(error) = store.create_update(progress_update(&state, &staff, item, &progress)) {
        return internal(&error.into());
    }
    if let Err(error) = store.sync().await {
        return internal(&error.into());
    }
    tracing::info!(item = %item.id, "measure progress reported");
    Redirect::to("/staff/measures?done=progress").into_response()
}

/// The update subscribers of the measures' progress get: the item and the note.
fn progress_update(
    state: &AppState,
    staff: &Staff,
    item: &Item,
    progress: &Progress,
) -> crate::domain::update::Update {
    use crate::domain::update::{Topic, Update, UpdateState};
    let kb = state.inbox.engine().kb();
    let what = kb
        .assessment(&item.assessment)
        .map(|a| format!("{} · {}", a.acronym(), a.indicator(Lang::Th)))
        .unwrap_or_else(|| item.id.clone());
    let status = if progress.status == Status::Done {
        "ดำเนินการแล้ว"
    } else {
        "อยู่ระหว่างดำเนินการ"
    };
    let mut text = format!("{what}: {status}");
    if let Some(note) = &progress.note {
        text.push_str(&format!(" — {note}"));
    }
    Update {
        v: 1,
        id: 0,
        author: staff.identity(),
        author_label: progress.by.clone(),
        topic: Topic::Progress,
        villages: Vec::new(),
        text,
        photo: None,
        location: None,
        created_at: progress.at,
        send_at: progress.at,
        state: UpdateState::Scheduled,
        n_recipients: 0,
        n_undeliverable: 0,
    }
}
