//! Test helpers: a `BTreeMap` oracle of versioned entries and a way to turn
//! it into an open table.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use super::{BlockCache, Table, TableBuilder, TableMeta, TableOptions};
use crate::storage::key::{SeqNo, ValueKind, encode_internal_key, pack_trailer, user_key};

/// Versioned entries keyed so that `BTreeMap` order is internal-key order:
/// user key ascending, then trailer descending.
#[derive(Clone, Debug, Default)]
pub struct Oracle {
    /// (user key, Reverse(trailer)) -> value.
    pub entries: BTreeMap<(Vec<u8>, Reverse<u64>), Vec<u8>>,
}

/// A small deterministic pseudo-random generator (splitmix64).
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }
}

impl Oracle {
    /// `user_keys` keys (half of them extensions of the other half, so keys
    /// are prefixes of each other) with 1 to `max_versions` versions each,
    /// about a fifth of them tombstones.
    pub fn generate(seed: u64, user_keys: usize, max_versions: u64) -> Oracle {
        let mut rng = Rng::new(seed);
        let mut oracle = Oracle::default();
        for i in 0..user_keys {
            let mut key = format!("key-{:08}", i / 2).into_bytes();
            if i % 2 == 1 {
                let extra = rng.below(12) as usize;
                key.extend(std::iter::repeat_n(b'x', extra + 1));
            }
            let versions = 1 + rng.below(max_versions);
            for _ in 0..versions {
                let seq = 1 + rng.below(100_000);
                let (kind, value) = if rng.below(5) == 0 {
                    (ValueKind::Delete, Vec::new())
                } else {
                    let len = rng.below(60) as usize;
                    let byte = rng.below(256) as u8;
                    (ValueKind::Put, vec![byte; len])
                };
                oracle.insert(&key, seq, kind, value);
            }
        }
        oracle
    }

    /// Adds (or replaces) one version.
    pub fn insert(&mut self, key: &[u8], seq: SeqNo, kind: ValueKind, value: Vec<u8>) {
        // One version per sequence number: drop a version of the other kind.
        let other = match kind {
            ValueKind::Put => ValueKind::Delete,
            ValueKind::Delete => ValueKind::Put,
        };
        self.entries
            .remove(&(key.to_vec(), Reverse(pack_trailer(seq, other))));
        self.entries
            .insert((key.to_vec(), Reverse(pack_trailer(seq, kind))), value);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// All entries as (internal key, value), in internal order.
    pub fn internal_entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.entries
            .iter()
            .map(|((user, Reverse(trailer)), value)| {
                let mut ikey = user.clone();
                ikey.extend_from_slice(&trailer.to_be_bytes());
                (ikey, value.clone())
            })
            .collect()
    }

    /// Entries whose user key lies within the bounds, in internal order.
    pub fn range(&self, lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.internal_entries()
            .into_iter()
            .filter(|(ikey, _)| {
                let user = user_key(ikey);
                let above = match lower {
                    Bound::Included(k) => user >= k.as_slice(),
                    Bound::Excluded(k) => user > k.as_slice(),
                    Bound::Unbounded => true,
                };
                let below = match upper {
                    Bound::Included(k) => user <= k.as_slice(),
                    Bound::Excluded(k) => user < k.as_slice(),
                    Bound::Unbounded => true,
                };
                above && below
            })
            .collect()
    }

    /// The first internal key.
    pub fn first_key(&self) -> Vec<u8> {
        self.internal_entries()
            .first()
            .map(|e| e.0.clone())
            .unwrap_or_default()
    }

    /// The last internal key.
    pub fn last_key(&self) -> Vec<u8> {
        self.internal_entries()
            .last()
            .map(|e| e.0.clone())
            .unwrap_or_default()
    }

    /// The highest sequence number.
    pub fn max_seq(&self) -> SeqNo {
        self.entries
            .keys()
            .map(|(_, Reverse(t))| t >> 8)
            .max()
            .unwrap_or(0)
    }

    /// The distinct user keys, ascending.
    pub fn user_keys(&self) -> impl Iterator<Item = &[u8]> {
        let mut last: Option<&[u8]> = None;
        self.entries.keys().filter_map(move |(user, _)| {
            if last == Some(user.as_slice()) {
                None
            } else {
                last = Some(user.as_slice());
                last
            }
        })
    }

    /// Writes the oracle as a table at `path`.
    pub fn write_table(&self, path: &Path, options: TableOptions) -> TableMeta {
        let mut builder = TableBuilder::create(path.to_path_buf(), options).unwrap();
        for (ikey, value) in self.internal_entries() {
            builder.add(&ikey, &value).unwrap();
        }
        builder.finish().unwrap()
    }
}

/// The newest version of `key` at or below `seq` in the oracle.
pub fn visible_version(
    oracle: &Oracle,
    key: &[u8],
    seq: SeqNo,
) -> Option<(SeqNo, ValueKind, Vec<u8>)> {
    let seek = encode_internal_key(key, seq.min(crate::storage::key::MAX_SEQ), ValueKind::Put);
    let start = (key.to_vec(), Reverse(crate::storage::key::trailer(&seek)));
    let end = (key.to_vec(), Reverse(0));
    oracle
        .entries
        .range(start..=end)
        .next()
        .map(|((_, Reverse(trailer)), value)| {
            let kind = ValueKind::from_u8(*trailer as u8).unwrap();
            (trailer >> 8, kind, value.clone())
        })
}

/// Writes `oracle` as table `number` in `dir` and opens it with a small
/// block cache (so that blocks are evicted and re-read during tests).
pub fn build_table(dir: &Path, number: u64, oracle: &Oracle, options: TableOptions) -> Arc<Table> {
    let path = dir.join(format!("{number:06}.sst"));
    oracle.write_table(&path, options);
    let cache = Arc::new(BlockCache::new(256 * 1024));
    Arc::new(Table::open(number, path, cache).unwrap())
}
