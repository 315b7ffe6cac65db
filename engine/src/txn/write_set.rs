//! `WriteSet`: a transaction's uncommitted writes, stored key → new value
//! (`None` = delete), in key order.
//!
//! Every write and every read of a transaction asks its write set first
//! ("did I write this row?"), scans lay it over the store in order, commit
//! turns it into the batch, and the intent table asks it on behalf of other
//! transactions once it is published in bulk. A B-tree answers all of these;
//! a hash map was tried and lost (bulk loads append in key order, which a
//! B-tree absorbs with its right edge hot in cache, and a commit's batch
//! goes into the memtable much faster in key order than scattered).
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

/// A stored key in a write set: inline up to 24 bytes, in bytewise order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteSet {
    entries: BTreeMap<WriteKey, NewValue>,
}

impl WriteSet {
    /// An empty write set.
    pub fn new() -> Self {
        WriteSet::default()
    }

    /// Number of keys written.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The new value of `key` (a [`WriteKey`], or bytes), if it was written.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&NewValue>
    where
        WriteKey: Borrow<Q>,
    {
        self.entries.get(key)
    }

    /// True when `key` was written.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        WriteKey: Borrow<Q>,
    {
        self.entries.contains_key(key)
    }

    /// The write set's slot for `key`, to look it up and fill it in one
    /// search.
    pub fn entry(
        &mut self,
        key: WriteKey,
    ) -> std::collections::btree_map::Entry<'_, WriteKey, NewValue> {
        self.entries.entry(key)
    }

    /// Records a write; returns what the set held for `key` before
    /// (`None` when it was not written).
    pub fn insert(&mut self, key: WriteKey, value: NewValue) -> Option<NewValue> {
        self.entries.insert(key, value)
    }

    /// Forgets the write of `key`; returns its value.
    pub fn remove(&mut self, key: &[u8]) -> Option<NewValue> {
        self.entries.remove(key)
    }

    /// Every write, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&WriteKey, &NewValue)> {
        self.entries.iter()
    }

    /// Every written key, in order.
    pub fn keys(&self) -> impl Iterator<Item = &WriteKey> {
        self.entries.keys()
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
        (!empty)
            .then(|| self.entries.range::<[u8], _>((lower, upper)))
            .into_iter()
            .flatten()
    }
}

impl<'a> IntoIterator for &'a WriteSet {
    type Item = (&'a WriteKey, &'a NewValue);
    type IntoIter = std::collections::btree_map::Iter<'a, WriteKey, NewValue>;

    /// Every write, in key order.
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
