//! Garbage collection of old versions: space stays bounded under a workload
//! that keeps overwriting the same 100 rows, a long-running REPEATABLE READ
//! reader keeps exactly what it needs, and the space comes back once it ends.
//!
//! Phase 1: 100,000 overwrites (10,000 transactions of 10 rows) with a full
//! compaction every 20,000; after each compaction the table bytes are within
//! 4x one version of everything plus 32 KiB, and at no sample point do they
//! exceed 1 MiB (100,000 versions would be about 11 MiB).
//! Phase 2: a REPEATABLE READ transaction begins, then 50,000 more
//! overwrites with compactions; after every compaction it still reads the
//! values of its snapshot, and at the end a scan returns all 100 of them.
//! Phase 3: it commits, one compaction runs, and the space is back within
//! the phase-1 bound. Phase 4: 20,000 more overwrites and a compaction, also
//! within the bound. The byte figures are printed (`--nocapture`).

mod common;

use isodb_engine::storage::{Durability, StoreOptions};
use isodb_engine::txn::{Engine, EngineOptions, IsolationLevel, Keyspace};

const ROWS: u64 = 100;
const ROWS_PER_TXN: u64 = 10;
const TXNS_PER_PHASE: u64 = 10_000;
const COMPACT_EVERY: u64 = 2_000;
const VALUE_LEN: usize = 100;

fn key(row: u64) -> Vec<u8> {
    format!("row{row:03}").into_bytes()
}

/// The value row `row` gets from transaction `txn`: unique, VALUE_LEN bytes.
fn value(row: u64, txn: u64) -> Vec<u8> {
    let mut v = format!("row {row} written by transaction {txn} ").into_bytes();
    v.resize(VALUE_LEN, b'.');
    v
}

fn table_bytes(engine: &Engine) -> u64 {
    engine.store().stats().bytes_per_level.iter().sum()
}

struct Workload {
    engine: Engine,
    ks: Keyspace,
    /// Transaction that last wrote each row.
    current: Vec<u64>,
    next_txn: u64,
    /// Largest table bytes seen at any sample point.
    peak: u64,
}

impl Workload {
    /// Runs `count` overwrite transactions, calling `after_compaction` after
    /// each full compaction with the measured bytes.
    fn overwrite(&mut self, count: u64, mut after_compaction: impl FnMut(&Engine, u64)) {
        for _ in 0..count {
            let t = self.next_txn;
            self.next_txn += 1;
            let mut txn = self.engine.begin(IsolationLevel::ReadCommitted);
            for i in 0..ROWS_PER_TXN {
                let row = (t * ROWS_PER_TXN + i) % ROWS;
                txn.put(self.ks, &key(row), &value(row, t))
                    .expect("overwrite");
                self.current[row as usize] = t;
            }
            txn.commit().expect("commit");
            if t.is_multiple_of(100) {
                self.peak = self.peak.max(table_bytes(&self.engine));
            }
            if (t + 1).is_multiple_of(COMPACT_EVERY) {
                self.engine.store().compact().expect("compact");
                let bytes = table_bytes(&self.engine);
                self.peak = self.peak.max(bytes);
                after_compaction(&self.engine, bytes);
            }
        }
    }
}

