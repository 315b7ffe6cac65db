//! [`SsiTracker`]: the public face of the SSI bookkeeping, one per engine.
//!
//! Every method takes the one mutex around [`TrackerState`] for the length
//! of the call; no call blocks on anything else, and none allocates per read
//! beyond the key it records (and a short list of conflicting transactions
//! when there are any). Uncommitted writes are not copied into the tracker:
//! it shares the engine's [`IntentTable`] and looks there, under its mutex,
//! when a read or scan asks who wrote a key.

use std::ops::Bound;

use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::Result;
use crate::txn::intents::IntentTable;
use crate::txn::ssi::key_range::KeyRange;
use crate::txn::ssi::state::TrackerState;
use crate::txn::ssi::{SeqNo, TxnId};

/// Serializable-snapshot-isolation tracker: SIREADs, write sets and
/// rw-antidependencies of the SERIALIZABLE transactions, and the victims of
/// dangerous structures among them. `Send + Sync`.
#[derive(Debug)]
pub struct SsiTracker {
    state: Mutex<TrackerState>,
    intents: Arc<IntentTable>,
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
    /// An empty tracker over `intents`, where every transaction publishes
    /// its uncommitted writes before it reports them with
    /// [`SsiTracker::on_write`] and removes them only after
    /// [`SsiTracker::committed`] or [`SsiTracker::aborted`].
    pub fn new(intents: Arc<IntentTable>) -> Self {
        SsiTracker {
            state: Mutex::new(TrackerState::default()),
            intents,
        }
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
        self.state.lock().record_read(txn, key, &self.intents)
    }

    /// Txn scanned `[lower, upper]` (a predicate read: every key of the
    /// range, present or not, counts).
    pub fn on_scan(&self, txn: TxnId, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Result<()> {
        self.state
            .lock()
            .record_scan(txn, KeyRange::new(lower, upper), &self.intents)
    }

    /// Txn wrote (put or delete) `key`; called after it holds the row's
    /// exclusive lock and has published its intent on `key`.
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

    /// `txn` committed at `commit_seq`, having written the keys `written`;
    /// call it before the transaction's intents are removed.
    pub fn committed<K: AsRef<[u8]>>(
        &self,
        txn: TxnId,
        commit_seq: SeqNo,
        written: impl IntoIterator<Item = K>,
    ) {
        self.state.lock().commit(txn, commit_seq, written);
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
