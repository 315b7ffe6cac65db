//! The anomaly matrix on a database of 4 shards, with every row of every
//! scenario on a shard of its own (row `id` on shard `id - 1`), so each
//! transaction that touches two rows is a cross-shard transaction committed
//! by two-phase commit. Every scenario must give exactly the one-shard
//! outcomes, level by level (the `expected` tables of
//! `isodb_tests::scenarios`, which `anomaly_matrix.rs` checks against
//! ISOLATION.md), and the same final rows.

use isodb_tests::matrix::{LEVELS, classify};
use isodb_tests::scenarios;

const SHARDS: u16 = 4;

#[test]
fn every_scenario_gives_the_one_shard_outcomes_on_four_shards() {
    let mut differences = Vec::new();
    for scenario in scenarios::all() {
        for (column, level) in LEVELS.iter().enumerate() {
            let sharded = scenario
                .script
                .run_sharded(*level, SHARDS)
                .unwrap_or_else(|e| panic!("{} at {level} on {SHARDS} shards: {e}", scenario.name));
            let outcome = classify(&sharded, (scenario.anomaly)(&sharded));
            let single = scenario
                .script
                .run(*level)
                .unwrap_or_else(|e| panic!("{} at {level}: {e}", scenario.name));
            if outcome != scenario.expected[column] {
                differences.push(format!(
                    "{} at {level}: {outcome} on {SHARDS} shards, {} expected\n{}",
                    scenario.name, scenario.expected[column], sharded.transcript
                ));
            }
            if sharded.final_rows != single.final_rows {
                differences.push(format!(
                    "{} at {level}: final rows differ\n{SHARDS} shards: {:?}\none shard: {:?}",
                    scenario.name, sharded.final_rows, single.final_rows
                ));
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}

/// The scenarios' rows really are on different shards.
#[test]
fn each_row_of_the_test_table_is_on_a_shard_of_its_own() {
    let db = isodb::Database::open_temporary_with(isodb::DatabaseOptions {
        shards: Some(SHARDS),
        ..isodb::DatabaseOptions::default()
    })
    .expect("open");
    let mut session = db.session();
    session
        .execute(
            "CREATE TABLE test (id INT PRIMARY KEY, value INT NOT NULL) WITH (shard_bounds = '2, 3, 4') PARTITION BY RANGE (id);
             INSERT INTO test VALUES (1, 10), (2, 20), (3, 30), (4, 40)",
        )
        .expect("setup");
    for id in 1..=4 {
        let plan = session
            .query(&format!("EXPLAIN SELECT * FROM test WHERE id = {id}"), &[])
            .expect("explain");
        let lines: Vec<String> = plan.iter().map(|r| r.get(0).expect("text")).collect();
        let wanted = format!("[shard {} of {SHARDS}]", id - 1);
        assert!(
            lines
                .iter()
                .any(|l| l.contains("Primary key lookup") && l.ends_with(&wanted)),
            "row {id}: {lines:?}"
        );
    }
}
