//! [`Shell`]: the state behind the prompt — the named sessions, which one
//! is current, output settings — and how a statement is run without
//! freezing the shell when it waits for a lock.
//!
//! ```text
//!   t1 [SERIALIZABLE, in txn]> update accounts set balance = 0 where id = 1;
//!   UPDATE 1
//!   t2 [SERIALIZABLE, in txn]> update accounts set balance = 5 where id = 1;
//!   t2: waiting for t1 (row lock on accounts (id=1))      <- after ~100 ms the shell
//!   t2 [SERIALIZABLE, in txn, waiting]> \session t1          returns to the prompt
//!   t1 [SERIALIZABLE, in txn]> commit;
//!   COMMIT
//!   t2: ERROR 40001: ...                                    <- t2's outcome, labelled
//! ```
//!
//! A statement is handed to its session's thread; the shell waits for it,
//! and once 100 ms have passed it asks whether the session waits for a
//! lock: the engine's lock table for a local database, the server's
//! `pg_blocking_pids` for a connection (see [`crate::backend`]). If so it
//! prints who it waits for and goes on; the outcome arrives later through
//! the [`Outbox`]. After every command the shell *settles*: it waits for every
//! pending statement that is no longer waiting for a lock (one the last
//! command released), so their outcomes print right after the command that
//! released them, in a deterministic order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::args::{OnError, OutputFormat};
use crate::backend::Backend;
use crate::render;
use crate::views;
use crate::worker::{Outbox, Outcome, SessionWorker, Ticket, TxnId, TxnState};

/// How long a statement may run before the shell checks for a lock wait.
pub const WAIT_CHECK_AFTER: Duration = Duration::from_millis(100);

/// Where the shell writes (standard output and error; tests may capture).
pub trait Output: Send + Sync {
    /// Normal output (results, messages).
    fn out(&self, text: &str);
    /// Error output.
    fn err(&self, text: &str);
}

/// Standard output and standard error.
#[derive(Debug, Default)]
pub struct StdOutput;

impl Output for StdOutput {
    fn out(&self, text: &str) {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    fn err(&self, text: &str) {
        use std::io::Write;
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(text.as_bytes());
        let _ = stderr.flush();
    }
}

/// What the caller does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next command.
    Continue,
    /// A statement failed and `--on-error stop` is in force.
    Stop,
    /// `\q`.
    Quit,
}

/// A statement the shell stopped waiting for because it waits for a lock.
#[derive(Debug)]
pub struct Pending {
    /// The session running it.
    pub worker: Arc<SessionWorker>,
    /// The claim on its outcome.
    pub ticket: Arc<Ticket>,
}

/// A lock wait of a session: behind whom, on what.
#[derive(Debug, Clone)]
pub struct LockWait {
    /// The sessions (or transactions, or backend pids, when no shell
    /// session runs them) it waits for.
    pub blockers: Vec<String>,
    /// The lock, when the shell can name it (`row lock on accounts
    /// (id=1)`): locally; a server does not say.
    pub lock: Option<String>,
}

/// Output settings.
#[derive(Debug)]
pub struct Settings {
    /// The result format.
    pub format: OutputFormat,
    /// `\timing`: print each statement's duration.
    pub timing: AtomicBool,
}

/// The shell's state.
pub struct Shell {
    /// Where the sessions run: a database opened here, or a server.
    pub backend: Backend,
    /// Sessions in creation order.
    pub sessions: Vec<Arc<SessionWorker>>,
    /// Sessions lent out by a running `\demo`, for naming lock holders.
    pub guests: Vec<Arc<SessionWorker>>,
    /// Index of the current session.
    pub current: usize,
    /// Output settings.
    pub settings: Arc<Settings>,
    /// Late outcomes.
    pub outbox: Arc<Outbox>,
    /// Statements waiting for locks.
    pub pending: Vec<Pending>,
    /// Where output goes.
    pub output: Arc<dyn Output>,
    /// `\explain` with no argument: EXPLAIN the next statement.
    pub explain_next: bool,
    /// Statements that failed so far (the exit status).
    pub failures: usize,
    /// Interactive (never stops on errors) or scripted.
    pub interactive: bool,
    /// `--on-error`.
    pub on_error: OnError,
    /// Set by the Ctrl-C handler while a statement runs in the foreground.
    pub interrupted: Arc<AtomicBool>,
    /// Outcomes a running `\demo` wants to see, by ticket.
    pub(crate) recorded: Option<Vec<Recorded>>,
}

