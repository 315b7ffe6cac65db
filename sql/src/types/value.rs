//! [`Value`]: one SQL datum, and its text output.
//!
//! Text output follows psql, so a result printed by isodb reads like one
//! printed by PostgreSQL:
//!
//! ```text
//!   Boolean(true)         -> true        (psql prints t; we spell it out)
//!   Integer(-7)           -> -7
//!   Double(1.0)           -> 1           (no ".0" noise, like PostgreSQL 12+)
//!   Double(0.1)           -> 0.1         (shortest text that reads back exactly)
//!   Double(1e20)          -> 1e+20       (exponent when < 1e-4 or >= 1e15)
//!   Double(-inf) / NaN    -> -Infinity / NaN
//!   Text("a b")           -> a b         (no quotes)
//!   Null                  -> NULL
//! ```
//!
//! Equality, ordering and hashing of values live in `compare`; operators
//! in `arithmetic`; conversions in `cast`.

use std::fmt;

use crate::error::{Error, Result};
use crate::types::DataType;

/// One SQL value. `Null` has no type of its own: it fits every column.
///
/// `PartialEq`, `Eq`, `Ord` and `Hash` are the *grouping* semantics of the
/// `compare` module (NULL equals NULL, `1` equals `1.0`), not SQL's `=`;
/// use [`Value::sql_eq`] for a WHERE clause.
#[derive(Debug, Clone)]
pub enum Value {
    /// SQL NULL: unknown.
    Null,
    /// A `BOOLEAN`.
    Boolean(bool),
    /// An `INTEGER` (64-bit).
    Integer(i64),
    /// A `DOUBLE`.
    Double(f64),
    /// A `TEXT`.
    Text(String),
}

impl Value {
    /// The value's type, or `None` for NULL.
    pub fn data_type(&self) -> Option<DataType> {
        match self {
            Value::Null => None,
            Value::Boolean(_) => Some(DataType::Boolean),
            Value::Integer(_) => Some(DataType::Integer),
            Value::Double(_) => Some(DataType::Double),
            Value::Text(_) => Some(DataType::Text),
        }
    }

    /// True for NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The type name used in messages: the SQL type, or `NULL`.
    pub fn type_name(&self) -> String {
        match self.data_type() {
            Some(data_type) => data_type.to_string(),
            None => "NULL".to_string(),
        }
    }

    /// Reads the value as a condition (WHERE, HAVING, ON, CASE WHEN, AND/OR
    /// operands): `Boolean(b)` is `Some(b)`, NULL is `None` (unknown), any
    /// other type is a [`Error::DatatypeMismatch`] (42804).
    pub fn as_condition(&self) -> Result<Option<bool>> {
        match self {
            Value::Null => Ok(None),
            Value::Boolean(b) => Ok(Some(*b)),
            other => Err(Error::DatatypeMismatch(format!(
                "argument of a condition must be type BOOLEAN, not type {}",
                other.type_name()
            ))),
        }
    }

    /// Builds a value from a three-valued truth: `None` is NULL.
    pub fn from_condition(truth: Option<bool>) -> Value {
        match truth {
            Some(b) => Value::Boolean(b),
            None => Value::Null,
        }
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Boolean(value)
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Integer(value)
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Double(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_string())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(value)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

/// psql-like text output; see the module documentation for the table.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Boolean(b) => f.write_str(if *b { "true" } else { "false" }),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Double(d) => f.write_str(&format_double(*d)),
            Value::Text(s) => f.write_str(s),
        }
    }
}

/// Formats a double the way PostgreSQL's `float8out` does: the shortest
/// digits that read back exactly, positional notation for decimal exponents
/// in `-4..15`, scientific (`1.5e+20`, `1e-05`) outside it.
pub fn format_double(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // `{:e}` gives the shortest round-trip digits as "d.ddde<exp>".
    let scientific = format!("{value:e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return value.to_string();
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return value.to_string();
    };
    if (-4..15).contains(&exponent) {
        value.to_string()
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_psql() {
        let cases = [
            (1.0, "1"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e20, "1e+20"),
            (1.5e15, "1.5e+15"),
            (123456789012345.0, "123456789012345"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.25e-300, "1.25e-300"),
            (-0.0, "-0"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
        ];
        for (value, text) in cases {
            assert_eq!(format_double(value), text, "formatting {value:?}");
        }
    }

    #[test]
    fn values_display_and_report_types() {
        assert_eq!(Value::Boolean(true).to_string(), "true");
        assert_eq!(Value::Integer(i64::MIN).to_string(), "-9223372036854775808");
        assert_eq!(Value::Text("a b".into()).to_string(), "a b");
        assert_eq!(Value::Null.to_string(), "NULL");
        assert_eq!(Value::Double(2.0).data_type(), Some(DataType::Double));
        assert_eq!(Value::Null.data_type(), None);
        assert_eq!(Value::from(Some(3i64)).data_type(), Some(DataType::Integer));
        assert!(Value::from(None::<i64>).is_null());
    }

    #[test]
    fn conditions_accept_booleans_and_null_only() {
        assert_eq!(Value::Boolean(false).as_condition().ok(), Some(Some(false)));
        assert_eq!(Value::Null.as_condition().ok(), Some(None));
        let error = Value::Integer(1).as_condition().err().map(|e| e.sqlstate());
        assert_eq!(error, Some("42804"));
        assert!(Value::from_condition(None).is_null());
    }
}
