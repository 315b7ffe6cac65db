//! Loom models of the lock manager: every interleaving of a few threads is
//! explored, and loom fails a model if all threads end up blocked (a lost
//! wake-up or an undetected deadlock) or an assertion fails in any of them.
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" cargo test --release --test loom_lock_manager`
#![cfg(loom)]

use isodb_engine::error::Error;
use isodb_engine::txn::lock::LockMode::{Exclusive, Shared};
use isodb_engine::txn::lock::{LockManager, LockMode, TxnId, WaitPolicy};
use loom::sync::Arc;
use loom::thread;

const FOREVER: WaitPolicy = WaitPolicy::Wait(None);

/// Spawns a thread that acquires `key` in `mode` for `txn`, checks it holds
/// it, and releases everything.
fn lock_and_release(
    locks: &Arc<LockManager>,
    txn: TxnId,
    key: &'static [u8],
    mode: LockMode,
) -> thread::JoinHandle<()> {
    let locks = Arc::clone(locks);
    thread::spawn(move || {
        assert_eq!(locks.acquire(txn, key, mode, FOREVER).ok(), Some(true));
        assert_eq!(locks.holds(txn, key), Some(mode));
        locks.release_all(txn);
    })
}

/// (1) Two transactions contend for one exclusive key; whichever waits is
/// always woken and granted when the other releases.
#[test]
fn waiter_for_an_exclusive_key_is_always_woken() {
    loom::model(|| {
        let locks = Arc::new(LockManager::new());
        let first = lock_and_release(&locks, 1, b"k", Exclusive);
        let second = lock_and_release(&locks, 2, b"k", Exclusive);
        first.join().expect("thread 1");
        second.join().expect("thread 2");
        assert!(locks.snapshot().is_empty());
    });
}

/// (2) Each transaction holds one key and asks for the other's: in every
/// interleaving exactly one is the deadlock victim, and the other is granted
/// once the victim rolls back. Neither blocks forever.
#[test]
fn crossed_requests_make_exactly_one_victim() {
    loom::model(|| {
        let locks = Arc::new(LockManager::new());
        assert_eq!(
            locks.acquire(1, b"a", Exclusive, WaitPolicy::NoWait).ok(),
            Some(true)
        );
        assert_eq!(
            locks.acquire(2, b"b", Exclusive, WaitPolicy::NoWait).ok(),
            Some(true)
        );
        let cross = |txn: TxnId, wanted: &'static [u8]| {
            let locks = Arc::clone(&locks);
            thread::spawn(move || {
                let victim = match locks.acquire(txn, wanted, Exclusive, FOREVER) {
                    Ok(true) => false,
                    Err(Error::Deadlock(_)) => true,
                    other => panic!("transaction {txn}: unexpected {other:?}"),
                };
                locks.release_all(txn);
                victim
            })
        };
        let one = cross(1, b"b");
        let two = cross(2, b"a");
        let one_was_victim = one.join().expect("thread 1");
        let two_was_victim = two.join().expect("thread 2");
        assert!(one_was_victim != two_was_victim, "exactly one victim");
        assert!(locks.snapshot().is_empty());
    });
}

/// (3) Two readers and a writer on one key: everyone finishes, the readers
/// may share, and the table ends empty. With three threads the full search
/// takes about half a minute, so it is bounded to 5 preemptions per run
/// (loom's usual cap; most concurrency bugs need 2 or 3).
#[test]
fn shared_and_exclusive_mix_finishes_with_an_empty_table() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(5);
    builder.check(|| {
        let locks = Arc::new(LockManager::new());
        let reader_one = lock_and_release(&locks, 1, b"k", Shared);
        let reader_two = lock_and_release(&locks, 2, b"k", Shared);
        assert_eq!(locks.acquire(3, b"k", Exclusive, FOREVER).ok(), Some(true));
        assert_eq!(locks.holds(1, b"k"), None);
        assert_eq!(locks.holds(2, b"k"), None);
        locks.release_all(3);
        reader_one.join().expect("reader 1");
        reader_two.join().expect("reader 2");
        assert!(locks.snapshot().is_empty());
    });
}

/// (4) A cancel races with the release that would grant the wait: the
/// waiter ends either granted or canceled, never stuck.
#[test]
fn cancel_racing_a_grant_never_strands_the_waiter() {
    loom::model(|| {
        let locks = Arc::new(LockManager::new());
        assert_eq!(
            locks.acquire(1, b"k", Exclusive, WaitPolicy::NoWait).ok(),
            Some(true)
        );
        let waiter = {
            let locks = Arc::clone(&locks);
            thread::spawn(move || {
                let result = locks.acquire(2, b"k", Shared, FOREVER);
                match &result {
                    Ok(true) => assert_eq!(locks.holds(2, b"k"), Some(Shared)),
                    Err(Error::LockTimeout(why)) => assert!(why.starts_with("canceled"), "{why}"),
                    other => panic!("unexpected {other:?}"),
                }
                locks.release_all(2);
            })
        };
        locks.cancel_wait(2);
        locks.release_all(1);
        waiter.join().expect("waiter");
        assert!(locks.snapshot().is_empty());
    });
}
