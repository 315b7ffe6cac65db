//! The verdict on a request (models and extra anomalies), and Elle's result map for it.
//!
//! ```text
//! {"valid?": false,                       true | false | "unknown"
//!  "anomaly-types": ["G-single-item"],    what was found that the request forbids, sorted
//!  "anomalies": {"G-single-item": [{"type": .., "cycle": [op, ..], "steps": [..]}]},
//!  "not": ["consistent-view", "repeatable-read"],          weakest models ruled out
//!  "also-not": ["serializable", "snapshot-isolation", ..]} every other model ruled out
//! ```
//!
//! As in Elle: the forbidden anomalies are those of the requested models
//! ([`crate::models::prohibited`]) plus those implying a requested anomaly; `valid?` is false
//! when one was found, `"unknown"` when only an incomplete analysis stands in the way
//! (`empty-transaction-graph`: no dependency could be inferred at all;
//! `cycle-search-timeout`: a cycle search gave up), true otherwise — and then the map holds
//! nothing else. `not` / `also-not` come from everything found, forbidden or not. Each case
//! carries jepsen-lite's evidence (operations as Elle prints them, an explanation in words)
//! rather than Elle's internal maps.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value as Json, json};

use crate::anomaly::Anomaly;
use crate::checker::CheckReport;
use crate::history::{History, Outcome, Transaction};
use crate::json::micro_op_to_elle_json;
use crate::models::{Model, boundary, prohibited};
use crate::op::NO_PROCESS;

/// What a history is checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Models that must hold (default: strict serializable).
    pub models: Vec<Model>,
    /// Further anomalies (Elle names) that must not appear.
    pub anomalies: Vec<String>,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            models: vec![Model::StrictSerializable],
            anomalies: Vec::new(),
        }
    }
}

/// `valid?`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// Nothing the request forbids was found, and the analysis was complete.
    Valid,
    /// Something the request forbids was found.
    Invalid,
    /// Nothing forbidden was found, but the analysis was incomplete.
    Unknown,
}

impl Validity {
    /// As JSON: `true`, `false` or `"unknown"`.
    pub fn to_json(self) -> Json {
        match self {
            Validity::Valid => Json::Bool(true),
            Validity::Invalid => Json::Bool(false),
            Validity::Unknown => Json::from("unknown"),
        }
    }

    /// As elle-cli prints it: `true`, `false` or `unknown`.
    pub fn word(self) -> &'static str {
        match self {
            Validity::Valid => "true",
            Validity::Invalid => "false",
            Validity::Unknown => "unknown",
        }
    }
}

/// The verdict on one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// `valid?`.
    pub validity: Validity,
    /// Names of what was found that the request forbids, or that makes it unknown, sorted.
    pub reportable: Vec<String>,
    /// Weakest models ruled out.
    pub not: Vec<Model>,
    /// The other models ruled out.
    pub also_not: Vec<Model>,
}

const EMPTY_GRAPH: &str = "empty-transaction-graph";
const TIMEOUT: &str = "cycle-search-timeout";

/// Judges `report` against `request`.
pub fn verdict(report: &CheckReport, request: &Request) -> Verdict {
    let forbidden = prohibited(&request.models, &request.anomalies);
    let found: BTreeSet<&str> = report.anomalies.iter().map(|a| a.kind.name()).collect();
    let mut reportable: Vec<String> = found
        .iter()
        .filter(|n| forbidden.contains(*n))
        .map(|n| n.to_string())
        .collect();
    let bad = !reportable.is_empty();
    if report.empty_graph {
        reportable.push(EMPTY_GRAPH.to_string());
    }
    if !report.incomplete.is_empty() {
        reportable.push(TIMEOUT.to_string());
    }
    reportable.sort_unstable();
    let validity = match (bad, reportable.is_empty()) {
        (true, _) => Validity::Invalid,
        (false, true) => Validity::Valid,
        (false, false) => Validity::Unknown,
    };
    let (mut not, mut also_not) = boundary(found.iter().copied());
    not.sort_by_key(|m| m.elle_name());
    also_not.sort_by_key(|m| m.elle_name());
    Verdict {
        validity,
        reportable,
        not,
        also_not,
    }
}

/// Elle's result map for `report` on `history` under `request`.
pub fn result(report: &CheckReport, history: &History, request: &Request) -> Json {
    let v = verdict(report, request);
    if v.validity == Validity::Valid {
        return json!({"valid?": true});
    }
    let mut anomalies = Map::new();
    for name in &v.reportable {
        let cases: Json = match name.as_str() {
            EMPTY_GRAPH => Json::Bool(true),
            TIMEOUT => Json::Array(
                report
                    .incomplete
                    .iter()
                    .map(|(kind, size)| json!({"type": TIMEOUT, "anomaly-spec-type": kind.name(), "scc-size": size}))
                    .collect(),
            ),
            _ => Json::Array(
                report
                    .anomalies
                    .iter()
                    .filter(|a| a.kind.name() == name)
                    .map(|a| case(a, history))
                    .collect(),
            ),
        };
        anomalies.insert(name.clone(), cases);
    }
    let names = |models: &[Model]| -> Vec<&str> { models.iter().map(|m| m.elle_name()).collect() };
    json!({
        "valid?": v.validity.to_json(),
        "anomaly-types": v.reportable,
        "anomalies": anomalies,
        "not": names(&v.not),
        "also-not": names(&v.also_not),
    })
}

