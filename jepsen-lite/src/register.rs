//! Version orders and dependencies for read-write register histories (with predicate reads).
//!
//! A register keeps only its latest value, so its version order must be inferred. Writes are
//! unique per key, so a read names the exact version (and writer) it saw. The checker infers
//! "`v` comes before `w`" from facts that hold under any isolation level:
//!
//! ```text
//! nil < every written value                 (the initial state comes first)
//! T reads k = v, then T writes k = w   ⇒   v < w   (T overwrote what it saw)
//! ```
//!
//! From the inferred successors: `W(v) ─ww▶ W(w)`; a read of `v` gives `W(v) ─wr▶ reader`; and
//! `reader ─rw▶ W(w)` for each successor `w` of the version it read (successors of `nil` are the
//! writes with no inferred predecessor; a later write is reached through ww edges). Only a
//! transaction's final write to a key is an installed version; reading an earlier one is G1b.
//!
//! **Predicate reads** (`pred-read`) return the matching rows. Each returned row is an item read.
//! For a key in the predicate's range that was *not* returned, if every value ever written to it
//! matches the predicate then the reader must have seen the initial (empty) state, so each first
//! writer of that key gets a predicate anti-dependency `reader ─prw▶ writer`: the phantom. (When
//! some writes to the key do not match, which version the reader saw is unknown and no edge is
//! drawn.)

use std::collections::{BTreeMap, HashMap};

use crate::anomaly::{Anomaly, AnomalyKind};
use crate::graph::{EdgeKinds, EdgeSink};
use crate::history::{History, Key, MicroOp, Outcome, TxnId, Value};
use crate::predicate::Predicate;

/// Who wrote a value.
#[derive(Clone, Copy, Debug)]
struct Write {
    txn: TxnId,
    /// Whether it was the writer's final write to this key (an installed version).
    last_in_txn: bool,
}

/// Inferred facts about register versions, shared by edge inference and other checks.
#[derive(Debug, Default)]
pub struct RegisterOrder {
    writes: HashMap<(Key, Value), Write>,
    /// Installed versions per key, by writers that may have committed (ok or info).
    installed: BTreeMap<Key, Vec<Value>>,
    /// Inferred direct successors of a version (`None` = the initial state).
    successors: HashMap<(Key, Option<Value>), Vec<Value>>,
    has_predecessor: std::collections::HashSet<(Key, Value)>,
}

impl RegisterOrder {
    /// Collects writes and infers the version order of every register key.
    pub fn build(history: &History) -> RegisterOrder {
        let mut order = RegisterOrder::default();
        for txn in &history.txns {
            for (index, op) in txn.ops.iter().enumerate() {
                if let MicroOp::Write { key, value } = op {
                    let last_in_txn = !txn.ops[index + 1..]
                        .iter()
                        .any(|o| matches!(o, MicroOp::Write { key: k, .. } if k == key));
                    order.writes.entry((*key, *value)).or_insert(Write {
                        txn: txn.id,
                        last_in_txn,
                    });
                    if last_in_txn && txn.may_have_committed() {
                        order.installed.entry(*key).or_default().push(*value);
                    }
                }
            }
            if txn.outcome != Outcome::Ok {
                continue;
            }
            for (key, read, write) in read_then_write(&txn.ops) {
                if read != Some(write) {
                    order.successors.entry((key, read)).or_default().push(write);
                    if read.is_some() {
                        order.has_predecessor.insert((key, write));
                    }
                }
            }
        }
        for (key, values) in &order.installed {
            for v in values {
                if !order.has_predecessor.contains(&(*key, *v)) {
                    order.successors.entry((*key, None)).or_default().push(*v);
                }
            }
        }
        for list in order.successors.values_mut() {
            list.sort_unstable();
            list.dedup();
        }
        order
    }

    /// The transaction that wrote `value` to `key`, and whether it was that writer's final write.
    pub fn writer(&self, key: Key, value: Value) -> Option<(TxnId, bool)> {
        self.writes
            .get(&(key, value))
            .map(|w| (w.txn, w.last_in_txn))
    }

