//! [`LockManager`]: the shared lock table, blocking waits, deadlock detection.
//!
//! All state sits behind one mutex (the table latch): the per-key
//! [`KeyLock`]s, each transaction's held keys, each transaction's pending
//! wait, and the [`WaitForGraph`]. Critical sections do no I/O and are short.
//! A waiting thread sleeps on its own condition variable and is woken only by
//! whoever decides its fate (a grant, `cancel_wait`, `release_all`) or by its
//! own deadline. The decision is written into its pending wait *before* the
//! notify and under the latch, so a wake-up can never be lost: a thread
//! checks its outcome before every sleep. See the module essay in `mod.rs`.

use foldhash::HashMap;
use hashbrown::hash_map::EntryRef;
use std::fmt::Write as _;
use std::sync::Arc as SharedKey;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::txn::lock::key_lock::{KeyLock, Waiter};
use crate::txn::lock::sync::{Arc, Condvar, Mutex};
use crate::txn::lock::wait_for_graph::WaitForGraph;
use crate::txn::lock::{LockHolder, LockInfo, LockMode, LockWaiter, TxnId, WaitPolicy};

/// The row-level lock manager: Shared/Exclusive locks on byte-string keys,
/// FIFO queues, upgrades, deadlock detection and lock wait timeouts.
///
/// `Send + Sync`; share it between sessions with an `Arc`.
#[derive(Debug)]
pub struct LockManager {
    table: Mutex<LockTable>,
}

// Sessions share one LockManager through an `Arc`.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<LockManager>();
};

/// How a wait ended, written by whoever ended it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum WaitOutcome {
    Granted,
    Canceled(&'static str),
    /// Chosen as the victim of a deadlock found outside this lock table
    /// (a cycle across the shards of a cluster): the message describes it.
    Victim(String),
}

/// The one lock a transaction is waiting for.
#[derive(Debug)]
struct PendingWait {
    key: SharedKey<[u8]>,
    outcome: Option<WaitOutcome>,
}

/// What [`LockTable::request`] did with a request.
enum Request {
    /// Answered at once: `true` if newly granted, `false` if already held.
    Settled(bool),
    /// Queued (and not a deadlock): the caller sleeps on `wake`.
    Queued {
        key: SharedKey<[u8]>,
        wake: Arc<Condvar>,
        timeout: Option<Duration>,
    },
}

/// Everything behind the table latch.
#[derive(Debug, Default)]
struct LockTable {
    /// Keys that someone holds or waits for; unused entries are removed.
    /// (hashbrown's map for `entry_ref`: one probe per request, and the
    /// key is copied only when it is new.)
    locks: hashbrown::HashMap<SharedKey<[u8]>, KeyLock, foldhash::fast::RandomState>,
    /// Keys each transaction holds, so `release_all` is O(locks held).
    held: HashMap<TxnId, Vec<SharedKey<[u8]>>>,
    /// The wait of each transaction that is inside `acquire` and queued (or
    /// just dequeued, until its thread collects the outcome).
    pending: HashMap<TxnId, PendingWait>,
    /// Edges from each queued waiter to the transactions blocking it.
    graph: WaitForGraph,
    /// Set by [`LockManager::close`]: no wait may begin any more.
    closed: bool,
}

impl Default for LockManager {
    fn default() -> Self {
        Self::new()
    }
}

impl LockManager {
    /// An empty lock manager.
    pub fn new() -> Self {
        LockManager {
            table: Mutex::new(LockTable::default()),
        }
    }

