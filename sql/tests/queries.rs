//! End-to-end queries: the SQL surface, checked against hand-computed
//! answers on small tables.

use isodb::{Database, Session, Value};

fn session() -> (Database, Session) {
    let db = Database::open_temporary().expect("open temporary database");
    let session = db.session();
    (db, session)
}

/// Runs a query and returns its rows as text (NULL as "NULL").
fn rows(session: &mut Session, sql: &str) -> Vec<Vec<String>> {
    match session.query(sql, &[]) {
        Ok(rows) => rows
            .values()
            .into_iter()
            .map(|r| r.iter().map(Value::to_string).collect())
            .collect(),
        Err(e) => panic!("{sql}: {e}"),
    }
}

fn flat(session: &mut Session, sql: &str) -> Vec<String> {
    rows(session, sql)
        .into_iter()
        .map(|r| r.join("|"))
        .collect()
}

fn setup(session: &mut Session) {
    session
        .execute(
            "CREATE TABLE t1 (a INT PRIMARY KEY, b INT, c TEXT);
             INSERT INTO t1 VALUES (1, 10, 'x'), (2, 20, 'y'), (3, 30, NULL), (4, NULL, 'x');
             CREATE TABLE t2 (id INT PRIMARY KEY, a INT, v DOUBLE);
             INSERT INTO t2 VALUES (1, 1, 1.5), (2, 1, 2.5), (3, 2, 0.5), (4, 9, 9.0);",
        )
        .expect("setup");
}

#[test]
fn projections_filters_and_expressions() {
    let (_db, mut s) = session();
    setup(&mut s);
    assert_eq!(
        flat(
            &mut s,
            "SELECT a, b * 2 + 1 FROM t1 WHERE b > 10 ORDER BY a"
        ),
        ["2|41", "3|61"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT a FROM t1 WHERE c IS NULL OR b IS NULL ORDER BY a"
        ),
        ["3", "4"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT a FROM t1 WHERE b IN (10, 30) ORDER BY a DESC"
        ),
        ["3", "1"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT a FROM t1 WHERE b BETWEEN 15 AND 30 ORDER BY 1"
        ),
        ["2", "3"]
    );
    assert_eq!(
        flat(&mut s, "SELECT a FROM t1 WHERE c LIKE 'x%' ORDER BY a"),
        ["1", "4"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT CASE WHEN b > 15 THEN 'big' WHEN b IS NULL THEN 'none' ELSE 'small' END FROM t1 ORDER BY a"
        ),
        ["small", "big", "big", "none"]
    );
    assert_eq!(
        flat(&mut s, "SELECT CAST(b AS TEXT) || c FROM t1 WHERE a = 1"),
        ["10x"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT abs(-3), lower('AbC'), upper('x'), length('héllo'), coalesce(NULL, 2)"
        ),
        ["3|abc|X|5|2"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT NOT (1 = 1), NULL AND FALSE, NULL OR TRUE, 7 / 2, 7 % 3"
        ),
        ["false|false|true|3|1"]
    );
    assert_eq!(
        flat(&mut s, "SELECT DISTINCT c FROM t1 ORDER BY c NULLS FIRST"),
        ["NULL", "x", "y"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT a FROM t1 ORDER BY b DESC NULLS LAST LIMIT 2 OFFSET 1"
        ),
        ["2", "1"]
    );
    assert_eq!(
        flat(&mut s, "SELECT a FROM t1 ORDER BY b DESC LIMIT 1"),
        ["4"]
    );
    assert_eq!(
        flat(&mut s, "SELECT a AS x FROM t1 ORDER BY x DESC LIMIT 1"),
        ["4"]
    );
}

