//! Version orders and dependencies for list-append histories.
//!
//! Appending to a list keeps history: a read of `[1, 2, 3]` shows the versions `[1]`, `[1, 2]`,
//! `[1, 2, 3]` in order. So the version order of a key is its **longest committed read**, and
//! every other read must be a prefix of it (else: incompatible order). Given the order
//!
//! ```text
//! key 5:  [ 1 ,  2 ,  3 ]        appended by T1, T4, T2
//!           T1 ─ww▶ T4 ─ww▶ T2   consecutive elements: write-write
//! T3 read key 5 = [1, 2]   →  T4 ─wr▶ T3 (it saw T4's element last)
//!                             T3 ─rw▶ T2 (it missed 3, the next version)
//! ```
//!
//! A transaction's **external read** of a key is its first read of it, with the elements it
//! appended itself before that read stripped from the end; later reads only check internal
//! consistency. Committed appends that no read ever saw come after the whole known order: the
//! last known writer has a ww edge to them and readers of the full known list an rw edge.
//!
//! Non-cycle findings here: G1a (an element from a failed transaction), G1b (a read ending in an
//! element that its writer followed with another append to the same key), garbage (an element
//! nobody appended), duplicates, incompatible orders, internal inconsistency and lost updates
//! (two committed transactions read the same version of a key and both appended to it).

use std::collections::{HashMap, HashSet};

use crate::anomaly::{Anomaly, AnomalyKind, show_list};
use crate::graph::{EdgeKinds, EdgeSink};
use crate::history::{History, Key, MicroOp, Outcome, TxnId, Value};

/// Who appended an element.
#[derive(Clone, Copy, Debug)]
struct Append {
    txn: TxnId,
    /// Whether it was the writer's last append to this key.
    last_in_txn: bool,
}

/// A transaction's external read of a key.
#[derive(Clone, Copy, Debug)]
struct ExternalRead {
    txn: TxnId,
    op: u32,
    /// Elements at the end of the read that the reader appended itself.
    own: u32,
    /// Whether the reader appends to the key after this read (read-modify-write).
    then_appends: bool,
}

#[derive(Default)]
struct KeyState {
    reads: Vec<ExternalRead>,
    committed_appends: Vec<(TxnId, Value)>,
}

fn list_of(history: &History, txn: TxnId, op: u32) -> &[Value] {
    match history
        .txns
        .get(txn as usize)
        .and_then(|t| t.ops.get(op as usize))
    {
        Some(MicroOp::ReadList { value, .. }) => value,
        _ => &[],
    }
}

