//! Crash points, for the tests that check what a kill -9 at a chosen moment leaves
//! behind (`tests/it/crash.rs`).
//!
//! `TAMBON_CRASH_AT=<point>` (or `<point>@<n>`) makes the process abort the first (or
//! n-th) time it reaches `crash_point(<point>)`: no destructor runs and nothing is
//! flushed, as with SIGKILL. The variable is read once; unset, as in production, a
//! crash point costs one check of a value already read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The environment variable that arms a crash point.
pub const CRASH_AT_ENV: &str = "TAMBON_CRASH_AT";

/// The armed point and on which visit it fires.
struct Armed {
    point: String,
    on_visit: u64,
    visits: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let value = std::env::var(CRASH_AT_ENV).ok()?;
            let (point, on_visit) = match value.split_once('@') {
                Some((point, n)) => (point.to_owned(), n.parse().ok()?),
                None => (value, 1),
            };
            Some(Armed {
                point,
                on_visit,
                visits: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Aborts the process here if `point` is the armed one and this is the visit it fires on.
pub fn crash_point(point: &str) {
    let Some(armed) = armed() else {
        return;
    };
    if armed.point != point {
        return;
    }
    let visit = armed.visits.fetch_add(1, Ordering::SeqCst) + 1;
    if visit == armed.on_visit {
        eprintln!("{CRASH_AT_ENV}: aborting at {point} (visit {visit})");
        std::process::abort();
    }
}
