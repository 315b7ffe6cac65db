//! [`SessionWorker`]: one named [`isodb::Session`] on a thread of its own,
//! so a statement that waits for a lock blocks that thread and not the
//! shell.
//!
//! ```text
//!   shell ──submit(sql)──► worker thread ── session.query(sql) ──┐
//!     │                                                         │
//!     ├─ ticket.wait(100 ms) ◄──────────── outcome ──────────────┤ (finished in time)
//!     └─ ticket.detach(outbox): the statement waits for a lock;   │
//!        the shell returns to the prompt ◄── outbox ◄─────────────┘ (finished later)
//! ```
//!
//! The worker publishes a [`SessionStatus`] after every statement: the
//! transaction state (`Session::transaction_state`), the effective
//! isolation level and the engine id of the open block's transaction
//! (`Session::transaction_id`). While a statement runs, the session's
//! [`CancelHandle`] tells which engine transaction it is running, so the
//! shell can see it among the waiters of `Engine::locks()` and cancel the
//! wait.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use isodb::{CancelHandle, Database, Error, IsolationLevel, Rows, Session, TransactionState};

/// An engine transaction id.
pub type TxnId = u64;

/// Where a session is in its transaction state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnState {
    /// Autocommit: no block is open.
    Idle,
    /// Inside BEGIN ... COMMIT.
    InTransaction,
    /// A statement failed in the block; only ROLLBACK helps (25P02).
    Failed,
}

impl TxnState {
    /// The word the prompt shows.
    pub fn label(self) -> &'static str {
        match self {
            TxnState::Idle => "idle",
            TxnState::InTransaction => "in txn",
            TxnState::Failed => "aborted",
        }
    }
}

/// A statement the worker is running right now.
#[derive(Debug, Clone)]
pub struct Running {
    /// Its text.
    pub sql: String,
    /// When it started.
    pub started: Instant,
}

/// What the shell knows about a session between statements.
#[derive(Debug, Clone)]
pub struct SessionStatus {
    /// The level of the open block, or the session default when idle.
    pub level: IsolationLevel,
    /// The transaction state.
    pub state: TxnState,
    /// The engine transaction of the open block, when known.
    pub block_txn: Option<TxnId>,
    /// The statement in progress, if any.
    pub running: Option<Running>,
}

/// The result of one statement, labelled with its session.
#[derive(Debug)]
pub struct Outcome {
    /// The session that ran it.
    pub session: String,
    /// The statement.
    pub sql: String,
    /// Its rows (or command result) or its error.
    pub result: Result<Rows, Error>,
    /// How long it took, lock waits included.
    pub elapsed: Duration,
    /// The ticket number, for callers that match outcomes to statements.
    pub ticket: u64,
    /// True when the statement succeeded but ended a failed block: a COMMIT
    /// there rolls back (PostgreSQL's behaviour), and the shell says so.
    pub rolled_back: bool,
}

/// Outcomes of statements that finished after the shell stopped waiting for
/// them, in the order they finished.
#[derive(Debug, Default)]
pub struct Outbox {
    state: Mutex<OutboxState>,
    arrived: Condvar,
}