/// A transaction as Elle prints an operation (its completion).
pub fn op_json(txn: &Transaction, history: &History) -> Json {
    let kind = match txn.outcome {
        Outcome::Ok => "ok",
        Outcome::Fail => "fail",
        Outcome::Info => "info",
    };
    json!({
        "index": txn.index,
        "time": txn.end_time.unwrap_or(-1),
        "type": kind,
        "process": if txn.process == NO_PROCESS { Json::Null } else { Json::from(txn.process) },
        "f": "txn",
        "value": txn.ops.iter().map(|op| micro_op_to_elle_json(op, &history.names)).collect::<Vec<_>>(),
    })
}

fn case(anomaly: &Anomaly, history: &History) -> Json {
    let op = |t: &u32| {
        history
            .txns
            .get(*t as usize)
            .map_or(Json::Null, |txn| op_json(txn, history))
    };
    if !anomaly.cycle.is_empty() {
        let mut cycle: Vec<Json> = anomaly.cycle.iter().map(|s| op(&s.from)).collect();
        if let Some(first) = anomaly.cycle.first() {
            cycle.push(op(&first.from));
        }
        let steps: Vec<Json> = anomaly
            .cycle
            .iter()
            .map(|s| {
                let relation = match s.relation {
                    "rt" => "realtime",
                    "po" => "process",
                    "prw" => "rw",
                    other => other,
                };
                let mut step = json!({"type": relation, "explanation": s.why});
                if s.relation == "prw" {
                    step["predicate?"] = Json::Bool(true);
                }
                step
            })
            .collect();
        return json!({
            "type": anomaly.kind.name(),
            "cycle": cycle,
            "steps": steps,
            "explanation": anomaly.explanation,
        });
    }
    let mut object = BTreeMap::new();
    if let Some(first) = anomaly.txns.first() {
        object.insert("op", op(first));
    }
    if anomaly.txns.len() > 1 {
        object.insert("txns", Json::Array(anomaly.txns.iter().map(op).collect()));
    }
    object.insert("explanation", Json::from(anomaly.explanation.clone()));
    serde_json::to_value(object).unwrap_or(Json::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::check;
    use crate::history::{HistoryBuilder, MicroOp};

    #[test]
    fn a_read_skew_reads_as_elle_says() {
        // elle-cli's list-append-anomaly-g-single-item, in code.
        let mut b = HistoryBuilder::new();
        b.ok(0, vec![MicroOp::append(1, 1), MicroOp::append(2, 1)]);
        b.ok(1, vec![MicroOp::append(1, 2), MicroOp::read_list(2, &[])]);
        b.ok(2, vec![MicroOp::read_list(1, &[1, 2])]);
        let history = b.build().expect("pairs");
        let report = check(&history);
        let out = result(&report, &history, &Request::default());
        assert_eq!(out["valid?"], false);
        assert!(
            out["anomaly-types"]
                .as_array()
                .is_some_and(|t| t.contains(&json!("G-single-item"))),
            "{out}"
        );
        let serializable = Request {
            models: vec![Model::Serializable],
            anomalies: vec![],
        };
        let out = result(&report, &history, &serializable);
        assert_eq!(out["anomaly-types"], json!(["G-single-item"]));
        assert_eq!(out["not"], json!(["consistent-view", "repeatable-read"]));
        let case = &out["anomalies"]["G-single-item"][0];
        assert_eq!(case["cycle"].as_array().map(Vec::len), Some(3));
        assert_eq!(case["steps"][0]["type"], "rw");
        assert_eq!(case["cycle"][0]["value"][0], json!(["append", 1, 2]));
    }

    #[test]
    fn valid_and_unknown() {
        let mut b = HistoryBuilder::new();
        b.ok(0, vec![MicroOp::read_list(1, &[])]);
        let history = b.build().expect("pairs");
        let report = check(&history);
        let out = result(&report, &history, &Request::default());
        assert_eq!(out["valid?"], "unknown");
        assert_eq!(out["anomaly-types"], json!(["empty-transaction-graph"]));
        b.ok(1, vec![MicroOp::append(1, 5)]);
        b.ok(2, vec![MicroOp::read_list(1, &[5])]);
        let history = b.build().expect("pairs");
        let out = result(&check(&history), &history, &Request::default());
        assert_eq!(out, json!({"valid?": true}));
    }
}
