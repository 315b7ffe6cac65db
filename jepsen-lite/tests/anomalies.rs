//! One hand-made history per anomaly, each found and named, and a near miss of each that is valid.
//!
//! Every history is written out transaction by transaction; `ok(p, [...])` runs a transaction
//! alone on process `p` (so real-time order equals list order unless a test interleaves).

use jepsen_lite::anomaly::AnomalyKind as K;
use jepsen_lite::checker::{CheckReport, check};
use jepsen_lite::history::{EventType, HistoryBuilder, MicroOp};
use jepsen_lite::models::Model;
use jepsen_lite::predicate::{CmpOp, Predicate};

fn append(k: i64, v: i64) -> MicroOp {
    MicroOp::append(k, v)
}
fn r(k: i64, v: &[i64]) -> MicroOp {
    MicroOp::read_list(k, v)
}
fn w(k: i64, v: i64) -> MicroOp {
    MicroOp::write(k, v)
}
fn rr(k: i64, v: Option<i64>) -> MicroOp {
    MicroOp::read(k, v)
}

/// Runs transactions serially, each on its own process (so no session guarantee is involved).
fn run(txns: Vec<(EventType, Vec<MicroOp>)>) -> CheckReport {
    let mut b = HistoryBuilder::new();
    for (i, (kind, ops)) in txns.into_iter().enumerate() {
        b.txn(i as u64, kind, ops);
    }
    check(&b.build().expect("well-formed"))
}

fn ok(ops: Vec<MicroOp>) -> (EventType, Vec<MicroOp>) {
    (EventType::Ok, ops)
}

#[track_caller]
fn assert_found(report: &CheckReport, kind: K) {
    let found = report.anomalies.iter().find(|a| a.kind == kind);
    let Some(anomaly) = found else {
        panic!("expected {kind}, found {:?}", report.kinds())
    };
    assert!(!anomaly.explanation.is_empty());
    for step in &anomaly.cycle {
        assert!(
            !step.why.is_empty() && step.why != "(inferred)",
            "unexplained step {step:?}"
        );
    }
}

#[track_caller]
fn assert_valid(report: &CheckReport) {
    assert!(
        report.anomalies.is_empty(),
        "expected valid, found {:#?}",
        report.anomalies
    );
    assert!(report.satisfies(Model::StrictSerializable));
}

#[test]
fn g0_write_cycle() {
    let bad = run(vec![
        ok(vec![append(1, 10), append(2, 20)]),
        ok(vec![append(1, 11), append(2, 21)]),
        ok(vec![r(1, &[10, 11]), r(2, &[21, 20])]),
    ]);
    assert_found(&bad, K::G0);
    assert!(!bad.satisfies(Model::ReadUncommitted));
    let anomaly = bad
        .anomalies
        .iter()
        .find(|a| a.kind == K::G0)
        .expect("found");
    assert_eq!(anomaly.cycle.len(), 2);
    assert!(anomaly.cycle.iter().all(|s| s.relation == "ww"));
    assert!(
        anomaly.cycle[0].why.contains("appended"),
        "{}",
        anomaly.cycle[0].why
    );
    assert_valid(&run(vec![
        ok(vec![append(1, 10), append(2, 20)]),
        ok(vec![append(1, 11), append(2, 21)]),
        ok(vec![r(1, &[10, 11]), r(2, &[20, 21])]),
    ]));
}

#[test]
fn g1a_aborted_read() {
    let bad = run(vec![
        (EventType::Fail, vec![append(1, 10)]),
        ok(vec![r(1, &[10])]),
    ]);
    assert_eq!(bad.kinds(), vec![K::G1a]);
    assert!(bad.satisfies(Model::ReadUncommitted) && !bad.satisfies(Model::ReadCommitted));
    assert_valid(&run(vec![ok(vec![append(1, 10)]), ok(vec![r(1, &[10])])]));
    let regs = run(vec![
        (EventType::Fail, vec![w(1, 5)]),
        ok(vec![rr(1, Some(5))]),
    ]);
    assert_eq!(regs.kinds(), vec![K::G1a]);
}

