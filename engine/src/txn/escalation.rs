//! [`KeyspaceLocks`]: one transaction's locks on whole keyspaces, and lock
//! escalation — trading thousands of row locks in one keyspace for one lock
//! on the keyspace, as SQL Server and DB2 do.
//!
//! Every row lock a transaction takes in keyspace `K` is preceded, once per
//! transaction and keyspace, by a **Shared** lock on `K`'s lock key (an
//! intention lock: row lockers of `K` never conflict with each other on it).
//! When a transaction has taken [`ESCALATE_AFTER`] row locks in `K`, it asks
//! to upgrade that lock to **Exclusive** without waiting. The upgrade is
//! granted only if no other transaction holds any lock in `K` (each would
//! hold the Shared intention lock); then the transaction **escalates**: it
//! releases its row locks in `K`, and its further writes and locking reads
//! in `K` take no row lock at all, since no other transaction can lock a row
//! of `K` until it ends — each would first wait for the keyspace lock. If the upgrade is refused, the transaction
//! goes on with row locks and asks again after twice as many.
//!
//! ```text
//!   T1: S(K) x(K/1) x(K/2) … x(K/4096) ─ upgrade S(K)→X(K) ─ writes K/4097… lock-free
//!   T2:                                                       S(K) … waits for T1
//! ```
//!
//! An escalated transaction also stops publishing one intent per key of `K`:
//! the intent table lists its write set as a whole instead (see
//! [`crate::txn::intents`]), so READ UNCOMMITTED readers and the SSI tracker
//! still find every write. Snapshot readers never take locks, so they never
//! wait for an escalated writer.
//!
//! First updater wins is still checked per row — until it cannot fail. The
//! engine remembers, per keyspace, the sequence number of the last commit
//! that wrote there ([`KeyspaceCommits`], updated before the committer
//! releases its locks). If that commit is no newer than the escalating
//! transaction's snapshot, no row of the keyspace changed after the
//! snapshot, and none can change while the keyspace lock is held: the
//! escalated keyspace is **clean**, and its rows are written without
//! looking up their newest versions.
//!
//! Keyspace locks are ordinary locks of the [`LockManager`]: waits for them
//! are in the wait-for graph (deadlocks are detected), honour the lock
//! timeout, and end when the transaction releases all its locks.

use foldhash::HashMap;
use parking_lot::Mutex;

use crate::Result;
use crate::error::Error;
use crate::storage::SeqNo;
use crate::txn::keyspace::Keyspace;
use crate::txn::lock::{LockManager, LockMode, TxnId, WaitPolicy};

/// Row locks a transaction takes in one keyspace before it first tries to
/// escalate (SQL Server's threshold is 5,000).
pub const ESCALATE_AFTER: usize = 4096;

/// What one transaction holds on one keyspace.
#[derive(Clone, Copy, Debug)]
struct KeyspaceLock {
    /// Holds the keyspace Exclusive: row locks are not needed.
    escalated: bool,
    /// Escalated, and no commit wrote the keyspace after the snapshot.
    clean: bool,
    /// Row locks newly taken in the keyspace.
    row_locks: usize,
    /// Row-lock count at which to try escalating next.
    next_attempt: usize,
}

/// The keyspace locks of one transaction.
#[derive(Debug, Default)]
pub(crate) struct KeyspaceLocks {
    held: HashMap<Keyspace, KeyspaceLock>,
}

impl KeyspaceLocks {
    /// Called before `txn` locks a row of `ks`: takes the keyspace's Shared
    /// intention lock the first time (waiting as `policy` says). Returns
    /// true when the keyspace is escalated, so the row needs no lock.
    pub(crate) fn before_row_lock(
        &mut self,
        locks: &LockManager,
        txn: TxnId,
        ks: Keyspace,
        policy: WaitPolicy,
    ) -> Result<bool> {
        if let Some(held) = self.held.get(&ks) {
            return Ok(held.escalated);
        }
        locks.acquire(txn, &ks.lock_key(), LockMode::Shared, policy)?;
        self.held.insert(
            ks,
            KeyspaceLock {
                escalated: false,
                clean: false,
                row_locks: 0,
                next_attempt: ESCALATE_AFTER,
            },
        );
        Ok(false)
    }

