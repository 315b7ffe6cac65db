//! `Engine`: the transactional key-value engine — a [`Store`] plus the lock
//! manager, the SSI tracker, the table of uncommitted writes and the
//! prepared (two-phase-commit) transactions.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::storage::{Durability, SeqNo, Store, StoreOptions, WriteBatch};
use crate::txn::escalation::KeyspaceCommits;
use crate::txn::intents::IntentTable;
use crate::txn::keyspace::{CATALOG_KEYSPACE, FIRST_USER_KEYSPACE, Keyspace, PREPARED_KEYSPACE};
use crate::txn::lock::{LockInfo, LockManager, LockMode, TxnId, WaitPolicy};
use crate::txn::prepared::{self, WriteSet};
use crate::txn::ssi::SsiTracker;
use crate::txn::transaction::Transaction;
use crate::txn::{CommitTs, IsolationLevel};
use crate::{Error, Result};

/// Options of [`Engine::open`].
#[derive(Clone, Debug, Default)]
pub struct EngineOptions {
    /// Options of the underlying store (durability, memory budgets, …).
    pub store: StoreOptions,
    /// How long a transaction waits for a row lock before failing with
    /// 55P03; `None` waits until granted (deadlocks are always detected).
    pub lock_timeout: Option<Duration>,
}

/// How to begin a transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransactionOptions {
    /// Its isolation level.
    pub level: IsolationLevel,
    /// A read-only transaction refuses writes; at SERIALIZABLE it is never
    /// aborted unless it really is part of a dangerous structure.
    pub read_only: bool,
}

/// What the engine knows about an open transaction (for the shell's `\txns`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionInfo {
    /// Its id.
    pub id: TxnId,
    /// Its isolation level.
    pub level: IsolationLevel,
    /// The sequence number its current snapshot reads at.
    pub snapshot: SeqNo,
    /// Declared read-only.
    pub read_only: bool,
    /// Rows written so far.
    pub writes: usize,
    /// How long it has been open.
    pub age: Duration,
}

/// A prepared transaction waiting for its coordinator's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InDoubt {
    /// The prepared transaction's id, for `commit_prepared`/`rollback_prepared`.
    pub id: TxnId,
    /// Its isolation level.
    pub level: IsolationLevel,
    /// The rows it will write.
    pub writes: usize,
}

pub(crate) struct PreparedTxn {
    pub level: IsolationLevel,
    pub writes: WriteSet,
    /// Registered with the SSI tracker (false after a restart).
    pub tracked: bool,
}

pub(crate) struct ActiveTxn {
    pub level: IsolationLevel,
    pub snapshot: SeqNo,
    pub read_only: bool,
    /// Rows written so far, counted by the transaction without taking the
    /// engine's `active` mutex.
    pub writes: Arc<AtomicUsize>,
    pub started: Instant,
}

pub(crate) struct EngineInner {
    pub store: Store,
    pub locks: LockManager,
    pub ssi: SsiTracker,
    pub intents: Arc<IntentTable>,
    /// The last commit in each keyspace (for clean escalated keyspaces).
    pub keyspace_commits: KeyspaceCommits,
    pub options: EngineOptions,
    next_txn: AtomicU64,
    pub active: Mutex<HashMap<TxnId, ActiveTxn>>,
    pub prepared: Mutex<BTreeMap<TxnId, PreparedTxn>>,
    keyspaces: Mutex<HashMap<String, Keyspace>>,
}

