//! `Transaction`: reads and writes at one isolation level, then commit,
//! rollback or prepare.
//!
//! The life of a write, at every level:
//!
//! 1. take the row's exclusive lock (waiting behind another writer — no
//!    dirty writes; a wait that would close a cycle fails with 40P01), or
//!    hold its keyspace's after lock escalation;
//! 2. at REPEATABLE READ and SERIALIZABLE, if the row's newest committed
//!    version is newer than our snapshot, fail with 40001 (first updater
//!    wins) — not looked up in an escalated keyspace that no commit has
//!    touched since our snapshot ([`crate::txn::escalation`]);
//! 3. keep the new value in the private write set and publish it as an intent
//!    (visible to READ UNCOMMITTED readers, and to the SSI tracker);
//! 4. at SERIALIZABLE, tell the SSI tracker (it may find us a dangerous pivot).
//!
//! Commit writes the whole write set as one atomic, synced batch; its
//! sequence number is the commit timestamp. Then intents and locks go. A
//! retryable failure (40001, 40P01, 55P03) aborts the transaction at once,
//! releasing its locks; every later call says it was aborted.

use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::storage::key::MAX_SEQ;
use crate::storage::{SeqNo, Snapshot, ValueKind, WriteBatch};
use crate::txn::engine::{ActiveTxn, EngineInner, PreparedTxn, TransactionOptions, prepared_key};
use crate::txn::escalation::KeyspaceLocks;
use crate::txn::intents::SharedWrites;
use crate::txn::keyspace::Keyspace;
use crate::txn::lock::{LockMode, TxnId, WaitPolicy};
use crate::txn::overlay::OverlayScan;
use crate::txn::prepared::Coordination;
use crate::txn::savepoint::{SavepointId, UndoLog};
use crate::txn::write_set::WriteKey;
use crate::txn::{CommitTs, IsolationLevel, prepared};
use crate::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Status {
    Active,
    Committed,
    RolledBack,
    /// Aborted by an error (serialization failure, deadlock, lock timeout).
    Failed(String),
    /// Handed to the engine as a prepared transaction.
    Prepared,
}

/// One transaction. `Send`: it may move between threads. Dropping it while
/// active rolls it back.
pub struct Transaction {
    engine: Arc<EngineInner>,
    id: TxnId,
    level: IsolationLevel,
    read_only: bool,
    snapshot: Snapshot,
    /// The write set: stored key → new value (`None` = delete). Shared
    /// with the intent table once a keyspace is escalated.
    writes: SharedWrites,
    /// Keyspace intention locks and escalations.
    keyspace_locks: KeyspaceLocks,
    /// `writes.len()`, shared with the engine's list of open transactions.
    write_count: Arc<AtomicUsize>,
    status: Status,
    lock_timeout: Option<Duration>,
    undo: UndoLog,
    /// True when this transaction registers itself with the SSI tracker
    /// and reports its commit or abort there; false for one shard's part of
    /// a cluster transaction, whose SSI lifecycle is the cluster's.
    owns_ssi: bool,
}

/// A row's newest committed version: commit seq, kind and value.
type Version = (SeqNo, ValueKind, Vec<u8>);

/// Rows of a transaction's scan: `(key, value)` without the keyspace prefix.
pub type TxnScan = Box<dyn DoubleEndedIterator<Item = Result<(Vec<u8>, Vec<u8>)>> + Send>;

impl Transaction {
    pub(crate) fn begin(
        engine: Arc<EngineInner>,
        id: TxnId,
        options: TransactionOptions,
    ) -> Transaction {
        let snapshot = if options.level == IsolationLevel::Serializable {
            // Taken under the tracker's lock, so no commit slips between the
            // snapshot and the registration.
            engine.ssi.begin_with(id, options.read_only, || {
                let snapshot = engine.store.snapshot();
                let seq = snapshot.seq();
                (snapshot, seq)
            })
        } else {
            engine.store.snapshot()
        };
        Transaction::with_snapshot(engine, id, options, snapshot, true)
    }

