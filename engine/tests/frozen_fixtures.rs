//! Frozen fixtures: a small database directory written by format version 1
//! of every on-disk structure (log, table, manifest, CURRENT), kept in git
//! under `tests/fixtures/format-v1/`. Every future build must open it and
//! read exactly the data below — a format change that breaks old files fails
//! here — and must report damage to any of its files by name, never read it.
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
//! writes it again; do that only for a new format version, in a new folder.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Once;

use isodb_engine::Error;
use isodb_engine::storage::{Store, StoreOptions, WriteBatch};

use common::files_with;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-v1")
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

/// A private copy of the fixture (opening a store writes to its directory).
fn copy_of_fixture() -> tempfile::TempDir {
    static REGENERATE: Once = Once::new();
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        REGENERATE.call_once(|| write_fixture(&fixture_dir()));
    }
    let copy = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(fixture_dir()).expect("the fixture folder exists") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("file name");
        std::fs::copy(&path, copy.path().join(name)).expect("copy fixture file");
    }
    copy
}

fn read_all(dir: &Path) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, Error> {
    let store = Store::open(dir, StoreOptions::default())?;
    let mut map = BTreeMap::new();
    for item in store.scan(..) {
        let (key, value) = item?;
        map.insert(key, value);
    }
    Ok(map)
}

#[test]
fn the_version_1_fixture_opens_and_reads_back_exactly() {
    let copy = copy_of_fixture();
    assert_eq!(
        files_with(copy.path(), ".sst").len(),
        1,
        "one flushed table"
    );
    assert_eq!(read_all(copy.path()).expect("opens"), expected());
    // And it can be written to and reopened.
    let store = Store::open(copy.path(), StoreOptions::default()).expect("reopen");
    store.put(b"k999", b"new").expect("put");
    store.close().expect("close");
    let mut more = expected();
    more.insert(b"k999".to_vec(), b"new".to_vec());
    assert_eq!(read_all(copy.path()).expect("reopens"), more);
}

/// One flipped byte in the middle of each file of the fixture: the damaged
/// file is named (or, for `CURRENT`, the manifest it can no longer name),
/// and no wrong data is ever returned.
#[test]
fn damage_to_any_fixture_file_is_reported_never_read() {
    let names: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("fixture")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.len() >= 4,
        "CURRENT, a manifest, a log and a table: {names:?}"
    );
    for name in names {
        let copy = copy_of_fixture();
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
