//! What the logs say of residents: an anonymous corruption complaint is never tied to
//! the chat account that filed it. Checked on the real binary's log output.

use std::io::Write as _;
use std::process::{Command, Stdio};

/// Files a complaint through `tambon chat` with these inputs; the log lines printed.
fn logs_of_chat(data: &std::path::Path, inputs: &[&str]) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut chat = Command::new(env!("CARGO_BIN_EXE_tambon"))
        .args([
            "--config",
            root.join("config/tambon.toml").to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "chat",
        ])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = chat.stdin.take().unwrap();
        for input in inputs {
            writeln!(stdin, "{input}").unwrap();
        }
    }
    let output = chat.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_anonymous_case_is_logged_without_the_person() {
    let dir = tempfile::tempdir().unwrap();
    // Anonymous: continue, bribery, the matter, no place, no photo, anonymous, confirm.
    let logs = logs_of_chat(
        dir.path(),
        &["แจ้งทุจริต", "1", "2", "มีคนเรียกเงินใต้โต๊ะ", "2", "2", "1", "1"],
    );
    let filed: Vec<&str> = logs.lines().filter(|l| l.contains("case filed")).collect();
    assert_eq!(filed.len(), 1, "{logs}");
    assert!(filed[0].contains("kind=\"corruption\""), "{logs}");
    assert!(
        !filed[0].contains("user="),
        "the person's tag: {}",
        filed[0]
    );
    assert!(
        !filed[0].contains("event{"),
        "the person's span: {}",
        filed[0]
    );

    // A named complaint keeps its person tag: the tag is there to follow a resident's
    // own case, so its absence above is the rule for anonymous ones, not an accident.
    let dir = tempfile::tempdir().unwrap();
    let logs = logs_of_chat(dir.path(), &["ไฟถนนดับ", "1", "2", "2", "1", "1"]);
    let filed: Vec<&str> = logs.lines().filter(|l| l.contains("case filed")).collect();
    assert_eq!(filed.len(), 1, "{logs}");
    assert!(filed[0].contains("user="), "{}", filed[0]);
}
