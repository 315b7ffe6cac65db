//! The anomaly matrix: every Adya phenomenon of /work/shared/ISOLATION.md as
//! a Hermitage-style script of two or three sessions, run at each of the
//! four isolation levels, with the exact outcome asserted.
//!
//! The table `test(id, value)` starts with x = (1, 10) and y = (2, 20). Each
//! session runs on its own thread (see `common/script.rs`), so a step that
//! waits for a row lock really blocks and the script carries on with the
//! other session.
//!
//! Outcomes: **A** the anomaly happens (the level allows it); **B** prevented
//! by blocking (a writer waits, then the result is serial); **40001**/**40P01**
//! prevented by aborting a transaction with that SQLSTATE (possibly after
//! blocking); **P** prevented without blocking or aborting (snapshot reads).
//!
//! | phenomenon                        | READ UNCOMMITTED | READ COMMITTED | REPEATABLE READ | SERIALIZABLE |
//! | --------------------------------- | :--------------: | :------------: | :-------------: | :----------: |
//! | G0 dirty write                    | B                | B              | 40001 (after B) | 40001 (after B) |
//! | P1 dirty read                     | A                | P              | P               | P            |
//! | G1a aborted read                  | A                | P              | P               | P            |
//! | G1b intermediate read             | A                | P              | P               | P            |
//! | G1c circular information flow     | A                | P              | P               | 40001        |
//! | OTV observed transaction vanishes | A                | P              | P               | P            |
//! | P2 non-repeatable read            | A                | A              | P               | P            |
//! | P3 phantom (range)                | A                | A              | P               | P            |
//! | P4 lost update                    | A                | A              | 40001 (after B) | 40001 (after B) |
//! | G-single read skew                | A                | A              | P               | P            |
//! | G2-item write skew                | A                | A              | A               | 40001        |
//! | G2 predicate write skew           | A                | A              | A               | 40001        |
//! | read-only anomaly (Fekete 2004)   | A                | A              | A               | 40001        |
//! | (deadlock, not an anomaly)        | 40P01            | 40P01          | 40P01           | 40P01        |
//!
//! Every "—" of ISOLATION.md is an **A** here, shown happening; every "✓" is
//! B, P or an abort. G1c at SERIALIZABLE: the script's reads form a cycle of
//! read-write dependencies (each reads the old version of a row the other
//! writes), so SSI must abort one of the two; at REPEATABLE READ the same
//! history commits (circular *information flow* is still prevented: neither
//! reads the other's write, but the pair is a write skew).

mod common;

use common::script::Script;
use isodb_engine::txn::IsolationLevel;

/// How a script ended at one level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The anomaly happened.
    Anomaly,
    /// A writer waited and the result was serial.
    Blocked,
    /// A transaction was aborted with this SQLSTATE.
    Aborted(&'static str),
    /// Prevented without blocking or aborting.
    Prevented,
}
use Outcome::*;

const X: u64 = 1;
const Y: u64 = 2;

fn start(level: IsolationLevel, sessions: usize) -> Script {
    Script::new(level, sessions, &[(X, 10), (Y, 20)])
}

/// The outcome of a finished script: the anomaly if its condition holds,
/// else the first abort, else blocking, else prevented.
fn classify(script: &Script, anomaly: bool) -> Outcome {
    script.check_errors();
    if anomaly {
        Anomaly
    } else if let Some(code) = script.first_abort() {
        Aborted(code)
    } else if script.any_blocked() {
        Blocked
    } else {
        Prevented
    }
}

/// Runs `scenario` at every level and compares with `expected` (RU, RC, RR, SER).
fn check_matrix(
    name: &str,
    expected: [Outcome; 4],
    scenario: fn(IsolationLevel) -> (Outcome, String),
) {
    let mut report = String::new();
    let mut wrong = 0;
    for (level, want) in IsolationLevel::ALL.into_iter().zip(expected) {
        let (got, transcript) = scenario(level);
        let mark = if got == want { "ok " } else { "WRONG" };
        if got != want {
            wrong += 1;
        }
        report.push_str(&format!(
            "  {mark} {name} at {level}: expected {want:?}, observed {got:?}\n{transcript}"
        ));
    }
    eprintln!("{report}");
    assert_eq!(
        wrong, 0,
        "{name}: {wrong} level(s) differ from the matrix (transcripts above)"
    );
}

