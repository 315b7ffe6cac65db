//! Data blocks: a sorted run of prefix-compressed entries, the unit a table
//! reads, checksums and caches.
//!
//! A block payload is a sequence of entries followed by the restart array:
//!
//! ```text
//! +---------+---------+-----+---------+------------+-----+------------+--------------+
//! | entry 0 | entry 1 | ... | entry n | restart[0] | ... | restart[r] | r+1: u32 LE  |
//! +---------+---------+-----+---------+------------+-----+------------+--------------+
//!                                      \___ u32 LE offsets of restart entries ___/
//!
//! entry = shared: varint | unshared: varint | value_len: varint | key delta | value
//! ```
//!
//! Each key is stored as the number of bytes it shares with the previous key
//! plus the bytes that differ. Every `restart_interval` entries the chain is
//! cut: a *restart* entry has `shared = 0` and its offset is listed in the
//! restart array, so a seek can binary-search the restarts and then scan at
//! most one interval. For keys `apple#9`, `apply#3`, `apricot#5` with a
//! restart interval of 2 (`#n` standing for the 8-byte trailer):
//!
//! ```text
//! offset 0:  shared 0 | unshared 13 | "apple#9"      <- restart 0
//!            shared 4 | unshared  9 | "y#3"
//! offset x:  shared 0 | unshared 15 | "apricot#5"    <- restart 1
//! ```
//!
//! Keys are encoded internal keys in [`compare_internal_keys`] order.
//! [`Block::decode`] checks the whole payload once — the restart array, every
//! entry's lengths, every key's shape and the strict ordering — so that
//! iterating a decoded block afterwards cannot fail.
//!
//! [`compare_internal_keys`]: crate::storage::key::compare_internal_keys

pub mod builder;
pub mod iterator;

pub use builder::BlockBuilder;
pub use iterator::BlockIterator;

use std::cmp::Ordering;
use std::ops::Range;

use crate::storage::coding::get_varint;
use crate::storage::key::{compare_internal_keys, is_valid_internal_key};

/// Size of one restart offset and of the restart count.
const RESTART_LEN: usize = 4;

/// A decoded, fully validated block.
pub struct Block {
    /// The whole payload, restart array included.
    data: Vec<u8>,
    /// Offset where the entries end and the restart array begins.
    entries_end: usize,
    /// Number of restart points.
    num_restarts: usize,
}

/// Where the parts of one entry lie inside the block payload.
#[derive(Clone, Debug)]
pub(crate) struct EntryLayout {
    /// Key bytes shared with the previous key.
    pub shared: usize,
    /// The key bytes that follow the shared prefix.
    pub key_delta: Range<usize>,
    /// The value bytes.
    pub value: Range<usize>,
}

impl EntryLayout {
    /// Offset of the entry that follows this one.
    pub fn next_offset(&self) -> usize {
        self.value.end
    }
}

impl Block {
    /// Validates `payload` and wraps it. Returns the reason when the payload
    /// is malformed; the caller turns it into a corruption error naming its
    /// file and the block's offset.
    pub fn decode(payload: Vec<u8>) -> Result<Block, String> {
        let count_start = payload
            .len()
            .checked_sub(RESTART_LEN)
            .ok_or_else(|| format!("block of {} bytes has no restart count", payload.len()))?;
        let num_restarts = read_u32_le(&payload, count_start) as usize;
        let entries_end = num_restarts
            .checked_mul(RESTART_LEN)
            .and_then(|restart_bytes| count_start.checked_sub(restart_bytes))
            .ok_or_else(|| {
                format!(
                    "block of {} bytes cannot hold {num_restarts} restart points",
                    payload.len()
                )
            })?;
        let block = Block {
            data: payload,
            entries_end,
            num_restarts,
        };
        block.validate_entries()?;
        Ok(block)
    }

