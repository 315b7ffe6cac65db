//! The resolver: finishes what a coordinator could not, and settles
//! in-doubt transactions, so that every shard comes to agree on every
//! transaction whatever crashed.
//!
//! - **At open** ([`recover`]): every status record found is applied to its
//!   participants; every in-doubt transaction without one is rolled back
//!   (its coordinator died with the process before deciding: presumed
//!   abort), except those an outside coordinator prepared under a global id,
//!   which wait for `COMMIT`/`ROLLBACK PREPARED`. Then the participants'
//!   logs are synced and the applied status records deleted.
//! - **While running** ([`tick`], from the cluster's background thread):
//!   staged transactions whose `Prepare` never came are rolled back;
//!   prepared transactions older than the in-doubt timeout, and those a
//!   coordinator gave up on, are *settled*: the home shard is asked for the
//!   status record, and if there is none, "aborted" is written there by the
//!   same conditional write the coordinator uses, so a coordinator that is
//!   still running is never contradicted — whoever writes first decides
//!   (the Citus bug of reading "no record" as "aborted" cannot happen). The
//!   decision is then sent to every participant.
//! - **Status records** of commits are deleted only after every participant
//!   applied the decision and synced its log, so no prepared record can
//!   outlive the decision it needs, even across a power loss. An "aborted"
//!   record a resolver wrote stays until the next open (no coordinator
//!   survives an open): a coordinator still running must find it.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::cluster::cluster::ClusterInner;
use crate::cluster::coordinator::settle_ssi;
use crate::cluster::failpoints::Failpoint;
use crate::cluster::messages::{Request, Response};
use crate::cluster::shard::Shard;
use crate::storage::Durability;
use crate::txn::write_set::WriteKey;
use crate::txn::{Outcome, StatusRecord, TxnId};
use crate::{Error, Result};

/// A transaction a coordinator left unfinished.
#[derive(Clone, Debug)]
pub(crate) struct Unfinished {
    pub home: u16,
    pub participants: Vec<u16>,
    /// The SSI tracker still waits to hear how it ended.
    pub ssi_pending: bool,
    /// Its written keys (for the tracker), when `ssi_pending`.
    pub keys: Vec<WriteKey>,
    /// The resolver holds a decision-board mark for it (handed over by the
    /// coordinator or a restarted shard), to release once it is applied.
    pub board_hold: bool,
    /// Whether no decision may be settled as "aborted" (presumed abort).
    /// False for a transaction prepared under a global id: only `ROLLBACK
    /// PREPARED` aborts it.
    pub may_abort: bool,
}

/// The resolver's work lists.
#[derive(Default)]
pub(crate) struct Resolver {
    pending: Mutex<BTreeMap<TxnId, Unfinished>>,
    /// Decided and applied everywhere: (home, participants) to sync, then forget.
    to_forget: Mutex<Vec<(TxnId, u16, Vec<u16>)>>,
    /// Aborted by their coordinator, whose `Abort` did not reach these shards.
    to_abort: Mutex<Vec<(TxnId, u16)>>,
}

impl Resolver {
    /// Hands transaction `id` over to the resolver. Returns false if it
    /// had it already with a board hold, while `unfinished` brings another
    /// (the caller then releases its own).
    pub fn add(&self, id: TxnId, unfinished: Unfinished) -> bool {
        let mut pending = self.pending.lock();
        match pending.get_mut(&id) {
            Some(existing) => {
                let extra = existing.board_hold && unfinished.board_hold;
                existing.board_hold |= unfinished.board_hold;
                existing.ssi_pending |= unfinished.ssi_pending;
                if existing.keys.is_empty() {
                    existing.keys = unfinished.keys;
                }
                !extra
            }
            None => {
                pending.insert(id, unfinished);
                true
            }
        }
    }

    /// `id`'s status record on `home` may go once `participants` synced.
    pub fn forget_later(&self, id: TxnId, home: u16, participants: Vec<u16>) {
        self.to_forget.lock().push((id, home, participants));
    }

    /// `id` was aborted, but `shard` did not hear it: tell it again.
    pub fn abort_later(&self, id: TxnId, shard: u16) {
        self.to_abort.lock().push((id, shard));
    }

    /// Transactions still to finish.
    pub fn len(&self) -> usize {
        self.pending.lock().len() + self.to_abort.lock().len()
    }
}

