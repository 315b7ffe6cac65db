//! Property test: random small schedules against a serialization-graph
//! oracle.
//!
//! Each schedule has 2-4 transactions doing point reads, writes and scans
//! over four keys, interleaved at random. A commit is three steps, as in the
//! engine: `prepare_commit`, the batch write (which assigns the commit seq
//! and makes it visible to later snapshots; a transaction without writes
//! takes the last seq), and `committed` — so other transactions run inside
//! the "committing" window and commit seqs reach the tracker out of order.
//! The schedule
//! plays the engine's part: snapshot = the last visible commit seq, reads
//! of one's own writes are not reported, and the first-updater-wins rule of
//! snapshot isolation aborts a writer of a key that a concurrent transaction
//! wrote (the engine enforces it with row locks; the tracker relies on it).
//!
//! The oracle builds the direct serialization graph of the committed
//! transactions with snapshot semantics — ww in commit order, wr from the
//! version each read saw, rw from each read to every later version of the
//! key (a scan reads every key of its range) — and asserts it is acyclic.

use std::collections::BTreeSet;
use std::ops::Bound;

use proptest::prelude::*;

use crate::txn::intents::IntentTable;
use crate::txn::ssi::{SeqNo, SsiTracker, TxnId};
use std::sync::Arc;

const KEYS: u8 = 4;

#[derive(Clone, Copy, Debug)]
enum Op {
    Read(u8),
    Write(u8),
    /// Scans the keys `lo..=hi`.
    Scan(u8, u8),
}

#[derive(Clone, Debug)]
struct Plan {
    ops: Vec<Op>,
    declared_read_only: bool,
}

/// A step of one transaction's script.
#[derive(Clone, Copy, Debug)]
enum Step {
    Begin,
    Do(Op),
    Prepare,
    /// The batch is written: the commit seq is assigned and visible.
    WriteBatch,
    /// The tracker is told (`committed`).
    Notify,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    NotStarted,
    Running,
    Prepared,
    Committed(SeqNo),
    Aborted,
}

#[derive(Debug)]
struct Model {
    plan: Plan,
    status: Status,
    snapshot: SeqNo,
    writes: BTreeSet<u8>,
    /// (key, writer of the version seen; `None`: the initial version).
    reads: Vec<(u8, Option<usize>)>,
}

fn key(k: u8) -> [u8; 2] {
    [b'k', k]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..KEYS).prop_map(Op::Read),
        (0..KEYS).prop_map(Op::Write),
        (0..KEYS, 0..KEYS).prop_map(|(a, b)| Op::Scan(a.min(b), a.max(b))),
    ]
}

fn plans() -> impl Strategy<Value = Vec<Plan>> {
    let plan = (prop::collection::vec(op(), 1..5), any::<bool>()).prop_map(|(ops, ro)| {
        let writes = ops.iter().any(|op| matches!(op, Op::Write(_)));
        Plan {
            ops,
            declared_read_only: ro && !writes,
        }
    });
    prop::collection::vec(plan, 2..5)
}

struct Run {
    tracker: SsiTracker,
    /// Where writers publish their intents before telling the tracker.
    intents: Arc<IntentTable>,
    txns: Vec<Model>,
    commits: SeqNo,
}

impl Run {
    fn commit_seq(&self, t: usize) -> Option<SeqNo> {
        match self.txns[t].status {
            Status::Committed(seq) => Some(seq),
            _ => None,
        }
    }

    /// The committed writer of `k` that a snapshot at `snapshot` sees.
    fn visible_writer(&self, k: u8, snapshot: SeqNo) -> Option<usize> {
        (0..self.txns.len())
            .filter(|&t| self.txns[t].writes.contains(&k))
            .filter_map(|t| self.commit_seq(t).map(|seq| (seq, t)))
            .filter(|&(seq, _)| seq <= snapshot)
            .max()
            .map(|(_, t)| t)
    }

