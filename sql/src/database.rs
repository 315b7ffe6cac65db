//! [`Database`]: an open isodb database, shared by every thread that uses
//! it, and its options.
//!
//! A `Database` is a cheap handle (`Clone + Send + Sync`) on the engine's
//! [`Cluster`] (one shard, or several: [`DatabaseOptions::shards`]), the
//! catalog's keyspace and the hidden-row-id allocator. Work happens in
//! [`Session`]s, one per thread. [`Database::run_in_transaction`] runs a
//! closure in a transaction and retries it when the transaction loses a
//! serialization conflict (40001) or a deadlock (40P01):
//!
//! ```text
//!   attempt 1: f(tx) ... commit -> 40001   sleep ~1 ms  (jittered)
//!   attempt 2: f(tx) ... -> 40P01          sleep ~2 ms
//!   attempt 3: f(tx) ... commit -> ok      return f's value
//!   (after max_retries retries the last error is returned)
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use isodb_engine::cluster::{Cluster, ClusterOptions};
use isodb_engine::storage::{Durability, LogRecovery, RecoveryReport, StoreOptions};
use isodb_engine::txn::{EngineOptions, IsolationLevel};

use crate::catalog::store::Catalog;
use crate::error::{Error, Result};
use crate::exec::RowIdAllocator;
use crate::session::Session;
use crate::session::registry::SessionRegistry;
use crate::transaction::Transaction;

/// How a database behaves; `Default` is durable and SERIALIZABLE.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    /// When a commit is acknowledged: `Sync` (default) after an fsync of the
    /// log, `NoSync` once handed to the operating system.
    pub durability: Durability,
    /// The isolation level new sessions start with (default SERIALIZABLE).
    pub isolation_level: IsolationLevel,
    /// How long a statement waits for a row lock before failing with 55P03;
    /// `None` (default) waits until granted (deadlocks are still detected).
    pub lock_timeout: Option<Duration>,
    /// How many times [`Database::run_in_transaction`] retries (default 10).
    pub max_retries: u32,
    /// Shards of a new database (default `None`: one). Each shard is an
    /// engine of its own in a subdirectory; rows are placed by their shard
    /// key ([`crate::placement`]) and transactions that write several
    /// shards commit by two-phase commit. An existing database keeps the
    /// count it was created with; asking for another is an error.
    pub shards: Option<u16>,
    /// Options of the cluster layer beyond the above (timeouts of the
    /// commit protocol, fault injection); `engine` and `shards` in it are
    /// set from the fields above.
    pub cluster: ClusterOptions,
    /// What opening does when a write-ahead log lost committed records:
    /// refuse (`Strict`, the default) or open with what is left
    /// (`PointInTime`; [`Database::recovery_report`] says what was lost).
    pub log_recovery: LogRecovery,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        DatabaseOptions {
            durability: Durability::Sync,
            isolation_level: IsolationLevel::Serializable,
            lock_timeout: None,
            max_retries: 10,
            shards: None,
            cluster: ClusterOptions::default(),
            log_recovery: LogRecovery::Strict,
        }
    }
}

struct DatabaseInner {
    cluster: Cluster,
    catalog: Catalog,
    row_ids: RowIdAllocator,
    options: DatabaseOptions,
    /// The open sessions, by backend pid.
    sessions: SessionRegistry,
    /// The directory of a temporary database; dropped (removed) last.
    _temporary: Option<tempfile::TempDir>,
}

/// An open database. Clone it freely and share it between threads.
///
/// ```
/// # fn main() -> isodb::Result<()> {
/// use isodb::{Database, IsolationLevel};
/// let db = Database::open_temporary()?;
/// let mut session = db.session();
/// session.execute("CREATE TABLE accounts (id INT PRIMARY KEY, balance INT NOT NULL)")?;
/// session.execute("INSERT INTO accounts VALUES (1, 100), (2, 50)")?;
/// db.run_in_transaction(IsolationLevel::Serializable, |tx| {
///     tx.execute("UPDATE accounts SET balance = balance - 30 WHERE id = 1")?;
///     tx.execute("UPDATE accounts SET balance = balance + 30 WHERE id = 2")?;
///     Ok(())
/// })?;
/// let rows = session.query("SELECT balance FROM accounts ORDER BY id", &[])?;
/// assert_eq!(rows[0].get::<i64>("balance")?, 70);
/// assert_eq!(rows[1].get::<i64>(0)?, 80);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Database {
    inner: Arc<DatabaseInner>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("cluster", &self.inner.cluster)
            .field("options", &self.inner.options)
            .finish()
    }
}

