//! Anomaly transcripts at SERIALIZABLE, at the tracker level.
//!
//! Prevented here (a transaction gets 40001): G2-item write skew, G2
//! predicate write skew, P4 lost update (at the tracker level; the engine's
//! first-updater-wins usually stops it earlier) and the Fekete et al. 2004
//! read-only anomaly. Allowed (no abort, because no cycle can form): every
//! commit order of `T_in -rw-> P -rw-> T_out` in which `T_out` does not
//! commit first, and read-only transactions whose snapshot precedes
//! `T_out`'s commit.

use crate::txn::ssi::tests::{Schedule, serialization_failure};

/// G2-item: both read x and y; T1 writes x, T2 writes y. Whoever commits
/// first wins; the other is doomed as the pivot.
#[test]
fn write_skew_dooms_the_second_to_commit() {
    for first in [1, 2] {
        let second = 3 - first;
        let mut db = Schedule::new();
        db.begin(1);
        db.begin(2);
        for txn in [1, 2] {
            db.read(txn, "x").expect("read x");
            db.read(txn, "y").expect("read y");
        }
        db.write(1, "x").expect("T1 writes x");
        db.write(2, "y").expect("T2 writes y");
        db.commit(first).expect("the first committer wins");
        let why = serialization_failure(db.commit(second));
        assert!(
            why.contains(&format!("transaction {second} is the pivot")),
            "{why}"
        );
        assert_eq!(db.tracker.stats().transactions(), 0);
    }
}

/// Write skew where the victim learns of its fate on its next read.
#[test]
fn write_skew_victim_fails_on_its_next_call() {
    let mut db = Schedule::new();
    db.begin(1);
    db.begin(2);
    db.read(1, "x").expect("T1 reads x");
    db.read(2, "y").expect("T2 reads y");
    db.write(1, "y").expect("T1 writes y");
    db.write(2, "x").expect("T2 writes x");
    db.commit(2).expect("T2 commits first");
    serialization_failure(db.read(1, "z"));
}

/// G2: both scan the same range and insert into it.
#[test]
fn predicate_write_skew_with_ranges_aborts_one() {
    let mut db = Schedule::new();
    db.begin(1);
    db.begin(2);
    db.scan(1, "shift/a", "shift/z").expect("T1 scans");
    db.scan(2, "shift/a", "shift/z").expect("T2 scans");
    db.write(1, "shift/m").expect("T1 inserts m");
    db.write(2, "shift/n").expect("T2 inserts n");
    db.commit(1).expect("T1 commits");
    serialization_failure(db.commit(2));
}

/// A range read meets a write that was already made: the scan itself finds
/// the writer, and the cycle is caught the same way.
#[test]
fn scan_after_the_insert_still_conflicts() {
    let mut db = Schedule::new();
    db.begin(1);
    db.begin(2);
    db.write(1, "shift/m").expect("T1 inserts m");
    db.write(2, "shift/n").expect("T2 inserts n");
    db.scan(1, "shift/a", "shift/z").expect("T1 scans");
    db.scan(2, "shift/a", "shift/z").expect("T2 scans");
    db.commit(2).expect("T2 commits");
    serialization_failure(db.commit(1));
}

/// P4 at the tracker level: both read x, both write x.
#[test]
fn lost_update_aborts_the_second_writer() {
    let mut db = Schedule::new();
    db.begin(1);
    db.begin(2);
    db.read(1, "x").expect("T1 reads x");
    db.read(2, "x").expect("T2 reads x");
    db.write(1, "x").expect("T1 writes x");
    db.write(2, "x").expect("T2 writes x");
    db.commit(1).expect("T1 commits");
    serialization_failure(db.commit(2));
}

