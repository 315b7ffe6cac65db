//! How a [`TableDef`] is stored: one tuple of values in the memcomparable
//! key encoding (self-delimiting, so the whole definition is a flat list):
//!
//! ```text
//!   1 (format version), id, name, column_count,
//!     per column: name, type name, nullable, default text or NULL,
//!   pk_count, pk positions...,
//!   index_count,
//!     per index: id, name, unique, column_count, positions...
//!   distribution (format 2): 'key' | 'hash', count, positions... |
//!                            'range', column, bound_count, bounds...
//!
//!   CREATE TABLE t (id INT PRIMARY KEY, v TEXT DEFAULT 'x')  (id 1048576)
//!   -> (1, 1048576, 't', 2, 'id', 'INTEGER', false, NULL,
//!       'v', 'TEXT', true, '''x''', 1, 0, 0)
//! ```
//!
//! Format 1 (before shards) has no distribution: it reads as 'key', the
//! hash of the primary key. Decoding checks every field and reports [`Error::Corrupt`] on anything
//! unexpected; it never panics.

use crate::catalog::{ColumnDef, Distribution, IndexDef, TableDef};
use crate::encoding::{decode_key, encode_key};
use crate::error::{Error, Result};
use crate::types::{DataType, Value};

/// The format version written first.
const FORMAT_VERSION: i64 = 2;
/// The format before shards: no distribution.
const FORMAT_V1: i64 = 1;

/// Encodes a table definition.
pub fn encode_table(table: &TableDef) -> Vec<u8> {
    let mut values = vec![
        Value::Integer(FORMAT_VERSION),
        Value::Integer(i64::from(table.id)),
        Value::from(table.name.as_str()),
        Value::Integer(table.columns.len() as i64),
    ];
    for column in &table.columns {
        values.push(Value::from(column.name.as_str()));
        values.push(Value::Text(column.data_type.to_string()));
        values.push(Value::Boolean(column.nullable));
        values.push(Value::from(column.default.clone()));
    }
    values.push(Value::Integer(table.primary_key.len() as i64));
    values.extend(table.primary_key.iter().map(|&i| Value::Integer(i as i64)));
    values.push(Value::Integer(table.indexes.len() as i64));
    for index in &table.indexes {
        values.push(Value::Integer(i64::from(index.id)));
        values.push(Value::from(index.name.as_str()));
        values.push(Value::Boolean(index.unique));
        values.push(Value::Integer(index.columns.len() as i64));
        values.extend(index.columns.iter().map(|&i| Value::Integer(i as i64)));
    }
    match &table.distribution {
        Distribution::PrimaryKey => {
            values.push(Value::from("key"));
            values.push(Value::Integer(0));
        }
        Distribution::Hash(columns) => {
            values.push(Value::from("hash"));
            values.push(Value::Integer(columns.len() as i64));
            values.extend(columns.iter().map(|&i| Value::Integer(i as i64)));
        }
        Distribution::Range { column, bounds } => {
            values.push(Value::from("range"));
            values.push(Value::Integer(*column as i64));
            values.push(Value::Integer(bounds.len() as i64));
            values.extend(bounds.iter().cloned());
        }
    }
    encode_key(&values)
}

/// Decodes a table definition written by [`encode_table`].
pub fn decode_table(bytes: &[u8]) -> Result<TableDef> {
    let values = decode_key(bytes)?;
    let mut reader = Fields {
        values: values.into_iter(),
        position: 0,
    };
    let version = reader.integer()?;
    if version != FORMAT_VERSION && version != FORMAT_V1 {
        return Err(corrupt(0, format!("unknown format version {version}")));
    }
    let id = reader.id()?;
    let name = reader.text()?;
    let column_count = reader.count()?;
    let mut columns = Vec::with_capacity(column_count.min(1024));
    for _ in 0..column_count {
        let name = reader.text()?;
        let type_name = reader.text()?;
        let data_type = DataType::from_sql_name(&type_name)
            .ok_or_else(|| corrupt(reader.position, format!("unknown type {type_name}")))?;
        let nullable = reader.boolean()?;
        let default = reader.optional_text()?;
        columns.push(ColumnDef {
            name,
            data_type,
            nullable,
            default,
        });
    }
    let primary_key = reader.positions(columns.len())?;
    let index_count = reader.count()?;
    let mut indexes = Vec::with_capacity(index_count.min(1024));
    for _ in 0..index_count {
        let id = reader.id()?;
        let name = reader.text()?;
        let unique = reader.boolean()?;
        let columns = reader.positions(columns.len())?;
        indexes.push(IndexDef {
            id,
            name,
            columns,
            unique,
        });
    }
    let distribution = if version == FORMAT_V1 {
        Distribution::PrimaryKey
    } else {
        match reader.text()?.as_str() {
            "key" => {
                reader.positions(0)?;
                Distribution::PrimaryKey
            }
            "hash" => Distribution::Hash(reader.positions(columns.len())?),
            "range" => {
                let column = reader.count()?;
                if column >= columns.len() {
                    return Err(corrupt(reader.position, "range column out of range"));
                }
                let count = reader.count()?;
                let mut bounds = Vec::with_capacity(count.min(256));
                for _ in 0..count {
                    bounds.push(reader.next()?);
                }
                Distribution::Range { column, bounds }
            }
            other => {
                return Err(corrupt(
                    reader.position,
                    format!("unknown distribution {other}"),
                ));
            }
        }
    };
    if reader.values.next().is_some() {
        return Err(corrupt(reader.position, "trailing fields"));
    }
    Ok(TableDef {
        id,
        name,
        columns,
        primary_key,
        indexes,
        distribution,
    })
}

