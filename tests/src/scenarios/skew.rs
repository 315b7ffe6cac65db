//! Scenarios that only SERIALIZABLE prevents: G2-item write skew, G2
//! predicate write skew and the read-only anomaly. Snapshot isolation
//! (REPEATABLE READ) shows them; SSI aborts one transaction with 40001.

use super::{ALL_ROWS, Scenario, xy};
use crate::matrix::{Outcome, SERIALIZATION};
use crate::script::{Script, labeled, step};

use Outcome::Anomaly;

/// G2-item: both read x and y, each writes a different one.
pub const G2_ITEM: Scenario = Scenario {
    name: "g2_item_write_skew",
    about: "both read x and y; T1 x=11; T2 y=21; both commit",
    script: xy(&[
        step(1, "BEGIN"),
        step(2, "BEGIN"),
        labeled(
            1,
            "SELECT id, value FROM test WHERE id IN (1, 2) ORDER BY id",
            "t1 reads",
        ),
        labeled(
            2,
            "SELECT id, value FROM test WHERE id IN (1, 2) ORDER BY id",
            "t2 reads",
        ),
        step(1, "UPDATE test SET value = 11 WHERE id = 1"),
        step(2, "UPDATE test SET value = 21 WHERE id = 2"),
        step(1, "COMMIT"),
        step(2, "COMMIT"),
    ]),
    anomaly: |run| {
        run.rows("t1 reads") == Some(vec![vec![1, 10], vec![2, 20]])
            && run.rows("t2 reads") == Some(vec![vec![1, 10], vec![2, 20]])
            && run.clean(1)
            && run.clean(2)
    },
    expected: [Anomaly, Anomaly, Anomaly, SERIALIZATION],
};

/// G2: write skew over predicate reads: each inserts a row the other's
/// predicate would have matched.
pub const G2_PREDICATE: Scenario = Scenario {
    name: "g2_predicate_write_skew",
    about: "both read value % 3 = 0 (none); T1 inserts (3, 30); T2 inserts (4, 42)",
    script: xy(&[
        step(1, "BEGIN"),
        step(2, "BEGIN"),
        labeled(
            1,
            "SELECT id, value FROM test WHERE value % 3 = 0",
            "t1 reads",
        ),
        labeled(
            2,
            "SELECT id, value FROM test WHERE value % 3 = 0",
            "t2 reads",
        ),
        step(1, "INSERT INTO test VALUES (3, 30)"),
        step(2, "INSERT INTO test VALUES (4, 42)"),
        step(1, "COMMIT"),
        step(2, "COMMIT"),
    ]),
    anomaly: |run| {
        run.rows("t1 reads").is_some_and(|r| r.is_empty())
            && run.rows("t2 reads").is_some_and(|r| r.is_empty())
            && run.clean(1)
            && run.clean(2)
    },
    expected: [Anomaly, Anomaly, Anomaly, SERIALIZATION],
};

/// The read-only anomaly (Fekete, O'Neil and O'Neil 2004): checking x and
/// savings y start at 0. T1 withdraws 10 from x, charging 1 more because
/// x + y < 0 in its snapshot; T2 deposits 20 into y; read-only T3 sees the
/// deposit but not the withdrawal. No serial order gives all three.
pub const READ_ONLY: Scenario = Scenario {
    name: "read_only_anomaly",
    about: "T1 reads x, y; T2 y += 20, commit; T3 reads x, y, commit; T1 x = -11, commit",
    script: Script {
        setup: "CREATE TABLE test (id INT PRIMARY KEY, value INT NOT NULL);
                INSERT INTO test VALUES (1, 0), (2, 0)",
        steps: &[
            step(1, "BEGIN"),
            labeled(1, ALL_ROWS, "t1 reads"),
            step(2, "BEGIN"),
            step(2, "UPDATE test SET value = value + 20 WHERE id = 2"),
            step(2, "COMMIT"),
            step(3, "BEGIN"),
            labeled(3, ALL_ROWS, "t3 reads"),
            step(3, "COMMIT"),
            step(1, "UPDATE test SET value = -11 WHERE id = 1"),
            step(1, "COMMIT"),
        ],
        final_query: ALL_ROWS,
    },
    anomaly: |run| {
        run.rows("t1 reads") == Some(vec![vec![1, 0], vec![2, 0]])
            && run.rows("t3 reads") == Some(vec![vec![1, 0], vec![2, 20]])
            && run.clean(1)
            && run.clean(2)
            && run.clean(3)
    },
    expected: [Anomaly, Anomaly, Anomaly, SERIALIZATION],
};
