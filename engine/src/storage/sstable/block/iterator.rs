//! A cursor over the entries of one decoded block, movable both ways.
//!
//! Forward steps decode the next entry against the current key. Backward
//! steps cannot undo prefix compression, so `prev` jumps to the restart point
//! before the current entry and scans forward to the entry just before it —
//! at most one restart interval of work.

use std::cmp::Ordering;
use std::ops::Range;
use std::sync::Arc;

use super::Block;
use crate::storage::key::compare_internal_keys;

/// A position inside a [`Block`]. Starts invalid; position it with one of the
/// seek methods. Cannot fail: the block was validated when decoded.
#[derive(Debug)]
pub struct BlockIterator {
    /// The block being read.
    block: Arc<Block>,
    /// Full key of the current entry.
    key: Vec<u8>,
    /// Where the current value lies in the payload.
    value: Range<usize>,
    /// Offset of the current entry; `entries_end` when invalid.
    current: usize,
    /// Index of the last restart point at or before `current`.
    restart_index: usize,
}

impl BlockIterator {
    /// An unpositioned iterator over `block`.
    pub fn new(block: Arc<Block>) -> BlockIterator {
        BlockIterator::with_key_buffer(block, Vec::new())
    }

    /// An unpositioned iterator over `block` that reassembles keys in
    /// `key_buffer` (cleared first), so a caller can reuse its allocation.
    pub fn with_key_buffer(block: Arc<Block>, mut key_buffer: Vec<u8>) -> BlockIterator {
        key_buffer.clear();
        let end = block.entries_end();
        BlockIterator {
            block,
            key: key_buffer,
            value: end..end,
            current: end,
            restart_index: 0,
        }
    }

    /// Gives back the key buffer for reuse.
    pub fn into_key_buffer(self) -> Vec<u8> {
        self.key
    }

    /// True when the iterator is positioned on an entry.
    pub fn is_valid(&self) -> bool {
        self.current < self.block.entries_end()
    }

    /// The current internal key; empty when invalid.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The current value; empty when invalid.
    pub fn value(&self) -> &[u8] {
        self.block.bytes(self.value.clone())
    }

    /// Offset of the current entry inside the block. Entries later in the
    /// block have larger offsets, so offsets order positions.
    pub fn position(&self) -> usize {
        self.current
    }

    /// Moves to the first entry (invalid if the block is empty).
    pub fn seek_to_first(&mut self) {
        if self.block.num_restarts() == 0 {
            self.invalidate();
            return;
        }
        self.seek_to_restart(0);
    }

    /// Moves to the last entry (invalid if the block is empty).
    pub fn seek_to_last(&mut self) {
        let restarts = self.block.num_restarts();
        if restarts == 0 {
            self.invalidate();
            return;
        }
        self.seek_to_restart(restarts - 1);
        while self.value.end < self.block.entries_end() {
            self.load_entry(self.value.end);
        }
    }

    /// Moves to the first entry whose key is `>= target` in internal-key
    /// order; invalid when every key is smaller.
    pub fn seek(&mut self, target: &[u8]) {
        self.seek_by(|key| compare_internal_keys(key, target));
    }

