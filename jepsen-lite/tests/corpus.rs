//! The fixture corpus: every history under `tests/fixtures/corpus` (written for jepsen-lite, one
//! per anomaly class and a near miss of each) and `tests/fixtures/elle-cli` (elle-cli's public
//! test data, with the verdict Elle gave) is checked, and the result compared field by field:
//! `valid?`, `anomaly-types`, `not`, `also-not`.
//!
//! For elle-cli's histories the expected answer is Elle's own, except for the differences each
//! entry lists (with its reason); a difference that is not listed, or one listed that does not
//! occur, fails the test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use jepsen_lite::checker::{CheckOptions, check_with};
use jepsen_lite::load::{self, Format};
use jepsen_lite::models::Model;
use jepsen_lite::op::Workload;
use jepsen_lite::report::elle::{Request, result};
use serde_json::Value as Json;

const FIELDS: [&str; 3] = ["anomaly-types", "not", "also-not"];

fn fixtures(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
}

fn manifest(dir: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(fixtures(dir).join("expected.json")).expect("manifest");
    match serde_json::from_str(&text).expect("the manifest is JSON") {
        Json::Array(entries) => entries,
        other => panic!("the manifest is a list, not {other}"),
    }
}

fn strings(value: &Json) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|s| s.as_str().expect("a name").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn workload(name: Option<&str>) -> Workload {
    match name {
        None => Workload::Auto,
        Some("list-append") => Workload::ListAppend,
        Some("rw-register") => Workload::RwRegister,
        Some(other) => panic!("unknown workload {other}"),
    }
}

/// Elle's result map for `file` under `models` (and elle-cli's default `--anomalies G0`).
fn elle_result(path: &Path, workload: Workload, models: &[String], anomalies: &[&str]) -> Json {
    let history = load::history_file_as(path, Format::Auto, workload)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let request = Request {
        models: models
            .iter()
            .map(|m| Model::from_name(m).unwrap_or_else(|| panic!("unknown model {m}")))
            .collect(),
        anomalies: anomalies.iter().map(|a| a.to_string()).collect(),
    };
    let report = check_with(
        &history,
        &CheckOptions::for_models(&request.models, &request.anomalies),
    );
    result(&report, &history, &request)
}

#[test]
fn every_hand_written_history_gets_its_expected_verdict() {
    let entries = manifest("corpus");
    assert!(entries.len() >= 70, "{} entries", entries.len());
    let mut failures = Vec::new();
    for entry in &entries {
        let file = entry["file"].as_str().expect("file");
        let models = strings(&entry["consistency-models"]);
        let got = elle_result(
            &fixtures("corpus").join(file),
            workload(entry["workload"].as_str()),
            &models,
            &[],
        );
        if got["valid?"] != entry["valid?"] {
            failures.push(format!(
                "{file}: valid? {} (expected {})",
                got["valid?"], entry["valid?"]
            ));
        }
        for field in FIELDS {
            if strings(&got[field]) != strings(&entry[field]) {
                failures.push(format!(
                    "{file}: {field} {:?} (expected {:?})",
                    strings(&got[field]),
                    strings(&entry[field])
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every class Elle reports for list-append and rw-register has a history that shows it and a
/// near miss (`NAME-not`) that is valid.
#[test]
fn the_corpus_covers_every_class_with_a_positive_and_a_negative() {
    let entries = manifest("corpus");
    let find = |file: &str| {
        entries
            .iter()
            .find(|e| e["file"].as_str() == Some(file))
            .unwrap_or_else(|| panic!("no entry for {file}"))
    };
    let mut list_classes: Vec<String> = [
        "G0",
        "G1a",
        "G1b",
        "G1c",
        "G-single-item",
        "G-nonadjacent-item",
        "G2-item",
        "internal",
        "lost-update",
        "duplicate-elements",
        "incompatible-order",
        "garbage-read",
        "dirty-update",
        "future-read",
    ]
    .map(String::from)
    .to_vec();
    for base in [
        "G0",
        "G1c",
        "G-single-item",
        "G-nonadjacent-item",
        "G2-item",
    ] {
        list_classes.push(format!("{base}-realtime"));
        list_classes.push(format!("{base}-process"));
    }
    let register_classes: Vec<String> = [
        "G1a",
        "G1b",
        "G1c",
        "G-single-item",
        "G2-item",
        "internal",
        "lost-update",
        "cyclic-versions",
        "future-read",
        "garbage-read",
        "G1c-process",
    ]
    .map(String::from)
    .to_vec();
    for (prefix, classes) in [("la", &list_classes[..]), ("rw", &register_classes[..])] {
        for class in classes {
            let stem = format!("{prefix}-{}", class.to_ascii_lowercase());
            let positive = entries
                .iter()
                .find(|e| {
                    e["file"]
                        .as_str()
                        .is_some_and(|f| f.starts_with(&format!("{stem}.")))
                })
                .unwrap_or_else(|| panic!("no history for {class} ({stem}.*)"));
            let file = positive["file"].as_str().expect("file");
            assert_eq!(positive["valid?"], false, "{file}");
            assert!(
                strings(&positive["anomaly-types"]).contains(class),
                "{file} must show {class}: {:?}",
                positive["anomaly-types"]
            );
            assert!(
                !strings(&positive["not"]).is_empty(),
                "{file} names no model"
            );
            let extension = file.rsplit_once('.').map_or("", |(_, e)| e);
            let negative = find(&format!("{stem}-not.{extension}"));
            assert_eq!(negative["valid?"], true, "{stem}-not is a near miss");
        }
    }
}

#[test]
fn elle_cli_histories_get_elles_verdicts_up_to_the_documented_differences() {
    let entries = manifest("elle-cli");
    assert!(entries.len() >= 10);
    let mut failures = Vec::new();
    for entry in &entries {
        let file = entry["file"].as_str().expect("file");
        let elle = &entry["elle"];
        let got = elle_result(
            &fixtures("elle-cli").join(file),
            workload(entry["checker"].as_str()),
            &["strict-serializable".to_string()],
            &["G0"],
        );
        if got["valid?"] != elle["valid?"] {
            failures.push(format!(
                "{file}: valid? {} where Elle says {}",
                got["valid?"], elle["valid?"]
            ));
        }
        let differences = &entry["differences"];
        if !differences.is_null() {
            assert!(
                entry["why"].as_str().is_some_and(|w| w.len() > 40),
                "{file}: every difference is explained"
            );
        }
        for field in FIELDS {
            let ours: BTreeSet<String> = strings(&got[field]).into_iter().collect();
            let theirs: BTreeSet<String> = strings(&elle[field]).into_iter().collect();
            let only_ours: BTreeSet<String> = ours.difference(&theirs).cloned().collect();
            let only_theirs: BTreeSet<String> = theirs.difference(&ours).cloned().collect();
            let listed = |side: &str| -> BTreeSet<String> {
                strings(&differences[field][side]).into_iter().collect()
            };
            if only_ours != listed("jepsen-lite-only") || only_theirs != listed("elle-only") {
                failures.push(format!(
                    "{file}: {field}: jepsen-lite alone says {only_ours:?}, Elle alone {only_theirs:?}; the manifest lists {:?} / {:?}",
                    listed("jepsen-lite-only"),
                    listed("elle-only")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
