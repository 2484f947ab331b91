//! CPU of understanding one message: `Engine::understand` (segmentation, term search
//! with typos, the plan's answer and the intent) over the residents' corpus of
//! `tests/data/resident_messages.txt` (colloquial Thai, no spaces, typos, Thai digits,
//! English), many passes. The engine is pure: no store, no I/O.
//!
//! Reported: microseconds per message read afresh and through the kept readings of
//! short texts (`Engine::understand`, as turns read), the slowest messages, and a digest of what was
//! understood (intent and answer of every message), so that a change meant to be faster
//! and nothing else can show it understood the same.
//!
//! Run: `cargo bench --bench understanding` (optionally `-- N_PASSES`, default 50;
//! `UNDERSTANDING_CORPUS=FILE` reads other messages, one a line).

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let n_passes: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(50);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(root.join("config"))?;
    let settings = Arc::new(tambon::config::Settings::load(Path::new("tambon.toml"))?);
    let engine = tambon::startup::load_engine(&settings)?;
    // Another list of messages (one a line) can be given in UNDERSTANDING_CORPUS.
    let corpus_path = std::env::var_os("UNDERSTANDING_CORPUS")
        .map_or_else(|| root.join("tests/data/resident_messages.txt"), Into::into);
    let corpus = std::fs::read_to_string(corpus_path)?;
    let messages: Vec<&str> = corpus
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split('|').next())
        .map(str::trim)
        .collect();
    // The first call waits for the knowledge to be built; not measured.
    let warm = Instant::now();
    let _ = engine.understand("สวัสดี");
    println!(
        "knowledge ready after {:.0} ms",
        warm.elapsed().as_secs_f64() * 1e3
    );
    let digest_of = |understand: &dyn Fn(&str) -> String| {
        let mut digest = std::collections::hash_map::DefaultHasher::new();
        for message in &messages {
            understand(message).hash(&mut digest);
        }
        digest.finish()
    };
    let afresh = digest_of(&|message| {
        let understood = engine.understand_afresh(message);
        format!("{:?} {:?}", understood.reading, understood.plan.answer)
    });
    let mut per_message = vec![0f64; messages.len()];
    let started = Instant::now();
    for _ in 0..n_passes {
        for (at, message) in messages.iter().enumerate() {
            let one = Instant::now();
            std::hint::black_box(engine.understand_afresh(std::hint::black_box(message)));
            per_message[at] += one.elapsed().as_secs_f64();
        }
    }
    let total = started.elapsed().as_secs_f64();
    let n = (n_passes * messages.len()) as f64;
    println!(
        "{} messages × {n_passes} passes: {:.1} µs per message read afresh (what was understood: digest {afresh:016x})",
        messages.len(),
        total * 1e6 / n,
    );
    // The same messages through the kept readings, as turns read them: the first pass
    // reads and keeps each short one, the others find it.
    let recalled = digest_of(&|message| {
        let understood = engine.understand(message);
        format!("{:?} {:?}", understood.reading, understood.plan.answer)
    });
    anyhow::ensure!(
        recalled == afresh,
        "a kept reading differs from the text's reading afresh"
    );
    let started = Instant::now();
    for _ in 0..n_passes {
        for message in &messages {
            std::hint::black_box(engine.understand(std::hint::black_box(message)));
        }
    }
    println!(
        "the same, short texts recalled: {:.1} µs per message",
        started.elapsed().as_secs_f64() * 1e6 / n
    );
    let mut slowest: Vec<(f64, &str)> = per_message
        .iter()
        .map(|t| t * 1e6 / n_passes as f64)
        .zip(messages.iter().copied())
        .collect();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (micros, message) in slowest.iter().take(5) {
        println!("  {micros:7.1} µs  {message}");
    }
    Ok(())
}