    /// Acquires `mode` on `key` for `txn`, blocking as `policy` allows.
    ///
    /// Re-entrant: if `txn` already holds the same or a stronger mode this
    /// returns `Ok(false)` at once. A Shared holder asking for Exclusive
    /// upgrades, waiting for the other Shared holders to leave; upgrades go
    /// ahead of ordinary waiters. Returns `Ok(true)` when the lock was newly
    /// acquired or upgraded.
    ///
    /// Errors: [`Error::Deadlock`] if waiting would close a cycle (the
    /// request is withdrawn; `txn` keeps its other locks and should roll
    /// back and call [`LockManager::release_all`]); [`Error::LockTimeout`]
    /// on timeout, on a conflict under [`WaitPolicy::NoWait`], or when the
    /// wait is canceled; [`Error::InvalidArgument`] if `txn` is already
    /// waiting for a lock in another thread.
    pub fn acquire(
        &self,
        txn: TxnId,
        key: &[u8],
        mode: LockMode,
        policy: WaitPolicy,
    ) -> Result<bool> {
        let mut table = self.table.lock();
        if table.closed {
            return Err(Error::LockTimeout(
                "the lock table is closed: its engine crashed".into(),
            ));
        }
        match table.request(txn, key, mode, policy)? {
            Request::Settled(newly) => Ok(newly),
            Request::Queued { key, wake, timeout } => {
                let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
                loop {
                    if let Some(decided) = table.collect_outcome(txn, mode, &key) {
                        return decided;
                    }
                    let timed_out = match deadline {
                        None => {
                            wake.wait(&mut table);
                            false
                        }
                        Some(deadline) => wake.wait_until(&mut table, deadline),
                    };
                    let undecided = table.pending.get(&txn).is_some_and(|p| p.outcome.is_none());
                    if timed_out && undecided {
                        let blockers = table.graph.waits_for(txn);
                        table.withdraw(txn);
                        table.pending.remove(&txn);
                        return Err(Error::LockTimeout(format!(
                            "transaction {txn} waited {:?} for {mode} lock on key {} held or requested by {}",
                            timeout.unwrap_or(Duration::ZERO),
                            describe_key(&key),
                            describe_txns(&blockers),
                        )));
                    }
                }
            }
        }
    }

    /// Releases every lock `txn` holds and grants waiters that can now go
    /// ahead. If `txn` is itself waiting in another thread, that wait is
    /// canceled first. Costs O(locks held by `txn`) plus the woken queues.
    pub fn release_all(&self, txn: TxnId) {
        let mut table = self.table.lock();
        table.cancel(txn, "its transaction released all its locks");
        let keys = table.held.remove(&txn).unwrap_or_default();
        for key in keys {
            // The common case in one probe: nobody waits, so nothing is
            // granted and no edge changes; drop the entry if it is unused.
            if let EntryRef::Occupied(mut entry) = table.locks.entry_ref(&*key) {
                let lock = entry.get_mut();
                lock.remove_holder(txn);
                if lock.has_no_waiters() {
                    if lock.is_unused() {
                        entry.remove();
                    }
                    continue;
                }
            }
            table.after_queue_change(&key);
        }
    }

    /// Releases the locks `txn` holds on the keys `covered` accepts, and
    /// grants waiters that can now go ahead (lock escalation drops the row
    /// locks its keyspace lock covers). Costs O(locks held by `txn`).
    pub fn release_where(&self, txn: TxnId, covered: impl Fn(&[u8]) -> bool) {
        let mut table = self.table.lock();
        let Some(held) = table.held.get_mut(&txn) else {
            return;
        };
        let mut released = Vec::new();
        held.retain(|key| {
            let drop = covered(key);
            if drop {
                released.push(key.clone());
            }
            !drop
        });
        for key in released {
            if let Some(lock) = table.locks.get_mut(&key) {
                lock.remove_holder(txn);
            }
            table.after_queue_change(&key);
        }
    }

    /// The mode `txn` holds on `key`, if any.
    pub fn holds(&self, txn: TxnId, key: &[u8]) -> Option<LockMode> {
        self.table.lock().locks.get(key)?.held_mode(txn)
    }