    /// Inferred direct successors of the version `value` of `key`.
    pub fn successors(&self, key: Key, value: Option<Value>) -> &[Value] {
        self.successors
            .get(&(key, value))
            .map_or(&[], Vec::as_slice)
    }
}

/// For each key a transaction reads (externally) and later writes: (key, value read, final write).
fn read_then_write(ops: &[MicroOp]) -> Vec<(Key, Option<Value>, Value)> {
    let mut out = Vec::new();
    for (key, read) in external_reads(ops) {
        let last_write = ops.iter().rev().find_map(|o| match o {
            MicroOp::Write { key: k, value } if *k == key => Some(*value),
            _ => None,
        });
        if let Some(write) = last_write {
            out.push((key, read, write));
        }
    }
    out
}

/// A transaction's external register reads: the first read of each key, if before any write to it.
pub fn external_reads(ops: &[MicroOp]) -> Vec<(Key, Option<Value>)> {
    let mut touched: Vec<Key> = Vec::new();
    let mut out = Vec::new();
    for op in ops {
        match op {
            MicroOp::Read { key, value } if !touched.contains(key) => {
                touched.push(*key);
                out.push((*key, *value));
            }
            MicroOp::Write { key, .. } if !touched.contains(key) => touched.push(*key),
            _ => {}
        }
    }
    out
}

/// Infers register dependencies into `sink` and returns the non-cycle anomalies.
pub fn infer(history: &History, order: &RegisterOrder, sink: &mut dyn EdgeSink) -> Vec<Anomaly> {
    let names = &history.names;
    let mut anomalies = cyclic_versions(history, order);
    let outcome = |t: TxnId| history.txns.get(t as usize).map(|t| t.outcome);
    let installed_by = |key: Key, value: Value| {
        order
            .writes
            .get(&(key, value))
            .filter(|w| w.last_in_txn && outcome(w.txn) != Some(Outcome::Fail))
    };

    // ww edges from inferred version successors.
    let mut versions: Vec<(Key, Option<Value>)> = order.successors.keys().copied().collect();
    versions.sort_unstable();
    for (key, before) in versions {
        let Some(before) = before else {
            continue;
        };
        let afters = order.successors(key, Some(before));
        let Some(a) = installed_by(key, before) else {
            continue;
        };
        for &after in afters {
            if let Some(b) = installed_by(key, after) {
                sink.edge(a.txn, b.txn, EdgeKinds::WW, &|| {
                    format!(
                        "T{} wrote key {} = {}; T{} read that version and overwrote it with {}",
                        a.txn,
                        names.show_key(key),
                        names.show_value(before),
                        b.txn,
                        names.show_value(after)
                    )
                });
            }
        }
    }

    for txn in history.committed() {
        internal_consistency(history, txn.id, &txn.ops, &mut anomalies);
        let mut item_reads = external_reads(&txn.ops);
        for &(key, read) in &item_reads {
            let written_later = read.is_some_and(|v| {
                txn.ops.iter().any(
                    |o| matches!(o, MicroOp::Write { key: k, value } if *k == key && *value == v),
                )
            });
            if written_later {
                anomalies.push(Anomaly::new(
                    AnomalyKind::FutureRead,
                    vec![txn.id],
                    format!(
                        "T{} read key {} = {}, a value it writes itself only later",
                        txn.id,
                        names.show_key(key),
                        names.show_register(read)
                    ),
                ));
            }
        }
        for op in &txn.ops {
            if let MicroOp::PredicateRead {
                predicate,
                value: rows,
            } = op
            {
                for (&key, &value) in rows {
                    if !predicate.matches(key, value) {
                        anomalies.push(Anomaly::new(AnomalyKind::GarbageRead, vec![txn.id], format!("T{}'s predicate read ({predicate}) returned key {} = {}, which does not match it", txn.id, names.show_key(key), names.show_value(value))));
                    }
                    if !item_reads.iter().any(|(k, _)| *k == key) {
                        item_reads.push((key, Some(value)));
                    }
                }
                predicate_anti_dependencies(txn.id, predicate, rows, order, sink);
            }
        }
        for (key, read) in item_reads {
            item_read(history, txn.id, key, read, order, sink, &mut anomalies);
        }
    }
    lost_updates(history, &mut anomalies);
    anomalies
}

