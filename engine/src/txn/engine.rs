//! `Engine`: the transactional key-value engine — a [`Store`] plus the lock
//! manager, the SSI tracker, the table of uncommitted writes and the
//! prepared (two-phase-commit) transactions and status records.
//!
//! An engine is one shard. Alone ([`Engine::open`]) it has services of its
//! own; as a shard of a cluster ([`Engine::open_shard`]) it shares the
//! clock, transaction ids, SSI tracker and intents with the other shards
//! ([`ClusterServices`]), and its keyspace ids carry its shard number in
//! their top byte, so keys of different shards never meet.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::storage::{Durability, SeqNo, Store, StoreOptions, WriteBatch};
use crate::txn::escalation::KeyspaceCommits;
use crate::txn::intents::IntentTable;
use crate::txn::keyspace::{
    CATALOG_KEYSPACE, FIRST_USER_KEYSPACE, Keyspace, PREPARED_KEYSPACE, STATUS_KEYSPACE,
};
use crate::txn::lock::{LockInfo, LockManager, LockMode, TxnId, WaitForGraph, WaitPolicy};
use crate::txn::prepared::{self, Coordination, StatusRecord, WriteSet};
use crate::txn::services::ClusterServices;
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
    /// The rows it will write (on this shard).
    pub writes: usize,
    /// Its coordinator's bookkeeping: home shard, participants, global id.
    pub coordination: Coordination,
    /// How long ago it prepared (since this engine opened, after a restart).
    pub age: Duration,
}

pub(crate) struct PreparedTxn {
    pub level: IsolationLevel,
    pub writes: WriteSet,
    /// Registered with the SSI tracker (false after a restart, and for a
    /// cluster's participants, whose SSI bookkeeping is the cluster's).
    pub tracked: bool,
    pub coordination: Coordination,
    pub since: Instant,
}

