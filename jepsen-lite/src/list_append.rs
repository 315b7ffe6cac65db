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
//! element that its writer followed with another append to the same key), dirty updates (in the
//! version order, a committed append right after a failed one, only indeterminate ones
//! between), future reads (a read showing an element its own transaction appends later),
//! garbage (an element nobody appended), duplicates, incompatible orders, internal
//! inconsistency and lost updates (two committed transactions read the same version of a key
//! and both appended to it).

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use crate::anomaly::{Anomaly, AnomalyKind};
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
    writers: Writers,
}

/// Who appended each element of one key, sorted by element once every append is known (the
/// first append of an element wins): lookups stay within the key's own small array instead of
/// one history-wide hash table.
#[derive(Default)]
struct Writers(Vec<(Value, Append)>);

impl Writers {
    fn push(&mut self, value: Value, append: Append) {
        self.0.push((value, append));
    }

    /// Sorts by element, keeping the first append of each (the sort is stable).
    fn seal(&mut self) {
        self.0.sort_by_key(|(v, _)| *v);
        self.0.dedup_by_key(|(v, _)| *v);
    }

    fn get(&self, value: Value) -> Option<&Append> {
        self.0
            .binary_search_by_key(&value, |(v, _)| *v)
            .ok()
            .map(|i| &self.0[i].1)
    }
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

/// The values a transaction appended to `key`, in order, among its appends `appended`.
fn own_appends(appended: &[(Key, Value)], key: Key) -> impl Iterator<Item = Value> + '_ {
    appended
        .iter()
        .filter(move |(k, _)| *k == key)
        .map(|(_, v)| *v)
}

