//! `IntentTable`: the uncommitted writes of every open transaction, which
//! READ UNCOMMITTED readers see (dirty reads).
//!
//! Only the holder of a row's exclusive lock (or of its keyspace's, after
//! lock escalation) writes that row, so each key has at most one intent. A transaction's intents are published as it writes and
//! removed when it commits (after its writes are in the store) or rolls back.
//!
//! The SSI tracker looks here too: the intent on a key names its uncommitted
//! writer, so a serializable read finds the writers it conflicts with
//! without a second per-key index of writes.
//!
//! Two kinds of entries answer every lookup:
//!
//! ```text
//!   per key   x/1 -> (T7, "a")   x/2 -> (T7, delete)   y/9 -> (T8, "b")
//!   in bulk   T9 -> its whole write set (shared, read under its lock)
//! ```
//!
//! A transaction that escalated a keyspace (see [`crate::txn::escalation`])
//! stops publishing its writes there one by one; it registers its write set
//! in bulk instead, before it drops the per-key intents it had published in
//! that keyspace, so no write is ever missing from the table. Lookups check
//! the per-key map, then each bulk writer's set (there are rarely more than
//! one or two).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use crossbeam_skiplist::SkipMap;
use parking_lot::RwLock;

use crate::txn::lock::TxnId;
use crate::txn::write_set::WriteSet;

/// A transaction's write set, shared with the intent table once it writes
/// in bulk.
pub type SharedWrites = Arc<RwLock<WriteSet>>;

/// An uncommitted write: its transaction and the new value (`None` = delete).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    /// The writing transaction.
    pub txn: TxnId,
    /// The uncommitted value; `None` for a delete.
    pub value: Option<Vec<u8>>,
}

/// Uncommitted writes by stored key.
#[derive(Debug, Default)]
pub struct IntentTable {
    map: SkipMap<Vec<u8>, Intent>,
    /// Bulk writers: (transaction, shard) → its write set on that shard
    /// (one cluster transaction may escalate on several shards).
    bulk: RwLock<Vec<(TxnId, u16, SharedWrites)>>,
}

impl IntentTable {
    /// Publishes every write of `txn` on `shard`, present and future,
    /// through its shared write set (once per transaction and shard).
    pub fn publish_bulk(&self, txn: TxnId, shard: u16, writes: &SharedWrites) {
        let mut bulk = self.bulk.write();
        if !bulk.iter().any(|(t, s, _)| *t == txn && *s == shard) {
            bulk.push((txn, shard, Arc::clone(writes)));
        }
    }

    /// Withdraws `txn`'s bulk entry on `shard`, if it has one.
    pub fn remove_bulk(&self, txn: TxnId, shard: u16) {
        let mut bulk = self.bulk.write();
        bulk.retain(|(t, s, _)| *t != txn || *s != shard);
    }

    /// Publishes `txn`'s uncommitted write of `key`.
    pub fn put(&self, key: Vec<u8>, txn: TxnId, value: Option<Vec<u8>>) {
        self.map.insert(key, Intent { txn, value });
    }

    /// The uncommitted write of `key`, if any.
    pub fn get(&self, key: &[u8]) -> Option<Intent> {
        if let Some(entry) = self.map.get(key) {
            return Some(entry.value().clone());
        }
        self.bulk.read().iter().find_map(|(txn, _, writes)| {
            writes.read().get(key).map(|value| Intent {
                txn: *txn,
                value: value.clone(),
            })
        })
    }

    /// The transaction with an uncommitted write of `key`, if any.
    pub fn writer_of(&self, key: &[u8]) -> Option<TxnId> {
        if let Some(entry) = self.map.get(key) {
            return Some(entry.value().txn);
        }
        self.bulk
            .read()
            .iter()
            .find(|(_, _, writes)| writes.read().contains_key(key))
            .map(|(txn, _, _)| *txn)
    }

    /// The transactions with uncommitted writes within the bounds, each
    /// once. Costs one step per intent in the range.
    pub fn writers_in(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Vec<TxnId> {
        let mut writers: Vec<TxnId> = Vec::new();
        for entry in self.map.range::<[u8], _>((lower, upper)) {
            let txn = entry.value().txn;
            if writers.last() != Some(&txn) && !writers.contains(&txn) {
                writers.push(txn);
            }
        }
        if crate::txn::ssi::is_empty_range((lower, upper)) {
            return writers;
        }
        for (txn, _, writes) in self.bulk.read().iter() {
            if !writers.contains(txn) && writes.read().any_in(lower, upper) {
                writers.push(*txn);
            }
        }
        writers
    }

    /// Uncommitted writes of other transactions than `me` within the bounds.
    pub fn range(
        &self,
        me: TxnId,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let mut found: Vec<(Vec<u8>, Option<Vec<u8>>)> = self
            .map
            .range::<[u8], _>((lower, upper))
            .filter(|e| e.value().txn != me)
            .map(|e| (e.key().clone(), e.value().value.clone()))
            .collect();
        let bulk = self.bulk.read();
        let others: Vec<&SharedWrites> = bulk
            .iter()
            .filter(|(txn, _, _)| *txn != me)
            .map(|(_, _, writes)| writes)
            .collect();
        if others.is_empty() || crate::txn::ssi::is_empty_range((lower, upper)) {
            return found;
        }
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = found.drain(..).collect();
        for writes in others {
            merged.extend(writes.read().range(lower, upper));
        }
        merged.into_iter().collect()
    }

    /// Removes `txn`'s intent on `key` (another transaction's is left alone).
    pub fn remove(&self, key: &[u8], txn: TxnId) {
        if let Some(entry) = self.map.get(key)
            && entry.value().txn == txn
        {
            entry.remove();
        }
    }

    /// Number of open per-key intents (bulk writers not counted).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no transaction has an uncommitted write.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.bulk.read().iter().all(|(_, _, w)| w.read().is_empty())
    }
}