    fn abort(&mut self, t: usize) {
        self.tracker.aborted(t as TxnId);
        self.remove_intents(t);
        self.txns[t].status = Status::Aborted;
    }

    fn remove_intents(&self, t: usize) {
        for &k in &self.txns[t].writes {
            self.intents.remove(&key(k), t as TxnId);
        }
    }

    fn step(&mut self, t: usize, step: Step) {
        let id = t as TxnId;
        match step {
            Step::Begin => {
                let txn = &mut self.txns[t];
                txn.status = Status::Running;
                txn.snapshot = self.commits;
                self.tracker
                    .begin(id, self.commits, txn.plan.declared_read_only);
            }
            Step::Do(Op::Read(k)) => {
                if self.txns[t].writes.contains(&k) {
                    return;
                }
                match self.tracker.on_read(id, &key(k)) {
                    Ok(()) => {
                        let seen = self.visible_writer(k, self.txns[t].snapshot);
                        self.txns[t].reads.push((k, seen));
                    }
                    Err(_) => self.abort(t),
                }
            }
            Step::Do(Op::Scan(lo, hi)) => {
                let (lo_key, hi_key) = (key(lo), key(hi));
                let scanned =
                    self.tracker
                        .on_scan(id, Bound::Included(&lo_key), Bound::Included(&hi_key));
                if scanned.is_err() {
                    return self.abort(t);
                }
                for k in lo..=hi {
                    if !self.txns[t].writes.contains(&k) {
                        let seen = self.visible_writer(k, self.txns[t].snapshot);
                        self.txns[t].reads.push((k, seen));
                    }
                }
            }
            Step::Do(Op::Write(k)) => {
                if self.txns[t].writes.contains(&k) {
                    return;
                }
                let snapshot = self.txns[t].snapshot;
                let write_conflict = (0..self.txns.len()).any(|u| {
                    u != t
                        && self.txns[u].writes.contains(&k)
                        && match self.txns[u].status {
                            Status::Running | Status::Prepared => true,
                            Status::Committed(seq) => seq > snapshot,
                            Status::NotStarted | Status::Aborted => false,
                        }
                });
                if write_conflict {
                    return self.abort(t);
                }
                self.intents.put(key(k).to_vec(), id, Some(Vec::new()));
                self.txns[t].writes.insert(k);
                if self.tracker.on_write(id, &key(k)).is_err() {
                    self.abort(t);
                }
            }
            Step::Prepare => match self.tracker.prepare_commit(id) {
                Ok(()) => self.txns[t].status = Status::Prepared,
                Err(_) => self.abort(t),
            },
            Step::WriteBatch => {
                // As in the engine, a transaction without writes commits
                // at the store's last seq instead of taking a new one.
                if !self.txns[t].writes.is_empty() {
                    self.commits += 1;
                }
                self.txns[t].status = Status::Committed(self.commits);
            }
            Step::Notify => {
                if let Some(seq) = self.commit_seq(t) {
                    let written: Vec<Vec<u8>> = self.txns[t]
                        .writes
                        .iter()
                        .map(|&k| key(k).to_vec())
                        .collect();
                    self.tracker.committed(id, seq, &written);
                    self.remove_intents(t);
                }
            }
        }
    }
}

fn script(plan: &Plan) -> Vec<Step> {
    let mut steps = vec![Step::Begin];
    steps.extend(plan.ops.iter().copied().map(Step::Do));
    steps.extend([Step::Prepare, Step::WriteBatch, Step::Notify]);
    steps
}

