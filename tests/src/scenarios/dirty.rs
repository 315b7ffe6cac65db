//! Scenarios of dirty data: G0 dirty write, G1a aborted read, G1b
//! intermediate read, G1c circular information flow and OTV. READ
//! UNCOMMITTED shows all but G0; READ COMMITTED and above prevent them.

use super::{ALL_ROWS, Scenario, contains_value, xy};
use crate::matrix::{Outcome, SERIALIZATION};
use crate::script::{labeled, step};

use Outcome::{Anomaly, Blocked, Prevented};

/// G0: two writers interleave on x and y; the result must be all of one
/// and then all of the other.
pub const G0: Scenario = Scenario {
    name: "g0_dirty_write",
    about: "T1 x=11; T2 x=12; T1 y=21, commit; T2 y=22, commit: a mix of both is a dirty write",
    script: xy(&[
        step(1, "BEGIN"),
        step(2, "BEGIN"),
        step(1, "UPDATE test SET value = 11 WHERE id = 1"),
        step(2, "UPDATE test SET value = 12 WHERE id = 1"),
        step(1, "UPDATE test SET value = 21 WHERE id = 2"),
        step(1, "COMMIT"),
        step(2, "UPDATE test SET value = 22 WHERE id = 2"),
        step(2, "COMMIT"),
    ]),
    anomaly: |run| run.final_rows == [[1, 12], [2, 21]] || run.final_rows == [[1, 11], [2, 22]],
    // RU/RC: T2 waits for T1's lock, then overwrites both rows: (12, 22).
    // RR/SER: T2 waits, then finds x changed after its snapshot: 40001.
    expected: [Blocked, Blocked, SERIALIZATION, SERIALIZATION],
};

/// G1a: T2 reads x while T1's write of it is uncommitted; T1 rolls back.
pub const G1A: Scenario = Scenario {
    name: "g1a_aborted_read",
    about: "T1 x=101; T2 reads x; T1 rolls back: T2 saw a value that never existed",
    script: xy(&[
        step(1, "BEGIN"),
        step(2, "BEGIN"),
        step(1, "UPDATE test SET value = 101 WHERE id = 1"),
        labeled(2, ALL_ROWS, "t2 first read"),
        step(1, "ROLLBACK"),
        labeled(2, ALL_ROWS, "t2 second read"),
        step(2, "COMMIT"),
    ]),
    anomaly: |run| {
        contains_value(run.rows("t2 first read"), 101)
            || contains_value(run.rows("t2 second read"), 101)
    },
    expected: [Anomaly, Prevented, Prevented, Prevented],
};

/// G1b: T2 reads x between T1's two writes of it.
pub const G1B: Scenario = Scenario {
    name: "g1b_intermediate_read",
    about: "T1 x=101 then x=11; T2 reads between: T2 saw a state T1 never committed",
    script: xy(&[
        step(1, "BEGIN"),
        step(2, "BEGIN"),
        step(1, "UPDATE test SET value = 101 WHERE id = 1"),
        labeled(2, ALL_ROWS, "t2 first read"),
        step(1, "UPDATE test SET value = 11 WHERE id = 1"),
        step(1, "COMMIT"),
        labeled(2, ALL_ROWS, "t2 second read"),
        step(2, "COMMIT"),
    ]),
    anomaly: |run| {
        contains_value(run.rows("t2 first read"), 101)
            || contains_value(run.rows("t2 second read"), 101)
    },
    expected: [Anomaly, Prevented, Prevented, Prevented],
};

/// G1c: each transaction reads what the other wrote before either commits.
pub const G1C: Scenario = Scenario {
    name: "g1c_circular_information_flow",
    about: "T1 x=11; T2 y=22; T1 reads y, T2 reads x: each saw the other's write",
    script: xy(&[
        step(1, "BEGIN"),
        step(2, "BEGIN"),
        step(1, "UPDATE test SET value = 11 WHERE id = 1"),
        step(2, "UPDATE test SET value = 22 WHERE id = 2"),
        labeled(1, "SELECT value FROM test WHERE id = 2", "t1 reads y"),
        labeled(2, "SELECT value FROM test WHERE id = 1", "t2 reads x"),
        step(1, "COMMIT"),
        step(2, "COMMIT"),
    ]),
    anomaly: |run| run.value("t1 reads y") == Some(22) && run.value("t2 reads x") == Some(11),
    // SER: T1 -rw-> T2 -rw-> T1 is write skew too; SSI aborts T2.
    expected: [Anomaly, Prevented, Prevented, SERIALIZATION],
};

/// OTV: T3 sees T1's x, then a y that overwrote T1's before it committed.
pub const OTV: Scenario = Scenario {
    name: "otv_observed_transaction_vanishes",
    about: "T1 x=11, y=19; T2 x=12 waits; T3 reads x; T1 commits; T2 y=18; T3 reads y",
    script: xy(&[
        step(1, "BEGIN"),
        step(2, "BEGIN"),
        step(3, "BEGIN"),
        step(1, "UPDATE test SET value = 11 WHERE id = 1"),
        step(1, "UPDATE test SET value = 19 WHERE id = 2"),
        step(2, "UPDATE test SET value = 12 WHERE id = 1"),
        labeled(3, "SELECT value FROM test WHERE id = 1", "t3 reads x"),
        step(1, "COMMIT"),
        step(2, "UPDATE test SET value = 18 WHERE id = 2"),
        labeled(3, "SELECT value FROM test WHERE id = 2", "t3 reads y"),
        step(2, "COMMIT"),
        step(3, "COMMIT"),
    ]),
    anomaly: |run| run.value("t3 reads x") == Some(11) && run.value("t3 reads y") == Some(18),
    // RC: T2's first write waits for T1 (G0 protection), T3 reads only
    // committed data. RR/SER: T2's write after waiting fails with 40001.
    expected: [Anomaly, Blocked, SERIALIZATION, SERIALIZATION],
};
