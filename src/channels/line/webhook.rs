//! `POST /webhook/line`: signature first, then durable recording, then 200.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::Utc;

use crate::channels::line::{signature, wire, Line};
use crate::channels::{queue, webhook};
use crate::domain::Channel;
use crate::store::Enqueued;

pub fn routes(line: Arc<Line>) -> Router {
    let max_body = line.settings.line.max_body_bytes;
    Router::new()
        .route(
            "/webhook/line",
            post(receive).layer(DefaultBodyLimit::max(max_body)),
        )
        .with_state(line)
}

async fn receive(
    State(line): State<Arc<Line>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let signature = headers
        .get("x-line-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let body = match webhook::authenticated_body("LINE", body, signature.as_bytes(), |body| {
        signature::verify(&line.channel_secret, body, signature)
    }) {
        Ok(body) => body,
        Err(refused) => return refused.into_response(),
    };
    let request: wire::CallbackRequest = match webhook::parse_json("LINE", &body) {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    if request.events.is_empty() {
        // LINE's "verify" button sends no events.
        return StatusCode::OK.into_response();
    }
    let store = line.store.clone();
    queue::record_and_acknowledge(&line.store, &line.wake, Channel::Line, move || {
        record(&store, request.events)
    })
    .await
    .into_response()
}

/// Queues each new event; returns how many were new.
fn record(store: &crate::store::Store, events: Vec<serde_json::Value>) -> anyhow::Result<usize> {
    let now = Utc::now();
    let mut n_new = 0;
    for raw in events {
        let event: wire::Event = match serde_json::from_value(raw.clone()) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%error, "unreadable LINE event skipped");
                continue;
            }
        };
        let event_id = event.dedupe_key(&raw);
        let process = !event.is_standby();
        match store.enqueue_inbound(Channel::Line, &event_id, &raw.to_string(), now, process)? {
            Enqueued::New => n_new += 1,
            Enqueued::Duplicate => {
                tracing::info!(
                    redelivery = event.is_redelivery(),
                    "LINE event already received"
                );
            }
        }
    }
    Ok(n_new)
}