fn finish(mut s: Script, anomaly: impl FnOnce(&mut Script) -> bool) -> (Outcome, String) {
    s.settle();
    let anomaly = anomaly(&mut s);
    let outcome = classify(&s, anomaly);
    (outcome, s.transcript())
}

/// G0: T1 x=11; T2 x=12; T1 y=21, commit; T2 y=22, commit. A dirty write
/// would leave a mix of both (x from one, y from the other).
fn g0(level: IsolationLevel) -> (Outcome, String) {
    let mut s = start(level, 2);
    s.begin(1);
    s.begin(2);
    s.put(1, X, 11);
    s.put(2, X, 12);
    s.put(1, Y, 21);
    s.commit(1);
    s.put(2, Y, 22);
    s.commit(2);
    finish(s, |s| {
        let rows = s.final_rows();
        let mixed = (rows[&X] == 11) != (rows[&Y] == 21);
        // Whatever happened, the committed state is one transaction's whole.
        assert!(
            matches!((rows[&X], rows[&Y]), (11, 21) | (12, 22)) || mixed,
            "impossible final state {rows:?}"
        );
        mixed
    })
}

/// P1 dirty read: T1 x=101; T2 reads x; T2 commit; T1 commit.
fn p1(level: IsolationLevel) -> (Outcome, String) {
    let mut s = start(level, 2);
    s.begin(1);
    s.begin(2);
    s.put(1, X, 101);
    let read = s.get(2, X);
    s.commit(2);
    s.commit(1);
    finish(s, |_| read.value() == Some(Some(101)))
}

/// G1a aborted read: T1 x=101; T2 reads x; T1 rollback; T2 reads x; T2 commit.
fn g1a(level: IsolationLevel) -> (Outcome, String) {
    let mut s = start(level, 2);
    s.begin(1);
    s.begin(2);
    s.put(1, X, 101);
    let first = s.get(2, X);
    s.rollback(1);
    let second = s.get(2, X);
    s.commit(2);
    finish(s, |s| {
        assert_eq!(second.value(), Some(Some(10)), "x after the rollback");
        s.committed(2) && first.value() == Some(Some(101))
    })
}

/// G1b intermediate read: T1 x=101; T2 reads x; T1 x=11; T1 commit; T2 reads x; T2 commit.
fn g1b(level: IsolationLevel) -> (Outcome, String) {
    let mut s = start(level, 2);
    s.begin(1);
    s.begin(2);
    s.put(1, X, 101);
    let first = s.get(2, X);
    s.put(1, X, 11);
    s.commit(1);
    s.get(2, X);
    s.commit(2);
    finish(s, |s| s.committed(2) && first.value() == Some(Some(101)))
}

/// G1c circular information flow: T1 x=11; T2 y=22; T1 reads y; T2 reads x;
/// T1 commit; T2 commit. The anomaly: each read the other's write.
fn g1c(level: IsolationLevel) -> (Outcome, String) {
    let mut s = start(level, 2);
    s.begin(1);
    s.begin(2);
    s.put(1, X, 11);
    s.put(2, Y, 22);
    let t1_reads_y = s.get(1, Y);
    let t2_reads_x = s.get(2, X);
    s.commit(1);
    s.commit(2);
    finish(s, |s| {
        s.committed(1)
            && s.committed(2)
            && t1_reads_y.value() == Some(Some(22))
            && t2_reads_x.value() == Some(Some(11))
    })
}

/// OTV: T1 x=11, y=19, commit; T3 reads x (T1's 11); T2 x=12, y=18; T3 reads
/// y; T2 commit; T3 commit. The anomaly: T3 sees T1's x, then T2's y — T1's
/// y vanished although T3 already observed T1.
fn otv(level: IsolationLevel) -> (Outcome, String) {
    let mut s = start(level, 3);
    s.begin(1);
    s.put(1, X, 11);
    s.put(1, Y, 19);
    s.commit(1);
    s.begin(3);
    s.begin(2);
    let x = s.get(3, X);
    s.put(2, X, 12);
    s.put(2, Y, 18);
    let y = s.get(3, Y);
    s.commit(2);
    s.commit(3);
    finish(s, |s| {
        assert_eq!(x.value(), Some(Some(11)), "T3 must see committed T1");
        s.committed(3) && y.value() == Some(Some(18))
    })
}