/// The transactional engine. Cheap to clone; share it between threads.
///
/// ```
/// use isodb_engine::txn::{Engine, EngineOptions, IsolationLevel, Keyspace};
/// let dir = tempfile::tempdir().expect("temp dir");
/// let engine = Engine::open(dir.path(), EngineOptions::default())?;
/// let accounts = engine.keyspace("accounts")?;
/// let mut txn = engine.begin(IsolationLevel::Serializable);
/// txn.put(accounts, b"alice", b"100")?;
/// txn.commit()?;
/// let mut txn = engine.begin(IsolationLevel::RepeatableRead);
/// assert_eq!(txn.get(accounts, b"alice")?, Some(b"100".to_vec()));
/// # Ok::<(), isodb_engine::Error>(())
/// ```
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens (and recovers) the engine in `dir`. Prepared transactions found
    /// on disk take their row locks again and wait for a decision.
    pub fn open(dir: impl AsRef<Path>, options: EngineOptions) -> Result<Engine> {
        let store = Store::open(dir.as_ref(), options.store.clone())?;
        let intents = Arc::new(IntentTable::default());
        let inner = EngineInner {
            keyspace_commits: KeyspaceCommits::new(store.last_seq()),
            store,
            locks: LockManager::new(),
            ssi: SsiTracker::new(Arc::clone(&intents)),
            intents,
            options,
            next_txn: AtomicU64::new(1),
            active: Mutex::new(HashMap::new()),
            prepared: Mutex::new(BTreeMap::new()),
            keyspaces: Mutex::new(HashMap::new()),
        };
        inner.load_keyspaces()?;
        inner.load_prepared()?;
        Ok(Engine {
            inner: Arc::new(inner),
        })
    }

    /// Begins a read-write transaction at `level`.
    pub fn begin(&self, level: IsolationLevel) -> Transaction {
        self.begin_with(TransactionOptions {
            level,
            read_only: false,
        })
    }

    /// Begins a transaction with `options`.
    pub fn begin_with(&self, options: TransactionOptions) -> Transaction {
        let id = self.inner.next_txn.fetch_add(1, Ordering::SeqCst);
        Transaction::begin(Arc::clone(&self.inner), id, options)
    }

    /// The keyspace called `name`, created (durably) on first use.
    pub fn keyspace(&self, name: &str) -> Result<Keyspace> {
        let mut keyspaces = self.inner.keyspaces.lock();
        if let Some(ks) = keyspaces.get(name) {
            return Ok(*ks);
        }
        let id = keyspaces
            .values()
            .map(|ks| ks.id() + 1)
            .max()
            .unwrap_or(FIRST_USER_KEYSPACE)
            .max(FIRST_USER_KEYSPACE);
        let ks = Keyspace::new(id);
        let mut batch = WriteBatch::new();
        batch.put(
            Keyspace::new(CATALOG_KEYSPACE).key(name.as_bytes()),
            id.to_be_bytes(),
        );
        let seq = self.inner.store.write_with(batch, Durability::Sync)?;
        let catalog = Keyspace::new(CATALOG_KEYSPACE);
        self.inner.keyspace_commits.record([catalog], seq);
        keyspaces.insert(name.to_string(), ks);
        Ok(ks)
    }

    /// The underlying store (statistics, flush, compaction).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Prepared transactions waiting for `commit_prepared` or `rollback_prepared`.
    pub fn in_doubt(&self) -> Vec<InDoubt> {
        self.inner
            .prepared
            .lock()
            .iter()
            .map(|(&id, p)| InDoubt {
                id,
                level: p.level,
                writes: p.writes.len(),
            })
            .collect()
    }

    /// Commits prepared transaction `id`: its rows and the removal of its
    /// record are written in one synced batch.
    pub fn commit_prepared(&self, id: TxnId) -> Result<CommitTs> {
        let prepared = self.take_prepared(id)?;
        let mut batch = WriteBatch::new();
        for (key, value) in prepared.writes.iter() {
            match value {
                Some(v) => batch.put(key, v),
                None => batch.delete(key),
            };
        }
        batch.delete(prepared_key(id));
        match self.inner.store.write_with(batch, Durability::Sync) {
            Ok(seq) => {
                if prepared.tracked {
                    self.inner.ssi.committed(id, seq, prepared.writes.keys());
                }
                let mut written: Vec<Keyspace> = prepared
                    .writes
                    .keys()
                    .filter_map(|k| Keyspace::of(k))
                    .collect();
                written.dedup();
                self.inner.keyspace_commits.record(written, seq);
                self.inner.remove_intents(id, prepared.writes.keys());
                self.inner.finish(id);
                Ok(seq)
            }
            Err(e) => {
                // Still in doubt: put it back for a later decision.
                self.inner.prepared.lock().insert(id, prepared);
                Err(e)
            }
        }
    }

    /// Rolls back prepared transaction `id`.
    pub fn rollback_prepared(&self, id: TxnId) -> Result<()> {
        let prepared = self.take_prepared(id)?;
        let mut batch = WriteBatch::new();
        batch.delete(prepared_key(id));
        if let Err(e) = self.inner.store.write_with(batch, Durability::Sync) {
            self.inner.prepared.lock().insert(id, prepared);
            return Err(e);
        }
        if prepared.tracked {
            self.inner.ssi.aborted(id);
        }
        self.inner.remove_intents(id, prepared.writes.keys());
        self.inner.finish(id);
        Ok(())
    }

    fn take_prepared(&self, id: TxnId) -> Result<PreparedTxn> {
        self.inner
            .prepared
            .lock()
            .remove(&id)
            .ok_or_else(|| Error::InvalidArgument(format!("there is no prepared transaction {id}")))
    }

    /// Open transactions, oldest first.
    pub fn transactions(&self) -> Vec<TransactionInfo> {
        let mut list: Vec<TransactionInfo> = self
            .inner
            .active
            .lock()
            .iter()
            .map(|(&id, t)| TransactionInfo {
                id,
                level: t.level,
                snapshot: t.snapshot,
                read_only: t.read_only,
                writes: t.writes.load(Ordering::Relaxed),
                age: t.started.elapsed(),
            })
            .collect();
        list.sort_by_key(|t| t.id);
        list
    }

    /// Row locks held and awaited, and the locks on whole keyspaces that
    /// matter to someone: an escalated (Exclusive) one, or one somebody
    /// waits for. The Shared intention lock every row locker takes on its
    /// keyspace is left out otherwise (see [`crate::txn::escalation`]);
    /// [`Keyspace::locked_by`] tells a keyspace lock's key from a row's.
    pub fn locks(&self) -> Vec<LockInfo> {
        let mut locks = self.inner.locks.snapshot();
        locks.retain(|lock| {
            Keyspace::locked_by(&lock.key).is_none()
                || !lock.waiters.is_empty()
                || lock.holders.iter().any(|h| h.mode == LockMode::Exclusive)
        });
        locks
    }

    /// Whom transaction `id` waits for right now.
    pub fn waits_for(&self, id: TxnId) -> Vec<TxnId> {
        self.inner.locks.waits_for(id)
    }

    /// Wakes transaction `id` if it waits for a lock; its wait fails with
    /// `Error::LockTimeout` whose message starts with "canceled" (the SQL
    /// layer reports that as 57014 query_canceled).
    pub fn cancel_wait(&self, id: TxnId) -> bool {
        self.inner.locks.cancel_wait(id)
    }
}

