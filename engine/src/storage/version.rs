//! `Version`: the set of live tables per level at one moment, and point
//! lookups through it.
//!
//! Level 0 holds tables flushed from memtables; they may overlap and are kept
//! newest first. Levels 1 and deeper hold tables with disjoint user-key ranges
//! sorted by key, and a user key's versions never straddle two tables of one
//! level (compaction cuts tables only between user keys), so one table per
//! level can answer a lookup. For any key, a shallower level holds newer
//! versions than a deeper one, so the first version found wins.
//!
//! A `Version` is immutable and shared (`Arc`); flushes and compactions build
//! a new one. A table removed by a compaction is marked obsolete and its file
//! is deleted when the last `Version` or iterator holding its
//! [`TableHandle`] lets go, so nothing a live reader uses disappears.

use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::Result;
use crate::storage::key::{SeqNo, user_key};
use crate::storage::manifest::FileMeta;
use crate::storage::memtable::FoundVersion;
use crate::storage::sstable::Table;

pub use crate::storage::manifest::NUM_LEVELS;

/// A live table file: its metadata, the open reader, and whether it may be
/// deleted once unused.
pub struct TableHandle {
    /// Number, size and key range, as recorded in the manifest.
    pub meta: FileMeta,
    /// The open table.
    pub table: Arc<Table>,
    path: PathBuf,
    obsolete: AtomicBool,
}

impl TableHandle {
    /// Wraps an open table.
    pub fn new(meta: FileMeta, table: Arc<Table>, path: PathBuf) -> Self {
        TableHandle {
            meta,
            table,
            path,
            obsolete: AtomicBool::new(false),
        }
    }

    /// Marks the file for deletion when the last reference goes away.
    pub fn mark_obsolete(&self) {
        self.obsolete.store(true, Ordering::Release);
    }

    /// Smallest user key in the table.
    pub fn smallest_user_key(&self) -> &[u8] {
        user_key(&self.meta.smallest)
    }

    /// Largest user key in the table.
    pub fn largest_user_key(&self) -> &[u8] {
        user_key(&self.meta.largest)
    }

    /// True when the table's user-key range meets `[lower, upper]`.
    pub fn overlaps(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> bool {
        let above_lower = match lower {
            Bound::Included(l) => self.largest_user_key() >= l,
            Bound::Excluded(l) => self.largest_user_key() > l,
            Bound::Unbounded => true,
        };
        let below_upper = match upper {
            Bound::Included(u) => self.smallest_user_key() <= u,
            Bound::Excluded(u) => self.smallest_user_key() < u,
            Bound::Unbounded => true,
        };
        above_lower && below_upper
    }

    fn contains_user_key(&self, key: &[u8]) -> bool {
        self.smallest_user_key() <= key && key <= self.largest_user_key()
    }
}

impl Drop for TableHandle {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::Acquire) {
            // Best effort: a file that cannot be removed now is removed by the
            // orphan sweep at the next open.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The live tables of every level.
#[derive(Clone, Default)]
pub struct Version {
    levels: [Vec<Arc<TableHandle>>; NUM_LEVELS],
}

impl Version {
    /// The tables of `level` (L0 newest first; deeper levels by key).
    pub fn level(&self, level: usize) -> &[Arc<TableHandle>] {
        &self.levels[level]
    }

    /// Total file bytes of `level`.
    pub fn level_bytes(&self, level: usize) -> u64 {
        self.levels[level].iter().map(|t| t.meta.file_size).sum()
    }

    /// Every live table.
    pub fn all_tables(&self) -> impl Iterator<Item = (usize, &Arc<TableHandle>)> {
        self.levels
            .iter()
            .enumerate()
            .flat_map(|(level, tables)| tables.iter().map(move |t| (level, t)))
    }

    /// A new version with `removed` (level, file number) taken out and `added`
    /// put in. Handles that are removed and not re-added (a trivial move
    /// re-adds) are marked obsolete.
    pub fn apply(
        &self,
        removed: &[(usize, u64)],
        added: Vec<(usize, Arc<TableHandle>)>,
    ) -> Version {
        let mut next = self.clone();
        for &(level, number) in removed {
            if let Some(pos) = next.levels[level]
                .iter()
                .position(|t| t.meta.number == number)
            {
                let handle = next.levels[level].remove(pos);
                if !added.iter().any(|(_, t)| t.meta.number == number) {
                    handle.mark_obsolete();
                }
            }
        }
        for (level, handle) in added {
            next.levels[level].push(handle);
        }
        next.levels[0].sort_by_key(|t| std::cmp::Reverse(t.meta.number));
        for level in 1..NUM_LEVELS {
            next.levels[level].sort_by(|a, b| a.smallest_user_key().cmp(b.smallest_user_key()));
        }
        next
    }

    /// The newest version of `key` with sequence number `<= seq` in the tables.
    pub fn get(&self, key: &[u8], seq: SeqNo) -> Result<Option<FoundVersion>> {
        for table in &self.levels[0] {
            if table.contains_user_key(key)
                && let Some(found) = table.table.get(key, seq)?
            {
                return Ok(Some(found));
            }
        }
        for level in 1..NUM_LEVELS {
            let tables = &self.levels[level];
            let idx = tables.partition_point(|t| t.largest_user_key() < key);
            if let Some(table) = tables.get(idx)
                && table.smallest_user_key() <= key
                && let Some(found) = table.table.get(key, seq)?
            {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Tables of `level` whose range meets `[lower, upper]` (in level order).
    pub fn overlapping(
        &self,
        level: usize,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> Vec<Arc<TableHandle>> {
        self.levels[level]
            .iter()
            .filter(|t| t.overlaps(lower, upper))
            .cloned()
            .collect()
    }

    /// True when no level deeper than `level` has a table that may hold `key`.
    pub fn is_bottom_for_key(&self, level: usize, key: &[u8]) -> bool {
        ((level + 1)..NUM_LEVELS).all(|l| {
            let tables = &self.levels[l];
            let idx = tables.partition_point(|t| t.largest_user_key() < key);
            tables.get(idx).is_none_or(|t| t.smallest_user_key() > key)
        })
    }
}