fn item_read(
    history: &History,
    reader: TxnId,
    key: Key,
    read: Option<Value>,
    order: &RegisterOrder,
    sink: &mut dyn EdgeSink,
    anomalies: &mut Vec<Anomaly>,
) {
    let names = &history.names;
    let outcome = |t: TxnId| history.txns.get(t as usize).map(|t| t.outcome);
    if let Some(value) = read {
        match order.writes.get(&(key, value)) {
            None => {
                anomalies.push(Anomaly::new(
                    AnomalyKind::GarbageRead,
                    vec![reader],
                    format!(
                        "T{reader} read key {} = {}, which no transaction wrote",
                        names.show_key(key),
                        names.show_value(value)
                    ),
                ));
                return;
            }
            Some(w) if w.txn == reader => {}
            Some(w) if outcome(w.txn) == Some(Outcome::Fail) => {
                anomalies.push(Anomaly::new(
                    AnomalyKind::G1a,
                    vec![reader, w.txn],
                    format!(
                        "T{reader} read key {} = {}, written by T{}, which aborted",
                        names.show_key(key),
                        names.show_value(value),
                        w.txn
                    ),
                ));
                return;
            }
            Some(w) => {
                if !w.last_in_txn {
                    anomalies.push(Anomaly::new(
                        AnomalyKind::G1b,
                        vec![reader, w.txn],
                        format!("T{reader} read key {} = {}, which T{} wrote and then overwrote within the same transaction: an intermediate value", names.show_key(key), names.show_value(value), w.txn),
                    ));
                }
                let writer = w.txn;
                sink.edge(writer, reader, EdgeKinds::WR, &|| {
                    format!(
                        "T{reader} read key {} = {}, which T{writer} wrote",
                        names.show_key(key),
                        names.show_value(value)
                    )
                });
            }
        }
    }
    for &next in order.successors(key, read) {
        if let Some(w) = order.writes.get(&(key, next))
            && w.txn != reader
            && outcome(w.txn) != Some(Outcome::Fail)
        {
            let writer = w.txn;
            sink.edge(reader, writer, EdgeKinds::RW, &|| {
                format!(
                    "T{reader} read key {} = {}, and T{writer} overwrote that version with {}",
                    names.show_key(key),
                    names.show_register(read),
                    names.show_value(next)
                )
            });
        }
    }
}

fn predicate_anti_dependencies(
    reader: TxnId,
    predicate: &Predicate,
    rows: &BTreeMap<Key, Value>,
    order: &RegisterOrder,
    sink: &mut dyn EdgeSink,
) {
    let range = (
        predicate
            .key_min
            .map_or(std::ops::Bound::Unbounded, std::ops::Bound::Included),
        predicate
            .key_max
            .map_or(std::ops::Bound::Unbounded, std::ops::Bound::Included),
    );
    for (&key, values) in order.installed.range(range) {
        if rows.contains_key(&key) || !values.iter().all(|v| predicate.matches(key, *v)) {
            continue;
        }
        for &first in order.successors(key, None) {
            if let Some(w) = order.writes.get(&(key, first))
                && w.txn != reader
            {
                let writer = w.txn;
                sink.edge(reader, writer, EdgeKinds::PRW, &|| format!("T{reader}'s predicate read ({predicate}) did not see key {key}, but T{writer} wrote key {key} = {first}, which matches it (predicate reads have integer keys and values)"));
            }
        }
    }
}

