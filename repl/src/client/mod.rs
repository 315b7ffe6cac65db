//! The shell's client side of the PostgreSQL wire protocol, for `isodb
//! --connect postgres://...`: one blocking connection per shell session,
//! speaking the simple query protocol to `isodb serve` (or PostgreSQL).
//!
//! ```text
//!   shell session thread                         server
//!   connect: StartupMessage(user, database) ───► AuthenticationOk | SASL (SCRAM-SHA-256)
//!                                           ◄─── | MD5 | cleartext, ParameterStatus...,
//!                                                BackendKeyData(pid, secret), ReadyForQuery(I)
//!   query("UPDATE t SET v = 1") ─ Query ───────►
//!                                           ◄─── [RowDescription, DataRow...] CommandComplete
//!                                                "UPDATE 1" | ErrorResponse, ReadyForQuery(T)
//!   another thread: cancel ─ a new connection ─► CancelRequest(pid, secret)
//! ```
//!
//! Why not a driver: the shell needs what drivers keep to themselves —
//! the transaction status of every ReadyForQuery (the prompt shows it),
//! the server's exact command tag, every result column's type OID with the
//! value's text (so `1` stays an integer and `'1'` text), and the error
//! fields with the syntax error's position. The `postgres-protocol` crate
//! (the one the `postgres` driver is built on) encodes and decodes the
//! messages and runs SCRAM; this module is the small state machine around
//! them. NOTICEs are not shown; COPY is refused (CopyFail); TLS is not
//! offered (`sslmode=require` is refused at start).

mod auth;
mod options;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::{ErrorFields, Message};
use postgres_protocol::message::frontend;

use crate::reply::{
    Failure, Reply, ReplyColumn, affected_by_tag, is_numeric_type, line_and_column, value_from_text,
};
use crate::worker::TxnState;

pub use options::ConnectOptions;

/// SQLSTATE of a broken connection.
const CONNECTION_FAILURE: &str = "08006";

/// What it takes to cancel a connection's running statement: its server
/// and BackendKeyData.
#[derive(Debug, Clone, Copy)]
pub struct CancelKey {
    addr: SocketAddr,
    pid: i32,
    secret: i32,
}

impl CancelKey {
    /// Sends a CancelRequest on a connection of its own (the server closes
    /// it without an answer, as the protocol says).
    pub fn cancel(&self) -> std::io::Result<()> {
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
        let mut buffer = BytesMut::new();
        frontend::cancel_request(self.pid, self.secret, &mut buffer);
        stream.write_all(&buffer)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        Ok(())
    }
}

/// One connection to a server.
pub struct Client {
    stream: TcpStream,
    buffer: BytesMut,
    status: TxnState,
    key: CancelKey,
    parameters: Vec<(String, String)>,
    /// Set when the connection broke: every later query fails with it.
    broken: Option<Failure>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("pid", &self.key.pid)
            .field("status", &self.status)
            .finish()
    }
}

/// The fields of an ErrorResponse as a [`Failure`]; `sql` turns the
/// position into a line and column.
fn failure_of(mut fields: ErrorFields<'_>, sql: &str) -> Failure {
    let mut failure = Failure::new("XX000", "the server sent an unreadable error");
    let mut severity = String::new();
    while let Ok(Some(field)) = fields.next() {
        let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
        match field.type_() {
            b'C' => failure.sqlstate = value,
            b'M' => failure.message = value,
            b'S' => severity = value,
            b'P' => failure.position = value.parse().ok().and_then(|p| line_and_column(sql, p)),
            _ => {}
        }
    }
    if severity == "FATAL" || severity == "PANIC" {
        failure.message = format!("{} (the server closed the connection)", failure.message);
    }
    failure
}

fn lost(error: &std::io::Error) -> Failure {
    Failure::new(
        CONNECTION_FAILURE,
        format!("the connection to the server was lost: {error}"),
    )
}

