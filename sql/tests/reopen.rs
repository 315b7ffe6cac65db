//! A database reopened from its directory keeps its tables, indexes and
//! rows, and hidden row ids never repeat across opens.

use isodb::Database;

#[test]
fn tables_and_rows_survive_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let db = Database::open(dir.path()).expect("create");
        let mut s = db.session();
        s.execute(
            "CREATE TABLE t (id INT PRIMARY KEY, v TEXT UNIQUE);
             CREATE INDEX t_v ON t (v);
             INSERT INTO t VALUES (1, 'a'), (2, 'b');
             CREATE TABLE bag (x INT);
             INSERT INTO bag VALUES (1), (1);",
        )
        .expect("setup");
    }
    let db = Database::open(dir.path()).expect("reopen");
    let mut s = db.session();
    let rows = s
        .query("SELECT id FROM t WHERE v = 'b'", &[])
        .expect("query");
    assert_eq!(rows[0].get::<i64>(0).ok(), Some(2));
    assert_eq!(
        s.execute("INSERT INTO t VALUES (3, 'a')")
            .unwrap_err()
            .sqlstate(),
        "23505"
    );
    s.execute("INSERT INTO bag VALUES (1)")
        .expect("insert after reopen");
    let rows = s.query("SELECT count(*) FROM bag", &[]).expect("count");
    assert_eq!(rows[0].get::<i64>(0).ok(), Some(3));
}