#[derive(Debug, Default)]
struct OutboxState {
    outcomes: VecDeque<Outcome>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Outbox {
    /// Adds a finished outcome and wakes whoever waits for one.
    pub fn push(&self, outcome: Outcome) {
        lock(&self.state).outcomes.push_back(outcome);
        self.arrived.notify_all();
    }

    /// Takes every outcome that has arrived.
    pub fn drain(&self) -> Vec<Outcome> {
        lock(&self.state).outcomes.drain(..).collect()
    }

    /// Waits up to `timeout` for an outcome to arrive (it stays queued).
    pub fn wait(&self, timeout: Duration) {
        let state = lock(&self.state);
        if state.outcomes.is_empty() {
            let _ = self.arrived.wait_timeout(state, timeout);
        }
    }
}

/// The claim on one submitted statement's outcome.
#[derive(Debug)]
pub struct Ticket {
    number: u64,
    slot: Mutex<TicketSlot>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct TicketSlot {
    outcome: Option<Outcome>,
    detached: Option<Arc<Outbox>>,
    finished: bool,
}

impl Ticket {
    /// Waits up to `timeout` and takes the outcome if it is there.
    pub fn wait(&self, timeout: Duration) -> Option<Outcome> {
        let mut slot = lock(&self.slot);
        if slot.outcome.is_none() && !slot.finished {
            slot = self
                .done
                .wait_timeout(slot, timeout)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
        slot.outcome.take()
    }

    /// Stops waiting: the outcome will go to `outbox`. Returns it instead
    /// if it arrived in the meantime.
    pub fn detach(&self, outbox: Arc<Outbox>) -> Option<Outcome> {
        let mut slot = lock(&self.slot);
        if slot.outcome.is_none() {
            slot.detached = Some(outbox);
        }
        slot.outcome.take()
    }

    /// True once the statement has finished (its outcome delivered).
    pub fn is_finished(&self) -> bool {
        lock(&self.slot).finished
    }

    fn finish(&self, outcome: Outcome) {
        let mut slot = lock(&self.slot);
        match slot.detached.take() {
            Some(outbox) => outbox.push(outcome),
            None => slot.outcome = Some(outcome),
        }
        slot.finished = true;
        self.done.notify_all();
    }
}

enum Command {
    Run { sql: String, ticket: Arc<Ticket> },
    SetLevel(IsolationLevel),
}

/// A named session running on its own thread.
#[derive(Debug)]
pub struct SessionWorker {
    name: String,
    commands: Mutex<Option<Sender<Command>>>,
    status: Arc<Mutex<SessionStatus>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    next_ticket: Mutex<u64>,
    cancel: CancelHandle,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Run { sql, .. } => write!(f, "Run({sql:?})"),
            Command::SetLevel(level) => write!(f, "SetLevel({level})"),
        }
    }
}

fn parse_level(rows: &Rows) -> Option<IsolationLevel> {
    rows.first()
        .and_then(|row| row.get::<String>(0).ok())
        .and_then(|text| text.parse().ok())
}

/// The worker thread's loop: runs commands until the shell hangs up.
fn serve(
    name: String,
    mut session: Session,
    commands: Receiver<Command>,
    status: Arc<Mutex<SessionStatus>>,
) {
    while let Ok(command) = commands.recv() {
        let (sql, ticket) = match command {
            Command::SetLevel(level) => {
                session.set_isolation_level(level);
                let mut status = lock(&status);
                if status.state == TxnState::Idle {
                    status.level = level;
                }
                continue;
            }
            Command::Run { sql, ticket } => (sql, ticket),
        };
        let started = Instant::now();
        lock(&status).running = Some(Running {
            sql: sql.clone(),
            started,
        });
        let failed_before = session.transaction_state() == TransactionState::Failed;
        let result = session.query(sql.as_str(), &[]);
        let elapsed = started.elapsed();
        let state = match session.transaction_state() {
            TransactionState::Idle => TxnState::Idle,
            TransactionState::InTransaction => TxnState::InTransaction,
            TransactionState::Failed => TxnState::Failed,
        };
        // Inside a block the block's own level counts; a failed block
        // refuses SHOW (25P02) and keeps the level it had.
        let level = match state {
            TxnState::InTransaction => session
                .query("SHOW TRANSACTION ISOLATION LEVEL", &[])
                .ok()
                .as_ref()
                .and_then(parse_level)
                .unwrap_or(session.isolation_level()),
            TxnState::Failed => {
                let before = lock(&status);
                if before.state == TxnState::Idle {
                    session.isolation_level()
                } else {
                    before.level
                }
            }
            TxnState::Idle => session.isolation_level(),
        };
        {
            let mut status = lock(&status);
            status.block_txn = session.transaction_id();
            status.state = state;
            status.level = level;
            status.running = None;
        }
        let rolled_back = failed_before && result.is_ok() && state == TxnState::Idle;
        ticket.finish(Outcome {
            session: name.clone(),
            sql,
            result,
            elapsed,
            ticket: ticket.number,
            rolled_back,
        });
    }
}

impl SessionWorker {
    /// Starts a session called `name` on a new thread.
    pub fn spawn(name: &str, db: &Database) -> std::io::Result<SessionWorker> {
        let session = db.session();
        let cancel = session.cancel_handle();
        let status = Arc::new(Mutex::new(SessionStatus {
            level: session.isolation_level(),
            state: TxnState::Idle,
            block_txn: None,
            running: None,
        }));
        let (sender, receiver) = mpsc::channel();
        let thread_status = Arc::clone(&status);
        let thread_name = name.to_string();
        let thread = std::thread::Builder::new()
            .name(format!("session {name}"))
            .spawn(move || serve(thread_name, session, receiver, thread_status))?;
        Ok(SessionWorker {
            name: name.to_string(),
            commands: Mutex::new(Some(sender)),
            status,
            thread: Mutex::new(Some(thread)),
            next_ticket: Mutex::new(0),
            cancel,
        })
    }

