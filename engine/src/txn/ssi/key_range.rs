//! [`KeyRange`]: an owned range of keys, the shape of one predicate read.
//!
//! A scan of `[lower, upper]` reads every key of the range, present or not,
//! so a later write of any key inside it is a read/write conflict and a write
//! outside it never is. Ranges are compared with the same byte order as the
//! keys of the store.

use std::cmp::Ordering;
use std::ops::Bound;

/// An owned `(lower, upper)` pair of key bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyRange {
    lower: Bound<Box<[u8]>>,
    upper: Bound<Box<[u8]>>,
}

impl KeyRange {
    /// Copies the borrowed bounds of a scan.
    pub(crate) fn new(lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> KeyRange {
        KeyRange {
            lower: lower.map(Box::from),
            upper: upper.map(Box::from),
        }
    }

    /// The bounds, borrowed, as `BTreeSet::range` takes them.
    pub(crate) fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (borrow(&self.lower), borrow(&self.upper))
    }

    /// True when no key lies in the range. Empty ranges are never handed to
    /// `BTreeSet::range`, which panics on `start > end` and on `(x, x)`.
    pub(crate) fn is_empty(&self) -> bool {
        is_empty(self.bounds())
    }

    /// True when `key` lies in the range.
    pub(crate) fn contains(&self, key: &[u8]) -> bool {
        let above_lower = match &self.lower {
            Bound::Included(l) => key >= &**l,
            Bound::Excluded(l) => key > &**l,
            Bound::Unbounded => true,
        };
        let below_upper = match &self.upper {
            Bound::Included(u) => key <= &**u,
            Bound::Excluded(u) => key < &**u,
            Bound::Unbounded => true,
        };
        above_lower && below_upper
    }

    /// True when every key of `other` is also in `self`.
    pub(crate) fn covers(&self, other: &KeyRange) -> bool {
        compare_lower(&self.lower, &other.lower) != Ordering::Greater
            && compare_upper(&self.upper, &other.upper) != Ordering::Less
    }
}

/// True when the borrowed range holds no key (see [`KeyRange::is_empty`]).
pub(crate) fn is_empty((lower, upper): (Bound<&[u8]>, Bound<&[u8]>)) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u))
        | (Bound::Excluded(l), Bound::Excluded(u)) => l >= u,
        (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
    }
}

fn borrow(bound: &Bound<Box<[u8]>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Orders lower bounds by the first key they admit: `Unbounded` first, and
/// `Included(x)` before `Excluded(x)`.
fn compare_lower(a: &Bound<Box<[u8]>>, b: &Bound<Box<[u8]>>) -> Ordering {
    match (a, b) {
        (Bound::Unbounded, Bound::Unbounded) => Ordering::Equal,
        (Bound::Unbounded, _) => Ordering::Less,
        (_, Bound::Unbounded) => Ordering::Greater,
        (Bound::Included(x), Bound::Included(y)) | (Bound::Excluded(x), Bound::Excluded(y)) => {
            x.cmp(y)
        }
        (Bound::Included(x), Bound::Excluded(y)) => x.cmp(y).then(Ordering::Less),
        (Bound::Excluded(x), Bound::Included(y)) => x.cmp(y).then(Ordering::Greater),
    }
}

/// Orders upper bounds by the last key they admit: `Unbounded` last, and
/// `Excluded(x)` before `Included(x)`.
fn compare_upper(a: &Bound<Box<[u8]>>, b: &Bound<Box<[u8]>>) -> Ordering {
    match (a, b) {
        (Bound::Unbounded, Bound::Unbounded) => Ordering::Equal,
        (Bound::Unbounded, _) => Ordering::Greater,
        (_, Bound::Unbounded) => Ordering::Less,
        (Bound::Included(x), Bound::Included(y)) | (Bound::Excluded(x), Bound::Excluded(y)) => {
            x.cmp(y)
        }
        (Bound::Included(x), Bound::Excluded(y)) => x.cmp(y).then(Ordering::Greater),
        (Bound::Excluded(x), Bound::Included(y)) => x.cmp(y).then(Ordering::Less),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::Bound::{Excluded, Included, Unbounded};

    fn range(lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> KeyRange {
        KeyRange::new(lower, upper)
    }

    #[test]
    fn half_open_range_contains_its_keys_only() {
        let r = range(Included(b"a"), Excluded(b"c"));
        assert!(r.contains(b"a"));
        assert!(r.contains(b"b"));
        assert!(r.contains(b"bzzz"));
        assert!(!r.contains(b"c"));
        assert!(!r.contains(b"d"));
        assert!(!r.contains(b""));
    }

    #[test]
    fn unbounded_sides_admit_everything_on_that_side() {
        let r = range(Unbounded, Included(b"m"));
        assert!(r.contains(b""));
        assert!(r.contains(b"m"));
        assert!(!r.contains(b"m\0"));
        let r = range(Excluded(b"m"), Unbounded);
        assert!(!r.contains(b"m"));
        assert!(r.contains(b"m\0"));
    }

    #[test]
    fn empty_ranges_are_recognised() {
        assert!(range(Included(b"b"), Included(b"a")).is_empty());
        assert!(range(Included(b"a"), Excluded(b"a")).is_empty());
        assert!(range(Excluded(b"a"), Excluded(b"a")).is_empty());
        assert!(range(Excluded(b"a"), Included(b"a")).is_empty());
        assert!(!range(Included(b"a"), Included(b"a")).is_empty());
        assert!(!range(Unbounded, Excluded(b"")).contains(b""));
        assert!(!range(Unbounded, Unbounded).is_empty());
    }

    #[test]
    fn covers_compares_both_ends() {
        let wide = range(Included(b"a"), Included(b"z"));
        assert!(wide.covers(&range(Excluded(b"a"), Excluded(b"z"))));
        assert!(wide.covers(&range(Included(b"a"), Included(b"z"))));
        assert!(!wide.covers(&range(Included(b"a"), Unbounded)));
        assert!(!range(Excluded(b"a"), Included(b"z")).covers(&wide));
        assert!(!range(Included(b"a"), Excluded(b"z")).covers(&wide));
        assert!(range(Unbounded, Unbounded).covers(&wide));
    }
}
