//! `MemTable`: the sorted in-memory buffer every write lands in first.
//!
//! A memtable is a lock-free skip list (crossbeam-skiplist) of entries, each
//! an internal key (user key + sequence number + kind, see
//! [`crate::storage::key`]) and its value packed in one allocation.
//! One writer at a time inserts (the group-commit leader); any number of
//! readers look up and iterate concurrently. Because every version has its own
//! sequence number, an insert never overwrites: readers at an older snapshot
//! keep seeing what they saw.
//!
//! A large batch (a bulk load's commit) is not inserted entry by entry: it
//! becomes one [`SortedRun`] beside the skip list, built with one copy. A
//! lookup asks the skip list and each run for the first entry at or after
//! its bound and takes the smallest, so the memtable reads as one sorted
//! map. Runs are few (at most [`MAX_RUNS`], each of at least
//! [`RUN_MIN_OPS`] operations); once a memtable has its share, large batches
//! go into the skip list like any other.
//!
//! When its approximate size reaches the budget the store freezes it (it
//! becomes immutable, still readable) and a background thread writes it to an
//! L0 table. The size counts keys, values and a fixed per-entry overhead for
//! the skip-list node or run slot, so the memory budget is honest.

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use crossbeam_skiplist::SkipSet;
use parking_lot::RwLock;

use crate::storage::batch::WriteBatch;
use crate::storage::key::{
    MAX_SEQ, SeqNo, TRAILER_LEN, ValueKind, append_internal_key, compare_internal_keys,
    encode_internal_key, seek_key, split_internal_key, user_key,
};
use crate::storage::sorted_run::SortedRun;

/// Bytes charged per entry for the skip-list node, its tower and a heap header.
const ENTRY_OVERHEAD: usize = 80;

/// Batches of at least this many operations become a [`SortedRun`].
pub const RUN_MIN_OPS: usize = 4096;

/// Most runs one memtable holds (each lookup bisects every run).
pub const MAX_RUNS: usize = 8;

/// One memtable entry: an internal key followed by its value, in one
/// allocation, ordered by [`compare_internal_keys`] on the key. A key alone
/// (no value) serves as a seek target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    bytes: Box<[u8]>,
    key_len: usize,
}

impl Entry {
    /// The entry of (`user_key`, `seq`, `kind`) with `value`.
    fn new(user_key: &[u8], seq: SeqNo, kind: ValueKind, value: &[u8]) -> Entry {
        let mut bytes = Vec::with_capacity(user_key.len() + TRAILER_LEN + value.len());
        append_internal_key(&mut bytes, user_key, seq, kind);
        let key_len = bytes.len();
        bytes.extend_from_slice(value);
        Entry {
            bytes: bytes.into_boxed_slice(),
            key_len,
        }
    }

    /// A seek target: an internal key with no value.
    fn key_only(ikey: Vec<u8>) -> Entry {
        Entry {
            key_len: ikey.len(),
            bytes: ikey.into_boxed_slice(),
        }
    }

    /// The internal key.
    pub fn key(&self) -> &[u8] {
        &self.bytes[..self.key_len]
    }

