//! The messages of the commit protocol between the coordinator (or a
//! resolver) and the shards: requests by transaction id, and their answers.
//!
//! Every request is idempotent, so a coordinator may repeat one after a
//! timeout and a transport may deliver one twice or late:
//!
//! | request | a shard that … | answers |
//! | --- | --- | --- |
//! | `Prepare` | holds the staged transaction | `Prepared` (after its record is synced), `ReadOnly`, or `Refused` |
//! |           | has it prepared already | `Prepared` |
//! |           | does not know it (aborted, or restarted) | `Refused` |
//! | `Commit` | has it prepared | `Done` (rows written at the timestamp) |
//! |          | does not have it prepared | `Done` (already applied) |
//! | `Abort` | has it staged or prepared | `Done` (rolled back) |
//! | `Decide` | — (the home shard) | `Decision`: the record that holds, written now or earlier |
//! | `Status` | — (the home shard) | `Decision` or `NoRecord` |
//! | `IsPrepared` | — | `Prepared` or `NoRecord` |
//! | `Forget` | — (the home shard) | `Done` (status record deleted) |
//! | `Sync` | — | `Done` (its log synced: applied commits are durable) |

use crate::txn::{CommitTs, Coordination, StatusRecord, TxnId};

/// A request to one shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Phase one: make the staged transaction durable, keep its locks.
    Prepare {
        /// The transaction.
        txn: TxnId,
        /// What its prepared record says of its coordination.
        coordination: Coordination,
    },
    /// Phase two, commit: write its rows at `commit_ts`.
    Commit {
        /// The transaction.
        txn: TxnId,
        /// The timestamp reserved for it on every participant.
        commit_ts: CommitTs,
    },
    /// Phase two (or a refused phase one), abort: roll it back.
    Abort {
        /// The transaction.
        txn: TxnId,
    },
    /// To the home shard: write this status record unless one exists.
    Decide {
        /// The transaction.
        txn: TxnId,
        /// The decision proposed.
        record: StatusRecord,
    },
    /// To the home shard: the status record, if any.
    Status {
        /// The transaction.
        txn: TxnId,
    },
    /// Is the transaction prepared here and undecided?
    IsPrepared {
        /// The transaction.
        txn: TxnId,
    },
    /// To the home shard: every participant has applied the decision, durably.
    Forget {
        /// The transaction.
        txn: TxnId,
    },
    /// Make everything written so far durable (sync the log).
    Sync,
}

impl Request {
    /// The transaction the request is about.
    pub fn txn(&self) -> TxnId {
        match self {
            Request::Prepare { txn, .. }
            | Request::Commit { txn, .. }
            | Request::Abort { txn }
            | Request::Decide { txn, .. }
            | Request::Status { txn }
            | Request::IsPrepared { txn }
            | Request::Forget { txn } => *txn,
            Request::Sync => 0,
        }
    }

    /// A short name for logs and fault statistics.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Prepare { .. } => "prepare",
            Request::Commit { .. } => "commit",
            Request::Abort { .. } => "abort",
            Request::Decide { .. } => "decide",
            Request::Status { .. } => "status",
            Request::IsPrepared { .. } => "is-prepared",
            Request::Forget { .. } => "forget",
            Request::Sync => "sync",
        }
    }
}

/// A shard's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// The transaction is prepared here (durably).
    Prepared,
    /// The transaction wrote nothing here: released, out of phase two.
    ReadOnly,
    /// The transaction cannot prepare here; it is rolled back here.
    Refused(String),
    /// The request took effect (or had already).
    Done,
    /// The status record that holds.
    Decision(StatusRecord),
    /// No status record, or not prepared.
    NoRecord,
}
