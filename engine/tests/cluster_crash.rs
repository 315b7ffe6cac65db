//! Two-phase commit through crashes: a transfer between a row on shard 0
//! and a row on shard 1 of a 3-shard cluster (synced commits), stopped at
//! every step of the protocol, combined with each kind of crash:
//!
//! - **coordinator**: it stops dead at the failpoint (its process died);
//!   the shards run on and the resolver must finish or undo its work;
//! - **participant**: shard 1 loses power at that instant and restarts;
//! - **everything**: every shard loses power at that instant; the cluster
//!   is opened again from the directories (recovery);
//!
//! and failpoints in the resolver and in recovery itself. After each:
//! every shard agrees (the transfer is applied on both shards or on
//! neither), a commit that returned Ok is there (nothing acknowledged is
//! lost), no transaction stays in doubt, and no lock stays held. A property
//! test runs random sequences of transfers with random failpoints and
//! crashes (`PROPTEST_CASES` for more).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{decode_int, encode_int, row_key};
use isodb_engine::cluster::{
    Cluster, ClusterOptions, ClusterTransaction, FailAction, Failpoint, Failpoints,
};
use isodb_engine::storage::{CrashKind, Durability, StoreOptions};
use isodb_engine::txn::{EngineOptions, IsolationLevel, Keyspace, LockMode, WaitPolicy};
use proptest::prelude::*;

const INITIAL: i64 = 100;

fn options(failpoints: &Arc<Failpoints>) -> ClusterOptions {
    ClusterOptions {
        engine: EngineOptions {
            store: StoreOptions {
                durability: Durability::Sync,
                ..StoreOptions::default()
            },
            lock_timeout: Some(Duration::from_secs(10)),
        },
        shards: Some(3),
        request_timeout: Duration::from_millis(20),
        decision_deadline: Duration::from_millis(300),
        in_doubt_timeout: Duration::from_millis(200),
        resolve_interval: Duration::from_millis(20),
        failpoints: Some(Arc::clone(failpoints)),
        ..ClusterOptions::default()
    }
}

fn open(dir: &Path, failpoints: &Arc<Failpoints>) -> Cluster {
    Cluster::open(dir, options(failpoints)).expect("open cluster")
}

/// Rows 1, 2, 3 on shards 0, 1, 2.
fn setup(cluster: &Cluster) -> Vec<Keyspace> {
    let ks = cluster.keyspace("accounts").expect("keyspace");
    let mut txn = cluster.begin(IsolationLevel::Serializable);
    for shard in 0..3u16 {
        txn.put(
            ks[usize::from(shard)],
            &row_key(u64::from(shard) + 1),
            &encode_int(INITIAL),
        )
        .expect("row");
    }
    txn.commit().expect("setup");
    ks
}

fn balance(txn: &mut ClusterTransaction, ks: Keyspace, row: u64) -> i64 {
    decode_int(&txn.get(ks, &row_key(row)).expect("read").expect("row"))
}

/// Moves `amount` from row 1 (shard 0) to row 2 (shard 1).
fn transfer(cluster: &Cluster, ks: &[Keyspace], amount: i64) -> isodb_engine::Result<u64> {
    let mut txn = cluster.begin(IsolationLevel::Serializable);
    let a = balance(&mut txn, ks[0], 1);
    let b = balance(&mut txn, ks[1], 2);
    txn.put(ks[0], &row_key(1), &encode_int(a - amount))?;
    txn.put(ks[1], &row_key(2), &encode_int(b + amount))?;
    txn.commit()
}

/// Runs the resolver until nothing is in doubt or unfinished.
fn settle(cluster: &Cluster) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        cluster.run_background_once();
        let in_doubt: usize = (0..3)
            .filter_map(|s| cluster.engine(s).ok())
            .map(|e| e.in_doubt().len())
            .sum();
        if in_doubt == 0 && cluster.unfinished() == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still in doubt: {in_doubt}, unfinished {}",
            cluster.unfinished()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The transfer is applied on both shards or on neither; `committed` says
