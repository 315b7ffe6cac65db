//! Lock escalation: a transaction that locks many rows of one keyspace
//! trades its row locks for one lock on the keyspace — and every guarantee
//! still holds: other writers wait for it, READ UNCOMMITTED readers still see
//! its uncommitted rows, SSI still finds the conflicts of rows it wrote after
//! escalating, and two-phase commit keeps the keyspace locked.

use std::ops::Bound;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use isodb_engine::Error;
use isodb_engine::txn::escalation::ESCALATE_AFTER;
use isodb_engine::txn::{
    Engine, EngineOptions, IsolationLevel, Keyspace, LockMode, Transaction, WaitPolicy,
};

/// Rows written by the big transaction: past the threshold, so it escalates.
const BIG: usize = ESCALATE_AFTER + 500;

fn key(n: usize) -> Vec<u8> {
    format!("row{n:06}").into_bytes()
}

fn open() -> (tempfile::TempDir, Engine, Keyspace) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(dir.path(), EngineOptions::default()).expect("open");
    let ks = engine.keyspace("t").expect("keyspace");
    (dir, engine, ks)
}

/// Writes rows `0..BIG` of `ks`.
fn write_big(txn: &mut Transaction, ks: Keyspace) {
    for n in 0..BIG {
        txn.put(ks, &key(n), b"new").expect("put");
    }
}

/// The keyspace locks the engine shows, with their holders' modes.
fn keyspace_locks(engine: &Engine) -> Vec<(Keyspace, Vec<LockMode>)> {
    engine
        .locks()
        .into_iter()
        .filter_map(|lock| {
            Keyspace::locked_by(&lock.key)
                .map(|ks| (ks, lock.holders.iter().map(|h| h.mode).collect()))
        })
        .collect()
}

#[test]
fn a_big_writer_escalates_and_other_writers_wait_for_it() {
    let (_dir, engine, ks) = open();
    let mut big = engine.begin(IsolationLevel::ReadCommitted);
    write_big(&mut big, ks);
    assert_eq!(
        keyspace_locks(&engine),
        vec![(ks, vec![LockMode::Exclusive])]
    );
    // Its row locks went when it escalated.
    assert_eq!(engine.locks().len(), 1, "row locks kept after escalating");

    // A row it never wrote is still out of reach: the keyspace is locked.
    let mut other = engine.begin(IsolationLevel::ReadCommitted);
    let refused = other.lock_and_read(ks, b"elsewhere", LockMode::Exclusive, WaitPolicy::NoWait);
    assert!(matches!(refused, Err(Error::LockTimeout(_))), "{refused:?}");
    drop(other);

    // A waiting writer goes ahead once the big transaction commits.
    let (done, finished) = mpsc::channel();
    let engine2 = engine.clone();
    let waiter = thread::spawn(move || {
        let mut txn = engine2.begin(IsolationLevel::ReadCommitted);
        txn.put(ks, &key(BIG + 1), b"late")
            .expect("put after waiting");
        done.send(()).expect("send");
        txn.commit().expect("commit")
    });
    assert!(
        finished.recv_timeout(Duration::from_millis(200)).is_err(),
        "the second writer did not wait"
    );
    big.commit().expect("big commit");
    finished
        .recv_timeout(Duration::from_secs(10))
        .expect("the second writer went ahead");
    waiter.join().expect("thread");
    assert!(engine.locks().is_empty(), "{:?}", engine.locks());
}

#[test]
fn escalation_waits_its_turn_when_another_transaction_holds_rows() {
    let (_dir, engine, ks) = open();
    let mut small = engine.begin(IsolationLevel::ReadCommitted);
    small.put(ks, b"small", b"1").expect("small put");
    let mut big = engine.begin(IsolationLevel::ReadCommitted);
    write_big(&mut big, ks);
    // Not escalated: the small writer holds a row of the keyspace.
    assert!(keyspace_locks(&engine).is_empty());
    assert!(engine.locks().len() > BIG);
    small.commit().expect("small commit");
    for n in BIG..2 * ESCALATE_AFTER + 10 {
        big.put(ks, &key(n), b"new").expect("put");
    }
    assert_eq!(
        keyspace_locks(&engine),
        vec![(ks, vec![LockMode::Exclusive])]
    );
    big.commit().expect("big commit");
}