impl Database {
    /// Opens the database in directory `path`, creating it when missing.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(path, DatabaseOptions::default())
    }

    /// Opens the database in `path` with `options`.
    pub fn open_with(path: impl AsRef<Path>, options: DatabaseOptions) -> Result<Database> {
        Database::open_in(path.as_ref(), options, None)
    }

    /// A fresh database in a temporary directory, removed when the last
    /// handle is dropped. Commits are not fsynced (`Durability::NoSync`).
    pub fn open_temporary() -> Result<Database> {
        Database::open_temporary_with(DatabaseOptions {
            durability: Durability::NoSync,
            ..DatabaseOptions::default()
        })
    }

    /// A fresh temporary database with `options`.
    pub fn open_temporary_with(options: DatabaseOptions) -> Result<Database> {
        let dir = tempfile::tempdir()
            .map_err(|e| Error::Engine(isodb_engine::Error::io(std::env::temp_dir(), e)))?;
        let path = dir.path().to_path_buf();
        Database::open_in(&path, options, Some(dir))
    }

    fn open_in(
        path: &Path,
        options: DatabaseOptions,
        temporary: Option<tempfile::TempDir>,
    ) -> Result<Database> {
        let cluster = Cluster::open(
            path,
            ClusterOptions {
                engine: EngineOptions {
                    store: StoreOptions {
                        durability: options.durability,
                        log_recovery: options.log_recovery,
                        ..StoreOptions::default()
                    },
                    lock_timeout: options.lock_timeout,
                },
                shards: options.shards,
                ..options.cluster.clone()
            },
        )?;
        let keyspaces = cluster.keyspace("isodb.catalog")?;
        let catalog = Catalog::new(keyspaces[0], cluster.shard_count());
        if keyspaces
            .iter()
            .any(|ks| ks.local_id() != keyspaces[0].local_id())
        {
            return Err(Error::corrupt(
                "catalog",
                0,
                "the shards disagree on the catalog's keyspace",
            ));
        }
        let mut txn = cluster.begin(IsolationLevel::Serializable);
        let epoch = catalog.next_row_id_epoch(&mut txn)?;
        txn.commit()?;
        Ok(Database {
            inner: Arc::new(DatabaseInner {
                cluster,
                catalog,
                row_ids: RowIdAllocator::new(epoch),
                options,
                sessions: SessionRegistry::default(),
                _temporary: temporary,
            }),
        })
    }

    /// A new session at the database's default isolation level.
    pub fn session(&self) -> Session {
        Session::new(self.clone())
    }

    /// The options the database was opened with.
    pub fn options(&self) -> &DatabaseOptions {
        &self.inner.options
    }

    /// The shards and their commit coordinator (locks, open transactions,
    /// prepared transactions and fault injection for the whole database).
    pub fn cluster(&self) -> &Cluster {
        &self.inner.cluster
    }

    /// What opening the database had to give up or set aside (records lost
    /// by a point-in-time log recovery), over every shard; empty after a
    /// normal open.
    pub fn recovery_report(&self) -> RecoveryReport {
        self.inner.cluster.recovery_report()
    }

    /// Number of shards.
    pub fn shard_count(&self) -> u16 {
        self.inner.cluster.shard_count()
    }

    pub(crate) fn catalog(&self) -> Catalog {
        self.inner.catalog
    }

    pub(crate) fn row_ids(&self) -> &RowIdAllocator {
        &self.inner.row_ids
    }

    pub(crate) fn sessions(&self) -> &SessionRegistry {
        &self.inner.sessions
    }

    /// The backend pids ([`Session::backend_pid`]) of the sessions whose
    /// transactions the session `pid` waits for, ascending: PostgreSQL's
    /// `pg_blocking_pids(pid)`. Empty when it does not wait (or no session
    /// has that pid); 0 stands for a prepared transaction no session runs.
    pub fn blocking_pids(&self, pid: i32) -> Vec<i32> {
        self.inner.sessions.blocking_pids(&self.inner.cluster, pid)
    }

    /// Runs `f` in a transaction at `level` and commits; retries from the
    /// start, with jittered exponential backoff, when `f` or the commit
    /// fails with a serialization failure (40001) or a deadlock (40P01),
    /// up to `max_retries` times. Any other error is returned at once.
    pub fn run_in_transaction<T, F>(&self, level: IsolationLevel, mut f: F) -> Result<T>
    where
        F: FnMut(&mut Transaction<'_>) -> Result<T>,
    {
        let mut session = self.session();
        let mut attempt: u32 = 0;
        loop {
            let error = {
                let mut tx = session.transaction(level)?;
                match f(&mut tx) {
                    Ok(value) => {
                        let retryable_failure = tx.failed_retryably();
                        match tx.commit() {
                            Ok(()) => return Ok(value),
                            // 08006 at COMMIT: a shard could not take part, and
                            // no commit decision was written; safe to run again.
                            Err(e)
                                if retryable_failure
                                    || e.is_serialization_or_deadlock()
                                    || e.sqlstate() == "08006" =>
                            {
                                e
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    Err(e) if e.is_serialization_or_deadlock() || tx.failed_retryably() => {
                        let _ = tx.rollback();
                        e
                    }
                    Err(e) => return Err(e),
                }
            };
            if attempt >= self.inner.options.max_retries {
                return Err(error);
            }
            attempt += 1;
            std::thread::sleep(backoff(attempt));
        }
    }
}

/// Jittered exponential backoff: about 1 ms doubling up to 100 ms, times a
/// factor in [0.5, 1.5).
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let base_micros = (1000u64 << attempt.min(7)).min(100_000);
    let random = RandomState::new().hash_one(attempt) % 1000;
    Duration::from_micros(base_micros * (500 + random) / 1000)
}
