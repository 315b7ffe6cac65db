//! Property tests of the isolation levels: random schedules of small
//! transactions, run deterministically on one thread, checked against what
//! each level promises.
//!
//! A schedule has 2–4 transactions of 1–4 operations each over the keys k0,
//! k1, k2 (k0 and k2 exist at the start, k1 does not, so writes to k1 are
//! inserts and scans can see phantoms): read a key, write a key, scan a small
//! range. The interleaving is part of the schedule. Every written value is
//! unique (`T2.1` = transaction 2's operation 1), so each read names its
//! writer. A write that would wait for a lock fails after 1 ms (55P03) and,
//! like 40001, aborts its transaction; the rest of it is skipped.
//!
//! Checked on each history:
//!
//! - at every level, each read returns exactly what the level's model says:
//!   READ UNCOMMITTED the newest write (uncommitted ones included), READ
//!   COMMITTED the newest committed write at that statement, REPEATABLE READ
//!   and SERIALIZABLE the committed state when the transaction began — each
//!   with the transaction's own writes laid over it;
//! - at every level but READ UNCOMMITTED, no committed transaction read a
//!   value written by a transaction that aborted or had not yet committed;
//! - at REPEATABLE READ and SERIALIZABLE, each transaction's reads are
//!   explained by one prefix of the commit order (one snapshot);
//! - at SERIALIZABLE, some serial order of the committed transactions
//!   reproduces every read they did (brute force over the permutations).
//!
//! A failure prints the shrunk schedule, one step per line, and its history.

mod common;

use std::collections::BTreeMap;
use std::fmt;

use isodb_engine::txn::{Engine, IsolationLevel, Keyspace, Transaction};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const KEYS: u8 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Read(u8),
    Write(u8),
    /// Keys lo..=hi.
    Scan(u8, u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Op(usize, Op),
    Commit,
    Rollback,
}

/// A schedule: the transactions' operations, interleaved.
#[derive(Clone)]
struct Schedule {
    /// `(transaction index, step)` in execution order.
    steps: Vec<(usize, Step)>,
    txns: usize,
}

fn key_name(k: u8) -> String {
    format!("k{k}")
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "schedule of {} transactions:", self.txns)?;
        for (t, step) in &self.steps {
            let what = match step {
                Step::Op(_, Op::Read(k)) => format!("read {}", key_name(*k)),
                Step::Op(j, Op::Write(k)) => {
                    format!("write {} = {}", key_name(*k), value_of(*t, *j))
                }
                Step::Op(_, Op::Scan(lo, hi)) => {
                    format!("scan {}..={}", key_name(*lo), key_name(*hi))
                }
                Step::Commit => "commit".into(),
                Step::Rollback => "rollback".into(),
            };
            writeln!(f, "    T{}: {what}", t + 1)?;
        }
        Ok(())
    }
}

fn value_of(t: usize, j: usize) -> String {
    format!("T{}.{j}", t + 1)
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..KEYS).prop_map(Op::Read),
        (0..KEYS).prop_map(Op::Write),
        (0..KEYS, 0..KEYS).prop_map(|(a, b)| Op::Scan(a.min(b), a.max(b))),
    ]
}

fn schedule_strategy() -> impl Strategy<Value = Schedule> {
    let txn = (
        proptest::collection::vec(op_strategy(), 1..=4),
        prop::bool::weighted(0.85),
    );
    proptest::collection::vec(txn, 2..=4)
        .prop_flat_map(|txns| {
            let total: usize = txns.iter().map(|(ops, _)| ops.len() + 1).sum();
            (Just(txns), proptest::collection::vec(0..4usize, total))
        })
        .prop_map(|(txns, choices)| {
            // Each choice picks one of the transactions with steps left;
            // choices shrink to 0, which runs the transactions one by one.
            let mut plans: Vec<Vec<Step>> = txns
                .iter()
                .map(|(ops, commit)| {
                    let mut steps: Vec<Step> = ops
                        .iter()
                        .enumerate()
                        .map(|(j, op)| Step::Op(j, *op))
                        .collect();
                    steps.push(if *commit {
                        Step::Commit
                    } else {
                        Step::Rollback
                    });
                    steps.reverse();
                    steps
                })
                .collect();
            let mut steps = Vec::new();
            for choice in choices {
                let live: Vec<usize> = (0..plans.len()).filter(|&t| !plans[t].is_empty()).collect();
                let t = live[choice % live.len()];
                steps.push((t, plans[t].pop().expect("live transaction has a step")));
            }
            Schedule {
                steps,
                txns: txns.len(),
            }
        })
}