    /// Ends `txn`'s pending wait with an [`Error::LockTimeout`] whose message
    /// starts with "canceled" (Ctrl-C in the shell). Returns false, and does
    /// nothing, if `txn` is not waiting right now.
    pub fn cancel_wait(&self, txn: TxnId) -> bool {
        self.table.lock().cancel(txn, "the wait was canceled")
    }

    /// Closes the table for good (its engine crashed): every pending wait
    /// ends as canceled, and every later `acquire` fails at once, so no
    /// thread can wait for a holder that will never release.
    pub fn close(&self) {
        let mut table = self.table.lock();
        table.closed = true;
        let waiting: Vec<TxnId> = table.pending.keys().copied().collect();
        for txn in waiting {
            table.cancel(txn, "the engine crashed");
        }
    }

    /// Ends `txn`'s pending wait with [`Error::Deadlock`] carrying `cycle`:
    /// a deadlock detector that sees more than this table (the wait-for
    /// graphs of every shard of a cluster) chose it as the victim. Returns
    /// false, and does nothing, if `txn` is not waiting right now.
    pub fn abort_wait(&self, txn: TxnId, cycle: String) -> bool {
        self.table.lock().end_wait(txn, WaitOutcome::Victim(cycle))
    }

    /// A copy of the wait-for graph: who waits for whom right now.
    pub fn wait_for_graph(&self) -> WaitForGraph {
        self.table.lock().graph.clone()
    }

    /// The key `txn` is waiting for, if it is waiting.
    pub fn waiting_on(&self, txn: TxnId) -> Option<Vec<u8>> {
        let table = self.table.lock();
        let pending = table.pending.get(&txn)?;
        pending.outcome.is_none().then(|| pending.key.to_vec())
    }

    /// Every key that is held or waited for, sorted by key: holders in grant
    /// order with their modes, waiters in queue order (for `\locks`).
    pub fn snapshot(&self) -> Vec<LockInfo> {
        let table = self.table.lock();
        let mut locks: Vec<LockInfo> = table
            .locks
            .iter()
            .map(|(key, lock)| LockInfo {
                key: key.to_vec(),
                holders: lock
                    .holders()
                    .iter()
                    .map(|&(txn, mode)| LockHolder { txn, mode })
                    .collect(),
                waiters: lock
                    .waiters()
                    .map(|w| LockWaiter {
                        txn: w.txn,
                        mode: w.mode,
                        upgrade: w.upgrade,
                    })
                    .collect(),
            })
            .collect();
        locks.sort_by(|a, b| a.key.cmp(&b.key));
        locks
    }

    /// The transactions `txn` is waiting for right now (ascending), empty if
    /// it is not waiting.
    pub fn waits_for(&self, txn: TxnId) -> Vec<TxnId> {
        self.table.lock().graph.waits_for(txn)
    }

    /// Panics if the internal bookkeeping is inconsistent (test oracle).
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        self.table.lock().check_invariants();
    }
}