#[test]
fn aggregates_group_by_and_having() {
    let (_db, mut s) = session();
    setup(&mut s);
    assert_eq!(
        flat(
            &mut s,
            "SELECT count(*), count(b), sum(b), min(c), max(b), avg(b) FROM t1"
        ),
        ["4|3|60|x|30|20"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT c, count(*) FROM t1 GROUP BY c HAVING count(*) >= 1 ORDER BY c NULLS LAST"
        ),
        ["x|2", "y|1", "NULL|1"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT c, sum(b) FROM t1 GROUP BY 1 HAVING sum(b) > 15 ORDER BY 2"
        ),
        ["y|20", "NULL|30"]
    );
    assert_eq!(flat(&mut s, "SELECT count(*) FROM t1 WHERE a > 100"), ["0"]);
    assert_eq!(
        flat(&mut s, "SELECT sum(b) FROM t1 WHERE a > 100"),
        ["NULL"]
    );
    assert_eq!(flat(&mut s, "SELECT count(DISTINCT c) FROM t1"), ["2"]);
    assert_eq!(
        flat(
            &mut s,
            "SELECT b % 20, count(*) FROM t1 WHERE b IS NOT NULL GROUP BY b % 20 ORDER BY count(*) DESC, 1"
        ),
        ["10|2", "0|1"]
    );
    let error = s.query("SELECT a, count(*) FROM t1", &[]).unwrap_err();
    assert_eq!(error.sqlstate(), "42803");
}

#[test]
fn joins() {
    let (_db, mut s) = session();
    setup(&mut s);
    assert_eq!(
        flat(
            &mut s,
            "SELECT t1.a, t2.id FROM t1 JOIN t2 ON t1.a = t2.a ORDER BY t2.id"
        ),
        ["1|1", "1|2", "2|3"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT x.a, y.id FROM t1 AS x LEFT JOIN t2 y ON x.a = y.a ORDER BY x.a, y.id"
        ),
        ["1|1", "1|2", "2|3", "3|NULL", "4|NULL"]
    );
    assert_eq!(
        flat(&mut s, "SELECT count(*) FROM t1 CROSS JOIN t2"),
        ["16"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT count(*) FROM t1, t2 WHERE t1.a = t2.a AND t2.v > 1"
        ),
        ["2"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT t1.a FROM t1 LEFT JOIN t2 ON t1.a = t2.a WHERE t2.id IS NULL ORDER BY 1"
        ),
        ["3", "4"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT t1.a, t2.id FROM t1 LEFT JOIN t2 ON t1.a = t2.a AND t2.v > 2 ORDER BY 1"
        ),
        ["1|2", "2|NULL", "3|NULL", "4|NULL"]
    );
    assert_eq!(
        flat(&mut s, "SELECT count(*) FROM t1 JOIN t2 ON t1.a < t2.a"),
        ["5"]
    );
    let plan = flat(&mut s, "EXPLAIN SELECT * FROM t1 JOIN t2 ON t1.a = t2.a").join("\n");
    assert!(plan.contains("Hash join (inner)"), "{plan}");
    let plan = flat(&mut s, "EXPLAIN SELECT * FROM t1 JOIN t2 ON t1.a < t2.a").join("\n");
    assert!(plan.contains("Nested loop join (inner)"), "{plan}");
}

#[test]
fn subqueries() {
    let (_db, mut s) = session();
    setup(&mut s);
    assert_eq!(
        flat(
            &mut s,
            "SELECT a, (SELECT count(*) FROM t1 AS x WHERE x.b < t1.b) FROM t1 ORDER BY a"
        ),
        ["1|0", "2|1", "3|2", "4|0"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT a FROM t1 WHERE a IN (SELECT a FROM t2) ORDER BY a"
        ),
        ["1", "2"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT a FROM t1 WHERE a NOT IN (SELECT a FROM t2) ORDER BY a"
        ),
        ["3", "4"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT a FROM t1 WHERE EXISTS (SELECT 1 FROM t2 WHERE t2.a = t1.a) ORDER BY a"
        ),
        ["1", "2"]
    );
    assert_eq!(
        flat(&mut s, "SELECT a FROM t1 WHERE b = (SELECT max(b) FROM t1)"),
        ["3"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT s.k, s.n FROM (SELECT a AS k, b + 1 AS n FROM t1 WHERE b IS NOT NULL) AS s WHERE s.n > 15 ORDER BY s.k"
        ),
        ["2|21", "3|31"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT a FROM t1 WHERE b > (SELECT avg(v) FROM t2 WHERE t2.a = t1.a) * 10 ORDER BY a"
        ),
        ["2"]
    );
    assert_eq!(
        flat(
            &mut s,
            "SELECT 1 UNION SELECT 1 UNION ALL SELECT 2 ORDER BY 1"
        ),
        ["1", "2"]
    );
    let error = s.query("SELECT (SELECT a FROM t1)", &[]).unwrap_err();
    assert_eq!(error.sqlstate(), "21000");
}

