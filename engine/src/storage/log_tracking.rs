//! Keeping the manifest told which write-ahead logs exist and how much of
//! each was made durable, while the store runs (format 2 of the manifest;
//! [`crate::storage::log_replay`] checks it at open).
//!
//! Three moments write a log edit, each under the manifest lock:
//!
//! ```text
//!   switch (memtable full, or flush):  create 000009.log, fsync its directory
//!                                      fsync 000007.log
//!                                      edit { +log 9, sealed 7 = (95 records, 21 KB) }, fsync
//!                                      then writes go to 000009.log
//!   periodically (flush thread):       edit { synced 9 = what the last fsync made durable }
//!   close:                             fsync 000009.log, edit { sealed 9 = (its extent) }
//! ```
//!
//! The new log is created before the edit that adds it: a crash in between
//! leaves an empty, untracked log, which recovery replays (nothing) and
//! removes. The edit is durable before any write reaches the new log, so a
//! log holding an acknowledged write is always tracked. Only what an fsync
//! made durable is ever recorded, so a crash (which can only cut what was
//! not synced) never contradicts a mark.
//!
//! Lock order: manifest, then state, then the log writer (as everywhere).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::Result;
use crate::storage::files::log_path;
use crate::storage::log::{LogExtent, LogWriter};
use crate::storage::manifest::{LogMark, VersionEdit};
use crate::storage::memtable::MemTable;
use crate::storage::store::StoreInner;

fn mark(number: u64, extent: LogExtent) -> LogMark {
    LogMark {
        number,
        bytes: extent.bytes,
        records: extent.records,
    }
}

/// Freezes the active memtable and moves writes to a new log, sealing the
/// old one in the manifest. Only the leader of the write queue may call
/// this, without holding the state lock.
pub(crate) fn switch_log(inner: &StoreInner) -> Result<()> {
    let number = inner.next_file.fetch_add(1, Ordering::SeqCst);
    let new_log = LogWriter::create(&log_path(&inner.dir, number))?;
    let mut manifest = inner.manifest.lock();
    let old_number = inner.state.lock().mem.log_number();
    let sealed = {
        let mut wal = inner.wal.lock();
        wal.sync()?;
        wal.synced_extent()
    };
    manifest.log_edit(&VersionEdit {
        new_logs: vec![number],
        sealed_logs: vec![mark(old_number, sealed)],
        ..VersionEdit::default()
    })?;
    inner.log_records_marked.store(0, Ordering::SeqCst);
    let mut state = inner.state.lock();
    // The old writer is synced; dropping it closes the file.
    *inner.wal.lock() = new_log;
    let frozen = std::mem::replace(&mut state.mem, Arc::new(MemTable::new(number)));
    state.imms.push(frozen);
    inner.install_super_version(&state);
    inner.work.notify_all();
    Ok(())
}

/// Records in the manifest how much of the live log the last fsync made
/// durable, when that grew since the last record.
pub(crate) fn record_synced_extent(inner: &StoreInner) -> Result<()> {
    let mut manifest = inner.manifest.lock();
    let number = inner.state.lock().mem.log_number();
    let synced = inner.wal.lock().synced_extent();
    if synced.records <= inner.log_records_marked.load(Ordering::SeqCst) {
        return Ok(());
    }
    manifest.log_edit(&VersionEdit {
        synced_logs: vec![mark(number, synced)],
        ..VersionEdit::default()
    })?;
    inner
        .log_records_marked
        .store(synced.records, Ordering::SeqCst);
    Ok(())
}

/// At close: fsyncs the live log and seals it in the manifest. Fails (and
/// records nothing) when the log was poisoned or crashed on purpose.
pub(crate) fn seal_live_log(inner: &StoreInner) -> Result<()> {
    let mut manifest = inner.manifest.lock();
    let number = inner.state.lock().mem.log_number();
    let sealed = {
        let mut wal = inner.wal.lock();
        wal.sync()?;
        wal.synced_extent()
    };
    manifest.log_edit(&VersionEdit {
        sealed_logs: vec![mark(number, sealed)],
        ..VersionEdit::default()
    })
}
