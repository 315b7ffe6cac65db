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
//! Input that ends inside a `/*` comment, a string literal or a quoted
//! identifier is 42601 in PostgreSQL's words (`unterminated /* comment`,
//! ...) at the position where the unclosed construct began.
//!
//! Input nested too deeply for the parser's recursion limit is 54001, and so
//! is input whose shape the parser would mishandle ([`limits`]).

pub mod limits;
pub mod two_phase;

use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

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

/// Where the `/*` comment that `sql` ends inside of began (1-based line and
/// column). sqlparser reports such a comment at the end of the input; we
/// close it (once per `/*`, enough for any nesting) and ask the tokenizer
/// where the comment that reaches past the input started.
fn unclosed_comment_start(sql: &str) -> Option<(u64, u64)> {
    let closed = format!("{sql}{}", " */".repeat(sql.matches("/*").count()));
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, &closed)
        .tokenize_with_location()
        .ok()?;
    let end = end_of(sql);
    tokens
        .iter()
        .filter(|token| {
            matches!(
                token.token,
                Token::Whitespace(Whitespace::MultiLineComment(_))
            )
        })
        .map(|token| &token.span)
        .find(|span| (span.end.line, span.end.column) > end)
        .map(|span| (span.start.line, span.start.column))
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
    if message.starts_with("Unexpected EOF while in a multi-line comment") {
        return Error::SyntaxError {
            message: "unterminated /* comment".into(),
            position: unclosed_comment_start(sql).or_else(|| Some(end_of(sql))),
        };
    }
    let message = if message.starts_with("Unterminated string literal") {
        message.replacen(
            "Unterminated string literal",
            "unterminated quoted string",
            1,
        )
    } else if message.starts_with("Expected close delimiter '\"' before EOF.") {
        message.replacen(
            "Expected close delimiter '\"' before EOF.",
            "unterminated quoted identifier",
            1,
        )
    } else {
        message
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

    #[test]
    fn input_ending_inside_a_comment_literal_or_identifier_is_a_syntax_error_at_its_line() {
        for sql in [
            "SELECT 1;\n/* note\nSELECT 2;",
            "SELECT 1;\nSELECT 'abc;\nSELECT 2;",
            "SELECT 1;\nSELECT \"abc;\nSELECT 2;",
        ] {
            let error = parse_statements(sql).err();
            let Some(Error::SyntaxError { position, message }) = &error else {
                panic!("{sql:?}: expected a syntax error, got {error:?}");
            };
            assert_eq!(
                position.map(|(line, _)| line),
                Some(2),
                "{sql:?}: {message}"
            );
            assert!(message.starts_with("unterminated "), "{sql:?}: {message}");
        }
        let error = parse_statements("SELECT 1; /* a /* b */\n c").err();
        assert!(
            matches!(&error, Some(Error::SyntaxError { position: Some((1, 11)), message }) if message == "unterminated /* comment"),
            "{error:?}"
        );
    }
}
