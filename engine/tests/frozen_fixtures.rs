//! Frozen fixtures: small database directories written by each format
//! version of the on-disk structures (log, table, manifest, CURRENT), kept
//! in git under `tests/fixtures/format-v<N>/`. Every future build must open
//! each and read exactly the data below — a format change that breaks old
//! files fails here — and must report damage to any of its files by name,
//! never read it.
//!
//! - format 1: the first format.
//! - format 2: the manifest also tracks the write-ahead logs (added, synced,
//!   sealed), so a log that lost records is caught by name; logs, tables and
//!   CURRENT are unchanged. In format 1 only a missing log can be caught (the
//!   log the manifest's `log_number` names must exist); a format-1 log that
//!   was emptied or cut short cannot be told from a short one.
//!
//! What the fixture holds (see `write_fixture`):
//!
//! ```text
//!   000xxx.sst   keys k000..k199 = "table-v<i>"          (flushed)
//!   000xxx.log   k000..k049 overwritten "log-v<i>",       (log tail, replayed)
//!                k150..k199 deleted, k200..k209 added
//!   MANIFEST-*, CURRENT
//! ```
//!
//! `UPDATE_FIXTURES=1 cargo test -p isodb-engine --test frozen_fixtures`
//! writes the newest one again; do that only for a new format version, in a
//! new folder (and add it to [`VERSIONS`]).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Once;

use isodb_engine::Error;
use isodb_engine::storage::log::LogReader;
use isodb_engine::storage::{LogRecovery, Store, StoreOptions, WriteBatch};

use common::files_with;

/// Every format version with a fixture; the last is what this build writes.
const VERSIONS: [u32; 2] = [1, 2];

fn fixture_dir(version: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/format-v{version}"))
}

/// What the fixture's database holds.
fn expected() -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut map = BTreeMap::new();
    for i in 0..150u32 {
        let value = if i < 50 {
            format!("log-v{i}")
        } else {
            format!("table-v{i}")
        };
        map.insert(format!("k{i:03}").into_bytes(), value.into_bytes());
    }
    for i in 200..210u32 {
        map.insert(
            format!("k{i:03}").into_bytes(),
            format!("log-v{i}").into_bytes(),
        );
    }
    map
}

fn write_fixture(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let store = Store::open(dir, StoreOptions::default()).expect("create fixture");
    for i in 0..200u32 {
        store
            .put(
                format!("k{i:03}").as_bytes(),
                format!("table-v{i}").as_bytes(),
            )
            .expect("put");
    }
    store.flush().expect("flush to a table");
    let mut batch = WriteBatch::new();
    for i in 0..50u32 {
        batch.put(
            format!("k{i:03}").as_bytes(),
            format!("log-v{i}").as_bytes(),
        );
    }
    for i in 150..200u32 {
        batch.delete(format!("k{i:03}").as_bytes());
    }
    store.write(batch).expect("batch");
    for i in 200..210u32 {
        store
            .put(
                format!("k{i:03}").as_bytes(),
                format!("log-v{i}").as_bytes(),
            )
            .expect("put");
    }
    store.close().expect("close");
    let _ = std::fs::remove_file(dir.join("LOCK"));
}

/// A private copy of a fixture (opening a store writes to its directory).
fn copy_of_fixture(version: u32) -> tempfile::TempDir {
    static REGENERATE: Once = Once::new();
    let newest = VERSIONS[VERSIONS.len() - 1];
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        REGENERATE.call_once(|| write_fixture(&fixture_dir(newest)));
    }
    let copy = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(fixture_dir(version)).expect("the fixture folder exists") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("file name");
        std::fs::copy(&path, copy.path().join(name)).expect("copy fixture file");
    }
    copy
}

fn read_all(dir: &Path) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, Error> {
    read_all_with(dir, StoreOptions::default())
}

fn read_all_with(dir: &Path, options: StoreOptions) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, Error> {
    let store = Store::open(dir, options)?;
    let mut map = BTreeMap::new();
    for item in store.scan(..) {
        let (key, value) = item?;
        map.insert(key, value);
    }
    Ok(map)
}

#[test]
fn every_fixture_opens_and_reads_back_exactly() {
    for version in VERSIONS {
        let copy = copy_of_fixture(version);
        assert_eq!(
            files_with(copy.path(), ".sst").len(),
            1,
            "format {version}: one flushed table"
        );
        assert_eq!(
            read_all(copy.path()).expect("opens"),
            expected(),
            "format {version}"
        );
        // And it can be written to and reopened.
        let store = Store::open(copy.path(), StoreOptions::default()).expect("reopen");
        store.put(b"k999", b"new").expect("put");
        store.close().expect("close");
        let mut more = expected();
        more.insert(b"k999".to_vec(), b"new".to_vec());
        assert_eq!(read_all(copy.path()).expect("reopens"), more);
    }
}