/// What one executed operation saw.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Read(u8, Option<String>),
    Scan(u8, u8, Vec<(u8, String)>),
    Wrote(u8, String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    NotStarted,
    Active,
    Committed,
    Aborted,
}

/// The history of one run.
#[derive(Debug)]
struct History {
    /// Per transaction: `(step index, what it saw)` for each successful operation.
    seen: Vec<Vec<(usize, Seen)>>,
    status: Vec<Status>,
    begun_at: Vec<usize>,
    /// Step at which each transaction committed or aborted.
    ended_at: Vec<usize>,
    /// Why each aborted transaction aborted (SQLSTATE), or "rollback".
    why: Vec<&'static str>,
}

type State = BTreeMap<u8, String>;

fn initial_state() -> State {
    State::from([(0, "init".to_string()), (2, "init".to_string())])
}

fn stored_key(k: u8) -> Vec<u8> {
    key_name(k).into_bytes()
}

fn reset(engine: &Engine, ks: Keyspace) {
    let mut txn = engine.begin(IsolationLevel::ReadCommitted);
    for k in 0..KEYS {
        match initial_state().get(&k) {
            Some(v) => txn.put(ks, &stored_key(k), v.as_bytes()),
            None => txn.delete(ks, &stored_key(k)),
        }
        .expect("reset");
    }
    txn.commit().expect("reset commit");
}

fn run_op(
    txn: &mut Transaction,
    ks: Keyspace,
    t: usize,
    j: usize,
    op: Op,
) -> isodb_engine::Result<Seen> {
    let text = |v: Vec<u8>| String::from_utf8(v).expect("utf8 value");
    Ok(match op {
        Op::Read(k) => Seen::Read(k, txn.get(ks, &stored_key(k))?.map(text)),
        Op::Write(k) => {
            let value = value_of(t, j);
            txn.put(ks, &stored_key(k), value.as_bytes())?;
            Seen::Wrote(k, value)
        }
        Op::Scan(lo, hi) => {
            let (lo_key, hi_key) = (stored_key(lo), stored_key(hi));
            let mut rows = Vec::new();
            for row in txn.scan(
                ks,
                (
                    std::ops::Bound::Included(&lo_key[..]),
                    std::ops::Bound::Included(&hi_key[..]),
                ),
            )? {
                let (key, value) = row?;
                let k = key[1] - b'0';
                rows.push((k, text(value)));
            }
            Seen::Scan(lo, hi, rows)
        }
    })
}

fn execute(
    engine: &Engine,
    ks: Keyspace,
    level: IsolationLevel,
    schedule: &Schedule,
) -> Result<History, TestCaseError> {
    reset(engine, ks);
    let n = schedule.txns;
    let mut txns: Vec<Option<Transaction>> = (0..n).map(|_| None).collect();
    let mut h = History {
        seen: vec![Vec::new(); n],
        status: vec![Status::NotStarted; n],
        begun_at: vec![0; n],
        ended_at: vec![usize::MAX; n],
        why: vec![""; n],
    };
    for (i, &(t, step)) in schedule.steps.iter().enumerate() {
        match h.status[t] {
            Status::Committed | Status::Aborted => continue,
            Status::NotStarted => {
                let mut txn = engine.begin(level);
                txn.set_lock_timeout(Some(std::time::Duration::from_millis(1)));
                txns[t] = Some(txn);
                h.status[t] = Status::Active;
                h.begun_at[t] = i;
            }
            Status::Active => {}
        }
        let mut txn = txns[t].take().expect("active transaction");
        txn.new_statement();
        let result = match step {
            Step::Op(j, op) => run_op(&mut txn, ks, t, j, op).map(|seen| {
                h.seen[t].push((i, seen));
                txns[t] = Some(txn);
            }),
            Step::Commit => txn.commit().map(|_| {
                h.status[t] = Status::Committed;
                h.ended_at[t] = i;
            }),
            Step::Rollback => txn.rollback().map(|_| {
                h.status[t] = Status::Aborted;
                h.ended_at[t] = i;
                h.why[t] = "rollback";
            }),
        };
        if let Err(e) = result {
            if !e.is_retryable() {
                return Err(TestCaseError::fail(format!(
                    "T{}: unexpected error {e}",
                    t + 1
                )));
            }
            // The transaction (if not consumed by commit) is dropped: aborted.
            txns[t] = None;
            h.status[t] = Status::Aborted;
            h.ended_at[t] = i;
            h.why[t] = e.sqlstate();
        }
    }
    Ok(h)
}

