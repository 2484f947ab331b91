//! The process's memory allocator: mimalloc instead of glibc's malloc.
//!
//! The event path allocates small, short-lived buffers on many threads (hyper, tokio's
//! workers, sled's I/O pool, the blocking thread of a round). Measured with
//! `benches/line_webhook` (issue 15), alternating the two builds: the server's CPU per
//! event at c=64 went from 0.48–0.49 ms with glibc to 0.38 ms, with the same resident
//! memory. Declared in the library so that the tests run the allocator production runs.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// mimalloc v3's `mi_option_arena_eager_commit` (its place in `mi_option_t`; the Rust
/// binding names only v2's options).
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs `configure` when the program is loaded, before `main` and before the first
/// allocation: mimalloc reserves its first arena (1 GiB of address space, which serves
/// everything after) at the first allocation, with the options set then.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static CONFIGURE_AT_LOAD: extern "C" fn() = configure;

/// Arenas committed on demand: a purge then decommits the pages it frees, so memory
/// freed after a burst leaves the resident set instead of lingering in it (measured:
/// about 120 MiB after the bench's 111,000 events, against 160–170 MiB with eager commit).
extern "C" fn configure() {
    // SAFETY: mi_option_set only stores the option's value; it runs at load, before any
    // other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0) }
}

/// Hands the free pages of this thread's heap and of the shared arenas back to the
/// system: after a burst (a backlog of queued events worked off) the freed memory would
/// otherwise stay counted as the process's own.
pub fn give_back_free_memory() {
    // SAFETY: mi_collect only releases memory the allocator holds free; thread-safe.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// How often at most a thread about to wait hands its free pages back.
const GIVE_BACK_EVERY: Duration = Duration::from_secs(1);

/// How long an idle thread of tokio's blocking pool lives: such a thread has no hook
/// before it waits, and what it freed goes back when it exits (tokio's default is 10 s).
pub const BLOCKING_THREAD_KEEP_ALIVE: Duration = Duration::from_secs(1);

/// For a thread about to wait (a tokio worker parking, the recorder with nothing to
/// write): hands back the pages its heap holds free, at most once every
/// `GIVE_BACK_EVERY`. mimalloc returns a thread's free pages only when that thread next
/// allocates or collects, so after a burst a thread that goes to sleep would keep what
/// it freed (measured with `benches/line_webhook`: 96 MiB after 111,000 events instead
/// of 104). Once a second costs nothing measurable under load.
pub fn give_back_before_waiting() {
    thread_local!(static LAST: Cell<Option<Instant>> = const { Cell::new(None) });
    LAST.with(|last| {
        let now = Instant::now();
        if is_due(last.get(), now) {
            last.set(Some(now));
            // SAFETY: mi_collect only releases memory this thread's heap holds free.
            unsafe { libmimalloc_sys::mi_collect(true) }
        }
    });
}

fn is_due(last: Option<Instant>, now: Instant) -> bool {
    last.is_none_or(|last| now.duration_since(last) >= GIVE_BACK_EVERY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn arenas_are_committed_on_demand_from_the_first_allocation() {
        // Set by the loader's call of `configure`: were it not linked in, mimalloc's
        // default (2, eager on Linux) would show here.
        // SAFETY: reading an option is thread-safe.
        let eager = unsafe { libmimalloc_sys::mi_option_get(ARENA_EAGER_COMMIT) };
        assert_eq!(eager, 0);
    }

    #[test]
    fn a_waiting_thread_gives_back_at_most_once_a_second() {
        let start = Instant::now();
        assert!(is_due(None, start), "the first wait gives back");
        assert!(!is_due(Some(start), start + Duration::from_millis(999)));
        assert!(is_due(Some(start), start + GIVE_BACK_EVERY));
        // Runs on this thread without harm, twice in a row (the second is skipped).
        give_back_before_waiting();
        give_back_before_waiting();
    }
}