fn corrupt(position: usize, reason: impl Into<String>) -> Error {
    Error::corrupt("catalog entry", position, reason)
}

/// A cursor over the decoded fields, each read checked for its type.
struct Fields {
    values: std::vec::IntoIter<Value>,
    position: usize,
}

impl Fields {
    fn next(&mut self) -> Result<Value> {
        self.position += 1;
        self.values
            .next()
            .ok_or_else(|| corrupt(self.position, "missing field"))
    }

    fn integer(&mut self) -> Result<i64> {
        match self.next()? {
            Value::Integer(i) => Ok(i),
            other => Err(corrupt(
                self.position,
                format!("expected an integer, found {}", other.type_name()),
            )),
        }
    }

    fn id(&mut self) -> Result<u32> {
        let value = self.integer()?;
        u32::try_from(value).map_err(|_| corrupt(self.position, format!("bad id {value}")))
    }

    fn count(&mut self) -> Result<usize> {
        let value = self.integer()?;
        usize::try_from(value).map_err(|_| corrupt(self.position, format!("bad count {value}")))
    }

    fn positions(&mut self, column_count: usize) -> Result<Vec<usize>> {
        let count = self.count()?;
        let mut positions = Vec::with_capacity(count.min(1024));
        for _ in 0..count {
            let position = self.count()?;
            if position >= column_count {
                return Err(corrupt(
                    self.position,
                    format!("column position {position} out of range"),
                ));
            }
            positions.push(position);
        }
        Ok(positions)
    }

    fn text(&mut self) -> Result<String> {
        match self.next()? {
            Value::Text(s) => Ok(s),
            other => Err(corrupt(
                self.position,
                format!("expected text, found {}", other.type_name()),
            )),
        }
    }

    fn optional_text(&mut self) -> Result<Option<String>> {
        match self.next()? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s)),
            other => Err(corrupt(
                self.position,
                format!("expected text or NULL, found {}", other.type_name()),
            )),
        }
    }

    fn boolean(&mut self) -> Result<bool> {
        match self.next()? {
            Value::Boolean(b) => Ok(b),
            other => Err(corrupt(
                self.position,
                format!("expected a boolean, found {}", other.type_name()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TableDef {
        TableDef {
            id: 1 << 20,
            name: "t".into(),
            columns: vec![
                ColumnDef {
                    name: "id".into(),
                    data_type: DataType::Integer,
                    nullable: false,
                    default: None,
                },
                ColumnDef {
                    name: "v".into(),
                    data_type: DataType::Text,
                    nullable: true,
                    default: Some("'x'".into()),
                },
            ],
            primary_key: vec![0],
            indexes: vec![IndexDef {
                id: (1 << 20) + 1,
                name: "t_v".into(),
                columns: vec![1],
                unique: true,
            }],
            distribution: Distribution::PrimaryKey,
        }
    }

    #[test]
    fn definitions_round_trip() {
        let mut table = sample();
        assert_eq!(
            decode_table(&encode_table(&table)).ok(),
            Some(table.clone())
        );
        table.distribution = Distribution::Hash(vec![1]);
        assert_eq!(
            decode_table(&encode_table(&table)).ok(),
            Some(table.clone())
        );
        table.distribution = Distribution::Range {
            column: 0,
            bounds: vec![Value::Integer(10), Value::Integer(20)],
        };
        assert_eq!(decode_table(&encode_table(&table)).ok(), Some(table));
    }

    #[test]
    fn format_1_definitions_read_as_placed_by_primary_key() {
        let v1 = encode_key(&[
            Value::Integer(1),
            Value::Integer(1 << 20),
            Value::from("t"),
            Value::Integer(1),
            Value::from("id"),
            Value::from("INTEGER"),
            Value::Boolean(false),
            Value::Null,
            Value::Integer(1),
            Value::Integer(0),
            Value::Integer(0),
        ]);
        let table = decode_table(&v1).expect("v1");
        assert_eq!(table.distribution, Distribution::PrimaryKey);
        assert_eq!(table.primary_key, vec![0]);
    }

    #[test]
    fn damaged_definitions_are_corrupt_not_panics() {
        let bytes = encode_table(&sample());
        for cut in 0..bytes.len() {
            assert!(decode_table(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut wrong = sample();
        wrong.primary_key = vec![7];
        let error = decode_table(&encode_table(&wrong)).err();
        assert_eq!(error.map(|e| e.sqlstate()), Some("XX001"));
    }
}
