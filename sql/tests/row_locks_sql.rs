//! Row locks through SQL: `SELECT ... FOR UPDATE / FOR SHARE`, `NOWAIT`,
//! `SKIP LOCKED`, the READ COMMITTED re-check of a locked row, what a
//! locking clause refuses, and canceling a lock wait from another thread.

mod common;

use common::*;

use std::thread;
use std::time::{Duration, Instant};

use isodb::{Database, IsolationLevel, TransactionState, Value};

fn setup(db: &Database) {
    db.session()
        .execute(
            "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL);
             INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)",
        )
        .expect("setup");
}

#[test]
fn for_update_blocks_writers_until_the_locker_ends() {
    let db = open();
    setup(&db);
    let mut a = db.session();
    a.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        .expect("begin");
    assert_eq!(
        ints(&mut a, "SELECT id, v FROM t WHERE id = 1 FOR UPDATE"),
        vec![vec![1, 10]]
    );
    let mut b = db.session();
    b.set_isolation_level(IsolationLevel::ReadCommitted);
    let handle = b.cancel_handle();
    let rx = in_thread(b, |s| {
        s.execute("UPDATE t SET v = v + 1 WHERE id = 1")
            .map_err(|e| e.sqlstate().to_string())
    });
    wait_until_blocked(&db, &handle);
    // Other rows are not locked.
    a.execute("UPDATE t SET v = 100 WHERE id = 1")
        .expect("a writes");
    let mut c = db.session();
    c.execute("UPDATE t SET v = 21 WHERE id = 2")
        .expect("row 2 is free");
    a.execute("COMMIT").expect("commit");
    assert_eq!(receive(&rx).1, Ok(1));
    assert_eq!(
        ints(&mut c, "SELECT v FROM t ORDER BY id"),
        vec![vec![101], vec![21], vec![30]]
    );
}

#[test]
fn for_share_admits_other_sharers_and_blocks_updaters() {
    let db = open();
    setup(&db);
    let mut a = db.session();
    a.execute("BEGIN").expect("begin");
    assert_eq!(
        ints(&mut a, "SELECT v FROM t WHERE id = 2 FOR SHARE"),
        vec![vec![20]]
    );
    let mut b = db.session();
    b.execute("BEGIN").expect("begin");
    assert_eq!(
        ints(&mut b, "SELECT v FROM t WHERE id = 2 FOR SHARE NOWAIT"),
        vec![vec![20]]
    );
    let mut c = db.session();
    c.execute("BEGIN").expect("begin");
    assert_eq!(
        sqlstate(&mut c, "SELECT v FROM t WHERE id = 2 FOR UPDATE NOWAIT"),
        "55P03"
    );
    assert_eq!(
        sqlstate(
            &mut db.session(),
            "DELETE FROM t WHERE id = 2 AND v = 20 AND id IN (SELECT id FROM t WHERE id = 2 FOR UPDATE NOWAIT)"
        ),
        "0A000"
    );
    a.execute("COMMIT").expect("a");
    b.execute("COMMIT").expect("b");
    c.execute("ROLLBACK").expect("c");
    let mut d = db.session();
    d.execute("BEGIN").expect("begin");
    assert_eq!(
        ints(&mut d, "SELECT v FROM t WHERE id = 2 FOR UPDATE NOWAIT"),
        vec![vec![20]]
    );
    d.execute("COMMIT").expect("commit");
}

#[test]
fn nowait_fails_at_once_and_a_savepoint_recovers_the_block() {
    let db = open();
    setup(&db);
    let mut a = db.session();
    a.execute("BEGIN; SELECT * FROM t WHERE id = 1 FOR UPDATE")
        .expect("lock row 1");
    let mut b = db.session();
    b.execute("BEGIN; SAVEPOINT before_lock").expect("begin");
    let started = Instant::now();
    assert_eq!(
        sqlstate(&mut b, "SELECT * FROM t WHERE id <= 2 FOR UPDATE NOWAIT"),
        "55P03"
    );
    assert!(started.elapsed() < Duration::from_secs(2), "NOWAIT waited");
    assert_eq!(b.transaction_state(), TransactionState::Failed);
    assert_eq!(sqlstate(&mut b, "SELECT 1"), "25P02");
    b.execute("ROLLBACK TO SAVEPOINT before_lock")
        .expect("rollback to");
    assert_eq!(b.transaction_state(), TransactionState::InTransaction);
    assert_eq!(
        ints(&mut b, "SELECT id FROM t WHERE id >= 2 FOR UPDATE NOWAIT"),
        vec![vec![2], vec![3]]
    );
    b.execute("UPDATE t SET v = 0 WHERE id >= 2")
        .expect("update");
    b.execute("COMMIT").expect("commit");
    a.execute("COMMIT").expect("commit");
    assert_eq!(
        ints(&mut db.session(), "SELECT v FROM t ORDER BY id"),
        vec![vec![10], vec![0], vec![0]]
    );
}