    /// Counts a row lock newly taken in `ks`; at the threshold, tries to
    /// escalate. Returns true when this call escalated the keyspace. An
    /// escalated keyspace is clean when `commits` saw no commit there after
    /// `snapshot`.
    pub(crate) fn row_locked(
        &mut self,
        locks: &LockManager,
        commits: &KeyspaceCommits,
        txn: TxnId,
        ks: Keyspace,
        snapshot: SeqNo,
    ) -> Result<bool> {
        let Some(held) = self.held.get_mut(&ks) else {
            return Ok(false);
        };
        held.row_locks += 1;
        if held.escalated || held.row_locks < held.next_attempt {
            return Ok(false);
        }
        match locks.acquire(txn, &ks.lock_key(), LockMode::Exclusive, WaitPolicy::NoWait) {
            Ok(_) => {
                held.escalated = true;
                // Read after the lock is granted: every other writer of
                // `ks` has recorded its commit and released.
                held.clean = commits.last(ks) <= snapshot;
                // The keyspace lock covers the row locks: let them go.
                locks.release_where(txn, |key| Keyspace::of(key) == Some(ks));
                Ok(true)
            }
            // Someone else locks rows of `ks`: go on with row locks.
            Err(Error::LockTimeout(_)) => {
                held.next_attempt = held.row_locks.saturating_mul(2);
                Ok(false)
            }
            Err(other) => Err(other),
        }
    }

    /// True when the stored key `full` lies in an escalated keyspace.
    pub(crate) fn covers(&self, full: &[u8]) -> bool {
        self.escalation(full).is_some()
    }

    /// For a key in an escalated keyspace, `Some(clean)`: whether no row of
    /// it can have changed after the snapshot (see the module docs).
    pub(crate) fn escalation(&self, full: &[u8]) -> Option<bool> {
        if self.held.is_empty() {
            return None;
        }
        let held = self.held.get(&Keyspace::of(full)?)?;
        held.escalated.then_some(held.clean)
    }

    /// True when this transaction has locked a row of `ks` (or all of it).
    pub(crate) fn has_locked_in(&self, ks: Keyspace) -> bool {
        self.held.contains_key(&ks)
    }

    /// Every keyspace this transaction locked rows in (a superset of those
    /// it wrote).
    pub(crate) fn keyspaces(&self) -> impl Iterator<Item = Keyspace> + '_ {
        self.held.keys().copied()
    }
}

/// The sequence number of the last commit that wrote each keyspace, for
/// deciding whether an escalated keyspace is clean. Keyspaces not listed
/// were last written at or before `floor`, the store's sequence number when
/// the engine opened (older than any snapshot).
#[derive(Debug)]
pub(crate) struct KeyspaceCommits {
    floor: SeqNo,
    last: Mutex<HashMap<Keyspace, SeqNo>>,
}

impl KeyspaceCommits {
    /// Commits before `floor` are not tracked.
    pub(crate) fn new(floor: SeqNo) -> Self {
        KeyspaceCommits {
            floor,
            last: Mutex::new(HashMap::default()),
        }
    }

    /// A commit at `seq` wrote (or may have written) `keyspaces`. Called
    /// after the write is in the store and before its locks are released.
    pub(crate) fn record(&self, keyspaces: impl IntoIterator<Item = Keyspace>, seq: SeqNo) {
        let mut last = self.last.lock();
        for ks in keyspaces {
            let newest = last.entry(ks).or_insert(seq);
            *newest = (*newest).max(seq);
        }
    }