    /// Walks every entry once, checking lengths, key shape, key order and
    /// that each restart offset is the start of an entry with `shared = 0`.
    fn validate_entries(&self) -> Result<(), String> {
        if self.num_restarts == 0 && self.entries_end != 0 {
            return Err("block has entries but no restart points".to_string());
        }
        let mut key: Vec<u8> = Vec::new();
        let mut scratch: Vec<u8> = Vec::new();
        let mut next_restart = 0;
        let mut offset = 0;
        while offset < self.entries_end {
            let layout = self
                .parse_entry(offset)
                .ok_or_else(|| format!("entry at block offset {offset} overruns the block"))?;
            let mut is_restart = false;
            if next_restart < self.num_restarts {
                let restart = self.restart_point(next_restart);
                match restart.cmp(&offset) {
                    Ordering::Equal => is_restart = true,
                    Ordering::Less => {
                        return Err(format!(
                            "restart point {restart} is not the start of an entry"
                        ));
                    }
                    Ordering::Greater => {}
                }
            }
            if is_restart {
                if layout.shared != 0 {
                    return Err(format!(
                        "restart entry at block offset {offset} shares a key prefix"
                    ));
                }
                next_restart += 1;
            } else if offset == 0 {
                return Err("the first entry is not a restart point".to_string());
            }
            if layout.shared > key.len() {
                return Err(format!(
                    "entry at block offset {offset} shares {} bytes of a {}-byte key",
                    layout.shared,
                    key.len()
                ));
            }
            scratch.clear();
            scratch.extend_from_slice(&key[..layout.shared]);
            scratch.extend_from_slice(&self.data[layout.key_delta.clone()]);
            if !is_valid_internal_key(&scratch) {
                return Err(format!(
                    "entry at block offset {offset} has a malformed internal key"
                ));
            }
            if offset != 0 && compare_internal_keys(&key, &scratch) != Ordering::Less {
                return Err(format!(
                    "entry at block offset {offset} is not greater than its predecessor"
                ));
            }
            std::mem::swap(&mut key, &mut scratch);
            offset = layout.next_offset();
        }
        if next_restart != self.num_restarts {
            return Err(format!(
                "restart point {next_restart} does not start an entry",
            ));
        }
        Ok(())
    }

    /// Decodes the header of the entry at `offset` and checks that its key
    /// delta and value lie inside the entry area. `None` when they do not.
    pub(crate) fn parse_entry(&self, offset: usize) -> Option<EntryLayout> {
        let entries = self.data.get(..self.entries_end)?;
        let mut pos = offset;
        let mut field = || -> Option<usize> {
            let (value, used) = get_varint(entries.get(pos..)?)?;
            pos += used;
            usize::try_from(value).ok()
        };
        let shared = field()?;
        let unshared = field()?;
        let value_len = field()?;
        let key_end = pos.checked_add(unshared)?;
        let value_end = key_end.checked_add(value_len)?;
        if value_end > self.entries_end {
            return None;
        }
        Some(EntryLayout {
            shared,
            key_delta: pos..key_end,
            value: key_end..value_end,
        })
    }

    /// The layout of an entry at an offset the block itself produced.
    pub(crate) fn entry(&self, offset: usize) -> EntryLayout {
        self.parse_entry(offset)
            .expect("block entries were validated when the block was decoded")
    }

    /// The raw payload bytes of `range`.
    pub(crate) fn bytes(&self, range: Range<usize>) -> &[u8] {
        &self.data[range]
    }

    /// Offset of the `index`-th restart entry; `index < num_restarts`.
    pub(crate) fn restart_point(&self, index: usize) -> usize {
        read_u32_le(&self.data, self.entries_end + index * RESTART_LEN) as usize
    }

    /// Number of restart points.
    pub(crate) fn num_restarts(&self) -> usize {
        self.num_restarts
    }

    /// Offset where the entries end.
    pub(crate) fn entries_end(&self) -> usize {
        self.entries_end
    }

    /// The full key of the restart entry `index` (restart keys share nothing).
    pub(crate) fn restart_key(&self, index: usize) -> &[u8] {
        let layout = self.entry(self.restart_point(index));
        &self.data[layout.key_delta]
    }

    /// True when the block holds no entries.
    pub fn is_empty(&self) -> bool {
        self.entries_end == 0
    }

