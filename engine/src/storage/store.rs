//! `Store`: the LSM key-value store — the public face of the storage layer.
//!
//! State and locks, in the order they may be taken:
//!
//! 1. `manifest` — the manifest writer; held while an edit is synced.
//! 2. `state` — memtables, the current [`Version`], background flags. The
//!    condition variable `work` signals background threads and stalled writers.
//! 3. `super_version` — a read-mostly pointer to the (memtable, frozen
//!    memtables, version) triple that readers start from.
//!
//! The write queue and the log writer belong to the write path
//! ([`crate::storage::write_path`]); flush and compaction threads live in
//! [`crate::storage::background`]; opening and recovery in
//! [`crate::storage::recovery`].
//!
//! Reads never lock the write path: they clone the current super version,
//! read the visible sequence number, and search memtable, frozen memtables and
//! tables in that order.

use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex, RwLock};

use crate::storage::batch::WriteBatch;
use crate::storage::damage::DamagedTables;
use crate::storage::files::DirLock;
use crate::storage::key::{SeqNo, ValueKind};
use crate::storage::log::{CrashKind, LogWriter};
use crate::storage::log_replay::RecoveryReport;
use crate::storage::manifest::ManifestWriter;
use crate::storage::memtable::{FoundVersion, MemTable};
use crate::storage::merge::{EntryIterator, LevelIterator, MergeIterator};
use crate::storage::options::{Durability, StoreOptions};
use crate::storage::oracle::{Snapshot, TimestampOracle};
use crate::storage::scan::Scan;
use crate::storage::sstable::BlockCache;
use crate::storage::version::{NUM_LEVELS, Version};
use crate::storage::write_path::WriteQueue;
use crate::storage::{MAX_KEY_SIZE, MAX_VALUE_SIZE};
use crate::{Error, Result};

/// What a reader starts from: the active memtable, the frozen ones waiting
/// for their flush (newest first), and the table version.
pub struct SuperVersion {
    /// The memtable writes go to.
    pub mem: Arc<MemTable>,
    /// Frozen memtables, newest first.
    pub imms: Vec<Arc<MemTable>>,
    /// The live tables.
    pub version: Arc<Version>,
}

impl SuperVersion {
    /// Newest version of `key` with `seq <= at`, searching newest data first.
    pub fn get(&self, key: &[u8], at: SeqNo) -> Result<Option<FoundVersion>> {
        if let Some(found) = self.mem.get(key, at) {
            return Ok(Some(found));
        }
        for imm in &self.imms {
            if let Some(found) = imm.get(key, at) {
                return Ok(Some(found));
            }
        }
        self.version.get(key, at)
    }

