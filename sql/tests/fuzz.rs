//! Fuzz-style robustness test: many random, truncated, deeply nested and
//! oversized SQL strings, each of which must end in a result or an error
//! with a SQLSTATE — never a panic, never an internal error (XX000), and
//! never a stack overflow.
//!
//! Every input runs on a worker thread with a normal 2 MiB stack (the size
//! `std::thread::spawn` gives), so a parser, planner or evaluator that
//! recurses once per nesting level overflows here as it would in a user's
//! thread. A stack overflow aborts the whole process, so the deep inputs
//! below stay within the limits found safe (see `deep_inputs`).
//!
//! Limits (see `sql/src/parse/limits.rs`), each checked here on a 2 MiB
//! stack, with inputs far past them answered 54001:
//!
//! - Parentheses, `CASE`s and runs of `NOT` together nest at most 50 deep.
//!   (sqlparser 0.63 re-reads a keyword prefix that hits its recursion limit
//!   as an identifier, so 61 nested `NOT`s used to read a column "not".)
//! - One operator chain (`1+1+...`, AND, OR, `||`) has at most 20,000
//!   operators (sqlparser drops a 30,000-term chain's AST recursively, which
//!   used to overflow the stack).
//! - An input has at most 1,000 UNION/INTERSECT/EXCEPT/JOIN clauses (the
//!   planner recurses once per UNION; 1,800 used to overflow).
//!
//! Families of input (deterministic: a fixed-seed generator):
//!
//! ```text
//!   random bytes          "\x9f(\x00SEL..."          (lossy UTF-8)
//!   random tokens         "WHERE ( 'x' JOIN 12 ORDER ..."
//!   prefixes              "S", "SE", ..., "SELECT a FROM t WHERE a IN (1, 2"
//!   deep nesting          "SELECT ((((1))))", "NOT NOT ... true", "1+1+...+1"
//!   huge literals         a 100,000-digit integer, a 1 MB string
//!   odd unicode           "SELECT 'é\u{202e}🦀\u{0}'", identifiers in Hangul
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};

use isodb::{Database, Session};

/// splitmix64: a small deterministic generator, enough for fuzz inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const VOCABULARY: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "HAVING",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "DISTINCT",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "RETURNING",
    "CREATE",
    "DROP",
    "TABLE",
    "INDEX",
    "UNIQUE",
    "ON",
    "PRIMARY",
    "KEY",
    "DEFAULT",
    "NOT",
    "NULL",
    "IF",
    "EXISTS",
    "JOIN",
    "LEFT",
    "CROSS",
    "INNER",
    "AND",
    "OR",
    "IN",
    "BETWEEN",
    "LIKE",
    "IS",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "AS",
    "INT",
    "TEXT",
    "DOUBLE",
    "BOOLEAN",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "EXPLAIN",
    "UNION",
    "ALL",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "true",
    "false",
    "t",
    "u",
    "a",
    "b",
    "c",
    "t.a",
    "count(*)",
    "sum",
    "min",
    "max",
    "avg",
    "abs",
    "coalesce",
    "lower",
    "upper",
    "length",
    "(",
    ")",
    ",",
    ";",
    "*",
    "+",
    "-",
    "/",
    "%",
    "||",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    ".",
    "0",
    "1",
    "-1",
    "42",
    "2.5",
    "1e308",
    "1e999",
    "9223372036854775807",
    "9223372036854775808",
    "'x'",
    "''",
    "'it''s'",
    "$1",
    "?",
    "\"a\"",
    "--",
    "/*",
    "*/",
];

/// Valid statements whose every prefix is also an input.
const STATEMENTS: &[&str] = &[
    "SELECT a, b FROM t WHERE a IN (1, 2) AND b LIKE 'x%' ORDER BY a DESC NULLS LAST LIMIT 2 OFFSET 1",
    "SELECT t.a, u.c FROM t LEFT JOIN u ON t.a = u.a WHERE u.c IS NULL",
    "SELECT b, count(*), sum(a) FROM t GROUP BY b HAVING count(*) > 0",
    "SELECT CASE WHEN a > 1 THEN 'x' ELSE 'y' END, CAST(a AS TEXT), coalesce(b, 'z') FROM t",
    "SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a) AND a BETWEEN 1 AND 3",
    "SELECT (SELECT max(a) FROM t), abs(-1), lower('A'), upper('b'), length('abc')",
    "SELECT DISTINCT x.s FROM (SELECT b AS s FROM t) AS x",
    "INSERT INTO t (a, b) VALUES (10, 'ten'), (11, NULL) RETURNING a",
    "INSERT INTO u SELECT a + 100, b FROM t",
    "UPDATE t SET b = upper(b) WHERE a = 1 RETURNING *",
    "DELETE FROM u WHERE a > 100",
    "CREATE TABLE IF NOT EXISTS v (x INT, y TEXT DEFAULT 'd', PRIMARY KEY (x))",
    "CREATE UNIQUE INDEX IF NOT EXISTS t_b ON t (b)",
    "DROP INDEX IF EXISTS t_b",
    "BEGIN ISOLATION LEVEL REPEATABLE READ",
    "EXPLAIN SELECT * FROM t JOIN u ON t.a = u.a",
];

