//! The `jepsen-lite check` command and the elle-cli command line: exit status, formats, output
//! directory, error messages.

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
        stdout.starts_with("INVALID: the history violates strict-serializable: G2-item"),
        "strict serializable is the default, as Elle's: {stdout}"
    );
    assert!(stdout.contains("not: repeatable-read\n"), "{stdout}");
    assert!(
        stdout.contains("strongest models satisfied: strong-snapshot-isolation"),
        "{stdout}"
    );
    let serializable = jepsen_lite(&["check", file, "--model", "serializable"]);
    assert_eq!(serializable.status.code(), Some(1));
    for si in [
        ["--model", "snapshot-isolation"],
        ["--consistency-models", "snapshot-isolation"],
        ["-c", "strong-snapshot-isolation"],
    ] {
        let out = jepsen_lite(&["check", file, si[0], si[1]]);
        assert_eq!(out.status.code(), Some(0), "{si:?}: {}", text(&out.stdout));
    }
    let both = jepsen_lite(&["check", file, "-c", "snapshot-isolation,serializable"]);
    assert_eq!(both.status.code(), Some(1));
    let asked = jepsen_lite(&[
        "check",
        file,
        "-c",
        "read-committed",
        "--anomalies",
        "G2-item",
    ]);
    assert_eq!(
        asked.status.code(),
        Some(1),
        "asking for G2-item forbids it"
    );
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
    assert_eq!(json["valid?"], false);
    assert_eq!(json["valid"], false);
    assert_eq!(json["anomaly-types"], serde_json::json!(["G2-item"]));
    assert_eq!(json["not"], serde_json::json!(["repeatable-read"]));
    assert_eq!(
        json["anomalies"]["G2-item"][0]["steps"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(json["findings"][0]["kind"], "G2-item");
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

#[test]
fn an_elle_cli_command_line_works_unchanged() {
    let skew = fixture("write-skew.jsonl");
    let valid = fixture("valid.edn");
    let (skew, valid) = (
        skew.to_str().expect("utf-8"),
        valid.to_str().expect("utf-8"),
    );
    // elle-cli prints `FILE \t VALIDITY` per file and exits 1 when one is invalid.
    let out = jepsen_lite(&["--model", "list-append", skew, valid]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        format!("{skew} \t false\n{valid} \t true\n")
    );
    let out = jepsen_lite(&["-m", "list-append", "-c", "snapshot-isolation", skew]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout), format!("{skew} \t true\n"));
    // --verbose (or -v json) prints Elle's result map.
    for args in [["--verbose", "-m"], ["-v", "json"]] {
        let mut all = vec![args[0], args[1]];
        if args[1] == "-m" {
            all.push("list-append");
        }
        all.push(skew);
        let out = jepsen_lite(&all);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(json["valid?"], false, "{args:?}");
        assert_eq!(json["anomaly-types"], serde_json::json!(["G2-item"]));
        assert!(
            json["also-not"]
                .as_array()
                .is_some_and(|a| a.contains(&serde_json::json!("strong-serializable")))
        );
    }
    // elle-cli's other options are accepted.
    let out = jepsen_lite(&[
        "-m",
        "list-append",
        "-s",
        "1000",
        "-p",
        "svg",
        "-t",
        "5000",
        "-b",
        "65536",
        valid,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let wrong = jepsen_lite(&["-m", "bank", valid]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(text(&wrong.stderr).contains("list-append and rw-register"));
}

#[test]
fn unknown_models_and_anomalies_are_refused_by_name() {
    let file = fixture("valid.edn");
    let file = file.to_str().expect("utf-8");
    let out = jepsen_lite(&["check", file, "--model", "snapshot-isolashun"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown model"));
    let out = jepsen_lite(&["check", file, "--anomalies", "G9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown anomaly"));
    let out = jepsen_lite(&["check", file, "--anomalies", "G1,write-skew"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

fn elle_cli_fixture(name: &str) -> String {
    fixture("elle-cli")
        .join(name)
        .to_str()
        .expect("utf-8")
        .to_string()
}

/// elle-cli's own test histories, given to jepsen-lite on elle-cli's command line: one
/// `FILE \t VALIDITY` line each, Elle's verdicts, exit status 1 because some are invalid.
#[test]
fn elle_cli_test_histories_through_the_elle_cli_command_line() {
    let files = [
        "list-append-anomaly-g0-cycle.json",
        "list-append-anomaly-g1c-circular-information-flow.json",
        "list-append-anomaly-duplicate-elements.json",
    ]
    .map(elle_cli_fixture);
    let mut args = vec!["-m", "list-append"];
    args.extend(files.iter().map(String::as_str));
    let out = jepsen_lite(&args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let expected: String = files.iter().map(|f| format!("{f} \t false\n")).collect();
    assert_eq!(text(&out.stdout), expected);
    // -v json prints Elle's map for each, in order.
    let g0 = elle_cli_fixture("list-append-anomaly-g0-cycle.json");
    let out = jepsen_lite(&["-m", "list-append", "-v", "json", &g0]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["anomaly-types"], serde_json::json!(["G0"]));
    assert_eq!(json["not"], serde_json::json!(["read-uncommitted"]));
    assert_eq!(json["also-not"].as_array().map(Vec::len), Some(24));
    // A register history under the list-append checker is refused, as elle-cli refuses it.
    let register = elle_cli_fixture("rw-register-anomaly-g1b-intermediate-read.json");
    // (elle-cli exits 1 for a model that does not match the history.)
    let out = jepsen_lite(&["-m", "list-append", &register]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("does not belong to a list-append history"),
        "{}",
        text(&out.stderr)
    );
    let out = jepsen_lite(&["-m", "rw-register", &register]);
    assert_eq!(text(&out.stdout), format!("{register} \t false\n"));
}

/// `--anomalies` asks for anomalies besides those the models forbid; `-c` takes several models.
#[test]
fn the_request_decides_the_verdict_as_in_elle() {
    let lost = fixture("corpus/la-lost-update.jsonl");
    let lost = lost.to_str().expect("utf-8");
    for (args, code) in [
        (vec!["-c", "read-committed"], 0),
        (vec!["-c", "read-committed", "-a", "lost-update"], 1),
        (vec!["-c", "read-committed", "-a", "G2"], 1),
        (vec!["-c", "read-uncommitted,snapshot-isolation"], 1),
        (vec!["-c", "read-uncommitted", "-a", "G0"], 0),
    ] {
        let mut all = vec!["-m", "list-append"];
        all.extend(args.iter().copied());
        all.push(lost);
        let out = jepsen_lite(&all);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stdout)
        );
    }
    // The check subcommand's JSON carries the same Elle fields as the corpus expects.
    let out = jepsen_lite(&[
        "check",
        lost,
        "--format",
        "json",
        "-c",
        "read-committed",
        "-a",
        "lost-update",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["valid?"], false);
    assert_eq!(json["anomaly-types"], serde_json::json!(["lost-update"]));
    assert_eq!(
        json["not"],
        serde_json::json!(["cursor-stability", "update-atomic"])
    );
}

/// The input format can be forced when a file's name and first characters do not tell, and
/// each history's results go to its own folder under `-d`.
#[test]
fn forced_formats_and_per_file_result_folders() {
    let dir = tempfile::tempdir().expect("temp dir");
    let edn = dir.path().join("history");
    std::fs::copy(fixture("corpus/la-g0.edn"), &edn).expect("copy");
    let edn = edn.to_str().expect("utf-8");
    let out = jepsen_lite(&["check", edn, "--input", "edn"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let results = dir.path().join("results");
    let out = jepsen_lite(&[
        "-m",
        "list-append",
        "-f",
        "edn",
        "-d",
        results.to_str().expect("utf-8"),
        edn,
    ]);
    assert_eq!(text(&out.stdout), format!("{edn} \t false\n"));
    let written = std::fs::read_to_string(results.join("history").join("results.json"))
        .expect("results.json per history");
    let json: serde_json::Value = serde_json::from_str(&written).expect("JSON");
    assert_eq!(json["anomaly-types"], serde_json::json!(["G0"]));
    // Forcing JSON on EDN text is an error that names the file and line.
    let out = jepsen_lite(&["check", edn, "--input", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(&format!("{edn}:1:")),
        "{}",
        text(&out.stderr)
    );
}
