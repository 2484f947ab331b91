//! Signing outgoing webhook bodies so the receiver can check they came from tambon.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The header carrying `sha256=<hex of HMAC-SHA256(secret, body)>`, as GitHub does.
pub const SIGNATURE_HEADER: &str = "X-Tambon-Signature-256";

#[must_use]
pub fn signature_header(secret: &SecretString, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
