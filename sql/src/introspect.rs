//! Read-only catalog introspection for tools (the `isodb` shell's `\dt`,
//! `\d`, `\di` and its tab completion): which tables exist, with their
//! columns, primary keys and indexes, as plain names rather than the
//! catalog's column positions.
//!
//! Each call reads the committed catalog in a fresh read-only
//! READ COMMITTED transaction, so it never blocks, never conflicts with a
//! running transaction and never sees uncommitted DDL:
//!
//! ```text
//!   CREATE TABLE t (id INT PRIMARY KEY, name TEXT NOT NULL); CREATE INDEX t_name ON t (name);
//!
//!   db.tables() -> [TableInfo { name: "t", keyspace: 1048576,
//!                               columns: [id INTEGER not null, name TEXT not null],
//!                               primary_key: ["id"],
//!                               indexes: [IndexInfo { name: "t_name", columns: ["name"], .. }] }]
//! ```
//!
//! The `keyspace` numbers let a tool name the table behind a locked engine
//! key (an engine key is its keyspace number, 4 bytes big-endian, followed
//! by the encoded primary key). A lock on a whole table or index (a
//! transaction that escalated its row locks, or one waiting for it) has a
//! key of its own; [`locked_keyspace`] tells which keyspace it locks.

use std::ops::Bound;

use isodb_engine::txn::{IsolationLevel, Keyspace, TransactionOptions};

/// The keyspace number a lock on a whole keyspace locks, when `lock_key`
/// is such a lock's key (and not a row's).
pub fn locked_keyspace(lock_key: &[u8]) -> Option<u32> {
    Keyspace::locked_by(lock_key).map(Keyspace::id)
}

use crate::catalog::TableDef;
use crate::catalog::codec::decode_table;
use crate::database::Database;
use crate::encoding::{encode_key, prefix_successor};
use crate::error::Result;
use crate::types::{DataType, Value};

/// A column of a table, as [`Database::tables`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column's name.
    pub name: String,
    /// Its type.
    pub data_type: DataType,
    /// False for NOT NULL (and primary-key) columns.
    pub nullable: bool,
    /// The DEFAULT expression as SQL text.
    pub default: Option<String>,
}

/// A secondary index, as [`Database::tables`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// Its name.
    pub name: String,
    /// The engine keyspace of its entries.
    pub keyspace: u32,
    /// The indexed columns by name, in index order.
    pub columns: Vec<String>,
    /// True for a UNIQUE index.
    pub unique: bool,
}

/// A table, as [`Database::tables`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// Its name.
    pub name: String,
    /// The engine keyspace of its rows.
    pub keyspace: u32,
    /// Its columns in order.
    pub columns: Vec<ColumnInfo>,
    /// The primary-key columns by name; empty when rows have a hidden row id.
    pub primary_key: Vec<String>,
    /// Its secondary indexes.
    pub indexes: Vec<IndexInfo>,
    /// How its rows are placed on shards, in words ("one shard", "hash of
    /// the primary key (id) over 4 shards", ...).
    pub distribution: String,
}

fn names(table: &TableDef, positions: &[usize]) -> Vec<String> {
    positions
        .iter()
        .filter_map(|&i| table.columns.get(i).map(|c| c.name.clone()))
        .collect()
}

impl From<TableDef> for TableInfo {
    fn from(table: TableDef) -> TableInfo {
        let indexes = table
            .indexes
            .iter()
            .map(|index| IndexInfo {
                name: index.name.clone(),
                keyspace: index.id,
                columns: names(&table, &index.columns),
                unique: index.unique,
            })
            .collect();
        let primary_key = names(&table, &table.primary_key);
        TableInfo {
            name: table.name,
            keyspace: table.id,
            columns: table
                .columns
                .into_iter()
                .map(|c| ColumnInfo {
                    name: c.name,
                    data_type: c.data_type,
                    nullable: c.nullable,
                    default: c.default,
                })
                .collect(),
            primary_key,
            indexes,
            distribution: String::new(),
        }
    }
}

impl Database {
    /// Every committed table with its columns, primary key and indexes,
    /// ordered by name.
    pub fn tables(&self) -> Result<Vec<TableInfo>> {
        let keyspace = self.catalog().keyspace();
        let mut txn = self.cluster().begin_with(TransactionOptions {
            level: IsolationLevel::ReadCommitted,
            read_only: true,
        });
        let lower = encode_key(&[Value::from("table")]);
        let upper = prefix_successor(&lower);
        let upper_bound = match &upper {
            Some(upper) => Bound::Excluded(upper.as_slice()),
            None => Bound::Unbounded,
        };
        let range = (Bound::Included(lower.as_slice()), upper_bound);
        let scanned: Result<Vec<TableInfo>> = match txn.scan(keyspace, range) {
            Ok(scan) => scan
                .map(|row| {
                    let (_, bytes) = row?;
                    let table = decode_table(&bytes)?;
                    let distribution = crate::placement::describe(&table, self.shard_count());
                    Ok(TableInfo {
                        distribution,
                        ..TableInfo::from(table)
                    })
                })
                .collect(),
            Err(error) => Err(error.into()),
        };
        txn.rollback()?;
        let mut tables = scanned?;
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(tables)
    }

    /// The committed table called `name`, if there is one.
    pub fn table(&self, name: &str) -> Result<Option<TableInfo>> {
        Ok(self.tables()?.into_iter().find(|t| t.name == name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_lists_committed_tables_with_columns_keys_and_indexes() -> Result<()> {
        let db = Database::open_temporary()?;
        let mut session = db.session();
        session.execute(
            "CREATE TABLE person (id INT PRIMARY KEY, name TEXT NOT NULL, age INT DEFAULT 0);
             CREATE UNIQUE INDEX person_name ON person (name);
             CREATE TABLE log (line TEXT)",
        )?;
        let tables = db.tables()?;
        let listed: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(listed, ["log", "person"]);

        let person = db.table("person")?.expect("person exists");
        let columns: Vec<(&str, DataType, bool)> = person
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.data_type, c.nullable))
            .collect();
        assert_eq!(
            columns,
            [
                ("id", DataType::Integer, false),
                ("name", DataType::Text, false),
                ("age", DataType::Integer, true)
            ]
        );
        assert_eq!(person.columns[2].default.as_deref(), Some("0"));
        assert_eq!(person.primary_key, ["id"]);
        assert_eq!(person.indexes.len(), 1);
        assert_eq!(person.indexes[0].name, "person_name");
        assert_eq!(person.indexes[0].columns, ["name"]);
        assert!(person.indexes[0].unique);
        assert_ne!(person.indexes[0].keyspace, person.keyspace);

        let log = db.table("log")?.expect("log exists");
        assert!(log.primary_key.is_empty());
        assert!(db.table("missing")?.is_none());
        Ok(())
    }

    #[test]
    fn uncommitted_and_dropped_tables_are_not_listed() -> Result<()> {
        let db = Database::open_temporary()?;
        let mut writer = db.session();
        writer.execute("CREATE TABLE kept (id INT PRIMARY KEY); CREATE TABLE gone (id INT)")?;
        writer.execute("DROP TABLE gone")?;
        writer.execute("BEGIN; CREATE TABLE pending (id INT)")?;
        let listed: Vec<String> = db.tables()?.into_iter().map(|t| t.name).collect();
        assert_eq!(listed, ["kept"]);
        writer.execute("COMMIT")?;
        let listed: Vec<String> = db.tables()?.into_iter().map(|t| t.name).collect();
        assert_eq!(listed, ["kept", "pending"]);
        Ok(())
    }
}