/// An outcome as a running `\demo` records it.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// The session that ran the statement.
    pub session: String,
    /// Its ticket number in that session.
    pub ticket: u64,
    /// Its rows, or its SQLSTATE.
    pub result: Result<Vec<Vec<isodb::Value>>, String>,
    /// A COMMIT that ended a failed block (it rolled back).
    pub rolled_back: bool,
}

/// The name of the session the shell starts with.
pub const FIRST_SESSION: &str = "main";

impl Shell {
    /// A shell on `backend` with one session called `main`.
    pub fn new(
        backend: Backend,
        format: OutputFormat,
        on_error: OnError,
        interactive: bool,
        output: Arc<dyn Output>,
    ) -> std::io::Result<Shell> {
        let first = Arc::new(SessionWorker::spawn(FIRST_SESSION, &backend)?);
        Ok(Shell {
            backend,
            sessions: vec![first],
            guests: Vec::new(),
            current: 0,
            settings: Arc::new(Settings {
                format,
                timing: AtomicBool::new(false),
            }),
            outbox: Arc::new(Outbox::default()),
            pending: Vec::new(),
            output,
            explain_next: false,
            failures: 0,
            interactive,
            on_error,
            interrupted: Arc::new(AtomicBool::new(false)),
            recorded: None,
        })
    }

    /// The current session.
    pub fn session(&self) -> &Arc<SessionWorker> {
        // `current` always indexes `sessions`, which is never empty.
        &self.sessions[self.current]
    }

    /// The prompt: `t2 [SERIALIZABLE, in txn]> `.
    pub fn prompt(&self) -> String {
        let worker = self.session();
        let status = worker.status();
        // An autocommit statement that waits runs in a transaction of its
        // own, so "idle" would be wrong while it waits.
        let state = match (status.state, self.is_pending(worker)) {
            (TxnState::Idle, true) => "autocommit, waiting".to_string(),
            (state, true) => format!("{}, waiting", state.label()),
            (state, false) => state.label().to_string(),
        };
        format!("{} [{}, {state}]> ", worker.name(), status.level)
    }

    /// The continuation prompt for the second and later lines of a statement.
    pub fn continuation_prompt(&self) -> String {
        let width = self.prompt().chars().count().saturating_sub(3);
        format!("{}-> ", " ".repeat(width))
    }

    fn is_pending(&self, worker: &SessionWorker) -> bool {
        self.pending
            .iter()
            .any(|p| p.worker.name() == worker.name() && !p.ticket.is_finished())
    }

    /// Every session the shell knows of: its own and a demo's.
    pub fn all_workers(&self) -> impl Iterator<Item = &Arc<SessionWorker>> {
        self.sessions.iter().chain(self.guests.iter())
    }

    /// The name of the session running engine transaction `txn`.
    pub fn session_of(&self, txn: TxnId) -> String {
        self.all_workers()
            .find(|w| w.current_txn() == Some(txn) || w.status().block_txn == Some(txn))
            .map(|w| w.name().to_string())
            .unwrap_or_else(|| format!("txn {txn}"))
    }

    /// The name of the session with backend pid `pid`.
    pub fn session_of_pid(&self, pid: i32) -> String {
        self.all_workers()
            .find(|w| w.backend_pid() == pid)
            .map(|w| w.name().to_string())
            .unwrap_or_else(|| match pid {
                0 => "a prepared transaction".to_string(),
                pid => format!("pid {pid}"),
            })
    }

