//! Damage beyond flipped bytes, on a database with data in tables and in
//! its log: a torn or zeroed manifest tail, swapped or copied table files, a
//! bad data block, and a path that is not a database. Each is caught by name
//! at open or at first read, never changes what reads return and never
//! deletes a file; `check_database` finds each, and `recover_database`
//! saves every key outside the damaged block.
//!
//! ```text
//!   rows 0..400     flushed: table A  (blocks of ~1 KiB, ~20 rows each)
//!   rows 400..800   flushed: table B
//!   log             rows 0..50 overwritten, 100..110 deleted, 800..820 added
//! ```

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use isodb_engine::Error;
use isodb_engine::storage::sstable::{BlockCache, Table};
use isodb_engine::storage::{
    CrashKind, Durability, Store, StoreOptions, TableOptions, WriteBatch, check_database,
    recover_database,
};

use common::damage::{contents, cut, flip_byte, manifest_records, swap, zero_from};
use common::files_with;

type Rows = BTreeMap<Vec<u8>, Vec<u8>>;

/// Small memtables and blocks, no background compaction unless a test
/// asks for it, no periodic log marks (so the last manifest record is known).
fn options() -> StoreOptions {
    StoreOptions {
        memtable_size: 256 << 10,
        table: TableOptions {
            block_size: 1024,
            ..TableOptions::default()
        },
        l0_compaction_trigger: 1000,
        l0_slowdown_trigger: 2000,
        l0_stop_trigger: 3000,
        log_checkpoint_interval: Duration::ZERO,
        durability: Durability::NoSync,
        ..StoreOptions::default()
    }
}

fn key(i: u32) -> Vec<u8> {
    format!("row{i:06}").into_bytes()
}

fn value(i: u32, version: &str) -> Vec<u8> {
    format!("{version}-{i}-{}", "x".repeat(30)).into_bytes()
}

fn put_rows(store: &Store, rows: &mut Rows, range: std::ops::Range<u32>, version: &str) {
    let mut batch = WriteBatch::new();
    for i in range {
        batch.put(key(i), value(i, version));
        rows.insert(key(i), value(i, version));
    }
    store.write(batch).expect("write");
}

/// Writes the database of the module docs; the caller ends the store.
/// `before_second_flush` runs just before table B's flush.
fn write_database(dir: &Path, before_second_flush: impl FnOnce(&Path)) -> (Store, Rows) {
    let store = Store::open(dir, options()).expect("open");
    let mut rows = Rows::new();
    put_rows(&store, &mut rows, 0..400, "table");
    store.flush().expect("flush A");
    put_rows(&store, &mut rows, 400..800, "table");
    before_second_flush(dir);
    store.flush().expect("flush B");
    put_rows(&store, &mut rows, 0..50, "log");
    let mut batch = WriteBatch::new();
    for i in 100..110 {
        batch.delete(key(i));
        rows.remove(&key(i));
    }
    store.write_with(batch, Durability::Sync).expect("delete");
    put_rows(&store, &mut rows, 800..820, "log");
    store.write_with(WriteBatch::new(), Durability::Sync).ok();
    (store, rows)
}