    /// Moves to the first entry for which `position_of(key)` is not
    /// `Less`. `position_of` tells where a key lies relative to the sought
    /// point and must be monotonic in internal-key order (all `Less` first).
    pub fn seek_by(&mut self, position_of: impl Fn(&[u8]) -> Ordering) {
        let restarts = self.block.num_restarts();
        if restarts == 0 {
            self.invalidate();
            return;
        }
        // Restarts whose key is before the target form a prefix of the array.
        let (mut low, mut high) = (0, restarts);
        while low < high {
            let mid = low + (high - low) / 2;
            if position_of(self.block.restart_key(mid)) == Ordering::Less {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        self.seek_to_restart(low.saturating_sub(1));
        while self.is_valid() && position_of(&self.key) == Ordering::Less {
            self.next();
        }
    }

    /// Moves to the next entry; becomes invalid after the last one.
    pub fn next(&mut self) {
        if !self.is_valid() {
            return;
        }
        let next = self.value.end;
        if next >= self.block.entries_end() {
            self.invalidate();
            return;
        }
        self.load_entry(next);
        while self.restart_index + 1 < self.block.num_restarts()
            && self.block.restart_point(self.restart_index + 1) <= self.current
        {
            self.restart_index += 1;
        }
    }

    /// Moves to the previous entry; becomes invalid before the first one.
    pub fn prev(&mut self) {
        if !self.is_valid() {
            return;
        }
        let original = self.current;
        let mut restart = self.restart_index;
        if self.block.restart_point(restart) == original {
            if restart == 0 {
                self.invalidate();
                return;
            }
            restart -= 1;
        }
        self.seek_to_restart(restart);
        while self.value.end < original {
            self.load_entry(self.value.end);
        }
    }

    /// Positions on the restart entry `index`.
    fn seek_to_restart(&mut self, index: usize) {
        self.restart_index = index;
        self.key.clear();
        self.load_entry(self.block.restart_point(index));
    }

    /// Decodes the entry at `offset`, whose shared prefix comes from the
    /// current key.
    fn load_entry(&mut self, offset: usize) {
        let layout = self.block.entry(offset);
        self.key.truncate(layout.shared);
        self.key
            .extend_from_slice(self.block.bytes(layout.key_delta.clone()));
        self.value = layout.value;
        self.current = offset;
    }

    /// Marks the iterator as positioned on no entry.
    fn invalidate(&mut self) {
        let end = self.block.entries_end();
        self.current = end;
        self.value = end..end;
        self.key.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::key::{ValueKind, encode_internal_key};
    use crate::storage::sstable::block::BlockBuilder;

    /// Keys that are prefixes of each other, several versions each.
    fn sample_entries() -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut users: Vec<Vec<u8>> = Vec::new();
        for i in 0..40u32 {
            users.push(format!("k{:03}", i).into_bytes());
            users.push(format!("k{:03}x", i).into_bytes());
            users.push(format!("k{:03}xy", i).into_bytes());
        }
        users.push(b"a".to_vec());
        users.push(b"".to_vec());
        users.sort();
        let mut entries = Vec::new();
        for (n, user) in users.iter().enumerate() {
            for seq in [9u64, 5, 1] {
                let kind = if seq == 5 {
                    ValueKind::Delete
                } else {
                    ValueKind::Put
                };
                let value = if kind == ValueKind::Delete {
                    Vec::new()
                } else {
                    format!("v{n}-{seq}").into_bytes()
                };
                entries.push((encode_internal_key(user, seq, kind), value));
            }
        }
        entries
    }

    fn build(entries: &[(Vec<u8>, Vec<u8>)], interval: usize) -> Arc<Block> {
        let mut builder = BlockBuilder::new(interval);
        for (k, v) in entries {
            builder.add(k, v);
        }
        Arc::new(Block::decode(builder.finish()).expect("built block decodes"))
    }

    fn collect_forward(it: &mut BlockIterator) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        while it.is_valid() {
            out.push((it.key().to_vec(), it.value().to_vec()));
            it.next();
        }
        out
    }

    #[test]
    fn round_trips_forward_and_backward_at_every_interval() {
        let entries = sample_entries();
        for interval in [1, 2, 16, 1000] {
            let block = build(&entries, interval);
            let mut it = BlockIterator::new(block);
            assert!(!it.is_valid());
            it.seek_to_first();
            assert_eq!(collect_forward(&mut it), entries, "interval {interval}");

            it.seek_to_last();
            let mut backward = Vec::new();
            while it.is_valid() {
                backward.push((it.key().to_vec(), it.value().to_vec()));
                it.prev();
            }
            backward.reverse();
            assert_eq!(backward, entries, "interval {interval}");
        }
    }

    #[test]
    fn seek_finds_first_entry_at_or_after_target() {
        let entries = sample_entries();
        for interval in [1, 3, 16] {
            let block = build(&entries, interval);
            let mut it = BlockIterator::new(block);
            for (i, (key, _)) in entries.iter().enumerate() {
                it.seek(key);
                assert_eq!(it.key(), &key[..], "exact seek, interval {interval}");
                // A snapshot between versions lands on the next older one.
                let (user, seq, _) = crate::storage::key::split_internal_key(key);
                it.seek(&crate::storage::key::seek_key(user, seq + 1));
                assert_eq!(it.key(), &key[..]);
                if i > 0 {
                    it.prev();
                    assert_eq!(it.key(), &entries[i - 1].0[..]);
                    it.next();
                    assert_eq!(it.key(), &key[..]);
                }
            }
        }
    }

    #[test]
    fn seeks_outside_the_key_range() {
        let entries = sample_entries();
        let block = build(&entries, 16);
        let mut it = BlockIterator::new(block);
        // Past the end.
        it.seek(&encode_internal_key(b"zzz", 1, ValueKind::Put));
        assert!(!it.is_valid());
        assert!(it.key().is_empty() && it.value().is_empty());
        // The empty user key at its highest version is the smallest possible key.
        it.seek(&encode_internal_key(
            b"",
            crate::storage::key::MAX_SEQ,
            ValueKind::Put,
        ));
        assert_eq!(it.key(), &entries[0].0[..]);
        it.prev();
        assert!(!it.is_valid());
        // Stepping an invalid iterator leaves it invalid.
        it.next();
        assert!(!it.is_valid());
        it.seek_to_last();
        it.next();
        assert!(!it.is_valid());
    }

    #[test]
    fn empty_block_is_never_valid() {
        let block = build(&[], 16);
        let mut it = BlockIterator::new(block);
        it.seek_to_first();
        assert!(!it.is_valid());
        it.seek_to_last();
        assert!(!it.is_valid());
        it.seek(&encode_internal_key(b"a", 1, ValueKind::Put));
        assert!(!it.is_valid());
    }

    #[test]
    fn prefix_keys_order_by_internal_key_not_bytes() {
        // "a"+trailer(seq 1) is bytewise greater than "a\x00..." but must come
        // first; the block must follow internal order.
        let entries = vec![
            (encode_internal_key(b"a", 1, ValueKind::Put), b"1".to_vec()),
            (
                encode_internal_key(b"a\x00", 7, ValueKind::Put),
                b"2".to_vec(),
            ),
            (encode_internal_key(b"ab", 3, ValueKind::Delete), Vec::new()),
        ];
        let block = build(&entries, 1);
        let mut it = BlockIterator::new(block);
        it.seek(&encode_internal_key(b"a\x00", 9, ValueKind::Put));
        assert_eq!(it.value(), b"2");
        it.seek_to_first();
        assert_eq!(collect_forward(&mut it), entries);
    }
}