/// Runs the schedule; returns the finished run.
fn run(plans: Vec<Plan>, choices: &[u8]) -> Run {
    let scripts: Vec<Vec<Step>> = plans.iter().map(script).collect();
    let mut next = vec![0usize; plans.len()];
    let intents = Arc::new(IntentTable::default());
    let mut run = Run {
        tracker: SsiTracker::new(Arc::clone(&intents)),
        intents,
        txns: plans
            .into_iter()
            .map(|plan| Model {
                plan,
                status: Status::NotStarted,
                snapshot: 0,
                writes: BTreeSet::new(),
                reads: Vec::new(),
            })
            .collect(),
        commits: 0,
    };
    for turn in 0.. {
        let ready: Vec<usize> = (0..scripts.len())
            .filter(|&t| next[t] < scripts[t].len() && run.txns[t].status != Status::Aborted)
            .collect();
        if ready.is_empty() {
            break;
        }
        let choice = choices
            .get(turn % choices.len().max(1))
            .copied()
            .unwrap_or(0);
        let t = ready[usize::from(choice) % ready.len()];
        run.step(t, scripts[t][next[t]]);
        next[t] += 1;
    }
    run
}

/// Edges of the direct serialization graph among committed transactions.
fn serialization_graph(run: &Run) -> Vec<(usize, usize)> {
    let committed: Vec<usize> = (0..run.txns.len())
        .filter(|&t| run.commit_seq(t).is_some())
        .collect();
    let seq = |t: usize| run.commit_seq(t).unwrap_or(SeqNo::MAX);
    let mut edges = Vec::new();
    for &a in &committed {
        for &b in &committed {
            if a == b {
                continue;
            }
            let ww = run.txns[a]
                .writes
                .iter()
                .any(|k| run.txns[b].writes.contains(k))
                && seq(a) < seq(b);
            let wr = run.txns[b].reads.iter().any(|&(_, seen)| seen == Some(a));
            // a read a version of k older than b's: b's write is later.
            let rw = run.txns[a].reads.iter().any(|&(k, seen)| {
                run.txns[b].writes.contains(&k) && seen.is_none_or(|w| seq(w) < seq(b))
            });
            if ww || wr || rw {
                edges.push((a, b));
            }
        }
    }
    edges
}

fn has_cycle(nodes: usize, edges: &[(usize, usize)]) -> bool {
    // Kahn's algorithm: a cycle leaves nodes with incoming edges.
    let mut indegree = vec![0usize; nodes];
    for &(_, b) in edges {
        indegree[b] += 1;
    }
    let mut ready: Vec<usize> = (0..nodes).filter(|&n| indegree[n] == 0).collect();
    let mut removed = 0;
    while let Some(n) = ready.pop() {
        removed += 1;
        for &(a, b) in edges {
            if a == n {
                indegree[b] -= 1;
                if indegree[b] == 0 {
                    ready.push(b);
                }
            }
        }
    }
    removed < nodes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn committed_transactions_are_serializable(
        plans in plans(),
        choices in prop::collection::vec(any::<u8>(), 1..40),
    ) {
        let run = run(plans, &choices);
        let edges = serialization_graph(&run);
        prop_assert!(
            !has_cycle(run.txns.len(), &edges),
            "cycle among committed transactions: {:?}\n{:#?}",
            edges,
            run.txns
        );
        // Everything finished: nothing may stay behind.
        prop_assert_eq!(run.tracker.stats(), Default::default());
    }

    /// Transactions that touch only their own key never conflict.
    #[test]
    fn disjoint_transactions_never_abort(
        plans in plans(),
        choices in prop::collection::vec(any::<u8>(), 1..40),
    ) {
        let plans: Vec<Plan> = plans
            .into_iter()
            .enumerate()
            .map(|(t, plan)| {
                let own = t as u8;
                let ops = plan
                    .ops
                    .into_iter()
                    .map(|op| match op {
                        Op::Read(_) => Op::Read(own),
                        Op::Write(_) => Op::Write(own),
                        Op::Scan(..) => Op::Scan(own, own),
                    })
                    .collect();
                Plan { ops, ..plan }
            })
            .collect();
        let run = run(plans, &choices);
        for (t, txn) in run.txns.iter().enumerate() {
            prop_assert!(run.commit_seq(t).is_some(), "T{} aborted: {:#?}", t, txn);
        }
    }
}
