//! `IntentTable`: the uncommitted writes of every open transaction, which
//! READ UNCOMMITTED readers see (dirty reads).
//!
//! Only the holder of a row's exclusive lock writes that row, so each key has
//! at most one intent. A transaction's intents are published as it writes and
//! removed when it commits (after its writes are in the store) or rolls back.

use std::ops::Bound;

use crossbeam_skiplist::SkipMap;

use crate::txn::lock::TxnId;

/// An uncommitted write: its transaction and the new value (`None` = delete).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    /// The writing transaction.
    pub txn: TxnId,
    /// The uncommitted value; `None` for a delete.
    pub value: Option<Vec<u8>>,
}

/// Uncommitted writes by stored key.
#[derive(Default)]
pub struct IntentTable {
    map: SkipMap<Vec<u8>, Intent>,
}

impl IntentTable {
    /// Publishes `txn`'s uncommitted write of `key`.
    pub fn put(&self, key: Vec<u8>, txn: TxnId, value: Option<Vec<u8>>) {
        self.map.insert(key, Intent { txn, value });
    }

    /// The uncommitted write of `key`, if any.
    pub fn get(&self, key: &[u8]) -> Option<Intent> {
        self.map.get(key).map(|e| e.value().clone())
    }

    /// Uncommitted writes of other transactions than `me` within the bounds.
    pub fn range(
        &self,
        me: TxnId,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let lower = lower.map(<[u8]>::to_vec);
        let upper = upper.map(<[u8]>::to_vec);
        self.map
            .range((lower, upper))
            .filter(|e| e.value().txn != me)
            .map(|e| (e.key().clone(), e.value().value.clone()))
            .collect()
    }

    /// Removes `txn`'s intent on `key` (another transaction's is left alone).
    pub fn remove(&self, key: &[u8], txn: TxnId) {
        if let Some(entry) = self.map.get(key)
            && entry.value().txn == txn
        {
            entry.remove();
        }
    }

    /// Number of open intents.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no transaction has an uncommitted write.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
