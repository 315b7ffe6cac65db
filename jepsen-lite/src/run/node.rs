//! [`Node`]: the database under test, as the clients and the nemesis share it.
//!
//! isodb is embedded, so the "node" is an open [`Database`] in this process plus the levers the
//! nemesis pulls. Clients hold one [`Session`] per *generation* of the node; a crash starts a new
//! generation and every client notices at its next statement.
//!
//! ```text
//!   client ── connect() ─▶ (generation g, Session)      holders[g] += 1
//!          ── gate(g) before every statement: waits while paused, Err(Crashed) once g is gone
//!          ── disconnect(g)                              holders[g] -= 1
//!
//!   crash:  take the Database, cut its power, g += 1 ─▶ cancel lock waits until every holder of the old
//!           generation has disconnected ─▶ drop the last handle ─▶ reopen the directory
//!   pause:  close the gate (clients stall between statements, holding their locks)
//!   slow disk: every log fsync takes `commit_delay` longer (see [`Node::set_commit_delay`])
//!
//!   with several shards (one Database over N engines, see isodb_engine::cluster):
//!   shard crash:    one shard's engine crashes (its log loses what the crash mode loses), stays
//!                   down for the fault's duration, restarts and settles its in-doubt transactions;
//!                   the other shards and every session stay up
//!   partition:      one shard is cut off from the commit protocol's messages (prepare, decide,
//!                   commit), then reconnected; the resolver finishes what was left in doubt
//!   message faults: the commit protocol's messages are dropped, duplicated, delayed, reordered
//! ```
//!
//! A shard fault is not a node crash: sessions survive it, and a transaction learns of it
//! through its errors — 08006 (a shard is unavailable: the transaction did not commit), 08007
//! (the commit's outcome is unknown), or the crashed shard's own errors. The clients read
//! [`Node::fault_clock`] to tell which transactions a shard fault overlapped (see
//! [`crate::run::client`]).
//!
//! **How faithful is the crash?** At the crash instant the nemesis crashes the store
//! (`Store::crash`): every write from then on fails, and the log loses what the crash would lose.
//! With synced commits it is a power loss (the log is cut back to its last fsync; no
//! acknowledged commit may be lost, and the checker would see one that was); with `--no-sync` it
//! is a process crash (what the OS was handed survives). Then the clients of the old generation
//! are cancelled and drained, the last handle dropped, and the directory reopened and recovered
//! (log replay, manifest, catalog). What it does not exercise: a torn write inside a record, or
//! damage to other files; the engine's `crash_kill` tests (real SIGKILLs) and corruption tests
//! cover those.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use isodb::{CancelHandle, Database, DatabaseOptions, Durability, Session};
use isodb_engine::cluster::FaultPlan;
use isodb_engine::storage::CrashKind;

/// What the crash nemesis loses (see [`Node::crash_and_restart`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashMode {
    /// The process dies: what the OS was handed survives.
    Process,
    /// The power goes: only what was fsynced survives.
    PowerLoss,
}

impl CrashMode {
    /// The crash that keeps exactly the promise of `durability`: a power loss for synced
    /// commits, a process crash for `NoSync` ones (which may be lost on power loss).
    pub fn matching(durability: Durability) -> CrashMode {
        match durability {
            Durability::Sync => CrashMode::PowerLoss,
            Durability::NoSync => CrashMode::Process,
        }
    }
}

/// The client's generation is gone: the node crashed after the client connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crashed;

struct NodeState {
    db: Option<Database>,
    generation: u64,
    paused: bool,
    /// Sessions of the current generation held by clients.
    holders: usize,
    /// Sessions of crashed generations not yet given back.
    draining: usize,
    /// Cancel handles of connected clients, by process id.
    cancels: Vec<(u64, CancelHandle)>,
}

/// The database under test and its fault levers.
pub struct Node {
    dir: PathBuf,
    options: DatabaseOptions,
    crash_mode: CrashMode,
    state: Mutex<NodeState>,
    changed: Condvar,
    commit_delay_micros: AtomicU64,
    stopping: AtomicBool,
    /// Shard faults begun plus shard faults ended (odd while one is active).
    shard_faults: AtomicU64,
}

