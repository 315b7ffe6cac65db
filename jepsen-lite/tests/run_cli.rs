//! The `jepsen-lite run` command: it writes a complete run folder whose history the `check`
//! command accepts, and its exit status is the verdict.

use std::process::Command;

#[test]
fn run_writes_a_folder_whose_history_checks() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("bank-run");
    let db = dir.path().join("db");
    let output = Command::new(env!("CARGO_BIN_EXE_jepsen-lite"))
        .args(["run", "--workload", "bank", "--isolation", "serializable"])
        .args([
            "--clients",
            "3",
            "--time",
            "400ms",
            "--keys",
            "5",
            "--no-sync",
            "--quiet",
        ])
        .args(["--nemesis", "crash,pause", "--nemesis-interval", "100ms"])
        .args(["--fault-duration", "40ms"])
        .arg("--out")
        .arg(&out)
        .arg("--db")
        .arg(&db)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("bank at serializable:"), "{stdout}");
    assert!(stdout.contains("faults: crash"), "{stdout}");
    assert!(
        stdout.contains("VALID: serializable promises strict-serializable"),
        "{stdout}"
    );
    for file in ["history.jsonl", "results.json", "run.json", "report.html"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let history = std::fs::read_to_string(out.join("history.jsonl")).expect("history");
    assert!(
        history.contains("\"process\":\"nemesis\""),
        "fault windows are in the history"
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(
        html.contains("<svg") && html.contains(">crash</text>"),
        "plots shade the crash"
    );
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).expect("run.json"))
            .expect("run.json is JSON");
    assert_eq!(run_json["valid"], true);
    assert!(run_json["counts"]["ok"].as_u64().unwrap_or(0) > 0);

    let check = Command::new(env!("CARGO_BIN_EXE_jepsen-lite"))
        .args(["check", "--model", "strict-serializable"])
        .arg(out.join("history.jsonl"))
        .output()
        .expect("the binary runs");
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn bad_durations_are_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_jepsen-lite"))
        .args(["run", "--time", "ten seconds"])
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a duration"));
}
