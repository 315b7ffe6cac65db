//! `SortedRun`: a large write batch held in the memtable as one sorted
//! array instead of one skip-list node per operation.
//!
//! A bulk load commits hundreds of thousands of operations in one batch, and
//! a transaction's batch arrives already in key order. Inserting each into
//! the skip list costs a search, a node allocation and a tower of atomic
//! links; a run costs one copy into a single buffer (plus a sort when the
//! batch was not in order), and is searched by bisection:
//!
//! ```text
//!   data   [ikey₀ value₀ | ikey₁ value₁ | ikey₂ … ]   one allocation
//!   index  [(start₀, key_len₀, value_len₀), …]         in internal-key order
//! ```
//!
//! A run is immutable once built. The memtable asks each of its runs, and
//! its skip list, for the first entry at or after a bound and takes the
//! smallest (see [`crate::storage::memtable`]).

use std::ops::Bound;

use crate::storage::batch::WriteBatch;
use crate::storage::key::{SeqNo, append_internal_key, compare_internal_keys};

/// Bytes charged per entry of a run for its index slot.
pub const RUN_ENTRY_OVERHEAD: usize = std::mem::size_of::<Slot>();

/// Where one entry lies in `data`.
#[derive(Clone, Copy, Debug)]
struct Slot {
    start: usize,
    key_len: u32,
    value_len: u32,
}

/// The operations of one batch, sorted by internal key.
#[derive(Debug)]
pub struct SortedRun {
    data: Vec<u8>,
    index: Vec<Slot>,
}

impl SortedRun {
    /// The run of `batch`, its i-th operation at sequence `first_seq + i`.
    pub fn from_batch(batch: &WriteBatch, first_seq: SeqNo) -> SortedRun {
        let mut data = Vec::with_capacity(batch.encoded_len() + 8 * batch.len());
        let mut index = Vec::with_capacity(batch.len());
        for (i, op) in batch.iter().enumerate() {
            let start = data.len();
            append_internal_key(&mut data, op.key, first_seq + i as u64, op.kind);
            let key_len = data.len() - start;
            data.extend_from_slice(op.value);
            // The store caps keys at 64 KiB and values at 64 MiB.
            index.push(Slot {
                start,
                key_len: key_len as u32,
                value_len: op.value.len() as u32,
            });
        }
        let mut run = SortedRun { data, index };
        let in_order = run.index.windows(2).all(|pair| {
            compare_internal_keys(run.slot_key(&pair[0]), run.slot_key(&pair[1])).is_lt()
        });
        if !in_order {
            let data = &run.data;
            run.index.sort_unstable_by(|a, b| {
                compare_internal_keys(slot_key(data, a), slot_key(data, b))
            });
        }
        run
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when the run holds no entry.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Bytes held (keys, values and index).
    pub fn size_bytes(&self) -> usize {
        self.data.len() + self.index.len() * RUN_ENTRY_OVERHEAD
    }

    /// The internal key and value of entry `i` (in order).
    pub fn entry(&self, i: usize) -> (&[u8], &[u8]) {
        let slot = &self.index[i];
        let key_end = slot.start + slot.key_len as usize;
        (
            &self.data[slot.start..key_end],
            &self.data[key_end..key_end + slot.value_len as usize],
        )
    }

    fn slot_key(&self, slot: &Slot) -> &[u8] {
        slot_key(&self.data, slot)
    }

    /// The first entry (by position) whose internal key satisfies the lower
    /// bound `from`.
    pub fn first_from(&self, from: Bound<&[u8]>) -> Option<usize> {
        let at = match from {
            Bound::Unbounded => 0,
            Bound::Included(k) => self
                .index
                .partition_point(|s| compare_internal_keys(self.slot_key(s), k).is_lt()),
            Bound::Excluded(k) => self
                .index
                .partition_point(|s| compare_internal_keys(self.slot_key(s), k).is_le()),
        };
        (at < self.index.len()).then_some(at)
    }

    /// The last entry (by position) whose internal key satisfies the upper
    /// bound `to`.
    pub fn last_to(&self, to: Bound<&[u8]>) -> Option<usize> {
        let end = match to {
            Bound::Unbounded => self.index.len(),
            Bound::Included(k) => self
                .index
                .partition_point(|s| compare_internal_keys(self.slot_key(s), k).is_le()),
            Bound::Excluded(k) => self
                .index
                .partition_point(|s| compare_internal_keys(self.slot_key(s), k).is_lt()),
        };
        end.checked_sub(1)
    }
}

fn slot_key<'a>(data: &'a [u8], slot: &Slot) -> &'a [u8] {
    &data[slot.start..slot.start + slot.key_len as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::key::{ValueKind, encode_internal_key, split_internal_key};

    fn keys(run: &SortedRun) -> Vec<(Vec<u8>, SeqNo)> {
        (0..run.len())
            .map(|i| {
                let (k, s, _) = split_internal_key(run.entry(i).0);
                (k.to_vec(), s)
            })
            .collect()
    }

    #[test]
    fn an_unordered_batch_with_repeated_keys_is_sorted_newest_first() {
        let mut batch = WriteBatch::new();
        batch
            .put(b"b", b"1")
            .put(b"a", b"2")
            .delete(b"b")
            .put(b"c", b"");
        let run = SortedRun::from_batch(&batch, 10);
        assert_eq!(
            keys(&run),
            [
                (b"a".to_vec(), 11),
                (b"b".to_vec(), 12),
                (b"b".to_vec(), 10),
                (b"c".to_vec(), 13)
            ]
        );
        assert_eq!(run.entry(2).1, b"1");
        assert_eq!(split_internal_key(run.entry(1).0).2, ValueKind::Delete);
        assert!(run.size_bytes() > 0);
    }

    #[test]
    fn bounds_find_the_first_and_last_entries_inside() {
        let mut batch = WriteBatch::new();
        for k in [b"a", b"c", b"e"] {
            batch.put(k, b"v");
        }
        let run = SortedRun::from_batch(&batch, 1);
        let at = |k: &[u8], seq| encode_internal_key(k, seq, ValueKind::Put);
        assert_eq!(run.first_from(Bound::Unbounded), Some(0));
        assert_eq!(run.first_from(Bound::Included(&at(b"c", 2))), Some(1));
        assert_eq!(run.first_from(Bound::Excluded(&at(b"c", 2))), Some(2));
        assert_eq!(run.first_from(Bound::Included(&at(b"b", 9))), Some(1));
        assert_eq!(run.first_from(Bound::Excluded(&at(b"e", 3))), None);
        assert_eq!(run.last_to(Bound::Unbounded), Some(2));
        assert_eq!(run.last_to(Bound::Included(&at(b"c", 2))), Some(1));
        assert_eq!(run.last_to(Bound::Excluded(&at(b"c", 2))), Some(0));
        assert_eq!(run.last_to(Bound::Excluded(&at(b"a", 1))), None);
    }
}
