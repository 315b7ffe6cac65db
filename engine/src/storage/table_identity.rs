//! Is this table file the one the manifest names?
//!
//! The manifest records, for every live table, its file number (the name),
//! its size, its entry count and its smallest and largest internal keys.
//! Opening a live table checks all four against the file's own footer and
//! properties block, so a table renamed over another, swapped with one, or
//! replaced by a copy of another is corruption naming the file, never read
//! as the data it is not:
//!
//! ```text
//!   MANIFEST: L0 000012.sst  4,096 bytes, 100 entries, 'a'#9 ..= 'k'#3
//!   file:     000012.sst     8,192 bytes, 200 entries, 'l'#20 ..= 'z'#11
//!   -> Corruption { 000012.sst, "is not the table MANIFEST-000005 names: ..." }
//! ```
//!
//! Internal keys carry sequence numbers, so two different tables never share
//! both bounds; the check needs no extra bytes on disk and works for format-1
//! tables too. A live table whose file is missing is corruption as well.

use std::io::ErrorKind;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::storage::damage::display_key;
use crate::storage::files::{manifest_file_name, table_path};
use crate::storage::key::{seq_of, user_key};
use crate::storage::manifest::FileMeta;
use crate::storage::sstable::{BlockCache, Table};

/// Opens live table `meta` of `level` and checks it is the file the
/// manifest `manifest_number` names.
pub fn open_live_table(
    dir: &Path,
    manifest_number: u64,
    level: usize,
    meta: &FileMeta,
    cache: &Arc<BlockCache>,
) -> Result<Table> {
    let path = table_path(dir, meta.number);
    let manifest = manifest_file_name(manifest_number);
    let table = match Table::open(meta.number, path.clone(), Arc::clone(cache)) {
        Ok(table) => table,
        Err(Error::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
            return Err(Error::corruption(
                &path,
                0,
                format!(
                    "the table file is missing, but {manifest} names it as live on level {level}"
                ),
            ));
        }
        Err(other) => return Err(other),
    };
    check_identity(&table, meta, &manifest)?;
    Ok(table)
}

/// Compares an open table with its manifest entry.
pub fn check_identity(table: &Table, meta: &FileMeta, manifest: &str) -> Result<()> {
    let found = (
        table.file_size(),
        table.entries(),
        table.smallest(),
        table.largest(),
    );
    let expected = (
        meta.file_size,
        meta.entries,
        meta.smallest.as_slice(),
        meta.largest.as_slice(),
    );
    if found == expected {
        return Ok(());
    }
    let describe = |size: u64, entries: u64, smallest: &[u8], largest: &[u8]| {
        format!(
            "{size} bytes, {entries} entries, keys {}#{} ..= {}#{}",
            display_key(user_key(smallest)),
            seq_of(smallest),
            display_key(user_key(largest)),
            seq_of(largest)
        )
    };
    Err(Error::corruption(
        table.path(),
        0,
        format!(
            "the file is not the table {manifest} names: the manifest records {}, the file holds \
             {} (a table swapped, renamed or copied over another). Nothing was read from it; run \
             `isodb check PATH` for a full report",
            describe(meta.file_size, meta.entries, &meta.smallest, &meta.largest),
            describe(found.0, found.1, found.2, found.3)
        ),
    ))
}
