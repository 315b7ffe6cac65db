//! Reading and writing the catalog through a transaction.
//!
//! Catalog rows, in the catalog's own keyspace (keys are memcomparable
//! tuples):
//!
//! ```text
//!   ('table', name)   -> codec::encode_table(TableDef)
//!   ('index', name)   -> enc(table name)        (index names are database-wide)
//!   ('next_id')       -> enc(next free keyspace id)
//!   ('row_id_epoch')  -> enc(epoch of hidden row ids, bumped at each open)
//! ```
//!
//! In a database of several shards the catalog is the same on every shard:
//! every write goes to each shard's catalog keyspace (in the same
//! transaction, so DDL commits on all of them or none), and reads — and
//! the locks that order DDL — use shard 0's copy.
//!
//! Ids are handed out with `get_for_update` on `('next_id')`: two
//! transactions creating objects at once take turns on that row (or one
//! gets 40001), so no id is ever used twice. Creating a table first locks
//! its `('table', name)` row the same way, so a concurrent CREATE of the
//! same name waits and then sees the table (42P07).

use isodb_engine::cluster::ClusterTransaction as Transaction;
use isodb_engine::txn::Keyspace;
use isodb_engine::txn::keyspace::SHARD_MASK;

use crate::catalog::TableDef;
use crate::catalog::codec::{decode_table, encode_table};
use crate::encoding::{decode_key, encode_key};
use crate::error::{Error, Result};
use crate::types::Value;

/// The first keyspace id given to tables and indexes; far above the ids
/// the engine hands out for named keyspaces.
pub const FIRST_OBJECT_ID: u32 = 1 << 20;

/// The catalog of one database: a handle on its keyspace (shard 0's; the
/// same keyspace number on every shard), and the shard count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Catalog {
    keyspace: Keyspace,
    shards: u16,
}

fn table_key(name: &str) -> Vec<u8> {
    encode_key(&[Value::from("table"), Value::from(name)])
}

fn index_key(name: &str) -> Vec<u8> {
    encode_key(&[Value::from("index"), Value::from(name)])
}

fn counter_key(name: &str) -> Vec<u8> {
    encode_key(&[Value::from(name)])
}

/// Reads a stored counter value.
fn decode_counter(bytes: &[u8]) -> Result<i64> {
    match decode_key(bytes)?.as_slice() {
        [Value::Integer(n)] => Ok(*n),
        _ => Err(Error::corrupt("catalog entry", 0, "bad counter")),
    }
}

impl Catalog {
    /// The catalog stored in `keyspace` (on shard 0, and under the same
    /// number on each of `shards` shards).
    pub fn new(keyspace: Keyspace, shards: u16) -> Catalog {
        Catalog {
            keyspace: keyspace.on_shard(0),
            shards: shards.max(1),
        }
    }

    /// The keyspace the catalog's rows are read from (shard 0's).
    pub fn keyspace(&self) -> Keyspace {
        self.keyspace
    }

    /// Shards of the database.
    pub fn shards(&self) -> u16 {
        self.shards
    }

    /// Writes a catalog row on every shard.
    fn put(&self, txn: &mut Transaction, key: &[u8], value: &[u8]) -> Result<()> {
        for shard in 0..self.shards {
            txn.put(self.keyspace.on_shard(shard), key, value)?;
        }
        Ok(())
    }

    /// Deletes a catalog row on every shard.
    fn delete(&self, txn: &mut Transaction, key: &[u8]) -> Result<()> {
        for shard in 0..self.shards {
            txn.delete(self.keyspace.on_shard(shard), key)?;
        }
        Ok(())
    }