/// The database, closed normally.
fn closed_database(dir: &Path) -> Rows {
    let (store, rows) = write_database(dir, |_| {});
    store.close().expect("close");
    rows
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

fn recovered(
    source: &Path,
) -> (
    Rows,
    isodb_engine::storage::RecoverReport,
    tempfile::TempDir,
) {
    let target = tempfile::tempdir().expect("temp dir");
    let new = target.path().join("new");
    let report = recover_database(source, &new).expect("recover");
    let rows = read_all(&new).expect("the recovered database opens");
    (rows, report, target)
}

/// The two tables, A (rows 0..400) then B (rows 400..800).
fn tables(dir: &Path) -> (PathBuf, PathBuf) {
    let tables = files_with(dir, ".sst");
    assert_eq!(tables.len(), 2, "tables A and B: {tables:?}");
    (tables[0].clone(), tables[1].clone())
}

fn expect_corruption(result: Result<Rows, Error>, file: &Path, case: &str) -> String {
    match result {
        Err(Error::Corruption { path, reason, .. }) => {
            assert_eq!(path, file, "{case}: {reason}");
            reason
        }
        other => panic!("{case}: expected corruption naming {file:?}, got {other:?}"),
    }
}

/// The manifest's last record is table B's flush edit (the store crashes
/// after it, so no seal follows). Losing that edit — its last byte cut, the
/// record zeroed, the manifest cut in half — loses the fact that the log B
/// retired was deleted: the open refuses by name and changes nothing, and
/// recovery saves every row from the files that are there.
#[test]
fn a_manifest_that_lost_a_durable_edit_is_refused_by_name_and_nothing_is_deleted() {
    type Damage = fn(&Path, &[u64]);
    let cases: [(&str, Damage); 3] = [
        ("last byte cut", |m, _| {
            cut(m, std::fs::metadata(m).unwrap().len() - 1)
        }),
        ("last record zeroed", |m, records| {
            zero_from(m, *records.last().unwrap())
        }),
        ("cut in half", |m, _| {
            cut(m, std::fs::metadata(m).unwrap().len() / 2)
        }),
    ];
    for (case, damage) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, rows) = write_database(dir.path(), |_| {});
        store.crash(CrashKind::Process).expect("crash");
        drop(store);
        let (manifest, records) = manifest_records(dir.path());
        damage(&manifest, &records);
        let before = contents(dir.path());
        let reason = expect_corruption(read_all(dir.path()), &manifest, case);
        assert!(reason.contains("torn record"), "{case}: {reason}");
        assert!(reason.contains("isodb recover"), "{case}: {reason}");
        assert_eq!(
            contents(dir.path()),
            before,
            "{case}: the open changed files"
        );

        let report = check_database(dir.path()).expect("check");
        assert!(!report.is_healthy(), "{case}: {}", report.render());
        assert!(
            report.damage().any(|f| f.path == manifest),
            "{case}: {}",
            report.render()
        );
        let (saved, report, _new) = recovered(dir.path());
        assert_eq!(saved, rows, "{case}: {}", report.render());
        assert_eq!(
            contents(dir.path()),
            before,
            "{case}: recover changed files"
        );
    }
}

/// A torn last edit whose loss leaves a whole state (here: the log its flush
/// retired is still there, as after a crash while appending it) opens with
/// exactly the data written, and the table the lost edit named is kept
/// aside, by this open and every later one, rather than deleted.
#[test]
fn a_torn_manifest_with_a_whole_state_opens_and_keeps_the_table_it_does_not_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut saved_log = None;
    let (store, rows) = write_database(dir.path(), |dir| {
        let log = files_with(dir, ".log").pop().expect("the live log");
        saved_log = Some((log.clone(), std::fs::read(&log).expect("read log")));
    });
    store.crash(CrashKind::Process).expect("crash");
    drop(store);
    let (log, bytes) = saved_log.expect("log saved");
    assert!(!log.exists(), "table B's flush deleted the log it retired");
    let (_, table_b) = tables(dir.path());
    let (manifest, records) = manifest_records(dir.path());
    zero_from(&manifest, *records.last().expect("records"));
    // The log B's memtable was written to, as it was when B's edit was appended.
    std::fs::write(&log, bytes).expect("restore log");

    let store = Store::open(dir.path(), options()).expect("a whole state opens");
    let kept = store.recovery_report().kept_files.clone();
    let mut read = Rows::new();
    for item in store.scan(..) {
        let (k, v) = item.expect("read");
        read.insert(k, v);
    }
    store.close().expect("close");
    assert_eq!(read, rows);
    let mut kept_table = table_b.into_os_string();
    kept_table.push(".kept");
    let kept_table = PathBuf::from(kept_table);
    assert!(kept.contains(&kept_table), "kept: {kept:?}");
    assert!(
        kept.iter().any(|p| p.to_string_lossy().ends_with(".torn")),
        "kept: {kept:?}"
    );
    assert_eq!(read_all(dir.path()).expect("reopens"), rows);
    assert!(kept_table.exists(), "a later open deleted the kept table");
    let report = check_database(dir.path()).expect("check");
    assert!(report.is_healthy(), "{}", report.render());
    assert!(
        report.render().contains("kept aside"),
        "{}",
        report.render()
    );
}

