//! Where a table's rows live in a database of several shards, and which
//! shards a statement must visit.
//!
//! Every row has a *shard key*: the columns of the table's
//! [`Distribution`] (the primary key by default, or the hidden row id of a
//! table without one). Its shard is
//!
//! ```text
//!   hash:   xxh3_64(enc(shard key values)) mod shards     (enc = the key encoding)
//!   range:  the number of bounds <= the value              (NULL: shard 0)
//! ```
//!
//! A row's index entries live on the row's shard (indexes are local), so an
//! index entry, whose key ends with the row's primary key, tells the row's
//! shard too. A UNIQUE constraint or primary key must contain the shard key
//! (as PostgreSQL requires of partitioned tables): then two rows that
//! collide are on one shard, and the unique entry's lock there decides.
//!
//! The hash is part of the on-disk format: changing it would move rows.

use crate::catalog::{Distribution, TableDef};
use crate::encoding::encode_key;
use crate::error::{Error, Result};
use crate::types::Value;

/// The columns whose values place a row (empty: the hidden row id).
pub fn shard_key_columns(table: &TableDef) -> Vec<usize> {
    match &table.distribution {
        Distribution::PrimaryKey => table.primary_key.clone(),
        Distribution::Hash(columns) => columns.clone(),
        Distribution::Range { column, .. } => vec![*column],
    }
}

/// The shard of the row whose shard key has `values` (in the order of
/// [`shard_key_columns`]; the row id for a table without a primary key).
pub fn shard_of(table: &TableDef, values: &[Value], shards: u16) -> u16 {
    if shards <= 1 {
        return 0;
    }
    match &table.distribution {
        Distribution::Range { bounds, .. } => {
            let Some(value) = values.first().filter(|v| !v.is_null()) else {
                return 0;
            };
            let index = bounds.partition_point(|bound| bound <= value);
            index.min(usize::from(shards) - 1) as u16
        }
        _ => hash_shard(&encode_key(values), shards),
    }
}

/// The shard of a row whose encoded shard key is `key` (hash distributions).
fn hash_shard(key: &[u8], shards: u16) -> u16 {
    (xxhash_rust::xxh3::xxh3_64(key) % u64::from(shards)) as u16
}

/// The shard of a row (its values, and its row id if it has no key).
pub fn row_shard(table: &TableDef, row: &[Value], row_id: Option<i64>, shards: u16) -> u16 {
    if shards <= 1 {
        return 0;
    }
    if table.has_row_id() && table.distribution == Distribution::PrimaryKey {
        return shard_of(table, &[Value::Integer(row_id.unwrap_or_default())], shards);
    }
    let values: Vec<Value> = shard_key_columns(table)
        .iter()
        .map(|&c| row.get(c).cloned().unwrap_or(Value::Null))
        .collect();
    shard_of(table, &values, shards)
}

/// Whether a row's key alone names its shard: false for a table without a
/// primary key placed by column values (`PARTITION BY` over a table whose
/// rows have a hidden row id), where [`key_shard`] cannot be used.
pub fn key_names_shard(table: &TableDef) -> bool {
    !(table.has_row_id() && table.distribution != Distribution::PrimaryKey)
}

/// The shard of the row whose primary key (or row id) has `key_values`
/// (see [`key_names_shard`]).
pub fn key_shard(table: &TableDef, key_values: &[Value], shards: u16) -> u16 {
    if shards <= 1 {
        return 0;
    }
    if table.distribution == Distribution::PrimaryKey {
        return shard_of(table, key_values, shards);
    }
    let values: Vec<Value> = shard_key_columns(table)
        .iter()
        .map(|c| {
            table
                .primary_key
                .iter()
                .position(|p| p == c)
                .and_then(|at| key_values.get(at).cloned())
                .unwrap_or(Value::Null)
        })
        .collect();
    shard_of(table, &values, shards)
}

/// Checks a range distribution against the shard count: `shards - 1`
/// ascending, non-NULL bounds (a database of one shard ignores them).
pub fn check_distribution(table: &TableDef, shards: u16) -> Result<()> {
    let Distribution::Range { bounds, .. } = &table.distribution else {
        return Ok(());
    };
    if shards <= 1 {
        return Ok(());
    }
    if bounds.len() != usize::from(shards) - 1 {
        return Err(Error::InvalidOption(format!(
            "table \"{}\" is partitioned by range over {shards} shards, so it needs {} bounds in shard_bounds, not {}",
            table.name,
            shards - 1,
            bounds.len()
        )));
    }
    if bounds.iter().any(Value::is_null) || bounds.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::InvalidOption(format!(
            "the shard_bounds of table \"{}\" must be ascending and not NULL",
            table.name
        )));
    }
    Ok(())
}