    /// The last commit that wrote `ks`, or the floor.
    pub(crate) fn last(&self, ks: Keyspace) -> SeqNo {
        self.last.lock().get(&ks).copied().unwrap_or(self.floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalates_at_the_threshold_when_alone() {
        let locks = LockManager::new();
        let commits = KeyspaceCommits::new(0);
        let ks = Keyspace::new(40);
        let mut mine = KeyspaceLocks::default();
        assert!(
            !mine
                .before_row_lock(&locks, 1, ks, WaitPolicy::NoWait)
                .expect("S")
        );
        for n in 1..ESCALATE_AFTER {
            assert!(
                !mine.row_locked(&locks, &commits, 1, ks, 0).expect("count"),
                "row {n}"
            );
        }
        assert!(
            mine.row_locked(&locks, &commits, 1, ks, 0)
                .expect("escalates")
        );
        assert!(mine.covers(&ks.key(b"any row")));
        assert!(!mine.covers(&Keyspace::new(41).key(b"other")));
        assert_eq!(locks.holds(1, &ks.lock_key()), Some(LockMode::Exclusive));
        // Another transaction cannot lock a row of the keyspace now.
        let mut theirs = KeyspaceLocks::default();
        let refused = theirs.before_row_lock(&locks, 2, ks, WaitPolicy::NoWait);
        assert!(matches!(refused, Err(Error::LockTimeout(_))), "{refused:?}");
        locks.release_all(1);
        assert!(
            !theirs
                .before_row_lock(&locks, 2, ks, WaitPolicy::NoWait)
                .expect("S")
        );
    }

    #[test]
    fn a_refused_escalation_keeps_row_locks_and_asks_again_later() {
        let locks = LockManager::new();
        let commits = KeyspaceCommits::new(0);
        let ks = Keyspace::new(40);
        let mut big = KeyspaceLocks::default();
        let mut small = KeyspaceLocks::default();
        big.before_row_lock(&locks, 1, ks, WaitPolicy::NoWait)
            .expect("S");
        small
            .before_row_lock(&locks, 2, ks, WaitPolicy::NoWait)
            .expect("S");
        for _ in 0..ESCALATE_AFTER {
            assert!(
                !big.row_locked(&locks, &commits, 1, ks, 0)
                    .expect("refused quietly")
            );
        }
        assert!(!big.covers(&ks.key(b"row")));
        assert_eq!(locks.holds(1, &ks.lock_key()), Some(LockMode::Shared));
        locks.release_all(2);
        // The next attempt comes at twice the count.
        for _ in ESCALATE_AFTER..2 * ESCALATE_AFTER - 1 {
            assert!(!big.row_locked(&locks, &commits, 1, ks, 0).expect("count"));
        }
        assert!(
            big.row_locked(&locks, &commits, 1, ks, 0)
                .expect("escalates")
        );
        assert!(big.covers(&ks.key(b"row")));
    }

    #[test]
    fn an_escalated_keyspace_is_clean_only_without_commits_after_the_snapshot() {
        let locks = LockManager::new();
        let commits = KeyspaceCommits::new(3);
        let (a, b) = (Keyspace::new(40), Keyspace::new(41));
        assert_eq!(commits.last(a), 3, "untracked keyspaces are at the floor");
        commits.record([a], 9);
        commits.record([a, b], 7);
        assert_eq!(
            (commits.last(a), commits.last(b)),
            (9, 7),
            "the newest wins"
        );
        let escalate = |txn: TxnId, ks: Keyspace, snapshot: SeqNo| {
            let mut mine = KeyspaceLocks::default();
            mine.before_row_lock(&locks, txn, ks, WaitPolicy::NoWait)
                .expect("S");
            for _ in 0..ESCALATE_AFTER {
                mine.row_locked(&locks, &commits, txn, ks, snapshot)
                    .expect("count");
            }
            let clean = mine.escalation(&ks.key(b"row"));
            locks.release_all(txn);
            clean
        };
        assert_eq!(escalate(1, a, 8), Some(false), "a commit at 9 is newer");
        assert_eq!(escalate(2, a, 9), Some(true));
        assert_eq!(escalate(3, b, 8), Some(true));
    }
}
