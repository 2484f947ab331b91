//! Dashboard logins: Argon2id password hashes, lockout after repeated failures, sessions
//! in a cookie, and the CSRF token every form carries.
//!
//! The session cookie holds a random token; the store keeps only its SHA-256, so a
//! copy of the data directory cannot be used to log in. The role is read from the store
//! on every request: revoking it logs the person out at once.

use argon2::password_hash::{PasswordHasher as _, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use sha2::Digest as _;

use crate::config;
use crate::domain::role::Role;
use crate::domain::{Channel, ChatKey};
use crate::http::AppState;
use crate::store::{Login, Session, Store, LOGIN_RECORD_VERSION};

/// The session cookie. Scoped to `/staff`: the web chat never sees it.
pub const SESSION_COOKIE: &str = "tambon_staff";
/// The login form's CSRF cookie (double submit: the form must carry the same value).
pub const LOGIN_CSRF_COOKIE: &str = "tambon_login";
/// Shortest password `tambon admin user add` accepts.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Creates (or replaces) a dashboard login with a role that works cases.
pub fn add_user(store: &Store, username: &str, password: &str, role: &Role) -> anyhow::Result<()> {
    anyhow::ensure!(
        valid_username(username),
        "a login name is 2 to 32 characters: lower-case letters, digits, '.', '-' or '_'"
    );
    anyhow::ensure!(
        password.chars().count() >= MIN_PASSWORD_CHARS,
        "a password has at least {MIN_PASSWORD_CHARS} characters"
    );
    anyhow::ensure!(
        role.works_cases(),
        "a dashboard login is for staff, the integrity officer or an admin"
    );
    let now = Utc::now();
    store.put_login(&Login {
        v: LOGIN_RECORD_VERSION,
        username: username.to_owned(),
        password_hash: hash_password(password)?,
        failures: 0,
        locked_until: None,
        created_at: now,
    })?;
    store.grant_role(&dashboard_identity(username), role, now)?;
    store.sync_blocking()?;
    Ok(())
}

/// The identity under which a login's role, assignments and audit entries are kept.
#[must_use]
pub fn dashboard_identity(username: &str) -> ChatKey {
    ChatKey::new(Channel::Dashboard, username)
}

fn valid_username(name: &str) -> bool {
    (2..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| anyhow::anyhow!("cannot hash the password: {error}"))
}

fn password_matches(password: &str, phc: &str) -> bool {
    crate::hashing::verify(password, phc)
}

/// What a login attempt came to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in: the cookie token to hand to the browser.
    LoggedIn { token: String },
    /// Wrong name or password (the same answer for both).
    Refused,
    /// Too many failures: refused without checking until then.
    Locked { until: DateTime<Utc> },
}

