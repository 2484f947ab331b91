//! Logging: one tracing subscriber for the process, and keyed hashes that stand for
//! personal data in log lines.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tracing_subscriber::EnvFilter;

use crate::domain::ChatKey;

/// Starts logging to standard error, filtered by `RUST_LOG` (default `info`). Safe to call
/// more than once: later calls do nothing.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Turns a platform user id into a short keyed hash for logs: the same person gets the
/// same tag, and nobody can recover the id from it without the installation secret.
#[derive(Clone)]
pub struct Redactor {
    key: Vec<u8>,
}

impl Redactor {
    #[must_use]
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    #[must_use]
    pub fn tag(&self, chat: &ChatKey) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(chat.channel.as_str().as_bytes());
        mac.update(&[0xff]);
        mac.update(chat.user.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..6])
    }
}