#[test]
fn g1b_intermediate_read() {
    let bad = run(vec![
        ok(vec![append(1, 10), append(1, 11)]),
        ok(vec![r(1, &[10])]),
    ]);
    assert_found(&bad, K::G1b);
    assert_valid(&run(vec![
        ok(vec![append(1, 10), append(1, 11)]),
        ok(vec![r(1, &[10, 11])]),
    ]));
    let regs = run(vec![ok(vec![w(1, 5), w(1, 6)]), ok(vec![rr(1, Some(5))])]);
    assert_found(&regs, K::G1b);
    assert_valid(&run(vec![
        ok(vec![w(1, 5), w(1, 6)]),
        ok(vec![rr(1, Some(6))]),
    ]));
}

#[test]
fn g1c_circular_information_flow() {
    let bad = run(vec![
        ok(vec![append(1, 10), r(2, &[20])]),
        ok(vec![append(2, 20), r(1, &[10])]),
    ]);
    assert_found(&bad, K::G1c);
    assert!(!bad.has(K::G0));
    assert!(bad.satisfies(Model::ReadUncommitted) && !bad.satisfies(Model::ReadCommitted));
    assert_valid(&run(vec![
        ok(vec![append(1, 10), r(2, &[])]),
        ok(vec![append(2, 20), r(1, &[10])]),
    ]));
}

#[test]
fn g_single_read_skew() {
    let bad = run(vec![
        ok(vec![append(1, 10), append(2, 20)]),
        ok(vec![r(1, &[]), r(2, &[20])]),
    ]);
    assert_eq!(bad.kinds(), vec![K::GSingleItem]);
    assert_eq!(bad.strongest, vec![Model::ReadCommitted]);
    let cycle = &bad.anomalies[0].cycle;
    assert_eq!(cycle.iter().filter(|s| s.relation == "rw").count(), 1);
    assert_valid(&run(vec![
        ok(vec![append(1, 10), append(2, 20)]),
        ok(vec![r(1, &[10]), r(2, &[20])]),
    ]));
    let regs = run(vec![
        ok(vec![w(1, 1), w(2, 2)]),
        ok(vec![rr(1, None), rr(2, Some(2))]),
    ]);
    assert!(regs.has(K::GSingleItem), "{:?}", regs.kinds());
}

#[test]
fn g_nonadjacent() {
    let bad = run(vec![
        ok(vec![r(1, &[]), r(5, &[1])]),
        ok(vec![append(1, 1), append(3, 1)]),
        ok(vec![r(3, &[1]), r(4, &[])]),
        ok(vec![append(4, 1), append(5, 1)]),
    ]);
    // Serial histories also break real time (Elle reports those cycles too).
    assert!(bad.has(K::GNonadjacentItem), "{:?}", bad.kinds());
    assert!(!bad.has(K::GSingleItem) && !bad.has(K::G2Item));
    assert!(!bad.satisfies(Model::SnapshotIsolation) && !bad.satisfies(Model::RepeatableRead));
    assert_valid(&run(vec![
        ok(vec![append(1, 1), append(3, 1)]),
        ok(vec![r(1, &[1]), r(5, &[])]),
        ok(vec![r(3, &[1]), r(4, &[])]),
        ok(vec![append(4, 1), append(5, 1)]),
    ]));
}

#[test]
fn g2_item_write_skew() {
    let bad = run(vec![
        ok(vec![r(1, &[]), r(2, &[]), append(1, 10)]),
        ok(vec![r(1, &[]), r(2, &[]), append(2, 20)]),
    ]);
    assert!(bad.has(K::G2Item), "{:?}", bad.kinds());
    assert!(!bad.has(K::GSingleItem) && !bad.has(K::GNonadjacentItem));
    assert_eq!(bad.strongest, vec![Model::SnapshotIsolation]);
    assert_valid(&run(vec![
        ok(vec![r(1, &[]), r(2, &[]), append(1, 10)]),
        ok(vec![r(1, &[10]), r(2, &[]), append(2, 20)]),
    ]));
    let regs = run(vec![
        ok(vec![rr(1, None), rr(2, None), w(1, 1)]),
        ok(vec![rr(1, None), rr(2, None), w(2, 2)]),
    ]);
    assert!(regs.has(K::G2Item), "{:?}", regs.kinds());
}

