//! Tests of the SSI tracker: anomaly transcripts, lifecycle and retention,
//! and a property test against a serialization-graph oracle.
//!
//! Every transcript drives the tracker the way the transaction layer does:
//! a transaction reads at a snapshot equal to the number of commits before
//! its begin, and each commit takes the next sequence number.

mod anomalies;
mod commit_window;
mod lifecycle;
mod model;

use std::ops::Bound;

use crate::error::{Error, Result};
use crate::txn::ssi::{SeqNo, SsiTracker, TxnId};

/// A tracker plus the commit counter of a pretend store.
pub(super) struct Schedule {
    pub(super) tracker: SsiTracker,
    pub(super) last_seq: SeqNo,
}

impl Schedule {
    pub(super) fn new() -> Schedule {
        Schedule {
            tracker: SsiTracker::new(),
            last_seq: 0,
        }
    }

    /// Begins `txn` at the current snapshot.
    pub(super) fn begin(&self, txn: TxnId) {
        self.tracker.begin(txn, self.last_seq, false);
    }

    /// Begins `txn` declared READ ONLY.
    pub(super) fn begin_read_only(&self, txn: TxnId) {
        self.tracker.begin(txn, self.last_seq, true);
    }

    pub(super) fn read(&self, txn: TxnId, key: &str) -> Result<()> {
        self.tracker.on_read(txn, key.as_bytes())
    }

    pub(super) fn write(&self, txn: TxnId, key: &str) -> Result<()> {
        self.tracker.on_write(txn, key.as_bytes())
    }

    /// Scans `[lower, upper)`.
    pub(super) fn scan(&self, txn: TxnId, lower: &str, upper: &str) -> Result<()> {
        self.tracker.on_scan(
            txn,
            Bound::Included(lower.as_bytes()),
            Bound::Excluded(upper.as_bytes()),
        )
    }

    /// Commits `txn` as the engine does; on a failed check it rolls back.
    pub(super) fn commit(&mut self, txn: TxnId) -> Result<SeqNo> {
        if let Err(e) = self.tracker.prepare_commit(txn) {
            self.tracker.aborted(txn);
            return Err(e);
        }
        self.last_seq += 1;
        self.tracker.committed(txn, self.last_seq);
        Ok(self.last_seq)
    }
}

/// The message of a 40001 error; fails the test for anything else.
#[track_caller]
pub(super) fn serialization_failure<T: std::fmt::Debug>(result: Result<T>) -> String {
    match result {
        Err(Error::SerializationFailure(why)) => why,
        other => panic!("expected a serialization failure (40001), got {other:?}"),
    }
}
