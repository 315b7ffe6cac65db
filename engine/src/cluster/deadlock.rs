//! Deadlocks whose cycle spans shards. Each shard's lock manager finds the
//! cycles of its own wait-for graph the moment a wait begins; a cycle whose
//! edges lie on different shards is in no single graph:
//!
//! ```text
//!   shard 0:  T7 waits for T9 (row x)        shard 1:  T9 waits for T7 (row y)
//!   merged:   T7 ──x──▶ T9 ──y──▶ T7   a cycle: T9 (the youngest) is the victim
//! ```
//!
//! The cluster's background thread merges the shards' graphs every few
//! milliseconds, and for each cycle it finds ends the wait of its youngest
//! member with 40P01. Graphs are read one shard at a time, so an edge may
//! be gone by the time another is read; a cycle must show in two reads in
//! a row to count, and a real deadlock, which never goes away by itself,
//! always does.

use crate::cluster::cluster::ClusterInner;
use crate::txn::TxnId;
use crate::txn::lock::WaitForGraph;

/// Looks once for cross-shard deadlocks and aborts one victim per cycle.
/// Returns the victims.
pub(crate) fn detect(inner: &ClusterInner) -> Vec<TxnId> {
    let first = merged_graph(inner);
    if first.is_empty() {
        return Vec::new();
    }
    let cycles = cycles_of(&first);
    if cycles.is_empty() {
        return Vec::new();
    }
    let second = merged_graph(inner);
    let mut victims = Vec::new();
    for cycle in cycles {
        let still_there = cycle.iter().enumerate().all(|(i, &txn)| {
            let next = cycle[(i + 1) % cycle.len()];
            second.waits_for(txn).contains(&next)
        });
        if !still_there {
            continue;
        }
        let Some(&victim) = cycle.iter().max() else {
            continue;
        };
        let message = describe(inner, &cycle);
        for shard in &inner.shards {
            if let Ok(engine) = shard.engine()
                && engine.abort_wait(victim, message.clone())
            {
                victims.push(victim);
                break;
            }
        }
    }
    victims
}

fn merged_graph(inner: &ClusterInner) -> WaitForGraph {
    let mut graph = WaitForGraph::new();
    for shard in &inner.shards {
        if let Ok(engine) = shard.engine() {
            graph.merge(&engine.wait_for_graph());
        }
    }
    graph
}

/// Distinct cycles of `graph` (each once).
fn cycles_of(graph: &WaitForGraph) -> Vec<Vec<TxnId>> {
    let mut found: Vec<Vec<TxnId>> = Vec::new();
    let mut in_a_cycle: Vec<TxnId> = Vec::new();
    for waiter in graph.waiters() {
        if in_a_cycle.contains(&waiter) {
            continue;
        }
        if let Some(cycle) = graph.find_cycle_through(waiter) {
            in_a_cycle.extend(cycle.iter().copied());
            found.push(cycle);
        }
    }
    found
}

/// "transaction 7 waits for 9 (on shard 0), which waits for 7 (on shard 1)".
fn describe(inner: &ClusterInner, cycle: &[TxnId]) -> String {
    let shard_of = |txn: TxnId| {
        inner
            .shards
            .iter()
            .find(|s| s.engine().is_ok_and(|e| e.waiting_on(txn).is_some()))
            .map_or_else(|| "?".to_string(), |s| s.number().to_string())
    };
    let mut message = String::new();
    for (i, &txn) in cycle.iter().enumerate() {
        let next = cycle[(i + 1) % cycle.len()];
        if i == 0 {
            message.push_str(&format!(
                "transaction {txn} waits for {next} (on shard {})",
                shard_of(txn)
            ));
        } else {
            message.push_str(&format!(
                ", which waits for {next} (on shard {})",
                shard_of(txn)
            ));
        }
    }
    message.push_str("; the cycle spans shards");
    message
}