pub(crate) fn prepared_key(id: TxnId) -> Vec<u8> {
    Keyspace::new(PREPARED_KEYSPACE).key(&id.to_be_bytes())
}

impl EngineInner {
    /// Withdraws the per-key intents of a finished transaction on `written`.
    pub fn remove_intents<K: AsRef<[u8]>>(&self, id: TxnId, written: impl Iterator<Item = K>) {
        for key in written {
            self.intents.remove(key.as_ref(), id);
        }
    }

    /// Releases the rest of what a finished transaction held: its bulk
    /// intents (after the per-key ones are gone) and every lock.
    pub fn finish(&self, id: TxnId) {
        self.intents.remove_bulk(id);
        self.locks.release_all(id);
    }

    fn load_keyspaces(&self) -> Result<()> {
        let catalog = Keyspace::new(CATALOG_KEYSPACE);
        let (lower, upper) = catalog.bounds(Bound::Unbounded, Bound::Unbounded);
        let mut keyspaces = self.keyspaces.lock();
        for row in self.store.scan((
            lower.as_ref().map(Vec::as_slice),
            upper.as_ref().map(Vec::as_slice),
        )) {
            let (key, value) = row?;
            let name = catalog
                .strip(&key)
                .map(|n| String::from_utf8_lossy(n).into_owned());
            let id = <[u8; 4]>::try_from(value.as_slice())
                .ok()
                .map(u32::from_be_bytes);
            match (name, id) {
                (Some(name), Some(id)) => {
                    keyspaces.insert(name, Keyspace::new(id));
                }
                _ => {
                    return Err(Error::corruption(
                        self.store.path(),
                        0,
                        "malformed keyspace catalog entry",
                    ));
                }
            }
        }
        Ok(())
    }

    fn load_prepared(&self) -> Result<()> {
        let ks = Keyspace::new(PREPARED_KEYSPACE);
        let (lower, upper) = ks.bounds(Bound::Unbounded, Bound::Unbounded);
        let mut max_id = 0;
        let mut prepared = self.prepared.lock();
        for row in self.store.scan((
            lower.as_ref().map(Vec::as_slice),
            upper.as_ref().map(Vec::as_slice),
        )) {
            let (key, value) = row?;
            let id = ks
                .strip(&key)
                .and_then(|k| <[u8; 8]>::try_from(k).ok())
                .map(u64::from_be_bytes);
            let (Some(id), Some((level, writes))) = (id, prepared::decode(&value)) else {
                return Err(Error::corruption(
                    self.store.path(),
                    0,
                    "malformed prepared-transaction record",
                ));
            };
            for (key, value) in writes.iter() {
                // The keyspace's intention lock first, as every row lock
                // has one: no one may escalate over a prepared row.
                if let Some(ks) = Keyspace::of(key) {
                    self.locks
                        .acquire(id, &ks.lock_key(), LockMode::Shared, WaitPolicy::NoWait)?;
                }
                self.locks
                    .acquire(id, key, LockMode::Exclusive, WaitPolicy::NoWait)?;
                self.intents.put(key.to_vec(), id, value.clone());
            }
            max_id = max_id.max(id);
            prepared.insert(
                id,
                PreparedTxn {
                    level,
                    writes,
                    tracked: false,
                },
            );
        }
        self.next_txn.store(max_id + 1, Ordering::SeqCst);
        Ok(())
    }
}
