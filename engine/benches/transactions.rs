//! The transaction benchmark: isodb's transactions at every isolation level,
//! on one and two threads, and with `--features peers` the bank transfer on
//! SQLite with the same durability.
//!
//! ```text
//! cargo bench -p isodb-engine --bench transactions                    # isodb alone
//! cargo bench -p isodb-engine --features peers --bench transactions   # and SQLite
//! cargo bench -p isodb-engine --bench transactions -- transfer        # cells whose "<key> <system>" contains it
//! ISODB_BENCH_SCALE=0.05 cargo bench -p isodb-engine --bench transactions   # a quick run
//! cargo test -p isodb-engine --bench transactions                     # smoke test, scale 0.002
//! ```
//!
//! Workloads (details and the account format in `transactions/workload.rs`):
//!
//! | workload | one transaction                                                     | checked afterwards |
//! |----------|---------------------------------------------------------------------|--------------------|
//! | rmw      | read one of the thread's own 1,000 counters, write it + 1, commit     | every counter equals the increments committed to it |
//! | transfer | read two random accounts of 1,000, move 1..=100 between them, commit  | balances sum to the initial total; transfers recorded = transfers counted |
//!
//! Each workload runs on 1 and 2 threads, with synced commits (the
//! default, `Durability::Sync`: group commit lets concurrent committers
//! share an fsync) and with no-sync commits, at READ UNCOMMITTED, READ
//! COMMITTED, REPEATABLE READ and SERIALIZABLE. SQLite runs the transfer
//! cells (WAL mode, `synchronous=FULL` or `OFF`, `BEGIN IMMEDIATE`, one
//! connection per thread; see `transactions/sqlite.rs`). Every cell runs for
//! 2 s times `ISODB_BENCH_SCALE` (default 1.0), split into 3 rounds that
//! interleave the systems; each round runs on a fresh database, loaded
//! untimed, and the figure is the median round. A retryable failure is rolled back and retried; the abort rate is
//! aborted attempts / all attempts. How each level reads in a transfer is
//! explained in `transactions/isodb.rs` (READ COMMITTED and below lock what
//! they read, as they must to keep the total).
//!
//! Outputs: the table on stdout (txn/s, abort rate, SERIALIZABLE/READ
//! COMMITTED, isodb/SQLite, two threads/one thread, then the targets met or
//! missed), progress on stderr, `<target>/isodb-bench/transactions.json`
//! (format in `transactions/report.rs`) and `transactions.svg`. A cell whose
//! check fails ends the run with an error: a benchmark that silently
//! corrupts is worthless.

// The benchmark's own modules live in `benches/transactions/`; what it
// shares with the storage benchmark lives in `benches/common/`.
#[allow(dead_code)]
#[path = "common/mod.rs"]
mod common;
#[path = "transactions/isodb.rs"]
mod isodb;
#[path = "transactions/report.rs"]
mod report;
#[cfg(feature = "peers")]
#[path = "transactions/sqlite.rs"]
mod sqlite;
#[path = "transactions/workload.rs"]
mod workload;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use common::report::thousands;
use common::run::{BenchResult, RunConfig};
use report::Report;
use workload::{CELL_SECONDS, Cell, Outcome, ROUNDS, SystemKind};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("transaction benchmark failed: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> BenchResult<()> {
    let config = RunConfig::from_env()?;
    let out_dir = config.out_dir()?;
    let duration = Duration::from_secs_f64(CELL_SECONDS * config.factor);
    let systems = SystemKind::all();
    let plan: Vec<(Cell, SystemKind)> = Cell::all()
        .into_iter()
        .flat_map(|cell| systems.iter().map(move |&system| (cell, system)))
        .filter(|&(cell, system)| system.runs(cell.workload))
        .filter(|&(cell, system)| config.selects(&format!("{} {}", cell.key(), system.name())))
        .collect();
    if plan.is_empty() {
        return Err(format!("no cell matches {:?}", config.filters).into());
    }
    eprintln!(
        "transaction benchmark: scale {} ({:.2} s per cell, {} cells, about {:.0} s); systems: {}",
        config.factor,
        duration.as_secs_f64(),
        plan.len(),
        duration.as_secs_f64() * plan.len() as f64,
        systems
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", "),
    );

    let mut report = Report {
        scale: config.factor,
        systems,
        rows: Vec::new(),
    };
    let round = duration / ROUNDS as u32;
    for cell in Cell::all() {
        let systems: Vec<SystemKind> = plan
            .iter()
            .filter(|(c, _)| *c == cell)
            .map(|&(_, system)| system)
            .collect();
        // Rounds interleave the systems, so a burst of load on the shared
        // machine slows one round of each rather than all rounds of one.
        for r in 1..=ROUNDS {
            for &system in &systems {
                let dir = tempfile::Builder::new()
                    .prefix(&format!("{}-{}-", system.name(), cell.key()))
                    .tempdir_in(&out_dir)?;
                let outcome = run_cell(dir.path(), cell, system, round)
                    .map_err(|e| format!("{} on {}: {e}", cell.label(), system.name()))?;
                eprintln!(
                    "[{}] {} round {r}/{ROUNDS}: {:.2} s, {} commits, {} txn/s, abort rate {:.2}%; checked",
                    system.name(),
                    cell.label(),
                    outcome.elapsed.as_secs_f64(),
                    thousands(outcome.tally.commits as f64),
                    thousands(outcome.rate()),
                    100.0 * outcome.abort_rate(),
                );
                report.row_mut(cell, system).rounds.push(outcome);
            }
        }
    }

    print!("{}", report.table());
    common::run::write_outputs(
        &out_dir,
        "transactions",
        &report.json(),
        &report.chart().svg(),
    )
}

/// Runs one cell on one system in the fresh directory `dir`.
fn run_cell(
    dir: &Path,
    cell: Cell,
    system: SystemKind,
    duration: Duration,
) -> BenchResult<Outcome> {
    match system {
        SystemKind::Isodb(level) => isodb::run_cell(dir, level, cell, duration),
        #[cfg(feature = "peers")]
        SystemKind::Sqlite => sqlite::run_transfer(dir, cell, duration),
    }
}
