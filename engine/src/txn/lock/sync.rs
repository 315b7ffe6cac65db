//! The synchronization primitives of the lock manager, chosen at compile time.
//!
//! Normal builds use `parking_lot`; builds with `--cfg loom` use `loom::sync`
//! so the model tests in `tests/loom_lock_manager.rs` can explore every
//! interleaving of the lock manager's threads. Both sides expose the same
//! small API: [`Mutex::lock`] returns a guard, and [`Condvar`] waits on a
//! `&mut` guard (parking_lot's shape), so `manager.rs` has no `cfg` of its own.
//!
//! Loom has no clock: under loom a timed wait behaves as an untimed one and
//! never reports a timeout, so the loom models only use untimed waits.

use std::ops::{Deref, DerefMut};
use std::time::Instant;

#[cfg(not(loom))]
mod imp {
    pub(crate) type RawMutex<T> = parking_lot::Mutex<T>;
    pub(crate) type RawGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
    pub(crate) type RawCondvar = parking_lot::Condvar;
    pub(crate) use std::sync::Arc;
}

#[cfg(loom)]
mod imp {
    pub(crate) type RawMutex<T> = loom::sync::Mutex<T>;
    pub(crate) type RawGuard<'a, T> = loom::sync::MutexGuard<'a, T>;
    pub(crate) type RawCondvar = loom::sync::Condvar;
    pub(crate) use loom::sync::Arc;
}

/// Reference-counted pointer (`loom::sync::Arc` under loom).
pub(crate) use imp::Arc;

/// A mutual-exclusion lock with parking_lot's non-poisoning API.
#[derive(Debug)]
pub(crate) struct Mutex<T>(imp::RawMutex<T>);

/// Proof that the [`Mutex`] is held; gives access to the data.
pub(crate) struct MutexGuard<'a, T> {
    // Under loom the guard is moved into `Condvar::wait` and back, so it is
    // briefly absent; outside a wait it is always present.
    #[cfg(loom)]
    inner: Option<imp::RawGuard<'a, T>>,
    #[cfg(not(loom))]
    inner: imp::RawGuard<'a, T>,
}

/// A condition variable used with [`Mutex`].
#[derive(Debug)]
pub(crate) struct Condvar(imp::RawCondvar);

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    pub(crate) fn new(value: T) -> Self {
        Mutex(imp::RawMutex::new(value))
    }

    /// Blocks until the mutex is acquired.
    #[cfg(not(loom))]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        MutexGuard {
            inner: self.0.lock(),
        }
    }

    /// Blocks until the mutex is acquired.
    #[cfg(loom)]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        // A poisoned mutex means a model thread panicked; loom reports that.
        let guard = self.0.lock().expect("lock manager mutex poisoned");
        MutexGuard { inner: Some(guard) }
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;

    #[cfg(not(loom))]
    fn deref(&self) -> &T {
        &self.inner
    }

    #[cfg(loom)]
    fn deref(&self) -> &T {
        self.inner
            .as_ref()
            .expect("guard is present outside a wait")
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    #[cfg(not(loom))]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    #[cfg(loom)]
    fn deref_mut(&mut self) -> &mut T {
        self.inner
            .as_mut()
            .expect("guard is present outside a wait")
    }
}

impl Condvar {
    /// A new condition variable.
    pub(crate) fn new() -> Self {
        Condvar(imp::RawCondvar::new())
    }

    /// Wakes one thread waiting on this condition variable.
    pub(crate) fn notify_one(&self) {
        self.0.notify_one();
    }

    /// Releases the mutex, sleeps until notified (or spuriously woken), and
    /// re-acquires it.
    #[cfg(not(loom))]
    pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        self.0.wait(&mut guard.inner);
    }

    /// Releases the mutex, sleeps until notified (or spuriously woken), and
    /// re-acquires it.
    #[cfg(loom)]
    pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        let raw = guard.inner.take().expect("guard is present outside a wait");
        let raw = self.0.wait(raw).expect("lock manager mutex poisoned");
        guard.inner = Some(raw);
    }

    /// Like [`Condvar::wait`] but gives up at `deadline`; returns true if the
    /// deadline passed. Under loom this never times out.
    #[cfg(not(loom))]
    pub(crate) fn wait_until<T>(&self, guard: &mut MutexGuard<'_, T>, deadline: Instant) -> bool {
        self.0.wait_until(&mut guard.inner, deadline).timed_out()
    }

    /// Like [`Condvar::wait`] but gives up at `deadline`; returns true if the
    /// deadline passed. Under loom this never times out.
    #[cfg(loom)]
    pub(crate) fn wait_until<T>(&self, guard: &mut MutexGuard<'_, T>, deadline: Instant) -> bool {
        let raw = guard.inner.take().expect("guard is present outside a wait");
        let timeout = deadline.saturating_duration_since(Instant::now());
        let (raw, result) = self
            .0
            .wait_timeout(raw, timeout)
            .expect("lock manager mutex poisoned");
        guard.inner = Some(raw);
        result.timed_out()
    }
}
