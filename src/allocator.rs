//! The process's memory allocator: jemalloc with one arena, instead of glibc's malloc.
//!
//! The event path allocates small, short-lived buffers on many threads (hyper, tokio's
//! workers, sled's I/O pool, the blocking thread of a round), and a burst (a backlog of
//! queued events worked off) frees most of what it took. Measured with
//! `benches/line_webhook` (issue 15), the builds alternating in one run:
//! - glibc's malloc cost a fifth more CPU per event than mimalloc;
//! - mimalloc and jemalloc cost the same CPU (0.272 ms per event at c=64, against 0.269
//!   and 0.264), but after 111,000 events and 3 s idle mimalloc held 91–95 MiB, jemalloc
//!   81 MiB with its default 8 arenas and 72 MiB with one (peak 142–163 MiB, 118 and 91).
//!
//! One arena: on two cores the threads' caches take the contention, and memory freed by
//! one thread is reused by all instead of waiting in another arena. jemalloc's own
//! background thread hands freed pages back to the system, so no thread has to do it
//! before it sleeps. Declared in the library so that the tests run the allocator
//! production runs.

use std::ffi::c_char;
use std::time::Duration;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A C string for jemalloc to read: a plain pointer (`const char *`), which a Rust
/// `&[u8]` or `&CStr` is not.
#[repr(transparent)]
pub struct Options(*const c_char);

// SAFETY: it points to a string literal, which lives as long as the program and is
// never written.
unsafe impl Sync for Options {}

/// jemalloc's options, read at its first allocation (its `malloc_conf`, under the prefix
/// tikv-jemalloc-sys gives jemalloc's symbols). The environment variable
/// `_RJEM_MALLOC_CONF` can still change them, for an experiment.
/// - `narenas:1`: one arena (see above).
/// - `background_thread:true`: a thread of jemalloc's purges freed pages as they age.
/// - `dirty_decay_ms:1000`: a freed page is kept a second for reuse, then handed back;
///   `muzzy_decay_ms:0`: handed back at once (`MADV_DONTNEED`), so that it leaves the
///   resident set instead of lingering as "lazily freed".
#[used]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static OPTIONS: Options =
    Options(c"narenas:1,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr());

/// How long an idle thread of tokio's blocking pool lives (tokio's default is 10 s): a
/// thread's cache of freed blocks goes back to the arena when it exits.
pub const BLOCKING_THREAD_KEEP_ALIVE: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    /// An option as jemalloc runs with it (`mallctl`).
    fn option<T: Default>(name: &CStr) -> T {
        let mut value = T::default();
        let mut len = std::mem::size_of::<T>();
        // SAFETY: `value` is a `T` of `len` bytes, the size jemalloc writes for `name`
        // (checked below by its return code, which is 0 only on a read of that size).
        let rc = unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                std::ptr::from_mut(&mut value).cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        assert_eq!(rc, 0, "mallctl {name:?}");
        value
    }

    #[test]
    fn jemalloc_runs_with_our_options() {
        // Were `OPTIONS` not linked in, jemalloc would run 8 arenas (4 per core) and no
        // background thread.
        assert_eq!(option::<u32>(c"opt.narenas"), 1);
        assert!(option::<bool>(c"opt.background_thread"));
        assert_eq!(option::<isize>(c"opt.muzzy_decay_ms"), 0);
    }
}