/// A fresh database with two small tables.
fn setup() -> Database {
    let db = Database::open_temporary().expect("open temporary database");
    db.session()
        .execute(
            "CREATE TABLE t (a INT PRIMARY KEY, b TEXT);
             CREATE TABLE u (a INT, c DOUBLE);
             CREATE TABLE e (a INT);
             INSERT INTO t VALUES (1, 'x'), (2, NULL), (3, 'z');
             INSERT INTO u VALUES (1, 0.5), (NULL, 2.0)",
        )
        .expect("setup");
    db
}

/// Runs one input; `None` when it ended as it should.
fn run_one(session: &mut Session, sql: &str) -> Option<String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| session.execute(sql)));
    let problem = match outcome {
        Err(_) => Some("panicked".to_string()),
        Ok(Ok(_)) => None,
        Ok(Err(e)) => {
            let code = e.sqlstate();
            let well_formed = code.len() == 5 && code.chars().all(|c| c.is_ascii_alphanumeric());
            if !well_formed || code == "XX000" {
                Some(format!("error [{code}] {e}"))
            } else {
                None
            }
        }
    };
    if session.in_transaction() {
        let _ = session.execute("ROLLBACK");
    }
    problem.map(|p| {
        let shown: String = sql.chars().take(160).collect();
        format!("{p}: {shown:?} ({} bytes)", sql.len())
    })
}

/// Runs the inputs on a thread with a 2 MiB stack; the failures.
fn run_all(inputs: Vec<String>) -> Vec<String> {
    let db = setup();
    std::thread::Builder::new()
        .name("fuzz-2mib".into())
        .stack_size(2 << 20)
        .spawn(move || {
            let mut session = db.session();
            inputs
                .iter()
                .filter_map(|sql| run_one(&mut session, sql))
                .collect::<Vec<_>>()
        })
        .expect("spawn worker")
        .join()
        .expect("worker thread")
}

fn assert_none_failed(family: &str, count: usize, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} of {count} {family} inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn check(family: &str, inputs: Vec<String>) {
    let count = inputs.len();
    let failures = run_all(inputs);
    assert_none_failed(family, count, failures);
}

