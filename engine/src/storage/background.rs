//! Background work: the flush thread writes frozen memtables to L0 tables;
//! the compaction thread keeps the levels within their limits. Manual
//! `flush` and `compact_range` share the same steps.
//!
//! Every change to the set of live files follows one order, so a crash at any
//! point leaves either the old or the new state: (1) write the new table under
//! a temporary name, fsync it, rename it, fsync the directory (the
//! `TableBuilder` does this); (2) append the version edit to the manifest and
//! fsync it — from here on the change is live; (3) install the new version for
//! readers; (4) delete what is no longer needed (logs older than the oldest
//! unflushed memtable; tables once their last reader lets go).
//!
//! A failure in background work is sticky: it is stored in `bg_error`, and
//! writes are refused with `Poisoned` until the store is reopened.

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::storage::compaction::runner::{CompactionContext, TableWriter};
use crate::storage::compaction::{CompactionTask, pick_compaction, run_compaction};
use crate::storage::files::{FileKind, parse_file_name, table_path};
use crate::storage::key::{ValueKind, encode_internal_key};
use crate::storage::log_tracking;
use crate::storage::manifest::VersionEdit;
use crate::storage::memtable::MemTable;
use crate::storage::options::StoreOptions;
use crate::storage::store::StoreInner;
use crate::storage::version::{NUM_LEVELS, TableHandle};
use crate::storage::write_path::freeze_memtable;
use crate::{Error, Result};

/// Body of the flush thread. Between flushes it also records, every
/// `log_checkpoint_interval`, how much of the live log is durable
/// ([`log_tracking::record_synced_extent`]).
pub(crate) fn flush_thread(inner: Arc<StoreInner>) {
    let interval = inner.options.log_checkpoint_interval;
    loop {
        let imm = {
            let mut state = inner.state.lock();
            loop {
                if state.shutting_down {
                    return;
                }
                if state.bg_error.is_none()
                    && let Some(imm) = state.imms.first()
                {
                    break Some(Arc::clone(imm));
                }
                if interval.is_zero() {
                    inner.work.wait(&mut state);
                } else if inner.work.wait_for(&mut state, interval).timed_out()
                    && state.bg_error.is_none()
                    && !state.shutting_down
                {
                    break None;
                }
            }
        };
        let (what, result) = match imm {
            Some(imm) => ("flush", flush_memtable(&inner, &imm)),
            None => ("log tracking", log_tracking::record_synced_extent(&inner)),
        };
        if let Err(e) = result {
            record_error(&inner, what, &e);
        }
    }
}

/// Body of the compaction thread.
pub(crate) fn compaction_thread(inner: Arc<StoreInner>) {
    loop {
        {
            let mut state = inner.state.lock();
            while !(state.shutting_down || (state.compaction_wanted && !state.compacting)) {
                inner.work.wait(&mut state);
            }
            if state.shutting_down {
                return;
            }
            state.compaction_wanted = false;
            state.compacting = true;
        }
        let result = compact_until_balanced(&inner);
        let mut state = inner.state.lock();
        state.compacting = false;
        inner.work.notify_all();
        drop(state);
        if let Err(e) = result {
            record_error(&inner, "compaction", &e);
        }
    }
}

fn record_error(inner: &StoreInner, what: &str, error: &Error) {
    let mut state = inner.state.lock();
    state
        .bg_error
        .get_or_insert_with(|| format!("background {what} failed: {error}"));
    inner.work.notify_all();
}

/// Compacts until no level is over its limit. A compaction that fails on a
/// damaged input table marks the table damaged (see
/// [`crate::storage::damage`]) and the loop goes on with other work; any
/// other failure is returned (and poisons the store).
fn compact_until_balanced(inner: &StoreInner) -> Result<()> {
    loop {
        let task = {
            let state = inner.state.lock();
            if state.shutting_down || state.bg_error.is_some() {
                return Ok(());
            }
            pick_compaction(
                &state.version,
                &inner.options,
                &state.compact_pointers,
                &state.damaged,
            )
        };
        let Some(task) = task else {
            return Ok(());
        };
        if let Err(error) = run_task(inner, &task, true) {
            let mut state = inner.state.lock();
            if !state.damaged.record(&task, &error) {
                return Err(error);
            }
            // Writers stalled on level 0 must learn that it cannot drain.
            inner.work.notify_all();
        }
    }
}

