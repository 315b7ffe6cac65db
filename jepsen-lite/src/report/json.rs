//! The JSON report: Elle's result map ([`super::elle::result`]: `valid?`, `anomaly-types`,
//! `anomalies`, `not`, `also-not`) with jepsen-lite's own fields beside it:
//!
//! ```text
//! {"valid?": false, "anomaly-types": [..], "anomalies": {..}, "not": [..], "also-not": [..],
//!  "valid": false,                 the request's models hold (Elle's "unknown" counts as true)
//!  "consistency-models": [..],     what was asked for
//!  "transactions", "committed", "edges", "strongest": [..],
//!  "models": [{"model", "satisfied", "violated_by"}],   the models of a text report
//!  "anomaly_counts": {kind: n},
//!  "findings": [{"kind", "txns", "explanation", "cycle": [{"from","to","relation","why"}]}]}
//! ```
//!
//! `findings` lists everything found, allowed or not; `anomalies` only what the request
//! forbids, as Elle's does.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::elle::{Request, Validity, result, verdict};
use crate::checker::CheckReport;
use crate::history::History;
use crate::models::Model;

/// The report as a JSON value.
pub fn value(report: &CheckReport, history: &History, request: &Request) -> Json {
    let mut out = result(report, history, request);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &report.anomalies {
        *counts.entry(a.kind.name()).or_default() += 1;
    }
    let models: Vec<Json> = report
        .models
        .iter()
        .filter(|v| Model::SHOWN.contains(&v.model))
        .map(|v| json!({"model": v.model.name(), "satisfied": v.satisfied, "violated_by": v.violated_by.iter().map(|k| k.name()).collect::<Vec<_>>()}))
        .collect();
    let findings: Vec<Json> = report
        .anomalies
        .iter()
        .map(|a| json!({"kind": a.kind.name(), "txns": a.txns, "explanation": a.explanation, "cycle": a.cycle}))
        .collect();
    let fields = [
        (
            "valid",
            Json::Bool(verdict(report, request).validity != Validity::Invalid),
        ),
        (
            "consistency-models",
            json!(request.models.iter().map(|m| m.name()).collect::<Vec<_>>()),
        ),
        ("transactions", json!(report.transactions)),
        ("committed", json!(report.committed)),
        ("edges", json!(report.edges)),
        (
            "strongest",
            json!(
                report
                    .strongest
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
            ),
        ),
        ("models", Json::Array(models)),
        ("anomaly_counts", json!(counts)),
        ("findings", Json::Array(findings)),
    ];
    if let Json::Object(map) = &mut out {
        for (name, value) in fields {
            map.insert(name.to_string(), value);
        }
    }
    out
}

/// The report as pretty-printed JSON.
pub fn render(report: &CheckReport, history: &History, request: &Request) -> String {
    serde_json::to_string_pretty(&value(report, history, request)).unwrap_or_else(|_| "{}".into())
}
