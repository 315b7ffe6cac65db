//! Differential test: random tables and random queries run on isodb and on
//! SQLite (rusqlite, bundled), whose answers must agree.
//!
//! The generator stays inside the subset where the two define the same
//! answer, so any difference is a bug in one of them (in practice, ours):
//!
//! | difference                         | how the generator avoids it                  |
//! |------------------------------------|----------------------------------------------|
//! | NULL order (SQLite: NULLs smallest) | every ORDER BY term says NULLS FIRST/LAST    |
//! | `/` and `%`                         | only by non-zero constants (both truncate)  |
//! | division by zero (SQLite: NULL)     | never generated                              |
//! | type affinity, text vs number       | every comparison is within one type family   |
//! | LIKE case (SQLite: insensitive)     | `PRAGMA case_sensitive_like = ON`            |
//! | booleans (SQLite: 0/1)              | never projected, only used as predicates     |
//! | integer overflow (PG: error)        | values stay small                            |
//!
//! Results are compared as multisets (sorted with a total order, doubles
//! within a relative 1e-9), or in order when the ORDER BY names every output
//! column, which makes the order (and any LIMIT/OFFSET) fully determined.
//!
//! ```text
//!   tables a, b: (id INTEGER PRIMARY KEY, i1 INTEGER, i2 INTEGER, t TEXT, d DOUBLE)
//!   query:  SELECT [DISTINCT] exprs | key, aggregates
//!           FROM a [ [LEFT] JOIN b ON a.x = b.y [AND pred] ]
//!           [WHERE pred] [GROUP BY key [HAVING count(*) > n]]
//!           [ORDER BY 1 ASC NULLS FIRST, 2 DESC NULLS LAST ... [LIMIT n [OFFSET m]]]
//! ```
//!
//! 100 cases by default; `ISODB_DIFF_CASES=5000` runs more.

use std::cmp::Ordering;
use std::fmt::Write as _;

use isodb::{Database, Value};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};
use sqlite_oracle as rusqlite;

/// A column of the generated tables, with its type family.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Column {
    Id,
    I1,
    I2,
    T,
    D,
}

impl Column {
    fn name(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::I1 => "i1",
            Column::I2 => "i2",
            Column::T => "t",
            Column::D => "d",
        }
    }
}

/// A column of table `a` (0) or `b` (1); `b` only exists in joins.
#[derive(Debug, Clone, Copy)]
struct ColumnRef {
    table: usize,
    column: Column,
}

/// A numeric expression (INTEGER or DOUBLE).
#[derive(Debug, Clone)]
enum Numeric {
    Column(ColumnRef),
    Integer(i64),
    Double(f64),
    Add(Box<Numeric>, Box<Numeric>),
    Sub(Box<Numeric>, Box<Numeric>),
    Mul(Box<Numeric>, Box<Numeric>),
    Neg(Box<Numeric>),
    /// Integer division or remainder by a non-zero constant.
    DivConst(ColumnRef, i64, bool),
    Abs(Box<Numeric>),
    Coalesce(Box<Numeric>, i64),
}