    /// The lock `worker` waits for right now, if any.
    pub fn lock_wait(&self, worker: &SessionWorker) -> Option<LockWait> {
        let Some(db) = self.backend.database() else {
            let blockers = self.backend.blocking_pids(worker.backend_pid())?;
            return (!blockers.is_empty()).then(|| LockWait {
                blockers: blockers.iter().map(|&p| self.session_of_pid(p)).collect(),
                lock: None,
            });
        };
        let txn = worker.current_txn()?;
        db.cluster().locks().into_iter().find_map(|lock| {
            lock.waiters.iter().any(|w| w.txn == txn).then(|| {
                let mut blockers: Vec<TxnId> = lock
                    .holders
                    .iter()
                    .map(|h| h.txn)
                    .filter(|&h| h != txn)
                    .collect();
                if blockers.is_empty() {
                    blockers = db.cluster().waits_for(txn);
                }
                let kind = if isodb::introspect::locked_keyspace(&lock.key).is_some() {
                    "lock"
                } else {
                    "row lock"
                };
                LockWait {
                    blockers: blockers.iter().map(|&t| self.session_of(t)).collect(),
                    lock: Some(format!("{kind} on {}", views::describe_key(db, &lock.key))),
                }
            })
        })
    }

    /// Prints a message line.
    pub fn say(&self, text: &str) {
        self.output.out(&format!("{text}\n"));
    }

    /// Prints an error line and counts it as a failure.
    pub fn complain(&mut self, text: &str) {
        self.failures += 1;
        self.output.err(&format!("{text}\n"));
    }

    /// Runs one SQL statement on the current session.
    pub fn run_sql(&mut self, sql: &str) -> Flow {
        let sql = if std::mem::take(&mut self.explain_next) {
            format!("EXPLAIN {sql}")
        } else {
            sql.to_string()
        };
        let worker = Arc::clone(self.session());
        self.run_on(&worker, &sql, false)
    }

    /// Runs `sql` on `worker`, waiting for it unless it waits for a lock;
    /// `labelled` prefixes its output with the session name.
    pub fn run_on(&mut self, worker: &Arc<SessionWorker>, sql: &str, labelled: bool) -> Flow {
        if self.is_pending(worker) {
            self.complain(&format!(
                "ERROR: session {} is still waiting for its last statement; \\session to another one, or \\cancel",
                worker.name()
            ));
            return self.after_failure();
        }
        let failures_before = self.failures;
        let ticket = worker.submit(sql);
        let started = Instant::now();
        loop {
            if let Some(outcome) = ticket.wait(Duration::from_millis(20)) {
                self.report(&outcome, labelled);
                break;
            }
            if self.interrupted.swap(false, Ordering::SeqCst) {
                // Wherever the statement is (scanning, sorting, waiting for
                // a lock), it stops and fails with 57014.
                worker.cancel();
                continue;
            }
            if started.elapsed() >= WAIT_CHECK_AFTER
                && let Some(wait) = self.lock_wait(worker)
            {
                self.say(&format!(
                    "{}: waiting for {}",
                    worker.name(),
                    self.describe_wait(&wait)
                ));
                self.detach(worker, &ticket, labelled);
                break;
            }
        }
        self.settle();
        if self.failures > failures_before {
            self.after_failure()
        } else {
            Flow::Continue
        }
    }

    fn detach(&mut self, worker: &Arc<SessionWorker>, ticket: &Arc<Ticket>, labelled: bool) {
        match ticket.detach(Arc::clone(&self.outbox)) {
            Some(outcome) => self.report(&outcome, labelled),
            None => self.pending.push(Pending {
                worker: Arc::clone(worker),
                ticket: Arc::clone(ticket),
            }),
        }
    }

