//! Stopping statements: a cancel from another thread during a long join,
//! `statement_timeout` (during a scan and during a lock wait),
//! `lock_timeout`, and `idle_in_transaction_session_timeout`, each with
//! PostgreSQL's SQLSTATE and the failed-block state PostgreSQL leaves.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{first, in_thread, open, receive, sqlstate, wait_until_blocked};
use isodb::{Database, TransactionState};

/// A self-join of this table with a never-true condition runs for minutes.
const ROWS: i64 = 20_000;
const ENDLESS: &str = "SELECT count(*) FROM big a, big b WHERE a.v + b.v < 0";

fn big_table(db: &Database) {
    let mut s = db.session();
    s.execute("CREATE TABLE big (id INT PRIMARY KEY, v INT NOT NULL)")
        .expect("create");
    for chunk in 0..ROWS / 1000 {
        let values: Vec<String> = (chunk * 1000..(chunk + 1) * 1000)
            .map(|i| format!("({i}, {i})"))
            .collect();
        s.execute(&format!("INSERT INTO big VALUES {}", values.join(", ")))
            .expect("insert");
    }
}

#[test]
fn a_cancel_stops_a_long_join_and_fails_the_block() {
    let db = open();
    big_table(&db);
    let mut session = db.session();
    session.execute("BEGIN").expect("begin");
    let handle = session.cancel_handle();
    assert!(!handle.cancel(), "no statement runs yet");
    let rx = in_thread(session, |s| {
        s.execute(ENDLESS)
            .map_err(|e| (e.sqlstate(), e.to_string()))
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !handle.is_running() {
        assert!(Instant::now() < deadline, "the join never started");
        thread::sleep(Duration::from_millis(1));
    }
    thread::sleep(Duration::from_millis(50));
    let canceled_at = Instant::now();
    assert!(handle.cancel());
    let (mut session, result) = receive(&rx);
    // The join would run for minutes; it stopped at the cancel.
    assert!(canceled_at.elapsed() < Duration::from_secs(5));
    assert_eq!(
        result,
        Err((
            "57014",
            "canceling statement due to user request".to_string()
        ))
    );
    assert_eq!(session.transaction_state(), TransactionState::Failed);
    assert_eq!(sqlstate(&mut session, "SELECT 1"), "25P02");
    session.execute("ROLLBACK").expect("rollback");
    assert_eq!(first::<i64>(&mut session, "SELECT count(*) FROM big"), ROWS);
}

#[test]
fn statement_timeout_stops_a_scan_and_a_lock_wait() {
    let db = open();
    big_table(&db);
    let mut s = db.session();
    s.execute("SET statement_timeout = 100").expect("set");
    assert_eq!(first::<String>(&mut s, "SHOW statement_timeout"), "100ms");
    let error = s.execute(ENDLESS).expect_err("timed out");
    assert_eq!(error.sqlstate(), "57014");
    assert_eq!(
        error.to_string(),
        "canceling statement due to statement timeout"
    );
    // Autocommit: nothing is left open.
    assert_eq!(s.transaction_state(), TransactionState::Idle);

    let mut holder = db.session();
    holder
        .execute("BEGIN; UPDATE big SET v = 0 WHERE id = 1")
        .expect("hold row 1");
    s.execute("BEGIN").expect("begin");
    let started = Instant::now();
    let error = s
        .execute("UPDATE big SET v = 2 WHERE id = 1")
        .expect_err("timed out waiting");
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(error.sqlstate(), "57014");
    assert_eq!(s.transaction_state(), TransactionState::Failed);
    s.execute("ROLLBACK").expect("rollback");
    s.execute("RESET statement_timeout").expect("reset");
    assert_eq!(first::<String>(&mut s, "SHOW statement_timeout"), "0");
    holder.execute("COMMIT").expect("commit");
}

#[test]
fn lock_timeout_fails_the_wait_with_55p03() {
    let db = open();
    big_table(&db);
    let mut holder = db.session();
    holder
        .execute("BEGIN; UPDATE big SET v = 0 WHERE id = 5")
        .expect("hold row 5");
    let mut s = db.session();
    s.execute("SET lock_timeout = '50ms'").expect("set");
    let error = s
        .execute("DELETE FROM big WHERE id = 5")
        .expect_err("lock timeout");
    assert_eq!(error.sqlstate(), "55P03");
    assert_eq!(error.to_string(), "canceling statement due to lock timeout");
    assert!(
        error.detail().is_some_and(|d| d.contains("waited")),
        "{:?}",
        error.detail()
    );
    holder.execute("ROLLBACK").expect("rollback");
    assert_eq!(
        s.execute("DELETE FROM big WHERE id = 5").expect("delete"),
        1
    );
}

#[test]
fn a_cancel_ends_the_lock_wait_of_an_autocommit_statement() {
    let db = open();
    big_table(&db);
    let mut holder = db.session();
    holder
        .execute("BEGIN; UPDATE big SET v = 0 WHERE id = 7")
        .expect("hold row 7");
    let waiter = db.session();
    let handle = waiter.cancel_handle();
    let rx = in_thread(waiter, |s| {
        s.execute("UPDATE big SET v = 1 WHERE id = 7")
            .map_err(|e| e.sqlstate().to_string())
    });
    wait_until_blocked(&db, &handle);
    assert!(handle.cancel());
    let (_, result) = receive(&rx);
    assert_eq!(result, Err("57014".to_string()));
    holder.execute("COMMIT").expect("commit");
}

#[test]
fn an_idle_block_past_its_timeout_is_rolled_back_and_its_locks_released() {
    let db = open();
    big_table(&db);
    let mut s = db.session();
    s.execute("SET idle_in_transaction_session_timeout = 50")
        .expect("set");
    s.execute("BEGIN; UPDATE big SET v = -1 WHERE id = 9")
        .expect("update");
    let deadline = s.idle_in_transaction_deadline().expect("a deadline");
    assert!(deadline > Instant::now());
    thread::sleep(Duration::from_millis(80));
    let error = s.execute("SELECT 1").expect_err("timed out");
    assert_eq!(error.sqlstate(), "25P03");
    assert_eq!(s.transaction_state(), TransactionState::Idle);
    let mut other = db.session();
    other.execute("SET lock_timeout = 1000").expect("set");
    assert_eq!(
        other
            .execute("UPDATE big SET v = 9 WHERE id = 9")
            .expect("the lock is free"),
        1
    );
    assert_eq!(first::<i64>(&mut s, "SELECT v FROM big WHERE id = 9"), 9);
}
