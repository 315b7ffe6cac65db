//! Long flat expressions and wide literals: what ARCHITECTURE.md promises.
//!
//! - A left-deep chain of operators (`1 + 1 + ...`, `id = 1 OR id = 2 OR
//!   ...`, `a || b || ...`, `... AND ...`) is not nesting: chains of up to
//!   20,000 operators are bound, planned and evaluated (on a thread with
//!   the default 2 MiB stack), one more is 54001.
//! - An integer literal beyond 64 bits is an error (22003), never a double
//!   that silently changes its value.

use isodb::{Database, Session};

/// The documented limit of operators in one chain.
const MAX_CHAIN_OPERATORS: usize = 20_000;
/// Rows in the test table (ids 1 to ROWS).
const ROWS: i64 = 2_000;

/// Runs `test` on a thread with a 2 MiB stack (Rust's default for spawned
/// threads, and less than a main thread gets), so a recursion per term
/// would overflow here.
fn on_small_stack(test: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(test)
        .expect("spawn")
        .join()
        .expect("the test thread did not overflow or panic");
}

fn session() -> (Database, Session) {
    let db = Database::open_temporary().expect("open temporary database");
    let mut session = db.session();
    session
        .execute("CREATE TABLE t (id INT PRIMARY KEY, name TEXT NOT NULL)")
        .expect("create");
    let values: Vec<String> = (1..=ROWS).map(|i| format!("({i}, 'n{i}')")).collect();
    session
        .execute(&format!("INSERT INTO t VALUES {}", values.join(", ")))
        .expect("insert");
    (db, session)
}

fn single_integer(session: &mut Session, sql: &str) -> i64 {
    let rows = session.query(sql, &[]).unwrap_or_else(|e| panic!("{e}"));
    rows[0].get::<i64>(0).expect("an integer")
}

fn error_code(session: &mut Session, sql: &str) -> Option<&'static str> {
    session.query(sql, &[]).err().map(|e| e.sqlstate())
}

#[test]
fn a_chain_of_twenty_thousand_additions_is_evaluated_and_one_more_is_refused() {
    on_small_stack(|| {
        let (_db, mut s) = session();
        let sum = |operators: usize| format!("SELECT 1{}", " + 1".repeat(operators));
        assert_eq!(
            single_integer(&mut s, &sum(MAX_CHAIN_OPERATORS)),
            MAX_CHAIN_OPERATORS as i64 + 1
        );
        assert_eq!(
            error_code(&mut s, &sum(MAX_CHAIN_OPERATORS + 1)),
            Some("54001")
        );
        // Mixed operators of one group keep their left-to-right order.
        let mixed = format!("SELECT 100{}", " - 1 + 2".repeat(MAX_CHAIN_OPERATORS / 2));
        assert_eq!(
            single_integer(&mut s, &mixed),
            100 + MAX_CHAIN_OPERATORS as i64 / 2
        );
        assert_eq!(single_integer(&mut s, "SELECT 2 * 3 + 4 * 5 - 6 / 2"), 23);
        assert_eq!(single_integer(&mut s, "SELECT 100 - 10 - 1"), 89);
    });
}

#[test]
fn a_ten_thousand_term_or_list_in_where_finds_its_rows() {
    on_small_stack(|| {
        let (_db, mut s) = session();
        // 10,000 equalities joined by 9,999 ORs: 19,999 operators.
        let terms: Vec<String> = (1..=10_000).map(|i| format!("id = {}", i * 2)).collect();
        let sql = format!("SELECT count(*) FROM t WHERE {}", terms.join(" OR "));
        assert_eq!(single_integer(&mut s, &sql), ROWS / 2);
        let over: Vec<String> = (1..=10_001).map(|i| format!("id = {i}")).collect();
        let sql = format!("SELECT count(*) FROM t WHERE {}", over.join(" OR "));
        assert_eq!(error_code(&mut s, &sql), Some("54001"));
        // A prepared statement with the chain plans once and runs again.
        let terms: Vec<String> = (1..=5_000)
            .map(|i| format!("name = 'n{}'", i * 3))
            .collect();
        let sql = format!("SELECT count(*) FROM t WHERE {}", terms.join(" OR "));
        let prepared = s.prepare(&sql).expect("prepare");
        for _ in 0..2 {
            let rows = s.query(&prepared, &[]).expect("query");
            assert_eq!(rows[0].get::<i64>(0).ok(), Some(ROWS / 3));
        }
    });
}

