//! Isolation levels through SQL: level control, READ COMMITTED's re-check
//! of rows changed under an UPDATE or DELETE, phantoms at SERIALIZABLE (and
//! no false aborts between disjoint predicates), read-only SERIALIZABLE
//! transactions.
//!
//! Phenomena shown here, per level (see /shared/ISOLATION.md):
//!
//! | phenomenon                 | READ COMMITTED        | REPEATABLE READ | SERIALIZABLE |
//! | -------------------------- | --------------------- | --------------- | ------------ |
//! | PMP for writes             | allowed (re-check)    | 40001           | 40001        |
//! | P4 lost update             | allowed, but the      | 40001           | 40001        |
//! |                            | waiter re-reads (12)  |                 |              |
//! | G2 predicate write skew    | —                     | allowed         | 40001        |
//! | disjoint predicates        | —                     | —               | both commit  |

mod common;

use common::*;

use std::thread;

use isodb::{Database, DatabaseOptions, IsolationLevel};

fn setup_xy(db: &Database) {
    db.session()
        .execute(
            "CREATE TABLE test (id INT PRIMARY KEY, value INT NOT NULL);
             INSERT INTO test VALUES (1, 10), (2, 20)",
        )
        .expect("setup");
}

#[test]
fn levels_come_from_the_database_the_session_and_the_block() {
    let db = open();
    let mut s = db.session();
    assert_eq!(
        first::<String>(&mut s, "SHOW TRANSACTION ISOLATION LEVEL"),
        "serializable"
    );
    s.execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .expect("set session characteristics");
    assert_eq!(
        first::<String>(&mut s, "SHOW TRANSACTION ISOLATION LEVEL"),
        "read committed"
    );
    assert_eq!(s.isolation_level(), IsolationLevel::ReadCommitted);
    s.execute("BEGIN").expect("begin");
    assert_eq!(
        first::<String>(&mut s, "SHOW TRANSACTION ISOLATION LEVEL"),
        "read committed"
    );
    s.execute("ROLLBACK").expect("rollback");
    s.execute("START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .expect("start");
    assert_eq!(
        first::<String>(&mut s, "SHOW TRANSACTION ISOLATION LEVEL"),
        "repeatable read"
    );
    assert_eq!(
        s.execute("CREATE TABLE t (id INT)").unwrap_err().sqlstate(),
        "25006"
    );
    s.execute("ROLLBACK").expect("rollback");
    s.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        .expect("read only by default");
    assert_eq!(
        s.execute("CREATE TABLE t (id INT)").unwrap_err().sqlstate(),
        "25006"
    );
    s.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
        .expect("read write again");
    s.execute("CREATE TABLE t (id INT)").expect("create");
    // Another session keeps the database's default.
    assert_eq!(
        first::<String>(&mut db.session(), "SHOW TRANSACTION ISOLATION LEVEL"),
        "serializable"
    );

    let rr = Database::open_temporary_with(DatabaseOptions {
        isolation_level: IsolationLevel::RepeatableRead,
        ..DatabaseOptions::default()
    })
    .expect("open");
    assert_eq!(
        first::<String>(&mut rr.session(), "SHOW TRANSACTION ISOLATION LEVEL"),
        "repeatable read"
    );
}

/// Hermitage's "PMP for write predicates": T1 adds 10 to every row while T2
/// deletes the rows with value 20.
fn pmp_for_writes(level: IsolationLevel) -> (std::result::Result<u64, String>, Vec<Vec<i64>>) {
    let db = open();
    setup_xy(&db);
    let mut t1 = db.session();
    t1.set_isolation_level(level);
    let mut t2 = db.session();
    t2.set_isolation_level(level);
    t1.execute("BEGIN; UPDATE test SET value = value + 10")
        .expect("t1 update");
    t2.execute("BEGIN").expect("t2 begin");
    let handle = t2.cancel_handle();
    let rx = in_thread(t2, |s| {
        s.execute("DELETE FROM test WHERE value = 20")
            .map_err(|e| e.sqlstate().to_string())
    });
    wait_until_blocked(&db, &handle);
    t1.execute("COMMIT").expect("t1 commit");
    let (mut t2, deleted) = receive(&rx);
    if deleted.is_ok() {
        t2.execute("COMMIT").expect("t2 commit");
    } else {
        t2.execute("ROLLBACK").expect("t2 rollback");
    }
    (
        deleted,
        ints(&mut db.session(), "SELECT id, value FROM test ORDER BY id"),
    )
}

#[test]
fn read_committed_delete_rechecks_its_where_clause_after_waiting() {
    let (deleted, rows) = pmp_for_writes(IsolationLevel::ReadCommitted);
    // Row 2 is 30 by the time T2 gets its lock: it no longer matches.
    // Row 1 became 20 but was not in T2's statement snapshot. (PostgreSQL
    // answers DELETE 0 here too.)
    assert_eq!(deleted, Ok(0));
    assert_eq!(rows, vec![vec![1, 20], vec![2, 30]]);
}

#[test]
fn repeatable_read_and_serializable_writes_on_changed_rows_fail() {
    for level in [IsolationLevel::RepeatableRead, IsolationLevel::Serializable] {
        let (deleted, rows) = pmp_for_writes(level);
        assert_eq!(deleted, Err("40001".to_string()), "{level}");
        assert_eq!(rows, vec![vec![1, 20], vec![2, 30]], "{level}");
    }
}

#[test]
fn read_committed_update_that_waited_works_on_the_newest_row() {
    let db = open();
    setup_xy(&db);
    let mut t1 = db.session();
    t1.set_isolation_level(IsolationLevel::ReadCommitted);
    let mut t2 = db.session();
    t2.set_isolation_level(IsolationLevel::ReadCommitted);
    t1.execute("BEGIN; UPDATE test SET value = value + 1 WHERE id = 1")
        .expect("t1");
    let handle = t2.cancel_handle();
    // Autocommit: the statement's own transaction waits.
    let rx = in_thread(t2, |s| {
        s.execute("UPDATE test SET value = value + 1 WHERE id = 1 AND value >= 10")
            .map_err(|e| e.sqlstate().to_string())
    });
    wait_until_blocked(&db, &handle);
    t1.execute("COMMIT").expect("commit");
    let (_, updated) = receive(&rx);
    assert_eq!(updated, Ok(1));
    // Both increments count: the waiter re-read 11, as PostgreSQL does.
    assert_eq!(
        ints(&mut db.session(), "SELECT value FROM test WHERE id = 1"),
        vec![vec![12]]
    );

    // A row deleted while the UPDATE waited is skipped.
    t1.execute("BEGIN; DELETE FROM test WHERE id = 2")
        .expect("t1");
    let mut t3 = db.session();
    t3.set_isolation_level(IsolationLevel::ReadCommitted);
    let handle = t3.cancel_handle();
    let rx = in_thread(t3, |s| {
        s.execute("UPDATE test SET value = 0 WHERE id = 2")
            .map_err(|e| e.sqlstate().to_string())
    });
    wait_until_blocked(&db, &handle);
    t1.execute("COMMIT").expect("commit");
    let (_, updated) = receive(&rx);
    assert_eq!(updated, Ok(0));
    assert_eq!(
        ints(&mut db.session(), "SELECT id, value FROM test ORDER BY id"),
        vec![vec![1, 12]]
    );
}

#[test]
fn read_committed_update_keeps_indexes_right_after_a_recheck() {
    let db = open();
    db.session()
        .execute(
            "CREATE TABLE acc (id INT PRIMARY KEY, v INT NOT NULL);
             CREATE INDEX acc_v ON acc (v);
             INSERT INTO acc VALUES (1, 10)",
        )
        .expect("setup");
    let mut t1 = db.session();
    t1.execute("BEGIN ISOLATION LEVEL READ COMMITTED; UPDATE acc SET v = 50 WHERE id = 1")
        .expect("t1");
    let mut t2 = db.session();
    t2.set_isolation_level(IsolationLevel::ReadCommitted);
    let handle = t2.cancel_handle();
    let rx = in_thread(t2, |s| {
        s.execute("UPDATE acc SET v = v + 1 WHERE id = 1")
            .map_err(|e| e.sqlstate().to_string())
    });
    wait_until_blocked(&db, &handle);
    t1.execute("COMMIT").expect("commit");
    assert_eq!(receive(&rx).1, Ok(1));
    let mut s = db.session();
    // The index holds exactly the final value: no entry left for 10 or 50.
    assert_eq!(
        ints(&mut s, "SELECT id FROM acc WHERE v = 51"),
        vec![vec![1]]
    );
    assert!(ints(&mut s, "SELECT id FROM acc WHERE v = 50").is_empty());
    assert!(ints(&mut s, "SELECT id FROM acc WHERE v = 10").is_empty());
    assert_eq!(
        ints(&mut s, "SELECT count(*) FROM acc WHERE v >= 0"),
        vec![vec![1]]
    );
}

fn setup_ranges(db: &Database) {
    db.session()
        .execute(
            "CREATE TABLE r (id INT PRIMARY KEY, v INT NOT NULL, w INT NOT NULL);
             CREATE INDEX r_v ON r (v);
             INSERT INTO r VALUES (1, 10, 1), (2, 30, 2), (3, 50, 3), (4, 70, 4)",
        )
        .expect("setup");
}

/// Two SERIALIZABLE transactions each run `read_a`/`read_b`, then write
/// `write_a`/`write_b`, then commit in order. Returns which committed.
fn two_predicates(
    db: &Database,
    level: IsolationLevel,
    (read_a, write_a): (&str, &str),
    (read_b, write_b): (&str, &str),
) -> (bool, bool) {
    let mut a = db.session();
    let mut b = db.session();
    a.execute(&format!("BEGIN ISOLATION LEVEL {}", level.as_sql()))
        .expect("a begin");
    b.execute(&format!("BEGIN ISOLATION LEVEL {}", level.as_sql()))
        .expect("b begin");
    a.query(read_a, &[]).expect("a read");
    b.query(read_b, &[]).expect("b read");
    let a_ok = a.execute(write_a).is_ok() && a.execute("COMMIT").is_ok() && !a.is_failed();
    let b_wrote = b.execute(write_b);
    let b_ok = b_wrote.is_ok() && b.execute("COMMIT").is_ok();
    a.execute("ROLLBACK").expect("end a");
    b.execute("ROLLBACK").expect("end b");
    (a_ok, b_ok)
}

#[test]
fn predicate_write_skew_over_an_index_range_aborts_at_serializable_only() {
    // Each reads both ranges' total and inserts into the other's range.
    for (level, expect_both) in [
        (IsolationLevel::RepeatableRead, true),
        (IsolationLevel::Serializable, false),
    ] {
        let db = open();
        setup_ranges(&db);
        let (a, b) = two_predicates(
            &db,
            level,
            (
                "SELECT sum(w) FROM r WHERE v BETWEEN 0 AND 39",
                "INSERT INTO r VALUES (10, 60, 0)",
            ),
            (
                "SELECT count(*) FROM r WHERE v >= 40 AND v < 80",
                "INSERT INTO r VALUES (11, 20, 0)",
            ),
        );
        assert_eq!(a && b, expect_both, "{level}: a {a}, b {b}");
        assert!(a || b, "{level}: one of them must commit");
    }
}

/// The same skew when both reads are answered from the index alone (no
/// row is read): the index range each scan registers still conflicts with
/// the other's update, which moves an entry into it.
#[test]
fn predicate_write_skew_through_index_only_scans_aborts_at_serializable_only() {
    for (level, expect_both) in [
        (IsolationLevel::RepeatableRead, true),
        (IsolationLevel::Serializable, false),
    ] {
        let db = open();
        setup_ranges(&db);
        let low = "SELECT id, v FROM r WHERE v BETWEEN 0 AND 39";
        let high = "SELECT id, v FROM r WHERE v >= 40 AND v < 80";
        let mut s = db.session();
        for read in [low, high] {
            let plan: Vec<String> = s
                .query(&format!("EXPLAIN {read}"), &[])
                .expect("explain")
                .iter()
                .map(|r| r.get(0).expect("text"))
                .collect();
            let plan = plan.join("\n");
            assert!(
                plan.contains("using r_v") && plan.contains("index only"),
                "{plan}"
            );
        }
        assert_eq!(ints(&mut s, low), [[1, 10], [2, 30]]);
        let (a, b) = two_predicates(
            &db,
            level,
            (low, "UPDATE r SET v = 60 WHERE id = 1"),
            (high, "UPDATE r SET v = 20 WHERE id = 3"),
        );
        assert_eq!(a && b, expect_both, "{level}: a {a}, b {b}");
        assert!(a || b, "{level}: one of them must commit");
    }
}

#[test]
fn phantoms_through_full_scans_and_updates_are_caught() {
    let db = open();
    setup_ranges(&db);
    // G2 from ISOLATION.md: a predicate on an unindexed column (full scan).
    let (a, b) = two_predicates(
        &db,
        IsolationLevel::Serializable,
        (
            "SELECT id FROM r WHERE w % 3 = 0",
            "INSERT INTO r VALUES (20, 99, 3)",
        ),
        (
            "SELECT id FROM r WHERE w % 3 = 0",
            "INSERT INTO r VALUES (21, 98, 6)",
        ),
    );
    assert!(a != b, "exactly one commits: a {a}, b {b}");

    // An UPDATE moving a row into the other's index range is a phantom too.
    let db = open();
    setup_ranges(&db);
    let (a, b) = two_predicates(
        &db,
        IsolationLevel::Serializable,
        (
            "SELECT count(*) FROM r WHERE v BETWEEN 0 AND 39",
            "UPDATE r SET v = 55 WHERE id = 4",
        ),
        (
            "SELECT count(*) FROM r WHERE v BETWEEN 40 AND 60",
            "UPDATE r SET v = 15 WHERE id = 3",
        ),
    );
    assert!(a != b, "exactly one commits: a {a}, b {b}");
}

#[test]
fn disjoint_predicates_never_abort_each_other() {
    let db = open();
    setup_ranges(&db);
    let rounds = 10;
    let mut aborts = 0;
    for round in 0..rounds {
        let (lo_id, hi_id) = (100 + 2 * round, 101 + 2 * round);
        let cases = [
            // Index ranges (COUNT with WHERE), inserting into one's own range.
            (
                (
                    "SELECT count(*) FROM r WHERE v BETWEEN 0 AND 39".to_string(),
                    format!("INSERT INTO r VALUES ({lo_id}, {}, 0)", 11 + round),
                ),
                (
                    "SELECT count(*) FROM r WHERE v >= 40 AND v < 80".to_string(),
                    format!("INSERT INTO r VALUES ({hi_id}, {}, 0)", 41 + round),
                ),
            ),
            // Primary-key ranges (SUM with WHERE).
            (
                (
                    "SELECT sum(w) FROM r WHERE id >= 1000 AND id < 2000".to_string(),
                    format!("INSERT INTO r VALUES ({}, 5, 0)", 1000 + round),
                ),
                (
                    "SELECT sum(w) FROM r WHERE id >= 2000 AND id < 3000".to_string(),
                    format!("INSERT INTO r VALUES ({}, 5, 0)", 2000 + round),
                ),
            ),
            // Point reads and updates of different rows.
            (
                (
                    "SELECT w FROM r WHERE id = 1".to_string(),
                    "UPDATE r SET w = w + 1 WHERE id = 1".to_string(),
                ),
                (
                    "SELECT w FROM r WHERE id = 2".to_string(),
                    "UPDATE r SET w = w + 1 WHERE id = 2".to_string(),
                ),
            ),
        ];
        for ((read_a, write_a), (read_b, write_b)) in &cases {
            let (a, b) = two_predicates(
                &db,
                IsolationLevel::Serializable,
                (read_a, write_a),
                (read_b, write_b),
            );
            aborts += usize::from(!a) + usize::from(!b);
        }
    }
    assert_eq!(aborts, 0, "false aborts in {} transactions", rounds * 6);
    assert_eq!(
        ints(&mut db.session(), "SELECT count(*) FROM r"),
        vec![vec![4 + 4 * rounds as i64]]
    );
}

#[test]
fn read_only_serializable_transactions_are_not_aborted() {
    let db = open();
    setup_xy(&db);
    let mut reader = db.session();
    reader
        .execute("START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY")
        .expect("begin");
    assert_eq!(
        ints(&mut reader, "SELECT sum(value) FROM test"),
        vec![vec![30]]
    );
    // Writers change everything the reader read, and commit.
    let mut w = db.session();
    w.execute("BEGIN; SELECT value FROM test WHERE id = 2; UPDATE test SET value = 11 WHERE id = 1; COMMIT")
        .expect("w1");
    w.execute("BEGIN; SELECT value FROM test WHERE id = 1; UPDATE test SET value = 21 WHERE id = 2; COMMIT")
        .expect("w2");
    // The reader keeps its snapshot and commits: it only has out-edges.
    assert_eq!(
        ints(&mut reader, "SELECT value FROM test ORDER BY id"),
        vec![vec![10], vec![20]]
    );
    reader.execute("COMMIT").expect("read-only commit");

    // Autocommit SELECTs run read-only and never fail, however busy.
    let mut writer = db.session();
    writer
        .execute("BEGIN; UPDATE test SET value = value + 1")
        .expect("open writer");
    for _ in 0..5 {
        assert_eq!(
            ints(&mut db.session(), "SELECT count(*) FROM test"),
            vec![vec![2]]
        );
    }
    writer.execute("COMMIT").expect("commit");
}

/// An UPDATE that keeps a row's primary key writes over it: a READ
/// UNCOMMITTED reader racing a stream of such UPDATEs always finds the row
/// (with an old or a new value), and its own UPDATE of the row affects it.
/// (UPDATE used to delete every target and then insert it again, and a
/// dirty reader could catch the row between the two.)
#[test]
fn read_uncommitted_never_sees_an_updated_row_vanish() {
    let db = open();
    db.session()
        .execute(
            "CREATE TABLE reg (k INT PRIMARY KEY, v INT, u INT UNIQUE);
             CREATE INDEX reg_v ON reg (v);
             INSERT INTO reg VALUES (1, 0, 0)",
        )
        .expect("setup");
    let writer = {
        let db = db.clone();
        thread::spawn(move || {
            let mut s = db.session();
            s.set_isolation_level(IsolationLevel::ReadCommitted);
            for _ in 0..1_500 {
                s.execute("UPDATE reg SET v = v + 1, u = u + 1 WHERE k = 1")
                    .expect("writer update");
            }
        })
    };
    let mut reader = db.session();
    reader.set_isolation_level(IsolationLevel::ReadUncommitted);
    let mut reads = 0;
    while !writer.is_finished() || reads < 100 {
        let by_key = ints(&mut reader, "SELECT v FROM reg WHERE k = 1");
        assert_eq!(by_key.len(), 1, "row 1 vanished under READ UNCOMMITTED");
        let scanned = ints(&mut reader, "SELECT count(*) FROM reg");
        assert_eq!(scanned, vec![vec![1]], "a full scan lost row 1");
        match reader.execute("UPDATE reg SET v = v WHERE k = 1") {
            Ok(n) => assert_eq!(n, 1, "UPDATE skipped an existing row"),
            Err(e) => assert_eq!(e.sqlstate(), "40P01", "unexpected error {e}"),
        }
        reads += 1;
    }
    writer.join().expect("writer thread");
    assert_eq!(
        ints(&mut reader, "SELECT v, u FROM reg"),
        vec![vec![1_500, 1_500]]
    );
}
