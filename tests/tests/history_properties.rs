//! Property suites: random list-append workloads with predicate scans and
//! inserts, in SQL (see `isodb_tests::workload`), run by several threads at
//! one isolation level, recorded as jepsen-lite histories and checked. The committed results must
//! never show an anomaly the level forbids:
//!
//! | level | forbidden |
//! | --- | --- |
//! | READ UNCOMMITTED | G0 dirty write (and internal inconsistency, duplicates, garbage) |
//! | READ COMMITTED | G0, G1a, G1b, G1c (jepsen-lite's read-committed) |
//! | REPEATABLE READ | also G-single, G-nonadjacent, lost update (snapshot isolation) |
//! | SERIALIZABLE | every dependency cycle, G2 included (serializable) |
//!
//! Cases per level: 64 by default, `PROPTEST_CASES` overrides. A failing
//! case shrinks to a small schedule printed as SQL per session, followed by
//! the recorded history (T ids as the checker's explanation uses them).
//!
//! Two deterministic lockstep runs show the pipeline is not blind: write
//! skew and predicate write skew are recorded and found at REPEATABLE READ,
//! and aborted at SERIALIZABLE.

use isodb::IsolationLevel;
use isodb_tests::history_run::{self, guarantee};
use isodb_tests::workload::{self, Op, Txn, Workload};
use jepsen_lite::anomaly::AnomalyKind;
use jepsen_lite::checker::check;
use jepsen_lite::models::Model;
use proptest::prelude::*;
use proptest::test_runner::Config;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn config() -> Config {
    Config {
        cases: cases(),
        max_shrink_iters: 256,
        ..Config::default()
    }
}

/// Runs `workload` at `level` and checks its history; `Err` explains.
fn holds(workload: &Workload, level: IsolationLevel) -> Result<(), TestCaseError> {
    let history = history_run::run(workload, level).map_err(TestCaseError::fail)?;
    let report = check(&history);
    let violations = guarantee(level).violations(&report);
    if violations.is_empty() {
        Ok(())
    } else {
        let txns: Vec<String> = history
            .txns
            .iter()
            .map(|t| {
                let ops: Vec<String> = t.ops.iter().map(|op| op.to_string()).collect();
                format!(
                    "T{} (t{}, {:?}): {}",
                    t.id,
                    t.process + 1,
                    t.outcome,
                    ops.join(", ")
                )
            })
            .collect();
        Err(TestCaseError::fail(format!(
            "at {level} the history shows what the level forbids:\n{}\nhistory:\n{}",
            violations.join("\n"),
            txns.join("\n")
        )))
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn read_uncommitted_histories_have_no_dirty_writes(w in workload::workload(3)) {
        holds(&w, IsolationLevel::ReadUncommitted)?;
    }

    #[test]
    fn read_committed_histories_are_read_committed(w in workload::workload(3)) {
        holds(&w, IsolationLevel::ReadCommitted)?;
    }

    #[test]
    fn repeatable_read_histories_are_snapshot_isolated(w in workload::workload(3)) {
        holds(&w, IsolationLevel::RepeatableRead)?;
    }

    #[test]
    fn serializable_histories_are_serializable(w in workload::workload(3)) {
        holds(&w, IsolationLevel::Serializable)?;
    }
}

/// Write skew in lockstep: both sessions read keys 0 and 1 (both empty),
/// then each appends to a different key.
fn write_skew() -> Workload {
    let txn = |key| Txn {
        ops: vec![Op::Read(0), Op::Read(1), Op::Append(key, 1)],
        commit: true,
    };
    Workload {
        sessions: vec![vec![txn(0)], vec![txn(1)]],
    }
}

/// The recording and checking pipeline is not blind: the write skew that
/// REPEATABLE READ allows is recorded and found (G2-item: not serializable,
/// still snapshot isolation), and SERIALIZABLE aborts one of the two.
#[test]
fn the_history_pipeline_sees_write_skew_at_repeatable_read_only() {
    let history = history_run::run_in_lockstep(&write_skew(), IsolationLevel::RepeatableRead)
        .expect("run at repeatable read");
    let report = check(&history);
    assert_eq!(report.committed, 2);
    assert!(report.has(AnomalyKind::G2Item), "{:?}", report.anomalies);
    assert!(!report.satisfies(Model::Serializable));
    assert!(
        guarantee(IsolationLevel::RepeatableRead)
            .violations(&report)
            .is_empty()
    );
    assert!(
        !guarantee(IsolationLevel::Serializable)
            .violations(&report)
            .is_empty()
    );

    let history = history_run::run_in_lockstep(&write_skew(), IsolationLevel::Serializable)
        .expect("run at serializable");
    let report = check(&history);
    assert_eq!(report.committed, 1, "one of the two must be aborted");
    assert!(
        report.satisfies(Model::Serializable),
        "{:?}",
        report.anomalies
    );
}

#[test]
fn lockstep_refuses_workloads_it_cannot_pace() {
    let mut w = write_skew();
    w.sessions[1][0].ops.pop();
    assert!(history_run::run_in_lockstep(&w, IsolationLevel::Serializable).is_err());
}

/// Predicate write skew in lockstep: both scan `rows` (empty), then each
/// inserts a row the other's scan would have returned.
fn predicate_write_skew() -> Workload {
    let txn = |key| Txn {
        ops: vec![Op::Scan, Op::Insert(key)],
        commit: true,
    };
    Workload {
        sessions: vec![vec![txn(100)], vec![txn(101)]],
    }
}

/// Phantoms reach the checker: at REPEATABLE READ both commit and the
/// history has a G2 cycle through predicate anti-dependencies; at
/// SERIALIZABLE one of the two is aborted.
#[test]
fn the_history_pipeline_sees_phantoms_at_repeatable_read_only() {
    let history =
        history_run::run_in_lockstep(&predicate_write_skew(), IsolationLevel::RepeatableRead)
            .expect("run at repeatable read");
    let report = check(&history);
    assert_eq!(report.committed, 2);
    assert!(report.has(AnomalyKind::G2), "{:?}", report.anomalies);
    assert!(!report.satisfies(Model::Serializable));

    let history =
        history_run::run_in_lockstep(&predicate_write_skew(), IsolationLevel::Serializable)
            .expect("run at serializable");
    let report = check(&history);
    assert_eq!(report.committed, 1, "one of the two must be aborted");
    assert!(
        report.satisfies(Model::Serializable),
        "{:?}",
        report.anomalies
    );
}