/// Infers list-append dependencies into `sink` and returns the non-cycle anomalies.
pub fn infer(history: &History, sink: &mut dyn EdgeSink) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    let mut appends: HashMap<(Key, Value), Append> = HashMap::new();
    let mut keys: HashMap<Key, KeyState> = HashMap::new();

    for txn in &history.txns {
        let mut appended: Vec<(Key, Vec<Value>)> = Vec::new();
        let mut known: Vec<(Key, Vec<Value>)> = Vec::new();
        for (index, op) in txn.ops.iter().enumerate() {
            match op {
                MicroOp::Append { key, value } => {
                    let last_in_txn = !txn.ops[index + 1..]
                        .iter()
                        .any(|o| matches!(o, MicroOp::Append { key: k, .. } if k == key));
                    appends.entry((*key, *value)).or_insert(Append {
                        txn: txn.id,
                        last_in_txn,
                    });
                    if txn.outcome == Outcome::Ok {
                        keys.entry(*key)
                            .or_default()
                            .committed_appends
                            .push((txn.id, *value));
                    }
                    match appended.iter_mut().find(|(k, _)| k == key) {
                        Some((_, values)) => values.push(*value),
                        None => appended.push((*key, vec![*value])),
                    }
                    if let Some((_, list)) = known.iter_mut().find(|(k, _)| k == key) {
                        list.push(*value);
                    }
                }
                MicroOp::ReadList { key, value } if txn.outcome == Outcome::Ok => {
                    let own: &[Value] = appended
                        .iter()
                        .find(|(k, _)| k == key)
                        .map_or(&[], |(_, v)| v);
                    if let Some((_, expected)) = known.iter_mut().find(|(k, _)| k == key) {
                        if expected != value {
                            anomalies.push(Anomaly::new(
                                AnomalyKind::Internal,
                                vec![txn.id],
                                format!("T{} read key {key} = {} but its own earlier reads and appends imply {}", txn.id, show_list(value), show_list(expected)),
                            ));
                        }
                        *expected = value.clone();
                        continue;
                    }
                    known.push((*key, value.clone()));
                    if !value.ends_with(own) {
                        anomalies.push(Anomaly::new(
                            AnomalyKind::Internal,
                            vec![txn.id],
                            format!("T{} read key {key} = {} which does not end with its own appends {}", txn.id, show_list(value), show_list(own)),
                        ));
                        continue;
                    }
                    let then_appends = own.is_empty()
                        && txn.ops[index + 1..]
                            .iter()
                            .any(|o| matches!(o, MicroOp::Append { key: k, .. } if k == key));
                    keys.entry(*key).or_default().reads.push(ExternalRead {
                        txn: txn.id,
                        op: index as u32,
                        own: own.len() as u32,
                        then_appends,
                    });
                }
                _ => {}
            }
        }
    }

    let outcome = |txn: TxnId| history.txns.get(txn as usize).map(|t| t.outcome);
    let mut sorted_keys: Vec<Key> = keys.keys().copied().collect();
    sorted_keys.sort_unstable();
    for key in sorted_keys {
        let Some(state) = keys.get(&key) else {
            continue;
        };
        let Some(longest) = state.reads.iter().max_by_key(|r| {
            (
                list_of(history, r.txn, r.op).len(),
                std::cmp::Reverse(r.txn),
            )
        }) else {
            add_unread_appends(history, key, &[], state, &appends, sink);
            continue;
        };
        let order = list_of(history, longest.txn, longest.op);
        let writer_at = |i: usize| order.get(i).and_then(|v| appends.get(&(key, *v)));

        // Properties of the order itself: duplicates, garbage, aborted elements.
        let mut seen = HashSet::with_capacity(order.len());
        let mut first_bad: Option<usize> = None;
        for (i, v) in order.iter().enumerate() {
            if !seen.insert(*v) {
                anomalies.push(Anomaly::new(
                    AnomalyKind::DuplicateElements,
                    vec![longest.txn],
                    format!(
                        "T{} read key {key} = {} in which {v} appears twice",
                        longest.txn,
                        show_list(order)
                    ),
                ));
                first_bad.get_or_insert(i);
            }
            match appends.get(&(key, *v)) {
                None => {
                    first_bad.get_or_insert(i);
                }
                Some(a) if outcome(a.txn) == Some(Outcome::Fail) => {
                    first_bad.get_or_insert(i);
                }
                _ => {}
            }
        }

        // ww edges between consecutive elements.
        for i in 1..order.len() {
            if let (Some(a), Some(b)) = (writer_at(i - 1), writer_at(i))
                && a.txn != b.txn
                && outcome(a.txn) != Some(Outcome::Fail)
                && outcome(b.txn) != Some(Outcome::Fail)
            {
                let (x, y) = (order[i - 1], order[i]);
                sink.edge(a.txn, b.txn, EdgeKinds::WW, &|| {
                    format!(
                        "T{} appended {x} to key {key} and T{} appended {y} right after it",
                        a.txn, b.txn
                    )
                });
            }
        }

        // Reads: compatibility, G1a/G1b/garbage, wr and rw edges.
        let mut reported_incompatible = false;
        let mut reported_bad: HashSet<TxnId> = HashSet::new();
        for read in &state.reads {
            let list = list_of(history, read.txn, read.op);
            if !order.starts_with(list) {
                if !reported_incompatible {
                    reported_incompatible = true;
                    anomalies.push(Anomaly::new(
                        AnomalyKind::IncompatibleOrder,
                        vec![read.txn, longest.txn],
                        format!("T{} read key {key} = {} and T{} read key {key} = {}: neither is a prefix of the other", read.txn, show_list(list), longest.txn, show_list(order)),
                    ));
                }
                check_elements(history, key, read.txn, list, &appends, &mut anomalies);
                continue;
            }
            if let Some(bad) = first_bad
                && list.len() > bad
                && reported_bad.insert(read.txn)
            {
                check_elements(history, key, read.txn, list, &appends, &mut anomalies);
            }
            let observed = list.len() - read.own as usize;
            if observed > 0
                && let Some(w) = writer_at(observed - 1)
                && w.txn != read.txn
                && outcome(w.txn) != Some(Outcome::Fail)
            {
                let last = order[observed - 1];
                let reader = read.txn;
                if !w.last_in_txn {
                    anomalies.push(Anomaly::new(
                        AnomalyKind::G1b,
                        vec![reader, w.txn],
                        format!("T{reader} read key {key} = {} ending in {last}, but T{} appended more to key {key} after {last} in the same transaction: T{reader} saw an intermediate state", show_list(&list[..observed]), w.txn),
                    ));
                }
                sink.edge(w.txn, reader, EdgeKinds::WR, &|| {
                    format!(
                        "T{reader} read key {key} = {}, whose last element {last} T{} appended",
                        show_list(&list[..observed]),
                        w.txn
                    )
                });
            }
            if let Some(w) = writer_at(observed) {
                if w.txn != read.txn && outcome(w.txn) != Some(Outcome::Fail) {
                    let next = order[observed];
                    let reader = read.txn;
                    sink.edge(reader, w.txn, EdgeKinds::RW, &|| {
                        format!(
                            "T{reader} read key {key} = {} without {next}, which T{} appended next",
                            show_list(&list[..observed]),
                            w.txn
                        )
                    });
                }
            } else if observed == order.len() {
                add_unread_rw(history, key, order, read, state, &appends, sink);
            }
        }
        add_unread_appends(history, key, order, state, &appends, sink);
        lost_updates(history, key, state, &mut anomalies);
    }
    anomalies
}