/// Settles everything at open (see the module docs). No client runs yet.
pub(crate) fn recover(inner: &ClusterInner) -> Result<()> {
    let mut decided: Vec<(TxnId, u16, StatusRecord)> = Vec::new();
    for shard in &inner.shards {
        for (id, record) in shard.engine()?.status_records()? {
            decided.push((id, shard.number(), record));
        }
    }
    for (id, _, record) in &decided {
        inner.failpoints.hit(Failpoint::RecoveryBeforeApply, *id)?;
        for &participant in &record.participants {
            let engine = inner.shard(participant)?.engine()?;
            if !engine.is_prepared(*id) {
                continue;
            }
            match record.outcome {
                Outcome::Committed(ts) => {
                    engine.commit_prepared_at(*id, ts, Durability::NoSync)?;
                }
                Outcome::Aborted => engine.rollback_prepared(*id)?,
            }
        }
    }
    for shard in &inner.shards {
        let engine = shard.engine()?;
        for doubt in engine.in_doubt() {
            if doubt.coordination.gid.is_some() {
                continue;
            }
            inner
                .failpoints
                .hit(Failpoint::RecoveryBeforeApply, doubt.id)?;
            // No decision anywhere: its coordinator died before deciding.
            engine.rollback_prepared(doubt.id)?;
        }
    }
    for shard in &inner.shards {
        shard.engine()?.store().sync()?;
    }
    for (id, home, _) in decided {
        inner.shard(home)?.engine()?.forget_status(id)?;
    }
    Ok(())
}

/// One round of background resolution (see the module docs).
pub(crate) fn tick(inner: &ClusterInner) {
    let timeout = inner.options.in_doubt_timeout;
    for shard in &inner.shards {
        shard.abort_stale_staged(timeout);
    }
    let aborts: Vec<(TxnId, u16)> = std::mem::take(&mut *inner.resolver.to_abort.lock());
    for (id, shard) in aborts {
        if !matches!(
            ask(inner, shard, Request::Abort { txn: id }),
            Ok(Response::Done)
        ) {
            inner.resolver.abort_later(id, shard);
        }
    }
    let pending: Vec<(TxnId, Unfinished)> = inner
        .resolver
        .pending
        .lock()
        .iter()
        .map(|(id, u)| (*id, u.clone()))
        .collect();
    for (id, unfinished) in pending {
        if let Ok(Settled::Applied) = settle(inner, id, &unfinished) {
            inner.resolver.pending.lock().remove(&id);
            if unfinished.board_hold {
                inner.services.decisions.release(id);
            }
        }
    }
    for shard in &inner.shards {
        let Ok(engine) = shard.engine() else {
            continue;
        };
        for doubt in engine.in_doubt() {
            if doubt.age < timeout || inner.resolver.pending.lock().contains_key(&doubt.id) {
                continue;
            }
            let unfinished = Unfinished {
                home: doubt.coordination.home,
                participants: doubt.coordination.participants.clone(),
                ssi_pending: false,
                keys: Vec::new(),
                board_hold: false,
                may_abort: doubt.coordination.gid.is_none(),
            };
            let _ = settle(inner, doubt.id, &unfinished);
        }
    }
    forget_finished(inner);
}

/// A restarted shard's in-doubt transactions, each held on the decision
/// board by the restart (`held`): settled at once where the home shard has
/// decided or (no decision, no global id) by presumed abort — a live
/// coordinator's decision wins the conditional write. The rest go to the
/// resolver with their hold; a global id's without a decision is released
/// (it waits for `COMMIT PREPARED`, which will hold it then).
pub(crate) fn settle_restarted(inner: &ClusterInner, shard: &Arc<Shard>, held: &[TxnId]) {
    let Ok(engine) = shard.engine() else {
        for &id in held {
            inner.services.decisions.release(id);
        }
        return;
    };
    let doubts = engine.in_doubt();
    for &id in held {
        let Some(doubt) = doubts.iter().find(|d| d.id == id) else {
            inner.services.decisions.release(id);
            continue;
        };
        let unfinished = Unfinished {
            home: doubt.coordination.home,
            participants: doubt.coordination.participants.clone(),
            ssi_pending: false,
            keys: Vec::new(),
            board_hold: true,
            may_abort: doubt.coordination.gid.is_none(),
        };
        match settle(inner, id, &unfinished) {
            Ok(Settled::Applied) | Ok(Settled::Undecided) => inner.services.decisions.release(id),
            _ => {
                if !inner.resolver.add(id, unfinished) {
                    inner.services.decisions.release(id);
                }
            }
        }
    }
}

/// How far [`settle`] got.
#[derive(Debug, PartialEq, Eq)]
enum Settled {
    /// The decision is applied on every participant.
    Applied,
    /// Known but not applied everywhere yet (a participant did not answer).
    Partly,
    /// No decision, and none may be made here (a global id's).
    Undecided,
}

