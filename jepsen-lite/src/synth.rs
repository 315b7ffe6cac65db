//! Synthetic histories of serial executions, for tests, property tests and benchmarks.
//!
//! [`serial_history`] executes random transactions one at a time against an in-memory list or
//! register store, so the resulting history is serializable (indeed strictly serializable) by
//! construction — an oracle: any anomaly the checker reports on it is a checker bug. Keys are
//! retired after `max_appends_per_key` appends, as Jepsen's list-append workload does, so reads
//! stay short. Randomness comes from a seeded SplitMix64, so a seed reproduces a history.

use std::collections::HashMap;

use crate::history::{EventType, HistoryBuilder, Key, MicroOp, Value};

/// A seeded SplitMix64 generator (deterministic, no dependencies).
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Which store the workload uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Lists: append and read.
    ListAppend,
    /// Registers: write and read.
    Register,
}

/// Shape of a synthetic serial workload.
#[derive(Clone, Debug)]
pub struct SerialWorkload {
    /// Lists or registers.
    pub workload: Workload,
    /// Number of transactions.
    pub txns: usize,
    /// Client processes (transactions are assigned round-robin).
    pub processes: u64,
    /// Keys in use at once.
    pub active_keys: usize,
    /// Appends after which a list key is retired and replaced by a fresh one.
    pub max_appends_per_key: usize,
    /// Maximum micro-ops per transaction (at least one).
    pub max_ops: usize,
    /// Random seed.
    pub seed: u64,
}

impl SerialWorkload {
    /// A list-append workload of `txns` transactions with Jepsen-like defaults.
    pub fn list_append(txns: usize, seed: u64) -> Self {
        SerialWorkload {
            workload: Workload::ListAppend,
            txns,
            processes: 8,
            active_keys: 16,
            max_appends_per_key: 16,
            max_ops: 4,
            seed,
        }
    }
    /// A register workload of `txns` transactions.
    pub fn register(txns: usize, seed: u64) -> Self {
        SerialWorkload {
            workload: Workload::Register,
            txns,
            processes: 8,
            active_keys: 8,
            max_appends_per_key: usize::MAX,
            max_ops: 4,
            seed,
        }
    }
}

/// Executes the workload serially and records it (invoke and ok events, one transaction at a time).
pub fn serial_history(spec: &SerialWorkload) -> HistoryBuilder {
    let mut rng = SplitMix64::new(spec.seed);
    let mut builder = HistoryBuilder::new();
    let mut active: Vec<Key> = (0..spec.active_keys.max(1) as Key).collect();
    let mut next_key = active.len() as Key;
    let mut lists: HashMap<Key, Vec<Value>> = HashMap::new();
    let mut registers: HashMap<Key, Value> = HashMap::new();
    let mut next_value: Value = 1;
    for i in 0..spec.txns {
        let ops = 1 + rng.below(spec.max_ops.max(1) as u64) as usize;
        let mut txn = Vec::with_capacity(ops);
        for _ in 0..ops {
            let slot = rng.below(active.len() as u64) as usize;
            let key = active[slot];
            let write = rng.below(2) == 0;
            match (spec.workload, write) {
                (Workload::ListAppend, true) => {
                    let list = lists.entry(key).or_default();
                    list.push(next_value);
                    txn.push(MicroOp::append(key, next_value));
                    if list.len() >= spec.max_appends_per_key {
                        active[slot] = next_key;
                        next_key += 1;
                    }
                }
                (Workload::ListAppend, false) => txn.push(MicroOp::read_list(
                    key,
                    lists.get(&key).map_or(&[], Vec::as_slice),
                )),
                (Workload::Register, true) => {
                    registers.insert(key, next_value);
                    txn.push(MicroOp::write(key, next_value));
                }
                (Workload::Register, false) => {
                    txn.push(MicroOp::read(key, registers.get(&key).copied()))
                }
            }
            next_value += 1;
        }
        builder.txn(i as u64 % spec.processes.max(1), EventType::Ok, txn);
    }
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_history_and_reads_reflect_appends() {
        let a = serial_history(&SerialWorkload::list_append(200, 7));
        let b = serial_history(&SerialWorkload::list_append(200, 7));
        assert_eq!(a.events(), b.events());
        let appended: usize = a
            .events()
            .iter()
            .flat_map(|e| &e.txn)
            .filter(|op| matches!(op, MicroOp::Append { .. }))
            .count();
        assert!(appended > 100, "{appended} appends in 200 transactions");
        let longest = a
            .events()
            .iter()
            .flat_map(|e| &e.txn)
            .filter_map(|op| match op {
                MicroOp::ReadList { value, .. } => Some(value.len()),
                _ => None,
            });
        assert!(longest.max().unwrap_or(0) <= 16);
    }
}
