//! The system catalogs through SQL: the queries psql sends for `\dt`,
//! `\d t` and `\di` (copied from what psql 15 sends), `information_schema`,
//! the settings functions, and a block seeing its own uncommitted DDL.

mod common;

use common::{first, open, sqlstate};
use isodb::{Session, Value};

fn texts(session: &mut Session, sql: &str) -> Vec<Vec<String>> {
    session
        .query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .values()
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|v| match v {
                    Value::Null => "NULL".to_string(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

fn setup(session: &mut Session) {
    session
        .execute(
            "CREATE TABLE t (id INT PRIMARY KEY, name TEXT NOT NULL DEFAULT 'x', v INT);
             CREATE INDEX t_v ON t (v);
             CREATE UNIQUE INDEX t_name ON t (name);
             CREATE TABLE log (line TEXT)",
        )
        .expect("setup");
}

const LIST_TABLES: &str = r#"SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2"#;

#[test]
fn psql_lists_tables_and_indexes() {
    let db = open();
    let mut s = db.session();
    s.set_identity("ada", "shop");
    setup(&mut s);
    assert_eq!(
        texts(&mut s, LIST_TABLES),
        vec![
            vec!["public", "log", "table", "ada"],
            vec!["public", "t", "table", "ada"],
        ]
    );
    let indexes = r#"SELECT n.nspname as "Schema", c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'i' THEN 'index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner", c2.relname as "Table"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
     LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
     LEFT JOIN pg_catalog.pg_class c2 ON i.indrelid = c2.oid
WHERE c.relkind IN ('i','I','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2"#;
    assert_eq!(
        texts(&mut s, indexes),
        vec![
            vec!["public", "t_name", "index", "ada", "t"],
            vec!["public", "t_pkey", "index", "ada", "t"],
            vec!["public", "t_v", "index", "ada", "t"],
        ]
    );
}

#[test]
fn psql_describes_a_table() {
    let db = open();
    let mut s = db.session();
    setup(&mut s);
    let found = texts(
        &mut s,
        "SELECT c.oid, n.nspname, c.relname
         FROM pg_catalog.pg_class c
              LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default
           AND pg_catalog.pg_table_is_visible(c.oid)
         ORDER BY 2, 3",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    let oid = found[0][0].clone();
    let columns = texts(
        &mut s,
        &format!(
            "SELECT a.attname,
               pg_catalog.format_type(a.atttypid, a.atttypmod),
               (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
                FROM pg_catalog.pg_attrdef d
                WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
               a.attnotnull,
               (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
                WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
               a.attidentity,
               a.attgenerated
             FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = '{oid}' AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum"
        ),
    );
    assert_eq!(
        columns,
        vec![
            vec!["id", "bigint", "NULL", "true", "NULL", "", ""],
            vec!["name", "text", "'x'", "true", "NULL", "", ""],
            vec!["v", "bigint", "NULL", "false", "NULL", "", ""],
        ]
    );
    let indexes = texts(
        &mut s,
        &format!(
            "SELECT c2.relname, i.indisprimary, i.indisunique, i.indisclustered, i.indisvalid, pg_catalog.pg_get_indexdef(i.indexrelid, 0, true),
               pg_catalog.pg_get_constraintdef(con.oid, true), contype, condeferrable, condeferred, i.indisreplident, c2.reltablespace
             FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i
               LEFT JOIN pg_catalog.pg_constraint con ON (conrelid = i.indrelid AND conindid = i.indexrelid AND contype IN ('p','u','x'))
             WHERE c.oid = '{oid}' AND c.oid = i.indrelid AND i.indexrelid = c2.oid
             ORDER BY i.indisprimary DESC, c2.relname"
        ),
    );
    let summary: Vec<(String, String, String)> = indexes
        .iter()
        .map(|r| (r[0].clone(), r[5].clone(), r[6].clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "t_pkey".into(),
                "CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)".into(),
                "PRIMARY KEY (id)".into()
            ),
            (
                "t_name".into(),
                "CREATE UNIQUE INDEX t_name ON public.t USING btree (name)".into(),
                "NULL".into()
            ),
            (
                "t_v".into(),
                "CREATE INDEX t_v ON public.t USING btree (v)".into(),
                "NULL".into()
            ),
        ]
    );
    // The policy query: ARRAY(subquery), = ANY over an array, on an empty relation.
    let policies = texts(
        &mut s,
        &format!(
            "SELECT pol.polname, pol.polpermissive,
               CASE WHEN pol.polroles = '{{0}}' THEN NULL ELSE pg_catalog.array_to_string(array(select rolname from pg_catalog.pg_roles where oid = any (pol.polroles) order by 1),',') END
             FROM pg_catalog.pg_policy pol WHERE pol.polrelid = '{oid}' ORDER BY 1"
        ),
    );
    assert!(policies.is_empty());
    assert_eq!(
        texts(
            &mut s,
            &format!("SELECT {oid}::pg_catalog.regclass::pg_catalog.text, 't'::regclass = {oid}")
        ),
        vec![vec!["t", "true"]]
    );
    assert_eq!(
        texts(
            &mut s,
            "SELECT array_to_string(array(SELECT name FROM t ORDER BY 1), ', ')"
        ),
        vec![vec![""]]
    );
}

#[test]
fn information_schema_and_visibility_of_uncommitted_ddl() {
    let db = open();
    let mut s = db.session();
    setup(&mut s);
    assert_eq!(
        texts(
            &mut s,
            "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
             WHERE table_name = 't' ORDER BY ordinal_position"
        ),
        vec![
            vec!["id", "bigint", "NO", "NULL"],
            vec!["name", "text", "NO", "'x'"],
            vec!["v", "bigint", "YES", "NULL"],
        ]
    );
    assert_eq!(
        texts(
            &mut s,
            "SELECT constraint_name, constraint_type FROM information_schema.table_constraints ORDER BY 1"
        ),
        vec![vec!["t_name", "UNIQUE"], vec!["t_pkey", "PRIMARY KEY"]]
    );
    assert_eq!(sqlstate(&mut s, "SELECT * FROM tables"), "42P01");
    assert_eq!(sqlstate(&mut s, "SELECT * FROM nowhere.t"), "42704");

    let mut other = db.session();
    s.execute("BEGIN; CREATE TABLE fresh (a INT)")
        .expect("create");
    let count = "SELECT count(*) FROM pg_class WHERE relname = 'fresh'";
    assert_eq!(first::<i64>(&mut s, count), 1);
    assert_eq!(first::<i64>(&mut other, count), 0);
    s.execute("ROLLBACK").expect("rollback");
    assert_eq!(first::<i64>(&mut s, count), 0);
}

#[test]
fn settings_functions_and_show() {
    let db = open();
    let mut s = db.session();
    s.execute("SET application_name = 'tests'").expect("set");
    assert_eq!(
        first::<String>(&mut s, "SELECT current_setting('application_name')"),
        "tests"
    );
    assert_eq!(first::<String>(&mut s, "SHOW application_name"), "tests");
    assert_eq!(
        sqlstate(&mut s, "SELECT current_setting('no_such_thing')"),
        "42704"
    );
    assert!(
        s.query("SELECT current_setting('no_such_thing', true)", &[])
            .expect("missing ok")[0]
            .values()[0]
            .is_null()
    );
    assert!(first::<String>(&mut s, "SELECT version()").starts_with("PostgreSQL 14.0 (isodb"));
    assert_eq!(
        first::<String>(&mut s, "SELECT current_database()"),
        "isodb"
    );
    assert_eq!(
        first::<String>(&mut s, "SELECT current_setting('transaction_isolation')"),
        "serializable"
    );
    s.execute("BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL statement_timeout = '2s'; SET application_name = 'inside'")
        .expect("block");
    assert_eq!(
        first::<String>(&mut s, "SHOW transaction_isolation"),
        "read committed"
    );
    assert_eq!(first::<String>(&mut s, "SHOW statement_timeout"), "2s");
    s.execute("ROLLBACK").expect("rollback");
    assert_eq!(first::<String>(&mut s, "SHOW statement_timeout"), "0");
    assert_eq!(first::<String>(&mut s, "SHOW application_name"), "tests");
    s.execute("SET default_transaction_isolation = 'repeatable read'")
        .expect("set");
    assert_eq!(s.isolation_level(), isodb::IsolationLevel::RepeatableRead);
    s.execute("BEGIN; SELECT 1/0").expect_err("fails");
    assert_eq!(sqlstate(&mut s, "SET application_name = 'x'"), "25P02");
    assert_eq!(sqlstate(&mut s, "SHOW application_name"), "25P02");
    s.execute("ROLLBACK").expect("rollback");
    let all = s.query("SHOW ALL", &[]).expect("show all");
    assert!(
        all.iter()
            .any(|r| r.get::<String>(0).ok().as_deref() == Some("statement_timeout"))
    );
    let reported = s.take_reported_changes();
    assert!(
        reported
            .iter()
            .any(|(name, value)| *name == "application_name" && value == "tests")
    );
}
