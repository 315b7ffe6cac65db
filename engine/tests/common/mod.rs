//! Shared helpers of the engine suites: opening a throw-away engine, the
//! row encoding of the `test(id, value)` table the scripts use, the
//! two-terminal script runner ([`script`]), and listing a store's files.
//!
//! Rows: the key is the id as 8 big-endian bytes (so ids scan in order), the
//! value is the integer in decimal ASCII.

#![allow(dead_code)] // each suite uses a different part of this module

pub mod damage;
pub mod script;

use std::path::{Path, PathBuf};
use std::time::Duration;

use isodb_engine::storage::{Durability, StoreOptions};
use isodb_engine::txn::{Engine, EngineOptions};

/// Engine options for tests that do not test durability: commits are not
/// fsynced (a commit on a loaded shared disk must not look like a lock wait).
pub fn fast_options() -> EngineOptions {
    EngineOptions {
        store: StoreOptions {
            durability: Durability::NoSync,
            ..StoreOptions::default()
        },
        lock_timeout: None,
    }
}

/// Opens an engine in `dir` with [`fast_options`].
pub fn open_fast(dir: &Path) -> Engine {
    Engine::open(dir, fast_options()).expect("open engine")
}

/// The stored key of row `id`.
pub fn row_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// The row id of a stored key.
pub fn row_id(key: &[u8]) -> u64 {
    u64::from_be_bytes(<[u8; 8]>::try_from(key).expect("row keys are 8 bytes"))
}

/// The stored form of an integer value.
pub fn encode_int(value: i64) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// The integer a stored value holds.
pub fn decode_int(bytes: &[u8]) -> i64 {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an integer value: {bytes:?}"))
}

/// A short wait, for tests that must let another thread run first.
pub fn pause(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// The files in `dir` whose names end with `suffix`, sorted.
pub fn files_with(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}