/// which it must be when known; no lock is held. Returns whether applied.
fn check(cluster: &Cluster, ks: &[Keyspace], amount: i64, committed: Option<bool>) -> bool {
    let mut txn = cluster.begin(IsolationLevel::ReadCommitted);
    let mut rows = Vec::new();
    for (shard, row) in [(0usize, 1u64), (1, 2), (2, 3)] {
        let value = txn
            .lock_and_read(
                ks[shard],
                &row_key(row),
                LockMode::Exclusive,
                WaitPolicy::NoWait,
            )
            .unwrap_or_else(|e| panic!("row {row} is still locked or unreadable: {e}"))
            .expect("row exists");
        rows.push(decode_int(&value));
    }
    txn.rollback().expect("rollback");
    let applied = rows == vec![INITIAL - amount, INITIAL + amount, INITIAL];
    assert!(
        applied || rows == vec![INITIAL; 3],
        "shards disagree: {rows:?} (transfer of {amount})"
    );
    if let Some(expected) = committed {
        assert_eq!(
            applied, expected,
            "outcome {rows:?}, expected committed={expected}"
        );
    }
    applied
}

#[derive(Clone, Copy, Debug)]
enum Crash {
    Coordinator,
    Participant,
    Everything,
}

/// One transfer stopped at `point` by `crash`, then recovery and checks.
fn crash_at(point: Failpoint, crash: Crash) {
    let dir = tempfile::tempdir().expect("dir");
    let failpoints = Arc::new(Failpoints::default());
    let cluster = open(dir.path(), &failpoints);
    let ks = setup(&cluster);
    let victim = cluster.clone();
    failpoints.set(
        point,
        Arc::new(move |_, _| match crash {
            Crash::Coordinator => FailAction::Stop,
            Crash::Participant => {
                victim
                    .crash_shard(1, CrashKind::PowerLoss)
                    .expect("crash shard 1");
                FailAction::Continue
            }
            Crash::Everything => {
                for shard in 0..3 {
                    victim
                        .crash_shard(shard, CrashKind::PowerLoss)
                        .expect("crash");
                }
                FailAction::Stop
            }
        }),
    );
    let result = transfer(&cluster, &ks, 30);
    failpoints.clear();
    let acknowledged = result.is_ok();
    let cluster = match crash {
        Crash::Coordinator => cluster,
        Crash::Participant => {
            cluster.restart_shard(1).expect("restart shard 1");
            cluster
        }
        Crash::Everything => {
            drop(cluster);
            open(dir.path(), &failpoints)
        }
    };
    settle(&cluster);
    let applied = check(&cluster, &ks, 30, acknowledged.then_some(true));
    if let Err(e) = &result {
        // A failure before the decision must not commit.
        if matches!(point, Failpoint::BeforePrepare | Failpoint::AfterPrepare(_))
            && !matches!(crash, Crash::Everything)
        {
            assert!(!applied, "{point:?}/{crash:?}: failed ({e}) yet applied");
        }
    }
    // The cluster goes on working afterwards.
    transfer(&cluster, &ks, 1).expect("a later transfer commits");
}

#[test]
fn the_coordinator_stopping_at_each_step_leaves_every_shard_agreeing() {
    for point in Failpoint::commit_points(2) {
        crash_at(point, Crash::Coordinator);
    }
}

#[test]
fn a_participant_losing_power_at_each_step_leaves_every_shard_agreeing() {
    for point in Failpoint::commit_points(2) {
        crash_at(point, Crash::Participant);
    }
}

#[test]
fn every_shard_losing_power_at_each_step_recovers_to_one_outcome() {
    for point in Failpoint::commit_points(2) {
        crash_at(point, Crash::Everything);
    }
}

#[test]
fn a_decided_commit_survives_a_power_loss_before_it_reached_the_participants() {
    // After the decision every participant is told, unsynced; power loss on
    // all shards then must still end with the transfer applied.
    let dir = tempfile::tempdir().expect("dir");
    let failpoints = Arc::new(Failpoints::default());
    let cluster = open(dir.path(), &failpoints);
    let ks = setup(&cluster);
    transfer(&cluster, &ks, 30).expect("commit");
    for shard in 0..3 {
        cluster
            .crash_shard(shard, CrashKind::PowerLoss)
            .expect("crash");
    }
    drop(cluster);
    let cluster = open(dir.path(), &failpoints);
    check(&cluster, &ks, 30, Some(true));
}