/// P2 non-repeatable read: T1 reads x; T2 x=12, commit; T1 reads x; T1 commit.
fn p2(level: IsolationLevel) -> (Outcome, String) {
    let mut s = start(level, 2);
    s.begin(1);
    s.begin(2);
    let first = s.get(1, X);
    s.put(2, X, 12);
    s.commit(2);
    let second = s.get(1, X);
    s.commit(1);
    finish(s, |s| s.committed(1) && first.value() != second.value())
}

/// P3 phantom: T1 `where value % 3 = 0` (none); T2 inserts (3, 30), commit;
/// T1 `where value % 3 = 0` again; T1 commit.
fn p3(level: IsolationLevel) -> (Outcome, String) {
    let mut s = start(level, 2);
    s.begin(1);
    s.begin(2);
    let first = s.select(1, "value % 3 = 0", |v| v % 3 == 0);
    s.put(2, 3, 30);
    s.commit(2);
    let second = s.select(1, "value % 3 = 0", |v| v % 3 == 0);
    s.commit(1);
    finish(s, |s| {
        assert_eq!(first.rows(), Some(vec![]), "no row matches at first");
        s.committed(1) && second.rows() != first.rows()
    })
}

/// P4 lost update: T1, T2 read x; T1 x = read + 1; T2 x = read + 1; T1
/// commit; T2 commit. Two increments, x = 11: one was lost.
fn p4(level: IsolationLevel) -> (Outcome, String) {
    let mut s = start(level, 2);
    s.begin(1);
    s.begin(2);
    let r1 = s.get(1, X).value().flatten().expect("T1 reads x");
    let r2 = s.get(2, X).value().flatten().expect("T2 reads x");
    s.put(1, X, r1 + 1);
    s.put(2, X, r2 + 1);
    s.commit(1);
    s.commit(2);
    finish(s, |s| {
        s.committed(1) && s.committed(2) && s.final_rows()[&X] == 11
    })
}

/// G-single read skew: T1 reads x; T2 x=12, y=18, commit; T1 reads y; T1 commit.
/// T1 sees x before T2 and y after it (x + y = 28, not 30).
fn g_single(level: IsolationLevel) -> (Outcome, String) {
    let mut s = start(level, 2);
    s.begin(1);
    s.begin(2);
    let x = s.get(1, X);
    s.put(2, X, 12);
    s.put(2, Y, 18);
    s.commit(2);
    let y = s.get(1, Y);
    s.commit(1);
    finish(s, |s| {
        s.committed(1) && x.value() == Some(Some(10)) && y.value() == Some(Some(18))
    })
}

/// G2-item write skew: both read x and y; T1 x=11; T2 y=21; both commit.
fn g2_item(level: IsolationLevel) -> (Outcome, String) {
    let mut s = start(level, 2);
    s.begin(1);
    s.begin(2);
    s.get(1, X);
    s.get(1, Y);
    s.get(2, X);
    s.get(2, Y);
    s.put(1, X, 11);
    s.put(2, Y, 21);
    s.commit(1);
    s.commit(2);
    finish(s, |s| s.committed(1) && s.committed(2))
}

/// G2 predicate write skew: both `where value % 3 = 0` (none); T1 inserts
/// (3, 30); T2 inserts (4, 42); both commit.
fn g2(level: IsolationLevel) -> (Outcome, String) {
    let mut s = start(level, 2);
    s.begin(1);
    s.begin(2);
    let r1 = s.select(1, "value % 3 = 0", |v| v % 3 == 0);
    let r2 = s.select(2, "value % 3 = 0", |v| v % 3 == 0);
    s.put(1, 3, 30);
    s.put(2, 4, 42);
    s.commit(1);
    s.commit(2);
    finish(s, |s| {
        s.committed(1) && s.committed(2) && r1.rows() == Some(vec![]) && r2.rows() == Some(vec![])
    })
}

