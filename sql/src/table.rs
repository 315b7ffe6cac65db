//! The row store: how a table's rows and index entries sit in the engine,
//! and the checks every write makes (NOT NULL, primary key, UNIQUE).
//!
//! ```text
//!   table keyspace (TableDef::id)
//!     enc(primary key values)    -> encode_row(all columns)
//!     enc(row id)                -> encode_row(all columns)      (no primary key)
//!
//!   index keyspace (IndexDef::id), for index columns v and primary key p
//!     enc(v ++ p)                -> ''                            non-unique, or v has a NULL
//!     enc(v)                     -> enc(p)                        unique and v has no NULL
//! ```
//!
//! A unique entry is keyed by the indexed values alone, so two rows with
//! the same values collide on one engine key: the insert writes it with
//! `Transaction::insert`, which takes the key's lock first and writes only
//! if no entry is there. A concurrent
//! transaction inserting the same value waits, then sees the first one's
//! entry (or fails with 40001 at REPEATABLE READ and SERIALIZABLE), so
//! uniqueness holds under every isolation level. Entries with a NULL never
//! collide (NULLs are distinct, as in PostgreSQL) and use the other form.
//! Both forms start with `enc(v)`, so one range scan of the index reads
//! both; [`index_entry_values`] tells them apart by the number of
//! values in the key.
//!
//! In a database of several shards a table has one keyspace per shard (the
//! same number, with the shard in its top byte): a row and its index
//! entries are written on the row's shard ([`crate::placement`]).

use isodb_engine::cluster::ClusterTransaction as Transaction;
use isodb_engine::txn::Keyspace;

use crate::catalog::{IndexDef, TableDef};
use crate::encoding::{decode_key, decode_row, encode_columns, encode_key, encode_row};
use crate::error::{Error, Result};
use crate::placement::row_shard;
use crate::types::Value;

/// The keyspace of a table's rows on `shard`.
pub fn table_keyspace(table: &TableDef, shard: u16) -> Keyspace {
    Keyspace::new(table.id).on_shard(shard)
}

/// The keyspace of an index's entries on `shard`.
pub fn index_keyspace(index: &IndexDef, shard: u16) -> Keyspace {
    Keyspace::new(index.id).on_shard(shard)
}

/// The table's keyspace on every one of `shards` shards.
pub fn table_keyspaces(table: &TableDef, shards: u16) -> Vec<Keyspace> {
    (0..shards.max(1))
        .map(|s| table_keyspace(table, s))
        .collect()
}

/// The index's keyspace on every one of `shards` shards.
pub fn index_keyspaces(index: &IndexDef, shards: u16) -> Vec<Keyspace> {
    (0..shards.max(1))
        .map(|s| index_keyspace(index, s))
        .collect()
}

/// The engine key of a row: its primary key (or row id), encoded.
pub fn row_key(table: &TableDef, row: &[Value], row_id: Option<i64>) -> Vec<u8> {
    if table.has_row_id() {
        return encode_key(&[Value::Integer(row_id.unwrap_or_default())]);
    }
    encode_columns(row, &table.primary_key, &[])
}

/// Decodes a stored row; with `with_row_id` the row id (from the key) is
/// appended as an extra column.
pub fn decode_stored_row(
    table: &TableDef,
    key: &[u8],
    value: &[u8],
    with_row_id: bool,
) -> Result<Vec<Value>> {
    let mut row = decode_row(value, &table.schema())?;
    if with_row_id {
        let id = match decode_key(key)?.as_slice() {
            [Value::Integer(id)] => *id,
            _ => return Err(Error::corrupt("key", 0, "expected a row id")),
        };
        row.push(Value::Integer(id));
    }
    Ok(row)
}

/// The key and value of a row's entry in `index`, given the row's key
/// `row_key`: a unique index maps its columns to the row key; any other
/// index entry (and a unique one with a NULL) is its columns followed by
/// the row key, with an empty value. (Keys concatenate, so the entry key
/// is the key of the index columns and the primary-key columns together.)
fn index_entry(index: &IndexDef, row: &[Value], row_key: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let has_null = index
        .columns
        .iter()
        .any(|&i| row.get(i).is_none_or(Value::is_null));
    if index.unique && !has_null {
        (encode_columns(row, &index.columns, &[]), row_key.to_vec())
    } else {
        (encode_columns(row, &index.columns, row_key), Vec::new())
    }
}

