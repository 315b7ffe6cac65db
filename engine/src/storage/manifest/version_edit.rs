//! `VersionEdit`: one change to the set of live files, and its encoding as
//! the payload of one manifest record.
//!
//! The encoding is a sequence of tagged fields, each a varint tag followed by
//! that tag's body, so a field can be added later under a new tag:
//!
//! ```text
//! tag 1  log_number        varint
//! tag 2  next_file_number  varint
//! tag 3  last_seq          varint
//! tag 4  new file          level varint | number varint | file_size varint |
//!                          entries varint | smallest bytes | largest bytes
//! tag 5  deleted file      level varint | number varint
//! tag 6  compact pointer   level varint | internal key bytes
//! tag 7  log added         number varint                    (format 2)
//! tag 8  log synced        number varint | bytes varint | records varint  (format 2)
//! tag 9  log sealed        number varint | bytes varint | records varint  (format 2)
//! ("bytes" = varint length + the bytes)
//!
//! Format 2 adds tags 7 to 9, which track the write-ahead logs: every log
//! recovery needs is *added* when it is created, *synced* marks record how
//! much of the live log an fsync had made durable (a lower bound, written
//! periodically), and *sealed* records a log's final length and record count
//! when it stops growing (at the switch to the next log, and at close). A
//! format-1 manifest has none of them and is still read.
//!
//! example: { log_number: 7, deleted_files: [(1, 12)] }  =>  01 07 05 01 0c
//! ```
//!
//! Decoding is strict: an unknown tag, a repeated scalar field, a level of
//! [`NUM_LEVELS`] or more, a key that is not an internal key, a sequence
//! number above [`MAX_SEQ`], truncation and trailing bytes all reject the
//! edit. An old binary must not half-understand a newer edit.

use crate::storage::coding::{Decoder, put_bytes, put_varint};
use crate::storage::key::{MAX_SEQ, SeqNo, is_valid_internal_key};

use super::NUM_LEVELS;

const TAG_LOG_NUMBER: u64 = 1;
const TAG_NEXT_FILE_NUMBER: u64 = 2;
const TAG_LAST_SEQ: u64 = 3;
const TAG_NEW_FILE: u64 = 4;
const TAG_DELETED_FILE: u64 = 5;
const TAG_COMPACT_POINTER: u64 = 6;
const TAG_LOG_ADDED: u64 = 7;
const TAG_LOG_SYNCED: u64 = 8;
const TAG_LOG_SEALED: u64 = 9;

/// How much of one write-ahead log was made durable, as the manifest
/// records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LogMark {
    /// The log's file number (`{number:06}.log`).
    pub number: u64,
    /// Bytes of complete records from the start of the file.
    pub bytes: u64,
    /// Records in those bytes.
    pub records: u64,
}

/// A table file as the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileMeta {
    /// The file number (`{number:06}.sst`).
    pub number: u64,
    /// Size of the file in bytes.
    pub file_size: u64,
    /// Number of entries (versions) in the table.
    pub entries: u64,
    /// Smallest internal key in the table.
    pub smallest: Vec<u8>,
    /// Largest internal key in the table.
    pub largest: Vec<u8>,
}

/// One change to the manifest state; fields left `None` or empty change
/// nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionEdit {
    /// Logs with a smaller number are no longer needed for recovery.
    pub log_number: Option<u64>,
    /// The next unused file number.
    pub next_file_number: Option<u64>,
    /// The largest sequence number whose write is in a table or a live log.
    pub last_seq: Option<SeqNo>,
    /// Tables added, with their level.
    pub new_files: Vec<(u32, FileMeta)>,
    /// Tables removed, as (level, file number).
    pub deleted_files: Vec<(u32, u64)>,
    /// Where the next compaction of a level starts, as (level, internal key).
    pub compact_pointers: Vec<(u32, Vec<u8>)>,
    /// Write-ahead logs created, which recovery needs until a later
    /// `log_number` retires them.
    pub new_logs: Vec<u64>,
    /// At least this much of a live log was fsynced.
    pub synced_logs: Vec<LogMark>,
    /// A log that will not grow any more, with its exact extent.
    pub sealed_logs: Vec<LogMark>,
}

impl VersionEdit {
    /// An edit that changes nothing.
    pub fn new() -> Self {
        VersionEdit::default()
    }

