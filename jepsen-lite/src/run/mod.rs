//! Runs: drive isodb with concurrent clients under a nemesis, record the history, check it.
//!
//! ```text
//!            ┌──────────── Node (isodb::Database in this process, gate, commit delay) ◀── nemesis
//!            │        (crash, pause, slow disk; with --shards: shard crash, partition, message faults)
//!  client 0 ─┤ Session ─ BEGIN … COMMIT ─┐
//!  client 1 ─┤ Session ─ BEGIN … COMMIT ─┼─▶ Recorder (invoke / ok / fail / info, fault windows)
//!     …      │                           │             │
//!  client n ─┘                           ┘             ▼ streamed, compressed
//!                                            run folder/history.jsonl.zst
//!                                                      ▼ read back by load::history_file
//!                          History ─▶ checker::check ─▶ CheckReport + workload invariant (bank)
//!                                                      ▼
//!                                  Verdict (one computation: summary, exit status, run.json)
//!                                                      ▼
//!                         run folder: results.json, cycles (.dot/.svg), run.json,
//!                                     report.html (throughput, latency, faults)
//! ```
//!
//! [`run`] sets up the workload's tables, starts the clients, the nemesis and a progress
//! ticker, waits for the deadline, then reads the history back from its file exactly as
//! `jepsen-lite check` would and checks it. What each isolation level must satisfy is
//! [`required_model`]; [`Verdict`] is the run's one verdict; [`folder::write`] writes the rest of
//! the run folder.

pub mod client;
pub mod folder;
pub mod keys;
pub mod nemesis;
pub mod node;
pub mod plot;
pub mod recorder;
pub mod report_html;
pub mod workload;

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use isodb::{DatabaseOptions, Durability, IsolationLevel};

use crate::anomaly::AnomalyKind;
use crate::checker::{CheckOptions, CheckReport, check_with};
use crate::history::History;
use crate::models::Model;
use crate::run::client::{ClientContext, run_client};
use crate::run::keys::{KeyDistribution, KeySampler};
use crate::run::nemesis::{NemesisPlan, run_nemesis};
pub use crate::run::node::CrashMode;
use crate::run::node::Node;
use crate::run::recorder::{FaultWindow, HISTORY_FILE, RecordedHistory, Recorder};
use crate::run::workload::WorkloadKind;

/// The isolation levels, as the command line names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// READ UNCOMMITTED.
    ReadUncommitted,
    /// READ COMMITTED.
    ReadCommitted,
    /// REPEATABLE READ (snapshot isolation in isodb).
    RepeatableRead,
    /// SERIALIZABLE (serializable snapshot isolation).
    Serializable,
}

impl Isolation {
    /// Every level, weakest first.
    pub const ALL: [Isolation; 4] = [
        Isolation::ReadUncommitted,
        Isolation::ReadCommitted,
        Isolation::RepeatableRead,
        Isolation::Serializable,
    ];

    /// isodb's level.
    pub fn level(self) -> IsolationLevel {
        match self {
            Isolation::ReadUncommitted => IsolationLevel::ReadUncommitted,
            Isolation::ReadCommitted => IsolationLevel::ReadCommitted,
            Isolation::RepeatableRead => IsolationLevel::RepeatableRead,
            Isolation::Serializable => IsolationLevel::Serializable,
        }
    }

    /// Whether reading a key twice in one transaction must return the same version (or the
    /// transaction's own write): one snapshot per transaction, REPEATABLE READ and above.
    pub fn repeatable_reads(self) -> bool {
        matches!(self, Isolation::RepeatableRead | Isolation::Serializable)
    }

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Isolation::ReadUncommitted => "read-uncommitted",
            Isolation::ReadCommitted => "read-committed",
            Isolation::RepeatableRead => "repeatable-read",
            Isolation::Serializable => "serializable",
        }
    }
}

/// The consistency model a history recorded at `level` must satisfy (engine/src/txn/mod.rs):
/// SERIALIZABLE is strict serializable (one node, one timestamp oracle), REPEATABLE READ is
/// snapshot isolation, READ COMMITTED read committed, READ UNCOMMITTED forbids dirty writes.
pub fn required_model(level: Isolation) -> Model {
    match level {
        Isolation::ReadUncommitted => Model::ReadUncommitted,
        Isolation::ReadCommitted => Model::ReadCommitted,
        Isolation::RepeatableRead => Model::SnapshotIsolation,
        Isolation::Serializable => Model::StrictSerializable,
    }
}

