//! The JSON report: `{"valid": bool, "transactions", "committed", "edges", "strongest": [..],
//! "models": [{"model", "satisfied", "violated_by"}], "anomaly_counts": {kind: n},
//! "anomalies": [{"kind", "txns", "explanation", "cycle": [{"from","to","relation","why"}]}]}`.
//! `valid` means serializable (the checker's default model).

use std::collections::BTreeMap;

use serde_json::json;

use crate::checker::CheckReport;
use crate::models::Model;

/// The report as pretty-printed JSON.
pub fn render(report: &CheckReport) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &report.anomalies {
        *counts.entry(a.kind.name()).or_default() += 1;
    }
    let models: Vec<_> = report
        .models
        .iter()
        .map(|v| json!({"model": v.model.name(), "satisfied": v.satisfied, "violated_by": v.violated_by.iter().map(|k| k.name()).collect::<Vec<_>>()}))
        .collect();
    let anomalies: Vec<_> = report
        .anomalies
        .iter()
        .map(|a| json!({"kind": a.kind.name(), "txns": a.txns, "explanation": a.explanation, "cycle": a.cycle}))
        .collect();
    let value = json!({
        "valid": report.satisfies(Model::Serializable),
        "transactions": report.transactions,
        "committed": report.committed,
        "edges": report.edges,
        "strongest": report.strongest.iter().map(|m| m.name()).collect::<Vec<_>>(),
        "models": models,
        "anomaly_counts": counts,
        "anomalies": anomalies,
    });
    serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".to_string())
}
