//! [`ClusterServices`]: what the shards of one database share, and the
//! [`DecisionBoard`] of cross-shard commits under way.
//!
//! Each shard is an engine of its own (its own store, log, LSM tree, lock
//! manager, prepared and status records). What must be one thing for the
//! whole database, so that every isolation promise holds across shards, is
//! shared through this struct:
//!
//! - the **timestamp oracle** ([`TimestampOracle`]): one clock, so a snapshot
//!   means the same instant on every shard and a cross-shard transaction
//!   commits at one timestamp everywhere;
//! - **transaction ids**, so a transaction has one id on every shard (in
//!   wait-for graphs, intents and the SSI tracker);
//! - the **SSI tracker** and the **intent table** it reads, so a dangerous
//!   structure whose rw-edges lie on different shards is one structure;
//! - the [`DecisionBoard`], which tells a reader whether a prepared version
//!   it meets may be committed at or below its snapshot.
//!
//! A database of one shard gets services of its own. In this build the
//! shards live in one process and share these objects directly; shards in
//! other processes would reach them as a service (as TiDB's placement
//! driver hands out timestamps).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::RwLock;

use crate::storage::TimestampOracle;
use crate::txn::intents::IntentTable;
use crate::txn::lock::TxnId;
use crate::txn::ssi::SsiTracker;
use crate::storage::SeqNo;
use crate::txn::CommitTs;

/// The shared services of one database's shards. Cheap to clone.
#[derive(Clone)]
pub struct ClusterServices {
    /// The one clock.
    pub oracle: Arc<TimestampOracle>,
    /// The next transaction id.
    pub(crate) txn_ids: Arc<AtomicU64>,
    /// Serializable-snapshot-isolation bookkeeping of every shard.
    pub(crate) ssi: Arc<SsiTracker>,
    /// Uncommitted writes of every shard (keys of different shards differ:
    /// their keyspace ids carry the shard).
    pub(crate) intents: Arc<IntentTable>,
    /// Cross-shard commits under way.
    pub(crate) decisions: Arc<DecisionBoard>,
}

impl Default for ClusterServices {
    fn default() -> Self {
        ClusterServices::new()
    }
}

impl std::fmt::Debug for ClusterServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterServices")
            .field("oracle", &self.oracle)
            .field("next_txn", &self.txn_ids.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl ClusterServices {
    /// Fresh services: a new clock, ids from 1, empty trackers.
    pub fn new() -> ClusterServices {
        let intents = Arc::new(IntentTable::default());
        ClusterServices {
            oracle: Arc::new(TimestampOracle::new()),
            txn_ids: Arc::new(AtomicU64::new(1)),
            ssi: Arc::new(SsiTracker::new(Arc::clone(&intents))),
            intents,
            decisions: Arc::new(DecisionBoard::default()),
        }
    }

    /// A new transaction id.
    pub fn next_txn_id(&self) -> TxnId {
        self.txn_ids.fetch_add(1, Ordering::SeqCst)
    }

    /// Makes later ids larger than `id` (one found in a durable record).
    pub fn observe_txn_id(&self, id: TxnId) {
        self.txn_ids.fetch_max(id + 1, Ordering::SeqCst);
    }

    /// The SSI tracker the shards share.
    pub fn ssi(&self) -> &SsiTracker {
        &self.ssi
    }

    /// The board of cross-shard commits under way.
    pub fn decisions(&self) -> &DecisionBoard {
        &self.decisions
    }
}

/// Cross-shard transactions whose commit is under way: marked by the
/// coordinator *before* it takes their commit timestamp, cleared once every
/// participant has applied the decision.
///
/// A reader at snapshot `s` that meets a version a prepared transaction `P`
/// will write asks [`DecisionBoard::may_be_visible`]. If `P` is not on the
/// board, its commit timestamp (if it ever gets one) will be taken after
/// this question, so above `s`: the version is invisible and the reader goes
/// on. If it is on the board with a timestamp above `s`, likewise. Otherwise
/// the reader waits for the participant to learn the outcome, so it never
/// sees half of a committed cross-shard transaction (a fractured read).
#[derive(Debug, Default)]
pub struct DecisionBoard {
    marks: RwLock<HashMap<TxnId, Option<CommitTs>>>,
    count: AtomicUsize,
}

impl DecisionBoard {
    /// `id`'s commit has begun; its timestamp is not known yet.
    pub fn deciding(&self, id: TxnId) {
        let mut marks = self.marks.write();
        if marks.insert(id, None).is_none() {
            self.count.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// `id` commits at `ts` (it must be marked already).
    pub fn set_commit_ts(&self, id: TxnId, ts: CommitTs) {
        if let Some(mark) = self.marks.write().get_mut(&id) {
            *mark = Some(ts);
        }
    }

    /// Every participant has applied `id`'s outcome (or it aborted).
    pub fn clear(&self, id: TxnId) {
        if self.marks.write().remove(&id).is_some() {
            self.count.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// True when `id` may commit at a timestamp at or below `snapshot`.
    pub fn may_be_visible(&self, id: TxnId, snapshot: SeqNo) -> bool {
        if self.count.load(Ordering::SeqCst) == 0 {
            return false;
        }
        match self.marks.read().get(&id) {
            None => false,
            Some(None) => true,
            Some(Some(ts)) => *ts <= snapshot,
        }
    }

    /// True when `id` is on the board.
    pub fn is_marked(&self, id: TxnId) -> bool {
        self.marks.read().contains_key(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_is_visible_until_its_timestamp_is_known_then_by_timestamp() {
        let board = DecisionBoard::default();
        assert!(!board.may_be_visible(7, 100), "unmarked: invisible");
        board.deciding(7);
        assert!(board.may_be_visible(7, 1), "deciding: maybe");
        board.set_commit_ts(7, 50);
        assert!(!board.may_be_visible(7, 49));
        assert!(board.may_be_visible(7, 50));
        board.clear(7);
        assert!(!board.may_be_visible(7, 100));
        assert!(!board.is_marked(7));
    }
}
