//! [`KeyIndex`]: key → the transactions that read (or wrote) it.
//!
//! The tracker keeps two of these: the point SIREADs (who read key `k`) and
//! the writers (who wrote key `k`), so a write finds its readers and a read
//! finds its writers with one hash lookup. Keys are shared `Arc<[u8]>`s: the
//! same allocation is the map key here and the entry in the transaction's own
//! read or write set, so recording a read allocates at most the key once.
//!
//! ```text
//!   b"acct/1" -> [11, 12]        (transactions 11 and 12 read acct/1)
//!   b"acct/2" -> [12]
//! ```
//!
//! Lists stay short (one entry per concurrent transaction touching the key)
//! and are unordered; a transaction appears at most once per key because the
//! tracker consults the transaction's own set before inserting.

use foldhash::HashMap;
use std::sync::Arc;

use crate::txn::ssi::TxnId;

/// Key → transactions, for point SIREADs or for written keys.
#[derive(Debug, Default)]
pub(crate) struct KeyIndex {
    owners: HashMap<Arc<[u8]>, Vec<TxnId>>,
    entries: usize,
}

impl KeyIndex {
    /// The index's own shared copy of `key`, if some transaction holds it.
    pub(crate) fn shared_key(&self, key: &[u8]) -> Option<Arc<[u8]>> {
        self.owners.get_key_value(key).map(|(k, _)| Arc::clone(k))
    }

    /// Records that `txn` holds `key`. The caller guarantees it did not before.
    pub(crate) fn insert(&mut self, key: Arc<[u8]>, txn: TxnId) {
        self.owners.entry(key).or_default().push(txn);
        self.entries += 1;
    }

    /// Forgets that `txn` holds `key`, dropping the key when nobody does.
    pub(crate) fn remove(&mut self, key: &[u8], txn: TxnId) {
        let Some(list) = self.owners.get_mut(key) else {
            return;
        };
        if let Some(at) = list.iter().position(|&t| t == txn) {
            list.swap_remove(at);
            self.entries -= 1;
        }
        if list.is_empty() {
            self.owners.remove(key);
        }
    }

    /// The transactions holding `key` (empty if none).
    pub(crate) fn holders(&self, key: &[u8]) -> &[TxnId] {
        self.owners.get(key).map_or(&[], Vec::as_slice)
    }

    /// True when no transaction holds any key.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Number of (key, transaction) pairs.
    pub(crate) fn entries(&self) -> usize {
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_share_and_remove() {
        let mut index = KeyIndex::default();
        let key: Arc<[u8]> = Arc::from(&b"k"[..]);
        index.insert(Arc::clone(&key), 1);
        let shared = index.shared_key(b"k").expect("key was inserted");
        assert!(Arc::ptr_eq(&shared, &key));
        index.insert(shared, 2);
        assert_eq!(index.holders(b"k"), &[1, 2]);
        assert_eq!(index.entries(), 2);
        assert_eq!(index.holders(b"other"), &[] as &[TxnId]);

        index.remove(b"k", 1);
        assert_eq!(index.holders(b"k"), &[2]);
        index.remove(b"k", 7);
        assert_eq!(index.entries(), 1);
        index.remove(b"k", 2);
        assert_eq!(index.entries(), 0);
        assert!(index.owners.is_empty());
        assert!(index.shared_key(b"k").is_none());
    }
}