/// Writes one frozen memtable to an L0 table and makes it live.
fn flush_memtable(inner: &StoreInner, imm: &Arc<MemTable>) -> Result<()> {
    let output = if imm.is_empty() {
        None
    } else {
        Some(write_l0_table(inner, imm)?)
    };
    let mut manifest = inner.manifest.lock();
    let (log_number, handle) = {
        let state = inner.state.lock();
        // The oldest log still needed belongs to the next unflushed memtable.
        let log_number = state
            .imms
            .get(1)
            .map_or(state.mem.log_number(), |m| m.log_number());
        (log_number, output)
    };
    let mut edit = VersionEdit {
        log_number: Some(log_number),
        next_file_number: Some(inner.next_file.load(Ordering::SeqCst)),
        last_seq: Some(inner.durable_last_seq()),
        ..VersionEdit::default()
    };
    if let Some(handle) = &handle {
        edit.new_files.push((0, handle.meta.clone()));
    }
    manifest.log_edit(&edit)?;
    {
        let mut state = inner.state.lock();
        if let Some(handle) = handle {
            state.version = Arc::new(state.version.apply(&[], vec![(0, handle)]));
        }
        if state
            .imms
            .first()
            .is_some_and(|first| Arc::ptr_eq(first, imm))
        {
            state.imms.remove(0);
        }
        state.compaction_wanted = true;
        inner.install_super_version(&state);
        inner.work.notify_all();
    }
    drop(manifest);
    delete_obsolete_logs(inner, log_number);
    Ok(())
}

/// Writes a memtable's versions to one new table.
pub(crate) fn write_l0_table(inner: &StoreInner, mem: &Arc<MemTable>) -> Result<Arc<TableHandle>> {
    let version = Arc::clone(&inner.state.lock().version);
    // One table per memtable, however large.
    let options = StoreOptions {
        target_file_size: u64::MAX,
        ..inner.options.clone()
    };
    let ctx = CompactionContext {
        dir: &inner.dir,
        options: &options,
        next_file: &inner.next_file,
        cache: &inner.cache,
        smallest_snapshot: 0,
        version: &version,
    };
    let mut writer = TableWriter::new(&ctx);
    for entry in mem.iter(Bound::Unbounded, Bound::Unbounded) {
        let (ikey, value) = entry?;
        if let Err(e) = writer.add(&ikey, &value) {
            writer.abandon();
            return Err(e);
        }
    }
    let mut outputs = writer.finish()?;
    let output = outputs
        .pop()
        .ok_or_else(|| Error::InvalidArgument("flush of an empty memtable".into()))?;
    let path = table_path(&inner.dir, output.meta.number);
    Ok(Arc::new(TableHandle::new(output.meta, output.table, path)))
}

/// Runs a compaction and makes its result live.
fn run_task(inner: &StoreInner, task: &CompactionTask, allow_move: bool) -> Result<()> {
    let removed: Vec<(usize, u64)> = task
        .inputs
        .iter()
        .map(|t| (task.level, t.meta.number))
        .chain(
            task.next_inputs
                .iter()
                .map(|t| (task.output_level(), t.meta.number)),
        )
        .collect();
    let added: Vec<Arc<TableHandle>> = if allow_move && task.is_trivial_move() {
        task.inputs.clone()
    } else {
        let version = Arc::clone(&inner.state.lock().version);
        let ctx = CompactionContext {
            dir: &inner.dir,
            options: &inner.options,
            next_file: &inner.next_file,
            cache: &inner.cache,
            smallest_snapshot: inner.smallest_snapshot(),
            version: &version,
        };
        run_compaction(task, &ctx)?
            .into_iter()
            .map(|out| {
                let path = table_path(&inner.dir, out.meta.number);
                Arc::new(TableHandle::new(out.meta, out.table, path))
            })
            .collect()
    };
    let (_, largest) = task.user_key_range();
    let edit = VersionEdit {
        next_file_number: Some(inner.next_file.load(Ordering::SeqCst)),
        new_files: added
            .iter()
            .map(|t| (task.output_level() as u32, t.meta.clone()))
            .collect(),
        deleted_files: removed.iter().map(|&(l, n)| (l as u32, n)).collect(),
        // The manifest stores the pointer as the last internal key of `largest`.
        compact_pointers: vec![(
            task.level as u32,
            encode_internal_key(&largest, 0, ValueKind::Delete),
        )],
        ..VersionEdit::default()
    };
    // A failed edit may still have reached the disk (a write or an fsync
    // failed part-way), so its outputs are not deleted here: the next open
    // deletes them if the manifest it reads does not name them.
    let mut manifest = inner.manifest.lock();
    manifest.log_edit(&edit)?;
    let mut state = inner.state.lock();
    let added = added
        .into_iter()
        .map(|t| (task.output_level(), t))
        .collect();
    state.version = Arc::new(state.version.apply(&removed, added));
    state.compact_pointers[task.level] = Some(largest);
    inner.install_super_version(&state);
    inner.work.notify_all();
    drop(state);
    drop(manifest);
    Ok(())
}

