//! The module boundaries of `ARCHITECTURE.md`, checked on the source: a change that
//! crosses one fails here, in CI, before review.
//!
//! - Only `store` uses sled.
//! - The engine, the knowledge base, Thai text and the domain do no I/O: no async
//!   runtime, no network, no files, no store, no channel.
//! - Only `channels` knows a platform's wire format.
//!
//! Test code is not held to these (a test may read a file): files named `tests.rs` or
//! `proptests.rs`, and a file's test module, which clippy keeps last
//! (`items_after_test_module`).

use std::path::{Path, PathBuf};

/// What pure code may not name: I/O crates and modules, and the parts of tambon that do
/// I/O.
const IO: &[&str] = &[
    "tokio",
    "reqwest",
    "sled",
    "axum",
    "teloxide",
    "hyper",
    "std::fs",
    "std::net",
    "std::process",
    "std::io",
    "crate::store",
    "crate::channels",
    "crate::inbox",
    "crate::http",
    "crate::delivery",
    "crate::dashboard",
    "crate::startup",
    "crate::fanout",
    "crate::reminders",
];

/// The pure parts of tambon.
const PURE: &[&str] = &[
    "src/engine",
    "src/kb",
    "src/thai",
    "src/thai.rs",
    "src/domain",
];

#[test]
fn only_the_store_uses_sled() {
    let offenders: Vec<String> = production_sources(&root().join("src"))
        .into_iter()
        .filter(|(path, _)| !path.starts_with(root().join("src/store")))
        .filter(|(_, code)| names(code, "sled"))
        .map(|(path, _)| shown(&path))
        .collect();
    assert!(
        offenders.is_empty(),
        "sled used outside store: {offenders:?}"
    );
}

#[test]
fn the_engine_the_plan_and_thai_text_do_no_io() {
    let mut offenders = Vec::new();
    for part in PURE {
        for (path, code) in production_sources(&root().join(part)) {
            for forbidden in IO {
                if names(&code, forbidden) {
                    offenders.push(format!("{} names {forbidden}", shown(&path)));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

#[test]
fn only_channels_know_a_wire_format() {
    let offenders: Vec<String> = production_sources(&root().join("src"))
        .into_iter()
        .filter(|(path, _)| !path.starts_with(root().join("src/channels")))
        .filter(|(_, code)| names(code, "wire"))
        .map(|(path, _)| shown(&path))
        .collect();
    assert!(
        offenders.is_empty(),
        "wire types used outside channels: {offenders:?}"
    );
}

/// What a channel hands the engine is built by the channel from its own wire types: the
/// engine's `Inbound` cannot be read from a platform's JSON directly.
#[test]
fn the_engine_s_inbound_is_not_read_from_webhook_json() {
    let engine = std::fs::read_to_string(root().join("src/engine/mod.rs")).unwrap();
    for item in ["pub struct Inbound ", "pub enum InboundKind "] {
        let at = engine
            .find(item)
            .unwrap_or_else(|| panic!("{item} is in src/engine/mod.rs"));
        let derive = engine[..at]
            .rfind("#[derive(")
            .map(|from| &engine[from..at])
            .expect("a derive above it");
        assert!(
            !derive.contains("Deserialize"),
            "{item} derives Deserialize: {derive}"
        );
    }
}

/// The checks would pass on an empty tree: make sure they read the code they guard.
#[test]
fn the_checks_see_what_they_guard() {
    let sources = production_sources(&root().join("src"));
    let store = sources
        .iter()
        .find(|(path, _)| path.ends_with("src/store/mod.rs"))
        .expect("src/store/mod.rs is read");
    assert!(names(&store.1, "sled"));
    let line = sources
        .iter()
        .find(|(path, _)| path.ends_with("src/channels/line/mod.rs"))
        .expect("src/channels/line/mod.rs is read");
    assert!(names(&line.1, "wire"));
    assert!(names(&line.1, "crate::store"));
    // A mention in a comment or a test module does not count.
    let code =
        "// sled is not used here\nfn f() {}\n#[cfg(test)]\nmod tests {\n    use std::fs;\n}\n";
    assert!(!names(&production_code(code), "sled"));
    assert!(!names(&production_code(code), "std::fs"));
    assert!(names("let t = tokio::spawn(x);", "tokio"));
    assert!(names("use std::fs::File;", "std::fs"));
    assert!(!names("let my_tokio = 1;", "tokio"));
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every `.rs` file under `path` (or `path` itself), without its test code.
fn production_sources(path: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    collect(path, &mut files);
    files
        .into_iter()
        .filter(|file| {
            let name = file.file_name().unwrap().to_str().unwrap();
            name != "tests.rs" && name != "proptests.rs"
        })
        .map(|file| {
            let code = production_code(&std::fs::read_to_string(&file).unwrap());
            (file, code)
        })
        .collect()
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for entry in entries {
            if entry.is_dir() && entry.file_name().is_some_and(|n| n == "tests") {
                continue;
            }
            collect(&entry, files);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        files.push(path.to_owned());
    }
}

/// The code of a file without comments and without its test module.
fn production_code(source: &str) -> String {
    let mut code = String::new();
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed == "#[cfg(test)]"
            && lines.peek().is_some_and(|next| {
                next.trim_start().starts_with("mod ") && next.trim_end().ends_with('{')
            })
        {
            break;
        }
        let without_comment = match line.find("//") {
            Some(at) if !line[..at].ends_with(':') => &line[..at],
            _ => line,
        };
        code.push_str(without_comment);
        code.push('\n');
    }
    code
}

/// Whether `code` names `path` as a path (`path::…`, `use path`), not as part of another
/// name.
fn names(code: &str, path: &str) -> bool {
    code.match_indices(path).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = &code[at + path.len()..];
        let starts_a_name = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let is_a_path =
            after.starts_with("::") || after.starts_with(';') || after.starts_with(" as ");
        starts_a_name && is_a_path
    })
}
