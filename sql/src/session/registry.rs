//! [`SessionRegistry`]: the open sessions of a database by *backend process
//! id* — the number PostgreSQL gives each connection — so that one session
//! can ask about another: `pg_backend_pid()` (its own number, which a
//! server also sends as BackendKeyData) and `pg_blocking_pids(pid)` (the
//! sessions whose transactions the session `pid` waits for):
//!
//! ```text
//!   pid 1: BEGIN; UPDATE t SET v = 1 WHERE id = 1      (holds the row lock)
//!   pid 2: UPDATE t SET v = 2 WHERE id = 1             (waits)
//!   pid 3: SELECT pg_blocking_pids(2)   -> {1}
//!          pid 2 → its transaction (Activity) → Engine::waits_for → holders
//!          → the sessions running them → {1}
//! ```
//!
//! A session registers when it is created and leaves when dropped. The
//! registry holds weak references to each session's [`Activity`] (the
//! engine transaction it runs), so it never keeps a session alive. A
//! blocker that no session runs (a prepared transaction left in doubt) is
//! reported as pid 0, as PostgreSQL reports prepared transactions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use isodb_engine::cluster::Cluster;
use isodb_engine::txn::TxnId;

use crate::session::cancel::Activity;

/// The open sessions of one database.
#[derive(Debug)]
pub(crate) struct SessionRegistry {
    next_pid: AtomicI32,
    sessions: Mutex<HashMap<i32, Weak<Activity>>>,
}

impl Default for SessionRegistry {
    fn default() -> Self {
        SessionRegistry {
            next_pid: AtomicI32::new(1),
            sessions: Mutex::new(HashMap::new()),
        }
    }
}

impl SessionRegistry {
    fn sessions(&self) -> MutexGuard<'_, HashMap<i32, Weak<Activity>>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a new session; returns its backend pid (never 0, and
    /// positive until 2^31 sessions have been opened).
    pub(crate) fn register(&self, activity: &Arc<Activity>) -> i32 {
        let mut pid = self.next_pid.fetch_add(1, Ordering::Relaxed);
        if pid <= 0 {
            // Wrapped around after 2^31 sessions: start again at 1.
            self.next_pid.store(2, Ordering::Relaxed);
            pid = 1;
        }
        self.sessions().insert(pid, Arc::downgrade(activity));
        pid
    }

    /// Removes a session (it is being dropped).
    pub(crate) fn unregister(&self, pid: i32) {
        self.sessions().remove(&pid);
    }

    /// The pids of the sessions whose transactions session `pid` waits for
    /// (empty when it does not wait, or there is no such session), in
    /// ascending order.
    pub(crate) fn blocking_pids(&self, cluster: &Cluster, pid: i32) -> Vec<i32> {
        let transaction = self
            .sessions()
            .get(&pid)
            .and_then(Weak::upgrade)
            .and_then(|activity| activity.transaction());
        let Some(transaction) = transaction else {
            return Vec::new();
        };
        let blockers: Vec<TxnId> = cluster.waits_for(transaction);
        if blockers.is_empty() {
            return Vec::new();
        }
        let running: HashMap<TxnId, i32> = self
            .sessions()
            .iter()
            .filter_map(|(&pid, activity)| {
                let txn = activity.upgrade()?.transaction()?;
                Some((txn, pid))
            })
            .collect();
        let mut pids: Vec<i32> = blockers
            .iter()
            .map(|txn| running.get(txn).copied().unwrap_or(0))
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_distinct_and_dropped_sessions_leave() {
        let registry = SessionRegistry::default();
        let a = Arc::new(Activity::default());
        let b = Arc::new(Activity::default());
        let (pa, pb) = (registry.register(&a), registry.register(&b));
        assert!(pa > 0 && pb > 0 && pa != pb);
        registry.unregister(pa);
        assert!(!registry.sessions().contains_key(&pa));
        assert!(registry.sessions().contains_key(&pb));
    }
}
