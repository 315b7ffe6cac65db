//! Runs one [`CompactionTask`]: merges its inputs, drops what no reader can
//! see, and writes the result as new tables of about `target_file_size`,
//! cut only between user keys.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Result;
use crate::storage::compaction::CompactionTask;
use crate::storage::files::table_path;
use crate::storage::key::{SeqNo, ValueKind, split_internal_key};
use crate::storage::manifest::FileMeta;
use crate::storage::merge::{EntryIterator, LevelIterator, MergeIterator};
use crate::storage::options::StoreOptions;
use crate::storage::sstable::{BlockCache, Table, TableBuilder};
use crate::storage::version::Version;

/// A table written by a compaction (or a flush), ready to join a version.
pub struct CompactionOutput {
    /// Its manifest entry.
    pub meta: FileMeta,
    /// The open table.
    pub table: Arc<Table>,
}

/// What a compaction needs from the store.
pub struct CompactionContext<'a> {
    /// The database directory.
    pub dir: &'a Path,
    /// Store options (table format, target size, filter).
    pub options: &'a StoreOptions,
    /// Source of new file numbers.
    pub next_file: &'a AtomicU64,
    /// Cache the new tables read through.
    pub cache: &'a Arc<BlockCache>,
    /// Oldest sequence number any reader may still read at.
    pub smallest_snapshot: SeqNo,
    /// The version the task was picked from (to know what lies deeper).
    pub version: &'a Version,
}

/// Writes sorted entries into tables, starting a new table once the current
/// one reaches the target size and the user key changes.
pub struct TableWriter<'a> {
    ctx: &'a CompactionContext<'a>,
    current: Option<(u64, TableBuilder)>,
    last_user_key: Vec<u8>,
    outputs: Vec<CompactionOutput>,
}

impl<'a> TableWriter<'a> {
    /// A writer that allocates file numbers and options from `ctx`.
    pub fn new(ctx: &'a CompactionContext<'a>) -> Self {
        TableWriter {
            ctx,
            current: None,
            last_user_key: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// Adds one entry (in internal-key order).
    pub fn add(&mut self, ikey: &[u8], value: &[u8]) -> Result<()> {
        let (user_key, _, _) = split_internal_key(ikey);
        let full = self
            .current
            .as_ref()
            .is_some_and(|(_, b)| b.estimated_file_size() >= self.ctx.options.target_file_size);
        if full && user_key != self.last_user_key.as_slice() {
            self.finish_current()?;
        }
        if self.current.is_none() {
            let number = self.ctx.next_file.fetch_add(1, Ordering::SeqCst);
            let builder = TableBuilder::create(
                table_path(self.ctx.dir, number),
                self.ctx.options.table.clone(),
            )?;
            self.current = Some((number, builder));
        }
        if let Some((_, builder)) = self.current.as_mut() {
            builder.add(ikey, value)?;
        }
        self.last_user_key.clear();
        self.last_user_key.extend_from_slice(user_key);
        Ok(())
    }

    fn finish_current(&mut self) -> Result<()> {
        let Some((number, builder)) = self.current.take() else {
            return Ok(());
        };
        let meta = builder.finish()?;
        let path = table_path(self.ctx.dir, number);
        let table = Arc::new(Table::open(number, path, Arc::clone(self.ctx.cache))?);
        self.outputs.push(CompactionOutput {
            meta: FileMeta {
                number,
                file_size: meta.file_size,
                entries: meta.entries,
                smallest: meta.smallest,
                largest: meta.largest,
            },
            table,
        });
        Ok(())
    }

    /// Finishes the last table and returns everything written.
    pub fn finish(mut self) -> Result<Vec<CompactionOutput>> {
        self.finish_current()?;
        Ok(std::mem::take(&mut self.outputs))
    }

    /// Removes every table written so far (after a failure).
    pub fn abandon(mut self) {
        if let Some((_, builder)) = self.current.take() {
            builder.abandon();
        }
        for output in self.outputs.drain(..) {
            let _ = std::fs::remove_file(table_path(self.ctx.dir, output.meta.number));
        }
    }
}

fn input_iterator(task: &CompactionTask) -> MergeIterator {
    let mut sources: Vec<EntryIterator> = Vec::new();
    let unbounded = || (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded);
    if task.level == 0 {
        for table in &task.inputs {
            let (lo, hi) = unbounded();
            sources.push(Box::new(table.table.iter(lo, hi)));
        }
    } else {
        let (lo, hi) = unbounded();
        sources.push(Box::new(LevelIterator::new(task.inputs.clone(), lo, hi)));
    }
    if !task.next_inputs.is_empty() {
        let (lo, hi) = unbounded();
        sources.push(Box::new(LevelIterator::new(
            task.next_inputs.clone(),
            lo,
            hi,
        )));
    }
    MergeIterator::new(sources)
}

/// Merges the inputs of `task` into new tables for `task.output_level()`.
pub fn run_compaction(
    task: &CompactionTask,
    ctx: &CompactionContext<'_>,
) -> Result<Vec<CompactionOutput>> {
    let mut writer = TableWriter::new(ctx);
    match merge_into(task, ctx, &mut writer) {
        Ok(()) => writer.finish(),
        Err(e) => {
            writer.abandon();
            Err(e)
        }
    }
}

fn merge_into(
    task: &CompactionTask,
    ctx: &CompactionContext<'_>,
    writer: &mut TableWriter<'_>,
) -> Result<()> {
    let output_level = task.output_level();
    let filter = ctx.options.compaction_filter.as_deref();
    let may_drop = |key: &[u8], seq: SeqNo| filter.is_none_or(|f| f.may_drop(key, seq));
    let mut current_key: Option<Vec<u8>> = None;
    // Sequence number of the previous (newer) version of the current key.
    let mut newer_seq: Option<SeqNo> = None;
    let mut tombstone_dropped = false;
    for entry in input_iterator(task) {
        let (ikey, value) = entry?;
        let (key, seq, kind) = split_internal_key(&ikey);
        if current_key.as_deref() != Some(key) {
            current_key = Some(key.to_vec());
            newer_seq = None;
            tombstone_dropped = false;
        }
        let shadowed = newer_seq.is_some_and(|n| n <= ctx.smallest_snapshot);
        let drop = if tombstone_dropped {
            true
        } else if shadowed {
            may_drop(key, seq)
        } else if kind == ValueKind::Delete
            && seq <= ctx.smallest_snapshot
            && ctx.version.is_bottom_for_key(output_level, key)
            && may_drop(key, seq)
        {
            tombstone_dropped = true;
            true
        } else {
            false
        };
        newer_seq = Some(seq);
        if !drop {
            writer.add(&ikey, &value)?;
        }
    }
    Ok(())
}
