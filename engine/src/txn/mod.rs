//! Transactions: MVCC over the LSM store, row locks, four isolation levels,
//! serializable snapshot isolation and the two-phase-commit participant.
//!
//! ## Versions and timestamps
//!
//! Every committed transaction writes its whole write set as one atomic
//! batch of the store; the batch's sequence number is its **commit
//! timestamp**, and it is part of every version's internal key (see
//! [`crate::storage::key`]). A transaction's **snapshot** is the store's
//! visible sequence number when it began (or, at READ COMMITTED, when its
//! current statement began); reading key `k` at snapshot `s` is one seek to
//! the newest version of `k` with a sequence number `<= s`. The store is the
//! timestamp oracle: snapshots come from its visible sequence number and
//! commit timestamps from its write path, so commit order and timestamp
//! order are the same thing.
//!
//! ```text
//!  key x:  v@10 ──────── v@17 ─────── v@25        (commit timestamps)
//!  T1 snapshot 12 reads x ──> v@10
//!  T2 snapshot 20 reads x ──> v@17
//!  T3 snapshot 30 reads x ──> v@25
//! ```
//!
//! Transactions hold a store snapshot, so compaction keeps every version an
//! open transaction can still read, and drops the rest (the low watermark is
//! the oldest open snapshot).
//!
//! Uncommitted writes live in the transaction's write set and in a shared
//! table of intents ([`intents::IntentTable`]), which READ UNCOMMITTED
//! readers read and the SSI tracker consults to find uncommitted writers. A
//! row has at most one uncommitted writer at a time: every write takes the
//! row's exclusive lock from the [`lock::LockManager`] and keeps it until
//! commit or rollback — the second writer waits (no dirty writes at any
//! level). A transaction that locks thousands of rows of one keyspace
//! escalates to one lock on the keyspace ([`escalation`]), after which its
//! writes there take no row locks and are published in bulk.
//!
//! ## The isolation levels
//!
//! ✓ prevented (B: the second writer blocks, A: a transaction aborts with
//! 40001), — allowed (and shown by a test).
//!
//! | phenomenon | READ UNCOMMITTED | READ COMMITTED | REPEATABLE READ | SERIALIZABLE |
//! | --- | :-: | :-: | :-: | :-: |
//! | G0 dirty write | ✓ B | ✓ B | ✓ B/A | ✓ B/A |
//! | P1/G1a dirty/aborted read | — | ✓ | ✓ | ✓ |
//! | G1b intermediate read | — | ✓ | ✓ | ✓ |
//! | G1c circular information flow | — | ✓ | ✓ | ✓ |
//! | P2 non-repeatable read | — | — | ✓ | ✓ |
//! | P3 phantom | — | — | ✓ | ✓ |
//! | P4 lost update | — | — | ✓ A | ✓ A |
//! | G-single read skew | — | — | ✓ | ✓ |
//! | G2-item write skew | — | — | — | ✓ A |
//! | G2 predicate write skew | — | — | — | ✓ A |
//!
//! - **READ UNCOMMITTED** reads the newest version of each row, including
//!   other transactions' uncommitted writes (as in MySQL and SQL Server).
//! - **READ COMMITTED** reads a fresh snapshot of committed data in every
//!   statement ([`Transaction::new_statement`]). A write to a row locked by
//!   another writer waits, then proceeds on the newest committed version, so
//!   lost updates are possible (as in PostgreSQL).
//! - **REPEATABLE READ** is snapshot isolation: one snapshot for the whole
//!   transaction; writing (or locking) a row whose newest committed version
//!   is newer than the snapshot fails with 40001 (first updater wins).
//! - **SERIALIZABLE** is serializable snapshot isolation ([`ssi`]): repeatable
//!   read plus SIREAD marks on every key read and every range scanned; a
//!   transaction that would complete a dangerous structure of read-write
//!   dependencies is aborted with 40001. Read-only transactions that cannot
//!   be part of one are never aborted.
//!
//! Errors carry SQLSTATEs: 40001 serialization failure, 40P01 deadlock,
//! 55P03 lock wait timeout. Any of them aborts the transaction at once.
//!
//! ## Two-phase commit
//!
//! [`Transaction::prepare`] writes the write set durably (a synced record in
//! a reserved keyspace) and keeps the row locks. After a crash,
//! [`Engine::open`] finds the record, takes the locks again and lists the
//! transaction in [`Engine::in_doubt`] until [`Engine::commit_prepared`] or
//! [`Engine::rollback_prepared`] decides it.

pub mod engine;
pub mod escalation;
pub mod intents;
pub mod keyspace;
pub mod level;
pub mod lock;
pub mod overlay;
pub mod prepared;
pub mod savepoint;
pub mod services;
pub mod ssi;
pub mod transaction;
pub mod write_set;

pub use engine::{Engine, EngineOptions, InDoubt, MAX_SHARDS, TransactionInfo, TransactionOptions};
pub use keyspace::{FIRST_USER_KEYSPACE, Keyspace};
pub use level::IsolationLevel;
pub use lock::{LockMode, TxnId, WaitPolicy};
pub use prepared::{Coordination, Outcome, StatusRecord};
pub use savepoint::SavepointId;
pub use services::{ClusterServices, DecisionBoard};
pub use transaction::{Transaction, TxnScan};

/// A commit timestamp: the store sequence number of the transaction's batch.
pub type CommitTs = crate::storage::SeqNo;
