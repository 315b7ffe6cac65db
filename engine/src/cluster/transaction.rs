//! [`ClusterTransaction`]: one transaction over the shards of a cluster —
//! one id, one snapshot, and a part (an engine [`Transaction`]) on every
//! shard it touches, begun when it first touches it.
//!
//! Reads and writes go to the shard their keyspace names
//! ([`crate::txn::Keyspace::shard`]); [`ClusterTransaction::scan_merged`]
//! reads one keyspace on several shards in one key order. At SERIALIZABLE
//! the transaction registers once with the shared SSI tracker, and every
//! part reports its reads and writes there under the same id, so a
//! dangerous structure spanning shards is seen whole. A retryable failure
//! on any shard (40001, 40P01, 55P03, a shard that went down) rolls back
//! every part at once. Commit is the coordinator's
//! ([`crate::cluster::coordinator`]): one phase when at most one shard was
//! written, two-phase commit otherwise.

use std::ops::RangeBounds;
use std::sync::Arc;
use std::time::Duration;

use crate::cluster::cluster::ClusterInner;
use crate::cluster::coordinator;
use crate::cluster::merge::MergedScan;
use crate::storage::Snapshot;
use crate::txn::lock::LockMode;
use crate::txn::{
    CommitTs, IsolationLevel, Keyspace, SavepointId, Transaction, TransactionOptions, TxnId,
    TxnScan, WaitPolicy,
};
use crate::{Error, Result};

/// One shard's part of a cluster transaction.
pub(crate) struct Part {
    pub txn: Transaction,
    /// The shard's epoch when the part began (a crash since loses it).
    pub epoch: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Active,
    Failed(String),
    Finished,
}

/// A transaction over the shards of a [`crate::cluster::Cluster`]. `Send`.
/// Dropping it while active rolls it back.
pub struct ClusterTransaction {
    pub(crate) cluster: Arc<ClusterInner>,
    pub(crate) id: TxnId,
    pub(crate) options: TransactionOptions,
    snapshot: Snapshot,
    /// Parts by shard number.
    pub(crate) parts: Vec<Option<Part>>,
    /// Shards in the order they were first written: the first is home.
    pub(crate) written: Vec<u16>,
    pub(crate) status: Status,
    lock_timeout: Option<Duration>,
    /// Open savepoints, oldest first: each part's mark (parts begun after
    /// the savepoint get a mark at their start).
    savepoints: Vec<Vec<(u16, SavepointId)>>,
    /// Registered with the SSI tracker (SERIALIZABLE), not yet told the end.
    pub(crate) ssi_registered: bool,
}

/// A savepoint of a cluster transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClusterSavepoint(usize);

impl ClusterTransaction {
    pub(crate) fn begin(cluster: Arc<ClusterInner>, options: TransactionOptions) -> Self {
        let id = cluster.services.next_txn_id();
        let oracle = Arc::clone(&cluster.services.oracle);
        let serializable = options.level == IsolationLevel::Serializable;
        let snapshot = if serializable {
            // Taken under the tracker's lock: no commit slips between the
            // snapshot and the registration.
            cluster.services.ssi.begin_with(id, options.read_only, || {
                let snapshot = oracle.snapshot();
                let seq = snapshot.seq();
                (snapshot, seq)
            })
        } else {
            oracle.snapshot()
        };
        let shards = cluster.shards.len();
        cluster.open.lock().insert(
            id,
            crate::cluster::cluster::OpenTransaction {
                level: options.level,
                read_only: options.read_only,
                snapshot: snapshot.seq(),
                started: std::time::Instant::now(),
            },
        );
        ClusterTransaction {
            lock_timeout: cluster.options.engine.lock_timeout,
            cluster,
            id,
            options,
            snapshot,
            parts: (0..shards).map(|_| None).collect(),
            written: Vec::new(),
            status: Status::Active,
            savepoints: Vec::new(),
            ssi_registered: serializable,
        }
    }

