//! [`SessionThread`]: one isodb [`Session`] living on its own thread, fed
//! SQL through a channel, so that a statement waiting for a row lock really
//! blocks a thread — as it would in a second terminal — while the script
//! driving it goes on with the other sessions.
//!
//! ```text
//!   script thread                     session thread "t2"
//!   submit("UPDATE ...") ──command──▶ session.query(...)   (waits for t1's lock)
//!   is_waiting_for_lock() == true     ...
//!   (t1 commits)                      lock granted, statement finishes
//!   try_reply() ◀────────reply─────── Ok(rows) / Err(40001)
//! ```
//!
//! Whether a session waits is read from the lock manager's wait-for graph
//! (the engine's `waits_for`, through [`Database::engine`]),
//! never guessed from a timeout: the lock manager grants a lock and clears
//! the waiter's edges under one latch, so "waiting" is exact.

use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;

use isodb::{CancelHandle, Database, IsolationLevel, Session, Value};

/// What a statement answered: rows (for a query), a count (for a write) or
/// an error, reduced to what a transcript shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A query's rows (column count may be zero for control statements).
    Rows {
        /// Number of result columns; 0 for statements without rows.
        columns: usize,
        /// The rows, in the order the statement returned them.
        rows: Vec<Vec<Value>>,
        /// Rows affected (writes) or returned (queries).
        affected: u64,
    },
    /// The statement failed.
    Error {
        /// The SQLSTATE, e.g. `40001`.
        sqlstate: String,
        /// The error message.
        message: String,
    },
}

impl Reply {
    /// The SQLSTATE of an error reply.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Reply::Error { sqlstate, .. } => Some(sqlstate),
            Reply::Rows { .. } => None,
        }
    }

    /// The rows of a successful reply as integers (NULL and non-integers
    /// are left out); `None` for an error.
    pub fn integers(&self) -> Option<Vec<Vec<i64>>> {
        match self {
            Reply::Rows { rows, .. } => Some(
                rows.iter()
                    .map(|row| {
                        row.iter()
                            .filter_map(|v| match v {
                                Value::Integer(i) => Some(*i),
                                _ => None,
                            })
                            .collect()
                    })
                    .collect(),
            ),
            Reply::Error { .. } => None,
        }
    }
}

/// A session on its own thread. Dropping it ends the thread (a pending lock
/// wait is canceled first, so the drop cannot hang).
pub struct SessionThread {
    name: String,
    db: Database,
    commands: Option<Sender<String>>,
    replies: Receiver<Reply>,
    cancel: CancelHandle,
    busy: bool,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SessionThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionThread")
            .field("name", &self.name)
            .field("busy", &self.busy)
            .finish()
    }
}

impl SessionThread {
    /// Starts a thread named `name` with a new session of `db` whose
    /// transactions run at `level`.
    pub fn spawn(db: &Database, name: &str, level: IsolationLevel) -> std::io::Result<Self> {
        let mut session = db.session();
        session.set_isolation_level(level);
        let cancel = session.cancel_handle();
        let (command_tx, command_rx) = channel::<String>();
        let (reply_tx, reply_rx) = channel::<Reply>();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || serve(session, command_rx, reply_tx))?;
        Ok(SessionThread {
            name: name.to_string(),
            db: db.clone(),
            commands: Some(command_tx),
            replies: reply_rx,
            cancel,
            busy: false,
            thread: Some(thread),
        })
    }

    /// The session's name, as transcripts show it (`t1`, `t2`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True while a submitted statement has not replied.
    pub fn is_busy(&self) -> bool {
        self.busy
    }

    /// Sends one statement to the session thread; returns false when the
    /// thread is gone or still running an earlier statement.
    pub fn submit(&mut self, sql: &str) -> bool {
        if self.busy {
            return false;
        }
        let sent = self
            .commands
            .as_ref()
            .is_some_and(|c| c.send(sql.to_string()).is_ok());
        self.busy = sent;
        sent
    }

    /// The reply of the outstanding statement, if it has finished.
    pub fn try_reply(&mut self) -> Option<Reply> {
        if !self.busy {
            return None;
        }
        match self.replies.try_recv() {
            Ok(reply) => {
                self.busy = false;
                Some(reply)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.busy = false;
                Some(Reply::Error {
                    sqlstate: "XX000".to_string(),
                    message: format!("session thread {} ended", self.name),
                })
            }
        }
    }

    /// True when the session's transaction waits for a row lock right now.
    pub fn is_waiting_for_lock(&self) -> bool {
        self.cancel
            .transaction_id()
            .is_some_and(|id| !self.db.cluster().waits_for(id).is_empty())
    }
}

impl Drop for SessionThread {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.commands = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The session thread's loop: run each statement, send back its reply.
fn serve(mut session: Session, commands: Receiver<String>, replies: Sender<Reply>) {
    while let Ok(sql) = commands.recv() {
        let reply = match session.query(sql.as_str(), &[]) {
            Ok(rows) => Reply::Rows {
                columns: rows.columns().len(),
                affected: rows.rows_affected(),
                rows: rows.values(),
            },
            Err(error) => Reply::Error {
                sqlstate: error.sqlstate().to_string(),
                message: error.to_string(),
            },
        };
        if replies.send(reply).is_err() {
            return;
        }
    }
    if session.in_transaction() {
        let _ = session.execute("ROLLBACK");
    }
}
