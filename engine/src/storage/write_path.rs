//! The write path: group commit into the write-ahead log, then the memtable.
//!
//! ```text
//!  writer A ─┐                      ┌─ one log record (A+B+C), one fsync if any asked for sync
//!  writer B ─┼─> queue ─> leader A ─┼─ memtable insert, sequence numbers first..last
//!  writer C ─┘                      └─ finish the oracle range (the watermark rises), wake B and C
//! ```
//!
//! Each writer joins a FIFO queue. The writer at the front is the *leader*:
//! it makes room (freezing a full memtable, or stalling while flushes and
//! compactions catch up), takes every queued batch up to 1 MiB, takes one range of
//! consecutive sequence numbers for them from the
//! [`TimestampOracle`](crate::storage::TimestampOracle)
//! (shared by the shards of a cluster), appends them to the log as **one**
//! record, syncs the log once if any of them asked for durability, inserts
//! them into the memtable and only then finishes the range, which lets the
//! oracle's watermark pass it, so a reader sees a batch whole or not at all.
//! Each writer returns once the watermark covers its batch (immediate with
//! one store; with shards it may wait for another shard's group below it).
//! A pre-numbered batch ([`crate::storage::Store::write_at`], a cross-shard
//! commit at its reserved timestamp) is logged alone and takes nothing from
//! the oracle. Followers sleep until the leader
//! marks them done. Group commit needs company: two writers in a closed loop
//! would otherwise take turns, each arriving while the other syncs. So once
//! a writer has been seen arriving during a group's I/O, a leader that must
//! sync first waits up to `group_commit_delay` (200 µs by default, small
//! beside an fsync) for a second writer; a wait that gathers nobody switches
//! the delay off again. A failed log write or sync poisons the store: the record
//! may or may not be on disk, so every later write is refused until the store
//! is reopened and recovered from the log.
//!
//! Stalls, in the order they are checked: with `l0_stop_trigger` L0 tables
//! writes wait for compaction; with `l0_slowdown_trigger` each leader sleeps
//! 1 ms once; with a full memtable and `max_immutable_memtables` frozen ones
//! waiting, writes wait for a flush. So memtables never use more than
//! `memtable_size * (1 + max_immutable_memtables)` plus one group.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::storage::batch::WriteBatch;
use crate::storage::compaction::{level0_task, pick_level0};
use crate::storage::key::SeqNo;
use crate::storage::log_tracking;
use crate::storage::store::StoreInner;
use crate::{Error, Result};

/// Most bytes one leader gathers into a group.
const MAX_GROUP_BYTES: usize = 1 << 20;

struct PendingWrite {
    /// A barrier carries no batch: its leader runs a maintenance step
    /// (freezing the memtable) alone, and no group reaches past it.
    barrier: bool,
    /// A pre-numbered batch ([`write_at`]): written alone at this first
    /// sequence number, drawing nothing from the oracle.
    at: Option<SeqNo>,
    batch: Mutex<Option<WriteBatch>>,
    size: usize,
    sync: bool,
    /// Set by the leader: the last sequence number of the batch, or the error.
    outcome: Mutex<Option<std::result::Result<SeqNo, String>>>,
}

/// The queue of writers waiting for a leader.
#[derive(Default)]
pub(crate) struct WriteQueue {
    queue: Mutex<VecDeque<Arc<PendingWrite>>>,
    changed: Condvar,
    /// Set when a writer arrived while a group was doing its I/O: synced
    /// leaders then wait briefly for company. Cleared when such a wait
    /// gathers nobody, so a lone writer pays the delay at most once.
    contended: AtomicBool,
}

/// Applies `batch` through group commit; returns its last sequence number
/// once the oracle's watermark covers it (so the writer reads its write).
pub(crate) fn write(inner: &StoreInner, batch: WriteBatch, sync: bool) -> Result<SeqNo> {
    if batch.is_empty() {
        return Ok(inner.visible_seq());
    }
    let last = submit(inner, batch, None, sync)?;
    inner.oracle.wait_visible(last);
    Ok(last)
}

/// Applies `batch` at the pre-assigned sequence numbers starting at
/// `first_seq` (see [`crate::storage::Store::write_at`]); returns the last.
pub(crate) fn write_at(
    inner: &StoreInner,
    batch: WriteBatch,
    first_seq: SeqNo,
    sync: bool,
) -> Result<SeqNo> {
    if batch.is_empty() {
        return Ok(first_seq.saturating_sub(1));
    }
    submit(inner, batch, Some(first_seq), sync)
}

