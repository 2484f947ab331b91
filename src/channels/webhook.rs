//! The gate every platform webhook passes first: the body read within its size limit,
//! authenticated before anything else is looked at, then parsed. A refused body is never
//! logged: it is unauthenticated and may hold personal data.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// Why a webhook request was refused: the status and a short reason for the platform.
#[derive(Debug)]
pub struct Refused(pub StatusCode, pub &'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

/// The body, if it was read and `authentic` accepts it; else 401 (or the rejection's
/// status). `credentials` is what the request carried (signature, token), only to log
/// whether there was any.
pub fn authenticated_body(
    platform: &'static str,
    body: Result<Bytes, BytesRejection>,
    credentials: &[u8],
    authentic: impl FnOnce(&[u8]) -> bool,
) -> Result<Bytes, Refused> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return Err(Refused(rejection.status(), "cannot read the body"));
        }
    };
    if !authentic(&body) {
        tracing::warn!(
            platform,
            n_bytes = body.len(),
            has_credentials = !credentials.is_empty(),
            "webhook refused: not authentic"
        );
        return Err(Refused(StatusCode::UNAUTHORIZED, "not authentic"));
    }
    Ok(body)
}

/// An authenticated body parsed as `T`, or 400 with where the JSON broke.
pub fn parse_json<T: DeserializeOwned>(platform: &'static str, body: &[u8]) -> Result<T, Refused> {
    serde_json::from_slice(body).map_err(|error| {
        tracing::warn!(
            platform,
            line = error.line(),
            column = error.column(),
            "webhook refused: malformed JSON"
        );
        Refused(StatusCode::BAD_REQUEST, "malformed JSON")
    })
}