    /// Every version of every key in `[lower, upper]`, merged in internal order.
    pub fn merged(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> MergeIterator {
        let mut sources: Vec<EntryIterator> = Vec::new();
        sources.push(Box::new(self.mem.iter(lower, upper)));
        for imm in &self.imms {
            sources.push(Box::new(imm.iter(lower, upper)));
        }
        let owned = |b: Bound<&[u8]>| b.map(<[u8]>::to_vec);
        for table in self.version.level(0) {
            if table.overlaps(lower, upper) {
                sources.push(Box::new(table.table.iter(owned(lower), owned(upper))));
            }
        }
        for level in 1..NUM_LEVELS {
            let tables = self.version.overlapping(level, lower, upper);
            if !tables.is_empty() {
                sources.push(Box::new(LevelIterator::new(
                    tables,
                    owned(lower),
                    owned(upper),
                )));
            }
        }
        MergeIterator::new(sources)
    }
}

/// Mutable state guarded by `StoreInner::state`.
pub(crate) struct State {
    pub mem: Arc<MemTable>,
    /// Frozen memtables, oldest first (the flush order).
    pub imms: Vec<Arc<MemTable>>,
    pub version: Arc<Version>,
    /// Largest user key compacted last, per level (round-robin pointer).
    pub compact_pointers: Vec<Option<Vec<u8>>>,
    /// Set when a background flush or compaction failed: writes are refused.
    pub bg_error: Option<String>,
    pub shutting_down: bool,
    /// A compaction may be needed (set after flushes and installs).
    pub compaction_wanted: bool,
    /// A manual compaction or the background thread is compacting.
    pub compacting: bool,
    /// Tables a compaction found damaged; compaction works around them.
    pub damaged: DamagedTables,
}

/// Everything the store's threads share.
pub(crate) struct StoreInner {
    pub dir: PathBuf,
    pub options: StoreOptions,
    pub cache: Arc<BlockCache>,
    pub next_file: AtomicU64,
    /// Sequence numbers and the visible watermark (shared by the shards of
    /// a cluster), and the live snapshots.
    pub oracle: Arc<TimestampOracle>,
    /// The highest sequence number written to this store (above the
    /// watermark only for a pre-numbered batch not yet visible).
    pub last_written: AtomicU64,
    pub state: Mutex<State>,
    /// Wakes background threads and writers stalled on them.
    pub work: Condvar,
    pub manifest: Mutex<ManifestWriter>,
    pub super_version: RwLock<Arc<SuperVersion>>,
    pub wal: Mutex<LogWriter>,
    /// Fault injection: extra microseconds every log fsync takes, as on a
    /// slow disk (see [`Store::set_sync_delay`]). Zero in normal use.
    pub sync_delay_micros: AtomicU64,
    pub writes: WriteQueue,
    /// Records of the live log the manifest last recorded as durable
    /// ([`crate::storage::log_tracking`]).
    pub log_records_marked: AtomicU64,
    /// What the open that made this store had to give up or set aside.
    pub recovery_report: RecoveryReport,
    pub _lock: DirLock,
}

impl StoreInner {
    /// Publishes a new super version from `state`. Call with `state` locked.
    pub fn install_super_version(&self, state: &State) {
        let sv = SuperVersion {
            mem: Arc::clone(&state.mem),
            imms: state.imms.iter().rev().cloned().collect(),
            version: Arc::clone(&state.version),
        };
        *self.super_version.write() = Arc::new(sv);
    }

    pub fn current(&self) -> Arc<SuperVersion> {
        Arc::clone(&self.super_version.read())
    }

    pub fn visible_seq(&self) -> SeqNo {
        self.oracle.visible()
    }

    /// Oldest sequence number any snapshot may read at.
    pub fn smallest_snapshot(&self) -> SeqNo {
        self.oracle.oldest_snapshot()
    }

    /// The sequence number a manifest edit records as the last one used:
    /// no lower than anything written here, so a recovered oracle starts above it.
    pub fn durable_last_seq(&self) -> SeqNo {
        self.last_written
            .load(Ordering::Acquire)
            .max(self.visible_seq())
    }
}

/// Counts and sizes, for tests, benchmarks and the shell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Tables per level.
    pub tables_per_level: Vec<usize>,
    /// File bytes per level.
    pub bytes_per_level: Vec<u64>,
    /// Bytes in the active memtable.
    pub memtable_bytes: usize,
    /// Frozen memtables waiting for their flush.
    pub immutable_memtables: usize,
    /// Newest visible sequence number.
    pub last_seq: SeqNo,
    /// Live snapshots.
    pub snapshots: usize,
}

/// An ordered key-value store over an LSM tree. Thread-safe: share it with
/// `Arc<Store>` between readers and writers.
///
/// ```
/// use isodb_engine::storage::{Store, StoreOptions, WriteBatch};
/// let dir = tempfile::tempdir().expect("temp dir");
/// let store = Store::open(dir.path(), StoreOptions::default())?;
/// store.put(b"apple", b"red")?;
/// let mut batch = WriteBatch::new();
/// batch.put(b"banana", b"yellow").delete(b"apple");
/// store.write(batch)?;
/// assert_eq!(store.get(b"apple")?, None);
/// let keys: Vec<_> = store.scan(..).map(|kv| kv.map(|(k, _)| k)).collect::<Result<_, _>>()?;
/// assert_eq!(keys, vec![b"banana".to_vec()]);
/// store.close()?;
/// # Ok::<(), isodb_engine::Error>(())
/// ```
pub struct Store {
    pub(crate) inner: Arc<StoreInner>,
    pub(crate) threads: Vec<JoinHandle<()>>,
}