#[test]
fn a_ten_thousand_term_and_list_is_split_into_conjuncts_and_planned() {
    on_small_stack(|| {
        let (_db, mut s) = session();
        // ids 1..=10,000 excluded one by one: 9,999 ANDs and 10,000 <>s.
        let terms: Vec<String> = (1..=10_000).map(|i| format!("id <> {i}")).collect();
        let sql = format!("SELECT count(*) FROM t WHERE {}", terms.join(" AND "));
        assert_eq!(single_integer(&mut s, &sql), 0);
        let sql = format!(
            "SELECT count(*) FROM t WHERE {}",
            terms[..ROWS as usize - 10].join(" AND ")
        );
        assert_eq!(single_integer(&mut s, &sql), 10);
        // The conjuncts still pick an access path: the key equality wins.
        let sql = format!(
            "EXPLAIN SELECT name FROM t WHERE id = 7 AND {}",
            terms[10..].join(" AND ")
        );
        let plan = s.query(&sql, &[]).expect("explain");
        let text: Vec<String> = (0..plan.len())
            .map(|i| plan[i].get::<String>(0).expect("text"))
            .collect();
        assert!(text.join("\n").contains("lookup"), "{}", text.join("\n"));
        let sql = format!(
            "UPDATE t SET name = 'changed' WHERE id > 0 AND {}",
            terms[..ROWS as usize - 10].join(" AND ")
        );
        assert_eq!(s.execute(&sql).expect("update"), 10);
        assert_eq!(
            single_integer(&mut s, "SELECT count(*) FROM t WHERE name = 'changed'"),
            10
        );
    });
}

#[test]
fn a_twenty_thousand_way_concatenation_is_one_string() {
    on_small_stack(|| {
        let (_db, mut s) = session();
        let sql = format!("SELECT 'x'{}", " || 'x'".repeat(MAX_CHAIN_OPERATORS));
        let rows = s.query(&sql, &[]).expect("concatenation");
        assert_eq!(
            rows[0].get::<String>(0).map(|v| v.len()).ok(),
            Some(MAX_CHAIN_OPERATORS + 1)
        );
        let sql = format!("SELECT 'x'{}", " || 'x'".repeat(MAX_CHAIN_OPERATORS + 1));
        assert_eq!(error_code(&mut s, &sql), Some("54001"));
    });
}

#[test]
fn chained_operands_are_typed_as_nested_operators_would_be() {
    let (_db, mut s) = session();
    assert_eq!(single_integer(&mut s, "SELECT '1' + 2 + 3 + 4"), 10);
    assert_eq!(single_integer(&mut s, "SELECT 1 + 2 + '3' + 4"), 10);
    assert_eq!(error_code(&mut s, "SELECT 1 + 2 + 'x' + 4"), Some("22P02"));
    assert_eq!(
        error_code(&mut s, "SELECT 1 + 2 + name FROM t"),
        Some("42883")
    );
    assert_eq!(
        error_code(&mut s, "SELECT count(*) FROM t WHERE id = 1 OR id = 2 OR 3"),
        Some("42804")
    );
    let rows = s
        .query("SELECT 'a' || name || 'b' || id FROM t WHERE id = 3", &[])
        .expect("concat");
    assert_eq!(rows[0].get::<String>(0).ok().as_deref(), Some("an3b3"));
}

#[test]
fn integer_literals_beyond_sixty_four_bits_are_an_error_not_a_double() {
    let (_db, mut s) = session();
    assert_eq!(
        error_code(
            &mut s,
            "SELECT 99999999999999999999999 = 100000000000000000000000"
        ),
        Some("22003")
    );
    assert_eq!(
        error_code(&mut s, "SELECT 9223372036854775808"),
        Some("22003")
    );
    assert_eq!(
        error_code(&mut s, "SELECT -9223372036854775809"),
        Some("22003")
    );
    assert_eq!(
        error_code(&mut s, "INSERT INTO t VALUES (18446744073709551616, 'big')"),
        Some("22003")
    );
    let error = s.query("SELECT 99999999999999999999999", &[]).unwrap_err();
    assert!(error.to_string().contains("NUMERIC"), "{error}");
    assert_eq!(
        single_integer(&mut s, "SELECT 9223372036854775807"),
        i64::MAX
    );
    assert_eq!(
        single_integer(&mut s, "SELECT -9223372036854775808"),
        i64::MIN
    );
    // Literals with a fraction or an exponent are still doubles.
    let rows = s.query("SELECT 1e30, 2.5", &[]).expect("doubles");
    assert_eq!(rows[0].get::<f64>(0).ok(), Some(1e30));
    assert_eq!(rows[0].get::<f64>(1).ok(), Some(2.5));
}
