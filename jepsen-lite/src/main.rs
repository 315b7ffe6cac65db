//! The `jepsen-lite` command line.
//!
//! ```text
//! jepsen-lite check FILE [--model strict-serializable,...] [--anomalies G0,...]
//!                   [--workload auto|list-append|rw-register] [--input edn|json]
//!                   [--format text|json] [--out DIR]
//! jepsen-lite run --workload list-append --isolation serializable --clients 8 --time 30s \
//!                 --nemesis crash [--keys 32] [--distribution uniform|zipf|hot] [--rate 500]
//!                 [--nemesis-interval 2s] [--fault-duration 500ms] [--shards 4] [--out DIR]
//! jepsen-lite -m list-append [-c serializable] [-a G0] [-f edn|json] [-v text|json] FILES...
//! ```
//!
//! The last form is elle-cli's command line: a script written for elle-cli runs with
//! `jepsen-lite` in its place (one `FILE \t true|false|unknown` line per file, or Elle's
//! result map per file with `-v json` / `--verbose`; exit status 1 when a history is invalid
//! or does not match `-m`, 255 when one cannot be read).
//!
//! Exit status of `check`: 0 when the history satisfies the models (also when nothing could
//! be refuted: Elle's `unknown`), 1 when it does not, 2 when the input cannot be read. Of
//! `run`: 0 when the history satisfies the model the isolation level promises (and the bank's
//! total held where it must, and no unexpected error occurred), 1 when not, 2 when the run
//! could not be carried out.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use jepsen_lite::checker::{CheckOptions, check_with};
use jepsen_lite::load::Format as InputFormat;
use jepsen_lite::models::{Model, known_anomaly};
use jepsen_lite::op::Workload;
use jepsen_lite::report::elle::{Request, Validity, verdict};
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
    about = "Checks transactional histories for isolation anomalies",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    elle: ElleArgs,
}

/// elle-cli's options (`jepsen-lite -m list-append FILES...`).
#[derive(clap::Args)]
struct ElleArgs {
    /// Histories to check.
    files: Vec<PathBuf>,
    /// The checker: list-append or rw-register (default: decided from the history).
    #[arg(short = 'm', long = "model", value_parser = parse_elle_workload)]
    model: Option<Workload>,
    /// Input format (default: from the file's name and first characters).
    #[arg(short = 'f', long = "format", value_enum, default_value = "auto")]
    format: InputFormat,
    /// Output: text (FILE \t true|false|unknown) or json (Elle's result map).
    #[arg(short = 'v', long = "output", value_enum, default_value = "text")]
    output: Format,
    /// The same as --output json.
    #[arg(long)]
    verbose: bool,
    /// Models the histories must satisfy.
    #[arg(short = 'c', long = "consistency-models", value_delimiter = ',', value_parser = parse_model, default_value = "strict-serializable")]
    consistency_models: Vec<Model>,
    /// Anomalies the histories must not show (besides what the models forbid).
    #[arg(short = 'a', long, value_delimiter = ',', value_parser = parse_anomaly, default_value = "G0")]
    anomalies: Vec<String>,
    /// Where to write results.json and the cycle drawings of each history.
    #[arg(short = 'd', long)]
    directory: Option<PathBuf>,
    /// Accepted for elle-cli scripts; jepsen-lite's search is bounded by states, not time.
    #[arg(short = 's', long, hide = true)]
    cycle_search_timeout: Option<u64>,
    /// Accepted for elle-cli scripts; drawings are always SVG.
    #[arg(short = 'p', long, hide = true)]
    plot_format: Option<String>,
    /// Accepted for elle-cli scripts.
    #[arg(short = 't', long, hide = true)]
    plot_timeout: Option<u64>,
    /// Accepted for elle-cli scripts.
    #[arg(short = 'b', long, hide = true)]
    max_plot_bytes: Option<u64>,
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
    /// Shards of the database: with several, transactions that write more than one commit by
    /// two-phase commit (row placement: hash of the primary key).
    #[arg(long, default_value_t = 1)]
    shards: u16,
    /// Faults to inject, in turn (comma-separated: crash, pause, slow-disk; with --shards 2 or
    /// more also shard-crash, partition, message-faults).
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
    /// The history file (JSON lines, a JSON array or Jepsen EDN; zstd-compressed or not).
    file: PathBuf,
    /// Models the history must satisfy, Elle's names (exit status 1 when one does not hold);
    /// `list-append` or `rw-register` here says what the history holds, as elle-cli's
    /// --model does.
    #[arg(long, value_delimiter = ',', value_parser = parse_model_or_workload)]
    model: Vec<ModelOrWorkload>,
    /// Models the history must satisfy (elle-cli's name for --model).
    #[arg(short = 'c', long = "consistency-models", value_delimiter = ',', value_parser = parse_model)]
    consistency_models: Vec<Model>,
    /// Anomalies the history must not show, Elle's names, besides what the models forbid.
    #[arg(short = 'a', long, value_delimiter = ',', value_parser = parse_anomaly)]
    anomalies: Vec<String>,
    /// What the history holds (decides what a `[:r k nil]` read is).
    #[arg(long, value_enum, default_value = "auto")]
    workload: Workload,
    /// The history's format (default: from its name and first characters).
    #[arg(long, value_enum, default_value = "auto")]
    input: InputFormat,
    /// Output format on standard output.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Directory for results.json and a .dot and .svg per anomaly cycle.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy)]
enum ModelOrWorkload {
    Model(Model),
    Workload(Workload),
}

fn parse_model(name: &str) -> Result<Model, String> {
    Model::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Model::ALL.iter().map(|m| m.name()).collect();
        format!("unknown model {name:?}; one of: {}", names.join(", "))
    })
}