/// Whether a history recorded at `level` may not contain `kind`: whatever the
/// [`required_model`] forbids, as the checker decides it (there is no second list).
pub fn forbids(level: Isolation, kind: AnomalyKind) -> bool {
    required_model(level).forbids(kind)
}

/// Whether the workload's own invariant (the bank's total) must hold at `level`: it needs
/// consistent snapshots and no lost updates, so snapshot isolation or stronger.
pub fn invariant_required(level: Isolation) -> bool {
    level.repeatable_reads()
}

/// Everything a run needs to know.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunConfig {
    /// What the clients do.
    pub workload: WorkloadKind,
    /// The isolation level of every transaction.
    pub isolation: Isolation,
    /// Concurrent clients (threads).
    pub clients: usize,
    /// How long clients invoke transactions.
    #[serde(serialize_with = "serialize_secs")]
    pub duration: Duration,
    /// Target transactions per second over all clients (`None`: as fast as possible).
    pub rate: Option<f64>,
    /// Number of keys (accounts for the bank).
    pub keys: u64,
    /// How keys are chosen.
    pub distribution: KeyDistribution,
    /// The nemesis schedule.
    pub nemesis: NemesisPlan,
    /// Whether commits are fsynced before they are acknowledged.
    pub sync_commits: bool,
    /// What a crash loses (`None`: the crash that keeps the durability's promise, see
    /// [`CrashMode::matching`]). A power loss with unsynced commits may lose acknowledged
    /// commits, and the checker should then say so.
    pub crash_mode: Option<CrashMode>,
    /// Shards of the database (1: one engine; more: transactions that write several commit
    /// by two-phase commit, and the shard faults of the nemesis apply).
    pub shards: u16,
    /// Seed of the clients' generators.
    pub seed: u64,
    /// Show a progress bar on standard error.
    pub progress: bool,
}

fn serialize_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl RunConfig {
    /// A run with defaults: 4 clients, 32 uniform keys, no nemesis, synced commits.
    pub fn new(workload: WorkloadKind, isolation: Isolation, duration: Duration) -> Self {
        RunConfig {
            workload,
            isolation,
            clients: 4,
            duration,
            rate: None,
            keys: 32,
            distribution: KeyDistribution::Uniform,
            nemesis: NemesisPlan {
                faults: Vec::new(),
                interval: duration / 4,
                fault_duration: duration / 10,
                commit_delay: Duration::from_millis(10),
            },
            sync_commits: true,
            crash_mode: None,
            shards: 1,
            seed: 1,
            progress: false,
        }
    }
}

