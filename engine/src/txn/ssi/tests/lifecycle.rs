//! Lifecycle of tracked transactions: doomed ones, aborted ones, what is
//! retained and for how long, disjoint work never conflicting, misuse.

use std::ops::Bound;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::Error;
use crate::txn::intents::IntentTable;
use crate::txn::ssi::tests::{Schedule, serialization_failure};
use crate::txn::ssi::{SeqNo, SsiTracker, TxnId};

/// Sets up write skew between T1 and T2 and lets T1 commit: T2 is doomed.
fn doomed_write_skew() -> Schedule {
    let mut db = Schedule::new();
    db.begin(1);
    db.begin(2);
    for txn in [1, 2] {
        db.read(txn, "x").expect("read x");
        db.read(txn, "y").expect("read y");
    }
    db.write(1, "x").expect("T1 writes x");
    db.write(2, "y").expect("T2 writes y");
    db.commit(1).expect("T1 commits");
    db
}

#[test]
fn doomed_transaction_fails_on_every_later_call() {
    let db = doomed_write_skew();
    let expected = "read/write dependencies among transactions: transaction 2 is the pivot of \
                    a dangerous structure (1 -rw-> 2 -rw-> 1, and 1 is committing first); retry \
                    the transaction";
    assert_eq!(serialization_failure(db.read(2, "z")), expected);
    assert_eq!(serialization_failure(db.write(2, "z")), expected);
    assert_eq!(serialization_failure(db.scan(2, "a", "b")), expected);
    let error = db.tracker.prepare_commit(2).expect_err("doomed");
    assert_eq!(error.sqlstate(), "40001");
    assert!(error.is_retryable());
    assert_eq!(
        error.to_string(),
        format!("could not serialize access due to {expected}")
    );
    // The doom already removed its reads, writes and edges.
    let stats = db.tracker.stats();
    assert_eq!((stats.active, stats.sireads(), stats.conflicts), (1, 0, 0));
    db.aborted(2);
    assert!(matches!(
        db.read(2, "x"),
        Err(Error::TransactionNotActive(_))
    ));
    assert_eq!(db.tracker.stats().transactions(), 0);
}

#[test]
fn aborted_transactions_are_forgotten_at_once() {
    let db = Schedule::new();
    db.begin(1);
    db.begin(2);
    db.read(1, "x").expect("T1 reads x");
    db.write(2, "x").expect("T2 writes x");
    db.scan(2, "a", "z").expect("T2 scans");
    assert_eq!(db.tracker.stats().conflicts, 1);
    db.aborted(2);
    let stats = db.tracker.stats();
    assert_eq!(stats.active, 1);
    assert_eq!(
        (stats.conflicts, stats.written_keys, stats.siread_ranges),
        (0, 0, 0)
    );
    assert_eq!(stats.siread_keys, 1);
}

#[test]
fn disjoint_keys_and_ranges_never_conflict() {
    let mut db = Schedule::new();
    db.begin(1);
    db.begin(2);
    db.begin(3);
    db.read(1, "a").expect("T1 reads a");
    db.read(2, "b").expect("T2 reads b");
    db.scan(3, "e", "g").expect("T3 scans [e, g)");
    db.write(1, "g")
        .expect("T1 writes g: just above T3's range");
    db.write(2, "d").expect("T2 writes d: just below it");
    db.write(3, "z").expect("T3 writes z");
    db.write(1, "a").expect("T1 writes its own a");
    assert_eq!(db.tracker.stats().conflicts, 0);
    for txn in [1, 2, 3] {
        db.commit(txn).expect("no conflicts, no aborts");
    }
    // And the check is real: a write inside the range is an edge.
    db.begin(4);
    db.begin(5);
    db.scan(4, "e", "g").expect("T4 scans [e, g)");
    db.write(5, "fzz").expect("T5 writes inside it");
    assert_eq!(db.tracker.stats().conflicts, 1);
}

