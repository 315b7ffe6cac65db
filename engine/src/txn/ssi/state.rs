//! [`TrackerState`]: every record and index of the tracker, and the
//! lifecycle rules that keep it bounded (doom, forget, retention).
//!
//! Invariants, true between calls:
//!
//! 1. A key is in `readers` (`writers`) under `t` exactly when it is in
//!    `t`'s `point_reads` (`writes`); `scanners` holds exactly the
//!    transactions with range reads and `writing` those with indexed
//!    writes. Only committed records have indexed writes: an uncommitted
//!    writer is found through its intents (see `conflicts.rs`), and a
//!    committed one's keys are indexed only if it is retained (invariant 4)
//!    at the moment it commits.
//! 2. Edges are symmetric: `b ∈ a.out_conflicts` ⇔ `a ∈ b.in_conflicts`, and
//!    both ends are records that are not doomed.
//! 3. `uncommitted_snapshots` is the multiset of snapshots of the active and
//!    committing records; `committed_by_seq` lists the committed ones.
//! 4. Retention: a committed record is kept only while some uncommitted
//!    record has `snapshot < commit_seq`; `discarded_through` is the highest
//!    commit seq of a committed record dropped so far.
//! 5. Doomed records have no reads, writes or edges left: only the reason.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::HashMap;
use std::mem;
use std::sync::Arc;

use crate::txn::ssi::key_index::KeyIndex;
use crate::txn::ssi::record::{Phase, TxnRecord};
use crate::txn::ssi::{SeqNo, SsiStats, TxnId};

/// All of the tracker's bookkeeping, guarded by one mutex in `SsiTracker`.
#[derive(Debug, Default)]
pub(crate) struct TrackerState {
    /// Every registered transaction still remembered.
    pub(crate) txns: HashMap<TxnId, TxnRecord>,
    /// Point SIREADs: key → readers.
    pub(crate) readers: KeyIndex,
    /// Keys written by retained committed transactions: key → writers.
    pub(crate) writers: KeyIndex,
    /// Transactions with at least one range read.
    pub(crate) scanners: BTreeSet<TxnId>,
    /// Retained committed transactions with indexed writes.
    pub(crate) writing: BTreeSet<TxnId>,
    /// Snapshot → number of uncommitted (active or committing) records.
    pub(crate) uncommitted_snapshots: BTreeMap<SeqNo, usize>,
    /// Retained committed records, by `(commit seq, id)`.
    pub(crate) committed_by_seq: BTreeSet<(SeqNo, TxnId)>,
    /// Highest commit seq the tracker has been told of.
    pub(crate) max_committed_seq: SeqNo,
    /// Highest commit seq of a committed record already dropped.
    pub(crate) discarded_through: SeqNo,
}

impl TrackerState {
    /// The record of `txn` unless it is unknown or doomed.
    pub(crate) fn live(&self, txn: TxnId) -> Option<&TxnRecord> {
        self.txns.get(&txn).filter(|r| !r.is_doomed())
    }

    /// Registers `txn`, doomed at once if it reads at a snapshot older than
    /// transactions whose records were already discarded.
    pub(crate) fn register(&mut self, txn: TxnId, snapshot: SeqNo, declared_read_only: bool) {
        self.forget(txn);
        let phase = if snapshot < self.discarded_through {
            Phase::Doomed {
                reason: format!(
                    "a late start: transaction {txn} reads at snapshot {snapshot}, but the \
                     read/write tracking of transactions that committed after it (up to commit \
                     {}) was already discarded; retry the transaction",
                    self.discarded_through
                ),
            }
        } else {
            self.add_uncommitted_snapshot(snapshot);
            Phase::Active
        };
        self.txns
            .insert(txn, TxnRecord::new(snapshot, declared_read_only, phase));
    }

    /// Marks `txn` as a victim: its reads, writes and edges are removed at
    /// once (it will never commit, so no cycle can run through it) and every
    /// further call fails with `reason`.
    pub(crate) fn doom(&mut self, txn: TxnId, reason: String) {
        if self.txns.get(&txn).is_none_or(TxnRecord::is_doomed) {
            return;
        }
        self.clear(txn);
        if let Some(record) = self.txns.get_mut(&txn) {
            record.phase = Phase::Doomed { reason };
        }
        self.prune();
    }

    /// Forgets `txn` entirely (it aborted, or it is registered again).
    pub(crate) fn forget(&mut self, txn: TxnId) {
        if self.txns.contains_key(&txn) {
            self.clear(txn);
            self.txns.remove(&txn);
            self.prune();
        }
    }