/// Learns (or, when allowed, makes) `id`'s decision and applies it to every
/// participant. While it applies a commit it holds the board mark, and if
/// some participant does not answer, that hold stays with the resolver's
/// pending entry, so readers keep waiting for the missing part.
fn settle(inner: &ClusterInner, id: TxnId, unfinished: &Unfinished) -> Result<Settled> {
    let record = match ask(inner, unfinished.home, Request::Status { txn: id })? {
        Response::Decision(record) => record,
        _ if !unfinished.may_abort => return Ok(Settled::Undecided),
        _ => {
            inner.failpoints.hit(Failpoint::ResolverBeforeDecide, id)?;
            let aborted = StatusRecord {
                outcome: Outcome::Aborted,
                participants: unfinished.participants.clone(),
                gid: None,
            };
            match ask(
                inner,
                unfinished.home,
                Request::Decide {
                    txn: id,
                    record: aborted,
                },
            )? {
                Response::Decision(record) => record,
                other => {
                    return Err(Error::InvalidArgument(format!(
                        "home shard answered {other:?} to a decision"
                    )));
                }
            }
        }
    };
    inner.failpoints.hit(Failpoint::ResolverAfterDecide, id)?;
    let board = &inner.services.decisions;
    let (request, committed_at) = match record.outcome {
        Outcome::Committed(ts) => {
            board.hold(id);
            board.set_commit_ts(id, ts);
            (
                Request::Commit {
                    txn: id,
                    commit_ts: ts,
                },
                Some(ts),
            )
        }
        Outcome::Aborted => (Request::Abort { txn: id }, None),
    };
    let mut everywhere = true;
    for &participant in &record.participants {
        everywhere &= matches!(ask(inner, participant, request.clone()), Ok(Response::Done));
    }
    if !everywhere {
        if committed_at.is_some() {
            let keep = Unfinished {
                board_hold: true,
                ..unfinished.clone()
            };
            if !inner.resolver.add(id, keep) {
                board.release(id);
            }
        }
        return Ok(Settled::Partly);
    }
    if committed_at.is_some() {
        board.release(id);
    }
    settle_ssi(
        inner,
        id,
        committed_at,
        &unfinished.keys,
        unfinished.ssi_pending,
    );
    // An "aborted" record stays until the next open: the coordinator may
    // still be alive and about to decide, and must find it (were it deleted,
    // its conditional write of "committed" would succeed over rolled-back
    // participants). A "committed" one has no such reader left.
    if committed_at.is_some() {
        inner
            .resolver
            .forget_later(id, unfinished.home, record.participants.clone());
    }
    Ok(Settled::Applied)
}

/// Deletes the status records of transactions applied everywhere, after
/// syncing every participant's log once for the whole batch.
fn forget_finished(inner: &ClusterInner) {
    let batch: Vec<(TxnId, u16, Vec<u16>)> = std::mem::take(&mut *inner.resolver.to_forget.lock());
    if batch.is_empty() {
        return;
    }
    let mut shards: Vec<u16> = batch
        .iter()
        .flat_map(|(_, _, p)| p.iter().copied())
        .collect();
    shards.sort_unstable();
    shards.dedup();
    // A participant that crashed after applying its commit (unsynced) and
    // restarted has the transaction prepared again, and needs the record
    // to redo it. So: each participant must have applied it (no longer
    // prepared) *before* the sync, and the sync must reach that same
    // incarnation of the shard (its epoch unchanged across both), so the
    // sync made the applied commit durable.
    let epoch = |s: u16| inner.shard(s).map(|shard| shard.epoch()).ok();
    let before: Vec<(u16, Option<u64>)> = shards.iter().map(|&s| (s, epoch(s))).collect();
    let applied: Vec<bool> = batch
        .iter()
        .map(|(id, _, participants)| {
            participants.iter().all(|&p| {
                matches!(
                    ask(inner, p, Request::IsPrepared { txn: *id }),
                    Ok(Response::NoRecord)
                )
            })
        })
        .collect();
    let synced: Vec<u16> = before
        .into_iter()
        .filter(|&(s, was)| {
            was.is_some()
                && matches!(ask(inner, s, Request::Sync), Ok(Response::Done))
                && epoch(s) == was
        })
        .map(|(s, _)| s)
        .collect();
    let mut retry = Vec::new();
    for ((id, home, participants), applied) in batch.into_iter().zip(applied) {
        let durable = applied && participants.iter().all(|p| synced.contains(p));
        if !durable
            || !matches!(
                ask(inner, home, Request::Forget { txn: id }),
                Ok(Response::Done)
            )
        {
            retry.push((id, home, participants));
        }
    }
    inner.resolver.to_forget.lock().extend(retry);
}

/// One attempt at a request (the next tick tries again).
fn ask(inner: &ClusterInner, shard: u16, request: Request) -> Result<Response> {
    let target = Arc::clone(inner.shard(shard)?);
    let kind = request.kind();
    match inner.transport.call(&target, request) {
        Ok(reply) => reply,
        Err(why) => Err(crate::cluster::transport::undelivered_error(
            shard, kind, why,
        )),
    }
}
