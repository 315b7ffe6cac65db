//! The extended query protocol: Parse, Bind, Describe, Execute, Close and
//! Sync, with named and unnamed statements and portals, row limits
//! (Execute with max rows answers PortalSuspended until the rows run out)
//! and parameters in text or binary format.
//!
//! An error in any of these messages sends ErrorResponse and makes the
//! connection skip every message up to the next Sync, which answers
//! ReadyForQuery with the session's true state:
//!
//! ```text
//!   Parse S1 / Bind / Execute (INSERT 1)      -> ParseComplete, BindComplete, INSERT 0 1
//!   Bind (S1, duplicate key) / Execute        -> BindComplete, ErrorResponse 23505
//!   Parse S2 / Bind / Execute (INSERT 3)      -> (skipped)
//!   Sync                                      -> ReadyForQuery(I): the batch's implicit
//!                                                transaction rolled back, INSERT 1 too
//! ```
//!
//! The Executes of one batch run as one implicit transaction, as in
//! PostgreSQL, unless the batch is a single Execute followed by Sync (then
//! the statement runs on its own, read-only when it only reads).

use std::sync::Arc;

use bytes::BytesMut;
use futures::SinkExt;
use isodb::types::pg_type::{PgType, UNKNOWN_OID};
use isodb::{Column, DataType, Value};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::data::{
    DataRow, FieldDescription, NoData, ParameterDescription, RowDescription,
};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Close, CloseComplete, Describe, Execute, Parse, ParseComplete,
    PortalSuspended, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{CommandComplete, EmptyQueryResponse};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use crate::server::Socket;
use crate::server::connection::{Connection, Pending, Portal, Statement, send_error};
use crate::server::errors::{ERROR, from_sql_error, info};
use crate::server::simple::is_empty_query;
use crate::server::types::{
    BINARY, TEXT, WireError, column_oid, column_size, put_value, read_param,
};

/// A RowDescription of `columns` sent in `formats`.
pub fn row_description(columns: &[Column], formats: &[i16]) -> RowDescription {
    RowDescription::new(
        columns
            .iter()
            .zip(formats)
            .map(|(column, &format)| {
                FieldDescription::new(
                    column.name.clone(),
                    0,
                    0,
                    column_oid(column.data_type),
                    column_size(column.data_type),
                    -1,
                    format,
                )
            })
            .collect(),
    )
}

/// One DataRow.
pub fn data_row(
    values: &[Value],
    columns: &[Column],
    formats: &[i16],
) -> Result<DataRow, WireError> {
    let mut data = BytesMut::with_capacity(values.len() * 8);
    for ((value, column), &format) in values.iter().zip(columns).zip(formats) {
        put_value(&mut data, value, column.data_type, format)?;
    }
    Ok(DataRow::new(data, values.len() as i16))
}

fn name_of(name: &Option<String>) -> String {
    name.clone().unwrap_or_default()
}

fn protocol_error(message: impl Into<String>) -> ErrorInfo {
    info(ERROR, "08P01", message)
}

/// Handles Parse, Bind, Describe, Execute or Close; on failure sends the
/// error and starts skipping to the next Sync.
pub async fn message(
    connection: &mut Connection,
    socket: &mut Socket,
    message: PgWireFrontendMessage,
) -> Result<(), PgWireError> {
    let outcome = match message {
        PgWireFrontendMessage::Parse(parse) => parse_statement(connection, socket, parse).await?,
        PgWireFrontendMessage::Bind(bind) => bind_portal(connection, socket, bind).await?,
        PgWireFrontendMessage::Describe(describe) => {
            describe_target(connection, socket, describe).await?
        }
        PgWireFrontendMessage::Execute(execute) => {
            execute_portal(connection, socket, execute).await?
        }
        PgWireFrontendMessage::Close(close) => close_target(connection, socket, close).await?,
        _ => Ok(()),
    };
    if let Err(error) = outcome {
        send_error(socket, error).await?;
        connection.skipping = true;
    }
    Ok(())
}

/// Sync: ends the batch's implicit transaction and reports ReadyForQuery.
pub async fn sync(connection: &mut Connection, socket: &mut Socket) -> Result<(), PgWireError> {
    connection.skipping = false;
    if let Err(error) = connection.session.end_implicit() {
        send_error(socket, from_sql_error(&error, "")).await?;
    }
    connection.portals.remove("");
    connection.ready(socket).await
}

type Outcome = Result<(), ErrorInfo>;

