//! `POST /webhook/telegram`: the secret token first (constant time), then the update is
//! recorded durably, then 200.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq as _;

use crate::channels::telegram::Telegram;
use crate::channels::{queue, webhook};
use crate::domain::Channel;

pub fn routes(telegram: Arc<Telegram>) -> Router {
    let max_body = telegram.settings.telegram.max_body_bytes;
    Router::new()
        .route(
            "/webhook/telegram",
            post(receive).layer(DefaultBodyLimit::max(max_body)),
        )
        .with_state(telegram)
}

async fn receive(
    State(telegram): State<Arc<Telegram>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let given = headers
        .get("x-telegram-bot-api-secret-token")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let body = match webhook::authenticated_body("Telegram", body, given, |_| {
        token_matches(telegram.webhook_secret.as_ref(), given)
    }) {
        Ok(body) => body,
        Err(refused) => return refused.into_response(),
    };
    let raw = serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default();
    let Some(update_id) = update_id_of(&raw) else {
        tracing::warn!("Telegram webhook refused: not an update");
        return (StatusCode::BAD_REQUEST, "not an update").into_response();
    };
    queue::record_and_acknowledge(
        &telegram.recorder,
        Channel::Telegram,
        vec![Telegram::new_event(update_id, &raw)],
    )
    .await
    .into_response()
}

/// Whether the secret-token header's value is the webhook secret, compared in constant
/// time. Without a secret configured nothing is authentic.
#[must_use]
pub fn token_matches(secret: Option<&SecretString>, given: &[u8]) -> bool {
    secret.is_some_and(|secret| bool::from(given.ct_eq(secret.expose_secret().as_bytes())))
}

/// The `update_id` of an authenticated body, if it is an update: only the id is needed
/// here; the worker parses the whole update with teloxide.
#[must_use]
pub fn update_id(body: &[u8]) -> Option<u32> {
    update_id_of(&serde_json::from_slice(body).ok()?)
}

/// The `update_id` of an update already read as JSON.
fn update_id_of(update: &serde_json::Value) -> Option<u32> {
    update["update_id"]
        .as_u64()
        .and_then(|id| u32::try_from(id).ok())
}