/// Infers list-append dependencies into `sink` and returns the non-cycle anomalies.
pub fn infer(history: &History, sink: &mut dyn EdgeSink) -> Vec<Anomaly> {
    let names = &history.names;
    let show_list = |values: &[Value]| names.show_list(values);
    let mut anomalies = Vec::new();
    let mut keys: HashMap<Key, KeyState> = HashMap::new();

    // Per transaction, reused: its appends so far in order, and per key it has read the list
    // that read returned with the position in `appended` from which its own later appends
    // extend it (no allocation per transaction).
    let mut appended: Vec<(Key, Value)> = Vec::new();
    let mut known: Vec<(Key, &[Value], usize)> = Vec::new();
    for txn in &history.txns {
        appended.clear();
        known.clear();
        for (index, op) in txn.ops.iter().enumerate() {
            match op {
                MicroOp::Append { key, value } => {
                    let last_in_txn = !txn.ops[index + 1..]
                        .iter()
                        .any(|o| matches!(o, MicroOp::Append { key: k, .. } if k == key));
                    let state = keys.entry(*key).or_default();
                    state.writers.push(
                        *value,
                        Append {
                            txn: txn.id,
                            last_in_txn,
                        },
                    );
                    if txn.outcome == Outcome::Ok {
                        state.committed_appends.push((txn.id, *value));
                    }
                    appended.push((*key, *value));
                }
                MicroOp::ReadList { key, value } if txn.outcome == Outcome::Ok => {
                    if let Some(later) = txn.ops[index + 1..].iter().find_map(|o| match o {
                        MicroOp::Append { key: k, value: v } if k == key && value.contains(v) => {
                            Some(*v)
                        }
                        _ => None,
                    }) {
                        anomalies.push(Anomaly::new(
                            AnomalyKind::FutureRead,
                            vec![txn.id],
                            format!(
                                "T{} read key {} = {} containing {}, which T{} appends only later",
                                txn.id,
                                names.show_key(*key),
                                show_list(value),
                                names.show_value(later),
                                txn.id
                            ),
                        ));
                    }
                    if let Some(entry) = known.iter_mut().find(|(k, _, _)| k == key) {
                        let (_, base, from) = *entry;
                        let extra = || own_appends(&appended[from..], *key);
                        let expected_len = base.len() + extra().count();
                        if value.len() != expected_len
                            || !value.starts_with(base)
                            || !value[base.len()..].iter().copied().eq(extra())
                        {
                            let expected: Vec<Value> =
                                base.iter().copied().chain(extra()).collect();
                            anomalies.push(Anomaly::new(
                                AnomalyKind::Internal,
                                vec![txn.id],
                                format!("T{} read key {} = {} but its own earlier reads and appends imply {}", txn.id, names.show_key(*key), show_list(value), show_list(&expected)),
                            ));
                        }
                        *entry = (*key, value.as_slice(), appended.len());
                        continue;
                    }
                    known.push((*key, value.as_slice(), appended.len()));
                    let own_count = own_appends(&appended, *key).count();
                    let ends_with_own = value.len() >= own_count
                        && value[value.len() - own_count..]
                            .iter()
                            .copied()
                            .eq(own_appends(&appended, *key));
                    if !ends_with_own {
                        let own: Vec<Value> = own_appends(&appended, *key).collect();
                        anomalies.push(Anomaly::new(
                            AnomalyKind::Internal,
                            vec![txn.id],
                            format!(
                                "T{} read key {} = {} which does not end with its own appends {}",
                                txn.id,
                                names.show_key(*key),
                                show_list(value),
                                show_list(&own)
                            ),
                        ));
                        continue;
                    }
                    let then_appends = own_count == 0
                        && txn.ops[index + 1..]
                            .iter()
                            .any(|o| matches!(o, MicroOp::Append { key: k, .. } if k == key));
                    keys.entry(*key).or_default().reads.push(ExternalRead {
                        txn: txn.id,
                        op: index as u32,
                        own: own_count as u32,
                        then_appends,
                    });
                }
                _ => {}
            }
        }
    }

    let outcome = |txn: TxnId| history.txns.get(txn as usize).map(|t| t.outcome);
    for state in keys.values_mut() {
        state.writers.seal();
    }
    let mut sorted_keys: Vec<Key> = keys.keys().copied().collect();
    sorted_keys.sort_unstable();
    for key in sorted_keys {
        let Some(state) = keys.get(&key) else {
            continue;
        };
        let appends = &state.writers;
        let Some(longest) = state.reads.iter().max_by_key(|r| {
            (
                list_of(history, r.txn, r.op).len(),
                std::cmp::Reverse(r.txn),
            )
        }) else {
            add_unread_appends(history, key, &[], &[], appends, sink);
            continue;
        };
        let order = list_of(history, longest.txn, longest.op);
        let writer_at = |i: usize| order.get(i).and_then(|v| appends.get(*v));

        // Properties of the order itself: duplicates, garbage, aborted elements.
        let mut seen = HashSet::with_capacity(order.len());
        let mut first_bad: Option<usize> = None;
        for (i, v) in order.iter().enumerate() {
            if !seen.insert(*v) {
                first_bad.get_or_insert(i);
            }
            match appends.get(*v) {
                None => {
                    first_bad.get_or_insert(i);
                }
                Some(a) if outcome(a.txn) == Some(Outcome::Fail) => {
                    first_bad.get_or_insert(i);
                }
                _ => {}
            }
        }
        let distinct = seen.len() == order.len();
        if !distinct {
            duplicates(history, key, longest.txn, order, &mut anomalies);
        }
        dirty_updates(history, key, order, appends, &mut anomalies);

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
                        "T{} appended {} to key {} and T{} appended {} right after it",
                        a.txn,
                        names.show_value(x),
                        names.show_key(key),
                        b.txn,
                        names.show_value(y)
                    )
                });
            }
        }

        // Reads: compatibility, G1a/G1b/garbage, wr and rw edges.
        let unread = unread_appends(history, order, distinct, state, appends);
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
                        format!("T{} read key {} = {} and T{} read it = {}: neither is a prefix of the other", read.txn, names.show_key(key), show_list(list), longest.txn, show_list(order)),
                    ));
                }
                let distinct: HashSet<Value> = list.iter().copied().collect();
                if distinct.len() < list.len() {
                    duplicates(history, key, read.txn, list, &mut anomalies);
                }
                check_elements(history, key, read.txn, list, appends, &mut anomalies);
                continue;
            }
            if let Some(bad) = first_bad
                && list.len() > bad
                && reported_bad.insert(read.txn)
            {
                check_elements(history, key, read.txn, list, appends, &mut anomalies);
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
                        format!("T{reader} read key {} = {} ending in {}, but T{} appended more to that key after it in the same transaction: T{reader} saw an intermediate state", names.show_key(key), show_list(&list[..observed]), names.show_value(last), w.txn),
                    ));
                }
                sink.edge(w.txn, reader, EdgeKinds::WR, &|| {
                    format!(
                        "T{reader} read key {} = {}, whose last element {} T{} appended",
                        names.show_key(key),
                        show_list(&list[..observed]),
                        names.show_value(last),
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
                            "T{reader} read key {} = {} without {}, which T{} appended next",
                            names.show_key(key),
                            show_list(&list[..observed]),
                            names.show_value(next),
                            w.txn
                        )
                    });
                }
            } else if observed == order.len() {
                add_unread_rw(history, key, read, &unread, sink);
            }
        }
        add_unread_appends(history, key, order, &unread, appends, sink);
        lost_updates(history, key, state, &mut anomalies);
    }
    anomalies
}

/// Reports a read whose list holds some element more than once.
fn duplicates(
    history: &History,
    key: Key,
    reader: TxnId,
    list: &[Value],
    anomalies: &mut Vec<Anomaly>,
) {
    let mut counts: HashMap<Value, usize> = HashMap::new();
    for v in list {
        *counts.entry(*v).or_default() += 1;
    }
    let mut twice: Vec<(Value, usize)> = counts.into_iter().filter(|(_, n)| *n > 1).collect();
    twice.sort_unstable();
    let names = &history.names;
    let shown: Vec<String> = twice
        .iter()
        .map(|(v, n)| format!("{} ({n} times)", names.show_value(*v)))
        .collect();
    anomalies.push(Anomaly::new(
        AnomalyKind::DuplicateElements,
        vec![reader],
        format!(
            "T{reader} read key {} = {} in which {} appear more than once",
            names.show_key(key),
            names.show_list(list),
            shown.join(", ")
        ),
    ));
}

