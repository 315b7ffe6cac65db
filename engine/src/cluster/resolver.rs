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
}

/// The resolver's work lists.
#[derive(Default)]
pub(crate) struct Resolver {
    pending: Mutex<BTreeMap<TxnId, Unfinished>>,
    /// Decided and applied everywhere: (home, participants) to sync, then forget.
    to_forget: Mutex<Vec<(TxnId, u16, Vec<u16>)>>,
}

impl Resolver {
    /// Hands transaction `id` over to the resolver.
    pub fn add(&self, id: TxnId, unfinished: Unfinished) {
        self.pending.lock().insert(id, unfinished);
    }

    /// `id`'s status record on `home` may go once `participants` synced.
    pub fn forget_later(&self, id: TxnId, home: u16, participants: Vec<u16>) {
        self.to_forget.lock().push((id, home, participants));
    }

    /// Transactions still to finish.
    pub fn len(&self) -> usize {
        self.pending.lock().len()
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
            inner.failpoints.hit(Failpoint::RecoveryBeforeApply, doubt.id)?;
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
    let pending: Vec<(TxnId, Unfinished)> = inner
        .resolver
        .pending
        .lock()
        .iter()
        .map(|(id, u)| (*id, u.clone()))
        .collect();
    for (id, unfinished) in pending {
        if let Ok(true) = settle(inner, id, &unfinished, true) {
            inner.resolver.pending.lock().remove(&id);
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
            };
            let may_abort = doubt.coordination.gid.is_none();
            let _ = settle(inner, doubt.id, &unfinished, may_abort);
        }
    }
    forget_finished(inner);
}

/// A restarted shard's in-doubt transactions: settled at once (their
/// coordinator may be gone; if it is not, the conditional write keeps its
/// decision).
pub(crate) fn settle_restarted(inner: &ClusterInner, shard: &Arc<Shard>) {
    let Ok(engine) = shard.engine() else {
        return;
    };
    for doubt in engine.in_doubt() {
        let unfinished = Unfinished {
            home: doubt.coordination.home,
            participants: doubt.coordination.participants.clone(),
            ssi_pending: false,
            keys: Vec::new(),
        };
        let may_abort = doubt.coordination.gid.is_none();
        if !matches!(settle(inner, doubt.id, &unfinished, may_abort), Ok(true)) {
            inner.resolver.pending.lock().entry(doubt.id).or_insert(unfinished);
        }
    }
}

/// Learns (or, when allowed, makes) `id`'s decision and applies it to every
/// participant. Ok(true) when it is applied everywhere.
fn settle(inner: &ClusterInner, id: TxnId, unfinished: &Unfinished, may_abort: bool) -> Result<bool> {
    let record = match ask(inner, unfinished.home, Request::Status { txn: id })? {
        Response::Decision(record) => record,
        _ if !may_abort => return Ok(false),
        _ => {
            inner.failpoints.hit(Failpoint::ResolverBeforeDecide, id)?;
            let aborted = StatusRecord {
                outcome: Outcome::Aborted,
                participants: unfinished.participants.clone(),
                gid: None,
            };
            match ask(inner, unfinished.home, Request::Decide { txn: id, record: aborted })? {
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
    let request = match record.outcome {
        Outcome::Committed(ts) => {
            let board = &inner.services.decisions;
            if !board.is_marked(id) {
                board.deciding(id);
            }
            board.set_commit_ts(id, ts);
            Request::Commit {
                txn: id,
                commit_ts: ts,
            }
        }
        Outcome::Aborted => Request::Abort { txn: id },
    };
    let mut everywhere = true;
    for &participant in &record.participants {
        everywhere &= matches!(ask(inner, participant, request.clone()), Ok(Response::Done));
    }
    if !everywhere {
        return Ok(false);
    }
    inner.services.decisions.clear(id);
    let committed_at = match record.outcome {
        Outcome::Committed(ts) => Some(ts),
        Outcome::Aborted => None,
    };
    settle_ssi(inner, id, committed_at, &unfinished.keys, unfinished.ssi_pending);
    // An "aborted" record stays until the next open: the coordinator may
    // still be alive and about to decide, and must find it (were it deleted,
    // its conditional write of "committed" would succeed over rolled-back
    // participants). A "committed" one has no such reader left.
    if committed_at.is_some() {
        inner
            .resolver
            .forget_later(id, unfinished.home, record.participants.clone());
    }
    Ok(true)
}

/// Deletes the status records of transactions applied everywhere, after
/// syncing every participant's log once for the whole batch.
fn forget_finished(inner: &ClusterInner) {
    let batch: Vec<(TxnId, u16, Vec<u16>)> = std::mem::take(&mut *inner.resolver.to_forget.lock());
    if batch.is_empty() {
        return;
    }
    let mut shards: Vec<u16> = batch.iter().flat_map(|(_, _, p)| p.iter().copied()).collect();
    shards.sort_unstable();
    shards.dedup();
    let synced: Vec<u16> = shards
        .into_iter()
        .filter(|&s| matches!(ask(inner, s, Request::Sync), Ok(Response::Done)))
        .collect();
    let mut retry = Vec::new();
    for (id, home, participants) in batch {
        let durable = participants.iter().all(|p| synced.contains(p));
        if !durable || !matches!(ask(inner, home, Request::Forget { txn: id }), Ok(Response::Done)) {
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
        Err(why) => Err(crate::cluster::transport::undelivered_error(shard, kind, why)),
    }
}
