//! Durable records of prepared (two-phase-commit) transactions.
//!
//! `Transaction::prepare` writes one record, synced, into the reserved
//! prepared keyspace: key = transaction id (u64 big-endian), value =
//!
//! ```text
//! format u8 (1) | isolation level u8 | count varint | count x ( key bytes | kind u8 (1 put, 0 delete) | value bytes if put )
//! ```
//!
//! (byte strings are varint-length-prefixed). `commit_prepared` writes the
//! transaction's rows and deletes the record in one atomic batch;
//! `rollback_prepared` deletes the record. After a crash the records left
//! are the transactions still in doubt.

use crate::storage::coding::{Decoder, put_bytes, put_varint};
use crate::txn::IsolationLevel;
use crate::txn::write_set::WriteKey;
pub use crate::txn::write_set::WriteSet;

const FORMAT: u8 = 1;

/// Encodes a prepared transaction's level and writes.
pub fn encode(level: IsolationLevel, writes: &WriteSet) -> Vec<u8> {
    let mut out = vec![FORMAT, level_byte(level)];
    put_varint(&mut out, writes.len() as u64);
    for (key, value) in writes.iter() {
        put_bytes(&mut out, key);
        match value {
            Some(v) => {
                out.push(1);
                put_bytes(&mut out, v);
            }
            None => out.push(0),
        }
    }
    out
}

/// Decodes a record written by [`encode`]; `None` if it is malformed.
pub fn decode(bytes: &[u8]) -> Option<(IsolationLevel, WriteSet)> {
    let mut d = Decoder::new(bytes);
    if d.u8()? != FORMAT {
        return None;
    }
    let level = level_from_byte(d.u8()?)?;
    let count = d.varint()?;
    let mut writes = WriteSet::new();
    for _ in 0..count {
        let key = WriteKey::from(d.bytes()?);
        let value = match d.u8()? {
            1 => Some(d.bytes()?.to_vec()),
            0 => None,
            _ => return None,
        };
        writes.insert(key, value);
    }
    d.is_empty().then_some((level, writes))
}

fn level_byte(level: IsolationLevel) -> u8 {
    match level {
        IsolationLevel::ReadUncommitted => 0,
        IsolationLevel::ReadCommitted => 1,
        IsolationLevel::RepeatableRead => 2,
        IsolationLevel::Serializable => 3,
    }
}

fn level_from_byte(byte: u8) -> Option<IsolationLevel> {
    IsolationLevel::ALL.get(usize::from(byte)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let mut writes = WriteSet::new();
        writes.insert(WriteKey::from(&b"a"[..]), Some(b"1".to_vec()));
        writes.insert(WriteKey::from(&b"b"[..]), None);
        let bytes = encode(IsolationLevel::RepeatableRead, &writes);
        assert_eq!(
            decode(&bytes),
            Some((IsolationLevel::RepeatableRead, writes))
        );
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(decode(&trailing), None);
    }
}
