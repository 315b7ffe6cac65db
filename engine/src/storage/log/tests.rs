//! Tests of the record log: round trips, torn tails, corruption, poisoning.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::error::Error;

/// A small deterministic generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Encodes `payloads` as a log in memory; returns the bytes and each
/// record's offset.
fn encode_log(payloads: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
    let mut bytes = Vec::new();
    let mut offsets = Vec::new();
    for payload in payloads {
        offsets.push(bytes.len() as u64);
        bytes.extend_from_slice(&encode_header(payload));
        bytes.extend_from_slice(payload);
    }
    (bytes, offsets)
}

/// Reads every record; returns them and the error that stopped reading, if any.
fn read_all(reader: &mut LogReader) -> (Vec<(u64, Vec<u8>)>, Option<Error>) {
    let mut records = Vec::new();
    loop {
        match reader.next_record() {
            Ok(Some(record)) => records.push(record),
            Ok(None) => return (records, None),
            Err(e) => return (records, Some(e)),
        }
    }
}

/// Records read, the error that stopped reading, and the torn-tail offset.
type ReadOutcome = (Vec<(u64, Vec<u8>)>, Option<Error>, Option<u64>);

fn read_bytes(bytes: &[u8]) -> ReadOutcome {
    let mut reader = LogReader::from_bytes("test.log", bytes.to_vec());
    let (records, error) = read_all(&mut reader);
    (records, error, reader.torn_tail())
}

fn corruption_offset(error: Option<Error>) -> u64 {
    match error {
        Some(Error::Corruption { offset, path, .. }) => {
            assert_eq!(path, PathBuf::from("test.log"));
            offset
        }
        other => panic!("expected corruption, got {other:?}"),
    }
}

fn with_offsets(payloads: &[Vec<u8>], offsets: &[u64]) -> Vec<(u64, Vec<u8>)> {
    offsets
        .iter()
        .copied()
        .zip(payloads.iter().cloned())
        .collect()
}

#[test]
fn records_of_random_sizes_round_trip_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000001.log");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut sizes: Vec<usize> = vec![0, 1, 100 * 1024, 64 * 1024, 64 * 1024 - HEADER_LEN, 0];
    sizes.extend((0..40).map(|_| rng.below(100 * 1024 + 1) as usize));
    let payloads: Vec<Vec<u8>> = sizes.iter().map(|&n| rng.bytes(n)).collect();

    let mut writer = LogWriter::create(&path).unwrap();
    assert!(writer.is_empty());
    let mut offsets = Vec::new();
    for (i, payload) in payloads.iter().enumerate() {
        offsets.push(writer.add_record(payload).unwrap());
        if i % 7 == 0 {
            writer.sync().unwrap();
        }
    }
    writer.flush().unwrap();
    let expected_len: usize = payloads.iter().map(|p| p.len() + HEADER_LEN).sum();
    assert_eq!(writer.len(), expected_len as u64);
    assert_eq!(writer.path(), path);
    writer.sync().unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), expected_len as u64);

    let mut reader = LogReader::open(&path).unwrap();
    let (records, error) = read_all(&mut reader);
    assert!(error.is_none());
    assert_eq!(records, with_offsets(&payloads, &offsets));
    assert_eq!(reader.torn_tail(), None);
    assert_eq!(reader.valid_len(), expected_len as u64);
    assert_eq!(reader.next_record().unwrap(), None);
}

#[test]
fn create_truncates_and_append_continues_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000002.log");
    std::fs::write(&path, b"stale bytes from an old file").unwrap();
    let mut writer = LogWriter::create(&path).unwrap();
    assert_eq!(writer.add_record(b"first").unwrap(), 0);
    drop(writer); // a dropped writer hands its buffer to the OS

    let mut writer = LogWriter::append(&path, 1).unwrap();
    assert_eq!(writer.len(), (HEADER_LEN + 5) as u64);
    assert_eq!(
        writer.add_record(b"second").unwrap(),
        (HEADER_LEN + 5) as u64
    );
    writer.sync().unwrap();
    let extent = writer.synced_extent();
    assert_eq!((extent.bytes, extent.records), (writer.len(), 2));

    let mut reader = LogReader::open(&path).unwrap();
    let (records, error) = read_all(&mut reader);
    assert!(error.is_none());
    assert_eq!(reader.records_read(), 2);
    let payloads: Vec<_> = records.into_iter().map(|(_, p)| p).collect();
    assert_eq!(payloads, vec![b"first".to_vec(), b"second".to_vec()]);
}

#[test]
fn every_truncation_of_the_last_record_is_a_torn_tail_at_its_offset() {
    let mut rng = XorShift(42);
    let payloads: Vec<Vec<u8>> = [5, 0, 300, 40].iter().map(|&n| rng.bytes(n)).collect();
    let (bytes, offsets) = encode_log(&payloads);
    let last = offsets[3] as usize;
    let (records, error, torn) = read_bytes(&bytes[..last]);
    assert!(error.is_none());
    assert_eq!(records, with_offsets(&payloads[..3], &offsets[..3]));
    assert_eq!(torn, None);
    for cut in last + 1..bytes.len() {
        let (records, error, torn) = read_bytes(&bytes[..cut]);
        assert!(error.is_none(), "cut at {cut}: {error:?}");
        assert_eq!(
            records,
            with_offsets(&payloads[..3], &offsets[..3]),
            "cut at {cut}"
        );
        assert_eq!(torn, Some(offsets[3]), "cut at {cut}");
    }
}

