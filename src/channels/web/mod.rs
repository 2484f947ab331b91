//! The web chat for the office's own site: a page at `/` and a JSON API under `/api`.

pub mod wire;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::Utc;
use serde::Deserialize;

use crate::domain::{Channel, ChatKey, Location};
use crate::engine::{Inbound, InboundKind};
use crate::http::AppState;
use crate::inbox::Handled;
use crate::store::Media;

use self::wire::{ChatRequest, ChatResponse, ErrorBody, Info, UploadResponse, WireReply};

const PAGE: &str = include_str!("page.html");
const MAX_ID_LEN: usize = 64;
const MIN_SESSION_LEN: usize = 16;
/// Photo types the office accepts, with the bytes each file starts with.
const IMAGE_TYPES: &[(&str, &[u8])] = &[
    ("image/jpeg", b"\xff\xd8\xff"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/webp", b"RIFF"),
];

pub fn routes(state: &AppState) -> Router<AppState> {
    let settings = &state.settings.server;
    Router::new()
        .route("/", get(page))
        .route("/api/info", get(info))
        .route(
            "/api/chat",
            post(chat).layer(DefaultBodyLimit::max(settings.max_body_bytes)),
        )
        .route(
            "/api/chat/upload",
            post(upload).layer(DefaultBodyLimit::max(settings.max_photo_bytes)),
        )
}

/// The `'sha256-…'` source of the page's one inline script, for the Content Security
/// Policy: the browser runs that script and no other inline one.
#[must_use]
pub fn page_script_source() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let script = PAGE
        .split_once("<script>")
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map_or("", |(script, _)| script);
    let digest = sha2::Sha256::digest(script.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

async fn page() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-cache")], Html(PAGE))
}

async fn info(State(state): State<AppState>) -> Json<Info> {
    let locales = state.inbox.engine().locales();
    let office = &state.settings.office;
    Json(Info {
        office_th: office.name_th.clone(),
        office_en: office.name_en.clone(),
        privacy_note_th: locales.text(crate::domain::Lang::Th, "web-privacy-note"),
        privacy_note_en: locales.text(crate::domain::Lang::En, "web-privacy-note"),
    })
}

/// Errors of the web API: the client sees a short message, the log the cause.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Validation(String),
    #[error("the request is too large")]
    TooLarge,
    /// Too many requests: come back after this long.
    #[error("too many requests")]
    TooMany(Duration),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            Self::Validation(message) => (StatusCode::BAD_REQUEST, message.clone()),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, self.to_string()),
            Self::TooMany(wait) => {
                let seconds = wait.as_secs().max(1).to_string();
                let body = Json(ErrorBody {
                    error: "ส่งข้อความถี่เกินไป กรุณารอสักครู่แล้วลองใหม่ค่ะ / You are sending messages too fast: please wait a moment and try again".to_owned(),
                });
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, seconds)],
                    body,
                )
                    .into_response();
            }
            Self::Unexpected(error) => {
                tracing::error!(error = ?error, "web chat request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ขออภัย ระบบขัดข้องชั่วคราว กรุณาลองใหม่อีกครั้ง / Sorry, something went wrong, please try again".to_owned(),
                )
            }
        };
        (status, Json(ErrorBody { error: message })).into_response()
    }
}

/// The per-address limit; requests that reach the router without a socket (tests
/// calling it directly) are not limited by address.
fn limit_address(
    state: &AppState,
    client: Option<&Extension<ConnectInfo<SocketAddr>>>,
) -> Result<(), ApiError> {
    let Some(Extension(ConnectInfo(address))) = client else {
        return Ok(());
    };
    state
        .limits
        .per_address
        .take(&address.ip(), Instant::now())
        .map_err(ApiError::TooMany)
}

fn body_error(rejection: &BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge
    } else {
        ApiError::Validation("cannot read the request body".to_owned())
    }
}

fn check_id(name: &str, value: &str, min_len: usize) -> Result<(), ApiError> {
    let well_formed = (min_len..=MAX_ID_LEN).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::Validation(format!(
            "`{name}` must be {min_len} to {MAX_ID_LEN} letters, digits, '-' or '_'"
        )))
    }
}

async fn chat(
    State(state): State<AppState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ChatResponse>, ApiError> {
    limit_address(&state, client.as_ref())?;
    let body = body.map_err(|rejection| body_error(&rejection))?;
    let request: ChatRequest = serde_json::from_slice(&body)
        .map_err(|error| ApiError::Validation(format!("malformed JSON: {error}")))?;
    check_id("session", &request.session, MIN_SESSION_LEN)?;
    check_id("id", &request.id, 1)?;
    state
        .limits
        .per_session
        .take(&request.session, Instant::now())
        .map_err(ApiError::TooMany)?;
    let kind = match (
        request.text,
        request.postback,
        request.location,
        request.image,
    ) {
        (Some(text), None, None, None) => InboundKind::Text(text),
        (None, Some(postback), None, None) => InboundKind::Postback(postback),
        (None, None, Some(location), None) => {
            let valid = (-90.0..=90.0).contains(&location.latitude)
                && (-180.0..=180.0).contains(&location.longitude);
            if !valid {
                return Err(ApiError::Validation(
                    "latitude or longitude out of range".to_owned(),
                ));
            }
            InboundKind::Location(Location {
                latitude: location.latitude,
                longitude: location.longitude,
                address: location.address,
            })
        }
        (None, None, None, Some(media_id)) => {
            if state
                .inbox
                .store()
                .media(&media_id)
                .map_err(anyhow::Error::from)?
                .is_none()
            {
                return Err(ApiError::Validation(
                    "unknown image; upload it first".to_owned(),
                ));
            }
            InboundKind::Image(media_id)
        }
        _ => {
            return Err(ApiError::Validation(
                "send exactly one of `text`, `postback`, `location` or `image`".to_owned(),
            ))
        }
    };
    let inbound = Inbound {
        event_id: Some(format!("{}:{}", request.session, request.id)),
        sender: ChatKey::new(Channel::Web, request.session.clone()),
        conversation: request.session,
        kind,
        received_at: Utc::now(),
        lang_hint: None,
    };
    let handled = state.inbox.handle(inbound).await?;
    Ok(Json(ChatResponse {
        duplicate: matches!(handled, Handled::Duplicate(_)),
        replies: handled.replies().iter().map(WireReply::from).collect(),
    }))
}

#[derive(Deserialize)]
struct UploadQuery {
    session: String,
}

async fn upload(
    State(state): State<AppState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<UploadResponse>, ApiError> {
    limit_address(&state, client.as_ref())?;
    let body = body.map_err(|rejection| body_error(&rejection))?;
    check_id("session", &query.session, MIN_SESSION_LEN)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some((content_type, magic)) = IMAGE_TYPES.iter().find(|(t, _)| *t == content_type) else {
        return Err(ApiError::Validation(
            "a photo must be JPEG, PNG or WebP".to_owned(),
        ));
    };
    if !body.starts_with(magic) {
        return Err(ApiError::Validation(
            "the file is not the image it claims to be".to_owned(),
        ));
    }
    let media = Media {
        content_type: (*content_type).to_owned(),
        bytes: body.to_vec(),
    };
    let store = state.inbox.store().clone();
    let media_id = tokio::task::spawn_blocking(move || store.save_media(&media))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(anyhow::Error::from)?;
    Ok(Json(UploadResponse { media_id }))
}
