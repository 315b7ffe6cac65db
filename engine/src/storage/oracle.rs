//! [`TimestampOracle`]: the one source of sequence numbers (commit
//! timestamps) and of the *visible watermark* for every store that shares
//! it, and the list of live snapshots their compactions must respect.
//!
//! A store alone owns an oracle of its own; the shards of a cluster share
//! one, so a snapshot is one number that means the same instant on every
//! shard, and a cross-shard transaction can commit at one timestamp on all
//! of them.
//!
//! Sequence numbers are handed out in contiguous *ranges*. A write-path
//! leader calls [`TimestampOracle::begin`] for its group (the range is *in
//! flight*), writes its log record, applies it to the memtable and calls
//! [`TimestampOracle::finish`]. The watermark is the end of the newest range
//! below which nothing is in flight:
//!
//! ```text
//!   ranges      [10..12] [13..13] [14..20] [21..21]
//!   state        done     flight   done     flight
//!   visible  = 12   (13 is in flight: nothing above 12 may be read yet)
//!   13 done  → visible = 20;   21 done → visible = 21
//! ```
//!
//! So the watermark is always the end of some range, never inside one: a
//! snapshot sees a range whole or not at all. [`TimestampOracle::reserve`]
//! hands out a range that is *not* in flight: a cross-shard commit timestamp,
//! written later on each shard at that number; readers that might need such
//! a write learn of it from the transaction layer (its prepared intents),
//! not from the watermark. A writer is acknowledged only once the watermark
//! covers its range ([`TimestampOracle::wait_visible`]), so a session always
//! reads its own commits; with one store that is immediate.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex};

use crate::storage::key::SeqNo;

/// Hands out sequence numbers and publishes the visible watermark. Share it
/// (`Arc`) between the stores of one cluster; see the module docs.
pub struct TimestampOracle {
    clock: Mutex<Clock>,
    /// Every sequence number at or below this is applied (or reserved).
    visible: AtomicU64,
    advanced: Condvar,
    snapshots: Arc<SnapshotList>,
}

struct Clock {
    /// The highest sequence number handed out.
    last: SeqNo,
    /// First sequence numbers of the ranges in flight, ascending.
    in_flight: VecDeque<SeqNo>,
    /// Threads in `wait_visible`.
    waiters: usize,
}

impl Default for TimestampOracle {
    fn default() -> Self {
        TimestampOracle::new()
    }
}

impl std::fmt::Debug for TimestampOracle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimestampOracle")
            .field("visible", &self.visible())
            .finish_non_exhaustive()
    }
}

impl TimestampOracle {
    /// An oracle that has handed out nothing yet.
    pub fn new() -> TimestampOracle {
        TimestampOracle {
            clock: Mutex::new(Clock {
                last: 0,
                in_flight: VecDeque::new(),
                waiters: 0,
            }),
            visible: AtomicU64::new(0),
            advanced: Condvar::new(),
            snapshots: Arc::new(SnapshotList::default()),
        }
    }

    /// Every sequence number at or below the returned one may be read.
    pub fn visible(&self) -> SeqNo {
        self.visible.load(Ordering::Acquire)
    }

    /// The highest sequence number handed out (or observed).
    pub fn last(&self) -> SeqNo {
        self.clock.lock().last
    }

    /// Makes sure later numbers are above `seq` (a recovered store's last
    /// sequence number).
    pub fn observe(&self, seq: SeqNo) {
        let mut clock = self.clock.lock();
        clock.last = clock.last.max(seq);
        self.publish(&mut clock);
    }

    /// Hands out `count` (at least one) consecutive numbers as a range in
    /// flight; returns the first. Call [`TimestampOracle::finish`] with it
    /// once the range is applied, or abandoned.
    pub fn begin(&self, count: u64) -> SeqNo {
        let mut clock = self.clock.lock();
        let first = clock.last + 1;
        clock.last += count.max(1);
        clock.in_flight.push_back(first);
        first
    }

    /// The range starting at `first` is applied (or will never be).
    pub fn finish(&self, first: SeqNo) {
        let mut clock = self.clock.lock();
        if let Some(at) = clock.in_flight.iter().position(|&f| f == first) {
            clock.in_flight.remove(at);
        }
        self.publish(&mut clock);
    }

    /// Hands out `count` (at least one) consecutive numbers that are not in
    /// flight: the watermark may pass them before anything is written there
    /// (a cross-shard commit timestamp; see the module docs). Returns the
    /// first.
    pub fn reserve(&self, count: u64) -> SeqNo {
        let mut clock = self.clock.lock();
        let first = clock.last + 1;
        clock.last += count.max(1);
        self.publish(&mut clock);
        first
    }

    /// Blocks until the watermark reaches `seq`.
    pub fn wait_visible(&self, seq: SeqNo) {
        if self.visible() >= seq {
            return;
        }
        let mut clock = self.clock.lock();
        clock.waiters += 1;
        while self.visible() < seq {
            self.advanced.wait(&mut clock);
        }
        clock.waiters -= 1;
    }

