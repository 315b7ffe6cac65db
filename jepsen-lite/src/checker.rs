//! The checking pipeline: history → version orders → dependency graph → cycles → models.
//!
//! [`check`] runs every stage and returns a [`CheckReport`]. The graph holds ww, wr, rw and
//! prw edges, and — as [`CheckOptions`] asks — real-time edges and process-order edges. Cycle
//! anomalies are searched per strongly connected component in Elle's order of severity
//! ([`crate::cycles`]); a shape that one found in the same component implies is not searched
//! (a G0 is also a G1c: Elle reports the G0). Non-cycle anomalies come from the version-order
//! inference (`list_append`, `register`), the session checks and register linearizability.
//!
//! Which order edges to add follows Elle: real-time edges when some model asked for forbids
//! a `-realtime` anomaly (strict serializability, the default), else process-order edges when
//! one forbids a `-process` anomaly (the strong-session models), else neither
//! ([`CheckOptions::for_models`]). With real-time edges, a process's own order is covered
//! by real time (its transactions run one after another), so its violations are `-realtime`.

use std::collections::HashMap;

use serde::Serialize;

use crate::anomaly::{Anomaly, AnomalyKind, CycleStep, Via};
use crate::cycles::{CycleEdge, all_specs, search};
use crate::explain::explain_edges;
use crate::graph::GraphBuilder;
use crate::history::{History, MicroOp, Outcome};
use crate::models::{Model, ModelVerdict, implied_by, judge, prohibited, strongest_satisfied};
use crate::register::RegisterOrder;
use crate::{linearizable, list_append, order, register, session};

/// What to build the graph from, and how hard to search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// Add real-time edges (one transaction completed before another was invoked).
    pub realtime: bool,
    /// Add process-order edges (a process's consecutive transactions).
    pub process: bool,
    /// States visited at most per cycle shape and component.
    pub budget: usize,
}

impl Default for CheckOptions {
    /// As for strict serializability, Elle's default: real-time edges, no process edges.
    fn default() -> Self {
        CheckOptions {
            realtime: true,
            process: false,
            budget: 2_000_000,
        }
    }
}

impl CheckOptions {
    /// The edges Elle would add for these models and extra anomalies: real-time edges when a
    /// `-realtime` anomaly is forbidden, else process edges when a `-process` one is.
    pub fn for_models(models: &[Model], anomalies: &[String]) -> CheckOptions {
        let forbidden = prohibited(models, anomalies);
        let needs = |via: Via| {
            AnomalyKind::all()
                .into_iter()
                .any(|k| k.cycle().is_some_and(|(_, v)| v == via) && forbidden.contains(k.name()))
        };
        let realtime = needs(Via::Realtime);
        CheckOptions {
            realtime,
            process: !realtime && needs(Via::Process),
            ..CheckOptions::default()
        }
    }
}

/// The checker's result.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// Transactions in the history.
    pub transactions: usize,
    /// Of which committed (`ok`).
    pub committed: usize,
    /// Distinct edges in the dependency graph (all relations).
    pub edges: usize,
    /// Everything found, grouped by kind.
    pub anomalies: Vec<Anomaly>,
    /// Each model: satisfied or violated, and by what.
    pub models: Vec<ModelVerdict>,
    /// The strongest models of the lattice that hold.
    pub strongest: Vec<Model>,
    /// No dependency at all was inferred between transactions: nothing could be refuted
    /// (Elle's `empty-transaction-graph`, which makes its verdict `unknown`).
    pub empty_graph: bool,
    /// Cycle searches that ran out of budget without a cycle: (shape, component size)
    /// (Elle's `cycle-search-timeout`, which makes its verdict `unknown`).
    pub incomplete: Vec<(AnomalyKind, usize)>,
    /// The edges the graph was built from.
    #[serde(skip)]
    pub options: CheckOptions,
}

impl CheckReport {
    /// Whether `model` holds.
    pub fn satisfies(&self, model: Model) -> bool {
        self.models.iter().any(|v| v.model == model && v.satisfied)
    }

