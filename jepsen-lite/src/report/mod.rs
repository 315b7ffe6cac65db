//! Renderings of a [`crate::checker::CheckReport`]: the verdict on a request and Elle's result
//! map ([`elle`]), text for people, JSON for machines, and pictures of each anomaly's cycle
//! (Graphviz DOT, and SVG drawn by us so no Graphviz is needed).

pub mod dot;
pub mod elle;
pub mod json;
pub mod svg;
pub mod text;

use std::path::Path;

use crate::checker::CheckReport;
use crate::error::{Error, Result};
use crate::history::History;
use elle::Request;

/// Writes `results.json` and, per cycle anomaly, `NNN-KIND.dot` and `NNN-KIND.svg` into `dir`.
/// Returns the files written.
pub fn write_directory(
    report: &CheckReport,
    history: &History,
    request: &Request,
    dir: &Path,
) -> Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut written = Vec::new();
    let mut write = |name: String, body: String| -> Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, body).map_err(|e| Error::io(&path, e))?;
        written.push(path);
        Ok(())
    };
    write(
        "results.json".to_string(),
        json::render(report, history, request),
    )?;
    for (index, anomaly) in report
        .anomalies
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.cycle.is_empty())
    {
        let stem = format!("{index:03}-{}", anomaly.kind.name());
        write(format!("{stem}.dot"), dot::render(anomaly))?;
        write(format!("{stem}.svg"), svg::render(anomaly))?;
    }
    Ok(written)
}
