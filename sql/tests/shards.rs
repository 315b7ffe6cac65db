//! A database of several shards through SQL: placement (hash of the primary
//! key, `PARTITION BY HASH`, `PARTITION BY RANGE`), which shards a statement
//! touches (EXPLAIN), queries that read every shard answering as on one,
//! rows that move when their shard key changes, the PostgreSQL rule that
//! unique constraints contain the shard key (0A000), DDL on every shard,
//! reopening, and `PREPARE TRANSACTION` / `COMMIT PREPARED` / `ROLLBACK
//! PREPARED` / `SHOW prepared_transactions`.

use isodb::{Database, DatabaseOptions, Durability, IsolationLevel, Value};

fn options(shards: u16) -> DatabaseOptions {
    DatabaseOptions {
        durability: Durability::NoSync,
        shards: Some(shards),
        ..DatabaseOptions::default()
    }
}

fn open(shards: u16) -> Database {
    Database::open_temporary_with(options(shards)).expect("open")
}

fn explain(session: &mut isodb::Session, sql: &str) -> Vec<String> {
    session
        .query(&format!("EXPLAIN {sql}"), &[])
        .expect("explain")
        .iter()
        .map(|r| r.get(0).expect("text"))
        .collect()
}

fn ints(session: &mut isodb::Session, sql: &str) -> Vec<Vec<i64>> {
    session
        .query(sql, &[])
        .expect(sql)
        .iter()
        .map(|row| {
            row.values()
                .iter()
                .map(|value| match value {
                    Value::Integer(n) => *n,
                    other => panic!("{sql}: not an integer: {other:?}"),
                })
                .collect()
        })
        .collect()
}

/// Rows per shard of table `name`, from EXPLAIN-free engine reads.
fn rows_per_shard(db: &Database, name: &str) -> Vec<usize> {
    let table = db.table(name).expect("tables").expect("table");
    (0..db.shard_count())
        .map(|shard| {
            let engine = db.cluster().engine(shard).expect("up");
            let ks = isodb_engine::txn::Keyspace::new(table.keyspace).on_shard(shard);
            let mut txn = engine.begin(IsolationLevel::RepeatableRead);
            txn.scan(ks, ..).expect("scan").count()
        })
        .collect()
}

#[test]
fn rows_spread_over_the_shards_and_queries_answer_as_on_one_shard() {
    let sharded = open(4);
    let single = open(1);
    for db in [&sharded, &single] {
        let mut s = db.session();
        s.execute(
            "CREATE TABLE t (id INT PRIMARY KEY, grp INT NOT NULL, v TEXT);
             CREATE INDEX t_grp ON t (grp)",
        )
        .expect("create");
        for id in 0..200 {
            s.execute(&format!("INSERT INTO t VALUES ({id}, {}, 'v{id}')", id % 7))
                .expect("insert");
        }
    }
    let spread = rows_per_shard(&sharded, "t");
    assert_eq!(spread.iter().sum::<usize>(), 200);
    assert!(spread.iter().all(|&n| n > 20), "rows per shard: {spread:?}");
    let queries = [
        "SELECT id, grp FROM t ORDER BY id",
        "SELECT id FROM t WHERE id BETWEEN 50 AND 60",
        "SELECT id FROM t WHERE grp = 3 ORDER BY id DESC",
        "SELECT grp, count(*) FROM t GROUP BY grp ORDER BY grp",
        "SELECT a.id, b.id FROM t a JOIN t b ON a.id = b.grp WHERE a.id < 3 ORDER BY 1, 2",
        "SELECT count(*) FROM t WHERE id IN (SELECT grp FROM t)",
        "SELECT id FROM t ORDER BY id LIMIT 5 OFFSET 100",
    ];
    let (mut a, mut b) = (sharded.session(), single.session());
    for sql in queries {
        assert_eq!(ints(&mut a, sql), ints(&mut b, sql), "{sql}");
    }
    // An index scan over every shard keeps the index order.
    let plan = explain(&mut a, "SELECT id FROM t WHERE grp >= 5");
    assert!(
        plan.iter()
            .any(|l| l.contains("Index scan on t using t_grp") && l.ends_with("[all 4 shards]")),
        "{plan:?}"
    );
}