/// The values an index entry holds: its index columns' and the primary
/// key's (of the row it points to).
pub fn index_entry_values(
    index: &IndexDef,
    key: &[u8],
    value: &[u8],
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut indexed = decode_key(key)?;
    if indexed.len() > index.columns.len() {
        let pk = indexed.split_off(index.columns.len());
        Ok((indexed, pk))
    } else {
        Ok((indexed, decode_key(value)?))
    }
}

/// Text of values for a constraint message: `(a, b)=(1, x)`.
fn key_detail(table: &TableDef, columns: &[usize], row: &[Value]) -> String {
    let values: Vec<String> = columns
        .iter()
        .map(|&i| row.get(i).map(ToString::to_string).unwrap_or_default())
        .collect();
    format!(
        "Key ({})=({}) already exists.",
        table.column_names(columns),
        values.join(", ")
    )
}

/// Checks NOT NULL for every column of `row`.
pub fn check_not_null(table: &TableDef, row: &[Value]) -> Result<()> {
    for (column, value) in table.columns.iter().zip(row) {
        if !column.nullable && value.is_null() {
            return Err(Error::NotNullViolation {
                table: table.name.clone(),
                column: column.name.clone(),
            });
        }
    }
    Ok(())
}

/// Inserts a row (already coerced to the column types) and its index
/// entries, checking NOT NULL, the primary key and unique indexes.
pub fn insert_row(
    txn: &mut Transaction,
    table: &TableDef,
    row: &[Value],
    row_id: Option<i64>,
    shards: u16,
) -> Result<()> {
    check_not_null(table, row)?;
    let bytes = encode_row(row, &table.schema())?;
    let key = row_key(table, row, row_id);
    let shard = row_shard(table, row, row_id, shards);
    let keyspace = table_keyspace(table, shard);
    if table.has_row_id() {
        txn.put(keyspace, &key, &bytes)?;
    } else if !txn.insert(keyspace, &key, &bytes)? {
        return Err(Error::UniqueViolation {
            constraint: table.primary_key_name(),
            detail: key_detail(table, &table.primary_key, row),
        });
    }
    for index in &table.indexes {
        insert_index_entry(txn, table, index, row, &key, shard)?;
    }
    Ok(())
}

/// Writes one index entry of `row` (on the row's shard), checking a unique
/// index first.
fn insert_index_entry(
    txn: &mut Transaction,
    table: &TableDef,
    index: &IndexDef,
    row: &[Value],
    row_key: &[u8],
    shard: u16,
) -> Result<()> {
    let (entry_key, entry_value) = index_entry(index, row, row_key);
    let index_space = index_keyspace(index, shard);
    if entry_value.is_empty() {
        txn.put(index_space, &entry_key, &entry_value)?;
    } else if !txn.insert(index_space, &entry_key, &entry_value)? {
        return Err(Error::UniqueViolation {
            constraint: index.name.clone(),
            detail: key_detail(table, &index.columns, row),
        });
    }
    Ok(())
}

/// One row an UPDATE changes: its old and new values and its row id.
pub struct RowChange {
    /// The row as it was.
    pub old: Vec<Value>,
    /// The row as the UPDATE leaves it (coerced to the column types).
    pub new: Vec<Value>,
    /// The hidden row id of a table without a primary key.
    pub row_id: Option<i64>,
}