#[test]
fn reading_a_write_committed_before_the_snapshot_is_no_conflict() {
    let mut db = Schedule::new();
    db.begin(1);
    db.begin(2);
    db.write(1, "x").expect("T1 writes x");
    db.commit(1).expect("T1 commits");
    db.begin(3);
    db.read(3, "x").expect("T3 sees T1's write");
    db.scan(3, "a", "z").expect("T3 scans over it");
    assert_eq!(db.tracker.stats().conflicts, 0);
    db.read(2, "x").expect("T2 does not see it");
    assert_eq!(db.tracker.stats().conflicts, 1);
}

#[test]
fn committed_transaction_is_retained_only_while_someone_is_concurrent() {
    let mut db = Schedule::new();
    db.begin(1);
    db.begin(2);
    db.read(2, "x").expect("T2 reads x");
    db.write(2, "y").expect("T2 writes y");
    db.commit(2).expect("T2 commits");
    let stats = db.tracker.stats();
    assert_eq!((stats.active, stats.committed), (1, 1));
    assert_eq!((stats.siread_keys, stats.written_keys), (1, 1));
    db.begin(3);
    db.commit(1).expect("T1 commits");
    // T3 began after T2 committed: nobody is concurrent with T2 any more,
    // but T3 is concurrent with T1.
    let stats = db.tracker.stats();
    assert_eq!((stats.active, stats.committed), (1, 1));
    assert_eq!((stats.sireads(), stats.written_keys), (0, 0));
    db.commit(3).expect("T3 commits");
    assert_eq!(db.tracker.stats(), Default::default());
}

#[test]
fn retention_stays_bounded_over_a_long_stream() {
    let mut db = Schedule::new();
    let key = |n: u64| format!("key/{}", n % 16);
    let mut aborts = 0;
    for txn in 0..100_000u64 {
        db.begin(txn);
        let ops = db
            .read(txn, &key(txn))
            .and_then(|()| db.scan(txn, &key(txn * 7), &key(txn * 7 + 2)))
            .and_then(|()| db.write(txn, &key(txn * 3 + 1)));
        if ops.is_err() {
            db.aborted(txn);
            aborts += 1;
        }
        // Commit the previous one while this one is running: two overlap.
        if txn > 0 && db.commit(txn - 1).is_err() {
            aborts += 1;
        }
        let stats = db.tracker.stats();
        assert!(stats.transactions() <= 3, "{stats:?} at {txn}");
        assert!(stats.sireads() <= 6, "{stats:?} at {txn}");
        assert!(stats.written_keys <= 3, "{stats:?} at {txn}");
    }
    db.commit(99_999).ok();
    assert_eq!(db.tracker.stats(), Default::default());
    assert!(aborts < 100_000, "most transactions commit");
}

#[test]
fn sequential_transactions_leave_nothing_behind() {
    let mut db = Schedule::new();
    for txn in 0..10_000u64 {
        db.begin(txn);
        db.read(txn, "x").expect("read");
        db.write(txn, "x").expect("write");
        db.commit(txn).expect("alone, it commits");
        assert_eq!(db.tracker.stats(), Default::default());
    }
}

#[test]
fn late_begin_after_discarded_commit_is_doomed() {
    let mut db = Schedule::new();
    db.begin(1);
    db.write(1, "x").expect("T1 writes x");
    let seq = db.commit(1).expect("T1 commits and is dropped at once");
    // T2 took its snapshot before T1's commit but registers only now.
    db.tracker.begin(2, seq - 1, true);
    let why = serialization_failure(db.read(2, "x"));
    assert!(why.contains("late start"), "{why}");
    db.aborted(2);
    // begin_with takes the snapshot under the tracker's lock instead.
    let snapshot = db.tracker.begin_with(3, true, || ("handle", seq));
    assert_eq!(snapshot, "handle");
    db.read(3, "x").expect("T3 is fine");
}

