//! Crash test with real processes: a child writes synced batches and records
//! each one it was told is committed; the parent kills it with SIGKILL at a
//! random moment, reopens the store and checks that every acknowledged batch
//! is there whole and that no batch is there in part.
//!
//! Batch `i` writes `count(i)` keys `b{i}/{j}` with values derived from `i`,
//! plus the key `last` = `i`. Tiny memtables and tables make flushes,
//! compactions and manifest edits frequent, so kills land inside them too.
//!
//! `ISODB_CRASH_CYCLES` sets the number of kill cycles (default 30).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use isodb_engine::storage::{Durability, Store, StoreOptions, TableOptions, WriteBatch};

const CHILD_ENV: &str = "ISODB_CRASH_CHILD_DIR";

fn options() -> StoreOptions {
    StoreOptions {
        durability: Durability::Sync,
        memtable_size: 16 * 1024,
        max_immutable_memtables: 1,
        table: TableOptions {
            block_size: 512,
            ..TableOptions::default()
        },
        target_file_size: 16 * 1024,
        level1_max_bytes: 64 * 1024,
        level_size_ratio: 4,
        l0_compaction_trigger: 2,
        ..StoreOptions::default()
    }
}

fn count(i: u64) -> u64 {
    1 + (i * 2_654_435_761 % 13)
}

fn batch_key(i: u64, j: u64) -> Vec<u8> {
    format!("b{i:08}/{j:02}").into_bytes()
}

fn batch_value(i: u64, j: u64) -> Vec<u8> {
    format!(
        "value of batch {i} entry {j} {}",
        "#".repeat((i % 50) as usize)
    )
    .into_bytes()
}

/// The child: append batches forever, acknowledging each after `write` returns.
fn child(dir: &Path) {
    let store = Store::open(dir.join("db"), options()).expect("child open");
    let ack_path = dir.join("acks");
    let start = std::fs::read_to_string(&ack_path)
        .map(|s| {
            s.lines()
                .filter_map(|l| l.parse::<u64>().ok())
                .max()
                .map_or(0, |m| m + 1)
        })
        .unwrap_or(0);
    let mut acks = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&ack_path)
        .expect("ack file");
    for i in start.. {
        let mut batch = WriteBatch::new();
        for j in 0..count(i) {
            batch.put(batch_key(i, j), batch_value(i, j));
        }
        batch.put(b"last", i.to_string());
        store.write(batch).expect("child write");
        // A process kill does not lose what was written to the page cache.
        // One write call per line: `writeln!` may split number and newline
        // into two syscalls, and a kill between them would glue two lines.
        acks.write_all(format!("{i}\n").as_bytes()).expect("ack");
    }
}

#[test]
fn crash_child_entry_point() {
    // Runs only as the child of `acknowledged_batches_survive_sigkill`.
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&PathBuf::from(dir));
    }
}

fn check(dir: &Path, cycle: usize) -> u64 {
    // Only whole lines count: a line without its newline was cut by the kill.
    let acked: Vec<u64> = std::fs::read_to_string(dir.join("acks"))
        .unwrap_or_default()
        .split_inclusive('\n')
        .filter_map(|l| l.strip_suffix('\n')?.parse().ok())
        .collect();
    let store = Store::open(dir.join("db"), options())
        .unwrap_or_else(|e| panic!("cycle {cycle}: reopen after kill failed: {e}"));
    let max_acked = acked.iter().copied().max();
    for &i in &acked {
        for j in 0..count(i) {
            let got = store.get(&batch_key(i, j)).expect("get");
            assert_eq!(
                got,
                Some(batch_value(i, j)),
                "cycle {cycle}: acknowledged batch {i} lost entry {j}"
            );
        }
    }
    // No batch may be there in part: scan everything and group by batch.
    let mut present: std::collections::BTreeMap<u64, u64> = Default::default();
    for kv in store.scan(..) {
        let (k, v) = kv.expect("scan");
        if k == b"last" {
            continue;
        }
        let text = String::from_utf8(k).expect("utf8 key");
        let (i, j) = text[1..].split_once('/').expect("batch key");
        let (i, j): (u64, u64) = (i.parse().expect("i"), j.parse().expect("j"));
        assert_eq!(
            v,
            batch_value(i, j),
            "cycle {cycle}: wrong value in batch {i}"
        );
        *present.entry(i).or_default() += 1;
    }
    for (&i, &n) in &present {
        assert_eq!(
            n,
            count(i),
            "cycle {cycle}: batch {i} is there in part ({n} of {})",
            count(i)
        );
    }
    // Only the single batch in flight at the kill may exist unacknowledged.
    let next = max_acked.map_or(0, |m| m + 1);
    for &i in present.keys() {
        assert!(
            i <= next,
            "cycle {cycle}: batch {i} exists but batch {next} was never started"
        );
    }
    let last: Option<u64> = store
        .get(b"last")
        .expect("get")
        .map(|v| String::from_utf8(v).expect("utf8").parse().expect("number"));
    if let Some(m) = max_acked {
        assert!(
            last.is_some_and(|l| l >= m),
            "cycle {cycle}: `last` went backwards"
        );
    }
    store.close().expect("close");
    acked.len() as u64
}

#[test]
fn acknowledged_batches_survive_sigkill() {
    let cycles: usize = std::env::var("ISODB_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("test binary");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut total_acked = 0;
    for cycle in 0..cycles {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child_entry_point",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(20 + seed % 180);
        let started = Instant::now();
        std::thread::sleep(delay);
        child.kill().expect("SIGKILL child");
        child.wait().expect("reap child");
        let acked = check(dir.path(), cycle);
        eprintln!(
            "crash cycle {cycle:>3}: killed after {:>4} ms, {acked} batches acknowledged so far",
            started.elapsed().as_millis()
        );
        total_acked = acked;
    }
    assert!(
        total_acked > 0,
        "the child never acknowledged a batch: the test proved nothing"
    );
}
