//! Damaged table files: a flipped byte anywhere, or a truncated file, must
//! surface as an error naming the file — from `open`, `get` or the iterator —
//! and never as a panic or a wrong answer.

use std::ops::Bound::Unbounded;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::footer::{FOOTER_LEN, Footer};
use super::test_support::{Oracle, visible_version};
use super::{BlockCache, Table, TableOptions};
use crate::error::Error;
use crate::storage::key::MAX_SEQ;

/// A finished table and what it should contain.
struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    bytes: Vec<u8>,
    oracle: Oracle,
    footer: Footer,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000042.sst");
    let oracle = Oracle::generate(42, 1_500, 3);
    oracle.write_table(&path, TableOptions::default());
    let bytes = std::fs::read(&path).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let footer = Footer::read(&file, &path, bytes.len() as u64).unwrap();
    Fixture {
        _dir: dir,
        path,
        bytes,
        oracle,
        footer,
    }
}

/// Asserts `error` is a corruption error about `path`.
fn assert_corruption(error: &Error, path: &Path) {
    match error {
        Error::Corruption { path: named, .. } => assert_eq!(named, path),
        other => panic!("expected corruption, got {other}"),
    }
}

/// Opens and reads everything in the (damaged) table at `path`; returns true
/// when a corruption error was reported. Every answer that is not an error
/// must match the oracle.
fn read_everything(path: &Path, oracle: &Oracle) -> bool {
    let table = match Table::open(42, path.to_path_buf(), Arc::new(BlockCache::new(0))) {
        Ok(table) => Arc::new(table),
        Err(error) => {
            assert_corruption(&error, path);
            return true;
        }
    };
    let mut corrupt = false;
    for user_key in oracle.user_keys() {
        match table.get(user_key, MAX_SEQ) {
            Ok(found) => assert_eq!(found, visible_version(oracle, user_key, MAX_SEQ)),
            Err(error) => {
                assert_corruption(&error, path);
                corrupt = true;
            }
        }
    }
    let expected = oracle.internal_entries();
    let mut iter = table.iter(Unbounded, Unbounded);
    let mut index = 0;
    while let Some(item) = iter.next() {
        match item {
            Ok(entry) => {
                assert_eq!(entry, expected[index]);
                index += 1;
            }
            Err(error) => {
                assert_corruption(&error, path);
                corrupt = true;
                assert!(iter.next().is_none(), "iterator continues after an error");
                assert!(iter.next_back().is_none());
            }
        }
    }
    let mut iter = table.iter(Unbounded, Unbounded).rev();
    let mut index = expected.len();
    for item in &mut iter {
        match item {
            Ok(entry) => {
                index -= 1;
                assert_eq!(entry, expected[index]);
            }
            Err(error) => {
                assert_corruption(&error, path);
                corrupt = true;
            }
        }
    }
    corrupt
}

/// Flips one byte at each of `offsets` in turn and checks the result.
fn flip_each(fixture: &Fixture, offsets: impl IntoIterator<Item = u64>, region: &str) {
    for offset in offsets {
        let mut damaged = fixture.bytes.clone();
        damaged[offset as usize] ^= 0x5a;
        std::fs::write(&fixture.path, &damaged).unwrap();
        assert!(
            read_everything(&fixture.path, &fixture.oracle),
            "flipping byte {offset} in the {region} went unnoticed"
        );
    }
    std::fs::write(&fixture.path, &fixture.bytes).unwrap();
}

/// First, last, middle and trailer bytes of the region `[start, end)`.
fn sample_offsets(start: u64, end: u64) -> Vec<u64> {
    let mut offsets = vec![start, start + (end - start) / 2, end - 5, end - 4, end - 1];
    offsets.dedup();
    offsets
}

#[test]
fn undamaged_fixture_reads_cleanly() {
    let fixture = fixture();
    assert!(!read_everything(&fixture.path, &fixture.oracle));
}

#[test]
fn flipped_byte_in_a_data_block_is_reported() {
    let fixture = fixture();
    let data_end = fixture.footer.data_end();
    let mut offsets = sample_offsets(0, data_end);
    offsets.extend((1..8).map(|i| data_end * i / 8));
    flip_each(&fixture, offsets, "data blocks");
}

#[test]
fn flipped_byte_in_the_filter_block_is_reported() {
    let fixture = fixture();
    let filter = fixture.footer.filter;
    flip_each(
        &fixture,
        sample_offsets(filter.offset, filter.end().unwrap()),
        "filter block",
    );
}

#[test]
fn flipped_byte_in_the_properties_block_is_reported() {
    let fixture = fixture();
    let properties = fixture.footer.properties;
    flip_each(
        &fixture,
        sample_offsets(properties.offset, properties.end().unwrap()),
        "properties block",
    );
}

#[test]
fn flipped_byte_in_the_index_block_is_reported() {
    let fixture = fixture();
    let index = fixture.footer.index;
    flip_each(
        &fixture,
        sample_offsets(index.offset, index.end().unwrap()),
        "index block",
    );
}

#[test]
fn flipped_byte_in_the_footer_is_reported() {
    let fixture = fixture();
    let len = fixture.bytes.len() as u64;
    flip_each(&fixture, len - FOOTER_LEN..len, "footer");
}

#[test]
fn truncated_files_are_rejected() {
    let fixture = fixture();
    let len = fixture.bytes.len();
    for keep in [0, 1, 50, len / 2, len - FOOTER_LEN as usize, len - 1] {
        std::fs::write(&fixture.path, &fixture.bytes[..keep]).unwrap();
        let error = Table::open(42, fixture.path.clone(), Arc::new(BlockCache::new(0)))
            .expect_err("truncated table opened");
        assert_corruption(&error, &fixture.path);
    }
}

#[test]
fn a_file_that_is_not_a_table_is_rejected() {
    let fixture = fixture();
    std::fs::write(&fixture.path, vec![0u8; 4096]).unwrap();
    let error = Table::open(42, fixture.path.clone(), Arc::new(BlockCache::new(0)))
        .expect_err("zeros opened as a table");
    assert_corruption(&error, &fixture.path);
    assert!(error.to_string().contains("magic"), "{error}");
}
