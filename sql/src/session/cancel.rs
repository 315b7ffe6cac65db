//! [`CancelHandle`]: stops a session's statement that waits for a row lock,
//! from another thread (the shell's Ctrl-C).
//!
//! The session publishes the engine id of the transaction it is running in
//! a shared cell while it has one (0 when it has none); the handle reads
//! that id and asks the engine to end the transaction's lock wait:
//!
//! ```text
//!   session thread                         other thread
//!   BEGIN            current = 17
//!   UPDATE ... (waits for T9's row lock)
//!                                           handle.cancel()
//!                                             -> cluster.cancel_wait(17)
//!   UPDATE fails with 57014; the block is failed (25P02 until ROLLBACK)
//! ```
//!
//! A cancel only ends a wait in progress: when the session is not waiting
//! for a lock, `cancel` does nothing and returns false.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use isodb_engine::cluster::Cluster;
use isodb_engine::txn::TxnId;

/// The id of the transaction a session is running (0: none), shared with
/// its cancel handles.
#[derive(Debug, Clone, Default)]
pub(crate) struct CurrentTransaction(Arc<AtomicU64>);

impl CurrentTransaction {
    /// Publishes `id` (or none).
    pub(crate) fn set(&self, id: Option<TxnId>) {
        self.0.store(id.unwrap_or(0), Ordering::SeqCst);
    }

    /// The published id.
    pub(crate) fn get(&self) -> Option<TxnId> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            id => Some(id),
        }
    }
}

/// Cancels the lock wait of one session's current statement. `Send + Sync`
/// and cheap to clone; get one with [`crate::Session::cancel_handle`].
#[derive(Clone)]
pub struct CancelHandle {
    cluster: Cluster,
    current: CurrentTransaction,
}

impl std::fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelHandle")
            .field("transaction", &self.current.get())
            .finish()
    }
}

impl CancelHandle {
    pub(crate) fn new(cluster: Cluster, current: CurrentTransaction) -> CancelHandle {
        CancelHandle { cluster, current }
    }

    /// The engine id of the session's current transaction, if it has one.
    pub fn transaction_id(&self) -> Option<TxnId> {
        self.current.get()
    }

    /// Ends the session's lock wait, if it is waiting: its statement fails
    /// with 57014 (query canceled). Returns true if a wait was ended.
    pub fn cancel(&self) -> bool {
        self.current
            .get()
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
        let current = CurrentTransaction::default();
        assert_eq!(current.get(), None);
        current.set(Some(42));
        assert_eq!(current.get(), Some(42));
        current.set(None);
        assert_eq!(current.get(), None);
    }
}