impl LockTable {
    /// The part of `acquire` that does not sleep: grants at once, refuses
    /// (NOWAIT, deadlock), or queues the request.
    fn request(
        &mut self,
        txn: TxnId,
        key: &[u8],
        mode: LockMode,
        policy: WaitPolicy,
    ) -> Result<Request> {
        if self.pending.contains_key(&txn) {
            return Err(Error::InvalidArgument(format!(
                "transaction {txn} is already waiting for a lock"
            )));
        }
        let entry = match self.locks.entry_ref(key) {
            EntryRef::Occupied(entry) => entry,
            EntryRef::Vacant(entry) => entry.insert_entry(KeyLock::default()),
        };
        let key: SharedKey<[u8]> = entry.key().clone();
        let lock = entry.into_mut();
        let upgrade = match lock.held_mode(txn) {
            Some(held) if held.covers(mode) => return Ok(Request::Settled(false)),
            Some(_) => true,
            None => false,
        };
        if lock.can_grant_now(txn, mode, upgrade) {
            lock.grant(txn, mode);
            if !upgrade {
                self.held.entry(txn).or_default().push(key);
            }
            return Ok(Request::Settled(true));
        }
        let timeout = match policy {
            WaitPolicy::NoWait => {
                let blockers = lock.blockers_of_request(txn, mode, upgrade);
                return Err(Error::LockTimeout(format!(
                    "transaction {txn} would have to wait for {mode} lock on key {} held or requested by {} (NOWAIT)",
                    describe_key(&key),
                    describe_txns(&blockers),
                )));
            }
            WaitPolicy::Wait(timeout) => timeout,
        };

        let wake = Arc::new(Condvar::new());
        lock.enqueue(Waiter {
            txn,
            mode,
            upgrade,
            wake: wake.clone(),
        });
        let pending = PendingWait {
            key: key.clone(),
            outcome: None,
        };
        self.pending.insert(txn, pending);
        self.refresh_waits(&key);
        if let Some(cycle) = self.graph.find_cycle_through(txn) {
            let message = self.describe_cycle(&cycle);
            self.withdraw(txn);
            self.pending.remove(&txn);
            return Err(Error::Deadlock(message));
        }
        Ok(Request::Queued { key, wake, timeout })
    }

    /// If `txn`'s wait has been decided, removes its pending entry and
    /// returns what `acquire` returns.
    fn collect_outcome(&mut self, txn: TxnId, mode: LockMode, key: &[u8]) -> Option<Result<bool>> {
        self.pending.get(&txn)?.outcome.as_ref()?;
        let outcome = self.pending.remove(&txn)?.outcome?;
        Some(match outcome {
            WaitOutcome::Granted => Ok(true),
            WaitOutcome::Canceled(why) => Err(Error::LockTimeout(format!(
                "canceled: transaction {txn} stopped waiting for {mode} lock on key {} because {why}",
                describe_key(key)
            ))),
            WaitOutcome::Victim(cycle) => Err(Error::Deadlock(cycle)),
        })
    }

    /// Replaces the wait-for edges of every waiter on `key` with what its
    /// queue says now.
    fn refresh_waits(&mut self, key: &[u8]) {
        if let Some(lock) = self.locks.get(key) {
            for (waiter, blockers) in lock.waits() {
                self.graph.set_waits(waiter, blockers);
            }
        }
    }

    /// After holders or waiters of `key` changed: grant what can be granted,
    /// wake those threads, refresh edges, and drop the entry if unused.
    fn after_queue_change(&mut self, key: &SharedKey<[u8]>) {
        let Some(lock) = self.locks.get_mut(key) else {
            return;
        };
        for granted in lock.grant_from_head() {
            if !granted.upgrade {
                self.held.entry(granted.txn).or_default().push(key.clone());
            }
            if let Some(pending) = self.pending.get_mut(&granted.txn) {
                pending.outcome = Some(WaitOutcome::Granted);
            }
            self.graph.clear_waits(granted.txn);
            granted.wake.notify_one();
        }
        if lock.is_unused() {
            self.locks.remove(key);
        } else {
            self.refresh_waits(key);
        }
    }

    /// Takes `txn`'s request out of its queue (if still queued), clears its
    /// edges and lets the rest of the queue move. Keeps the pending entry.
    fn withdraw(&mut self, txn: TxnId) -> Option<Waiter> {
        let key = self.pending.get(&txn)?.key.clone();
        let waiter = self.locks.get_mut(&key)?.remove_waiter(txn);
        self.graph.clear_waits(txn);
        self.after_queue_change(&key);
        waiter
    }

    /// Ends `txn`'s wait, if it is still undecided, and wakes its thread.
    fn cancel(&mut self, txn: TxnId, why: &'static str) -> bool {
        self.end_wait(txn, WaitOutcome::Canceled(why))
    }

