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
//! still find every write. Nothing else changes — first updater wins is
//! still checked per row, and snapshot readers never take locks, so they
//! never wait for an escalated writer.
//!
//! Keyspace locks are ordinary locks of the [`LockManager`]: waits for them
//! are in the wait-for graph (deadlocks are detected), honour the lock
//! timeout, and end when the transaction releases all its locks.

use foldhash::HashMap;

use crate::Result;
use crate::error::Error;
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
                row_locks: 0,
                next_attempt: ESCALATE_AFTER,
            },
        );
        Ok(false)
    }

    /// Counts a row lock newly taken in `ks`; at the threshold, tries to
    /// escalate. Returns true when this call escalated the keyspace.
    pub(crate) fn row_locked(
        &mut self,
        locks: &LockManager,
        txn: TxnId,
        ks: Keyspace,
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

    /// True when `ks` is escalated.
    pub(crate) fn is_escalated(&self, ks: Keyspace) -> bool {
        self.held.get(&ks).is_some_and(|held| held.escalated)
    }

    /// True when the stored key `full` lies in an escalated keyspace.
    pub(crate) fn covers(&self, full: &[u8]) -> bool {
        !self.held.is_empty() && Keyspace::of(full).is_some_and(|ks| self.is_escalated(ks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalates_at_the_threshold_when_alone() {
        let locks = LockManager::new();
        let ks = Keyspace::new(40);
        let mut mine = KeyspaceLocks::default();
        assert!(
            !mine
                .before_row_lock(&locks, 1, ks, WaitPolicy::NoWait)
                .expect("S")
        );
        for n in 1..ESCALATE_AFTER {
            assert!(!mine.row_locked(&locks, 1, ks).expect("count"), "row {n}");
        }
        assert!(mine.row_locked(&locks, 1, ks).expect("escalates"));
        assert!(mine.is_escalated(ks));
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
        let ks = Keyspace::new(40);
        let mut big = KeyspaceLocks::default();
        let mut small = KeyspaceLocks::default();
        big.before_row_lock(&locks, 1, ks, WaitPolicy::NoWait)
            .expect("S");
        small
            .before_row_lock(&locks, 2, ks, WaitPolicy::NoWait)
            .expect("S");
        for _ in 0..ESCALATE_AFTER {
            assert!(!big.row_locked(&locks, 1, ks).expect("refused quietly"));
        }
        assert!(!big.is_escalated(ks));
        assert_eq!(locks.holds(1, &ks.lock_key()), Some(LockMode::Shared));
        locks.release_all(2);
        // The next attempt comes at twice the count.
        for _ in ESCALATE_AFTER..2 * ESCALATE_AFTER - 1 {
            assert!(!big.row_locked(&locks, 1, ks).expect("count"));
        }
        assert!(big.row_locked(&locks, 1, ks).expect("escalates"));
        assert!(big.is_escalated(ks));
    }
}
