//! Query results: [`Rows`] of [`Row`]s with named, typed columns, and
//! typed access to values.
//!
//! ```
//! # fn main() -> isodb::Result<()> {
//! let db = isodb::Database::open_temporary()?;
//! let mut session = db.session();
//! let rows = session.query("SELECT 1 AS n, NULL AS name", &[])?;
//! assert_eq!(rows.columns()[0].name, "n");
//! let row = &rows[0];
//! assert_eq!(row.get::<i64>(0)?, 1);
//! assert_eq!(row.get::<Option<String>>("name")?, None);
//! assert_eq!(row.get::<String>("n").unwrap_err().sqlstate(), "42804");
//! # Ok(())
//! # }
//! ```

use std::ops::Deref;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::plan::Column;
use crate::types::{FromValue, Value, convert};

/// Picks a column of a row: by position (`usize`) or by name (`&str`).
pub trait RowIndex {
    /// The column's position among `columns`.
    fn position(&self, columns: &[Column]) -> Result<usize>;
}

impl RowIndex for usize {
    fn position(&self, columns: &[Column]) -> Result<usize> {
        if *self < columns.len() {
            Ok(*self)
        } else {
            Err(Error::UndefinedColumn(format!(
                "#{self} (the row has {} columns)",
                columns.len()
            )))
        }
    }
}

impl RowIndex for &str {
    fn position(&self, columns: &[Column]) -> Result<usize> {
        columns
            .iter()
            .position(|c| c.name == *self)
            .ok_or_else(|| Error::UndefinedColumn((*self).to_string()))
    }
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Arc<[Column]>,
    values: Vec<Value>,
}

impl Row {
    /// The value of a column as a Rust type; a type mismatch (including
    /// NULL into a non-`Option`) is [`Error::TypeConversion`] (42804).
    pub fn get<T: FromValue>(&self, index: impl RowIndex) -> Result<T> {
        let position = index.position(&self.columns)?;
        let column = self
            .columns
            .get(position)
            .map_or_else(|| position.to_string(), |c| c.name.clone());
        let value = self.values.get(position).unwrap_or(&Value::Null);
        convert(value, &column)
    }

    /// The raw values.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Consumes the row, returning its values.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True for a row without columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// The rows a statement returned, with their columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    columns: Arc<[Column]>,
    rows: Vec<Row>,
    affected: u64,
}

impl Rows {
    /// Builds a result from columns and raw rows.
    pub(crate) fn new(columns: Vec<Column>, rows: Vec<Vec<Value>>, affected: u64) -> Rows {
        let columns: Arc<[Column]> = columns.into();
        let rows = rows
            .into_iter()
            .map(|values| Row {
                columns: Arc::clone(&columns),
                values,
            })
            .collect();
        Rows {
            columns,
            rows,
            affected,
        }
    }

    /// The columns (names and types).
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Rows inserted, updated or deleted by a DML statement (with or without
    /// RETURNING); for a query, the number of rows.
    pub fn rows_affected(&self) -> u64 {
        self.affected
    }

    /// The rows as raw values (handy in tests).
    pub fn values(&self) -> Vec<Vec<Value>> {
        self.rows.iter().map(|r| r.values.clone()).collect()
    }
}

impl Deref for Rows {
    type Target = [Row];
    fn deref(&self) -> &[Row] {
        &self.rows
    }
}

impl IntoIterator for Rows {
    type Item = Row;
    type IntoIter = std::vec::IntoIter<Row>;
    fn into_iter(self) -> Self::IntoIter {
        self.rows.into_iter()
    }
}

impl<'a> IntoIterator for &'a Rows {
    type Item = &'a Row;
    type IntoIter = std::slice::Iter<'a, Row>;
    fn into_iter(self) -> Self::IntoIter {
        self.rows.iter()
    }
}