/// A predicate: only ever used in WHERE, ON and HAVING, never projected.
#[derive(Debug, Clone)]
enum Predicate {
    Compare(&'static str, Numeric, Numeric),
    TextCompare(&'static str, ColumnRef, String),
    IsNull(ColumnRef, bool),
    InList(Numeric, Vec<Option<i64>>, bool),
    Between(Numeric, i64, i64, bool),
    Like(ColumnRef, String, bool),
    And(Box<Predicate>, Box<Predicate>),
    Or(Box<Predicate>, Box<Predicate>),
    Not(Box<Predicate>),
}

/// An output column of a non-grouped query.
#[derive(Debug, Clone)]
enum Output {
    Numeric(Numeric),
    Text(ColumnRef),
    Concat(ColumnRef, String),
    Upper(ColumnRef),
    Length(ColumnRef),
}

/// An aggregate of a grouped query.
#[derive(Debug, Clone)]
enum Aggregate {
    CountStar,
    Count(ColumnRef),
    Sum(Numeric),
    Min(ColumnRef),
    Max(ColumnRef),
}

#[derive(Debug, Clone)]
enum Shape {
    Project {
        distinct: bool,
        outputs: Vec<Output>,
    },
    Group {
        key: Option<ColumnRef>,
        aggregates: Vec<Aggregate>,
        having: Option<i64>,
    },
}

#[derive(Debug, Clone)]
struct Join {
    left: bool,
    on_left: Column,
    on_right: Column,
    extra: Option<Predicate>,
}

/// One generated query; `order` holds a (descending, nulls first) pair per
/// output column when the query is fully ordered.
#[derive(Debug, Clone)]
struct Query {
    join: Option<Join>,
    filter: Option<Predicate>,
    shape: Shape,
    order: Option<Vec<(bool, bool)>>,
    limit: Option<(u8, u8)>,
}

/// One row of a generated table: (id, i1, i2, t, d).
type TableRow = (i64, Option<i64>, Option<i64>, Option<String>, Option<f64>);

const ALIASES: [&str; 2] = ["a", "b"];

fn render_column(c: &ColumnRef, joined: bool) -> String {
    let table = if joined { c.table } else { 0 };
    format!("{}.{}", ALIASES[table], c.column.name())
}

fn render_double(d: f64) -> String {
    format!("{d:?}")
}

fn render_numeric(n: &Numeric, j: bool) -> String {
    match n {
        Numeric::Column(c) => render_column(c, j),
        Numeric::Integer(i) => format!("({i})"),
        Numeric::Double(d) => format!("({})", render_double(*d)),
        Numeric::Add(x, y) => format!("({} + {})", render_numeric(x, j), render_numeric(y, j)),
        Numeric::Sub(x, y) => format!("({} - {})", render_numeric(x, j), render_numeric(y, j)),
        Numeric::Mul(x, y) => format!("({} * {})", render_numeric(x, j), render_numeric(y, j)),
        Numeric::Neg(x) => format!("(- {})", render_numeric(x, j)),
        Numeric::DivConst(c, k, modulo) => {
            let op = if *modulo { "%" } else { "/" };
            format!("({} {op} {k})", render_column(c, j))
        }
        Numeric::Abs(x) => format!("abs({})", render_numeric(x, j)),
        Numeric::Coalesce(x, k) => format!("coalesce({}, {k})", render_numeric(x, j)),
    }
}

fn render_predicate(p: &Predicate, j: bool) -> String {
    let not = |negated: &bool| if *negated { "NOT " } else { "" };
    match p {
        Predicate::Compare(op, x, y) => {
            format!("{} {op} {}", render_numeric(x, j), render_numeric(y, j))
        }
        Predicate::TextCompare(op, c, s) => format!("{} {op} '{s}'", render_column(c, j)),
        Predicate::IsNull(c, negated) => {
            format!("{} IS {}NULL", render_column(c, j), not(negated))
        }
        Predicate::InList(x, items, negated) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| i.map_or("NULL".to_string(), |i| i.to_string()))
                .collect();
            format!(
                "{} {}IN ({})",
                render_numeric(x, j),
                not(negated),
                items.join(", ")
            )
        }
        Predicate::Between(x, lo, hi, negated) => format!(
            "{} {}BETWEEN {lo} AND {hi}",
            render_numeric(x, j),
            not(negated)
        ),
        Predicate::Like(c, pattern, negated) => {
            format!("{} {}LIKE '{pattern}'", render_column(c, j), not(negated))
        }
        Predicate::And(x, y) => {
            format!(
                "({} AND {})",
                render_predicate(x, j),
                render_predicate(y, j)
            )
        }
        Predicate::Or(x, y) => {
            format!("({} OR {})", render_predicate(x, j), render_predicate(y, j))
        }
        Predicate::Not(x) => format!("(NOT {})", render_predicate(x, j)),
    }
}

fn render_output(o: &Output, j: bool) -> String {
    match o {
        Output::Numeric(n) => render_numeric(n, j),
        Output::Text(c) => render_column(c, j),
        Output::Concat(c, s) => format!("{} || '{s}'", render_column(c, j)),
        Output::Upper(c) => format!("upper({})", render_column(c, j)),
        Output::Length(c) => format!("length({})", render_column(c, j)),
    }
}

