//! Finding dangerous structures `T_in -rw-> P -rw-> T_out` and choosing
//! whom to abort.
//!
//! A structure is **dangerous** when `T_out` may commit first of the three:
//!
//! 1. `T_out` is committing or committed (an active `T_out` is looked at
//!    again when it reaches `prepare_commit`);
//! 2. `T_out` may commit no later than `P`, and no later than `T_in` unless
//!    `T_in` is `T_out` (comparing the commit-position intervals of
//!    [`crate::txn::ssi::record`]: `earliest(T_out) <= latest(X)`);
//! 3. if `T_in` is read-only, `T_out` may have committed at or before
//!    `T_in`'s snapshot (`earliest(T_out) <= T_in.snapshot`) — otherwise
//!    `T_in` sees none of `T_out`'s effects and no cycle can close.
//!
//! All three conditions only get easier to meet the earlier `T_out`
//! commits, so of `P`'s committed out-conflicts only the earliest matters;
//! the record keeps it (`earliest_committed_out`) even after that
//! transaction is dropped. Committing out-conflicts are looked at one by one.
//!
//! The victim is the first of `P`, `T_in`, `T_out` that can still be
//! aborted: an active transaction, or the one calling `prepare_commit` right
//! now. Committing and committed transactions are never aborted.

use crate::txn::ssi::record::{Phase, TxnRecord};
use crate::txn::ssi::state::TrackerState;
use crate::txn::ssi::{SeqNo, TxnId};

/// One dangerous structure `t_in -rw-> pivot -rw-> t_out`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DangerousStructure {
    /// The transaction that read what the pivot wrote.
    pub(crate) t_in: TxnId,
    /// The transaction with both an in- and an out-conflict.
    pub(crate) pivot: TxnId,
    /// The transaction whose write the pivot did not see; commits first.
    pub(crate) t_out: TxnId,
    /// True when `t_out` has committed (false: it is committing).
    pub(crate) t_out_committed: bool,
    /// True when the read-only rule applied to `t_in` (and was met).
    pub(crate) t_in_read_only: bool,
}

/// A possible `T_out`: its id, earliest commit seq, and whether committed.
#[derive(Clone, Copy, Debug)]
struct OutCandidate {
    id: TxnId,
    earliest: SeqNo,
    committed: bool,
}

impl OutCandidate {
    fn of(id: TxnId, record: &TxnRecord) -> Option<OutCandidate> {
        record.is_settled().then(|| OutCandidate {
            id,
            earliest: record.earliest_commit(),
            committed: record.commit_seq().is_some(),
        })
    }
}

impl TrackerState {
    /// A dangerous structure that the new edge `reader -rw-> writer` is part
    /// of, as its first or its second edge.
    pub(crate) fn structure_through_edge(
        &self,
        reader: TxnId,
        writer: TxnId,
    ) -> Option<DangerousStructure> {
        self.structure_with_pivot(writer, Some(reader), None)
            .or_else(|| self.structure_with_pivot(reader, None, Some(writer)))
    }

    /// A dangerous structure `txn` is part of, in any role.
    pub(crate) fn structure_involving(&self, txn: TxnId) -> Option<DangerousStructure> {
        let record = self.live(txn)?;
        let as_t_out = || {
            record
                .in_conflicts
                .iter()
                .find_map(|&pivot| self.structure_with_pivot(pivot, None, Some(txn)))
        };
        let as_t_in = || {
            record
                .out_conflicts
                .iter()
                .find_map(|&pivot| self.structure_with_pivot(pivot, Some(txn), None))
        };
        as_t_out()
            .or_else(|| self.structure_with_pivot(txn, None, None))
            .or_else(as_t_in)
    }

    /// A dangerous structure with pivot `pivot`, restricted to the given
    /// `t_in` and `t_out` when they are named.
    fn structure_with_pivot(
        &self,
        pivot: TxnId,
        t_in: Option<TxnId>,
        t_out: Option<TxnId>,
    ) -> Option<DangerousStructure> {
        let p = self.live(pivot)?;
        let mut outs = Vec::new();
        match t_out {
            Some(id) => outs.extend(OutCandidate::of(id, self.live(id)?)),
            None => {
                if let Some((seq, id)) = p.earliest_committed_out {
                    outs.push(OutCandidate {
                        id,
                        earliest: seq,
                        committed: true,
                    });
                }
                for &id in &p.out_conflicts {
                    if let Some(o) = self.live(id)
                        && matches!(o.phase, Phase::Committing { .. })
                    {
                        outs.extend(OutCandidate::of(id, o));
                    }
                }
            }
        }
        for out in outs {
            if out.earliest > p.latest_commit() {
                continue;
            }
            let check = |id: TxnId| {
                let i = self.live(id)?;
                if id != out.id && out.earliest > i.latest_commit() {
                    return None;
                }
                let read_only = id != out.id && i.is_read_only();
                if read_only && out.earliest > i.snapshot {
                    return None;
                }
                Some(DangerousStructure {
                    t_in: id,
                    pivot,
                    t_out: out.id,
                    t_out_committed: out.committed,
                    t_in_read_only: read_only,
                })
            };
            let found = match t_in {
                Some(id) => check(id),
                None => p.in_conflicts.iter().find_map(|&id| check(id)),
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// The member to abort: the pivot, else `T_in`, else `T_out`, whichever
    /// comes first that is active or is `preparing` (the transaction inside
    /// `prepare_commit`). `None` if all have committed.
    pub(crate) fn choose_victim(
        &self,
        found: &DangerousStructure,
        preparing: Option<TxnId>,
    ) -> Option<TxnId> {
        [found.pivot, found.t_in, found.t_out]
            .into_iter()
            .find(|&t| {
                Some(t) == preparing || self.txns.get(&t).is_some_and(|r| r.phase == Phase::Active)
            })
    }
}

impl DangerousStructure {
    /// Why `victim` is aborted, for the 40001 message.
    pub(crate) fn reason_for(&self, victim: TxnId) -> String {
        let DangerousStructure {
            t_in, pivot, t_out, ..
        } = *self;
        let first = if self.t_out_committed {
            format!("{t_out} committed first")
        } else {
            format!("{t_out} is committing first")
        };
        let snapshot = if self.t_in_read_only {
            format!(", before read-only transaction {t_in} took its snapshot")
        } else {
            String::new()
        };
        let chain = format!("{t_in} -rw-> {pivot} -rw-> {t_out}, and {first}{snapshot}");
        let role = if victim == pivot {
            format!("transaction {pivot} is the pivot of a dangerous structure ({chain})")
        } else if victim == t_in {
            format!(
                "transaction {t_in} is the reader at the start of a dangerous structure \
                 ({chain}) whose pivot {pivot} can no longer be aborted"
            )
        } else {
            format!(
                "transaction {t_out} would commit first in a dangerous structure ({chain}) \
                 whose other members can no longer be aborted"
            )
        };
        format!("read/write dependencies among transactions: {role}; retry the transaction")
    }
}
