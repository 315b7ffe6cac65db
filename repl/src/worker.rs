//! [`SessionWorker`]: one named shell session on a thread of its own, so
//! a statement that waits for a lock blocks that thread and not the shell.
//! The session is a [`Link`]: a local [`isodb::Session`], or a connection
//! to a server (`--connect`).
//!
//! ```text
//!   shell ──submit(sql)──► worker thread ── link.run(sql) ───────┐
//!     │                                                         │
//!     ├─ ticket.wait(100 ms) ◄──────────── outcome ──────────────┤ (finished in time)
//!     └─ ticket.detach(outbox): the statement waits for a lock;   │
//!        the shell returns to the prompt ◄── outbox ◄─────────────┘ (finished later)
//! ```
//!
//! The worker publishes a [`SessionStatus`] after every statement: the
//! transaction state, the effective isolation level and (locally) the
//! engine id of the open block's transaction (`Session::transaction_id`).
//! While a statement runs, the session's [`Canceller`] stops it from any
//! thread; locally it also tells which engine transaction the session is
//! running, so the shell can find it among the waiters of
//! `Engine::locks()`. Every session has a backend pid, by which a server
//! names who blocks whom (`pg_blocking_pids`).

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use isodb::IsolationLevel;

use crate::backend::Backend;
use crate::link::{Canceller, Link};
use crate::reply::{Failure, Reply};

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
    pub result: Result<Reply, Failure>,
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
    cancel: Canceller,
    backend_pid: i32,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Run { sql, .. } => write!(f, "Run({sql:?})"),
            Command::SetLevel(level) => write!(f, "SetLevel({level})"),
        }
    }
}

/// The worker thread's loop: runs commands until the shell hangs up.
fn serve(
    name: String,
    mut link: Link,
    commands: Receiver<Command>,
    status: Arc<Mutex<SessionStatus>>,
) {
    while let Ok(command) = commands.recv() {
        let (sql, ticket) = match command {
            Command::SetLevel(level) => {
                link.set_level(level);
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
        let failed_before = link.state() == TxnState::Failed;
        let result = link.run(&sql);
        let elapsed = started.elapsed();
        let state = link.state();
        let before = lock(&status).level;
        // Inside a block the block's own level counts; a failed block
        // refuses SHOW (25P02) and keeps the level it had.
        let level = match state {
            TxnState::InTransaction => link
                .block_level()
                .or_else(|| link.default_level())
                .unwrap_or(before),
            TxnState::Failed => {
                let was_idle = lock(&status).state == TxnState::Idle;
                if was_idle && let Link::Local(session) = &link {
                    session.isolation_level()
                } else {
                    before
                }
            }
            TxnState::Idle => link.default_level().unwrap_or(before),
        };
        {
            let mut status = lock(&status);
            status.block_txn = link.block_txn();
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
    /// Starts a session called `name` on a new thread (for a server, a
    /// new connection).
    pub fn spawn(name: &str, backend: &Backend) -> std::io::Result<SessionWorker> {
        let mut link = Link::open(backend).map_err(std::io::Error::other)?;
        let cancel = link.canceller();
        let backend_pid = link.backend_pid();
        let level = link
            .default_level()
            .unwrap_or_else(|| backend.default_level());
        let status = Arc::new(Mutex::new(SessionStatus {
            level,
            state: TxnState::Idle,
            block_txn: None,
            running: None,
        }));
        let (sender, receiver) = mpsc::channel();
        let thread_status = Arc::clone(&status);
        let thread_name = name.to_string();
        let thread = std::thread::Builder::new()
            .name(format!("session {name}"))
            .spawn(move || serve(thread_name, link, receiver, thread_status))?;
        Ok(SessionWorker {
            name: name.to_string(),
            commands: Mutex::new(Some(sender)),
            status,
            thread: Mutex::new(Some(thread)),
            next_ticket: Mutex::new(0),
            cancel,
            backend_pid,
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
                result: Err(Failure::new(
                    "25000",
                    format!("session {} has stopped", self.name),
                )),
                elapsed: Duration::ZERO,
                ticket: number,
                rolled_back: false,
            });
        }
        ticket
    }

    /// The engine transaction the local session is running now (its
    /// block's, or the running statement's own), if any.
    pub fn current_txn(&self) -> Option<TxnId> {
        self.cancel.transaction_id()
    }

    /// Cancels the session's running statement, wherever it is (its lock
    /// wait, a scan, a sort): it fails with 57014. True if one was running.
    pub fn cancel(&self) -> bool {
        let running = lock(&self.status).running.is_some();
        self.cancel.cancel(running)
    }

    /// The session's backend pid (`pg_backend_pid()`).
    pub fn backend_pid(&self) -> i32 {
        self.backend_pid
    }

    /// True when the session is a connection to a server.
    pub fn is_remote(&self) -> bool {
        matches!(self.cancel, Canceller::Remote(_))
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
        let db = isodb::Database::open_temporary().expect("temporary database");
        let worker = SessionWorker::spawn("w", &Backend::Local(db.clone())).expect("thread");
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
            failed.result.map(|_| ()).map_err(|e| e.sqlstate),
            Err("42P01".to_string())
        );
        assert_eq!(worker.status().state, TxnState::Failed);
        assert!(run("rollback").result.is_ok());
        assert_eq!(worker.status().state, TxnState::Idle);
        assert_eq!(worker.status().block_txn, None);
        worker.stop(true);
    }

    #[test]
    fn a_detached_outcome_goes_to_the_outbox() {
        let db = isodb::Database::open_temporary().expect("temporary database");
        let worker = SessionWorker::spawn("w", &Backend::Local(db)).expect("thread");
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
