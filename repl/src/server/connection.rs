//! One client connection, on its own thread: startup, then the message
//! loop until the client leaves, breaks the protocol, idles past its
//! `idle_in_transaction_session_timeout`, or the server shuts down.
//!
//! The loop's states, as PostgreSQL's backend has them:
//!
//! ```text
//!   ready ── Query ──────────────► run it, ReadyForQuery(I/T/E)
//!     │ ── Parse/Bind/Describe/Execute/Close ──► reply; on an error: ErrorResponse,
//!     │                                          then skipping ──┐
//!     │ ◄──────────── Sync: end the batch, ReadyForQuery ────────┘ (skipping drops
//!     │                                                             all but Sync)
//!     └─ garbage, a truncated or oversized message, a message that has no
//!        place here (a second startup packet, a password) ──► FATAL 08P01, close
//! ```
//!
//! Whatever ends the loop, the session is dropped with it: an open
//! transaction rolls back and releases its locks.

use std::collections::HashMap;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use isodb::{DataType, Prepared, Rows, Session, TransactionState};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::response::{ReadyForQuery, TransactionStatus};
use pgwire::messages::startup::ParameterStatus;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::negotiate_tls;
use tokio::time::Instant;

use crate::server::errors::{FATAL, info};
use crate::server::startup::{Refused, Started, start};
use crate::server::{Shared, Socket, extended, simple};

/// A statement prepared by Parse.
pub struct Statement {
    /// The statement; `None` for an empty query string.
    pub prepared: Option<Prepared>,
    /// The parameter types the client declared (0: none) or isodb inferred.
    pub param_oids: Vec<u32>,
    /// The parameters' inferred storage types.
    pub inferred: Vec<Option<DataType>>,
    /// The result columns.
    pub columns: Vec<isodb::Column>,
    /// The query text (for error positions).
    pub sql: String,
}

/// A portal: a statement with bound parameters, and its rows once run.
pub struct Portal {
    /// Its statement.
    pub statement: Arc<Statement>,
    /// The parameter values.
    pub params: Vec<isodb::Value>,
    /// Each result column's format code.
    pub formats: Vec<i16>,
    /// The rows not yet sent and the statement's tag, once it ran.
    pub pending: Option<Pending>,
}

/// The rest of a portal's result.
pub struct Pending {
    /// All the rows.
    pub rows: Rows,
    /// How many were sent already.
    pub sent: usize,
    /// The statement's command tag.
    pub tag: String,
}

/// A connection's protocol state around its session.
pub struct Connection {
    /// The session.
    pub session: Session,
    /// Prepared statements by name ("" is the unnamed one).
    pub statements: HashMap<String, Arc<Statement>>,
    /// Portals by name.
    pub portals: HashMap<String, Portal>,
    /// An extended-protocol message failed: drop everything until Sync.
    pub skipping: bool,
}

impl Connection {
    /// The transaction status ReadyForQuery reports.
    pub fn status(&self) -> TransactionStatus {
        match self.session.transaction_state() {
            TransactionState::Idle => TransactionStatus::Idle,
            TransactionState::InTransaction => TransactionStatus::Transaction,
            TransactionState::Failed => TransactionStatus::Error,
        }
    }

    /// ParameterStatus for every reported setting that changed, then
    /// ReadyForQuery with the true status, flushed.
    pub async fn ready(&mut self, socket: &mut Socket) -> Result<(), PgWireError> {
        for (name, value) in self.session.take_reported_changes() {
            socket
                .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                    name.to_string(),
                    value,
                )))
                .await?;
        }
        if self.session.transaction_state() == TransactionState::Idle {
            self.portals.clear();
        }
        let status = self.status();
        socket
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }
}

/// Sends an ErrorResponse.
pub async fn send_error(socket: &mut Socket, error: ErrorInfo) -> Result<(), PgWireError> {
    socket
        .feed(PgWireBackendMessage::ErrorResponse(error.into()))
        .await?;
    Ok(())
}

/// Tells the client why the connection ends, then closes it.
async fn close_with(socket: &mut Socket, error: ErrorInfo) {
    let _ = socket
        .send(PgWireBackendMessage::ErrorResponse(error.into()))
        .await;
    let _ = socket.close().await;
}

/// Serves one accepted TCP connection to its end.
pub fn run(stream: std::net::TcpStream, shared: Arc<Shared>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("isodb: cannot start a connection's runtime: {error}");
            return;
        }
    };
    runtime.block_on(serve(stream, shared));
}