impl Node {
    /// Opens (creating when missing) the database in `dir`.
    pub fn open(
        dir: &Path,
        options: DatabaseOptions,
        crash_mode: CrashMode,
    ) -> isodb::Result<Node> {
        let db = Database::open_with(dir, options.clone())?;
        Ok(Node {
            dir: dir.to_path_buf(),
            options,
            crash_mode,
            state: Mutex::new(NodeState {
                db: Some(db),
                generation: 0,
                paused: false,
                holders: 0,
                draining: 0,
                cancels: Vec::new(),
            }),
            changed: Condvar::new(),
            commit_delay_micros: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            shard_faults: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, NodeState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, NodeState>) -> MutexGuard<'a, NodeState> {
        match self.changed.wait_timeout(guard, Duration::from_millis(20)) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }

    /// A session for the set-up (no fault is active yet), or `None` when the node is down.
    pub fn admin_session(&self) -> Option<Session> {
        self.lock().db.as_ref().map(Database::session)
    }

    /// Writes everything committed so far to disk (flushes the store's memtable to a table).
    pub fn make_durable(&self) -> isodb::Result<()> {
        match self.lock().db.as_ref() {
            Some(db) => Ok(db.cluster().flush()?),
            None => Ok(()),
        }
    }

    /// Waits until the node is up and not paused, then hands out a session of the current
    /// generation. `None` once the run is stopping.
    pub fn connect(&self, process: u64) -> Option<(u64, Session)> {
        let mut state = self.lock();
        loop {
            if self.stopping.load(Ordering::Relaxed) {
                return None;
            }
            if !state.paused
                && let Some(db) = &state.db
            {
                let session = db.session();
                state.cancels.push((process, session.cancel_handle()));
                state.holders += 1;
                return Some((state.generation, session));
            }
            state = self.wait(state);
        }
    }

    /// Gives back the session of `generation` (the caller has dropped it).
    pub fn disconnect(&self, process: u64, generation: u64) {
        let mut state = self.lock();
        state.cancels.retain(|(p, _)| *p != process);
        if generation == state.generation {
            state.holders = state.holders.saturating_sub(1);
        } else {
            state.draining = state.draining.saturating_sub(1);
        }
        self.changed.notify_all();
    }

    /// Passes the gate in front of every statement: waits while the node is paused; fails once
    /// `generation` has crashed.
    pub fn gate(&self, generation: u64) -> Result<(), Crashed> {
        let mut state = self.lock();
        loop {
            if state.generation != generation {
                return Err(Crashed);
            }
            if !state.paused || self.stopping.load(Ordering::Relaxed) {
                return Ok(());
            }
            state = self.wait(state);
        }
    }

    /// Whether `generation` is still the live one.
    pub fn is_live(&self, generation: u64) -> bool {
        self.lock().generation == generation
    }

    /// The extra time every log fsync takes while the slow-disk fault is active.
    pub fn commit_delay(&self) -> Duration {
        Duration::from_micros(self.commit_delay_micros.load(Ordering::Relaxed))
    }

    /// Starts (`Some`) or ends (`None`) the slow-disk fault: every fsync of the store's log
    /// takes `delay` longer (`Store::set_sync_delay`), so synced commits wait for the disk and
    /// queue up behind it, holding their locks. Commits that are not synced (`--no-sync`) do not
    /// wait for the disk and are not slowed.
    pub fn set_commit_delay(&self, delay: Option<Duration>) {
        let micros = delay.map_or(0, |d| d.as_micros() as u64);
        self.commit_delay_micros.store(micros, Ordering::Relaxed);
        if let Some(db) = self.lock().db.as_ref() {
            db.cluster().set_sync_delay(self.commit_delay());
        }
    }

    /// Closes (`true`) or opens the gate.
    pub fn set_paused(&self, paused: bool) {
        self.lock().paused = paused;
        self.changed.notify_all();
    }

    /// Crashes the node: crashes the store as its [`CrashMode`] says, abandons every
    /// session and transaction, waits `downtime`, and reopens the directory. Returns the reopen error, if any (the node then stays down).
    pub fn crash_and_restart(&self, downtime: Duration) -> isodb::Result<()> {
        let db = {
            let mut state = self.lock();
            let db = state.db.take();
            if let Some(db) = &db {
                // Crash first: from here on nothing more reaches the disk.
                db.cluster().crash(self.crash_kind())?;
            }
            state.generation += 1;
            state.draining += state.holders;
            state.holders = 0;
            db
        };
        self.changed.notify_all();
        let mut state = self.lock();
        while state.draining > 0 {
            // A client may start a lock wait after a cancel; keep canceling until all are out.
            for (_, handle) in &state.cancels {
                handle.cancel();
            }
            state = self.wait(state);
        }
        state.cancels.clear();
        drop(state);
        drop(db);
        std::thread::sleep(downtime);
        let reopened = Database::open_with(&self.dir, self.options.clone())?;
        reopened.cluster().set_sync_delay(self.commit_delay());
        self.lock().db = Some(reopened);
        self.changed.notify_all();
        Ok(())
    }

    /// The shards of the database (1 unless it was created with several).
    pub fn shard_count(&self) -> u16 {
        self.options.shards.unwrap_or(1).max(1)
    }

    /// A reading to pass to [`Node::shard_fault_since`]: shard faults begun plus ended so far.
    pub fn fault_clock(&self) -> u64 {
        self.shard_faults.load(Ordering::SeqCst)
    }

    /// Whether a shard fault was active at some moment since `clock` was read.
    pub fn shard_fault_since(&self, clock: u64) -> bool {
        let now = self.fault_clock();
        now != clock || now % 2 == 1
    }

    /// Runs `fault` as a shard fault: the clock is odd while it lasts.
    fn shard_fault<T>(&self, fault: impl FnOnce(&Database) -> T) -> Option<T> {
        let db = self.lock().db.clone()?;
        self.shard_faults.fetch_add(1, Ordering::SeqCst);
        let result = fault(&db);
        self.shard_faults.fetch_add(1, Ordering::SeqCst);
        Some(result)
    }

    /// Crashes shard `shard` as the [`CrashMode`] says, keeps it down for `downtime`, and
    /// restarts it (settling its in-doubt transactions). Returns the restart's error, if any.
    pub fn crash_shard_and_restart(&self, shard: u16, downtime: Duration) -> isodb::Result<()> {
        let kind = self.crash_kind();
        self.shard_fault(|db| {
            let cluster = db.cluster();
            cluster.crash_shard(shard, kind)?;
            std::thread::sleep(downtime);
            cluster.restart_shard(shard)?;
            cluster.set_sync_delay(self.commit_delay());
            Ok(())
        })
        .unwrap_or(Ok(()))
    }

    /// Cuts `shard` off from the commit protocol's messages for `duration`.
    pub fn partition(&self, shard: u16, duration: Duration) {
        self.shard_fault(|db| {
            let transport = db.cluster().transport();
            transport.set_unreachable(shard, true);
            std::thread::sleep(duration);
            transport.set_unreachable(shard, false);
        });
    }

    /// Drops, duplicates, delays and reorders the commit protocol's messages for `duration`.
    pub fn message_faults(&self, duration: Duration) {
        self.shard_fault(|db| {
            let transport = db.cluster().transport();
            transport.set_faults(FaultPlan {
                drop_request: 0.05,
                drop_reply: 0.05,
                duplicate: 0.05,
                delay_probability: 0.1,
                delay: Duration::from_millis(3),
                reorder: 0.03,
                ..FaultPlan::none()
            });
            std::thread::sleep(duration);
            transport.set_faults(FaultPlan::none());
        });
    }

    /// The store-level crash behind [`CrashMode`].
    fn crash_kind(&self) -> CrashKind {
        match self.crash_mode {
            CrashMode::Process => CrashKind::Process,
            CrashMode::PowerLoss => CrashKind::PowerLoss,
        }
    }

    /// Ends every wait: clients stop connecting and paused clients go on to finish.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        self.changed.notify_all();
    }