/// Replays `seen` over `state` (own writes applied as they happen); false at
/// the first read that does not match.
fn replays(seen: &[(usize, Seen)], state: &mut State) -> bool {
    for (_, s) in seen {
        match s {
            Seen::Read(k, v) => {
                if state.get(k) != v.as_ref() {
                    return false;
                }
            }
            Seen::Scan(lo, hi, rows) => {
                let expected: Vec<(u8, String)> =
                    state.range(lo..=hi).map(|(k, v)| (*k, v.clone())).collect();
                if &expected != rows {
                    return false;
                }
            }
            Seen::Wrote(k, v) => {
                state.insert(*k, v.clone());
            }
        }
    }
    true
}

/// Committed transactions in commit order.
fn commit_order(h: &History) -> Vec<usize> {
    let mut order: Vec<usize> = (0..h.status.len())
        .filter(|&t| h.status[t] == Status::Committed)
        .collect();
    order.sort_by_key(|&t| h.ended_at[t]);
    order
}

fn writes_of(h: &History, t: usize) -> impl Iterator<Item = (u8, String)> + '_ {
    h.seen[t].iter().filter_map(|(_, s)| match s {
        Seen::Wrote(k, v) => Some((*k, v.clone())),
        _ => None,
    })
}

/// The committed state just before step `at`.
fn committed_before(h: &History, at: usize) -> State {
    let mut state = initial_state();
    for t in commit_order(h) {
        if h.ended_at[t] < at {
            state.extend(writes_of(h, t));
        }
    }
    state
}

/// What the level's model says `t`'s operation at step `at` must see (before own writes).
fn model_state(level: IsolationLevel, h: &History, t: usize, at: usize) -> State {
    match level {
        IsolationLevel::ReadUncommitted => {
            let mut state = committed_before(h, at);
            // Uncommitted writes of other transactions still open at `at`.
            for u in (0..h.status.len()).filter(|&u| u != t && h.ended_at[u] > at) {
                for (step, s) in &h.seen[u] {
                    if let (true, Seen::Wrote(k, v)) = (*step < at, s) {
                        state.insert(*k, v.clone());
                    }
                }
            }
            state
        }
        IsolationLevel::ReadCommitted => committed_before(h, at),
        _ => committed_before(h, h.begun_at[t]),
    }
}

