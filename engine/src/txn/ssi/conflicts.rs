//! Recording SIREADs and writes, turning them into rw-antidependency edges,
//! and resolving the dangerous structures a new edge or a commit completes.
//!
//! An edge `R -rw-> W` means R read a key (or scanned a range holding a key)
//! that W writes, without seeing W's write. Both orders are caught:
//!
//! ```text
//!   W writes k after R read k:  on_write(W, k) looks up the SIREADs on k
//!                               (point index + every scanner's ranges)
//!   R reads k after W wrote k:  on_read(R, k) asks the intent table for an
//!                               uncommitted writer of k and the writers
//!                               index for retained committed ones;
//!                               on_scan(R, range) asks the intent table for
//!                               the writers inside the range and each
//!                               retained committed writer's ordered keys
//! ```
//!
//! Either way the other side must be concurrent: uncommitted, or committed
//! after the snapshot of the one calling (it read at a snapshot that misses
//! the writer, or it writes after a reader that could not see it).
//!
//! Why no write is missed: a writer publishes its intent *before* calling
//! `on_write`, and removes it only *after* `committed`, which indexes its
//! keys when some uncommitted transaction is concurrent with it. A reader
//! registers its SIREAD and looks at the intent table and the index in one
//! critical section of the tracker. So either the writer's `on_write` comes
//! later and sees the SIREAD, or the reader finds the intent, or the intent
//! is gone and the committed writer is in the index (or is not concurrent
//! with any uncommitted transaction, the reader included).

use crate::error::{Error, Result};
use crate::txn::intents::IntentTable;
use crate::txn::ssi::key_range::KeyRange;
use crate::txn::ssi::record::{Phase, TxnRecord};
use crate::txn::ssi::state::TrackerState;
use crate::txn::ssi::{SeqNo, TxnId};
use std::sync::Arc;

impl TrackerState {
    /// The snapshot of `txn` if it may still read and write, else the error
    /// its caller must see: 40001 with the reason if it was doomed.
    pub(crate) fn usable(&self, txn: TxnId) -> Result<SeqNo> {
        match self.txns.get(&txn) {
            Some(TxnRecord {
                phase: Phase::Active,
                snapshot,
                ..
            }) => Ok(*snapshot),
            Some(TxnRecord {
                phase: Phase::Doomed { reason },
                ..
            }) => Err(Error::SerializationFailure(reason.clone())),
            Some(_) => Err(Error::TransactionNotActive(format!(
                "transaction {txn} has already passed its commit check"
            ))),
            None => Err(Error::TransactionNotActive(format!(
                "transaction {txn} is not registered with the serializable-snapshot tracker"
            ))),
        }
    }

    /// One shared copy of `key`, reusing the indexes' copy when there is one.
    pub(crate) fn shared_key(&self, key: &[u8]) -> Arc<[u8]> {
        self.readers
            .shared_key(key)
            .or_else(|| self.writers.shared_key(key))
            .unwrap_or_else(|| Arc::from(key))
    }

    /// `txn` read `key`: a point SIREAD, and an edge to every concurrent
    /// writer of it (uncommitted ones from `intents`).
    pub(crate) fn record_read(
        &mut self,
        txn: TxnId,
        key: &[u8],
        intents: &IntentTable,
    ) -> Result<()> {
        let snapshot = self.usable(txn)?;
        let shared = match self.txns.get(&txn) {
            Some(record) if !record.point_reads.contains(key) => self.shared_key(key),
            _ => return Ok(()),
        };
        self.readers.insert(Arc::clone(&shared), txn);
        if let Some(record) = self.txns.get_mut(&txn) {
            record.point_reads.insert(shared);
        }
        let committed: Vec<TxnId> = self.writers.holders(key).to_vec();
        let writers = self.concurrent_writers(txn, snapshot, committed, intents.writer_of(key));
        for writer in writers {
            self.add_edge(txn, writer, txn)?;
        }
        Ok(())
    }

    /// `txn` scanned `range`: a predicate SIREAD, and an edge to every
    /// concurrent writer of a key inside it (uncommitted ones from `intents`).
    pub(crate) fn record_scan(
        &mut self,
        txn: TxnId,
        range: KeyRange,
        intents: &IntentTable,
    ) -> Result<()> {
        let snapshot = self.usable(txn)?;
        if range.is_empty() {
            return Ok(());
        }
        let Some(record) = self.txns.get_mut(&txn) else {
            return Ok(());
        };
        if record.range_reads.iter().any(|known| known.covers(&range)) {
            return Ok(());
        }
        let bounds = range.bounds();
        let committed: Vec<TxnId> = self
            .writing
            .iter()
            .copied()
            .filter(|w| {
                self.txns
                    .get(w)
                    .is_some_and(|r| r.writes.range::<[u8], _>(bounds).next().is_some())
            })
            .collect();
        let writers = self.concurrent_writers(
            txn,
            snapshot,
            committed,
            intents.writers_in(bounds.0, bounds.1),
        );
        if let Some(record) = self.txns.get_mut(&txn) {
            record.range_reads.push(range);
        }
        self.scanners.insert(txn);
        for writer in writers {
            self.add_edge(txn, writer, txn)?;
        }
        Ok(())
    }

