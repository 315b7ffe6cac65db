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

use crate::anomaly::{Anomaly, AnomalyKind, show_value};
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
    let mut anomalies = Vec::new();
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
                sink.edge(a.txn, b.txn, EdgeKinds::WW, &|| format!("T{} wrote key {key} = {before}; T{} read that version and overwrote it with {after}", a.txn, b.txn));
            }
        }
    }

    for txn in history.committed() {
        internal_consistency(txn.id, &txn.ops, &mut anomalies);
        let mut item_reads = external_reads(&txn.ops);
        for op in &txn.ops {
            if let MicroOp::PredicateRead {
                predicate,
                value: rows,
            } = op
            {
                for (&key, &value) in rows {
                    if !predicate.matches(key, value) {
                        anomalies.push(Anomaly::new(AnomalyKind::GarbageRead, vec![txn.id], format!("T{}'s predicate read ({predicate}) returned key {key} = {value}, which does not match it", txn.id)));
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
    let outcome = |t: TxnId| history.txns.get(t as usize).map(|t| t.outcome);
    if let Some(value) = read {
        match order.writes.get(&(key, value)) {
            None => {
                anomalies.push(Anomaly::new(
                    AnomalyKind::GarbageRead,
                    vec![reader],
                    format!("T{reader} read key {key} = {value}, which no transaction wrote"),
                ));
                return;
            }
            Some(w) if w.txn == reader => {}
            Some(w) if outcome(w.txn) == Some(Outcome::Fail) => {
                anomalies.push(Anomaly::new(
                    AnomalyKind::G1a,
                    vec![reader, w.txn],
                    format!(
                        "T{reader} read key {key} = {value}, written by T{}, which aborted",
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
                        format!("T{reader} read key {key} = {value}, which T{} wrote and then overwrote within the same transaction: an intermediate value", w.txn),
                    ));
                }
                let writer = w.txn;
                sink.edge(writer, reader, EdgeKinds::WR, &|| {
                    format!("T{reader} read key {key} = {value}, which T{writer} wrote")
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
            sink.edge(reader, writer, EdgeKinds::RW, &|| format!("T{reader} read key {key} = {}, and T{writer} overwrote that version with {next}", show_value(read)));
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
                sink.edge(reader, writer, EdgeKinds::PRW, &|| format!("T{reader}'s predicate read ({predicate}) did not see key {key}, but T{writer} wrote key {key} = {first}, which matches it"));
            }
        }
    }
}

fn internal_consistency(txn: TxnId, ops: &[MicroOp], anomalies: &mut Vec<Anomaly>) {
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
                        format!("T{txn} read key {key} = {} but its own earlier reads and writes imply {}", show_value(value), show_value(*expected)),
                    ));
                }
                *expected = value;
            }
            None => known.push((key, value)),
        }
    }
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
            let names: Vec<String> = txns.iter().map(|t| format!("T{t}")).collect();
            anomalies.push(Anomaly::new(
                AnomalyKind::LostUpdate,
                txns.clone(),
                format!("{} all read key {key} = {} and then wrote it: each update was made without seeing the others", names.join(", "), show_value(read)),
            ));
        }
    }
}
