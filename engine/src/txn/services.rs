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

use crate::storage::SeqNo;
use crate::storage::TimestampOracle;
use crate::txn::CommitTs;
use crate::txn::intents::IntentTable;
use crate::txn::lock::TxnId;
use crate::txn::ssi::SsiTracker;

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

/// Cross-shard transactions whose commit may be under way: marked by the
/// coordinator *before* it takes their commit timestamp, and kept marked
/// until every participant has applied the decision. A shard that restarts
/// marks its in-doubt transactions before it serves anyone (a commit it had
/// applied may have been lost with its unsynced log), until they are settled.
///
/// A reader at snapshot `s` that meets a version a prepared transaction `P`
/// will write asks [`DecisionBoard::may_be_visible`]. If `P` is not on the
/// board, its commit timestamp (if it ever gets one) will be taken after
/// this question, so above `s`: the version is invisible and the reader goes
/// on. If it is on the board with a timestamp above `s`, likewise. Otherwise
/// the reader waits for the participant to learn the outcome, so it never
/// sees half of a committed cross-shard transaction (a fractured read).
///
/// Marks are held: each holder (a coordinator, a resolver, a restarted
/// shard) adds one and releases its own, so one holder's release never
/// uncovers a transaction another still guards.
#[derive(Debug, Default)]
pub struct DecisionBoard {
    marks: RwLock<HashMap<TxnId, Mark>>,
    count: AtomicUsize,
}

#[derive(Debug, Clone, Copy)]
struct Mark {
    holds: u32,
    commit_ts: Option<CommitTs>,
}

impl DecisionBoard {
    /// Adds a hold on `id` (its commit timestamp, if not known, stays unknown).
    pub fn hold(&self, id: TxnId) {
        let mut marks = self.marks.write();
        let mark = marks.entry(id).or_insert_with(|| {
            self.count.fetch_add(1, Ordering::SeqCst);
            Mark {
                holds: 0,
                commit_ts: None,
            }
        });
        mark.holds += 1;
    }

    /// `id` commits at `ts` (it must be held).
    pub fn set_commit_ts(&self, id: TxnId, ts: CommitTs) {
        if let Some(mark) = self.marks.write().get_mut(&id) {
            mark.commit_ts = Some(ts);
        }
    }

    /// Releases one hold on `id`; the mark goes with the last one.
    pub fn release(&self, id: TxnId) {
        let mut marks = self.marks.write();
        if let Some(mark) = marks.get_mut(&id) {
            mark.holds = mark.holds.saturating_sub(1);
            if mark.holds == 0 {
                marks.remove(&id);
                self.count.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// True when `id` may commit at a timestamp at or below `snapshot`.
    pub fn may_be_visible(&self, id: TxnId, snapshot: SeqNo) -> bool {
        if self.count.load(Ordering::SeqCst) == 0 {
            return false;
        }
        match self.marks.read().get(&id) {
            None => false,
            Some(Mark {
                commit_ts: None, ..
            }) => true,
            Some(Mark {
                commit_ts: Some(ts),
                ..
            }) => *ts <= snapshot,
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
        board.hold(7);
        assert!(board.may_be_visible(7, 1), "deciding: maybe");
        board.set_commit_ts(7, 50);
        assert!(!board.may_be_visible(7, 49));
        assert!(board.may_be_visible(7, 50));
        board.hold(7);
        board.release(7);
        assert!(board.may_be_visible(7, 60), "one hold is left");
        board.release(7);
        assert!(!board.may_be_visible(7, 100));
        assert!(!board.is_marked(7));
    }
}
