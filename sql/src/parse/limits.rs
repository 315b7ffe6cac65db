//! The shape limits checked on the tokens before sqlparser sees them.
//!
//! sqlparser's recursion limit covers most nesting, but not all of it, and
//! some shapes it accepts are too deep for the code after it:
//!
//! - A prefix keyword that fails at the recursion limit (`NOT`, `CASE`) is
//!   re-read as an identifier, so 61 nested `NOT`s silently become a column
//!   named "not". We count nesting ourselves — open parentheses, open
//!   `CASE`s and runs of `NOT` together — and stop well below the limit.
//! - Left-deep operator chains (`1+1+...`) parse in a loop but their AST is
//!   dropped recursively; a chain of some 30,000 terms overflows a 2 MiB
//!   thread stack. We cap the operators in one chain (between commas and
//!   parentheses).
//! - Each `UNION`, `INTERSECT`, `EXCEPT` or `JOIN` adds a level to the plan
//!   and the executor; we cap them per input.
//!
//! ```text
//!   SELECT NOT NOT ... NOT true      (51 NOTs)     -> 54001
//!   SELECT 1 + 1 + ... + 1           (20,001 +)    -> 54001
//!   SELECT 1 UNION SELECT 1 ...      (1,001 UNION) -> 54001
//! ```
//!
//! Inputs that do not tokenize pass through: the parser reports them.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{Error, Result};

/// Deepest nesting of parentheses, `CASE`s and `NOT` runs together.
pub const MAX_NESTING: usize = 50;
/// Most binary operators in one chain (between commas and parentheses).
pub const MAX_CHAIN_OPERATORS: usize = 20_000;
/// Most set operations and joins in one input.
pub const MAX_SET_OPERATIONS_AND_JOINS: usize = 1_000;

/// Rejects `sql` with 54001 when its shape exceeds one of the limits.
pub fn check_shape(sql: &str) -> Result<()> {
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize() else {
        return Ok(());
    };
    let mut shape = Shape::default();
    for token in &tokens {
        shape.step(token)?;
    }
    Ok(())
}

/// The running counts of one scan.
#[derive(Default)]
struct Shape {
    parentheses: usize,
    cases: usize,
    nots: usize,
    chain: usize,
    set_operations_and_joins: usize,
}

impl Shape {
    fn step(&mut self, token: &Token) -> Result<()> {
        if matches!(token, Token::Whitespace(_)) {
            return Ok(());
        }
        let keyword = match token {
            Token::Word(word) => word.keyword,
            _ => Keyword::NoKeyword,
        };
        if keyword == Keyword::NOT {
            self.nots += 1;
        } else {
            self.nots = 0;
        }
        match token {
            Token::LParen => {
                self.parentheses += 1;
                self.chain = 0;
            }
            Token::RParen => {
                self.parentheses = self.parentheses.saturating_sub(1);
                self.chain = 0;
            }
            Token::Comma | Token::SemiColon => self.chain = 0,
            Token::Plus
            | Token::Minus
            | Token::Mul
            | Token::Div
            | Token::Mod
            | Token::StringConcat
            | Token::Eq
            | Token::Neq
            | Token::Lt
            | Token::Gt
            | Token::LtEq
            | Token::GtEq => self.chain += 1,
            _ => {}
        }
        match keyword {
            Keyword::CASE => self.cases += 1,
            Keyword::END => self.cases = self.cases.saturating_sub(1),
            Keyword::AND | Keyword::OR => self.chain += 1,
            Keyword::UNION | Keyword::INTERSECT | Keyword::EXCEPT | Keyword::JOIN => {
                self.set_operations_and_joins += 1
            }
            _ => {}
        }
        if self.parentheses + self.cases + self.nots > MAX_NESTING {
            return Err(too_complex(format!(
                "the statement nests parentheses, CASE and NOT more than {MAX_NESTING} deep"
            )));
        }
        if self.chain > MAX_CHAIN_OPERATORS {
            return Err(too_complex(format!(
                "an expression chains more than {MAX_CHAIN_OPERATORS} operators"
            )));
        }
        if self.set_operations_and_joins > MAX_SET_OPERATIONS_AND_JOINS {
            return Err(too_complex(format!(
                "the input has more than {MAX_SET_OPERATIONS_AND_JOINS} UNION, INTERSECT, \
                 EXCEPT and JOIN clauses"
            )));
        }
        Ok(())
    }
}

fn too_complex(message: String) -> Error {
    Error::StatementTooComplex(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(sql: &str) -> Option<&'static str> {
        check_shape(sql).err().map(|e| e.sqlstate())
    }

    #[test]
    fn ordinary_statements_pass() {
        assert_eq!(
            code("SELECT a FROM t WHERE NOT (a IS NOT NULL) AND b NOT IN (1, 2)"),
            None
        );
        assert_eq!(
            code("SELECT CASE WHEN a THEN 1 END FROM t; BEGIN; END"),
            None
        );
        let values = format!("INSERT INTO t VALUES (-1){}", ", (-1)".repeat(50_000));
        assert_eq!(code(&values), None);
        assert_eq!(code("SELECT 'unterminated"), None);
    }

    #[test]
    fn each_limit_is_enforced_just_past_it() {
        let nots = |n: usize| format!("SELECT {}true", "NOT ".repeat(n));
        assert_eq!(code(&nots(MAX_NESTING)), None);
        assert_eq!(code(&nots(MAX_NESTING + 1)), Some("54001"));
        let mixed = format!(
            "SELECT {}{}1{}",
            "(".repeat(30),
            "NOT ".repeat(21),
            ")".repeat(30)
        );
        assert_eq!(code(&mixed), Some("54001"));
        let cases = |n: usize| {
            format!(
                "SELECT {}1{}",
                "CASE WHEN true THEN ".repeat(n),
                " END".repeat(n)
            )
        };
        assert_eq!(code(&cases(MAX_NESTING)), None);
        assert_eq!(code(&cases(MAX_NESTING + 1)), Some("54001"));
        let chain = |n: usize| format!("SELECT 1{}", "+1".repeat(n));
        assert_eq!(code(&chain(MAX_CHAIN_OPERATORS)), None);
        assert_eq!(code(&chain(MAX_CHAIN_OPERATORS + 1)), Some("54001"));
        let unions = |n: usize| format!("SELECT 1{}", " UNION SELECT 1".repeat(n));
        assert_eq!(code(&unions(MAX_SET_OPERATIONS_AND_JOINS)), None);
        assert_eq!(
            code(&unions(MAX_SET_OPERATIONS_AND_JOINS + 1)),
            Some("54001")
        );
    }
}
