//! The run folder: everything a run leaves behind, readable without jepsen-lite.
//!
//! ```text
//! DIR/
//!   history.jsonl     the history (checker's JSON lines; fault windows as nemesis lines)
//!   results.json      the checker's report (same as `jepsen-lite check --format json`)
//!   NNN-KIND.dot/.svg one drawing per anomaly cycle
//!   run.json          configuration, counts, throughput, fault windows, verdict, errors
//!   report.html       throughput and latency over time, faults shaded, anomalies drawn
//! ```
//!
//! `jepsen-lite check DIR/history.jsonl` re-checks the history on its own.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::report;
use crate::run::recorder::history_jsonl;
use crate::run::{RunError, RunResult, invariant_required, report_html};

fn write_file(path: PathBuf, body: &str, written: &mut Vec<PathBuf>) -> Result<(), RunError> {
    std::fs::write(&path, body).map_err(|source| RunError::Io {
        path: path.clone(),
        source,
    })?;
    written.push(path);
    Ok(())
}

/// A summary of the run as JSON.
pub fn run_json(result: &RunResult) -> serde_json::Value {
    json!({
        "config": result.config,
        "valid": result.valid(),
        "required_model": result.required.name(),
        "satisfies_required_model": result.report.satisfies(result.required),
        "strongest": result.report.strongest.iter().map(|m| m.name()).collect::<Vec<_>>(),
        "anomalies": result.report.kinds().iter().map(|k| k.name()).collect::<Vec<_>>(),
        "forbidden_found": result.forbidden_found().iter().map(|k| k.name()).collect::<Vec<_>>(),
        "counts": result.counts,
        "elapsed_seconds": result.elapsed.as_secs_f64(),
        "throughput": result.throughput(),
        "faults": result.faults,
        "invariant_required": invariant_required(result.config.isolation),
        "invariant_violations": result.invariant_violations,
        "unexpected_errors": result.unexpected_errors,
    })
}

/// Writes the run folder into `dir` (created when missing); returns the files written.
pub fn write(result: &RunResult, dir: &Path) -> Result<Vec<PathBuf>, RunError> {
    std::fs::create_dir_all(dir).map_err(|source| RunError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = report::write_directory(&result.report, dir)?;
    write_file(
        dir.join("history.jsonl"),
        &history_jsonl(&result.events, &result.faults),
        &mut written,
    )?;
    let summary = serde_json::to_string_pretty(&run_json(result)).unwrap_or_default();
    write_file(dir.join("run.json"), &summary, &mut written)?;
    write_file(
        dir.join("report.html"),
        &report_html::render(result),
        &mut written,
    )?;
    Ok(written)
}