fn parse_elle_workload(name: &str) -> Result<Workload, String> {
    match name {
        "list-append" => Ok(Workload::ListAppend),
        "rw-register" => Ok(Workload::RwRegister),
        other => Err(format!(
            "jepsen-lite checks list-append and rw-register histories, not {other:?}"
        )),
    }
}

fn parse_model_or_workload(name: &str) -> Result<ModelOrWorkload, String> {
    parse_elle_workload(name)
        .map(ModelOrWorkload::Workload)
        .or_else(|_| parse_model(name).map(ModelOrWorkload::Model))
}

fn parse_anomaly(name: &str) -> Result<String, String> {
    let name = name.trim().trim_start_matches(':');
    if known_anomaly(name) {
        Ok(jepsen_lite::anomaly::AnomalyKind::from_name(name)
            .map_or_else(|| name.to_string(), |k| k.name().to_string()))
    } else {
        Err(format!("unknown anomaly {name:?}"))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Check(args)) => run_check(&args),
        Some(Command::Run(args)) => run_run(&args),
        None if cli.elle.files.is_empty() => {
            let _ = <Cli as clap::CommandFactory>::command().print_help();
            ExitCode::SUCCESS
        }
        None => run_elle(&cli.elle),
    }
}

/// elle-cli's behaviour: every file checked, one line (or one result map) per file, exit
/// status 1 when one is invalid or does not match `--model`; 255 when one cannot be read
/// (elle-cli's status for errors).
fn run_elle(args: &ElleArgs) -> ExitCode {
    let request = Request {
        models: args.consistency_models.clone(),
        anomalies: args.anomalies.clone(),
    };
    let options = CheckOptions::for_models(&request.models, &request.anomalies);
    let json = args.verbose || matches!(args.output, Format::Json);
    let mut any_invalid = false;
    for file in &args.files {
        let workload = args.model.unwrap_or_default();
        let history = match load::history_file_as(file, args.format, workload) {
            Ok(h) => h,
            // elle-cli exits 1 when the model does not match the history, 255 otherwise.
            Err(e @ jepsen_lite::error::Error::OtherWorkload { .. }) => {
                eprintln!("jepsen-lite: the history does not match --model: {e}");
                return ExitCode::from(1);
            }
            Err(e) => {
                eprintln!("jepsen-lite: cannot read history: {e}");
                return ExitCode::from(255);
            }
        };
        let report = check_with(&history, &options);
        let validity = verdict(&report, &request).validity;
        any_invalid |= validity == Validity::Invalid;
        if json {
            let value = report::elle::result(&report, &history, &request);
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
        } else {
            println!("{} \t {}", file.display(), validity.word());
        }
        if let Some(dir) = &args.directory {
            let name = file
                .file_name()
                .map_or_else(|| "history".into(), |n| n.to_string_lossy().into_owned());
            if let Err(e) = report::write_directory(&report, &history, &request, &dir.join(name)) {
                eprintln!("jepsen-lite: cannot write results: {e}");
                return ExitCode::from(255);
            }
        }
    }
    ExitCode::from(u8::from(any_invalid))
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
    config.shards = args.shards.max(1);
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
    let result = match run::run(&config, &db_dir, &out) {
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
    ExitCode::from(result.verdict.exit_code())
}

/// `1.2 MB`, `830 kB`, `512 B`.
fn show_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{b} B"),
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
    let recorded = &result.recorded;
    let _ = writeln!(
        text,
        "history: {}, {} ({} of JSON lines, {} lines)",
        recorded.path.display(),
        show_bytes(recorded.bytes),
        show_bytes(recorded.text_bytes),
        recorded.lines
    );
    let verdict = &result.verdict;
    let forbidden: Vec<&str> = verdict.forbidden_found.iter().map(|k| k.name()).collect();
    let why = match (
        verdict.satisfies_required_model,
        verdict.invariant_held,
        verdict.no_unexpected_errors,
    ) {
        (true, true, true) => String::new(),
        (false, _, _) => format!(" (found {})", forbidden.join(", ")),
        (_, false, _) => " (the workload's invariant broke)".to_string(),
        _ => " (unexpected errors)".to_string(),
    };
    let _ = writeln!(
        text,
        "{}: {} promises {}{why}; report in {}",
        verdict.word(),
        result.config.isolation.name(),
        verdict.required_model.name(),
        out.join("report.html").display()
    );
    text
}

fn run_check(args: &CheckArgs) -> ExitCode {
    let mut models: Vec<Model> = args.consistency_models.clone();
    let mut workload = args.workload;
    for m in &args.model {
        match m {
            ModelOrWorkload::Model(model) => models.push(*model),
            ModelOrWorkload::Workload(w) => workload = *w,
        }
    }
    if models.is_empty() {
        models.push(Model::StrictSerializable);
    }
    let request = Request {
        models,
        anomalies: args.anomalies.clone(),
    };
    let history = match load::history_file_as(&args.file, args.input, workload) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("jepsen-lite: cannot read history: {e}");
            return ExitCode::from(2);
        }
    };
    let result = check_with(
        &history,
        &CheckOptions::for_models(&request.models, &request.anomalies),
    );
    match args.format {
        Format::Text => print!("{}", report::text::render(&result, &request)),
        Format::Json => println!("{}", report::json::render(&result, &history, &request)),
    }
    if let Some(dir) = &args.out
        && let Err(e) = report::write_directory(&result, &history, &request, dir)
    {
        eprintln!("jepsen-lite: cannot write results: {e}");
        return ExitCode::from(2);
    }
    match verdict(&result, &request).validity {
        Validity::Invalid => ExitCode::from(1),
        Validity::Valid | Validity::Unknown => ExitCode::SUCCESS,
    }
}
