//! [`Shard`]: one engine of a cluster and the participant side of the
//! commit protocol — it answers the [`Request`]s of
//! [`crate::cluster::messages`].
//!
//! A shard holds the transactions handed to it for phase one (*staged*:
//! their writes are here, waiting for `Prepare`), its prepared transactions
//! (in the engine, durable), and, as a transaction's home, its status
//! record. It can be crashed and restarted on its own while the other
//! shards run (fault injection): a crash bumps its *epoch*, so every
//! transaction that still holds a part begun before it fails on its next
//! call there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::cluster::messages::{Request, Response};
use crate::storage::{CrashKind, Durability};
use crate::txn::engine::EngineInner;
use crate::txn::{ClusterServices, Engine, EngineOptions, Transaction, TxnId};
use crate::{Error, Result};

/// A transaction waiting here for its `Prepare`.
struct Staged {
    txn: Transaction,
    since: Instant,
}

/// One shard: an engine in its own directory, and its participant.
pub struct Shard {
    number: u16,
    dir: PathBuf,
    options: EngineOptions,
    services: ClusterServices,
    engine: RwLock<Option<Engine>>,
    /// Bumped at every crash.
    epoch: AtomicU64,
    staged: Mutex<HashMap<TxnId, Staged>>,
    /// The engine of the last crash, until everyone has let go of it.
    crashed: Mutex<Option<Weak<EngineInner>>>,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("number", &self.number)
            .field("dir", &self.dir)
            .field("up", &self.is_up())
            .finish()
    }
}

impl Shard {
    /// Opens (and recovers) shard `number` in `dir`.
    pub(crate) fn open(
        number: u16,
        dir: &Path,
        options: EngineOptions,
        services: &ClusterServices,
    ) -> Result<Shard> {
        let engine = Engine::open_shard(dir, options.clone(), number, services)?;
        Ok(Shard {
            number,
            dir: dir.to_path_buf(),
            options,
            services: services.clone(),
            engine: RwLock::new(Some(engine)),
            epoch: AtomicU64::new(0),
            staged: Mutex::new(HashMap::new()),
            crashed: Mutex::new(None),
        })
    }

