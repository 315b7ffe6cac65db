//! Serializable snapshot isolation (SSI): the bookkeeping that turns
//! snapshot isolation into SERIALIZABLE by aborting a transaction of every
//! *dangerous structure* of read/write dependencies (Cahill, Röhm and Fekete,
//! SIGMOD 2008; Ports and Grittner, VLDB 2012 — PostgreSQL's SSI).
//!
//! This module owns the [`SsiTracker`]: SIREAD marks (what each serializable
//! transaction read, point or range), the keys of retained committed
//! writers, the rw-antidependency edges between concurrent transactions,
//! and the choice of victims. It is pure in-memory bookkeeping; it knows
//! nothing of storage or SQL, and reads uncommitted writes from the
//! engine's [`crate::txn::intents::IntentTable`]. The
//! transaction layer calls it, and keeps doing everything else itself: the
//! row locks and first-updater-wins check (so two concurrent transactions
//! never both commit a write of one key), the snapshots, and the writes.
//!
//! # The theory in four paragraphs
//!
//! **rw-antidependencies.** Under snapshot isolation a transaction reads at
//! a snapshot `s`: it sees exactly the commits with `commit_seq <= s`. If `R`
//! reads key `k` and a concurrent `W` writes `k` (W uncommitted when R reads,
//! or committed after R's snapshot), `R` does not see `W`'s write, so in any
//! equivalent serial order `R` comes before `W`: an edge `R -rw-> W`. Scans
//! count every key of their range, present or not, so an insert into a
//! scanned range is an edge too (that is how phantoms are caught).
//!
//! **Dangerous structures.** Take any cycle in the serialization graph of an
//! SI history and let `T_out` be its member that commits first. The edge
//! into `T_out` cannot be ww or wr (those need the source to commit first),
//! so it is `P -rw-> T_out` with `P` concurrent to `T_out`. The edge into `P`
//! cannot be ww or wr either: that would make its source `T_in` commit
//! before `P` began, hence before `T_out` committed — but `T_out` is first.
//! So every cycle contains `T_in -rw-> P -rw-> T_out` (`T_in` may be
//! `T_out`) where **`T_out` commits first** of the three. The tracker aborts
//! one member of each such structure; that breaks every cycle. A structure
//! whose `T_out` commits later is not the witness of any cycle, so it is
//! left alone (if it lies on a cycle, that cycle's own first committer gives
//! another structure, which is caught). The test is conservative: not every
//! dangerous structure closes a cycle, so some aborts are false positives;
//! none are missed.
//!
//! **The read-only rule** (Ports and Grittner, theorem 3). A read-only
//! `T_in` has no writes, so the cycle's edge into it is wr from a
//! transaction that committed before `T_in`'s snapshot; following the cycle
//! shows `T_out` committed before that. So when `T_in` is read-only (declared
//! so, or committed with no writes) the structure is dangerous only if
//! `T_out.commit_seq <= T_in.snapshot`. A read-only transaction that cannot
//! be part of a cycle is therefore never aborted. A transaction that is
//! still active, has not written and did not declare itself read-only may
//! still write, so the rule does not apply to it yet.
//!
//! **Victims and retention.** The pivot `P` is aborted if it can be (a
//! retry of the pivot makes progress); else `T_in`; a transaction past
//! `prepare_commit` is never aborted, so if both `P` and `T_in` are past it
//! the transaction now committing (`T_out`) aborts itself. The caller of the
//! current method gets the 40001 error at once; any other victim is marked
//! doomed and gets it on its next call. A committed transaction's SIREADs,
//! writes and edges matter only while some uncommitted transaction is
//! concurrent with it (`T.snapshot < commit_seq`); after that they are
//! dropped, keeping per transaction only the earliest commit seq of its
//! committed out-conflicts (enough to decide "`T_out` committed first" when
//! a new in-edge arrives later). Aborted transactions are forgotten at once.
//!
//! # A worked example: write skew
//!
//! Both doctors on call read both rows, each takes themself off call:
//!
//! ```text
//!   seq   T11 (snapshot 5)            T12 (snapshot 5)
//!    -    read x, read y              read x, read y       SIREADs on x, y
//!    -    write x                                          12 -rw-> 11 (12 read x)
//!    -                                write y              11 -rw-> 12 (11 read y)
//!    -    prepare_commit: ok
//!    6    committed
//!    -                                next call: 40001
//!
//!              rw: T12 read x, T11 wrote it
//!        T12 ──────────────────────────────▶ T11
//!            ◀──────────────────────────────
//!              rw: T11 read y, T12 wrote it
//!
//!   T_in = T11, P = T12, T_out = T11 (commits first) → abort the pivot T12
//! ```
//!
//! At T11's `prepare_commit`, T11 becomes `T_out` of
//! `11 -rw-> 12 -rw-> 11`; the pivot T12 is active, so it is doomed with
//! "transaction 12 is the pivot of a dangerous structure (11 -rw-> 12 -rw->
//! 11, and 11 is committing first)". Had T12 committed first instead, the
//! roles would swap and T11 would be doomed.
//!
//! # Commit positions
//!
//! The engine calls `prepare_commit`, writes its batch (which assigns the
//! commit seq), then calls `committed`, and other transactions run in
//! between; so "commits first" is decided on intervals (see
//! `record.rs`): a committing transaction will get a seq above
//! the highest one the tracker knew of at its `prepare_commit`, and may
//! still commit before or after any other committing one. Ties go to
//! "dangerous". A committed read-only transaction may report the store's
//! last seq as its commit seq, equal to the writer before it.
//!
//! # API
//!
//! - [`SsiTracker::begin`] (or [`SsiTracker::begin_with`], which takes the
//!   snapshot under the tracker's lock) registers a SERIALIZABLE transaction;
//! - [`SsiTracker::on_read`], [`SsiTracker::on_scan`],
//!   [`SsiTracker::on_write`] record what it touches;
//! - [`SsiTracker::prepare_commit`] is the last check, then exactly one of
//!   [`SsiTracker::committed`] / [`SsiTracker::aborted`];
//! - [`SsiTracker::stats`] sizes the bookkeeping.
//!
//! Every method returning `Result` fails with
//! [`Error::SerializationFailure`](crate::error::Error::SerializationFailure)
//! (40001) once the transaction is doomed, and with
//! [`Error::TransactionNotActive`](crate::error::Error::TransactionNotActive)
//! for an unknown transaction or one past `prepare_commit`.
//!
//! Costs: a point read is one hash lookup in the SIREAD index, one in the
//! index of retained committed writes and one in the engine's intent table,
//! plus one edge per conflicting transaction; a write checks the SIREADs
//! on its key and the ranges of the concurrent scanners, and records
//! nothing per key: the writer's intent is its trace until it commits, and
//! its keys are indexed at commit only if an uncommitted transaction is
//! concurrent with it. A scan walks the intents in its range and asks each
//! retained committed writer's ordered key set for one key in it. Structure
//! checks walk only the edges of the transactions involved.

mod conflicts;
mod key_index;
mod key_range;
mod record;
mod state;
mod structure;
mod tracker;

#[cfg(test)]
mod tests;

pub use tracker::{SsiStats, SsiTracker};

pub(crate) use key_range::is_empty as is_empty_range;

/// A transaction id (the same numbers as the lock manager's).
pub use crate::txn::lock::TxnId;

/// A commit sequence number of the store (`crate::storage::SeqNo`).
pub use crate::storage::SeqNo;
