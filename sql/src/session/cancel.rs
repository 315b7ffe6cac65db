//! Stopping a running statement: [`CancelHandle`] (another thread asks) and
//! [`Interrupt`] (the executor's operators look), plus the statement's
//! deadline (`statement_timeout`).
//!
//! The session publishes its [`Activity`] — the engine id of the
//! transaction it is in, and the number of the statement it is running (0
//! when none) — in atomics shared with its cancel handles. A cancel marks
//! that statement number as canceled and ends its lock wait, if it waits;
//! the statement's operators call [`Interrupt::check`] as they go (per row
//! scanned, joined, sorted, grouped or written) and fail with 57014 at the
//! next check:
//!
//! ```text
//!   session thread                          other thread (Ctrl-C, CancelRequest)
//!   SELECT ... (statement 7, scanning)
//!                                           handle.cancel(): canceled = 7,
//!                                             cluster.cancel_wait(txn)
//!   scan: check() sees canceled == 7
//!   SELECT fails with 57014; in a block, the block is failed (25P02 until ROLLBACK)
//! ```
//!
//! A check reads one atomic; the clock (for the deadline) is read every
//! [`CHECK_CLOCK_EVERY`] checks, so a check costs a few nanoseconds and a
//! statement stops within microseconds of a cancel. A cancel that arrives
//! while no statement runs does nothing (as in PostgreSQL). A cancel that
//! arrives just before the statement starts a lock wait would miss it, so
//! when the first `cancel_wait` finds no wait, a short-lived thread keeps
//! retrying it until the canceled statement ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use isodb_engine::cluster::Cluster;
use isodb_engine::txn::TxnId;

use crate::error::{Error, Result};

/// How many checks pass between two readings of the clock.
pub const CHECK_CLOCK_EVERY: u32 = 256;

/// How long the follow-up of a cancel keeps trying to end a lock wait that
/// began just after the cancel.
const FOLLOW_UP: Duration = Duration::from_secs(2);

/// What a session is doing, as other threads see it.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    /// The engine id of the session's transaction (0: none).
    transaction: AtomicU64,
    /// The number of the running statement (0: none).
    running: AtomicU64,
    /// The number of the last statement a cancel was aimed at.
    canceled: AtomicU64,
}

impl Activity {
    /// Publishes the session's transaction (or none).
    pub(crate) fn set_transaction(&self, id: Option<TxnId>) {
        self.transaction.store(id.unwrap_or(0), Ordering::SeqCst);
    }

    /// The published transaction.
    pub(crate) fn transaction(&self) -> Option<TxnId> {
        match self.transaction.load(Ordering::SeqCst) {
            0 => None,
            id => Some(id),
        }
    }

    /// Marks statement `number` as running.
    pub(crate) fn start_statement(&self, number: u64) {
        self.running.store(number, Ordering::SeqCst);
    }

    /// Marks the running statement as finished.
    pub(crate) fn end_statement(&self) {
        self.running.store(0, Ordering::SeqCst);
    }

    fn is_canceled(&self, number: u64) -> bool {
        self.canceled.load(Ordering::Relaxed) == number
    }
}

/// Why a statement is stopped.
fn canceled_by_user() -> Error {
    Error::QueryCanceled("user request".into())
}

fn timed_out() -> Error {
    Error::QueryCanceled("statement timeout".into())
}

/// The interrupt checks of one running statement: a canceled flag and a
/// deadline. Operators call [`Interrupt::check`] once per row they handle.
#[derive(Debug)]
pub struct Interrupt {
    activity: Option<Arc<Activity>>,
    statement: u64,
    deadline: Option<Instant>,
    ticks: u32,
}

impl Interrupt {
    /// Checks that never fire (for work outside a session's statement).
    pub fn never() -> Interrupt {
        Interrupt {
            activity: None,
            statement: 0,
            deadline: None,
            ticks: 0,
        }
    }

    /// Checks that fire only at `deadline` (for tests of an operator).
    pub fn for_deadline(deadline: Instant) -> Interrupt {
        Interrupt {
            deadline: Some(deadline),
            ..Interrupt::never()
        }
    }

    pub(crate) fn new(
        activity: Arc<Activity>,
        statement: u64,
        deadline: Option<Instant>,
    ) -> Interrupt {
        Interrupt {
            activity: Some(activity),
            statement,
            deadline,
            ticks: 0,
        }
    }

    /// The statement's deadline, if it has a timeout.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Fails with 57014 when the statement was canceled, or (looking at the
    /// clock every [`CHECK_CLOCK_EVERY`] calls) when its deadline passed.
    #[inline]
    pub fn check(&mut self) -> Result<()> {
        if let Some(activity) = &self.activity
            && activity.is_canceled(self.statement)
        {
            return Err(canceled_by_user());
        }
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(CHECK_CLOCK_EVERY) {
            self.check_deadline()?;
        }
        Ok(())
    }