#[test]
fn g2_predicate_phantom() {
    let p = Predicate {
        key_min: Some(1),
        key_max: Some(10),
        op: Some(CmpOp::Ge),
        value: Some(30),
    };
    let pred = |rows: &[(i64, i64)]| MicroOp::predicate_read(p.clone(), rows);
    let bad = run(vec![
        ok(vec![pred(&[]), w(3, 30)]),
        ok(vec![pred(&[]), w(4, 42)]),
    ]);
    assert!(bad.has(K::G2), "{:?}", bad.kinds());
    assert!(!bad.has(K::G2Item));
    assert!(bad.satisfies(Model::RepeatableRead) && bad.satisfies(Model::SnapshotIsolation));
    assert!(!bad.satisfies(Model::Serializable));
    let g2 = bad.anomalies.iter().find(|a| a.kind == K::G2).expect("G2");
    let step = &g2.cycle[0];
    assert_eq!(step.relation, "prw");
    assert!(step.why.contains("predicate read"), "{}", step.why);
    assert_valid(&run(vec![
        ok(vec![pred(&[]), w(3, 30)]),
        ok(vec![pred(&[(3, 30)]), w(4, 42)]),
    ]));
    // A write outside the predicate is no phantom.
    assert_valid(&run(vec![
        ok(vec![pred(&[]), w(3, 30)]),
        ok(vec![pred(&[(3, 30)]), w(4, 5)]),
    ]));
    // ...but missing a row committed before the read began is a real-time violation: one
    // (predicate) anti-dependency and a real-time edge, Elle's G-single-realtime.
    let late = run(vec![
        ok(vec![pred(&[]), w(3, 30)]),
        ok(vec![pred(&[]), w(4, 5)]),
    ]);
    assert_eq!(late.kinds(), vec![K::GSingleRealtime]);
}

#[test]
fn internal_inconsistency() {
    assert_eq!(
        run(vec![ok(vec![append(1, 10), r(1, &[])])]).kinds(),
        vec![K::Internal]
    );
    assert_eq!(
        run(vec![ok(vec![w(1, 5), rr(1, None)])]).kinds(),
        vec![K::Internal]
    );
    assert_valid(&run(vec![ok(vec![append(1, 10), r(1, &[10])])]));
    assert_valid(&run(vec![ok(vec![w(1, 5), rr(1, Some(5))])]));
}

#[test]
fn lost_update() {
    let bad = run(vec![
        ok(vec![r(1, &[]), append(1, 10)]),
        ok(vec![r(1, &[]), append(1, 11)]),
        ok(vec![r(1, &[10, 11])]),
    ]);
    assert_found(&bad, K::LostUpdate);
    assert!(!bad.satisfies(Model::SnapshotIsolation));
    assert_valid(&run(vec![
        ok(vec![r(1, &[]), append(1, 10)]),
        ok(vec![r(1, &[10]), append(1, 11)]),
        ok(vec![r(1, &[10, 11])]),
    ]));
    let regs = run(vec![
        ok(vec![rr(1, None), w(1, 1)]),
        ok(vec![rr(1, None), w(1, 2)]),
    ]);
    assert_found(&regs, K::LostUpdate);
}

#[test]
fn duplicate_elements() {
    assert_eq!(
        run(vec![ok(vec![append(1, 10)]), ok(vec![r(1, &[10, 10])])]).kinds(),
        vec![K::DuplicateElements]
    );
    assert_valid(&run(vec![ok(vec![append(1, 10)]), ok(vec![r(1, &[10])])]));
}

#[test]
fn incompatible_order() {
    let bad = run(vec![
        ok(vec![append(1, 10)]),
        ok(vec![append(1, 11)]),
        ok(vec![r(1, &[10, 11])]),
        ok(vec![r(1, &[11, 10])]),
    ]);
    assert_found(&bad, K::IncompatibleOrder);
    // As Elle: incompatible orders imply an aborted read (G1a), which read uncommitted allows.
    assert!(bad.satisfies(Model::ReadUncommitted) && !bad.satisfies(Model::ReadCommitted));
    assert_valid(&run(vec![
        ok(vec![append(1, 10)]),
        ok(vec![append(1, 11)]),
        ok(vec![r(1, &[10, 11])]),
        ok(vec![r(1, &[10, 11])]),
    ]));
}

