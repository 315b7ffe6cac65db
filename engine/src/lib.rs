//! `isodb-engine`: the storage and transaction engine of isodb.
//!
//! The crate is built in layers that only look down:
//!
//! - [`storage`] is an LSM tree of our own: a write-ahead log with
//!   checksummed records and group commit, a concurrent sorted memtable,
//!   immutable SSTables (prefix-compressed blocks, a block index, a bloom
//!   filter per table, a checksum on every block), a manifest of atomic,
//!   checksummed edits, leveled compaction in the background and crash
//!   recovery. It stores byte keys and values, gives every write a sequence
//!   number, and reads at any sequence number, which is what the transaction
//!   layer builds snapshots on.
//! - The transaction layer (MVCC, the lock manager, the four isolation levels
//!   and two-phase commit) comes next; see the issue tracker.
//!
//! Every failure is an [`Error`] with a PostgreSQL-style SQLSTATE
//! ([`Error::sqlstate`]); corruption names the file and byte offset, and the
//! store never reads bytes whose checksum failed.
//!
//! ```
//! use isodb_engine::storage::{Store, StoreOptions};
//! let dir = tempfile::tempdir().expect("temp dir");
//! let store = Store::open(dir.path(), StoreOptions::default())?;
//! store.put(b"k", b"v")?;
//! let snapshot = store.snapshot();
//! store.put(b"k", b"w")?;
//! assert_eq!(store.get_at(b"k", snapshot.seq())?, Some(b"v".to_vec()));
//! assert_eq!(store.get(b"k")?, Some(b"w".to_vec()));
//! # Ok::<(), isodb_engine::Error>(())
//! ```

pub mod error;
pub mod storage;

pub use error::{Error, Result};