async fn parse_statement(
    connection: &mut Connection,
    socket: &mut Socket,
    parse: Parse,
) -> Result<Outcome, PgWireError> {
    let name = name_of(&parse.name);
    if !name.is_empty() && connection.statements.contains_key(&name) {
        return Ok(Err(info(
            ERROR,
            "42P05",
            format!("prepared statement \"{name}\" already exists"),
        )));
    }
    for (i, &oid) in parse.type_oids.iter().enumerate() {
        if oid != 0 && PgType::by_oid(oid).is_none() {
            return Ok(Err(info(
                ERROR,
                "0A000",
                format!(
                    "parameter ${} has type OID {oid}, which isodb does not support",
                    i + 1
                ),
            )));
        }
    }
    let statement = if is_empty_query(&parse.query) {
        Statement {
            prepared: None,
            param_oids: parse.type_oids.clone(),
            inferred: Vec::new(),
            columns: Vec::new(),
            sql: parse.query,
        }
    } else {
        let session = &mut connection.session;
        let prepared = match session.prepare(&parse.query) {
            Ok(prepared) => prepared,
            Err(error) => return Ok(Err(from_sql_error(&error, &parse.query))),
        };
        let description = match session.describe(&prepared) {
            Ok(description) => description,
            Err(error) => return Ok(Err(from_sql_error(&error, &parse.query))),
        };
        let count = description.param_types.len().max(parse.type_oids.len());
        let param_oids = (0..count)
            .map(|i| match parse.type_oids.get(i) {
                Some(&oid) if oid != 0 => oid,
                _ => match description.param_types.get(i).copied().flatten() {
                    Some(data_type) => PgType::of(data_type).oid,
                    None => PgType::of(DataType::Text).oid,
                },
            })
            .collect();
        Statement {
            prepared: Some(prepared),
            param_oids,
            inferred: description.param_types,
            columns: description.columns,
            sql: parse.query,
        }
    };
    connection.statements.insert(name, Arc::new(statement));
    socket
        .feed(PgWireBackendMessage::ParseComplete(ParseComplete::new()))
        .await?;
    Ok(Ok(()))
}

/// The format of item `i` of `count` given `codes` (none: text; one: all).
fn format_of(codes: &[i16], i: usize) -> i16 {
    match codes {
        [] => TEXT,
        [one] => *one,
        many => many.get(i).copied().unwrap_or(TEXT),
    }
}

fn check_format_count(codes: &[i16], count: usize, what: &str) -> Result<(), Box<ErrorInfo>> {
    if codes.len() > 1 && codes.len() != count {
        return Err(Box::new(protocol_error(format!(
            "bind message has {} {what} formats but {count} {what}s",
            codes.len()
        ))));
    }
    match codes.iter().find(|&&c| c != TEXT && c != BINARY) {
        Some(code) => Err(Box::new(protocol_error(format!(
            "unsupported format code: {code}"
        )))),
        None => Ok(()),
    }
}

async fn bind_portal(
    connection: &mut Connection,
    socket: &mut Socket,
    bind: Bind,
) -> Result<Outcome, PgWireError> {
    let statement_name = name_of(&bind.statement_name);
    let portal_name = name_of(&bind.portal_name);
    let Some(statement) = connection.statements.get(&statement_name).cloned() else {
        return Ok(Err(info(
            ERROR,
            "26000",
            format!("prepared statement \"{statement_name}\" does not exist"),
        )));
    };
    if !portal_name.is_empty() && connection.portals.contains_key(&portal_name) {
        return Ok(Err(info(
            ERROR,
            "42P03",
            format!("cursor \"{portal_name}\" already exists"),
        )));
    }
    let expected = statement.param_oids.len();
    if bind.parameters.len() != expected {
        return Ok(Err(protocol_error(format!(
            "bind message supplies {} parameters, but prepared statement \"{statement_name}\" requires {expected}",
            bind.parameters.len()
        ))));
    }
    if let Err(error) = check_format_count(&bind.parameter_format_codes, expected, "parameter") {
        return Ok(Err(*error));
    }
    if let Err(error) = check_format_count(
        &bind.result_column_format_codes,
        statement.columns.len(),
        "result",
    ) {
        return Ok(Err(*error));
    }
    let mut params = Vec::with_capacity(expected);
    for (i, bytes) in bind.parameters.iter().enumerate() {
        let format = format_of(&bind.parameter_format_codes, i);
        let oid = statement.param_oids.get(i).copied().unwrap_or(UNKNOWN_OID);
        let inferred = statement.inferred.get(i).copied().flatten();
        match read_param(i, bytes.as_deref(), format, oid, inferred) {
            Ok(value) => params.push(value),
            Err(error) => return Ok(Err(info(ERROR, error.sqlstate(), error.to_string()))),
        }
    }
    let formats = (0..statement.columns.len())
        .map(|i| format_of(&bind.result_column_format_codes, i))
        .collect();
    connection.portals.insert(
        portal_name,
        Portal {
            statement,
            params,
            formats,
            pending: None,
        },
    );
    socket
        .feed(PgWireBackendMessage::BindComplete(BindComplete::new()))
        .await?;
    Ok(Ok(()))
}

