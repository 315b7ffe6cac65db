//! The `jepsen-lite check` command: exit status, formats, output directory, error messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn jepsen_lite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jepsen-lite"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn write_skew_violates_serializable_but_satisfies_snapshot_isolation() {
    let file = fixture("write-skew.jsonl");
    let file = file.to_str().expect("utf-8 path");
    let out = jepsen_lite(&["check", file]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("INVALID: the history violates serializable"),
        "{stdout}"
    );
    assert!(stdout.contains("G2-item"));
    assert!(
        stdout.contains("strongest models satisfied: snapshot-isolation"),
        "{stdout}"
    );
    let si = jepsen_lite(&["check", file, "--model", "snapshot-isolation"]);
    assert_eq!(si.status.code(), Some(0));
}

#[test]
fn json_format_and_output_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = fixture("write-skew.jsonl");
    let out = jepsen_lite(&[
        "check",
        file.to_str().expect("utf-8"),
        "--format",
        "json",
        "--out",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(json["valid"], false);
    assert_eq!(json["anomalies"][0]["kind"], "G2-item");
    assert_eq!(
        json["anomalies"][0]["cycle"].as_array().map(Vec::len),
        Some(2)
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["000-G2-item.dot", "000-G2-item.svg", "results.json"]
    );
    let svg = std::fs::read_to_string(dir.path().join("000-G2-item.svg")).expect("svg");
    assert!(svg.contains("<svg") && svg.contains("T0") && svg.contains("T1"));
}

#[test]
fn jepsen_edn_histories_are_read() {
    let valid = jepsen_lite(&[
        "check",
        fixture("valid.edn").to_str().expect("utf-8"),
        "--model",
        "strict-serializable",
    ]);
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid.stdout));
    assert!(text(&valid.stdout).contains("no anomalies found"));
    let registers = jepsen_lite(&[
        "check",
        fixture("registers.edn").to_str().expect("utf-8"),
        "--model",
        "linearizable",
    ]);
    assert_eq!(
        registers.status.code(),
        Some(0),
        "{}",
        text(&registers.stdout)
    );
}

#[test]
fn unreadable_input_exits_2_with_a_clear_message() {
    let orphan = jepsen_lite(&["check", fixture("orphan.jsonl").to_str().expect("utf-8")]);
    assert_eq!(orphan.status.code(), Some(2));
    assert!(
        text(&orphan.stderr).contains("orphan.jsonl:1: process 0 completed without an invocation"),
        "{}",
        text(&orphan.stderr)
    );
    let missing = jepsen_lite(&["check", "/nonexistent/history.jsonl"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("cannot read history"));
}
