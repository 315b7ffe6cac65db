//! Every workload against isodb at every isolation level, under crashes, pauses and slow
//! commits: no anomaly the level forbids may ever appear.
//!
//! | level | must satisfy | forbids (among others) | allows, and prints when seen |
//! | --- | --- | --- | --- |
//! | SERIALIZABLE | strict serializable | every cycle, real-time ones included | — |
//! | REPEATABLE READ | snapshot isolation | G0, G1a/b/c, G-single, lost update | G2-item (write skew), G2 |
//! | READ COMMITTED | read committed | G0, G1a, G1b, G1c | G-single, G2-item, lost update, … |
//! | READ UNCOMMITTED | no dirty writes | G0 | G1a, G1b, G1c and their consequences |
//!
//! At REPEATABLE READ and SERIALIZABLE the bank's audits must all see the opening total. Each
//! run lasts 0.6 s with 4 clients and synced commits; the nemesis crashes the database first
//! (a power loss: the log is cut back to its last fsync), then pauses it, then slows its disk,
//! in turn. Sharded runs (4 shards, 1.4 s) crash one shard, cut one off from the commit
//! protocol, disturb the protocol's messages, and crash the whole node, in turn. Any error a
//! correct database would not return (a missing row, an unexpected SQLSTATE) fails the test too.

use std::time::Duration;

use jepsen_lite::run::nemesis::NemesisPlan;
use jepsen_lite::run::recorder::Fault;
use jepsen_lite::run::workload::WorkloadKind;
use jepsen_lite::run::{CrashMode, Isolation, RunConfig, RunResult, invariant_required, run};

/// The faults of one-engine runs, in turn.
const NODE_FAULTS: [Fault; 3] = [Fault::Crash, Fault::Pause, Fault::SlowDisk];

/// The faults of sharded runs, in turn: every shard fault, and a crash of the whole node.
const SHARD_FAULTS: [Fault; 4] = [
    Fault::ShardCrash,
    Fault::Partition,
    Fault::MessageFaults,
    Fault::Crash,
];

