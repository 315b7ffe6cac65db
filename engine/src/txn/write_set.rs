//! `WriteSet`: a transaction's uncommitted writes, stored key → new value
//! (`None` = delete), in key order.
//!
//! Every write and every read of a transaction asks its write set first
//! ("did I write this row?"), scans lay it over the store in order, commit
//! turns it into the batch, and the intent table asks it on behalf of other
//! transactions once it is published in bulk. So lookups, in-order
//! iteration and ranges all matter. (A hash map was tried and lost: a
//! commit's batch goes into the memtable much faster in key order.)
//!
//! The set is split by keyspace (the first four bytes of every stored key),
//! and each part is a B-tree plus an **append tail**: a sorted vector of
//! keys all greater than the tree's. A bulk load writes each keyspace's
//! primary keys in ascending order, so they land on the tail — pushed, and
//! found by one comparison or a bisection — instead of paying a B-tree
//! descent down its right edge per row; other writes go to the tree:
//!
//! ```text
//!   part "t1"   tree {3, 9}        tail [10, 11, 12, 13]   ← 14 is pushed
//!   part "ix"   tree {(a,12), (k,3), (z,10)}                ← index keys, any order
//! ```
//!
//! A write that falls inside the tail (not after it) moves the tail into
//! the tree first; each key moves at most once, so that costs no more than
//! having put it in the tree at the start. Parts are ordered by prefix, and
//! prefixes order the keys (a prefix of a key sorts with the key), so
//! iterating the parts in turn iterates the set in order.
//!
//! Keys are [`WriteKey`]s: short keys — a keyspace prefix and a primary or
//! index key of a few columns — are held inline, so the tree stores them
//! without an allocation each and compares them (a word at a time, see
//! [`compare_bytes`]) without chasing a pointer.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::{Bound, Deref};

use smallvec::SmallVec;

use crate::storage::key::compare_bytes;
use crate::txn::ssi::is_empty_range;

/// Bytes of a stored key that name its keyspace.
const PREFIX_LEN: usize = 4;

/// A stored key in a write set: inline up to 24 bytes, in bytewise order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteKey(SmallVec<[u8; 24]>);

impl WriteKey {
    /// `prefix` followed by `rest`.
    pub fn from_parts(prefix: &[u8], rest: &[u8]) -> WriteKey {
        let mut key = SmallVec::with_capacity(prefix.len() + rest.len());
        key.extend_from_slice(prefix);
        key.extend_from_slice(rest);
        WriteKey(key)
    }
}

impl From<&[u8]> for WriteKey {
    fn from(bytes: &[u8]) -> Self {
        WriteKey(SmallVec::from_slice(bytes))
    }
}

impl Deref for WriteKey {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for WriteKey {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Sound because [`compare_bytes`] is exactly the order of `[u8]`.
impl Borrow<[u8]> for WriteKey {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl Ord for WriteKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_bytes(&self.0, &other.0)
    }
}

impl PartialOrd for WriteKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A new value: `Some(bytes)` for a put, `None` for a delete.
pub type NewValue = Option<Vec<u8>>;

/// The writes of one transaction (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct WriteSet {
    /// By key prefix, in prefix order.
    parts: Vec<(SmallVec<[u8; PREFIX_LEN]>, Part)>,
    len: usize,
}

/// The writes of one keyspace: a tree, then a tail of larger keys.
#[derive(Clone, Debug, Default)]
struct Part {
    tree: BTreeMap<WriteKey, NewValue>,
    /// Strictly ascending; every key greater than every key of `tree`.
    tail: Vec<(WriteKey, NewValue)>,
}

fn prefix(key: &[u8]) -> &[u8] {
    &key[..key.len().min(PREFIX_LEN)]
}

impl WriteSet {
    /// An empty write set.
    pub fn new() -> Self {
        WriteSet::default()
    }