    /// Records that `txn` committed at `seq`, having written `written`.
    ///
    /// If some uncommitted transaction is concurrent with it (so its record
    /// is retained), its keys go into the writers index: from now on its
    /// intents may vanish, and a later read or scan by that transaction must
    /// still find the write. Otherwise nothing per key is done at all.
    pub(crate) fn commit<K: AsRef<[u8]>>(
        &mut self,
        txn: TxnId,
        seq: SeqNo,
        written: impl IntoIterator<Item = K>,
    ) {
        let Some(record) = self.txns.get(&txn) else {
            return;
        };
        match record.phase {
            Phase::Active | Phase::Committing { .. } => {}
            Phase::Committed { .. } => return,
            // A doomed transaction is never told Ok by `prepare_commit`; if
            // the caller commits it anyway there is nothing left to track.
            Phase::Doomed { .. } => return self.forget(txn),
        }
        let snapshot = record.snapshot;
        let readers: Vec<TxnId> = record.in_conflicts.iter().copied().collect();
        self.remove_uncommitted_snapshot(snapshot);
        self.max_committed_seq = self.max_committed_seq.max(seq);
        for reader in readers {
            let Some(r) = self.txns.get_mut(&reader) else {
                continue;
            };
            if r.snapshot >= seq {
                // The reader's snapshot includes this commit after all (it
                // began between our batch write and this call): it saw our
                // writes, so the edge was never real.
                r.out_conflicts.remove(&txn);
                if let Some(me) = self.txns.get_mut(&txn) {
                    me.in_conflicts.remove(&reader);
                }
            } else {
                r.note_committed_out(seq, txn);
            }
        }
        let retained = self
            .uncommitted_snapshots
            .keys()
            .next()
            .is_some_and(|&oldest| oldest < seq);
        if retained {
            self.index_writes(txn, written);
        }
        if let Some(me) = self.txns.get_mut(&txn) {
            me.phase = Phase::Committed { seq };
        }
        self.committed_by_seq.insert((seq, txn));
        self.prune();
    }

    /// Puts the keys `txn` wrote into the writers index and its record.
    fn index_writes<K: AsRef<[u8]>>(&mut self, txn: TxnId, written: impl IntoIterator<Item = K>) {
        let mut keys = Vec::new();
        for key in written {
            let key = key.as_ref();
            let shared = self.shared_key(key);
            self.writers.insert(Arc::clone(&shared), txn);
            keys.push(shared);
        }
        if keys.is_empty() {
            return;
        }
        self.writing.insert(txn);
        if let Some(record) = self.txns.get_mut(&txn) {
            record.writes.extend(keys);
        }
    }

    /// Drops the committed records no uncommitted transaction is concurrent
    /// with any more (retention rule, invariant 4).
    pub(crate) fn prune(&mut self) {
        let oldest_snapshot = self.uncommitted_snapshots.keys().next().copied();
        while let Some(&(seq, txn)) = self.committed_by_seq.first() {
            if oldest_snapshot.is_some_and(|snapshot| snapshot < seq) {
                break;
            }
            self.committed_by_seq.pop_first();
            self.discarded_through = self.discarded_through.max(seq);
            self.clear(txn);
            self.txns.remove(&txn);
        }
    }

    /// Removes `txn`'s reads, writes and edges from every index and from its
    /// neighbours, and its snapshot if it was uncommitted. Neighbours keep
    /// the summary of a committed out-conflict (`earliest_committed_out`).
    fn clear(&mut self, txn: TxnId) {
        let Some(record) = self.txns.get_mut(&txn) else {
            return;
        };
        let point_reads = mem::take(&mut record.point_reads);
        let writes = mem::take(&mut record.writes);
        let had_ranges = !mem::take(&mut record.range_reads).is_empty();
        let in_conflicts = mem::take(&mut record.in_conflicts);
        let out_conflicts = mem::take(&mut record.out_conflicts);
        let snapshot = record.snapshot;
        let uncommitted = record.is_uncommitted();
        for key in &point_reads {
            self.readers.remove(key, txn);
        }
        for key in &writes {
            self.writers.remove(key, txn);
        }
        if had_ranges {
            self.scanners.remove(&txn);
        }
        if !writes.is_empty() {
            self.writing.remove(&txn);
        }
        for reader in in_conflicts {
            if let Some(r) = self.txns.get_mut(&reader) {
                r.out_conflicts.remove(&txn);
            }
        }
        for writer in out_conflicts {
            if let Some(w) = self.txns.get_mut(&writer) {
                w.in_conflicts.remove(&txn);
            }
        }
        if uncommitted {
            self.remove_uncommitted_snapshot(snapshot);
        }
    }

    fn add_uncommitted_snapshot(&mut self, snapshot: SeqNo) {
        *self.uncommitted_snapshots.entry(snapshot).or_insert(0) += 1;
    }

    fn remove_uncommitted_snapshot(&mut self, snapshot: SeqNo) {
        if let Some(count) = self.uncommitted_snapshots.get_mut(&snapshot) {
            *count -= 1;
            if *count == 0 {
                self.uncommitted_snapshots.remove(&snapshot);
            }
        }
    }

    /// Counts for tests and the shell.
    pub(crate) fn stats(&self) -> SsiStats {
        let committed = self.committed_by_seq.len();
        SsiStats {
            active: self.txns.len() - committed,
            committed,
            siread_keys: self.readers.entries(),
            siread_ranges: self.txns.values().map(|r| r.range_reads.len()).sum(),
            written_keys: self.writers.entries(),
            conflicts: self.txns.values().map(|r| r.out_conflicts.len()).sum(),
        }
    }
}
