//! Reading a table through its access path.
//!
//! Search values are evaluated once, converted to the key column's type,
//! and turned into a byte range of the memcomparable key encoding:
//!
//! ```text
//!   prefix p, next column c:
//!     c >= v   lower Included(enc(p ++ v))       c <= v  upper Excluded(succ(enc(p ++ v)))
//!     c >  v   lower Included(succ(enc(p ++ v))) c <  v  upper Excluded(enc(p ++ v))
//!     none     lower Included(enc(p))            none    upper Excluded(succ(enc(p)))
//! ```
//!
//! (`succ` is [`prefix_successor`]: index keys extend `enc(p ++ v)` with the
//! primary key, so an exclusive bound must skip every extension.)
//!
//! A NULL search value matches nothing. A value that does not convert
//! exactly (`int_col = 1.5`, `int_col < 2.5`) falls back to reading the
//! whole table; the scan's filter, which always re-checks every conjunct,
//! keeps the answer right either way.
//!
//! In a database of several shards a key lookup reads the one shard its key
//! places the row on; any other scan reads one shard when the WHERE clause
//! fixes the shard key ([`crate::placement::pruning`]), and otherwise every
//! shard, merged into one key order. The rows an index entry points to are
//! on the entry's shard, which its primary key tells.

use std::ops::Bound;

use crate::catalog::{IndexDef, TableDef};
use crate::encoding::{encode_key, prefix_successor};
use crate::error::{Error, Result};
use crate::exec::eval::{eval, holds};
use crate::exec::{ExecContext, Row};
use crate::placement::{key_names_shard, key_shard, pruning, shard_key_columns, shard_of};
use crate::plan::{Access, Expr, KeyRange};
use crate::table::{
    decode_stored_row, index_entry_values, index_keyspace, index_keyspaces, table_keyspace,
    table_keyspaces,
};
use crate::types::{DataType, Value};

/// A range of encoded keys.
type ByteRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// Which keys a scan reads.
enum KeyBounds {
    /// No key can match.
    Empty,
    /// Read the whole keyspace (a search value was inexact).
    Everything,
    /// Read this byte range.
    Range(Bound<Vec<u8>>, Bound<Vec<u8>>),
}

/// A search value converted to a key column's type.
enum KeyValue {
    Null,
    Exact(Value),
    Inexact,
}

fn key_value(value: Value, data_type: DataType) -> KeyValue {
    match (value, data_type) {
        (Value::Null, _) => KeyValue::Null,
        (Value::Integer(i), DataType::Double) => {
            let d = i as f64;
            if d as i64 == i && d != 9_223_372_036_854_775_808.0 {
                KeyValue::Exact(Value::Double(d))
            } else {
                KeyValue::Inexact
            }
        }
        (Value::Double(d), DataType::Integer) => {
            if d.fract() == 0.0
                && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&d)
            {
                KeyValue::Exact(Value::Integer(d as i64))
            } else {
                KeyValue::Inexact
            }
        }
        (value, t) if value.data_type() == Some(t) => KeyValue::Exact(value),
        _ => KeyValue::Inexact,
    }
}

/// Evaluates a search expression for key column `data_type`.
fn search_value(expr: &Expr, data_type: DataType, ctx: &mut ExecContext) -> Result<KeyValue> {
    Ok(key_value(eval(expr, &[], ctx)?, data_type))
}

fn after(bytes: Vec<u8>) -> Bound<Vec<u8>> {
    match prefix_successor(&bytes) {
        Some(successor) => Bound::Excluded(successor),
        None => Bound::Unbounded,
    }
}

