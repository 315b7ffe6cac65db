//! The lock on one key: who holds it, who waits for it, and in what order.
//!
//! A [`KeyLock`] is pure bookkeeping under the lock manager's mutex: it never
//! blocks or wakes anyone itself. It enforces the queueing rules:
//!
//! ```text
//!   holders: [T1 Shared, T2 Shared]
//!   queue:   [T1 →Exclusive (upgrade)] [T3 Exclusive] [T4 Shared]
//!             ╰── upgrades first ──╯     ╰── ordinary waiters, FIFO ──╯
//! ```
//!
//! - A new request is granted at once only if the queue is empty and it is
//!   compatible with every holder; otherwise it joins the back of the queue.
//! - An upgrade (a Shared holder asking for Exclusive) is granted at once if
//!   its transaction is the only holder; otherwise it queues after earlier
//!   upgrades but ahead of every ordinary waiter.
//! - [`KeyLock::grant_from_head`] grants waiters from the head for as long as
//!   each is compatible with the holders (so a run of Shared waiters is
//!   granted together) and stops at the first that is not.
//! - A waiter is blocked by every holder and every earlier waiter whose mode
//!   conflicts with its own ([`KeyLock::blockers`]); those are its edges in
//!   the wait-for graph.

use std::collections::VecDeque;

use smallvec::SmallVec;

use crate::txn::lock::sync::{Arc, Condvar};
use crate::txn::lock::{LockMode, TxnId};

/// A queued request for the lock on one key.
#[derive(Debug)]
pub(crate) struct Waiter {
    /// The requesting transaction.
    pub(crate) txn: TxnId,
    /// The mode it asks for.
    pub(crate) mode: LockMode,
    /// True when the transaction already holds Shared and asks for Exclusive.
    pub(crate) upgrade: bool,
    /// The condition variable its thread sleeps on.
    pub(crate) wake: Arc<Condvar>,
}

/// Holders and waiters of the lock on one key.
#[derive(Debug, Default)]
pub(crate) struct KeyLock {
    /// Current holders in the order they were granted; a transaction appears
    /// at most once (an upgrade changes its mode in place). Almost every key
    /// has one or two holders, which live inline: taking a lock allocates
    /// nothing here.
    holders: SmallVec<[(TxnId, LockMode); 2]>,
    /// Waiting requests: upgrades first, then ordinary requests in arrival order.
    queue: VecDeque<Waiter>,
}

impl KeyLock {
    /// The mode `txn` holds on this key, if any.
    pub(crate) fn held_mode(&self, txn: TxnId) -> Option<LockMode> {
        self.holders
            .iter()
            .find(|(holder, _)| *holder == txn)
            .map(|&(_, mode)| mode)
    }

    /// True when nobody waits for this key.
    pub(crate) fn has_no_waiters(&self) -> bool {
        self.queue.is_empty()
    }

    /// True when nobody holds or waits for this key (the entry can be dropped).
    pub(crate) fn is_unused(&self) -> bool {
        self.holders.is_empty() && self.queue.is_empty()
    }

    /// The holders, in grant order.
    pub(crate) fn holders(&self) -> &[(TxnId, LockMode)] {
        &self.holders
    }

    /// The waiters, in queue order.
    pub(crate) fn waiters(&self) -> impl Iterator<Item = &Waiter> {
        self.queue.iter()
    }

    /// True when a request by `txn` for `mode` may be granted without waiting.
    pub(crate) fn can_grant_now(&self, txn: TxnId, mode: LockMode, upgrade: bool) -> bool {
        if upgrade {
            self.holders.iter().all(|&(holder, _)| holder == txn)
        } else {
            self.queue.is_empty() && self.compatible_with_holders(txn, mode)
        }
    }

    /// Records `txn` as holding `mode`: a new holder, or an upgrade in place.
    pub(crate) fn grant(&mut self, txn: TxnId, mode: LockMode) {
        match self.holders.iter_mut().find(|(holder, _)| *holder == txn) {
            Some(slot) => slot.1 = mode,
            None => self.holders.push((txn, mode)),
        }
    }

    /// Queues `waiter`: upgrades after earlier upgrades, others at the back.
    pub(crate) fn enqueue(&mut self, waiter: Waiter) {
        if waiter.upgrade {
            let position = self.queue.iter().take_while(|w| w.upgrade).count();
            self.queue.insert(position, waiter);
        } else {
            self.queue.push_back(waiter);
        }
    }

    /// Removes `txn`'s queued request, if any, and returns it.
    pub(crate) fn remove_waiter(&mut self, txn: TxnId) -> Option<Waiter> {
        let position = self.queue.iter().position(|w| w.txn == txn)?;
        self.queue.remove(position)
    }

    /// Removes `txn` from the holders; returns whether it was one.
    pub(crate) fn remove_holder(&mut self, txn: TxnId) -> bool {
        let before = self.holders.len();
        self.holders.retain(|entry| entry.0 != txn);
        self.holders.len() != before
    }

    /// Grants waiters from the head of the queue while each is compatible
    /// with the holders, and returns them in grant order.
    pub(crate) fn grant_from_head(&mut self) -> Vec<Waiter> {
        let mut granted = Vec::new();
        while let Some(head) = self.queue.front() {
            if !self.compatible_with_holders(head.txn, head.mode) {
                break;
            }
            let Some(waiter) = self.queue.pop_front() else {
                break;
            };
            self.grant(waiter.txn, waiter.mode);
            granted.push(waiter);
        }
        granted
    }