    /// Whether [`Node::stop`] was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_cuts_off_old_sessions_and_keeps_committed_rows() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let options = DatabaseOptions {
            durability: Durability::NoSync,
            ..DatabaseOptions::default()
        };
        let node = Node::open(dir.path(), options, CrashMode::Process).expect("opens");
        let (generation, mut session) = node.connect(0).expect("up");
        session
            .execute("CREATE TABLE t (k INT PRIMARY KEY); INSERT INTO t VALUES (1)")
            .expect("set-up");
        assert_eq!(node.gate(generation), Ok(()));
        std::thread::scope(|scope| {
            let crash = scope.spawn(|| node.crash_and_restart(Duration::from_millis(1)));
            // The crash waits for this client to give its session back.
            while node.is_live(generation) {
                std::thread::yield_now();
            }
            assert_eq!(node.gate(generation), Err(Crashed));
            drop(session);
            node.disconnect(0, generation);
            crash.join().expect("no panic").expect("reopens");
        });
        let (new_generation, mut session) = node.connect(0).expect("up again");
        assert_ne!(new_generation, generation);
        let rows = session.query("SELECT k FROM t", &[]).expect("query");
        assert_eq!(rows.len(), 1, "the committed row survived the crash");
    }

    #[test]
    fn a_paused_gate_holds_clients_until_resumed() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let node = Node::open(dir.path(), DatabaseOptions::default(), CrashMode::PowerLoss)
            .expect("opens");
        let (generation, _session) = node.connect(0).expect("up");
        node.set_paused(true);
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| {
                let start = std::time::Instant::now();
                node.gate(generation).map(|()| start.elapsed())
            });
            std::thread::sleep(Duration::from_millis(80));
            node.set_paused(false);
            let waited = waiter.join().expect("no panic").expect("passes");
            assert!(
                waited >= Duration::from_millis(60),
                "waited only {waited:?}"
            );
        });
    }
}
