//! Frozen-fixture corruption tests beyond flipped bytes: a small format-2
//! database with three tables and unflushed commits in its log, kept in git
//! under `tests/fixtures/format-v2-tables/`, damaged the ways a hostile
//! tester would: the manifest's tail cut or zeroed, the manifest cut in half,
//! two tables swapped, a table replaced by a copy of another, one bad data
//! block. Each is caught by name at open or at first read (or, when nothing
//! was lost, opens with exactly the data written), never deletes a file;
//! `check_database` finds each and `recover_database` saves every row
//! outside what was destroyed.
//!
//! ```text
//!   table 1   a000..a099 = "t1-<i>"      (blocks of ~256 bytes)
//!   table 2   b000..b099 = "t2-<i>"
//!   table 3   c000..c099 = "t3-<i>"
//!   log       a000..a009 = "log-<i>", b050..b059 deleted, d000..d009 = "log-<i>"
//!   manifest  ... flush edits of tables 1-3, then the log's seal at close
//! ```
//!
//! `UPDATE_FIXTURES=1 cargo test -p isodb-engine --test frozen_fixture_damage`
//! writes the fixture again (only for a new format version).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::Duration;

use isodb_engine::Error;
use isodb_engine::storage::sstable::{BlockCache, Table};
use isodb_engine::storage::{
    Store, StoreOptions, TableOptions, WriteBatch, check_database, recover_database,
};

use common::damage::{contents, cut, flip_byte, manifest_records, swap, zero_from};
use common::files_with;

type Rows = BTreeMap<Vec<u8>, Vec<u8>>;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-v2-tables")
}

fn options() -> StoreOptions {
    StoreOptions {
        table: TableOptions {
            block_size: 256,
            ..TableOptions::default()
        },
        l0_compaction_trigger: 100,
        l0_slowdown_trigger: 200,
        l0_stop_trigger: 300,
        log_checkpoint_interval: Duration::ZERO,
        ..StoreOptions::default()
    }
}

fn expected() -> Rows {
    let mut rows = Rows::new();
    for (prefix, table) in [("a", "t1"), ("b", "t2"), ("c", "t3")] {
        for i in 0..100 {
            rows.insert(
                format!("{prefix}{i:03}").into_bytes(),
                format!("{table}-{i}").into_bytes(),
            );
        }
    }
    for i in 0..10 {
        rows.insert(
            format!("a{i:03}").into_bytes(),
            format!("log-{i}").into_bytes(),
        );
        rows.insert(
            format!("d{i:03}").into_bytes(),
            format!("log-{i}").into_bytes(),
        );
    }
    for i in 50..60 {
        rows.remove(format!("b{i:03}").as_bytes());
    }
    rows
}

fn write_fixture(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let store = Store::open(dir, options()).expect("create fixture");
    for (prefix, table) in [("a", "t1"), ("b", "t2"), ("c", "t3")] {
        let mut batch = WriteBatch::new();
        for i in 0..100 {
            batch.put(format!("{prefix}{i:03}"), format!("{table}-{i}"));
        }
        store.write(batch).expect("write");
        store.flush().expect("flush");
    }
    for i in 0..10 {
        store
            .put(format!("a{i:03}").as_bytes(), format!("log-{i}").as_bytes())
            .expect("put");
    }
    let mut batch = WriteBatch::new();
    for i in 50..60 {
        batch.delete(format!("b{i:03}"));
    }
    store.write(batch).expect("delete");
    for i in 0..10 {
        store
            .put(format!("d{i:03}").as_bytes(), format!("log-{i}").as_bytes())
            .expect("put");
    }
    store.close().expect("close");
    let _ = std::fs::remove_file(dir.join("LOCK"));
}

/// A private copy of the fixture.
fn copy_of_fixture() -> tempfile::TempDir {
    static REGENERATE: Once = Once::new();
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        REGENERATE.call_once(|| write_fixture(&fixture_dir()));
    }
    let copy = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(fixture_dir()).expect("the fixture folder exists") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, copy.path().join(path.file_name().expect("name"))).expect("copy");
    }
    copy
}

fn read_all(dir: &Path) -> Result<Rows, Error> {
    let store = Store::open(dir, options())?;
    let mut rows = Rows::new();
    for item in store.scan(..) {
        let (k, v) = item?;
        rows.insert(k, v);
    }
    store.close()?;
    Ok(rows)
}

fn recovered(dir: &Path) -> (Rows, isodb_engine::storage::RecoverReport) {
    let target = tempfile::tempdir().expect("temp dir");
    let new = target.path().join("new");
    let report = recover_database(dir, &new).expect("recover");
    (read_all(&new).expect("the new database opens"), report)
}

fn tables(dir: &Path) -> Vec<PathBuf> {
    let tables = files_with(dir, ".sst");
    assert_eq!(tables.len(), 3, "{tables:?}");
    tables
}

#[test]
fn the_fixture_opens_and_reads_back_exactly() {
    let copy = copy_of_fixture();
    assert_eq!(read_all(copy.path()).expect("opens"), expected());
    let report = check_database(copy.path()).expect("check");
    assert!(report.is_healthy(), "{}", report.render());
}

