//! A connection's start: TLS negotiation, the startup packet, the
//! connection limit, authentication (trust for loopback clients when no
//! password is configured, SCRAM-SHA-256 when one is), the session's
//! parameters from the startup packet, ParameterStatus and BackendKeyData.
//!
//! ```text
//!   client                                  server
//!   SSLRequest ───────────────────────────► S (TLS configured) / N
//!   StartupMessage(user, database, ...) ──► over the limit? FATAL 53300
//!                                           password? AuthenticationSASL(SCRAM-SHA-256)
//!   SASLInitialResponse / SASLResponse ◄──► SASLContinue, SASLFinal
//!                                       ◄── AuthenticationOk, ParameterStatus...,
//!                                           BackendKeyData(pid, secret), ReadyForQuery(I)
//! ```
//!
//! A CancelRequest arrives on a connection of its own instead of a startup
//! packet; it is handed back to the caller.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use isodb::Session;
use pgwire::api::auth::sasl::SaslMechanisms;
use pgwire::api::auth::sasl::scram::ScramAuth;
use pgwire::api::auth::{
    AuthDriver, AuthOutcome, DefaultServerParameterProvider, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::response::{ReadyForQuery, TransactionStatus};
use pgwire::messages::startup::{
    Authentication, BackendKeyData, ParameterStatus, SecretKey, Startup,
};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage, ProtocolVersion};

use crate::server::errors::{FATAL, info};
use crate::server::{Shared, Socket};

/// How long a client may take from connecting to being authenticated.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// What the start of a connection led to.
pub enum Started {
    /// An authenticated client with its session.
    Session(Box<Session>, (i32, SecretKey)),
    /// A CancelRequest (its connection is done).
    Cancel(CancelRequest),
}

/// Why a connection ended before its session began.
pub enum Refused {
    /// Tell the client this, then close.
    Error(Box<ErrorInfo>),
    /// The client went away, or sent bytes that are not the protocol.
    Gone,
}

impl Refused {
    /// Refused with `error`.
    pub fn error(error: ErrorInfo) -> Refused {
        Refused::Error(Box::new(error))
    }
}

impl From<PgWireError> for Refused {
    fn from(error: PgWireError) -> Refused {
        match error {
            PgWireError::IoError(_) => Refused::Gone,
            other => Refused::error(other.into()),
        }
    }
}

impl From<std::io::Error> for Refused {
    fn from(_: std::io::Error) -> Refused {
        Refused::Gone
    }
}

/// The next message of the startup phase (a decode error is refused with
/// 08P01, as a garbled or wrong-version startup packet is).
async fn next(socket: &mut Socket) -> Result<PgWireFrontendMessage, Refused> {
    match socket.next().await {
        Some(Ok(message)) => Ok(message),
        Some(Err(PgWireError::IoError(_))) | None => Err(Refused::Gone),
        Some(Err(error)) => Err(Refused::error(info(
            FATAL,
            "08P01",
            format!("invalid startup packet: {error}"),
        ))),
    }
}

/// Runs the startup phase, within [`STARTUP_TIMEOUT`].
pub async fn start(socket: &mut Socket, shared: &Arc<Shared>) -> Result<Started, Refused> {
    match tokio::time::timeout(STARTUP_TIMEOUT, start_inner(socket, shared)).await {
        Ok(started) => started,
        Err(_) => Err(Refused::error(info(FATAL, "08006", "startup timed out"))),
    }
}

async fn start_inner(socket: &mut Socket, shared: &Arc<Shared>) -> Result<Started, Refused> {
    let startup = match next(socket).await? {
        PgWireFrontendMessage::CancelRequest(cancel) => return Ok(Started::Cancel(cancel)),
        PgWireFrontendMessage::Startup(startup) => startup,
        _ => {
            return Err(Refused::error(info(
                FATAL,
                "08P01",
                "expected a startup packet",
            )));
        }
    };
    protocol_negotiation(socket, &startup).await?;
    save_startup_parameters_to_metadata(socket, &startup);
    let Some(user) = startup.parameters.get("user").cloned() else {
        return Err(Refused::error(info(
            FATAL,
            "28000",
            "no PostgreSQL user name specified in startup packet",
        )));
    };
    let database = startup
        .parameters
        .get("database")
        .cloned()
        .unwrap_or_else(|| user.clone());
    authenticate(socket, shared)
        .await
        .map_err(|refused| match refused {
            Refused::Error(error) if error.code == "28P01" => Refused::error(info(
                FATAL,
                "28P01",
                format!("password authentication failed for user \"{user}\""),
            )),
            other => other,
        })?;
    let mut session = shared.db.session();
    session.set_identity(&user, &database);
    apply_startup_parameters(&mut session, &startup)?;
    let key = shared.new_backend_key(session.backend_pid(), socket.protocol_version());
    for (name, value) in session.settings().reported() {
        socket
            .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                name.to_string(),
                value,
            )))
            .await?;
    }
    session.take_reported_changes();
    socket
        .feed(PgWireBackendMessage::BackendKeyData(BackendKeyData::new(
            key.0,
            key.1.clone(),
        )))
        .await?;
    socket
        .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
            TransactionStatus::Idle,
        )))
        .await?;
    socket.set_state(PgWireConnectionState::ReadyForQuery);
    Ok(Started::Session(Box::new(session), key))
}

