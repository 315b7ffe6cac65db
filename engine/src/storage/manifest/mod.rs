//! The manifest: the durable record of which table files are live, on which
//! level, and of the counters recovery needs.
//!
//! A manifest is a record log (see [`crate::storage::log`]) whose payloads
//! are encoded [`VersionEdit`]s. The first record is a snapshot of the whole
//! state; each later record is one change. Replaying them in order with
//! [`ManifestState::replay`] gives the state at the last synced edit.
//!
//! ```text
//! CURRENT ──"MANIFEST-000003\n"──► MANIFEST-000003
//!                                  ┌──────────────────────────────────────┐
//!                                  │ edit 0: snapshot (log 5, next 9, ... │
//!                                  │         L0: 6.sst, L1: 4.sst)        │
//!                                  │ edit 1: +L0 8.sst, log 7             │
//!                                  │ edit 2: -L0 6.sst -L0 8.sst +L1 10…  │
//!                                  └──────────────────────────────────────┘
//! ```
//!
//! Rolling to a new manifest: [`ManifestWriter::create`] writes
//! `MANIFEST-n` holding one snapshot edit and fsyncs it, then replaces
//! `CURRENT` atomically. A crash before the swap leaves `CURRENT` naming the
//! old manifest, which is still complete; a crash after it finds the new one
//! complete. The old manifest is deleted by the caller afterwards.
//!
//! An edit is live once [`ManifestWriter::log_edit`] returned: it appends and
//! fsyncs. A torn last record is an edit that was never acknowledged, so the
//! reader drops it; any other damage is [`crate::error::Error::Corruption`].

mod reader;
mod state;
mod version_edit;
mod writer;

pub use reader::{load_manifest, load_manifest_with_tail, read_current, read_manifest};
pub use state::{ManifestState, ReplayError, TrackedLog};
pub use version_edit::{FileMeta, LogMark, VersionEdit};
pub use writer::ManifestWriter;

/// Number of levels of the LSM tree (level 0 holds flushed memtables).
pub const NUM_LEVELS: usize = 7;

#[cfg(test)]
mod tests;
