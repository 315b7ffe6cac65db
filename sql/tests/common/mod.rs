//! Helpers shared by the SQL integration suites: opening a database,
//! reading typed results, and running a session on its own thread so that a
//! statement can really block while the test goes on.

#![allow(dead_code)] // each suite uses a different subset

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use isodb::{CancelHandle, Database, Session, Value};

/// A fresh database in a temporary directory.
pub fn open() -> Database {
    Database::open_temporary().expect("open temporary database")
}

/// The rows of a query whose values are all integers.
pub fn ints(session: &mut Session, sql: &str) -> Vec<Vec<i64>> {
    let rows = session
        .query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.values()
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|v| match v {
                    Value::Integer(i) => i,
                    other => panic!("{sql}: expected integers, got {other:?}"),
                })
                .collect()
        })
        .collect()
}

/// The first column of the first row, as `T`.
pub fn first<T: isodb::FromValue>(session: &mut Session, sql: &str) -> T {
    let rows = session
        .query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.first()
        .unwrap_or_else(|| panic!("{sql}: no rows"))
        .get::<T>(0)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The SQLSTATE of a statement that must fail.
pub fn sqlstate(session: &mut Session, sql: &str) -> String {
    match session.execute(sql) {
        Ok(_) => panic!("{sql}: expected an error"),
        Err(e) => e.sqlstate().to_string(),
    }
}

/// Runs `f` on its own thread with `session`; the receiver gets both back.
pub fn in_thread<T: Send + 'static>(
    mut session: Session,
    f: impl FnOnce(&mut Session) -> T + Send + 'static,
) -> mpsc::Receiver<(Session, T)> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let out = f(&mut session);
        let _ = tx.send((session, out));
    });
    rx
}

/// Waits until the session behind `handle` waits for a row lock.
pub fn wait_until_blocked(db: &Database, handle: &CancelHandle) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(id) = handle.transaction_id()
            && !db.cluster().waits_for(id).is_empty()
        {
            return;
        }
        assert!(Instant::now() < deadline, "the statement never blocked");
        thread::sleep(Duration::from_millis(2));
    }
}

/// The result of a statement that was blocked, once it finishes.
pub fn receive<T>(rx: &mpsc::Receiver<T>) -> T {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the blocked statement finished")
}
