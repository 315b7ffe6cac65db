//! The storage benchmark: db_bench-style workloads on isodb's [`Store`], and
//! with `--features peers` on fjall and SQLite in the same process.
//!
//! ```text
//! cargo bench -p isodb-engine --bench storage                    # isodb alone
//! cargo bench -p isodb-engine --features peers --bench storage   # isodb, fjall, SQLite
//! cargo bench -p isodb-engine --bench storage -- fillrandom      # workloads whose name contains it
//! ISODB_BENCH_SCALE=0.01 cargo bench -p isodb-engine --bench storage   # a quick smoke run
//! cargo test -p isodb-engine --bench storage                     # smoke test, scale 0.002
//! ```
//!
//! Without Cargo's `--bench` argument (that is, under `cargo test`) the run
//! is a smoke test: scale 0.002 unless `ISODB_BENCH_SCALE` says otherwise,
//! outputs in `<target>/isodb-bench/smoke/`.
//!
//! Workloads (keys of 16 bytes, values of 100; random orders from fixed seeds,
//! identical for every system; key space in `storage/workload.rs`):
//!
//! | workload    | what is timed                                              | durability |
//! |-------------|------------------------------------------------------------|------------|
//! | fillseq     | 1,000,000 puts in ascending key order, fresh database      | no-sync    |
//! | fillrandom  | 1,000,000 puts in random order (each key once), fresh      | no-sync    |
//! | fillsync    | 100,000 puts in random order, batches of 100, fresh        | synced     |
//! | readrandom  | 1,000,000 gets of present keys, after fillrandom + settle  | -          |
//! | readmissing | 1,000,000 gets of absent keys that interleave with them    | -          |
//! | scan        | one full ordered scan of the fillrandom database           | -          |
//!
//! `ISODB_BENCH_SCALE` (default 1.0) multiplies the counts. One put is one
//! atomic write on every system (isodb `put`, fjall `insert`, one autocommit
//! statement in SQLite). "Settle" is untimed: isodb `flush()`, fjall rotating
//! its memtable and waiting for the flush, SQLite `wal_checkpoint(TRUNCATE)`.
//!
//! Durability mapping — the same promise on every system per workload:
//!
//! | promise                              | isodb                  | fjall 3                                  | SQLite (WAL mode)                         |
//! |--------------------------------------|------------------------|------------------------------------------|-------------------------------------------|
//! | no-sync: reaches the OS per write, survives a process crash, not power loss | `Durability::NoSync` | default (`PersistMode::Buffer` per write) | `synchronous=OFF`                       |
//! | synced: `fdatasync` before the batch is acknowledged | `write_with(batch, Durability::Sync)` | batch with `PersistMode::SyncData` | `synchronous=FULL`, one transaction per batch |
//!
//! `synchronous=NORMAL` is deliberately not used: in WAL mode it does not
//! fsync at commit, so it would give SQLite a weaker promise than the others.
//!
//! Resources are matched too: fjall gets isodb's memtable size (8 MiB) and
//! block cache (32 MiB), SQLite a 32 MiB page cache; fjall is built without
//! lz4 since isodb's tables are uncompressed. Each system runs in a fresh
//! directory under `<target>/isodb-bench/`, removed afterwards.
//!
//! Peak memory: before fillrandom the process's high-water mark is reset
//! (`/proc/self/clear_refs`), and `VmHWM` is read after it; isodb's is
//! compared with its budget, `memtable_size * (1 + max_immutable_memtables)
//! + block_cache_size`.
//!
//! Outputs: the table on stdout, progress on stderr,
//! `<target>/isodb-bench/storage.json` (format in `storage/report.rs`) and
//! `<target>/isodb-bench/storage.svg`. Every workload checks what it reads
//! and the run fails if a read is missing, wrong, or a scan is short.

// The benchmark's own modules live in `benches/storage/` (a crate root's
// `mod` would look beside it, in `benches/`); what it shares with the
// transaction benchmark lives in `benches/common/`.
#[allow(dead_code)]
#[path = "common/mod.rs"]
mod common;
#[path = "storage/memory.rs"]
mod memory;
#[cfg(feature = "peers")]
#[path = "storage/peers.rs"]
mod peers;
#[path = "storage/report.rs"]
mod report;
#[path = "storage/systems.rs"]
mod systems;
#[path = "storage/workload.rs"]
mod workload;

use std::path::Path;
use std::process::ExitCode;

use common::durability::Mode;
use common::report::thousands;
use common::run::{BenchResult, RunConfig};
use report::{PeakMemory, Report, Row};
use systems::{SystemKind, isodb_memory_budget};
use workload::{Measurement, Scale, System, Workload};

/// Gets checked after fillseq and fillsync.
const VERIFY_SAMPLES: u64 = 1_000;

/// What to run, from the command line and the environment.
struct Config {
    run: RunConfig,
    scale: Scale,
    selected: Vec<Workload>,
}