fn run_once(workload: WorkloadKind, isolation: Isolation, shards: u16) -> RunResult {
    let sharded = shards > 1;
    // Sharded runs last longer: each fault gets its turn, and two-phase commits are slower.
    let millis = if sharded { 1_400 } else { 600 };
    let mut config = RunConfig::new(workload, isolation, Duration::from_millis(millis));
    config.keys = 12;
    config.sync_commits = true;
    config.seed = 7;
    config.shards = shards;
    config.nemesis = NemesisPlan {
        faults: if sharded {
            SHARD_FAULTS.to_vec()
        } else {
            NODE_FAULTS.to_vec()
        },
        interval: Duration::from_millis(if sharded { 120 } else { 100 }),
        fault_duration: Duration::from_millis(if sharded { 120 } else { 50 }),
        commit_delay: Duration::from_millis(5),
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    run(&config, &dir.path().join("db"), &dir.path().join("run")).expect("the run completes")
}

fn check_level(isolation: Isolation) {
    check_runs(isolation, 1, &NODE_FAULTS[..1]);
}

/// Every workload at `isolation` on `shards` shards: each fault of `expected` struck, enough
/// commits, nothing the level forbids, the invariant where required, no unexpected error.
fn check_runs(isolation: Isolation, shards: u16, expected: &[Fault]) {
    let mut failures = Vec::new();
    for workload in WorkloadKind::ALL {
        let result = run_once(workload, isolation, shards);
        let name = format!("{} at {}", workload.name(), isolation.name());
        let allowed: Vec<&str> = result.allowed_found().iter().map(|k| k.name()).collect();
        println!(
            "{name}: {} ok, {} fail, {} info; {} fault windows; allowed anomalies seen: {}",
            result.counts.ok,
            result.counts.fail,
            result.counts.info,
            result.faults.len(),
            if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed.join(", ")
            }
        );
        for fault in expected {
            assert!(
                result.faults.iter().any(|w| w.fault == *fault),
                "{name}: the nemesis never injected {}",
                fault.name()
            );
        }
        assert!(
            result.counts.ok >= 50,
            "{name}: only {} commits",
            result.counts.ok
        );
        let forbidden = result.forbidden_found();
        if !forbidden.is_empty() {
            let examples: Vec<&str> = result
                .report
                .anomalies
                .iter()
                .filter(|a| forbidden.contains(&a.kind))
                .take(3)
                .map(|a| a.explanation.as_str())
                .collect();
            failures.push(format!(
                "{name}: forbidden {forbidden:?}, e.g. {examples:#?}"
            ));
        }
        if invariant_required(isolation) && !result.invariant_violations.is_empty() {
            failures.push(format!(
                "{name}: bank total changed: {:?}",
                &result.invariant_violations[..result.invariant_violations.len().min(3)]
            ));
        }
        if !result.unexpected_errors.is_empty() {
            failures.push(format!(
                "{name}: unexpected errors: {:?}",
                &result.unexpected_errors[..result.unexpected_errors.len().min(3)]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn serializable_runs_are_strict_serializable() {
    check_level(Isolation::Serializable);
}

#[test]
fn repeatable_read_runs_are_snapshot_isolated() {
    check_level(Isolation::RepeatableRead);
}

#[test]
fn read_committed_runs_are_read_committed() {
    check_level(Isolation::ReadCommitted);
}

#[test]
fn read_uncommitted_runs_have_no_dirty_writes() {
    check_level(Isolation::ReadUncommitted);
}

/// Four shards under shard crashes, partitions of the commit protocol, lost, duplicated,
/// delayed and reordered messages, and crashes of the whole node: transactions that write
/// several shards commit by two-phase commit, and SERIALIZABLE must stay strict serializable.
#[test]
fn sharded_serializable_runs_are_strict_serializable_under_shard_faults() {
    check_runs(Isolation::Serializable, 4, &SHARD_FAULTS);
}

/// The same at REPEATABLE READ: snapshot isolation across shards (one snapshot for all of them).
#[test]
fn sharded_repeatable_read_runs_are_snapshot_isolated_under_shard_faults() {
    check_runs(Isolation::RepeatableRead, 4, &SHARD_FAULTS);
}

#[test]
fn repeatable_read_lets_write_skew_through_and_serializable_does_not() {
    // Write skew needs two transactions that read both keys and write one each: list-append
    // over two keys makes that shape common. Allowed at REPEATABLE READ; it must show up there
    // within a few runs (or the test proves nothing about the checker's reach), and never at
    // SERIALIZABLE.
    let mut seen_at_rr = false;
    for seed in 1..=4 {
        let mut config = RunConfig::new(
            WorkloadKind::ListAppend,
            Isolation::RepeatableRead,
            Duration::from_millis(500),
        );
        config.keys = 2;
        config.sync_commits = false;
        config.seed = seed;
        let dir = tempfile::tempdir().expect("temporary directory");
        let result = run(&config, &dir.path().join("db"), &dir.path().join("run"))
            .expect("the run completes");
        assert!(
            result.forbidden_found().is_empty(),
            "{:?}",
            result.forbidden_found()
        );
        if result.report.has(jepsen_lite::anomaly::AnomalyKind::G2Item) {
            seen_at_rr = true;
            break;
        }
    }
    assert!(seen_at_rr, "no write skew at REPEATABLE READ in four runs");
}

/// The crash nemesis and the checker together catch lost acknowledged commits: with commits
/// acknowledged before their fsync and a crash that loses everything not fsynced (a power loss,
/// which `Durability::NoSync` does not promise to survive), later transactions miss appends that
/// were acknowledged earlier, and the checker must say so.
#[test]
fn a_power_loss_under_unsynced_commits_is_caught() {
    let mut config = RunConfig::new(
        WorkloadKind::ListAppend,
        Isolation::Serializable,
        Duration::from_millis(1_200),
    );
    config.keys = 6;
    config.sync_commits = false;
    config.crash_mode = Some(CrashMode::PowerLoss);
    config.nemesis = NemesisPlan {
        faults: vec![Fault::Crash],
        interval: Duration::from_millis(250),
        fault_duration: Duration::from_millis(50),
        commit_delay: Duration::from_millis(5),
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let result =
        run(&config, &dir.path().join("db"), &dir.path().join("run")).expect("the run completes");
    let found: Vec<&str> = result.forbidden_found().iter().map(|k| k.name()).collect();
    println!(
        "{} ok; {} crashes; anomalies found: {}",
        result.counts.ok,
        result.faults.len(),
        found.join(", ")
    );
    assert!(
        !found.is_empty(),
        "acknowledged commits were lost by the power loss, yet the checker found nothing"
    );
    assert!(!result.valid());
}
