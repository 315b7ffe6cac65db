//! A client: one thread, one logical process, invoking transactions one after another and
//! recording what it learnt of each.
//!
//! ```text
//! invoke ─▶ BEGIN ─▶ gate, statement ─▶ gate, statement … ─▶ gate, COMMIT
//!    │         any statement error, or a crash noticed at a gate ─────────────▶ fail
//!    │         COMMIT ok, node still the same generation ─────────────────────▶ ok
//!    │         COMMIT ok or failed while the node crashed ────────────────────▶ info
//!    │         COMMIT 40001 / 40P01 ──────────────────────────────────────────▶ fail
//!    │         COMMIT 08006 (a shard unavailable: not committed) ─────────────▶ fail
//!    │         COMMIT 08007 (outcome unknown) ─────────────────────────────────▶ info
//!    └──────── COMMIT failed any other way (a bug unless a shard fault ───────▶ info
//!              overlapped the transaction)
//! ```
//!
//! A statement error before COMMIT always means `fail`: the transaction rolls back and its
//! COMMIT was never sent. Errors other than 40001, 40P01, any error once the node has crashed
//! (its store refuses writes, its lock waits are cancelled with 57014) and what the workload
//! expects (23505 for racing inserts) are bugs: they are listed in the run's results.
//! Only a COMMIT whose acknowledgement a crash could have swallowed is `info`. With several
//! shards a shard fault (crash, partition, message faults) leaves the node up: errors of a
//! transaction it overlapped ([`Node::shard_fault_since`]) are its doing, not bugs; 08006 at
//! COMMIT is a certain abort (presumed abort: no decision was written), 08007 an unknown
//! outcome.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use isodb::{IsolationLevel, Rows, Session, ToValue};
use rand::SeedableRng;
use rand::rngs::SmallRng;

use crate::history::{EventType, MicroOp, ProcessId};
use crate::run::node::{Crashed, Node};
use crate::run::recorder::Recorder;
use crate::run::workload::Workload;

/// Why a transaction's statements stopped.
#[derive(Debug)]
pub enum OpError {
    /// The database returned an error.
    Sql(isodb::Error),
    /// The node crashed; the transaction is gone.
    Crashed,
    /// The database answered something impossible (a missing row, unreadable data): a bug.
    Unexpected(String),
}

impl From<isodb::Error> for OpError {
    fn from(e: isodb::Error) -> Self {
        OpError::Sql(e)
    }
}

impl From<Crashed> for OpError {
    fn from(_: Crashed) -> Self {
        OpError::Crashed
    }
}

/// A transaction as a workload sees it: every statement passes the node's gate first.
pub struct Conn<'a, 's> {
    tx: &'a mut isodb::Transaction<'s>,
    node: &'a Node,
    generation: u64,
}

impl Conn<'_, '_> {
    /// Runs a statement that returns rows.
    pub fn query(&mut self, sql: &str, params: &[&dyn ToValue]) -> Result<Rows, OpError> {
        self.node.gate(self.generation)?;
        Ok(self.tx.query(sql, params)?)
    }

    /// Runs a statement and returns the number of rows it affected.
    pub fn execute(&mut self, sql: &str, params: &[&dyn ToValue]) -> Result<u64, OpError> {
        self.node.gate(self.generation)?;
        Ok(self.tx.execute_with(sql, params)?)
    }
}

/// What every client of a run shares.
pub struct ClientContext<'r> {
    /// The database under test.
    pub node: &'r Node,
    /// Where events go.
    pub recorder: &'r Recorder,
    /// What to run.
    pub workload: &'r dyn Workload,
    /// The isolation level of every transaction.
    pub level: IsolationLevel,
    /// When to stop invoking.
    pub deadline: Instant,
    /// Time between invocations of one client (`None`: back to back).
    pub pacing: Option<Duration>,
    /// Unexpected errors (bugs), as text.
    pub unexpected: &'r Mutex<Vec<String>>,
}

impl ClientContext<'_> {
    fn report_unexpected(&self, process: ProcessId, what: String) {
        let mut list = self.unexpected.lock().unwrap_or_else(|p| p.into_inner());
        if list.len() < 100 {
            list.push(format!("process {process}: {what}"));
        }
    }
}

