//! `WriteBatch`: a group of puts and deletes applied atomically.
//!
//! A batch is also the payload of one write-ahead-log record, so its encoding
//! is part of the on-disk format:
//!
//! ```text
//! first seq: u64 LE | count: u32 LE | count x ( kind: u8 | key: varint len + bytes | value, if Put: varint len + bytes )
//! ```
//!
//! The i-th operation of the batch gets sequence number `first seq + i`, so a
//! batch occupies a contiguous run of sequence numbers and recovery replays
//! it whole or not at all.

use super::coding::{Decoder, put_bytes};
use super::key::{SeqNo, ValueKind};

const HEADER_LEN: usize = 12;

/// An ordered list of writes applied atomically by [`crate::storage::Store::write`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteBatch {
    /// Encoded header followed by the operations; the header's sequence number
    /// is filled in when the batch is committed.
    rep: Vec<u8>,
    count: u32,
}

impl Default for WriteBatch {
    fn default() -> Self {
        WriteBatch::new()
    }
}

/// One operation of a batch, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchOp<'a> {
    /// Put or delete.
    pub kind: ValueKind,
    /// The user key.
    pub key: &'a [u8],
    /// The value (empty for a delete).
    pub value: &'a [u8],
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        WriteBatch {
            rep: vec![0; HEADER_LEN],
            count: 0,
        }
    }

    /// An empty batch with room for `bytes` bytes of operations (each costs
    /// its key and value plus up to 11 bytes of kind and lengths).
    pub fn with_capacity(bytes: usize) -> Self {
        let mut rep = Vec::with_capacity(HEADER_LEN + bytes);
        rep.resize(HEADER_LEN, 0);
        WriteBatch { rep, count: 0 }
    }

    /// Adds a put of `value` under `key`.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        self.rep.push(ValueKind::Put as u8);
        put_bytes(&mut self.rep, key.as_ref());
        put_bytes(&mut self.rep, value.as_ref());
        self.count += 1;
        self
    }

    /// Adds a delete of `key`.
    pub fn delete(&mut self, key: impl AsRef<[u8]>) -> &mut Self {
        self.rep.push(ValueKind::Delete as u8);
        put_bytes(&mut self.rep, key.as_ref());
        self.count += 1;
        self
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Size of the encoded batch in bytes.
    pub fn encoded_len(&self) -> usize {
        self.rep.len()
    }

    /// Appends all operations of `other` to this batch.
    pub fn append(&mut self, other: &WriteBatch) {
        self.rep.extend_from_slice(&other.rep[HEADER_LEN..]);
        self.count += other.count;
    }

    /// Removes every operation.
    pub fn clear(&mut self) {
        self.rep.truncate(HEADER_LEN);
        self.count = 0;
    }

    /// The encoded batch with `first_seq` stamped into its header: the WAL payload.
    pub fn encode(&mut self, first_seq: SeqNo) -> &[u8] {
        self.rep[..8].copy_from_slice(&first_seq.to_le_bytes());
        self.rep[8..12].copy_from_slice(&self.count.to_le_bytes());
        &self.rep
    }

    /// Decodes a WAL payload; returns the batch and its first sequence number,
    /// or `None` when the bytes are not a well-formed batch.
    pub fn decode(payload: &[u8]) -> Option<(WriteBatch, SeqNo)> {
        let mut d = Decoder::new(payload);
        let first_seq = d.u64_le()?;
        let count = d.u32_le()?;
        let batch = WriteBatch {
            rep: payload.to_vec(),
            count,
        };
        // Validate every operation once so iteration cannot fail later.
        let mut seen = 0u32;
        while !d.is_empty() {
            let kind = ValueKind::from_u8(d.u8()?)?;
            d.bytes()?;
            if kind == ValueKind::Put {
                d.bytes()?;
            }
            seen += 1;
        }
        (seen == count).then_some((batch, first_seq))
    }

    /// The operations in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = BatchOp<'_>> {
        let mut d = Decoder::new(&self.rep[HEADER_LEN..]);
        std::iter::from_fn(move || {
            if d.is_empty() {
                return None;
            }
            // The batch was built by us or validated by `decode`.
            let kind = ValueKind::from_u8(d.u8()?)?;
            let key = d.bytes()?;
            let value = if kind == ValueKind::Put {
                d.bytes()?
            } else {
                &[]
            };
            Some(BatchOp { kind, key, value })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let mut batch = WriteBatch::new();
        batch.put(b"a", b"1").delete(b"b").put(b"c", b"");
        let payload = batch.encode(100).to_vec();
        let (decoded, seq) = WriteBatch::decode(&payload).expect("valid batch");
        assert_eq!(seq, 100);
        let ops: Vec<_> = decoded.iter().collect();
        assert_eq!(ops.len(), 3);
        assert_eq!(
            ops[0],
            BatchOp {
                kind: ValueKind::Put,
                key: b"a",
                value: b"1"
            }
        );
        assert_eq!(
            ops[1],
            BatchOp {
                kind: ValueKind::Delete,
                key: b"b",
                value: b""
            }
        );
        assert_eq!(ops[2].key, b"c");
    }

    #[test]
    fn decode_rejects_truncated_or_miscounted_payloads() {
        let mut batch = WriteBatch::new();
        batch.put(b"key", b"value");
        let payload = batch.encode(1).to_vec();
        for cut in 0..payload.len() {
            assert!(
                WriteBatch::decode(&payload[..cut]).is_none(),
                "cut at {cut}"
            );
        }
        let mut wrong_count = payload.clone();
        wrong_count[8] = 2;
        assert!(WriteBatch::decode(&wrong_count).is_none());
    }

    #[test]
    fn append_concatenates() {
        let mut a = WriteBatch::new();
        a.put(b"x", b"1");
        let mut b = WriteBatch::new();
        b.delete(b"y");
        a.append(&b);
        assert_eq!(a.len(), 2);
        assert_eq!(a.iter().nth(1).map(|op| op.key), Some(&b"y"[..]));
    }
}
