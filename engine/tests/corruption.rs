//! Corruption tests: one flipped byte in a log record, a data block, an index
//! block or the manifest must give `Error::Corruption` naming the file —
//! never a panic and never a wrong answer. Also the directory checks: a
//! second opener, a foreign directory, oversized keys.

mod common;

use std::path::Path;

use isodb_engine::Error;
use isodb_engine::storage::{Store, StoreOptions, TableOptions};

use common::files_with;

fn options() -> StoreOptions {
    StoreOptions {
        table: TableOptions {
            block_size: 512,
            ..TableOptions::default()
        },
        ..StoreOptions::default()
    }
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

fn value(i: u32) -> Vec<u8> {
    format!("value{i:06}-{}", "v".repeat(40)).into_bytes()
}

fn flip(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[offset as usize] ^= 0x5a;
    std::fs::write(path, bytes).expect("write");
}

fn assert_corruption_in(err: Error, file_part: &str) {
    match &err {
        Error::Corruption { path, .. } => assert!(
            path.to_string_lossy().contains(file_part),
            "corruption should name a {file_part} file, got {err}"
        ),
        other => panic!("expected a corruption error about {file_part}, got {other:?}"),
    }
    assert_eq!(err.sqlstate(), "XX001");
}

/// Writes 2,000 keys and flushes them to one table.
fn store_with_table(dir: &Path) {
    let store = Store::open(dir, options()).expect("open");
    for i in 0..2000 {
        store.put(&key(i), &value(i)).expect("put");
    }
    store.flush().expect("flush");
    store.close().expect("close");
}

#[test]
fn flipped_byte_in_a_log_record_is_reported_with_file_and_offset() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path(), options()).expect("open");
    for i in 0..100 {
        store.put(&key(i), &value(i)).expect("put");
    }
    store.close().expect("close");
    let logs = files_with(dir.path(), ".log");
    let log = logs.last().expect("a log file");
    let len = std::fs::metadata(log).expect("meta").len();
    flip(log, len / 2);
    let err = Store::open(dir.path(), options()).expect_err("open must fail");
    if let Error::Corruption { offset, .. } = &err {
        assert!(*offset <= len / 2, "offset {offset} past the flip");
    }
    assert_corruption_in(err, ".log");
}

#[test]
fn flipped_byte_in_a_data_block_is_never_read_as_data() {
    let dir = tempfile::tempdir().expect("dir");
    store_with_table(dir.path());
    let table = files_with(dir.path(), ".sst").pop().expect("a table");
    flip(&table, 100);
    let store = Store::open(dir.path(), options()).expect("open reads only index and filter");
    let mut errors = 0;
    for i in 0..2000 {
        match store.get(&key(i)) {
            Ok(found) => assert_eq!(found, Some(value(i)), "a read returned a wrong value"),
            Err(e) => {
                errors += 1;
                assert_corruption_in(e, ".sst");
            }
        }
    }
    assert!(errors > 0, "no read noticed the damaged block");
    let scan: Result<Vec<_>, _> = store.scan(..).collect();
    assert_corruption_in(scan.expect_err("scan must fail"), ".sst");
}

#[test]
fn flipped_byte_in_an_index_block_fails_the_open() {
    let dir = tempfile::tempdir().expect("dir");
    store_with_table(dir.path());
    let table = files_with(dir.path(), ".sst").pop().expect("a table");
    let len = std::fs::metadata(&table).expect("meta").len();
    // The index block sits just before the fixed-size footer.
    flip(&table, len - 128);
    let err = Store::open(dir.path(), options()).expect_err("open must fail");
    assert_corruption_in(err, ".sst");
}

#[test]
fn flipped_byte_in_a_table_footer_fails_the_open() {
    let dir = tempfile::tempdir().expect("dir");
    store_with_table(dir.path());
    let table = files_with(dir.path(), ".sst").pop().expect("a table");
    let len = std::fs::metadata(&table).expect("meta").len();
    flip(&table, len - 3);
    let err = Store::open(dir.path(), options()).expect_err("open must fail");
    assert_corruption_in(err, ".sst");
}

#[test]
fn flipped_byte_in_the_manifest_fails_the_open() {
    let dir = tempfile::tempdir().expect("dir");
    store_with_table(dir.path());
    let manifest = files_with(dir.path(), "").into_iter().find(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("MANIFEST-"))
    });
    let manifest = manifest.expect("a manifest");
    flip(&manifest, 20);
    let err = Store::open(dir.path(), options()).expect_err("open must fail");
    assert_corruption_in(err, "MANIFEST-");
}

#[test]
fn a_second_opener_gets_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path(), options()).expect("open");
    let err = Store::open(dir.path(), options()).expect_err("second open must fail");
    assert!(matches!(err, Error::Locked(_)), "got {err:?}");
    store.close().expect("close");
    Store::open(dir.path(), options())
        .expect("open after close")
        .close()
        .expect("close");
}

#[test]
fn a_foreign_directory_is_not_a_database() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("notes.txt"), b"hello").expect("write");
    let err = Store::open(dir.path(), options()).expect_err("must refuse");
    assert!(matches!(err, Error::NotADatabase { .. }), "got {err:?}");
    assert!(
        dir.path().join("notes.txt").exists(),
        "the foreign file must be left alone"
    );
}

#[test]
fn oversized_keys_and_values_are_refused_and_the_store_stays_usable() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path(), options()).expect("open");
    let big_key = vec![b'k'; isodb_engine::storage::MAX_KEY_SIZE + 1];
    assert!(matches!(
        store.put(&big_key, b"v"),
        Err(Error::KeyTooLarge { .. })
    ));
    assert!(matches!(
        store.get(&big_key),
        Err(Error::KeyTooLarge { .. })
    ));
    store.put(b"fine", b"ok").expect("put");
    assert_eq!(store.get(b"fine").expect("get"), Some(b"ok".to_vec()));
}

#[test]
fn data_survives_clean_reopen_without_flush() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path(), options()).expect("open");
    for i in 0..500 {
        store.put(&key(i), &value(i)).expect("put");
    }
    store.close().expect("close");
    let store = Store::open(dir.path(), options()).expect("reopen");
    for i in 0..500 {
        assert_eq!(store.get(&key(i)).expect("get"), Some(value(i)));
    }
}