/// Dirty updates: walking the version order, a committed append that comes after an aborted
/// one with nothing but aborted or indeterminate appends between (Elle's dirty update: the
/// committed transaction built on state that never committed).
fn dirty_updates(
    history: &History,
    key: Key,
    order: &[Value],
    appends: &Writers,
    anomalies: &mut Vec<Anomaly>,
) {
    let outcome = |txn: TxnId| history.txns.get(txn as usize).map(|t| t.outcome);
    // The last aborted append not yet followed by a committed one: (position, writer).
    let mut aborted: Option<(usize, TxnId)> = None;
    for (i, v) in order.iter().enumerate() {
        let Some(writer) = appends.get(*v) else {
            aborted = None;
            continue;
        };
        match (outcome(writer.txn), aborted) {
            (Some(Outcome::Fail), None) => aborted = Some((i, writer.txn)),
            (Some(Outcome::Ok), Some((at, failed))) => {
                let names = &history.names;
                anomalies.push(Anomaly::new(
                    AnomalyKind::DirtyUpdate,
                    vec![failed, writer.txn],
                    format!(
                        "key {}'s version order has T{failed}'s append of {} (aborted), then {} by T{}, which committed: {}",
                        names.show_key(key),
                        names.show_value(order[at]),
                        names.show_value(*v),
                        writer.txn,
                        names.show_list(&order[at..=i])
                    ),
                ));
                aborted = None;
            }
            (Some(Outcome::Ok), None) => {}
            _ => {}
        }
    }
}

/// Reports garbage and aborted elements of one read.
fn check_elements(
    history: &History,
    key: Key,
    reader: TxnId,
    list: &[Value],
    appends: &Writers,
    anomalies: &mut Vec<Anomaly>,
) {
    for v in list {
        match appends.get(*v) {
            None => anomalies.push(Anomaly::new(
                AnomalyKind::GarbageRead,
                vec![reader],
                format!(
                    "T{reader} read key {} = {} containing {}, which no transaction appended",
                    history.names.show_key(key),
                    history.names.show_list(list),
                    history.names.show_value(*v)
                ),
            )),
            Some(a)
                if history.txns.get(a.txn as usize).map(|t| t.outcome) == Some(Outcome::Fail) =>
            {
                anomalies.push(Anomaly::new(
                    AnomalyKind::G1a,
                    vec![reader, a.txn],
                    format!(
                        "T{reader} read key {} = {} containing {}, appended by T{}, which aborted",
                        history.names.show_key(key),
                        history.names.show_list(list),
                        history.names.show_value(*v),
                        a.txn
                    ),
                ))
            }
            Some(_) => {}
        }
    }
}

/// Committed appends missing from the known order, as `(txn, value)`.
fn unread_appends(
    history: &History,
    order: &[Value],
    distinct: bool,
    state: &KeyState,
    appends: &Writers,
) -> Vec<(TxnId, Value)> {
    // When the order has no duplicates and holds as many committed elements as there are
    // committed appends, it holds them all (each element names its first appender).
    let committed_in_order = order
        .iter()
        .filter(|v| {
            appends.get(**v).is_some_and(|a| {
                history.txns.get(a.txn as usize).map(|t| t.outcome) == Some(Outcome::Ok)
            })
        })
        .count();
    if state.committed_appends.len() == committed_in_order && distinct {
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
    unread: &[(TxnId, Value)],
    appends: &Writers,
    sink: &mut dyn EdgeSink,
) {
    let Some(last) = order.last().and_then(|v| appends.get(*v)) else {
        return;
    };
    if history.txns.get(last.txn as usize).map(|t| t.outcome) == Some(Outcome::Fail) {
        return;
    }
    let tail = order.last().copied().unwrap_or_default();
    for &(txn, value) in unread {
        sink.edge(last.txn, txn, EdgeKinds::WW, &|| format!("T{} appended {} to key {}, the last element anyone read, and T{txn}'s append of {} (never read) came after it", last.txn, history.names.show_value(tail), history.names.show_key(key), history.names.show_value(value)));
    }
}

fn add_unread_rw(
    history: &History,
    key: Key,
    read: &ExternalRead,
    unread: &[(TxnId, Value)],
    sink: &mut dyn EdgeSink,
) {
    let list = list_of(history, read.txn, read.op);
    for &(txn, value) in unread {
        let reader = read.txn;
        sink.edge(reader, txn, EdgeKinds::RW, &|| format!("T{reader} read key {} = {} without {}, which T{txn} appended (after every version anyone read)", history.names.show_key(key), history.names.show_list(list), history.names.show_value(value)));
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
        let who: Vec<String> = txns.iter().map(|t| format!("T{t}")).collect();
        anomalies.push(Anomaly::new(
            AnomalyKind::LostUpdate,
            txns.clone(),
            format!("{} all read key {} = {} and then appended to it: each update was made without seeing the others", who.join(", "), history.names.show_key(key), history.names.show_list(first)),
        ));
    }
}
