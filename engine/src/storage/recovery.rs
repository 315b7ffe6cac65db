//! Opening a store: directory checks, manifest replay, log replay, cleanup.
//!
//! 1. Check the path before creating anything ([`open_checks`]): a
//!    directory without `CURRENT` must be empty (apart from `LOCK`) to become
//!    a new database; anything else is [`Error::NotADatabase`] and leaves no
//!    `LOCK` behind. Create the directory if allowed; take the `LOCK` file
//!    (a second opener gets [`Error::Locked`]).
//! 2. Read `CURRENT` and replay the manifest it names: the live tables per
//!    level, the oldest log still needed, the tracked logs, the next file
//!    number, the last sequence number. If it ends in a torn record, every
//!    file the remaining state needs must exist, or the manifest is
//!    corruption by name ([`open_checks`]). Open every live table (footer,
//!    index and filter are checksummed) and check it is the file the
//!    manifest names ([`table_identity`]).
//! 3. Check every log recovery needs against what the manifest recorded of
//!    it ([`crate::storage::log_replay`]): a missing log, or one that ends
//!    before what was made durable in it, is [`Error::Corruption`] naming the
//!    log (or, with point-in-time recovery, the point where replay stops).
//!    Then replay the logs in order into memtables (flushed to L0 tables as
//!    they fill). A torn tail — a record cut short by a crash — ends the
//!    replay of that log and is cut off; a record that fails its checksum
//!    elsewhere is [`Error::Corruption`].
//! 4. Write the recovered memtable to an L0 table, start a fresh log, and
//!    write a new manifest holding the whole state; `CURRENT` is switched to
//!    it atomically. Only then are the replayed logs, the old manifest and any
//!    file no version names (leftovers of an interrupted flush or compaction)
//!    deleted — except, when the old manifest ended in a torn record, the
//!    table files it does not name and the torn manifest, which are kept
//!    aside ([`open_checks`]). A crash anywhere in this sequence leaves the
//!    old state intact.
//!
//! [`open_checks`]: crate::storage::open_checks
//! [`table_identity`]: crate::storage::table_identity

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex, RwLock};

use crate::storage::background::{compaction_thread, flush_thread};
use crate::storage::batch::WriteBatch;
use crate::storage::files::{DirLock, FileKind, log_path, parse_file_name, table_path};
use crate::storage::key::{SeqNo, user_key};
use crate::storage::log::{LogReader, LogWriter, truncate_at};
use crate::storage::log_replay::{ReplayPlan, plan_replay, set_aside};
use crate::storage::manifest::{
    ManifestState, ManifestWriter, TrackedLog, VersionEdit, load_manifest_with_tail, read_current,
};
use crate::storage::memtable::MemTable;
use crate::storage::open_checks::{
    check_empty, check_path, check_torn_manifest, keep_aside, unnamed_tables,
};
use crate::storage::options::StoreOptions;
use crate::storage::oracle::TimestampOracle;
use crate::storage::sstable::{BlockCache, Table};
use crate::storage::store::{State, Store, StoreInner, SuperVersion};
use crate::storage::table_identity::open_live_table;
use crate::storage::version::{NUM_LEVELS, TableHandle, Version};
use crate::storage::write_path::WriteQueue;
use crate::{Error, Result};