#[test]
fn skip_locked_hands_out_each_row_once() {
    let db = open();
    db.session()
        .execute(
            "CREATE TABLE jobs (id INT PRIMARY KEY, done BOOLEAN NOT NULL);
             INSERT INTO jobs VALUES (1, false), (2, false), (3, true), (4, false), (5, false)",
        )
        .expect("setup");
    let take = "SELECT id FROM jobs WHERE NOT done ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED";
    let mut a = db.session();
    let mut b = db.session();
    a.execute("BEGIN").expect("a");
    b.execute("BEGIN").expect("b");
    assert_eq!(ints(&mut a, take), vec![vec![1]]);
    // A locked only the row it returned, so B gets the next one.
    assert_eq!(ints(&mut b, take), vec![vec![2]]);
    let mut c = db.session();
    c.execute("BEGIN").expect("c");
    assert_eq!(
        ints(
            &mut c,
            "SELECT id FROM jobs ORDER BY id DESC FOR UPDATE SKIP LOCKED"
        ),
        vec![vec![5], vec![4], vec![3]]
    );
    assert!(ints(&mut c, "SELECT id FROM jobs FOR SHARE SKIP LOCKED").len() == 3);
    c.execute("ROLLBACK").expect("c");
    a.execute("UPDATE jobs SET done = true WHERE id = 1; COMMIT")
        .expect("a done");
    // Row 1 is done, row 2 still locked by B: the next free one is 4.
    assert_eq!(ints(&mut db.session(), take), vec![vec![4]]);
    b.execute("COMMIT").expect("b");
    assert_eq!(ints(&mut db.session(), take), vec![vec![2]]);

    let plan = db
        .session()
        .query(&format!("EXPLAIN {take}"), &[])
        .expect("explain");
    let lines: Vec<String> = plan
        .iter()
        .map(|r| r.get::<String>(0).expect("text"))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Lock rows of jobs (FOR UPDATE SKIP LOCKED)")),
        "{lines:?}"
    );
}

#[test]
fn tables_without_a_primary_key_lock_by_row_id() {
    let db = open();
    db.session()
        .execute("CREATE TABLE bag (v INT); INSERT INTO bag VALUES (1), (2), (3)")
        .expect("setup");
    let mut a = db.session();
    a.execute("BEGIN").expect("begin");
    assert_eq!(
        ints(&mut a, "SELECT v FROM bag WHERE v = 2 FOR UPDATE"),
        vec![vec![2]]
    );
    let mut b = db.session();
    b.execute("BEGIN").expect("begin");
    assert_eq!(
        ints(
            &mut b,
            "SELECT v FROM bag ORDER BY v FOR UPDATE SKIP LOCKED"
        ),
        vec![vec![1], vec![3]]
    );
    b.execute("ROLLBACK").expect("rollback");
    assert_eq!(
        sqlstate(&mut b, "SELECT * FROM bag FOR UPDATE NOWAIT"),
        "55P03"
    );
    a.execute("COMMIT").expect("commit");
}

/// A writer adds 5 to row 1 and holds it; a locker at `level` takes its
/// snapshot, runs `sql` (which waits for row 1), then the writer commits.
fn locked_read(
    db: &Database,
    level: IsolationLevel,
    sql: &'static str,
) -> Result<Vec<Vec<Value>>, String> {
    let mut writer = db.session();
    writer
        .execute("BEGIN; UPDATE t SET v = v + 5 WHERE id = 1")
        .expect("writer");
    let mut locker = db.session();
    locker
        .execute(&format!("BEGIN ISOLATION LEVEL {}", level.as_sql()))
        .expect("begin");
    locker.query("SELECT 1 FROM t", &[]).expect("snapshot");
    let handle = locker.cancel_handle();
    let rx = in_thread(locker, move |s| {
        s.query(sql, &[])
            .map(|rows| rows.values())
            .map_err(|e| e.sqlstate().to_string())
    });
    wait_until_blocked(db, &handle);
    writer.execute("COMMIT").expect("commit");
    let (mut locker, result) = receive(&rx);
    locker.execute("ROLLBACK").expect("rollback");
    result
}