/// The prepared transactions, and the readers waiting for one of them to
/// be decided (a reader's flag is set when its wait is canceled).
#[derive(Default)]
pub(crate) struct PreparedTable {
    pub txns: BTreeMap<TxnId, PreparedTxn>,
    pub waiting: HashMap<TxnId, bool>,
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
    pub ssi: Arc<SsiTracker>,
    pub intents: Arc<IntentTable>,
    /// The last commit in each keyspace (for clean escalated keyspaces).
    pub keyspace_commits: KeyspaceCommits,
    pub options: EngineOptions,
    pub services: ClusterServices,
    /// This engine's shard number (0 alone).
    pub shard: u16,
    pub active: Mutex<HashMap<TxnId, ActiveTxn>>,
    pub prepared: Mutex<PreparedTable>,
    /// `prepared.txns.len()`, read without the lock by every snapshot read.
    pub prepared_count: AtomicUsize,
    /// Signalled when a prepared transaction is decided (or a wait canceled).
    pub decided: Condvar,
    keyspaces: Mutex<HashMap<String, Keyspace>>,
    /// Serializes the conditional writes of status records.
    status_lock: Mutex<()>,
    /// Serializes applying decisions (commit or rollback of prepared ones).
    deciding: Mutex<()>,
    /// Set by [`Engine::crash`]: every transaction here fails from now on.
    pub halted: AtomicBool,
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
        Engine::open_shard(dir, options, 0, &ClusterServices::new())
    }

    /// Opens (and recovers) shard number `shard` of a cluster whose shards
    /// share `services` (see [`crate::txn::services`]). Shard numbers go up
    /// to [`MAX_SHARDS`]` - 1`.
    pub fn open_shard(
        dir: impl AsRef<Path>,
        mut options: EngineOptions,
        shard: u16,
        services: &ClusterServices,
    ) -> Result<Engine> {
        if usize::from(shard) >= MAX_SHARDS {
            return Err(Error::InvalidArgument(format!(
                "shard number {shard} is out of range (at most {MAX_SHARDS} shards)"
            )));
        }
        options.store.oracle = Some(Arc::clone(&services.oracle));
        let store = Store::open(dir.as_ref(), options.store.clone())?;
        let inner = EngineInner {
            keyspace_commits: KeyspaceCommits::new(store.last_seq()),
            store,
            locks: LockManager::new(),
            ssi: Arc::clone(&services.ssi),
            intents: Arc::clone(&services.intents),
            options,
            services: services.clone(),
            shard,
            active: Mutex::new(HashMap::new()),
            prepared: Mutex::new(PreparedTable::default()),
            prepared_count: AtomicUsize::new(0),
            decided: Condvar::new(),
            keyspaces: Mutex::new(HashMap::new()),
            status_lock: Mutex::new(()),
            deciding: Mutex::new(()),
            halted: AtomicBool::new(false),
        };
        inner.load_keyspaces()?;
        inner.load_prepared()?;
        inner.observe_status_ids()?;
        Ok(Engine {
            inner: Arc::new(inner),
        })
    }

    /// This engine's shard number (0 for an engine alone).
    pub fn shard(&self) -> u16 {
        self.inner.shard
    }

    /// The services this engine shares with the other shards of its cluster.
    pub fn services(&self) -> &ClusterServices {
        &self.inner.services
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
        let id = self.inner.services.next_txn_id();
        Transaction::begin(Arc::clone(&self.inner), id, options)
    }

    /// Begins this shard's part of cluster transaction `id`, reading at
    /// `snapshot`. Its SSI lifecycle (registration, commit check, commit)
    /// belongs to the cluster transaction, which registers `id` once.
    pub(crate) fn begin_participant(
        &self,
        id: TxnId,
        options: TransactionOptions,
        snapshot: crate::storage::Snapshot,
    ) -> Transaction {
        Transaction::begin_participant(Arc::clone(&self.inner), id, options, snapshot)
    }

    /// The keyspace called `name`, created (durably) on first use.
    pub fn keyspace(&self, name: &str) -> Result<Keyspace> {
        let mut keyspaces = self.inner.keyspaces.lock();
        if let Some(ks) = keyspaces.get(name) {
            return Ok(*ks);
        }
        let first = Keyspace::new(FIRST_USER_KEYSPACE).on_shard(self.inner.shard);
        let id = keyspaces
            .values()
            .map(|ks| ks.id() + 1)
            .max()
            .unwrap_or(first.id())
            .max(first.id());
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
            .txns
            .iter()
            .map(|(&id, p)| InDoubt {
                id,
                level: p.level,
                writes: p.writes.len(),
                coordination: p.coordination.clone(),
                age: p.since.elapsed(),
            })
            .collect()
    }

    /// The keys prepared transaction `id` will write here.
    pub(crate) fn prepared_keys(&self, id: TxnId) -> Option<Vec<crate::txn::write_set::WriteKey>> {
        let prepared = self.inner.prepared.lock();
        let txn = prepared.txns.get(&id)?;
        Some(txn.writes.keys().cloned().collect())
    }

    /// True when transaction `id` is prepared here and not yet decided.
    pub fn is_prepared(&self, id: TxnId) -> bool {
        self.inner.prepared.lock().txns.contains_key(&id)
    }

    /// Commits prepared transaction `id`: its rows and the removal of its
    /// record are written in one synced batch, at a fresh commit timestamp
    /// (this write is the decision).
    pub fn commit_prepared(&self, id: TxnId) -> Result<CommitTs> {
        self.apply_commit(id, None, Durability::Sync)
    }

    /// Commits prepared transaction `id` at `commit_ts`, a timestamp the
    /// coordinator reserved from the shared oracle for every participant
    /// (see [`crate::storage::Store::write_at`]), after the decision was
    /// made durable elsewhere (so `durability` may be `NoSync`: a commit lost
    /// in a crash is applied again from the prepared record and the status
    /// record).
    pub fn commit_prepared_at(
        &self,
        id: TxnId,
        commit_ts: CommitTs,
        durability: Durability,
    ) -> Result<CommitTs> {
        self.apply_commit(id, Some(commit_ts), durability)
    }

    fn apply_commit(
        &self,
        id: TxnId,
        at: Option<CommitTs>,
        durability: Durability,
    ) -> Result<CommitTs> {
        // One decision at a time per shard: a repeated Commit waits for the
        // first and then finds nothing to do.
        let _deciding = self.inner.deciding.lock();
        let mut batch = {
            let prepared = self.inner.prepared.lock();
            let txn = prepared.txns.get(&id).ok_or_else(|| no_prepared(id))?;
            let mut batch = WriteBatch::new();
            for (key, value) in txn.writes.iter() {
                match value {
                    Some(v) => batch.put(key, v),
                    None => batch.delete(key),
                };
            }
            batch
        };
        batch.delete(prepared_key(id));
        // The transaction stays in the prepared table while its rows are
        // written, so a reader that may see them waits until they all are.
        let last = match at {
            Some(ts) => self.inner.store.write_at(batch, ts, durability)?,
            None => self.inner.store.write_with(batch, durability)?,
        };
        let seq = at.unwrap_or(last);
        let prepared = self.take_prepared(id)?;
        if prepared.tracked {
            self.inner.ssi.committed(id, seq, prepared.writes.keys());
        }
        let mut keyspaces: Vec<Keyspace> = prepared
            .writes
            .keys()
            .filter_map(|k| Keyspace::of(k))
            .collect();
        keyspaces.dedup();
        self.inner.keyspace_commits.record(keyspaces, last);
        self.inner.decided();
        self.inner.remove_intents(id, prepared.writes.keys());
        self.inner.finish(id);
        Ok(seq)
    }

    /// Rolls back prepared transaction `id`.
    pub fn rollback_prepared(&self, id: TxnId) -> Result<()> {
        let _deciding = self.inner.deciding.lock();
        if !self.is_prepared(id) {
            return Err(no_prepared(id));
        }
        let mut batch = WriteBatch::new();
        batch.delete(prepared_key(id));
        self.inner.store.write_with(batch, Durability::Sync)?;
        let prepared = self.take_prepared(id)?;
        if prepared.tracked {
            self.inner.ssi.aborted(id);
        }
        self.inner.decided();
        self.inner.remove_intents(id, prepared.writes.keys());
        self.inner.finish(id);
        Ok(())
    }

    /// Takes `id` out of the prepared table (readers waiting for it keep
    /// waiting: the count stays until [`EngineInner::decided`]).
    fn take_prepared(&self, id: TxnId) -> Result<PreparedTxn> {
        self.inner
            .prepared
            .lock()
            .txns
            .remove(&id)
            .ok_or_else(|| no_prepared(id))
    }

    /// Writes `record` as transaction `id`'s status record unless it has one
    /// already (synced); returns the record that holds: `record`, or the one
    /// written first. This conditional write is the decision of a
    /// cross-shard transaction: the coordinator writes "committed", a
    /// participant settling an in-doubt transaction "aborted", and whoever
    /// comes second learns the first one's outcome.
    pub fn decide(&self, id: TxnId, record: &StatusRecord) -> Result<StatusRecord> {
        let _serial = self.inner.status_lock.lock();
        if let Some(existing) = self.status(id)? {
            return Ok(existing);
        }
        let mut batch = WriteBatch::new();
        batch.put(status_key(id), prepared::encode_status(record));
        self.inner.store.write_with(batch, Durability::Sync)?;
        Ok(record.clone())
    }

    /// Transaction `id`'s status record, if this shard holds one.
    pub fn status(&self, id: TxnId) -> Result<Option<StatusRecord>> {
        match self.inner.store.get(&status_key(id))? {
            None => Ok(None),
            Some(bytes) => prepared::decode_status(&bytes).map(Some).ok_or_else(|| {
                Error::corruption(self.inner.store.path(), 0, "malformed status record")
            }),
        }
    }

    /// Deletes transaction `id`'s status record once every participant has
    /// applied it (not synced: a record that survives a crash is applied
    /// again, harmlessly, and deleted then).
    pub fn forget_status(&self, id: TxnId) -> Result<()> {
        let _serial = self.inner.status_lock.lock();
        let mut batch = WriteBatch::new();
        batch.delete(status_key(id));
        self.inner.store.write_with(batch, Durability::NoSync)?;
        Ok(())
    }

    /// Every status record this shard holds, by transaction id.
    pub fn status_records(&self) -> Result<Vec<(TxnId, StatusRecord)>> {
        self.inner.status_records()
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

    /// Wakes transaction `id` if it waits for a lock or for the decision of
    /// a prepared transaction; its wait fails with `Error::LockTimeout`
    /// whose message starts with "canceled" (the SQL layer reports that as
    /// 57014 query_canceled).
    pub fn cancel_wait(&self, id: TxnId) -> bool {
        self.inner.locks.cancel_wait(id) || self.inner.cancel_prepared_wait(id)
    }

    /// Fault injection: crashes this engine at this instant, as a shard
    /// process that dies (`kind` says what its log keeps; see
    /// [`Store::crash`]). Every transaction here fails from now on, waits
    /// included; drop every handle and open the directory again to recover.
    pub fn crash(&self, kind: crate::storage::CrashKind) -> Result<()> {
        self.inner.halted.store(true, Ordering::SeqCst);
        let crashed = self.inner.store.crash(kind);
        // No wait ends by a release any more (prepared holders stay until
        // recovery): end them all, and refuse new ones.
        self.inner.locks.close();
        self.inner.decided.notify_all();
        crashed
    }

    /// True after [`Engine::crash`].
    pub fn is_halted(&self) -> bool {
        self.inner.halted.load(Ordering::SeqCst)
    }

    /// A weak handle: tells when every user of this engine has let go (a
    /// crashed shard's directory can be opened again only then).
    pub(crate) fn downgrade(&self) -> std::sync::Weak<EngineInner> {
        Arc::downgrade(&self.inner)
    }

    /// Ends transaction `id`'s lock wait with 40P01: a deadlock detector
    /// that sees every shard chose it as the victim of `cycle`.
    pub fn abort_wait(&self, id: TxnId, cycle: String) -> bool {
        self.inner.locks.abort_wait(id, cycle)
    }

    /// Who waits for whom in this shard's lock table right now.
    pub fn wait_for_graph(&self) -> WaitForGraph {
        self.inner.locks.wait_for_graph()
    }

    /// The key transaction `id` waits for a lock on, if it waits.
    pub fn waiting_on(&self, id: TxnId) -> Option<Vec<u8>> {
        self.inner.locks.waiting_on(id)
    }
}