fn internal_consistency(
    history: &History,
    txn: TxnId,
    ops: &[MicroOp],
    anomalies: &mut Vec<Anomaly>,
) {
    let names = &history.names;
    let mut known: Vec<(Key, Option<Value>)> = Vec::new();
    for op in ops {
        let (key, value, is_read) = match op {
            MicroOp::Write { key, value } => (*key, Some(*value), false),
            MicroOp::Read { key, value } => (*key, *value, true),
            _ => continue,
        };
        match known.iter_mut().find(|(k, _)| *k == key) {
            Some((_, expected)) => {
                if is_read && *expected != value {
                    anomalies.push(Anomaly::new(
                        AnomalyKind::Internal,
                        vec![txn],
                        format!(
                            "T{txn} read key {} = {} but its own earlier reads and writes imply {}",
                            names.show_key(key),
                            names.show_register(value),
                            names.show_register(*expected)
                        ),
                    ));
                }
                *expected = value;
            }
            None => known.push((key, value)),
        }
    }
}

/// Cycles in a register's inferred version order (`v < w` from "read `v`, then wrote `w`"):
/// versions are supposed to be totally ordered, so no model allows them.
fn cyclic_versions(history: &History, order: &RegisterOrder) -> Vec<Anomaly> {
    let mut by_key: BTreeMap<Key, Vec<(Value, Value)>> = BTreeMap::new();
    for (&(key, before), afters) in &order.successors {
        if let Some(before) = before {
            for &after in afters {
                by_key.entry(key).or_default().push((before, after));
            }
        }
    }
    let mut anomalies = Vec::new();
    for (key, edges) in by_key {
        let Some(cycle) = version_cycle(&edges) else {
            continue;
        };
        let names = &history.names;
        let shown: Vec<String> = cycle
            .iter()
            .map(|v| names.show_value(*v).to_string())
            .collect();
        let txns: Vec<TxnId> = cycle
            .iter()
            .filter_map(|v| order.writer(key, *v).map(|(t, _)| t))
            .collect();
        anomalies.push(Anomaly::new(
            AnomalyKind::CyclicVersions,
            txns,
            format!(
                "key {}'s versions are ordered in a cycle: {} < {}",
                names.show_key(key),
                shown.join(" < "),
                shown.first().cloned().unwrap_or_default()
            ),
        ));
    }
    anomalies
}

/// A cycle in the version graph `edges` (`(before, after)` pairs), if any: depth-first search.
fn version_cycle(edges: &[(Value, Value)]) -> Option<Vec<Value>> {
    let mut next: HashMap<Value, Vec<Value>> = HashMap::new();
    for &(a, b) in edges {
        next.entry(a).or_default().push(b);
    }
    let mut state: HashMap<Value, u8> = HashMap::new(); // 1 on the path, 2 done
    let mut starts: Vec<Value> = next.keys().copied().collect();
    starts.sort_unstable();
    for start in starts {
        if state.contains_key(&start) {
            continue;
        }
        let mut path: Vec<(Value, usize)> = vec![(start, 0)];
        state.insert(start, 1);
        while let Some(&mut (node, ref mut i)) = path.last_mut() {
            let children = next.get(&node).map_or(&[][..], Vec::as_slice);
            if let Some(&child) = children.get(*i) {
                *i += 1;
                match state.get(&child) {
                    Some(1) => {
                        let from = path.iter().position(|(v, _)| *v == child).unwrap_or(0);
                        return Some(path[from..].iter().map(|(v, _)| *v).collect());
                    }
                    Some(_) => {}
                    None => {
                        state.insert(child, 1);
                        path.push((child, 0));
                    }
                }
            } else {
                state.insert(node, 2);
                path.pop();
            }
        }
    }
    None
}

fn lost_updates(history: &History, anomalies: &mut Vec<Anomaly>) {
    let mut groups: BTreeMap<(Key, Option<Value>), Vec<TxnId>> = BTreeMap::new();
    for txn in history.committed() {
        for (key, read, _) in read_then_write(&txn.ops) {
            groups.entry((key, read)).or_default().push(txn.id);
        }
    }
    for ((key, read), txns) in groups {
        if txns.len() > 1 {
            let who: Vec<String> = txns.iter().map(|t| format!("T{t}")).collect();
            anomalies.push(Anomaly::new(
                AnomalyKind::LostUpdate,
                txns.clone(),
                format!("{} all read key {} = {} and then wrote it: each update was made without seeing the others", who.join(", "), history.names.show_key(key), history.names.show_register(read)),
            ));
        }
    }
}
