//! The workloads on isodb's transaction engine: one fresh engine per cell,
//! loaded untimed, then the timed threads, then an untimed check of
//! everything they wrote.
//!
//! How each level reads in the transfer: REPEATABLE READ and SERIALIZABLE
//! read with plain `get` (a concurrent transfer of the same account is
//! caught by first-updater-wins or SSI and retried). READ COMMITTED and READ
//! UNCOMMITTED allow lost updates by definition, so a correct transfer there
//! must lock what it reads: `get_for_update` (`SELECT ... FOR UPDATE`),
//! which is how an application writes it at those levels. The uncontended
//! read-modify-write uses plain `get` at every level: no other thread ever
//! writes its keys.

use std::path::Path;
use std::time::{Duration, Instant};

use isodb_engine::Error;
use isodb_engine::storage::StoreOptions;
use isodb_engine::txn::{Engine, EngineOptions, IsolationLevel, Keyspace, Transaction};

use crate::common::run::{BenchResult, SplitMix64};
use crate::workload::{
    ACCOUNTS, Account, Cell, Outcome, RMW_KEYS_PER_THREAD, Tally, Transfer, TxnWorkload, run_timed,
    verify_bank,
};

/// How long a transaction waits for a row lock before 55P03 (then it is
/// retried like any abort); deadlocks are detected without waiting.
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// Seed of the transfers; thread `i` uses `TRANSFER_SEED + i`.
const TRANSFER_SEED: u64 = 0xBA4C_7EA5;

/// Runs `cell` at `level` on a fresh engine in `dir` and checks the result.
pub fn run_cell(
    dir: &Path,
    level: IsolationLevel,
    cell: Cell,
    duration: Duration,
) -> BenchResult<Outcome> {
    let engine = Engine::open(
        dir,
        EngineOptions {
            store: StoreOptions {
                durability: cell.durability.isodb(),
                ..StoreOptions::default()
            },
            lock_timeout: Some(LOCK_TIMEOUT),
        },
    )?;
    match cell.workload {
        TxnWorkload::Rmw => rmw(&engine, level, cell.threads, duration),
        TxnWorkload::Transfer => transfer(&engine, level, cell.threads, duration),
    }
}

/// Why one attempt of a transaction failed.
enum Failure {
    /// The engine refused: retry if the error says so.
    Engine(Error),
    /// The data is not what the workload wrote: stop the run.
    Broken(String),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Engine(error)
    }
}

/// Runs `body` in a transaction at `level` and commits, retrying after a
/// retryable error (each failed attempt counted in `tally`).
fn with_retry(
    engine: &Engine,
    level: IsolationLevel,
    tally: &mut Tally,
    mut body: impl FnMut(&mut Transaction) -> Result<(), Failure>,
) -> Result<(), String> {
    loop {
        let mut txn = engine.begin(level);
        let result = match body(&mut txn) {
            Ok(()) => txn.commit().map(drop).map_err(Failure::Engine),
            Err(failure) => {
                // Rolling back an aborted transaction is allowed and cheap.
                let _ = txn.rollback();
                Err(failure)
            }
        };
        match result {
            Ok(()) => {
                tally.commits += 1;
                return Ok(());
            }
            Err(Failure::Engine(e)) if e.is_retryable() => tally.abort(e.sqlstate()),
            Err(Failure::Engine(e)) => return Err(format!("{e} (SQLSTATE {})", e.sqlstate())),
            Err(Failure::Broken(why)) => return Err(why),
        }
    }
}

fn rmw_key(thread: usize, i: u64) -> Vec<u8> {
    format!("thread-{thread:02}-key-{i:05}").into_bytes()
}

fn decode_counter(value: Option<Vec<u8>>) -> Result<u64, Failure> {
    value
        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| Failure::Broken("a counter is missing or malformed".into()))
}

