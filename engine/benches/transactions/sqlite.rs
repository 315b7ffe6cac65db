//! The transfer workload on SQLite (feature `peers`), with the same
//! durability as isodb's row (see `common/durability.rs`: `synchronous=FULL`
//! for sync, `OFF` for no-sync, always WAL mode) and a page cache as large
//! as isodb's block cache.
//!
//! One table, `accounts (id INTEGER PRIMARY KEY, balance, touches)`. Every
//! thread has its own connection; a transfer is
//!
//! ```text
//! BEGIN IMMEDIATE                         -- take the single writer lock now
//! SELECT balance, touches FROM accounts WHERE id = :from
//! SELECT balance, touches FROM accounts WHERE id = :to
//! UPDATE accounts SET balance = ?, touches = ? WHERE id = :from
//! UPDATE accounts SET balance = ?, touches = ? WHERE id = :to
//! COMMIT
//! ```
//!
//! `BEGIN IMMEDIATE` makes SQLite's one writer explicit: a second connection
//! waits in SQLite's busy handler (up to [`BUSY_TIMEOUT`]); if it still gets
//! `SQLITE_BUSY` (or `SQLITE_LOCKED`) the attempt is rolled back, counted as
//! an abort (`BUSY`) and retried, like a 40001 in isodb.

use std::path::Path;
use std::time::{Duration, Instant};

use isodb_engine::storage::StoreOptions;
use rusqlite::{Connection, ErrorCode, Statement};

use crate::common::durability::Mode;
use crate::common::run::{BenchResult, SplitMix64};
use crate::common::sqlite;
use crate::workload::{ACCOUNTS, Account, Cell, Outcome, Tally, Transfer, run_timed, verify_bank};

/// How long a connection waits for the writer lock before `SQLITE_BUSY`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(1);
/// The same transfers as isodb's: thread `i` uses `TRANSFER_SEED + i`.
const TRANSFER_SEED: u64 = 0xBA4C_7EA5;

fn connect(path: &Path, durability: Mode) -> BenchResult<Connection> {
    let cache = StoreOptions::default().block_cache_size;
    sqlite::open(path, durability, cache, BUSY_TIMEOUT)
}

/// Runs the transfer `cell` on a fresh SQLite database in `dir` and checks
/// the bank afterwards.
pub fn run_transfer(dir: &Path, cell: Cell, duration: Duration) -> BenchResult<Outcome> {
    let path = dir.join("bank.sqlite");
    let setup = connect(&path, cell.durability)?;
    setup.execute_batch(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, touches INTEGER NOT NULL)",
    )?;
    setup.execute_batch("BEGIN")?;
    {
        let mut insert =
            setup.prepare("INSERT INTO accounts (id, balance, touches) VALUES (?1, ?2, ?3)")?;
        for i in 0..ACCOUNTS {
            insert.execute((i as i64, Account::INITIAL.balance, 0i64))?;
        }
    }
    setup.execute_batch("COMMIT")?;

    let outcome = run_timed(
        cell.threads,
        duration,
        |_| connect(&path, cell.durability).map_err(|e| e.to_string()),
        |thread, conn, deadline| transfers(&conn, thread, deadline).map_err(|e| e.to_string()),
    )?;

    let mut select = setup.prepare("SELECT balance, touches FROM accounts ORDER BY id")?;
    let accounts = select
        .query_map([], |row| {
            Ok(Account {
                balance: row.get(0)?,
                touches: row.get::<_, i64>(1)? as u64,
            })
        })?
        .collect::<rusqlite::Result<Vec<Account>>>()?;
    verify_bank(&accounts, outcome.tally.commits)?;
    Ok(outcome)
}

/// The statements of one transfer, prepared once per connection.
struct TransferStatements<'c> {
    conn: &'c Connection,
    begin: Statement<'c>,
    select: Statement<'c>,
    update: Statement<'c>,
    commit: Statement<'c>,
}

impl<'c> TransferStatements<'c> {
    fn prepare(conn: &'c Connection) -> rusqlite::Result<Self> {
        Ok(TransferStatements {
            conn,
            begin: conn.prepare("BEGIN IMMEDIATE")?,
            select: conn.prepare("SELECT balance, touches FROM accounts WHERE id = ?1")?,
            update: conn.prepare("UPDATE accounts SET balance = ?1, touches = ?2 WHERE id = ?3")?,
            commit: conn.prepare("COMMIT")?,
        })
    }

    fn read(&mut self, id: u64) -> rusqlite::Result<Account> {
        self.select.query_row([id as i64], |row| {
            Ok(Account {
                balance: row.get(0)?,
                touches: row.get::<_, i64>(1)? as u64,
            })
        })
    }

    fn write(&mut self, id: u64, account: Account) -> rusqlite::Result<()> {
        self.update
            .execute((account.balance, account.touches as i64, id as i64))?;
        Ok(())
    }

    /// One attempt of `transfer`, from `BEGIN IMMEDIATE` to `COMMIT`.
    fn transfer_once(&mut self, transfer: Transfer) -> rusqlite::Result<()> {
        self.begin.execute([])?;
        let mut from = self.read(transfer.from)?;
        let mut to = self.read(transfer.to)?;
        from.balance -= transfer.amount;
        to.balance += transfer.amount;
        from.touches += 1;
        to.touches += 1;
        self.write(transfer.from, from)?;
        self.write(transfer.to, to)?;
        self.commit.execute([])?;
        Ok(())
    }
}

/// One thread's loop of transfers until `deadline` (at least one).
fn transfers(conn: &Connection, thread: usize, deadline: Instant) -> rusqlite::Result<Tally> {
    let mut statements = TransferStatements::prepare(conn)?;
    let mut tally = Tally::default();
    let mut rng = SplitMix64::new(TRANSFER_SEED + thread as u64);
    loop {
        let transfer = Transfer::random(&mut rng);
        loop {
            match statements.transfer_once(transfer) {
                Ok(()) => {
                    tally.commits += 1;
                    break;
                }
                Err(e) if is_busy(&e) => {
                    if !statements.conn.is_autocommit() {
                        statements.conn.execute_batch("ROLLBACK")?;
                    }
                    tally.abort("BUSY");
                }
                Err(e) => return Err(e),
            }
        }
        if Instant::now() >= deadline {
            return Ok(tally);
        }
    }
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}
