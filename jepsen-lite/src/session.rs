//! Session guarantees (Terry et al. 1994), checked per process as short cycles with process order.
//!
//! With `A ≺ B` meaning "A ran before B on the same process", each guarantee forbids one pattern
//! of dependency edges (item edges only):
//!
//! ```text
//! read-your-writes     A ≺ B,  B ─rw▶ A                 B read a version older than A's write
//! monotonic writes     A ≺ B,  B ─ww▶ A                 B's write was ordered before A's
//!                      A ≺ B,  B ─wr▶ R ─rw▶ A          R saw B's write but not A's
//! monotonic reads      W ─wr▶ A,  A ≺ B,  B ─rw▶ W      B missed a write A had already seen
//! writes follow reads  W ─wr▶ A,  A ≺ B,  B ─wr▶ R ─rw▶ W
//!                                                       R saw B's write but not W's, which B's
//!                                                       process had read before writing
//! ```
//!
//! Each violation is reported with its cycle (the `≺` step is a `po` edge). At most
//! [`MAX_PER_GUARANTEE`] violations of each guarantee are reported.

use foldhash::{HashMap, HashMapExt};

use crate::anomaly::AnomalyKind;
use crate::cycles::CycleEdge;
use crate::graph::{DependencyGraph, EdgeKinds};
use crate::history::{History, ProcessId};

/// Cap on reported violations per guarantee.
pub const MAX_PER_GUARANTEE: usize = 32;

/// A session-guarantee violation: its kind and the cycle that shows it.
pub type SessionViolation = (AnomalyKind, Vec<CycleEdge>);

fn edge(from: u32, to: u32, kind: EdgeKinds) -> CycleEdge {
    CycleEdge { from, to, kind }
}

/// Finds session-guarantee violations in the dependency graph.
pub fn check(history: &History, graph: &DependencyGraph) -> Vec<SessionViolation> {
    // Processes in one compact array: every edge looks up both ends.
    let processes: Vec<ProcessId> = history.txns.iter().map(|t| t.process).collect();
    let process = |t: u32| -> Option<ProcessId> { processes.get(t as usize).copied() };
    let before = |a: u32, b: u32| a < b && process(a).is_some() && process(a) == process(b);
    let n = graph.node_count() as u32;
    let mut found: Vec<SessionViolation> = Vec::new();
    let mut count: HashMap<AnomalyKind, usize> = HashMap::new();
    let mut report =
        |kind: AnomalyKind, cycle: Vec<CycleEdge>, found: &mut Vec<SessionViolation>| {
            let c = count.entry(kind).or_default();
            if *c < MAX_PER_GUARANTEE {
                *c += 1;
                found.push((kind, cycle));
            }
        };

    // Incoming wr edges, and for each writer W and process p the first transaction of p reading
    // W: per writer a short list of (process, first reader), in CSR form (writers in order).
    let mut readers_of: Vec<(u32, u32)> = Vec::new(); // (reader, writer)
    let mut first_offsets: Vec<usize> = Vec::with_capacity(n as usize + 1);
    let mut first_reads: Vec<(ProcessId, u32)> = Vec::new();
    for w in 0..n {
        let start = first_reads.len();
        first_offsets.push(start);
        for (r, kinds) in graph.out_edges(w) {
            if kinds.intersects(EdgeKinds::WR) {
                readers_of.push((r, w));
                if let Some(p) = process(r) {
                    match first_reads[start..].iter_mut().find(|(q, _)| *q == p) {
                        Some((_, first)) => *first = (*first).min(r),
                        None => first_reads.push((p, r)),
                    }
                }
            }
        }
    }
    first_offsets.push(first_reads.len());
    let first_read_by = |writer: u32, p: ProcessId| -> Option<u32> {
        let w = writer as usize;
        first_reads[*first_offsets.get(w)?..*first_offsets.get(w + 1)?]
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, r)| *r)
    };
    readers_of.sort_unstable();

    for b in 0..n {
        for (target, kinds) in graph.out_edges(b) {
            if kinds.intersects(EdgeKinds::RW) && before(target, b) {
                report(
                    AnomalyKind::ReadYourWrites,
                    vec![
                        edge(target, b, EdgeKinds::PO),
                        edge(b, target, EdgeKinds::RW),
                    ],
                    &mut found,
                );
            }
            if kinds.intersects(EdgeKinds::WW) && before(target, b) {
                report(
                    AnomalyKind::MonotonicWrites,
                    vec![
                        edge(target, b, EdgeKinds::PO),
                        edge(b, target, EdgeKinds::WW),
                    ],
                    &mut found,
                );
            }
            if kinds.intersects(EdgeKinds::RW)
                && let Some(p) = process(b)
                && let Some(a) = first_read_by(target, p)
                && a < b
            {
                // target ─wr▶ a ≺ b ─rw▶ target
                report(
                    AnomalyKind::MonotonicReads,
                    vec![
                        edge(target, a, EdgeKinds::WR),
                        edge(a, b, EdgeKinds::PO),
                        edge(b, target, EdgeKinds::RW),
                    ],
                    &mut found,
                );
            }
        }
    }

    // Reader-based patterns: R saw B's write (B ─wr▶ R) but missed W (R ─rw▶ W).
    let mut end = 0;
    for r in 0..n {
        // readers_of is sorted by reader: walk it alongside r.
        let start = end;
        while readers_of.get(end).is_some_and(|(reader, _)| *reader == r) {
            end += 1;
        }
        let writers = &readers_of[start..end];
        if writers.is_empty() {
            continue;
        }
        for (missed, kinds) in graph.out_edges(r) {
            if !kinds.intersects(EdgeKinds::RW) {
                continue;
            }
            for &(_, b) in writers {
                if before(missed, b) {
                    report(
                        AnomalyKind::MonotonicWrites,
                        vec![
                            edge(missed, b, EdgeKinds::PO),
                            edge(b, r, EdgeKinds::WR),
                            edge(r, missed, EdgeKinds::RW),
                        ],
                        &mut found,
                    );
                }
                if let Some(p) = process(b)
                    && let Some(a) = first_read_by(missed, p)
                    && a < b
                    && r != a
                {
                    report(
                        AnomalyKind::WritesFollowReads,
                        vec![
                            edge(missed, a, EdgeKinds::WR),
                            edge(a, b, EdgeKinds::PO),
                            edge(b, r, EdgeKinds::WR),
                            edge(r, missed, EdgeKinds::RW),
                        ],
                        &mut found,
                    );
                }
            }
        }
    }
    found
}
