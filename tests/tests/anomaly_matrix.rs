//! The anomaly matrix at the SQL level: every scenario of
//! `isodb_tests::scenarios` run at READ UNCOMMITTED, READ COMMITTED,
//! REPEATABLE READ and SERIALIZABLE, each session on its own thread.
//!
//! What isodb shows (anomaly; prevented by snapshots; blocked, a writer
//! waited; aborted with 40001) per scenario and level, and what
//! ISOLATION.md promises per phenomenon (— allowed, ✓ prevented, B by
//! blocking, A by aborting):
//!
//! | scenario | RU | RC | RR | SER | ISOLATION.md |
//! | --- | :-: | :-: | :-: | :-: | --- |
//! | G0 dirty write | blocked | blocked | 40001 | 40001 | ✓B ✓B ✓B/A ✓B/A |
//! | G1a aborted read | anomaly | prevented | prevented | prevented | — ✓ ✓ ✓ |
//! | G1b intermediate read | anomaly | prevented | prevented | prevented | — ✓ ✓ ✓ |
//! | G1c circular information flow | anomaly | prevented | prevented | 40001 | — ✓ ✓ ✓ |
//! | OTV observed transaction vanishes | anomaly | blocked | 40001 | 40001 | — ✓ ✓ ✓ |
//! | P2 non-repeatable read | anomaly | anomaly | prevented | prevented | — — ✓ ✓ |
//! | P3 phantom | anomaly | anomaly | prevented | prevented | — — ✓ ✓ |
//! | PMP for reads | anomaly | anomaly | prevented | prevented | — — ✓ ✓ |
//! | PMP for writes | blocked | anomaly | 40001 | 40001 | — — ✓A ✓A |
//! | PMP for writes, writer rolls back | anomaly | blocked | blocked | blocked | (same row) |
//! | P4 lost update | anomaly | anomaly | 40001 | 40001 | — — ✓A ✓A |
//! | G-single read skew | anomaly | anomaly | prevented | prevented | — — ✓ ✓ |
//! | G2-item write skew | anomaly | anomaly | anomaly | 40001 | — — — ✓A |
//! | G2 predicate write skew | anomaly | anomaly | anomaly | 40001 | — — — ✓A |
//! | read-only anomaly | anomaly | anomaly | anomaly | 40001 | — — — ✓A |
//!
//! Each test runs one scenario at the four levels, asserts the outcomes of
//! its `expected` array, and compares the four transcripts with the golden
//! file `tests/scenarios/<name>.txt` (`UPDATE_GOLDEN=1` rewrites them).
//! `expected_tables_keep_the_promises_of_isolation_md` checks the tables
//! themselves against ISOLATION.md's matrix.

use isodb_tests::matrix::{LEVELS, Outcome, Promise, classify};
use isodb_tests::scenarios::{self, Scenario};

/// Runs `scenario` at every level; returns the outcomes and the transcript.
fn run_everywhere(scenario: &Scenario) -> (Vec<Outcome>, String) {
    let mut outcomes = Vec::new();
    let mut transcript = format!("# {}\n# {}\n", scenario.name, scenario.about);
    for level in LEVELS {
        let run = scenario
            .script
            .run(level)
            .unwrap_or_else(|e| panic!("{} at {level}: {e}", scenario.name));
        let outcome = classify(&run, (scenario.anomaly)(&run));
        transcript.push_str(&format!("\n## {level}: {outcome}\n{}", run.transcript));
        outcomes.push(outcome);
    }
    (outcomes, transcript)
}

fn check_scenario(scenario: Scenario) {
    let (outcomes, transcript) = run_everywhere(&scenario);
    println!("{transcript}");
    assert_eq!(
        outcomes,
        scenario.expected.to_vec(),
        "{}: observed vs expected (RU, RC, RR, SER)\n{transcript}",
        scenario.name
    );
    let path = format!(
        "{}/tests/scenarios/{}.txt",
        env!("CARGO_MANIFEST_DIR"),
        scenario.name
    );
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &transcript).unwrap_or_else(|e| panic!("write {path}: {e}"));
        return;
    }
    let golden = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (run with UPDATE_GOLDEN=1 to create it)"));
    assert_eq!(
        transcript, golden,
        "{}: transcript differs from {path}",
        scenario.name
    );
}

macro_rules! scenario_tests {
    ($($test:ident => $scenario:ident,)*) => {
        $(
            #[test]
            fn $test() {
                check_scenario(scenarios::$scenario);
            }
        )*

        /// Every scenario of the catalog has a test above.
        #[test]
        fn every_scenario_of_the_catalog_is_tested() {
            let tested = [$(scenarios::$scenario.name),*];
            let catalog: Vec<&str> = scenarios::all().iter().map(|s| s.name).collect();
            assert_eq!(tested.to_vec(), catalog);
        }
    };
}

scenario_tests! {
    g0_dirty_write => G0,
    g1a_aborted_read => G1A,
    g1b_intermediate_read => G1B,
    g1c_circular_information_flow => G1C,
    otv_observed_transaction_vanishes => OTV,
    p2_non_repeatable_read => P2,
    p3_phantom => P3,
    pmp_predicate_many_preceders_read => PMP_READ,
    pmp_predicate_many_preceders_write => PMP_WRITE,
    pmp_predicate_many_preceders_write_rollback => PMP_WRITE_ROLLBACK,
    p4_lost_update => P4,
    g_single_read_skew => G_SINGLE,
    g2_item_write_skew => G2_ITEM,
    g2_predicate_write_skew => G2_PREDICATE,
    read_only_anomaly => READ_ONLY,
}

/// The expected tables never claim more than ISOLATION.md, nor less: an
/// allowed phenomenon is shown by some scenario, a prevented one by none,
/// and the primary scenario is prevented the promised way (B or A).
#[test]
fn expected_tables_keep_the_promises_of_isolation_md() {
    let mut broken = Vec::new();
    for phenomenon in scenarios::catalog() {
        for (column, (level, promise)) in LEVELS.iter().zip(phenomenon.promise).enumerate() {
            let cells: Vec<&Outcome> = phenomenon
                .scenarios
                .iter()
                .map(|s| &s.expected[column])
                .collect();
            let kept = match promise {
                Promise::Allowed => cells.iter().any(|o| **o == Outcome::Anomaly),
                _ => {
                    cells.iter().all(|o| promise.prevention_kept(o))
                        && promise.mechanism_kept(cells[0])
                }
            };
            if !kept {
                broken.push(format!(
                    "{} at {level}: ISOLATION.md says {promise}, the table says {cells:?}",
                    phenomenon.name
                ));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// The promise check itself can fail: a table claiming a prevented dirty
/// write is allowed, or an abort where blocking is promised, is caught.
#[test]
fn the_promise_check_rejects_wrong_cells() {
    assert!(!Promise::Prevented.prevention_kept(&Outcome::Anomaly));
    assert!(!Promise::Blocks.mechanism_kept(&Outcome::Aborted("40001")));
    assert!(!Promise::Aborts.mechanism_kept(&Outcome::Blocked));
    assert!(!Promise::Aborts.mechanism_kept(&Outcome::Aborted("23505")));
    assert!(!Promise::Allowed.mechanism_kept(&Outcome::Prevented));
    assert!(Promise::BlocksOrAborts.mechanism_kept(&Outcome::Aborted("40P01")));
}
