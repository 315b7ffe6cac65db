//! The transaction workloads, the grid of cells they run in, and the timed
//! multi-threaded driver every system shares.
//!
//! A **cell** is one workload at one thread count and one durability; every
//! system runs every cell it supports, back to back, so the figures compared
//! in a row were measured minutes (not hours) apart on a noisy machine.
//!
//! ```text
//!             │ isodb-read-uncommitted │ … │ isodb-serializable │ sqlite
//!  rmw 1t sync│         txn/s          │   │       txn/s        │   —
//!  transfer 2t│         txn/s          │   │       txn/s        │ txn/s
//! ```
//!
//! Each thread runs transactions until its deadline (the round's duration
//! after all threads have been set up and released together), always at
//! least one. A transaction that fails with a retryable error (40001,
//! 40P01, 55P03; `SQLITE_BUSY` for SQLite) is rolled back and retried with
//! the same inputs; every failed attempt counts as an abort, so the abort
//! rate is aborted attempts / all attempts.
//!
//! Accounts of the transfer workload are 16 bytes: the balance (`i64`) and
//! the number of committed transfers that touched the account (`u64`), both
//! big-endian. Every transfer bumps both accounts' counters, so after a run
//! the counters must sum to twice the transfers the threads counted, and the
//! balances to the initial total:
//!
//! ```text
//!  account 17: [ balance: 00 00 00 00 00 00 03 b6 | touches: 00 .. 00 0c ]
//! ```

use std::collections::BTreeMap;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use isodb_engine::txn::IsolationLevel;

use crate::common::durability::Mode;
use crate::common::run::BenchResult;

/// Accounts of the bank.
pub const ACCOUNTS: u64 = 1_000;
/// Balance of every account before a run.
pub const INITIAL_BALANCE: i64 = 1_000;
/// A transfer moves `1..=MAX_AMOUNT`; balances may go negative (no
/// overdraft check: every transfer writes, so every level does the same work).
pub const MAX_AMOUNT: u64 = 100;
/// Keys each thread owns in the uncontended read-modify-write workload.
pub const RMW_KEYS_PER_THREAD: u64 = 1_000;
/// Duration of one cell (all its rounds) at `ISODB_BENCH_SCALE=1`.
pub const CELL_SECONDS: f64 = 2.0;
/// Rounds of every cell; the figure is the median round.
pub const ROUNDS: usize = 3;
/// Thread counts of every cell.
pub const THREADS: [usize; 2] = [1, 2];

/// A transaction workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnWorkload {
    /// Uncontended read-modify-write: each thread owns disjoint keys; a
    /// transaction reads one, writes it + 1, commits.
    Rmw,
    /// Bank transfer: read two random accounts, move a random amount, commit.
    Transfer,
}

impl TxnWorkload {
    /// Both, in table order.
    pub const ALL: [TxnWorkload; 2] = [TxnWorkload::Rmw, TxnWorkload::Transfer];

    /// The name in the table and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            TxnWorkload::Rmw => "rmw",
            TxnWorkload::Transfer => "transfer",
        }
    }
}

/// A system under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemKind {
    /// isodb's transaction engine at one isolation level.
    Isodb(IsolationLevel),
    /// SQLite (bundled) in WAL mode: transfers only.
    #[cfg(feature = "peers")]
    Sqlite,
}

impl SystemKind {
    /// The systems this build compares: isodb at every level, weakest first.
    pub fn all() -> Vec<SystemKind> {
        let systems = IsolationLevel::ALL.into_iter().map(SystemKind::Isodb);
        #[cfg(feature = "peers")]
        let systems = systems.chain([SystemKind::Sqlite]);
        systems.collect()
    }

    /// The name in the table and the JSON, e.g. `isodb-serializable`.
    pub fn name(self) -> &'static str {
        match self {
            SystemKind::Isodb(IsolationLevel::ReadUncommitted) => "isodb-read-uncommitted",
            SystemKind::Isodb(IsolationLevel::ReadCommitted) => "isodb-read-committed",
            SystemKind::Isodb(IsolationLevel::RepeatableRead) => "isodb-repeatable-read",
            SystemKind::Isodb(IsolationLevel::Serializable) => "isodb-serializable",
            #[cfg(feature = "peers")]
            SystemKind::Sqlite => "sqlite",
        }
    }

    /// True when the system runs `workload` (SQLite runs transfers only).
    pub fn runs(self, workload: TxnWorkload) -> bool {
        matches!(self, SystemKind::Isodb(_)) || workload == TxnWorkload::Transfer
    }
}

/// One workload at one thread count and durability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    /// The workload.
    pub workload: TxnWorkload,
    /// Threads running it, each with its own transactions (or connection).
    pub threads: usize,
    /// How durable a commit is.
    pub durability: Mode,
}

impl Cell {
    /// Every cell, in table order: synced first, then by workload and threads.
    pub fn all() -> Vec<Cell> {
        let mut cells = Vec::new();
        for durability in [Mode::Sync, Mode::NoSync] {
            for workload in TxnWorkload::ALL {
                for threads in THREADS {
                    cells.push(Cell {
                        workload,
                        threads,
                        durability,
                    });
                }
            }
        }
        cells
    }

    /// The key of the cell in the JSON, e.g. `transfer_2t_sync`.
    pub fn key(self) -> String {
        format!(
            "{}_{}t_{}",
            self.workload.name(),
            self.threads,
            self.durability.name()
        )
    }

