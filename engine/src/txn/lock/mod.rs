//! The row-level lock manager: Shared/Exclusive locks on keys, held by
//! transactions until they end, with fair queues, deadlock detection and
//! lock wait timeouts.
//!
//! The lock manager knows nothing of storage or SQL: a key is an opaque byte
//! string and a transaction an opaque [`TxnId`]. Its owner (the transaction
//! layer) calls [`LockManager::acquire`] before touching a row and
//! [`LockManager::release_all`] when the transaction commits or rolls back.
//!
//! # Rules
//!
//! - **Compatibility.** Shared is compatible with Shared; Exclusive with
//!   nothing.
//! - **Fair queues.** Each key has one FIFO queue. A new request waits if
//!   anyone is queued before it, even when it is compatible with the current
//!   holders, so a stream of readers cannot starve a writer. Two requests
//!   skip the queue: a re-entrant one (the transaction already holds the same
//!   or a stronger mode; answered `Ok(false)` at once) and an upgrade (a
//!   Shared holder asking for Exclusive), which is granted at once if its
//!   transaction is the only holder and otherwise queues ahead of every
//!   ordinary waiter.
//! - **Granting.** Whenever holders or waiters of a key change, waiters are
//!   granted from the head of the queue for as long as each is compatible
//!   with the holders, so a run of Shared waiters is granted together.
//! - **Deadlocks.** When a request begins to wait, the manager adds edges
//!   from it to every conflicting holder and every conflicting earlier waiter
//!   of its key in the [`WaitForGraph`] and searches for a cycle through it.
//!   If there is one, the newcomer is the victim: its request is withdrawn
//!   and it gets [`Error::Deadlock`](crate::error::Error::Deadlock) (40P01) at
//!   once. It keeps its other locks; the caller rolls back and calls
//!   `release_all`.
//! - **Timeouts and cancels.** A wait that outlives its
//!   [`WaitPolicy::Wait`] timeout, a conflict under [`WaitPolicy::NoWait`],
//!   and a wait ended by [`LockManager::cancel_wait`] all give
//!   [`Error::LockTimeout`](crate::error::Error::LockTimeout) (55P03); a
//!   canceled one's message starts with "canceled".
//!
//! # Invariants
//!
//! 1. The holders of a key are pairwise compatible.
//! 2. No queued request could be granted: after every change the head of
//!    each queue conflicts with some holder.
//! 3. The wait-for graph is exact: the out-edges of each waiter are the
//!    conflicting holders and conflicting earlier waiters of its key, and a
//!    transaction that is not queued has no out-edges. Every change to a
//!    queue rewrites the edges of that queue's waiters, so a grant, release,
//!    timeout or cancel never leaves a stale edge behind (no phantom
//!    deadlocks).
//! 4. Every cycle passes through the newest wait. New edges appear only
//!    when a request is queued: its own, and (for an upgrade, which jumps
//!    ahead) those of the waiters it overtakes, which point at it. Grants,
//!    releases, timeouts and cancels only remove edges or re-express one
//!    (a waiter that blocked as an earlier waiter blocks as a holder once
//!    granted). So checking the newcomer alone finds every deadlock.
//! 5. No lost wake-ups. Whoever ends a wait (a grant, a cancel,
//!    `release_all`) records the outcome in the waiter's pending entry under
//!    the table latch and then notifies the waiter's own condition variable;
//!    the waiter reads its outcome under the same latch before each sleep.
//!    A deadlock victim is chosen while it is still running, so it never
//!    sleeps at all.
//! 6. Bounded memory. A key with no holders and no waiters is removed from
//!    the table; a transaction's held-key list goes at `release_all`, its
//!    pending entry when its `acquire` returns.
//!
//! # Example: a deadlock between three transactions
//!
//! ```text
//!   T1: acquire(k1, Exclusive)   granted
//!   T2: acquire(k2, Exclusive)   granted
//!   T3: acquire(k1, Shared)      waits: T3 → T1          (T1 holds k1)
//!   T1: acquire(k2, Shared)      waits: T1 → T2          (T2 holds k2)
//!   T2: acquire(k1, Exclusive)   would wait: T2 → T1     (holder of k1)
//!                                            T2 → T3     (queued ahead on k1)
//!
//!        k1: holders [T1 X]   queue [T3 S, T2 X]
//!        k2: holders [T2 X]   queue [T1 S]
//!
//!       T3 ───k1───► T1 ◄───k1─── T2        edge label: the key whose queue
//!        ▲            │           ▲ │        makes the edge
//!        │            └────k2─────┘ │
//!        └──────────────k1──────────┘
//! ```
//!
//! The search from T2 finds T2 → T1 → T2, so T2 gets
//! `deadlock detected: transaction 2 waits for 1 (lock on key 0x6b31), which
//! waits for 2 (lock on key 0x6b32)`; its request on k1 leaves the queue and
//! its edges go. T2 rolls back and calls `release_all(2)`: k2 is free, T1 is
//! granted Shared on k2 and runs on. (T3 → T1 → T2 was never a cycle: T3 only
//! waits.)

mod key_lock;
mod manager;
mod sync;
mod wait_for_graph;

#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

pub use manager::LockManager;
pub use wait_for_graph::WaitForGraph;

/// Identifies a transaction to the lock manager.
pub type TxnId = u64;

/// The strength of a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockMode {
    /// Read lock: any number of transactions may hold it together.
    Shared,
    /// Write lock: its holder is the only one.
    Exclusive,
}

impl LockMode {
    /// True when two transactions may hold `self` and `other` on one key.
    pub fn is_compatible_with(self, other: LockMode) -> bool {
        self == LockMode::Shared && other == LockMode::Shared
    }

    /// True when holding `self` makes a request for `wanted` redundant.
    pub fn covers(self, wanted: LockMode) -> bool {
        self == LockMode::Exclusive || wanted == LockMode::Shared
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LockMode::Shared => "shared",
            LockMode::Exclusive => "exclusive",
        })
    }
}

/// What [`LockManager::acquire`] does when the lock cannot be granted at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitPolicy {
    /// Wait until granted, or until the timeout passes (`None`: forever).
    Wait(Option<Duration>),
    /// Fail at once with a lock timeout (SQL `NOWAIT`).
    NoWait,
}

/// One holder of a lock, as shown by [`LockManager::snapshot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockHolder {
    /// The holding transaction.
    pub txn: TxnId,
    /// The mode it holds.
    pub mode: LockMode,
}

/// One queued request, as shown by [`LockManager::snapshot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockWaiter {
    /// The waiting transaction.
    pub txn: TxnId,
    /// The mode it asks for.
    pub mode: LockMode,
    /// True when it already holds Shared and asks for Exclusive.
    pub upgrade: bool,
}

/// The state of the lock on one key (for the shell's `\locks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    /// The locked key.
    pub key: Vec<u8>,
    /// Its holders, in grant order.
    pub holders: Vec<LockHolder>,
    /// Its waiters, in queue order (the next to be granted first).
    pub waiters: Vec<LockWaiter>,
}