#[test]
fn torn_tail_is_truncated_and_the_log_reopened_for_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000003.log");
    let mut writer = LogWriter::create(&path).unwrap();
    writer.add_record(b"kept").unwrap();
    let torn_at = writer.add_record(&[7u8; 500]).unwrap();
    writer.sync().unwrap();
    drop(writer);
    truncate_at(&path, torn_at + 100).unwrap(); // simulate the crash

    let mut reader = LogReader::open(&path).unwrap();
    let (records, error) = read_all(&mut reader);
    assert!(error.is_none());
    assert_eq!(records, vec![(0, b"kept".to_vec())]);
    assert_eq!(reader.torn_tail(), Some(torn_at));

    truncate_at(&path, torn_at).unwrap();
    let mut writer = LogWriter::append(&path, 1).unwrap();
    assert_eq!(writer.add_record(b"after recovery").unwrap(), torn_at);
    writer.sync().unwrap();
    let mut reader = LogReader::open(&path).unwrap();
    let (records, error) = read_all(&mut reader);
    assert!(error.is_none());
    assert_eq!(records.len(), 2);
    assert_eq!(records[1], (torn_at, b"after recovery".to_vec()));
    assert_eq!(reader.torn_tail(), None);
}

#[test]
fn a_flipped_byte_in_any_complete_record_is_corruption_at_that_record() {
    let mut rng = XorShift(7);
    let payloads: Vec<Vec<u8>> = [0, 1, 20, 100, 7].iter().map(|&n| rng.bytes(n)).collect();
    let (mut bytes, offsets) = encode_log(&payloads);
    let complete_len = bytes.len();
    // A torn record after the complete ones: damage before it must still count.
    bytes.extend_from_slice(&encode_header(&[1u8; 50]));
    bytes.extend_from_slice(&[1u8; 10]);
    for pos in 0..complete_len {
        let record = offsets.iter().rposition(|&o| o as usize <= pos).unwrap();
        for mask in [0x01u8, 0x80, 0xff] {
            let mut damaged = bytes.clone();
            damaged[pos] ^= mask;
            let (records, error, torn) = read_bytes(&damaged);
            assert_eq!(corruption_offset(error), offsets[record], "byte {pos}");
            assert_eq!(
                records,
                with_offsets(&payloads[..record], &offsets[..record])
            );
            assert_eq!(torn, None);
        }
    }
}

#[test]
fn corruption_is_repeated_by_later_calls() {
    let (mut bytes, _) = encode_log(&[b"abc".to_vec(), b"def".to_vec()]);
    bytes[HEADER_LEN] ^= 1;
    let mut reader = LogReader::from_bytes("test.log", bytes);
    assert_eq!(corruption_offset(reader.next_record().err()), 0);
    assert_eq!(corruption_offset(reader.next_record().err()), 0);
    assert_eq!(reader.torn_tail(), None);
}

#[test]
fn an_all_zero_tail_is_torn_but_nonzero_garbage_is_corruption() {
    let payloads = vec![b"one".to_vec(), b"two".to_vec()];
    let (bytes, offsets) = encode_log(&payloads);
    let end = bytes.len() as u64;
    for zeros in [1, 11, 12, 13, 4096] {
        let mut padded = bytes.clone();
        padded.resize(bytes.len() + zeros, 0);
        let (records, error, torn) = read_bytes(&padded);
        assert!(error.is_none(), "{zeros} zeros");
        assert_eq!(records, with_offsets(&payloads, &offsets));
        assert_eq!(torn, Some(end), "{zeros} zeros");
    }
    // A header that verifies, followed by a zeroed payload of the full length.
    let mut zero_payload = bytes.clone();
    zero_payload.extend_from_slice(&encode_header(b"xyz"));
    zero_payload.extend_from_slice(&[0, 0, 0]);
    assert_eq!(corruption_offset(read_bytes(&zero_payload).1), end);
    // Garbage too short to be a header could be a torn header.
    let mut short = bytes.clone();
    short.extend_from_slice(&[0xab; 11]);
    assert_eq!(read_bytes(&short).2, Some(end));
    // A full-size garbage header is not a torn write.
    let mut garbage = bytes.clone();
    garbage.extend_from_slice(&[0xab; 12]);
    assert_eq!(corruption_offset(read_bytes(&garbage).1), end);
    // Zeros followed by a non-zero byte are not an unwritten tail.
    let mut zeros_then_data = bytes.clone();
    zeros_then_data.resize(bytes.len() + 100, 0);
    zeros_then_data.push(1);
    assert_eq!(corruption_offset(read_bytes(&zeros_then_data).1), end);
}

