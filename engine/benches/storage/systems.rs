//! The systems under test and how each is opened: isodb always; fjall and
//! SQLite with the `peers` feature (in `peers.rs`).
//!
//! Each system is opened in a fresh directory with a [`Mode`] (no-sync for
//! fillseq and fillrandom, sync for fillsync), which fixes the durability of
//! its single puts; synced batches are always fsynced.

use std::path::Path;

use isodb_engine::storage::{Durability, Store, StoreOptions, WriteBatch};

use crate::common::durability::Mode;
use crate::common::run::BenchResult;
use crate::workload::{Key, System, Value};

/// A system under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemKind {
    /// isodb's own LSM store.
    Isodb,
    /// fjall 3 (an LSM tree in Rust).
    #[cfg(feature = "peers")]
    Fjall,
    /// SQLite (bundled) in WAL mode, one key-value table.
    #[cfg(feature = "peers")]
    Sqlite,
}

impl SystemKind {
    /// The systems this build compares, isodb first.
    pub fn all() -> Vec<SystemKind> {
        vec![
            SystemKind::Isodb,
            #[cfg(feature = "peers")]
            SystemKind::Fjall,
            #[cfg(feature = "peers")]
            SystemKind::Sqlite,
        ]
    }

    /// The name in the table and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            SystemKind::Isodb => "isodb",
            #[cfg(feature = "peers")]
            SystemKind::Fjall => "fjall",
            #[cfg(feature = "peers")]
            SystemKind::Sqlite => "sqlite",
        }
    }

    /// Opens the system in `dir`, runs `body` on it, then closes it.
    pub fn with_open(
        self,
        dir: &Path,
        mode: Mode,
        body: &mut dyn FnMut(&mut dyn System) -> BenchResult<()>,
    ) -> BenchResult<()> {
        match self {
            SystemKind::Isodb => {
                let mut system = IsodbSystem::open(dir, mode)?;
                body(&mut system)?;
                system.store.close()?;
                Ok(())
            }
            #[cfg(feature = "peers")]
            SystemKind::Fjall => crate::peers::with_fjall(dir, body),
            #[cfg(feature = "peers")]
            SystemKind::Sqlite => crate::peers::with_sqlite(dir, mode, body),
        }
    }
}

/// The options isodb runs with: the defaults (8 MiB memtables, two frozen
/// memtables, a 32 MiB block cache); the peers are given the same memtable
/// and cache sizes.
pub fn isodb_options(mode: Mode) -> StoreOptions {
    StoreOptions {
        durability: mode.isodb(),
        ..StoreOptions::default()
    }
}

/// The memory budget of isodb's options: memtables plus block cache.
pub fn isodb_memory_budget() -> u64 {
    let options = isodb_options(Mode::NoSync);
    (options.memtable_size * (1 + options.max_immutable_memtables) + options.block_cache_size)
        as u64
}

struct IsodbSystem {
    store: Store,
}

impl IsodbSystem {
    fn open(dir: &Path, mode: Mode) -> BenchResult<Self> {
        Ok(IsodbSystem {
            store: Store::open(dir, isodb_options(mode))?,
        })
    }
}

impl System for IsodbSystem {
    fn put(&mut self, key: &[u8], value: &[u8]) -> BenchResult<()> {
        self.store.put(key, value)?;
        Ok(())
    }

    fn write_synced_batch(&mut self, batch: &[(Key, Value)]) -> BenchResult<()> {
        let mut write = WriteBatch::new();
        for (key, value) in batch {
            write.put(key, value);
        }
        self.store.write_with(write, Durability::Sync)?;
        Ok(())
    }

    fn get(&mut self, key: &[u8], found: &mut dyn FnMut(&[u8])) -> BenchResult<bool> {
        match self.store.get(key)? {
            Some(value) => {
                found(&value);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn scan(&mut self, visit: &mut dyn FnMut(&[u8], &[u8])) -> BenchResult<()> {
        for entry in self.store.scan(..) {
            let (key, value) = entry?;
            visit(&key, &value);
        }
        Ok(())
    }

    fn settle(&mut self) -> BenchResult<()> {
        self.store.flush()?;
        Ok(())
    }
}