/// Reports garbage and aborted elements of one read.
fn check_elements(
    history: &History,
    key: Key,
    reader: TxnId,
    list: &[Value],
    appends: &HashMap<(Key, Value), Append>,
    anomalies: &mut Vec<Anomaly>,
) {
    for v in list {
        match appends.get(&(key, *v)) {
            None => anomalies.push(Anomaly::new(AnomalyKind::GarbageRead, vec![reader], format!("T{reader} read key {key} = {} containing {v}, which no transaction appended", show_list(list)))),
            Some(a) if history.txns.get(a.txn as usize).map(|t| t.outcome) == Some(Outcome::Fail) => anomalies.push(Anomaly::new(
                AnomalyKind::G1a,
                vec![reader, a.txn],
                format!("T{reader} read key {key} = {} containing {v}, appended by T{}, which aborted", show_list(list), a.txn),
            )),
            Some(_) => {}
        }
    }
}

/// Committed appends missing from the known order, as `(txn, value)`.
fn unread_appends(
    key: Key,
    order: &[Value],
    state: &KeyState,
    appends: &HashMap<(Key, Value), Append>,
) -> Vec<(TxnId, Value)> {
    if state.committed_appends.len() <= order.len()
        && order.iter().all(|v| appends.contains_key(&(key, *v)))
    {
        return Vec::new();
    }
    let present: HashSet<Value> = order.iter().copied().collect();
    state
        .committed_appends
        .iter()
        .filter(|(_, v)| !present.contains(v))
        .copied()
        .collect()
}

fn add_unread_appends(
    history: &History,
    key: Key,
    order: &[Value],
    state: &KeyState,
    appends: &HashMap<(Key, Value), Append>,
    sink: &mut dyn EdgeSink,
) {
    let Some(last) = order.last().and_then(|v| appends.get(&(key, *v))) else {
        return;
    };
    if history.txns.get(last.txn as usize).map(|t| t.outcome) == Some(Outcome::Fail) {
        return;
    }
    let tail = order.last().copied().unwrap_or_default();
    for (txn, value) in unread_appends(key, order, state, appends) {
        sink.edge(last.txn, txn, EdgeKinds::WW, &|| format!("T{} appended {tail} to key {key}, the last element anyone read, and T{txn}'s append of {value} (never read) came after it", last.txn));
    }
}

fn add_unread_rw(
    history: &History,
    key: Key,
    order: &[Value],
    read: &ExternalRead,
    state: &KeyState,
    appends: &HashMap<(Key, Value), Append>,
    sink: &mut dyn EdgeSink,
) {
    let list = list_of(history, read.txn, read.op);
    for (txn, value) in unread_appends(key, order, state, appends) {
        let reader = read.txn;
        sink.edge(reader, txn, EdgeKinds::RW, &|| format!("T{reader} read key {key} = {} without {value}, which T{txn} appended (after every version anyone read)", show_list(list)));
    }
}

/// Committed read-modify-write transactions that read the same version of `key`.
fn lost_updates(history: &History, key: Key, state: &KeyState, anomalies: &mut Vec<Anomaly>) {
    let mut rmw: Vec<(usize, TxnId)> = state
        .reads
        .iter()
        .filter(|r| r.then_appends)
        .map(|r| (list_of(history, r.txn, r.op).len(), r.txn))
        .collect();
    rmw.sort_unstable();
    for group in rmw.chunk_by(|a, b| a.0 == b.0) {
        if group.len() < 2 {
            continue;
        }
        let txns: Vec<TxnId> = group.iter().map(|(_, t)| *t).collect();
        let first = &state
            .reads
            .iter()
            .find(|r| r.txn == txns[0])
            .map(|r| list_of(history, r.txn, r.op))
            .unwrap_or(&[]);
        let names: Vec<String> = txns.iter().map(|t| format!("T{t}")).collect();
        anomalies.push(Anomaly::new(
            AnomalyKind::LostUpdate,
            txns.clone(),
            format!("{} all read key {key} = {} and then appended to it: each update was made without seeing the others", names.join(", "), show_list(first)),
        ));
    }
}