/// Queues a batch, leads its group or waits for the leader; returns its
/// last sequence number.
fn submit(inner: &StoreInner, batch: WriteBatch, at: Option<SeqNo>, sync: bool) -> Result<SeqNo> {
    let me = Arc::new(PendingWrite {
        barrier: false,
        at,
        size: batch.encoded_len(),
        batch: Mutex::new(Some(batch)),
        sync,
        outcome: Mutex::new(None),
    });
    if let Some(outcome) = wait_for_turn(inner, &me) {
        return outcome.map_err(Error::Poisoned);
    }

    // We lead. Make room first; a failure here fails only our own write.
    if sync {
        gather_company(inner);
    }
    if let Err(e) = make_room(inner) {
        let mut queue = inner.writes.queue.lock();
        queue.pop_front();
        inner.writes.changed.notify_all();
        return Err(e);
    }
    // A pre-numbered batch is logged alone, and joins no one else's group.
    let group: Vec<Arc<PendingWrite>> = {
        let queue = inner.writes.queue.lock();
        let mut bytes = 0;
        queue
            .iter()
            .take_while(|w| {
                bytes += w.size;
                Arc::ptr_eq(w, &me)
                    || (me.at.is_none() && w.at.is_none() && !w.barrier && bytes <= MAX_GROUP_BYTES)
            })
            .cloned()
            .collect()
    };
    let result = commit_group(inner, &group);
    let mut queue = inner.writes.queue.lock();
    for (i, pending) in group.iter().enumerate() {
        queue.pop_front();
        if i > 0 {
            *pending.outcome.lock() = Some(match &result {
                Ok(last_seqs) => Ok(last_seqs[i]),
                Err(e) => Err(e.to_string()),
            });
        }
    }
    // Someone queued up while we were doing I/O: writers are concurrent.
    if !queue.is_empty() {
        inner.writes.contended.store(true, Ordering::Relaxed);
    }
    inner.writes.changed.notify_all();
    drop(queue);
    result.map(|last_seqs| last_seqs[0])
}

/// Commit delay: a synced leader that has seen concurrent writers waits up
/// to `group_commit_delay` for another writer to join its group, so two
/// writers in a closed loop share fsyncs instead of taking turns.
fn gather_company(inner: &StoreInner) {
    let delay = inner.options.group_commit_delay;
    if delay.is_zero() || !inner.writes.contended.load(Ordering::Relaxed) {
        return;
    }
    let deadline = Instant::now() + delay;
    let mut queue = inner.writes.queue.lock();
    while queue.len() < 2 {
        if inner
            .writes
            .changed
            .wait_until(&mut queue, deadline)
            .timed_out()
        {
            break;
        }
    }
    if queue.len() < 2 {
        inner.writes.contended.store(false, Ordering::Relaxed);
    }
}

/// Queues `me` and sleeps until it leads (returns `None`) or a leader has
/// finished its write (returns the outcome).
fn wait_for_turn(
    inner: &StoreInner,
    me: &Arc<PendingWrite>,
) -> Option<std::result::Result<SeqNo, String>> {
    let mut queue = inner.writes.queue.lock();
    queue.push_back(Arc::clone(me));
    // A leader may be gathering company for its group.
    if queue.len() > 1 {
        inner.writes.changed.notify_all();
    }
    loop {
        if let Some(outcome) = me.outcome.lock().take() {
            return Some(outcome);
        }
        if queue.front().is_some_and(|front| Arc::ptr_eq(front, me)) {
            return None;
        }
        inner.writes.changed.wait(&mut queue);
    }
}

/// Freezes the active memtable (if it holds anything) as a barrier in the
/// write queue, so no group is between taking the memtable and inserting.
pub(crate) fn freeze_memtable(inner: &StoreInner) -> Result<()> {
    let me = Arc::new(PendingWrite {
        barrier: true,
        at: None,
        batch: Mutex::new(None),
        size: 0,
        sync: false,
        outcome: Mutex::new(None),
    });
    wait_for_turn(inner, &me);
    let empty = inner.state.lock().mem.is_empty();
    let result = if empty { Ok(()) } else { freeze(inner) };
    let mut queue = inner.writes.queue.lock();
    queue.pop_front();
    inner.writes.changed.notify_all();
    result
}