/// Checks a password and opens a session. Slow on purpose (Argon2): call it off the
/// async threads.
pub fn log_in(
    store: &Store,
    settings: &config::Dashboard,
    username: &str,
    password: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<LoginOutcome> {
    // Each attempt is counted as a failure before its password is checked, in one
    // atomic change of the login: attempts made in parallel each see the count of the
    // ones before them, so the lockout holds however many arrive at once.
    let admitted = store.update_login(username, |login| {
        if let Some(until) = login.locked_until.filter(|until| *until > now) {
            return Err(until);
        }
        login.locked_until = None;
        login.failures += 1;
        if login.failures >= settings.max_failures {
            // This is the last attempt allowed: should it fail, the lock holds.
            login.failures = 0;
            login.locked_until = Some(now + Duration::minutes(i64::from(settings.lockout_minutes)));
        }
        Ok(login.password_hash.clone())
    })?;
    let password_hash = match admitted {
        None => {
            // Spend the same time as for a real login, so timing does not tell which
            // names exist.
            let _ = password_matches(password, dummy_hash());
            return Ok(LoginOutcome::Refused);
        }
        Some(Err(until)) => return Ok(LoginOutcome::Locked { until }),
        Some(Ok(hash)) => hash,
    };
    if !password_matches(password, &password_hash) {
        let locked = store
            .login(username)?
            .and_then(|login| login.locked_until)
            .filter(|until| *until > now);
        if let Some(until) = locked {
            tracing::warn!("a dashboard login was locked after repeated failures");
            return Ok(LoginOutcome::Locked { until });
        }
        return Ok(LoginOutcome::Refused);
    }
    let role = store.role_of(&dashboard_identity(username))?;
    if !role.works_cases() {
        // The password is right but the role was revoked.
        return Ok(LoginOutcome::Refused);
    }
    // The right password: the failures counted so far, this attempt's included, and a
    // lock it may have set are undone.
    store.update_login(username, |login| {
        login.failures = 0;
        login.locked_until = None;
    })?;
    let token = random_token();
    store.put_session(
        &token_hash(&token),
        &Session {
            v: LOGIN_RECORD_VERSION,
            username: username.to_owned(),
            csrf: random_token(),
            expires_at: now + Duration::hours(i64::from(settings.session_hours)),
        },
    )?;
    Ok(LoginOutcome::LoggedIn { token })
}

/// A hash of a password nobody has, checked when the login name does not exist.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

/// 32 random bytes, URL-safe base64.
#[must_use]
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn token_hash(token: &str) -> Vec<u8> {
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

/// Ends the session a cookie names.
pub fn log_out(store: &Store, headers: &HeaderMap) -> anyhow::Result<()> {
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        store.remove_session(&token_hash(&token))?;
    }
    Ok(())
}

/// A cookie's value from the request headers.
#[must_use]
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A `Set-Cookie` header: HttpOnly, SameSite=Strict, Path=/staff, Secure unless turned
/// off. An empty value with `max_age_secs` 0 removes the cookie.
#[must_use]
pub fn set_cookie(
    secure: bool,
    name: &str,
    value: &str,
    max_age_secs: i64,
) -> (axum::http::HeaderName, HeaderValue) {
    let secure = if secure { "; Secure" } else { "" };
    let header = format!(
        "{name}={value}; Path=/staff; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    );
    (
        SET_COOKIE,
        HeaderValue::from_str(&header).unwrap_or_else(|_| HeaderValue::from_static("")),
    )
}

/// A token for the login form: random, and signed with the installation's secret, so
/// that only a token this server issued is accepted (a script cannot pick its own value
/// for both the cookie and the field).
#[must_use]
pub fn login_csrf_token(secret: &[u8]) -> String {
    let nonce = random_token();
    let signature = login_csrf_signature(secret, &nonce);
    format!("{nonce}.{signature}")
}

/// Whether `token` is one `login_csrf_token` made with this secret.
#[must_use]
pub fn login_csrf_valid(secret: &[u8], token: &str) -> bool {
    let Some((nonce, signature)) = token.split_once('.') else {
        return false;
    };
    csrf_matches(&login_csrf_signature(secret, nonce), signature)
}

fn login_csrf_signature(secret: &[u8], nonce: &str) -> String {
    use hmac::Mac as _;
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(b"dashboard login form\0");
    mac.update(nonce.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Whether a submitted CSRF token is the expected one, in constant time.
#[must_use]
pub fn csrf_matches(expected: &str, submitted: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

/// The logged-in staff member of a request. As an extractor it sends a browser without
/// a valid session to the login page.
#[derive(Clone, Debug)]
pub struct Staff {
    pub username: String,
    pub role: Role,
    /// The role as people read it, in Thai.
    pub role_name: String,
    pub csrf: String,
}

impl Staff {
    #[must_use]
    pub fn identity(&self) -> ChatKey {
        dashboard_identity(&self.username)
    }

    #[must_use]
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let to_login = || Redirect::to("/staff/login").into_response();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let store = state.inbox.store();
        let session = match store.session(&token_hash(&token)) {
            Ok(Some(session)) if session.expires_at > Utc::now() => session,
            Ok(_) => return Err(to_login()),
            Err(error) => {
                tracing::error!(error = ?error, "cannot read a dashboard session");
                return Err(axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response());
            }
        };
        match store.role_of(&dashboard_identity(&session.username)) {
            Ok(role) if role.works_cases() => Ok(Self {
                role_name: state
                    .inbox
                    .engine()
                    .role_name(crate::domain::Lang::Th, &role),
                username: session.username,
                role,
                csrf: session.csrf,
            }),
            Ok(_) => Err(to_login()),
            Err(error) => {
                tracing::error!(error = ?error, "cannot read a dashboard role");
                Err(axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_stored_as_a_salted_argon2id_hash_that_verifies() {
        let first = hash_password("correct horse battery").unwrap();
        let second = hash_password("correct horse battery").unwrap();
        assert!(first.starts_with("$argon2id$"));
        assert_ne!(first, second, "each hash has its own salt");
        assert!(password_matches("correct horse battery", &first));
        assert!(!password_matches("correct horse batterz", &first));
    }

    #[test]
    fn the_login_is_locked_after_repeated_failures_and_then_refuses_the_right_password() {
        let store = Store::temporary().unwrap();
        let settings = config::Dashboard {
            max_failures: 3,
            ..config::Dashboard::default()
        };
        let role = Role::Staff {
            division: "finance".to_owned(),
        };
        add_user(&store, "malee", "long enough password", &role).unwrap();
        let now = Utc::now();
        for _ in 0..2 {
            assert!(matches!(
                log_in(&store, &settings, "malee", "wrong", now).unwrap(),
                LoginOutcome::Refused
            ));
        }
        assert!(matches!(
            log_in(&store, &settings, "malee", "wrong", now).unwrap(),
            LoginOutcome::Locked { .. }
        ));
        assert!(matches!(
            log_in(&store, &settings, "malee", "long enough password", now).unwrap(),
            LoginOutcome::Locked { .. }
        ));
        let later = now + Duration::minutes(i64::from(settings.lockout_minutes) + 1);
        assert!(matches!(
            log_in(&store, &settings, "malee", "long enough password", later).unwrap(),
            LoginOutcome::LoggedIn { .. }
        ));
    }

    #[test]
    fn a_revoked_login_cannot_log_in_and_names_are_checked() {
        let store = Store::temporary().unwrap();
        let settings = config::Dashboard::default();
        assert!(add_user(&store, "Somchai!", "long enough password", &Role::Admin).is_err());
        assert!(add_user(&store, "somchai", "short", &Role::Admin).is_err());
        assert!(add_user(&store, "somchai", "long enough password", &Role::Resident).is_err());
        add_user(&store, "somchai", "long enough password", &Role::Admin).unwrap();
        store.revoke_role(&dashboard_identity("somchai")).unwrap();
        assert!(matches!(
            log_in(
                &store,
                &settings,
                "somchai",
                "long enough password",
                Utc::now()
            )
            .unwrap(),
            LoginOutcome::Refused
        ));
        assert!(matches!(
            log_in(
                &store,
                &settings,
                "nobody",
                "long enough password",
                Utc::now()
            )
            .unwrap(),
            LoginOutcome::Refused
        ));
    }
}
