//! The `jepsen-lite run` command: it writes a complete run folder whose history the `check`
//! command accepts, its exit status is the verdict, and that verdict is the checker's.

use std::path::Path;
use std::process::{Command, Output};

fn jepsen_lite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jepsen-lite"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn run_json(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).expect("run.json"))
        .expect("run.json is JSON")
}

/// Runs `jepsen-lite run` with `args` into a fresh folder; returns (output, run folder).
fn run_into(dir: &Path, name: &str, args: &[&str]) -> (Output, std::path::PathBuf) {
    let out = dir.join(name);
    let db = dir.join(format!("{name}-db"));
    let mut all: Vec<&str> = vec!["run", "--quiet"];
    all.extend_from_slice(args);
    let out_s = out.to_str().expect("utf-8 path").to_string();
    let db_s = db.to_str().expect("utf-8 path").to_string();
    all.extend_from_slice(&["--out", &out_s, "--db", &db_s]);
    (jepsen_lite(&all), out)
}

/// The run's three outputs (printed verdict, exit status, run.json) and `jepsen-lite check`
/// on the run's own history with the required model must all say the same.
fn assert_one_verdict(run: &Output, out: &Path, required: &str) -> bool {
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let json = run_json(out);
    let valid = json["valid"].as_bool().expect("run.json has valid");
    assert_eq!(json["required_model"], required, "{stdout}");
    let verdict_line = stdout
        .lines()
        .find(|l| l.starts_with("VALID:") || l.starts_with("INVALID:"))
        .unwrap_or_else(|| panic!("no verdict line in {stdout}"));
    assert_eq!(verdict_line.starts_with("VALID:"), valid, "{stdout}");
    assert_eq!(
        run.status.code(),
        Some(if valid { 0 } else { 1 }),
        "{stdout}"
    );
    let history = out.join("history.jsonl.zst");
    let check = jepsen_lite(&[
        "check",
        "--model",
        required,
        history.to_str().expect("utf-8 path"),
    ]);
    let satisfies = json["satisfies_required_model"]
        .as_bool()
        .expect("run.json has satisfies_required_model");
    assert_eq!(
        check.status.code(),
        Some(if satisfies { 0 } else { 1 }),
        "run.json says satisfies_required_model={satisfies}; check says:\n{}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert_eq!(
        satisfies && json["invariant_held"] == true && json["no_unexpected_errors"] == true,
        valid
    );
    assert!(
        stdout.contains("history: ") && stdout.contains(" of JSON lines"),
        "the summary reports the history's size: {stdout}"
    );
    valid
}

/// Issue 23: a read-uncommitted list-append run under crashes printed VALID and exited 0
/// while its run.json said the required model did not hold and `check` said INVALID. The
/// verdict now has one source; whatever the history holds, all outputs agree.
#[test]
fn a_read_uncommitted_crash_run_and_its_checker_agree() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for seed in ["1", "2"] {
        let (run, out) = run_into(
            dir.path(),
            &format!("ru-{seed}"),
            &[
                "--workload",
                "list-append",
                "--isolation",
                "read-uncommitted",
                "--time",
                "1500ms",
                "--clients",
                "6",
                "--keys",
                "6",
                "--nemesis",
                "crash",
                "--nemesis-interval",
                "300ms",
                "--fault-duration",
                "100ms",
                "--seed",
                seed,
            ],
        );
        assert_one_verdict(&run, &out, "read-uncommitted");
    }
}

/// The other direction, end to end: a run whose history the checker calls invalid (a power
/// loss under unsynced commits loses acknowledged appends) prints INVALID and exits 1.
#[test]
fn a_run_whose_history_the_checker_calls_invalid_prints_invalid_and_exits_1() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (run, out) = run_into(
        dir.path(),
        "power-loss",
        &[
            "--workload",
            "list-append",
            "--isolation",
            "serializable",
            "--time",
            "1200ms",
            "--keys",
            "6",
            "--no-sync",
            "--crash",
            "power-loss",
            "--nemesis",
            "crash",
            "--nemesis-interval",
            "250ms",
            "--fault-duration",
            "50ms",
        ],
    );
    let valid = assert_one_verdict(&run, &out, "strict-serializable");
    assert!(
        !valid,
        "acknowledged commits were lost, yet the run says VALID: {}",
        String::from_utf8_lossy(&run.stdout)
    );
    assert_eq!(run_json(&out)["satisfies_required_model"], false);
}

/// The history is streamed compressed: a list-append history, whose reads repeat ever
/// longer lists, takes a small fraction of its JSON lines on disk, and run.json says both.
#[test]
fn run_histories_are_written_compactly() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (run, out) = run_into(
        dir.path(),
        "compact",
        &[
            "--workload",
            "list-append",
            "--time",
            "1s",
            "--keys",
            "4",
            "--no-sync",
        ],
    );
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    let json = run_json(&out);
    let bytes = json["history"]["bytes"].as_u64().expect("bytes");
    let text_bytes = json["history"]["text_bytes"].as_u64().expect("text bytes");
    let on_disk = std::fs::metadata(out.join("history.jsonl.zst"))
        .expect("the history file")
        .len();
    assert_eq!(bytes, on_disk);
    assert!(
        text_bytes > 100_000,
        "a one-second run writes {text_bytes} bytes of JSON lines"
    );
    assert!(
        bytes * 5 < text_bytes,
        "{bytes} bytes on disk for {text_bytes} bytes of JSON lines"
    );
    assert!(!out.join("history.jsonl").exists());
}

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
    for file in [
        "history.jsonl.zst",
        "results.json",
        "run.json",
        "report.html",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let packed = std::fs::read(out.join("history.jsonl.zst")).expect("history");
    let history = String::from_utf8(zstd::decode_all(&packed[..]).expect("zstd")).expect("utf-8");
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
        .arg(out.join("history.jsonl.zst"))
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
