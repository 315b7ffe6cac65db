//! The column types isodb stores, and how SQL type names map onto them.
//!
//! isodb keeps four storage types. Every integer type name is a 64-bit
//! integer, every floating-point name a 64-bit IEEE double, every character
//! type unbounded UTF-8 text (a `VARCHAR(n)` length is accepted by the
//! parser and not enforced here):
//!
//! ```text
//!   BOOLEAN, BOOL                                        -> Boolean
//!   INTEGER, INT, BIGINT, SMALLINT, INT2, INT4, INT8     -> Integer (i64)
//!   DOUBLE, DOUBLE PRECISION, FLOAT, FLOAT4/8, REAL      -> Double  (f64)
//!   TEXT, VARCHAR, CHAR, CHARACTER [VARYING], STRING     -> Text    (UTF-8)
//! ```

use std::fmt;

/// The type of a column, parameter or expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataType {
    /// `BOOLEAN`: true or false.
    Boolean,
    /// `INTEGER` (and every other integer name): a signed 64-bit integer.
    Integer,
    /// `DOUBLE` (and every other floating-point name): an IEEE 754 double.
    Double,
    /// `TEXT` (and every character type): a UTF-8 string.
    Text,
}

impl DataType {
    /// Maps a SQL type name (case-insensitive, without any `(n)` length) to
    /// its storage type; `None` for names isodb does not know.
    pub fn from_sql_name(name: &str) -> Option<DataType> {
        let upper = name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase();
        let data_type = match upper.as_str() {
            "BOOLEAN" | "BOOL" => DataType::Boolean,
            "INTEGER" | "INT" | "BIGINT" | "SMALLINT" | "INT2" | "INT4" | "INT8" => {
                DataType::Integer
            }
            "DOUBLE" | "DOUBLE PRECISION" | "FLOAT" | "FLOAT4" | "FLOAT8" | "REAL" => {
                DataType::Double
            }
            "TEXT" | "VARCHAR" | "CHAR" | "CHARACTER" | "CHARACTER VARYING" | "STRING" => {
                DataType::Text
            }
            _ => return None,
        };
        Some(data_type)
    }

    /// The lower-case name PostgreSQL uses in error messages, e.g. `bigint`
    /// in `invalid input syntax for type bigint`.
    pub fn postgres_name(self) -> &'static str {
        match self {
            DataType::Boolean => "boolean",
            DataType::Integer => "bigint",
            DataType::Double => "double precision",
            DataType::Text => "text",
        }
    }

    /// True for `Integer` and `Double`, the types arithmetic accepts.
    pub fn is_numeric(self) -> bool {
        matches!(self, DataType::Integer | DataType::Double)
    }
}

/// Displays the canonical SQL name: `BOOLEAN`, `INTEGER`, `DOUBLE`, `TEXT`.
impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            DataType::Boolean => "BOOLEAN",
            DataType::Integer => "INTEGER",
            DataType::Double => "DOUBLE",
            DataType::Text => "TEXT",
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_names_map_to_storage_types() {
        for name in ["int", "INTEGER", "BigInt", "smallint", "int8"] {
            assert_eq!(DataType::from_sql_name(name), Some(DataType::Integer));
        }
        for name in ["double", "Double  Precision", "float", "REAL"] {
            assert_eq!(DataType::from_sql_name(name), Some(DataType::Double));
        }
        for name in ["text", "varchar", "CHAR", "character varying"] {
            assert_eq!(DataType::from_sql_name(name), Some(DataType::Text));
        }
        assert_eq!(DataType::from_sql_name("bool"), Some(DataType::Boolean));
        assert_eq!(DataType::from_sql_name("blob"), None);
    }

    #[test]
    fn display_round_trips_through_from_sql_name() {
        for t in [
            DataType::Boolean,
            DataType::Integer,
            DataType::Double,
            DataType::Text,
        ] {
            assert_eq!(DataType::from_sql_name(&t.to_string()), Some(t));
        }
        assert_eq!(DataType::Double.to_string(), "DOUBLE");
        assert_eq!(DataType::Integer.postgres_name(), "bigint");
    }
}