#[test]
fn dml_with_returning() {
    let (_db, mut s) = session();
    setup(&mut s);
    let inserted = s
        .query(
            "INSERT INTO t1 (a, c) VALUES (5, 'z') RETURNING a, b, c",
            &[],
        )
        .expect("insert");
    assert_eq!(
        inserted.values(),
        vec![vec![Value::Integer(5), Value::Null, Value::from("z")]]
    );
    assert_eq!(
        s.execute("UPDATE t1 SET b = b + 1 WHERE b IS NOT NULL")
            .expect("update"),
        3
    );
    assert_eq!(flat(&mut s, "SELECT sum(b) FROM t1"), ["63"]);
    assert_eq!(
        flat(&mut s, "UPDATE t1 SET a = a + 10 WHERE a <= 2 RETURNING a"),
        ["11", "12"]
    );
    assert_eq!(
        flat(&mut s, "DELETE FROM t1 WHERE c = 'x' RETURNING a"),
        ["4", "11"]
    );
    assert_eq!(
        flat(&mut s, "SELECT a FROM t1 ORDER BY a"),
        ["3", "5", "12"]
    );
    s.execute("CREATE TABLE copy (a INT, c TEXT DEFAULT 'd')")
        .expect("create");
    assert_eq!(
        s.execute("INSERT INTO copy (a) SELECT a FROM t1 WHERE a > 3")
            .expect("insert select"),
        2
    );
    assert_eq!(
        flat(&mut s, "SELECT a, c FROM copy ORDER BY a"),
        ["5|d", "12|d"]
    );
    assert_eq!(s.execute("DELETE FROM copy").expect("delete"), 2);
    assert_eq!(flat(&mut s, "SELECT count(*) FROM copy"), ["0"]);
}

/// An index-only scan returns exactly what fetching the rows returns,
/// NULLs, text keys, unique and non-unique indexes included.
#[test]
fn index_only_scans_return_what_the_rows_hold() {
    let (_db, mut s) = session();
    s.execute(
        "CREATE TABLE io (a INT, b TEXT, c INT, d BOOLEAN, e DOUBLE, PRIMARY KEY (b, a));
         CREATE INDEX io_c ON io (c, d);
         CREATE UNIQUE INDEX io_e ON io (e, a);
         INSERT INTO io VALUES
           (1, 'x', 5, true, -0.0), (2, 'y''z', 5, NULL, 2.5),
           (3, 'z', NULL, false, NULL), (4, '', 7, true, 1.0), (5, 'x', 6, false, 3.0)",
    )
    .expect("setup");
    let explain = |s: &mut Session, sql: &str| flat(s, &format!("EXPLAIN {sql}")).join("\n");
    for (covered, fetched) in [
        (
            "SELECT a, b, c, d FROM io WHERE c >= 5 ORDER BY a",
            "SELECT a, b, c, d, e FROM io WHERE c >= 5 ORDER BY a",
        ),
        (
            "SELECT b, a, d FROM io WHERE c = 5 AND d IS NULL ORDER BY a",
            "SELECT b, a, d, e FROM io WHERE c = 5 AND d IS NULL ORDER BY a",
        ),
    ] {
        assert!(explain(&mut s, covered).contains("index only"), "{covered}");
        assert!(
            !explain(&mut s, fetched).contains("index only"),
            "{fetched}"
        );
        let width = if covered.starts_with("SELECT a, b, c, d") {
            4
        } else {
            3
        };
        let covered_rows = flat(&mut s, covered);
        let fetched_rows: Vec<String> = rows(&mut s, fetched)
            .into_iter()
            .map(|row| row[..width].join("|"))
            .collect();
        assert_eq!(covered_rows, fetched_rows, "{covered}");
        assert!(!covered_rows.is_empty());
    }
    // DOUBLE columns are not taken from keys (-0.0 and 0.0 share one).
    let plan = explain(&mut s, "SELECT a, e FROM io WHERE e >= -1.0");
    assert!(
        plan.contains("using io_e") && !plan.contains("index only"),
        "{plan}"
    );
}