/// Why a run could not produce a history.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration asks for something impossible.
    #[error("invalid run: {0}")]
    Config(String),
    /// Opening the database or creating the workload's tables failed.
    #[error("cannot set up the database: {0}")]
    Setup(#[from] isodb::Error),
    /// The recorded history could not be read back (a runner bug).
    #[error("the recorded history is malformed: {0}")]
    History(#[from] crate::error::Error),
    /// Writing the history failed.
    #[error("cannot record the history in {path}: {source}")]
    Record {
        /// The history file.
        path: std::path::PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Writing the run folder failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// Completions by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutcomeCounts {
    /// Committed.
    pub ok: u64,
    /// Certainly aborted.
    pub fail: u64,
    /// Unknown.
    pub info: u64,
}

/// The run's verdict, computed once: the summary, the exit status, `run.json` and the HTML
/// report all read it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    /// The model the isolation level promises.
    pub required_model: Model,
    /// Whether the checker says the history satisfies it (what `jepsen-lite check --model
    /// REQUIRED` says of the same history file).
    pub satisfies_required_model: bool,
    /// The anomaly kinds found that the required model forbids.
    pub forbidden_found: Vec<AnomalyKind>,
    /// Whether the workload's invariant must hold at this level.
    pub invariant_required: bool,
    /// Whether it held where it must.
    pub invariant_held: bool,
    /// Whether no unexpected error (a bug, a nemesis failure) occurred.
    pub no_unexpected_errors: bool,
    /// All three: the history satisfies the required model, the invariant held where it
    /// must, nothing unexpected happened.
    pub valid: bool,
}

impl Verdict {
    /// The verdict on `report` (and the workload's invariant and errors) at `level`.
    pub fn new(
        level: Isolation,
        report: &CheckReport,
        invariant_violations: &[String],
        unexpected_errors: &[String],
    ) -> Verdict {
        let required_model = required_model(level);
        // The same judgement `jepsen-lite check --model REQUIRED` makes of the history file.
        let request = crate::report::elle::Request {
            models: vec![required_model],
            anomalies: Vec::new(),
        };
        let satisfies_required_model = crate::report::elle::verdict(report, &request).validity
            != crate::report::elle::Validity::Invalid;
        let forbidden_found: Vec<AnomalyKind> = report
            .kinds()
            .into_iter()
            .filter(|k| required_model.forbids(*k))
            .collect();
        let invariant_required = invariant_required(level);
        let invariant_held = invariant_violations.is_empty() || !invariant_required;
        let no_unexpected_errors = unexpected_errors.is_empty();
        Verdict {
            required_model,
            satisfies_required_model,
            forbidden_found,
            invariant_required,
            invariant_held,
            no_unexpected_errors,
            valid: satisfies_required_model && invariant_held && no_unexpected_errors,
        }
    }

    /// `VALID` or `INVALID`.
    pub fn word(&self) -> &'static str {
        if self.valid { "VALID" } else { "INVALID" }
    }

    /// The command's exit status: 0 valid, 1 invalid.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.valid)
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct RunResult {
    /// The configuration.
    pub config: RunConfig,
    /// The history, as read back from its file (client transactions only).
    pub history: History,
    /// The history file and its size.
    pub recorded: RecordedHistory,
    /// The faults injected.
    pub faults: Vec<FaultWindow>,
    /// The checker's report.
    pub report: CheckReport,
    /// The model the isolation level promises.
    pub required: Model,
    /// Violations of the workload's invariant (the bank's total), whether or not required.
    pub invariant_violations: Vec<String>,
    /// Errors no correct database returns (bugs), and nemesis failures.
    pub unexpected_errors: Vec<String>,
    /// Completions by outcome.
    pub counts: OutcomeCounts,
    /// Wall time from the first invocation to the last completion.
    pub elapsed: Duration,
    /// The verdict.
    pub verdict: Verdict,
}

impl RunResult {
    /// Committed transactions per second.
    pub fn throughput(&self) -> f64 {
        self.counts.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The anomaly kinds found that the isolation level forbids.
    pub fn forbidden_found(&self) -> Vec<AnomalyKind> {
        self.verdict.forbidden_found.clone()
    }

    /// The anomaly kinds found that the isolation level allows.
    pub fn allowed_found(&self) -> Vec<AnomalyKind> {
        self.report
            .kinds()
            .into_iter()
            .filter(|k| !self.required.forbids(*k))
            .collect()
    }

    /// The verdict: no anomaly the level forbids, the invariant held where it must, nothing
    /// unexpected happened.
    pub fn valid(&self) -> bool {
        self.verdict.valid
    }
}

/// Runs `config` against a database in directory `db_dir` (created when missing), streaming
/// the history into `out/history.jsonl.zst` (the run folder, created when missing).
pub fn run(config: &RunConfig, db_dir: &Path, out: &Path) -> Result<RunResult, RunError> {
    std::fs::create_dir_all(out).map_err(|source| RunError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let history_path = out.join(HISTORY_FILE);
    let shards = config.shards.max(1);
    if let Some(fault) = config.nemesis.faults.iter().find(|f| f.needs_shards())
        && shards < 2
    {
        return Err(RunError::Config(format!(
            "the {} fault needs a database of several shards (--shards 2 or more)",
            fault.name()
        )));
    }
    let mut cluster = isodb_engine::cluster::ClusterOptions {
        // Faults are noticed, and in-doubt transactions settled, within a run's fault window.
        request_timeout: Duration::from_millis(20),
        decision_deadline: Duration::from_secs(2),
        in_doubt_timeout: Duration::from_millis(500),
        fault_seed: config.seed,
        ..Default::default()
    };
    cluster.resolve_interval = Duration::from_millis(20);
    let options = DatabaseOptions {
        shards: Some(shards),
        cluster,
        durability: if config.sync_commits {
            Durability::Sync
        } else {
            Durability::NoSync
        },
        isolation_level: config.isolation.level(),
        ..DatabaseOptions::default()
    };
    let crash_mode = config
        .crash_mode
        .unwrap_or_else(|| CrashMode::matching(options.durability));
    let node = Node::open(db_dir, options, crash_mode)?;
    let workload = config.workload.build(
        KeySampler::new(config.distribution, config.keys),
        !config.isolation.repeatable_reads(),
    );
    if let Some(mut session) = node.admin_session() {
        workload.setup(&mut session)?;
    }
    // The set-up is not part of the history: make it durable whatever the commits' durability,
    // so a crash can only lose what the clients did.
    node.make_durable()?;
    let recorder = Recorder::create(&history_path).map_err(|source| RunError::Record {
        path: history_path.clone(),
        source,
    })?;
    let unexpected = Mutex::new(Vec::new());
    let started = Instant::now();
    let deadline = started + config.duration;
    let clients = config.clients.max(1);
    let context = ClientContext {
        node: &node,
        recorder: &recorder,
        workload: workload.as_ref(),
        level: config.isolation.level(),
        deadline,
        pacing: config
            .rate
            .filter(|r| *r > 0.0)
            .map(|r| Duration::from_secs_f64(clients as f64 / r)),
        unexpected: &unexpected,
    };
    let progress = progress_bar(config);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients as u64)
            .map(|process| {
                let context = &context;
                let seed = config.seed.wrapping_mul(1_000_003).wrapping_add(process);
                scope.spawn(move || run_client(context, process, seed))
            })
            .collect();
        let nemesis = scope.spawn(|| {
            run_nemesis(&config.nemesis, &node, &recorder, deadline, &unexpected);
        });
        while handles.iter().any(|h| !h.is_finished()) || !nemesis.is_finished() {
            let (ok, fail, info) = recorder.counts();
            let fault = recorder.active_fault().map_or("none", |f| f.name());
            progress.set_position(started.elapsed().as_millis().min(u64::MAX as u128) as u64);
            progress.set_message(format!("ok {ok} fail {fail} info {info} | fault: {fault}"));
            if nemesis.is_finished() && Instant::now() >= deadline {
                node.stop();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let elapsed = started.elapsed();
    progress.finish_and_clear();
    let (recorded, faults) = recorder.finish().map_err(|source| RunError::Record {
        path: history_path.clone(),
        source,
    })?;
    drop(node);

    // The same reading and checking as `jepsen-lite check --model REQUIRED` on the file.
    let history = crate::load::history_file(&recorded.path)?;
    let required = required_model(config.isolation);
    let report = check_with(&history, &CheckOptions::for_models(&[required], &[]));
    let invariant_violations = workload.invariant_violations(&history);
    let counts = count_outcomes(&history);
    let unexpected_errors = unexpected.into_inner().unwrap_or_else(|p| p.into_inner());
    let verdict = Verdict::new(
        config.isolation,
        &report,
        &invariant_violations,
        &unexpected_errors,
    );
    Ok(RunResult {
        config: config.clone(),
        history,
        recorded,
        faults,
        report,
        required,
        invariant_violations,
        unexpected_errors,
        counts,
        elapsed,
        verdict,
    })
}

fn count_outcomes(history: &History) -> OutcomeCounts {
    let mut counts = OutcomeCounts::default();
    for txn in &history.txns {
        match txn.outcome {
            crate::history::Outcome::Ok => counts.ok += 1,
            crate::history::Outcome::Fail => counts.fail += 1,
            crate::history::Outcome::Info => counts.info += 1,
        }
    }
    counts
}

fn progress_bar(config: &RunConfig) -> indicatif::ProgressBar {
    if !config.progress {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(config.duration.as_millis() as u64);
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30} {percent:>3}% {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