    /// One shard's part of cluster transaction `id`, reading at `snapshot`
    /// (see [`crate::txn::Engine::begin_participant`]).
    pub(crate) fn begin_participant(
        engine: Arc<EngineInner>,
        id: TxnId,
        options: TransactionOptions,
        snapshot: Snapshot,
    ) -> Transaction {
        Transaction::with_snapshot(engine, id, options, snapshot, false)
    }

    fn with_snapshot(
        engine: Arc<EngineInner>,
        id: TxnId,
        options: TransactionOptions,
        snapshot: Snapshot,
        owns_ssi: bool,
    ) -> Transaction {
        let write_count = Arc::new(AtomicUsize::new(0));
        engine.active.lock().insert(
            id,
            ActiveTxn {
                level: options.level,
                snapshot: snapshot.seq(),
                read_only: options.read_only,
                writes: Arc::clone(&write_count),
                started: Instant::now(),
            },
        );
        Transaction {
            owns_ssi,
            lock_timeout: engine.options.lock_timeout,
            engine,
            id,
            level: options.level,
            read_only: options.read_only,
            snapshot,
            writes: SharedWrites::default(),
            keyspace_locks: KeyspaceLocks::default(),
            write_count,
            status: Status::Active,
            undo: UndoLog::default(),
        }
    }

    /// The transaction's id (as shown in lock waits and `\txns`).
    pub fn id(&self) -> TxnId {
        self.id
    }

    /// Its isolation level.
    pub fn level(&self) -> IsolationLevel {
        self.level
    }

