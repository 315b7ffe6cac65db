//! Linearizability of single registers, by the zone method for unique-valued writes.
//!
//! Treat each committed transaction's first read and final write of a register as an operation
//! on that register spanning `[invoke, complete]` (an `info` write may take effect any time after
//! its invocation). Because written values are unique, each read names its write: group each
//! write with the reads of its value into a **cluster**, and let
//! `f` = the earliest completion and `s` = the latest invocation in the cluster. If `f < s` the
//! cluster's **forward zone** `[f, s]` is a stretch of time during which the value must be the
//! register's value; otherwise it has a backward zone `[s, f]`. (Gibbons and Korach; Golab, Li
//! and Shah) The register is linearizable iff every read ends after its write starts, no two
//! forward zones overlap, and no backward zone lies inside a forward zone:
//!
//! ```text
//! w(1) [──]  r→1 [──────────]                  forward zone of 1: [end of w(1), start of r→1]
//!                 w(2) [─] r→2 [─]             forward zone of 2 overlaps it → not linearizable
//! ```
//!
//! Reads of `nil` form a cluster whose write happened before time began. Only external reads and
//! final writes are considered (a transaction's own read-your-write is checked elsewhere), so a
//! multi-operation transaction is treated as separate operations on each register.

use std::collections::{BTreeMap, HashMap};

use crate::anomaly::{Anomaly, AnomalyKind};
use crate::history::{History, Key, MicroOp, Outcome, TxnId, Value};
use crate::names::Names;
use crate::register::external_reads;

#[derive(Clone, Copy, Debug)]
struct Interval {
    txn: TxnId,
    start: i64,
    end: i64,
}

#[derive(Default)]
struct Cluster {
    write: Option<Interval>,
    reads: Vec<Interval>,
}

/// Checks every register key; returns one anomaly per non-linearizable key.
pub fn check_registers(history: &History) -> Vec<Anomaly> {
    let mut clusters: BTreeMap<Key, HashMap<Option<Value>, Cluster>> = BTreeMap::new();
    for txn in history.txns.iter().filter(|t| t.outcome != Outcome::Fail) {
        let span = Interval {
            txn: txn.id,
            start: txn.invoke_time,
            end: txn.complete_time.unwrap_or(i64::MAX),
        };
        let mut final_writes: Vec<(Key, Value)> = Vec::new();
        for op in &txn.ops {
            if let MicroOp::Write { key, value } = op {
                match final_writes.iter_mut().find(|(k, _)| k == key) {
                    Some(slot) => slot.1 = *value,
                    None => final_writes.push((*key, *value)),
                }
            }
        }
        for (key, value) in final_writes {
            clusters
                .entry(key)
                .or_default()
                .entry(Some(value))
                .or_default()
                .write = Some(span);
        }
        if txn.outcome == Outcome::Ok {
            for (key, value) in external_reads(&txn.ops) {
                clusters
                    .entry(key)
                    .or_default()
                    .entry(value)
                    .or_default()
                    .reads
                    .push(span);
            }
        }
    }
    let mut anomalies = Vec::new();
    for (key, mut by_value) in clusters {
        if let Some(initial) = by_value.get_mut(&None) {
            initial.write = Some(Interval {
                txn: TxnId::MAX,
                start: i64::MIN,
                end: i64::MIN,
            });
        }
        if let Some(anomaly) = check_key(&history.names, key, &by_value) {
            anomalies.push(anomaly);
        }
    }
    anomalies
}