fn render_aggregate(a: &Aggregate, j: bool) -> String {
    match a {
        Aggregate::CountStar => "count(*)".to_string(),
        Aggregate::Count(c) => format!("count({})", render_column(c, j)),
        Aggregate::Sum(n) => format!("sum({})", render_numeric(n, j)),
        Aggregate::Min(c) => format!("min({})", render_column(c, j)),
        Aggregate::Max(c) => format!("max({})", render_column(c, j)),
    }
}

impl Query {
    /// The SQL text, the same for both databases.
    fn sql(&self) -> String {
        let j = self.join.is_some();
        let mut sql = String::from("SELECT ");
        let width = match &self.shape {
            Shape::Project { distinct, outputs } => {
                if *distinct {
                    sql.push_str("DISTINCT ");
                }
                let list: Vec<String> = outputs.iter().map(|o| render_output(o, j)).collect();
                sql.push_str(&list.join(", "));
                outputs.len()
            }
            Shape::Group {
                key, aggregates, ..
            } => {
                let mut list: Vec<String> = key.iter().map(|k| render_column(k, j)).collect();
                list.extend(aggregates.iter().map(|a| render_aggregate(a, j)));
                sql.push_str(&list.join(", "));
                list.len()
            }
        };
        sql.push_str(" FROM a");
        if let Some(join) = &self.join {
            let kind = if join.left { "LEFT JOIN" } else { "JOIN" };
            let _ = write!(
                sql,
                " {kind} b ON a.{} = b.{}",
                join.on_left.name(),
                join.on_right.name()
            );
            if let Some(extra) = &join.extra {
                let _ = write!(sql, " AND {}", render_predicate(extra, true));
            }
        }
        if let Some(filter) = &self.filter {
            let _ = write!(sql, " WHERE {}", render_predicate(filter, j));
        }
        if let Shape::Group { key, having, .. } = &self.shape {
            if let Some(key) = key {
                let _ = write!(sql, " GROUP BY {}", render_column(key, j));
            }
            if let Some(n) = having {
                let _ = write!(sql, " HAVING count(*) > {n}");
            }
        }
        if let Some(order) = &self.order {
            let terms: Vec<String> = order
                .iter()
                .take(width)
                .enumerate()
                .map(|(i, (desc, nulls_first))| {
                    format!(
                        "{} {} NULLS {}",
                        i + 1,
                        if *desc { "DESC" } else { "ASC" },
                        if *nulls_first { "FIRST" } else { "LAST" }
                    )
                })
                .collect();
            let _ = write!(sql, " ORDER BY {}", terms.join(", "));
            if let Some((limit, offset)) = self.limit {
                let _ = write!(sql, " LIMIT {limit} OFFSET {offset}");
            }
        }
        sql
    }
}

// ---- strategies -------------------------------------------------------------

fn table_rows() -> impl Strategy<Value = Vec<TableRow>> {
    let int = || prop::option::weighted(0.85, -4i64..=4);
    let text = prop::option::weighted(
        0.85,
        prop::sample::select(vec!["", "a", "b", "ab", "B", "ba", "a_b", "%"])
            .prop_map(String::from),
    );
    let double = prop::option::weighted(0.85, (-8i64..=8).prop_map(|q| q as f64 * 0.25));
    prop::collection::vec((int(), int(), text, double), 0..14).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (i1, i2, t, d))| (i as i64 * 2 - 5, i1, i2, t, d))
            .collect()
    })
}

fn column_ref(columns: &'static [Column]) -> impl Strategy<Value = ColumnRef> {
    (0..2usize, prop::sample::select(columns))
        .prop_map(|(table, column)| ColumnRef { table, column })
}

const INTEGER_COLUMNS: &[Column] = &[Column::Id, Column::I1, Column::I2];
const NUMERIC_COLUMNS: &[Column] = &[Column::Id, Column::I1, Column::I2, Column::D];
const TEXT_COLUMNS: &[Column] = &[Column::T];

