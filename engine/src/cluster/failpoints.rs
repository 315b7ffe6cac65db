//! [`Failpoints`]: named points in the commit protocol and in recovery where
//! a test can stop the coordinator (as if its process died there) or run
//! an action at that instant, such as crashing a shard.
//!
//! ```text
//!   commit:   BeforePrepare ─ prepare 1 ─ AfterPrepare(1) ─ … ─ AfterPrepare(n)
//!             ─ decision synced on the home shard ─ AfterDecision
//!             ─ commit 1 ─ AfterCommit(1) ─ … ─ AfterCommit(n)
//!   resolver: ResolverBeforeDecide ─ conditional write ─ ResolverAfterDecide
//!   open:     RecoveryBeforeApply (each in-doubt transaction, before its outcome is applied)
//! ```
//!
//! An action returns [`FailAction::Stop`] to make the coordinator (or the
//! resolver) stop dead at that point: it returns an "outcome unknown" error
//! and cleans up nothing, exactly what its crash would leave; or
//! [`FailAction::Continue`] after doing whatever it likes (a shard crash, a
//! pause). Unarmed failpoints cost one atomic load.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;

use crate::txn::TxnId;
use crate::{Error, Result};

/// A point of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Failpoint {
    /// A multi-shard commit is about to send its prepares.
    BeforePrepare,
    /// The n-th participant (1-based, in shard order) has prepared.
    AfterPrepare(usize),
    /// The decision is durable on the home shard.
    AfterDecision,
    /// The n-th participant (1-based) has applied the commit.
    AfterCommit(usize),
    /// A resolver is about to write an in-doubt transaction's outcome.
    ResolverBeforeDecide,
    /// A resolver has written (or read) the outcome, not applied it yet.
    ResolverAfterDecide,
    /// Opening the cluster: an in-doubt transaction's outcome is known and
    /// about to be applied.
    RecoveryBeforeApply,
}

impl Failpoint {
    /// Every point a commit of `participants` shards passes, in order.
    pub fn commit_points(participants: usize) -> Vec<Failpoint> {
        let mut points = vec![Failpoint::BeforePrepare];
        points.extend((1..=participants).map(Failpoint::AfterPrepare));
        points.push(Failpoint::AfterDecision);
        points.extend((1..=participants).map(Failpoint::AfterCommit));
        points
    }
}

/// What happens at an armed failpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailAction {
    /// The coordinator or resolver stops dead here.
    Stop,
    /// It goes on.
    Continue,
}

/// A test's action at a failpoint: given the point and the transaction.
pub type FailHook = Arc<dyn Fn(Failpoint, TxnId) -> FailAction + Send + Sync>;

/// The armed failpoints of one cluster.
#[derive(Default)]
pub struct Failpoints {
    armed: AtomicBool,
    hooks: RwLock<HashMap<Failpoint, FailHook>>,
}

impl std::fmt::Debug for Failpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let points: Vec<Failpoint> = self.hooks.read().keys().copied().collect();
        f.debug_struct("Failpoints")
            .field("armed", &points)
            .finish()
    }
}

impl Failpoints {
    /// Arms `point` with `hook`.
    pub fn set(&self, point: Failpoint, hook: FailHook) {
        self.hooks.write().insert(point, hook);
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Arms `point` to stop whoever reaches it.
    pub fn stop_at(&self, point: Failpoint) {
        self.set(point, Arc::new(|_, _| FailAction::Stop));
    }

    /// Disarms every point.
    pub fn clear(&self) {
        self.hooks.write().clear();
        self.armed.store(false, Ordering::SeqCst);
    }

    /// True when some point is armed.
    pub fn is_armed(&self) -> bool {
        self.armed.load(Ordering::Relaxed)
    }

    /// Called at `point` for `txn`: `Err` means stop here (see the module docs).
    pub(crate) fn hit(&self, point: Failpoint, txn: TxnId) -> Result<()> {
        if !self.armed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let hook = self.hooks.read().get(&point).cloned();
        match hook.map(|hook| hook(point, txn)) {
            Some(FailAction::Stop) => Err(Error::OutcomeUnknown {
                txn,
                reason: format!("the coordinator stopped at failpoint {point:?}"),
            }),
            _ => Ok(()),
        }
    }
}
