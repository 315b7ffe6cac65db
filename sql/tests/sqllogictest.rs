//! Runs the SQL logic tests in `tests/slt/*.slt` against isodb.
//!
//! The files use the sqllogictest format of SQLite's public corpus as the
//! `sqllogictest` crate reads it, with its extensions (`statement error
//! (SQLSTATE)`, `statement count N`, `connection NAME`):
//!
//! ```text
//!   statement ok                       query ITR rowsort
//!   CREATE TABLE t (a INT, b TEXT)     SELECT a, b, c FROM t
//!                                      ----
//!   statement error (42P01)            1 x 0.500
//!   SELECT * FROM missing              2 (empty) NULL
//! ```
//!
//! Each file gets a fresh temporary database; each connection name is its
//! own [`Session`] on that database (`connection NAME` runs the next record
//! only on that session; records without it run on the default one). Values are printed the way
//! SQLite's corpus prints them:
//!
//! | value            | slt text                         | type letter |
//! |------------------|----------------------------------|-------------|
//! | NULL             | `NULL`                           | any         |
//! | INTEGER          | decimal, `-3`                    | `I`         |
//! | DOUBLE           | three decimals, `0.500`          | `R`         |
//! | TEXT             | as is; `''` as `(empty)`; control characters as `@` | `T` |
//! | BOOLEAN          | `true` / `false`                 | `T`         |
//!
//! A result may be written one row per line (values separated by spaces, the
//! crate's style) or one value per line (SQLite's style); `rowsort`,
//! `valuesort` and `hash-threshold N` (results reported as `N values hashing
//! to <md5>`) behave as in SQLite's runner. Errors are reported as
//! `[SQLSTATE] message`, so `statement error 42601.*column 8` matches both
//! the code and the text. Column type letters are checked: a query declared
//! `query IT` must return an integer and a text column (a column of untyped
//! NULLs matches any letter). `<slt:ignore>` in an expected result skips
//! any text there, e.g. `<slt:ignore>Index scan on t using t_b<slt:ignore>`
//! asserts that a plan uses an index.
//!
//! `ISODB_SLT=name` runs only the files whose name contains `name`.

use std::fmt;
use std::path::{Path, PathBuf};

use isodb::{DataType, Database, Session, Value};
use sqllogictest::{DBOutput, DefaultColumnType, Normalizer, Runner};

/// An isodb error, displayed with its SQLSTATE in front.
#[derive(Debug)]
struct SltError(isodb::Error);

impl fmt::Display for SltError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.0.sqlstate(), self.0)
    }
}

impl std::error::Error for SltError {}

/// One connection of a test file: a session on the file's database.
struct SltSession {
    session: Session,
}

impl sqllogictest::DB for SltSession {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let rows = self.session.query(sql, &[]).map_err(SltError)?;
        if rows.columns().is_empty() {
            return Ok(DBOutput::StatementComplete(rows.rows_affected()));
        }
        let types = rows
            .columns()
            .iter()
            .map(|column| slt_type(column.data_type))
            .collect();
        let rows = rows
            .iter()
            .map(|row| row.values().iter().map(slt_value).collect())
            .collect();
        Ok(DBOutput::Rows { types, rows })
    }

    fn engine_name(&self) -> &str {
        "isodb"
    }

    fn error_sql_state(error: &SltError) -> Option<String> {
        Some(error.0.sqlstate().to_string())
    }
}

/// The slt type letter of a result column.
fn slt_type(data_type: Option<DataType>) -> DefaultColumnType {
    match data_type {
        Some(DataType::Integer) => DefaultColumnType::Integer,
        Some(DataType::Double) => DefaultColumnType::FloatingPoint,
        Some(DataType::Text | DataType::Boolean) => DefaultColumnType::Text,
        None => DefaultColumnType::Any,
    }
}

/// A value as SQLite's sqllogictest runner prints it.
fn slt_value(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Double(d) => format!("{d:.3}"),
        Value::Text(t) if t.is_empty() => "(empty)".to_string(),
        Value::Text(t) => t
            .chars()
            .map(|c| if c.is_control() { '@' } else { c })
            .collect(),
    }
}

/// Column types must match, except that an untyped column (`?`, all NULL)
/// matches any letter. (The crate's validator type takes `&Vec`.)
#[allow(clippy::ptr_arg)]
fn column_types_match(actual: &Vec<DefaultColumnType>, expected: &Vec<DefaultColumnType>) -> bool {
    actual.len() == expected.len()
        && actual
            .iter()
            .zip(expected)
            .all(|(a, e)| a == e || *a == DefaultColumnType::Any)
}

/// Accepts a result written one row per line or one value per line; an
/// expected result with `<slt:ignore>` markers matches by fragments (the
/// crate's own rule, used here for EXPLAIN output).
fn results_match(normalizer: Normalizer, actual: &[Vec<String>], expected: &[String]) -> bool {
    if expected.iter().any(|line| line.contains("<slt:ignore>")) {
        return sqllogictest::default_validator(normalizer, actual, expected);
    }
    let expected: Vec<String> = expected.iter().map(normalizer).collect();
    let by_row: Vec<String> = actual
        .iter()
        .map(|row| row.iter().map(normalizer).collect::<Vec<_>>().join(" "))
        .collect();
    if by_row == expected {
        return true;
    }
    let by_value: Vec<String> = actual.iter().flatten().map(normalizer).collect();
    by_value == expected
}

/// The `.slt` files to run, sorted, filtered by `ISODB_SLT`.
fn slt_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let filter = std::env::var("ISODB_SLT").unwrap_or_default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read tests/slt")
        .map(|entry| entry.expect("read tests/slt entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "slt"))
        .filter(|path| path.to_string_lossy().contains(&filter))
        .collect();
    files.sort();
    files
}

/// Runs one file on a fresh database; the error text on failure.
fn run_file(path: &Path) -> Result<(), String> {
    let db = Database::open_temporary().map_err(|e| format!("open database: {e}"))?;
    let mut runner = Runner::new(move || {
        let session = db.session();
        async move { Ok::<_, SltError>(SltSession { session }) }
    });
    runner.with_validator(results_match);
    runner.with_column_validator(column_types_match);
    runner
        .run_file(path)
        .map_err(|e| e.display(false).to_string())
}

#[test]
fn sql_logic_tests() {
    let files = slt_files();
    assert!(!files.is_empty(), "no .slt files found");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|path| {
            run_file(path)
                .err()
                .map(|e| format!("{}:\n{e}", path.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} files failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

#[test]
fn values_print_like_sqlites_corpus() {
    assert_eq!(slt_value(&Value::Null), "NULL");
    assert_eq!(slt_value(&Value::Integer(-3)), "-3");
    assert_eq!(slt_value(&Value::Double(0.5)), "0.500");
    assert_eq!(slt_value(&Value::Double(-2.0 / 3.0)), "-0.667");
    assert_eq!(slt_value(&Value::Text(String::new())), "(empty)");
    assert_eq!(slt_value(&Value::Text("a\tb".into())), "a@b");
    assert_eq!(slt_value(&Value::Boolean(true)), "true");
}
