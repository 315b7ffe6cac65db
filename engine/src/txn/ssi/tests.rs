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

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::txn::intents::IntentTable;
use crate::txn::ssi::{SeqNo, SsiTracker, TxnId};

/// A tracker plus the commit counter of a pretend store, and the intent
/// table its writers publish to, as the transaction layer does.
pub(super) struct Schedule {
    pub(super) tracker: SsiTracker,
    pub(super) last_seq: SeqNo,
    intents: Arc<IntentTable>,
    written: RefCell<HashMap<TxnId, Vec<Vec<u8>>>>,
}

impl Schedule {
    pub(super) fn new() -> Schedule {
        let intents = Arc::new(IntentTable::default());
        Schedule {
            tracker: SsiTracker::new(Arc::clone(&intents)),
            last_seq: 0,
            intents,
            written: RefCell::new(HashMap::new()),
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

    /// Publishes the intent, then tells the tracker (the engine's order).
    pub(super) fn write(&self, txn: TxnId, key: &str) -> Result<()> {
        self.intents
            .put(key.as_bytes().to_vec(), txn, Some(Vec::new()));
        self.written
            .borrow_mut()
            .entry(txn)
            .or_default()
            .push(key.as_bytes().to_vec());
        self.tracker.on_write(txn, key.as_bytes())
    }

    /// Tells the tracker `txn` committed at `seq`, then removes its intents.
    pub(super) fn committed(&self, txn: TxnId, seq: SeqNo) {
        let keys = self.written.borrow_mut().remove(&txn).unwrap_or_default();
        self.tracker.committed(txn, seq, &keys);
        for key in &keys {
            self.intents.remove(key, txn);
        }
    }

    /// Tells the tracker `txn` aborted, then removes its intents.
    pub(super) fn aborted(&self, txn: TxnId) {
        self.tracker.aborted(txn);
        for key in self.written.borrow_mut().remove(&txn).unwrap_or_default() {
            self.intents.remove(&key, txn);
        }
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
            self.aborted(txn);
            return Err(e);
        }
        self.last_seq += 1;
        self.committed(txn, self.last_seq);
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