/// The manifest's last record is the log's seal at close. Losing it (last
/// byte cut, record zeroed) loses nothing else: the open reads exactly the
/// fixture and deletes no file. Cut in half, the manifest ends before the
/// flushes that deleted logs: refused by name, nothing changed, and
/// recovery saves every row from the files that are there.
#[test]
fn a_fixture_manifest_cut_or_zeroed_is_read_exactly_or_refused_by_name() {
    for case in ["last byte cut", "last record zeroed"] {
        let copy = copy_of_fixture();
        let (manifest, records) = manifest_records(copy.path());
        if case == "last byte cut" {
            cut(&manifest, std::fs::metadata(&manifest).unwrap().len() - 1);
        } else {
            zero_from(&manifest, *records.last().unwrap());
        }
        let tables_before = files_with(copy.path(), ".sst");
        let report = check_database(copy.path()).expect("check");
        assert!(report.is_healthy(), "{case}: {}", report.render());
        assert!(
            report.render().contains("torn record"),
            "{case}: {}",
            report.render()
        );
        assert_eq!(read_all(copy.path()).expect("opens"), expected(), "{case}");
        // The open flushed the log to a new table; it deleted none.
        let after = files_with(copy.path(), ".sst");
        assert!(
            tables_before.iter().all(|t| after.contains(t)),
            "{case}: {after:?}"
        );
    }

    let copy = copy_of_fixture();
    let (manifest, _) = manifest_records(copy.path());
    cut(&manifest, std::fs::metadata(&manifest).unwrap().len() / 2);
    let before = contents(copy.path());
    match read_all(copy.path()) {
        Err(Error::Corruption { path, reason, .. }) => {
            assert_eq!(path, manifest, "{reason}");
            assert!(reason.contains("torn record"), "{reason}");
        }
        other => panic!("cut in half: expected corruption naming the manifest, got {other:?}"),
    }
    assert_eq!(contents(copy.path()), before, "the open changed files");
    let report = check_database(copy.path()).expect("check");
    assert!(
        report.damage().any(|f| f.path == manifest),
        "{}",
        report.render()
    );
    let (saved, report) = recovered(copy.path());
    assert_eq!(saved, expected(), "{}", report.render());
}

#[test]
fn swapped_fixture_tables_are_refused_by_name_and_recovered_whole() {
    let copy = copy_of_fixture();
    let tables = tables(copy.path());
    swap(&tables[0], &tables[1]);
    let before = contents(copy.path());
    match read_all(copy.path()) {
        Err(Error::Corruption { path, reason, .. }) => {
            assert!(path == tables[0] || path == tables[1], "{path:?}");
            assert!(reason.contains("is not the table"), "{reason}");
        }
        other => panic!("expected corruption naming a swapped table, got {other:?}"),
    }
    assert_eq!(contents(copy.path()), before);
    let report = check_database(copy.path()).expect("check");
    assert_eq!(report.damage().count(), 2, "{}", report.render());
    let (saved, report) = recovered(copy.path());
    assert_eq!(saved, expected(), "{}", report.render());
    assert!(report.is_complete(), "{}", report.render());
}

#[test]
fn a_fixture_table_replaced_by_a_copy_of_another_is_refused_by_name() {
    let copy = copy_of_fixture();
    let tables = tables(copy.path());
    std::fs::copy(&tables[0], &tables[2]).expect("copy table 1 over table 3");
    let before = contents(copy.path());
    match read_all(copy.path()) {
        Err(Error::Corruption { path, reason, .. }) => {
            assert_eq!(path, tables[2], "{reason}");
            assert!(reason.contains("is not the table"), "{reason}");
        }
        other => panic!("expected corruption naming table 3, got {other:?}"),
    }
    assert_eq!(contents(copy.path()), before);
    let report = check_database(copy.path()).expect("check");
    assert!(
        report.damage().any(|f| f.path == tables[2]),
        "{}",
        report.render()
    );
    // Table 3's rows (c000..c099) are lost; everything else is saved.
    let (saved, report) = recovered(copy.path());
    let mut rows = expected();
    rows.retain(|k, _| !k.starts_with(b"c"));
    assert_eq!(saved, rows, "{}", report.render());
    assert_eq!(report.unsaved.len(), 1, "{}", report.render());
}

#[test]
fn a_bad_block_in_a_fixture_table_is_reported_at_first_read_and_recovered_around() {
    let copy = copy_of_fixture();
    let tables = tables(copy.path());
    let (block, offset, lower, upper) = {
        let table = Table::open(2, tables[1].clone(), Arc::new(BlockCache::new(1 << 20)))
            .expect("table 2 opens");
        assert!(table.num_blocks() >= 4, "{} blocks", table.num_blocks());
        let block = table.num_blocks() / 2;
        let (lower, upper) = table.block_bounds(block);
        let user = |k: &[u8]| k[..k.len() - 8].to_vec();
        (block, table.block_offset(block), user(lower), user(upper))
    };
    flip_byte(&tables[1], offset + 10);
    let in_range = |k: &Vec<u8>| (lower.clone()..=upper.clone()).contains(k);

    let store = Store::open(copy.path(), options()).expect("opens");
    for (k, v) in expected().iter().filter(|(k, _)| !in_range(k)) {
        assert_eq!(store.get(k).expect("other rows read").as_ref(), Some(v));
    }
    let damaged = expected()
        .keys()
        .find(|k| in_range(k) && **k > lower)
        .cloned()
        .expect("a row in the block");
    match store.get(&damaged) {
        Err(Error::Corruption { path, reason, .. }) => {
            assert_eq!(path, tables[1]);
            assert!(
                reason.contains(&format!("data block {block} of")),
                "{reason}"
            );
            assert!(reason.contains("isodb check"), "{reason}");
        }
        other => panic!("expected corruption of the block, got {other:?}"),
    }
    store.put(b"e000", b"new").expect("writes go on");
    store.close().expect("close");

    let report = check_database(copy.path()).expect("check");
    assert_eq!(report.damage().count(), 1, "{}", report.render());
    let (saved, report) = recovered(copy.path());
    let mut rows = expected();
    rows.insert(b"e000".to_vec(), b"new".to_vec());
    rows.retain(|k, _| !in_range(k));
    assert_eq!(saved, rows, "{}", report.render());
}
