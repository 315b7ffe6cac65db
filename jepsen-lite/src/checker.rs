//! The checking pipeline: history → version orders → dependency graph → cycles → models.
//!
//! [`check`] runs every stage and returns a [`CheckReport`]. Cycle anomalies are searched from
//! the most to the least specific, each in the strongly connected components of the graph
//! restricted to the edge kinds that anomaly allows:
//!
//! | anomaly | components over | cycle shape |
//! | --- | --- | --- |
//! | G0 | ww | ww edges only |
//! | G1c | ww, wr | a wr edge, then ww/wr |
//! | G-single | ww, wr, rw | exactly one rw, then ww/wr |
//! | G-nonadjacent | ww, wr, rw | ≥ 2 rw, none adjacent (tried when no G-single) |
//! | G2-item | ww, wr, rw | an rw edge, then anything (tried when neither above) |
//! | G2 | ww, wr, rw, prw | a prw edge, then anything |
//! | *-realtime | all, plus rt | an rt edge, then anything; named by its other edges |
//!
//! One cycle is reported per component and anomaly kind.

use std::collections::HashMap;

use serde::Serialize;

use crate::anomaly::{Anomaly, AnomalyKind, CycleStep};
use crate::cycles::{CycleEdge, CycleFinder, Shape};
use crate::explain::explain_edges;
use crate::graph::{EdgeKinds, GraphBuilder};
use crate::history::{History, MicroOp, Outcome};
use crate::models::{Model, ModelVerdict, judge, strongest_satisfied};
use crate::register::RegisterOrder;
use crate::scc::strongly_connected;
use crate::{linearizable, list_append, order, register, session};

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

/// Checks a history against every model.
pub fn check(history: &History) -> CheckReport {
    let register_order = RegisterOrder::build(history);
    let mut builder = GraphBuilder::new(history.txns.len());
    let mut anomalies = list_append::infer(history, &mut builder);
    anomalies.extend(register::infer(history, &register_order, &mut builder));
    order::add_realtime_edges(history, &mut builder);
    let graph = builder.finish();

    let mut cycles: Vec<(AnomalyKind, Vec<CycleEdge>)> = Vec::new();
    let mut finder = CycleFinder::new(&graph);
    let through = |first, rest| Shape::Through { first, rest };
    let ww = strongly_connected(&graph, EdgeKinds::WW);
    for c in finder.find_per_component(&ww, through(EdgeKinds::WW, EdgeKinds::WW)) {
        cycles.push((AnomalyKind::G0, c));
    }
    let g1 = strongly_connected(&graph, EdgeKinds::WRITES_AND_READS);
    for c in finder.find_per_component(&g1, through(EdgeKinds::WR, EdgeKinds::WRITES_AND_READS)) {
        cycles.push((AnomalyKind::G1c, c));
    }
    let item = strongly_connected(&graph, EdgeKinds::ITEM);
    for index in 0..item.members.len() as u32 {
        let attempts = [
            (
                AnomalyKind::GSingle,
                through(EdgeKinds::RW, EdgeKinds::WRITES_AND_READS),
            ),
            (AnomalyKind::GNonadjacent, Shape::NonadjacentRw),
            (AnomalyKind::G2Item, through(EdgeKinds::RW, EdgeKinds::ITEM)),
        ];
        for (kind, shape) in attempts {
            if let Some(c) = finder.find_in(&item, index, shape) {
                cycles.push((kind, c));
                break;
            }
        }
    }
    let data = strongly_connected(&graph, EdgeKinds::DATA);
    for c in finder.find_per_component(&data, through(EdgeKinds::PRW, EdgeKinds::DATA)) {
        cycles.push((AnomalyKind::G2, c));
    }
    let all = EdgeKinds::DATA.union(EdgeKinds::RT);
    let realtime = strongly_connected(&graph, all);
    // A real-time edge inside a data component closes no cycle that serializability allows:
    // that component already has a data cycle. Start only from the other real-time edges.
    for index in 0..realtime.members.len() as u32 {
        if let Some(c) =
            finder.find_in_where(&realtime, index, through(EdgeKinds::RT, all), &|u, v| {
                !data.same(u, v)
            })
        {
            cycles.push((realtime_kind(&c), c));
        }
    }
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
    }
}

fn has_registers(history: &History) -> bool {
    history
        .txns
        .iter()
        .flat_map(|t| &t.ops)
        .any(|op| matches!(op, MicroOp::Write { .. } | MicroOp::Read { .. }))
}

/// Names a dependency cycle by its edges (real-time steps are ignored for the shape).
pub fn classify(cycle: &[CycleEdge]) -> AnomalyKind {
    let count = |k: EdgeKinds| cycle.iter().filter(|e| e.kind == k).count();
    if count(EdgeKinds::PRW) > 0 {
        return AnomalyKind::G2;
    }
    match count(EdgeKinds::RW) {
        0 if count(EdgeKinds::WR) > 0 => AnomalyKind::G1c,
        0 => AnomalyKind::G0,
        1 => AnomalyKind::GSingle,
        _ => {
            let n = cycle.len();
            let adjacent = (0..n).any(|i| {
                cycle[i].kind == EdgeKinds::RW && cycle[(i + 1) % n].kind == EdgeKinds::RW
            });
            if adjacent {
                AnomalyKind::G2Item
            } else {
                AnomalyKind::GNonadjacent
            }
        }
    }
}

fn realtime_kind(cycle: &[CycleEdge]) -> AnomalyKind {
    match classify(cycle) {
        AnomalyKind::G0 => AnomalyKind::G0Realtime,
        AnomalyKind::G1c => AnomalyKind::G1cRealtime,
        AnomalyKind::GSingle => AnomalyKind::GSingleRealtime,
        AnomalyKind::GNonadjacent => AnomalyKind::GNonadjacentRealtime,
        AnomalyKind::G2 => AnomalyKind::G2Realtime,
        _ => AnomalyKind::G2ItemRealtime,
    }
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
