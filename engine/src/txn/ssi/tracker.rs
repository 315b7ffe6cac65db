//! [`SsiTracker`]: the public face of the SSI bookkeeping, one per engine.
//!
//! Every method takes the one mutex around [`TrackerState`] for the length
//! of the call; no call blocks on anything else, and none allocates per read
//! beyond the key it records (and a short list of conflicting transactions
//! when there are any).

use std::ops::Bound;

use parking_lot::Mutex;

use crate::error::Result;
use crate::txn::ssi::key_range::KeyRange;
use crate::txn::ssi::state::TrackerState;
use crate::txn::ssi::{SeqNo, TxnId};

/// Serializable-snapshot-isolation tracker: SIREADs, write sets and
/// rw-antidependencies of the SERIALIZABLE transactions, and the victims of
/// dangerous structures among them. `Send + Sync`.
#[derive(Debug, Default)]
pub struct SsiTracker {
    state: Mutex<TrackerState>,
}

/// Sizes of the tracker's bookkeeping, for tests and the shell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SsiStats {
    /// Registered transactions not committed: active, committing, or doomed
    /// and waiting for `aborted`.
    pub active: usize,
    /// Committed transactions retained because an uncommitted one is
    /// concurrent with them.
    pub committed: usize,
    /// Point SIREADs: (key, transaction) pairs.
    pub siread_keys: usize,
    /// Range SIREADs.
    pub siread_ranges: usize,
    /// Written keys: (key, transaction) pairs.
    pub written_keys: usize,
    /// rw-antidependency edges.
    pub conflicts: usize,
}

impl SsiStats {
    /// Transactions remembered: active plus retained committed.
    pub fn transactions(&self) -> usize {
        self.active + self.committed
    }

    /// SIREAD entries: point plus range.
    pub fn sireads(&self) -> usize {
        self.siread_keys + self.siread_ranges
    }
}

impl SsiTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        SsiTracker::default()
    }

    /// Registers SERIALIZABLE transaction `txn` reading at `snapshot`.
    ///
    /// If transactions that committed after `snapshot` were already
    /// forgotten (the snapshot was taken, then other transactions committed
    /// and were dropped before this call), `txn` starts doomed: its first
    /// call fails with 40001. [`SsiTracker::begin_with`] closes that window.
    pub fn begin(&self, txn: TxnId, snapshot: SeqNo, declared_read_only: bool) {
        self.state
            .lock()
            .register(txn, snapshot, declared_read_only);
    }

    /// Like [`SsiTracker::begin`], but takes the snapshot inside the
    /// tracker's lock, so no commit can be forgotten between the two:
    /// `take_snapshot` returns the caller's snapshot handle and its seq. It
    /// must not call the tracker (the lock is held). Commits stay correct as
    /// long as `committed` is called after the batch is visible.
    pub fn begin_with<S>(
        &self,
        txn: TxnId,
        declared_read_only: bool,
        take_snapshot: impl FnOnce() -> (S, SeqNo),
    ) -> S {
        let mut state = self.state.lock();
        let (snapshot, seq) = take_snapshot();
        state.register(txn, seq, declared_read_only);
        snapshot
    }

    /// Txn read `key` (a point read, whether or not it found a row).
    pub fn on_read(&self, txn: TxnId, key: &[u8]) -> Result<()> {
        self.state.lock().record_read(txn, key)
    }

    /// Txn scanned `[lower, upper]` (a predicate read: every key of the
    /// range, present or not, counts).
    pub fn on_scan(&self, txn: TxnId, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Result<()> {
        self.state
            .lock()
            .record_scan(txn, KeyRange::new(lower, upper))
    }

    /// Txn wrote (put or delete) `key`; called after it holds the row's
    /// exclusive lock.
    pub fn on_write(&self, txn: TxnId, key: &[u8]) -> Result<()> {
        self.state.lock().record_write(txn, key)
    }

    /// Final check before the commit is made durable;
    /// `Err(SerializationFailure)` means: abort instead. On `Ok` the tracker
    /// considers `txn` committing; exactly one of
    /// [`committed`](SsiTracker::committed) / [`aborted`](SsiTracker::aborted)
    /// follows.
    pub fn prepare_commit(&self, txn: TxnId) -> Result<()> {
        self.state.lock().prepare(txn)
    }

    /// `txn` committed at `commit_seq`.
    pub fn committed(&self, txn: TxnId, commit_seq: SeqNo) {
        self.state.lock().commit(txn, commit_seq);
    }

    /// `txn` rolled back or was aborted: it is forgotten at once.
    pub fn aborted(&self, txn: TxnId) {
        self.state.lock().forget(txn);
    }

    /// Number of transactions (active + retained committed) and SIREAD
    /// entries, for tests and the shell.
    pub fn stats(&self) -> SsiStats {
        self.state.lock().stats()
    }
}
