//! The level-0 picker around a damaged table: only whole clusters of
//! overlapping L0 tables leave L0, and never one holding a damaged table.

use std::sync::Arc;

use crate::error::Error;
use crate::storage::damage::DamagedTables;
use crate::storage::files::table_path;
use crate::storage::key::{ValueKind, encode_internal_key};
use crate::storage::manifest::FileMeta;
use crate::storage::sstable::{BlockCache, Table, TableBuilder, TableOptions};
use crate::storage::version::{TableHandle, Version};

use super::{level0_task, pick_level0};

/// An L0 table holding user keys `first` and `last` (one version each).
fn table(dir: &std::path::Path, number: u64, first: &str, last: &str) -> Arc<TableHandle> {
    let path = table_path(dir, number);
    let mut builder = TableBuilder::create(path.clone(), TableOptions::default()).unwrap();
    builder
        .add(
            &encode_internal_key(first.as_bytes(), number, ValueKind::Put),
            b"v",
        )
        .unwrap();
    if last != first {
        builder
            .add(
                &encode_internal_key(last.as_bytes(), number, ValueKind::Put),
                b"v",
            )
            .unwrap();
    }
    let meta = builder.finish().unwrap();
    let table = Table::open(number, path.clone(), Arc::new(BlockCache::new(1 << 16))).unwrap();
    let meta = FileMeta {
        number,
        file_size: meta.file_size,
        entries: meta.entries,
        smallest: meta.smallest,
        largest: meta.largest,
    };
    Arc::new(TableHandle::new(meta, Arc::new(table), path))
}

fn numbers(tables: &[Arc<TableHandle>]) -> Vec<u64> {
    let mut numbers: Vec<u64> = tables.iter().map(|t| t.meta.number).collect();
    numbers.sort_unstable();
    numbers
}

#[test]
fn level_zero_clusters_around_a_damaged_table_go_down_and_its_own_stays() {
    let dir = tempfile::tempdir().unwrap();
    // L0 (newest first): [m..n] [k..p] [g..h] [b..e] [a..c]; [k..p] is damaged.
    let tables = [
        table(dir.path(), 5, "m", "n"),
        table(dir.path(), 4, "k", "p"),
        table(dir.path(), 3, "g", "h"),
        table(dir.path(), 2, "b", "e"),
        table(dir.path(), 1, "a", "c"),
    ];
    let version =
        Version::default().apply(&[], tables.iter().map(|t| (0, Arc::clone(t))).collect());
    let mut damaged = DamagedTables::default();
    assert_eq!(
        numbers(&pick_level0(&version, &damaged).unwrap().inputs),
        [1, 2, 3, 4, 5]
    );

    let all = level0_task(&version);
    let error = Error::corruption(table_path(dir.path(), 4), 0, "damaged block");
    assert!(damaged.record(&all, &error));
    assert!(damaged.touches(&all));
    let first = pick_level0(&version, &damaged).unwrap();
    assert_eq!(numbers(&first.inputs), [1, 2], "the cluster a..e");
    assert!(first.next_inputs.is_empty());

    let version = version.apply(&[(0, 1), (0, 2)], Vec::new());
    assert_eq!(
        numbers(&pick_level0(&version, &damaged).unwrap().inputs),
        [3]
    );
    let version = version.apply(&[(0, 3)], Vec::new());
    // Only the cluster k..p is left, and it holds the damaged table.
    assert!(pick_level0(&version, &damaged).is_none());
    assert!(damaged.error_for(&level0_task(&version)).is_some());

    // A corruption error of a file the task does not read is not the table's.
    let other = Error::corruption(table_path(dir.path(), 99), 0, "elsewhere");
    assert!(!damaged.record(&level0_task(&version), &other));
}
