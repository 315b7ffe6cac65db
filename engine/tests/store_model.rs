//! Model-based test of the store: random sequences of put, delete, batch,
//! get, scan (both directions), snapshot reads, flush, compaction and
//! close-and-reopen, checked after every step against a `BTreeMap`.
//!
//! Options are tiny (1 KiB memtables, 2 KiB tables, L0 trigger 2) so a few
//! hundred operations exercise flushes, multi-level compaction, trivial moves
//! and tombstone dropping, all under the same oracle.

use std::collections::BTreeMap;
use std::ops::Bound;

use isodb_engine::storage::{Snapshot, Store, StoreOptions, TableOptions, WriteBatch};
use proptest::prelude::*;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Clone, Debug)]
enum Op {
    Put(u8, u16),
    Delete(u8),
    Batch(Vec<(u8, Option<u16>)>),
    Get(u8),
    /// `ends`: 0 = forward, 1 = reverse, else its bits choose front or back per step.
    Scan {
        lo: Option<u8>,
        hi: Option<u8>,
        ends: u64,
    },
    TakeSnapshot,
    CheckSnapshot(usize),
    Flush,
    Compact,
    Reopen,
}

fn key(k: u8) -> Vec<u8> {
    // Variable lengths, so some keys are prefixes of others.
    format!("k{}", k).into_bytes()
}

