//! Leveled compaction: choosing what to merge ([`picker`]) and merging it
//! ([`runner`]).
//!
//! Level 0 collects flushed memtables; once it holds
//! `l0_compaction_trigger` tables they are all merged with the overlapping
//! part of L1. Each deeper level has a size limit (`level1_max_bytes`, then
//! ×`level_size_ratio` per level); a level over its limit gives one table,
//! chosen round-robin by a compaction pointer, to be merged with the tables it
//! overlaps one level down. A table that overlaps nothing below simply moves
//! down (a *trivial move*, no I/O).
//!
//! Merging is where old versions are garbage-collected. Let `S` be the oldest
//! sequence number any snapshot can read at. Walking one user key's versions
//! newest first:
//!
//! ```text
//! key k:  seq 90 Put   <- newest; kept (the only one readers after 90 see)
//!         seq 60 Put   <- kept if some snapshot in [60, 90) may read it (S < 90)
//!         seq 40 Del   <- dropped if a newer version <= S exists (shadowed for all)
//!         seq 10 Put   <- likewise
//! ```
//!
//! A version is dropped when a newer version of its key has `seq <= S`
//! (every reader sees that newer one instead), unless the
//! [`crate::storage::CompactionFilter`] vetoes. A tombstone with `seq <= S`
//! is dropped when no deeper level can hold its key; the versions under a
//! dropped tombstone are then dropped too, so nothing is resurrected.

pub mod picker;
pub mod runner;

#[cfg(test)]
mod picker_tests;

pub use picker::{CompactionTask, level0_task, pick_compaction, pick_level0};
pub use runner::{CompactionOutput, run_compaction};