#[test]
fn read_uncommitted_sees_every_row_of_an_escalated_writer() {
    let (_dir, engine, ks) = open();
    let mut big = engine.begin(IsolationLevel::ReadCommitted);
    write_big(&mut big, ks);
    big.delete(ks, &key(7)).expect("delete after escalating");

    let mut dirty = engine.begin(IsolationLevel::ReadUncommitted);
    // Rows written before and after escalating, and the delete.
    assert_eq!(dirty.get(ks, &key(0)).expect("get"), Some(b"new".to_vec()));
    assert_eq!(
        dirty.get(ks, &key(BIG - 1)).expect("get"),
        Some(b"new".to_vec())
    );
    assert_eq!(dirty.get(ks, &key(7)).expect("get"), None);
    let rows = dirty.scan(ks, ..).expect("scan").count();
    assert_eq!(rows, BIG - 1);
    // A READ COMMITTED reader sees none of it.
    let mut clean = engine.begin(IsolationLevel::ReadCommitted);
    assert_eq!(clean.scan(ks, ..).expect("scan").count(), 0);

    big.rollback().expect("rollback");
    dirty.new_statement();
    assert_eq!(dirty.get(ks, &key(0)).expect("get"), None);
    assert_eq!(dirty.scan(ks, ..).expect("scan").count(), 0);
}

#[test]
fn ssi_finds_the_writes_an_escalated_transaction_made() {
    // Write skew: R reads a row the escalated W wrote (uncommitted), and W
    // reads a row R then writes. Both cannot commit.
    let (_dir, engine, ks) = open();
    let other = engine.keyspace("other").expect("keyspace");
    let mut w = engine.begin(IsolationLevel::Serializable);
    let mut r = engine.begin(IsolationLevel::Serializable);
    write_big(&mut w, ks);
    assert_eq!(
        keyspace_locks(&engine),
        vec![(ks, vec![LockMode::Exclusive])]
    );
    assert_eq!(r.get(ks, &key(BIG - 1)).expect("read"), None);
    assert_eq!(w.get(other, b"flag").expect("read"), None);
    let r_wrote = r.put(other, b"flag", b"set");
    let outcome = r_wrote.and_then(|()| r.commit()).and_then(|_| w.commit());
    assert!(
        matches!(outcome, Err(Error::SerializationFailure(_))),
        "both committed: {outcome:?}"
    );

    // The same through a scan over the escalated writer's rows.
    let (_dir, engine, ks) = open();
    let other = engine.keyspace("other").expect("keyspace");
    let mut w = engine.begin(IsolationLevel::Serializable);
    let mut r = engine.begin(IsolationLevel::Serializable);
    write_big(&mut w, ks);
    let from = key(BIG - 10);
    let seen = r
        .scan(ks, (Bound::Included(&from[..]), Bound::Unbounded))
        .expect("scan")
        .count();
    assert_eq!(seen, 0);
    assert_eq!(w.get(other, b"flag").expect("read"), None);
    let outcome = r
        .put(other, b"flag", b"set")
        .and_then(|()| r.commit())
        .and_then(|_| w.commit());
    assert!(
        matches!(outcome, Err(Error::SerializationFailure(_))),
        "both committed: {outcome:?}"
    );
}

#[test]
fn first_updater_wins_still_holds_for_rows_written_after_escalating() {
    let (_dir, engine, ks) = open();
    let mut old = engine.begin(IsolationLevel::RepeatableRead);
    assert_eq!(old.get(ks, b"x").expect("read"), None);
    let mut newer = engine.begin(IsolationLevel::ReadCommitted);
    newer
        .put(ks, &key(BIG - 1), b"committed first")
        .expect("put");
    newer.commit().expect("commit");
    for n in 0..BIG - 1 {
        old.put(ks, &key(n), b"new").expect("put");
    }
    assert_eq!(
        keyspace_locks(&engine),
        vec![(ks, vec![LockMode::Exclusive])]
    );
    let lost = old.put(ks, &key(BIG - 1), b"would lose an update");
    assert!(
        matches!(lost, Err(Error::SerializationFailure(_))),
        "{lost:?}"
    );
}