/// Opens and recovers the store in `dir`.
pub(crate) fn open(dir: &Path, options: StoreOptions) -> Result<Store> {
    check_path(dir, &options)?;
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let lock = DirLock::acquire(dir)?;
    let mut torn_manifest = None;
    let (manifest_number, mut state) = match read_current(dir)? {
        Some(number) => {
            let (state, torn_at) = load_manifest_with_tail(dir, number)?;
            if let Some(torn_at) = torn_at {
                check_torn_manifest(dir, number, torn_at, &state)?;
                torn_manifest = Some(number);
            }
            (Some(number), state)
        }
        None => {
            // Another opener may have created files since `check_path`.
            check_empty(dir, &options)?;
            (None, ManifestState::default())
        }
    };

    let cache = Arc::new(BlockCache::new(options.block_cache_size));
    let mut version = Version::default();
    let mut live = Vec::new();
    if let Some(number) = manifest_number {
        for (level, files) in state.files.iter().enumerate() {
            for meta in files {
                let table = open_live_table(dir, number, level, meta, &cache)?;
                let path = table.path().to_path_buf();
                live.push((
                    level,
                    Arc::new(TableHandle::new(meta.clone(), Arc::new(table), path)),
                ));
            }
        }
    }
    version = version.apply(&[], live);
    // Table files the manifest does not name: kept when it ended torn.
    let kept_tables = if torn_manifest.is_some() {
        unnamed_tables(dir, &state)
    } else {
        Vec::new()
    };

    let plan = match manifest_number {
        Some(number) => plan_replay(dir, number, &state, options.log_recovery)?,
        None => ReplayPlan::default(),
    };
    let max_on_disk = max_file_number(dir)?;
    let next_file = AtomicU64::new(state.next_file_number.max(max_on_disk + 1).max(1));
    let mut last_seq = state.last_seq;
    let mut new_tables: Vec<(usize, Arc<TableHandle>)> = Vec::new();

    // Replay the logs into memtables, flushing as they fill.
    let mut mem = Arc::new(MemTable::new(0));
    for log in &plan.logs {
        let mut reader = LogReader::open(&log.path)?;
        for _ in 0..log.replay_records {
            let Some((offset, payload)) = reader.next_record()? else {
                break;
            };
            let (batch, first_seq) = WriteBatch::decode(&payload).ok_or_else(|| {
                Error::corruption(
                    &log.path,
                    offset,
                    "log record is not a well-formed write batch",
                )
            })?;
            mem.apply(&batch, first_seq);
            if !batch.is_empty() {
                last_seq = last_seq.max(first_seq + batch.len() as SeqNo - 1);
            }
            if mem.approximate_size() >= options.memtable_size {
                new_tables.push((0, flush_recovered(dir, &options, &cache, &next_file, &mem)?));
                mem = Arc::new(MemTable::new(0));
            }
        }
        if let Some(torn_at) = log.torn_at {
            truncate_at(&log.path, torn_at)?;
        }
    }
    if !mem.is_empty() {
        new_tables.push((0, flush_recovered(dir, &options, &cache, &next_file, &mem)?));
    }
    version = version.apply(&[], new_tables);

    // A fresh log, then a new manifest naming the whole recovered state.
    let log_number = next_file.fetch_add(1, Ordering::SeqCst);
    let wal = LogWriter::create(&log_path(dir, log_number))?;
    let manifest_number = next_file.fetch_add(1, Ordering::SeqCst);
    state.log_number = log_number;
    state.logs.clear();
    state.logs.insert(log_number, TrackedLog::default());
    state.last_seq = last_seq;
    state.next_file_number = next_file.load(Ordering::SeqCst);
    state.files = (0..NUM_LEVELS)
        .map(|l| version.level(l).iter().map(|t| t.meta.clone()).collect())
        .collect();
    let kept_aside = match torn_manifest {
        Some(torn) => keep_aside(dir, torn, &kept_tables),
        None => Vec::new(),
    };
    let snapshot: VersionEdit = state.to_snapshot_edit();
    let manifest = ManifestWriter::create(dir, manifest_number, &snapshot)?;
    let mut recovery_report = plan.report;
    recovery_report.kept_files = set_aside(&plan.set_aside);
    recovery_report.kept_files.extend(kept_aside);
    remove_unneeded_files(dir, &version, log_number, manifest_number);

    let oracle = options
        .oracle
        .clone()
        .unwrap_or_else(|| Arc::new(TimestampOracle::new()));
    oracle.observe(last_seq);

    let compact_pointers = state
        .compact_pointers
        .iter()
        .map(|p| p.as_deref().map(|ikey| user_key(ikey).to_vec()))
        .collect();
    let mem = Arc::new(MemTable::new(log_number));
    let version = Arc::new(version);
    let super_version = SuperVersion {
        mem: Arc::clone(&mem),
        imms: Vec::new(),
        version: Arc::clone(&version),
    };
    let inner = Arc::new(StoreInner {
        dir: dir.to_path_buf(),
        cache,
        next_file,
        oracle,
        last_written: AtomicU64::new(last_seq),
        state: Mutex::new(State {
            mem,
            imms: Vec::new(),
            version,
            compact_pointers,
            bg_error: None,
            shutting_down: false,
            compaction_wanted: true,
            compacting: false,
            damaged: Default::default(),
        }),
        work: Condvar::new(),
        manifest: Mutex::new(manifest),
        super_version: RwLock::new(Arc::new(super_version)),
        wal: Mutex::new(wal),
        sync_delay_micros: AtomicU64::new(0),
        writes: WriteQueue::default(),
        log_records_marked: AtomicU64::new(0),
        recovery_report,
        options,
        _lock: lock,
    });
    let spawn = |name: &str, body: fn(Arc<StoreInner>)| {
        let inner = Arc::clone(&inner);
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || body(inner))
            .map_err(|e| Error::io(dir, e))
    };
    let threads = vec![
        spawn("isodb-flush", flush_thread)?,
        spawn("isodb-compact", compaction_thread)?,
    ];
    Ok(Store { inner, threads })
}

fn max_file_number(dir: &Path) -> Result<u64> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    Ok(entries
        .flatten()
        .filter_map(|e| match parse_file_name(e.file_name().to_str()?)? {
            FileKind::Log(n) | FileKind::Table(n) | FileKind::Manifest(n) => Some(n),
            _ => None,
        })
        .max()
        .unwrap_or(0))
}

fn flush_recovered(
    dir: &Path,
    options: &StoreOptions,
    cache: &Arc<BlockCache>,
    next_file: &AtomicU64,
    mem: &Arc<MemTable>,
) -> Result<Arc<TableHandle>> {
    let number = next_file.fetch_add(1, Ordering::SeqCst);
    let path = table_path(dir, number);
    let mut builder =
        crate::storage::sstable::TableBuilder::create(path.clone(), options.table.clone())?;
    for entry in mem.iter(std::ops::Bound::Unbounded, std::ops::Bound::Unbounded) {
        let (ikey, value) = entry?;
        builder.add(&ikey, &value)?;
    }
    let meta = builder.finish()?;
    let table = Arc::new(Table::open(number, path.clone(), Arc::clone(cache))?);
    let meta = crate::storage::manifest::FileMeta {
        number,
        file_size: meta.file_size,
        entries: meta.entries,
        smallest: meta.smallest,
        largest: meta.largest,
    };
    Ok(Arc::new(TableHandle::new(meta, table, path)))
}

/// Deletes every file the new state does not need. Failures are harmless:
/// the next open tries again.
fn remove_unneeded_files(dir: &Path, version: &Version, log_number: u64, manifest_number: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let live: std::collections::HashSet<u64> =
        version.all_tables().map(|(_, t)| t.meta.number).collect();
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let unneeded = match parse_file_name(&name) {
            Some(FileKind::Log(n)) => n < log_number,
            Some(FileKind::Table(n)) => !live.contains(&n),
            Some(FileKind::Manifest(n)) => n != manifest_number,
            Some(FileKind::Temp) => true,
            _ => false,
        };
        if unneeded {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
