//! `MemTable`: the sorted in-memory buffer every write lands in first.
//!
//! A memtable is a lock-free skip list (crossbeam-skiplist) of internal keys
//! (user key + sequence number + kind, see [`crate::storage::key`]) to values.
//! One writer at a time inserts (the group-commit leader); any number of
//! readers look up and iterate concurrently. Because every version has its own
//! sequence number, an insert never overwrites: readers at an older snapshot
//! keep seeing what they saw.
//!
//! When its approximate size reaches the budget the store freezes it (it
//! becomes immutable, still readable) and a background thread writes it to an
//! L0 table. The size counts keys, values and a fixed per-entry overhead for
//! the skip-list node, so the memory budget is honest.

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use crossbeam_skiplist::SkipMap;

use crate::storage::batch::WriteBatch;
use crate::storage::key::{
    MAX_SEQ, SeqNo, ValueKind, compare_internal_keys, encode_internal_key, seek_key,
    split_internal_key, user_key,
};

/// Bytes charged per entry for the skip-list node, its tower and two heap headers.
const ENTRY_OVERHEAD: usize = 96;

/// An encoded internal key ordered by [`compare_internal_keys`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InternalKeyBuf(pub Vec<u8>);

impl Ord for InternalKeyBuf {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_internal_keys(&self.0, &other.0)
    }
}

impl PartialOrd for InternalKeyBuf {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A version found by a point lookup: its sequence number, kind and value.
pub type FoundVersion = (SeqNo, ValueKind, Vec<u8>);

/// The in-memory sorted buffer of recent writes.
pub struct MemTable {
    map: SkipMap<InternalKeyBuf, Vec<u8>>,
    approximate_size: AtomicUsize,
    /// The write-ahead log file that holds this memtable's writes.
    log_number: u64,
}

impl MemTable {
    /// An empty memtable whose writes are logged in log file `log_number`.
    pub fn new(log_number: u64) -> Self {
        MemTable {
            map: SkipMap::new(),
            approximate_size: AtomicUsize::new(0),
            log_number,
        }
    }

    /// The write-ahead log file that holds this memtable's writes.
    pub fn log_number(&self) -> u64 {
        self.log_number
    }

    /// Inserts one version.
    pub fn insert(&self, user_key: &[u8], seq: SeqNo, kind: ValueKind, value: &[u8]) {
        let ikey = encode_internal_key(user_key, seq, kind);
        let charge = ikey.len() + value.len() + ENTRY_OVERHEAD;
        self.map.insert(InternalKeyBuf(ikey), value.to_vec());
        self.approximate_size
            .fetch_add(charge, AtomicOrdering::Relaxed);
    }

    /// Inserts every operation of `batch`, the i-th at sequence `first_seq + i`.
    pub fn apply(&self, batch: &WriteBatch, first_seq: SeqNo) {
        for (i, op) in batch.iter().enumerate() {
            self.insert(op.key, first_seq + i as u64, op.kind, op.value);
        }
    }

    /// The newest version of `key` with sequence number `<= seq`.
    pub fn get(&self, key: &[u8], seq: SeqNo) -> Option<FoundVersion> {
        let seek = InternalKeyBuf(seek_key(key, seq));
        let entry = self.map.lower_bound(Bound::Included(&seek))?;
        let (found_key, found_seq, kind) = split_internal_key(&entry.key().0);
        (found_key == key).then(|| (found_seq, kind, entry.value().clone()))
    }

    /// Approximate bytes used by keys, values and nodes.
    pub fn approximate_size(&self) -> usize {
        self.approximate_size.load(AtomicOrdering::Relaxed)
    }

