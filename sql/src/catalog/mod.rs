//! The catalog: which tables and indexes exist, with their columns, keys
//! and engine keyspaces.
//!
//! - [`TableDef`], [`ColumnDef`], [`IndexDef`]: the schema objects (here).
//! - [`codec`]: how a definition is stored as bytes.
//! - [`store`]: reading and writing definitions through a transaction.
//!
//! The catalog lives in the engine, in one keyspace of its own, and every
//! read and write goes through the statement's transaction. So DDL is
//! transactional for free: a rolled-back CREATE TABLE leaves nothing, a
//! concurrent transaction does not see an uncommitted table, and two
//! transactions creating the same table conflict on its catalog row.
//!
//! Each table stores its rows in a keyspace of its own (numbered by the
//! table's `id`), and each index in another (`IndexDef::id`):
//!
//! ```text
//!   CREATE TABLE t (id INT PRIMARY KEY, name TEXT); CREATE INDEX t_name ON t (name);
//!
//!   catalog keyspace   ('table', 't')      -> TableDef { id: 1048576, indexes: [t_name (id 1048577)] }
//!                      ('index', 't_name') -> 't'
//!                      ('next_id')         -> 1048578
//!   keyspace 1048576   enc(id)             -> row (id, name)
//!   keyspace 1048577   enc(name, id)       -> ''      (non-unique index entry)
//! ```

pub mod codec;
pub mod store;
pub mod system;

use crate::types::DataType;

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// The column's name (lower case unless it was quoted).
    pub name: String,
    /// Its type.
    pub data_type: DataType,
    /// False for NOT NULL (and primary-key) columns.
    pub nullable: bool,
    /// The DEFAULT expression as SQL text, evaluated at each insert.
    pub default: Option<String>,
}

/// A secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    /// The engine keyspace of its entries.
    pub id: u32,
    /// Its name, unique in the database.
    pub name: String,
    /// The indexed columns, as positions in the table.
    pub columns: Vec<usize>,
    /// True for a UNIQUE index (NULLs never collide, as in PostgreSQL).
    pub unique: bool,
}

/// How a table's rows are spread over the shards of a database of several
/// (see [`crate::placement`]). In a database of one shard every row is on
/// shard 0 whatever this says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Distribution {
    /// By a hash of these columns (`PARTITION BY HASH (cols)`).
    Hash(Vec<usize>),
    /// By ranges of one column (`PARTITION BY RANGE (col)`): shard `i`
    /// holds the values from `bounds[i - 1]` (inclusive) up to `bounds[i]`
    /// (exclusive); there are `shards - 1` ascending bounds, and NULL goes
    /// to shard 0.
    Range {
        /// The column.
        column: usize,
        /// The ascending bounds between shards.
        bounds: Vec<crate::types::Value>,
    },
    /// By a hash of the primary key (or the hidden row id): the default.
    #[default]
    PrimaryKey,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    /// The engine keyspace of its rows.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Its columns in order.
    pub columns: Vec<ColumnDef>,
    /// The primary-key columns, as positions; empty when the table has a
    /// hidden row id instead.
    pub primary_key: Vec<usize>,
    /// Its secondary indexes.
    pub indexes: Vec<IndexDef>,
    /// How its rows are placed on shards.
    pub distribution: Distribution,
}

impl TableDef {
    /// The position of the column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The column types in order (the row encoding's schema).
    pub fn schema(&self) -> Vec<DataType> {
        self.columns.iter().map(|c| c.data_type).collect()
    }

    /// True when rows are keyed by a hidden row id.
    pub fn has_row_id(&self) -> bool {
        self.primary_key.is_empty()
    }

    /// The name of the primary-key constraint, as PostgreSQL names it.
    pub fn primary_key_name(&self) -> String {
        format!("{}_pkey", self.name)
    }

    /// Names of the given columns, comma-separated (for messages).
    pub fn column_names(&self, positions: &[usize]) -> String {
        positions
            .iter()
            .filter_map(|&i| self.columns.get(i).map(|c| c.name.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
