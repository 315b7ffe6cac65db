//! Scenarios that one snapshot per transaction prevents: P2 non-repeatable
//! read, P3 phantom, PMP for reads and writes, P4 lost update and G-single
//! read skew. READ COMMITTED shows them; REPEATABLE READ and SERIALIZABLE
//! prevent them (by snapshot, or by first-updater-wins with 40001).

use super::{Scenario, contains_value, xy};
use crate::matrix::{Outcome, SERIALIZATION};
use crate::script::{labeled, step};

use Outcome::{Anomaly, Blocked, Prevented};

/// P2: the same row read twice gives two answers.
pub const P2: Scenario = Scenario {
    name: "p2_non_repeatable_read",
    about: "T1 reads x; T2 x=12, commit; T1 reads x again",
    script: xy(&[
        step(1, "BEGIN"),
        step(2, "BEGIN"),
        labeled(1, "SELECT value FROM test WHERE id = 1", "t1 first read"),
        step(2, "UPDATE test SET value = 12 WHERE id = 1"),
        step(2, "COMMIT"),
        labeled(1, "SELECT value FROM test WHERE id = 1", "t1 second read"),
        step(1, "COMMIT"),
    ]),
    anomaly: |run| {
        run.value("t1 first read").is_some()
            && run.value("t1 first read") != run.value("t1 second read")
    },
    expected: [Anomaly, Anomaly, Prevented, Prevented],
};

/// P3: the same predicate read twice gives two sets (a phantom).
pub const P3: Scenario = Scenario {
    name: "p3_phantom",
    about: "T1 counts value > 15; T2 inserts (3, 30), commit; T1 counts again",
    script: xy(&[
        step(1, "BEGIN"),
        step(2, "BEGIN"),
        labeled(
            1,
            "SELECT count(*) FROM test WHERE value > 15",
            "t1 first count",
        ),
        step(2, "INSERT INTO test VALUES (3, 30)"),
        step(2, "COMMIT"),
        labeled(
            1,
            "SELECT count(*) FROM test WHERE value > 15",
            "t1 second count",
        ),
        step(1, "COMMIT"),
    ]),
    anomaly: |run| {
        run.value("t1 first count").is_some()
            && run.value("t1 first count") != run.value("t1 second count")
    },
    expected: [Anomaly, Anomaly, Prevented, Prevented],
};

/// PMP for reads (Hermitage): a second, different predicate sees a row
/// inserted after the first predicate read.
pub const PMP_READ: Scenario = Scenario {
    name: "pmp_predicate_many_preceders_read",
    about: "T1 reads value = 30 (none); T2 inserts (3, 30), commit; T1 reads value % 3 = 0",
    script: xy(&[
        step(1, "BEGIN"),
        step(2, "BEGIN"),
        labeled(
            1,
            "SELECT id, value FROM test WHERE value = 30",
            "t1 first read",
        ),
        step(2, "INSERT INTO test VALUES (3, 30)"),
        step(2, "COMMIT"),
        labeled(
            1,
            "SELECT id, value FROM test WHERE value % 3 = 0",
            "t1 second read",
        ),
        step(1, "COMMIT"),
    ]),
    anomaly: |run| {
        run.rows("t1 first read").is_some_and(|r| r.is_empty())
            && contains_value(run.rows("t1 second read"), 30)
    },
    expected: [Anomaly, Anomaly, Prevented, Prevented],
};

/// PMP for writes (Hermitage): a DELETE's predicate misses rows that an
/// UPDATE changed under it. Serial results: {(2, 30)} or {(1, 20)}.
pub const PMP_WRITE: Scenario = Scenario {
    name: "pmp_predicate_many_preceders_write",
    about: "T1 adds 10 to every row; T2 deletes value = 20 and waits; T1 commits",
    script: xy(&[
        step(1, "BEGIN"),
        step(2, "BEGIN"),
        step(1, "UPDATE test SET value = value + 10"),
        labeled(2, "DELETE FROM test WHERE value = 20", "t2 delete"),
        step(1, "COMMIT"),
        step(2, "COMMIT"),
    ]),
    anomaly: |run| run.clean(2) && run.final_rows == [[1, 20], [2, 30]],
    // RU: T2's DELETE reads T1's uncommitted 20 in row 1, waits for its lock
    // and deletes it after T1 commits: the serial T1;T2 result, so no
    // anomaly here (PMP_WRITE_ROLLBACK shows RU's). RC: the DELETE's
    // snapshot saw row 2 = 20, waits, re-checks 30 and deletes nothing.
    expected: [Blocked, Anomaly, SERIALIZATION, SERIALIZATION],
};

/// PMP for writes when the first writer rolls back: at READ UNCOMMITTED the
/// DELETE chose its rows from uncommitted values that then vanished.
/// Only T2 commits, so the only serial result is {(1, 10)}.
pub const PMP_WRITE_ROLLBACK: Scenario = Scenario {
    name: "pmp_predicate_many_preceders_write_rollback",
    about: "T1 adds 10 to every row; T2 deletes value = 20 and waits; T1 rolls back",
    script: xy(&[
        step(1, "BEGIN"),
        step(2, "BEGIN"),
        step(1, "UPDATE test SET value = value + 10"),
        labeled(2, "DELETE FROM test WHERE value = 20", "t2 delete"),
        step(1, "ROLLBACK"),
        step(2, "COMMIT"),
    ]),
    anomaly: |run| run.clean(2) && run.final_rows != [[1, 10]],
    expected: [Anomaly, Blocked, Blocked, Blocked],
};

/// P4: two read-modify-write cycles on x; one increment is lost.
pub const P4: Scenario = Scenario {
    name: "p4_lost_update",
    about: "T1, T2 read x = 10; both write x = 11; both commit",
    script: xy(&[
        step(1, "BEGIN"),
        step(2, "BEGIN"),
        labeled(1, "SELECT value FROM test WHERE id = 1", "t1 reads x"),
        labeled(2, "SELECT value FROM test WHERE id = 1", "t2 reads x"),
        step(1, "UPDATE test SET value = 11 WHERE id = 1"),
        step(2, "UPDATE test SET value = 11 WHERE id = 1"),
        step(1, "COMMIT"),
        step(2, "COMMIT"),
    ]),
    anomaly: |run| {
        run.value("t1 reads x") == Some(10)
            && run.value("t2 reads x") == Some(10)
            && run.clean(1)
            && run.clean(2)
    },
    expected: [Anomaly, Anomaly, SERIALIZATION, SERIALIZATION],
};

/// G-single: T1 sees x before and y after T2's transfer between them.
pub const G_SINGLE: Scenario = Scenario {
    name: "g_single_read_skew",
    about: "T1 reads x; T2 x=12, y=18, commit; T1 reads y: x + y is not 30",
    script: xy(&[
        step(1, "BEGIN"),
        step(2, "BEGIN"),
        labeled(1, "SELECT value FROM test WHERE id = 1", "t1 reads x"),
        step(2, "SELECT value FROM test WHERE id = 1"),
        step(2, "SELECT value FROM test WHERE id = 2"),
        step(2, "UPDATE test SET value = 12 WHERE id = 1"),
        step(2, "UPDATE test SET value = 18 WHERE id = 2"),
        step(2, "COMMIT"),
        labeled(1, "SELECT value FROM test WHERE id = 2", "t1 reads y"),
        step(1, "COMMIT"),
    ]),
    anomaly: |run| run.value("t1 reads x") == Some(10) && run.value("t1 reads y") == Some(18),
    expected: [Anomaly, Anomaly, Prevented, Prevented],
};
