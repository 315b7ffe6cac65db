//! [`Workload`]: random small SQL workloads for the property suites, and
//! their proptest strategy.
//!
//! A workload is a few sessions, each a list of short transactions over the
//! table `lists(k INT PRIMARY KEY, v TEXT NOT NULL)`, whose rows `k = 0..KEYS`
//! start empty, and the table `rows(k INT PRIMARY KEY, v INT NOT NULL)`,
//! which starts with no rows. A transaction reads rows of `lists` and
//! appends to them — Elle's list-append workload, in SQL — and scans `rows`
//! and inserts into it (predicate reads and phantoms):
//!
//! ```text
//! t1: BEGIN; SELECT v FROM lists WHERE k = 1; UPDATE lists SET v = v || ' 3' WHERE k = 1; COMMIT
//! t2: BEGIN; UPDATE lists SET v = v || ' 4' WHERE k = 1; SELECT v FROM lists WHERE k = 2; ROLLBACK
//! t3: BEGIN; SELECT k, v FROM rows ORDER BY k; INSERT INTO rows VALUES (100, 100); COMMIT
//! ```
//!
//! Every appended number is unique per key, so a read of `" 3 4"` shows the
//! whole version history of its row, which is what lets jepsen-lite infer
//! write-write, write-read and read-write dependencies; every insert has its
//! own key, so a scan that misses a committed row is a predicate
//! anti-dependency on its inserter. A transaction reads each row (and scans
//! `rows`) at most once (a second read at READ COMMITTED legitimately
//! differs, which the checker would report as an internal inconsistency).
//!
//! `Display` prints the SQL per session, so a shrunk failing case reads as
//! a schedule.

use std::fmt;

use proptest::prelude::*;

/// The number of rows (list keys) workloads use.
pub const KEYS: i64 = 3;

/// The first key of table `rows` (kept apart from the list keys, since the
/// history has one key space).
pub const FIRST_ROW_KEY: i64 = 100;

/// One operation of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Read the list in row `k` of `lists`.
    Read(i64),
    /// Append the number (unique for the key) to row `k` of `lists`.
    Append(i64, i64),
    /// Read every row of `rows` (a predicate read: phantoms show here).
    Scan,
    /// Insert row `(k, k)` into `rows`; every insert has its own key.
    Insert(i64),
}

impl Op {
    /// The statement that performs the operation.
    pub fn sql(self) -> String {
        match self {
            Op::Read(k) => format!("SELECT v FROM lists WHERE k = {k}"),
            Op::Append(k, v) => format!("UPDATE lists SET v = v || ' {v}' WHERE k = {k}"),
            Op::Scan => "SELECT k, v FROM rows ORDER BY k".to_string(),
            Op::Insert(k) => format!("INSERT INTO rows VALUES ({k}, {k})"),
        }
    }
}

/// One transaction: its operations, then COMMIT or ROLLBACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    /// The operations, in order.
    pub ops: Vec<Op>,
    /// True to end with COMMIT, false with ROLLBACK.
    pub commit: bool,
}

/// A set of sessions, each running its transactions one after another.
#[derive(Clone, PartialEq, Eq)]
pub struct Workload {
    /// Per session, its transactions in order.
    pub sessions: Vec<Vec<Txn>>,
}

/// The set-up SQL: `lists` with its empty rows, and the empty `rows`.
pub fn setup_sql() -> String {
    let rows: Vec<String> = (0..KEYS).map(|k| format!("({k}, '')")).collect();
    format!(
        "CREATE TABLE lists (k INT PRIMARY KEY, v TEXT NOT NULL); INSERT INTO lists VALUES {};
         CREATE TABLE rows (k INT PRIMARY KEY, v INT NOT NULL)",
        rows.join(", ")
    )
}

/// Parses a row's text (`" 3 4"`) into its elements; `None` if a token is
/// not a number (which would be a garbage read).
pub fn parse_list(text: &str) -> Option<Vec<i64>> {
    text.split_whitespace().map(|t| t.parse().ok()).collect()
}

impl fmt::Display for Txn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BEGIN")?;
        for op in &self.ops {
            write!(f, "; {}", op.sql())?;
        }
        f.write_str(if self.commit {
            "; COMMIT"
        } else {
            "; ROLLBACK"
        })
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, txns) in self.sessions.iter().enumerate() {
            let prefix = format!("t{}: ", i + 1);
            for (j, txn) in txns.iter().enumerate() {
                let lead = if j == 0 { prefix.as_str() } else { "    " };
                writeln!(f, "{lead}{txn}")?;
            }
        }
        Ok(())
    }
}

