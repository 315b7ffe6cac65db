//! [`Link`]: one shell session's way to run statements — an
//! [`isodb::Session`] of the local database, or a [`Client`] connection
//! to a server — and [`Canceller`], the way another thread stops its
//! running statement (the session's `CancelHandle`, or a CancelRequest).
//!
//! Both report what the prompt shows: the transaction state (the local
//! session's own, or the server's last ReadyForQuery) and the isolation
//! level (asked with `SHOW` on a connection, as any client would).

use isodb::{CancelHandle, IsolationLevel, Session, TransactionState};

use crate::backend::{Backend, first_text};
use crate::client::{CancelKey, Client};
use crate::reply::{Failure, Reply};
use crate::worker::{TxnId, TxnState};

/// A session's connection to its database.
pub enum Link {
    /// A session of a database opened by this process.
    Local(Box<Session>),
    /// A connection to a server.
    Remote(Box<Client>),
}

/// Stops a session's running statement from another thread.
#[derive(Debug, Clone)]
pub enum Canceller {
    /// The local session's cancel handle.
    Local(CancelHandle),
    /// The connection's BackendKeyData, for a CancelRequest.
    Remote(CancelKey),
}

impl Canceller {
    /// Cancels the running statement (57014). `running` says whether the
    /// shell knows a statement runs (a CancelRequest gets no answer).
    pub fn cancel(&self, running: bool) -> bool {
        match self {
            Canceller::Local(handle) => handle.cancel(),
            Canceller::Remote(key) => running && key.cancel().is_ok(),
        }
    }

    /// The engine transaction the local session runs now, if any.
    pub fn transaction_id(&self) -> Option<TxnId> {
        match self {
            Canceller::Local(handle) => handle.transaction_id(),
            Canceller::Remote(_) => None,
        }
    }
}

fn parse_level(reply: &Reply) -> Option<IsolationLevel> {
    first_text(reply).and_then(|text| text.parse().ok())
}

impl Link {
    /// A new session on `backend` (a connection, for a server).
    pub fn open(backend: &Backend) -> Result<Link, String> {
        match backend {
            Backend::Local(db) => Ok(Link::Local(Box::new(db.session()))),
            Backend::Remote(remote) => Client::connect(&remote.options)
                .map(|client| Link::Remote(Box::new(client)))
                .map_err(|failure| failure.message),
        }
    }

    /// How to cancel its statements.
    pub fn canceller(&self) -> Canceller {
        match self {
            Link::Local(session) => Canceller::Local(session.cancel_handle()),
            Link::Remote(client) => Canceller::Remote(client.cancel_key()),
        }
    }

    /// Its backend pid (`pg_backend_pid()`).
    pub fn backend_pid(&self) -> i32 {
        match self {
            Link::Local(session) => session.backend_pid(),
            Link::Remote(client) => client.backend_pid(),
        }
    }

    /// Runs one statement.
    pub fn run(&mut self, sql: &str) -> Result<Reply, Failure> {
        match self {
            Link::Local(session) => session
                .query(sql, &[])
                .map(Reply::from)
                .map_err(|e| Failure::from(&e)),
            Link::Remote(client) => client.query(sql),
        }
    }

    /// Where it is in its transaction.
    pub fn state(&self) -> TxnState {
        match self {
            Link::Local(session) => match session.transaction_state() {
                TransactionState::Idle => TxnState::Idle,
                TransactionState::InTransaction => TxnState::InTransaction,
                TransactionState::Failed => TxnState::Failed,
            },
            Link::Remote(client) => client.status(),
        }
    }

    /// The level of its next transactions.
    pub fn default_level(&mut self) -> Option<IsolationLevel> {
        match self {
            Link::Local(session) => Some(session.isolation_level()),
            Link::Remote(client) => client
                .query("SHOW default_transaction_isolation")
                .ok()
                .as_ref()
                .and_then(parse_level),
        }
    }

    /// The level of the open block.
    pub fn block_level(&mut self) -> Option<IsolationLevel> {
        self.run("SHOW TRANSACTION ISOLATION LEVEL")
            .ok()
            .as_ref()
            .and_then(parse_level)
    }

    /// Sets the level of its next transactions.
    pub fn set_level(&mut self, level: IsolationLevel) {
        match self {
            Link::Local(session) => session.set_isolation_level(level),
            Link::Remote(client) => {
                let _ = client.query(&format!(
                    "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {}",
                    level.as_sql()
                ));
            }
        }
    }

    /// The engine transaction of the local session's open block.
    pub fn block_txn(&self) -> Option<TxnId> {
        match self {
            Link::Local(session) => session.transaction_id(),
            Link::Remote(_) => None,
        }
    }
}