#[test]
fn random_bytes() {
    let mut rng = Rng(1);
    let inputs = (0..3000)
        .map(|i| {
            let len = rng.below(48);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if i % 2 == 0 {
                // Half of them start like a statement, to get past the first token.
                let mut head = rng
                    .pick(&["SELECT ", "INSERT INTO t ", "SELECT a FROM t WHERE "])
                    .as_bytes()
                    .to_vec();
                head.append(&mut bytes);
                bytes = head;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
        .collect();
    check("random byte", inputs);
}

#[test]
fn random_tokens() {
    let mut rng = Rng(2);
    let inputs = (0..4000)
        .map(|_| {
            let len = 1 + rng.below(24);
            let mut words: Vec<&str> = Vec::with_capacity(len + 1);
            if rng.below(3) > 0 {
                words.push(rng.pick(&[
                    "SELECT",
                    "INSERT INTO t",
                    "UPDATE t SET",
                    "DELETE FROM t",
                    "CREATE TABLE",
                ]));
            }
            words.extend((0..len).map(|_| rng.pick(VOCABULARY)));
            words.join(" ")
        })
        .collect();
    check("random token", inputs);
}

#[test]
fn every_prefix_of_valid_statements() {
    let mut inputs = Vec::new();
    for statement in STATEMENTS {
        for (end, _) in statement.char_indices().skip(1) {
            inputs.push(statement[..end].to_string());
        }
        inputs.push(statement.to_string());
    }
    check("prefix", inputs);
}

/// Nesting depths that must end in a result or a clean error (54001, say).
fn deep_inputs() -> Vec<(String, String)> {
    let mut inputs = Vec::new();
    for depth in [10, 50, 51, 61, 62, 100, 1_000, 10_000] {
        let open = "(".repeat(depth);
        let close = ")".repeat(depth);
        inputs.push((
            format!("{depth} parentheses"),
            format!("SELECT {open}1{close}"),
        ));
        inputs.push((
            format!("{depth} parentheses in WHERE"),
            format!("SELECT a FROM t WHERE {open}a = 1{close}"),
        ));
        inputs.push((format!("{depth} unclosed"), format!("SELECT {open}1")));
        inputs.push((
            format!("{depth} NOTs"),
            format!("SELECT {}true", "NOT ".repeat(depth)),
        ));
        inputs.push((
            format!("{depth} unary minus"),
            format!("SELECT {}1", "- ".repeat(depth)),
        ));
        inputs.push((
            format!("{depth} nested CASE"),
            format!(
                "SELECT {}1{}",
                "CASE WHEN true THEN ".repeat(depth),
                " END".repeat(depth)
            ),
        ));
        inputs.push((
            format!("{depth} nested scalar subqueries"),
            format!("SELECT {}1{}", "(SELECT ".repeat(depth), ")".repeat(depth)),
        ));
        inputs.push((
            format!("{depth} nested derived tables"),
            format!(
                "SELECT * FROM {}(SELECT 1 AS x) AS s{}",
                "(SELECT * FROM ".repeat(depth),
                ") AS s".repeat(depth)
            ),
        ));
        inputs.push((
            format!("{depth} nested function calls"),
            format!("SELECT {}1{}", "abs(".repeat(depth), ")".repeat(depth)),
        ));
    }
    // Left-deep chains parse without recursion, but their ASTs are dropped
    // recursively: past 20,000 operators the answer is 54001.
    for terms in [10, 100, 1_000, 10_000, 20_000, 40_000, 200_000] {
        inputs.push((
            format!("{terms}-term 1+1+..."),
            format!("SELECT 1{}", "+1".repeat(terms)),
        ));
        inputs.push((
            format!("{terms}-term a-1-1-..."),
            format!("SELECT a{} FROM t", "-1".repeat(terms)),
        ));
        inputs.push((
            format!("{terms}-term AND chain"),
            format!("SELECT a FROM t WHERE a = 1{}", " AND a = 1".repeat(terms)),
        ));
        inputs.push((
            format!("{terms}-term OR chain"),
            format!("SELECT a FROM t WHERE a = 1{}", " OR a = 2".repeat(terms)),
        ));
        inputs.push((
            format!("{terms}-term || chain"),
            format!("SELECT 'x'{}", " || 'x'".repeat(terms)),
        ));
        inputs.push((
            format!("{terms}-item IN list"),
            format!(
                "SELECT a FROM t WHERE a IN (0{})",
                (1..terms).map(|i| format!(", {i}")).collect::<String>()
            ),
        ));
        inputs.push((
            format!("{terms}-row VALUES"),
            format!(
                "INSERT INTO u VALUES (1, 0.5){}",
                ", (1, 0.5)".repeat(terms)
            ),
        ));
    }
    // UNION chains are planned recursively: past 1,000 the answer is 54001.
    for terms in [10, 100, 1_000, 1_001, 5_000, 50_000] {
        inputs.push((
            format!("{terms}-term UNION"),
            format!("SELECT 1{}", " UNION SELECT 1".repeat(terms)),
        ));
        inputs.push((
            format!("{terms}-way JOIN"),
            format!("SELECT 1 FROM e{}", " JOIN e ON true".repeat(terms)),
        ));
    }
    inputs
}

#[test]
fn deep_nesting_and_long_chains() {
    let labelled = deep_inputs();
    let count = labelled.len();
    let db = setup();
    let failures = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let mut session = db.session();
            labelled
                .iter()
                .filter_map(|(label, sql)| {
                    run_one(&mut session, sql).map(|p| format!("{label}: {p}"))
                })
                .collect::<Vec<_>>()
        })
        .expect("spawn worker")
        .join()
        .expect("worker thread");
    assert_none_failed("deep", count, failures);
}

/// Past each limit the answer is exactly 54001 — never a wrong result from a
/// keyword re-read as a column (the table below has a column named "not").
#[test]
fn past_the_shape_limits_the_answer_is_54001() {
    let db = setup();
    let mut session = db.session();
    session
        .execute(r#"CREATE TABLE w ("not" BOOLEAN, "case" INT); INSERT INTO w VALUES (true, 1)"#)
        .expect("setup");
    let inputs = [
        format!("SELECT {}true FROM w", "NOT ".repeat(61)),
        format!("SELECT {}true FROM w", "NOT ".repeat(51)),
        format!(
            "SELECT {}1{} FROM w",
            "CASE WHEN true THEN ".repeat(62),
            " END".repeat(62)
        ),
        format!("SELECT ({}NOT true) FROM w", "NOT ".repeat(50)),
        format!("SELECT 1{}", "+1".repeat(20_001)),
        format!("SELECT 1{}", " UNION SELECT 1".repeat(1_001)),
    ];
    for sql in &inputs {
        let code = session.execute(sql).err().map(|e| e.sqlstate());
        assert_eq!(code, Some("54001"), "{}", &sql[..80]);
    }
    let fifty = format!("SELECT {}true FROM w", "NOT ".repeat(50));
    let rows = session
        .query(&fifty, &[])
        .expect("50 NOTs are within the limit");
    assert!(
        rows[0].get::<bool>(0).expect("a boolean"),
        "NOT applied 50 times to true is true"
    );
}

#[test]
fn huge_literals_and_identifiers() {
    let digits = "9".repeat(100_000);
    let inputs = vec![
        format!("SELECT {digits}"),
        format!("SELECT -{digits}"),
        format!("SELECT 0.{digits}"),
        format!("SELECT 1e{digits}"),
        format!("SELECT a FROM t WHERE a = {digits}"),
        format!("INSERT INTO t VALUES ({digits}, 'big')"),
        "SELECT 9223372036854775808".to_string(),
        "SELECT -9223372036854775808".to_string(),
        "SELECT 1e400, -1e400, 1e-400".to_string(),
        format!("SELECT '{}'", "x".repeat(1 << 20)),
        format!("SELECT length('{}')", "é".repeat(100_000)),
        format!("INSERT INTO t VALUES (100, '{}')", "y".repeat(1 << 20)),
        "DELETE FROM t WHERE a = 100".to_string(),
        format!("SELECT {} FROM t", "a".repeat(100_000)),
        format!("SELECT \"{}\" FROM t", "q".repeat(100_000)),
        format!("CREATE TABLE {} (x INT)", "n".repeat(10_000)),
        format!("SELECT a FROM t AS {}", "z".repeat(100_000)),
        format!("SELECT 1 -- {}", "c".repeat(100_000)),
        format!("SELECT 1 /* {} */", "c".repeat(100_000)),
        format!("SELECT 1 /* {}", "c".repeat(1000)),
        format!("SELECT {}", "1, ".repeat(10_000) + "1"),
        format!("{}SELECT 1", ";".repeat(10_000)),
        "SELECT 1;".repeat(10_000),
    ];
    check("huge", inputs);
}

#[test]
fn odd_unicode() {
    let inputs: Vec<String> = [
        "SELECT 'é\u{202e}🦀\u{0}'",
        "SELECT '\u{0}'",
        "SELECT length('🦀🦀'), upper('straße'), lower('ΣΑΣ')",
        "SELECT upper('ǆ'), lower('İ'), length('e\u{301}')",
        "SELECT 1\u{0}",
        "\u{0}SELECT 1",
        "SELECT\u{a0}1",
        "SELECT\u{3000}1",
        "SELECT\u{2028}1",
        "SELECT 1\u{feff}",
        "\u{feff}SELECT 1",
        "SELECT \"한국어\" FROM t",
        "CREATE TABLE \"🦀\" (\"ü\" INT PRIMARY KEY, \"\u{202e}x\" TEXT)",
        "INSERT INTO \"🦀\" VALUES (1, 'ok')",
        "SELECT \"ü\", \"\u{202e}x\" FROM \"🦀\"",
        "SELECT * FROM t WHERE b = 'x\u{301}'",
        "SELECT * FROM t WHERE b LIKE '%\u{10ffff}%'",
        "SELECT 'a' LIKE '\u{0}%'",
        "SELECT ＳＥＬＥＣＴ",
        "SELECT 'unterminated \u{1f980}",
        "SELECT \"unterminated \u{1f980}",
        "SELECT $\u{e9}",
        "SELECT 1 \u{ff0b} 1",
        "DROP TABLE \"🦀\"",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    check("unicode", inputs);
}