/// Trust (loopback only, without a password) or SCRAM-SHA-256.
async fn authenticate(socket: &mut Socket, shared: &Arc<Shared>) -> Result<(), Refused> {
    let Some(scram) = &shared.scram else {
        if !socket.socket_addr().ip().is_loopback() {
            return Err(Refused::error(info(
                FATAL,
                "28000",
                "no password is configured: only loopback clients are trusted (start the server with --password or --password-file)",
            )));
        }
        socket
            .feed(PgWireBackendMessage::Authentication(Authentication::Ok))
            .await?;
        return Ok(());
    };
    let driver: AuthDriver<DefaultServerParameterProvider> =
        AuthDriver::new(DefaultServerParameterProvider::default());
    let mechanisms = SaslMechanisms::new(vec![Arc::new(ScramAuth::clone(scram))]);
    use pgwire::api::auth::mechanism::AuthMechanismFactory;
    let mut outcome = driver
        .begin_authentication(socket, mechanisms.create())
        .await?;
    loop {
        match outcome {
            AuthOutcome::Authenticated { final_message, .. } => {
                if let Some(message) = final_message {
                    socket
                        .feed(PgWireBackendMessage::Authentication(message))
                        .await?;
                }
                socket
                    .feed(PgWireBackendMessage::Authentication(Authentication::Ok))
                    .await?;
                return Ok(());
            }
            AuthOutcome::InProgress => {
                let PgWireFrontendMessage::PasswordMessageFamily(message) = next(socket).await?
                else {
                    return Err(Refused::error(info(
                        FATAL,
                        "08P01",
                        "expected a SASL response",
                    )));
                };
                outcome = driver.advance_authentication(socket, message).await?;
            }
        }
    }
}

/// Applies the startup packet's parameters (`application_name`,
/// `client_encoding`, `DateStyle`, `options=-c name=value`, ...) to the
/// session, refusing unknown ones with FATAL as PostgreSQL does.
fn apply_startup_parameters(session: &mut Session, startup: &Startup) -> Result<(), Refused> {
    let fatal =
        |error: isodb::Error| Refused::error(info(FATAL, error.sqlstate(), error.to_string()));
    for (name, value) in &startup.parameters {
        match name.as_str() {
            "user" | "database" | "replication" => {}
            "options" => {
                for (option, value) in command_line_options(value) {
                    session.set_parameter(&option, &value).map_err(fatal)?;
                }
            }
            _ => session.set_parameter(name, value).map_err(fatal)?,
        }
    }
    Ok(())
}

/// `-c name=value` and `--name=value` pairs of the startup `options`.
fn command_line_options(options: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut words = options.split_whitespace();
    while let Some(word) = words.next() {
        let setting = match word {
            "-c" => words.next(),
            other => other
                .strip_prefix("--")
                .or_else(|| other.strip_prefix("-c")),
        };
        if let Some((name, value)) = setting.and_then(|s| s.split_once('=')) {
            pairs.push((name.replace('-', "_"), value.to_string()));
        }
    }
    pairs
}

/// The secret key of a new backend, as the protocol version wants it.
pub fn secret_key(version: ProtocolVersion, random: &[u8; 32]) -> SecretKey {
    match version {
        ProtocolVersion::PROTOCOL3_0 => SecretKey::I32(i32::from_be_bytes([
            random[0], random[1], random[2], random[3],
        ])),
        _ => SecretKey::Bytes(bytes::Bytes::copy_from_slice(random)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_give_name_value_pairs() {
        assert_eq!(
            command_line_options("-c statement_timeout=5s --lock-timeout=1s -cDateStyle=ISO"),
            vec![
                ("statement_timeout".to_string(), "5s".to_string()),
                ("lock_timeout".to_string(), "1s".to_string()),
                ("DateStyle".to_string(), "ISO".to_string()),
            ]
        );
    }
}
