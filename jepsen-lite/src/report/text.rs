//! The text report: verdict for the requested model, the strongest models that hold, the model
//! table, then each anomaly with its explanation and cycle steps (at most
//! [`MAX_SHOWN_PER_KIND`] of each kind).

use std::fmt::Write;

use crate::checker::CheckReport;
use crate::models::Model;

/// How many anomalies of one kind are printed before "... and N more".
pub const MAX_SHOWN_PER_KIND: usize = 8;

/// The report as text, with the verdict for `model`.
pub fn render(report: &CheckReport, model: Model) -> String {
    let mut out = String::new();
    let verdict = if report.satisfies(model) {
        "VALID"
    } else {
        "INVALID"
    };
    let _ = writeln!(
        out,
        "{verdict}: the history {} {model}",
        if report.satisfies(model) {
            "satisfies"
        } else {
            "violates"
        }
    );
    let _ = writeln!(
        out,
        "{} transactions ({} committed), {} dependency edges",
        report.transactions, report.committed, report.edges
    );
    let strongest: Vec<&str> = report.strongest.iter().map(|m| m.name()).collect();
    let _ = writeln!(
        out,
        "strongest models satisfied: {}",
        if strongest.is_empty() {
            "none".to_string()
        } else {
            strongest.join(", ")
        }
    );
    let _ = writeln!(out, "\nmodels:");
    for v in &report.models {
        let by: Vec<&str> = v.violated_by.iter().map(|k| k.name()).collect();
        let status = if v.satisfied {
            "satisfied".to_string()
        } else {
            format!("VIOLATED by {}", by.join(", "))
        };
        let _ = writeln!(out, "  {:<22} {status}", v.model.name());
    }
    if report.anomalies.is_empty() {
        let _ = writeln!(out, "\nno anomalies found");
        return out;
    }
    let _ = writeln!(out, "\nanomalies:");
    for kind in report.kinds() {
        let all: Vec<_> = report.anomalies.iter().filter(|a| a.kind == kind).collect();
        let _ = writeln!(out, "\n{kind} ({}) — {}", all.len(), kind.meaning());
        for anomaly in all.iter().take(MAX_SHOWN_PER_KIND) {
            let _ = writeln!(out, "  * {}", anomaly.explanation);
            for step in &anomaly.cycle {
                let _ = writeln!(
                    out,
                    "      T{} -{}-> T{}: {}",
                    step.from, step.relation, step.to, step.why
                );
            }
        }
        if all.len() > MAX_SHOWN_PER_KIND {
            let _ = writeln!(out, "  ... and {} more", all.len() - MAX_SHOWN_PER_KIND);
        }
    }
    out
}