/// The byte range of `range` over key columns of `types`.
fn key_bounds(types: &[DataType], range: &KeyRange, ctx: &mut ExecContext) -> Result<KeyBounds> {
    let mut prefix = Vec::with_capacity(range.prefix.len() + 1);
    for (expr, &data_type) in range.prefix.iter().zip(types) {
        match search_value(expr, data_type, ctx)? {
            KeyValue::Null => return Ok(KeyBounds::Empty),
            KeyValue::Inexact => return Ok(KeyBounds::Everything),
            KeyValue::Exact(v) => prefix.push(v),
        }
    }
    let Some(&next_type) = types.get(prefix.len()) else {
        let start = encode_key(&prefix);
        return Ok(KeyBounds::Range(
            Bound::Included(start.clone()),
            after(start),
        ));
    };
    let with = |value: Value| {
        let mut tuple = prefix.clone();
        tuple.push(value);
        encode_key(&tuple)
    };
    let lower = match &range.lower {
        Bound::Unbounded => Bound::Included(encode_key(&prefix)),
        Bound::Included(e) | Bound::Excluded(e) => match search_value(e, next_type, ctx)? {
            KeyValue::Null => return Ok(KeyBounds::Empty),
            KeyValue::Inexact => return Ok(KeyBounds::Everything),
            KeyValue::Exact(v) if matches!(range.lower, Bound::Included(_)) => {
                Bound::Included(with(v))
            }
            KeyValue::Exact(v) => match prefix_successor(&with(v)) {
                Some(successor) => Bound::Included(successor),
                None => return Ok(KeyBounds::Empty),
            },
        },
    };
    let upper = match &range.upper {
        Bound::Unbounded if prefix.is_empty() => Bound::Unbounded,
        Bound::Unbounded => after(encode_key(&prefix)),
        Bound::Included(e) | Bound::Excluded(e) => match search_value(e, next_type, ctx)? {
            KeyValue::Null => return Ok(KeyBounds::Empty),
            KeyValue::Inexact => return Ok(KeyBounds::Everything),
            KeyValue::Exact(v) if matches!(range.upper, Bound::Included(_)) => after(with(v)),
            KeyValue::Exact(v) => Bound::Excluded(with(v)),
        },
    };
    if let (Bound::Included(lo), Bound::Excluded(hi)) = (&lower, &upper)
        && lo >= hi
    {
        return Ok(KeyBounds::Empty);
    }
    Ok(KeyBounds::Range(lower, upper))
}

fn slice_bounds(bounds: &ByteRange) -> (Bound<&[u8]>, Bound<&[u8]>) {
    (
        bounds.0.as_ref().map(Vec::as_slice),
        bounds.1.as_ref().map(Vec::as_slice),
    )
}

/// Which shards a scan reads.
enum Shards {
    /// None: the WHERE clause fixes the shard key to a NULL.
    Nothing,
    /// One.
    One(u16),
    /// Every shard.
    All,
}

/// The shards a scan of `table` with `filter` must read.
fn target_shards(table: &TableDef, filter: Option<&Expr>, ctx: &mut ExecContext) -> Result<Shards> {
    let shards = ctx.catalog.shards();
    if shards <= 1 {
        return Ok(Shards::One(0));
    }
    let Some(exprs) = pruning(table, filter) else {
        return Ok(Shards::All);
    };
    let mut values = Vec::with_capacity(exprs.len());
    for (expr, column) in exprs.iter().zip(shard_key_columns(table)) {
        let data_type = table
            .columns
            .get(column)
            .map_or(DataType::Text, |c| c.data_type);
        match search_value(expr, data_type, ctx)? {
            KeyValue::Exact(v) => values.push(v),
            KeyValue::Null => return Ok(Shards::Nothing),
            KeyValue::Inexact => return Ok(Shards::All),
        }
    }
    Ok(Shards::One(shard_of(table, &values, shards)))
}

/// The table's keyspaces on `shards`.
fn keyspaces_of(
    shards: &Shards,
    count: u16,
    one: impl Fn(u16) -> isodb_engine::txn::Keyspace,
    all: impl Fn(u16) -> Vec<isodb_engine::txn::Keyspace>,
) -> Vec<isodb_engine::txn::Keyspace> {
    match shards {
        Shards::Nothing => Vec::new(),
        Shards::One(shard) => vec![one(*shard)],
        Shards::All => all(count),
    }
}

/// Reads the table's rows in a key range (all of them for `None`), on
/// `shards`, in key order.
fn scan_rows(
    table: &TableDef,
    shards: &Shards,
    range: Option<ByteRange>,
    with_row_id: bool,
    ctx: &mut ExecContext,
) -> Result<Vec<Row>> {
    let keyspaces = keyspaces_of(
        shards,
        ctx.catalog.shards(),
        |s| table_keyspace(table, s),
        |n| table_keyspaces(table, n),
    );
    if keyspaces.is_empty() {
        return Ok(Vec::new());
    }
    let entries = match &range {
        Some(bounds) => ctx.txn.scan_merged(&keyspaces, slice_bounds(bounds))?,
        None => ctx.txn.scan_merged(&keyspaces, ..)?,
    };
    let mut rows = Vec::new();
    for entry in entries {
        ctx.interrupt.check()?;
        let (key, value) = entry?;
        rows.push(decode_stored_row(table, &key, &value, with_row_id)?);
    }
    Ok(rows)
}

