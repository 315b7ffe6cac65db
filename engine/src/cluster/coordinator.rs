//! The coordinator: commits a [`ClusterTransaction`] in one phase when it
//! wrote at most one shard, and by two-phase commit (presumed abort) when it
//! wrote several; and finishes transactions prepared under a global id.
//!
//! Two-phase commit, step by step (see ARCHITECTURE.md for a worked example
//! with every fsync and what each crash leaves behind):
//!
//! 1. SERIALIZABLE: the SSI tracker's commit check, once for all shards.
//!    Read-only parts are released (they drop out of phase two).
//! 2. Every written shard gets its part *staged*, then a `Prepare` message
//!    (in parallel): it syncs a prepared record naming the home shard (the
//!    first shard written) and the participants, and keeps its locks.
//!    Any refusal or silence: `Abort` to all, and the transaction fails.
//! 3. The transaction goes on the [`DecisionBoard`] (readers that may see it
//!    will wait), then a commit timestamp is *reserved* from the oracle:
//!    above every prepare, and the same for every shard.
//! 4. `Decide` to the home shard: a conditional, synced write of the status
//!    record "committed at ts". If a resolver got there first with
//!    "aborted" (the transaction was in doubt too long), the coordinator
//!    learns that instead and aborts. This write is the commit point.
//! 5. `Commit` to every participant (in parallel, not synced: the prepared
//!    record and the status record redo it after a crash): the rows are
//!    written at ts, locks go. Then the board mark goes. The status record is
//!    deleted later by the resolver, after it has synced the participants'
//!    logs (so no prepared record can outlive the decision it needs).
//!    Whatever could not be finished is left to the resolver
//!    ([`crate::cluster::resolver`]).
//!
//! [`DecisionBoard`]: crate::txn::DecisionBoard

use std::sync::Arc;
use std::time::Instant;

use crate::cluster::cluster::ClusterInner;
use crate::cluster::failpoints::Failpoint;
use crate::cluster::messages::{Request, Response};
use crate::cluster::resolver::Unfinished;
use crate::cluster::transaction::{ClusterTransaction, Part};
use crate::cluster::transport::{Undelivered, undelivered_error};
use crate::txn::prepared::now_ms;
use crate::txn::write_set::WriteKey;
use crate::txn::{CommitTs, Coordination, IsolationLevel, Outcome, StatusRecord, TxnId};
use crate::{Error, Result};

/// Commits `txn` (see the module docs).
pub(crate) fn commit(mut txn: ClusterTransaction) -> Result<CommitTs> {
    txn.check_active()?;
    let cluster = Arc::clone(&txn.cluster);
    let id = txn.id;
    let serializable = txn.options.level == IsolationLevel::Serializable;
    let written = std::mem::take(&mut txn.written);
    let parts = txn.take_parts();
    for (shard, part) in &parts {
        if part.epoch != cluster.shard(*shard)?.epoch() {
            let shard = *shard;
            drop(parts);
            txn.release_parts();
            return Err(Error::ShardUnavailable {
                shard,
                reason: "it restarted during the transaction".into(),
            });
        }
    }
    if serializable && let Err(e) = cluster.services.ssi.prepare_commit(id) {
        drop(parts);
        txn.release_parts();
        return Err(e);
    }
    // From here on the protocol below ends the SSI registration.
    txn.ssi_registered = false;
    let (writers, readers): (Vec<_>, Vec<_>) =
        parts.into_iter().partition(|(_, p)| !p.txn.has_no_writes());
    if writers.len() <= 1 {
        return one_phase(&cluster, id, writers, readers, serializable);
    }
    // Read-only parts drop out now.
    for (_, reader) in readers {
        reader.txn.finish_commit(None);
    }
    let home = written
        .iter()
        .copied()
        .find(|s| writers.iter().any(|(shard, _)| shard == s))
        .unwrap_or(writers[0].0);
    two_phase(&cluster, id, home, writers, serializable)
}

