//! The two durability promises a benchmark runs a system with, and how each
//! system spells them. The same promise is given to every system in a row.
//!
//! | promise | isodb | SQLite (WAL mode) |
//! |---------|-------|-------------------|
//! | no-sync: reaches the OS at commit; survives a process crash, not power loss | `Durability::NoSync` | `synchronous=OFF` |
//! | sync: `fdatasync` before the commit is acknowledged | `Durability::Sync` | `synchronous=FULL` |
//!
//! `synchronous=NORMAL` is deliberately never used: in WAL mode it does not
//! fsync at commit, so it would give SQLite a weaker promise than isodb's.

use isodb_engine::storage::Durability;

/// How durable an acknowledged write is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Handed to the operating system, not fsynced.
    NoSync,
    /// Fsynced before the write (or commit) returns.
    Sync,
}

impl Mode {
    /// The name in tables and JSON: `no-sync` or `sync`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::NoSync => "no-sync",
            Mode::Sync => "sync",
        }
    }

    /// isodb's setting for this promise.
    pub fn isodb(self) -> Durability {
        match self {
            Mode::NoSync => Durability::NoSync,
            Mode::Sync => Durability::Sync,
        }
    }

    /// SQLite's `synchronous` pragma for this promise (in WAL mode).
    pub fn sqlite_synchronous(self) -> &'static str {
        match self {
            Mode::NoSync => "OFF",
            Mode::Sync => "FULL",
        }
    }
}