/// Runs a Scan node: the access path, then the filter.
pub fn scan(
    table: &TableDef,
    access: &Access,
    filter: Option<&Expr>,
    with_row_id: bool,
    ctx: &mut ExecContext,
) -> Result<Vec<Row>> {
    let key_types = |columns: &[usize]| -> Vec<DataType> {
        columns
            .iter()
            .filter_map(|&c| table.columns.get(c).map(|col| col.data_type))
            .collect()
    };
    let shard_count = ctx.catalog.shards();
    let shards = match access {
        Access::KeyLookup(_) => Shards::All,
        _ => target_shards(table, filter, ctx)?,
    };
    let candidates = match access {
        Access::FullScan => scan_rows(table, &shards, None, with_row_id, ctx)?,
        Access::KeyLookup(values) => {
            let types = key_types(&table.primary_key);
            let mut key = Vec::with_capacity(values.len());
            let mut outcome = Some(true);
            for (expr, &data_type) in values.iter().zip(&types) {
                match search_value(expr, data_type, ctx)? {
                    KeyValue::Exact(v) => key.push(v),
                    KeyValue::Null => outcome = Some(false),
                    KeyValue::Inexact => outcome = outcome.and(None),
                }
                if outcome != Some(true) {
                    break;
                }
            }
            match outcome {
                Some(false) => Vec::new(),
                None => scan_rows(table, &Shards::All, None, with_row_id, ctx)?,
                Some(true) => {
                    let shard = key_shard(table, &key, shard_count);
                    let key = encode_key(&key);
                    match ctx.txn.get(table_keyspace(table, shard), &key)? {
                        Some(value) => vec![decode_stored_row(table, &key, &value, with_row_id)?],
                        None => Vec::new(),
                    }
                }
            }
        }
        Access::KeyRange(range) => match key_bounds(&key_types(&table.primary_key), range, ctx)? {
            KeyBounds::Empty => Vec::new(),
            KeyBounds::Everything => scan_rows(table, &shards, None, with_row_id, ctx)?,
            KeyBounds::Range(lo, hi) => {
                scan_rows(table, &shards, Some((lo, hi)), with_row_id, ctx)?
            }
        },
        Access::IndexScan {
            index,
            range,
            covering,
        } => match key_bounds(&key_types(&index.columns), range, ctx)? {
            KeyBounds::Empty => Vec::new(),
            KeyBounds::Everything => scan_rows(table, &shards, None, with_row_id, ctx)?,
            KeyBounds::Range(lo, hi) => {
                let keyspaces = keyspaces_of(
                    &shards,
                    shard_count,
                    |s| index_keyspace(index, s),
                    |n| index_keyspaces(index, n),
                );
                let mut entries = Vec::new();
                if !keyspaces.is_empty() {
                    for entry in ctx.txn.scan_merged(&keyspaces, slice_bounds(&(lo, hi)))? {
                        ctx.interrupt.check()?;
                        entries.push(entry?);
                    }
                }
                let mut rows = Vec::with_capacity(entries.len());
                for (entry_key, entry_value) in entries {
                    ctx.interrupt.check()?;
                    if *covering {
                        rows.push(covered_row(table, index, &entry_key, &entry_value)?);
                        continue;
                    }
                    let (_, pk) = index_entry_values(index, &entry_key, &entry_value)?;
                    let key = encode_key(&pk);
                    let value = if key_names_shard(table) {
                        let shard = key_shard(table, &pk, shard_count);
                        ctx.txn.get(table_keyspace(table, shard), &key)?
                    } else {
                        // A row id does not name the shard of a row placed by
                        // its columns: ask each (row ids are unique overall).
                        let mut found = None;
                        for shard in 0..shard_count {
                            found = ctx.txn.get(table_keyspace(table, shard), &key)?;
                            if found.is_some() {
                                break;
                            }
                        }
                        found
                    };
                    let value = value.ok_or_else(|| {
                        Error::corrupt(
                            "index",
                            0,
                            format!("index {} points to a missing row", index.name),
                        )
                    })?;
                    rows.push(decode_stored_row(table, &key, &value, with_row_id)?);
                }
                rows
            }
        },
    };
    let mut rows = Vec::with_capacity(candidates.len());
    for row in candidates {
        ctx.interrupt.check()?;
        if holds(filter, &row, ctx)? {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The row an index entry stands for, with only the columns the entry
/// holds (the index's and the primary key's; the rest NULL), for an
/// index-only scan ([`crate::plan::covering`]).
fn covered_row(
    table: &TableDef,
    index: &IndexDef,
    entry_key: &[u8],
    entry_value: &[u8],
) -> Result<Vec<Value>> {
    let (indexed, pk) = index_entry_values(index, entry_key, entry_value)?;
    let mut row = vec![Value::Null; table.columns.len()];
    let columns = index.columns.iter().zip(indexed);
    for (&column, value) in columns.chain(table.primary_key.iter().zip(pk)) {
        if let Some(slot) = row.get_mut(column) {
            *slot = value;
        }
    }
    Ok(row)
}