/// Runs process `process` until the deadline.
pub fn run_client(context: &ClientContext<'_>, process: ProcessId, seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut connection: Option<(u64, Session)> = None;
    let mut next_start = Instant::now();
    while Instant::now() < context.deadline {
        if let Some(pacing) = context.pacing {
            let now = Instant::now();
            if next_start > now {
                std::thread::sleep(next_start - now);
            }
            next_start = next_start.max(now) + pacing;
        }
        if let Some((generation, session)) = connection.take() {
            if context.node.is_live(generation) {
                connection = Some((generation, session));
            } else {
                drop(session);
                context.node.disconnect(process, generation);
            }
        }
        if connection.is_none() {
            connection = context.node.connect(process);
        }
        let Some((generation, session)) = connection.as_mut() else {
            break;
        };
        let ops = context.workload.generate(&mut rng);
        let invocation = context.recorder.invoke(process, &ops);
        let (kind, txn) = attempt(context, process, session, *generation, &ops);
        context.recorder.complete(invocation, kind, &txn);
    }
    if let Some((generation, session)) = connection {
        drop(session);
        context.node.disconnect(process, generation);
    }
}

/// Runs one transaction and classifies its outcome.
fn attempt(
    context: &ClientContext<'_>,
    process: ProcessId,
    session: &mut Session,
    generation: u64,
    ops: &[MicroOp],
) -> (EventType, Vec<MicroOp>) {
    let node = context.node;
    let clock = node.fault_clock();
    if node.gate(generation).is_err() {
        return (EventType::Fail, ops.to_vec());
    }
    let mut tx = match session.transaction(context.level) {
        Ok(tx) => tx,
        Err(e) => {
            if node.is_live(generation) && !node.shard_fault_since(clock) {
                context.report_unexpected(process, format!("BEGIN failed: {e}"));
            }
            return (EventType::Fail, ops.to_vec());
        }
    };
    let mut completed = Vec::with_capacity(ops.len());
    let executed = {
        let mut conn = Conn {
            tx: &mut tx,
            node,
            generation,
        };
        context.workload.execute(&mut conn, ops, &mut completed)
    };
    if let Err(error) = executed {
        drop(tx); // rolls back: the COMMIT was never sent
        if let Some(bug) = unexpected_statement_error(context, &error, generation, clock) {
            context.report_unexpected(process, bug);
        }
        // What was attempted: its writes may have been seen (dirty reads) before the rollback.
        return (EventType::Fail, completed);
    }
    if node.gate(generation).is_err() {
        drop(tx);
        return (EventType::Fail, completed);
    }
    let committed = tx.commit();
    let live = node.is_live(generation);
    match committed {
        // The node crashed while the COMMIT was in flight: its acknowledgement is lost.
        _ if !live => (EventType::Info, completed),
        Ok(()) => (EventType::Ok, completed),
        Err(e) if e.is_serialization_or_deadlock() => (EventType::Fail, completed),
        // A shard could not take part: no commit decision was written (presumed abort).
        Err(e) if e.sqlstate() == "08006" => {
            if !node.shard_fault_since(clock) {
                context.report_unexpected(process, format!("COMMIT failed: 08006 {e}"));
            }
            (EventType::Fail, completed)
        }
        Err(e) => {
            if !node.shard_fault_since(clock) {
                context.report_unexpected(process, format!("COMMIT failed: {} {e}", e.sqlstate()));
            }
            (EventType::Info, completed)
        }
    }
}

/// `None` when `error` is an expected reason for a transaction to fail; otherwise the bug.
fn unexpected_statement_error(
    context: &ClientContext<'_>,
    error: &OpError,
    generation: u64,
    clock: u64,
) -> Option<String> {
    match error {
        OpError::Crashed => None,
        OpError::Sql(e) => {
            let state = e.sqlstate();
            // Once the node has crashed, any error is the crash's doing (the store refuses
            // writes after its power is cut; lock waits are cancelled with 57014); so is any
            // error of a transaction a shard fault overlapped.
            let expected = e.is_serialization_or_deadlock()
                || context.workload.expects_failure(state)
                || !context.node.is_live(generation)
                || context.node.shard_fault_since(clock);
            (!expected).then(|| format!("statement failed: {state} {e}"))
        }
        OpError::Unexpected(what) => Some(what.clone()),
    }
}
