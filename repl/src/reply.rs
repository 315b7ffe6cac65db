//! What one statement gave, as the shell prints and judges it, whether it
//! ran in a local [`isodb::Session`] or on a server over a connection:
//! a [`Reply`] (columns, values, rows affected, the server's command tag)
//! or a [`Failure`] (SQLSTATE, message, where a syntax error is).
//!
//! ```text
//!   local:   Rows { columns: [id Integer, name Text], ... }  ─┐
//!   server:  RowDescription [id int4, name text],             ├─► Reply { columns: [id (numeric),
//!            DataRow ["1", "Ada"], CommandComplete "SELECT 1" ┘           name], rows: [[1, 'Ada']] }
//!   local:   Error::SyntaxError { position: (1, 8) }          ─┐
//!   server:  ErrorResponse C=42601 M=... P=8                  ─┴► Failure { sqlstate: "42601",
//!                                                                   position: line 1, column 8 }
//! ```
//!
//! Values from a server arrive as text; each is read back by its column's
//! type OID (booleans, integers and floats become [`Value`]s of those
//! types, everything else stays text), so the demos judge a server's
//! answers exactly as a local session's.

use isodb::{DataType, Rows, Value};

/// A column of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyColumn {
    /// Its name.
    pub name: String,
    /// A number (aligned right in tables).
    pub numeric: bool,
}

/// The result of a statement that succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Result columns (empty for statements without rows).
    pub columns: Vec<ReplyColumn>,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
    /// Rows inserted, updated or deleted; for a query, rows returned.
    pub affected: u64,
    /// The server's command tag (`INSERT 0 1`); `None` for a local
    /// session, whose tag the renderer derives from the statement.
    pub tag: Option<String>,
}

impl From<Rows> for Reply {
    fn from(rows: Rows) -> Reply {
        Reply {
            columns: rows
                .columns()
                .iter()
                .map(|c| ReplyColumn {
                    name: c.name.clone(),
                    numeric: matches!(c.data_type, Some(DataType::Integer | DataType::Double)),
                })
                .collect(),
            affected: rows.rows_affected(),
            rows: rows.values(),
            tag: None,
        }
    }
}

/// A failed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Its SQLSTATE.
    pub sqlstate: String,
    /// The message.
    pub message: String,
    /// Where a syntax error is: (line, column), both 1-based.
    pub position: Option<(u64, u64)>,
}

impl Failure {
    /// A failure of the shell's own making (a lost connection, a stopped session).
    pub fn new(sqlstate: &str, message: impl Into<String>) -> Failure {
        Failure {
            sqlstate: sqlstate.to_string(),
            message: message.into(),
            position: None,
        }
    }
}

impl From<&isodb::Error> for Failure {
    fn from(error: &isodb::Error) -> Failure {
        let position = match error {
            isodb::Error::SyntaxError { position, .. } => *position,
            _ => None,
        };
        Failure {
            sqlstate: error.sqlstate().to_string(),
            message: error.to_string(),
            position,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

/// PostgreSQL type OIDs the shell reads back as numbers or booleans.
mod oid {
    pub const BOOL: u32 = 16;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const OID: u32 = 26;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const NUMERIC: u32 = 1700;
}

/// True for the types a table aligns right.
pub fn is_numeric_type(type_oid: u32) -> bool {
    matches!(
        type_oid,
        oid::INT2 | oid::INT4 | oid::INT8 | oid::OID | oid::FLOAT4 | oid::FLOAT8 | oid::NUMERIC
    )
}

/// A value a server sent as text, read by its column's type.
pub fn value_from_text(type_oid: u32, text: Option<&str>) -> Value {
    let Some(text) = text else {
        return Value::Null;
    };
    let typed = match type_oid {
        oid::BOOL => match text {
            "t" => Some(Value::Boolean(true)),
            "f" => Some(Value::Boolean(false)),
            _ => None,
        },
        oid::INT2 | oid::INT4 | oid::INT8 | oid::OID => text.parse().ok().map(Value::Integer),
        oid::FLOAT4 | oid::FLOAT8 => text.parse().ok().map(Value::Double),
        _ => None,
    };
    typed.unwrap_or_else(|| Value::Text(text.to_string()))
}

/// The (line, column) of a 1-based character position in `sql`, as
/// ErrorResponse's position field gives it.
pub fn line_and_column(sql: &str, position: usize) -> Option<(u64, u64)> {
    let mut line = 1u64;
    let mut column = 1u64;
    for (index, c) in sql.chars().enumerate() {
        if index + 1 == position {
            return Some((line, column));
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (position == sql.chars().count() + 1).then_some((line, column))
}

/// The rows-affected count at the end of a command tag (`INSERT 0 3` → 3,
/// `SELECT 2` → 2, `BEGIN` → 0).
pub fn affected_by_tag(tag: &str) -> u64 {
    tag.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_are_read_by_their_type() {
        assert_eq!(value_from_text(oid::INT4, Some("-12")), Value::Integer(-12));
        assert_eq!(
            value_from_text(oid::FLOAT8, Some("1.5")),
            Value::Double(1.5)
        );
        assert_eq!(value_from_text(oid::BOOL, Some("t")), Value::Boolean(true));
        assert_eq!(value_from_text(25, Some("11")), Value::Text("11".into()));
        assert_eq!(
            value_from_text(oid::NUMERIC, Some("1.50")),
            Value::Text("1.50".into())
        );
        assert_eq!(value_from_text(oid::INT8, None), Value::Null);
        assert!(is_numeric_type(oid::NUMERIC) && !is_numeric_type(25));
    }

    #[test]
    fn positions_become_lines_and_columns() {
        assert_eq!(line_and_column("SELEC 1", 1), Some((1, 1)));
        assert_eq!(line_and_column("SELECT 1;\nSELEC 2", 11), Some((2, 1)));
        assert_eq!(
            line_and_column("select *\n  from t form", 19),
            Some((2, 10))
        );
        assert_eq!(line_and_column("ab", 3), Some((1, 3)));
        assert_eq!(line_and_column("ab", 9), None);
    }

    #[test]
    fn tags_give_the_rows_affected() {
        assert_eq!(affected_by_tag("INSERT 0 3"), 3);
        assert_eq!(affected_by_tag("SELECT 2"), 2);
        assert_eq!(affected_by_tag("BEGIN"), 0);
    }
}