    /// The definition of table `name`, if it exists for this transaction.
    pub fn table(&self, txn: &mut Transaction, name: &str) -> Result<Option<TableDef>> {
        match txn.get(self.keyspace, &table_key(name))? {
            Some(bytes) => decode_table(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The stored (encoded) definition of table `name`, without decoding
    /// it: what a cached plan compares to see that its tables are unchanged.
    pub fn table_bytes(&self, txn: &mut Transaction, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(txn.get(self.keyspace, &table_key(name))?)
    }

    /// Like [`Catalog::table`], but locks the catalog row first, so a
    /// concurrent DDL statement on the same name waits for this one.
    pub fn table_for_update(&self, txn: &mut Transaction, name: &str) -> Result<Option<TableDef>> {
        match txn.get_for_update(self.keyspace, &table_key(name))? {
            Some(bytes) => decode_table(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Every table this transaction sees, ordered by name (the system
    /// catalogs' source). At SERIALIZABLE the read covers the whole range of
    /// table rows, so concurrent DDL conflicts with it.
    pub fn tables(&self, txn: &mut Transaction) -> Result<Vec<TableDef>> {
        let lower = encode_key(&[Value::from("table")]);
        let upper = crate::encoding::prefix_successor(&lower);
        let range = (
            std::ops::Bound::Included(lower.as_slice()),
            match &upper {
                Some(upper) => std::ops::Bound::Excluded(upper.as_slice()),
                None => std::ops::Bound::Unbounded,
            },
        );
        let mut tables = Vec::new();
        for row in txn.scan(self.keyspace, range)? {
            let (_, bytes) = row?;
            tables.push(decode_table(&bytes)?);
        }
        Ok(tables)
    }

    /// The definition of table `name`, or 42P01.
    pub fn require_table(&self, txn: &mut Transaction, name: &str) -> Result<TableDef> {
        self.table(txn, name)?
            .ok_or_else(|| Error::UndefinedTable(name.to_string()))
    }

    /// Writes (creates or replaces) a table definition and the name rows of
    /// its indexes.
    pub fn put_table(&self, txn: &mut Transaction, table: &TableDef) -> Result<()> {
        self.put(txn, &table_key(&table.name), &encode_table(table))?;
        for index in &table.indexes {
            self.put(
                txn,
                &index_key(&index.name),
                &encode_key(&[Value::from(table.name.as_str())]),
            )?;
        }
        Ok(())
    }

    /// Removes a table definition and its indexes' name rows.
    pub fn delete_table(&self, txn: &mut Transaction, table: &TableDef) -> Result<()> {
        self.delete(txn, &table_key(&table.name))?;
        for index in &table.indexes {
            self.delete(txn, &index_key(&index.name))?;
        }
        Ok(())
    }

    /// The table an index belongs to, locking the index's name row.
    pub fn index_table_for_update(
        &self,
        txn: &mut Transaction,
        index: &str,
    ) -> Result<Option<String>> {
        match txn.get_for_update(self.keyspace, &index_key(index))? {
            Some(bytes) => match decode_key(&bytes)?.as_slice() {
                [Value::Text(table)] => Ok(Some(table.clone())),
                _ => Err(Error::corrupt("catalog entry", 0, "bad index entry")),
            },
            None => Ok(None),
        }
    }

    /// Removes an index's name row.
    pub fn delete_index_name(&self, txn: &mut Transaction, index: &str) -> Result<()> {
        self.delete(txn, &index_key(index))
    }

    /// Hands out a fresh keyspace id for a table or index.
    pub fn allocate_id(&self, txn: &mut Transaction) -> Result<u32> {
        let key = counter_key("next_id");
        let next = match txn.get_for_update(self.keyspace, &key)? {
            Some(bytes) => decode_counter(&bytes)?,
            None => i64::from(FIRST_OBJECT_ID),
        };
        // The top byte of a keyspace id is its shard.
        let id = u32::try_from(next)
            .ok()
            .filter(|id| *id < SHARD_MASK)
            .ok_or_else(|| Error::corrupt("catalog entry", 0, "keyspace ids exhausted"))?;
        self.put(txn, &key, &encode_key(&[Value::Integer(next + 1)]))?;
        Ok(id)
    }

    /// Bumps and returns the hidden-row-id epoch (called once per open).
    pub fn next_row_id_epoch(&self, txn: &mut Transaction) -> Result<i64> {
        let key = counter_key("row_id_epoch");
        let epoch = match txn.get_for_update(self.keyspace, &key)? {
            Some(bytes) => decode_counter(&bytes)? + 1,
            None => 1,
        };
        self.put(txn, &key, &encode_key(&[Value::Integer(epoch)]))?;
        Ok(epoch)
    }
}
