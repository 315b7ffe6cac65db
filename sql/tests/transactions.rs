//! Transaction blocks, the failed-transaction state (25P02), transactional
//! DDL, isolation-level control in SQL, prepared statements across schema
//! changes, and several sessions on threads.

mod common;

use common::*;

use std::sync::{Arc, Barrier};
use std::thread;

use isodb::IsolationLevel;

#[test]
fn a_failed_statement_aborts_the_block_until_rollback() {
    let db = open();
    let mut s = db.session();
    s.execute("CREATE TABLE t (id INT PRIMARY KEY)")
        .expect("create");
    s.execute("BEGIN").expect("begin");
    s.execute("INSERT INTO t VALUES (1)").expect("insert");
    assert_eq!(
        s.execute("INSERT INTO t VALUES (1)")
            .unwrap_err()
            .sqlstate(),
        "23505"
    );
    assert!(s.is_failed());
    assert_eq!(s.execute("SELECT 1").unwrap_err().sqlstate(), "25P02");
    assert_eq!(
        s.execute("INSERT INTO t VALUES (2)")
            .unwrap_err()
            .sqlstate(),
        "25P02"
    );
    s.execute("ROLLBACK").expect("rollback");
    assert!(!s.in_transaction());
    assert_eq!(first::<i64>(&mut s, "SELECT count(*) FROM t"), 0);

    // COMMIT of a failed block rolls it back, as in PostgreSQL.
    s.execute("BEGIN; INSERT INTO t VALUES (5)").expect("begin");
    assert!(s.execute("SELECT 1 / 0").is_err());
    s.execute("COMMIT").expect("commit acts as rollback");
    assert_eq!(first::<i64>(&mut s, "SELECT count(*) FROM t"), 0);

    // The guard's commit reports that nothing was committed.
    let mut tx = s.transaction(IsolationLevel::Serializable).expect("tx");
    assert!(tx.execute("SELECT missing FROM t").is_err());
    assert_eq!(tx.commit().unwrap_err().sqlstate(), "25P02");
    assert!(!s.in_transaction());
}

#[test]
fn ddl_is_transactional() {
    let db = open();
    let mut a = db.session();
    let mut b = db.session();
    a.execute(
        "BEGIN; CREATE TABLE x (id INT PRIMARY KEY, v TEXT); INSERT INTO x VALUES (1, 'one')",
    )
    .expect("create in block");
    assert_eq!(first::<i64>(&mut a, "SELECT count(*) FROM x"), 1);
    assert_eq!(
        b.execute("SELECT * FROM x").unwrap_err().sqlstate(),
        "42P01"
    );
    a.execute("ROLLBACK").expect("rollback");
    assert_eq!(
        a.execute("SELECT * FROM x").unwrap_err().sqlstate(),
        "42P01"
    );

    a.execute("CREATE TABLE x (id INT PRIMARY KEY, v TEXT); INSERT INTO x VALUES (1, 'one')")
        .expect("create");
    a.execute("BEGIN; DROP TABLE x").expect("drop in block");
    assert_eq!(
        a.execute("SELECT * FROM x").unwrap_err().sqlstate(),
        "42P01"
    );
    a.execute("ROLLBACK").expect("rollback");
    assert_eq!(
        first::<String>(&mut b, "SELECT v FROM x WHERE id = 1"),
        "one"
    );

    a.execute("BEGIN; CREATE INDEX x_v ON x (v); ROLLBACK")
        .expect("index rolled back");
    let plan = b
        .query("EXPLAIN SELECT * FROM x WHERE v = 'one'", &[])
        .expect("explain");
    assert!(plan.iter().all(|r| {
        !r.get::<String>(0)
            .unwrap_or_default()
            .contains("Index scan")
    }));
    a.execute("CREATE INDEX x_v ON x (v)").expect("index");
    assert_eq!(
        a.execute("CREATE INDEX x_v ON x (id)")
            .unwrap_err()
            .sqlstate(),
        "42P07"
    );
    a.execute("CREATE INDEX IF NOT EXISTS x_v ON x (id)")
        .expect("if not exists");
    a.execute("CREATE TABLE IF NOT EXISTS x (z INT)")
        .expect("if not exists");
    assert_eq!(
        first::<String>(&mut b, "SELECT v FROM x WHERE v = 'one'"),
        "one"
    );
    a.execute("DROP INDEX x_v; DROP INDEX IF EXISTS x_v; DROP TABLE x; DROP TABLE IF EXISTS x")
        .expect("drops");
    a.execute("CREATE TABLE x (other TEXT)").expect("recreate");
    assert_eq!(first::<i64>(&mut a, "SELECT count(*) FROM x"), 0);
}