/// Two table files swapped by name, or one replaced by a copy of the other:
/// the open names the file that is not the one the manifest names, reads
/// nothing from it and changes nothing. Recovery finds a swapped table's data
/// under its new name; a table overwritten by a copy is lost, and only its
/// key range is.
#[test]
fn swapped_or_copied_table_files_are_refused_by_name() {
    for case in ["swapped", "copied over"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let rows = closed_database(dir.path());
        let (a, b) = tables(dir.path());
        match case {
            "swapped" => swap(&a, &b),
            _ => {
                std::fs::copy(&a, &b).expect("copy");
            }
        }
        let before = contents(dir.path());
        match read_all(dir.path()) {
            Err(Error::Corruption { path, reason, .. }) => {
                assert!(path == a || path == b, "{case}: {path:?}");
                assert!(reason.contains("is not the table"), "{case}: {reason}");
            }
            other => panic!("{case}: expected corruption, got {other:?}"),
        }
        assert_eq!(
            contents(dir.path()),
            before,
            "{case}: the open changed files"
        );
        let report = check_database(dir.path()).expect("check");
        assert!(
            report
                .damage()
                .any(|f| f.path == b && f.what.contains("is not the table")),
            "{case}: {}",
            report.render()
        );
        let (saved, report, _new) = recovered(dir.path());
        if case == "swapped" {
            assert_eq!(saved, rows, "{}", report.render());
            assert!(report.is_complete(), "{}", report.render());
        } else {
            // B's rows (400..800) are gone unless the log rewrote them; the
            // rest is exact.
            assert_eq!(report.unsaved.len(), 1, "{}", report.render());
            let range = &report.unsaved[0];
            assert_eq!(range.lower, key(400));
            assert_eq!(range.upper, key(799));
            let mut expected = rows.clone();
            expected.retain(|k, _| !(key(400)..=key(799)).contains(k));
            assert_eq!(saved, expected, "{}", report.render());
        }
    }
}

/// Opens table `path` (number `n` is only a cache key here).
fn open_table(path: &Path) -> Table {
    Table::open(1, path.to_path_buf(), Arc::new(BlockCache::new(1 << 20))).expect("table opens")
}

/// One bad data block in table A: reads of its keys fail naming the file,
/// the block and its key range, and say what to do; every other read works;
/// compaction meets the block, marks the table damaged and goes on; writes
/// go on; check finds the block and recovery saves every row outside it.
#[test]
fn a_bad_block_is_corruption_of_its_table_and_writes_go_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rows = closed_database(dir.path());
    let (a, _) = tables(dir.path());
    let (block, offset, lower, upper) = {
        let table = open_table(&a);
        assert!(table.num_blocks() > 10, "{} blocks", table.num_blocks());
        let block = table.num_blocks() / 2;
        let (lower, upper) = table.block_bounds(block);
        let user = |k: &[u8]| k[..k.len() - 8].to_vec();
        (block, table.block_offset(block), user(lower), user(upper))
    };
    flip_byte(&a, offset + 20);
    let in_block: Vec<Vec<u8>> = rows
        .keys()
        .filter(|k| (lower.clone()..=upper.clone()).contains(k))
        .cloned()
        .collect();
    assert!(
        !in_block.is_empty() && in_block.len() < 40,
        "{}",
        in_block.len()
    );

    let store = Store::open(
        dir.path(),
        StoreOptions {
            l0_compaction_trigger: 2,
            l0_slowdown_trigger: 6,
            l0_stop_trigger: 8,
            memtable_size: 32 << 10,
            ..options()
        },
    )
    .expect("a damaged data block does not stop the open");
    // Rows 0..50 were rewritten in the log; pick a damaged row that was not
    // (`lower`, the previous block's separator, is the previous block's last).
    let damaged_key = in_block
        .iter()
        .find(|k| k.as_slice() >= key(50).as_slice() && **k > lower)
        .expect("a row of the block outside the log");
    match store.get(damaged_key) {
        Err(Error::Corruption {
            path,
            offset: at,
            reason,
        }) => {
            assert_eq!(path, a);
            assert_eq!(at, offset);
            assert!(
                reason.contains(&format!("data block {block} of")),
                "{reason}"
            );
            let shown = String::from_utf8_lossy(&lower).into_owned();
            assert!(reason.contains(&shown), "{reason}");
            assert!(reason.contains("isodb recover"), "{reason}");
        }
        other => panic!("expected corruption of the block, got {other:?}"),
    }
    for (k, v) in rows.iter().filter(|(k, _)| !in_block.contains(k)) {
        assert_eq!(store.get(k).expect("other keys read").as_ref(), Some(v));
    }
    // Enough writes elsewhere for many flushes and compactions, past the
    // stop trigger: none fails.
    let mut other = Rows::new();
    for round in 0..30u32 {
        let mut batch = WriteBatch::new();
        for i in 0..400u32 {
            let k = format!("zother{round:03}-{i:04}").into_bytes();
            batch.put(&k, value(i, "other"));
            other.insert(k, value(i, "other"));
        }
        store.write(batch).expect("writes go on");
    }
    store.flush().expect("flush");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while store.damaged_tables().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let damaged = store.damaged_tables();
    assert_eq!(damaged.len(), 1, "{damaged:?}");
    assert!(
        damaged[0].1.contains(&a.display().to_string()),
        "{damaged:?}"
    );
    store
        .put(b"zz-after", b"still writable")
        .expect("writes go on");
    for (k, v) in &other {
        assert_eq!(store.get(k).expect("read").as_ref(), Some(v));
    }
    store.close().expect("close");

    let report = check_database(dir.path()).expect("check");
    let damage: Vec<_> = report.damage().collect();
    assert_eq!(damage.len(), 1, "{}", report.render());
    assert_eq!(damage[0].path, a);
    assert!(
        damage[0].what.contains(&format!("data block {block} of")),
        "{}",
        report.render()
    );

    let (saved, report, _new) = recovered(dir.path());
    assert_eq!(report.unsaved.len(), 1, "{}", report.render());
    assert_eq!(report.unsaved[0].lower, lower);
    assert_eq!(report.unsaved[0].upper, upper);
    let mut expected = rows.clone();
    expected.extend(other);
    expected.insert(b"zz-after".to_vec(), b"still writable".to_vec());
    expected.retain(|k, _| !(lower.clone()..=upper.clone()).contains(k));
    assert_eq!(saved, expected, "{}", report.render());
}