#[test]
fn an_empty_log_ends_cleanly() {
    let (records, error, torn) = read_bytes(&[]);
    assert!(records.is_empty() && error.is_none() && torn.is_none());
}

#[test]
fn a_missing_log_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000009.log");
    match LogReader::open(&path) {
        Err(Error::Io { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected Io, got {other:?}"),
    }
}

/// `/dev/full` accepts opens and fails every write with ENOSPC: a real I/O
/// failure without any test hook.
#[cfg(target_os = "linux")]
#[test]
fn a_failed_write_poisons_the_writer_for_good() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        return;
    }
    let mut writer = LogWriter::append(full, 0).unwrap();
    assert_eq!(writer.add_record(b"buffered").unwrap(), 0);
    assert!(matches!(writer.flush(), Err(Error::Io { .. })));
    assert!(writer.is_poisoned());
    assert!(matches!(writer.add_record(b"x"), Err(Error::Poisoned(_))));
    assert!(matches!(writer.flush(), Err(Error::Poisoned(_))));
    assert!(matches!(writer.sync(), Err(Error::Poisoned(_))));

    // A record too large to buffer fails inside add_record itself.
    let mut writer = LogWriter::append(full, 0).unwrap();
    assert!(matches!(
        writer.add_record(&[0u8; 100 * 1024]),
        Err(Error::Io { .. })
    ));
    assert!(matches!(writer.sync(), Err(Error::Poisoned(_))));

    // And sync poisons when its flush fails.
    let mut writer = LogWriter::append(full, 0).unwrap();
    writer.add_record(b"buffered").unwrap();
    assert!(matches!(writer.sync(), Err(Error::Io { .. })));
    assert!(matches!(writer.add_record(b"x"), Err(Error::Poisoned(_))));
}

fn payloads_strategy() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic_and_records_verify(
        bytes in prop::collection::vec(any::<u8>(), 0..300)
    ) {
        let (records, _error, torn) = read_bytes(&bytes);
        // Whatever was returned re-encodes to exactly the bytes it came from.
        let payloads: Vec<_> = records.iter().map(|(_, p)| p.clone()).collect();
        let (reencoded, _) = encode_log(&payloads);
        prop_assert_eq!(&bytes[..reencoded.len()], &reencoded[..]);
        if let Some(offset) = torn {
            prop_assert_eq!(offset as usize, reencoded.len());
        }
    }

    #[test]
    fn any_truncation_yields_a_prefix_and_reports_the_cut_record(
        payloads in payloads_strategy(),
        cut_fraction in 0.0f64..=1.0,
    ) {
        let (bytes, offsets) = encode_log(&payloads);
        let cut = (bytes.len() as f64 * cut_fraction) as usize;
        let (records, error, torn) = read_bytes(&bytes[..cut]);
        prop_assert!(error.is_none());
        let whole = offsets.iter().filter(|&&o| o < cut as u64).count();
        let boundary = offsets.contains(&(cut as u64)) || cut == bytes.len();
        let kept = if boundary { whole } else { whole - 1 };
        prop_assert_eq!(records, with_offsets(&payloads[..kept], &offsets[..kept]));
        let expected_torn = if boundary { None } else { Some(offsets[kept]) };
        prop_assert_eq!(torn, expected_torn);
    }

    #[test]
    fn any_single_byte_flip_is_corruption_at_the_damaged_record(
        payloads in payloads_strategy(),
        position in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let (mut bytes, offsets) = encode_log(&payloads);
        let pos = position.index(bytes.len());
        bytes[pos] ^= mask;
        let record = offsets.iter().rposition(|&o| o as usize <= pos).unwrap();
        let (records, error, torn) = read_bytes(&bytes);
        prop_assert_eq!(corruption_offset(error), offsets[record]);
        prop_assert_eq!(records, with_offsets(&payloads[..record], &offsets[..record]));
        prop_assert_eq!(torn, None);
    }
}

#[test]
fn the_synced_extent_counts_only_what_an_fsync_made_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000004.log");
    let mut writer = LogWriter::create(&path).unwrap();
    assert_eq!(writer.synced_extent(), LogExtent::default());
    writer.add_record(b"one").unwrap();
    writer.add_record(&[1u8; 100 * 1024]).unwrap(); // written straight through
    writer.sync().unwrap();
    let durable = writer.synced_extent();
    assert_eq!(durable.records, 2);
    assert_eq!(durable.bytes, writer.len());
    writer.add_record(b"buffered only").unwrap();
    writer.flush().unwrap();
    assert_eq!(writer.synced_extent(), durable, "a flush is not an fsync");
    writer.crash(CrashKind::PowerLoss).unwrap();
    assert_eq!(writer.synced_extent(), durable);
    let mut reader = LogReader::open(&path).unwrap();
    let (records, error) = read_all(&mut reader);
    assert!(error.is_none());
    assert_eq!(records.len() as u64, durable.records);
    assert_eq!(reader.valid_len(), durable.bytes);
}