#[test]
fn explain_says_which_shards_a_plan_touches() {
    let db = open(4);
    let mut s = db.session();
    s.execute(
        "CREATE TABLE o (id INT, cust INT, total INT, PRIMARY KEY (id, cust)) PARTITION BY HASH (cust)",
    )
    .expect("create");
    let lookup = explain(&mut s, "SELECT * FROM o WHERE id = 1 AND cust = 7");
    assert!(
        lookup
            .iter()
            .any(|l| l.contains("Primary key lookup") && l.contains("[shard ")),
        "{lookup:?}"
    );
    let by_customer = explain(&mut s, "SELECT * FROM o WHERE cust = 7");
    assert!(
        by_customer
            .iter()
            .any(|l| l.contains("[shard ") && l.contains(" of 4]")),
        "{by_customer:?}"
    );
    let parameter: Vec<String> = s
        .query("EXPLAIN SELECT * FROM o WHERE cust = $1", &[&7])
        .expect("explain")
        .iter()
        .map(|r| r.get(0).expect("text"))
        .collect();
    assert!(
        parameter.iter().any(|l| l.ends_with("[one of 4 shards]")),
        "{parameter:?}"
    );
    let everything = explain(&mut s, "SELECT * FROM o WHERE total > 5");
    assert!(
        everything.iter().any(|l| l.ends_with("[all 4 shards]")),
        "{everything:?}"
    );
    // All of one customer's orders are on one shard, and the pruned scan finds them all.
    for id in 0..40 {
        s.execute(&format!("INSERT INTO o VALUES ({id}, {}, {id})", id % 3))
            .expect("insert");
    }
    let spread = rows_per_shard(&db, "o");
    assert!(
        spread.iter().filter(|&&n| n > 0).count() <= 3,
        "three customers: {spread:?}"
    );
    let by_cust = ints(&mut s, "SELECT count(*) FROM o WHERE cust = 1");
    assert_eq!(by_cust, vec![vec![13]]);
    let prepared = s
        .prepare("SELECT count(*) FROM o WHERE cust = $1")
        .expect("prepare");
    let rows = s.query(&prepared, &[&2]).expect("query");
    assert_eq!(rows[0].get::<i64>(0).expect("count"), 13);
    // The table says how it is distributed.
    let info = db.table("o").expect("tables").expect("o");
    assert_eq!(info.distribution, "hash of (cust) over 4 shards");
}

#[test]
fn a_row_whose_shard_key_changes_moves_to_its_new_shard() {
    let db = open(4);
    let mut s = db.session();
    s.execute(
        "CREATE TABLE r (id INT PRIMARY KEY, v INT) WITH (shard_bounds = '10, 20, 30') PARTITION BY RANGE (id);
         CREATE INDEX r_v ON r (v);
         INSERT INTO r VALUES (5, 1), (15, 2), (25, 3), (35, 4)",
    )
    .expect("setup");
    assert_eq!(rows_per_shard(&db, "r"), vec![1, 1, 1, 1]);
    s.execute("UPDATE r SET id = id + 40 WHERE id = 5")
        .expect("move");
    assert_eq!(rows_per_shard(&db, "r"), vec![0, 1, 1, 2]);
    assert_eq!(
        ints(&mut s, "SELECT id, v FROM r ORDER BY id"),
        vec![vec![15, 2], vec![25, 3], vec![35, 4], vec![45, 1]]
    );
    // The index follows the rows.
    assert_eq!(ints(&mut s, "SELECT id FROM r WHERE v = 1"), vec![vec![45]]);
    // A duplicate key is caught on its shard.
    let error = s
        .execute("INSERT INTO r VALUES (35, 9)")
        .expect_err("duplicate");
    assert_eq!(error.sqlstate(), "23505");
}