    /// The transaction's id (the same on every shard).
    pub fn id(&self) -> TxnId {
        self.id
    }

    /// Its isolation level.
    pub fn level(&self) -> IsolationLevel {
        self.options.level
    }

    /// True when declared read-only.
    pub fn is_read_only(&self) -> bool {
        self.options.read_only
    }

    /// True until commit, rollback, prepare or an aborting error.
    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }

    /// The sequence number the current snapshot reads at (on every shard).
    pub fn snapshot_seq(&self) -> u64 {
        self.snapshot.seq()
    }

    /// The shards it has touched so far, ascending.
    pub fn shards_touched(&self) -> Vec<u16> {
        (0u16..)
            .zip(&self.parts)
            .filter(|(_, p)| p.is_some())
            .map(|(n, _)| n)
            .collect()
    }

    /// Changes how long it waits for row locks (`None`: until granted).
    pub fn set_lock_timeout(&mut self, timeout: Option<Duration>) {
        self.lock_timeout = timeout;
        for part in self.parts.iter_mut().flatten() {
            part.txn.set_lock_timeout(timeout);
        }
    }

    /// Starts a new statement: READ COMMITTED and READ UNCOMMITTED take a
    /// fresh snapshot, the same one on every shard.
    pub fn new_statement(&mut self) {
        if self.status == Status::Active && self.options.level.snapshot_per_statement() {
            self.snapshot = self.cluster.services.oracle.snapshot();
            if let Some(open) = self.cluster.open.lock().get_mut(&self.id) {
                open.snapshot = self.snapshot.seq();
            }
            for part in self.parts.iter_mut().flatten() {
                part.txn.set_snapshot(self.snapshot.clone());
            }
        }
    }

    pub(crate) fn check_active(&self) -> Result<()> {
        match &self.status {
            Status::Active => Ok(()),
            Status::Failed(why) => Err(Error::TransactionNotActive(format!(
                "transaction {} was aborted ({why}); roll it back and retry",
                self.id
            ))),
            Status::Finished => Err(Error::TransactionNotActive(format!(
                "transaction {} is finished",
                self.id
            ))),
        }
    }

    /// The part on `shard`, begun now if this is the first touch.
    fn part(&mut self, shard: u16) -> Result<&mut Transaction> {
        self.check_active()?;
        let slot = Arc::clone(self.cluster.shard(shard)?);
        let index = usize::from(shard);
        let stale = self.parts[index]
            .as_ref()
            .is_some_and(|part| part.epoch != slot.epoch());
        if stale {
            return Err(self.fail(Error::ShardUnavailable {
                shard,
                reason: "it restarted during the transaction".into(),
            }));
        }
        if self.parts[index].is_none() {
            let epoch = slot.epoch();
            let engine = match slot.engine() {
                Ok(engine) => engine,
                Err(e) => return Err(self.fail(e)),
            };
            let mut txn = engine.begin_participant(self.id, self.options, self.snapshot.clone());
            txn.set_lock_timeout(self.lock_timeout);
            for marks in &mut self.savepoints {
                if let Ok(mark) = txn.savepoint() {
                    marks.push((shard, mark));
                }
            }
            self.parts[index] = Some(Part { txn, epoch });
        }
        match self.parts[index].as_mut() {
            Some(part) => Ok(&mut part.txn),
            None => Err(Error::InvalidArgument(format!("no part on shard {shard}"))),
        }
    }

    /// A failure on one shard: if it aborts the transaction there, it
    /// aborts it everywhere. Returns the error for the caller.
    fn fail(&mut self, error: Error) -> Error {
        if error.is_retryable() || matches!(error, Error::Poisoned(_) | Error::Closed) {
            self.abort(error.to_string());
        }
        error
    }

    /// Rolls back every part and ends the SSI registration.
    pub(crate) fn abort(&mut self, why: String) {
        self.release_parts();
        if self.status == Status::Active {
            self.status = Status::Failed(why);
        }
    }

    pub(crate) fn release_parts(&mut self) {
        for part in self.parts.iter_mut().filter_map(Option::take) {
            let _ = part.txn.rollback();
        }
        if self.ssi_registered {
            self.cluster.services.ssi.aborted(self.id);
            self.ssi_registered = false;
        }
    }

    /// Begins the part on `shard` if there is none yet.
    pub(crate) fn touch(&mut self, shard: u16) -> Result<()> {
        self.part(shard).map(|_| ())
    }

    /// Runs `f` on the part of `ks`'s shard, aborting everywhere on a
    /// retryable failure.
    fn on<T>(&mut self, ks: Keyspace, f: impl FnOnce(&mut Transaction) -> Result<T>) -> Result<T> {
        let result = f(self.part(ks.shard())?);
        result.map_err(|e| self.fail(e))
    }

    /// Like [`ClusterTransaction::on`] for a write: remembers the shard as
    /// written (the first written shard is the home of a cross-shard commit).
    fn write_on<T>(
        &mut self,
        ks: Keyspace,
        f: impl FnOnce(&mut Transaction) -> Result<T>,
    ) -> Result<T> {
        let result = self.on(ks, f);
        if result.is_ok() && !self.written.contains(&ks.shard()) {
            self.written.push(ks.shard());
        }
        result
    }

    /// Reads `key` of `ks` (on `ks`'s shard).
    pub fn get(&mut self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.on(ks, |txn| txn.get(ks, key))
    }

    /// Scans `range` of `ks` (on `ks`'s shard).
    pub fn scan(&mut self, ks: Keyspace, range: impl RangeBounds<[u8]>) -> Result<TxnScan> {
        self.on(ks, |txn| txn.scan(ks, range))
    }

    /// Scans `range` of the same keyspace on several shards (`keyspaces`,
    /// one per shard), in one key order.
    pub fn scan_merged<R: RangeBounds<[u8]> + Clone>(
        &mut self,
        keyspaces: &[Keyspace],
        range: R,
    ) -> Result<TxnScan> {
        if let [only] = keyspaces {
            return self.scan(*only, range);
        }
        let mut scans = Vec::with_capacity(keyspaces.len());
        for &ks in keyspaces {
            scans.push(self.scan(ks, range.clone())?);
        }
        Ok(Box::new(MergedScan::new(scans)))
    }

    /// Writes `value` under `key` of `ks`.
    pub fn put(&mut self, ks: Keyspace, key: &[u8], value: &[u8]) -> Result<()> {
        self.write_on(ks, |txn| txn.put(ks, key, value))
    }

    /// Deletes `key` of `ks`.
    pub fn delete(&mut self, ks: Keyspace, key: &[u8]) -> Result<()> {
        self.write_on(ks, |txn| txn.delete(ks, key))
    }

    /// Writes `value` under `key` only if no row is there (see
    /// [`Transaction::insert`]).
    pub fn insert(&mut self, ks: Keyspace, key: &[u8], value: &[u8]) -> Result<bool> {
        self.write_on(ks, |txn| txn.insert(ks, key, value))
    }

    /// `SELECT ... FOR UPDATE` of one row.
    pub fn get_for_update(&mut self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.on(ks, |txn| txn.get_for_update(ks, key))
    }

    /// `SELECT ... FOR SHARE` of one row.
    pub fn lock_shared(&mut self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.on(ks, |txn| txn.lock_shared(ks, key))
    }

    /// Locks and reads a row with an explicit wait policy.
    pub fn lock_and_read(
        &mut self,
        ks: Keyspace,
        key: &[u8],
        mode: LockMode,
        policy: WaitPolicy,
    ) -> Result<Option<Vec<u8>>> {
        self.on(ks, |txn| txn.lock_and_read(ks, key, mode, policy))
    }

    /// Tries to lock a row without waiting (`SKIP LOCKED`).
    pub fn try_lock(&mut self, ks: Keyspace, key: &[u8], mode: LockMode) -> Result<bool> {
        self.on(ks, |txn| txn.try_lock(ks, key, mode))
    }

    /// True when it has written a key of `ks`.
    pub fn has_writes_in(&self, ks: Keyspace) -> bool {
        self.parts
            .get(usize::from(ks.shard()))
            .and_then(Option::as_ref)
            .is_some_and(|part| part.txn.has_writes_in(ks))
    }

    /// Opens a savepoint on every part (and on parts begun later).
    pub fn savepoint(&mut self) -> Result<ClusterSavepoint> {
        self.check_active()?;
        let mut marks = Vec::new();
        for (shard, part) in (0u16..).zip(self.parts.iter_mut()) {
            if let Some(part) = part {
                marks.push((shard, part.txn.savepoint()?));
            }
        }
        self.savepoints.push(marks);
        Ok(ClusterSavepoint(self.savepoints.len() - 1))
    }

    /// Undoes every write since `savepoint`, on every shard; it stays open,
    /// later ones close.
    pub fn rollback_to_savepoint(&mut self, savepoint: ClusterSavepoint) -> Result<()> {
        self.check_active()?;
        let marks = self.savepoint_marks(savepoint)?;
        for (shard, mark) in marks {
            if let Some(part) = self.parts[usize::from(shard)].as_mut() {
                part.txn.rollback_to_savepoint(mark)?;
            }
        }
        self.savepoints.truncate(savepoint.0 + 1);
        Ok(())
    }

    /// Closes `savepoint` and every later one, keeping their writes.
    pub fn release_savepoint(&mut self, savepoint: ClusterSavepoint) -> Result<()> {
        self.check_active()?;
        let marks = self.savepoint_marks(savepoint)?;
        for (shard, mark) in marks {
            if let Some(part) = self.parts[usize::from(shard)].as_mut() {
                part.txn.release_savepoint(mark)?;
            }
        }
        self.savepoints.truncate(savepoint.0);
        Ok(())
    }

    fn savepoint_marks(&self, savepoint: ClusterSavepoint) -> Result<Vec<(u16, SavepointId)>> {
        self.savepoints.get(savepoint.0).cloned().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "savepoint {savepoint:?} is not open in transaction {}",
                self.id
            ))
        })
    }

    /// Commits: on one shard in one phase, on several by two-phase commit;
    /// returns the commit timestamp (the same on every shard).
    pub fn commit(self) -> Result<CommitTs> {
        coordinator::commit(self)
    }

    /// `PREPARE TRANSACTION 'gid'`: prepares every part durably under the
    /// global id `gid`, for an outside coordinator to finish with
    /// [`crate::cluster::Cluster::commit_prepared`] or `rollback_prepared`.
    pub fn prepare(self, gid: &str) -> Result<()> {
        coordinator::prepare_global(self, gid)
    }

    /// Rolls back everything.
    pub fn rollback(mut self) -> Result<()> {
        self.release_parts();
        self.status = Status::Finished;
        Ok(())
    }

    /// Takes the parts out for the commit protocol (the transaction is
    /// finished from now on), with their shard numbers.
    pub(crate) fn take_parts(&mut self) -> Vec<(u16, Part)> {
        self.status = Status::Finished;
        (0u16..)
            .zip(self.parts.iter_mut())
            .filter_map(|(shard, part)| part.take().map(|p| (shard, p)))
            .collect()
    }
}

impl Drop for ClusterTransaction {
    fn drop(&mut self) {
        if self.status == Status::Active || self.ssi_registered {
            self.release_parts();
        }
        self.cluster.open.lock().remove(&self.id);
    }
}

impl std::fmt::Debug for ClusterTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterTransaction")
            .field("id", &self.id)
            .field("level", &self.options.level)
            .field("snapshot", &self.snapshot.seq())
            .field("status", &self.status)
            .field("shards", &self.shards_touched())
            .finish()
    }
}
