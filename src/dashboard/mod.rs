//! The staff web dashboard under `/staff`: log in, work the division's queue, answer
//! residents, move, assign, forward and close cases, keep internal notes; for admins,
//! dead deliveries, enrolment codes and the audit log.
//!
//! Server-rendered HTML (minijinja templates compiled into the binary), no script. Every
//! change goes through `Inbox::staff_change`, so it is committed with what it causes (the
//! answer to the resident, the notices to divisions, the audit entries) exactly as the
//! same change made from a chat.

mod admin;
mod auth;
mod cases;
mod measures;
mod updates;
mod view;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::Environment;

use crate::http::AppState;

pub use auth::{add_user, dashboard_identity, Staff, LOGIN_CSRF_COOKIE};

/// What the dashboard holds for its whole life: its compiled templates and the
/// holidays its deadlines skip.
pub struct Dashboard {
    templates: Environment<'static>,
    holidays: Arc<crate::calendar::Holidays>,
    /// Turns for password checks: Argon2id takes about 19 MiB a check, so parallel
    /// attempts (for names that exist or not) must not each take their own.
    password_checks: Arc<tokio::sync::Semaphore>,
    /// Login attempts per client address: one address cannot try password after
    /// password, whatever names it tries.
    login_attempts: crate::limits::Limiter<std::net::IpAddr>,
}

impl Dashboard {
    pub fn new(
        holidays: Arc<crate::calendar::Holidays>,
        settings: &crate::config::Dashboard,
    ) -> anyhow::Result<Self> {
        let mut templates = Environment::new();
        for (name, source) in [
            ("base.html", include_str!("templates/base.html")),
            ("login.html", include_str!("templates/login.html")),
            ("queue.html", include_str!("templates/queue.html")),
            ("case.html", include_str!("templates/case.html")),
            ("simple.html", include_str!("templates/simple.html")),
            ("measures.html", include_str!("templates/measures.html")),
            ("updates.html", include_str!("templates/updates.html")),
        ] {
            templates.add_template(name, source)?;
        }
        Ok(Self {
            templates,
            holidays,
            password_checks: Arc::new(tokio::sync::Semaphore::new(
                settings.max_parallel_password_checks.max(1),
            )),
            login_attempts: crate::limits::Limiter::per_minute(
                settings.login_attempts_per_address_per_minute,
            ),
        })
    }