#[test]
fn explain_shows_the_access_path() {
    let (_db, mut s) = session();
    s.execute(
        "CREATE TABLE k (a INT, b INT, c TEXT, d INT, PRIMARY KEY (a, b));
         CREATE INDEX k_c ON k (c);
         CREATE UNIQUE INDEX k_d ON k (d);",
    )
    .expect("setup");
    let explain = |s: &mut Session, sql: &str| flat(s, &format!("EXPLAIN {sql}")).join("\n");
    let plan = explain(&mut s, "SELECT * FROM k WHERE a = 1 AND b = 2");
    assert!(
        plan.contains("Primary key lookup on k (a = 1, b = 2)"),
        "{plan}"
    );
    let plan = explain(&mut s, "SELECT * FROM k WHERE a = 1 AND b > 2");
    assert!(
        plan.contains("Primary key range scan on k (a = 1, b > 2)"),
        "{plan}"
    );
    let plan = explain(&mut s, "SELECT * FROM k WHERE c = 'x'");
    assert!(
        plan.contains("Index scan on k using k_c (c = 'x')"),
        "{plan}"
    );
    let plan = explain(&mut s, "SELECT * FROM k WHERE d BETWEEN 1 AND 5");
    assert!(
        plan.contains("Index scan on k using k_d (d >= 1, d <= 5)"),
        "{plan}"
    );
    let plan = explain(&mut s, "SELECT * FROM k WHERE b = 2");
    assert!(plan.contains("Full scan on k"), "{plan}");
    // Index-only when the query reads only the index's and the key's columns.
    let plan = explain(&mut s, "SELECT a, b, c FROM k WHERE c = 'x'");
    assert!(plan.contains("(c = 'x'), index only"), "{plan}");
    let plan = explain(&mut s, "SELECT a + b FROM k WHERE d > 1 AND a < 3 + b");
    assert!(plan.contains("using k_d (d > 1), index only"), "{plan}");
    for fetched in [
        "SELECT a, d FROM k WHERE c = 'x'",
        "SELECT * FROM k WHERE c = 'x'",
        "SELECT a FROM k WHERE c = 'x' AND d = 1",
        "SELECT a, (SELECT count(*) FROM k AS i WHERE i.a = k.a) FROM k WHERE c = 'x'",
        "SELECT a FROM k WHERE c = 'x' FOR UPDATE",
    ] {
        let plan = explain(&mut s, fetched);
        assert!(
            plan.contains("using k_c") && !plan.contains("index only"),
            "{fetched}: {plan}"
        );
    }
    let plan = explain(&mut s, "UPDATE k SET c = 'y' WHERE a = 1 AND b = 1");
    assert!(plan.contains("Primary key lookup on k"), "{plan}");
}

