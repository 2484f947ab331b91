//! `POST /webhook/line`: signature first, then durable recording, then 200.

use std::sync::Arc;

use crate::channels::line::event::Event;
use crate::channels::line::{signature, wire, Line};
use crate::channels::{queue, webhook};
use crate::domain::Channel;
use crate::store::NewEvent;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

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
    let events = read_events(&request);
    let waiting = if line.lag.behind(crate::store::unix_ms(chrono::Utc::now())) {
        people_waiting(&events)
    } else {
        Vec::new()
    };
    let status = queue::record_and_acknowledge(&line.recorder, Channel::Line, events).await;
    if status == StatusCode::OK {
        // The worker is behind: these people wait for their answers. Show them one is
        // coming (LINE takes the animation off when the answer arrives).
        for user_id in &waiting {
            line.show_loading(user_id);
        }
    }
    status.into_response()
}

/// The people who sent something in a private chat (a message, a tap), once each.
fn people_waiting(events: &[NewEvent]) -> Vec<String> {
    let mut people: Vec<String> = events
        .iter()
        .filter(|event| event.counted && event.process)
        .map(|event| event.chat.clone())
        .collect();
    people.sort_unstable();
    people.dedup();
    people
}

/// Each event of a callback read once, into the record the queue keeps. One odd event
/// is skipped (logged), never the whole request.
#[must_use]
pub fn read_events(request: &wire::CallbackRequest) -> Vec<NewEvent> {
    request
        .events
        .iter()
        .filter_map(|raw| {
            let event: wire::Event = match serde_json::from_str(raw.get()) {
                Ok(event) => event,
                Err(error) => {
                    tracing::warn!(%error, "unreadable LINE event skipped");
                    return None;
                }
            };
            let event_id = event.dedupe_key(raw.get());
            let process = !event.is_standby();
            if event.is_redelivery() {
                tracing::info!("LINE redelivered an event");
            }
            let event = Event::from(event);
            Some(NewEvent {
                channel: Channel::Line,
                event_id,
                chat: event.chat().to_owned(),
                counted: event.counted(),
                payload: event.encode(),
                process,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, source: &serde_json::Value, mode: &str) -> serde_json::Value {
        serde_json::json!({
            "type": "message", "mode": mode, "timestamp": 1, "source": source,
            "webhookEventId": id, "deliveryContext": { "isRedelivery": false },
            "replyToken": "rt", "message": { "type": "text", "id": id, "text": "สวัสดี" },
        })
    }

    #[test]
    fn the_people_waiting_are_private_senders_once_each() {
        let alice = serde_json::json!({ "type": "user", "userId": "Ualice" });
        let bob = serde_json::json!({ "type": "user", "userId": "Ubob" });
        let group = serde_json::json!({ "type": "group", "groupId": "Cgroup", "userId": "Ucarol" });
        let body = serde_json::json!({ "destination": "Ubot", "events": [
            event("01A", &alice, "active"),
            event("01B", &alice, "active"),
            event("01C", &group, "active"),
            event("01D", &bob, "standby"),
        ]});
        let request: wire::CallbackRequest = serde_json::from_value(body).unwrap();
        assert_eq!(people_waiting(&read_events(&request)), vec!["Ualice"]);
    }
}