    /// The retained committed writers and the uncommitted ones (from the
    /// intent table), each once, without `txn` itself and without those
    /// not concurrent with a reader at `snapshot`.
    fn concurrent_writers(
        &self,
        txn: TxnId,
        snapshot: SeqNo,
        mut writers: Vec<TxnId>,
        uncommitted: impl IntoIterator<Item = TxnId>,
    ) -> Vec<TxnId> {
        for writer in uncommitted {
            if !writers.contains(&writer) {
                writers.push(writer);
            }
        }
        writers.retain(|&w| {
            w != txn
                && self
                    .txns
                    .get(&w)
                    .is_some_and(|r| r.is_concurrent_with(snapshot))
        });
        writers
    }

    /// `txn` wrote `key`: an edge from every concurrent reader of it. The
    /// caller has already published its intent on `key` (see the module
    /// doc), so a reader coming after this call finds the write there.
    pub(crate) fn record_write(&mut self, txn: TxnId, key: &[u8]) -> Result<()> {
        let snapshot = self.usable(txn)?;
        if let Some(record) = self.txns.get_mut(&txn) {
            record.wrote = true;
        }
        if self.readers.is_empty() && self.scanners.is_empty() {
            return Ok(());
        }
        let concurrent = |r: TxnId| {
            r != txn
                && self
                    .txns
                    .get(&r)
                    .is_some_and(|rec| rec.is_concurrent_with(snapshot))
        };
        let mut readers: Vec<TxnId> = self
            .readers
            .holders(key)
            .iter()
            .copied()
            .filter(|&r| concurrent(r))
            .collect();
        for &scanner in &self.scanners {
            if concurrent(scanner)
                && !readers.contains(&scanner)
                && self
                    .txns
                    .get(&scanner)
                    .is_some_and(|r| r.range_reads.iter().any(|range| range.contains(key)))
            {
                readers.push(scanner);
            }
        }
        for reader in readers {
            self.add_edge(reader, txn, txn)?;
        }
        Ok(())
    }

    /// Adds `reader -rw-> writer` (both live) on behalf of active `caller`,
    /// then aborts a member of every dangerous structure the edge completes.
    fn add_edge(&mut self, reader: TxnId, writer: TxnId, caller: TxnId) -> Result<()> {
        if self.live(reader).is_none() || self.live(writer).is_none() {
            return Ok(());
        }
        let writer_commit = self.txns.get(&writer).and_then(TxnRecord::commit_seq);
        let Some(r) = self.txns.get_mut(&reader) else {
            return Ok(());
        };
        if !r.out_conflicts.insert(writer) {
            return Ok(());
        }
        if let Some(seq) = writer_commit {
            r.note_committed_out(seq, writer);
        }
        if let Some(w) = self.txns.get_mut(&writer) {
            w.in_conflicts.insert(reader);
        }
        self.resolve(caller, None, |state| {
            state.structure_through_edge(reader, writer)
        })
    }

    /// `txn` asks to commit: it becomes committing, then every dangerous
    /// structure it is part of is resolved (it may be the victim itself).
    pub(crate) fn prepare(&mut self, txn: TxnId) -> Result<()> {
        self.usable(txn)?;
        let floor = self.max_committed_seq;
        if let Some(record) = self.txns.get_mut(&txn) {
            record.phase = Phase::Committing { floor };
        }
        self.resolve(txn, Some(txn), |state| state.structure_involving(txn))
    }

    /// Repeats `find` and dooms a victim until no dangerous structure is
    /// left. Returns the 40001 error if the victim is `caller`.
    fn resolve(
        &mut self,
        caller: TxnId,
        preparing: Option<TxnId>,
        find: impl Fn(&TrackerState) -> Option<crate::txn::ssi::structure::DangerousStructure>,
    ) -> Result<()> {
        while let Some(found) = find(self) {
            let Some(victim) = self.choose_victim(&found, preparing) else {
                return Ok(());
            };
            let reason = found.reason_for(victim);
            if victim == caller {
                // The caller aborts: in `prepare_commit` it was set to
                // committing, which `doom` must treat as uncommitted.
                self.doom(victim, reason.clone());
                return Err(Error::SerializationFailure(reason));
            }
            self.doom(victim, reason);
        }
        Ok(())
    }
}