    /// Bytes of memory the block occupies, used to weigh it in the cache.
    pub fn size_bytes(&self) -> usize {
        self.data.capacity() + std::mem::size_of::<Block>()
    }
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("payload_bytes", &self.data.len())
            .field("restarts", &self.num_restarts)
            .finish()
    }
}

/// Reads a little-endian u32 at `at`; the caller has checked the bounds.
fn read_u32_le(data: &[u8], at: usize) -> u32 {
    let mut bytes = [0u8; RESTART_LEN];
    bytes.copy_from_slice(&data[at..at + RESTART_LEN]);
    u32::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::coding::put_varint;
    use crate::storage::key::{ValueKind, encode_internal_key};

    fn ikey(user: &str, seq: u64) -> Vec<u8> {
        encode_internal_key(user.as_bytes(), seq, ValueKind::Put)
    }

    fn sample_payload() -> Vec<u8> {
        let mut builder = BlockBuilder::new(2);
        for (i, user) in ["apple", "apply", "apricot", "banana"].iter().enumerate() {
            builder.add(&ikey(user, i as u64 + 1), user.as_bytes());
        }
        builder.finish()
    }

    #[test]
    fn empty_block_decodes_and_is_empty() {
        let mut builder = BlockBuilder::new(16);
        let block = Block::decode(builder.finish()).expect("empty block is valid");
        assert!(block.is_empty());
    }

    #[test]
    fn too_short_or_oversized_restart_count_is_rejected() {
        assert!(Block::decode(vec![1, 2]).is_err());
        let mut payload = sample_payload();
        let len = payload.len();
        payload[len - 4..].copy_from_slice(&1000u32.to_le_bytes());
        assert!(Block::decode(payload).is_err());
    }

    #[test]
    fn restart_point_inside_an_entry_is_rejected() {
        let mut payload = sample_payload();
        let len = payload.len();
        // Restart 1 is the last restart offset, just before the count.
        let at = len - 8;
        let bogus = read_u32_le(&payload, at) + 1;
        payload[at..at + 4].copy_from_slice(&bogus.to_le_bytes());
        assert!(Block::decode(payload).is_err());
    }

    #[test]
    fn out_of_order_keys_are_rejected() {
        let mut payload = Vec::new();
        for key in [ikey("b", 1), ikey("a", 1)] {
            put_varint(&mut payload, 0);
            put_varint(&mut payload, key.len() as u64);
            put_varint(&mut payload, 0);
            payload.extend_from_slice(&key);
        }
        let second = (3 + ikey("b", 1).len()) as u32;
        payload.extend_from_slice(&0u32.to_le_bytes());
        payload.extend_from_slice(&second.to_le_bytes());
        payload.extend_from_slice(&2u32.to_le_bytes());
        let err = Block::decode(payload).expect_err("descending keys");
        assert!(err.contains("not greater"), "{err}");
    }

    #[test]
    fn malformed_internal_key_is_rejected() {
        let mut payload = Vec::new();
        put_varint(&mut payload, 0);
        put_varint(&mut payload, 3);
        put_varint(&mut payload, 0);
        payload.extend_from_slice(b"abc");
        payload.extend_from_slice(&0u32.to_le_bytes());
        payload.extend_from_slice(&1u32.to_le_bytes());
        assert!(Block::decode(payload).is_err());
    }

    #[test]
    fn every_single_byte_flip_is_rejected_or_still_ordered() {
        // A flipped byte may by chance still form a valid block, but decoding
        // must never panic, and whatever it accepts must iterate in order.
        let payload = sample_payload();
        for at in 0..payload.len() {
            for bit in 0..8 {
                let mut damaged = payload.clone();
                damaged[at] ^= 1 << bit;
                if let Ok(block) = Block::decode(damaged) {
                    let mut it = BlockIterator::new(std::sync::Arc::new(block));
                    it.seek_to_first();
                    let mut prev: Option<Vec<u8>> = None;
                    while it.is_valid() {
                        if let Some(p) = &prev {
                            assert_eq!(compare_internal_keys(p, it.key()), Ordering::Less);
                        }
                        prev = Some(it.key().to_vec());
                        it.next();
                    }
                }
            }
        }
    }
}