fn check(level: IsolationLevel, h: &History) -> Result<(), String> {
    let n = h.status.len();
    // 1. Every read is what the level's model says.
    for t in 0..n {
        let mut own = State::new();
        for (i, (at, s)) in h.seen[t].iter().enumerate() {
            let mut state = model_state(level, h, t, *at);
            state.extend(own.clone());
            if !replays(&h.seen[t][i..=i], &mut state) {
                return Err(format!(
                    "T{}'s {s:?} (step {at}) is not what {level} should see: expected {state:?} (own writes included)",
                    t + 1
                ));
            }
            if let Seen::Wrote(k, v) = s {
                own.insert(*k, v.clone());
            }
        }
    }
    // 2. No committed transaction read an aborted or uncommitted write.
    if level != IsolationLevel::ReadUncommitted {
        for t in (0..n).filter(|&t| h.status[t] == Status::Committed) {
            for (at, s) in &h.seen[t] {
                let values: Vec<&String> = match s {
                    Seen::Read(_, Some(v)) => vec![v],
                    Seen::Scan(_, _, rows) => rows.iter().map(|(_, v)| v).collect(),
                    _ => vec![],
                };
                for v in values.into_iter().filter(|v| *v != "init") {
                    let writer: usize = v[1..v.find('.').expect("value names its writer")]
                        .parse::<usize>()
                        .expect("writer")
                        - 1;
                    let ok = writer == t
                        || (h.status[writer] == Status::Committed && h.ended_at[writer] < *at);
                    if !ok {
                        return Err(format!(
                            "committed T{} read {v} at step {at}, but T{} was {:?} (ended at step {})",
                            t + 1,
                            writer + 1,
                            h.status[writer],
                            h.ended_at[writer]
                        ));
                    }
                }
            }
        }
    }
    // 3. One snapshot per transaction: a prefix of the commit order explains its reads.
    if level >= IsolationLevel::RepeatableRead {
        let order = commit_order(h);
        for t in (0..n).filter(|&t| h.status[t] != Status::NotStarted) {
            let others: Vec<usize> = order.iter().copied().filter(|&u| u != t).collect();
            let explained = (0..=others.len()).any(|p| {
                let mut state = initial_state();
                for &u in &others[..p] {
                    state.extend(writes_of(h, u));
                }
                replays(&h.seen[t], &mut state)
            });
            if !explained {
                return Err(format!("T{}'s reads come from no single snapshot", t + 1));
            }
        }
    }
    // 4. Serializable: some serial order of the committed transactions reproduces every read.
    if level == IsolationLevel::Serializable {
        let committed = commit_order(h);
        let serial = permutations(&committed).into_iter().any(|perm| {
            let mut state = initial_state();
            perm.iter().all(|&t| replays(&h.seen[t], &mut state))
        });
        if !serial {
            return Err(format!(
                "no serial order of the committed transactions {:?} reproduces their reads",
                committed
                    .iter()
                    .map(|t| format!("T{}", t + 1))
                    .collect::<Vec<_>>()
            ));
        }
    }
    Ok(())
}

fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, first);
            out.push(p);
        }
    }
    out
}

fn describe(h: &History) -> String {
    let mut out = String::new();
    for t in 0..h.status.len() {
        out.push_str(&format!(
            "  T{}: {:?}{} (began at step {}, ended at step {})\n",
            t + 1,
            h.status[t],
            if h.why[t].is_empty() {
                String::new()
            } else {
                format!(" [{}]", h.why[t])
            },
            h.begun_at[t],
            h.ended_at[t]
        ));
        for (at, s) in &h.seen[t] {
            out.push_str(&format!("      step {at}: {s:?}\n"));
        }
    }
    out
}

fn check_level(level: IsolationLevel) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = common::open_fast(dir.path());
    let ks = engine.keyspace("props").expect("keyspace");
    let cases: u32 = std::env::var("ISODB_PROP_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    });
    let aborted = std::cell::Cell::new(0usize);
    let committed = std::cell::Cell::new(0usize);
    let runs = std::cell::Cell::new(0u64);
    let result = runner.run(&schedule_strategy(), |schedule| {
        // Every case rewrites the same three keys; compacting now and then
        // keeps scans from wading through thousands of dead versions.
        runs.set(runs.get() + 1);
        if runs.get().is_multiple_of(250) {
            engine.store().compact().expect("compact");
        }
        let h = execute(&engine, ks, level, &schedule)?;
        aborted.set(aborted.get() + h.status.iter().filter(|s| **s == Status::Aborted).count());
        committed
            .set(committed.get() + h.status.iter().filter(|s| **s == Status::Committed).count());
        check(level, &h)
            .map_err(|why| TestCaseError::fail(format!("{why}\nhistory:\n{}", describe(&h))))
    });
    let (committed, aborted) = (committed.get(), aborted.get());
    eprintln!("{level}: {committed} transactions committed, {aborted} aborted or rolled back");
    if let Err(e) = result {
        panic!("{level}: {e}");
    }
    assert!(
        committed > 0,
        "no transaction ever committed: the test proved nothing"
    );
}

#[test]
fn read_uncommitted_reads_the_newest_writes() {
    check_level(IsolationLevel::ReadUncommitted);
}

#[test]
fn read_committed_reads_only_committed_data() {
    check_level(IsolationLevel::ReadCommitted);
}

#[test]
fn repeatable_read_reads_one_snapshot() {
    check_level(IsolationLevel::RepeatableRead);
}

#[test]
fn serializable_histories_are_serial() {
    check_level(IsolationLevel::Serializable);
}