/// Uncontended read-modify-write: thread `t` cycles through its own
/// [`RMW_KEYS_PER_THREAD`] counters; afterwards every counter must equal
/// the number of increments its thread committed to it.
fn rmw(
    engine: &Engine,
    level: IsolationLevel,
    threads: usize,
    duration: Duration,
) -> BenchResult<Outcome> {
    let ks = engine.keyspace("counters")?;
    let mut load = engine.begin(IsolationLevel::Serializable);
    for thread in 0..threads {
        for i in 0..RMW_KEYS_PER_THREAD {
            load.put(ks, &rmw_key(thread, i), &0u64.to_be_bytes())?;
        }
    }
    load.commit()?;

    let expected = std::sync::Mutex::new(vec![Vec::new(); threads]);
    let outcome = run_timed(
        threads,
        duration,
        |_| Ok(()),
        |thread, (), deadline| {
            let mut tally = Tally::default();
            let mut counts = vec![0u64; RMW_KEYS_PER_THREAD as usize];
            let keys: Vec<Vec<u8>> = (0..RMW_KEYS_PER_THREAD)
                .map(|i| rmw_key(thread, i))
                .collect();
            for i in (0..keys.len()).cycle() {
                let key = &keys[i];
                with_retry(engine, level, &mut tally, |txn| {
                    let value = decode_counter(txn.get(ks, key)?)?;
                    txn.put(ks, key, &(value + 1).to_be_bytes())?;
                    Ok(())
                })?;
                counts[i] += 1;
                if Instant::now() >= deadline {
                    break;
                }
            }
            if let Ok(mut expected) = expected.lock() {
                expected[thread] = counts;
            }
            Ok(tally)
        },
    )?;

    let expected = expected
        .into_inner()
        .map_err(|_| "a worker panicked holding the counts")?;
    let mut check = engine.begin(IsolationLevel::RepeatableRead);
    let mut total = 0;
    for (thread, counts) in expected.iter().enumerate() {
        for (i, &count) in counts.iter().enumerate() {
            let value = decode_counter(check.get(ks, &rmw_key(thread, i as u64))?)
                .map_err(|_| format!("rmw: counter {i} of thread {thread} is malformed"))?;
            if value != count {
                return Err(format!(
                    "rmw: counter {i} of thread {thread} is {value}, but {count} increments committed"
                )
                .into());
            }
            total += value;
        }
    }
    check.commit()?;
    if total != outcome.tally.commits {
        return Err(format!(
            "rmw: counters sum to {total}, the threads counted {} commits",
            outcome.tally.commits
        )
        .into());
    }
    Ok(outcome)
}

fn account_key(i: u64) -> Vec<u8> {
    format!("account-{i:04}").into_bytes()
}

/// Reads an account for a transfer, locking it at the levels that allow
/// lost updates (see the module doc).
fn read_account(txn: &mut Transaction, ks: Keyspace, i: u64) -> Result<Account, Failure> {
    let key = account_key(i);
    let value = if txn.level().snapshot_per_statement() {
        txn.get_for_update(ks, &key)?
    } else {
        txn.get(ks, &key)?
    };
    value
        .as_deref()
        .and_then(Account::decode)
        .ok_or_else(|| Failure::Broken(format!("transfer: account {i} is missing or malformed")))
}

/// Bank transfers over [`ACCOUNTS`] accounts; afterwards the total and the
/// number of transfers are checked.
fn transfer(
    engine: &Engine,
    level: IsolationLevel,
    threads: usize,
    duration: Duration,
) -> BenchResult<Outcome> {
    let ks = engine.keyspace("accounts")?;
    let mut load = engine.begin(IsolationLevel::Serializable);
    for i in 0..ACCOUNTS {
        load.put(ks, &account_key(i), &Account::INITIAL.encode())?;
    }
    load.commit()?;

    let outcome = run_timed(
        threads,
        duration,
        |_| Ok(()),
        |thread, (), deadline| {
            let mut tally = Tally::default();
            let mut rng = SplitMix64::new(TRANSFER_SEED + thread as u64);
            loop {
                let transfer = Transfer::random(&mut rng);
                with_retry(engine, level, &mut tally, |txn| {
                    let mut from = read_account(txn, ks, transfer.from)?;
                    let mut to = read_account(txn, ks, transfer.to)?;
                    from.balance -= transfer.amount;
                    to.balance += transfer.amount;
                    from.touches += 1;
                    to.touches += 1;
                    txn.put(ks, &account_key(transfer.from), &from.encode())?;
                    txn.put(ks, &account_key(transfer.to), &to.encode())?;
                    Ok(())
                })?;
                if Instant::now() >= deadline {
                    break;
                }
            }
            Ok(tally)
        },
    )?;

    let mut check = engine.begin(IsolationLevel::RepeatableRead);
    let mut accounts = Vec::with_capacity(ACCOUNTS as usize);
    for i in 0..ACCOUNTS {
        match read_account(&mut check, ks, i) {
            Ok(account) => accounts.push(account),
            Err(Failure::Engine(e)) => return Err(e.into()),
            Err(Failure::Broken(why)) => return Err(why.into()),
        }
    }
    check.commit()?;
    verify_bank(&accounts, outcome.tally.commits)?;
    Ok(outcome)
}
