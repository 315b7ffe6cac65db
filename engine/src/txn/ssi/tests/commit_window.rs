//! The window between `prepare_commit` and `committed`: the engine writes
//! the batch (assigning the commit seq, visible to new snapshots) in between,
//! and other transactions run meanwhile. "T_out commits first" must be
//! decided conservatively there; these schedules pin the corners.

use crate::txn::ssi::tests::{Schedule, serialization_failure};

/// The pivot T2 passed its check while T_out (T3) was active; another
/// commit then raises the known seq; T3 now commits and may still get its
/// seq before T2's batch. The structure is dangerous, and with the pivot
/// past its check, T_in (T1) is the victim.
#[test]
fn committing_pivot_may_still_commit_after_t_out() {
    let db = Schedule::new();
    for txn in [1, 2, 3, 4] {
        db.begin(txn);
    }
    db.read(1, "x").expect("T1 reads x");
    db.write(1, "w").expect("T1 writes w");
    db.write(2, "x").expect("T2 writes x");
    db.read(2, "y").expect("T2 reads y");
    db.write(3, "y").expect("T3 writes y");
    db.tracker
        .prepare_commit(2)
        .expect("T2 passes: T3 is still active");
    db.write(4, "z").expect("T4 writes z");
    db.tracker.prepare_commit(4).expect("T4 passes");
    db.committed(4, 1);
    db.tracker.prepare_commit(3).expect("T3 passes");
    let why = serialization_failure(db.read(1, "v"));
    assert!(why.contains("transaction 1 is the reader"), "{why}");
    assert!(
        why.contains("1 -rw-> 2 -rw-> 3, and 3 is committing first"),
        "{why}"
    );
    // T3's batch got seq 2, T2's seq 3: T3 did commit first.
    db.committed(3, 2);
    db.committed(2, 3);
    db.aborted(1);
    assert_eq!(db.tracker.stats(), Default::default());
}

/// T_out's batch is visible (seq 1) but not yet reported: a read-only T1
/// that began after it sees T3's write. T1 -rw-> T2 -rw-> T3 -wr-> T1 is a
/// real cycle, so the read-only rule must count T3 as committed at or
/// before T1's snapshot, and the pivot T2 is doomed.
#[test]
fn t_out_visible_before_it_is_reported_still_counts_for_the_read_only_rule() {
    let db = Schedule::new();
    db.begin(2);
    db.begin(3);
    db.read(2, "y").expect("T2 reads y");
    db.write(2, "x").expect("T2 writes x");
    db.write(3, "y").expect("T3 writes y");
    db.tracker.prepare_commit(3).expect("T3 passes");
    // T3's batch is written at seq 1; T1 takes its snapshot there.
    db.tracker.begin(1, 1, true);
    db.read(1, "y").expect("T1 sees T3's y");
    db.read(1, "x").expect("T1 reads x, missing T2's write");
    // Doomed at once, while T3 is still only committing.
    let why = serialization_failure(db.tracker.prepare_commit(2));
    db.committed(3, 1);
    assert!(why.contains("transaction 2 is the pivot"), "{why}");
    assert!(
        why.contains("before read-only transaction 1 took its snapshot"),
        "{why}"
    );
    db.tracker
        .prepare_commit(1)
        .expect("the read-only reader commits");
    db.committed(1, 1);
}

/// A transaction without writes commits at the store's last seq, which can
/// equal T_out's: a tie means T_out's write was already visible, so T_out
/// committed first. Here T1 sees T3's write, commits at T3's seq 1, and
/// only then does the pivot T2 overwrite what T1 read: T1 -rw-> T2 -rw->
/// T3 -wr-> T1 is a cycle and T2 must fail.
#[test]
fn reader_committing_at_t_outs_seq_counts_t_out_as_first() {
    let mut db = Schedule::new();
    db.begin(2);
    db.begin(3);
    db.write(3, "y").expect("T3 writes y");
    let t_out_seq = db.commit(3).expect("T3 commits");
    db.read(2, "y").expect("T2 reads y, missing T3's write");
    db.begin(1);
    db.read(1, "y").expect("T1 sees T3's y");
    db.read(1, "x").expect("T1 reads x");
    db.tracker.prepare_commit(1).expect("T1 passes");
    db.committed(1, t_out_seq);
    let why = serialization_failure(db.write(2, "x"));
    assert!(
        why.contains("1 -rw-> 2 -rw-> 3, and 3 committed first"),
        "{why}"
    );
}
