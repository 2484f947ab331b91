//! Admin pages: dead deliveries with a retry button, enrolment codes, the audit log.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::{Duration, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::auth::Staff;
use super::cases::{internal, staff_context};
use super::view::{self, Choice};
use super::Dashboard;
use crate::domain::role::Role;
use crate::http::AppState;
use crate::store::DeliveryState;

/// How long an enrolment code made in the dashboard stays valid.
const ENROL_CODE_DAYS: i64 = 7;

#[derive(Serialize)]
struct Table {
    id: &'static str,
    head: Vec<&'static str>,
    rows: Vec<Row>,
}

#[derive(Serialize, Default)]
struct Row {
    cells: Vec<String>,
    action: Option<String>,
    button: Option<&'static str>,
    fields: std::collections::BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct FormSpec {
    id: &'static str,
    action: &'static str,
    button: &'static str,
    fields: Vec<Field>,
}

#[derive(Serialize)]
struct Field {
    name: &'static str,
    label: &'static str,
    options: Vec<Choice>,
    long: bool,
    value: String,
}

fn admin_only(staff: &Staff) -> Option<Response> {
    (!staff.is_admin()).then(|| {
        (
            axum::http::StatusCode::FORBIDDEN,
            axum::response::Html("<!doctype html><meta charset=utf-8><p>หน้านี้สำหรับผู้ดูแลระบบ</p>"),
        )
            .into_response()
    })
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn deliveries(
    State(state): State<AppState>,
    Extension(dashboard): Extension<Arc<Dashboard>>,
    staff: Staff,
) -> Response {
    if let Some(refused) = admin_only(&staff) {
        return refused;
    }
    let mut rows = Vec::new();
    for delivery in state.inbox.store().all_deliveries() {
        let delivery = match delivery {
            Ok(delivery) => delivery,
            Err(error) => return internal(&error.into()),
        };
        if delivery.state != DeliveryState::Dead {
            continue;
        }
        rows.push(Row {
            cells: vec![
                delivery.id.to_string(),
                delivery.route.to_string(),
                delivery.body.json()["case"]["code"]
                    .as_str()
                    .unwrap_or("-")
                    .to_owned(),
                delivery.attempts.to_string(),
                delivery.last_error.clone().unwrap_or_default(),
                delivery.finished_at.map(view::when).unwrap_or_default(),
            ],
            action: Some(format!("/staff/deliveries/{}/retry", delivery.id)),
            button: Some("ส่งอีกครั้ง"),
            ..Row::default()
        });
    }
    dashboard.page(
        "simple.html",
        context! {
            office => state.settings.office.name_th,
            staff => staff_context(&staff),
            csrf => staff.csrf,
            title => "การส่งที่ล้มเหลว",
            intro => "ข้อความที่ส่งไม่สำเร็จหลังลองครบจำนวนครั้ง กด \"ส่งอีกครั้ง\" เมื่อแก้ไขปลายทางแล้ว",
            table => Table {
                id: "dead-deliveries",
                head: vec!["#", "ปลายทาง", "เรื่อง", "ครั้งที่ลอง", "ข้อผิดพลาดล่าสุด", "เมื่อ", ""],
                rows,
            },
        },
    )
}

pub async fn retry_delivery(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = admin_only(&staff) {
        return refused;
    }
    if !super::auth::csrf_matches(&staff.csrf, &form.csrf) {
        return view::forbidden();
    }
    match state.inbox.store().retry_delivery(id, Utc::now()) {
        Ok(retried) => {
            if retried {
                tracing::info!(delivery = id, "dead delivery requeued from the dashboard");
                state.inbox.wake_dispatcher();
            }
            Redirect::to("/staff/deliveries").into_response()
        }
        Err(error) => internal(&error.into()),
    }
}

/// The roles an admin can make codes for.
fn role_choices(state: &AppState) -> Vec<Choice> {
    let mut choices: Vec<Choice> = state
        .settings
        .divisions
        .iter()
        .map(|d| Choice {
            id: format!("staff:{}", d.id),
            label: format!("เจ้าหน้าที่ {}", d.th),
        })
        .collect();
    choices.push(Choice {
        id: "integrity_officer".to_owned(),
        label: "เจ้าหน้าที่ผู้รับผิดชอบเรื่องร้องเรียนการทุจริต".to_owned(),
    });
    choices.push(Choice {
        id: "admin".to_owned(),
        label: "ผู้ดูแลระบบ".to_owned(),
    });
    choices
}

fn parse_role(state: &AppState, id: &str, village: &str) -> Option<Role> {
    match id {
        "integrity_officer" => Some(Role::IntegrityOfficer),
        "admin" => Some(Role::Admin),
        "village_head" => crate::thai::normalize_digits(village.trim())
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .map(|village| Role::VillageHead { village }),
        _ => id
            .strip_prefix("staff:")
            .and_then(|d| state.settings.division(d))
            .map(|d| Role::Staff {
                division: d.id.clone(),
            }),
    }
}

fn enrol_form(state: &AppState) -> FormSpec {
    let mut roles = role_choices(state);
    roles.push(Choice {
        id: "village_head".to_owned(),
        label: "ผู้ใหญ่บ้าน/กำนัน (ระบุหมู่ที่)".to_owned(),
    });
    FormSpec {
        id: "enrol",
        action: "/staff/enrol",
        button: "สร้างรหัส",
        fields: vec![
            Field {
                name: "role",
                label: "บทบาท",
                options: roles,
                long: false,
                value: String::new(),
            },
            Field {
                name: "village",
                label: "หมู่ที่ (สำหรับผู้ใหญ่บ้าน)",
                options: Vec::new(),
                long: false,
                value: String::new(),
            },
        ],
    }
}

pub async fn enrol_page(
    State(state): State<AppState>,
    Extension(dashboard): Extension<Arc<Dashboard>>,
    staff: Staff,
) -> Response {
    if let Some(refused) = admin_only(&staff) {
        return refused;
    }
    enrol_response(&state, &dashboard, &staff, None)
}

fn enrol_response(
    state: &AppState,
    dashboard: &Dashboard,
    staff: &Staff,
    flash: Option<String>,
) -> Response {
    let rows = match state.inbox.store().roles() {
        Ok(roles) => roles
            .into_iter()
            .map(|(who, role)| Row {
                cells: vec![
                    who.channel.to_string(),
                    if who.channel == crate::domain::Channel::Dashboard {
                        who.user
                    } else {
                        "(ผู้ใช้แชต)".to_owned()
                    },
                    role.label(),
                ],
                ..Row::default()
            })
            .collect(),
        Err(error) => return internal(&error.into()),
    };
    dashboard.page(
        "simple.html",
        context! {
            office => state.settings.office.name_th,
            staff => staff_context(staff),
            csrf => staff.csrf,
            title => "รหัสลงทะเบียน",
            intro => format!("รหัสใช้ได้ครั้งเดียว ภายใน {ENROL_CODE_DAYS} วัน: ให้ผู้รับส่งรหัสในแชตใดก็ได้ของ อบต. เพื่อรับบทบาท"),
            flash => flash,
            flash_kind => "ok",
            forms => vec![enrol_form(state)],
            table => Table { id: "roles", head: vec!["ช่องทาง", "ผู้ใช้", "บทบาท"], rows },
        },
    )
}

#[derive(Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    village: String,
}

pub async fn enrol(
    State(state): State<AppState>,
    Extension(dashboard): Extension<Arc<Dashboard>>,
    staff: Staff,
    Form(form): Form<EnrolForm>,
) -> Response {
    if let Some(refused) = admin_only(&staff) {
        return refused;
    }
    if !super::auth::csrf_matches(&staff.csrf, &form.csrf) {
        return view::forbidden();
    }
    let Some(role) = parse_role(&state, &form.role, &form.village) else {
        return enrol_response(
            &state,
            &dashboard,
            &staff,
            Some("เลือกบทบาทให้ถูกต้อง".to_owned()),
        );
    };
    let expires = Utc::now() + Duration::days(ENROL_CODE_DAYS);
    let store = state.inbox.store();
    let code = match store.create_enrol_code(&role, expires) {
        Ok(code) => code,
        Err(error) => return internal(&error.into()),
    };
    if let Err(error) = store.sync().await {
        return internal(&error.into());
    }
    tracing::info!(role = %role.label(), "enrolment code made in the dashboard");
    let flash = format!(
        "รหัสลงทะเบียน {code} สำหรับ {} ใช้ได้ถึง {}",
        role.label(),
        view::when(expires)
    );
    enrol_response(&state, &dashboard, &staff, Some(flash))
}

pub async fn audit_log(
    State(state): State<AppState>,
    Extension(dashboard): Extension<Arc<Dashboard>>,
    staff: Staff,
) -> Response {
    if let Some(refused) = admin_only(&staff) {
        return refused;
    }
    let store = state.inbox.store();
    let (entries, report) = match (store.audit_entries(), store.verify_audit()) {
        (Ok(entries), Ok(report)) => (entries, report),
        (Err(error), _) | (_, Err(error)) => return internal(&error.into()),
    };
    let intro = match &report.broken {
        None => format!("ตรวจสอบลำดับแฮชแล้ว: ครบถ้วน {} รายการ", report.n_entries),
        Some((seq, why)) => format!("พบความผิดปกติที่รายการ {seq}: {why}"),
    };
    let rows = entries
        .iter()
        .rev()
        .take(1000)
        .map(|entry| Row {
            cells: vec![
                entry.seq.to_string(),
                view::when(entry.at),
                entry.actor.clone(),
                entry.action.clone(),
                entry.case_code.clone(),
                entry.detail.clone(),
            ],
            ..Row::default()
        })
        .collect();
    dashboard.page(
        "simple.html",
        context! {
            office => state.settings.office.name_th,
            staff => staff_context(&staff),
            csrf => staff.csrf,
            title => "บันทึกตรวจสอบ",
            intro => intro,
            table => Table {
                id: "audit",
                head: vec!["#", "เมื่อ", "ผู้กระทำ", "การกระทำ", "เรื่อง", "รายละเอียด"],
                rows,
            },
        },
    )
}