    /// The distinct kinds found, in report order.
    pub fn kinds(&self) -> Vec<AnomalyKind> {
        let mut kinds: Vec<AnomalyKind> = self.anomalies.iter().map(|a| a.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }

    /// Whether an anomaly of `kind` was found.
    pub fn has(&self, kind: AnomalyKind) -> bool {
        self.anomalies.iter().any(|a| a.kind == kind)
    }
}

/// Checks a history against every model, with real-time edges ([`CheckOptions::default`]).
pub fn check(history: &History) -> CheckReport {
    check_with(history, &CheckOptions::default())
}

/// Checks a history against every model, building the graph as `options` says.
pub fn check_with(history: &History, options: &CheckOptions) -> CheckReport {
    let register_order = RegisterOrder::build(history);
    let mut builder = GraphBuilder::new(history.txns.len());
    let mut anomalies = list_append::infer(history, &mut builder);
    anomalies.extend(register::infer(history, &register_order, &mut builder));
    if options.realtime {
        order::add_realtime_edges(history, &mut builder);
    }
    if options.process {
        order::add_process_order_edges(history, &mut builder);
    }
    let graph = builder.finish();

    let implied_cache: HashMap<AnomalyKind, Vec<&'static str>> = AnomalyKind::all()
        .into_iter()
        .map(|k| (k, implied_by([k.name()]).into_iter().collect()))
        .collect();
    let skip = |found: &[AnomalyKind], kind: AnomalyKind| {
        found.iter().any(|f| {
            implied_cache
                .get(f)
                .is_some_and(|i| i.contains(&kind.name()))
        })
    };
    let found = search(&graph, &all_specs(), &skip, options.budget);
    let mut cycles = found.cycles;
    cycles.extend(session::check(history, &graph));

    let steps: Vec<&[CycleEdge]> = cycles.iter().map(|(_, c)| c.as_slice()).collect();
    let reasons = explain_edges(history, &register_order, &steps);
    for (kind, cycle) in &cycles {
        anomalies.push(cycle_anomaly(*kind, cycle, &reasons));
    }
    if has_registers(history) {
        anomalies.extend(linearizable::check_registers(history));
    }
    anomalies.sort_by_key(|a| a.kind);

    let mut kinds: Vec<AnomalyKind> = anomalies.iter().map(|a| a.kind).collect();
    kinds.dedup();
    let models = judge(&kinds);
    let strongest = strongest_satisfied(&models);
    CheckReport {
        transactions: history.txns.len(),
        committed: history
            .txns
            .iter()
            .filter(|t| t.outcome == Outcome::Ok)
            .count(),
        edges: graph.edge_count(),
        anomalies,
        models,
        strongest,
        empty_graph: graph.edge_count() == 0,
        incomplete: found.incomplete,
        options: *options,
    }
}

fn has_registers(history: &History) -> bool {
    history
        .txns
        .iter()
        .flat_map(|t| &t.ops)
        .any(|op| matches!(op, MicroOp::Write { .. } | MicroOp::Read { .. }))
}

fn cycle_anomaly(
    kind: AnomalyKind,
    cycle: &[CycleEdge],
    reasons: &HashMap<(u32, u32, u8), String>,
) -> Anomaly {
    let steps: Vec<CycleStep> = cycle
        .iter()
        .map(|e| CycleStep {
            from: e.from,
            to: e.to,
            relation: e.kind.name(),
            why: reasons
                .get(&(e.from, e.to, e.kind.0))
                .cloned()
                .unwrap_or_default(),
        })
        .collect();
    let mut path: Vec<String> = cycle
        .iter()
        .map(|e| format!("T{} -{}->", e.from, e.kind.name()))
        .collect();
    if let Some(first) = cycle.first() {
        path.push(format!("T{}", first.from));
    }
    Anomaly {
        kind,
        txns: cycle.iter().map(|e| e.from).collect(),
        explanation: format!("{}: {}", kind.meaning(), path.join(" ")),
        cycle: steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::HistoryBuilder;

    #[test]
    fn options_follow_the_models_asked_for() {
        let none: [String; 0] = [];
        assert!(CheckOptions::for_models(&[Model::StrictSerializable], &none).realtime);
        let session = CheckOptions::for_models(&[Model::StrongSessionSerializable], &none);
        assert!(!session.realtime && session.process);
        let plain = CheckOptions::for_models(&[Model::Serializable], &none);
        assert!(!plain.realtime && !plain.process);
        let asked = CheckOptions::for_models(&[Model::Serializable], &["G0-process".to_string()]);
        assert!(asked.process);
    }

    #[test]
    fn a_lone_transaction_leaves_an_empty_graph() {
        let mut b = HistoryBuilder::new();
        b.ok(0, vec![MicroOp::read_list(1, &[])]);
        let report = check(&b.build().expect("pairs"));
        assert!(report.empty_graph && report.anomalies.is_empty());
        assert!(report.satisfies(Model::StrictSerializable));
    }
}