/// The read-only anomaly (Fekete, O'Neil, O'Neil 2004), x = checking, y =
/// savings. T2 (withdrawal) reads x and y; T3 (deposit) y += 20, commits;
/// T1 (read-only report) reads x and y, commits; T2 x = x - 11, commits.
/// T1 saw T3 but not T2, yet T2 must precede T3 (it read y before T3's
/// deposit): no serial order explains T1's report.
fn read_only(level: IsolationLevel) -> (Outcome, String) {
    let mut s = start(level, 3);
    s.begin(2);
    let x2 = s.get(2, X).value().flatten().expect("T2 reads x");
    s.get(2, Y);
    s.begin(3);
    let y3 = s.get(3, Y).value().flatten().expect("T3 reads y");
    s.put(3, Y, y3 + 20);
    s.commit(3);
    s.begin_read_only(1);
    let x1 = s.get(1, X);
    let y1 = s.get(1, Y);
    s.commit(1);
    s.put(2, X, x2 - 11);
    s.commit(2);
    finish(s, |s| {
        s.committed(1)
            && s.committed(2)
            && s.committed(3)
            && x1.value() == Some(Some(10))
            && y1.value() == Some(Some(40))
    })
}

/// A deadlock: T1 x=11; T2 y=22; T1 y=21 (waits for T2); T2 x=12 closes the
/// cycle and is the victim (40P01) at once; T1 then proceeds and commits.
fn deadlock(level: IsolationLevel) -> (Outcome, String) {
    let mut s = start(level, 2);
    s.begin(1);
    s.begin(2);
    s.put(1, X, 11);
    s.put(2, Y, 22);
    let waits = s.put(1, Y, 21);
    let victim = s.put(2, X, 12);
    s.commit(1);
    s.commit(2);
    finish(s, |s| {
        assert_eq!(
            waits,
            common::script::Observed::Blocked,
            "T1 must wait for T2's lock on y"
        );
        assert!(
            matches!(&victim, common::script::Observed::Done(Err(f)) if f.sqlstate == "40P01"),
            "T2 closes the cycle and must be the victim at once: {victim:?}"
        );
        assert!(s.committed(1), "T1 must proceed once the victim is gone");
        assert_eq!(
            s.final_rows(),
            [(X, 11), (Y, 21)].into(),
            "only T1's writes"
        );
        false
    })
}

#[test]
fn deadlock_victim_is_the_transaction_closing_the_cycle() {
    check_matrix("deadlock", [Aborted("40P01"); 4], deadlock);
}

#[test]
fn g0_dirty_write() {
    check_matrix(
        "G0",
        [Blocked, Blocked, Aborted("40001"), Aborted("40001")],
        g0,
    );
}

#[test]
fn p1_dirty_read() {
    check_matrix("P1", [Anomaly, Prevented, Prevented, Prevented], p1);
}

#[test]
fn g1a_aborted_read() {
    check_matrix("G1a", [Anomaly, Prevented, Prevented, Prevented], g1a);
}

#[test]
fn g1b_intermediate_read() {
    check_matrix("G1b", [Anomaly, Prevented, Prevented, Prevented], g1b);
}

#[test]
fn g1c_circular_information_flow() {
    check_matrix(
        "G1c",
        [Anomaly, Prevented, Prevented, Aborted("40001")],
        g1c,
    );
}

#[test]
fn otv_observed_transaction_vanishes() {
    check_matrix("OTV", [Anomaly, Prevented, Prevented, Prevented], otv);
}

#[test]
fn p2_non_repeatable_read() {
    check_matrix("P2", [Anomaly, Anomaly, Prevented, Prevented], p2);
}

#[test]
fn p3_phantom() {
    check_matrix("P3", [Anomaly, Anomaly, Prevented, Prevented], p3);
}

#[test]
fn p4_lost_update() {
    check_matrix(
        "P4",
        [Anomaly, Anomaly, Aborted("40001"), Aborted("40001")],
        p4,
    );
}

#[test]
fn g_single_read_skew() {
    check_matrix(
        "G-single",
        [Anomaly, Anomaly, Prevented, Prevented],
        g_single,
    );
}

#[test]
fn g2_item_write_skew() {
    check_matrix(
        "G2-item",
        [Anomaly, Anomaly, Anomaly, Aborted("40001")],
        g2_item,
    );
}

#[test]
fn g2_predicate_write_skew() {
    check_matrix("G2", [Anomaly, Anomaly, Anomaly, Aborted("40001")], g2);
}

#[test]
fn read_only_anomaly() {
    check_matrix(
        "read-only anomaly",
        [Anomaly, Anomaly, Anomaly, Aborted("40001")],
        read_only,
    );
}
