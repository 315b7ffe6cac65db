//! `StoreOptions`: every tunable of the storage engine, with its default and
//! the promise it makes.

use std::sync::Arc;
use std::time::Duration;

use crate::storage::key::SeqNo;
use crate::storage::oracle::TimestampOracle;
use crate::storage::sstable::TableOptions;

/// How far a write must have gone before it is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// Acknowledged means on disk: the log record was fsynced (`fdatasync`).
    /// Concurrent writers share one fsync (group commit). Survives power loss.
    #[default]
    Sync,
    /// Acknowledged means handed to the operating system: the write survives a
    /// crash of the process, but the last writes may be lost on power loss.
    NoSync,
}

/// What opening a database does when a write-ahead log lost records that
/// were made durable (a log deleted, emptied, cut short or replaced; see
/// [`crate::storage::log_replay`]). A torn last record left by a crash is
/// never a loss: it was not acknowledged, and is cut silently either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogRecovery {
    /// Refuse to open: [`crate::Error::Corruption`] naming the log, and
    /// nothing is changed on disk.
    #[default]
    Strict,
    /// Open with every record up to the first lost or damaged one (later
    /// records are not applied: they may depend on the lost ones), report
    /// what was lost in [`crate::storage::Store::recovery_report`], and keep
    /// the logs from that point on as `NNNNNN.log.lost`.
    PointInTime,
}

/// Lets a higher layer keep versions that the store would otherwise drop
/// during compaction.
///
/// The store drops a version only when no snapshot of the store can read it:
/// a newer version of the same key is visible to the oldest live snapshot.
/// Before dropping such a version it asks the filter, which may veto.
pub trait CompactionFilter: Send + Sync {
    /// Return `false` to keep this version of `user_key` written at `seq`.
    fn may_drop(&self, user_key: &[u8], seq: SeqNo) -> bool;
}

/// Options of [`crate::storage::Store::open`].
#[derive(Clone)]
pub struct StoreOptions {
    /// Create the database when the directory has none (default true).
    pub create_if_missing: bool,
    /// Durability of writes that do not say otherwise (default [`Durability::Sync`]).
    pub durability: Durability,
    /// Bytes a memtable may hold before it is frozen and flushed (default 8 MiB).
    pub memtable_size: usize,
    /// Frozen memtables allowed to wait for their flush; writers stall while
    /// this many are waiting (default 2). The memory budget for memtables is
    /// therefore `memtable_size * (1 + max_immutable_memtables)`.
    pub max_immutable_memtables: usize,
    /// Bytes of decoded table blocks cached in memory (default 32 MiB).
    pub block_cache_size: usize,
    /// Block size, restart interval and bloom bits of new tables.
    pub table: TableOptions,
    /// Compaction splits its output into tables of about this size (default 4 MiB).
    pub target_file_size: u64,
    /// Size limit of level 1 (default 32 MiB); each deeper level may be
    /// `level_size_ratio` times larger.
    pub level1_max_bytes: u64,
    /// Growth of the size limit from one level to the next (default 10).
    pub level_size_ratio: u64,
    /// Number of L0 tables that starts a compaction into L1 (default 4).
    pub l0_compaction_trigger: usize,
    /// With this many L0 tables each write is delayed by 1 ms (default 8).
    pub l0_slowdown_trigger: usize,
    /// With this many L0 tables writes wait for compaction (default 12).
    pub l0_stop_trigger: usize,
    /// How long a synced leader waits for other writers to join its group
    /// once writers have been seen to be concurrent (default 200 µs; zero
    /// turns the wait off). A lone writer never waits more than once.
    pub group_commit_delay: Duration,
    /// Optional veto over dropping old versions in compaction.
    pub compaction_filter: Option<Arc<dyn CompactionFilter>>,
    /// The timestamp oracle to draw sequence numbers from, shared with other
    /// stores (the shards of a cluster); `None` (default) gives the store
    /// one of its own. See [`crate::storage::oracle`].
    pub oracle: Option<Arc<TimestampOracle>>,
    /// What an open does when a log lost durable records (default
    /// [`LogRecovery::Strict`]).
    pub log_recovery: LogRecovery,
    /// How often the manifest records how much of the live log has been
    /// fsynced, so that a log cut back below that point is caught at open
    /// even after a crash (default 1 s; zero turns the periodic record off,
    /// leaving the records at each log switch and at close).
    pub log_checkpoint_interval: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            create_if_missing: true,
            durability: Durability::Sync,
            memtable_size: 8 << 20,
            max_immutable_memtables: 2,
            block_cache_size: 32 << 20,
            table: TableOptions::default(),
            target_file_size: 4 << 20,
            level1_max_bytes: 32 << 20,
            level_size_ratio: 10,
            l0_compaction_trigger: 4,
            l0_slowdown_trigger: 8,
            l0_stop_trigger: 12,
            group_commit_delay: Duration::from_micros(200),
            compaction_filter: None,
            oracle: None,
            log_recovery: LogRecovery::Strict,
            log_checkpoint_interval: Duration::from_secs(1),
        }
    }
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("create_if_missing", &self.create_if_missing)
            .field("durability", &self.durability)
            .field("memtable_size", &self.memtable_size)
            .field("max_immutable_memtables", &self.max_immutable_memtables)
            .field("block_cache_size", &self.block_cache_size)
            .field("target_file_size", &self.target_file_size)
            .field("level1_max_bytes", &self.level1_max_bytes)
            .field("level_size_ratio", &self.level_size_ratio)
            .field("l0_compaction_trigger", &self.l0_compaction_trigger)
            .field("l0_slowdown_trigger", &self.l0_slowdown_trigger)
            .field("l0_stop_trigger", &self.l0_stop_trigger)
            .field("group_commit_delay", &self.group_commit_delay)
            .field("compaction_filter", &self.compaction_filter.is_some())
            .field("shared_oracle", &self.oracle.is_some())
            .field("log_recovery", &self.log_recovery)
            .field("log_checkpoint_interval", &self.log_checkpoint_interval)
            .finish()
    }
}

impl StoreOptions {
    /// The size limit of `level` (levels 1 and deeper).
    pub fn max_bytes_for_level(&self, level: usize) -> u64 {
        let mut limit = self.level1_max_bytes;
        for _ in 1..level {
            limit = limit.saturating_mul(self.level_size_ratio);
        }
        limit
    }
}
