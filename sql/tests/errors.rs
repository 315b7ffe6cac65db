//! Every failure is a typed error with its SQLSTATE, and a failed
//! autocommit statement changes nothing.

use isodb::{Database, Session};

fn session() -> (Database, Session) {
    let db = Database::open_temporary().expect("open temporary database");
    let mut session = db.session();
    session
        .execute(
            "CREATE TABLE t (id INT PRIMARY KEY, name TEXT NOT NULL, n INT, u INT UNIQUE);
             INSERT INTO t VALUES (1, 'a', 10, 100), (2, 'b', NULL, 200);",
        )
        .expect("setup");
    (db, session)
}

fn code(session: &mut Session, sql: &str) -> &'static str {
    match session.execute(sql) {
        Ok(_) => panic!("{sql} should fail"),
        Err(e) => e.sqlstate(),
    }
}

#[test]
fn each_error_has_its_sqlstate() {
    let (_db, mut s) = session();
    let cases = [
        ("SELEKT 1", "42601"),
        ("SELECT * FROM missing", "42P01"),
        ("SELECT nope FROM t", "42703"),
        ("SELECT x.id FROM t", "42P01"),
        ("CREATE TABLE t (x INT)", "42P07"),
        ("INSERT INTO t VALUES (1, 'dup', 0, 0)", "23505"),
        ("INSERT INTO t VALUES (3, 'c', 0, 100)", "23505"),
        ("INSERT INTO t (id) VALUES (3)", "23502"),
        ("UPDATE t SET name = NULL WHERE id = 1", "23502"),
        ("INSERT INTO t VALUES (3, 'c', true, 0)", "42804"),
        ("SELECT 1 FROM t WHERE n", "42804"),
        ("SELECT n / 0 FROM t WHERE id = 1", "22012"),
        (
            "SELECT 9223372036854775807 + n FROM t WHERE id = 1",
            "22003",
        ),
        ("SELECT 'a' + 1", "22P02"),
        ("SELECT name + 1 FROM t", "42883"),
        ("SELECT id FROM t WHERE name = 1", "42883"),
        ("SELECT foo(1)", "42883"),
        ("SELECT CAST('x' AS INT)", "22P02"),
        ("SELECT id, count(*) FROM t", "42803"),
        ("SELECT 1 FROM t WHERE count(*) > 1", "42803"),
        ("SELECT (SELECT id FROM t)", "21000"),
        ("DROP TABLE missing", "42P01"),
        ("DROP INDEX missing", "42704"),
        ("CREATE TABLE z (a INT, a INT)", "42701"),
        (
            "CREATE TABLE z (a INT PRIMARY KEY, b INT PRIMARY KEY)",
            "42P16",
        ),
        ("CREATE TABLE z (a BLOB)", "42704"),
        ("SELECT id FROM t LIMIT -1", "2201W"),
        ("SELECT id FROM t ORDER BY 5", "42P10"),
        ("SELECT DISTINCT name FROM t ORDER BY n", "42P10"),
        ("COMMIT AND CHAIN", "0A000"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "0A000"),
        ("SELECT id FROM t, t", "42702"),
    ];
    for (sql, expected) in cases {
        assert_eq!(code(&mut s, sql), expected, "{sql}");
    }
}

#[test]
fn syntax_errors_report_the_position() {
    let (_db, mut s) = session();
    let error = s.execute("SELECT 1 FROM t WHERE").unwrap_err();
    assert_eq!(error.sqlstate(), "42601");
    let isodb::Error::SyntaxError { position, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*position, Some((1, 22)));
    assert!(
        error
            .to_string()
            .starts_with("syntax error at line 1, column 22"),
        "{error}"
    );
}

#[test]
fn a_failed_autocommit_statement_changes_nothing() {
    let (_db, mut s) = session();
    let error = s
        .execute("INSERT INTO t VALUES (3, 'c', 0, 300), (4, 'd', 0, 400), (1, 'dup', 0, 500)")
        .unwrap_err();
    assert_eq!(error.sqlstate(), "23505");
    let count = s.query("SELECT count(*) FROM t", &[]).expect("count");
    assert_eq!(count[0].get::<i64>(0).ok(), Some(2));
    let error = s.execute("UPDATE t SET n = 10 / (id - 2)").unwrap_err();
    assert_eq!(error.sqlstate(), "22012");
    let n = s.query("SELECT n FROM t WHERE id = 1", &[]).expect("n");
    assert_eq!(n[0].get::<Option<i64>>(0).ok(), Some(Some(10)));
}

#[test]
fn parameters_are_counted_and_checked() {
    let (_db, mut s) = session();
    let error = s.query("SELECT $1 + $2", &[&1]).unwrap_err();
    assert_eq!(error.sqlstate(), "08P01");
    let error = s.query("SELECT $0", &[]).unwrap_err();
    assert_eq!(error.sqlstate(), "42P02");
    let rows = s
        .query("SELECT $1 + $2, $3", &[&1, &2.5, &None::<i64>])
        .expect("params");
    assert_eq!(rows[0].get::<f64>(0).ok(), Some(3.5));
    assert_eq!(rows[0].get::<Option<i64>>(1).ok(), Some(None));
    let error = s.query("SELECT 1; SELECT 2", &[]).unwrap_err();
    assert_eq!(error.sqlstate(), "42601");
}

#[test]
fn malformed_input_never_panics() {
    let (_db, mut s) = session();
    let inputs = [
        "",
        ";",
        "SELECT",
        "SELECT (",
        "SELECT 'abc",
        "INSERT INTO t VALUES",
        "\u{0}",
        "SELECT $",
        "SELECT 1e999",
        "SELECT -9223372036854775808",
        "SELECT 99999999999999999999999",
        "SELECT * FROM t WHERE id = $1",
        "CREATE INDEX ON t (missing)",
        "SELECT * FROM (SELECT 1)",
        "SELECT t.* FROM t AS x",
        "SELECT *",
        "UPDATE t SET id = id, id = 1",
        "DELETE FROM t, t",
        "SELECT CAST(1.5 AS BOOLEAN)",
        "SELECT 1 IN (SELECT 1, 2)",
        "SELECT abs('x')",
        "SELECT 'a' LIKE 'a' ESCAPE 'xy'",
        "SELECT count(count(*)) FROM t",
        "BEGIN; BEGIN",
    ];
    for sql in inputs {
        let _ = s.execute(sql);
        let _ = s.execute("ROLLBACK");
    }
    let long_chain = format!("SELECT {}", vec!["1"; 30_000].join(" + "));
    assert_eq!(
        s.execute(&long_chain).map_err(|e| e.sqlstate()).err(),
        Some("54001")
    );
    let nested = format!("SELECT {}1{}", "(".repeat(300), ")".repeat(300));
    assert!(s.execute(&nested).is_err());
    let subqueries = format!("SELECT {}1{}", "(SELECT ".repeat(200), ")".repeat(200));
    assert!(s.execute(&subqueries).is_err());
}