/// A commit that wrote one shard (or none): that shard's batch is the commit.
fn one_phase(
    cluster: &ClusterInner,
    id: TxnId,
    writers: Vec<(u16, Part)>,
    readers: Vec<(u16, Part)>,
    serializable: bool,
) -> Result<CommitTs> {
    let mut writer = writers.into_iter().next().map(|(_, part)| part);
    let mut seq = None;
    if let Some(part) = writer.as_mut() {
        match part.txn.commit_batch() {
            Ok(s) => seq = s,
            Err(e) => {
                drop(writer);
                drop(readers);
                settle_ssi(cluster, id, None, &[], serializable);
                return Err(e);
            }
        }
    }
    let commit_ts = seq.unwrap_or_else(|| cluster.services.oracle.visible());
    if serializable {
        let keys: Vec<WriteKey> = writer
            .as_ref()
            .map(|part| part.txn.written_keys())
            .unwrap_or_default();
        settle_ssi(cluster, id, Some(commit_ts), &keys, true);
    }
    if let Some(part) = writer {
        part.txn.finish_commit(seq);
    }
    for (_, reader) in readers {
        reader.txn.finish_commit(None);
    }
    Ok(commit_ts)
}

/// Two-phase commit of `parts` (each with writes), `home` holding the decision.
fn two_phase(
    cluster: &Arc<ClusterInner>,
    id: TxnId,
    home: u16,
    parts: Vec<(u16, Part)>,
    serializable: bool,
) -> Result<CommitTs> {
    let participants: Vec<u16> = parts.iter().map(|(shard, _)| *shard).collect();
    // Each participant's commit batch is its writes plus the deletion of
    // its prepared record: that many sequence numbers from commit_ts on.
    let span = parts
        .iter()
        .map(|(_, p)| p.txn.write_count() as u64 + 1)
        .max()
        .unwrap_or(1);
    let keys: Vec<WriteKey> = if serializable {
        parts
            .iter()
            .flat_map(|(_, p)| p.txn.written_keys())
            .collect()
    } else {
        Vec::new()
    };
    let coordination = Coordination {
        home,
        participants: participants.clone(),
        prepared_at_ms: now_ms(),
        gid: None,
    };
    let unfinished = |ssi_pending: bool, board_hold: bool| Unfinished {
        home,
        participants: participants.clone(),
        ssi_pending,
        keys: if ssi_pending {
            keys.clone()
        } else {
            Vec::new()
        },
        board_hold,
        may_abort: true,
    };

    // Phase one.
    for (shard, part) in parts {
        if let Err(e) = cluster.shard(shard)?.stage(part.txn, part.epoch) {
            abort_everywhere(cluster, id, &participants);
            settle_ssi(cluster, id, None, &[], serializable);
            return Err(e);
        }
    }
    if let Err(stop) = cluster.failpoints.hit(Failpoint::BeforePrepare, id) {
        cluster.resolver.add(id, unfinished(serializable, false));
        return Err(stop);
    }
    let votes = send_all(
        cluster,
        &participants,
        |_| Request::Prepare {
            txn: id,
            coordination: coordination.clone(),
        },
        Failpoint::AfterPrepare,
        true,
    );
    let votes = match votes {
        Ok(votes) => votes,
        Err(stop) => {
            cluster.resolver.add(id, unfinished(serializable, false));
            return Err(stop);
        }
    };
    if let Some(refusal) = refusal(&participants, &votes) {
        abort_everywhere(cluster, id, &participants);
        settle_ssi(cluster, id, None, &[], serializable);
        return Err(refusal);
    }

    // The decision. The board hold is this coordinator's until every
    // participant has applied the outcome, or it hands it to the resolver.
    cluster.services.decisions.hold(id);
    let commit_ts = cluster.services.oracle.reserve(span);
    cluster.services.decisions.set_commit_ts(id, commit_ts);
    let record = StatusRecord {
        outcome: Outcome::Committed(commit_ts),
        participants: participants.clone(),
        gid: None,
    };
    match decide(cluster, id, home, record) {
        Ok(Outcome::Committed(ts)) if ts == commit_ts => {}
        Ok(_) => {
            abort_everywhere(cluster, id, &participants);
            cluster.services.decisions.release(id);
            settle_ssi(cluster, id, None, &[], serializable);
            return Err(Error::SerializationFailure(format!(
                "transaction {id} was settled as aborted while it was in doubt; retry it"
            )));
        }
        Err(e) => {
            cluster.resolver.add(id, unfinished(serializable, true));
            return Err(e);
        }
    }
    cluster.services.oracle.wait_visible(commit_ts + span - 1);
    settle_ssi(cluster, id, Some(commit_ts), &keys, serializable);
    if let Err(stop) = cluster.failpoints.hit(Failpoint::AfterDecision, id) {
        cluster.resolver.add(id, unfinished(false, true));
        return Err(stop);
    }

    // Phase two.
    finish_commit(
        cluster,
        id,
        home,
        &participants,
        commit_ts,
        unfinished(false, true),
    )?;
    Ok(commit_ts)
}

