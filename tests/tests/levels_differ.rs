//! The four levels are four different things: each weaker level really
//! exhibits the anomalies it allows, with deterministic interleavings (the
//! scripts of `isodb_tests::scenarios`, sessions on their own threads).
//!
//! | weaker → stronger | shown at the weaker, prevented at the stronger |
//! | --- | --- |
//! | READ UNCOMMITTED → READ COMMITTED | G1a, G1b, G1c, OTV, PMP for writes after a rollback |
//! | READ COMMITTED → REPEATABLE READ | P2, P3, PMP for reads and writes, P4, G-single |
//! | REPEATABLE READ → SERIALIZABLE | G2-item, G2, the read-only anomaly |
//!
//! and every "—" cell of ISOLATION.md is shown happening by a run (not
//! merely by the expected tables).

use isodb::IsolationLevel;
use isodb_tests::matrix::{LEVELS, Promise};
use isodb_tests::scenarios::{self, Scenario};

/// True when `scenario` shows its anomaly at `level`.
fn shows(scenario: &Scenario, level: IsolationLevel) -> bool {
    let run = scenario
        .script
        .run(level)
        .unwrap_or_else(|e| panic!("{} at {level}: {e}", scenario.name));
    (scenario.anomaly)(&run)
}

fn assert_separates(weaker: IsolationLevel, stronger: IsolationLevel, cases: &[Scenario]) {
    for scenario in cases {
        assert!(
            shows(scenario, weaker),
            "{} must happen at {weaker}",
            scenario.name
        );
        assert!(
            !shows(scenario, stronger),
            "{} must not happen at {stronger}",
            scenario.name
        );
    }
}

#[test]
fn read_uncommitted_shows_what_read_committed_prevents() {
    use scenarios::*;
    assert_separates(
        IsolationLevel::ReadUncommitted,
        IsolationLevel::ReadCommitted,
        &[G1A, G1B, G1C, OTV, PMP_WRITE_ROLLBACK],
    );
}

#[test]
fn read_committed_shows_what_repeatable_read_prevents() {
    use scenarios::*;
    assert_separates(
        IsolationLevel::ReadCommitted,
        IsolationLevel::RepeatableRead,
        &[P2, P3, PMP_READ, PMP_WRITE, P4, G_SINGLE],
    );
}

#[test]
fn repeatable_read_shows_what_serializable_prevents() {
    use scenarios::*;
    assert_separates(
        IsolationLevel::RepeatableRead,
        IsolationLevel::Serializable,
        &[G2_ITEM, G2_PREDICATE, READ_ONLY],
    );
}

/// Every "—" of ISOLATION.md: some scenario of the phenomenon, run at that
/// level, shows the anomaly.
#[test]
fn every_allowed_cell_of_isolation_md_is_shown_happening() {
    let mut missing = Vec::new();
    for phenomenon in scenarios::catalog() {
        for (level, promise) in LEVELS.into_iter().zip(phenomenon.promise) {
            if promise == Promise::Allowed && !phenomenon.scenarios.iter().any(|s| shows(s, level))
            {
                missing.push(format!("{} at {level}", phenomenon.name));
            }
        }
    }
    assert!(missing.is_empty(), "allowed but never shown: {missing:?}");
}
