//! PostgreSQL's two-phase-commit statements, which sqlparser does not
//! parse: `PREPARE TRANSACTION 'gid'`, `COMMIT PREPARED 'gid'` and
//! `ROLLBACK PREPARED 'gid'`.
//!
//! [`split`] finds them among the `;`-separated statements of a script by
//! their tokens, and [`statement`] stands for each one in the statement list
//! as an AST node the session recognizes ([`recognize`]): the assignment
//! `SET isodb_two_phase.<verb> = 'gid'`. (Typing that assignment does the same
//! thing; the name is isodb's own.)

use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::Result;

/// A two-phase-commit statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwoPhase {
    /// `PREPARE TRANSACTION 'gid'`.
    Prepare(String),
    /// `COMMIT PREPARED 'gid'`.
    CommitPrepared(String),
    /// `ROLLBACK PREPARED 'gid'`.
    RollbackPrepared(String),
}

const NAMESPACE: &str = "isodb_two_phase";

impl TwoPhase {
    fn verb(&self) -> &'static str {
        match self {
            TwoPhase::Prepare(_) => "prepare",
            TwoPhase::CommitPrepared(_) => "commit",
            TwoPhase::RollbackPrepared(_) => "rollback",
        }
    }

    fn gid(&self) -> &str {
        match self {
            TwoPhase::Prepare(gid)
            | TwoPhase::CommitPrepared(gid)
            | TwoPhase::RollbackPrepared(gid) => gid,
        }
    }
}

/// The AST node standing for `two_phase`.
pub fn statement(two_phase: &TwoPhase) -> ast::Statement {
    ast::Statement::Set(ast::Set::SingleAssignment {
        scope: None,
        hivevar: false,
        variable: ast::ObjectName::from(vec![
            ast::Ident::new(NAMESPACE),
            ast::Ident::new(two_phase.verb()),
        ]),
        values: vec![ast::Expr::Value(
            ast::Value::SingleQuotedString(two_phase.gid().to_string()).into(),
        )],
    })
}

/// The two-phase statement `statement` stands for, if any.
pub fn recognize(statement: &ast::Statement) -> Option<TwoPhase> {
    let ast::Statement::Set(ast::Set::SingleAssignment {
        variable, values, ..
    }) = statement
    else {
        return None;
    };
    let parts: Vec<String> = variable
        .0
        .iter()
        .map(|part| part.to_string().to_lowercase())
        .collect();
    let [namespace, verb] = parts.as_slice() else {
        return None;
    };
    if namespace != NAMESPACE {
        return None;
    }
    let [value] = values.as_slice() else {
        return None;
    };
    let gid = match value {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => s.clone(),
            _ => return None,
        },
        _ => return None,
    };
    match verb.as_str() {
        "prepare" => Some(TwoPhase::Prepare(gid)),
        "commit" => Some(TwoPhase::CommitPrepared(gid)),
        "rollback" => Some(TwoPhase::RollbackPrepared(gid)),
        _ => None,
    }
}

/// One statement of a script: a two-phase one, or SQL text for sqlparser.
pub enum Piece<'a> {
    /// A two-phase-commit statement.
    TwoPhase(TwoPhase),
    /// Anything else, as text.
    Sql(&'a str),
}

/// Splits `sql` into statements when it holds a two-phase-commit
/// statement; `None` when it holds none (the common case: parse it whole).
pub fn split(sql: &str) -> Result<Option<Vec<Piece<'_>>>> {
    let lower = sql.to_ascii_lowercase();
    if !lower.contains("prepared") && !lower.contains("transaction") {
        return Ok(None);
    }
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location() else {
        // sqlparser reports the tokenizer error itself.
        return Ok(None);
    };
    let segments = segments(&tokens);
    if !segments.iter().any(|s| two_phase_of(s).is_some()) {
        return Ok(None);
    }
    let starts = line_starts(sql);
    let mut pieces = Vec::new();
    for segment in segments {
        if let Some(two_phase) = two_phase_of(&segment) {
            pieces.push(Piece::TwoPhase(two_phase));
            continue;
        }
        let (Some(first), Some(last)) = (segment.first(), segment.last()) else {
            continue;
        };
        let from = offset(sql, &starts, first.span.start.line, first.span.start.column);
        let to = offset(sql, &starts, last.span.end.line, last.span.end.column);
        if let Some(text) = sql.get(from..to) {
            pieces.push(Piece::Sql(text));
        }
    }
    Ok(Some(pieces))
}