async fn describe_target(
    connection: &mut Connection,
    socket: &mut Socket,
    describe: Describe,
) -> Result<Outcome, PgWireError> {
    let name = name_of(&describe.name);
    let (columns, formats) = match describe.target_type {
        TARGET_TYPE_BYTE_STATEMENT => {
            let Some(statement) = connection.statements.get(&name) else {
                return Ok(Err(info(
                    ERROR,
                    "26000",
                    format!("prepared statement \"{name}\" does not exist"),
                )));
            };
            socket
                .feed(PgWireBackendMessage::ParameterDescription(
                    ParameterDescription::new(statement.param_oids.clone()),
                ))
                .await?;
            (
                statement.columns.clone(),
                vec![TEXT; statement.columns.len()],
            )
        }
        TARGET_TYPE_BYTE_PORTAL => {
            let Some(portal) = connection.portals.get(&name) else {
                return Ok(Err(info(
                    ERROR,
                    "34000",
                    format!("portal \"{name}\" does not exist"),
                )));
            };
            (portal.statement.columns.clone(), portal.formats.clone())
        }
        other => {
            return Ok(Err(protocol_error(format!(
                "invalid DESCRIBE message subtype {other}"
            ))));
        }
    };
    if columns.is_empty() {
        socket
            .feed(PgWireBackendMessage::NoData(NoData::new()))
            .await?;
    } else {
        socket
            .feed(PgWireBackendMessage::RowDescription(row_description(
                &columns, &formats,
            )))
            .await?;
    }
    Ok(Ok(()))
}

/// True when the next message already received is a Sync (the batch is
/// this one Execute).
fn sync_follows(socket: &Socket) -> bool {
    let buffered = socket.read_buffer();
    buffered.len() >= 5 && buffered[0] == b'S' && buffered[1..5] == [0, 0, 0, 4]
}

async fn execute_portal(
    connection: &mut Connection,
    socket: &mut Socket,
    execute: Execute,
) -> Result<Outcome, PgWireError> {
    let name = name_of(&execute.name);
    let Some(portal) = connection.portals.get_mut(&name) else {
        return Ok(Err(info(
            ERROR,
            "34000",
            format!("portal \"{name}\" does not exist"),
        )));
    };
    let Some(prepared) = portal.statement.prepared.clone() else {
        socket
            .feed(PgWireBackendMessage::EmptyQueryResponse(
                EmptyQueryResponse::new(),
            ))
            .await?;
        return Ok(Ok(()));
    };
    if portal.pending.is_none() {
        let session = &mut connection.session;
        if session.transaction_state() == isodb::TransactionState::Idle
            && !sync_follows(socket)
            && let Err(error) = session.begin_implicit()
        {
            return Ok(Err(from_sql_error(&error, &portal.statement.sql)));
        }
        match session.run_prepared(&prepared, &portal.params) {
            Ok(done) => {
                if done.rows.columns().is_empty() {
                    socket
                        .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                            done.tag,
                        )))
                        .await?;
                    return Ok(Ok(()));
                }
                portal.pending = Some(Pending {
                    rows: done.rows,
                    sent: 0,
                    tag: done.tag,
                });
            }
            Err(error) => return Ok(Err(from_sql_error(&error, &portal.statement.sql))),
        }
    }
    let Some(pending) = portal.pending.as_mut() else {
        return Ok(Ok(()));
    };
    let limit = usize::try_from(execute.max_rows)
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(usize::MAX);
    let columns = pending.rows.columns().to_vec();
    let available = pending.rows.len() - pending.sent;
    let count = available.min(limit);
    for row in pending.rows.iter().skip(pending.sent).take(count) {
        match data_row(row.values(), &columns, &portal.formats) {
            Ok(encoded) => socket.feed(PgWireBackendMessage::DataRow(encoded)).await?,
            Err(error) => return Ok(Err(info(ERROR, error.sqlstate(), error.to_string()))),
        }
    }
    pending.sent += count;
    if pending.sent < pending.rows.len() {
        socket
            .feed(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
            .await?;
    } else {
        let tag = if pending.tag.starts_with("SELECT") {
            format!("SELECT {count}")
        } else {
            pending.tag.clone()
        };
        socket
            .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                tag,
            )))
            .await?;
    }
    Ok(Ok(()))
}

async fn close_target(
    connection: &mut Connection,
    socket: &mut Socket,
    close: Close,
) -> Result<Outcome, PgWireError> {
    let name = name_of(&close.name);
    match close.target_type {
        TARGET_TYPE_BYTE_STATEMENT => {
            connection.statements.remove(&name);
        }
        TARGET_TYPE_BYTE_PORTAL => {
            connection.portals.remove(&name);
        }
        other => {
            return Ok(Err(protocol_error(format!(
                "invalid CLOSE message subtype {other}"
            ))));
        }
    }
    socket
        .feed(PgWireBackendMessage::CloseComplete(CloseComplete::new()))
        .await?;
    Ok(Ok(()))
}
