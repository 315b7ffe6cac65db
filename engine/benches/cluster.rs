//! The shards benchmark: bank transfers on a database of one shard beside
//! a database of 4 shards, where a transfer's two accounts are on one shard
//! (a one-phase commit) or on two (two-phase commit), with synced commits.
//!
//! ```text
//! cargo bench -p isodb-engine --bench cluster                  # about 36 s
//! ISODB_BENCH_SCALE=0.2 cargo bench -p isodb-engine --bench cluster
//! cargo bench -p isodb-engine --bench cluster -- cross         # cells whose name contains it
//! cargo test -p isodb-engine --bench cluster                   # smoke test
//! ```
//!
//! | cell | database | a transfer |
//! |------|----------|------------|
//! | unsharded | 1 shard | read two random accounts of 1,000, move 1..=100 between them, commit (one fsync) |
//! | one-shard | 4 shards | the same, both accounts on one random shard (one fsync, the one-phase path) |
//! | cross-shard | 4 shards | the same, the accounts on two different shards (prepares in parallel, then the decision: two fsync rounds) |
//!
//! Each runs at SERIALIZABLE on 1 and 2 threads for 3 s times
//! `ISODB_BENCH_SCALE`, on a fresh database, loaded untimed; 40001 and 40P01
//! are rolled back and retried (the abort rate is aborted attempts / all
//! attempts). Afterwards the balances must sum to the initial total. The
//! table gives transfers per second, p50 and p99 latency of a committed
//! transfer (retries included) and the ratios to the unsharded database at
//! the same thread count; targets: one-shard >= 0.9x, cross-shard >= 0.5x.
//! Outputs: the table on stdout, progress on stderr,
//! `<target>/isodb-bench/cluster.json` and `cluster.svg`.

#[allow(dead_code)]
#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::chart::{BarChart, Group};
use common::report::{Target, align, targets_text, thousands};
use common::run::{BenchResult, RunConfig, SplitMix64};
use isodb_engine::cluster::{Cluster, ClusterOptions, ClusterTransaction};
use isodb_engine::storage::{Durability, StoreOptions};
use isodb_engine::txn::{EngineOptions, IsolationLevel, Keyspace};
use serde_json::json;

const ACCOUNTS_PER_SHARD: u64 = 250;
const INITIAL: i64 = 1_000;
const CELL_SECONDS: f64 = 3.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Unsharded,
    OneShard,
    CrossShard,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Unsharded, Kind::OneShard, Kind::CrossShard];

    fn name(self) -> &'static str {
        match self {
            Kind::Unsharded => "unsharded",
            Kind::OneShard => "one-shard",
            Kind::CrossShard => "cross-shard",
        }
    }

    fn shards(self) -> u16 {
        match self {
            Kind::Unsharded => 1,
            _ => 4,
        }
    }
}

