//! Runs a [`Workload`] on isodb, one thread per session, and records what
//! the clients saw as a jepsen-lite [`History`]; and [`Guarantee`]: what the
//! history must satisfy at each isolation level.
//!
//! ```text
//!  session thread p      shared HistoryBuilder (one clock, real-time order)
//!  BEGIN ─────────────▶  invoke  p [r 1 _, append 1 3]
//!  SELECT / UPDATE ...   (reads parsed from the row text)
//!  COMMIT ok ─────────▶  ok      p [r 1 [2], append 1 3]
//!  40001 / ROLLBACK ──▶  fail    p [r 1 _, append 1 3]
//! ```
//!
//! The level to model map follows what isodb guarantees (engine/src/txn/mod.rs):
//!
//! | level | must satisfy |
//! | --- | --- |
//! | READ UNCOMMITTED | no G0, no internal inconsistency, duplicates or garbage |
//! | READ COMMITTED | jepsen-lite's read-committed: no G0, G1a, G1b, G1c |
//! | REPEATABLE READ | snapshot isolation: also no G-single, G-nonadjacent, lost update |
//! | SERIALIZABLE | serializable: no dependency cycle at all |
//!
//! READ UNCOMMITTED is checked by anomaly kinds rather than by jepsen-lite's
//! read-uncommitted model: its dirty reads may see elements of transactions
//! that later roll back, which jepsen-lite reports as aborted reads (G1a)
//! and, once other writers append to the same row, incompatible orders —
//! both allowed at that level. REPEATABLE READ is snapshot isolation, not
//! Adya's PL-2.99, so it may show G2-item (write skew).

use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use isodb::{Database, IsolationLevel, Value};
use jepsen_lite::anomaly::AnomalyKind;
use jepsen_lite::checker::CheckReport;
use jepsen_lite::history::{EventType, History, HistoryBuilder, MicroOp};
use jepsen_lite::models::Model;
use jepsen_lite::predicate::Predicate;

use crate::workload::{Op, Txn, Workload, parse_list, setup_sql};

/// What a level's histories must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarantee {
    /// None of these anomaly kinds may appear.
    NoneOf(&'static [AnomalyKind]),
    /// The jepsen-lite model must hold.
    Model(Model),
}

/// The anomalies READ UNCOMMITTED must never show.
pub const READ_UNCOMMITTED_FORBIDS: &[AnomalyKind] = &[
    AnomalyKind::G0,
    AnomalyKind::Internal,
    AnomalyKind::DuplicateElements,
    AnomalyKind::GarbageRead,
];

/// The guarantee of `level`.
pub fn guarantee(level: IsolationLevel) -> Guarantee {
    match level {
        IsolationLevel::ReadUncommitted => Guarantee::NoneOf(READ_UNCOMMITTED_FORBIDS),
        IsolationLevel::ReadCommitted => Guarantee::Model(Model::ReadCommitted),
        IsolationLevel::RepeatableRead => Guarantee::Model(Model::SnapshotIsolation),
        IsolationLevel::Serializable => Guarantee::Model(Model::Serializable),
    }
}

impl Guarantee {
    /// The anomalies in `report` that break the guarantee (empty: kept).
    pub fn violations(self, report: &CheckReport) -> Vec<String> {
        report
            .anomalies
            .iter()
            .filter(|a| match self {
                Guarantee::NoneOf(kinds) => kinds.contains(&a.kind),
                Guarantee::Model(model) => model.forbids(a.kind),
            })
            .map(|a| format!("{:?}: {}", a.kind, a.explanation))
            .collect()
    }
}

/// How long a session pauses before each statement of a transaction.
const STATEMENT_PAUSE: Duration = Duration::from_micros(300);

/// What a session does before each statement of a transaction.
struct Pause(Option<Arc<Barrier>>);

impl Pause {
    /// Racing: a short sleep lets the sessions' transactions overlap
    /// (without it the threads mostly take turns). Lockstep: wait for every
    /// session to get here.
    fn before_statement(&self) {
        match &self.0 {
            Some(barrier) => {
                barrier.wait();
            }
            None => std::thread::sleep(STATEMENT_PAUSE),
        }
    }

    /// In lockstep, takes part in a step without running a statement.
    fn skip_statement(&self) {
        if let Some(barrier) = &self.0 {
            barrier.wait();
        }
    }
}

/// The history every session thread records into (one clock for all).
type Recorder = Arc<Mutex<HistoryBuilder>>;

/// Runs `workload` at `level` on a fresh database, the sessions' threads
/// racing, and returns the history. Errors other than 40001/40P01 are
/// returned as `Err` (they are bugs).
pub fn run(workload: &Workload, level: IsolationLevel) -> Result<History, String> {
    run_with(workload, level, None)
}

/// Runs `workload` with the sessions in lockstep: every session runs its
/// n-th statement (and then its COMMIT or ROLLBACK) only after every session
/// has finished its (n-1)-th. A deterministic interleaving, for workloads of
/// one transaction per session, all of the same length, whose statements
/// never wait for each other's row locks (a lock wait would stall the
/// lockstep; that is the caller's to avoid). Other shapes are refused.
pub fn run_in_lockstep(workload: &Workload, level: IsolationLevel) -> Result<History, String> {
    let lengths: Vec<usize> = workload
        .sessions
        .iter()
        .map(|txns| match txns.as_slice() {
            [txn] => txn.ops.len(),
            _ => usize::MAX,
        })
        .collect();
    if lengths.contains(&usize::MAX) || lengths.windows(2).any(|w| w[0] != w[1]) {
        return Err(format!(
            "lockstep needs one transaction per session, all of one length; got:\n{workload}"
        ));
    }
    run_with(
        workload,
        level,
        Some(Arc::new(Barrier::new(workload.sessions.len()))),
    )
}

