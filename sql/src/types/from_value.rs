//! Typed reads of values into Rust types, for `row.get::<T>(column)`.
//!
//! ```text
//!   Rust type   accepts                          NULL
//!   bool        Boolean                          error
//!   i64         Integer                          error
//!   i32         Integer within i32's range       error
//!   f64         Double, or Integer (converted)   error
//!   String      Text                             error
//!   Value       anything                         Value::Null
//!   Option<T>   whatever T accepts               None
//! ```
//!
//! Nothing is parsed or rounded: reading `'12'` as `i64` or `1.5` as `i64`
//! fails with [`Error::TypeConversion`] (42804: the caller asked for the
//! wrong type; the data is fine). Use a SQL `CAST` to convert in the query.

use crate::error::{Error, Result};
use crate::types::Value;

/// A Rust type a column value can be read as.
pub trait FromValue: Sized {
    /// The Rust type's name, for error messages.
    const EXPECTED: &'static str;

    /// Converts `value`, or `None` when it does not fit this type.
    fn from_value(value: &Value) -> Option<Self>;
}

/// Reads `value` (from `column`, named in the error) as a `T`.
pub fn convert<T: FromValue>(value: &Value, column: &str) -> Result<T> {
    T::from_value(value).ok_or_else(|| Error::TypeConversion {
        column: column.to_string(),
        expected: T::EXPECTED,
        found: describe(value),
    })
}

/// What a value is, for a conversion error: `NULL`, or its type and value.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_string(),
        Value::Text(_) => "a TEXT value".to_string(),
        other => format!("{} {}", other.type_name(), other),
    }
}

impl FromValue for bool {
    const EXPECTED: &'static str = "bool";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }
}

impl FromValue for i64 {
    const EXPECTED: &'static str = "i64";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromValue for i32 {
    const EXPECTED: &'static str = "i32";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Integer(i) => i32::try_from(*i).ok(),
            _ => None,
        }
    }
}

impl FromValue for f64 {
    const EXPECTED: &'static str = "f64";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Double(d) => Some(*d),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl FromValue for String {
    const EXPECTED: &'static str = "String";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl FromValue for Value {
    const EXPECTED: &'static str = "Value";
    fn from_value(value: &Value) -> Option<Self> {
        Some(value.clone())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_types_convert() {
        assert_eq!(convert::<i64>(&Value::Integer(-4), "a").ok(), Some(-4));
        assert_eq!(convert::<i32>(&Value::Integer(7), "a").ok(), Some(7));
        assert_eq!(convert::<f64>(&Value::Integer(2), "a").ok(), Some(2.0));
        assert_eq!(convert::<bool>(&Value::Boolean(true), "a").ok(), Some(true));
        assert_eq!(
            convert::<String>(&Value::from("x"), "a").ok(),
            Some("x".to_string())
        );
        assert_eq!(convert::<Option<i64>>(&Value::Null, "a").ok(), Some(None));
        assert_eq!(
            convert::<Option<i64>>(&Value::Integer(1), "a").ok(),
            Some(Some(1))
        );
    }

    #[test]
    fn mismatches_name_the_column_and_both_types() {
        let error = convert::<i64>(&Value::Null, "id").err();
        assert_eq!(
            error.map(|e| (e.sqlstate(), e.to_string())),
            Some((
                "42804",
                "column \"id\" holds NULL, which cannot be read as i64".into()
            ))
        );
        assert!(convert::<i64>(&Value::from("12"), "id").is_err());
        assert!(convert::<i64>(&Value::Double(1.0), "id").is_err());
        assert!(convert::<i32>(&Value::Integer(1 << 40), "id").is_err());
        assert!(convert::<Option<String>>(&Value::Integer(1), "id").is_err());
        let message = convert::<bool>(&Value::Integer(1), "flag")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some("column \"flag\" holds INTEGER 1, which cannot be read as bool")
        );
    }
}
