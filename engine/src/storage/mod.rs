//! The LSM storage engine: an ordered, durable, crash-safe key-value store.
//!
//! Keys and values are byte strings; keys order bytewise. Every write gets a
//! sequence number, and every read happens at one — so a reader sees a
//! consistent point in time while writers keep writing, and the MVCC layer
//! above builds its snapshots on these numbers.
//!
//! ```text
//!   write ──> write_path (group commit) ──> log/ (WAL, fsync) ──> memtable
//!                                                                     │ full: frozen
//!   read  <── scan / get <── merge of memtables + tables             ▼
//!                                     ▲                   background: flush to L0 table
//!                                     │                              │
//!                               version (tables per level) <── compaction/ (L0→L1→…)
//!                                     ▲
//!                               manifest/ (edits, fsynced before a file is live)
//! ```
//!
//! The module list reads like the design: [`key`] (internal keys),
//! [`batch`], [`log`] (with [`log_tracking`], the logs' durable extent in
//! the manifest, and [`log_replay`], checking it at open), [`memtable`] (with [`sorted_run`]s for large batches), [`sstable`] (block, bloom, table
//! builder/reader/iterator, cache), [`manifest`], [`version`], [`merge`] and
//! [`scan`] (iterators), [`compaction`], [`write_path`], [`background`],
//! [`recovery`] (with [`open_checks`], what an open checks before it changes
//! anything, and [`table_identity`], is a table file the one the manifest
//! names), [`oracle`] (sequence numbers, the visible watermark and live
//! snapshots, shareable between stores), and [`store`], the public
//! [`Store`]. Damage: [`damage`] (a damaged table, worked around), [`check`]
//! (`isodb check`) and [`salvage`] (`isodb recover`).

pub mod background;
pub mod batch;
pub mod check;
pub mod coding;
pub mod compaction;
pub mod damage;
pub mod files;
pub mod key;
pub mod log;
pub mod log_replay;
pub mod log_tracking;
pub mod manifest;
pub mod memtable;
pub mod merge;
pub mod open_checks;
pub mod options;
pub mod oracle;
pub mod recovery;
pub mod salvage;
pub mod scan;
pub mod sorted_run;
pub mod sstable;
pub mod store;
pub mod table_identity;
pub mod version;
pub mod write_path;

pub use batch::WriteBatch;
pub use check::{CheckReport, Finding, Severity, check_database};
pub use key::{SeqNo, ValueKind};
pub use log::CrashKind;
pub use log_replay::{LostLogRecords, RecoveryReport};
pub use options::{CompactionFilter, Durability, LogRecovery, StoreOptions};
pub use oracle::{Snapshot, TimestampOracle};
pub use salvage::{RecoverReport, UnsavedRange, recover_database};
pub use scan::Scan;
pub use sstable::TableOptions;
pub use store::{Store, StoreStats};

/// Longest key the store accepts (64 KiB).
pub const MAX_KEY_SIZE: usize = 64 * 1024;
/// Longest value the store accepts (64 MiB).
pub const MAX_VALUE_SIZE: usize = 64 * 1024 * 1024;