    /// The transactions that block a request by `txn` for `mode` queued
    /// behind `ahead`: conflicting holders, then conflicting earlier waiters.
    pub(crate) fn blockers<'a>(
        &'a self,
        txn: TxnId,
        mode: LockMode,
        ahead: impl Iterator<Item = &'a Waiter>,
    ) -> Vec<TxnId> {
        let holders = self
            .holders
            .iter()
            .filter(|&&(holder, held)| holder != txn && !held.is_compatible_with(mode))
            .map(|&(holder, _)| holder);
        let waiters = ahead
            .filter(|w| w.txn != txn && !w.mode.is_compatible_with(mode))
            .map(|w| w.txn);
        let mut blockers: Vec<TxnId> = holders.chain(waiters).collect();
        blockers.sort_unstable();
        blockers.dedup();
        blockers
    }

    /// The transactions that a request not yet queued would wait for.
    pub(crate) fn blockers_of_request(
        &self,
        txn: TxnId,
        mode: LockMode,
        upgrade: bool,
    ) -> Vec<TxnId> {
        if upgrade {
            self.blockers(txn, mode, self.queue.iter().take_while(|w| w.upgrade))
        } else {
            self.blockers(txn, mode, self.queue.iter())
        }
    }

    /// Each waiter with the transactions it waits for, in queue order.
    pub(crate) fn waits(&self) -> Vec<(TxnId, Vec<TxnId>)> {
        self.queue
            .iter()
            .enumerate()
            .map(|(i, w)| {
                (
                    w.txn,
                    self.blockers(w.txn, w.mode, self.queue.iter().take(i)),
                )
            })
            .collect()
    }

    fn compatible_with_holders(&self, txn: TxnId, mode: LockMode) -> bool {
        self.holders
            .iter()
            .all(|&(holder, held)| holder == txn || held.is_compatible_with(mode))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LockMode::{Exclusive, Shared};

    fn waiter(txn: TxnId, mode: LockMode, upgrade: bool) -> Waiter {
        Waiter {
            txn,
            mode,
            upgrade,
            wake: Arc::new(Condvar::new()),
        }
    }

    fn queue_order(lock: &KeyLock) -> Vec<TxnId> {
        lock.waiters().map(|w| w.txn).collect()
    }

    #[test]
    fn shared_run_is_granted_together_and_stops_at_exclusive() {
        let mut lock = KeyLock::default();
        lock.enqueue(waiter(1, Shared, false));
        lock.enqueue(waiter(2, Shared, false));
        lock.enqueue(waiter(3, Exclusive, false));
        lock.enqueue(waiter(4, Shared, false));
        let granted: Vec<TxnId> = lock.grant_from_head().iter().map(|w| w.txn).collect();
        assert_eq!(granted, vec![1, 2]);
        assert_eq!(queue_order(&lock), vec![3, 4]);
        assert_eq!(lock.waits(), vec![(3, vec![1, 2]), (4, vec![3])]);
    }

    #[test]
    fn compatible_request_waits_when_someone_is_queued() {
        let mut lock = KeyLock::default();
        lock.grant(1, Shared);
        lock.enqueue(waiter(2, Exclusive, false));
        assert!(!lock.can_grant_now(3, Shared, false));
        assert_eq!(lock.blockers_of_request(3, Shared, false), vec![2]);
    }

    #[test]
    fn upgrade_queues_ahead_of_ordinary_waiters_and_changes_mode_in_place() {
        let mut lock = KeyLock::default();
        lock.grant(1, Shared);
        lock.grant(2, Shared);
        lock.enqueue(waiter(3, Exclusive, false));
        assert!(!lock.can_grant_now(1, Exclusive, true));
        lock.enqueue(waiter(1, Exclusive, true));
        assert_eq!(queue_order(&lock), vec![1, 3]);
        assert_eq!(lock.waits(), vec![(1, vec![2]), (3, vec![1, 2])]);
        assert!(lock.remove_holder(2));
        let granted: Vec<TxnId> = lock.grant_from_head().iter().map(|w| w.txn).collect();
        assert_eq!(granted, vec![1]);
        assert_eq!(lock.holders(), &[(1, Exclusive)]);
        assert_eq!(lock.waits(), vec![(3, vec![1])]);
    }

    #[test]
    fn sole_shared_holder_upgrades_at_once_even_with_waiters() {
        let mut lock = KeyLock::default();
        lock.grant(1, Shared);
        lock.enqueue(waiter(2, Exclusive, false));
        assert!(lock.can_grant_now(1, Exclusive, true));
    }

    #[test]
    fn removing_the_blocking_waiter_lets_the_next_ones_through() {
        let mut lock = KeyLock::default();
        lock.grant(1, Shared);
        lock.enqueue(waiter(2, Exclusive, false));
        lock.enqueue(waiter(3, Shared, false));
        assert!(lock.grant_from_head().is_empty());
        assert!(lock.remove_waiter(2).is_some());
        assert!(lock.remove_waiter(2).is_none());
        let granted: Vec<TxnId> = lock.grant_from_head().iter().map(|w| w.txn).collect();
        assert_eq!(granted, vec![3]);
        assert!(lock.remove_holder(1) && lock.remove_holder(3));
        assert!(!lock.remove_holder(3));
        assert!(lock.is_unused());
    }
}