/// In a clean escalated keyspace (no commit there after the snapshot) rows
/// are written without a first-updater lookup; inserts must still see the
/// rows committed before the snapshot and the transaction's own, at every
/// level, and a later transaction must still see the whole load.
#[test]
fn inserts_in_a_clean_escalated_keyspace_still_find_existing_rows() {
    for level in IsolationLevel::ALL {
        let (_dir, engine, ks) = open();
        let mut setup = engine.begin(IsolationLevel::ReadCommitted);
        setup.put(ks, &key(BIG - 1), b"before").expect("put");
        setup.commit().expect("commit");
        let mut load = engine.begin(level);
        for n in 0..BIG - 1 {
            assert!(
                load.insert(ks, &key(n), b"new").expect("insert"),
                "{level}: row {n}"
            );
        }
        assert_eq!(
            keyspace_locks(&engine),
            vec![(ks, vec![LockMode::Exclusive])]
        );
        assert!(
            !load.insert(ks, &key(BIG - 1), b"dup").expect("insert"),
            "{level}: the row committed before the snapshot is found"
        );
        assert!(
            !load.insert(ks, &key(7), b"dup").expect("insert"),
            "{level}: its own row is found"
        );
        load.delete(ks, &key(8)).expect("delete");
        assert!(
            load.insert(ks, &key(8), b"again").expect("insert"),
            "{level}: a row it deleted can be inserted again"
        );
        load.commit().expect("commit");
        let mut check = engine.begin(IsolationLevel::RepeatableRead);
        let rows: Vec<_> = check
            .scan(ks, ..)
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(rows.len(), BIG, "{level}");
        assert_eq!(
            check.get(ks, &key(BIG - 1)).expect("get"),
            Some(b"before".to_vec())
        );
        assert_eq!(
            check.get(ks, &key(8)).expect("get"),
            Some(b"again".to_vec())
        );
    }
}

#[test]
fn a_prepared_escalated_transaction_keeps_its_keyspace_through_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let id = {
        let engine = Engine::open(dir.path(), EngineOptions::default()).expect("open");
        let ks = engine.keyspace("t").expect("keyspace");
        let mut big = engine.begin(IsolationLevel::ReadCommitted);
        write_big(&mut big, ks);
        let id = big.prepare().expect("prepare");
        let mut dirty = engine.begin(IsolationLevel::ReadUncommitted);
        assert_eq!(
            dirty.get(ks, &key(BIG - 1)).expect("get"),
            Some(b"new".to_vec())
        );
        id
    };
    let engine = Engine::open(dir.path(), EngineOptions::default()).expect("reopen");
    let ks = engine.keyspace("t").expect("keyspace");
    // Nobody can escalate over the prepared rows.
    let mut other = engine.begin(IsolationLevel::ReadCommitted);
    for n in 0..BIG {
        let row = format!("other{n:06}").into_bytes();
        other
            .put(ks, &row, b"x")
            .expect("put beside the prepared rows");
    }
    assert!(
        keyspace_locks(&engine).is_empty(),
        "{:?}",
        keyspace_locks(&engine)
    );
    let blocked = other.lock_and_read(ks, &key(3), LockMode::Exclusive, WaitPolicy::NoWait);
    assert!(matches!(blocked, Err(Error::LockTimeout(_))), "{blocked:?}");
    engine.commit_prepared(id).expect("commit prepared");
    let mut reader = engine.begin(IsolationLevel::ReadCommitted);
    assert_eq!(
        reader.get(ks, &key(BIG - 1)).expect("get"),
        Some(b"new".to_vec())
    );
}