fn no_prepared(id: TxnId) -> Error {
    Error::InvalidArgument(format!("there is no prepared transaction {id}"))
}

/// Shards a cluster may have: a keyspace id carries its shard in its top byte.
pub const MAX_SHARDS: usize = 256;

pub(crate) fn prepared_key(id: TxnId) -> Vec<u8> {
    Keyspace::new(PREPARED_KEYSPACE).key(&id.to_be_bytes())
}

pub(crate) fn status_key(id: TxnId) -> Vec<u8> {
    Keyspace::new(STATUS_KEYSPACE).key(&id.to_be_bytes())
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
        self.intents.remove_bulk(id, self.shard);
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
            let (Some(id), Some(record)) = (id, prepared::decode(&value)) else {
                return Err(Error::corruption(
                    self.store.path(),
                    0,
                    "malformed prepared-transaction record",
                ));
            };
            for (key, value) in record.writes.iter() {
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
            self.services.observe_txn_id(id);
            prepared.txns.insert(
                id,
                PreparedTxn {
                    level: record.level,
                    writes: record.writes,
                    tracked: false,
                    coordination: record.coordination,
                    since: Instant::now(),
                },
            );
        }
        self.prepared_count
            .store(prepared.txns.len(), Ordering::SeqCst);
        Ok(())
    }

    /// Later transaction ids must not meet an old status record's id.
    fn observe_status_ids(&self) -> Result<()> {
        for (id, _) in self.status_records()? {
            self.services.observe_txn_id(id);
        }
        Ok(())
    }

    fn status_records(&self) -> Result<Vec<(TxnId, StatusRecord)>> {
        let ks = Keyspace::new(STATUS_KEYSPACE);
        let (lower, upper) = ks.bounds(Bound::Unbounded, Bound::Unbounded);
        let mut records = Vec::new();
        for row in self.store.scan((
            lower.as_ref().map(Vec::as_slice),
            upper.as_ref().map(Vec::as_slice),
        )) {
            let (key, value) = row?;
            let id = ks
                .strip(&key)
                .and_then(|k| <[u8; 8]>::try_from(k).ok())
                .map(u64::from_be_bytes);
            let (Some(id), Some(record)) = (id, prepared::decode_status(&value)) else {
                return Err(Error::corruption(
                    self.store.path(),
                    0,
                    "malformed status record",
                ));
            };
            records.push((id, record));
        }
        Ok(records)
    }

    /// Registers a newly prepared transaction (readers may start waiting
    /// for it from now on).
    pub fn add_prepared(&self, id: TxnId, txn: PreparedTxn) {
        let mut prepared = self.prepared.lock();
        if prepared.txns.insert(id, txn).is_none() {
            self.prepared_count.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// `id` was decided here and its outcome applied: wake its readers.
    fn decided(&self) {
        let prepared = self.prepared.lock();
        self.prepared_count
            .store(prepared.txns.len(), Ordering::SeqCst);
        self.decided.notify_all();
    }

    fn cancel_prepared_wait(&self, id: TxnId) -> bool {
        let mut prepared = self.prepared.lock();
        match prepared.waiting.get_mut(&id) {
            Some(canceled) if !*canceled => {
                *canceled = true;
                self.decided.notify_all();
                true
            }
            _ => false,
        }
    }

    /// Blocks reader `me` at `snapshot` while a prepared transaction that
    /// `touches` says it meets may commit at or below `snapshot` (see
    /// [`crate::txn::services::DecisionBoard`]): such a version can be
    /// neither skipped nor read until this shard learns the outcome. Fails
    /// with a lock timeout after `timeout`, or when canceled.
    pub fn wait_for_prepared(
        &self,
        me: TxnId,
        snapshot: SeqNo,
        timeout: Option<Duration>,
        touches: impl Fn(&WriteSet) -> bool,
    ) -> Result<()> {
        if self.prepared_count.load(Ordering::SeqCst) == 0 {
            return Ok(());
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let board = &self.services.decisions;
        let mut prepared = self.prepared.lock();
        let result = loop {
            if self.halted.load(Ordering::SeqCst) {
                break Err(Error::ShardUnavailable {
                    shard: self.shard,
                    reason: "it crashed while a read waited for a prepared transaction".into(),
                });
            }
            let blocker = prepared
                .txns
                .iter()
                .find(|(id, p)| {
                    **id != me && board.may_be_visible(**id, snapshot) && touches(&p.writes)
                })
                .map(|(id, _)| *id);
            let Some(blocker) = blocker else {
                break Ok(());
            };
            if prepared.waiting.get(&me) == Some(&true) {
                break Err(Error::LockTimeout(format!(
                    "canceled: transaction {me} stopped waiting for the outcome of prepared transaction {blocker} because the wait was canceled"
                )));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break Err(Error::LockTimeout(format!(
                    "transaction {me} waited {:?} for the outcome of prepared transaction {blocker}",
                    timeout.unwrap_or(Duration::ZERO)
                )));
            }
            prepared.waiting.entry(me).or_insert(false);
            // Wake now and then as well: the decision board is not behind
            // this lock, so a mark cleared elsewhere is seen on the next turn.
            let mut until = Instant::now() + Duration::from_millis(20);
            if let Some(deadline) = deadline {
                until = until.min(deadline);
            }
            self.decided.wait_until(&mut prepared, until);
        };
        prepared.waiting.remove(&me);
        result
    }
}