#[test]
fn a_locked_row_that_changed_is_rechecked_at_read_committed_and_fails_above() {
    let db = open();
    setup(&db);
    let even = "SELECT id, v FROM t WHERE id <= 2 AND v % 2 = 0 ORDER BY id FOR UPDATE";
    let row_1 = "SELECT id, v FROM t WHERE id = 1 AND v < 100 FOR SHARE";
    let int = Value::Integer;
    // Row 1 goes 10 -> 15 while the locker waits: odd now, so left out.
    assert_eq!(
        locked_read(&db, IsolationLevel::ReadCommitted, even),
        Ok(vec![vec![int(2), int(20)]])
    );
    // 15 -> 20: still matches, and the newest version is returned.
    assert_eq!(
        locked_read(&db, IsolationLevel::ReadCommitted, row_1),
        Ok(vec![vec![int(1), int(20)]])
    );
    for level in [IsolationLevel::RepeatableRead, IsolationLevel::Serializable] {
        for sql in [even, row_1] {
            assert_eq!(
                locked_read(&db, level, sql),
                Err("40001".to_string()),
                "{level}: {sql}"
            );
        }
    }
    assert_eq!(
        ints(&mut db.session(), "SELECT v FROM t WHERE id = 1"),
        vec![vec![40]]
    );
}

#[test]
fn locking_clauses_refuse_what_postgres_refuses() {
    let db = open();
    setup(&db);
    db.session()
        .execute("CREATE TABLE u (id INT PRIMARY KEY)")
        .expect("u");
    let mut s = db.session();
    for sql in [
        "SELECT count(*) FROM t FOR UPDATE",
        "SELECT DISTINCT v FROM t FOR SHARE",
        "SELECT v FROM t GROUP BY v FOR UPDATE",
        "SELECT * FROM t JOIN u ON t.id = u.id FOR UPDATE",
        "SELECT * FROM (SELECT * FROM t) AS s FOR UPDATE",
        "SELECT * FROM (VALUES (1)) AS v FOR UPDATE",
        "SELECT id FROM t UNION SELECT id FROM u FOR UPDATE",
        "SELECT * FROM t WHERE id IN (SELECT id FROM u FOR UPDATE)",
    ] {
        assert_eq!(sqlstate(&mut s, sql), "0A000", "{sql}");
    }
    assert_eq!(sqlstate(&mut s, "SELECT * FROM t FOR UPDATE OF u"), "42P01");
    assert_eq!(
        ints(
            &mut s,
            "SELECT x.id FROM t AS x WHERE x.id = 3 FOR UPDATE OF x"
        ),
        vec![vec![3]]
    );
    s.execute("START TRANSACTION READ ONLY").expect("begin");
    assert_eq!(sqlstate(&mut s, "SELECT * FROM t FOR SHARE"), "25006");
    s.execute("ROLLBACK").expect("rollback");
    // Autocommit locking reads work (and release their locks at once).
    assert_eq!(
        ints(
            &mut s,
            "SELECT id FROM t ORDER BY v DESC LIMIT 2 FOR UPDATE"
        ),
        vec![vec![3], vec![2]]
    );
    assert!(db.cluster().locks().is_empty());
}

#[test]
fn a_cancel_handle_ends_a_lock_wait_from_another_thread() {
    let db = open();
    setup(&db);
    let mut holder = db.session();
    holder
        .execute("BEGIN; UPDATE t SET v = 0 WHERE id = 3")
        .expect("hold row 3");
    let mut waiter = db.session();
    waiter.execute("BEGIN").expect("begin");
    let handle = waiter.cancel_handle();
    assert_eq!(handle.transaction_id(), waiter.transaction_id());
    assert!(!handle.cancel(), "nothing to cancel yet");
    let rx = in_thread(waiter, |s| {
        s.execute("SELECT * FROM t WHERE id = 3 FOR UPDATE")
            .map_err(|e| e.sqlstate().to_string())
    });
    wait_until_blocked(&db, &handle);
    let canceller = handle.clone();
    thread::spawn(move || canceller.cancel())
        .join()
        .map(|canceled| assert!(canceled))
        .expect("cancel thread");
    let (mut waiter, result) = receive(&rx);
    assert_eq!(result, Err("57014".to_string()));
    assert_eq!(waiter.transaction_state(), TransactionState::Failed);
    waiter.execute("ROLLBACK").expect("rollback");
    assert_eq!(waiter.transaction_state(), TransactionState::Idle);
    assert_eq!(handle.transaction_id(), None);
    holder.execute("COMMIT").expect("commit");
}
