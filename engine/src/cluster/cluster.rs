//! [`Cluster`]: one database over N shard engines — opening (and recovering)
//! them, the background work that keeps them agreeing (in-doubt resolution,
//! cross-shard deadlock detection), and the entry points for transactions,
//! prepared transactions and fault injection.

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::cluster::coordinator;
use crate::cluster::deadlock;
use crate::cluster::failpoints::Failpoints;
use crate::cluster::layout::Layout;
use crate::cluster::resolver::{self, Resolver};
use crate::cluster::shard::Shard;
use crate::cluster::transaction::ClusterTransaction;
use crate::cluster::transport::Transport;
use crate::storage::CrashKind;
use crate::txn::{
    ClusterServices, CommitTs, Coordination, Engine, EngineOptions, IsolationLevel,
    TransactionOptions, TxnId,
};
use crate::{Error, Result};

/// How a cluster is opened and how patient its protocol is.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Options of every shard's engine.
    pub engine: EngineOptions,
    /// Shards of a new database (`None`: 1). An existing database keeps
    /// its count; asking for another is an error.
    pub shards: Option<u16>,
    /// How long a message may go unanswered before it counts as lost.
    pub request_timeout: Duration,
    /// How long a coordinator keeps asking the home shard for the decision
    /// before it reports the outcome unknown (08007).
    pub decision_deadline: Duration,
    /// How long a prepared transaction may wait for its decision before a
    /// resolver settles it (presumed abort, by a conditional write of the
    /// status record, so a live coordinator is never contradicted).
    pub in_doubt_timeout: Duration,
    /// How often the background thread looks for in-doubt transactions and
    /// unfinished commits.
    pub resolve_interval: Duration,
    /// How often it looks for deadlocks whose cycle spans shards.
    pub deadlock_interval: Duration,
    /// Seed of the transport's fault generator.
    pub fault_seed: u64,
    /// Failpoints to arm from the start (so recovery at open can be
    /// stopped too); `None` gives the cluster its own, unarmed.
    pub failpoints: Option<Arc<Failpoints>>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            engine: EngineOptions::default(),
            shards: None,
            request_timeout: Duration::from_millis(100),
            decision_deadline: Duration::from_secs(5),
            in_doubt_timeout: Duration::from_secs(5),
            resolve_interval: Duration::from_millis(50),
            deadlock_interval: Duration::from_millis(10),
            fault_seed: 0x15_0DB,
            failpoints: None,
        }
    }
}

/// What every handle and transaction of a cluster shares.
pub(crate) struct ClusterInner {
    pub layout: Layout,
    pub shards: Vec<Arc<Shard>>,
    pub services: ClusterServices,
    pub transport: Transport,
    pub failpoints: Arc<Failpoints>,
    pub options: ClusterOptions,
    pub resolver: Resolver,
    /// Global ids being committed or rolled back right now.
    pub finishing_gids: Mutex<Vec<String>>,
    /// Open cluster transactions (a transaction that has touched no shard
    /// yet is in no engine's list).
    pub open: Mutex<std::collections::HashMap<TxnId, OpenTransaction>>,
}

/// What the cluster knows of an open transaction.
pub(crate) struct OpenTransaction {
    pub level: IsolationLevel,
    pub read_only: bool,
    pub snapshot: u64,
    pub started: std::time::Instant,
}

impl ClusterInner {
    /// Shard `number`, or an error for a keyspace of no shard.
    pub fn shard(&self, number: u16) -> Result<&Arc<Shard>> {
        self.shards
            .get(usize::from(number))
            .ok_or_else(|| Error::InvalidArgument(format!("there is no shard {number}")))
    }
}