fn run_with(
    workload: &Workload,
    level: IsolationLevel,
    lockstep: Option<Arc<Barrier>>,
) -> Result<History, String> {
    let db = Database::open_temporary().map_err(|e| e.to_string())?;
    db.session()
        .execute(&setup_sql())
        .map_err(|e| e.to_string())?;
    let recorder: Recorder = Arc::new(Mutex::new(HistoryBuilder::new()));
    let start = Arc::new(Barrier::new(workload.sessions.len()));
    let threads: Vec<_> = workload
        .sessions
        .iter()
        .enumerate()
        .map(|(process, txns)| {
            let db = db.clone();
            let txns = txns.clone();
            let recorder = Arc::clone(&recorder);
            let start = Arc::clone(&start);
            let pause = Pause(lockstep.clone());
            std::thread::spawn(move || {
                start.wait();
                run_session(&db, level, process as u64, &txns, &recorder, &pause)
            })
        })
        .collect();
    let mut first_error = None;
    for thread in threads {
        let result = thread
            .join()
            .unwrap_or_else(|_| Err("a session thread panicked".to_string()));
        if let Err(e) = result {
            first_error.get_or_insert(e);
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let builder = recorder.lock().map_err(|e| e.to_string())?;
    builder.build().map_err(|e| e.to_string())
}

fn record(recorder: &Recorder, process: u64, kind: Option<EventType>, ops: Vec<MicroOp>) {
    if let Ok(mut builder) = recorder.lock() {
        match kind {
            None => builder.invoke(process, ops),
            Some(kind) => builder.complete(process, kind, ops),
        };
    }
}

/// The micro-ops of `txn` as invoked (reads without values).
fn invocation(txn: &Txn) -> Vec<MicroOp> {
    txn.ops
        .iter()
        .map(|op| match *op {
            Op::Read(k) => MicroOp::read_list(k, &[]),
            Op::Append(k, v) => MicroOp::append(k, v),
            Op::Scan => MicroOp::predicate_read(Predicate::default(), &[]),
            Op::Insert(k) => MicroOp::write(k, k),
        })
        .collect()
}

fn run_session(
    db: &Database,
    level: IsolationLevel,
    process: u64,
    txns: &[Txn],
    recorder: &Recorder,
    pause: &Pause,
) -> Result<(), String> {
    let mut session = db.session();
    session.set_isolation_level(level);
    for txn in txns {
        record(recorder, process, None, invocation(txn));
        match run_txn(&mut session, txn, pause)? {
            Some(ops) => record(recorder, process, Some(EventType::Ok), ops),
            None => record(recorder, process, Some(EventType::Fail), invocation(txn)),
        }
        std::thread::yield_now();
    }
    Ok(())
}

/// Runs one transaction; `Some(ops with read values)` if it committed,
/// `None` if it rolled back or was aborted with 40001/40P01.
fn run_txn(
    session: &mut isodb::Session,
    txn: &Txn,
    pause: &Pause,
) -> Result<Option<Vec<MicroOp>>, String> {
    let retryable = |e: isodb::Error, sql: &str| -> Result<(), String> {
        if e.is_serialization_or_deadlock() {
            Ok(())
        } else {
            Err(format!("{sql}: {} {e}", e.sqlstate()))
        }
    };
    session.execute("BEGIN").map_err(|e| e.to_string())?;
    let mut seen = Vec::with_capacity(txn.ops.len());
    for (index, op) in txn.ops.iter().enumerate() {
        pause.before_statement();
        let sql = op.sql();
        match session.query(sql.as_str(), &[]) {
            Ok(rows) => match *op {
                Op::Append(k, v) => seen.push(MicroOp::append(k, v)),
                Op::Read(k) => {
                    let values = rows.values();
                    let text = match values.first().and_then(|r| r.first()) {
                        Some(Value::Text(t)) => t.clone(),
                        other => {
                            return Err(format!("{sql}: expected one text row, got {other:?}"));
                        }
                    };
                    let list = parse_list(&text)
                        .ok_or_else(|| format!("{sql}: row text {text:?} is not a list"))?;
                    seen.push(MicroOp::read_list(k, &list));
                }
                Op::Insert(k) => seen.push(MicroOp::write(k, k)),
                Op::Scan => {
                    let mut found = Vec::new();
                    for row in rows.values() {
                        match row.as_slice() {
                            [Value::Integer(k), Value::Integer(v)] => found.push((*k, *v)),
                            other => return Err(format!("{sql}: unexpected row {other:?}")),
                        }
                    }
                    seen.push(MicroOp::predicate_read(Predicate::default(), &found));
                }
            },
            Err(e) => {
                retryable(e, &sql)?;
                session.execute("ROLLBACK").map_err(|e| e.to_string())?;
                // Keep step with the others: the statements left, and the end.
                for _ in index + 1..=txn.ops.len() {
                    pause.skip_statement();
                }
                return Ok(None);
            }
        }
    }
    pause.before_statement();
    if !txn.commit {
        session.execute("ROLLBACK").map_err(|e| e.to_string())?;
        return Ok(None);
    }
    match session.execute("COMMIT") {
        Ok(_) => Ok(Some(seen)),
        Err(e) => {
            retryable(e, "COMMIT")?;
            if session.in_transaction() {
                session.execute("ROLLBACK").map_err(|e| e.to_string())?;
            }
            Ok(None)
        }
    }
}