#[test]
fn unique_constraints_must_contain_the_shard_key_and_range_bounds_must_fit() {
    let db = open(4);
    let mut s = db.session();
    let refused = [
        "CREATE TABLE a (id INT PRIMARY KEY, email TEXT UNIQUE)",
        "CREATE TABLE b (id INT PRIMARY KEY, k INT) PARTITION BY HASH (k)",
        "CREATE TABLE c (v INT UNIQUE)",
    ];
    for sql in refused {
        let error = s.execute(sql).expect_err(sql);
        assert_eq!(error.sqlstate(), "0A000", "{sql}: {error}");
        assert!(error.to_string().contains("partition"), "{error}");
    }
    s.execute(
        "CREATE TABLE d (id INT, k INT, PRIMARY KEY (id, k), UNIQUE (k, id)) PARTITION BY HASH (k)",
    )
    .expect("contains the shard key");
    s.execute("CREATE TABLE e (id INT PRIMARY KEY, x INT)")
        .expect("plain");
    let error = s
        .execute("CREATE UNIQUE INDEX e_x ON e (x)")
        .expect_err("index");
    assert_eq!(error.sqlstate(), "0A000");
    let error = s
        .execute("CREATE TABLE f (id INT PRIMARY KEY) WITH (shard_bounds = '10') PARTITION BY RANGE (id)")
        .expect_err("3 bounds needed");
    assert_eq!(error.sqlstate(), "22023");
    let error = s
        .execute("CREATE TABLE g (id INT PRIMARY KEY) WITH (shard_bounds = '30, 20, 10') PARTITION BY RANGE (id)")
        .expect_err("descending");
    assert_eq!(error.sqlstate(), "22023");
    // On one shard there is no partitioning, so no such rule.
    let one = open(1);
    one.session()
        .execute("CREATE TABLE a (id INT PRIMARY KEY, email TEXT UNIQUE)")
        .expect("one shard");
}

#[test]
fn ddl_and_data_survive_a_reopen_and_the_shard_count_is_fixed() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let db = Database::open_with(dir.path(), options(3)).expect("create");
        let mut s = db.session();
        s.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1, 1), (2, 2), (3, 3), (4, 4)")
            .expect("setup");
        s.execute("BEGIN; UPDATE t SET v = v * 10; DELETE FROM t WHERE id = 4; COMMIT")
            .expect("cross-shard transaction");
    }
    let db = Database::open_with(
        dir.path(),
        DatabaseOptions {
            shards: None,
            ..options(3)
        },
    )
    .expect("reopen");
    assert_eq!(db.shard_count(), 3);
    let mut s = db.session();
    assert_eq!(
        ints(&mut s, "SELECT id, v FROM t ORDER BY id"),
        vec![vec![1, 10], vec![2, 20], vec![3, 30]]
    );
    drop(s);
    drop(db);
    let error = Database::open_with(dir.path(), options(2)).expect_err("other count");
    assert!(error.to_string().contains("3 shards"), "{error}");
}

#[test]
fn prepared_transactions_wait_for_commit_prepared_even_across_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let db = Database::open_with(dir.path(), options(2)).expect("create");
        let mut s = db.session();
        s.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT) WITH (shard_bounds = '2') PARTITION BY RANGE (id);
                   INSERT INTO t VALUES (1, 0), (2, 0)")
            .expect("setup");
        s.execute("BEGIN; UPDATE t SET v = 1; PREPARE TRANSACTION 'both'")
            .expect("prepare");
        assert!(
            !s.in_transaction(),
            "PREPARE TRANSACTION ends the session's block"
        );
        let locked = s
            .execute("BEGIN; SELECT * FROM t WHERE id = 1 FOR UPDATE NOWAIT")
            .expect_err("the row is locked by 'both'");
        assert_eq!(locked.sqlstate(), "55P03");
        s.execute("ROLLBACK").expect("rollback");
        let listed = s.query("SHOW prepared_transactions", &[]).expect("show");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].get::<String>("gid").expect("gid"), "both");
        assert_eq!(
            listed[0].get::<String>("participants").expect("shards"),
            "0, 1"
        );
        // Not visible before the decision.
        assert_eq!(
            ints(&mut s, "SELECT v FROM t ORDER BY id"),
            vec![vec![0], vec![0]]
        );
        let dup = s.execute("BEGIN; INSERT INTO t VALUES (5, 5); PREPARE TRANSACTION 'both'");
        assert_eq!(dup.expect_err("gid in use").sqlstate(), "42710");
        s.execute("ROLLBACK").expect("rollback");
    }
    let db = Database::open_with(dir.path(), options(2)).expect("reopen");
    let mut s = db.session();
    assert_eq!(
        s.query("SHOW prepared_transactions", &[])
            .expect("show")
            .len(),
        1
    );
    s.execute("BEGIN").expect("begin");
    let inside = s
        .execute("COMMIT PREPARED 'both'")
        .expect_err("inside a block");
    assert_eq!(inside.sqlstate(), "25001");
    s.execute("ROLLBACK").expect("rollback");
    s.execute("COMMIT PREPARED 'both'")
        .expect("commit prepared");
    assert_eq!(
        ints(&mut s, "SELECT v FROM t ORDER BY id"),
        vec![vec![1], vec![1]]
    );
    let gone = s.execute("COMMIT PREPARED 'both'").expect_err("finished");
    assert_eq!(gone.sqlstate(), "42704");
    s.execute("BEGIN; UPDATE t SET v = 9; PREPARE TRANSACTION 'undo'")
        .expect("prepare");
    s.execute("ROLLBACK PREPARED 'undo'")
        .expect("rollback prepared");
    assert_eq!(
        ints(&mut s, "SELECT v FROM t ORDER BY id"),
        vec![vec![1], vec![1]]
    );
    assert_eq!(
        s.query("SHOW prepared_transactions", &[])
            .expect("show")
            .len(),
        0
    );
}