/// Checks, for a database of `shards` shards, that the table's primary key
/// and every unique constraint contain its shard key (0A000 otherwise).
pub fn check_unique_constraints(
    table: &TableDef,
    unique: &[(String, Vec<usize>)],
    shards: u16,
) -> Result<()> {
    if shards <= 1 {
        return Ok(());
    }
    let key = shard_key_columns(table);
    let not_contained = |kind: String, lacks: String| {
        Error::FeatureNotSupported(format!(
            "unique constraint on partitioned table must include all partitioning columns: {kind} on table \"{}\" lacks {lacks}",
            table.name
        ))
    };
    if !table.primary_key.is_empty() && !key.iter().all(|c| table.primary_key.contains(c)) {
        return Err(not_contained(
            "PRIMARY KEY constraint".into(),
            format!(
                "column \"{}\" which is part of the partition key",
                table.column_names(&missing(&key, &table.primary_key))
            ),
        ));
    }
    for (name, columns) in unique {
        if key.is_empty() {
            return Err(not_contained(
                format!("UNIQUE constraint \"{name}\""),
                "the hidden row id that places its rows (give the table a primary key)".into(),
            ));
        }
        if !key.iter().all(|c| columns.contains(c)) {
            return Err(not_contained(
                format!("UNIQUE constraint \"{name}\""),
                format!(
                    "column \"{}\" which is part of the partition key",
                    table.column_names(&missing(&key, columns))
                ),
            ));
        }
    }
    Ok(())
}

fn missing(needed: &[usize], present: &[usize]) -> Vec<usize> {
    needed
        .iter()
        .copied()
        .filter(|c| !present.contains(c))
        .collect()
}

/// The values a scan's WHERE clause fixes the table's shard key to, if it
/// fixes every column of it: the scan then reads one shard.
pub fn pruning(
    table: &TableDef,
    filter: Option<&crate::plan::Expr>,
) -> Option<Vec<crate::plan::Expr>> {
    crate::plan::access::fixed_values(table.columns.len(), filter, &shard_key_columns(table))
}

/// How a table is distributed, for EXPLAIN and `\d`.
pub fn describe(table: &TableDef, shards: u16) -> String {
    let key = table.column_names(&shard_key_columns(table));
    match &table.distribution {
        _ if shards <= 1 => "one shard".to_string(),
        Distribution::PrimaryKey if table.primary_key.is_empty() => {
            format!("hash of the row id over {shards} shards")
        }
        Distribution::PrimaryKey => format!("hash of the primary key ({key}) over {shards} shards"),
        Distribution::Hash(_) => format!("hash of ({key}) over {shards} shards"),
        Distribution::Range { bounds, .. } => {
            let bounds: Vec<String> = bounds.iter().map(ToString::to_string).collect();
            format!(
                "ranges of ({key}) over {shards} shards, split at {}",
                bounds.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ColumnDef;
    use crate::types::DataType;

    fn table(distribution: Distribution) -> TableDef {
        let column = |name: &str| ColumnDef {
            name: name.into(),
            data_type: DataType::Integer,
            nullable: false,
            default: None,
        };
        TableDef {
            id: 1 << 20,
            name: "t".into(),
            columns: vec![column("a"), column("b")],
            primary_key: vec![0, 1],
            indexes: Vec::new(),
            distribution,
        }
    }

    #[test]
    fn hash_placement_is_stable_and_spreads_rows() {
        let t = table(Distribution::PrimaryKey);
        let mut counts = [0usize; 4];
        for a in 0..400 {
            let row = [Value::Integer(a), Value::Integer(a * 7)];
            let shard = row_shard(&t, &row, None, 4);
            assert_eq!(shard, key_shard(&t, &row, 4), "a key and its row agree");
            counts[usize::from(shard)] += 1;
        }
        assert!(counts.iter().all(|&n| n > 60), "{counts:?}");
        // The placement is part of the format: pinned.
        assert_eq!(
            row_shard(&t, &[Value::Integer(1), Value::Integer(2)], None, 4),
            { hash_shard(&encode_key(&[Value::Integer(1), Value::Integer(2)]), 4) }
        );
        assert_eq!(
            row_shard(&t, &[Value::Integer(1), Value::Integer(2)], None, 1),
            0
        );
    }

    #[test]
    fn a_hash_column_of_the_key_places_by_that_column_alone() {
        let t = table(Distribution::Hash(vec![1]));
        let one = row_shard(&t, &[Value::Integer(1), Value::Integer(9)], None, 8);
        let two = row_shard(&t, &[Value::Integer(2), Value::Integer(9)], None, 8);
        assert_eq!(one, two);
        assert_eq!(
            key_shard(&t, &[Value::Integer(5), Value::Integer(9)], 8),
            one
        );
    }

    #[test]
    fn ranges_split_at_their_bounds() {
        let t = table(Distribution::Range {
            column: 0,
            bounds: vec![Value::Integer(10), Value::Integer(20)],
        });
        let at = |a: i64| row_shard(&t, &[Value::Integer(a), Value::Integer(0)], None, 3);
        assert_eq!(
            (at(-5), at(9), at(10), at(19), at(20), at(1000)),
            (0, 0, 1, 1, 2, 2)
        );
        assert_eq!(shard_of(&t, &[Value::Null], 3), 0);
    }

    #[test]
    fn unique_constraints_must_contain_the_shard_key() {
        let mut t = table(Distribution::Hash(vec![1]));
        assert!(check_unique_constraints(&t, &[("u".into(), vec![1])], 4).is_ok());
        let error = check_unique_constraints(&t, &[("u".into(), vec![0])], 4).unwrap_err();
        assert_eq!(error.sqlstate(), "0A000");
        assert!(check_unique_constraints(&t, &[("u".into(), vec![0])], 1).is_ok());
        t.primary_key = vec![0];
        let error = check_unique_constraints(&t, &[], 4).unwrap_err();
        assert!(error.to_string().contains("PRIMARY KEY"), "{error}");
    }
}