    /// True when declared read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// True until commit, rollback, prepare or an aborting error.
    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }

    /// The sequence number the current snapshot reads at.
    pub fn snapshot_seq(&self) -> SeqNo {
        self.snapshot.seq()
    }

    /// True when this transaction has written (or deleted) a key of `ks`.
    pub fn has_writes_in(&self, ks: Keyspace) -> bool {
        // Every write locks its row (or its keyspace) first.
        if !self.keyspace_locks.has_locked_in(ks) {
            return false;
        }
        let (lower, upper) = ks.bounds(Bound::Unbounded, Bound::Unbounded);
        self.writes.read().any_in(
            lower.as_ref().map(Vec::as_slice),
            upper.as_ref().map(Vec::as_slice),
        )
    }

    /// Changes how long this transaction waits for row locks (`None`: until granted).
    pub fn set_lock_timeout(&mut self, timeout: Option<Duration>) {
        self.lock_timeout = timeout;
    }

    /// Starts a new statement: READ COMMITTED and READ UNCOMMITTED take a
    /// fresh snapshot; the other levels keep theirs.
    pub fn new_statement(&mut self) {
        if self.status == Status::Active && self.level.snapshot_per_statement() {
            let snapshot = self.engine.store.snapshot();
            self.set_snapshot(snapshot);
        }
    }

    /// Reads at `snapshot` from now on (a cluster transaction's new
    /// statement at READ COMMITTED: one snapshot for every shard).
    pub(crate) fn set_snapshot(&mut self, snapshot: Snapshot) {
        self.snapshot = snapshot;
        if let Some(info) = self.engine.active.lock().get_mut(&self.id) {
            info.snapshot = self.snapshot.seq();
        }
    }

    fn check_active(&self) -> Result<()> {
        if self.engine.halted.load(Ordering::Relaxed) {
            return Err(Error::ShardUnavailable {
                shard: self.engine.shard,
                reason: "it crashed; the transaction is lost there".into(),
            });
        }
        match &self.status {
            Status::Active => Ok(()),
            Status::Failed(why) => Err(Error::TransactionNotActive(format!(
                "transaction {} was aborted ({why}); roll it back and retry",
                self.id
            ))),
            other => Err(Error::TransactionNotActive(format!(
                "transaction {} is {}",
                self.id,
                match other {
                    Status::Committed => "committed",
                    Status::RolledBack => "rolled back",
                    _ => "prepared",
                }
            ))),
        }
    }

    /// Runs `f`; a retryable error aborts the transaction before it is returned.
    fn guard<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result
            && e.is_retryable()
        {
            self.abort(e.to_string());
        }
        result
    }

    fn abort(&mut self, why: String) {
        self.release();
        self.status = Status::Failed(why);
    }

    fn release(&mut self) {
        if self.level == IsolationLevel::Serializable && self.owns_ssi {
            self.engine.ssi.aborted(self.id);
        }
        self.finish();
        self.engine.active.lock().remove(&self.id);
    }

    /// Withdraws the intents (per key outside escalated keyspaces, and the
    /// bulk entry) and releases every lock.
    fn finish(&self) {
        {
            let writes = self.writes.read();
            let keyspace_locks = &self.keyspace_locks;
            self.engine
                .remove_intents(self.id, writes.keys().filter(|k| !keyspace_locks.covers(k)));
        }
        self.engine.finish(self.id);
    }

    /// Reads `key` of keyspace `ks`.
    pub fn get(&mut self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_active()?;
        let full = ks.write_key(key);
        if let Some(own) = self.writes.read().get(&full) {
            return Ok(own.clone());
        }
        let result = self.read_committed_or_dirty(&full);
        let result = result.and_then(|value| {
            if self.level == IsolationLevel::Serializable {
                self.engine.ssi.on_read(self.id, &full)?;
            }
            Ok(value)
        });
        self.guard(result)
    }

    fn read_committed_or_dirty(&self, full: &[u8]) -> Result<Option<Vec<u8>>> {
        if self.level == IsolationLevel::ReadUncommitted {
            if let Some(intent) = self.engine.intents.get(full) {
                return Ok(intent.value);
            }
            return self.engine.store.get(full);
        }
        self.wait_for_prepared(|writes| writes.contains_key(full))?;
        self.engine.store.get_at(full, self.snapshot.seq())
    }

    /// Waits while a prepared cross-shard transaction whose writes
    /// `touches` says this read meets may commit within our snapshot (see
    /// [`crate::txn::services::DecisionBoard`]). Free when nothing is
    /// prepared on this shard.
    fn wait_for_prepared(&self, touches: impl Fn(&prepared::WriteSet) -> bool) -> Result<()> {
        self.engine
            .wait_for_prepared(self.id, self.snapshot.seq(), self.lock_timeout, touches)
    }

    /// Scans the keys of `ks` in `range`, in order (`.rev()` for descending),
    /// with this transaction's own writes applied. At SERIALIZABLE the whole
    /// range is registered as read, so a later insert into it is a conflict.
    pub fn scan(&mut self, ks: Keyspace, range: impl RangeBounds<[u8]>) -> Result<TxnScan> {
        self.check_active()?;
        let (lower, upper) = ks.bounds(range.start_bound(), range.end_bound());
        let lo = lower.as_ref().map(Vec::as_slice);
        let hi = upper.as_ref().map(Vec::as_slice);
        if self.level == IsolationLevel::Serializable {
            let registered = self.engine.ssi.on_scan(self.id, lo, hi);
            self.guard(registered)?;
        }
        if self.level != IsolationLevel::ReadUncommitted {
            let waited = self.wait_for_prepared(|writes| writes.any_in(lo, hi));
            self.guard(waited)?;
        }
        let mut overlay: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        let base = if self.level == IsolationLevel::ReadUncommitted {
            for (key, value) in self.engine.intents.range(self.id, lo, hi) {
                overlay.insert(key, value);
            }
            self.engine.store.scan((lo, hi))
        } else {
            self.engine.store.scan_at((lo, hi), self.snapshot.seq())
        };
        overlay.extend(self.writes.read().range(lo, hi));
        let rows = OverlayScan::new(base, overlay.into_iter().collect());
        Ok(Box::new(rows.map(move |row| {
            row.map(|(key, value)| (ks.strip(&key).map(<[u8]>::to_vec).unwrap_or(key), value))
        })))
    }

    /// Writes `value` under `key`.
    pub fn put(&mut self, ks: Keyspace, key: &[u8], value: &[u8]) -> Result<()> {
        self.write(ks.write_key(key), Some(value.to_vec()))
    }

    /// Deletes `key` (a no-op if it does not exist, but it still locks the row).
    pub fn delete(&mut self, ks: Keyspace, key: &[u8]) -> Result<()> {
        self.write(ks.write_key(key), None)
    }

    fn write(&mut self, full: WriteKey, value: Option<Vec<u8>>) -> Result<()> {
        self.check_active()?;
        if self.read_only {
            return Err(Error::ReadOnlyTransaction("a write".into()));
        }
        // With nothing to lock or check, the write-set insert alone tells a
        // first write; otherwise the lock comes before the first write.
        if !self.needs_no_row_lock(&full) && !self.writes.read().contains_key(&full) {
            let locked = self.lock_row(&full, LockMode::Exclusive, self.wait_policy());
            self.guard(locked)?;
        }
        self.record_tracked_write(full, value)
    }

    /// True when a first write of `full` needs neither a row lock nor a
    /// first-updater check: its keyspace is escalated, and clean (or the
    /// level does not check first updaters).
    fn needs_no_row_lock(&self, full: &[u8]) -> bool {
        self.keyspace_locks
            .escalation(full)
            .is_some_and(|clean| clean || !self.level.first_updater_wins())
    }

    /// Records a write (its lock is held) and, if it is the key's first
    /// write at SERIALIZABLE, tells the SSI tracker — after the intent is
    /// published, as `ssi::conflicts` requires.
    fn record_tracked_write(&mut self, full: WriteKey, value: Option<Vec<u8>>) -> Result<()> {
        let key = (self.level == IsolationLevel::Serializable).then(|| full.clone());
        if self.record_write(full, value)
            && let Some(key) = key
        {
            let tracked = self.engine.ssi.on_write(self.id, &key);
            self.guard(tracked)?;
        }
        Ok(())
    }

    /// Publishes the intent (unless the keyspace is escalated: the write set
    /// is published in bulk then) and keeps the value in the write set. The
    /// row's exclusive lock, or its keyspace's, is held. Returns true when
    /// the key was not in the write set before.
    fn record_write(&mut self, full: WriteKey, value: Option<Vec<u8>>) -> bool {
        if !self.keyspace_locks.covers(&full) {
            self.engine
                .intents
                .put(full.to_vec(), self.id, value.clone());
        }
        let undo_key = self.undo.is_recording().then(|| full.to_vec());
        let mut writes = self.writes.write();
        let previous = writes.insert(full, value);
        self.write_count.store(writes.len(), Ordering::Relaxed);
        drop(writes);
        let first = previous.is_none();
        if let Some(key) = undo_key {
            self.undo.record(key, previous);
        }
        first
    }

    /// Writes `value` under `key` only if no row is there, as a locking read
    /// sees it (the newest committed version at READ COMMITTED and READ
    /// UNCOMMITTED, the snapshot's otherwise, and this transaction's own
    /// writes): returns `false`, writing nothing, if one is. The row is
    /// locked exclusively either way. This is the uniqueness check of an
    /// INSERT; at SERIALIZABLE it leaves no SIREAD when it writes, since
    /// the write it makes conflicts with any concurrent writer of the key
    /// already (first updater wins).
    pub fn insert(&mut self, ks: Keyspace, key: &[u8], value: &[u8]) -> Result<bool> {
        self.check_active()?;
        if self.read_only {
            return Err(Error::ReadOnlyTransaction("a write".into()));
        }
        let full = ks.write_key(key);
        let own = self.writes.read().get(&full).map(Option::is_some);
        if let Some(own) = own {
            if own {
                return Ok(false);
            }
            self.record_write(full, Some(value.to_vec()));
            return Ok(true);
        }
        let found = self
            .lock_row(&full, LockMode::Exclusive, self.wait_policy())
            .and_then(|newest| self.read_locked(&full, newest));
        let found = self.guard(found)?;
        if found.is_some() {
            if self.level == IsolationLevel::Serializable {
                let tracked = self.engine.ssi.on_read(self.id, &full);
                self.guard(tracked)?;
            }
            return Ok(false);
        }
        self.record_tracked_write(full, Some(value.to_vec()))?;
        Ok(true)
    }

    /// Opens a savepoint: a mark in the write set that
    /// [`Transaction::rollback_to_savepoint`] can return to. See
    /// [`crate::txn::savepoint`] for what a rollback keeps (row locks, SSI
    /// marks).
    pub fn savepoint(&mut self) -> Result<SavepointId> {
        self.check_active()?;
        Ok(self.undo.mark())
    }

    /// Undoes every write made since savepoint `id` (the write set and the
    /// published intents go back to their state at the mark). `id` stays
    /// open; savepoints taken after it are closed. Row locks taken since the
    /// mark stay held until the transaction ends.
    pub fn rollback_to_savepoint(&mut self, id: SavepointId) -> Result<()> {
        self.check_active()?;
        let undone = self.undo.rollback_to(id).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "savepoint {id:?} is not open in transaction {}",
                self.id
            ))
        })?;
        let mut writes = self.writes.write();
        for (key, previous) in undone {
            let covered = self.keyspace_locks.covers(&key);
            match previous {
                None => {
                    writes.remove(&key[..]);
                    if !covered {
                        self.engine.intents.remove(&key, self.id);
                    }
                }
                Some(value) => {
                    if !covered {
                        self.engine.intents.put(key.clone(), self.id, value.clone());
                    }
                    writes.insert(WriteKey::from(&key[..]), value);
                }
            }
        }
        self.write_count.store(writes.len(), Ordering::Relaxed);
        Ok(())
    }

    /// Closes savepoint `id` and every savepoint taken after it, keeping
    /// their writes.
    pub fn release_savepoint(&mut self, id: SavepointId) -> Result<()> {
        self.check_active()?;
        if self.undo.release(id) {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "savepoint {id:?} is not open in transaction {}",
                self.id
            )))
        }
    }

    fn wait_policy(&self) -> WaitPolicy {
        WaitPolicy::Wait(self.lock_timeout)
    }

    /// Takes a row lock — after its keyspace's intention lock, and not at
    /// all in an escalated keyspace (see [`crate::txn::escalation`]); at
    /// REPEATABLE READ and SERIALIZABLE fails with 40001 if the row changed
    /// after our snapshot. Returns the row's newest committed version when
    /// it looked it up: at those levels, unless the row lock was already
    /// held (it was checked when taken, and nobody can have committed the
    /// row since) or the keyspace is escalated and clean (no row of it
    /// changed after the snapshot).
    fn lock_row(
        &mut self,
        full: &[u8],
        mode: LockMode,
        policy: WaitPolicy,
    ) -> Result<Option<Option<Version>>> {
        let keyspace = Keyspace::of(full);
        let covered = match keyspace {
            Some(ks) => {
                self.keyspace_locks
                    .before_row_lock(&self.engine.locks, self.id, ks, policy)?
            }
            None => false,
        };
        let check = if covered {
            self.keyspace_locks.escalation(full) == Some(false)
        } else {
            let newly = self
                .engine
                .locks
                .acquire(self.id, full, mode, policy)
                .map_err(|e| self.check_active().err().unwrap_or(e))?;
            if newly
                && let Some(ks) = keyspace
                && self.keyspace_locks.row_locked(
                    &self.engine.locks,
                    &self.engine.keyspace_commits,
                    self.id,
                    ks,
                    self.snapshot.seq(),
                )?
            {
                self.escalated(ks);
            }
            newly
        };
        if !check || !self.level.first_updater_wins() {
            return Ok(None);
        }
        let newest = self.engine.store.get_version(full, MAX_SEQ)?;
        if let Some((seq, _, _)) = &newest
            && *seq > self.snapshot.seq()
        {
            return Err(Error::SerializationFailure(format!(
                "concurrent update: the row was changed by a transaction that committed after transaction {} began",
                self.id
            )));
        }
        Ok(Some(newest))
    }

    /// `ks` was just escalated: publish the write set in bulk, then drop
    /// the per-key intents already published in `ks` (in that order, so a
    /// reader always finds them).
    fn escalated(&self, ks: Keyspace) {
        self.engine
            .intents
            .publish_bulk(self.id, self.engine.shard, &self.writes);
        let (lower, upper) = ks.bounds(Bound::Unbounded, Bound::Unbounded);
        let writes = self.writes.read();
        let lower = lower.as_ref().map(Vec::as_slice);
        let upper = upper.as_ref().map(Vec::as_slice);
        for (key, _) in writes.within(lower, upper) {
            self.engine.intents.remove(key, self.id);
        }
    }

    /// Locks `full` and reads it as a locking read does (see
    /// [`Transaction::insert`]), without any SIREAD.
    fn locked_read(
        &mut self,
        full: &[u8],
        mode: LockMode,
        policy: WaitPolicy,
    ) -> Result<Option<Vec<u8>>> {
        let newest = self.lock_row(full, mode, policy)?;
        if let Some(own) = self.writes.read().get(full) {
            return Ok(own.clone());
        }
        self.read_locked(full, newest)
    }

    /// Reads a row this transaction has just locked and not written, as a
    /// locking read sees it; `newest` is what [`Transaction::lock_row`]
    /// returned.
    fn read_locked(&self, full: &[u8], newest: Option<Option<Version>>) -> Result<Option<Vec<u8>>> {
        let version = match newest {
            // At RR/SER the newest version is no newer than the snapshot,
            // so it is the one the snapshot sees.
            Some(newest) => newest,
            None if self.level.snapshot_per_statement() => {
                self.engine.store.get_version(full, MAX_SEQ)?
            }
            None => {
                return self.engine.store.get_at(full, self.snapshot.seq());
            }
        };
        Ok(match version {
            Some((_, ValueKind::Put, value)) => Some(value),
            _ => None,
        })
    }

    /// `SELECT ... FOR UPDATE`: locks the row exclusively, then reads it. At
    /// READ COMMITTED it returns the newest committed version.
    pub fn get_for_update(&mut self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.lock_and_read(ks, key, LockMode::Exclusive, self.wait_policy())
    }

    /// `SELECT ... FOR SHARE`: locks the row in shared mode, then reads it.
    pub fn lock_shared(&mut self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.lock_and_read(ks, key, LockMode::Shared, self.wait_policy())
    }

    /// Locks and reads a row with an explicit wait policy (`NoWait` for `NOWAIT`).
    pub fn lock_and_read(
        &mut self,
        ks: Keyspace,
        key: &[u8],
        mode: LockMode,
        policy: WaitPolicy,
    ) -> Result<Option<Vec<u8>>> {
        self.check_active()?;
        let full = ks.key(key);
        let value = self.locked_read(&full, mode, policy);
        let value = value.and_then(|v| {
            if self.level == IsolationLevel::Serializable {
                self.engine.ssi.on_read(self.id, &full)?;
            }
            Ok(v)
        });
        self.guard(value)
    }

    /// Tries to lock a row without waiting; `Ok(false)` if another transaction
    /// holds it (for `SKIP LOCKED`).
    pub fn try_lock(&mut self, ks: Keyspace, key: &[u8], mode: LockMode) -> Result<bool> {
        self.check_active()?;
        let full = ks.key(key);
        match self.lock_row(&full, mode, WaitPolicy::NoWait) {
            Ok(_) => Ok(true),
            Err(Error::LockTimeout(_)) => Ok(false),
            Err(e) => self.guard(Err(e)),
        }
    }

    /// Commits: the write set becomes visible atomically at the returned
    /// commit timestamp, durably (as the store's durability says).
    pub fn commit(mut self) -> Result<CommitTs> {
        self.check_active()?;
        let serializable = self.level == IsolationLevel::Serializable && self.owns_ssi;
        if serializable {
            let checked = self.engine.ssi.prepare_commit(self.id);
            self.guard(checked)?;
        }
        let seq = self.commit_batch()?;
        let commit_ts = seq.unwrap_or_else(|| self.engine.store.last_seq());
        if serializable {
            self.engine
                .ssi
                .committed(self.id, commit_ts, self.writes.read().keys());
        }
        self.finish_commit(seq);
        Ok(commit_ts)
    }

    /// Writes the write set as one atomic batch (one phase: this is the
    /// commit) and returns its sequence number, or `None` when there is
    /// nothing to write. Intents and locks stay until
    /// [`Transaction::finish_commit`]; a failed write aborts.
    pub(crate) fn commit_batch(&mut self) -> Result<Option<CommitTs>> {
        self.check_active()?;
        let writes = Arc::clone(&self.writes);
        let writes = writes.read();
        if writes.is_empty() {
            return Ok(None);
        }
        let bytes = writes
            .iter()
            .map(|(key, value)| key.len() + value.as_ref().map_or(0, Vec::len) + 11)
            .sum();
        let mut batch = WriteBatch::with_capacity(bytes);
        for (key, value) in writes.iter() {
            match value {
                Some(v) => batch.put(key, v),
                None => batch.delete(key),
            };
        }
        drop(writes);
        match self.engine.store.write(batch) {
            Ok(seq) => Ok(Some(seq)),
            // Refused before anything was logged.
            Err(e @ (Error::KeyTooLarge { .. } | Error::ValueTooLarge { .. })) => {
                self.abort(e.to_string());
                Err(e)
            }
            Err(e) => {
                // The log failed under the commit record (a crash, a failed
                // fsync): it may have reached the disk or not, so the
                // outcome is unknown, not a refusal (recovery decides). A log
                // that had failed before this commit refuses it too, and is
                // reported the same way: unknown is never wrong.
                self.abort(e.to_string());
                Err(Error::OutcomeUnknown {
                    txn: self.id,
                    reason: format!(
                        "the log failed while the commit was written ({e}); \
                         read the data to know whether it committed"
                    ),
                })
            }
        }
    }

    /// After [`Transaction::commit_batch`] (and, for a cluster transaction,
    /// the SSI tracker's `committed`): withdraws the intents, releases the
    /// locks and ends the transaction.
    pub(crate) fn finish_commit(mut self, seq: Option<CommitTs>) {
        if let Some(seq) = seq {
            self.engine
                .keyspace_commits
                .record(self.keyspace_locks.keyspaces(), seq);
        }
        self.finish();
        self.engine.active.lock().remove(&self.id);
        self.status = Status::Committed;
    }

    /// The keys this transaction wrote (stored form), for the SSI tracker's
    /// `committed` of a cluster transaction.
    pub(crate) fn written_keys(&self) -> Vec<WriteKey> {
        self.writes.read().keys().cloned().collect()
    }

    /// Keys written so far.
    pub(crate) fn write_count(&self) -> usize {
        self.writes.read().len()
    }

    /// True when the transaction has written nothing (yet).
    pub fn has_no_writes(&self) -> bool {
        self.writes.read().is_empty()
    }

    /// Rolls back: nothing it wrote becomes visible; its locks are released.
    /// Rolling back an aborted transaction is allowed and does nothing more.
    pub fn rollback(mut self) -> Result<()> {
        self.rollback_in_place();
        Ok(())
    }

    fn rollback_in_place(&mut self) {
        if self.status == Status::Active {
            self.release();
            self.status = Status::RolledBack;
        }
    }

    /// First phase of two-phase commit: durably records the write set and
    /// keeps the row locks, so the transaction survives a crash; finish it
    /// with [`crate::txn::Engine::commit_prepared`] or `rollback_prepared`.
    pub fn prepare(self) -> Result<TxnId> {
        let coordination = Coordination::local(self.engine.shard, None);
        self.prepare_with(coordination)
    }

    /// [`Transaction::prepare`] with the coordinator's bookkeeping in the
    /// record: the home shard, the participants, a global id.
    pub fn prepare_with(mut self, coordination: Coordination) -> Result<TxnId> {
        self.check_active()?;
        let serializable = self.level == IsolationLevel::Serializable && self.owns_ssi;
        if serializable {
            let checked = self.engine.ssi.prepare_commit(self.id);
            self.guard(checked)?;
        }
        let mut batch = WriteBatch::new();
        batch.put(
            prepared_key(self.id),
            prepared::encode(self.level, &coordination, &self.writes.read()),
        );
        if let Err(e) = self
            .engine
            .store
            .write_with(batch, crate::storage::Durability::Sync)
        {
            self.abort(e.to_string());
            return Err(e);
        }
        self.engine.add_prepared(
            self.id,
            PreparedTxn {
                level: self.level,
                // A copy: an escalated transaction's intents stay published
                // through the shared set until commit_prepared/rollback_prepared.
                writes: self.writes.read().clone(),
                tracked: serializable,
                coordination,
                since: Instant::now(),
            },
        );
        self.engine.active.lock().remove(&self.id);
        self.status = Status::Prepared;
        Ok(self.id)
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        self.rollback_in_place();
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("id", &self.id)
            .field("level", &self.level)
            .field("snapshot", &self.snapshot.seq())
            .field("status", &self.status)
            .field("writes", &self.writes.read().len())
            .finish()
    }
}
