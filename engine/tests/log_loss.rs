//! A write-ahead log that lost committed records is caught at open: the
//! manifest tracks every log recovery needs and how much of each was made
//! durable, so a deleted, emptied, truncated or replaced log is corruption
//! naming it, while a torn tail left by a crash is still cut silently.
//! Point-in-time recovery opens what is left and says what was lost.
//!
//! ```text
//!   20 synced commits in 000004.log (not flushed), close: sealed at 20 records
//!   delete / empty / cut at record 12 / cut inside record 12 / older copy
//!     -> Corruption { path: .../000004.log }, nothing changed on disk
//!   LogRecovery::PointInTime -> opens with records 0..12, reports 8 lost,
//!     keeps 000004.log.lost
//! ```

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use isodb_engine::Error;
use isodb_engine::storage::log::LogReader;
use isodb_engine::storage::manifest::{read_current, read_manifest};
use isodb_engine::storage::{CrashKind, Durability, LogRecovery, Store, StoreOptions, WriteBatch};

use common::files_with;

const COMMITS: u32 = 20;

fn options() -> StoreOptions {
    StoreOptions {
        log_checkpoint_interval: Duration::ZERO,
        ..StoreOptions::default()
    }
}

fn point_in_time() -> StoreOptions {
    StoreOptions {
        log_recovery: LogRecovery::PointInTime,
        ..options()
    }
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:04}").into_bytes()
}

/// Commits `range`, one synced single-put batch (one log record) each.
fn commit(store: &Store, range: std::ops::Range<u32>) {
    for i in range {
        let mut batch = WriteBatch::new();
        batch.put(key(i), format!("value-{i}").as_bytes());
        store
            .write_with(batch, Durability::Sync)
            .expect("synced commit");
    }
}

/// A closed database whose [`COMMITS`] commits are all still in its log
/// (no flush): returns the log's path.
fn database_with_unflushed_commits(dir: &Path) -> PathBuf {
    let store = Store::open(dir, options()).expect("open");
    commit(&store, 0..COMMITS);
    store.close().expect("close");
    live_log(dir)
}

fn live_log(dir: &Path) -> PathBuf {
    files_with(dir, ".log").pop().expect("a log file")
}

/// The offset of every record of the log at `path`.
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
        .expect("open log");
    file.set_len(len).expect("truncate");
}

fn read_all(store: &Store) -> BTreeMap<Vec<u8>, Vec<u8>> {
    store.scan(..).map(|item| item.expect("scan")).collect()
}

/// Every file of `dir` with its contents, to prove a refused open changed
/// nothing.
fn snapshot_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files_with(dir, "")
        .into_iter()
        .filter(|p| !p.ends_with("LOCK"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect()
}

/// Opening fails with corruption naming `log`, says what to do, and
/// changes no file.
fn assert_refused_naming(dir: &Path, log: &Path, expected_text: &str) {
    let before = snapshot_of(dir);
    let error = Store::open(dir, options()).expect_err("the open must be refused");
    match &error {
        Error::Corruption { path, reason, .. } => {
            assert_eq!(path, log, "{error}");
            assert!(reason.contains(expected_text), "{reason}");
            assert!(reason.contains("--accept-log-loss"), "{reason}");
        }
        other => panic!(
            "expected corruption naming {}, got {other:?}",
            log.display()
        ),
    }
    assert_eq!(error.sqlstate(), "XX001");
    assert_eq!(snapshot_of(dir), before, "a refused open changed files");
}

#[test]
fn a_deleted_log_is_reported_by_name() {
    let dir = tempfile::tempdir().expect("dir");
    let log = database_with_unflushed_commits(dir.path());
    std::fs::remove_file(&log).expect("delete");
    assert_refused_naming(dir.path(), &log, "the log is missing");
}

#[test]
fn an_emptied_log_is_reported_by_name() {
    let dir = tempfile::tempdir().expect("dir");
    let log = database_with_unflushed_commits(dir.path());
    cut(&log, 0);
    assert_refused_naming(dir.path(), &log, "ends after 0 records");
}

#[test]
fn a_log_truncated_at_a_record_boundary_is_reported_by_name() {
    let dir = tempfile::tempdir().expect("dir");
    let log = database_with_unflushed_commits(dir.path());
    let offsets = record_offsets(&log);
    assert_eq!(offsets.len(), COMMITS as usize);
    cut(&log, offsets[12]);
    assert_refused_naming(dir.path(), &log, "ends after 12 records");
}

#[test]
fn a_log_truncated_inside_a_record_is_reported_by_name() {
    let dir = tempfile::tempdir().expect("dir");
    let log = database_with_unflushed_commits(dir.path());
    let offsets = record_offsets(&log);
    cut(&log, offsets[12] + 7);
    assert_refused_naming(dir.path(), &log, "ends after 12 records");
}

#[test]
fn a_log_replaced_by_an_older_copy_is_reported_by_name() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path(), options()).expect("open");
    commit(&store, 0..8);
    let log = live_log(dir.path());
    let older = std::fs::read(&log).expect("copy the log");
    commit(&store, 8..COMMITS);
    store.close().expect("close");
    std::fs::write(&log, older).expect("put the older copy back");
    assert_refused_naming(dir.path(), &log, "ends after 8 records");
}

