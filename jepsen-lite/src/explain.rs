//! Plain-words reasons for the edges of reported cycles.
//!
//! Building the graph keeps no reasons (that would cost a string per edge). Once cycles are
//! found, the checker asks for the few edges on them: inference runs again with an
//! [`ExplainSink`], which formats a sentence only for wanted `(from, to, relation)` triples.
//! Real-time and process-order steps are explained from the transactions' times and processes.

use std::collections::HashMap;

use crate::cycles::CycleEdge;
use crate::graph::{EdgeKinds, EdgeSink};
use crate::history::History;
use crate::register::RegisterOrder;
use crate::{list_append, register};

/// Collects reasons for wanted edges.
#[derive(Debug, Default)]
pub struct ExplainSink {
    wanted: HashMap<(u32, u32, u8), Option<String>>,
}

impl EdgeSink for ExplainSink {
    fn edge(&mut self, from: u32, to: u32, kind: EdgeKinds, why: &dyn Fn() -> String) {
        if let Some(slot) = self.wanted.get_mut(&(from, to, kind.0))
            && slot.is_none()
        {
            *slot = Some(why());
        }
    }
}

/// Reasons for every step of `cycles`, keyed by `(from, to, relation bits)`.
pub fn explain_edges(
    history: &History,
    order: &RegisterOrder,
    cycles: &[&[CycleEdge]],
) -> HashMap<(u32, u32, u8), String> {
    let mut sink = ExplainSink::default();
    let mut out = HashMap::new();
    for edge in cycles.iter().flat_map(|c| c.iter()) {
        let key = (edge.from, edge.to, edge.kind.0);
        match edge.kind {
            EdgeKinds::RT => {
                let (a, b) = (
                    history.txns.get(edge.from as usize),
                    history.txns.get(edge.to as usize),
                );
                if let (Some(a), Some(b)) = (a, b) {
                    let done = a.complete_time.map_or("?".to_string(), |t| t.to_string());
                    out.insert(
                        key,
                        format!(
                            "T{} completed (t={done}) before T{} was invoked (t={})",
                            a.id, b.id, b.invoke_time
                        ),
                    );
                }
            }
            EdgeKinds::PO => {
                let process = history
                    .txns
                    .get(edge.from as usize)
                    .map_or(0, |t| t.process);
                out.insert(
                    key,
                    format!(
                        "T{} ran before T{} on process {process}",
                        edge.from, edge.to
                    ),
                );
            }
            _ => {
                sink.wanted.insert(key, None);
            }
        }
    }
    if !sink.wanted.is_empty() {
        list_append::infer(history, &mut sink);
        register::infer(history, order, &mut sink);
    }
    for (key, why) in sink.wanted {
        out.insert(key, why.unwrap_or_else(|| "(inferred)".to_string()));
    }
    out
}