/// Logs and applies a group; returns each batch's last sequence number.
/// The group's numbers come from the oracle as one range in flight (or are
/// the pre-assigned ones of a lone pre-numbered batch), and the range is
/// finished whatever happens, so the watermark never waits for a failed group.
fn commit_group(inner: &StoreInner, group: &[Arc<PendingWrite>]) -> Result<Vec<SeqNo>> {
    let mut last_seqs = Vec::with_capacity(group.len());
    let mut sync = false;
    // A group of one (the common case without contention) is logged as is.
    let mut combined = match group {
        [only] => only.batch.lock().take().unwrap_or_default(),
        _ => WriteBatch::new(),
    };
    let mut counts = Vec::with_capacity(group.len());
    if group.len() == 1 {
        counts.push(combined.len() as u64);
        sync = group[0].sync;
    } else {
        for pending in group {
            if let Some(batch) = pending.batch.lock().take() {
                combined.append(&batch);
            }
            counts.push(combined.len() as u64);
            sync |= pending.sync;
        }
    }
    let total = combined.len() as u64;
    let pre_numbered = group[0].at;
    let first_seq = match pre_numbered {
        Some(at) => at,
        None => inner.oracle.begin(total),
    };
    let finish = || {
        if pre_numbered.is_none() {
            inner.oracle.finish(first_seq);
        }
    };
    last_seqs.extend(counts.iter().map(|count| first_seq + count - 1));
    let mem = Arc::clone(&inner.state.lock().mem);
    {
        let mut wal = inner.wal.lock();
        let logged = wal.add_record(combined.encode(first_seq)).and_then(|_| {
            if sync {
                slow_disk(inner);
                wal.sync()
            } else {
                wal.flush()
            }
        });
        if let Err(e) = logged {
            finish();
            poison(inner, &e);
            return Err(e);
        }
    }
    mem.apply(&combined, first_seq);
    inner
        .last_written
        .fetch_max(first_seq + total - 1, Ordering::AcqRel);
    finish();
    Ok(last_seqs)
}

fn poison(inner: &StoreInner, error: &Error) {
    let mut state = inner.state.lock();
    state
        .bg_error
        .get_or_insert_with(|| format!("write-ahead log failed: {error}"));
    inner.work.notify_all();
}

/// The injected fsync delay of [`crate::storage::Store::set_sync_delay`], if any.
fn slow_disk(inner: &StoreInner) {
    let micros = inner.sync_delay_micros.load(Ordering::Relaxed);
    if micros > 0 {
        std::thread::sleep(Duration::from_micros(micros));
    }
}

/// Stalls or freezes the memtable so the next group fits the budgets.
fn make_room(inner: &StoreInner) -> Result<()> {
    let options = &inner.options;
    let mut slowed = false;
    let mut state = inner.state.lock();
    loop {
        if let Some(reason) = &state.bg_error {
            return Err(Error::Poisoned(reason.clone()));
        }
        if state.shutting_down {
            return Err(Error::Closed);
        }
        let l0 = state.version.level(0).len();
        if l0 >= options.l0_stop_trigger {
            // Level 0 cannot drain when every compaction of it would read a
            // damaged table: this write fails (the store is not poisoned).
            if !state.damaged.is_empty()
                && pick_level0(&state.version, &state.damaged).is_none()
                && let Some(error) = state.damaged.error_for(&level0_task(&state.version))
            {
                return Err(error);
            }
            inner.work.wait(&mut state);
            continue;
        }
        if l0 >= options.l0_slowdown_trigger && !slowed {
            slowed = true;
            drop(state);
            std::thread::sleep(Duration::from_millis(1));
            state = inner.state.lock();
            continue;
        }
        if state.mem.approximate_size() < options.memtable_size {
            return Ok(());
        }
        if state.imms.len() >= options.max_immutable_memtables.max(1) {
            inner.work.wait(&mut state);
            continue;
        }
        drop(state);
        freeze(inner)?;
        state = inner.state.lock();
    }
}

/// Moves the active memtable to the frozen list and starts a new log for its
/// successor, recorded in the manifest ([`log_tracking::switch_log`]). Only
/// the leader of the write queue may call this, without the state lock. A
/// failure poisons the store: the manifest or the log may be unusable.
fn freeze(inner: &StoreInner) -> Result<()> {
    let result = log_tracking::switch_log(inner);
    if let Err(e) = &result {
        poison(inner, e);
    }
    result
}