fn value(v: u16) -> Vec<u8> {
    format!("value-{v}-{}", "x".repeat(usize::from(v % 40))).into_bytes()
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0u8..40;
    prop_oneof![
        6 => (k.clone(), any::<u16>()).prop_map(|(k, v)| Op::Put(k, v)),
        2 => k.clone().prop_map(Op::Delete),
        2 => prop::collection::vec((k.clone(), prop::option::of(any::<u16>())), 1..8).prop_map(Op::Batch),
        3 => k.clone().prop_map(Op::Get),
        3 => (prop::option::of(k.clone()), prop::option::of(k), prop_oneof![Just(0u64), Just(1u64), any::<u64>()])
            .prop_map(|(lo, hi, ends)| Op::Scan { lo, hi, ends }),
        1 => Just(Op::TakeSnapshot),
        1 => (0usize..4).prop_map(Op::CheckSnapshot),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

fn options() -> StoreOptions {
    StoreOptions {
        memtable_size: 1024,
        max_immutable_memtables: 1,
        block_cache_size: 16 * 1024,
        table: TableOptions {
            block_size: 256,
            restart_interval: 4,
            bloom_bits_per_key: 10,
        },
        target_file_size: 2048,
        level1_max_bytes: 4096,
        level_size_ratio: 2,
        l0_compaction_trigger: 2,
        l0_slowdown_trigger: 6,
        l0_stop_trigger: 10,
        ..StoreOptions::default()
    }
}

fn expected_scan(
    model: &Model,
    lo: Option<u8>,
    hi: Option<u8>,
    reverse: bool,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let lo = lo.map(key);
    let hi = hi.map(key);
    let range = (
        lo.as_ref()
            .map_or(Bound::Unbounded, |k| Bound::Included(k.clone())),
        hi.as_ref()
            .map_or(Bound::Unbounded, |k| Bound::Excluded(k.clone())),
    );
    if let (Some(l), Some(h)) = (&lo, &hi)
        && l >= h
    {
        return Vec::new();
    }
    let mut out: Vec<_> = model
        .range(range)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if reverse {
        out.reverse();
    }
    out
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Some(Store::open(dir.path(), options()).expect("open"));
    let mut model = Model::new();
    let mut snapshots: Vec<(Snapshot, Model)> = Vec::new();
    for (step, op) in ops.into_iter().enumerate() {
        let s = store.as_ref().expect("store is open");
        match op {
            Op::Put(k, v) => {
                s.put(&key(k), &value(v)).expect("put");
                model.insert(key(k), value(v));
            }
            Op::Delete(k) => {
                s.delete(&key(k)).expect("delete");
                model.remove(&key(k));
            }
            Op::Batch(ops) => {
                let mut batch = WriteBatch::new();
                for (k, v) in ops {
                    match v {
                        Some(v) => {
                            batch.put(key(k), value(v));
                            model.insert(key(k), value(v));
                        }
                        None => {
                            batch.delete(key(k));
                            model.remove(&key(k));
                        }
                    }
                }
                s.write(batch).expect("batch");
            }
            Op::Get(k) => {
                let got = s.get(&key(k)).expect("get");
                prop_assert_eq!(
                    got.as_ref(),
                    model.get(&key(k)),
                    "step {}: get k{}",
                    step,
                    k
                );
            }
            Op::Scan { lo, hi, ends } => {
                let lo_key = lo.map(key);
                let hi_key = hi.map(key);
                let range = (
                    lo_key.as_deref().map_or(Bound::Unbounded, Bound::Included),
                    hi_key.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
                );
                if matches!((&lo_key, &hi_key), (Some(l), Some(h)) if l > h) {
                    continue;
                }
                let mut scan = s.scan(range);
                let got: Vec<_> = match ends {
                    0 => scan.collect::<Result<_, _>>().expect("scan"),
                    1 => scan.rev().collect::<Result<_, _>>().expect("scan"),
                    bits => {
                        // Alternate ends as the bits say; once one end is done
                        // the other must be done too (the ends met).
                        let (mut front, mut back) = (Vec::new(), Vec::new());
                        for step in 0.. {
                            let from_back = bits >> (step % 64) & 1 == 1;
                            let item = if from_back {
                                scan.next_back()
                            } else {
                                scan.next()
                            };
                            match item {
                                Some(kv) if from_back => back.push(kv.expect("scan")),
                                Some(kv) => front.push(kv.expect("scan")),
                                None => {
                                    prop_assert!(
                                        scan.next().is_none() && scan.next_back().is_none(),
                                        "step {}: one end ended before the ends met",
                                        step
                                    );
                                    break;
                                }
                            }
                        }
                        back.reverse();
                        front.extend(back);
                        front
                    }
                };
                prop_assert_eq!(
                    got,
                    expected_scan(&model, lo, hi, ends == 1),
                    "step {}: scan",
                    step
                );
            }
            Op::TakeSnapshot => {
                if snapshots.len() < 4 {
                    snapshots.push((s.snapshot(), model.clone()));
                }
            }
            Op::CheckSnapshot(i) => {
                if let Some((snap, old)) = snapshots.get(i) {
                    let got: Vec<_> = s
                        .scan_at(.., snap.seq())
                        .collect::<Result<_, _>>()
                        .expect("scan");
                    let want: Vec<_> = old.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    prop_assert_eq!(got, want, "step {}: snapshot {} scan", step, i);
                    for (k, v) in old.iter().take(5) {
                        prop_assert_eq!(s.get_at(k, snap.seq()).expect("get"), Some(v.clone()));
                    }
                }
            }
            Op::Flush => s.flush().expect("flush"),
            Op::Compact => s.compact().expect("compact"),
            Op::Reopen => {
                snapshots.clear();
                store.take().expect("open").close().expect("close");
                store = Some(Store::open(dir.path(), options()).expect("reopen"));
            }
        }
    }
    // Final full check, forward and backward, after one more reopen.
    snapshots.clear();
    store.take().expect("open").close().expect("close");
    let s = Store::open(dir.path(), options()).expect("reopen");
    let got: Vec<_> = s.scan(..).collect::<Result<_, _>>().expect("scan");
    prop_assert_eq!(got, expected_scan(&model, None, None, false));
    let got: Vec<_> = s.scan(..).rev().collect::<Result<_, _>>().expect("scan");
    prop_assert_eq!(got, expected_scan(&model, None, None, true));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_btreemap_model(ops in prop::collection::vec(op(), 1..300)) {
        run(ops)?;
    }
}

#[test]
fn interleaved_scan_ends_meet_without_duplicates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), options()).expect("open");
    for round in 0..3u16 {
        for k in 0..40u8 {
            store
                .put(&key(k), &value(round * 100 + u16::from(k)))
                .expect("put");
        }
        store.flush().expect("flush");
    }
    for k in (0..40u8).step_by(3) {
        store.delete(&key(k)).expect("delete");
    }
    let want: Vec<Vec<u8>> = (0..40u8)
        .filter(|k| k % 3 != 0)
        .map(key)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for pattern in 1..5usize {
        let mut scan = store.scan(..);
        let (mut front, mut back) = (Vec::new(), Vec::new());
        for step in 0.. {
            let item = if step % pattern == 0 {
                scan.next_back().map(|r| (true, r))
            } else {
                scan.next().map(|r| (false, r))
            };
            match item {
                Some((is_back, r)) => {
                    let (k, _) = r.expect("scan");
                    if is_back { back.push(k) } else { front.push(k) }
                }
                None => {
                    // One end is done; drain the other.
                    for r in scan.by_ref() {
                        front.push(r.expect("scan").0);
                    }
                    break;
                }
            }
        }
        back.reverse();
        front.extend(back);
        assert_eq!(front, want, "pattern {pattern}");
    }
}

#[test]
fn compaction_keeps_versions_a_snapshot_needs_and_drops_the_rest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), options()).expect("open");
    store.put(b"k", b"old").expect("put");
    let snap = store.snapshot();
    for i in 0..200u32 {
        store.put(b"k", format!("new{i}").as_bytes()).expect("put");
        store
            .put(format!("filler{i}").as_bytes(), &[7u8; 64])
            .expect("put");
    }
    store.compact().expect("compact");
    assert_eq!(
        store.get_at(b"k", snap.seq()).expect("get"),
        Some(b"old".to_vec())
    );
    assert_eq!(store.get(b"k").expect("get"), Some(b"new199".to_vec()));
    drop(snap);
    store.compact().expect("compact");
    // With no snapshot left only the newest version of k survives.
    let versions = (0..=store.last_seq())
        .filter_map(|seq| store.get_version(b"k", seq).expect("get"))
        .map(|(seq, _, _)| seq)
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(
        versions.len(),
        1,
        "old versions of k must be garbage-collected: {versions:?}"
    );
}
