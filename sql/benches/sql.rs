//! The SQL benchmark: isodb's SQL layer on five workloads, and with
//! `--features peers` SQLite doing the same statements in the same process,
//! with isodb's ratio to it.
//!
//! ```text
//! cargo bench -p isodb                                  # isodb alone
//! cargo bench -p isodb --features peers                 # isodb and SQLite
//! cargo bench -p isodb --features peers -- point        # workloads whose name contains "point"
//! ISODB_BENCH_SCALE=0.05 cargo bench -p isodb           # a quick run
//! cargo test -p isodb --bench sql                       # smoke test, scale 0.002
//! ```
//!
//! The table: `bench (id INTEGER PRIMARY KEY, grp INTEGER, val INTEGER, name
//! TEXT)` with `CREATE INDEX bench_val ON bench (val)`; 100,000 rows whose
//! values follow from their id (see `sql/workload.rs`), so every answer is
//! checked.
//!
//! | workload     | what is timed                                                      | figure     |
//! |--------------|--------------------------------------------------------------------|------------|
//! | insert       | 100,000 prepared INSERTs, ascending ids, in one transaction + its commit | rows/s |
//! | point_select | 50,000 prepared `SELECT grp, val, name ... WHERE id = $1`, random ids, autocommit | queries/s |
//! | range        | 2,000 prepared `SELECT id, val ... WHERE val >= $1 AND val <= $2` of 100 rows each, on the index | queries/s |
//! | group_by     | 10 × `SELECT grp, count(*), sum(val) ... GROUP BY grp ORDER BY grp` over all rows (100 groups) | rows/s |
//! | point_update | 2,000 prepared `UPDATE bench SET name = $1 WHERE id = $2`, random ids, each its own synced commit | commits/s |
//!
//! `ISODB_BENCH_SCALE` (default 1.0) multiplies every count. The workloads
//! run in that order on one database per system (the UPDATEs last, as they
//! change `name`); after the load, untimed, each system settles (isodb
//! flushes its memtable, SQLite checkpoints its WAL) and the load is checked.
//!
//! Durability — the same promise on both systems: **every commit is fsynced
//! before it is acknowledged**. isodb runs with `DatabaseOptions { durability:
//! Durability::Sync, .. }`; SQLite in WAL mode with `synchronous=FULL` (not
//! NORMAL, which skips the fsync at commit in WAL mode) and a page cache as
//! large as isodb's block cache (32 MiB).
//!
//! Isolation: isodb runs at its default level, SERIALIZABLE (SSI), which
//! the table notes; SQLite's transactions are serializable by construction
//! (one writer at a time). Both sides use prepared statements: isodb
//! `Session::prepare` and `query(&prepared, &[&id])`, SQLite
//! `prepare_cached`. Statements outside `insert` are autocommit on both.
//!
//! Outputs: the table on stdout (then the issue's targets, met or missed),
//! progress on stderr, `<target>/isodb-bench/sql.json` (format in
//! `sql/report.rs`) and `<target>/isodb-bench/sql.svg`. Every loop checks
//! its answers — rows found, range counts, group counts and sums, rows
//! updated — and a wrong one ends the run with an error. Without Cargo's
//! `--bench` argument (under `cargo test`) the run is a smoke test at scale
//! 0.002 writing to `<target>/isodb-bench/smoke/`.

// The report, the command line and the chart are shared with the engine's
// benchmarks (`engine/benches/common/`); this benchmark's own modules live
// in `benches/sql/`.
// SQLite's crate, under the name the shared `common/sqlite.rs` uses (see
// the comment on the dependency in Cargo.toml).
#[cfg(feature = "peers")]
extern crate sqlite_oracle as rusqlite;

#[allow(dead_code)]
#[path = "../../engine/benches/common/mod.rs"]
mod common;
#[path = "sql/isodb.rs"]
mod isodb_system;
#[path = "sql/report.rs"]
mod report;
#[cfg(feature = "peers")]
#[path = "sql/sqlite.rs"]
mod sqlite_system;
#[path = "sql/workload.rs"]
mod workload;

use std::process::ExitCode;

use common::durability::Mode;
use common::report::thousands;
use common::run::{BenchResult, RunConfig};
use report::{ISODB, Report, SystemInfo};
use workload::{Measurement, Scale, SqlSystem, Workload};