struct Outcome {
    kind: Kind,
    threads: usize,
    rate: f64,
    p50: Duration,
    p99: Duration,
    abort_rate: f64,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cluster benchmark failed: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> BenchResult<()> {
    let config = RunConfig::from_env()?;
    let out_dir = config.out_dir()?;
    let duration = Duration::from_secs_f64(CELL_SECONDS * config.factor);
    let cells: Vec<(Kind, usize)> = [1usize, 2]
        .into_iter()
        .flat_map(|threads| Kind::ALL.into_iter().map(move |kind| (kind, threads)))
        .filter(|(kind, threads)| config.selects(&format!("{} {threads}", kind.name())))
        .collect();
    eprintln!(
        "cluster benchmark: scale {} ({:.2} s per cell, {} cells)",
        config.factor,
        duration.as_secs_f64(),
        cells.len()
    );
    let mut outcomes = Vec::new();
    for (kind, threads) in cells {
        let dir = tempfile::Builder::new()
            .prefix(&format!("cluster-{}-", kind.name()))
            .tempdir_in(&out_dir)?;
        let outcome = run_cell(dir.path(), kind, threads, duration)
            .map_err(|e| format!("{} on {threads} threads: {e}", kind.name()))?;
        eprintln!(
            "[{}] {threads} thread(s): {} transfers/s, p50 {:.2} ms, p99 {:.2} ms, abort rate {:.2}%; checked",
            kind.name(),
            thousands(outcome.rate),
            outcome.p50.as_secs_f64() * 1e3,
            outcome.p99.as_secs_f64() * 1e3,
            100.0 * outcome.abort_rate
        );
        outcomes.push(outcome);
    }
    print!("{}", table(&outcomes));
    common::run::write_outputs(
        &out_dir,
        "cluster",
        &to_json(&outcomes, config.factor),
        &chart(&outcomes).svg(),
    )
}

fn ratio(outcomes: &[Outcome], kind: Kind, threads: usize) -> Option<f64> {
    let find = |k: Kind| {
        outcomes
            .iter()
            .find(|o| o.kind == k && o.threads == threads)
            .map(|o| o.rate)
    };
    Some(find(kind)? / find(Kind::Unsharded)?)
}

fn table(outcomes: &[Outcome]) -> String {
    let mut lines = vec![vec![
        "cell".to_string(),
        "threads".to_string(),
        "transfers/s".to_string(),
        "p50 ms".to_string(),
        "p99 ms".to_string(),
        "aborts".to_string(),
        "vs unsharded".to_string(),
    ]];
    for o in outcomes {
        lines.push(vec![
            o.kind.name().to_string(),
            o.threads.to_string(),
            thousands(o.rate),
            format!("{:.2}", o.p50.as_secs_f64() * 1e3),
            format!("{:.2}", o.p99.as_secs_f64() * 1e3),
            format!("{:.2}%", 100.0 * o.abort_rate),
            ratio(outcomes, o.kind, o.threads).map_or("-".into(), |r| format!("{r:.2}x")),
        ]);
    }
    let mut targets = Vec::new();
    for threads in [1, 2] {
        targets.push(Target::at_least(
            format!("one-shard, {threads} thread(s) >= 0.9x unsharded"),
            ratio(outcomes, Kind::OneShard, threads),
            0.9,
        ));
        targets.push(Target::at_least(
            format!("cross-shard, {threads} thread(s) >= 0.5x unsharded"),
            ratio(outcomes, Kind::CrossShard, threads),
            0.5,
        ));
    }
    format!("\n{}\n{}", align(&lines, 2), targets_text(&targets))
}

fn to_json(outcomes: &[Outcome], scale: f64) -> serde_json::Value {
    json!({
        "scale": scale,
        "rows": outcomes.iter().map(|o| json!({
            "cell": o.kind.name(),
            "threads": o.threads,
            "transfers_per_second": o.rate,
            "p50_ms": o.p50.as_secs_f64() * 1e3,
            "p99_ms": o.p99.as_secs_f64() * 1e3,
            "abort_rate": o.abort_rate,
            "ratio_vs_unsharded": ratio(outcomes, o.kind, o.threads),
        })).collect::<Vec<_>>(),
    })
}

fn chart(outcomes: &[Outcome]) -> BarChart {
    BarChart {
        title: "Bank transfers, synced commits, SERIALIZABLE: 1 shard vs 4 shards".into(),
        series: Kind::ALL.iter().map(|k| k.name().to_string()).collect(),
        groups: [1usize, 2]
            .iter()
            .map(|&threads| Group {
                label: format!("{threads} thread(s)"),
                unit: "transfers/s",
                values: Kind::ALL
                    .iter()
                    .map(|&k| {
                        outcomes
                            .iter()
                            .find(|o| o.kind == k && o.threads == threads)
                            .map(|o| o.rate)
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The account keyspace on each shard, and account `n`'s place.
struct Bank {
    keyspaces: Vec<Keyspace>,
}

impl Bank {
    fn shards(&self) -> u64 {
        self.keyspaces.len() as u64
    }

    /// Account `index` of shard `shard`.
    fn key(&self, shard: u64, index: u64) -> (Keyspace, [u8; 8]) {
        (
            self.keyspaces[shard as usize],
            (shard * 1_000_000 + index).to_be_bytes(),
        )
    }

    /// Two distinct accounts for a transfer of `kind`.
    fn pick(&self, kind: Kind, rng: &mut SplitMix64) -> [(Keyspace, [u8; 8]); 2] {
        let shards = self.shards();
        let accounts = ACCOUNTS_PER_SHARD * 4 / shards;
        let a = rng.below(accounts);
        let mut b = rng.below(accounts - 1);
        if b >= a {
            b += 1;
        }
        let (sa, sb) = match kind {
            Kind::Unsharded => (0, 0),
            Kind::OneShard => {
                let s = rng.below(shards);
                (s, s)
            }
            Kind::CrossShard => {
                let s = rng.below(shards);
                (s, (s + 1 + rng.below(shards - 1)) % shards)
            }
        };
        [self.key(sa, a), self.key(sb, b)]
    }
}

fn balance(
    txn: &mut ClusterTransaction,
    account: (Keyspace, [u8; 8]),
) -> isodb_engine::Result<i64> {
    let bytes = txn
        .get(account.0, &account.1)?
        .ok_or_else(|| isodb_engine::Error::InvalidArgument("an account vanished".into()))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    text.parse::<i64>()
        .map_err(|_| isodb_engine::Error::InvalidArgument(format!("bad balance {text:?}")))
}

fn run_cell(dir: &Path, kind: Kind, threads: usize, duration: Duration) -> BenchResult<Outcome> {
    let cluster = Cluster::open(
        dir,
        ClusterOptions {
            engine: EngineOptions {
                store: StoreOptions {
                    durability: Durability::Sync,
                    ..StoreOptions::default()
                },
                lock_timeout: None,
            },
            shards: Some(kind.shards()),
            ..ClusterOptions::default()
        },
    )?;
    let bank = Arc::new(Bank {
        keyspaces: cluster.keyspace("accounts")?,
    });
    let per_shard = ACCOUNTS_PER_SHARD * 4 / bank.shards();
    let mut load = cluster.begin(IsolationLevel::Serializable);
    for shard in 0..bank.shards() {
        for index in 0..per_shard {
            let (ks, key) = bank.key(shard, index);
            load.put(ks, &key, INITIAL.to_string().as_bytes())?;
        }
    }
    load.commit()?;
    let total = INITIAL * (per_shard * bank.shards()) as i64;

    let stop = Arc::new(AtomicBool::new(false));
    let aborts = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (cluster, bank, stop, aborts) = (
                cluster.clone(),
                Arc::clone(&bank),
                Arc::clone(&stop),
                Arc::clone(&aborts),
            );
            std::thread::spawn(move || -> isodb_engine::Result<Vec<Duration>> {
                let mut rng = SplitMix64::new(0xC1A5 + t as u64);
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let [from, to] = bank.pick(kind, &mut rng);
                    let amount = 1 + rng.below(100) as i64;
                    let begun = Instant::now();
                    loop {
                        let mut txn = cluster.begin(IsolationLevel::Serializable);
                        let attempt = (|| {
                            let a = balance(&mut txn, from)?;
                            let b = balance(&mut txn, to)?;
                            txn.put(from.0, &from.1, (a - amount).to_string().as_bytes())?;
                            txn.put(to.0, &to.1, (b + amount).to_string().as_bytes())?;
                            txn.commit()
                        })();
                        match attempt {
                            Ok(_) => break,
                            Err(e) if e.is_retryable() => {
                                aborts.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    latencies.push(begun.elapsed());
                }
                Ok(latencies)
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.join().map_err(|_| "a worker panicked")??);
    }
    let elapsed = started.elapsed();
    // Check: every committed transfer kept the total.
    let mut check = cluster.begin(IsolationLevel::RepeatableRead);
    let mut sum = 0;
    for shard in 0..bank.shards() {
        for index in 0..per_shard {
            sum += balance(&mut check, bank.key(shard, index))?;
        }
    }
    if sum != total {
        return Err(format!("balances sum to {sum}, not {total}").into());
    }
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let commits = latencies.len() as f64;
    let aborted = aborts.load(Ordering::Relaxed) as f64;
    Ok(Outcome {
        kind,
        threads,
        rate: commits / elapsed.as_secs_f64(),
        p50: at(0.5),
        p99: at(0.99),
        abort_rate: if commits + aborted > 0.0 {
            aborted / (commits + aborted)
        } else {
            0.0
        },
    })
}
