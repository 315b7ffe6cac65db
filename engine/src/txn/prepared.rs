//! Durable records of two-phase commit: the *prepared record* each
//! participant writes at prepare, and the *status record* that holds a
//! cross-shard transaction's decision.
//!
//! **Prepared records** live in the reserved prepared keyspace: key =
//! transaction id (u64 big-endian), value (format 2) =
//!
//! ```text
//! format u8 (2) | isolation level u8 | coordination | count varint |
//!     count x ( key bytes | kind u8 (1 put, 0 delete) | value bytes if put )
//! coordination = home shard varint | participants: count varint, shard varint each |
//!                prepared at (ms since the Unix epoch) varint | gid: flag u8 (0/1), bytes if 1
//! ```
//!
//! (byte strings are varint-length-prefixed). Format 1, written before
//! shards existed, has no coordination part; it reads as a transaction of one
//! participant, shard 0, with no global id. `commit_prepared` writes the
//! transaction's rows and deletes the record in one atomic batch;
//! `rollback_prepared` deletes the record. After a crash the records left
//! are the transactions still in doubt.
//!
//! **Status records** live in the reserved status keyspace of the
//! transaction's *home* shard (the first shard it wrote): key = transaction
//! id, value =
//!
//! ```text
//! format u8 (1) | outcome u8 (1 committed, 0 aborted) | commit timestamp varint (if committed) |
//!     participants: count varint, shard varint each | gid: flag u8, bytes if 1
//! ```
//!
//! A status record is written once, by a conditional write
//! ([`crate::txn::Engine::decide`]): whoever writes first — the coordinator
//! with "committed", or a participant settling an in-doubt transaction with
//! "aborted" — decides, and every later writer reads that decision instead.

use crate::storage::coding::{Decoder, put_bytes, put_varint};
use crate::txn::write_set::WriteKey;
pub use crate::txn::write_set::WriteSet;
use crate::txn::{CommitTs, IsolationLevel};

const FORMAT_V1: u8 = 1;
const FORMAT: u8 = 2;
const STATUS_FORMAT: u8 = 1;

/// Who coordinates a prepared transaction, as its record says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coordination {
    /// The shard whose status record holds (or will hold) the decision.
    pub home: u16,
    /// Every shard the transaction prepared on, ascending.
    pub participants: Vec<u16>,
    /// When it prepared, in milliseconds since the Unix epoch.
    pub prepared_at_ms: u64,
    /// The global id given by `PREPARE TRANSACTION 'gid'`: such a
    /// transaction waits for an outside coordinator (`COMMIT PREPARED`) and is
    /// never settled by timeout.
    pub gid: Option<String>,
}

