//! `X-Line-Signature`: base64 of HMAC-SHA256 of the raw request body under the channel
//! secret, compared in constant time.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Whether `signature` (the header's value) signs `body` under `channel_secret`.
#[must_use]
pub fn verify(channel_secret: &SecretString, body: &[u8], signature: &str) -> bool {
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(channel_secret.expose_secret().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected).is_ok()
}

/// The signature LINE would send for `body`: for tests and benchmarks.
#[must_use]
pub fn sign(channel_secret: &SecretString, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(channel_secret.expose_secret().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