#[test]
fn isolation_level_control_in_sql() {
    let db = open();
    let mut s = db.session();
    assert_eq!(
        first::<String>(&mut s, "SHOW TRANSACTION ISOLATION LEVEL"),
        "serializable"
    );
    s.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .expect("begin");
    assert_eq!(
        first::<String>(&mut s, "SHOW TRANSACTION ISOLATION LEVEL"),
        "repeatable read"
    );
    s.execute("COMMIT").expect("commit");
    s.execute("START TRANSACTION; SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .expect("set");
    assert_eq!(
        first::<String>(&mut s, "SHOW TRANSACTION ISOLATION LEVEL"),
        "read committed"
    );
    s.execute("SELECT 1").expect("query");
    assert_eq!(
        s.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            .unwrap_err()
            .sqlstate(),
        "25001"
    );
    s.execute("ROLLBACK").expect("rollback");
    assert_eq!(
        s.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            .unwrap_err()
            .sqlstate(),
        "25P01"
    );
    s.execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
        .expect("session default");
    assert_eq!(
        first::<String>(&mut s, "SHOW transaction_isolation"),
        "read uncommitted"
    );
    assert_eq!(s.isolation_level(), IsolationLevel::ReadUncommitted);
    assert_eq!(s.execute("BEGIN; BEGIN").unwrap_err().sqlstate(), "25001");
    s.execute("ROLLBACK").expect("rollback");

    s.execute("CREATE TABLE t (id INT PRIMARY KEY)")
        .expect("create");
    s.execute("BEGIN TRANSACTION READ ONLY")
        .expect("begin read only");
    assert_eq!(
        s.execute("INSERT INTO t VALUES (1)")
            .unwrap_err()
            .sqlstate(),
        "25006"
    );
    s.execute("ROLLBACK").expect("rollback");
}

#[test]
fn snapshots_follow_the_level() {
    let db = open();
    let mut writer = db.session();
    writer
        .execute("CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1, 10)")
        .expect("setup");
    let mut reader = db.session();

    reader
        .execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .expect("begin");
    assert_eq!(
        first::<i64>(&mut reader, "SELECT v FROM t WHERE id = 1"),
        10
    );
    writer
        .execute("UPDATE t SET v = 11 WHERE id = 1")
        .expect("update");
    assert_eq!(
        first::<i64>(&mut reader, "SELECT v FROM t WHERE id = 1"),
        10
    );
    reader.execute("COMMIT").expect("commit");

    reader
        .execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        .expect("begin");
    assert_eq!(
        first::<i64>(&mut reader, "SELECT v FROM t WHERE id = 1"),
        11
    );
    writer
        .execute("UPDATE t SET v = 12 WHERE id = 1")
        .expect("update");
    assert_eq!(
        first::<i64>(&mut reader, "SELECT v FROM t WHERE id = 1"),
        12
    );
    reader.execute("COMMIT").expect("commit");
}

#[test]
fn lost_updates_fail_at_repeatable_read() {
    let db = open();
    let mut a = db.session();
    let mut b = db.session();
    a.execute("CREATE TABLE c (id INT PRIMARY KEY, n INT); INSERT INTO c VALUES (1, 0)")
        .expect("setup");
    a.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .expect("begin a");
    b.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .expect("begin b");
    assert_eq!(first::<i64>(&mut a, "SELECT n FROM c WHERE id = 1"), 0);
    assert_eq!(first::<i64>(&mut b, "SELECT n FROM c WHERE id = 1"), 0);
    a.execute("UPDATE c SET n = n + 1 WHERE id = 1")
        .expect("a updates");
    a.execute("COMMIT").expect("a commits");
    let error = b
        .execute("UPDATE c SET n = n + 1 WHERE id = 1")
        .unwrap_err();
    assert_eq!(error.sqlstate(), "40001");
    assert_eq!(b.execute("SELECT 1").unwrap_err().sqlstate(), "25P02");
    b.execute("ROLLBACK").expect("rollback");
    assert_eq!(first::<i64>(&mut b, "SELECT n FROM c"), 1);
}

#[test]
fn prepared_statements_survive_schema_changes() {
    let db = open();
    let mut s = db.session();
    s.execute("CREATE TABLE p (id INT PRIMARY KEY, v TEXT); INSERT INTO p VALUES (1, 'a')")
        .expect("setup");
    let select = s.prepare("SELECT v FROM p WHERE id = $1").expect("prepare");
    assert_eq!(select.param_count(), Some(1));
    let rows = s.query(&select, &[&1]).expect("run");
    assert_eq!(rows[0].get::<String>(0).ok(), Some("a".into()));
    s.execute("DROP TABLE p; CREATE TABLE p (extra INT, id INT PRIMARY KEY, v TEXT); INSERT INTO p VALUES (0, 1, 'b')")
        .expect("recreate");
    let rows = s.query(&select, &[&1]).expect("run after change");
    assert_eq!(rows[0].get::<String>(0).ok(), Some("b".into()));
    s.execute("DROP TABLE p").expect("drop");
    assert_eq!(s.query(&select, &[&1]).unwrap_err().sqlstate(), "42P01");
    assert_eq!(s.query(&select, &[]).unwrap_err().sqlstate(), "42P01");
    let begin = s.prepare("BEGIN").expect("prepare control");
    s.execute_with(&begin, &[]).expect("begin");
    assert!(s.in_transaction());
    s.execute("ROLLBACK").expect("rollback");
}

#[test]
fn sessions_on_threads_share_one_database() {
    let db = open();
    db.session()
        .execute("CREATE TABLE events (id INT PRIMARY KEY, worker INT NOT NULL); CREATE TABLE bag (worker INT)")
        .expect("setup");
    let workers = 4;
    let per_worker = 25;
    let barrier = Arc::new(Barrier::new(workers));
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let db = db.clone();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                let mut session = db.session();
                session.set_isolation_level(IsolationLevel::ReadCommitted);
                let insert = session
                    .prepare("INSERT INTO events VALUES ($1, $2)")
                    .expect("prepare");
                barrier.wait();
                for i in 0..per_worker {
                    let id = (w * per_worker + i) as i64;
                    session
                        .execute_with(&insert, &[&id, &(w as i64)])
                        .expect("insert");
                    session
                        .execute_with("INSERT INTO bag VALUES ($1)", &[&(w as i64)])
                        .expect("bag");
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("worker");
    }
    let mut s = db.session();
    assert_eq!(
        first::<i64>(&mut s, "SELECT count(*) FROM events"),
        (workers * per_worker) as i64
    );
    assert_eq!(
        first::<i64>(&mut s, "SELECT count(*) FROM bag"),
        (workers * per_worker) as i64
    );
    assert_eq!(
        first::<i64>(&mut s, "SELECT count(DISTINCT worker) FROM events"),
        workers as i64
    );
}

#[test]
fn run_in_transaction_retries_conflicts() {
    let db = open();
    db.session()
        .execute(
            "CREATE TABLE counter (id INT PRIMARY KEY, n INT); INSERT INTO counter VALUES (1, 0)",
        )
        .expect("setup");
    let workers = 3;
    let increments = 10;
    let barrier = Arc::new(Barrier::new(workers));
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let db = db.clone();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                for _ in 0..increments {
                    db.run_in_transaction(IsolationLevel::Serializable, |tx| {
                        let rows = tx.query("SELECT n FROM counter WHERE id = 1", &[])?;
                        let n: i64 = rows[0].get(0)?;
                        tx.execute_with("UPDATE counter SET n = $1 WHERE id = 1", &[&(n + 1)])?;
                        Ok(())
                    })
                    .expect("increment eventually commits");
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("worker");
    }
    let mut s = db.session();
    assert_eq!(
        first::<i64>(&mut s, "SELECT n FROM counter"),
        (workers * increments) as i64
    );
}

#[test]
fn concurrent_inserts_of_one_unique_value_admit_one() {
    let db = open();
    db.session()
        .execute("CREATE TABLE u (id INT PRIMARY KEY, email TEXT UNIQUE)")
        .expect("setup");
    for level in [
        IsolationLevel::ReadCommitted,
        IsolationLevel::RepeatableRead,
        IsolationLevel::Serializable,
    ] {
        db.session().execute("DELETE FROM u").expect("clear");
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2i64)
            .map(|i| {
                let db = db.clone();
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    let mut s = db.session();
                    let mut tx = s.transaction(level).expect("begin");
                    barrier.wait();
                    let inserted = tx.execute_with("INSERT INTO u VALUES ($1, 'same@x')", &[&i]);
                    let outcome = inserted.and_then(|_| tx.commit());
                    outcome.map_err(|e| e.sqlstate())
                })
            })
            .collect();
        let outcomes: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("worker"))
            .collect();
        let committed = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(committed, 1, "{level:?}: {outcomes:?}");
        for failure in outcomes.iter().filter_map(|o| o.err()) {
            assert!(
                ["23505", "40001", "40P01"].contains(&failure),
                "{level:?}: {failure}"
            );
        }
        assert_eq!(first::<i64>(&mut db.session(), "SELECT count(*) FROM u"), 1);
    }
}
