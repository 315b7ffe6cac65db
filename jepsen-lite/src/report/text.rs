//! The text report: the verdict for the requested models, the models ruled out (`not`,
//! `also-not`, as Elle draws them), the strongest models that hold, the model table, then
//! each anomaly with its explanation and cycle steps (at most [`MAX_SHOWN_PER_KIND`] of each
//! kind).

use std::fmt::Write;

use super::elle::{Request, Validity, verdict};
use crate::checker::CheckReport;
use crate::models::Model;

/// How many anomalies of one kind are printed before "... and N more".
pub const MAX_SHOWN_PER_KIND: usize = 8;

fn list(models: &[Model]) -> String {
    if models.is_empty() {
        "none".to_string()
    } else {
        models
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The report as text, with the verdict for `request`.
pub fn render(report: &CheckReport, request: &Request) -> String {
    let mut out = String::new();
    let v = verdict(report, request);
    let asked = list(&request.models);
    let extra = if request.anomalies.is_empty() {
        String::new()
    } else {
        format!(" (and no {})", request.anomalies.join(", "))
    };
    let _ = match v.validity {
        Validity::Valid => writeln!(out, "VALID: the history satisfies {asked}{extra}"),
        Validity::Invalid => writeln!(
            out,
            "INVALID: the history violates {asked}{extra}: {}",
            v.reportable.join(", ")
        ),
        Validity::Unknown => writeln!(
            out,
            "UNKNOWN: nothing {asked}{extra} forbids was found, but the analysis is incomplete: {}",
            v.reportable.join(", ")
        ),
    };
    let _ = writeln!(
        out,
        "{} transactions ({} committed), {} dependency edges",
        report.transactions, report.committed, report.edges
    );
    if !v.not.is_empty() {
        let _ = writeln!(out, "not: {}", list(&v.not));
        let _ = writeln!(out, "also not: {}", list(&v.also_not));
    }
    let _ = writeln!(
        out,
        "strongest models satisfied: {}",
        list(&report.strongest)
    );
    let _ = writeln!(out, "\nmodels:");
    for verdict in report
        .models
        .iter()
        .filter(|m| Model::SHOWN.contains(&m.model))
    {
        let by: Vec<&str> = verdict.violated_by.iter().map(|k| k.name()).collect();
        let status = if verdict.satisfied {
            "satisfied".to_string()
        } else {
            format!("VIOLATED by {}", by.join(", "))
        };
        let _ = writeln!(out, "  {:<26} {status}", verdict.model.name());
    }
    if report.empty_graph {
        let _ = writeln!(
            out,
            "\nno dependency between transactions could be inferred (empty-transaction-graph)"
        );
    }
    for (kind, size) in &report.incomplete {
        let _ = writeln!(
            out,
            "the search for {kind} in a component of {size} transactions ran out of budget"
        );
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
