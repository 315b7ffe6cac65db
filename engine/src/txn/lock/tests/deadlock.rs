//! Deadlock detection with real threads: cycles of two and three
//! transactions, the upgrade deadlock, the example of the module essay, and
//! waits that must not be reported (chains, edges of finished waits).

use std::thread;
use std::time::Duration;

use crate::error::Error;
use crate::txn::lock::LockMode::{Exclusive, Shared};
use crate::txn::lock::tests::{PATIENT, until_queued};
use crate::txn::lock::{LockManager, WaitPolicy};

#[test]
fn two_transaction_cycle_makes_the_closer_the_victim() {
    let locks = LockManager::new();
    locks.acquire(1, b"a", Exclusive, PATIENT).unwrap();
    locks.acquire(2, b"b", Exclusive, PATIENT).unwrap();
    thread::scope(|s| {
        let first = s.spawn(|| locks.acquire(1, b"b", Exclusive, PATIENT));
        until_queued(&locks, 1);
        let err = locks.acquire(2, b"a", Exclusive, PATIENT).unwrap_err();
        assert!(matches!(err, Error::Deadlock(_)), "{err}");
        assert_eq!(err.sqlstate(), "40P01");
        let text = err.to_string();
        assert!(
            text.contains("transaction 2 waits for 1 (lock on key 0x61)"),
            "{text}"
        );
        assert!(
            text.contains("which waits for 2 (lock on key 0x62)"),
            "{text}"
        );
        // The victim keeps what it held, and its request is gone.
        assert_eq!(locks.holds(2, b"b"), Some(Exclusive));
        assert!(locks.waits_for(2).is_empty());
        locks.check_invariants();
        locks.release_all(2);
        assert!(first.join().unwrap().unwrap());
    });
    locks.release_all(1);
    assert!(locks.snapshot().is_empty());
}

#[test]
fn three_transaction_cycle_is_detected_and_named() {
    let locks = LockManager::new();
    for (txn, key) in [(1, b"a"), (2, b"b"), (3, b"c")] {
        locks.acquire(txn, key, Exclusive, PATIENT).unwrap();
    }
    thread::scope(|s| {
        let one = s.spawn(|| locks.acquire(1, b"b", Shared, PATIENT));
        until_queued(&locks, 1);
        let two = s.spawn(|| locks.acquire(2, b"c", Exclusive, PATIENT));
        until_queued(&locks, 2);
        let err = locks.acquire(3, b"a", Shared, PATIENT).unwrap_err();
        assert_eq!(err.sqlstate(), "40P01");
        let text = err.to_string();
        assert!(
            text.contains("transaction 3 waits for 1 (lock on key 0x61), which waits for 2 (lock on key 0x62), which waits for 3 (lock on key 0x63)"),
            "{text}"
        );
        locks.release_all(3);
        assert!(two.join().unwrap().unwrap());
        locks.release_all(2);
        assert!(one.join().unwrap().unwrap());
    });
    locks.release_all(1);
    assert!(locks.snapshot().is_empty());
}

#[test]
fn two_readers_upgrading_deadlock_and_the_survivor_upgrades() {
    let locks = LockManager::new();
    locks.acquire(1, b"k", Shared, PATIENT).unwrap();
    locks.acquire(2, b"k", Shared, PATIENT).unwrap();
    thread::scope(|s| {
        let first = s.spawn(|| locks.acquire(1, b"k", Exclusive, PATIENT));
        until_queued(&locks, 1);
        let err = locks.acquire(2, b"k", Exclusive, PATIENT).unwrap_err();
        assert_eq!(err.sqlstate(), "40P01");
        assert!(
            err.to_string().contains("transaction 2 waits for 1"),
            "{err}"
        );
        assert_eq!(locks.holds(2, b"k"), Some(Shared));
        locks.release_all(2);
        assert!(first.join().unwrap().unwrap());
        assert_eq!(locks.holds(1, b"k"), Some(Exclusive));
    });
    locks.release_all(1);
    assert!(locks.snapshot().is_empty());
}

#[test]
fn waits_into_a_chain_are_not_a_deadlock() {
    // 3 → {1, 2} on a, then 1 → 4 on b: a chain and a fan-in, no cycle.
    let locks = LockManager::new();
    locks.acquire(1, b"a", Exclusive, PATIENT).unwrap();
    locks.acquire(4, b"b", Shared, PATIENT).unwrap();
    thread::scope(|s| {
        let two = s.spawn(|| locks.acquire(2, b"a", Shared, PATIENT));
        until_queued(&locks, 2);
        let three = s.spawn(|| locks.acquire(3, b"a", Exclusive, PATIENT));
        until_queued(&locks, 3);
        let one = s.spawn(|| locks.acquire(1, b"b", Exclusive, PATIENT));
        until_queued(&locks, 1);
        assert_eq!(locks.waits_for(1), vec![4]);
        assert_eq!(locks.waits_for(3), vec![1, 2]);
        locks.check_invariants();
        locks.release_all(4);
        assert!(one.join().unwrap().unwrap());
        locks.release_all(1);
        assert!(two.join().unwrap().unwrap());
        locks.release_all(2);
        assert!(three.join().unwrap().unwrap());
        locks.release_all(3);
    });
    assert!(locks.snapshot().is_empty());
}

#[test]
fn edge_of_a_timed_out_wait_does_not_cause_a_phantom_deadlock() {
    let locks = LockManager::new();
    locks.acquire(1, b"a", Exclusive, PATIENT).unwrap();
    locks.acquire(2, b"b", Exclusive, PATIENT).unwrap();
    let short = WaitPolicy::Wait(Some(Duration::from_millis(30)));
    assert_eq!(
        locks
            .acquire(2, b"a", Exclusive, short)
            .unwrap_err()
            .sqlstate(),
        "55P03"
    );
    // 2 no longer waits for 1, so 1 waiting for 2 is no cycle.
    thread::scope(|s| {
        let one = s.spawn(|| locks.acquire(1, b"b", Exclusive, PATIENT));
        until_queued(&locks, 1);
        assert_eq!(locks.waits_for(1), vec![2]);
        locks.release_all(2);
        assert!(one.join().unwrap().unwrap());
    });
    locks.release_all(1);
    assert!(locks.snapshot().is_empty());
}

#[test]
fn module_essay_example_behaves_as_described() {
    let locks = LockManager::new();
    locks.acquire(1, b"k1", Exclusive, PATIENT).unwrap();
    locks.acquire(2, b"k2", Exclusive, PATIENT).unwrap();
    thread::scope(|s| {
        let three = s.spawn(|| locks.acquire(3, b"k1", Shared, PATIENT));
        until_queued(&locks, 3);
        let one = s.spawn(|| locks.acquire(1, b"k2", Shared, PATIENT));
        until_queued(&locks, 1);
        let err = locks.acquire(2, b"k1", Exclusive, PATIENT).unwrap_err();
        assert_eq!(
            err.to_string(),
            "deadlock detected: transaction 2 waits for 1 (lock on key 0x6b31), \
             which waits for 2 (lock on key 0x6b32)"
        );
        assert_eq!(locks.waits_for(3), vec![1]);
        locks.release_all(2);
        assert!(one.join().unwrap().unwrap());
        assert_eq!(locks.waits_for(3), vec![1]);
        locks.release_all(1);
        assert!(three.join().unwrap().unwrap());
    });
    locks.release_all(3);
    assert!(locks.snapshot().is_empty());
}
