//! Real-time and process-order edges.
//!
//! **Real time**: `A ─rt▶ B` when A completed before B was invoked. All such pairs would be
//! quadratic, so the sweep keeps a *frontier*: the completed transactions not yet known to
//! precede another completed one. An invocation gets an edge from every frontier member; when B
//! completes, the members that completed before B's invocation are dropped (B now stands for
//! them: they reach anything after B through B), and B joins:
//!
//! ```text
//! time  ─────────────────────────────────────▶
//! A  [──]                   frontier after A: {A}
//! B        [────]           B invoked: A ─rt▶ B; B completes: frontier {B}
//! C          [──────]       C invoked (B still running): A ─rt▶ C
//! D                  [──]   D invoked: B ─rt▶ D, C ─rt▶ D   (A reaches D through B)
//! ```
//!
//! Failed transactions take no part; `info` transactions are invoked but never complete, so they
//! have incoming but no outgoing real-time edges. **Process order**: consecutive ok/info
//! transactions of one process, `A ─po▶ B`, never from an `info` transaction (its effects may
//! land after the process moved on; Jepsen retires such a process).

use std::collections::HashMap;

use crate::graph::{EdgeKinds, EdgeSink};
use crate::history::{History, Outcome, ProcessId, TxnId};

/// Adds real-time edges (a transitive reduction of "completed before invoked") to `sink`.
pub fn add_realtime_edges(history: &History, sink: &mut dyn EdgeSink) {
    // (time, is_invoke, txn): at equal times completions sort first, but an invocation at the
    // same instant as a completion is not "after" it, so ties are checked explicitly below.
    let mut events: Vec<(i64, bool, TxnId)> = Vec::with_capacity(history.txns.len() * 2);
    for txn in history.txns.iter().filter(|t| t.outcome != Outcome::Fail) {
        events.push((txn.invoke_time, true, txn.id));
        if let Some(done) = txn.complete_time {
            events.push((done, false, txn.id));
        }
    }
    events.sort_unstable();
    let complete = |t: TxnId| {
        history
            .txns
            .get(t as usize)
            .and_then(|t| t.complete_time)
            .unwrap_or(i64::MAX)
    };
    let invoke = |t: TxnId| {
        history
            .txns
            .get(t as usize)
            .map_or(i64::MIN, |t| t.invoke_time)
    };
    let mut frontier: Vec<TxnId> = Vec::new();
    for (time, is_invoke, txn) in events {
        if is_invoke {
            for &before in &frontier {
                if complete(before) < time {
                    let (done, started) = (complete(before), time);
                    sink.edge(before, txn, EdgeKinds::RT, &|| {
                        format!(
                            "T{before} completed (t={done}) before T{txn} was invoked (t={started})"
                        )
                    });
                }
            }
        } else {
            let started = invoke(txn);
            frontier.retain(|&f| complete(f) >= started);
            frontier.push(txn);
        }
    }
}

/// Adds process-order edges between consecutive ok/info transactions of each process.
pub fn add_process_order_edges(history: &History, sink: &mut dyn EdgeSink) {
    let mut last: HashMap<ProcessId, TxnId> = HashMap::new();
    for txn in history.txns.iter().filter(|t| t.outcome != Outcome::Fail) {
        let prev = if txn.outcome == Outcome::Info {
            last.remove(&txn.process)
        } else {
            last.insert(txn.process, txn.id)
        };
        if let Some(prev) = prev {
            let (process, next) = (txn.process, txn.id);
            sink.edge(prev, next, EdgeKinds::PO, &|| {
                format!("T{prev} and then T{next} ran on process {process}")
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::GraphBuilder;
    use crate::history::{EventType, HistoryBuilder, MicroOp};

    #[test]
    fn realtime_edges_follow_the_frontier() {
        // A [0,1]; B [2,4]; C [3,7]; D [8,9] — as in the module diagram.
        let mut b = HistoryBuilder::new();
        b.invoke(0, vec![]).complete(0, EventType::Ok, vec![]); // A: 0,1
        b.invoke(1, vec![])
            .invoke(2, vec![])
            .complete(1, EventType::Ok, vec![]); // B: 2,4  C: 3,
        b.invoke(3, vec![MicroOp::write(1, 1)])
            .complete(3, EventType::Fail, vec![]); // failed: 5,6
        b.complete(2, EventType::Ok, vec![]); // C: 7
        b.invoke(4, vec![]).complete(4, EventType::Ok, vec![]); // D: 8,9
        let h = b.build().expect("valid");
        let mut g = GraphBuilder::new(h.txns.len());
        add_realtime_edges(&h, &mut g);
        let g = g.finish();
        let rt = |a, b| g.kinds_between(a, b) == EdgeKinds::RT;
        assert!(rt(0, 1) && rt(0, 2) && rt(1, 4) && rt(2, 4));
        assert!(!rt(0, 4), "A reaches D through B");
        assert!(!rt(1, 2) && !rt(2, 1), "B and C overlap");
        assert_eq!(g.edge_count(), 4, "the failed transaction has no edges");
    }

    #[test]
    fn process_order_links_consecutive_transactions() {
        let mut b = HistoryBuilder::new();
        b.ok(0, vec![]).ok(1, vec![]).ok(0, vec![]);
        let h = b.build().expect("valid");
        let mut g = GraphBuilder::new(3);
        add_process_order_edges(&h, &mut g);
        let g = g.finish();
        assert_eq!(g.kinds_between(0, 2), EdgeKinds::PO);
        assert_eq!(g.edge_count(), 1);
    }
}