    /// The session's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A copy of the session's current status.
    pub fn status(&self) -> SessionStatus {
        lock(&self.status).clone()
    }

    /// How many statements have been submitted so far.
    pub fn tickets_issued(&self) -> u64 {
        *lock(&self.next_ticket)
    }

    /// Queues `sql` (one statement) and returns the claim on its outcome.
    pub fn submit(&self, sql: &str) -> Arc<Ticket> {
        let number = {
            let mut next = lock(&self.next_ticket);
            *next += 1;
            *next
        };
        let ticket = Arc::new(Ticket {
            number,
            slot: Mutex::new(TicketSlot::default()),
            done: Condvar::new(),
        });
        let command = Command::Run {
            sql: sql.to_string(),
            ticket: Arc::clone(&ticket),
        };
        let sent = lock(&self.commands)
            .as_ref()
            .map(|sender| sender.send(command).is_ok())
            .unwrap_or(false);
        if !sent {
            ticket.finish(Outcome {
                session: self.name.clone(),
                sql: sql.to_string(),
                result: Err(Error::InvalidTransactionState(format!(
                    "session {} has stopped",
                    self.name
                ))),
                elapsed: Duration::ZERO,
                ticket: number,
                rolled_back: false,
            });
        }
        ticket
    }

    /// The engine transaction the session is running now (its block's, or
    /// the running statement's own), if any.
    pub fn current_txn(&self) -> Option<TxnId> {
        self.cancel.transaction_id()
    }

    /// Ends the session's lock wait, if it waits (the statement fails with
    /// 57014). True if a wait was ended.
    pub fn cancel_wait(&self) -> bool {
        self.cancel.cancel()
    }

    /// Sets the default isolation level of the session's next transactions.
    pub fn set_level(&self, level: IsolationLevel) {
        if let Some(sender) = lock(&self.commands).as_ref() {
            let _ = sender.send(Command::SetLevel(level));
        }
        let mut status = lock(&self.status);
        if status.state == TxnState::Idle {
            status.level = level;
        }
    }

    /// Hangs up and, when `wait` is set, joins the thread (its open
    /// transaction is rolled back when the session drops).
    pub fn stop(&self, wait: bool) {
        lock(&self.commands).take();
        if wait && let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_runs_statements_and_tracks_its_block_transaction() {
        let db = Database::open_temporary().expect("temporary database");
        let worker = SessionWorker::spawn("w", &db).expect("thread");
        let run = |sql: &str| {
            worker
                .submit(sql)
                .wait(Duration::from_secs(10))
                .expect("finishes")
        };
        assert!(run("create table t (id int primary key)").result.is_ok());
        assert_eq!(worker.status().state, TxnState::Idle);
        assert!(run("begin isolation level repeatable read").result.is_ok());
        let status = worker.status();
        assert_eq!(status.state, TxnState::InTransaction);
        assert_eq!(status.level, IsolationLevel::RepeatableRead);
        let active: Vec<TxnId> = db.cluster().transactions().iter().map(|t| t.id).collect();
        assert_eq!(status.block_txn.map(|id| vec![id]), Some(active));
        assert_eq!(worker.current_txn(), status.block_txn);
        let failed = run("select * from missing");
        assert_eq!(
            failed.result.map(|_| ()).map_err(|e| e.sqlstate()),
            Err("42P01")
        );
        assert_eq!(worker.status().state, TxnState::Failed);
        assert!(run("rollback").result.is_ok());
        assert_eq!(worker.status().state, TxnState::Idle);
        assert_eq!(worker.status().block_txn, None);
        worker.stop(true);
    }

    #[test]
    fn a_detached_outcome_goes_to_the_outbox() {
        let db = Database::open_temporary().expect("temporary database");
        let worker = SessionWorker::spawn("w", &db).expect("thread");
        let outbox = Arc::new(Outbox::default());
        let ticket = worker.submit("select 1");
        let early = ticket.detach(Arc::clone(&outbox));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ticket.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let delivered = early.into_iter().chain(outbox.drain()).count();
        assert_eq!(delivered, 1);
        worker.stop(true);
    }
}