/// Phase two of a decided commit: `Commit` everywhere, then the board hold
/// is released and the status record goes. What fails is left to the
/// resolver, with the hold (`unfinished.board_hold`); the commit stands
/// either way (it is decided). `Err` only for a failpoint stop.
fn finish_commit(
    cluster: &Arc<ClusterInner>,
    id: TxnId,
    home: u16,
    participants: &[u16],
    commit_ts: CommitTs,
    unfinished: Unfinished,
) -> Result<()> {
    // Commits are not synced: one after another is quicker than a thread each.
    let acks = send_all(
        cluster,
        participants,
        |_| Request::Commit { txn: id, commit_ts },
        Failpoint::AfterCommit,
        false,
    );
    let acks = match acks {
        Ok(acks) => acks,
        Err(stop) => {
            cluster.resolver.add(id, unfinished);
            return Err(stop);
        }
    };
    if acks.iter().all(|a| matches!(a, Ok(Response::Done))) {
        cluster.services.decisions.release(id);
        // Deleted only once the participants' commits are synced (the
        // resolver syncs them first): a status record must outlive every
        // prepared record that could need it after a power loss.
        cluster
            .resolver
            .forget_later(id, home, participants.to_vec());
    } else {
        cluster.resolver.add(id, unfinished);
    }
    Ok(())
}

