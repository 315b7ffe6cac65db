//! A damaged table: how its damage is reported, and how the store keeps
//! working around it.
//!
//! A data block that fails its checksum is corruption *of that table*: the
//! error names the file, the block and the range of user keys it holds, and
//! says what to do. Reads of other keys go on. A compaction that meets the
//! block fails, but the store is not poisoned: the table is marked damaged,
//! compaction skips every task that would read it (a level-0 compaction
//! moves down the clusters of L0 tables that do not overlap it, see
//! [`crate::storage::compaction::pick_level0`]), and writes go on. Only when
//! level 0 fills to `l0_stop_trigger` and no compaction of it can avoid the
//! damaged table do writes fail — with an error naming the table, not a
//! poisoned store — since the tree can no longer make room.
//!
//! ```text
//!   get(k in block 3 of 000012.sst) -> Corruption { 000012.sst, offset of block 3,
//!        "data block 3 of 40, user keys 'k0300'..='k0399': block checksum mismatch; ..." }
//!   get(k elsewhere)                -> the value
//!   compaction over 000012.sst      -> 000012.sst marked damaged, other compactions go on
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::error::Error;
use crate::storage::compaction::CompactionTask;

/// What a damaged-table error tells the user to do.
pub const DAMAGED_TABLE_ADVICE: &str = "the table is damaged: reads of other keys go on, and \
     writes too while compaction can work around it. Run `isodb check PATH` for a full report and \
     `isodb recover PATH --to NEW` to copy every readable row into a new database";

/// A user key for an error message: printable ASCII as is, other bytes as
/// `\xNN`, in single quotes.
pub fn display_key(key: &[u8]) -> String {
    let mut text = String::with_capacity(key.len() + 2);
    text.push('\'');
    for &byte in key {
        if (byte.is_ascii_graphic() && byte != b'\\' && byte != b'\'') || byte == b' ' {
            text.push(byte as char);
        } else {
            let _ = write!(text, "\\x{byte:02x}");
        }
    }
    text.push('\'');
    text
}

/// The reason of a damaged data block's corruption error (with `advice`,
/// followed by [`DAMAGED_TABLE_ADVICE`]).
pub fn damaged_block_reason(
    block: usize,
    blocks: usize,
    lower_user_key: &[u8],
    upper_user_key: &[u8],
    what: &str,
    advice: bool,
) -> String {
    let mut reason = format!(
        "data block {block} of {blocks}, user keys {}..={}: {what}",
        display_key(lower_user_key),
        display_key(upper_user_key)
    );
    if advice {
        reason.push_str("; ");
        reason.push_str(DAMAGED_TABLE_ADVICE);
    }
    reason
}

impl crate::storage::Store {
    /// The tables a compaction found damaged since the store was opened, as
    /// (file number, the error), in file-number order. Compaction works around
    /// them; `isodb check` and `isodb recover` are the way out.
    pub fn damaged_tables(&self) -> Vec<(u64, String)> {
        let state = self.inner.state.lock();
        state
            .damaged
            .tables
            .iter()
            .map(|(number, error)| (*number, error.clone()))
            .collect()
    }
}

/// Tables found damaged by compaction: file number -> the error.
#[derive(Debug, Default)]
pub struct DamagedTables {
    tables: BTreeMap<u64, String>,
}

impl DamagedTables {
    /// True when no table is known damaged.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// True when `task` would read a damaged table.
    pub fn touches(&self, task: &CompactionTask) -> bool {
        task.inputs
            .iter()
            .chain(&task.next_inputs)
            .any(|t| self.tables.contains_key(&t.meta.number))
    }

    /// If `error` is corruption of one of `task`'s input tables, marks that
    /// table damaged and returns true (the compaction is skipped, the store
    /// goes on); any other error is the caller's.
    pub fn record(&mut self, task: &CompactionTask, error: &Error) -> bool {
        let Error::Corruption { path, .. } = error else {
            return false;
        };
        let input = task
            .inputs
            .iter()
            .chain(&task.next_inputs)
            .find(|t| t.table.path() == Path::new(path));
        match input {
            Some(table) => {
                self.tables.insert(table.meta.number, error.to_string());
                true
            }
            None => false,
        }
    }

    /// The error of the first damaged table `task` would read.
    pub fn error_for(&self, task: &CompactionTask) -> Option<Error> {
        task.inputs.iter().chain(&task.next_inputs).find_map(|t| {
            let first = self.tables.get(&t.meta.number)?;
            Some(Error::corruption(
                t.table.path(),
                0,
                format!(
                    "writes stop: level 0 is full and its compaction must read this damaged \
                         table ({first})"
                ),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_shown_printable_and_escaped() {
        assert_eq!(display_key(b"k0300"), "'k0300'");
        assert_eq!(display_key(b"a b"), "'a b'");
        assert_eq!(display_key(&[0, 0x41, 0xff, b'\'']), "'\\x00A\\xff\\x27'");
    }
}
