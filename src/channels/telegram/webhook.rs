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
use secrecy::ExposeSecret;
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
        telegram
            .webhook_secret
            .as_ref()
            .is_some_and(|secret| bool::from(given.ct_eq(secret.expose_secret().as_bytes())))
    }) {
        Ok(body) => body,
        Err(refused) => return refused.into_response(),
    };
    // Only the id is needed here; the worker parses the whole update with teloxide.
    let update_id = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|value| value["update_id"].as_u64())
        .and_then(|id| u32::try_from(id).ok());
    let Some(update_id) = update_id else {
        tracing::warn!("Telegram webhook refused: not an update");
        return (StatusCode::BAD_REQUEST, "not an update").into_response();
    };
    let raw = String::from_utf8_lossy(&body).into_owned();
    let recorder = Arc::clone(&telegram);
    queue::record_and_acknowledge(
        &telegram.store,
        &telegram.wake,
        Channel::Telegram,
        move || {
            let new = recorder.record(update_id, &raw)?;
            if !new {
                tracing::info!("Telegram update already received");
            }
            Ok(usize::from(new))
        },
    )
    .await
    .into_response()
}
