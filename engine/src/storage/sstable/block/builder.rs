//! Builds one block payload from entries added in increasing internal-key
//! order; see the parent module for the byte layout.

use crate::storage::coding::put_varint;

/// Accumulates prefix-compressed entries and the restart array of one block.
#[derive(Debug)]
pub struct BlockBuilder {
    /// Entries encoded so far.
    buffer: Vec<u8>,
    /// Offsets of the restart entries.
    restarts: Vec<u32>,
    /// Entries between two restart points (at least 1).
    restart_interval: usize,
    /// Entries added since the last restart point.
    since_restart: usize,
    /// The full key of the last entry, for prefix compression.
    last_key: Vec<u8>,
    /// Entries in the block.
    entries: usize,
}

impl BlockBuilder {
    /// An empty builder that starts a restart point every `restart_interval`
    /// entries (an interval of 0 is treated as 1).
    pub fn new(restart_interval: usize) -> BlockBuilder {
        BlockBuilder {
            buffer: Vec::new(),
            restarts: Vec::new(),
            restart_interval: restart_interval.max(1),
            since_restart: 0,
            last_key: Vec::new(),
            entries: 0,
        }
    }

    /// Appends an entry. `key` must be a valid internal key greater than the
    /// previous one; the table builder checks this before calling.
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        debug_assert!(
            self.entries == 0
                || crate::storage::key::compare_internal_keys(&self.last_key, key).is_lt(),
            "block keys must be added in increasing internal order"
        );
        let shared = if self.since_restart == self.restart_interval || self.entries == 0 {
            self.restarts
                .push(u32::try_from(self.buffer.len()).expect("a block payload stays below 4 GiB"));
            self.since_restart = 0;
            0
        } else {
            shared_prefix_len(&self.last_key, key)
        };
        let unshared = &key[shared..];
        put_varint(&mut self.buffer, shared as u64);
        put_varint(&mut self.buffer, unshared.len() as u64);
        put_varint(&mut self.buffer, value.len() as u64);
        self.buffer.extend_from_slice(unshared);
        self.buffer.extend_from_slice(value);
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(unshared);
        self.since_restart += 1;
        self.entries += 1;
    }

    /// Size the payload would have if finished now.
    pub fn estimated_size(&self) -> usize {
        self.buffer.len() + (self.restarts.len() + 1) * 4
    }

    /// True when no entry has been added since the last finish.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Number of entries added since the last finish.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// The last key added, if any.
    pub fn last_key(&self) -> Option<&[u8]> {
        (self.entries > 0).then_some(self.last_key.as_slice())
    }

    /// Appends the restart array and returns the payload; the builder is left
    /// empty and ready for the next block.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut payload = std::mem::take(&mut self.buffer);
        payload.reserve(self.restarts.len() * 4 + 4);
        for restart in &self.restarts {
            payload.extend_from_slice(&restart.to_le_bytes());
        }
        let count = u32::try_from(self.restarts.len()).expect("restart count fits in u32");
        payload.extend_from_slice(&count.to_le_bytes());
        self.reset();
        payload
    }

    /// Drops every entry added since the last finish.
    pub fn reset(&mut self) {
        self.buffer.clear();
        self.restarts.clear();
        self.since_restart = 0;
        self.last_key.clear();
        self.entries = 0;
    }
}

/// Length of the common prefix of `a` and `b`.
fn shared_prefix_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::key::{ValueKind, encode_internal_key};

    #[test]
    fn restarts_every_interval_and_compresses_prefixes() {
        let mut builder = BlockBuilder::new(2);
        let keys: Vec<Vec<u8>> = (0..5u64)
            .map(|i| encode_internal_key(b"prefix-key", 10 - i, ValueKind::Put))
            .collect();
        for key in &keys {
            builder.add(key, b"v");
        }
        assert_eq!(builder.len(), 5);
        let estimate = builder.estimated_size();
        let payload = builder.finish();
        assert_eq!(payload.len(), estimate);
        assert!(builder.is_empty());
        let count = u32::from_le_bytes(payload[payload.len() - 4..].try_into().unwrap());
        assert_eq!(count, 3, "entries 0, 2 and 4 start restarts");
        // Keys are 18 bytes and differ only in the last two trailer bytes.
        // Restart entries: 3 header bytes + 18 key + 1 value = 22, three of
        // them; the other two share 16 bytes: 3 + 2 + 1 = 6. Plus 3 restart
        // offsets and the count.
        assert_eq!(payload.len(), 3 * 22 + 2 * 6 + 3 * 4 + 4);

        let mut one_restart = BlockBuilder::new(16);
        for key in &keys {
            one_restart.add(key, b"v");
        }
        assert_eq!(one_restart.finish().len(), 22 + 4 * 6 + 4 + 4);
    }

    #[test]
    fn finish_resets_for_the_next_block() {
        let mut builder = BlockBuilder::new(16);
        builder.add(&encode_internal_key(b"z", 1, ValueKind::Put), b"1");
        let first = builder.finish();
        builder.add(&encode_internal_key(b"a", 1, ValueKind::Put), b"1");
        assert_eq!(
            builder.last_key(),
            Some(&encode_internal_key(b"a", 1, ValueKind::Put)[..])
        );
        let second = builder.finish();
        assert_eq!(first.len(), second.len());
    }
}
