//! `Transaction::insert`: write a key only if no row is there — the
//! uniqueness check of an SQL INSERT — at every level, alone and against a
//! concurrent inserter of the same key.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use isodb_engine::Error;
use isodb_engine::txn::{Engine, EngineOptions, IsolationLevel, Keyspace};

const LEVELS: [IsolationLevel; 4] = [
    IsolationLevel::ReadUncommitted,
    IsolationLevel::ReadCommitted,
    IsolationLevel::RepeatableRead,
    IsolationLevel::Serializable,
];

fn open() -> (tempfile::TempDir, Engine, Keyspace) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(dir.path(), EngineOptions::default()).expect("open");
    let ks = engine.keyspace("t").expect("keyspace");
    (dir, engine, ks)
}

#[test]
fn inserts_only_where_no_row_is() {
    for level in LEVELS {
        let (_dir, engine, ks) = open();
        let mut setup = engine.begin(level);
        setup.put(ks, b"old", b"1").expect("put");
        setup.commit().expect("commit");

        let mut txn = engine.begin(level);
        assert!(txn.insert(ks, b"new", b"2").expect("insert"), "{level}");
        assert!(!txn.insert(ks, b"old", b"3").expect("insert"), "{level}");
        // Its own row counts, and so does its own delete.
        assert!(!txn.insert(ks, b"new", b"4").expect("insert"), "{level}");
        txn.delete(ks, b"new").expect("delete");
        assert!(txn.insert(ks, b"new", b"5").expect("insert"), "{level}");
        txn.commit().expect("commit");

        let mut reader = engine.begin(IsolationLevel::ReadCommitted);
        assert_eq!(reader.get(ks, b"old").expect("get"), Some(b"1".to_vec()));
        assert_eq!(reader.get(ks, b"new").expect("get"), Some(b"5".to_vec()));
    }
}

#[test]
fn a_concurrent_inserter_of_the_same_key_waits_then_loses() {
    for level in LEVELS {
        let (_dir, engine, ks) = open();
        let mut first = engine.begin(level);
        assert!(first.insert(ks, b"k", b"first").expect("insert"));

        let (done, finished) = mpsc::channel();
        let engine2 = engine.clone();
        let second = thread::spawn(move || {
            let mut txn = engine2.begin(level);
            let outcome = txn.insert(ks, b"k", b"second");
            done.send(()).expect("send");
            outcome
        });
        assert!(
            finished.recv_timeout(Duration::from_millis(200)).is_err(),
            "{level}: the second inserter did not wait"
        );
        first.commit().expect("commit");
        finished
            .recv_timeout(Duration::from_secs(10))
            .expect("the second inserter went on");
        let outcome = second.join().expect("thread");
        if level.snapshot_per_statement() {
            // READ COMMITTED and below: it sees the committed row.
            assert!(matches!(outcome, Ok(false)), "{level}: {outcome:?}");
        } else {
            // Snapshot levels: the row is newer than its snapshot.
            assert!(
                matches!(outcome, Err(Error::SerializationFailure(_))),
                "{level}: {outcome:?}"
            );
        }
        let mut reader = engine.begin(IsolationLevel::ReadCommitted);
        assert_eq!(reader.get(ks, b"k").expect("get"), Some(b"first".to_vec()));
    }
}

#[test]
fn a_rolled_back_insert_leaves_the_key_free() {
    let (_dir, engine, ks) = open();
    let mut first = engine.begin(IsolationLevel::Serializable);
    assert!(first.insert(ks, b"k", b"first").expect("insert"));
    first.rollback().expect("rollback");
    let mut second = engine.begin(IsolationLevel::Serializable);
    assert!(second.insert(ks, b"k", b"second").expect("insert"));
    second.commit().expect("commit");
}