impl Client {
    /// Connects and authenticates (trust, cleartext, MD5 or SCRAM-SHA-256).
    pub fn connect(options: &ConnectOptions) -> Result<Client, Failure> {
        let unreachable = |error: std::io::Error| {
            Failure::new(
                CONNECTION_FAILURE,
                format!("cannot connect to {}: {error}", options.address()),
            )
        };
        let addrs = options.socket_addrs().map_err(unreachable)?;
        let mut last_error = std::io::Error::other("the host has no address");
        let mut connected = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, options.connect_timeout) {
                Ok(stream) => {
                    connected = Some((stream, addr));
                    break;
                }
                Err(error) => last_error = error,
            }
        }
        let (stream, addr) = connected.ok_or_else(|| unreachable(last_error))?;
        let _ = stream.set_nodelay(true);
        let mut client = Client {
            stream,
            buffer: BytesMut::with_capacity(8192),
            status: TxnState::Idle,
            key: CancelKey {
                addr,
                pid: 0,
                secret: 0,
            },
            parameters: Vec::new(),
            broken: None,
        };
        auth::start(&mut client, options)?;
        Ok(client)
    }

    /// The key that cancels this connection's running statement.
    pub fn cancel_key(&self) -> CancelKey {
        self.key
    }

    /// The server's process id of this connection (BackendKeyData).
    pub fn backend_pid(&self) -> i32 {
        self.key.pid
    }

    /// The transaction status of the last ReadyForQuery.
    pub fn status(&self) -> TxnState {
        self.status
    }

    /// A parameter the server reported (`server_version`, ...).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn send(&mut self, buffer: &BytesMut) -> Result<(), Failure> {
        self.stream.write_all(buffer).map_err(|e| lost(&e))
    }

    /// The next message from the server.
    fn receive(&mut self) -> Result<Message, Failure> {
        loop {
            match Message::parse(&mut self.buffer) {
                Ok(Some(message)) => return Ok(message),
                Ok(None) => {}
                Err(error) => {
                    return Err(Failure::new(
                        "08P01",
                        format!("the server broke the protocol: {error}"),
                    ));
                }
            }
            let mut chunk = [0u8; 8192];
            let read = self.stream.read(&mut chunk).map_err(|e| lost(&e))?;
            if read == 0 {
                return Err(lost(&std::io::ErrorKind::UnexpectedEof.into()));
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }

    fn remember_parameter(&mut self, name: &str, value: &str) {
        self.parameters.retain(|(n, _)| n != name);
        self.parameters.push((name.to_string(), value.to_string()));
    }

    /// Runs `sql` (one statement, or several: the last result is kept)
    /// with the simple query protocol.
    pub fn query(&mut self, sql: &str) -> Result<Reply, Failure> {
        if let Some(failure) = &self.broken {
            return Err(failure.clone());
        }
        let result = self.exchange(sql);
        if let Err(failure) = &result
            && failure.sqlstate == CONNECTION_FAILURE
        {
            self.broken = Some(failure.clone());
        }
        result
    }

    fn exchange(&mut self, sql: &str) -> Result<Reply, Failure> {
        let mut buffer = BytesMut::new();
        frontend::query(sql, &mut buffer).map_err(|e| Failure::new("22021", e.to_string()))?;
        self.send(&buffer)?;
        let mut reply = Reply {
            columns: Vec::new(),
            rows: Vec::new(),
            affected: 0,
            tag: None,
        };
        let mut types: Vec<u32> = Vec::new();
        let mut failure = None;
        // False once the current statement described its rows: a later
        // statement without rows must not keep an earlier one's.
        let mut rowless = true;
        loop {
            let message = match self.receive() {
                Ok(message) => message,
                // A FATAL error arrives just before the server closes.
                Err(lost) => match failure {
                    Some(fatal) => {
                        self.broken = Some(lost);
                        return Err(fatal);
                    }
                    None => return Err(lost),
                },
            };
            match message {
                Message::RowDescription(body) => {
                    rowless = false;
                    let mut fields = body.fields();
                    reply.columns.clear();
                    reply.rows.clear();
                    types.clear();
                    while let Ok(Some(field)) = fields.next() {
                        types.push(field.type_oid());
                        reply.columns.push(ReplyColumn {
                            name: field.name().to_string(),
                            numeric: is_numeric_type(field.type_oid()),
                        });
                    }
                }
                Message::DataRow(body) => {
                    let mut ranges = body.ranges();
                    let mut row = Vec::with_capacity(types.len());
                    let mut column = 0;
                    while let Ok(Some(range)) = ranges.next() {
                        let text =
                            range.map(|r| String::from_utf8_lossy(&body.buffer()[r]).into_owned());
                        let type_oid = types.get(column).copied().unwrap_or(0);
                        row.push(value_from_text(type_oid, text.as_deref()));
                        column += 1;
                    }
                    reply.rows.push(row);
                }
                Message::CommandComplete(body) => {
                    if std::mem::replace(&mut rowless, true) {
                        reply.columns.clear();
                        reply.rows.clear();
                    }
                    let tag = body.tag().unwrap_or_default().to_string();
                    reply.affected = affected_by_tag(&tag);
                    reply.tag = Some(tag);
                }
                Message::EmptyQueryResponse => {
                    reply.tag = Some(String::new());
                }
                Message::ErrorResponse(body) => {
                    failure = Some(failure_of(body.fields(), sql));
                }
                Message::ParameterStatus(body) => {
                    if let (Ok(name), Ok(value)) = (body.name(), body.value()) {
                        let (name, value) = (name.to_string(), value.to_string());
                        self.remember_parameter(&name, &value);
                    }
                }
                Message::CopyInResponse(_) => {
                    let mut buffer = BytesMut::new();
                    let _ =
                        frontend::copy_fail("the isodb shell does not send COPY data", &mut buffer);
                    self.send(&buffer)?;
                }
                Message::ReadyForQuery(body) => {
                    self.status = match body.status() {
                        b'T' => TxnState::InTransaction,
                        b'E' => TxnState::Failed,
                        _ => TxnState::Idle,
                    };
                    return match failure {
                        Some(failure) => Err(failure),
                        None => Ok(reply),
                    };
                }
                // Notices, notifications, COPY OUT data: not shown.
                _ => {}
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let mut buffer = BytesMut::new();
        frontend::terminate(&mut buffer);
        let _ = self.stream.write_all(&buffer);
    }
}
