//! Updates sent to subscribers, as a record: who, when, to whom, how many reached; an
//! admin may withdraw one (or send it at once) while it waits out its hold.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use minijinja::context;
use serde::Serialize;

use super::admin::CsrfForm;
use super::auth::Staff;
use super::cases::{internal, staff_context};
use super::view;
use super::Dashboard;
use crate::domain::update::UpdateState;
use crate::http::AppState;

#[derive(Serialize)]
struct UpdateView {
    id: u64,
    created: String,
    send_at: String,
    author: String,
    topic: &'static str,
    to: String,
    text: String,
    state: &'static str,
    recipients: u64,
    delivered: u64,
    failed: u64,
    undeliverable: u64,
    waiting: bool,
}

pub async fn page(
    State(state): State<AppState>,
    Extension(dashboard): Extension<Arc<Dashboard>>,
    staff: Staff,
) -> Response {
    let store = state.inbox.store();
    let updates = match store.updates() {
        Ok(updates) => updates,
        Err(error) => return internal(&error.into()),
    };
    let all_counts = match crate::fanout::delivery_counts(store) {
        Ok(counts) => counts,
        Err(error) => return internal(&error),
    };
    let mut views = Vec::new();
    for update in updates.iter().rev().take(200) {
        let counts = all_counts.get(&update.id).cloned().unwrap_or_default();
        views.push(UpdateView {
            id: update.id,
            created: view::when(update.created_at),
            send_at: view::when(update.send_at),
            author: update.author_label.clone(),
            topic: match update.topic {
                crate::domain::update::Topic::Office => "ประกาศ อบต.",
                crate::domain::update::Topic::Village => "ข่าวหมู่บ้าน",
                crate::domain::update::Topic::Progress => "ความคืบหน้ามาตรการ",
            },
            to: if update.villages.is_empty() {
                "ทุกหมู่บ้าน".to_owned()
            } else {
                let villages: Vec<String> = update.villages.iter().map(u32::to_string).collect();
                format!("หมู่ {}", villages.join(", "))
            },
            text: update.text.clone(),
            state: match update.state {
                UpdateState::Scheduled => "รอส่ง",
                UpdateState::Sending { .. } => "กำลังส่ง",
                UpdateState::Sent { .. } => "ส่งแล้ว",
                UpdateState::Withdrawn { .. } => "ถอนแล้ว",
            },
            recipients: update.n_recipients,
            delivered: counts.delivered,
            failed: counts.dead,
            undeliverable: update.n_undeliverable,
            waiting: update.state == UpdateState::Scheduled,
        });
    }
    let subscribers = store.subscriptions().count();
    dashboard.page(
        "updates.html",
        context! {
            office => state.settings.office.name_th,
            staff => staff_context(&staff),
            csrf => staff.csrf,
            updates => views,
            subscribers => subscribers,
        },
    )
}

async fn act(state: &AppState, staff: &Staff, csrf: &str, id: u64, withdraw: bool) -> Response {
    if !staff.is_admin() {
        return (axum::http::StatusCode::FORBIDDEN, "admins only").into_response();
    }
    if !super::auth::csrf_matches(&staff.csrf, csrf) {
        return view::forbidden();
    }
    let store = state.inbox.store();
    let now = Utc::now();
    let done = if withdraw {
        store.withdraw_update(id, &format!("admin {}", staff.username), now)
    } else {
        store.release_update(id, now)
    };
    match done {
        Ok(_) => match store.sync().await {
            Ok(()) => Redirect::to("/staff/updates").into_response(),
            Err(error) => internal(&error.into()),
        },
        Err(error) => internal(&error.into()),
    }
}

pub async fn withdraw(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    act(&state, &staff, &form.csrf, id, true).await
}

pub async fn send_now(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    act(&state, &staff, &form.csrf, id, false).await
}