/// One flipped byte in the middle of each file of the fixture: the damaged
/// file is named (or, for `CURRENT`, the manifest it can no longer name),
/// and no wrong data is ever returned.
#[test]
fn damage_to_any_fixture_file_is_reported_never_read() {
    for version in VERSIONS {
        flipped_bytes_are_reported(version);
    }
}

fn flipped_bytes_are_reported(version: u32) {
    let names: Vec<String> = std::fs::read_dir(fixture_dir(version))
        .expect("fixture")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.len() >= 4,
        "CURRENT, a manifest, a log and a table: {names:?}"
    );
    for name in names {
        let copy = copy_of_fixture(version);
        let path = copy.path().join(&name);
        let mut bytes = std::fs::read(&path).expect("read");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x5a;
        std::fs::write(&path, bytes).expect("write");
        match read_all(copy.path()) {
            Ok(map) => panic!("{name}: damaged, yet read {} keys", map.len()),
            Err(Error::Corruption { path, .. }) => {
                let named = path.to_string_lossy();
                assert!(
                    named.contains(&name) || name == "CURRENT",
                    "{name}: the error names {named}"
                );
            }
            Err(other) if name == "CURRENT" => {
                // A damaged CURRENT names a manifest that does not exist.
                assert!(other.to_string().contains("MANIFEST"), "CURRENT: {other}");
            }
            Err(other) => panic!("{name}: expected a corruption error, got {other:?}"),
        }
    }
}

/// The fixture's one log (its unflushed writes: 11 records).
fn fixture_log(dir: &Path) -> PathBuf {
    files_with(dir, ".log")
        .pop()
        .expect("the fixture has a log")
}

fn record_offsets(path: &Path) -> Vec<u64> {
    let mut reader = LogReader::open(path).expect("read log");
    let mut offsets = Vec::new();
    while let Some((offset, _)) = reader.next_record().expect("record") {
        offsets.push(offset);
    }
    offsets
}

fn cut(path: &Path, len: u64) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open");
    file.set_len(len).expect("truncate");
}

fn assert_log_loss_reported(dir: &Path, log: &Path, case: &str) {
    match read_all(dir) {
        Err(Error::Corruption { path, reason, .. }) => {
            assert_eq!(path, log, "{case}: {reason}");
            assert!(reason.contains("--accept-log-loss"), "{case}: {reason}");
        }
        other => panic!("{case}: expected corruption naming the log, got {other:?}"),
    }
}

#[test]
fn a_deleted_log_is_reported_by_name_in_every_format() {
    for version in VERSIONS {
        let copy = copy_of_fixture(version);
        let log = fixture_log(copy.path());
        std::fs::remove_file(&log).expect("delete");
        assert_log_loss_reported(copy.path(), &log, &format!("format {version}, deleted"));
    }
}

/// Format 2 records how many records each log made durable, so every loss
/// short of that is caught; the older copy of a log is its first records.
#[test]
fn a_format_2_log_emptied_cut_or_replaced_by_an_older_copy_is_reported_by_name() {
    let offsets = {
        let copy = copy_of_fixture(2);
        record_offsets(&fixture_log(copy.path()))
    };
    assert_eq!(offsets.len(), 11, "one batch and ten puts");
    let cases = [
        ("emptied", 0),
        ("older copy (cut at a record boundary)", offsets[5]),
        ("cut inside a record", offsets[5] + 9),
        ("cut inside the last record", offsets[10] + 3),
    ];
    for (case, len) in cases {
        let copy = copy_of_fixture(2);
        let log = fixture_log(copy.path());
        cut(&log, len);
        assert_log_loss_reported(copy.path(), &log, case);
    }
}

#[test]
fn point_in_time_recovery_of_a_format_2_fixture_keeps_the_records_before_the_loss() {
    let copy = copy_of_fixture(2);
    let log = fixture_log(copy.path());
    let offsets = record_offsets(&log);
    cut(&log, offsets[1]);
    let options = StoreOptions {
        log_recovery: LogRecovery::PointInTime,
        ..StoreOptions::default()
    };
    let store = Store::open(copy.path(), options).expect("point-in-time open");
    assert_eq!(store.recovery_report().records_lost(), 10);
    drop(store);
    // The batch (record 0) is there; the ten later puts (k200..k209) are not.
    let mut expected = expected();
    expected.retain(|key, _| key.as_slice() < b"k200".as_slice());
    assert_eq!(read_all(copy.path()).expect("reopens strictly"), expected);
}