#[test]
fn index_and_key_scans_return_what_a_full_scan_returns() {
    let (_db, mut s) = session();
    s.execute(
        "CREATE TABLE r (id INT PRIMARY KEY, g INT, name TEXT);
         CREATE INDEX r_g ON r (g);
         CREATE UNIQUE INDEX r_name ON r (name);",
    )
    .expect("setup");
    for i in -20..20i64 {
        let name = if i % 7 == 0 {
            None
        } else {
            Some(format!("n{i}"))
        };
        let g = if i % 5 == 0 { None } else { Some(i % 4) };
        s.execute_with("INSERT INTO r VALUES ($1, $2, $3)", &[&i, &g, &name])
            .expect("insert");
    }
    let predicates = [
        "id = 3",
        "id > 5",
        "id >= -3 AND id < 4",
        "id < -15",
        "id <= -20",
        "id > 19",
        "id = 3.5",
        "id > 2.5",
        "id < 2.5",
        "id = NULL",
        "g = 1",
        "g > 1",
        "g < 2",
        "g BETWEEN 0 AND 1",
        "name = 'n3'",
        "name > 'n1'",
        "name < 'n-1'",
        "g = 2 AND id > 0",
        "1.0 = g",
    ];
    for predicate in predicates {
        let indexed = flat(
            &mut s,
            &format!("SELECT id FROM r WHERE {predicate} ORDER BY id"),
        );
        let full = flat(
            &mut s,
            &format!("SELECT id FROM r WHERE ({predicate}) OR (1 = 0 AND id = id) ORDER BY id"),
        );
        assert_eq!(indexed, full, "{predicate}");
    }
    assert_eq!(flat(&mut s, "SELECT id FROM r WHERE id = 3"), ["3"]);
    assert_eq!(flat(&mut s, "SELECT count(*) FROM r WHERE g = 1"), ["4"]);
}

#[test]
fn tables_without_primary_key_use_hidden_row_ids() {
    let (_db, mut s) = session();
    s.execute(
        "CREATE TABLE bag (x INT, y TEXT); INSERT INTO bag VALUES (1, 'a'), (1, 'a'), (2, 'b')",
    )
    .expect("setup");
    assert_eq!(
        flat(&mut s, "SELECT x, y FROM bag ORDER BY x"),
        ["1|a", "1|a", "2|b"]
    );
    assert_eq!(
        s.execute("UPDATE bag SET y = 'c' WHERE x = 1")
            .expect("update"),
        2
    );
    assert_eq!(
        s.execute("DELETE FROM bag WHERE y = 'c'").expect("delete"),
        2
    );
    assert_eq!(flat(&mut s, "SELECT * FROM bag"), ["2|b"]);
}

#[test]
fn column_metadata_and_typed_reads() {
    let (_db, mut s) = session();
    setup(&mut s);
    let result = s.query("SELECT t1.a, c AS label, v, NULL, b > 1 FROM t1 JOIN t2 ON t1.a = t2.id WHERE t1.a = 1", &[]).expect("query");
    let names: Vec<&str> = result.columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "label", "v", "?column?", "?column?"]);
    let types: Vec<Option<isodb::DataType>> =
        result.columns().iter().map(|c| c.data_type).collect();
    use isodb::DataType::*;
    assert_eq!(
        types,
        [Some(Integer), Some(Text), Some(Double), None, Some(Boolean)]
    );
    let row = &result[0];
    assert_eq!(row.get::<i64>("a").ok(), Some(1));
    assert_eq!(row.get::<String>("label").ok(), Some("x".into()));
    assert_eq!(row.get::<f64>(2).ok(), Some(1.5));
    assert_eq!(row.get::<Option<i64>>(3).ok(), Some(None));
    assert_eq!(row.get::<bool>(4).ok(), Some(true));
    assert_eq!(
        row.get::<i64>("label").map_err(|e| e.sqlstate()),
        Err("42804")
    );
    assert_eq!(
        row.get::<i64>("nope").map_err(|e| e.sqlstate()),
        Err("42703")
    );
    assert_eq!(row.get::<i64>(9).map_err(|e| e.sqlstate()), Err("42703"));
}