    /// Number of keys written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn part(&self, key: &[u8]) -> Option<&Part> {
        let prefix = prefix(key);
        self.parts
            .iter()
            .find(|(p, _)| p.as_slice() == prefix)
            .map(|(_, part)| part)
    }

    /// The new value of `key`, if it was written.
    pub fn get(&self, key: &[u8]) -> Option<&NewValue> {
        self.part(key)?.get(key)
    }

    /// True when `key` was written.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Records a write; returns what the set held for `key` before
    /// (`None` when it was not written).
    pub fn insert(&mut self, key: WriteKey, value: NewValue) -> Option<NewValue> {
        let at = match self
            .parts
            .binary_search_by(|(p, _)| p.as_slice().cmp(prefix(&key)))
        {
            Ok(at) => at,
            Err(at) => {
                self.parts
                    .insert(at, (SmallVec::from_slice(prefix(&key)), Part::default()));
                at
            }
        };
        let previous = self.parts[at].1.insert(key, value);
        if previous.is_none() {
            self.len += 1;
        }
        previous
    }

    /// Forgets the write of `key`; returns its value.
    pub fn remove(&mut self, key: &[u8]) -> Option<NewValue> {
        let prefix = prefix(key);
        let (_, part) = self
            .parts
            .iter_mut()
            .find(|(p, _)| p.as_slice() == prefix)?;
        let removed = part.remove(key)?;
        self.len -= 1;
        Some(removed)
    }

    /// Every write, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&WriteKey, &NewValue)> {
        self.parts.iter().flat_map(|(_, part)| part.iter())
    }

    /// Every written key, in order.
    pub fn keys(&self) -> impl Iterator<Item = &WriteKey> {
        self.iter().map(|(key, _)| key)
    }

    /// The writes with keys within the bounds, in key order (copied).
    pub fn range(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Vec<(Vec<u8>, NewValue)> {
        self.within(lower, upper)
            .map(|(key, value)| (key.to_vec(), value.clone()))
            .collect()
    }

    /// True when some written key lies within the bounds.
    pub fn any_in(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> bool {
        self.within(lower, upper).next().is_some()
    }

    /// The writes with keys within the bounds, in key order.
    pub fn within<'a>(
        &'a self,
        lower: Bound<&'a [u8]>,
        upper: Bound<&'a [u8]>,
    ) -> impl Iterator<Item = (&'a WriteKey, &'a NewValue)> + 'a {
        // `BTreeMap::range` panics on reversed or empty bounds.
        let empty = is_empty_range((lower, upper));
        self.parts
            .iter()
            .filter(move |_| !empty)
            .flat_map(move |(_, part)| part.within(lower, upper))
    }
}

/// Equal when they hold the same writes, however they are split.
impl PartialEq for WriteSet {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for WriteSet {}

impl Part {
    /// True when `key` belongs in the tail's span (at or after its first key).
    fn in_tail(&self, key: &[u8]) -> bool {
        self.tail
            .first()
            .is_some_and(|(first, _)| compare_bytes(key, first).is_ge())
    }

    fn tail_search(&self, key: &[u8]) -> Result<usize, usize> {
        self.tail
            .binary_search_by(|(probe, _)| compare_bytes(probe, key))
    }

    fn get(&self, key: &[u8]) -> Option<&NewValue> {
        if let Some((last, _)) = self.tail.last()
            && compare_bytes(key, last).is_gt()
        {
            // After everything written here (the bulk load's case).
            return None;
        }
        if self.in_tail(key) {
            let at = self.tail_search(key).ok()?;
            return Some(&self.tail[at].1);
        }
        self.tree.get(key)
    }

