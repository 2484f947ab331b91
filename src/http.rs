//! The HTTP server's router: health, the web chat, and the platform webhooks and the staff
//! dashboard, all sharing one `AppState`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::config::Settings;
use crate::inbox::Inbox;

/// What every handler can reach, passed with `Router::with_state` (no globals).
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub inbox: Arc<Inbox>,
    pub dashboard: Arc<crate::dashboard::Dashboard>,
    pub limits: Arc<WebLimits>,
    pub health: Arc<crate::health::Health>,
}

/// The web chat's rate limits, per session and per client address.
pub struct WebLimits {
    pub per_session: crate::limits::Limiter<String>,
    pub per_address: crate::limits::Limiter<std::net::IpAddr>,
}

impl WebLimits {
    #[must_use]
    pub fn new(settings: &crate::config::Server) -> Self {
        Self {
            per_session: crate::limits::Limiter::per_minute(
                settings.web_chat_per_session_per_minute,
            ),
            per_address: crate::limits::Limiter::per_minute(
                settings.web_chat_per_address_per_minute,
            ),
        }
    }
}

/// The whole application's routes; tests call it without a socket.
pub fn build_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/report", get(report_page))
        .route("/report.csv", get(report_csv))
        .route("/updates/{id}/photo", get(update_photo))
        .merge(crate::channels::web::routes(&state))
        .merge(crate::dashboard::routes(Arc::clone(&state.dashboard)))
        .with_state(state)
        .layer(axum::middleware::map_response(security_headers))
}

/// The Content Security Policy of every HTML page: nothing from elsewhere, no frames,
/// forms posting only here, and no inline script but the web chat's own (by its hash).
fn content_security_policy() -> &'static HeaderValue {
    static POLICY: std::sync::OnceLock<HeaderValue> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        let policy = format!(
            "default-src 'none'; script-src {}; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
            crate::channels::web::page_script_source()
        );
        HeaderValue::from_str(&policy)
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
    })
}

/// Headers every response carries, and those of HTML pages: a page is never framed,
/// never sniffed as another type, and sends no referrer to other sites.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            content_security_policy().clone(),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    response
}

/// How long `/healthz` waits for the store to answer a read.
const STORE_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// Health: the store answers a read (within `STORE_READ_TIMEOUT`) and no worker is stuck
/// (`health::Health`); with what waits in the store (events received and not yet
/// processed, deliveries not yet sent) and each worker's time since its last beat. 503
/// when either fails; the cause goes to the log, not to the caller.
async fn healthz(State(state): State<AppState>) -> Response {
    let store = state.inbox.store().clone();
    let read = tokio::time::timeout(
        STORE_READ_TIMEOUT,
        tokio::task::spawn_blocking(move || store.backlog()),
    )
    .await;
    let backlog = match read {
        Ok(Ok(Ok(backlog))) => Some(backlog),
        Ok(Ok(Err(error))) => {
            tracing::error!(error = ?error, "health: the store cannot be read");
            None
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "health: the store read failed");
            None
        }
        Err(_) => {
            tracing::error!("health: the store did not answer in time");
            None
        }
    };
    let workers = state.health.workers(Instant::now());
    let stuck: Vec<&str> = workers
        .iter()
        .filter(|w| w.stuck)
        .map(|w| w.name.as_str())
        .collect();
    if !stuck.is_empty() {
        tracing::error!(?stuck, "health: workers stuck");
    }
    let healthy = backlog.is_some() && stuck.is_empty();
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "store": if backlog.is_some() { "ok" } else { "unavailable" },
        "inbound_queued": backlog.map(|b| b.inbound_queued),
        "deliveries_pending": backlog.map(|b| b.deliveries_pending),
        "workers": workers,
    });
    (status, Json(body)).into_response()
}

/// Readiness, for a load balancer: 200 from the end of start-up until the first
/// shutdown signal, 503 otherwise.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.health.is_ready() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