    fn publish(&self, clock: &mut Clock) {
        let watermark = match clock.in_flight.front() {
            Some(&first) => first - 1,
            None => clock.last,
        };
        if watermark > self.visible.load(Ordering::Relaxed) {
            self.visible.store(watermark, Ordering::Release);
            if clock.waiters > 0 {
                self.advanced.notify_all();
            }
        }
    }

    /// Takes a snapshot at the watermark; compaction of every store sharing
    /// this oracle keeps what it can read until it is dropped.
    pub fn snapshot(&self) -> Snapshot {
        let mut held = self.snapshots.held.lock();
        let seq = self.visible();
        *held.entry(seq).or_insert(0) += 1;
        Snapshot {
            seq,
            list: Arc::clone(&self.snapshots),
        }
    }

    /// The oldest sequence number a live snapshot reads at, or the
    /// watermark when there is none.
    pub fn oldest_snapshot(&self) -> SeqNo {
        let latest = self.visible();
        self.snapshots.oldest(latest)
    }

    /// Number of live snapshots.
    pub fn snapshot_count(&self) -> usize {
        self.snapshots.held.lock().values().sum()
    }
}

/// Live snapshots: sequence number -> how many hold it.
#[derive(Default)]
pub(crate) struct SnapshotList {
    held: Mutex<BTreeMap<SeqNo, usize>>,
}

impl SnapshotList {
    /// The oldest sequence number a snapshot holds, or `latest` when none.
    pub fn oldest(&self, latest: SeqNo) -> SeqNo {
        self.held
            .lock()
            .keys()
            .next()
            .copied()
            .unwrap_or(latest)
            .min(latest)
    }

    fn hold(&self, seq: SeqNo) {
        *self.held.lock().entry(seq).or_insert(0) += 1;
    }

    fn release(&self, seq: SeqNo) {
        let mut held = self.held.lock();
        if let Some(count) = held.get_mut(&seq) {
            *count -= 1;
            if *count == 0 {
                held.remove(&seq);
            }
        }
    }
}

/// A consistent read point. Versions it can see are kept by compaction until
/// it is dropped. Cloning holds the same point once more.
pub struct Snapshot {
    seq: SeqNo,
    list: Arc<SnapshotList>,
}

impl Snapshot {
    /// The sequence number this snapshot reads at.
    pub fn seq(&self) -> SeqNo {
        self.seq
    }
}

impl Clone for Snapshot {
    fn clone(&self) -> Snapshot {
        self.list.hold(self.seq);
        Snapshot {
            seq: self.seq,
            list: Arc::clone(&self.list),
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.list.release(self.seq);
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Snapshot").field(&self.seq).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watermark_stops_below_a_range_in_flight_and_never_inside_one() {
        let oracle = TimestampOracle::new();
        oracle.observe(9);
        assert_eq!(oracle.visible(), 9);
        let a = oracle.begin(3); // 10..12
        let b = oracle.begin(1); // 13
        let c = oracle.begin(7); // 14..20
        assert_eq!((a, b, c), (10, 13, 14));
        assert_eq!(oracle.visible(), 9);
        oracle.finish(a);
        assert_eq!(oracle.visible(), 12);
        oracle.finish(c);
        assert_eq!(oracle.visible(), 12, "13 is still in flight");
        oracle.finish(b);
        assert_eq!(oracle.visible(), 20);
    }

    #[test]
    fn reserved_ranges_are_not_in_flight_and_observe_only_raises() {
        let oracle = TimestampOracle::new();
        let a = oracle.begin(1);
        let r = oracle.reserve(4);
        assert_eq!((a, r), (1, 2));
        assert_eq!(oracle.visible(), 0);
        oracle.finish(a);
        assert_eq!(oracle.visible(), 5);
        oracle.observe(3);
        assert_eq!(oracle.last(), 5);
        assert_eq!(oracle.begin(1), 6);
    }

    #[test]
    fn waiters_wake_when_the_watermark_passes_them() {
        let oracle = Arc::new(TimestampOracle::new());
        let first = oracle.begin(2);
        let waiter = {
            let oracle = Arc::clone(&oracle);
            std::thread::spawn(move || {
                oracle.wait_visible(2);
                oracle.visible()
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        oracle.finish(first);
        assert_eq!(waiter.join().expect("waiter"), 2);
    }

    #[test]
    fn snapshots_hold_the_oldest_point_and_clones_count_twice() {
        let oracle = TimestampOracle::new();
        oracle.observe(5);
        let s = oracle.snapshot();
        let t = s.clone();
        oracle.observe(9);
        assert_eq!(oracle.oldest_snapshot(), 5);
        drop(s);
        assert_eq!(oracle.oldest_snapshot(), 5, "the clone still holds 5");
        drop(t);
        assert_eq!(oracle.oldest_snapshot(), 9);
        assert_eq!(oracle.snapshot_count(), 0);
    }
}