/// The tokens of each `;`-separated statement, whitespace left out.
fn segments(tokens: &[TokenWithSpan]) -> Vec<Vec<&TokenWithSpan>> {
    let mut segments = vec![Vec::new()];
    for token in tokens {
        match &token.token {
            Token::SemiColon => segments.push(Vec::new()),
            Token::Whitespace(_) | Token::EOF => {}
            _ => {
                if let Some(current) = segments.last_mut() {
                    current.push(token);
                }
            }
        }
    }
    segments.retain(|s| !s.is_empty());
    segments
}

fn two_phase_of(segment: &[&TokenWithSpan]) -> Option<TwoPhase> {
    let words: Vec<&Token> = segment.iter().map(|t| &t.token).collect();
    let [
        Token::Word(first),
        Token::Word(second),
        Token::SingleQuotedString(gid),
    ] = words.as_slice()
    else {
        return None;
    };
    let first = first.value.to_ascii_uppercase();
    let second = second.value.to_ascii_uppercase();
    match (first.as_str(), second.as_str()) {
        ("PREPARE", "TRANSACTION") => Some(TwoPhase::Prepare(gid.clone())),
        ("COMMIT", "PREPARED") => Some(TwoPhase::CommitPrepared(gid.clone())),
        ("ROLLBACK", "PREPARED") => Some(TwoPhase::RollbackPrepared(gid.clone())),
        _ => None,
    }
}

fn line_starts(sql: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// The byte offset of 1-based `line` and character `column` in `sql`.
fn offset(sql: &str, starts: &[usize], line: u64, column: u64) -> usize {
    let start = starts
        .get(usize::try_from(line.saturating_sub(1)).unwrap_or(0))
        .copied()
        .unwrap_or(sql.len());
    let rest = sql.get(start..).unwrap_or_default();
    let chars = usize::try_from(column.saturating_sub(1)).unwrap_or(0);
    start
        + rest
            .char_indices()
            .nth(chars)
            .map_or(rest.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_phase_statements_are_found_among_others() {
        let sql = "BEGIN;\n INSERT INTO t VALUES (1, 'prepared');\nPREPARE TRANSACTION 'a''b'; commit prepared 'x'; ROLLBACK PREPARED 'y'";
        let pieces = split(sql)
            .expect("split")
            .expect("has two-phase statements");
        let kinds: Vec<String> = pieces
            .iter()
            .map(|p| match p {
                Piece::Sql(text) => format!("sql:{text}"),
                Piece::TwoPhase(t) => format!("{t:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                "sql:BEGIN".to_string(),
                "sql:INSERT INTO t VALUES (1, 'prepared')".to_string(),
                "Prepare(\"a'b\")".to_string(),
                "CommitPrepared(\"x\")".to_string(),
                "RollbackPrepared(\"y\")".to_string(),
            ]
        );
        assert!(
            split("SELECT 'no transaction here'")
                .expect("split")
                .is_none()
        );
        assert!(split("BEGIN TRANSACTION").expect("split").is_none());
    }

    #[test]
    fn the_stand_in_statement_round_trips() {
        for t in [
            TwoPhase::Prepare("g".into()),
            TwoPhase::CommitPrepared("g".into()),
            TwoPhase::RollbackPrepared("g".into()),
        ] {
            assert_eq!(recognize(&statement(&t)), Some(t));
        }
    }
}