    /// Renders a page; a template error is logged and shown as a plain 500.
    fn page(&self, name: &str, context: minijinja::Value) -> Response {
        match self
            .templates
            .get_template(name)
            .and_then(|template| template.render(context))
        {
            Ok(html) => Html(html).into_response(),
            Err(error) => {
                tracing::error!(%error, template = name, "cannot render a dashboard page");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }
}

/// Every route under `/staff`.
pub fn routes(dashboard: Arc<Dashboard>) -> Router<AppState> {
    Router::new()
        .route("/staff", get(cases::home))
        .route("/staff/", get(cases::home))
        .route(
            "/staff/login",
            get(auth_pages::login_page).post(auth_pages::login_submit),
        )
        .route("/staff/logout", post(auth_pages::logout))
        .route("/staff/queue", get(cases::queue))
        .route("/staff/cases/{code}", get(cases::case_page))
        .route("/staff/cases/{code}/reply", post(cases::reply))
        .route("/staff/cases/{code}/status", post(cases::set_status))
        .route("/staff/cases/{code}/assign", post(cases::assign))
        .route("/staff/cases/{code}/note", post(cases::note))
        .route("/staff/cases/{code}/forward", post(cases::forward))
        .route("/staff/cases/{code}/close", post(cases::close))
        .route("/staff/media/{code}/{media_id}", get(cases::media))
        .route("/staff/api/queue", get(cases::api_queue))
        .route("/staff/api/cases/{code}", get(cases::api_case))
        .route("/staff/deliveries", get(admin::deliveries))
        .route("/staff/deliveries/{id}/retry", post(admin::retry_delivery))
        .route("/staff/enrol", get(admin::enrol_page).post(admin::enrol))
        .route("/staff/audit", get(admin::audit_log))
        .route("/staff/measures", get(measures::page))
        .route("/staff/report", get(cases::report))
        .route("/staff/updates", get(updates::page))
        .route("/staff/updates/{id}/withdraw", post(updates::withdraw))
        .route("/staff/updates/{id}/send-now", post(updates::send_now))
        .route("/staff/measures/{item}", post(measures::update))
        .layer(axum::Extension(dashboard))
}

/// The login and logout pages.
mod auth_pages {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use axum::extract::{ConnectInfo, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::{Extension, Form};
    use minijinja::context;
    use serde::Deserialize;

    use super::auth::{self, LoginOutcome, Staff};
    use super::Dashboard;
    use crate::http::AppState;

    #[derive(Deserialize)]
    pub struct LoginForm {
        #[serde(default)]
        username: String,
        #[serde(default)]
        password: String,
        #[serde(default)]
        csrf: String,
    }

    #[derive(Deserialize)]
    pub struct CsrfForm {
        #[serde(default)]
        pub csrf: String,
    }

    pub async fn login_page(
        State(state): State<AppState>,
        Extension(dashboard): Extension<Arc<Dashboard>>,
        headers: HeaderMap,
    ) -> Response {
        login_form(&state, &dashboard, &headers, StatusCode::OK, None)
    }

    /// The login form with a CSRF token bound to a cookie of this browser.
    fn login_form(
        state: &AppState,
        dashboard: &Dashboard,
        headers: &HeaderMap,
        status: StatusCode,
        error: Option<&str>,
    ) -> Response {
        let secret = state.inbox.store().installation_secret();
        let csrf = auth::cookie(headers, auth::LOGIN_CSRF_COOKIE)
            .filter(|value| auth::login_csrf_valid(&secret, value))
            .unwrap_or_else(|| auth::login_csrf_token(&secret));
        let page = dashboard.page(
            "login.html",
            context! {
                office => state.settings.office.name_th,
                csrf => csrf,
                flash => error,
                flash_kind => "error",
            },
        );
        let cookie = auth::set_cookie(
            state.settings.dashboard.secure_cookies,
            auth::LOGIN_CSRF_COOKIE,
            &csrf,
            3600,
        );
        (status, [cookie], page).into_response()
    }

    pub async fn login_submit(
        State(state): State<AppState>,
        Extension(dashboard): Extension<Arc<Dashboard>>,
        client: Option<Extension<ConnectInfo<SocketAddr>>>,
        headers: HeaderMap,
        Form(form): Form<LoginForm>,
    ) -> Response {
        let expected = auth::cookie(&headers, auth::LOGIN_CSRF_COOKIE).unwrap_or_default();
        if expected.is_empty() && cookies_dropped(&state, &headers) {
            // Over plain http the browser drops a `Secure` cookie: say so, rather than
            // that the form expired.
            tracing::warn!(
                "a dashboard login came over plain http, so the browser dropped the secure \
                 cookie: serve the dashboard over HTTPS, or set [dashboard] secure_cookies \
                 = false on a trusted network"
            );
            return login_form(
                &state,
                &dashboard,
                &headers,
                StatusCode::BAD_REQUEST,
                Some(INSECURE_CONNECTION),
            );
        }
        let secret = state.inbox.store().installation_secret();
        if !auth::csrf_matches(&expected, &form.csrf) || !auth::login_csrf_valid(&secret, &expected)
        {
            return login_form(
                &state,
                &dashboard,
                &headers,
                StatusCode::FORBIDDEN,
                Some("แบบฟอร์มหมดอายุ กรุณาลองอีกครั้ง"),
            );
        }
        // One address cannot try password after password. Requests without a socket
        // (tests calling the router directly) are not limited by address.
        if let Some(Extension(ConnectInfo(address))) = client {
            if let Err(wait) = dashboard
                .login_attempts
                .take(&address.ip(), std::time::Instant::now())
            {
                tracing::warn!("too many dashboard login attempts from one address");
                let seconds = wait.as_secs().max(1);
                let mut response = login_form(
                    &state,
                    &dashboard,
                    &headers,
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(&format!(
                        "ลองเข้าสู่ระบบจากเครื่องนี้หลายครั้งเกินไป กรุณารอ {seconds} วินาทีแล้วลองใหม่"
                    )),
                );
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(seconds),
                );
                return response;
            }
        }
        // Wait for a turn to check a password; past the wait, ask to come back.
        let wait =
            std::time::Duration::from_secs(state.settings.dashboard.password_check_wait_seconds);
        let turn =
            tokio::time::timeout(wait, Arc::clone(&dashboard.password_checks).acquire_owned())
                .await;
        let Ok(Ok(turn)) = turn else {
            tracing::warn!("a dashboard login waited too long for a password check");
            let mut response = login_form(
                &state,
                &dashboard,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                Some("มีผู้เข้าสู่ระบบพร้อมกันจำนวนมาก กรุณาลองใหม่ในอีกสักครู่"),
            );
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
            return response;
        };
        let store = state.inbox.store().clone();
        let settings = state.settings.dashboard.clone();
        let username = form.username.trim().to_owned();
        let outcome = tokio::task::spawn_blocking(move || {
            // The turn is held until the check is done.
            let _turn = turn;
            auth::log_in(
                &store,
                &settings,
                &username,
                &form.password,
                chrono::Utc::now(),
            )
        })
        .await;
        match outcome {
            Ok(Ok(LoginOutcome::LoggedIn { token })) => {
                tracing::info!("a staff member logged in to the dashboard");
                let secure = state.settings.dashboard.secure_cookies;
                let max_age = i64::from(state.settings.dashboard.session_hours) * 3600;
                (
                    // Two cookies: `AppendHeaders`, as an array would keep only the last.
                    axum::response::AppendHeaders([
                        auth::set_cookie(secure, auth::SESSION_COOKIE, &token, max_age),
                        auth::set_cookie(secure, auth::LOGIN_CSRF_COOKIE, "", 0),
                    ]),
                    Redirect::to("/staff/queue"),
                )
                    .into_response()
            }
            Ok(Ok(LoginOutcome::Refused)) => login_form(
                &state,
                &dashboard,
                &headers,
                StatusCode::UNAUTHORIZED,
                Some("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง"),
            ),
            Ok(Ok(LoginOutcome::Locked { until })) => {
                let until = crate::thai::format_datetime(until, crate::domain::Lang::Th);
                login_form(
                    &state,
                    &dashboard,
                    &headers,
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(&format!("ใส่รหัสผ่านผิดหลายครั้ง บัญชีถูกระงับชั่วคราวถึง {until}")),
                )
            }
            Ok(Err(error)) => {
                tracing::error!(error = ?error, "dashboard login failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
            Err(error) => {
                tracing::error!(%error, "dashboard login task failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }

    /// What the login page says when the browser cannot keep its cookies.
    const INSECURE_CONNECTION: &str =
        "เข้าสู่ระบบผ่าน http ธรรมดาไม่ได้ เพราะเบราว์เซอร์จะไม่เก็บคุกกี้ที่ปลอดภัย \
         กรุณาเปิดหน้านี้ผ่าน HTTPS หรือหากเป็นเครือข่ายภายในที่เชื่อถือได้ ให้ผู้ดูแลตั้งค่า \
         [dashboard] secure_cookies = false";

    /// Whether the browser drops this server's cookies: they are `Secure`, and the page
    /// was reached over plain http at an address other than localhost (browsers keep
    /// `Secure` cookies for `http://localhost` only).
    fn cookies_dropped(state: &AppState, headers: &HeaderMap) -> bool {
        if !state.settings.dashboard.secure_cookies {
            return false;
        }
        let https = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let hostname = host.rsplit_once(':').map_or(host, |(name, _)| name);
        let local = matches!(hostname, "localhost" | "127.0.0.1" | "[::1]")
            || hostname.ends_with(".localhost");
        !https && !local
    }

    pub async fn logout(
        State(state): State<AppState>,
        staff: Staff,
        headers: HeaderMap,
        Form(form): Form<CsrfForm>,
    ) -> Response {
        if !auth::csrf_matches(&staff.csrf, &form.csrf) {
            return super::view::forbidden();
        }
        if let Err(error) = auth::log_out(state.inbox.store(), &headers) {
            tracing::error!(error = ?error, "cannot end a dashboard session");
        }
        let secure = state.settings.dashboard.secure_cookies;
        (
            [auth::set_cookie(secure, auth::SESSION_COOKIE, "", 0)],
            Redirect::to("/staff/login"),
        )
            .into_response()
    }
}
