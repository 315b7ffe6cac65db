//! The `jepsen-lite` command line.
//!
//! ```text
//! jepsen-lite check FILE [--model serializable] [--format text|json] [--out DIR]
//! jepsen-lite run --workload list-append --isolation serializable --clients 8 --time 30s \
//!                 --nemesis crash [--keys 32] [--distribution uniform|zipf|hot] [--rate 500]
//!                 [--nemesis-interval 2s] [--fault-duration 500ms] [--out DIR]
//! ```
//!
//! Exit status of `check`: 0 when the history satisfies the model, 1 when it does not, 2 when
//! the input cannot be read. Of `run`: 0 when the history satisfies the model the isolation
//! level promises (and the bank's total held where it must, and no unexpected error
//! occurred), 1 when not, 2 when the run could not be carried out.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use jepsen_lite::checker::check;
use jepsen_lite::models::Model;
use jepsen_lite::run::keys::KeyDistribution;
use jepsen_lite::run::nemesis::NemesisPlan;
use jepsen_lite::run::recorder::Fault;
use jepsen_lite::run::workload::WorkloadKind;
use jepsen_lite::run::{self, CrashMode, Isolation, RunConfig};
use jepsen_lite::{load, report};

#[derive(Parser)]
#[command(
    name = "jepsen-lite",
    version,
    about = "Checks transactional histories for isolation anomalies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a history file (JSON lines, or Jepsen EDN when the name ends in .edn).
    Check(CheckArgs),
    /// Drive isodb with concurrent clients under faults, then check the history.
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// What the clients do.
    #[arg(long, value_enum, default_value = "list-append")]
    workload: WorkloadKind,
    /// The isolation level of every transaction.
    #[arg(long, value_enum, default_value = "serializable")]
    isolation: Isolation,
    /// Concurrent clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// How long to run (`30s`, `500ms`, `2m`; a bare number is seconds).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    time: Duration,
    /// Target transactions per second over all clients (default: as fast as possible).
    #[arg(long)]
    rate: Option<f64>,
    /// Number of keys (accounts for the bank workload).
    #[arg(long, default_value_t = 32)]
    keys: u64,
    /// How keys are chosen.
    #[arg(long, value_enum, default_value = "uniform")]
    distribution: KeyDistribution,
    /// Faults to inject, in turn (comma-separated: crash, pause, slow-disk).
    #[arg(long, value_enum, value_delimiter = ',')]
    nemesis: Vec<Fault>,
    /// Quiet time before each fault (default: a fifth of --time, at most 5 s).
    #[arg(long, value_parser = parse_duration)]
    nemesis_interval: Option<Duration>,
    /// How long each fault lasts (default: a twentieth of --time, at most 1 s).
    #[arg(long, value_parser = parse_duration)]
    fault_duration: Option<Duration>,
    /// How much longer every log fsync takes while the slow-disk fault is active.
    #[arg(long, default_value = "20ms", value_parser = parse_duration)]
    commit_delay: Duration,
    /// Acknowledge commits before they are fsynced (faster; a crash is then a process crash).
    #[arg(long)]
    no_sync: bool,
    /// What a crash loses: process (what the OS was handed survives) or power-loss (only what
    /// was fsynced survives). Default: the one that keeps the durability's promise (power-loss
    /// with synced commits, process with --no-sync); `--no-sync --crash power-loss` loses
    /// acknowledged commits on purpose, and the checker should say so.
    #[arg(long, value_enum)]
    crash: Option<CrashMode>,
    /// Seed of the clients' random choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The run folder (default: runs/WORKLOAD-ISOLATION-UNIXTIME).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The database directory (default: a fresh temporary directory, removed afterwards).
    #[arg(long)]
    db: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Parses `30s`, `500ms`, `2m`, `1.5s` or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s or 500ms"))?;
    let seconds = match unit {
        "ms" => value / 1e3,
        "s" => value,
        "m" | "min" => value * 60.0,
        other => return Err(format!("unknown unit {other:?}; use ms, s or m")),
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("{text:?} is not a duration"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The history file.
    file: PathBuf,
    /// The model the history must satisfy (exit status 1 when it does not).
    #[arg(long, default_value = "serializable", value_parser = parse_model)]
    model: Model,
    /// Output format on standard output.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Directory for results.json and a .dot and .svg per anomaly cycle.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn parse_model(name: &str) -> Result<Model, String> {
    Model::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Model::ALL.iter().map(|m| m.name()).collect();
        format!("unknown model {name:?}; one of: {}", names.join(", "))
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => run_check(&args),
        Command::Run(args) => run_run(&args),
    }
}