    /// True when the edit changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == VersionEdit::default()
    }

    /// Encodes the edit as tagged fields (see the module docs). Levels must be
    /// below [`NUM_LEVELS`] and keys must be internal keys, or
    /// [`VersionEdit::decode`] will reject the result.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        let scalars = [
            (TAG_LOG_NUMBER, self.log_number),
            (TAG_NEXT_FILE_NUMBER, self.next_file_number),
            (TAG_LAST_SEQ, self.last_seq),
        ];
        for (tag, value) in scalars {
            if let Some(value) = value {
                put_varint(&mut buf, tag);
                put_varint(&mut buf, value);
            }
        }
        for (level, file) in &self.new_files {
            put_varint(&mut buf, TAG_NEW_FILE);
            put_varint(&mut buf, u64::from(*level));
            put_varint(&mut buf, file.number);
            put_varint(&mut buf, file.file_size);
            put_varint(&mut buf, file.entries);
            put_bytes(&mut buf, &file.smallest);
            put_bytes(&mut buf, &file.largest);
        }
        for (level, number) in &self.deleted_files {
            put_varint(&mut buf, TAG_DELETED_FILE);
            put_varint(&mut buf, u64::from(*level));
            put_varint(&mut buf, *number);
        }
        for (level, key) in &self.compact_pointers {
            put_varint(&mut buf, TAG_COMPACT_POINTER);
            put_varint(&mut buf, u64::from(*level));
            put_bytes(&mut buf, key);
        }
        for number in &self.new_logs {
            put_varint(&mut buf, TAG_LOG_ADDED);
            put_varint(&mut buf, *number);
        }
        for (tag, marks) in [
            (TAG_LOG_SYNCED, &self.synced_logs),
            (TAG_LOG_SEALED, &self.sealed_logs),
        ] {
            for mark in marks {
                put_varint(&mut buf, tag);
                put_varint(&mut buf, mark.number);
                put_varint(&mut buf, mark.bytes);
                put_varint(&mut buf, mark.records);
            }
        }
        buf
    }

    /// Decodes an edit written by [`VersionEdit::encode`]; `None` for any
    /// input it could not have written.
    pub fn decode(bytes: &[u8]) -> Option<VersionEdit> {
        let mut edit = VersionEdit::new();
        let mut d = Decoder::new(bytes);
        while !d.is_empty() {
            match d.varint()? {
                TAG_LOG_NUMBER => set_once(&mut edit.log_number, d.varint()?)?,
                TAG_NEXT_FILE_NUMBER => set_once(&mut edit.next_file_number, d.varint()?)?,
                TAG_LAST_SEQ => {
                    let seq = d.varint()?;
                    if seq > MAX_SEQ {
                        return None;
                    }
                    set_once(&mut edit.last_seq, seq)?;
                }
                TAG_NEW_FILE => {
                    let level = level(&mut d)?;
                    let file = FileMeta {
                        number: d.varint()?,
                        file_size: d.varint()?,
                        entries: d.varint()?,
                        smallest: internal_key(&mut d)?,
                        largest: internal_key(&mut d)?,
                    };
                    edit.new_files.push((level, file));
                }
                TAG_DELETED_FILE => {
                    let level = level(&mut d)?;
                    edit.deleted_files.push((level, d.varint()?));
                }
                TAG_COMPACT_POINTER => {
                    let level = level(&mut d)?;
                    edit.compact_pointers.push((level, internal_key(&mut d)?));
                }
                TAG_LOG_ADDED => edit.new_logs.push(d.varint()?),
                TAG_LOG_SYNCED => edit.synced_logs.push(log_mark(&mut d)?),
                TAG_LOG_SEALED => edit.sealed_logs.push(log_mark(&mut d)?),
                _ => return None,
            }
        }
        Some(edit)
    }
}

/// Sets a scalar field, failing if the encoding already set it.
fn set_once(field: &mut Option<u64>, value: u64) -> Option<()> {
    match field {
        Some(_) => None,
        None => {
            *field = Some(value);
            Some(())
        }
    }
}

fn level(d: &mut Decoder<'_>) -> Option<u32> {
    let level = u32::try_from(d.varint()?).ok()?;
    (level < NUM_LEVELS as u32).then_some(level)
}

fn log_mark(d: &mut Decoder<'_>) -> Option<LogMark> {
    Some(LogMark {
        number: d.varint()?,
        bytes: d.varint()?,
        records: d.varint()?,
    })
}