    /// Its number.
    pub fn number(&self) -> u16 {
        self.number
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True unless crashed and not restarted yet.
    pub fn is_up(&self) -> bool {
        self.engine.read().is_some()
    }

    /// Crashes so far (a part begun in an older epoch is lost).
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// The running engine, or `ShardUnavailable`.
    pub fn engine(&self) -> Result<Engine> {
        self.engine
            .read()
            .clone()
            .ok_or_else(|| Error::ShardUnavailable {
                shard: self.number,
                reason: "it is down".into(),
            })
    }

    /// Hands `txn`, begun here in `epoch`, over for phase one.
    pub(crate) fn stage(&self, txn: Transaction, epoch: u64) -> Result<()> {
        if epoch != self.epoch() || !self.is_up() {
            return Err(Error::ShardUnavailable {
                shard: self.number,
                reason: "it restarted since the transaction began".into(),
            });
        }
        self.staged.lock().insert(
            txn.id(),
            Staged {
                txn,
                since: Instant::now(),
            },
        );
        Ok(())
    }

    /// Transactions staged here, waiting for their `Prepare`.
    pub fn staged(&self) -> usize {
        self.staged.lock().len()
    }

    /// Rolls back staged transactions that waited longer than `timeout`
    /// for their `Prepare` (their coordinator is gone: presumed abort).
    /// Returns how many.
    pub(crate) fn abort_stale_staged(&self, timeout: Duration) -> usize {
        let stale: Vec<Staged> = {
            let mut staged = self.staged.lock();
            let ids: Vec<TxnId> = staged
                .iter()
                .filter(|(_, s)| s.since.elapsed() > timeout)
                .map(|(id, _)| *id)
                .collect();
            ids.iter().filter_map(|id| staged.remove(id)).collect()
        };
        let count = stale.len();
        for staged in stale {
            let _ = staged.txn.rollback();
        }
        count
    }

    /// Answers one protocol request (see [`crate::cluster::messages`]).
    pub(crate) fn handle(&self, request: Request) -> Result<Response> {
        let engine = self.engine()?;
        match request {
            Request::Prepare { txn, coordination } => {
                let staged = self.staged.lock().remove(&txn);
                match staged {
                    Some(staged) if staged.txn.has_no_writes() => {
                        staged.txn.finish_commit(None);
                        Ok(Response::ReadOnly)
                    }
                    Some(staged) => match staged.txn.prepare_with(coordination) {
                        Ok(_) => Ok(Response::Prepared),
                        Err(e) => Ok(Response::Refused(e.to_string())),
                    },
                    None if engine.is_prepared(txn) => Ok(Response::Prepared),
                    None => Ok(Response::Refused(format!(
                        "transaction {txn} is not staged on shard {} (aborted, or lost in a restart)",
                        self.number
                    ))),
                }
            }
            Request::Commit { txn, commit_ts } => {
                match engine.commit_prepared_at(txn, commit_ts, Durability::NoSync) {
                    Ok(_) | Err(Error::InvalidArgument(_)) => Ok(Response::Done),
                    Err(e) => Err(e),
                }
            }
            Request::Abort { txn } => {
                if let Some(staged) = self.staged.lock().remove(&txn) {
                    let _ = staged.txn.rollback();
                }
                match engine.rollback_prepared(txn) {
                    Ok(()) | Err(Error::InvalidArgument(_)) => Ok(Response::Done),
                    Err(e) => Err(e),
                }
            }
            Request::Decide { txn, record } => Ok(Response::Decision(engine.decide(txn, &record)?)),
            Request::Status { txn } => Ok(match engine.status(txn)? {
                Some(record) => Response::Decision(record),
                None => Response::NoRecord,
            }),
            Request::IsPrepared { txn } => Ok(if engine.is_prepared(txn) {
                Response::Prepared
            } else {
                Response::NoRecord
            }),
            Request::Forget { txn } => {
                engine.forget_status(txn)?;
                Ok(Response::Done)
            }
            Request::Sync => {
                engine.store().sync()?;
                Ok(Response::Done)
            }
        }
    }

    /// Fault injection: the shard crashes at this instant (`kind` says
    /// what its log keeps). Its staged transactions are lost; transactions
    /// holding a part here fail on their next call.
    pub fn crash(&self, kind: CrashKind) -> Result<()> {
        let engine = self.engine.write().take();
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let Some(engine) = engine else {
            return Ok(());
        };
        let crashed = engine.crash(kind);
        let staged: Vec<Staged> = self.staged.lock().drain().map(|(_, s)| s).collect();
        drop(staged);
        *self.crashed.lock() = Some(engine.downgrade());
        drop(engine);
        crashed
    }

    /// Opens the shard again after [`Shard::crash`]: waits (up to
    /// `patience`) until every transaction has let go of the crashed
    /// engine, then recovers from the directory. Before it serves anyone,
    /// every in-doubt transaction found is held on the decision board (a
    /// commit applied here before the crash may have been lost with the
    /// unsynced log, so readers must wait until it is settled again);
    /// returns them, for [`crate::cluster::resolver`] to settle and release.
    pub(crate) fn restart(&self, patience: Duration, nudge: &dyn Fn()) -> Result<Vec<TxnId>> {
        if self.is_up() {
            return Ok(Vec::new());
        }
        let deadline = Instant::now() + patience;
        let crashed = self.crashed.lock().take();
        if let Some(crashed) = crashed {
            let mut waited = 0u32;
            while crashed.strong_count() > 0 {
                // Every 50 ms: whoever holds the crashed engine may be stuck
                // in a lock wait on another shard, behind a transaction in
                // doubt until this shard is back; let the caller end waits.
                waited += 1;
                if waited.is_multiple_of(25) {
                    nudge();
                }
                if Instant::now() >= deadline {
                    *self.crashed.lock() = Some(crashed);
                    return Err(Error::ShardUnavailable {
                        shard: self.number,
                        reason: "transactions still hold its crashed engine".into(),
                    });
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let engine =
            Engine::open_shard(&self.dir, self.options.clone(), self.number, &self.services)?;
        let held: Vec<TxnId> = engine.in_doubt().iter().map(|d| d.id).collect();
        for &id in &held {
            self.services.decisions.hold(id);
        }
        *self.engine.write() = Some(engine);
        Ok(held)
    }

    /// Closes the shard (a clean shutdown).
    pub(crate) fn close(&self) {
        self.staged.lock().clear();
        self.engine.write().take();
    }
}

/// A shared handle on a shard.
pub type ShardRef = Arc<Shard>;
