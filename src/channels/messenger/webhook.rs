//! `GET /webhook/messenger` (verification) and `POST /webhook/messenger` (events).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use secrecy::ExposeSecret;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use crate::channels::messenger::{signature, wire, Messenger};
use crate::channels::{queue, webhook};
use crate::domain::Channel;
use crate::store::NewEvent;

pub fn routes(messenger: Arc<Messenger>) -> Router {
    let max_body = messenger.settings.messenger.max_body_bytes;
    Router::new()
        .route(
            "/webhook/messenger",
            get(verify)
                .post(receive)
                .layer(DefaultBodyLimit::max(max_body)),
        )
        .with_state(messenger)
}

#[derive(Deserialize)]
struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Meta subscribes the webhook by sending back the challenge with our verify token.
async fn verify(
    State(messenger): State<Arc<Messenger>>,
    Query(handshake): Query<Handshake>,
) -> Response {
    let token_matches = handshake.verify_token.as_deref().is_some_and(|token| {
        bool::from(
            token
                .as_bytes()
                .ct_eq(messenger.verify_token.expose_secret().as_bytes()),
        )
    });
    match (
        handshake.mode.as_deref(),
        token_matches,
        handshake.challenge,
    ) {
        (Some("subscribe"), true, Some(challenge)) => (StatusCode::OK, challenge).into_response(),
        _ => {
            tracing::warn!("Messenger verification refused");
            StatusCode::FORBIDDEN.into_response()
        }
    }
}

async fn receive(
    State(messenger): State<Arc<Messenger>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let body = match webhook::authenticated_body("Messenger", body, signature.as_bytes(), |body| {
        signature::verify(&messenger.app_secret, body, signature)
    }) {
        Ok(body) => body,
        Err(refused) => return refused.into_response(),
    };
    let request: wire::Body = match webhook::parse_json("Messenger", &body) {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    if request.object != "page" {
        tracing::info!("Messenger webhook for another object ignored");
        return StatusCode::OK.into_response();
    }
    queue::record_and_acknowledge(
        &messenger.recorder,
        Channel::Messenger,
        read_items(request.entry),
    )
    .await
    .into_response()
}

/// Each answerable item, for the queue; standby items are recorded, never answered; the
/// rest (receipts, echoes, referrals, unknown kinds) are not for the bot.
fn read_items(entries: Vec<wire::Entry>) -> Vec<NewEvent> {
    let mut events = Vec::new();
    for entry in entries {
        let items = entry
            .messaging
            .into_iter()
            .map(|raw| (raw, true))
            .chain(entry.standby.into_iter().map(|raw| (raw, false)));
        for (raw, answer) in items {
            let item: wire::Item = serde_json::from_value(raw.clone()).unwrap_or_default();
            if !item.is_answerable() {
                tracing::debug!("Messenger item not for the bot");
                continue;
            }
            let route = super::route(&raw);
            events.push(NewEvent {
                channel: Channel::Messenger,
                event_id: item.dedupe_key(&raw),
                chat: route.chat,
                counted: route.counted,
                payload: raw.to_string().into_bytes(),
                process: answer,
            });
        }
    }
    events
}
