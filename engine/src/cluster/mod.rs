//! Shards and the two-phase-commit coordinator: one database over N
//! engines, atomic and isolated across them, through crashes.
//!
//! ## The pieces
//!
//! - Each **shard** ([`Shard`]) is an engine of its own, in its own
//!   directory: its own log, LSM tree, lock manager, prepared records and
//!   status records. A table has one keyspace per shard (the keyspace id's
//!   top byte is the shard), so a key names its shard.
//! - The shards share the [`ClusterServices`](crate::txn::ClusterServices):
//!   one timestamp oracle (a snapshot is one instant on every shard), one
//!   sequence of transaction ids, one SSI tracker (a dangerous structure
//!   whose rw-edges lie on different shards is one structure), and the
//!   [`DecisionBoard`](crate::txn::DecisionBoard) of commits under way.
//! - A [`ClusterTransaction`] has one id and one snapshot, and a part on
//!   each shard it touches. The [`coordinator`] commits it in one phase if
//!   it wrote one shard, by two-phase commit if it wrote several. The
//!   coordinator reaches the shards only through the [`Transport`]
//!   (request/response [`messages`]), which can drop, delay, duplicate and
//!   reorder messages or cut a shard off, for tests.
//! - The [`resolver`] finishes what a coordinator could not, and settles
//!   in-doubt transactions; [`deadlock`] finds lock cycles spanning shards.
//!
//! ## Invariants
//!
//! 1. **One decision.** A cross-shard transaction's outcome is the status
//!    record on its home shard (the first shard it wrote), written once by
//!    a conditional write: by the coordinator ("committed at ts") or by a
//!    resolver ("aborted"), whoever comes first. No record means undecided,
//!    never aborted, while a coordinator may still be running.
//! 2. **Presumed abort.** A transaction with no status record after its
//!    coordinator is gone (at open, or after the in-doubt timeout) is rolled
//!    back; the conditional write makes the timeout safe against a slow
//!    coordinator.
//! 3. **One timestamp.** A cross-shard commit reserves its timestamp from
//!    the oracle after every participant prepared, and every participant
//!    writes its rows at that timestamp: no snapshot sees one shard's part
//!    without the other's.
//! 4. **No fractured reads.** Before it reserves the timestamp the
//!    coordinator puts the transaction on the decision board. A reader that
//!    meets a row the transaction prepared asks the board: not on it, or
//!    committing above the snapshot → the version is invisible, go on;
//!    otherwise → wait until this shard learns the outcome.
//! 5. **Durable before forgotten.** A status record is deleted only after
//!    every participant applied the decision and synced its log.
//! 6. **Every level across shards.** Row locks and first-updater-wins are
//!    per row, as on one shard; SSI is cluster-wide; a wait-for cycle across
//!    shards is found by merging the shards' graphs.
//!
//! A database of one shard is a cluster of one: the same code, with no
//! `CLUSTER` file ([`layout`]), no background thread and only one-phase
//! commits.

#[allow(clippy::module_inception)]
mod cluster;
pub mod coordinator;
pub mod deadlock;
pub mod failpoints;
pub mod layout;
pub mod merge;
pub mod messages;
pub mod resolver;
pub mod shard;
pub mod transaction;
pub mod transport;

pub use cluster::{Cluster, ClusterOptions, PreparedTransaction};
pub use failpoints::{FailAction, FailHook, Failpoint, Failpoints};
pub use layout::Layout;
pub use merge::MergedScan;
pub use messages::{Request, Response};
pub use shard::Shard;
pub use transaction::{ClusterSavepoint, ClusterTransaction};
pub use transport::{FaultPlan, Transport, TransportStats, Undelivered};