    /// Like [`Interrupt::check`], reading the clock now.
    pub fn check_now(&mut self) -> Result<()> {
        if let Some(activity) = &self.activity
            && activity.is_canceled(self.statement)
        {
            return Err(canceled_by_user());
        }
        self.check_deadline()
    }

    fn check_deadline(&self) -> Result<()> {
        match self.deadline {
            Some(deadline) if Instant::now() >= deadline => Err(timed_out()),
            _ => Ok(()),
        }
    }

    /// True when the deadline has passed (how a lock wait that timed out
    /// tells a statement timeout from a lock timeout).
    pub(crate) fn deadline_passed(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// True when this statement was canceled.
    pub(crate) fn was_canceled(&self) -> bool {
        self.activity
            .as_ref()
            .is_some_and(|a| a.is_canceled(self.statement))
    }
}

/// Cancels the running statement of one session from another thread: the
/// shell's Ctrl-C, the server's CancelRequest. `Send + Sync` and cheap to
/// clone; get one with [`crate::Session::cancel_handle`].
#[derive(Clone)]
pub struct CancelHandle {
    cluster: Cluster,
    activity: Arc<Activity>,
}

impl std::fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelHandle")
            .field("transaction", &self.activity.transaction())
            .field("running", &self.is_running())
            .finish()
    }
}

impl CancelHandle {
    pub(crate) fn new(cluster: Cluster, activity: Arc<Activity>) -> CancelHandle {
        CancelHandle { cluster, activity }
    }

    /// The engine id of the session's current transaction, if it has one.
    pub fn transaction_id(&self) -> Option<TxnId> {
        self.activity.transaction()
    }

    /// True while the session runs a statement.
    pub fn is_running(&self) -> bool {
        self.activity.running.load(Ordering::SeqCst) != 0
    }

    /// Cancels the session's running statement, wherever it is (scanning,
    /// joining, sorting, waiting for a lock): it fails with 57014 (query
    /// canceled). Returns false, and does nothing, when no statement runs.
    pub fn cancel(&self) -> bool {
        let statement = self.activity.running.load(Ordering::SeqCst);
        if statement == 0 {
            return false;
        }
        self.activity.canceled.store(statement, Ordering::SeqCst);
        if self.end_lock_wait() {
            return true;
        }
        // The statement may be about to wait for a lock; keep ending waits
        // until it has noticed the cancel.
        let follow_up = self.clone();
        let spawned = std::thread::Builder::new()
            .name("isodb-cancel".into())
            .spawn(move || {
                let start = Instant::now();
                while follow_up.activity.running.load(Ordering::SeqCst) == statement
                    && start.elapsed() < FOLLOW_UP
                {
                    if follow_up.end_lock_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
        // Without a thread the flag alone still stops every check.
        drop(spawned);
        true
    }

    fn end_lock_wait(&self) -> bool {
        self.activity
            .transaction()
            .is_some_and(|id| self.cluster.cancel_wait(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handle_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CancelHandle>();
    }

    #[test]
    fn zero_means_no_transaction() {
        let activity = Activity::default();
        assert_eq!(activity.transaction(), None);
        activity.set_transaction(Some(42));
        assert_eq!(activity.transaction(), Some(42));
        activity.set_transaction(None);
        assert_eq!(activity.transaction(), None);
    }

    #[test]
    fn a_cancel_stops_only_the_statement_it_was_aimed_at() {
        let activity = Arc::new(Activity::default());
        activity.start_statement(3);
        activity.canceled.store(3, Ordering::SeqCst);
        let mut third = Interrupt::new(activity.clone(), 3, None);
        assert_eq!(third.check().map_err(|e| e.sqlstate()), Err("57014"));
        let mut fourth = Interrupt::new(activity, 4, None);
        assert!(fourth.check().is_ok());
    }

    #[test]
    fn a_passed_deadline_fires_within_one_clock_period() {
        let past = Instant::now() - Duration::from_millis(1);
        let mut interrupt = Interrupt::new(Arc::new(Activity::default()), 1, Some(past));
        let mut fired = None;
        for i in 0..CHECK_CLOCK_EVERY {
            if let Err(error) = interrupt.check() {
                fired = Some((i, error.to_string()));
                break;
            }
        }
        let (_, message) = fired.expect("the deadline fired");
        assert_eq!(message, "canceling statement due to statement timeout");
        assert!(interrupt.deadline_passed());
        assert!(Interrupt::never().check_now().is_ok());
    }
}