impl Config {
    fn from_env() -> BenchResult<Config> {
        let run = RunConfig::from_env()?;
        let selected: Vec<Workload> = Workload::ALL
            .into_iter()
            .filter(|w| run.selects(w.name()))
            .collect();
        if selected.is_empty() {
            return Err(format!("no workload matches {:?}", run.filters).into());
        }
        Ok(Config {
            scale: Scale::new(run.factor),
            run,
            selected,
        })
    }

    fn wants(&self, workload: Workload) -> bool {
        self.selected.contains(&workload)
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("storage benchmark failed: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> BenchResult<()> {
    let config = Config::from_env()?;
    let out_dir = config.run.out_dir()?;
    let kinds = SystemKind::all();
    let mut report = Report {
        scale: config.run.factor,
        systems: kinds.iter().map(|k| k.name()).collect(),
        budget: isodb_memory_budget(),
        rows: Vec::new(),
        memory: Vec::new(),
    };
    eprintln!(
        "storage benchmark: scale {} ({} keys, fillsync {} keys, {} reads); systems: {}; workloads: {}",
        config.run.factor,
        thousands(config.scale.fill_keys as f64),
        thousands(config.scale.sync_keys as f64),
        thousands(config.scale.reads as f64),
        report.systems.join(", "),
        config
            .selected
            .iter()
            .map(|w| w.name())
            .collect::<Vec<_>>()
            .join(", "),
    );
    for kind in kinds {
        run_system(kind, &config, &out_dir, &mut report)?;
    }

    print!("{}", report.table());
    common::run::write_outputs(&out_dir, "storage", &report.json(), &report.chart().svg())
}

/// Runs the selected workloads on one system, each group in a fresh directory.
fn run_system(
    kind: SystemKind,
    config: &Config,
    out_dir: &Path,
    report: &mut Report,
) -> BenchResult<()> {
    let name = kind.name();
    let n = config.scale.fill_keys;
    let reads = config.scale.reads;
    let fresh_dir = || {
        tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir_in(out_dir)
    };

    let after_fill = [Workload::ReadRandom, Workload::ReadMissing, Workload::Scan];
    if config.wants(Workload::FillRandom) || after_fill.iter().any(|&w| config.wants(w)) {
        let dir = fresh_dir()?;
        kind.with_open(dir.path(), Mode::NoSync, &mut |system| {
            let baseline = memory::reset_peak();
            let fill = step(name, Workload::FillRandom, n, || {
                workload::fill_random(system, n)
            })?;
            if let (Some(baseline), Some(peak)) = (baseline, memory::peak()) {
                report.memory.push(PeakMemory {
                    system: name,
                    baseline,
                    peak,
                });
            }
            if config.wants(Workload::FillRandom) {
                report.push(Workload::FillRandom, name, fill);
            }
            eprintln!("[{name}] settle");
            system.settle()?;
            let timed: [(Workload, WorkloadFn); 3] = [
                (Workload::ReadRandom, &|s, n| {
                    workload::read_random(s, n, reads)
                }),
                (Workload::ReadMissing, &|s, n| {
                    workload::read_missing(s, n, reads)
                }),
                (Workload::Scan, &workload::scan),
            ];
            for (workload, run) in timed {
                if config.wants(workload) {
                    let ops = if workload == Workload::Scan { n } else { reads };
                    let measured = step(name, workload, ops, || run(system, n))?;
                    report.push(workload, name, measured);
                }
            }
            Ok(())
        })?;
    }

    if config.wants(Workload::FillSeq) {
        let dir = fresh_dir()?;
        kind.with_open(dir.path(), Mode::NoSync, &mut |system| {
            let measured = step(name, Workload::FillSeq, n, || workload::fill_seq(system, n))?;
            workload::verify_sample(system, n, VERIFY_SAMPLES)?;
            report.push(Workload::FillSeq, name, measured);
            Ok(())
        })?;
    }

    if config.wants(Workload::FillSync) {
        let dir = fresh_dir()?;
        let keys = config.scale.sync_keys;
        kind.with_open(dir.path(), Mode::Sync, &mut |system| {
            let measured = step(name, Workload::FillSync, keys, || {
                workload::fill_sync(system, keys)
            })?;
            workload::verify_sample(system, keys, VERIFY_SAMPLES)?;
            report.push(Workload::FillSync, name, measured);
            Ok(())
        })?;
    }
    Ok(())
}

/// A timed loop over an open system and the data set's size.
type WorkloadFn<'a> = &'a dyn Fn(&mut dyn System, u64) -> BenchResult<Measurement>;

/// Runs one workload with a progress line before and after it.
fn step(
    system: &str,
    workload: Workload,
    ops: u64,
    run: impl FnOnce() -> BenchResult<Measurement>,
) -> BenchResult<Measurement> {
    eprintln!(
        "[{system}] {}: {} ops ...",
        workload.name(),
        thousands(ops as f64)
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

impl Report {
    fn push(&mut self, workload: Workload, system: &'static str, measurement: Measurement) {
        self.rows.push(Row {
            workload,
            system,
            measurement,
        });
    }
}