fn numeric() -> impl Strategy<Value = Numeric> {
    let leaf = prop_oneof![
        4 => column_ref(NUMERIC_COLUMNS).prop_map(Numeric::Column),
        2 => (-5i64..=5).prop_map(Numeric::Integer),
        1 => (-8i64..=8).prop_map(|q| Numeric::Double(q as f64 * 0.5)),
        1 => (column_ref(INTEGER_COLUMNS), prop::sample::select(vec![-3i64, -2, 2, 3]), any::<bool>())
            .prop_map(|(c, k, m)| Numeric::DivConst(c, k, m)),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(x, y)| Numeric::Add(Box::new(x), Box::new(y))),
            (inner.clone(), inner.clone())
                .prop_map(|(x, y)| Numeric::Sub(Box::new(x), Box::new(y))),
            (inner.clone(), inner.clone())
                .prop_map(|(x, y)| Numeric::Mul(Box::new(x), Box::new(y))),
            inner.clone().prop_map(|x| Numeric::Neg(Box::new(x))),
            inner.clone().prop_map(|x| Numeric::Abs(Box::new(x))),
            (inner, -3i64..=3).prop_map(|(x, k)| Numeric::Coalesce(Box::new(x), k)),
        ]
    })
}

fn predicate() -> impl Strategy<Value = Predicate> {
    let comparison = prop::sample::select(vec!["=", "<>", "<", "<=", ">", ">="]);
    let text = prop::sample::select(vec!["", "a", "ab", "b", "B"]).prop_map(String::from);
    let pattern =
        prop::sample::select(vec!["a%", "%b", "_", "a_", "%", "B%", "%a%"]).prop_map(String::from);
    let leaf = prop_oneof![
        4 => (comparison.clone(), numeric(), numeric()).prop_map(|(op, x, y)| Predicate::Compare(op, x, y)),
        2 => (comparison, column_ref(TEXT_COLUMNS), text).prop_map(|(op, c, s)| Predicate::TextCompare(op, c, s)),
        2 => (column_ref(&[Column::I1, Column::I2, Column::T, Column::D]), any::<bool>())
            .prop_map(|(c, n)| Predicate::IsNull(c, n)),
        2 => (numeric(), prop::collection::vec(prop::option::weighted(0.8, -4i64..=4), 1..4), any::<bool>())
            .prop_map(|(x, items, n)| Predicate::InList(x, items, n)),
        1 => (numeric(), -4i64..=2, 0i64..=4, any::<bool>()).prop_map(|(x, lo, hi, n)| Predicate::Between(x, lo, hi, n)),
        1 => (column_ref(TEXT_COLUMNS), pattern, any::<bool>()).prop_map(|(c, p, n)| Predicate::Like(c, p, n)),
    ];
    leaf.prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(x, y)| Predicate::And(Box::new(x), Box::new(y))),
            (inner.clone(), inner.clone())
                .prop_map(|(x, y)| Predicate::Or(Box::new(x), Box::new(y))),
            inner.prop_map(|x| Predicate::Not(Box::new(x))),
        ]
    })
}

fn output() -> impl Strategy<Value = Output> {
    prop_oneof![
        4 => numeric().prop_map(Output::Numeric),
        2 => column_ref(TEXT_COLUMNS).prop_map(Output::Text),
        1 => (column_ref(TEXT_COLUMNS), prop::sample::select(vec!["", "x"]).prop_map(String::from))
            .prop_map(|(c, s)| Output::Concat(c, s)),
        1 => column_ref(TEXT_COLUMNS).prop_map(Output::Upper),
        1 => column_ref(TEXT_COLUMNS).prop_map(Output::Length),
    ]
}