/// Stops and joins the background thread when the last handle goes.
struct Background {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Background {
    fn drop(&mut self) {
        {
            let (stopped, wake) = &*self.stop;
            *stopped.lock() = true;
            wake.notify_all();
        }
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

/// A database of one or more shards. Cheap to clone; share it between
/// threads. See [`crate::cluster`] for the design.
///
/// ```
/// use isodb_engine::cluster::{Cluster, ClusterOptions};
/// use isodb_engine::txn::{IsolationLevel, Keyspace};
/// let dir = tempfile::tempdir().expect("temp dir");
/// let cluster = Cluster::open(dir.path(), ClusterOptions { shards: Some(2), ..ClusterOptions::default() })?;
/// let accounts = cluster.keyspace("accounts")?; // one keyspace per shard
/// let mut txn = cluster.begin(IsolationLevel::Serializable);
/// txn.put(accounts[0], b"alice", b"100")?; // shard 0
/// txn.put(accounts[1], b"bob", b"50")?;    // shard 1: a two-phase commit
/// txn.commit()?;
/// let mut txn = cluster.begin(IsolationLevel::RepeatableRead);
/// assert_eq!(txn.get(accounts[1], b"bob")?, Some(b"50".to_vec()));
/// # Ok::<(), isodb_engine::Error>(())
/// ```
#[derive(Clone)]
pub struct Cluster {
    pub(crate) inner: Arc<ClusterInner>,
    _background: Option<Arc<Background>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("root", &self.inner.layout.root)
            .field("shards", &self.inner.shards.len())
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Opens (and recovers) the database in `dir`, creating it with
    /// `options.shards` shards when there is none. Recovery applies every
    /// decision found in a status record and rolls back every in-doubt
    /// transaction without one (its coordinator died with the process), so
    /// when this returns every shard agrees on every transaction; only
    /// `PREPARE TRANSACTION`s of outside coordinators stay in doubt.
    pub fn open(dir: impl AsRef<Path>, options: ClusterOptions) -> Result<Cluster> {
        let layout = Layout::open_or_create(dir.as_ref(), options.shards)?;
        let services = ClusterServices::new();
        let mut shards = Vec::with_capacity(usize::from(layout.shards));
        for number in 0..layout.shards {
            let shard = Shard::open(
                number,
                &layout.shard_dir(number),
                options.engine.clone(),
                &services,
            )?;
            shards.push(Arc::new(shard));
        }
        let inner = Arc::new(ClusterInner {
            transport: Transport::new(options.request_timeout, options.fault_seed),
            layout,
            shards,
            services,
            failpoints: options.failpoints.clone().unwrap_or_default(),
            resolver: Resolver::default(),
            finishing_gids: Mutex::new(Vec::new()),
            open: Mutex::new(std::collections::HashMap::new()),
            options,
        });
        resolver::recover(&inner)?;
        let background = if inner.shards.len() > 1 {
            Some(Arc::new(start_background(&inner)?))
        } else {
            None
        };
        Ok(Cluster {
            inner,
            _background: background,
        })
    }

    /// Number of shards.
    pub fn shard_count(&self) -> u16 {
        self.inner.layout.shards
    }

    /// Shard `number`'s engine (while it is up).
    pub fn engine(&self, number: u16) -> Result<Engine> {
        self.inner.shard(number)?.engine()
    }

    /// Shard `number` (for fault injection: crash, restart).
    pub fn shard(&self, number: u16) -> Result<Arc<Shard>> {
        self.inner.shard(number).cloned()
    }

    /// The services the shards share (clock, ids, SSI tracker).
    pub fn services(&self) -> &ClusterServices {
        &self.inner.services
    }

    /// The transport between coordinator and shards (fault injection).
    pub fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// The failpoints of the commit protocol (fault injection).
    pub fn failpoints(&self) -> &Failpoints {
        &self.inner.failpoints
    }

    /// The options the cluster was opened with.
    pub fn options(&self) -> &ClusterOptions {
        &self.inner.options
    }

    /// The keyspace called `name` on every shard (index = shard number),
    /// created on first use.
    pub fn keyspace(&self, name: &str) -> Result<Vec<crate::txn::Keyspace>> {
        self.inner
            .shards
            .iter()
            .map(|shard| shard.engine()?.keyspace(name))
            .collect()
    }

    /// Begins a read-write transaction at `level`.
    pub fn begin(&self, level: IsolationLevel) -> ClusterTransaction {
        self.begin_with(TransactionOptions {
            level,
            read_only: false,
        })
    }

    /// Begins a transaction with `options`: one id and one snapshot on every
    /// shard it touches.
    pub fn begin_with(&self, options: TransactionOptions) -> ClusterTransaction {
        ClusterTransaction::begin(Arc::clone(&self.inner), options)
    }

    /// Prepared transactions of the whole database, one entry per
    /// transaction (its participants merged), oldest first.
    pub fn prepared_transactions(&self) -> Vec<PreparedTransaction> {
        let mut found: Vec<PreparedTransaction> = Vec::new();
        for shard in &self.inner.shards {
            let Ok(engine) = shard.engine() else {
                continue;
            };
            for doubt in engine.in_doubt() {
                match found.iter_mut().find(|p| p.id == doubt.id) {
                    Some(entry) => {
                        entry.rows += doubt.writes;
                        entry.age = entry.age.max(doubt.age);
                    }
                    None => found.push(PreparedTransaction {
                        id: doubt.id,
                        level: doubt.level,
                        rows: doubt.writes,
                        age: doubt.age,
                        coordination: doubt.coordination,
                    }),
                }
            }
        }
        found.sort_by_key(|p| p.id);
        found
    }

    /// `COMMIT PREPARED 'gid'`: decides and applies the commit of the
    /// transaction an outside coordinator prepared under `gid`.
    pub fn commit_prepared(&self, gid: &str) -> Result<CommitTs> {
        let _guard = self.finishing(gid)?;
        let prepared = self.find_gid(gid)?;
        coordinator::commit_prepared(&self.inner, prepared.id, &prepared.coordination)
    }

    /// `ROLLBACK PREPARED 'gid'`.
    pub fn rollback_prepared(&self, gid: &str) -> Result<()> {
        let _guard = self.finishing(gid)?;
        let prepared = self.find_gid(gid)?;
        coordinator::rollback_prepared(&self.inner, prepared.id, &prepared.coordination)
    }

    fn find_gid(&self, gid: &str) -> Result<PreparedTransaction> {
        self.prepared_transactions()
            .into_iter()
            .find(|p| p.coordination.gid.as_deref() == Some(gid))
            .ok_or_else(|| Error::UnknownPreparedTransaction(gid.to_string()))
    }

    fn finishing(&self, gid: &str) -> Result<GidGuard> {
        let mut busy = self.inner.finishing_gids.lock();
        if busy.iter().any(|g| g == gid) {
            return Err(Error::LockTimeout(format!(
                "prepared transaction \"{gid}\" is being finished by another session"
            )));
        }
        busy.push(gid.to_string());
        Ok(GidGuard {
            inner: Arc::clone(&self.inner),
            gid: gid.to_string(),
        })
    }

    /// Fault injection: crashes shard `number` at this instant (see
    /// [`Shard::crash`]).
    pub fn crash_shard(&self, number: u16, kind: CrashKind) -> Result<()> {
        self.inner.shard(number)?.crash(kind)
    }

    /// Restarts a crashed shard and settles its in-doubt transactions
    /// (those the home shard has decided, at once; the others by timeout).
    pub fn restart_shard(&self, number: u16) -> Result<()> {
        let shard = Arc::clone(self.inner.shard(number)?);
        // A transaction holding a part of the crashed engine may wait for a
        // lock on another shard held by a transaction that stays in doubt
        // until this shard is back: end the lock waits of every open
        // transaction while the restart waits (they fail with 57014, and
        // can be retried), so the restart cannot wait for itself.
        let nudge = || {
            let open: Vec<TxnId> = self.inner.open.lock().keys().copied().collect();
            for id in open {
                self.cancel_wait(id);
            }
        };
        let held = shard.restart(Duration::from_secs(30), &nudge)?;
        resolver::settle_restarted(&self.inner, &shard, &held);
        Ok(())
    }

    /// Row and keyspace locks held and awaited on every shard (a key names
    /// its shard: see [`crate::txn::Keyspace::shard`]).
    pub fn locks(&self) -> Vec<crate::txn::lock::LockInfo> {
        let mut locks: Vec<_> = self
            .up_engines()
            .flat_map(|engine| engine.locks())
            .collect();
        locks.sort_by(|a, b| a.key.cmp(&b.key));
        locks
    }

    /// Whom transaction `id` waits for right now, on any shard.
    pub fn waits_for(&self, id: TxnId) -> Vec<TxnId> {
        let mut blockers: Vec<TxnId> = self
            .up_engines()
            .flat_map(|engine| engine.waits_for(id))
            .collect();
        blockers.sort_unstable();
        blockers.dedup();
        blockers
    }

    /// Open transactions, one entry per transaction (its parts merged:
    /// writes summed, the oldest age), oldest first.
    pub fn transactions(&self) -> Vec<crate::txn::TransactionInfo> {
        let parts: Vec<crate::txn::TransactionInfo> = self
            .up_engines()
            .flat_map(|engine| engine.transactions())
            .collect();
        let mut list: Vec<crate::txn::TransactionInfo> = self
            .inner
            .open
            .lock()
            .iter()
            .map(|(&id, open)| crate::txn::TransactionInfo {
                id,
                level: open.level,
                snapshot: open.snapshot,
                read_only: open.read_only,
                writes: parts.iter().filter(|p| p.id == id).map(|p| p.writes).sum(),
                age: open.started.elapsed(),
            })
            .collect();
        list.sort_by_key(|t| t.id);
        list
    }

    /// Ends transaction `id`'s wait on whichever shard it waits (57014 for
    /// the statement). Returns true if a wait was ended.
    pub fn cancel_wait(&self, id: TxnId) -> bool {
        self.up_engines().any(|engine| engine.cancel_wait(id))
    }

    /// Writes every shard's memtable to a table.
    pub fn flush(&self) -> Result<()> {
        for engine in self.up_engines() {
            engine.store().flush()?;
        }
        Ok(())
    }

    /// Fault injection: every shard's log fsync takes `delay` longer.
    pub fn set_sync_delay(&self, delay: Duration) {
        for engine in self.up_engines() {
            engine.store().set_sync_delay(delay);
        }
    }

    /// Fault injection: the whole database crashes at this instant, every
    /// shard as `kind` says; drop every handle and open it again.
    pub fn crash(&self, kind: CrashKind) -> Result<()> {
        let mut first_error = None;
        for shard in &self.inner.shards {
            if let Err(e) = shard.crash(kind) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// What opening had to give up or set aside, over every shard (see
    /// [`crate::storage::RecoveryReport`]).
    pub fn recovery_report(&self) -> crate::storage::RecoveryReport {
        let mut report = crate::storage::RecoveryReport::default();
        for engine in self.up_engines() {
            let shard = engine.store().recovery_report();
            report.lost_logs.extend(shard.lost_logs.iter().cloned());
            report.kept_files.extend(shard.kept_files.iter().cloned());
        }
        report
    }

    fn up_engines(&self) -> impl Iterator<Item = Engine> + '_ {
        self.inner
            .shards
            .iter()
            .filter_map(|shard| shard.engine().ok())
    }

    /// Runs one round of background work now (in-doubt resolution and
    /// deadlock detection); tests use it to wait less.
    pub fn run_background_once(&self) {
        resolver::tick(&self.inner);
        deadlock::detect(&self.inner);
    }

    /// Transactions the commit protocol has not finished with: those the
    /// resolver still has to settle, and those staged on a shard whose
    /// `Prepare` never came (rolled back after the in-doubt timeout).
    pub fn unfinished(&self) -> usize {
        self.inner.resolver.len() + self.inner.shards.iter().map(|s| s.staged()).sum::<usize>()
    }

    /// Closes every shard (the background thread stops with the last handle).
    pub fn close(self) -> Result<()> {
        for shard in &self.inner.shards {
            shard.close();
        }
        Ok(())
    }
}

/// Releases a global id being finished.
struct GidGuard {
    inner: Arc<ClusterInner>,
    gid: String,
}

impl Drop for GidGuard {
    fn drop(&mut self) {
        self.inner.finishing_gids.lock().retain(|g| *g != self.gid);
    }
}

/// A prepared transaction of the cluster, as `pg_prepared_xacts` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedTransaction {
    /// Its id.
    pub id: TxnId,
    /// Its isolation level.
    pub level: IsolationLevel,
    /// Rows it will write, over all participants that are up.
    pub rows: usize,
    /// How long it has been prepared (the oldest participant's age).
    pub age: Duration,
    /// Its home shard, participants and global id.
    pub coordination: Coordination,
}

fn start_background(inner: &Arc<ClusterInner>) -> Result<Background> {
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let weak = Arc::downgrade(inner);
    let resolve_every = inner.options.resolve_interval;
    let detect_every = inner.options.deadlock_interval;
    let signal = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("isodb-cluster".into())
        .spawn(move || {
            let mut since_resolve = Duration::ZERO;
            loop {
                {
                    let (stopped, wake) = &*signal;
                    let mut stopped = stopped.lock();
                    if *stopped {
                        return;
                    }
                    wake.wait_for(&mut stopped, detect_every);
                    if *stopped {
                        return;
                    }
                }
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                deadlock::detect(&inner);
                since_resolve += detect_every;
                if since_resolve >= resolve_every {
                    since_resolve = Duration::ZERO;
                    resolver::tick(&inner);
                }
            }
        })
        .map_err(|e| Error::io(&inner.layout.root, e))?;
    Ok(Background {
        stop,
        thread: Mutex::new(Some(thread)),
    })
}
