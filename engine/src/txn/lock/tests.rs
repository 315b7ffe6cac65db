//! Tests of [`LockManager`] with real threads: queueing, upgrades, timeouts
//! and cancels here; deadlocks in `tests/deadlock.rs`; a property test
//! against a model of who holds what in `tests/model.rs`.

mod deadlock;
mod model;

use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::txn::lock::LockMode::{Exclusive, Shared};
use crate::txn::lock::{LockManager, TxnId, WaitPolicy};

pub(super) const FOREVER: WaitPolicy = WaitPolicy::Wait(None);
/// Used where a bug would otherwise hang the test: fails it instead.
pub(super) const PATIENT: WaitPolicy = WaitPolicy::Wait(Some(Duration::from_secs(30)));

/// Polls `condition` (test-only) until it holds, failing after 10 s.
pub(super) fn eventually(what: &str, condition: impl Fn() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting until {what}"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until `txn` is queued on some key.
pub(super) fn until_queued(locks: &LockManager, txn: TxnId) {
    eventually(&format!("transaction {txn} is queued"), || {
        locks
            .snapshot()
            .iter()
            .any(|l| l.waiters.iter().any(|w| w.txn == txn))
    });
}

/// The next transaction reported granted, failing after 10 s.
pub(super) fn next_granted(granted: &mpsc::Receiver<TxnId>) -> TxnId {
    granted
        .recv_timeout(Duration::from_secs(10))
        .expect("a waiter is granted within 10 s")
}

pub(super) fn waiter_order(locks: &LockManager, key: &[u8]) -> Vec<TxnId> {
    let snapshot = locks.snapshot();
    let info = snapshot.iter().find(|l| l.key == key);
    info.map(|l| l.waiters.iter().map(|w| w.txn).collect())
        .unwrap_or_default()
}

#[test]
fn reentrant_requests_return_false_and_sole_holder_upgrades_at_once() {
    let locks = LockManager::new();
    assert!(locks.acquire(1, b"k", Shared, FOREVER).unwrap());
    assert!(!locks.acquire(1, b"k", Shared, FOREVER).unwrap());
    assert_eq!(locks.holds(1, b"k"), Some(Shared));
    assert!(
        locks
            .acquire(1, b"k", Exclusive, WaitPolicy::NoWait)
            .unwrap()
    );
    assert_eq!(locks.holds(1, b"k"), Some(Exclusive));
    assert!(!locks.acquire(1, b"k", Shared, WaitPolicy::NoWait).unwrap());
    assert!(
        !locks
            .acquire(1, b"k", Exclusive, WaitPolicy::NoWait)
            .unwrap()
    );
    assert_eq!(locks.holds(2, b"k"), None);
    locks.release_all(1);
    assert_eq!(locks.holds(1, b"k"), None);
    assert!(locks.snapshot().is_empty());
    locks.check_invariants();
}

#[test]
fn nowait_conflict_fails_at_once_and_leaves_no_trace() {
    let locks = LockManager::new();
    locks.acquire(1, b"k", Exclusive, PATIENT).unwrap();
    let err = locks
        .acquire(2, b"k", Shared, WaitPolicy::NoWait)
        .unwrap_err();
    assert!(matches!(err, Error::LockTimeout(_)), "{err}");
    assert_eq!(err.sqlstate(), "55P03");
    assert!(err.to_string().contains("transaction 1"), "{err}");
    assert_eq!(waiter_order(&locks, b"k"), Vec::<TxnId>::new());
    assert!(locks.waits_for(2).is_empty());
    locks.check_invariants();
}

#[test]
fn compatible_request_queues_behind_a_waiting_writer() {
    let locks = LockManager::new();
    locks.acquire(1, b"k", Shared, PATIENT).unwrap();
    thread::scope(|s| {
        let writer = s.spawn(|| locks.acquire(2, b"k", Exclusive, PATIENT));
        until_queued(&locks, 2);
        // Shared is compatible with the holder, but writer 2 is queued first.
        let err = locks
            .acquire(3, b"k", Shared, WaitPolicy::NoWait)
            .unwrap_err();
        assert_eq!(err.sqlstate(), "55P03");
        let reader = s.spawn(|| locks.acquire(3, b"k", Shared, PATIENT));
        until_queued(&locks, 3);
        assert_eq!(locks.waits_for(3), vec![2]);
        assert_eq!(locks.waits_for(2), vec![1]);
        locks.check_invariants();
        locks.release_all(1);
        assert!(writer.join().unwrap().unwrap());
        assert_eq!(locks.holds(2, b"k"), Some(Exclusive));
        assert_eq!(locks.waits_for(3), vec![2]);
        locks.release_all(2);
        assert!(reader.join().unwrap().unwrap());
    });
    locks.release_all(3);
    assert!(locks.snapshot().is_empty());
}

#[test]
fn exclusive_waiters_are_granted_in_arrival_order() {
    // Untimed waits: the waiters are detached threads, so a bug fails the
    // test through `next_granted` instead of hanging it.
    let locks = Arc::new(LockManager::new());
    locks.acquire(1, b"k", Exclusive, FOREVER).unwrap();
    let (granted_tx, granted_rx) = mpsc::channel();
    for txn in [2, 3, 4] {
        let granted_tx = granted_tx.clone();
        let worker_locks = Arc::clone(&locks);
        thread::spawn(move || {
            let newly = worker_locks.acquire(txn, b"k", Exclusive, FOREVER);
            granted_tx.send((txn, newly.ok())).unwrap();
        });
        until_queued(&locks, txn);
    }
    assert_eq!(waiter_order(&locks, b"k"), vec![2, 3, 4]);
    let mut previous = 1;
    for expected in [2, 3, 4] {
        locks.release_all(previous);
        let got = granted_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the next waiter is granted");
        assert_eq!(got, (expected, Some(true)));
        assert_eq!(locks.holds(expected, b"k"), Some(Exclusive));
        locks.check_invariants();
        previous = expected;
    }
    locks.release_all(previous);
    assert!(locks.snapshot().is_empty());
}

#[test]
fn release_grants_a_run_of_shared_waiters_together() {
    let locks = LockManager::new();
    locks.acquire(1, b"k", Exclusive, PATIENT).unwrap();
    let (granted_tx, granted_rx) = mpsc::channel();
    thread::scope(|s| {
        for (txn, mode) in [(2, Shared), (3, Shared), (4, Exclusive), (5, Shared)] {
            let granted_tx = granted_tx.clone();
            let locks = &locks;
            s.spawn(move || {
                assert!(locks.acquire(txn, b"k", mode, PATIENT).unwrap());
                granted_tx.send(txn).unwrap();
            });
            until_queued(locks, txn);
        }
        locks.release_all(1);
        let mut first_batch = [next_granted(&granted_rx), next_granted(&granted_rx)];
        first_batch.sort_unstable();
        assert_eq!(first_batch, [2, 3]);
        assert_eq!(waiter_order(&locks, b"k"), vec![4, 5]);
        assert_eq!(locks.waits_for(4), vec![2, 3]);
        assert_eq!(locks.waits_for(5), vec![4]);
        locks.release_all(2);
        assert_eq!(locks.waits_for(4), vec![3]);
        locks.release_all(3);
        assert_eq!(next_granted(&granted_rx), 4);
        locks.release_all(4);
        assert_eq!(next_granted(&granted_rx), 5);
        locks.release_all(5);
    });
    assert!(locks.snapshot().is_empty());
    locks.check_invariants();
}

#[test]
fn upgrade_waits_for_other_readers_and_goes_ahead_of_queued_writers() {
    let locks = LockManager::new();
    locks.acquire(1, b"k", Shared, PATIENT).unwrap();
    locks.acquire(2, b"k", Shared, PATIENT).unwrap();
    thread::scope(|s| {
        let writer = s.spawn(|| locks.acquire(3, b"k", Exclusive, PATIENT));
        until_queued(&locks, 3);
        let upgrader = s.spawn(|| locks.acquire(1, b"k", Exclusive, PATIENT));
        until_queued(&locks, 1);
        assert_eq!(waiter_order(&locks, b"k"), vec![1, 3]);
        let snapshot = locks.snapshot();
        assert!(snapshot[0].waiters[0].upgrade && !snapshot[0].waiters[1].upgrade);
        assert_eq!(locks.waits_for(1), vec![2]);
        assert_eq!(locks.waits_for(3), vec![1, 2]);
        locks.check_invariants();
        locks.release_all(2);
        assert!(upgrader.join().unwrap().unwrap());
        assert_eq!(locks.holds(1, b"k"), Some(Exclusive));
        assert_eq!(locks.waits_for(3), vec![1]);
        locks.release_all(1);
        assert!(writer.join().unwrap().unwrap());
        locks.release_all(3);
    });
    assert!(locks.snapshot().is_empty());
}

#[test]
fn timeout_gives_55p03_after_roughly_the_time_given() {
    let locks = LockManager::new();
    locks.acquire(1, b"k", Exclusive, PATIENT).unwrap();
    let timeout = Duration::from_millis(150);
    let started = Instant::now();
    let err = locks
        .acquire(2, b"k", Shared, WaitPolicy::Wait(Some(timeout)))
        .unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(err, Error::LockTimeout(_)), "{err}");
    assert_eq!(err.sqlstate(), "55P03");
    assert!(waited >= timeout, "returned after {waited:?}");
    assert!(waited < Duration::from_secs(3), "returned after {waited:?}");
    assert!(waiter_order(&locks, b"k").is_empty());
    assert!(locks.waits_for(2).is_empty());
    locks.check_invariants();
    locks.release_all(1);
    assert!(locks.snapshot().is_empty());
}

