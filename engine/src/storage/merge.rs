//! Iterators that combine sorted sources: `MergeIterator` (k-way merge of
//! overlapping sources) and `LevelIterator` (concatenation of one level's
//! disjoint tables, opened lazily).
//!
//! Every read path of the store is built from these two and the sources'
//! own iterators, never from special-case lookups: a scan merges the
//! memtables, each L0 table and one `LevelIterator` per deeper level; a
//! compaction merges its input tables.
//!
//! All of them yield `(internal key, value)` in internal-key order and are
//! double-ended: the front and the back are independent cursors that never
//! yield the same entry twice. A source error is yielded once, after which the
//! iterator ends.

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;

use crate::Result;
use crate::storage::key::compare_internal_keys;
use crate::storage::sstable::TableIterator;
use crate::storage::version::TableHandle;

/// One entry: encoded internal key and value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A boxed double-ended source of entries.
pub type EntryIterator = Box<dyn DoubleEndedIterator<Item = Result<Entry>> + Send>;

struct Source {
    iter: EntryIterator,
    front: Option<Entry>,
    back: Option<Entry>,
}

/// Merges sources whose entries are disjoint (every internal key is unique
/// across the store) into one ordered stream.
pub struct MergeIterator {
    sources: Vec<Source>,
    failed: bool,
}

impl MergeIterator {
    /// Merges `sources`.
    pub fn new(sources: Vec<EntryIterator>) -> Self {
        MergeIterator {
            sources: sources
                .into_iter()
                .map(|iter| Source {
                    iter,
                    front: None,
                    back: None,
                })
                .collect(),
            failed: false,
        }
    }

    /// Fills every source's peek for one end, then picks the source whose
    /// peeked entry comes first (front) or last (back).
    fn pick(&mut self, from_front: bool) -> Option<Result<usize>> {
        for source in &mut self.sources {
            let (peek, other) = if from_front {
                (&mut source.front, &mut source.back)
            } else {
                (&mut source.back, &mut source.front)
            };
            if peek.is_some() {
                continue;
            }
            let pulled = if from_front {
                source.iter.next()
            } else {
                source.iter.next_back()
            };
            match pulled {
                Some(Ok(entry)) => *peek = Some(entry),
                Some(Err(e)) => return Some(Err(e)),
                // The source's last entry may sit in the other end's peek.
                None => *peek = other.take(),
            }
        }
        fn peeked(s: &Source, from_front: bool) -> Option<&Entry> {
            if from_front {
                s.front.as_ref()
            } else {
                s.back.as_ref()
            }
        }
        let mut best: Option<(usize, &Entry)> = None;
        for (i, source) in self.sources.iter().enumerate() {
            let Some(candidate) = peeked(source, from_front) else {
                continue;
            };
            let better = best.is_none_or(|(_, current)| {
                let order = compare_internal_keys(&candidate.0, &current.0);
                if from_front {
                    order == Ordering::Less
                } else {
                    order == Ordering::Greater
                }
            });
            if better {
                best = Some((i, candidate));
            }
        }
        best.map(|(i, _)| Ok(i))
    }
}

impl Iterator for MergeIterator {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.pick(true)? {
            Ok(i) => self.sources[i].front.take().map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl DoubleEndedIterator for MergeIterator {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.pick(false)? {
            Ok(i) => self.sources[i].back.take().map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Concatenates the disjoint, key-ordered tables of one level (L1+), opening
/// each table's iterator only when a cursor reaches it. When both cursors are
/// in the same table they share its iterator, which keeps them from crossing.
pub struct LevelIterator {
    tables: Vec<Arc<TableHandle>>,
    iters: Vec<Option<TableIterator>>,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    front: usize,
    /// One past the index of the back cursor's table.
    back: usize,
}

impl LevelIterator {
    /// Iterates the entries of `tables` (already filtered to the range) whose
    /// user keys fall in `[lower, upper]`.
    pub fn new(
        tables: Vec<Arc<TableHandle>>,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
    ) -> Self {
        let n = tables.len();
        LevelIterator {
            iters: (0..n).map(|_| None).collect(),
            tables,
            lower,
            upper,
            front: 0,
            back: n,
        }
    }

    fn iter_at(&mut self, idx: usize) -> &mut TableIterator {
        let table = &self.tables[idx].table;
        let (lower, upper) = (self.lower.clone(), self.upper.clone());
        self.iters[idx].get_or_insert_with(|| table.iter(lower, upper))
    }
}

impl Iterator for LevelIterator {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.front < self.back {
            let idx = self.front;
            match self.iter_at(idx).next() {
                Some(item) => return Some(item),
                None => {
                    self.iters[idx] = None;
                    self.front += 1;
                }
            }
        }
        None
    }
}

impl DoubleEndedIterator for LevelIterator {
    fn next_back(&mut self) -> Option<Self::Item> {
        while self.front < self.back {
            let idx = self.back - 1;
            match self.iter_at(idx).next_back() {
                Some(item) => return Some(item),
                None => {
                    self.iters[idx] = None;
                    self.back -= 1;
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::key::{ValueKind, encode_internal_key, user_key};

    fn source(keys: &[(&str, u64)]) -> EntryIterator {
        let items: Vec<Result<Entry>> = keys
            .iter()
            .map(|(k, s)| {
                Ok((
                    encode_internal_key(k.as_bytes(), *s, ValueKind::Put),
                    vec![],
                ))
            })
            .collect();
        Box::new(items.into_iter())
    }

    fn names(entries: impl Iterator<Item = Result<Entry>>) -> Vec<String> {
        entries
            .map(|e| {
                let (k, _) = e.expect("no error");
                String::from_utf8_lossy(user_key(&k)).into_owned()
            })
            .collect()
    }

    #[test]
    fn merges_in_order_from_both_ends() {
        let make = || {
            MergeIterator::new(vec![
                source(&[("a", 1), ("d", 1)]),
                source(&[("b", 2), ("e", 2)]),
                source(&[("c", 3)]),
            ])
        };
        assert_eq!(names(make()), ["a", "b", "c", "d", "e"]);
        assert_eq!(names(make().rev()), ["e", "d", "c", "b", "a"]);
        let mut it = make();
        let mut got = Vec::new();
        for step in 0.. {
            let item = if step % 2 == 0 {
                it.next()
            } else {
                it.next_back()
            };
            match item {
                Some(e) => got.push(e.expect("ok")),
                None => break,
            }
        }
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn newer_version_of_same_key_comes_first() {
        let it = MergeIterator::new(vec![source(&[("k", 1)]), source(&[("k", 5)])]);
        let seqs: Vec<u64> = it
            .map(|e| crate::storage::key::seq_of(&e.expect("ok").0))
            .collect();
        assert_eq!(seqs, [5, 1]);
    }

    #[test]
    fn an_error_is_yielded_once_then_the_merge_ends() {
        let failing: EntryIterator =
            Box::new(vec![Err(crate::Error::corruption("t.sst", 7, "bad block"))].into_iter());
        let mut it = MergeIterator::new(vec![source(&[("a", 1)]), failing]);
        assert!(matches!(
            it.next(),
            Some(Err(crate::Error::Corruption { offset: 7, .. }))
        ));
        assert!(it.next().is_none());
    }
}