    /// Number of versions held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// A double-ended iterator over every version of the user keys in
    /// `[lower, upper]`, in internal-key order.
    pub fn iter(self: &Arc<Self>, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> MemTableIterator {
        let (front, back) = internal_bounds(lower, upper);
        MemTableIterator {
            mem: Arc::clone(self),
            front,
            back,
        }
    }
}

/// Converts user-key bounds into bounds on internal keys that cover every
/// version of every user key in range.
pub fn internal_bounds(
    lower: Bound<&[u8]>,
    upper: Bound<&[u8]>,
) -> (Bound<InternalKeyBuf>, Bound<InternalKeyBuf>) {
    // The first version of a key is (key, MAX_SEQ, Put); the last is (key, 0, Delete).
    let first = |k: &[u8]| InternalKeyBuf(encode_internal_key(k, MAX_SEQ, ValueKind::Put));
    let last = |k: &[u8]| InternalKeyBuf(encode_internal_key(k, 0, ValueKind::Delete));
    let front = match lower {
        Bound::Included(k) => Bound::Included(first(k)),
        Bound::Excluded(k) => Bound::Excluded(last(k)),
        Bound::Unbounded => Bound::Unbounded,
    };
    let back = match upper {
        Bound::Included(k) => Bound::Included(last(k)),
        Bound::Excluded(k) => Bound::Excluded(first(k)),
        Bound::Unbounded => Bound::Unbounded,
    };
    (front, back)
}

/// Iterates a memtable from both ends. Each end remembers the last key it
/// returned and re-seeks past it, so the iterator owns no borrow of the skip
/// list and the two ends can never pass each other.
pub struct MemTableIterator {
    mem: Arc<MemTable>,
    front: Bound<InternalKeyBuf>,
    back: Bound<InternalKeyBuf>,
}

fn before_upper(key: &InternalKeyBuf, upper: &Bound<InternalKeyBuf>) -> bool {
    match upper {
        Bound::Included(u) => key <= u,
        Bound::Excluded(u) => key < u,
        Bound::Unbounded => true,
    }
}

fn after_lower(key: &InternalKeyBuf, lower: &Bound<InternalKeyBuf>) -> bool {
    match lower {
        Bound::Included(l) => key >= l,
        Bound::Excluded(l) => key > l,
        Bound::Unbounded => true,
    }
}

impl Iterator for MemTableIterator {
    type Item = crate::Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.mem.map.lower_bound(self.front.as_ref())?;
        if !before_upper(entry.key(), &self.back) {
            return None;
        }
        let key = entry.key().clone();
        let value = entry.value().clone();
        self.front = Bound::Excluded(key.clone());
        Some(Ok((key.0, value)))
    }
}

impl DoubleEndedIterator for MemTableIterator {
    fn next_back(&mut self) -> Option<Self::Item> {
        let entry = self.mem.map.upper_bound(self.back.as_ref())?;
        if !after_lower(entry.key(), &self.front) {
            return None;
        }
        let key = entry.key().clone();
        let value = entry.value().clone();
        self.back = Bound::Excluded(key.clone());
        Some(Ok((key.0, value)))
    }
}

/// The user key of an internal key held in a memtable iterator item.
pub fn item_user_key(item: &(Vec<u8>, Vec<u8>)) -> &[u8] {
    user_key(&item.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(items: Vec<crate::Result<(Vec<u8>, Vec<u8>)>>) -> Vec<(Vec<u8>, SeqNo)> {
        items
            .into_iter()
            .map(|item| {
                let (ikey, _) = item.expect("memtable iteration cannot fail");
                let (k, s, _) = split_internal_key(&ikey);
                (k.to_vec(), s)
            })
            .collect()
    }

    #[test]
    fn get_returns_newest_visible_version() {
        let mem = MemTable::new(1);
        mem.insert(b"k", 1, ValueKind::Put, b"one");
        mem.insert(b"k", 3, ValueKind::Put, b"three");
        mem.insert(b"k", 5, ValueKind::Delete, b"");
        mem.insert(b"ka", 2, ValueKind::Put, b"other");
        assert_eq!(mem.get(b"k", 0), None);
        assert_eq!(mem.get(b"k", 2), Some((1, ValueKind::Put, b"one".to_vec())));
        assert_eq!(
            mem.get(b"k", 4),
            Some((3, ValueKind::Put, b"three".to_vec()))
        );
        assert_eq!(mem.get(b"k", 9), Some((5, ValueKind::Delete, vec![])));
        assert_eq!(mem.get(b"j", 9), None);
        assert_eq!(mem.get(b"ka", 1), None);
        assert!(mem.approximate_size() > 0);
    }

    #[test]
    fn iterates_both_ways_within_bounds_without_crossing() {
        let mem = Arc::new(MemTable::new(1));
        for (i, k) in [b"a", b"b", b"c", b"d"].iter().enumerate() {
            mem.insert(*k, i as u64 + 1, ValueKind::Put, b"v");
            mem.insert(*k, i as u64 + 10, ValueKind::Put, b"w");
        }
        let all = keys(mem.iter(Bound::Unbounded, Bound::Unbounded).collect());
        assert_eq!(all.len(), 8);
        assert_eq!(all[0], (b"a".to_vec(), 10));
        assert_eq!(all[1], (b"a".to_vec(), 1));
        let mut rev = keys(mem.iter(Bound::Unbounded, Bound::Unbounded).rev().collect());
        rev.reverse();
        assert_eq!(rev, all);

        let bounded = keys(
            mem.iter(Bound::Excluded(b"a"), Bound::Included(b"c"))
                .collect(),
        );
        assert_eq!(
            bounded.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            [b"b".to_vec(), b"b".to_vec(), b"c".to_vec(), b"c".to_vec()]
        );

        // Alternate ends: every entry exactly once.
        let mut it = mem.iter(Bound::Unbounded, Bound::Unbounded);
        let mut seen = Vec::new();
        loop {
            let step = if seen.len() % 2 == 0 {
                it.next()
            } else {
                it.next_back()
            };
            match step {
                Some(item) => seen.push(item.expect("ok")),
                None => break,
            }
        }
        assert_eq!(seen.len(), 8);
        assert!(it.next().is_none() && it.next_back().is_none());
    }

    #[test]
    fn apply_assigns_consecutive_sequence_numbers() {
        let mem = MemTable::new(1);
        let mut batch = WriteBatch::new();
        batch.put(b"x", b"1").put(b"x", b"2").delete(b"y");
        mem.apply(&batch, 7);
        assert_eq!(mem.get(b"x", 100), Some((8, ValueKind::Put, b"2".to_vec())));
        assert_eq!(mem.get(b"x", 7), Some((7, ValueKind::Put, b"1".to_vec())));
        assert_eq!(mem.get(b"y", 100), Some((9, ValueKind::Delete, vec![])));
    }
}
