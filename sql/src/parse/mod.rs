//! Parsing with sqlparser's PostgreSQL dialect, and its errors as ours.
//!
//! sqlparser reports the position inside its message; we lift it out:
//!
//! ```text
//!   "sql parser error: Expected: end of statement, found: x at Line: 1, Column: 8"
//!   -> Error::SyntaxError { message: "Expected: end of statement, found: x",
//!                           position: Some((1, 8)) }                      (42601)
//! ```
//!
//! Input nested too deeply for the parser's recursion limit is 54001, and so
//! is input whose shape the parser would mishandle ([`limits`]).

pub mod limits;
pub mod two_phase;

use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};

use crate::error::{Error, Result};

/// How deeply the parser may recurse (it fails cleanly beyond this).
const PARSER_RECURSION_LIMIT: usize = 64;

/// Parses one or more `;`-separated statements (the two-phase-commit
/// statements sqlparser lacks included: see [`two_phase`]).
pub fn parse_statements(sql: &str) -> Result<Vec<ast::Statement>> {
    limits::check_shape(sql)?;
    if let Some(pieces) = two_phase::split(sql)? {
        let mut statements = Vec::new();
        for piece in pieces {
            match piece {
                two_phase::Piece::TwoPhase(t) => statements.push(two_phase::statement(&t)),
                two_phase::Piece::Sql(text) => statements.extend(parse_sql(text)?),
            }
        }
        return Ok(statements);
    }
    parse_sql(sql)
}

fn parse_sql(sql: &str) -> Result<Vec<ast::Statement>> {
    Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(PARSER_RECURSION_LIMIT)
        .try_with_sql(sql)
        .and_then(|mut parser| parser.parse_statements())
        .map_err(|e| parser_error(e, sql))
}

/// Parses one expression (a stored DEFAULT).
pub fn parse_expression(sql: &str) -> Result<ast::Expr> {
    limits::check_shape(sql)?;
    Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(PARSER_RECURSION_LIMIT)
        .try_with_sql(sql)
        .and_then(|mut parser| parser.parse_expr())
        .map_err(|e| parser_error(e, sql))
}

/// The 1-based line and column just past the end of `sql`.
fn end_of(sql: &str) -> (u64, u64) {
    let line = sql.split('\n').count() as u64;
    let column = sql.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    (line, column)
}

/// Converts a sqlparser error, extracting `at Line: l, Column: c`; an error
/// at the end of the input (`found: EOF`) points just past its end.
fn parser_error(error: ParserError, sql: &str) -> Error {
    let message = match error {
        ParserError::RecursionLimitExceeded => {
            return Error::StatementTooComplex("the statement nests too deeply to parse".into());
        }
        ParserError::TokenizerError(message) | ParserError::ParserError(message) => message,
    };
    match message.rsplit_once(" at Line: ") {
        Some((text, location)) => {
            let mut numbers = location
                .split(", Column: ")
                .map(|n| n.trim().parse::<u64>().ok());
            let position = match (numbers.next().flatten(), numbers.next().flatten()) {
                (Some(line), Some(column)) => Some((line, column)),
                _ => None,
            };
            Error::SyntaxError {
                message: text.to_string(),
                position,
            }
        }
        None => Error::SyntaxError {
            position: message.ends_with("found: EOF").then(|| end_of(sql)),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_carry_their_position() {
        let error = parse_statements("SELECT 1 FROM").err();
        let Some(Error::SyntaxError { position, message }) = error else {
            panic!("expected a syntax error, got {error:?}");
        };
        assert_eq!(position, Some((1, 14)));
        assert!(message.contains("Expected"), "{message}");
        let error = parse_statements("SELECT 1;\n SELEC 2").err();
        assert!(matches!(
            error,
            Some(Error::SyntaxError {
                position: Some((2, _)),
                ..
            })
        ));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let sql = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
        let error = parse_statements(&sql).err().map(|e| e.sqlstate());
        assert_eq!(error, Some("54001"));
        assert!(parse_statements("SELECT 'unterminated").is_err());
        assert_eq!(parse_statements("").map(|s| s.len()).ok(), Some(0));
    }
}