    fn insert(&mut self, key: WriteKey, value: NewValue) -> Option<NewValue> {
        let after_all = match self.tail.last() {
            Some((last, _)) => key > *last,
            None => self
                .tree
                .last_key_value()
                .is_none_or(|(last, _)| key > *last),
        };
        if after_all {
            self.tail.push((key, value));
            return None;
        }
        if self.in_tail(&key) {
            if let Ok(at) = self.tail_search(&key) {
                return Some(std::mem::replace(&mut self.tail[at].1, value));
            }
            // Inside the tail's span but new: the tail moves into the tree.
            self.tree.extend(self.tail.drain(..));
        }
        self.tree.insert(key, value)
    }

    fn remove(&mut self, key: &[u8]) -> Option<NewValue> {
        if self.in_tail(key) {
            self.tree.extend(self.tail.drain(..));
        }
        self.tree.remove(key)
    }

    fn iter(&self) -> impl Iterator<Item = (&WriteKey, &NewValue)> {
        self.tree
            .iter()
            .chain(self.tail.iter().map(|(key, value)| (key, value)))
    }

    /// Within non-empty bounds.
    fn within<'a>(
        &'a self,
        lower: Bound<&'a [u8]>,
        upper: Bound<&'a [u8]>,
    ) -> impl Iterator<Item = (&'a WriteKey, &'a NewValue)> + 'a {
        let start = self.tail.partition_point(|(key, _)| match lower {
            Bound::Included(l) => compare_bytes(key, l).is_lt(),
            Bound::Excluded(l) => compare_bytes(key, l).is_le(),
            Bound::Unbounded => false,
        });
        let end = self.tail.partition_point(|(key, _)| match upper {
            Bound::Included(u) => compare_bytes(key, u).is_le(),
            Bound::Excluded(u) => compare_bytes(key, u).is_lt(),
            Bound::Unbounded => true,
        });
        let tail = self.tail.get(start..end.max(start)).unwrap_or_default();
        self.tree
            .range::<[u8], _>((lower, upper))
            .chain(tail.iter().map(|(key, value)| (key, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(Vec<u8>, Option<u8>),
        Remove(Vec<u8>),
        Range(Bound<Vec<u8>>, Bound<Vec<u8>>),
    }

    /// Keys in two or three keyspaces, mostly ascending within each (the
    /// tail's case) with jumps back (the tree's), and some shorter than a
    /// prefix.
    fn any_key() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            8 => (0u8..3, 0u16..300).prop_map(|(ks, n)| {
                let mut key = vec![0, 0, 0, ks];
                key.extend_from_slice(&n.to_be_bytes());
                key
            }),
            1 => proptest::collection::vec(0u8..2, 0..6),
        ]
    }

    fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
        prop_oneof![
            Just(Bound::Unbounded),
            any_key().prop_map(Bound::Included),
            any_key().prop_map(Bound::Excluded),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (any_key(), proptest::option::of(any::<u8>())).prop_map(|(k, v)| Op::Insert(k, v)),
            1 => any_key().prop_map(Op::Remove),
            1 => (bound(), bound()).prop_map(|(l, u)| Op::Range(l, u)),
        ]
    }

    proptest! {
        /// The write set answers every question as a plain B-tree would.
        #[test]
        fn behaves_like_a_btree_map(
            ascending in proptest::collection::vec(0u16..2000, 0..200),
            ops in proptest::collection::vec(op(), 0..200),
        ) {
            let mut writes = WriteSet::new();
            let mut model: BTreeMap<Vec<u8>, NewValue> = BTreeMap::new();
            // A bulk load first: ascending keys of one keyspace.
            let mut sorted = ascending;
            sorted.sort_unstable();
            for n in sorted {
                let mut key = vec![0, 0, 0, 1];
                key.extend_from_slice(&n.to_be_bytes());
                prop_assert_eq!(
                    writes.insert(WriteKey::from(&key[..]), Some(vec![1])),
                    model.insert(key, Some(vec![1]))
                );
            }
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        let v = v.map(|b| vec![b]);
                        prop_assert_eq!(
                            writes.insert(WriteKey::from(&k[..]), v.clone()),
                            model.insert(k, v)
                        );
                    }
                    Op::Remove(k) => prop_assert_eq!(writes.remove(&k), model.remove(&k)),
                    Op::Range(l, u) => {
                        let (l, u) = (l.as_ref().map(Vec::as_slice), u.as_ref().map(Vec::as_slice));
                        let expected: Vec<(Vec<u8>, NewValue)> = if is_empty_range((l, u)) {
                            Vec::new()
                        } else {
                            model.range::<[u8], _>((l, u)).map(|(k, v)| (k.clone(), v.clone())).collect()
                        };
                        prop_assert_eq!(writes.any_in(l, u), !expected.is_empty());
                        prop_assert_eq!(writes.range(l, u), expected);
                    }
                }
                prop_assert_eq!(writes.len(), model.len());
            }
            let all: Vec<(Vec<u8>, NewValue)> =
                writes.iter().map(|(k, v)| (k.to_vec(), v.clone())).collect();
            let expected: Vec<(Vec<u8>, NewValue)> = model.clone().into_iter().collect();
            prop_assert_eq!(all, expected);
            for n in 0u16..300 {
                for ks in 0u8..3 {
                    let mut key = vec![0, 0, 0, ks];
                    key.extend_from_slice(&n.to_be_bytes());
                    prop_assert_eq!(writes.get(&key), model.get(&key));
                }
            }
        }
    }

    fn key(k: &[u8]) -> WriteKey {
        WriteKey::from(k)
    }

    #[test]
    fn point_lookups_and_ranges_agree() {
        let mut writes = WriteSet::new();
        assert_eq!(writes.insert(key(b"c"), Some(b"3".to_vec())), None);
        assert_eq!(writes.insert(key(b"a"), Some(b"1".to_vec())), None);
        assert_eq!(
            writes.insert(key(b"c"), None),
            Some(Some(b"3".to_vec())),
            "overwrite returns the old value"
        );
        assert_eq!(writes.get(&b"c"[..]), Some(&None));
        assert!(writes.contains_key(&b"a"[..]));
        assert!(!writes.contains_key(&b"b"[..]));
        let all = writes.range(Bound::Unbounded, Bound::Unbounded);
        assert_eq!(
            all,
            vec![(b"a".to_vec(), Some(b"1".to_vec())), (b"c".to_vec(), None)]
        );
        writes.insert(key(b"b"), Some(b"2".to_vec()));
        assert_eq!(writes.remove(b"a"), Some(Some(b"1".to_vec())));
        assert_eq!(writes.remove(b"a"), None);
        let keys: Vec<Vec<u8>> = writes
            .range(Bound::Included(b"a"), Bound::Included(b"z"))
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, [b"b".to_vec(), b"c".to_vec()]);
        assert!(writes.any_in(Bound::Excluded(b"b"), Bound::Unbounded));
        assert!(!writes.any_in(Bound::Excluded(b"c"), Bound::Unbounded));
        // Reversed or empty bounds are empty, not a panic.
        assert!(
            writes
                .range(Bound::Included(b"z"), Bound::Included(b"a"))
                .is_empty()
        );
        assert!(!writes.any_in(Bound::Excluded(b"b"), Bound::Excluded(b"b")));
        assert_eq!(writes.len(), 2);
    }

    #[test]
    fn iterates_in_key_order_whatever_the_order_of_writes() {
        let mut writes = WriteSet::new();
        for i in (0u8..50).rev() {
            writes.insert(key(&[i]), Some(vec![i]));
        }
        let in_order: Vec<u8> = writes.keys().map(|k| k[0]).collect();
        assert_eq!(in_order, (0u8..50).collect::<Vec<_>>());
        let ordered: Vec<u8> = writes
            .range(Bound::Unbounded, Bound::Unbounded)
            .into_iter()
            .map(|(k, _)| k[0])
            .collect();
        assert_eq!(ordered, (0u8..50).collect::<Vec<_>>());
    }
}