impl Coordination {
    /// A transaction that prepared on `shard` alone, now.
    pub fn local(shard: u16, gid: Option<String>) -> Coordination {
        Coordination {
            home: shard,
            participants: vec![shard],
            prepared_at_ms: now_ms(),
            gid,
        }
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A prepared transaction as its durable record holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedRecord {
    /// Its isolation level.
    pub level: IsolationLevel,
    /// Its coordinator's bookkeeping.
    pub coordination: Coordination,
    /// The rows it will write.
    pub writes: WriteSet,
}

/// Encodes a prepared transaction's record.
pub fn encode(level: IsolationLevel, coordination: &Coordination, writes: &WriteSet) -> Vec<u8> {
    let mut out = vec![FORMAT, level_byte(level)];
    put_varint(&mut out, u64::from(coordination.home));
    put_shards(&mut out, &coordination.participants);
    put_varint(&mut out, coordination.prepared_at_ms);
    put_gid(&mut out, coordination.gid.as_deref());
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

/// Decodes a record written by [`encode`] (or by format 1); `None` if it is
/// malformed.
pub fn decode(bytes: &[u8]) -> Option<PreparedRecord> {
    let mut d = Decoder::new(bytes);
    let format = d.u8()?;
    if format != FORMAT && format != FORMAT_V1 {
        return None;
    }
    let level = level_from_byte(d.u8()?)?;
    let coordination = if format == FORMAT {
        Coordination {
            home: u16::try_from(d.varint()?).ok()?,
            participants: get_shards(&mut d)?,
            prepared_at_ms: d.varint()?,
            gid: get_gid(&mut d)?,
        }
    } else {
        Coordination {
            home: 0,
            participants: vec![0],
            prepared_at_ms: 0,
            gid: None,
        }
    };
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
    d.is_empty().then_some(PreparedRecord {
        level,
        coordination,
        writes,
    })
}

/// What was decided for a cross-shard transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Committed at this timestamp on every participant.
    Committed(CommitTs),
    /// Rolled back everywhere.
    Aborted,
}

/// A transaction's status record: its decision and whom it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRecord {
    /// The decision.
    pub outcome: Outcome,
    /// Every participant that must learn it, ascending.
    pub participants: Vec<u16>,
    /// The global id of a `PREPARE TRANSACTION`, if it had one.
    pub gid: Option<String>,
}

/// Encodes a status record.
pub fn encode_status(record: &StatusRecord) -> Vec<u8> {
    let mut out = vec![STATUS_FORMAT];
    match record.outcome {
        Outcome::Committed(ts) => {
            out.push(1);
            put_varint(&mut out, ts);
        }
        Outcome::Aborted => out.push(0),
    }
    put_shards(&mut out, &record.participants);
    put_gid(&mut out, record.gid.as_deref());
    out
}

/// Decodes a status record; `None` if it is malformed.
pub fn decode_status(bytes: &[u8]) -> Option<StatusRecord> {
    let mut d = Decoder::new(bytes);
    if d.u8()? != STATUS_FORMAT {
        return None;
    }
    let outcome = match d.u8()? {
        1 => Outcome::Committed(d.varint()?),
        0 => Outcome::Aborted,
        _ => return None,
    };
    let participants = get_shards(&mut d)?;
    let gid = get_gid(&mut d)?;
    d.is_empty().then_some(StatusRecord {
        outcome,
        participants,
        gid,
    })
}

fn put_shards(out: &mut Vec<u8>, shards: &[u16]) {
    put_varint(out, shards.len() as u64);
    for &shard in shards {
        put_varint(out, u64::from(shard));
    }
}

fn get_shards(d: &mut Decoder<'_>) -> Option<Vec<u16>> {
    let count = d.varint()?;
    if count > u64::from(u16::MAX) + 1 {
        return None;
    }
    (0..count)
        .map(|_| u16::try_from(d.varint()?).ok())
        .collect()
}

fn put_gid(out: &mut Vec<u8>, gid: Option<&str>) {
    match gid {
        Some(gid) => {
            out.push(1);
            put_bytes(out, gid.as_bytes());
        }
        None => out.push(0),
    }
}

fn get_gid(d: &mut Decoder<'_>) -> Option<Option<String>> {
    match d.u8()? {
        0 => Some(None),
        1 => String::from_utf8(d.bytes()?.to_vec()).ok().map(Some),
        _ => None,
    }
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

    fn writes() -> WriteSet {
        let mut writes = WriteSet::new();
        writes.insert(WriteKey::from(&b"a"[..]), Some(b"1".to_vec()));
        writes.insert(WriteKey::from(&b"b"[..]), None);
        writes
    }

    #[test]
    fn round_trips_and_rejects_damage() {
        let coordination = Coordination {
            home: 2,
            participants: vec![0, 2, 3],
            prepared_at_ms: 1_700_000_000_000,
            gid: Some("transfer-7".into()),
        };
        let bytes = encode(IsolationLevel::RepeatableRead, &coordination, &writes());
        assert_eq!(
            decode(&bytes),
            Some(PreparedRecord {
                level: IsolationLevel::RepeatableRead,
                coordination,
                writes: writes(),
            })
        );
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(decode(&trailing), None);
    }

    #[test]
    fn format_1_records_read_as_one_participant_on_shard_0() {
        // Format 1: format | level | count | ops (what earlier versions wrote).
        let mut v1 = vec![FORMAT_V1, 3];
        put_varint(&mut v1, 2);
        put_bytes(&mut v1, b"a");
        v1.push(1);
        put_bytes(&mut v1, b"1");
        put_bytes(&mut v1, b"b");
        v1.push(0);
        let record = decode(&v1).expect("v1 decodes");
        assert_eq!(record.level, IsolationLevel::Serializable);
        assert_eq!(record.writes, writes());
        assert_eq!(record.coordination.participants, vec![0]);
        assert_eq!(record.coordination.gid, None);
    }

    #[test]
    fn status_records_round_trip_and_reject_damage() {
        for record in [
            StatusRecord {
                outcome: Outcome::Committed(12345),
                participants: vec![0, 1],
                gid: None,
            },
            StatusRecord {
                outcome: Outcome::Aborted,
                participants: vec![3],
                gid: Some("g".into()),
            },
        ] {
            let bytes = encode_status(&record);
            assert_eq!(decode_status(&bytes), Some(record));
            for cut in 0..bytes.len() {
                assert_eq!(decode_status(&bytes[..cut]), None);
            }
        }
    }
}