fn run_run(args: &RunArgs) -> ExitCode {
    let mut config = RunConfig::new(args.workload, args.isolation, args.time);
    config.clients = args.clients.max(1);
    config.rate = args.rate;
    config.keys = args.keys.max(1);
    config.distribution = args.distribution;
    config.sync_commits = !args.no_sync;
    config.crash_mode = args.crash;
    config.seed = args.seed;
    config.progress = !args.quiet;
    config.nemesis = NemesisPlan {
        faults: args.nemesis.clone(),
        interval: args
            .nemesis_interval
            .unwrap_or_else(|| (args.time / 5).min(Duration::from_secs(5))),
        fault_duration: args
            .fault_duration
            .unwrap_or_else(|| (args.time / 20).min(Duration::from_secs(1))),
        commit_delay: args.commit_delay,
    };
    let temporary = match &args.db {
        Some(_) => None,
        None => match tempfile::tempdir() {
            Ok(dir) => Some(dir),
            Err(e) => {
                eprintln!("jepsen-lite: cannot create a temporary directory: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let db_dir = match (&args.db, &temporary) {
        (Some(dir), _) => dir.clone(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => return ExitCode::from(2),
    };
    let out = args.out.clone().unwrap_or_else(|| {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        PathBuf::from("runs").join(format!(
            "{}-{}-{stamp}",
            args.workload.name(),
            args.isolation.name()
        ))
    });
    let result = match run::run(&config, &db_dir) {
        Ok(result) => result,
        Err(e) => {
            eprintln!("jepsen-lite: run failed: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = run::folder::write(&result, &out) {
        eprintln!("jepsen-lite: {e}");
        return ExitCode::from(2);
    }
    print!("{}", run_summary(&result, &out));
    if result.valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn run_summary(result: &run::RunResult, out: &std::path::Path) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    let c = &result.counts;
    let _ = writeln!(
        text,
        "{} at {}: {} transactions in {:.1} s ({} ok, {} fail, {} info), {:.0} committed/s",
        result.config.workload.name(),
        result.config.isolation.name(),
        c.ok + c.fail + c.info,
        result.elapsed.as_secs_f64(),
        c.ok,
        c.fail,
        c.info,
        result.throughput()
    );
    let faults: Vec<String> = result
        .faults
        .iter()
        .map(|w| {
            format!(
                "{} {:.2}-{:.2}s",
                w.fault.name(),
                w.start as f64 / 1e6,
                w.end as f64 / 1e6
            )
        })
        .collect();
    let _ = writeln!(
        text,
        "faults: {}",
        if faults.is_empty() {
            "none".to_string()
        } else {
            faults.join(", ")
        }
    );
    let kinds: Vec<&str> = result.report.kinds().iter().map(|k| k.name()).collect();
    let _ = writeln!(
        text,
        "anomalies: {}",
        if kinds.is_empty() {
            "none".to_string()
        } else {
            kinds.join(", ")
        }
    );
    let strongest: Vec<&str> = result.report.strongest.iter().map(|m| m.name()).collect();
    let _ = writeln!(text, "strongest models satisfied: {}", strongest.join(", "));
    for v in result.invariant_violations.iter().take(3) {
        let _ = writeln!(text, "invariant: {v}");
    }
    for e in result.unexpected_errors.iter().take(5) {
        let _ = writeln!(text, "unexpected: {e}");
    }
    let verdict = if result.valid() { "VALID" } else { "INVALID" };
    let _ = writeln!(
        text,
        "{verdict}: {} promises {}; report in {}",
        result.config.isolation.name(),
        result.required.name(),
        out.join("report.html").display()
    );
    text
}

fn run_check(args: &CheckArgs) -> ExitCode {
    let history = match load::history_file(&args.file) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("jepsen-lite: cannot read history: {e}");
            return ExitCode::from(2);
        }
    };
    let result = check(&history);
    match args.format {
        Format::Text => print!("{}", report::text::render(&result, args.model)),
        Format::Json => println!("{}", report::json::render(&result)),
    }
    if let Some(dir) = &args.out
        && let Err(e) = report::write_directory(&result, dir)
    {
        eprintln!("jepsen-lite: cannot write results: {e}");
        return ExitCode::from(2);
    }
    if result.satisfies(args.model) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
