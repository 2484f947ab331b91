//! The HTTP server's router: health, the web chat, and (later) the platform webhooks and
//! the staff console, all sharing one `AppState`.

use std::sync::Arc;

use axum::extract::State;
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
}

/// The whole application's routes; tests call it without a socket.
pub fn build_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .merge(crate::channels::web::routes(&state))
        .with_state(state)
}

/// Liveness, with the depth of the inbound queue (platform events received and not yet
/// processed): a number that keeps growing means the worker is stuck.
async fn healthz(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "inbound_queued": state.inbox.store().n_queued_inbound(),
    }))
}
