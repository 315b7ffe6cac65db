//! Transaction scans over every kind of range: a scan returns exactly the
//! rows of the transaction's view (committed snapshot, its own writes laid
//! over it, and at READ UNCOMMITTED others' uncommitted writes) that fall in
//! the range — forwards, backwards and from both ends at once — and an empty
//! or inverted range returns nothing (it must not panic).
//!
//! The view: committed rows a, c, m, x; the transaction updates c, inserts d
//! and deletes x; another open transaction inserts n (seen only at READ
//! UNCOMMITTED). Bounds: every combination of Included/Excluded/Unbounded
//! over the keys "", c, d, m, n, x, z at both ends.

mod common;

use std::collections::BTreeMap;
use std::ops::Bound::{self, Excluded, Included, Unbounded};
use std::panic::{AssertUnwindSafe, catch_unwind};

use isodb_engine::txn::IsolationLevel;

type Row = (Vec<u8>, Vec<u8>);

fn in_range(key: &[u8], lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> bool {
    let above = match lo {
        Included(l) => key >= l,
        Excluded(l) => key > l,
        Unbounded => true,
    };
    let below = match hi {
        Included(h) => key <= h,
        Excluded(h) => key < h,
        Unbounded => true,
    };
    above && below
}

fn show(b: Bound<&[u8]>) -> String {
    match b {
        Included(k) => format!("Included({:?})", String::from_utf8_lossy(k)),
        Excluded(k) => format!("Excluded({:?})", String::from_utf8_lossy(k)),
        Unbounded => "Unbounded".into(),
    }
}

fn bounds() -> Vec<Bound<&'static [u8]>> {
    let keys: [&'static [u8]; 7] = [b"", b"c", b"d", b"m", b"n", b"x", b"z"];
    let mut out = vec![Unbounded];
    for k in keys {
        out.push(Included(k));
        out.push(Excluded(k));
    }
    out
}

#[test]
fn scans_return_exactly_the_rows_in_range_for_every_bound() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = common::open_fast(dir.path());
    let ks = engine.keyspace("bounds").expect("keyspace");
    let mut load = engine.begin(IsolationLevel::Serializable);
    for k in [&b"a"[..], b"c", b"m", b"x"] {
        load.put(ks, k, b"committed").expect("load");
    }
    load.commit().expect("load commit");
    let mut failures = Vec::new();
    for level in IsolationLevel::ALL {
        let mut other = engine.begin(IsolationLevel::ReadCommitted);
        other.put(ks, b"n", b"uncommitted").expect("other insert");
        let mut txn = engine.begin(level);
        txn.put(ks, b"c", b"own update").expect("update");
        txn.put(ks, b"d", b"own insert").expect("insert");
        txn.delete(ks, b"x").expect("delete");
        let mut view: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        view.insert(b"a".to_vec(), b"committed".to_vec());
        view.insert(b"c".to_vec(), b"own update".to_vec());
        view.insert(b"d".to_vec(), b"own insert".to_vec());
        view.insert(b"m".to_vec(), b"committed".to_vec());
        if level == IsolationLevel::ReadUncommitted {
            view.insert(b"n".to_vec(), b"uncommitted".to_vec());
        }
        for lo in bounds() {
            for hi in bounds() {
                let expected: Vec<Row> = view
                    .iter()
                    .filter(|(k, _)| in_range(k, lo, hi))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    let forward: Vec<Row> = txn
                        .scan(ks, (lo, hi))
                        .expect("scan")
                        .map(|r| r.expect("row"))
                        .collect();
                    let mut backward: Vec<Row> = txn
                        .scan(ks, (lo, hi))
                        .expect("scan")
                        .rev()
                        .map(|r| r.expect("row"))
                        .collect();
                    backward.reverse();
                    // Alternate ends: front, back, front, … then put in order.
                    let mut both = txn.scan(ks, (lo, hi)).expect("scan");
                    let (mut front, mut back) = (Vec::new(), Vec::new());
                    loop {
                        let next = if (front.len() + back.len()) % 2 == 0 {
                            both.next()
                        } else {
                            both.next_back()
                        };
                        match next {
                            Some(row) if (front.len() + back.len()) % 2 == 0 => {
                                front.push(row.expect("row"))
                            }
                            Some(row) => back.push(row.expect("row")),
                            None => break,
                        }
                    }
                    back.reverse();
                    front.extend(back);
                    (forward, backward, front)
                }));
                match outcome {
                    Err(_) => {
                        failures.push(format!("{level}: scan {}..{} panicked", show(lo), show(hi)))
                    }
                    Ok((forward, backward, both)) => {
                        for (how, got) in [
                            ("forward", forward),
                            ("backward", backward),
                            ("from both ends", both),
                        ] {
                            if got != expected {
                                failures.push(format!(
                                    "{level}: scan {}..{} {how} gave {got:?}, expected {expected:?}",
                                    show(lo),
                                    show(hi)
                                ));
                            }
                        }
                    }
                }
            }
        }
        txn.rollback().expect("rollback");
        other.rollback().expect("rollback other");
    }
    let panics = failures.iter().filter(|f| f.ends_with("panicked")).count();
    eprintln!("{} wrong scans, {panics} of them panics", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} scans wrong:\n{}",
        failures.len(),
        4 * bounds().len() * bounds().len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