#[test]
fn garbage_reads() {
    assert_eq!(
        run(vec![ok(vec![r(1, &[99])])]).kinds(),
        vec![K::GarbageRead]
    );
    assert!(run(vec![ok(vec![rr(1, Some(99))])]).has(K::GarbageRead));
    let p = Predicate {
        key_min: None,
        key_max: None,
        op: Some(CmpOp::Gt),
        value: Some(10),
    };
    let wrong_row = run(vec![
        ok(vec![w(1, 5)]),
        ok(vec![MicroOp::predicate_read(p, &[(1, 5)])]),
    ]);
    assert!(wrong_row.has(K::GarbageRead), "{:?}", wrong_row.kinds());
    assert_valid(&run(vec![ok(vec![append(1, 99)]), ok(vec![r(1, &[99])])]));
}

#[test]
fn realtime_violation_is_only_strict() {
    // T0 appends and completes; T1 starts later yet misses it.
    let bad = run(vec![ok(vec![append(1, 10)]), ok(vec![r(1, &[])])]);
    assert_eq!(bad.kinds(), vec![K::GSingleItemRealtime]);
    assert!(bad.satisfies(Model::Serializable) && !bad.satisfies(Model::StrictSerializable));
    assert_eq!(bad.strongest, vec![Model::Serializable]);
    assert!(
        bad.anomalies[0]
            .cycle
            .iter()
            .any(|s| s.relation == "rt" && s.why.contains("completed"))
    );
    // Concurrent transactions may be ordered either way.
    let mut b = HistoryBuilder::new();
    b.invoke(0, vec![append(1, 10)]).invoke(1, vec![r(1, &[])]);
    b.complete(0, EventType::Ok, vec![append(1, 10)])
        .complete(1, EventType::Ok, vec![r(1, &[])]);
    assert_valid(&check(&b.build().expect("well-formed")));
}

#[test]
fn session_guarantees() {
    let session = |txns: Vec<Vec<MicroOp>>, processes: &[u64]| {
        let mut b = HistoryBuilder::new();
        for (ops, p) in txns.into_iter().zip(processes) {
            b.ok(*p, ops);
        }
        check(&b.build().expect("well-formed"))
    };
    let ryw = session(vec![vec![append(1, 10)], vec![r(1, &[])]], &[0, 0]);
    assert!(ryw.has(K::ReadYourWrites) && !ryw.satisfies(Model::ReadYourWrites));
    let mr = session(
        vec![vec![append(1, 10)], vec![r(1, &[10])], vec![r(1, &[])]],
        &[0, 1, 1],
    );
    assert!(mr.has(K::MonotonicReads), "{:?}", mr.kinds());
    assert!(mr.satisfies(Model::ReadYourWrites));
    let mw = session(
        vec![
            vec![append(1, 10)],
            vec![append(2, 20)],
            vec![r(1, &[]), r(2, &[20])],
        ],
        &[0, 0, 1],
    );
    assert!(mw.has(K::MonotonicWrites), "{:?}", mw.kinds());
    let wfr = session(
        vec![
            vec![append(1, 10)],
            vec![r(1, &[10])],
            vec![append(2, 20)],
            vec![r(2, &[20]), r(1, &[])],
        ],
        &[0, 1, 1, 2],
    );
    assert!(wfr.has(K::WritesFollowReads), "{:?}", wfr.kinds());
    let fine = session(
        vec![
            vec![append(1, 10)],
            vec![r(1, &[10])],
            vec![append(2, 20)],
            vec![r(2, &[20]), r(1, &[10])],
        ],
        &[0, 1, 1, 2],
    );
    assert_valid(&fine);
}

#[test]
fn register_linearizability() {
    let stale = run(vec![
        ok(vec![w(1, 1)]),
        ok(vec![w(1, 2)]),
        ok(vec![rr(1, Some(1))]),
    ]);
    assert!(stale.has(K::NonlinearizableRegister) && !stale.satisfies(Model::Linearizable));
    assert_valid(&run(vec![
        ok(vec![w(1, 1)]),
        ok(vec![w(1, 2)]),
        ok(vec![rr(1, Some(2))]),
    ]));
}
