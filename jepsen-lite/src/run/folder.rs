//! The run folder: everything a run leaves behind, readable without jepsen-lite.
//!
//! ```text
//! DIR/
//!   history.jsonl.zst the history, streamed during the run (compact JSON lines, zstd;
//!                     fault windows as nemesis lines)
//!   results.json      the checker's report (same as `jepsen-lite check --format json`)
//!   NNN-KIND.dot/.svg one drawing per anomaly cycle
//!   run.json          configuration, counts, throughput, fault windows, verdict, errors
//!   report.html       throughput and latency over time, faults shaded, anomalies drawn
//! ```
//!
//! `jepsen-lite check DIR/history.jsonl.zst` re-checks the history on its own and reaches the
//! run's verdict on the required model; `zstd -d DIR/history.jsonl.zst` gives plain JSON lines.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::report;
use crate::run::{RunError, RunResult, report_html};

fn write_file(path: PathBuf, body: &str, written: &mut Vec<PathBuf>) -> Result<(), RunError> {
    std::fs::write(&path, body).map_err(|source| RunError::Io {
        path: path.clone(),
        source,
    })?;
    written.push(path);
    Ok(())
}

/// A summary of the run as JSON: the verdict's fields, as the summary and exit status use them.
pub fn run_json(result: &RunResult) -> serde_json::Value {
    let v = &result.verdict;
    let names = |kinds: &[crate::anomaly::AnomalyKind]| -> Vec<&str> {
        kinds.iter().map(|k| k.name()).collect()
    };
    json!({
        "config": result.config,
        "valid": v.valid,
        "required_model": v.required_model.name(),
        "satisfies_required_model": v.satisfies_required_model,
        "forbidden_found": names(&v.forbidden_found),
        "invariant_required": v.invariant_required,
        "invariant_held": v.invariant_held,
        "no_unexpected_errors": v.no_unexpected_errors,
        "strongest": result.report.strongest.iter().map(|m| m.name()).collect::<Vec<_>>(),
        "anomalies": names(&result.report.kinds()),
        "counts": result.counts,
        "elapsed_seconds": result.elapsed.as_secs_f64(),
        "throughput": result.throughput(),
        "history": {
            "file": result.recorded.path.file_name().map(|f| f.to_string_lossy().into_owned()),
            "bytes": result.recorded.bytes,
            "text_bytes": result.recorded.text_bytes,
            "lines": result.recorded.lines,
        },
        "faults": result.faults,
        "invariant_violations": result.invariant_violations,
        "unexpected_errors": result.unexpected_errors,
    })
}

/// Writes the rest of the run folder into `dir` (the history is already there); returns the
/// files written.
pub fn write(result: &RunResult, dir: &Path) -> Result<Vec<PathBuf>, RunError> {
    std::fs::create_dir_all(dir).map_err(|source| RunError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let request = report::elle::Request {
        models: vec![result.required],
        anomalies: Vec::new(),
    };
    let mut written = report::write_directory(&result.report, &result.history, &request, dir)?;
    let summary = serde_json::to_string_pretty(&run_json(result)).unwrap_or_default();
    write_file(dir.join("run.json"), &summary, &mut written)?;
    write_file(
        dir.join("report.html"),
        &report_html::render(result),
        &mut written,
    )?;
    Ok(written)
}