/// A directory that is not a database, or a file, is refused and nothing is
/// created in it: no `LOCK`, no log, no manifest; check and recover refuse
/// it too, and recover creates no target.
#[test]
fn opening_a_path_that_is_not_a_database_creates_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("notes.txt"), b"mine").expect("write");
    std::fs::create_dir(dir.path().join("photos")).expect("mkdir");
    let file = dir.path().join("notes.txt");
    let names = |d: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(d)
            .expect("read dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = names(dir.path());
    for path in [dir.path(), file.as_path()] {
        match Store::open(path, StoreOptions::default()) {
            Err(Error::NotADatabase { .. }) => {}
            other => panic!("{path:?}: expected NotADatabase, got {other:?}"),
        }
        assert!(check_database(path).is_err(), "{path:?}");
        let target = dir.path().join("photos/new");
        assert!(recover_database(path, &target).is_err(), "{path:?}");
        assert!(!target.exists(), "{path:?}: recover created its target");
        assert_eq!(names(dir.path()), before, "{path:?}");
    }
    assert!(names(&dir.path().join("photos")).is_empty());
}

/// Recovery never writes into an existing directory that holds anything,
/// a database least of all.
#[test]
fn recover_refuses_a_target_that_is_not_new() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = dir.path().join("source");
    let rows = closed_database(&source);
    let existing = dir.path().join("existing");
    let store = Store::open(&existing, options()).expect("open");
    store.put(b"mine", b"keep").expect("put");
    store.close().expect("close");
    let before = contents(&existing);
    match recover_database(&source, &existing) {
        Err(Error::InvalidArgument(reason)) => {
            assert!(reason.contains("already exists"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(contents(&existing), before);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let report = recover_database(&source, &empty).expect("an empty directory will do");
    assert!(report.is_complete(), "{}", report.render());
    assert_eq!(read_all(&empty).expect("opens"), rows);
}

/// When every new table overlaps the damaged one, level 0 cannot drain: once
/// it is full, writes fail with the damaged table's name and what to do —
/// not a poisoned store — and reads go on.
#[test]
fn writes_stop_with_the_damaged_table_named_only_when_level_zero_cannot_drain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rows = closed_database(dir.path());
    let (a, _) = tables(dir.path());
    let offset = {
        let table = open_table(&a);
        table.block_offset(table.num_blocks() / 2)
    };
    flip_byte(&a, offset + 20);
    let store = Store::open(
        dir.path(),
        StoreOptions {
            l0_compaction_trigger: 2,
            l0_slowdown_trigger: 3,
            l0_stop_trigger: 4,
            memtable_size: 16 << 10,
            ..options()
        },
    )
    .expect("opens");
    // Rewrite rows of table A's range over and over: every flushed table
    // overlaps A, so no level-0 compaction can avoid it.
    let mut failure = None;
    for round in 0..200u32 {
        let mut batch = WriteBatch::new();
        for i in (0..400).step_by(4) {
            batch.put(key(i), value(i, &format!("round{round}")));
        }
        if let Err(error) = store.write(batch) {
            failure = Some(error);
            break;
        }
    }
    match failure {
        Some(Error::Corruption { path, reason, .. }) => {
            assert_eq!(path, a, "{reason}");
            assert!(reason.contains("writes stop"), "{reason}");
            assert!(reason.contains("isodb recover"), "{reason}");
        }
        other => panic!("expected writes to stop naming the damaged table, got {other:?}"),
    }
    assert!(store.stats().tables_per_level[0] >= 4);
    // Reads go on: a row of table B.
    assert_eq!(
        store.get(&key(500)).expect("reads go on").as_ref(),
        rows.get(&key(500))
    );
    store.close().expect("close");
}