    /// The value.
    pub fn value(&self) -> &[u8] {
        &self.bytes[self.key_len..]
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_internal_keys(self.key(), other.key())
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A version found by a point lookup: its sequence number, kind and value.
pub type FoundVersion = (SeqNo, ValueKind, Vec<u8>);

/// The in-memory sorted buffer of recent writes.
pub struct MemTable {
    map: SkipSet<Entry>,
    /// Large batches, each sorted (see the module docs).
    runs: RwLock<Vec<Arc<SortedRun>>>,
    approximate_size: AtomicUsize,
    /// The write-ahead log file that holds this memtable's writes.
    log_number: u64,
}

impl MemTable {
    /// An empty memtable whose writes are logged in log file `log_number`.
    pub fn new(log_number: u64) -> Self {
        MemTable {
            map: SkipSet::new(),
            runs: RwLock::new(Vec::new()),
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
        let entry = Entry::new(user_key, seq, kind, value);
        let charge = entry.bytes.len() + ENTRY_OVERHEAD;
        self.map.insert(entry);
        self.approximate_size
            .fetch_add(charge, AtomicOrdering::Relaxed);
    }

    /// Inserts every operation of `batch`, the i-th at sequence `first_seq + i`
    /// (a large batch as one sorted run). Only one writer applies at a time.
    pub fn apply(&self, batch: &WriteBatch, first_seq: SeqNo) {
        if batch.len() >= RUN_MIN_OPS && self.runs.read().len() < MAX_RUNS {
            let run = SortedRun::from_batch(batch, first_seq);
            let charge = run.size_bytes();
            self.runs.write().push(Arc::new(run));
            self.approximate_size
                .fetch_add(charge, AtomicOrdering::Relaxed);
            return;
        }
        for (i, op) in batch.iter().enumerate() {
            self.insert(op.key, first_seq + i as u64, op.kind, op.value);
        }
    }

    /// The newest version of `key` with sequence number `<= seq`.
    pub fn get(&self, key: &[u8], seq: SeqNo) -> Option<FoundVersion> {
        let seek = Entry::key_only(seek_key(key, seq));
        let runs = self.runs.read();
        nearest(
            &self.map,
            &runs,
            Bound::Included(&seek),
            Toward::First,
            |found, value| {
                let (found_key, found_seq, kind) = split_internal_key(found);
                (found_key == key).then(|| (found_seq, kind, value.to_vec()))
            },
        )
        .flatten()
    }

    /// Approximate bytes used by keys, values and nodes.
    pub fn approximate_size(&self) -> usize {
        self.approximate_size.load(AtomicOrdering::Relaxed)
    }

    /// Number of versions held.
    pub fn len(&self) -> usize {
        self.map.len() + self.runs.read().iter().map(|r| r.len()).sum::<usize>()
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.runs.read().iter().all(|r| r.is_empty())
    }

    /// A double-ended iterator over every version of the user keys in
    /// `[lower, upper]`, in internal-key order.
    pub fn iter(self: &Arc<Self>, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> MemTableIterator {
        let (front, back) = internal_bounds(lower, upper);
        MemTableIterator {
            mem: Arc::clone(self),
            // Batches applied later get sequence numbers above every
            // snapshot that can read this iterator: the runs of now suffice.
            runs: self.runs.read().clone(),
            front,
            back,
        }
    }
}

/// Converts user-key bounds into bounds on internal keys that cover every
/// version of every user key in range.
pub fn internal_bounds(lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> (Bound<Entry>, Bound<Entry>) {
    // The first version of a key is (key, MAX_SEQ, Put); the last is (key, 0, Delete).
    let first = |k: &[u8]| Entry::key_only(encode_internal_key(k, MAX_SEQ, ValueKind::Put));
    let last = |k: &[u8]| Entry::key_only(encode_internal_key(k, 0, ValueKind::Delete));
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
    runs: Vec<Arc<SortedRun>>,
    front: Bound<Entry>,
    back: Bound<Entry>,
}

fn before_upper(key: &[u8], upper: &Bound<Entry>) -> bool {
    match upper {
        Bound::Included(u) => compare_internal_keys(key, u.key()).is_le(),
        Bound::Excluded(u) => compare_internal_keys(key, u.key()).is_lt(),
        Bound::Unbounded => true,
    }
}

fn after_lower(key: &[u8], lower: &Bound<Entry>) -> bool {
    match lower {
        Bound::Included(l) => compare_internal_keys(key, l.key()).is_ge(),
        Bound::Excluded(l) => compare_internal_keys(key, l.key()).is_gt(),
        Bound::Unbounded => true,
    }
}

impl Iterator for MemTableIterator {
    type Item = crate::Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = nearest(
            &self.mem.map,
            &self.runs,
            self.front.as_ref(),
            Toward::First,
            owned,
        )?;
        if !before_upper(&item.0, &self.back) {
            return None;
        }
        self.front = Bound::Excluded(Entry::key_only(item.0.clone()));
        Some(Ok(item))
    }
}

impl DoubleEndedIterator for MemTableIterator {
    fn next_back(&mut self) -> Option<Self::Item> {
        let item = nearest(
            &self.mem.map,
            &self.runs,
            self.back.as_ref(),
            Toward::Last,
            owned,
        )?;
        if !after_lower(&item.0, &self.front) {
            return None;
        }
        self.back = Bound::Excluded(Entry::key_only(item.0.clone()));
        Some(Ok(item))
    }
}

/// Which end a lookup approaches from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Toward {
    /// The smallest entry at or after the bound.
    First,
    /// The largest entry at or before the bound.
    Last,
}

/// Calls `found` with the internal key and value of the entry nearest to
/// `bound` (from `toward`'s side) in the skip list and the runs together.
fn nearest<R>(
    map: &SkipSet<Entry>,
    runs: &[Arc<SortedRun>],
    bound: Bound<&Entry>,
    toward: Toward,
    found: impl FnOnce(&[u8], &[u8]) -> R,
) -> Option<R> {
    let (listed, better) = match toward {
        Toward::First => (map.lower_bound(bound), Ordering::Less),
        Toward::Last => (map.upper_bound(bound), Ordering::Greater),
    };
    let mut best = listed
        .as_ref()
        .map(|e| (e.value().key(), e.value().value()));
    let key_bound = bound.map(Entry::key);
    for run in runs {
        let at = match toward {
            Toward::First => run.first_from(key_bound),
            Toward::Last => run.last_to(key_bound),
        };
        if let Some(candidate) = at.map(|i| run.entry(i))
            && best.is_none_or(|b| compare_internal_keys(candidate.0, b.0) == better)
        {
            best = Some(candidate);
        }
    }
    best.map(|(key, value)| found(key, value))
}

/// A copy of an entry's key and value, as iterators yield them.
fn owned(key: &[u8], value: &[u8]) -> (Vec<u8>, Vec<u8>) {
    (key.to_vec(), value.to_vec())
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

    /// Writes the same batches into a memtable that keeps large batches as
    /// runs and one that gets every operation one by one (small batches
    /// only), then compares every lookup and scan.
    #[test]
    fn runs_read_exactly_like_the_skip_list() {
        let with_runs = Arc::new(MemTable::new(1));
        let one_by_one = Arc::new(MemTable::new(1));
        let mut seq = 1;
        let mut apply = |batch: &WriteBatch| {
            with_runs.apply(batch, seq);
            for (i, op) in batch.iter().enumerate() {
                one_by_one.insert(op.key, seq + i as u64, op.kind, op.value);
            }
            seq += batch.len() as u64;
        };
        // Key i*7 % n visits every key once, out of order; later batches
        // overwrite and delete some of them.
        let n = RUN_MIN_OPS as u64 + 11;
        for round in 0..3u64 {
            let mut big = WriteBatch::new();
            for i in 0..n {
                let k = (i * 7 + round) % n;
                if (k + round).is_multiple_of(5) {
                    big.delete(k.to_be_bytes());
                } else {
                    big.put(k.to_be_bytes(), (k * 10 + round).to_be_bytes());
                }
            }
            apply(&big);
            let mut small = WriteBatch::new();
            small.put((round * 3).to_be_bytes(), b"small");
            apply(&small);
        }
        assert_eq!(with_runs.runs.read().len(), 3);
        assert_eq!(with_runs.len(), one_by_one.len());
        for k in (0..n + 2).step_by(13) {
            for at in [0, 5, n, n + 1, 2 * n + 1, 2 * n + 3, seq] {
                let key = k.to_be_bytes();
                assert_eq!(
                    with_runs.get(&key, at),
                    one_by_one.get(&key, at),
                    "k={k} at={at}"
                );
            }
        }
        let all = |m: &Arc<MemTable>| -> Vec<_> {
            m.iter(Bound::Unbounded, Bound::Unbounded)
                .map(|r| r.expect("ok"))
                .collect()
        };
        assert_eq!(all(&with_runs), all(&one_by_one));
        let lower = 100u64.to_be_bytes();
        let upper = 900u64.to_be_bytes();
        let backwards = |m: &Arc<MemTable>| -> Vec<_> {
            m.iter(Bound::Excluded(&lower[..]), Bound::Included(&upper[..]))
                .rev()
                .map(|r| r.expect("ok"))
                .collect()
        };
        assert_eq!(backwards(&with_runs), backwards(&one_by_one));
        assert!(!backwards(&with_runs).is_empty());
    }

    #[test]
    fn a_memtable_holds_at_most_max_runs() {
        let mem = MemTable::new(1);
        let mut batch = WriteBatch::new();
        for i in 0..RUN_MIN_OPS as u64 {
            batch.put(i.to_be_bytes(), b"v");
        }
        for round in 0..MAX_RUNS as u64 + 2 {
            mem.apply(&batch, 1 + round * RUN_MIN_OPS as u64);
        }
        assert_eq!(mem.runs.read().len(), MAX_RUNS);
        assert_eq!(mem.len(), (MAX_RUNS + 2) * RUN_MIN_OPS);
        let newest = mem.get(&0u64.to_be_bytes(), SeqNo::MAX >> 8);
        assert_eq!(
            newest.map(|(s, _, _)| s),
            Some(1 + (MAX_RUNS as u64 + 1) * RUN_MIN_OPS as u64)
        );
    }
}