#[derive(serde::Deserialize)]
struct ReportQuery {
    /// The fiscal year in the Buddhist era; the current one if absent.
    year: Option<String>,
    /// `thai` to write the figures in Thai digits.
    #[serde(default)]
    digits: String,
    #[serde(default)]
    lang: String,
}

impl ReportQuery {
    fn year(&self) -> Option<u32> {
        match &self.year {
            None => Some(crate::report::current_fiscal_year_be(chrono::Utc::now())),
            Some(year) => crate::thai::normalize_digits(year.trim())
                .parse()
                .ok()
                .filter(|year| (2500..=2700).contains(year)),
        }
    }

    fn lang(&self) -> crate::domain::Lang {
        if self.lang == "en" {
            crate::domain::Lang::En
        } else {
            crate::domain::Lang::Th
        }
    }
}

/// The year's report, from every case in the store (a scan: fine for an office's
/// thousands of cases a year, run off the async threads).
async fn year_report(state: &AppState, year_be: u32) -> anyhow::Result<crate::report::YearReport> {
    let store = state.inbox.store().clone();
    tokio::task::spawn_blocking(move || {
        // Streamed: 100,000 cases are never all in memory at once.
        let mut failure = None;
        let cases = store
            .all_cases()
            .map_while(|case| case.map_err(|error| failure = Some(error)).ok());
        let report = crate::report::year_report(cases, year_be, chrono::Utc::now());
        match failure {
            Some(error) => Err(error.into()),
            None => Ok(report),
        }
    })
    .await?
}

/// The report a query asks for, or the response that says why there is none.
async fn report_for(
    state: &AppState,
    query: &ReportQuery,
) -> Result<crate::report::YearReport, axum::response::Response> {
    use axum::response::IntoResponse as _;
    let Some(year) = query.year() else {
        return Err((
            axum::http::StatusCode::BAD_REQUEST,
            "year: a Buddhist-era year such as 2569",
        )
            .into_response());
    };
    year_report(state, year).await.map_err(|error| {
        tracing::error!(error = ?error, "cannot make the report");
        axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })
}

/// The public statistics page the office links from its site for the OIT: printable.
async fn report_page(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<ReportQuery>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match report_for(&state, &query).await {
        Ok(report) => axum::response::Html(crate::report::to_html(
            &report,
            &state.settings,
            query.lang(),
            query.digits == "thai",
        ))
        .into_response(),
        Err(response) => response,
    }
}

/// The same figures as CSV for Excel (UTF-8 with a byte-order mark).
async fn report_csv(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<ReportQuery>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match report_for(&state, &query).await {
        Ok(report) => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "text/csv; charset=utf-8".to_owned(),
                ),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"tambon-report-{}.csv\"",
                        report.year_be
                    ),
                ),
            ],
            crate::report::to_csv(
                &report,
                &state.settings,
                query.lang(),
                query.digits == "thai",
            ),
        )
            .into_response(),
        Err(response) => response,
    }
}

/// The photo of an update that went out: public, as the update itself is.
async fn update_photo(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<u64>,
) -> axum::response::Response {
    use crate::domain::update::UpdateState;
    use axum::response::IntoResponse as _;
    let store = state.inbox.store();
    let media = match store.update(id) {
        Ok(Some(update))
            if matches!(
                update.state,
                UpdateState::Sending { .. } | UpdateState::Sent { .. }
            ) =>
        {
            match update
                .photo
                .map(|media_id| store.media(&media_id))
                .transpose()
            {
                Ok(media) => media.flatten(),
                Err(error) => {
                    tracing::error!(error = ?error, "cannot read an update's photo");
                    return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
            }
        }
        Ok(_) => None,
        Err(error) => {
            tracing::error!(error = ?error, "cannot read an update");
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    match media {
        Some(media) => (
            [(axum::http::header::CONTENT_TYPE, media.content_type)],
            media.bytes,
        )
            .into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}