#[test]
fn timed_out_writer_lets_readers_behind_it_through() {
    let locks = LockManager::new();
    locks.acquire(1, b"k", Shared, PATIENT).unwrap();
    thread::scope(|s| {
        let writer = s.spawn(|| {
            locks.acquire(
                2,
                b"k",
                Exclusive,
                WaitPolicy::Wait(Some(Duration::from_millis(200))),
            )
        });
        until_queued(&locks, 2);
        let reader = s.spawn(|| locks.acquire(3, b"k", Shared, PATIENT));
        until_queued(&locks, 3);
        assert_eq!(writer.join().unwrap().unwrap_err().sqlstate(), "55P03");
        assert!(reader.join().unwrap().unwrap());
    });
    locks.check_invariants();
    locks.release_all(1);
    locks.release_all(3);
    assert!(locks.snapshot().is_empty());
}

#[test]
fn cancel_wait_wakes_the_waiter_with_canceled() {
    let locks = LockManager::new();
    locks.acquire(1, b"k", Exclusive, PATIENT).unwrap();
    assert!(!locks.cancel_wait(2), "nothing to cancel yet");
    thread::scope(|s| {
        let waiter = s.spawn(|| locks.acquire(2, b"k", Exclusive, PATIENT));
        until_queued(&locks, 2);
        assert!(locks.cancel_wait(2));
        let err = waiter.join().unwrap().unwrap_err();
        assert_eq!(err.sqlstate(), "55P03");
        assert!(err.to_string().contains("canceled"), "{err}");
    });
    assert!(!locks.cancel_wait(2));
    assert!(waiter_order(&locks, b"k").is_empty());
    locks.check_invariants();
    locks.release_all(1);
    assert!(locks.snapshot().is_empty());
}

#[test]
fn release_all_of_a_waiting_transaction_cancels_its_wait() {
    let locks = LockManager::new();
    locks.acquire(1, b"a", Exclusive, PATIENT).unwrap();
    locks.acquire(2, b"b", Exclusive, PATIENT).unwrap();
    thread::scope(|s| {
        let two = s.spawn(|| locks.acquire(2, b"a", Exclusive, PATIENT));
        until_queued(&locks, 2);
        locks.release_all(2);
        assert!(
            two.join()
                .unwrap()
                .unwrap_err()
                .to_string()
                .contains("canceled")
        );
    });
    assert_eq!(locks.holds(2, b"b"), None);
    locks.check_invariants();
    locks.release_all(1);
    assert!(locks.snapshot().is_empty());
}