    /// "t1 (row lock on accounts (id=1))", "t1 (lock on accounts (whole
    /// table))" behind a transaction that escalated to a table lock, or
    /// just "t1" on a server.
    pub fn describe_wait(&self, wait: &LockWait) -> String {
        let whom = if wait.blockers.is_empty() {
            "a lock".to_string()
        } else {
            wait.blockers.join(", ")
        };
        match &wait.lock {
            Some(lock) => format!("{whom} ({lock})"),
            None => whom,
        }
    }

    /// What to do after a failed statement.
    pub fn after_failure(&self) -> Flow {
        if !self.interactive && self.on_error == OnError::Stop {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }

    /// Waits for pending statements that no longer wait for a lock and
    /// prints every outcome that has arrived.
    pub fn settle(&mut self) {
        loop {
            let busy = self.pending.iter().any(|p| {
                !p.ticket.is_finished()
                    && self.lock_wait(&p.worker).is_none()
                    && !self.interrupted.load(Ordering::SeqCst)
            });
            for outcome in self.outbox.drain() {
                self.report(&outcome, true);
            }
            if !busy {
                break;
            }
            self.outbox.wait(Duration::from_millis(10));
        }
        self.pending.retain(|p| !p.ticket.is_finished());
    }

    /// Prints an outcome (labelled with its session when it is a late one).
    pub fn report(&mut self, outcome: &Outcome, labelled: bool) {
        let text = render_outcome(outcome, &self.settings, labelled);
        if let Some(recorded) = self.recorded.as_mut() {
            recorded.push(Recorded {
                session: outcome.session.clone(),
                ticket: outcome.ticket,
                result: match &outcome.result {
                    Ok(reply) => Ok(reply.rows.clone()),
                    Err(failure) => Err(failure.sqlstate.clone()),
                },
                rolled_back: outcome.rolled_back,
            });
        }
        match &outcome.result {
            Ok(_) => self.output.out(&text),
            Err(_) => {
                self.failures += 1;
                self.output.err(&text);
            }
        }
    }

    /// Switches to session `name`, creating it when missing.
    pub fn switch_session(&mut self, name: &str) -> std::io::Result<bool> {
        if let Some(i) = self.sessions.iter().position(|w| w.name() == name) {
            self.current = i;
            return Ok(false);
        }
        let worker = Arc::new(SessionWorker::spawn(name, &self.backend)?);
        let level = self.session().status();
        if level.state == TxnState::Idle {
            worker.set_level(level.level);
        }
        self.sessions.push(worker);
        self.current = self.sessions.len() - 1;
        Ok(true)
    }

    /// Cancels every lock wait and stops the session threads (open
    /// transactions roll back).
    pub fn shut_down(&mut self) {
        for pending in &self.pending {
            pending.worker.cancel();
        }
        self.settle();
        for worker in self.all_workers() {
            let idle = worker.status().running.is_none();
            worker.stop(idle);
        }
    }
}

/// The text of one outcome: its result (or error) and, with `\timing`, how
/// long it took.
pub fn render_outcome(outcome: &Outcome, settings: &Settings, labelled: bool) -> String {
    let mut text = match &outcome.result {
        Ok(_) if outcome.rolled_back => match settings.format {
            OutputFormat::Table => "ROLLBACK\n".to_string(),
            OutputFormat::Csv | OutputFormat::Json => String::new(),
        },
        Ok(reply) => render::result(&outcome.sql, reply, settings.format),
        Err(failure) => render::error(Some(&outcome.sql), failure),
    };
    if settings.timing.load(Ordering::SeqCst) {
        text.push_str(&format!(
            "Time: {:.3} ms\n",
            outcome.elapsed.as_secs_f64() * 1000.0
        ));
    }
    if labelled {
        label(&outcome.session, &text)
    } else {
        text
    }
}

/// `t2: UPDATE 1` for one line; the name on a line of its own before a
/// longer text.
pub fn label(session: &str, text: &str) -> String {
    if text.trim_end().lines().count() <= 1 {
        format!("{session}: {text}")
    } else {
        format!("{session}:\n{text}")
    }
}