/// Applies an UPDATE's changes, checking constraints as of the end of the
/// statement (so values may swap between rows).
///
/// A row whose primary key (and shard) stays is written over its key and
/// is never absent, not even to a READ UNCOMMITTED reader in the middle of
/// the statement; only the index entries whose keys change are moved. A row
/// whose primary key or shard changes moves: its old key is deleted before
/// any new key is written, so keys may swap between rows too.
pub fn update_rows(
    txn: &mut Transaction,
    table: &TableDef,
    changes: &[RowChange],
    shards: u16,
) -> Result<()> {
    let mut moved = Vec::with_capacity(changes.len());
    // First every old entry that goes away: index entries whose key
    // changes, and the rows whose primary key or shard changes.
    for change in changes {
        let old_pk = row_key(table, &change.old, change.row_id);
        let new_pk = row_key(table, &change.new, change.row_id);
        let old_shard = row_shard(table, &change.old, change.row_id, shards);
        let new_shard = row_shard(table, &change.new, change.row_id, shards);
        let row_moves = old_pk != new_pk || old_shard != new_shard;
        for index in &table.indexes {
            let (old_key, _) = index_entry(index, &change.old, &old_pk);
            let (new_key, _) = index_entry(index, &change.new, &new_pk);
            if row_moves || old_key != new_key {
                txn.delete(index_keyspace(index, old_shard), &old_key)?;
            }
        }
        if row_moves {
            txn.delete(table_keyspace(table, old_shard), &old_pk)?;
        }
        moved.push((old_pk, new_pk, row_moves, new_shard));
    }
    // Then every new entry, with its checks.
    for (change, (old_pk, new_pk, row_moves, shard)) in changes.iter().zip(moved) {
        if row_moves {
            insert_row(txn, table, &change.new, change.row_id, shards)?;
            continue;
        }
        check_not_null(table, &change.new)?;
        let bytes = encode_row(&change.new, &table.schema())?;
        for index in &table.indexes {
            let (old_key, _) = index_entry(index, &change.old, &old_pk);
            let (new_key, new_value) = index_entry(index, &change.new, &new_pk);
            if old_key != new_key {
                insert_index_entry(txn, table, index, &change.new, &new_pk, shard)?;
            } else if new_value != index_entry(index, &change.old, &old_pk).1 {
                txn.put(index_keyspace(index, shard), &new_key, &new_value)?;
            }
        }
        txn.put(table_keyspace(table, shard), &new_pk, &bytes)?;
    }
    Ok(())
}

/// Deletes a row and its index entries.
pub fn delete_row(
    txn: &mut Transaction,
    table: &TableDef,
    row: &[Value],
    row_id: Option<i64>,
    shards: u16,
) -> Result<()> {
    let key = row_key(table, row, row_id);
    let shard = row_shard(table, row, row_id, shards);
    for index in &table.indexes {
        let (entry_key, _) = index_entry(index, row, &key);
        txn.delete(index_keyspace(index, shard), &entry_key)?;
    }
    txn.delete(table_keyspace(table, shard), &key)?;
    Ok(())
}

/// Writes the entries of a new index for every existing row (on each row's
/// shard).
pub fn build_index(
    txn: &mut Transaction,
    table: &TableDef,
    index: &IndexDef,
    shards: u16,
) -> Result<()> {
    for shard in 0..shards.max(1) {
        let rows: Vec<(Vec<u8>, Vec<u8>)> = txn
            .scan(table_keyspace(table, shard), ..)?
            .collect::<std::result::Result<_, _>>()?;
        let index_space = index_keyspace(index, shard);
        for (key, value) in rows {
            let row = decode_row(&value, &table.schema())?;
            let (entry_key, entry_value) = index_entry(index, &row, &key);
            if !entry_value.is_empty() && txn.get_for_update(index_space, &entry_key)?.is_some() {
                return Err(Error::UniqueViolation {
                    constraint: index.name.clone(),
                    detail: key_detail(table, &index.columns, &row),
                });
            }
            txn.put(index_space, &entry_key, &entry_value)?;
        }
    }
    Ok(())
}

/// Deletes every key of a keyspace on every shard (the rows of a dropped
/// table or the entries of a dropped index); `keyspaces` has one per shard.
pub fn clear_keyspaces(txn: &mut Transaction, keyspaces: &[Keyspace]) -> Result<()> {
    for &keyspace in keyspaces {
        let keys: Vec<Vec<u8>> = txn
            .scan(keyspace, ..)?
            .map(|entry| entry.map(|(key, _)| key))
            .collect::<std::result::Result<_, _>>()?;
        for key in keys {
            txn.delete(keyspace, &key)?;
        }
    }
    Ok(())
}
