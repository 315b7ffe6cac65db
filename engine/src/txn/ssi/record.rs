//! [`TxnRecord`]: what the tracker remembers about one serializable
//! transaction, and where its commit falls in commit order.
//!
//! A record lives from `begin` until the transaction aborts (at once) or
//! until it has committed and no uncommitted transaction is concurrent with
//! it any more (see the retention rule in the module essay).
//!
//! ## Commit positions
//!
//! The engine calls `prepare_commit`, then writes the batch (which assigns
//! the commit sequence number), then calls `committed`; other threads can run
//! in between. So the tracker knows a transaction's commit position only as
//! an interval, and decides "T_out commits first" conservatively on it:
//!
//! ```text
//!   phase        earliest possible commit seq     latest possible
//!   Active       (not asked: an active T_out is never "first")   ∞
//!   Committing   floor + 1                        ∞
//!   Committed    seq                              seq
//! ```
//!
//! `floor` is the highest commit seq the tracker had been told of when the
//! transaction passed `prepare_commit`: that commit's batch was written
//! before, so ours gets a larger sequence number.

use std::collections::BTreeSet;

use foldhash::HashSet;
use std::sync::Arc;

use crate::txn::ssi::key_range::KeyRange;
use crate::txn::ssi::{SeqNo, TxnId};

/// Where a transaction is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Reading and writing.
    Active,
    /// Passed `prepare_commit`; `committed` or `aborted` follows. It can no
    /// longer be chosen as a victim.
    Committing {
        /// Its commit seq will be greater than this.
        floor: SeqNo,
    },
    /// Committed at `seq`.
    Committed {
        /// The commit sequence number.
        seq: SeqNo,
    },
    /// Chosen as a victim; every further call fails with this reason.
    Doomed {
        /// Why, in words for the user.
        reason: String,
    },
}

/// The tracker's record of one transaction.
#[derive(Debug)]
pub(crate) struct TxnRecord {
    /// It sees exactly the commits with `commit_seq <= snapshot`.
    pub(crate) snapshot: SeqNo,
    /// Declared `READ ONLY` at begin.
    pub(crate) declared_read_only: bool,
    /// Its phase.
    pub(crate) phase: Phase,
    /// Keys it read (its point SIREADs), shared with the tracker's index.
    pub(crate) point_reads: HashSet<Arc<[u8]>>,
    /// Ranges it scanned (its predicate SIREADs).
    pub(crate) range_reads: Vec<KeyRange>,
    /// True once it has written a key.
    pub(crate) wrote: bool,
    /// Keys it wrote, ordered for range queries — filled in only when it
    /// commits while some uncommitted transaction is concurrent with it (an
    /// uncommitted writer is found through the intent table instead).
    pub(crate) writes: BTreeSet<Arc<[u8]>>,
    /// Transactions `T` with `T -rw-> self`: they read what `self` wrote.
    pub(crate) in_conflicts: BTreeSet<TxnId>,
    /// Transactions `T` with `self -rw-> T`: `self` read what they wrote.
    pub(crate) out_conflicts: BTreeSet<TxnId>,
    /// The earliest-committed transaction `T` with `self -rw-> T`, kept after
    /// `T` itself is dropped: `(commit seq, id)`.
    pub(crate) earliest_committed_out: Option<(SeqNo, TxnId)>,
}

impl TxnRecord {
    /// A fresh record in `phase`.
    pub(crate) fn new(snapshot: SeqNo, declared_read_only: bool, phase: Phase) -> TxnRecord {
        TxnRecord {
            snapshot,
            declared_read_only,
            phase,
            point_reads: HashSet::default(),
            range_reads: Vec::new(),
            wrote: false,
            writes: BTreeSet::new(),
            in_conflicts: BTreeSet::new(),
            out_conflicts: BTreeSet::new(),
            earliest_committed_out: None,
        }
    }

    /// Active or committing: it may still commit, and holds back retention.
    pub(crate) fn is_uncommitted(&self) -> bool {
        matches!(self.phase, Phase::Active | Phase::Committing { .. })
    }

    /// Committing or committed: it can no longer be aborted by the tracker.
    pub(crate) fn is_settled(&self) -> bool {
        matches!(
            self.phase,
            Phase::Committing { .. } | Phase::Committed { .. }
        )
    }

    /// Chosen as a victim.
    pub(crate) fn is_doomed(&self) -> bool {
        matches!(self.phase, Phase::Doomed { .. })
    }

    /// Its commit seq, once committed.
    pub(crate) fn commit_seq(&self) -> Option<SeqNo> {
        match self.phase {
            Phase::Committed { seq } => Some(seq),
            _ => None,
        }
    }

    /// Read-only for the read-only rule: no writes, and either declared so or
    /// past the point where it could still write.
    pub(crate) fn is_read_only(&self) -> bool {
        !self.wrote && (self.declared_read_only || self.is_settled())
    }

    /// True when a transaction reading at `snapshot` cannot see this one's
    /// writes and this one cannot see writes made after `snapshot`: it is
    /// uncommitted, or committed after `snapshot`.
    pub(crate) fn is_concurrent_with(&self, snapshot: SeqNo) -> bool {
        match self.phase {
            Phase::Active | Phase::Committing { .. } => true,
            Phase::Committed { seq } => seq > snapshot,
            Phase::Doomed { .. } => false,
        }
    }

    /// The earliest commit seq it may end up with (only asked of settled ones).
    pub(crate) fn earliest_commit(&self) -> SeqNo {
        match self.phase {
            Phase::Committed { seq } => seq,
            Phase::Committing { floor } => floor.saturating_add(1),
            Phase::Active | Phase::Doomed { .. } => SeqNo::MAX,
        }
    }

    /// The latest commit seq it may end up with (`MAX`: not known yet).
    pub(crate) fn latest_commit(&self) -> SeqNo {
        self.commit_seq().unwrap_or(SeqNo::MAX)
    }

    /// Notes that `out` (with `self -rw-> out`) committed at `seq`.
    pub(crate) fn note_committed_out(&mut self, seq: SeqNo, out: TxnId) {
        if self
            .earliest_committed_out
            .is_none_or(|(known, _)| seq < known)
        {
            self.earliest_committed_out = Some((seq, out));
        }
    }
}