fn check_key(
    names: &Names,
    key: Key,
    clusters: &HashMap<Option<Value>, Cluster>,
) -> Option<Anomaly> {
    let show_value = |v: Option<Value>| names.show_register(v);
    let key = names.show_key(key);
    let mut forward: Vec<(i64, i64, Option<Value>, Vec<TxnId>)> = Vec::new();
    let mut backward: Vec<(i64, i64, Option<Value>, Vec<TxnId>)> = Vec::new();
    let mut values: Vec<&Option<Value>> = clusters.keys().collect();
    values.sort_unstable();
    for value in values {
        let cluster = &clusters[value];
        let Some(write) = cluster.write else { continue };
        if let Some(early) = cluster.reads.iter().find(|r| r.end < write.start) {
            return Some(Anomaly::new(
                AnomalyKind::NonlinearizableRegister,
                vec![early.txn, write.txn],
                format!(
                    "register {key}: T{} read {} and completed (t={}) before T{} began writing it (t={})",
                    early.txn,
                    show_value(*value),
                    early.end,
                    write.txn,
                    write.start
                ),
            ));
        }
        let ops = std::iter::once(write).chain(cluster.reads.iter().copied());
        let f = ops.clone().map(|o| o.end).min().unwrap_or(i64::MIN);
        let s = ops.clone().map(|o| o.start).max().unwrap_or(i64::MIN);
        let txns: Vec<TxnId> = ops.map(|o| o.txn).filter(|t| *t != TxnId::MAX).collect();
        if f < s {
            forward.push((f, s, *value, txns));
        } else {
            backward.push((s, f, *value, txns));
        }
    }
    forward.sort_by_key(|z| (z.0, z.1));
    for pair in forward.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if b.0 < a.1 {
            let mut txns = a.3.clone();
            txns.extend(&b.3);
            return Some(Anomaly::new(
                AnomalyKind::NonlinearizableRegister,
                txns,
                format!(
                    "register {key}: value {} must be current throughout t={}..{} and value {} throughout t={}..{}; these overlap, so no single order of the operations respects real time",
                    show_value(a.2),
                    a.0,
                    a.1,
                    show_value(b.2),
                    b.0,
                    b.1
                ),
            ));
        }
    }
    for (s, f, value, txns) in &backward {
        let at = forward.partition_point(|z| z.0 < *s);
        if let Some(zone) = at.checked_sub(1).and_then(|i| forward.get(i))
            && *f < zone.1
        {
            let mut all = zone.3.clone();
            all.extend(txns);
            return Some(Anomaly::new(
                AnomalyKind::NonlinearizableRegister,
                all,
                format!(
                    "register {key}: value {} must be current throughout t={}..{}, yet value {} was written and read entirely inside that span (t={}..{})",
                    show_value(zone.2),
                    zone.0,
                    zone.1,
                    show_value(*value),
                    s,
                    f
                ),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{EventType, HistoryBuilder};

    #[test]
    fn a_stale_read_after_a_completed_write_is_not_linearizable() {
        let mut b = HistoryBuilder::new();
        b.ok(0, vec![MicroOp::write(1, 1)])
            .ok(0, vec![MicroOp::write(1, 2)])
            .ok(1, vec![MicroOp::read(1, Some(1))]);
        let found = check_registers(&b.build().expect("valid"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, AnomalyKind::NonlinearizableRegister);
    }

    #[test]
    fn concurrent_overlapping_operations_are_linearizable() {
        let mut b = HistoryBuilder::new();
        b.invoke(0, vec![MicroOp::write(1, 1)])
            .invoke(1, vec![MicroOp::read(1, None)])
            .invoke(2, vec![MicroOp::read(1, None)]);
        b.complete(1, EventType::Ok, vec![MicroOp::read(1, Some(1))])
            .complete(2, EventType::Ok, vec![MicroOp::read(1, None)]);
        b.complete(0, EventType::Ok, vec![MicroOp::write(1, 1)]);
        b.ok(3, vec![MicroOp::read(1, Some(1))]);
        assert!(check_registers(&b.build().expect("valid")).is_empty());
    }

    #[test]
    fn reading_nil_after_a_completed_write_is_not_linearizable() {
        let mut b = HistoryBuilder::new();
        b.ok(0, vec![MicroOp::write(1, 1)])
            .ok(1, vec![MicroOp::read(1, Some(1))])
            .ok(2, vec![MicroOp::read(1, None)]);
        assert_eq!(check_registers(&b.build().expect("valid")).len(), 1);
    }
}