#[test]
fn a_torn_tail_left_by_a_crash_is_still_cut_silently() {
    let dir = tempfile::tempdir().expect("dir");
    let opts = StoreOptions {
        log_checkpoint_interval: Duration::from_millis(5),
        ..options()
    };
    let store = Store::open(dir.path(), opts.clone()).expect("open");
    commit(&store, 0..COMMITS);
    // Let the flush thread record the synced extent in the manifest.
    std::thread::sleep(Duration::from_millis(100));
    let mut batch = WriteBatch::new();
    batch.put(b"unsynced", [7u8; 500]);
    store
        .write_with(batch, Durability::NoSync)
        .expect("unsynced commit");
    store.crash(CrashKind::Process).expect("crash");
    drop(store);
    // The crash cut the unsynced last record short.
    let log = live_log(dir.path());
    let offsets = record_offsets(&log);
    assert_eq!(offsets.len(), COMMITS as usize + 1);
    cut(&log, offsets[COMMITS as usize] + 100);

    let store = Store::open(dir.path(), opts).expect("a torn tail opens silently");
    assert!(store.recovery_report().is_clean());
    let data = read_all(&store);
    assert_eq!(data.len(), COMMITS as usize, "every synced commit is there");
    assert!(!data.contains_key(b"unsynced".as_slice()));
}

#[test]
fn after_a_crash_a_log_cut_below_its_recorded_synced_extent_is_reported() {
    let dir = tempfile::tempdir().expect("dir");
    let opts = StoreOptions {
        log_checkpoint_interval: Duration::from_millis(5),
        ..options()
    };
    let store = Store::open(dir.path(), opts.clone()).expect("open");
    commit(&store, 0..COMMITS);
    std::thread::sleep(Duration::from_millis(100));
    store.crash(CrashKind::PowerLoss).expect("crash");
    drop(store);
    let log = live_log(dir.path());
    let offsets = record_offsets(&log);
    cut(&log, offsets[5]);
    let error = Store::open(dir.path(), opts).expect_err("refused");
    assert!(
        matches!(&error, Error::Corruption { path, reason, .. }
            if *path == log && reason.contains(&format!("at least {COMMITS} records"))),
        "{error}"
    );
}

#[test]
fn every_log_is_sealed_at_its_switch_and_at_close_with_its_exact_record_count() {
    let dir = tempfile::tempdir().expect("dir");
    let opts = StoreOptions {
        memtable_size: 16 * 1024,
        ..options()
    };
    let store = Store::open(dir.path(), opts).expect("open");
    let commits = 2_000;
    commit(&store, 0..commits);
    store.close().expect("close");
    let manifest = read_current(dir.path())
        .expect("CURRENT")
        .expect("a manifest");
    let edits = read_manifest(dir.path(), manifest).expect("manifest");
    let added: Vec<u64> = edits.iter().flat_map(|e| e.new_logs.clone()).collect();
    let sealed: Vec<(u64, u64)> = edits
        .iter()
        .flat_map(|e| e.sealed_logs.iter().map(|m| (m.number, m.records)))
        .collect();
    assert!(added.len() > 3, "the memtable switched logs: {added:?}");
    assert_eq!(
        sealed.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        added,
        "every log added was sealed, in order"
    );
    assert_eq!(
        sealed.iter().map(|(_, r)| r).sum::<u64>(),
        u64::from(commits),
        "the sealed record counts add up to the commits"
    );
}

#[test]
fn point_in_time_recovery_opens_the_rest_and_says_how_many_records_were_lost() {
    let dir = tempfile::tempdir().expect("dir");
    let log = database_with_unflushed_commits(dir.path());
    let offsets = record_offsets(&log);
    cut(&log, offsets[12] + 7);

    let store = Store::open(dir.path(), point_in_time()).expect("point-in-time open");
    let report = store.recovery_report().clone();
    assert_eq!(report.records_lost(), u64::from(COMMITS - 12));
    assert_eq!(report.lost_logs.len(), 1);
    assert_eq!(report.lost_logs[0].path, log);
    assert_eq!(report.lost_logs[0].records_replayed, 12);
    assert!(report.lost_logs[0].exact);
    assert!(
        report.summary().contains("12 records replayed, 8 lost"),
        "{}",
        report.summary()
    );
    let data = read_all(&store);
    let expected: Vec<Vec<u8>> = (0..12).map(key).collect();
    assert_eq!(data.keys().cloned().collect::<Vec<_>>(), expected);
    let mut kept = log.clone().into_os_string();
    kept.push(".lost");
    assert_eq!(report.kept_files, vec![PathBuf::from(&kept)]);
    assert!(Path::new(&kept).exists(), "the damaged log is kept aside");
    commit(&store, 100..101);
    store.close().expect("close");

    // The recovered database is whole again: a strict open reads it.
    let store = Store::open(dir.path(), options()).expect("strict reopen");
    assert!(store.recovery_report().is_clean());
    assert_eq!(read_all(&store).len(), 13);
}

#[test]
fn point_in_time_recovery_of_a_deleted_log_loses_exactly_its_records() {
    let dir = tempfile::tempdir().expect("dir");
    let log = database_with_unflushed_commits(dir.path());
    std::fs::remove_file(&log).expect("delete");
    let store = Store::open(dir.path(), point_in_time()).expect("open");
    assert_eq!(store.recovery_report().records_lost(), u64::from(COMMITS));
    assert!(
        store.recovery_report().lost_logs[0]
            .problem
            .contains("missing")
    );
    assert!(read_all(&store).is_empty());
}

#[test]
fn flipped_bytes_in_a_log_are_still_corruption_and_point_in_time_stops_before_them() {
    let dir = tempfile::tempdir().expect("dir");
    let log = database_with_unflushed_commits(dir.path());
    let offsets = record_offsets(&log);
    let mut bytes = std::fs::read(&log).expect("read");
    bytes[offsets[15] as usize + 14] ^= 0x5a;
    std::fs::write(&log, bytes).expect("write");
    assert_refused_naming(dir.path(), &log, "damaged record");
    let store = Store::open(dir.path(), point_in_time()).expect("open");
    assert_eq!(read_all(&store).len(), 15);
    assert_eq!(store.recovery_report().records_lost(), 5);
}