fn check_batch(batch: &WriteBatch) -> Result<()> {
    for op in batch.iter() {
        check_key(op.key)?;
        if op.value.len() > MAX_VALUE_SIZE {
            return Err(Error::ValueTooLarge {
                size: op.value.len(),
                limit: MAX_VALUE_SIZE,
            });
        }
    }
    Ok(())
}

fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_SIZE {
        return Err(Error::KeyTooLarge {
            size: key.len(),
            limit: MAX_KEY_SIZE,
        });
    }
    Ok(())
}

impl Store {
    /// Opens (and recovers) the database in `dir`, creating it when missing
    /// and `options.create_if_missing` is set.
    pub fn open(dir: impl AsRef<Path>, options: StoreOptions) -> Result<Store> {
        crate::storage::recovery::open(dir.as_ref(), options)
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    /// What opening the store had to give up or set aside: records lost
    /// from write-ahead logs (only with [`crate::storage::LogRecovery::PointInTime`])
    /// and files kept aside. Empty after a normal open.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.recovery_report
    }

    /// Writes `value` under `key` with the store's default durability.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<SeqNo> {
        let mut batch = WriteBatch::new();
        batch.put(key, value);
        self.write(batch)
    }

    /// Deletes `key` with the store's default durability.
    pub fn delete(&self, key: &[u8]) -> Result<SeqNo> {
        let mut batch = WriteBatch::new();
        batch.delete(key);
        self.write(batch)
    }

    /// Applies `batch` atomically with the store's default durability; returns
    /// the sequence number of its last operation.
    pub fn write(&self, batch: WriteBatch) -> Result<SeqNo> {
        self.write_with(batch, self.inner.options.durability)
    }

    /// Applies `batch` atomically with the given durability.
    pub fn write_with(&self, batch: WriteBatch, durability: Durability) -> Result<SeqNo> {
        check_batch(&batch)?;
        crate::storage::write_path::write(&self.inner, batch, durability == Durability::Sync)
    }

    /// The newest value of `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let sv = self.inner.current();
        let seq = self.inner.visible_seq();
        Self::get_in(&sv, key, seq)
    }

    /// The value of `key` as of sequence number `seq`. Hold a [`Snapshot`] at
    /// or below `seq` to be sure compaction keeps the versions it needs.
    pub fn get_at(&self, key: &[u8], seq: SeqNo) -> Result<Option<Vec<u8>>> {
        Self::get_in(&self.inner.current(), key, seq)
    }

    /// The newest version of `key` with sequence number `<= seq`, tombstones
    /// included: `(seq, kind, value)`.
    pub fn get_version(&self, key: &[u8], seq: SeqNo) -> Result<Option<FoundVersion>> {
        check_key(key)?;
        self.inner.current().get(key, seq)
    }

    fn get_in(sv: &SuperVersion, key: &[u8], seq: SeqNo) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        Ok(match sv.get(key, seq)? {
            Some((_, ValueKind::Put, value)) => Some(value),
            _ => None,
        })
    }

    /// Live keys of `range` in order (and in reverse with `.rev()`), as of now.
    pub fn scan(&self, range: impl RangeBounds<[u8]>) -> Scan {
        let sv = self.inner.current();
        let seq = self.inner.visible_seq();
        Self::scan_in(sv, range, seq)
    }

    /// Live keys of `range` as of sequence number `seq`.
    pub fn scan_at(&self, range: impl RangeBounds<[u8]>, seq: SeqNo) -> Scan {
        Self::scan_in(self.inner.current(), range, seq)
    }

    fn scan_in(sv: Arc<SuperVersion>, range: impl RangeBounds<[u8]>, seq: SeqNo) -> Scan {
        let merged = sv.merged(range.start_bound(), range.end_bound());
        Scan::new(merged, seq, sv)
    }

    /// Takes a snapshot at the newest visible sequence number.
    pub fn snapshot(&self) -> Snapshot {
        self.inner.oracle.snapshot()
    }

    /// The timestamp oracle this store draws its sequence numbers from.
    pub fn oracle(&self) -> &Arc<TimestampOracle> {
        &self.inner.oracle
    }

    /// Applies `batch` at the pre-assigned sequence numbers `first_seq ..
    /// first_seq + len - 1`, reserved with [`TimestampOracle::reserve`] (a
    /// cross-shard commit written at one timestamp on every shard). The
    /// caller guarantees that no newer version of any of its keys exists
    /// here (it holds their locks) and that readers who may see these
    /// numbers wait for the write (the transaction layer's prepared
    /// intents); the watermark is not involved. Returns the last number.
    pub fn write_at(
        &self,
        batch: WriteBatch,
        first_seq: SeqNo,
        durability: Durability,
    ) -> Result<SeqNo> {
        check_batch(&batch)?;
        crate::storage::write_path::write_at(
            &self.inner,
            batch,
            first_seq,
            durability == Durability::Sync,
        )
    }

    /// The newest visible sequence number.
    pub fn last_seq(&self) -> SeqNo {
        self.inner.visible_seq()
    }

    /// Writes the memtable (if not empty) to a table and waits until every
    /// frozen memtable is flushed.
    pub fn flush(&self) -> Result<()> {
        crate::storage::background::flush(&self.inner)
    }

    /// Compacts every table whose keys meet `[lower, upper]` down the levels,
    /// dropping overwritten versions and tombstones no snapshot needs.
    pub fn compact_range(&self, lower: Option<&[u8]>, upper: Option<&[u8]>) -> Result<()> {
        crate::storage::background::compact_range(&self.inner, lower, upper)
    }

    /// Compacts the whole tree.
    pub fn compact(&self) -> Result<()> {
        self.compact_range(None, None)
    }

    /// Counts and sizes of the tree.
    pub fn stats(&self) -> StoreStats {
        let state = self.inner.state.lock();
        StoreStats {
            tables_per_level: (0..NUM_LEVELS)
                .map(|l| state.version.level(l).len())
                .collect(),
            bytes_per_level: (0..NUM_LEVELS)
                .map(|l| state.version.level_bytes(l))
                .collect(),
            memtable_bytes: state.mem.approximate_size(),
            immutable_memtables: state.imms.len(),
            last_seq: self.inner.visible_seq(),
            snapshots: self.inner.oracle.snapshot_count(),
        }
    }

    /// Makes every write so far durable: syncs the current log (older logs
    /// were synced when they were retired).
    pub fn sync(&self) -> Result<()> {
        self.inner.wal.lock().sync()
    }

    /// Stops background work, syncs the log and releases the directory.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    /// Fault injection: from now on every fsync of the log takes `delay`
    /// longer, as on a slow disk (the log stays locked meanwhile, so writers
    /// queue up and group commit gathers them). `Duration::ZERO` ends it.
    pub fn set_sync_delay(&self, delay: std::time::Duration) {
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.inner
            .sync_delay_micros
            .store(micros, Ordering::Relaxed);
    }

    /// Simulates a crash at this instant, for fault-injection tests
    /// (jepsen-lite's crash nemesis, crash tests in one process): the
    /// background threads are told to stop, every write from now on fails,
    /// and the current log loses what `kind` loses (a process crash: records
    /// not yet handed to the OS; a power loss: every byte not yet fsynced).
    /// Then drop the store and open the directory again: recovery sees what
    /// a real crash of that kind may leave. Acknowledged writes survive a
    /// process crash, and a power loss too when they were written with
    /// [`Durability::Sync`] — exactly the promises of the two settings.
    ///
    /// [`Durability::Sync`]: crate::storage::Durability::Sync
    pub fn crash(&self, kind: CrashKind) -> Result<()> {
        {
            let mut state = self.inner.state.lock();
            state.shutting_down = true;
            self.inner.work.notify_all();
        }
        self.inner.wal.lock().crash(kind)
    }

    fn shutdown(&mut self) -> Result<()> {
        {
            let mut state = self.inner.state.lock();
            state.shutting_down = true;
            self.inner.work.notify_all();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        crate::storage::log_tracking::seal_live_log(&self.inner)
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.dir)
            .field("last_seq", &self.inner.visible_seq())
            .finish_non_exhaustive()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            let _ = self.shutdown();
        }
    }
}
