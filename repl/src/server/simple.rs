//! The simple query protocol: a Query message of one or more statements,
//! answered with RowDescription, DataRows (text format) and CommandComplete
//! per statement, then ReadyForQuery.
//!
//! Several statements in one message run as one implicit transaction (see
//! [`isodb::Session::begin_implicit`]); the first failure skips the rest
//! and rolls the whole message back, as in PostgreSQL.

use futures::SinkExt;
use isodb::Completion;
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::response::{CommandComplete, EmptyQueryResponse};

use crate::server::Socket;
use crate::server::connection::{Connection, send_error};
use crate::server::errors::{ERROR, from_sql_error, info};
use crate::server::extended::{data_row, row_description};
use crate::server::types::TEXT;

/// True for a query of only whitespace and semicolons (and comments).
pub fn is_empty_query(sql: &str) -> bool {
    let mut rest = sql;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ';');
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, tail)| tail);
        } else {
            return rest.is_empty();
        }
    }
}

/// Sends a statement's rows (text format) and its CommandComplete; a
/// value that cannot be written is reported instead (`Ok(Err(..))`).
pub async fn send_completion(
    socket: &mut Socket,
    done: &Completion,
) -> Result<Result<(), ErrorInfo>, PgWireError> {
    let columns = done.rows.columns();
    if !columns.is_empty() {
        let formats = vec![TEXT; columns.len()];
        let mut encoded = Vec::with_capacity(done.rows.len());
        for row in done.rows.iter() {
            match data_row(row.values(), columns, &formats) {
                Ok(row) => encoded.push(row),
                Err(error) => return Ok(Err(info(ERROR, error.sqlstate(), error.to_string()))),
            }
        }
        socket
            .feed(PgWireBackendMessage::RowDescription(row_description(
                columns, &formats,
            )))
            .await?;
        for row in encoded {
            socket.feed(PgWireBackendMessage::DataRow(row)).await?;
        }
    }
    socket
        .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
            done.tag.clone(),
        )))
        .await?;
    Ok(Ok(()))
}

/// Runs a Query message.
pub async fn query(
    connection: &mut Connection,
    socket: &mut Socket,
    sql: &str,
) -> Result<(), PgWireError> {
    if is_empty_query(sql) {
        socket
            .feed(PgWireBackendMessage::EmptyQueryResponse(
                EmptyQueryResponse::new(),
            ))
            .await?;
        return connection.ready(socket).await;
    }
    let session = &mut connection.session;
    match session.parse_statements(sql) {
        Err(error) => send_error(socket, from_sql_error(&error, sql)).await?,
        Ok(statements) => {
            let implicit = statements.len() > 1;
            let mut failure = None;
            if implicit && let Err(error) = session.begin_implicit() {
                failure = Some(from_sql_error(&error, sql));
            }
            for statement in &statements {
                if failure.is_some() {
                    break;
                }
                match session.run_prepared(statement, &[]) {
                    Ok(done) => {
                        if let Err(error) = send_completion(socket, &done).await? {
                            failure = Some(error);
                        }
                    }
                    Err(error) => failure = Some(from_sql_error(&error, sql)),
                }
            }
            if let Some(error) = failure {
                send_error(socket, error).await?;
            }
            if implicit && let Err(error) = connection.session.end_implicit() {
                send_error(socket, from_sql_error(&error, sql)).await?;
            }
        }
    }
    connection.ready(socket).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_queries_are_whitespace_semicolons_and_comments() {
        assert!(is_empty_query(""));
        assert!(is_empty_query(" ;; \n"));
        assert!(is_empty_query("-- nothing\n;"));
        assert!(!is_empty_query("SELECT 1"));
        assert!(!is_empty_query("-- a comment\nSELECT 1"));
    }
}