/// `PREPARE TRANSACTION 'gid'`: every part prepares durably under `gid`;
/// nothing is decided. A transaction that wrote nothing still prepares
/// (on shard 0), so the id exists until `COMMIT`/`ROLLBACK PREPARED`.
pub(crate) fn prepare_global(mut txn: ClusterTransaction, gid: &str) -> Result<()> {
    txn.check_active()?;
    let cluster = Arc::clone(&txn.cluster);
    let id = txn.id;
    let in_use = cluster.shards.iter().any(|shard| {
        shard.engine().is_ok_and(|engine| {
            engine
                .in_doubt()
                .iter()
                .any(|d| d.coordination.gid.as_deref() == Some(gid))
        })
    });
    if in_use {
        return Err(Error::DuplicatePreparedTransaction(gid.to_string()));
    }
    if txn.parts.iter().all(Option::is_none) {
        // Touch shard 0 so there is a participant to hold the record.
        txn.touch(0)?;
    }
    let serializable = txn.options.level == IsolationLevel::Serializable;
    let written = std::mem::take(&mut txn.written);
    let mut parts = txn.take_parts();
    if serializable && let Err(e) = cluster.services.ssi.prepare_commit(id) {
        drop(parts);
        txn.release_parts();
        return Err(e);
    }
    txn.ssi_registered = false;
    // Parts that wrote nothing drop out, unless none wrote anything.
    if parts.iter().any(|(_, p)| !p.txn.has_no_writes()) {
        let (keep, readers): (Vec<_>, Vec<_>) =
            parts.into_iter().partition(|(_, p)| !p.txn.has_no_writes());
        for (_, reader) in readers {
            reader.txn.finish_commit(None);
        }
        parts = keep;
    } else {
        parts.truncate(1);
    }
    let participants: Vec<u16> = parts.iter().map(|(s, _)| *s).collect();
    let home = written
        .iter()
        .copied()
        .find(|s| participants.contains(s))
        .unwrap_or(participants[0]);
    let coordination = Coordination {
        home,
        participants: participants.clone(),
        prepared_at_ms: now_ms(),
        gid: Some(gid.to_string()),
    };
    let mut done = Vec::new();
    for (shard, part) in parts {
        match part.txn.prepare_with(coordination.clone()) {
            Ok(_) => done.push(shard),
            Err(e) => {
                for shard in done {
                    if let Ok(engine) = cluster.shard(shard).and_then(|s| s.engine()) {
                        let _ = engine.rollback_prepared(id);
                    }
                }
                settle_ssi(&cluster, id, None, &[], serializable);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// `COMMIT PREPARED` of transaction `id`.
pub(crate) fn commit_prepared(
    cluster: &Arc<ClusterInner>,
    id: TxnId,
    coordination: &Coordination,
) -> Result<CommitTs> {
    let participants = &coordination.participants;
    let keys = prepared_keys(cluster, id, participants)?;
    if let [only] = participants[..] {
        // One participant: its commit record is the decision.
        let engine = cluster.shard(only)?.engine()?;
        let ts = engine.commit_prepared(id)?;
        settle_ssi(cluster, id, Some(ts), &keys, true);
        return Ok(ts);
    }
    let span = cluster
        .shards
        .iter()
        .filter_map(|s| s.engine().ok())
        .flat_map(|e| e.in_doubt())
        .filter(|d| d.id == id)
        .map(|d| d.writes as u64 + 1) // its writes and its prepared record's deletion
        .max()
        .unwrap_or(1);
    cluster.services.decisions.hold(id);
    let commit_ts = cluster.services.oracle.reserve(span);
    cluster.services.decisions.set_commit_ts(id, commit_ts);
    let record = StatusRecord {
        outcome: Outcome::Committed(commit_ts),
        participants: participants.clone(),
        gid: coordination.gid.clone(),
    };
    let unfinished = Unfinished {
        home: coordination.home,
        participants: participants.clone(),
        ssi_pending: false,
        keys: Vec::new(),
        board_hold: true,
        may_abort: false,
    };
    match decide(cluster, id, coordination.home, record) {
        Ok(Outcome::Committed(ts)) if ts == commit_ts => {}
        Ok(Outcome::Committed(ts)) => {
            // Decided earlier by a COMMIT PREPARED that did not finish.
            cluster.services.decisions.set_commit_ts(id, ts);
            settle_ssi(cluster, id, Some(ts), &keys, true);
            finish_commit(cluster, id, coordination.home, participants, ts, unfinished)?;
            return Ok(ts);
        }
        Ok(Outcome::Aborted) => {
            cluster.services.decisions.release(id);
            abort_everywhere(cluster, id, participants);
            return Err(Error::UnknownPreparedTransaction(
                coordination.gid.clone().unwrap_or_default(),
            ));
        }
        Err(e) => {
            cluster.resolver.add(id, unfinished);
            return Err(e);
        }
    }
    cluster.services.oracle.wait_visible(commit_ts + span - 1);
    settle_ssi(cluster, id, Some(commit_ts), &keys, true);
    finish_commit(
        cluster,
        id,
        coordination.home,
        participants,
        commit_ts,
        unfinished,
    )?;
    Ok(commit_ts)
}

/// `ROLLBACK PREPARED` of transaction `id` (presumed abort: no record).
pub(crate) fn rollback_prepared(
    cluster: &Arc<ClusterInner>,
    id: TxnId,
    coordination: &Coordination,
) -> Result<()> {
    for &shard in &coordination.participants {
        match call(cluster, shard, Request::Abort { txn: id }) {
            Ok(_) => {}
            Err(e) => return Err(e),
        }
    }
    settle_ssi(cluster, id, None, &[], true);
    Ok(())
}

/// The keys a prepared transaction writes, from its participants' records.
fn prepared_keys(cluster: &ClusterInner, id: TxnId, participants: &[u16]) -> Result<Vec<WriteKey>> {
    let mut keys = Vec::new();
    for &shard in participants {
        let engine = cluster.shard(shard)?.engine()?;
        keys.extend(engine.prepared_keys(id).unwrap_or_default());
    }
    Ok(keys)
}

/// Tells the SSI tracker how transaction `id` ended (a no-op for one it
/// does not know, e.g. after a restart).
pub(crate) fn settle_ssi(
    cluster: &ClusterInner,
    id: TxnId,
    committed_at: Option<CommitTs>,
    keys: &[WriteKey],
    serializable: bool,
) {
    if !serializable {
        return;
    }
    match committed_at {
        Some(ts) => cluster.services.ssi.committed(id, ts, keys),
        None => cluster.services.ssi.aborted(id),
    }
}

/// Asks the home shard to record `record` unless a decision exists;
/// returns the decision that holds. Retries until the decision deadline.
fn decide(
    cluster: &Arc<ClusterInner>,
    id: TxnId,
    home: u16,
    record: StatusRecord,
) -> Result<Outcome> {
    let deadline = Instant::now() + cluster.options.decision_deadline;
    loop {
        let shard = Arc::clone(cluster.shard(home)?);
        match cluster.transport.call(
            &shard,
            Request::Decide {
                txn: id,
                record: record.clone(),
            },
        ) {
            Ok(Ok(Response::Decision(held))) => return Ok(held.outcome),
            Ok(Ok(other)) => {
                return Err(Error::InvalidArgument(format!(
                    "home shard {home} answered {other:?} to a decision"
                )));
            }
            // The write may have reached the home shard's disk or not.
            Ok(Err(e)) if !is_transient(&e) => {
                return Err(Error::OutcomeUnknown {
                    txn: id,
                    reason: format!("home shard {home} failed while recording the decision ({e})"),
                });
            }
            Ok(Err(_)) | Err(_) => {
                if Instant::now() >= deadline {
                    return Err(Error::OutcomeUnknown {
                        txn: id,
                        reason: format!(
                            "home shard {home} did not confirm the decision within {:?}",
                            cluster.options.decision_deadline
                        ),
                    });
                }
                std::thread::sleep(cluster.options.request_timeout / 4);
            }
        }
    }
}

/// Sends one request (retried until the request deadline) to `shard`.
pub(crate) fn call(cluster: &ClusterInner, shard: u16, request: Request) -> Result<Response> {
    let deadline = Instant::now() + cluster.options.decision_deadline;
    let target = Arc::clone(cluster.shard(shard)?);
    let kind = request.kind();
    loop {
        match cluster.transport.call(&target, request.clone()) {
            Ok(Ok(response)) => return Ok(response),
            Ok(Err(e)) if !is_transient(&e) => return Err(e),
            Ok(Err(e)) => {
                if Instant::now() >= deadline {
                    return Err(e);
                }
            }
            Err(why) => {
                if Instant::now() >= deadline || why == Undelivered::Unreachable {
                    return Err(undelivered_error(shard, kind, why));
                }
            }
        }
        std::thread::sleep(cluster.options.request_timeout / 4);
    }
}

/// Errors worth repeating a request for: the shard was down or busy.
fn is_transient(error: &Error) -> bool {
    matches!(error, Error::ShardUnavailable { .. })
}

/// Sends a request to every participant: in parallel when `parallel` (the
/// prepares, each an fsync), else one by one; and one by one with
/// `point(n)` after the n-th when failpoints are armed (so "after some
/// prepares" means something). Each answer is the shard's reply or error.
fn send_all(
    cluster: &Arc<ClusterInner>,
    participants: &[u16],
    request: impl Fn(u16) -> Request + Sync,
    point: fn(usize) -> Failpoint,
    parallel: bool,
) -> Result<Vec<Result<Response>>> {
    let id = request(participants[0]).txn();
    if cluster.failpoints.is_armed() || !parallel {
        let mut answers = Vec::with_capacity(participants.len());
        for (n, &shard) in participants.iter().enumerate() {
            answers.push(call(cluster, shard, request(shard)));
            cluster.failpoints.hit(point(n + 1), id)?;
        }
        return Ok(answers);
    }
    Ok(std::thread::scope(|scope| {
        let handles: Vec<_> = participants[1..]
            .iter()
            .map(|&shard| {
                let request = &request;
                scope.spawn(move || call(cluster, shard, request(shard)))
            })
            .collect();
        let mut answers = vec![call(cluster, participants[0], request(participants[0]))];
        for handle in handles {
            answers.push(handle.join().unwrap_or_else(|_| {
                Err(Error::InvalidArgument("a commit thread panicked".into()))
            }));
        }
        answers
    }))
}

/// The error to report if some participant did not vote to prepare.
fn refusal(participants: &[u16], votes: &[Result<Response>]) -> Option<Error> {
    for (shard, vote) in participants.iter().zip(votes) {
        match vote {
            Ok(Response::Prepared) => {}
            Ok(Response::Refused(why)) => {
                return Some(Error::SerializationFailure(format!(
                    "shard {shard} could not prepare the transaction ({why})"
                )));
            }
            Ok(other) => {
                return Some(Error::InvalidArgument(format!(
                    "shard {shard} answered {other:?} to prepare"
                )));
            }
            Err(e) => {
                return Some(Error::ShardUnavailable {
                    shard: *shard,
                    reason: format!("it did not prepare ({e})"),
                });
            }
        }
    }
    None
}

/// `Abort` to every participant (best effort: one that misses it settles
/// the transaction as aborted by itself, having no decision to find).
fn abort_everywhere(cluster: &Arc<ClusterInner>, id: TxnId, participants: &[u16]) {
    for &shard in participants {
        if call(cluster, shard, Request::Abort { txn: id }).is_err() {
            cluster.resolver.abort_later(id, shard);
        }
    }
}