fn aggregate() -> impl Strategy<Value = Aggregate> {
    let any_column = || column_ref(&[Column::Id, Column::I1, Column::I2, Column::T, Column::D]);
    prop_oneof![
        Just(Aggregate::CountStar),
        any_column().prop_map(Aggregate::Count),
        numeric().prop_map(Aggregate::Sum),
        any_column().prop_map(Aggregate::Min),
        any_column().prop_map(Aggregate::Max),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    let group_key = column_ref(&[Column::I1, Column::I2, Column::T, Column::D]);
    prop_oneof![
        3 => (any::<bool>(), prop::collection::vec(output(), 1..4))
            .prop_map(|(distinct, outputs)| Shape::Project { distinct, outputs }),
        2 => (prop::option::of(group_key), prop::collection::vec(aggregate(), 1..4), prop::option::weighted(0.3, 0i64..3))
            .prop_map(|(key, aggregates, having)| Shape::Group { key, aggregates, having }),
    ]
}

fn join() -> impl Strategy<Value = Join> {
    (
        any::<bool>(),
        prop::sample::select(INTEGER_COLUMNS),
        prop::sample::select(INTEGER_COLUMNS),
        prop::option::weighted(0.3, predicate()),
    )
        .prop_map(|(left, on_left, on_right, extra)| Join {
            left,
            on_left,
            on_right,
            extra,
        })
}

fn query() -> impl Strategy<Value = Query> {
    (
        prop::option::weighted(0.4, join()),
        prop::option::weighted(0.7, predicate()),
        shape(),
        prop::option::weighted(
            0.5,
            prop::collection::vec((any::<bool>(), any::<bool>()), 5),
        ),
        prop::option::weighted(0.5, (0u8..6, 0u8..4)),
    )
        .prop_map(|(join, filter, shape, order, limit)| Query {
            join,
            filter,
            shape,
            order,
            limit,
        })
}

// ---- running and comparing ---------------------------------------------------

/// A result value, normalised across the two databases.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Number(f64),
    Text(String),
}

fn cell_order(x: &Cell, y: &Cell) -> Ordering {
    match (x, y) {
        (Cell::Null, Cell::Null) => Ordering::Equal,
        (Cell::Null, _) => Ordering::Less,
        (_, Cell::Null) => Ordering::Greater,
        (Cell::Number(a), Cell::Number(b)) => a.total_cmp(b),
        (Cell::Number(_), Cell::Text(_)) => Ordering::Less,
        (Cell::Text(_), Cell::Number(_)) => Ordering::Greater,
        (Cell::Text(a), Cell::Text(b)) => a.cmp(b),
    }
}

fn cells_agree(x: &Cell, y: &Cell) -> bool {
    match (x, y) {
        (Cell::Number(a), Cell::Number(b)) => {
            a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
        }
        _ => x == y,
    }
}

/// A number cell; -0.0 and 0.0 are one value in SQL (SQLite keeps the
/// sign of `abs(-0.0)`, isodb does not), so both become 0.0 before rows
/// are sorted for the multiset comparison.
fn number(n: f64) -> Cell {
    Cell::Number(if n == 0.0 { 0.0 } else { n })
}

fn from_isodb(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Integer(i) => Cell::Number(*i as f64),
        Value::Double(d) => number(*d),
        Value::Text(t) => Cell::Text(t.clone()),
        Value::Boolean(b) => Cell::Number(f64::from(u8::from(*b))),
    }
}

fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Cell {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Number(i as f64),
        ValueRef::Real(d) => number(d),
        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Cell::Text(format!("blob {b:?}")),
    }
}

fn insert_sql(table: &str, rows: &[TableRow]) -> Option<String> {
    if rows.is_empty() {
        return None;
    }
    let opt_int = |v: &Option<i64>| v.map_or("NULL".to_string(), |i| i.to_string());
    let values: Vec<String> = rows
        .iter()
        .map(|(id, i1, i2, t, d)| {
            format!(
                "({id}, {}, {}, {}, {})",
                opt_int(i1),
                opt_int(i2),
                t.as_ref().map_or("NULL".to_string(), |t| format!("'{t}'")),
                d.map_or("NULL".to_string(), render_double)
            )
        })
        .collect();
    Some(format!("INSERT INTO {table} VALUES {}", values.join(", ")))
}

const SCHEMA: &str = "(id INTEGER PRIMARY KEY, i1 INTEGER, i2 INTEGER, t TEXT, d DOUBLE)";