/// Fekete, O'Neil and O'Neil 2004: T2 withdraws from checking (x) after
/// reading both balances, T1 deposits into savings (y), and the read-only
/// report T3 sees the deposit but not the withdrawal. T1 (T_out) committed
/// before T3's snapshot, and the pivot T2 has committed, so T3 must abort.
#[test]
fn read_only_anomaly_aborts_the_report() {
    let mut db = Schedule::new();
    db.begin(2);
    db.read(2, "x").expect("T2 reads checking");
    db.read(2, "y").expect("T2 reads savings");
    db.begin(1);
    db.read(1, "y").expect("T1 reads savings");
    db.write(1, "y").expect("T1 deposits");
    db.commit(1).expect("T1 commits");
    db.begin_read_only(3);
    db.write(2, "x").expect("T2 withdraws");
    db.commit(2).expect("T2 commits");
    db.read(3, "y").expect("T3 sees the deposit");
    let why = serialization_failure(db.read(3, "x"));
    assert!(why.contains("transaction 3 is the reader"), "{why}");
    assert!(why.contains("3 -rw-> 2 -rw-> 1"), "{why}");
    assert!(why.contains("read-only transaction 3"), "{why}");
}

/// The same anomaly while the pivot is still active: the pivot is the victim
/// and the read-only report commits.
#[test]
fn read_only_anomaly_with_active_pivot_aborts_the_pivot() {
    let mut db = Schedule::new();
    db.begin(2);
    db.read(2, "x").expect("T2 reads checking");
    db.read(2, "y").expect("T2 reads savings");
    db.begin(1);
    db.write(1, "y").expect("T1 deposits");
    db.commit(1).expect("T1 commits");
    db.begin_read_only(3);
    db.read(3, "x").expect("T3 reads checking");
    db.read(3, "y").expect("T3 reads savings");
    db.commit(3).expect("the report commits");
    let why = serialization_failure(db.write(2, "x"));
    assert!(why.contains("transaction 2 is the pivot"), "{why}");
    assert!(why.contains("3 -rw-> 2 -rw-> 1"), "{why}");
}

/// The variant that is serializable (T3, T2, T1): T3's snapshot precedes
/// T1's commit, so the read-only rule says no cycle can close.
#[test]
fn read_only_transaction_before_t_out_commits_is_not_aborted() {
    let mut db = Schedule::new();
    db.begin(2);
    db.read(2, "x").expect("T2 reads checking");
    db.read(2, "y").expect("T2 reads savings");
    db.begin(1);
    db.begin_read_only(3);
    db.write(1, "y").expect("T1 deposits");
    db.commit(1).expect("T1 commits");
    db.write(2, "x").expect("T2 withdraws");
    db.commit(2).expect("T2 commits");
    db.read(3, "x").expect("T3 reads checking");
    db.read(3, "y").expect("T3 reads savings");
    db.commit(3).expect("the report commits");
}

/// Without the read-only rule the pivot T1 would be aborted here: T3 -rw->
/// T1 -rw-> T2 with T2 first. But T3 is read-only with a snapshot before
/// T2's commit, so everyone commits (serial order T3, T1, T2).
#[test]
fn read_only_transaction_keeps_a_pivot_alive_when_no_cycle_can_form() {
    let mut db = Schedule::new();
    db.begin(1);
    db.begin(2);
    db.begin_read_only(3);
    db.read(1, "x").expect("T1 reads x");
    db.write(2, "x").expect("T2 writes x");
    db.commit(2).expect("T2 commits");
    db.read(3, "y").expect("T3 reads y");
    db.write(1, "y").expect("T1 writes y");
    db.commit(1).expect("T1 commits");
    db.read(3, "x").expect("T3 reads x");
    db.commit(3).expect("T3 commits");
}

/// A read-only reader beside a write-skew pair: the pair loses one member,
/// the reader is never the victim.
#[test]
fn read_only_beside_write_skew_pair_is_never_aborted() {
    for first in [1, 2] {
        let mut db = Schedule::new();
        db.begin(1);
        db.begin(2);
        db.begin_read_only(3);
        for txn in [1, 2, 3] {
            db.read(txn, "x").expect("read x");
            db.read(txn, "y").expect("read y");
        }
        db.write(1, "x").expect("T1 writes x");
        db.write(2, "y").expect("T2 writes y");
        db.commit(first).expect("first committer wins");
        db.read(3, "x").expect("T3 reads x again");
        db.read(3, "z").expect("T3 reads z");
        serialization_failure(db.commit(3 - first));
        db.commit(3).expect("the read-only transaction commits");
    }
}

