//! SAVEPOINT, ROLLBACK TO SAVEPOINT and RELEASE SAVEPOINT, including the
//! recovery of a failed (25P02) block, and the session's transaction state
//! and engine transaction id.

mod common;

use common::*;

use isodb::{Database, Session, TransactionState, Value};

fn open() -> Database {
    let db = Database::open_temporary().expect("open temporary database");
    db.session()
        .execute("CREATE TABLE t (id INT PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t (v)")
        .expect("setup");
    db
}

fn ids(session: &mut Session) -> Vec<i64> {
    session
        .query("SELECT id FROM t ORDER BY id", &[])
        .expect("select")
        .values()
        .into_iter()
        .map(|row| match row.as_slice() {
            [Value::Integer(id)] => *id,
            other => panic!("unexpected row {other:?}"),
        })
        .collect()
}

#[test]
fn rollback_to_undoes_writes_since_the_savepoint() {
    let db = open();
    let mut s = db.session();
    s.execute("BEGIN; INSERT INTO t VALUES (1, 'a'); SAVEPOINT one")
        .expect("first");
    s.execute("INSERT INTO t VALUES (2, 'b'); SAVEPOINT two; INSERT INTO t VALUES (3, 'c')")
        .expect("more");
    s.execute("UPDATE t SET v = 'changed' WHERE id = 1")
        .expect("update");
    assert_eq!(ids(&mut s), vec![1, 2, 3]);
    s.execute("ROLLBACK TO SAVEPOINT two").expect("to two");
    assert_eq!(ids(&mut s), vec![1, 2]);
    // The update after `two` is gone too, index entries included.
    let names = s
        .query("SELECT id FROM t WHERE v = 'a'", &[])
        .expect("index read");
    assert_eq!(names.len(), 1);
    assert!(
        s.query("SELECT id FROM t WHERE v = 'changed'", &[])
            .expect("index read")
            .is_empty()
    );
    // `two` stays open: roll back to it again.
    s.execute("DELETE FROM t").expect("delete");
    s.execute("ROLLBACK TO two").expect("to two again");
    assert_eq!(ids(&mut s), vec![1, 2]);
    s.execute("ROLLBACK TO SAVEPOINT one").expect("to one");
    assert_eq!(ids(&mut s), vec![1]);
    // `two` was taken after `one`: it is gone.
    assert_eq!(sqlstate(&mut s, "ROLLBACK TO two"), "3B001");
    assert_eq!(s.transaction_state(), TransactionState::Failed);
    s.execute("ROLLBACK TO one").expect("recover");
    s.execute("INSERT INTO t VALUES (4, 'd'); COMMIT")
        .expect("commit");
    assert_eq!(ids(&mut db.session()), vec![1, 4]);
}

#[test]
fn release_keeps_the_writes_and_forgets_later_savepoints() {
    let db = open();
    let mut s = db.session();
    s.execute(
        "BEGIN; SAVEPOINT a; INSERT INTO t VALUES (1, 'x');
         SAVEPOINT b; INSERT INTO t VALUES (2, 'y'); SAVEPOINT c",
    )
    .expect("block");
    s.execute("RELEASE SAVEPOINT b").expect("release b");
    assert_eq!(sqlstate(&mut s, "RELEASE c"), "3B001");
    s.execute("ROLLBACK").expect("rollback");

    s.execute("BEGIN; SAVEPOINT a; INSERT INTO t VALUES (1, 'x'); SAVEPOINT b; INSERT INTO t VALUES (2, 'y')")
        .expect("block");
    s.execute("RELEASE b").expect("release b");
    assert_eq!(ids(&mut s), vec![1, 2]);
    // Names may repeat: the newest one wins.
    s.execute("SAVEPOINT a; INSERT INTO t VALUES (3, 'z'); ROLLBACK TO a")
        .expect("inner a");
    assert_eq!(ids(&mut s), vec![1, 2]);
    s.execute("RELEASE a").expect("release the inner a");
    s.execute("ROLLBACK TO a")
        .expect("the outer a is still there");
    assert_eq!(ids(&mut s), Vec::<i64>::new());
    s.execute("INSERT INTO t VALUES (9, 'n'); COMMIT")
        .expect("commit");
    assert_eq!(ids(&mut db.session()), vec![9]);
}