fn compare(
    a: &[TableRow],
    b: &[TableRow],
    queries: &[Query],
) -> std::result::Result<(), TestCaseError> {
    let db = Database::open_temporary().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut isodb = db.session();
    let sqlite =
        rusqlite::Connection::open_in_memory().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut setup = vec![
        "PRAGMA case_sensitive_like = ON".to_string(),
        format!("CREATE TABLE a {SCHEMA}"),
        format!("CREATE TABLE b {SCHEMA}"),
    ];
    setup.extend(insert_sql("a", a));
    setup.extend(insert_sql("b", b));
    for sql in &setup {
        sqlite
            .execute_batch(sql)
            .map_err(|e| TestCaseError::fail(format!("sqlite: {sql}: {e}")))?;
        if !sql.starts_with("PRAGMA") {
            isodb
                .execute(sql)
                .map_err(|e| TestCaseError::fail(format!("isodb: {sql}: {e}")))?;
        }
    }
    for query in queries {
        let sql = query.sql();
        let ours: Vec<Vec<Cell>> = isodb
            .query(sql.as_str(), &[])
            .map_err(|e| {
                TestCaseError::fail(format!("isodb failed [{}] {e}\n  {sql}", e.sqlstate()))
            })?
            .iter()
            .map(|row| row.values().iter().map(from_isodb).collect())
            .collect();
        let mut statement = sqlite
            .prepare(&sql)
            .map_err(|e| TestCaseError::fail(format!("sqlite: {sql}: {e}")))?;
        let width = statement.column_count();
        let theirs: Vec<Vec<Cell>> = statement
            .query_map([], |row| {
                (0..width)
                    .map(|i| row.get_ref(i).map(from_sqlite))
                    .collect::<rusqlite::Result<Vec<Cell>>>()
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| TestCaseError::fail(format!("sqlite: {sql}: {e}")))?;
        let ordered = query.order.is_some();
        let (mut ours_sorted, mut theirs_sorted) = (ours.clone(), theirs.clone());
        if !ordered {
            let row_order = |x: &Vec<Cell>, y: &Vec<Cell>| {
                x.iter()
                    .zip(y)
                    .map(|(p, q)| cell_order(p, q))
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            };
            ours_sorted.sort_by(row_order);
            theirs_sorted.sort_by(row_order);
        }
        let agree = ours_sorted.len() == theirs_sorted.len()
            && ours_sorted.iter().zip(&theirs_sorted).all(|(x, y)| {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| cells_agree(p, q))
            });
        prop_assert!(
            agree,
            "results differ{}\n  {sql}\n  isodb:  {ours:?}\n  sqlite: {theirs:?}\n  setup: {setup:#?}",
            if ordered {
                " (in order)"
            } else {
                " (as multisets)"
            }
        );
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("ISODB_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

proptest! {
    #![proptest_config(Config { cases: cases(), max_shrink_iters: 2000, ..Config::default() })]

    #[test]
    fn queries_agree_with_sqlite(
        a in table_rows(),
        b in table_rows(),
        queries in prop::collection::vec(query(), 1..12),
    ) {
        compare(&a, &b, &queries)?;
    }
}

#[test]
fn rendered_sql_reads_as_intended() {
    let query = Query {
        join: Some(Join {
            left: true,
            on_left: Column::Id,
            on_right: Column::I1,
            extra: None,
        }),
        filter: Some(Predicate::IsNull(
            ColumnRef {
                table: 1,
                column: Column::T,
            },
            true,
        )),
        shape: Shape::Project {
            distinct: true,
            outputs: vec![Output::Text(ColumnRef {
                table: 0,
                column: Column::T,
            })],
        },
        order: Some(vec![(true, false); 5]),
        limit: Some((3, 1)),
    };
    assert_eq!(
        query.sql(),
        "SELECT DISTINCT a.t FROM a LEFT JOIN b ON a.id = b.i1 WHERE b.t IS NOT NULL \
         ORDER BY 1 DESC NULLS LAST LIMIT 3 OFFSET 1"
    );
}