/// `T1 -rw-> T2 -rw-> T3` in all six commit orders: only the orders in
/// which T3 (T_out) commits first abort anyone, and then the pivot T2.
#[test]
fn dangerous_structure_aborts_only_when_t_out_commits_first() {
    let orders = [
        [1, 2, 3],
        [1, 3, 2],
        [2, 1, 3],
        [2, 3, 1],
        [3, 1, 2],
        [3, 2, 1],
    ];
    for order in orders {
        let mut db = Schedule::new();
        for txn in [1, 2, 3] {
            db.begin(txn);
        }
        db.read(1, "x").expect("T1 reads x");
        db.write(2, "x").expect("T2 writes x");
        db.read(2, "y").expect("T2 reads y");
        db.write(3, "y").expect("T3 writes y");
        for txn in order {
            let outcome = db.commit(txn);
            if order[0] == 3 && txn == 2 {
                let why = serialization_failure(outcome);
                assert!(why.contains("1 -rw-> 2 -rw-> 3"), "{order:?}: {why}");
            } else {
                outcome.unwrap_or_else(|e| panic!("order {order:?}: T{txn} failed: {e}"));
            }
        }
    }
}

/// When both the pivot and T_in are already committing, the transaction
/// now committing as T_out is the only one that can still be aborted.
/// (Were T1 read-only, the read-only rule would let all three commit: T3
/// cannot commit before T1's snapshot.)
#[test]
fn committing_t_out_aborts_itself_when_the_others_are_past_their_check() {
    let db = Schedule::new();
    for txn in [1, 2, 3] {
        db.begin(txn);
    }
    db.read(1, "x").expect("T1 reads x");
    db.write(1, "w").expect("T1 writes w: not read-only");
    db.write(2, "x").expect("T2 writes x");
    db.read(2, "y").expect("T2 reads y");
    db.write(3, "y").expect("T3 writes y");
    db.tracker.prepare_commit(1).expect("T1 passes");
    db.tracker
        .prepare_commit(2)
        .expect("T2 passes: T3 has not committed");
    let why = serialization_failure(db.tracker.prepare_commit(3));
    assert!(why.contains("transaction 3 would commit first"), "{why}");
    db.aborted(3);
    db.committed(1, 1);
    db.committed(2, 2);
    assert_eq!(db.tracker.stats().transactions(), 0);
}

/// T_out committed, then the pivot commits, then a writer reads what the
/// pivot wrote: it is T_in and, the pivot being committed, the victim.
#[test]
fn late_reader_of_a_committed_pivot_is_the_victim() {
    let mut db = Schedule::new();
    db.begin(2);
    db.begin(1);
    db.read(2, "y").expect("T2 reads y");
    db.write(1, "y").expect("T1 writes y");
    db.commit(1).expect("T1 commits");
    db.begin(3);
    db.write(2, "x").expect("T2 writes x");
    db.commit(2).expect("T2 commits");
    let why = serialization_failure(db.read(3, "x"));
    assert!(why.contains("transaction 3 is the reader"), "{why}");
    assert!(!why.contains("read-only"), "{why}");
}

/// The worked example of the module essay, with its ids and message.
#[test]
fn essay_example_write_skew() {
    let db = Schedule::new();
    db.tracker.begin(11, 5, false);
    db.tracker.begin(12, 5, false);
    for txn in [11, 12] {
        db.read(txn, "x").expect("read x");
        db.read(txn, "y").expect("read y");
    }
    db.write(11, "x").expect("T11 writes x");
    db.write(12, "y").expect("T12 writes y");
    db.tracker.prepare_commit(11).expect("T11 passes");
    db.committed(11, 6);
    assert_eq!(
        serialization_failure(db.read(12, "z")),
        "read/write dependencies among transactions: transaction 12 is the pivot of a \
         dangerous structure (11 -rw-> 12 -rw-> 11, and 11 is committing first); retry the \
         transaction"
    );
}