    /// The label in progress lines and the chart, e.g. `transfer 2t sync`.
    pub fn label(self) -> String {
        format!(
            "{} {}t {}",
            self.workload.name(),
            self.threads,
            self.durability.name()
        )
    }
}

/// What one thread (or a whole cell) did.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Committed transactions.
    pub commits: u64,
    /// Failed attempts, by reason (SQLSTATE, or `BUSY` for SQLite).
    pub aborts: BTreeMap<&'static str, u64>,
}

impl Tally {
    /// Counts one failed attempt.
    pub fn abort(&mut self, reason: &'static str) {
        *self.aborts.entry(reason).or_default() += 1;
    }

    /// All failed attempts.
    pub fn aborted(&self) -> u64 {
        self.aborts.values().sum()
    }

    /// Adds another thread's tally.
    pub fn merge(&mut self, other: &Tally) {
        self.commits += other.commits;
        for (reason, count) in &other.aborts {
            *self.aborts.entry(reason).or_default() += count;
        }
    }
}

/// A measured round of a cell: what the threads did and the wall-clock time it took.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The threads' tallies, merged.
    pub tally: Tally,
    /// From the release of the threads until the last one finished.
    pub elapsed: Duration,
}

impl Outcome {
    /// Committed transactions per second.
    pub fn rate(&self) -> f64 {
        self.tally.commits as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// All attempts: commits plus aborts.
    pub fn attempts(&self) -> u64 {
        self.tally.commits + self.tally.aborted()
    }

    /// Aborted attempts / all attempts.
    pub fn abort_rate(&self) -> f64 {
        self.tally.aborted() as f64 / self.attempts().max(1) as f64
    }
}

/// An account of the transfer workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Account {
    /// Its balance.
    pub balance: i64,
    /// Committed transfers that touched it.
    pub touches: u64,
}

impl Account {
    /// The initial state.
    pub const INITIAL: Account = Account {
        balance: INITIAL_BALANCE,
        touches: 0,
    };

    /// The 16-byte encoding described in the module doc.
    pub fn encode(self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.balance.to_be_bytes());
        bytes[8..].copy_from_slice(&self.touches.to_be_bytes());
        bytes
    }

    /// Decodes [`Account::encode`]'s bytes; `None` if they are not 16 long.
    pub fn decode(bytes: &[u8]) -> Option<Account> {
        let bytes: [u8; 16] = bytes.try_into().ok()?;
        let (balance, touches) = bytes.split_at(8);
        Some(Account {
            balance: i64::from_be_bytes(balance.try_into().ok()?),
            touches: u64::from_be_bytes(touches.try_into().ok()?),
        })
    }
}

/// One transfer: `amount` from account `from` to account `to` (`from != to`).
#[derive(Clone, Copy, Debug)]
pub struct Transfer {
    /// The debited account.
    pub from: u64,
    /// The credited account.
    pub to: u64,
    /// The amount moved.
    pub amount: i64,
}

impl Transfer {
    /// A random transfer between two distinct accounts.
    pub fn random(rng: &mut crate::common::run::SplitMix64) -> Transfer {
        let from = rng.below(ACCOUNTS);
        let mut to = rng.below(ACCOUNTS - 1);
        if to >= from {
            to += 1;
        }
        Transfer {
            from,
            to,
            amount: 1 + rng.below(MAX_AMOUNT) as i64,
        }
    }
}

/// Checks a bank after a run: the balances must still sum to the initial
/// total and the touch counters to twice the transfers committed.
pub fn verify_bank(accounts: &[Account], commits: u64) -> BenchResult<()> {
    if accounts.len() as u64 != ACCOUNTS {
        return Err(format!("the bank has {} accounts, not {ACCOUNTS}", accounts.len()).into());
    }
    let total: i64 = accounts.iter().map(|a| a.balance).sum();
    let touches: u64 = accounts.iter().map(|a| a.touches).sum();
    let expected = ACCOUNTS as i64 * INITIAL_BALANCE;
    if total != expected {
        return Err(format!("the balances sum to {total}, not {expected}: money was lost").into());
    }
    if touches != 2 * commits {
        return Err(format!(
            "the accounts record {} transfers, the threads counted {commits}",
            touches as f64 / 2.0
        )
        .into());
    }
    Ok(())
}

/// Runs `threads` workers for `duration`. Each first calls `prepare` with
/// its index (open a connection, say), then all are released together and
/// each calls `run` with its prepared state and its deadline. Returns their
/// tallies merged and the wall-clock time from the release until the last
/// worker finished.
pub fn run_timed<W>(
    threads: usize,
    duration: Duration,
    prepare: impl Fn(usize) -> Result<W, String> + Sync,
    run: impl Fn(usize, W, Instant) -> Result<Tally, String> + Sync,
) -> BenchResult<Outcome> {
    let gate = Barrier::new(threads + 1);
    let (results, elapsed) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|index| {
                let (gate, prepare, run) = (&gate, &prepare, &run);
                scope.spawn(move || {
                    let prepared = prepare(index);
                    // Always reach the gate, even after a failed prepare, so
                    // nobody waits forever.
                    gate.wait();
                    let deadline = Instant::now() + duration;
                    prepared.and_then(|state| run(index, state, deadline))
                })
            })
            .collect();
        gate.wait();
        let start = Instant::now();
        let results: Vec<Result<Tally, String>> = workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err("a worker thread panicked".to_string()))
            })
            .collect();
        (results, start.elapsed())
    });
    let mut tally = Tally::default();
    for result in results {
        tally.merge(&result?);
    }
    Ok(Outcome { tally, elapsed })
}