    /// Ends `txn`'s undecided wait with `outcome` and wakes its thread.
    fn end_wait(&mut self, txn: TxnId, outcome: WaitOutcome) -> bool {
        if self.pending.get(&txn).is_none_or(|p| p.outcome.is_some()) {
            return false;
        }
        let waiter = self.withdraw(txn);
        if let Some(pending) = self.pending.get_mut(&txn) {
            pending.outcome = Some(outcome);
        }
        if let Some(waiter) = waiter {
            waiter.wake.notify_one();
        }
        true
    }

    /// "transaction 7 waits for 3 (lock on key 0x61), which waits for 7 (lock on key 0x62)".
    fn describe_cycle(&self, cycle: &[TxnId]) -> String {
        let mut message = String::new();
        for (i, &txn) in cycle.iter().enumerate() {
            let next = cycle.get(i + 1).or(cycle.first()).copied().unwrap_or(txn);
            let key = self.pending.get(&txn).map(|p| describe_key(&p.key));
            let key = key.unwrap_or_else(|| "?".to_owned());
            if i == 0 {
                let _ = write!(
                    message,
                    "transaction {txn} waits for {next} (lock on key {key})"
                );
            } else {
                let _ = write!(message, ", which waits for {next} (lock on key {key})");
            }
        }
        message
    }

    #[cfg(test)]
    fn check_invariants(&self) {
        let mut expected_graph = WaitForGraph::new();
        for (key, lock) in &self.locks {
            assert!(!lock.is_unused(), "unused entry {key:?} was not removed");
            let holders = lock.holders();
            for (i, &(txn, mode)) in holders.iter().enumerate() {
                assert!(
                    holders
                        .iter()
                        .skip(i + 1)
                        .all(|&(other, held)| other != txn && held.is_compatible_with(mode)),
                    "incompatible or duplicate holders on {key:?}: {holders:?}"
                );
                let held = self.held.get(&txn).map(Vec::as_slice).unwrap_or_default();
                assert_eq!(
                    held.iter().filter(|k| **k == *key).count(),
                    1,
                    "held list of {txn}"
                );
            }
            let head_blocked = lock.waiters().next().is_none_or(|head| {
                !lock
                    .blockers(head.txn, head.mode, std::iter::empty())
                    .is_empty()
            });
            assert!(head_blocked, "grantable head left waiting on {key:?}");
            for waiter in lock.waiters() {
                let pending = self
                    .pending
                    .get(&waiter.txn)
                    .expect("queued waiter has a pending wait");
                assert_eq!(pending.key, *key);
                assert_eq!(pending.outcome, None);
                assert_eq!(
                    waiter.upgrade,
                    lock.held_mode(waiter.txn) == Some(LockMode::Shared)
                );
            }
            for (waiter, blockers) in lock.waits() {
                expected_graph.set_waits(waiter, blockers);
            }
        }
        for (txn, keys) in &self.held {
            for key in keys {
                let lock = self.locks.get(key).expect("held key has an entry");
                assert!(
                    lock.held_mode(*txn).is_some(),
                    "{txn} listed as holder of {key:?}"
                );
            }
        }
        assert_eq!(self.graph, expected_graph, "wait-for graph is stale");
    }
}

/// Hex form of a key for messages, cut after 32 bytes.
pub(crate) fn describe_key(key: &[u8]) -> String {
    const SHOWN: usize = 32;
    let mut text = String::from("0x");
    for byte in key.iter().take(SHOWN) {
        let _ = write!(text, "{byte:02x}");
    }
    if key.len() > SHOWN {
        let _ = write!(text, "… ({} bytes)", key.len());
    }
    text
}

fn describe_txns(txns: &[TxnId]) -> String {
    match txns {
        [] => "nobody".to_owned(),
        [one] => format!("transaction {one}"),
        many => {
            let list: Vec<String> = many.iter().map(TxnId::to_string).collect();
            format!("transactions {}", list.join(", "))
        }
    }
}