/// Opens a system in a directory, runs the body on it, closes it.
type WithSystem =
    fn(&std::path::Path, &mut dyn FnMut(&mut dyn SqlSystem) -> BenchResult<()>) -> BenchResult<()>;

/// The systems this build compares, isodb first.
fn systems() -> Vec<(SystemInfo, WithSystem)> {
    vec![
        (
            SystemInfo {
                name: ISODB,
                isolation: "SERIALIZABLE",
            },
            isodb_system::with_isodb as WithSystem,
        ),
        #[cfg(feature = "peers")]
        (
            SystemInfo {
                name: "sqlite",
                isolation: "SERIALIZABLE",
            },
            sqlite_system::with_sqlite as WithSystem,
        ),
    ]
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sql benchmark failed: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> BenchResult<()> {
    let config = RunConfig::from_env()?;
    let selected: Vec<Workload> = Workload::ALL
        .into_iter()
        .filter(|w| config.selects(w.name()))
        .collect();
    if selected.is_empty() {
        return Err(format!("no workload matches {:?}", config.filters).into());
    }
    let scale = Scale::new(config.factor);
    let out_dir = config.out_dir()?;
    let systems = systems();
    let mut report = Report {
        scale: config.factor,
        durability: Mode::Sync,
        systems: Vec::new(),
        rows: Vec::new(),
    };
    eprintln!(
        "sql benchmark: scale {} ({} rows, {} selects, {} ranges, {} group-bys, {} updates); systems: {}; workloads: {}",
        config.factor,
        thousands(scale.rows as f64),
        thousands(scale.selects as f64),
        thousands(scale.ranges as f64),
        thousands(scale.group_bys as f64),
        thousands(scale.updates as f64),
        systems
            .iter()
            .map(|(s, _)| s.name)
            .collect::<Vec<_>>()
            .join(", "),
        selected
            .iter()
            .map(|w| w.name())
            .collect::<Vec<_>>()
            .join(", "),
    );
    for (info, with_system) in systems {
        let name = info.name;
        let dir = tempfile::Builder::new()
            .prefix(&format!("sql-{name}-"))
            .tempdir_in(&out_dir)?;
        with_system(dir.path(), &mut |system| {
            run_workloads(system, name, &scale, &selected, &mut report)
        })?;
        report.systems.push(info);
    }

    print!("{}", report.table());
    common::run::write_outputs(&out_dir, "sql", &report.json(), &report.chart().svg())
}

/// Loads the table (timed as `insert`), then runs the other selected
/// workloads on it in order.
fn run_workloads(
    system: &mut dyn SqlSystem,
    name: &'static str,
    scale: &Scale,
    selected: &[Workload],
    report: &mut Report,
) -> BenchResult<()> {
    let loaded = step(name, Workload::Insert, scale.rows, || {
        workload::insert(system, scale)
    })?;
    if selected.contains(&Workload::Insert) {
        report.push(Workload::Insert, name, loaded);
    }
    eprintln!("[{name}] settle and check the load");
    system.settle()?;
    workload::verify_load(system, scale)?;

    type Run = fn(&mut dyn SqlSystem, &Scale) -> BenchResult<Measurement>;
    let timed: [(Workload, u64, Run); 4] = [
        (Workload::PointSelect, scale.selects, workload::point_select),
        (Workload::Range, scale.ranges, workload::range),
        (
            Workload::GroupBy,
            scale.rows * scale.group_bys,
            workload::group_by,
        ),
        (Workload::PointUpdate, scale.updates, workload::point_update),
    ];
    for (workload, ops, run) in timed {
        if selected.contains(&workload) {
            let measured = step(name, workload, ops, || run(system, scale))?;
            report.push(workload, name, measured);
        }
    }
    Ok(())
}

/// Runs one workload with a progress line before and after it.
fn step(
    system: &str,
    workload: Workload,
    ops: u64,
    run: impl FnOnce() -> BenchResult<Measurement>,
) -> BenchResult<Measurement> {
    eprintln!(
        "[{system}] {}: {} {} ...",
        workload.name(),
        thousands(ops as f64),
        workload.unit().trim_end_matches("/s")
    );
    let measured = run()?;
    eprintln!(
        "[{system}] {}: {:.2} s, {} {}",
        workload.name(),
        measured.elapsed.as_secs_f64(),
        thousands(measured.rate()),
        workload.unit()
    );
    Ok(measured)
}