#[test]
fn rollback_to_savepoint_makes_a_failed_block_usable_again() {
    let db = open();
    let mut s = db.session();
    s.execute("BEGIN; INSERT INTO t VALUES (1, 'a'); SAVEPOINT s")
        .expect("begin");
    // A multi-row insert that fails half-way: row 2 is written, then 1 clashes.
    assert_eq!(
        sqlstate(&mut s, "INSERT INTO t VALUES (2, 'b'), (1, 'again')"),
        "23505"
    );
    assert_eq!(s.transaction_state(), TransactionState::Failed);
    assert_eq!(sqlstate(&mut s, "SELECT 1"), "25P02");
    assert_eq!(sqlstate(&mut s, "SAVEPOINT t"), "25P02");
    assert_eq!(sqlstate(&mut s, "RELEASE s"), "25P02");
    assert!(s.transaction_id().is_some(), "the transaction is kept");
    s.execute("ROLLBACK TO SAVEPOINT s").expect("recover");
    assert_eq!(s.transaction_state(), TransactionState::InTransaction);
    assert_eq!(ids(&mut s), vec![1], "the failed statement's row 2 is gone");
    s.execute("INSERT INTO t VALUES (3, 'c'); COMMIT")
        .expect("commit");
    assert_eq!(ids(&mut db.session()), vec![1, 3]);

    // Without a savepoint, a failed block can only be rolled back.
    s.execute("BEGIN; INSERT INTO t VALUES (5, 'e')")
        .expect("begin");
    assert_eq!(sqlstate(&mut s, "SELECT 1 / 0"), "22012");
    assert_eq!(s.transaction_id(), None, "rolled back at once");
    assert_eq!(sqlstate(&mut s, "ROLLBACK TO SAVEPOINT s"), "25P02");
    s.execute("COMMIT").expect("commit means rollback");
    assert_eq!(ids(&mut s), vec![1, 3]);
}

#[test]
fn savepoint_statements_need_a_block() {
    let db = open();
    let mut s = db.session();
    assert_eq!(sqlstate(&mut s, "SAVEPOINT a"), "25P01");
    assert_eq!(sqlstate(&mut s, "ROLLBACK TO SAVEPOINT a"), "25P01");
    assert_eq!(sqlstate(&mut s, "RELEASE SAVEPOINT a"), "25P01");
    assert_eq!(s.transaction_state(), TransactionState::Idle);
    s.execute("BEGIN; SAVEPOINT a").expect("begin");
    // The level cannot change once a savepoint exists.
    assert_eq!(
        sqlstate(&mut s, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"),
        "25001"
    );
    s.execute("ROLLBACK").expect("rollback");
}

#[test]
fn locks_taken_after_a_savepoint_stay_held_after_rollback_to() {
    let db = open();
    db.session()
        .execute("INSERT INTO t VALUES (1, 'a')")
        .expect("row");
    let mut a = db.session();
    a.execute("BEGIN; SAVEPOINT s; UPDATE t SET v = 'b' WHERE id = 1; ROLLBACK TO s")
        .expect("a");
    let mut b = db.session();
    b.execute("BEGIN").expect("b");
    match b.query("SELECT * FROM t WHERE id = 1 FOR UPDATE NOWAIT", &[]) {
        Err(e) => assert_eq!(e.sqlstate(), "55P03"),
        Ok(rows) => panic!("row 1 should still be locked, got {:?}", rows.values()),
    }
    b.execute("ROLLBACK").expect("b");
    a.execute("COMMIT").expect("a");
    let rows = db
        .session()
        .query("SELECT v FROM t WHERE id = 1 FOR UPDATE NOWAIT", &[])
        .expect("free after commit");
    assert_eq!(rows[0].get::<String>(0).expect("v"), "a");
}

#[test]
fn the_session_reports_its_state_and_engine_transaction() {
    let db = open();
    let mut s = db.session();
    assert_eq!(s.transaction_state(), TransactionState::Idle);
    assert_eq!(s.transaction_id(), None);
    s.execute("BEGIN; INSERT INTO t VALUES (1, 'a')")
        .expect("begin");
    assert_eq!(s.transaction_state(), TransactionState::InTransaction);
    let id = s.transaction_id().expect("an id in a block");
    let open_ids: Vec<u64> = db.cluster().transactions().iter().map(|t| t.id).collect();
    assert!(open_ids.contains(&id), "{id} not in {open_ids:?}");
    assert!(
        db.cluster()
            .locks()
            .iter()
            .any(|l| l.holders.iter().any(|h| h.txn == id)),
        "the block's row locks carry its id"
    );
    assert_eq!(sqlstate(&mut s, "SELECT nope FROM t"), "42703");
    assert_eq!(s.transaction_state(), TransactionState::Failed);
    s.execute("ROLLBACK").expect("rollback");
    assert_eq!(s.transaction_state(), TransactionState::Idle);
    assert!(db.cluster().transactions().is_empty());
}
