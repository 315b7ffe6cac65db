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
//! - [`txn`] builds transactions on it: MVCC versions keyed by commit
//!   timestamp (the store's sequence number), a lock manager with fair queues
//!   and deadlock detection (row locks, escalated to one lock per keyspace
//!   for transactions that lock thousands of rows), the four SQL isolation levels (READ UNCOMMITTED
//!   with real dirty reads, READ COMMITTED, snapshot-isolation REPEATABLE READ
//!   and SSI SERIALIZABLE), and durable prepared transactions for two-phase
//!   commit. The isolation matrix the engine keeps is in the [`txn`] docs.
//! - [`cluster`] spans one database over N such engines (shards): one
//!   timestamp oracle and SSI tracker for all, transactions with a part on
//!   each shard they touch, and a two-phase-commit coordinator (presumed
//!   abort, the decision in a status record on the home shard, resolvers
//!   that settle in-doubt transactions) that keeps every isolation level's
//!   promise across shards through crashes.
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

pub mod cluster;
pub mod error;
pub mod storage;
pub mod txn;

pub use error::{Error, Result};