fn internal_key(d: &mut Decoder<'_>) -> Option<Vec<u8>> {
    let key = d.bytes()?;
    is_valid_internal_key(key).then(|| key.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::key::{ValueKind, encode_internal_key};
    use proptest::prelude::*;

    fn ikey(user: &[u8], seq: u64) -> Vec<u8> {
        encode_internal_key(user, seq, ValueKind::Put)
    }

    fn sample_edit() -> VersionEdit {
        VersionEdit {
            log_number: Some(7),
            next_file_number: Some(20),
            last_seq: Some(1234),
            new_files: vec![(
                1,
                FileMeta {
                    number: 12,
                    file_size: 4096,
                    entries: 100,
                    smallest: ikey(b"a", 5),
                    largest: ikey(b"m", 9),
                },
            )],
            deleted_files: vec![(0, 3), (0, 4)],
            compact_pointers: vec![(1, ikey(b"k", 2))],
            new_logs: vec![21],
            synced_logs: vec![LogMark {
                number: 21,
                bytes: 300,
                records: 4,
            }],
            sealed_logs: vec![LogMark {
                number: 19,
                bytes: 9000,
                records: 70,
            }],
        }
    }

    #[test]
    fn the_documented_example_encodes_as_shown() {
        let edit = VersionEdit {
            log_number: Some(7),
            deleted_files: vec![(1, 12)],
            ..VersionEdit::new()
        };
        assert_eq!(edit.encode(), [0x01, 0x07, 0x05, 0x01, 0x0c]);
        assert_eq!(VersionEdit::decode(&edit.encode()), Some(edit));
        assert!(VersionEdit::new().encode().is_empty());
        assert_eq!(VersionEdit::decode(&[]), Some(VersionEdit::new()));
        assert!(VersionEdit::new().is_empty() && !sample_edit().is_empty());
    }

    #[test]
    fn every_truncation_and_any_trailing_byte_is_rejected() {
        let bytes = sample_edit().encode();
        assert_eq!(VersionEdit::decode(&bytes), Some(sample_edit()));
        // Cuts that land between two whole fields decode to a smaller edit;
        // every other cut must be rejected, and no cut may decode to the whole.
        let mut field_ends = 0;
        for cut in 0..bytes.len() {
            if let Some(edit) = VersionEdit::decode(&bytes[..cut]) {
                assert_ne!(edit, sample_edit());
                field_ends += 1;
            }
        }
        // 3 scalars + 1 new file + 2 deletions + 1 pointer + 3 log fields
        // = 10 fields: cuts at 0 and after each of the first nine.
        assert_eq!(field_ends, 10);
        for trailing in [0u8, 1, 7, 0x80] {
            let mut longer = bytes.clone();
            longer.push(trailing);
            assert_eq!(VersionEdit::decode(&longer), None, "trailing {trailing}");
        }
    }

    #[test]
    fn invalid_fields_are_rejected() {
        let reject = |bytes: &[u8]| assert_eq!(VersionEdit::decode(bytes), None, "{bytes:?}");
        reject(&[99, 1]); // unknown tag
        reject(&[1, 1, 1, 2]); // log_number twice
        reject(&[5, 7, 1]); // level 7
        reject(&[6, 0, 3, b'a', b'b', b'c']); // key without a trailer
        let mut bad_kind = vec![6, 0, 9, b'a'];
        bad_kind.extend_from_slice(&[0, 0, 0, 0, 0, 0, 1, 9]); // kind byte 9
        reject(&bad_kind);
        let mut huge_seq = vec![3];
        put_varint(&mut huge_seq, MAX_SEQ + 1);
        reject(&huge_seq);
    }

    fn file_meta() -> impl Strategy<Value = FileMeta> {
        let key = (prop::collection::vec(any::<u8>(), 0..12), 0..=MAX_SEQ)
            .prop_map(|(user, seq)| ikey(&user, seq));
        (any::<u64>(), any::<u64>(), any::<u64>(), key.clone(), key).prop_map(
            |(number, file_size, entries, smallest, largest)| FileMeta {
                number,
                file_size,
                entries,
                smallest,
                largest,
            },
        )
    }

    fn log_mark() -> impl Strategy<Value = LogMark> {
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(number, bytes, records)| LogMark {
            number,
            bytes,
            records,
        })
    }

    fn version_edit() -> impl Strategy<Value = VersionEdit> {
        let level = 0..NUM_LEVELS as u32;
        let key = (prop::collection::vec(any::<u8>(), 0..12), 0..=MAX_SEQ)
            .prop_map(|(user, seq)| ikey(&user, seq));
        (
            any::<Option<u64>>(),
            any::<Option<u64>>(),
            prop::option::of(0..=MAX_SEQ),
            prop::collection::vec((level.clone(), file_meta()), 0..4),
            prop::collection::vec((level.clone(), any::<u64>()), 0..4),
            prop::collection::vec((level, key), 0..3),
            prop::collection::vec(any::<u64>(), 0..3),
            prop::collection::vec(log_mark(), 0..3),
            prop::collection::vec(log_mark(), 0..3),
        )
            .prop_map(
                |(
                    log_number,
                    next_file_number,
                    last_seq,
                    new_files,
                    deleted_files,
                    pointers,
                    new_logs,
                    synced_logs,
                    sealed_logs,
                )| {
                    VersionEdit {
                        log_number,
                        next_file_number,
                        last_seq,
                        new_files,
                        deleted_files,
                        compact_pointers: pointers,
                        new_logs,
                        synced_logs,
                        sealed_logs,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn edits_round_trip(edit in version_edit()) {
            prop_assert_eq!(VersionEdit::decode(&edit.encode()), Some(edit));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Some(edit) = VersionEdit::decode(&bytes) {
                // Whatever decodes is canonical up to field order.
                prop_assert_eq!(VersionEdit::decode(&edit.encode()), Some(edit));
            }
        }
    }
}