#[test]
fn edge_from_a_reader_that_saw_the_commit_is_withdrawn() {
    let db = Schedule::new();
    db.begin(1);
    db.write(1, "x").expect("T1 writes x");
    db.tracker.prepare_commit(1).expect("T1 passes");
    // The batch became visible at 1 and T2 took its snapshot there before
    // the engine called `committed`: T2 reads T1's write.
    db.tracker.begin(2, 1, false);
    db.read(2, "x").expect("T2 reads x");
    assert_eq!(db.tracker.stats().conflicts, 1);
    db.committed(1, 1);
    assert_eq!(db.tracker.stats().conflicts, 0);
}

#[test]
fn unknown_and_settled_transactions_are_refused() {
    let db = Schedule::new();
    assert!(matches!(
        db.read(9, "x"),
        Err(Error::TransactionNotActive(_))
    ));
    assert!(matches!(
        db.tracker.prepare_commit(9),
        Err(Error::TransactionNotActive(_))
    ));
    db.committed(9, 4);
    db.aborted(9);
    db.begin(1);
    db.tracker.prepare_commit(1).expect("T1 passes");
    assert!(matches!(
        db.write(1, "x"),
        Err(Error::TransactionNotActive(_))
    ));
    assert_eq!(db.tracker.stats().transactions(), 1);
}

#[test]
fn empty_and_inverted_scans_are_harmless() {
    let db = Schedule::new();
    db.begin(1);
    db.begin(2);
    db.write(2, "b").expect("T2 writes b");
    db.scan(1, "c", "a").expect("inverted range");
    db.scan(1, "b", "b").expect("empty half-open range");
    db.tracker
        .on_scan(1, Bound::Excluded(b"b"), Bound::Excluded(b"b"))
        .expect("empty open range");
    let stats = db.tracker.stats();
    assert_eq!((stats.siread_ranges, stats.conflicts), (0, 0));
    db.tracker
        .on_scan(1, Bound::Unbounded, Bound::Unbounded)
        .expect("everything");
    db.tracker
        .on_scan(1, Bound::Included(b"a"), Bound::Included(b"z"))
        .expect("covered by the full scan");
    let stats = db.tracker.stats();
    assert_eq!((stats.siread_ranges, stats.conflicts), (1, 1));
}

#[test]
fn tracker_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SsiTracker>();

    // A pretend store: the commit counter, bumped under its own lock as a
    // batch write would be.
    let intents = Arc::new(IntentTable::default());
    let tracker = Arc::new(SsiTracker::new(Arc::clone(&intents)));
    let store = Arc::new(Mutex::new(0 as SeqNo));
    let threads: Vec<_> = (0..4u64)
        .map(|thread| {
            let tracker = Arc::clone(&tracker);
            let intents = Arc::clone(&intents);
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut committed = 0;
                for n in 0..500u64 {
                    let txn: TxnId = thread * 1_000_000 + n;
                    tracker.begin_with(txn, false, || ((), *store.lock()));
                    let mine = [b"abcd"[((thread + n) % 4) as usize]];
                    let other = [b"abcd"[((thread + n + 1) % 4) as usize]];
                    let run = tracker
                        .on_read(txn, &mine)
                        .and_then(|()| tracker.on_read(txn, &other))
                        .and_then(|()| {
                            intents.put(mine.to_vec(), txn, Some(Vec::new()));
                            tracker.on_write(txn, &mine)
                        })
                        .and_then(|()| tracker.prepare_commit(txn));
                    match run {
                        Ok(()) => {
                            let seq = {
                                let mut last = store.lock();
                                *last += 1;
                                *last
                            };
                            tracker.committed(txn, seq, [mine]);
                            committed += 1;
                        }
                        Err(Error::SerializationFailure(_)) => tracker.aborted(txn),
                        Err(other) => panic!("unexpected error {other}"),
                    }
                    intents.remove(&mine, txn);
                }
                committed
            })
        })
        .collect();
    let committed: u32 = threads
        .into_iter()
        .map(|t| t.join().expect("thread ran"))
        .sum();
    assert!(committed > 0);
    assert_eq!(tracker.stats(), Default::default());
}