/// `Debug` is the SQL schedule too: proptest prints failing cases with it.
impl fmt::Debug for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f)?;
        fmt::Display::fmt(self, f)
    }
}

/// An operation before numbering.
#[derive(Debug, Clone, Copy)]
enum RawOp {
    Read(i64),
    Append(i64),
    Scan,
    Insert,
}

fn raw_op() -> impl Strategy<Value = RawOp> {
    prop_oneof![
        3 => (0..KEYS).prop_map(RawOp::Read),
        3 => (0..KEYS).prop_map(RawOp::Append),
        1 => Just(RawOp::Scan),
        1 => Just(RawOp::Insert),
    ]
}

fn raw_txn() -> impl Strategy<Value = (Vec<RawOp>, bool)> {
    (
        prop::collection::vec(raw_op(), 1..=4),
        prop::bool::weighted(0.85),
    )
}

/// Workloads of `2..=max_sessions` sessions, each of 1 to 4 transactions of
/// 1 to 4 operations. Appended numbers are assigned after generation (in
/// session order, from 1 per key), so shrinking keeps them unique.
pub fn workload(max_sessions: usize) -> impl Strategy<Value = Workload> {
    prop::collection::vec(
        prop::collection::vec(raw_txn(), 1..=4),
        2..=max_sessions.max(2),
    )
    .prop_map(number)
}

/// Numbers the appends and inserts, and drops repeated reads of a key (and
/// repeated scans) in a transaction.
fn number(raw: Vec<Vec<(Vec<RawOp>, bool)>>) -> Workload {
    let mut next = vec![1i64; KEYS as usize];
    let mut next_row = FIRST_ROW_KEY;
    let sessions = raw
        .into_iter()
        .map(|txns| {
            txns.into_iter()
                .map(|(ops, commit)| {
                    let mut read = Vec::new();
                    let mut scanned = false;
                    let mut out = Vec::new();
                    for op in ops {
                        match op {
                            RawOp::Read(k) if read.contains(&k) => {}
                            RawOp::Read(k) => {
                                read.push(k);
                                out.push(Op::Read(k));
                            }
                            RawOp::Append(k) => {
                                let slot = &mut next[k as usize];
                                out.push(Op::Append(k, *slot));
                                *slot += 1;
                            }
                            RawOp::Scan if scanned => {}
                            RawOp::Scan => {
                                scanned = true;
                                out.push(Op::Scan);
                            }
                            RawOp::Insert => {
                                out.push(Op::Insert(next_row));
                                next_row += 1;
                            }
                        }
                    }
                    Txn { ops: out, commit }
                })
                .collect()
        })
        .collect();
    Workload { sessions }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_is_unique_per_key_and_reads_and_scans_are_not_repeated() {
        let w = number(vec![
            vec![(
                vec![
                    RawOp::Read(1),
                    RawOp::Append(1),
                    RawOp::Read(1),
                    RawOp::Append(1),
                ],
                true,
            )],
            vec![(vec![RawOp::Append(1), RawOp::Append(2)], false)],
            vec![(
                vec![RawOp::Scan, RawOp::Insert, RawOp::Scan, RawOp::Insert],
                true,
            )],
        ]);
        assert_eq!(
            w.sessions[2][0].ops,
            vec![
                Op::Scan,
                Op::Insert(FIRST_ROW_KEY),
                Op::Insert(FIRST_ROW_KEY + 1)
            ]
        );
        assert_eq!(
            w.sessions[0][0].ops,
            vec![Op::Read(1), Op::Append(1, 1), Op::Append(1, 2)]
        );
        assert_eq!(
            w.sessions[1][0].ops,
            vec![Op::Append(1, 3), Op::Append(2, 1)]
        );
        let shown = w.to_string();
        assert!(shown.starts_with("t1: BEGIN; SELECT v FROM lists WHERE k = 1; UPDATE lists SET v = v || ' 1' WHERE k = 1"), "{shown}");
        assert!(shown.contains("t2: BEGIN; UPDATE lists SET v = v || ' 3' WHERE k = 1; UPDATE lists SET v = v || ' 1' WHERE k = 2; ROLLBACK"), "{shown}");
    }

    #[test]
    fn lists_parse_from_row_text() {
        assert_eq!(parse_list(""), Some(vec![]));
        assert_eq!(parse_list(" 3 4"), Some(vec![3, 4]));
        assert_eq!(parse_list(" 3 x"), None);
    }
}