#[test]
fn prepared_transactions_work_on_one_shard_too() {
    let db = open(1);
    let mut s = db.session();
    s.execute("CREATE TABLE t (id INT PRIMARY KEY); BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'g1'")
        .expect("prepare");
    assert_eq!(ints(&mut s, "SELECT count(*) FROM t"), vec![vec![0]]);
    // psql's and drivers' view of it: pg_prepared_xacts.
    let listed = s
        .query("SELECT gid, owner, prepared FROM pg_prepared_xacts", &[])
        .expect("pg_prepared_xacts");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].get::<String>("gid").expect("gid"), "g1");
    let prepared = listed[0].get::<String>("prepared").expect("prepared");
    assert!(
        prepared.ends_with("+00") && prepared.len() == 26,
        "{prepared}"
    );
    s.execute("COMMIT PREPARED 'g1'").expect("commit");
    assert_eq!(ints(&mut s, "SELECT count(*) FROM t"), vec![vec![1]]);
    let listed = s
        .query("SELECT gid FROM pg_prepared_xacts", &[])
        .expect("query");
    assert_eq!(
        listed.len(),
        0,
        "a committed transaction is no longer prepared"
    );
}

#[test]
fn concurrent_cross_shard_transfers_at_serializable_keep_the_total() {
    let db = open(4);
    db.session()
        .execute("CREATE TABLE acct (id INT PRIMARY KEY, bal INT NOT NULL)")
        .expect("create");
    for id in 0..16 {
        db.session()
            .execute(&format!("INSERT INTO acct VALUES ({id}, 100)"))
            .expect("insert");
    }
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for n in 0..60i64 {
                    let from = (n * 5 + t) % 16;
                    let to = (n * 3 + 7 + t) % 16;
                    if from == to {
                        continue;
                    }
                    db.run_in_transaction(IsolationLevel::Serializable, |tx| {
                        tx.execute(&format!("UPDATE acct SET bal = bal - 1 WHERE id = {from}"))?;
                        tx.execute(&format!("UPDATE acct SET bal = bal + 1 WHERE id = {to}"))?;
                        Ok(())
                    })
                    .expect("transfer");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
    let mut s = db.session();
    assert_eq!(ints(&mut s, "SELECT sum(bal) FROM acct"), vec![vec![1600]]);
}

/// A table without a primary key placed by a column: its rows have hidden
/// row ids, which do not name a shard, yet index lookups find every row.
#[test]
fn an_index_finds_rows_of_a_table_without_a_primary_key_placed_by_a_column() {
    let db = open(4);
    let mut s = db.session();
    s.execute(
        "CREATE TABLE events (k INT, v INT) PARTITION BY HASH (k);
         CREATE INDEX events_v ON events (v)",
    )
    .expect("setup");
    for k in 0..40 {
        s.execute(&format!("INSERT INTO events VALUES ({k}, {})", k % 5))
            .expect("insert");
    }
    let spread = rows_per_shard(&db, "events");
    assert!(spread.iter().filter(|&&n| n > 0).count() >= 3, "{spread:?}");
    let plan = explain(&mut s, "SELECT k FROM events WHERE v = 3");
    assert!(plan.iter().any(|l| l.contains("events_v")), "{plan:?}");
    assert_eq!(
        ints(&mut s, "SELECT k FROM events WHERE v = 3 ORDER BY k"),
        (0..40)
            .filter(|k| k % 5 == 3)
            .map(|k| vec![k])
            .collect::<Vec<_>>()
    );
}