fn delete_obsolete_logs(inner: &StoreInner, oldest_needed: u64) {
    let Ok(entries) = std::fs::read_dir(&inner.dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if let Some(FileKind::Log(n)) = name.to_str().and_then(parse_file_name)
            && n < oldest_needed
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Freezes the memtable and waits until every frozen memtable is flushed.
pub(crate) fn flush(inner: &StoreInner) -> Result<()> {
    freeze_memtable(inner)?;
    let mut state = inner.state.lock();
    loop {
        if let Some(reason) = &state.bg_error {
            return Err(Error::Poisoned(reason.clone()));
        }
        if state.imms.is_empty() {
            return Ok(());
        }
        if state.shutting_down {
            return Err(Error::Closed);
        }
        inner.work.wait(&mut state);
    }
}

/// Compacts the tables meeting `[lower, upper]` level by level down to the
/// deepest level that holds data, then rewrites that level's tables in place.
pub(crate) fn compact_range(
    inner: &StoreInner,
    lower: Option<&[u8]>,
    upper: Option<&[u8]>,
) -> Result<()> {
    flush(inner)?;
    {
        let mut state = inner.state.lock();
        while state.compacting {
            inner.work.wait(&mut state);
        }
        state.compacting = true;
    }
    let result = compact_levels(inner, lower, upper);
    let mut state = inner.state.lock();
    state.compacting = false;
    state.compaction_wanted = true;
    inner.work.notify_all();
    result
}

fn compact_levels(inner: &StoreInner, lower: Option<&[u8]>, upper: Option<&[u8]>) -> Result<()> {
    let lo = lower.map_or(Bound::Unbounded, Bound::Included);
    let hi = upper.map_or(Bound::Unbounded, Bound::Included);
    let deepest = {
        let state = inner.state.lock();
        (0..NUM_LEVELS)
            .rev()
            .find(|&l| !state.version.level(l).is_empty())
            .unwrap_or(0)
    };
    for level in 0..deepest.clamp(1, NUM_LEVELS - 1) {
        let task = {
            let state = inner.state.lock();
            let version = &state.version;
            let inputs = if level == 0 {
                // L0 tables overlap each other: moving only some of them below
                // older ones would reorder versions, so all go together.
                if version.overlapping(0, lo, hi).is_empty() {
                    Vec::new()
                } else {
                    version.level(0).to_vec()
                }
            } else {
                version.overlapping(level, lo, hi)
            };
            if inputs.is_empty() {
                continue;
            }
            CompactionTask::with_overlaps(version, level, inputs)
        };
        run_task(inner, &task, false)?;
    }
    // Everything in range now sits in the deepest level; rewrite it in place
    // so versions no snapshot needs any more (and tombstones) are dropped too.
    if deepest > 0 {
        let task = {
            let state = inner.state.lock();
            let inputs = state.version.overlapping(deepest, lo, hi);
            (!inputs.is_empty()).then(|| CompactionTask::in_place(deepest, inputs))
        };
        if let Some(task) = task {
            run_task(inner, &task, false)?;
        }
    }
    Ok(())
}