#[test]
fn the_resolver_and_recovery_can_be_interrupted_too() {
    for point in [
        Failpoint::ResolverBeforeDecide,
        Failpoint::ResolverAfterDecide,
        Failpoint::RecoveryBeforeApply,
    ] {
        let dir = tempfile::tempdir().expect("dir");
        let failpoints = Arc::new(Failpoints::default());
        let cluster = open(dir.path(), &failpoints);
        let ks = setup(&cluster);
        // Leave the transfer in doubt (prepared everywhere, undecided) or
        // decided and not applied, depending on the point.
        let leave_at = if point == Failpoint::RecoveryBeforeApply {
            Failpoint::AfterDecision
        } else {
            Failpoint::AfterPrepare(2)
        };
        failpoints.stop_at(leave_at);
        let acknowledged = transfer(&cluster, &ks, 30).is_ok();
        assert!(!acknowledged, "the coordinator stopped");
        failpoints.clear();
        // The resolver (or the recovery) is now stopped at `point`, and the
        // whole cluster loses power there.
        failpoints.stop_at(point);
        if point == Failpoint::RecoveryBeforeApply {
            for shard in 0..3 {
                cluster
                    .crash_shard(shard, CrashKind::PowerLoss)
                    .expect("crash");
            }
            drop(cluster);
            let error = Cluster::open(dir.path(), options(&failpoints)).expect_err("stopped");
            assert_eq!(error.sqlstate(), "08007");
        } else {
            std::thread::sleep(Duration::from_millis(250)); // past the in-doubt timeout
            cluster.run_background_once();
            for shard in 0..3 {
                cluster
                    .crash_shard(shard, CrashKind::PowerLoss)
                    .expect("crash");
            }
            drop(cluster);
        }
        failpoints.clear();
        let cluster = open(dir.path(), &failpoints);
        settle(&cluster);
        let expect = (point == Failpoint::RecoveryBeforeApply).then_some(true);
        check(&cluster, &ks, 30, expect);
    }
}

#[test]
fn a_coordinator_that_decides_after_a_resolver_aborted_learns_the_abort() {
    let dir = tempfile::tempdir().expect("dir");
    let failpoints = Arc::new(Failpoints::default());
    let cluster = open(dir.path(), &failpoints);
    let ks = setup(&cluster);
    let resolver = cluster.clone();
    // Just before the coordinator decides, a resolver settles the
    // transaction (it looks in doubt too long): "aborted" is written first.
    failpoints.set(
        Failpoint::AfterPrepare(2),
        Arc::new(move |_, _| {
            std::thread::sleep(Duration::from_millis(250));
            resolver.run_background_once();
            FailAction::Continue
        }),
    );
    let error = transfer(&cluster, &ks, 30).expect_err("the resolver aborted it first");
    assert_eq!(error.sqlstate(), "40001", "{error}");
    failpoints.clear();
    settle(&cluster);
    check(&cluster, &ks, 30, Some(false));
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(6),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_failpoints_and_crashes_never_split_a_transfer(
        plan in proptest::collection::vec((0usize..6, 0usize..3), 1..4)
    ) {
        let dir = tempfile::tempdir().expect("dir");
        let failpoints = Arc::new(Failpoints::default());
        let mut cluster = open(dir.path(), &failpoints);
        let ks = setup(&cluster);
        let points = Failpoint::commit_points(2);
        let mut expected_total_moved = 0i64;
        for (n, (point, crash)) in plan.into_iter().enumerate() {
            let crash = [Crash::Coordinator, Crash::Participant, Crash::Everything][crash];
            let victim = cluster.clone();
            failpoints.set(points[point], Arc::new(move |_, _| match crash {
                Crash::Coordinator => FailAction::Stop,
                Crash::Participant => {
                    victim.crash_shard(1, CrashKind::PowerLoss).expect("crash");
                    FailAction::Continue
                }
                Crash::Everything => {
                    for shard in 0..3 {
                        victim.crash_shard(shard, CrashKind::PowerLoss).expect("crash");
                    }
                    FailAction::Stop
                }
            }));
            let amount = n as i64 + 1;
            let acknowledged = transfer(&cluster, &ks, amount).is_ok();
            failpoints.clear();
            cluster = match crash {
                Crash::Coordinator => cluster,
                Crash::Participant => {
                    cluster.restart_shard(1).expect("restart");
                    cluster
                }
                Crash::Everything => {
                    drop(cluster);
                    open(dir.path(), &failpoints)
                }
            };
            settle(&cluster);
            let mut txn = cluster.begin(IsolationLevel::RepeatableRead);
            let a = balance(&mut txn, ks[0], 1);
            let b = balance(&mut txn, ks[1], 2);
            prop_assert_eq!(a + b, 2 * INITIAL, "shards disagree");
            let moved = INITIAL - a;
            let this = moved - expected_total_moved;
            prop_assert!(this == 0 || this == amount, "partial or doubled transfer: {}", this);
            if acknowledged {
                prop_assert_eq!(this, amount, "acknowledged transfer lost");
            }
            expected_total_moved = moved;
        }
    }
}