#[test]
fn old_versions_are_collected_unless_a_snapshot_needs_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = EngineOptions {
        store: StoreOptions {
            durability: Durability::NoSync,
            memtable_size: 64 * 1024,
            target_file_size: 64 * 1024,
            // Large enough that every table stays in L1, the deepest level.
            level1_max_bytes: 64 << 20,
            ..StoreOptions::default()
        },
        lock_timeout: None,
    };
    let engine = Engine::open(dir.path(), options).expect("open");
    let ks = engine.keyspace("gc").expect("keyspace");
    // One version of everything, as stored: keyspace prefix + key, value, 8-byte trailer.
    let one_version = ROWS * (4 + key(0).len() as u64 + VALUE_LEN as u64 + 8);
    let bound = 4 * one_version + 32 * 1024;
    let started = std::time::Instant::now();
    let mut w = Workload {
        engine: engine.clone(),
        ks,
        current: vec![0; ROWS as usize],
        next_txn: 0,
        peak: 0,
    };

    // Phase 1: no long reader.
    let mut phase1 = Vec::new();
    w.overwrite(TXNS_PER_PHASE, |_, bytes| {
        phase1.push(bytes);
        assert!(
            bytes <= bound,
            "after a compaction the tables hold {bytes} bytes, bound {bound}"
        );
    });
    let phase1_peak = w.peak;
    eprintln!(
        "one version of everything: {one_version} bytes; bound after compaction: {bound} bytes\n\
         phase 1 ({} overwrites, no reader): bytes after each compaction {phase1:?}, peak at any sample {phase1_peak}",
        TXNS_PER_PHASE * ROWS_PER_TXN
    );
    assert!(
        phase1_peak <= 1 << 20,
        "space grew to {phase1_peak} bytes while overwriting 100 rows"
    );

    // Phase 2: a REPEATABLE READ transaction begins and reads nothing yet.
    let mut reader = engine.begin(IsolationLevel::RepeatableRead);
    let snapshot = w.current.clone();
    let mut phase2 = Vec::new();
    let mut probe = 0u64;
    w.overwrite(TXNS_PER_PHASE / 2, |_, bytes| {
        phase2.push(bytes);
        for _ in 0..10 {
            probe = (probe + 37) % ROWS;
            let got = reader.get(ks, &key(probe)).expect("old read");
            assert_eq!(
                got,
                Some(value(probe, snapshot[probe as usize])),
                "the long reader lost its version of row {probe} to compaction"
            );
        }
    });
    let rows: Vec<(Vec<u8>, Vec<u8>)> = reader
        .scan(ks, ..)
        .expect("scan")
        .map(|r| r.expect("row"))
        .collect();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = (0..ROWS)
        .map(|r| (key(r), value(r, snapshot[r as usize])))
        .collect();
    assert_eq!(rows.len(), expected.len());
    assert!(
        rows == expected,
        "the long reader's final scan does not return its snapshot"
    );
    eprintln!(
        "phase 2 ({} overwrites, a REPEATABLE READ reader open): bytes after each compaction {phase2:?}",
        TXNS_PER_PHASE / 2 * ROWS_PER_TXN
    );
    reader.commit().expect("reader commit");

    // Phase 3: the reader is gone; one compaction gives the space back.
    engine.store().compact().expect("compact");
    let after = table_bytes(&engine);
    let levels = engine.store().stats().tables_per_level;
    // Phase 4: one more round of overwrites, compacted.
    let mut phase4 = Vec::new();
    w.overwrite(COMPACT_EVERY, |_, bytes| phase4.push(bytes));
    eprintln!(
        "phase 3 (reader ended, one compaction): {after} bytes, tables per level {levels:?}\n\
         phase 4 ({} more overwrites, compacted): {phase4:?} bytes; total run {:?}",
        COMPACT_EVERY * ROWS_PER_TXN,
        started.elapsed()
    );
    let phase4_bytes = phase4.last().copied().unwrap_or(u64::MAX);
    assert!(
        phase4_bytes <= bound,
        "space did not come back after more overwrites: {phase4_bytes} bytes"
    );
    assert!(
        after <= bound,
        "space did not come back when the reader ended and a compaction ran: {after} bytes in tables {levels:?}, \
         bound {bound} (compact() does not rewrite the deepest level, so versions the reader pinned stay there \
         until new writes overlap them)"
    );
    // And the newest values are intact.
    let mut check = engine.begin(IsolationLevel::ReadCommitted);
    for r in 0..ROWS {
        assert_eq!(
            check.get(ks, &key(r)).expect("read"),
            Some(value(r, w.current[r as usize]))
        );
    }
    check.commit().expect("commit");
}