async fn serve(stream: std::net::TcpStream, shared: Arc<Shared>) {
    let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
        return;
    };
    let negotiated = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        negotiate_tls(stream, shared.tls.clone()),
    )
    .await;
    let Ok(Ok(Some(mut socket))) = negotiated else {
        return;
    };
    let Some(_slot) = shared.take_slot() else {
        // Read the startup packet first, so the client can read the reason.
        if let Ok(Started::Cancel(cancel)) = start_without_session(&mut socket).await {
            shared.cancel(cancel.pid, &cancel.secret_key);
            return;
        }
        close_with(
            &mut socket,
            info(FATAL, "53300", "sorry, too many clients already"),
        )
        .await;
        return;
    };
    let (session, key) = match start(&mut socket, &shared).await {
        Ok(Started::Session(session, key)) => (session, key),
        Ok(Started::Cancel(cancel)) => {
            shared.cancel(cancel.pid, &cancel.secret_key);
            return;
        }
        Err(Refused::Error(error)) => {
            close_with(&mut socket, *error).await;
            return;
        }
        Err(Refused::Gone) => return,
    };
    shared.register(&key, session.cancel_handle());
    let mut connection = Connection {
        session: *session,
        statements: HashMap::new(),
        portals: HashMap::new(),
        skipping: false,
    };
    message_loop(&mut connection, &mut socket, &shared).await;
    shared.unregister(&key);
    // Dropping the session rolls back its open transaction.
    drop(connection);
}

/// Over the connection limit: only a CancelRequest is still served.
async fn start_without_session(socket: &mut Socket) -> Result<Started, ()> {
    match socket.next().await {
        Some(Ok(PgWireFrontendMessage::CancelRequest(cancel))) => Ok(Started::Cancel(cancel)),
        _ => Err(()),
    }
}

/// What waiting for the next message gave.
enum Next {
    Message(PgWireFrontendMessage),
    Closed,
    Violation(String),
    IdleTimeout,
    Shutdown,
}

async fn next_message(connection: &Connection, socket: &mut Socket, shared: &Shared) -> Next {
    let mut shutdown = shared.shutdown.clone();
    if *shutdown.borrow() {
        return Next::Shutdown;
    }
    let idle_deadline = connection
        .session
        .idle_in_transaction_deadline()
        .map(Instant::from_std);
    let idle = async {
        match idle_deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        message = socket.next() => match message {
            Some(Ok(message)) => Next::Message(message),
            Some(Err(PgWireError::IoError(error))) if error.kind() != std::io::ErrorKind::Other => Next::Closed,
            Some(Err(error)) => Next::Violation(error.to_string()),
            None => Next::Closed,
        },
        _ = idle => Next::IdleTimeout,
        _ = shutdown.changed() => Next::Shutdown,
    }
}

async fn message_loop(connection: &mut Connection, socket: &mut Socket, shared: &Shared) {
    loop {
        let message = match next_message(connection, socket, shared).await {
            Next::Message(message) => message,
            Next::Closed => return,
            Next::Violation(reason) => {
                close_with(
                    socket,
                    info(FATAL, "08P01", format!("protocol violation: {reason}")),
                )
                .await;
                return;
            }
            Next::IdleTimeout => {
                close_with(
                    socket,
                    info(
                        FATAL,
                        "25P03",
                        "terminating connection due to idle-in-transaction timeout",
                    ),
                )
                .await;
                return;
            }
            Next::Shutdown => {
                close_with(
                    socket,
                    info(
                        FATAL,
                        "57P01",
                        "terminating connection due to administrator command",
                    ),
                )
                .await;
                return;
            }
        };
        if connection.skipping && !matches!(message, PgWireFrontendMessage::Sync(_)) {
            continue;
        }
        let handled = match message {
            PgWireFrontendMessage::Terminate(_) => return,
            PgWireFrontendMessage::Query(query) => {
                simple::query(connection, socket, &query.query).await
            }
            PgWireFrontendMessage::Sync(_) => extended::sync(connection, socket).await,
            PgWireFrontendMessage::Flush(_) => socket.flush().await.map_err(PgWireError::from),
            PgWireFrontendMessage::Parse(_)
            | PgWireFrontendMessage::Bind(_)
            | PgWireFrontendMessage::Describe(_)
            | PgWireFrontendMessage::Execute(_)
            | PgWireFrontendMessage::Close(_) => {
                extended::message(connection, socket, message).await
            }
            // Outside COPY these are ignored, as PostgreSQL ignores them.
            PgWireFrontendMessage::CopyData(_)
            | PgWireFrontendMessage::CopyDone(_)
            | PgWireFrontendMessage::CopyFail(_) => Ok(()),
            other => {
                let what = format!("{other:?}");
                let kind = what
                    .split(['(', ' ', '{'])
                    .next()
                    .unwrap_or("message")
                    .to_string();
                close_with(
                    socket,
                    info(
                        FATAL,
                        "08P01",
                        format!("protocol violation: unexpected {kind} message"),
                    ),
                )
                .await;
                return;
            }
        };
        if handled.is_err() {
            // The client is gone (a write failed).
            return;
        }
    }
}
