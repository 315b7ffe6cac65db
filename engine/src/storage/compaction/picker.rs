//! Chooses the next compaction from a [`Version`]: the level with the highest
//! score (L0: tables / trigger; deeper: bytes / limit) if it is at least 1.

use std::ops::Bound;
use std::sync::Arc;

use crate::storage::damage::DamagedTables;
use crate::storage::options::StoreOptions;
use crate::storage::version::{NUM_LEVELS, TableHandle, Version};

/// One compaction: tables of `level` merged with the tables of `level + 1`
/// they overlap.
#[derive(Clone)]
pub struct CompactionTask {
    /// The level the inputs come from.
    pub level: usize,
    /// Input tables of `level`.
    pub inputs: Vec<Arc<TableHandle>>,
    /// Input tables of `level + 1`.
    pub next_inputs: Vec<Arc<TableHandle>>,
    /// Where the output goes: `level + 1`, or `level` itself for an in-place
    /// rewrite of the deepest level (manual compaction).
    pub output_level: usize,
}

impl CompactionTask {
    /// Where the output goes.
    pub fn output_level(&self) -> usize {
        self.output_level
    }

    /// True when one table moves down unchanged: nothing below overlaps it.
    pub fn is_trivial_move(&self) -> bool {
        self.inputs.len() == 1 && self.next_inputs.is_empty() && self.output_level > self.level
    }

    /// Rewrites `inputs` of `level` into the same level: how a manual
    /// compaction drops versions from the deepest level, which has nothing
    /// below it to merge into.
    pub fn in_place(level: usize, inputs: Vec<Arc<TableHandle>>) -> Self {
        CompactionTask {
            level,
            inputs,
            next_inputs: Vec::new(),
            output_level: level,
        }
    }

    /// Smallest and largest user key over all inputs.
    pub fn user_key_range(&self) -> (Vec<u8>, Vec<u8>) {
        let all = || self.inputs.iter().chain(&self.next_inputs);
        let smallest = all()
            .map(|t| t.smallest_user_key())
            .min()
            .unwrap_or_default();
        let largest = all()
            .map(|t| t.largest_user_key())
            .max()
            .unwrap_or_default();
        (smallest.to_vec(), largest.to_vec())
    }

    /// Builds the task that merges `inputs` of `level` with what they overlap below.
    pub fn with_overlaps(version: &Version, level: usize, inputs: Vec<Arc<TableHandle>>) -> Self {
        let smallest = inputs
            .iter()
            .map(|t| t.smallest_user_key())
            .min()
            .unwrap_or_default();
        let largest = inputs
            .iter()
            .map(|t| t.largest_user_key())
            .max()
            .unwrap_or_default();
        let next_inputs = if level + 1 < NUM_LEVELS {
            version.overlapping(
                level + 1,
                Bound::Included(smallest),
                Bound::Included(largest),
            )
        } else {
            Vec::new()
        };
        CompactionTask {
            level,
            inputs,
            next_inputs,
            output_level: level + 1,
        }
    }
}

/// The compaction the tree needs most, if any level is over its limit.
/// `pointers[level]` is the largest user key compacted last time at that level.
/// A task that would read a table in `damaged` is never chosen: the next
/// table of the level, or the next level over its limit, is tried instead.
pub fn pick_compaction(
    version: &Version,
    options: &StoreOptions,
    pointers: &[Option<Vec<u8>>],
    damaged: &DamagedTables,
) -> Option<CompactionTask> {
    let mut over_limit: Vec<(f64, usize)> = Vec::new();
    let l0_score = version.level(0).len() as f64 / options.l0_compaction_trigger.max(1) as f64;
    if l0_score >= 1.0 {
        over_limit.push((l0_score, 0));
    }
    for level in 1..NUM_LEVELS - 1 {
        let score = version.level_bytes(level) as f64 / options.max_bytes_for_level(level) as f64;
        if score >= 1.0 {
            over_limit.push((score, level));
        }
    }
    // Highest score first; on a tie the shallower level.
    over_limit.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    over_limit.into_iter().find_map(|(_, level)| {
        if level == 0 {
            return pick_level0(version, damaged);
        }
        let tables = version.level(level);
        let pointer = pointers.get(level).and_then(|p| p.as_deref());
        // Round-robin from the pointer, wrapping around.
        let start = pointer.map_or(0, |p| {
            tables.partition_point(|t| t.smallest_user_key() <= p)
        });
        (0..tables.len())
            .map(|i| &tables[(start + i) % tables.len()])
            .map(|table| CompactionTask::with_overlaps(version, level, vec![Arc::clone(table)]))
            .find(|task| !damaged.touches(task))
    })
}

/// The level-0 compaction: every L0 table (they overlap) with what they
/// overlap in L1.
pub fn level0_task(version: &Version) -> CompactionTask {
    CompactionTask::with_overlaps(version, 0, version.level(0).to_vec())
}

/// The level-0 compaction to run: [`level0_task`], or, when that would read
/// a damaged table, the first group of L0 tables that can go down without
/// it. L0 tables overlap, so only a whole *cluster* may leave L0 — tables
/// whose user-key ranges chain into one interval no other L0 table meets —
/// since a key's versions must never be split between L0 and L1 with the
/// newer ones below:
///
/// ```text
///   L0:  [a..c] [b..e]   [g..h]   [k..p]*damaged  [m..n]
///   clusters: {a..e}     {g..h}   {k..p}   ->  {a..e} and {g..h} can go down
/// ```
pub fn pick_level0(version: &Version, damaged: &DamagedTables) -> Option<CompactionTask> {
    let all = level0_task(version);
    if damaged.is_empty() || !damaged.touches(&all) {
        return Some(all);
    }
    level0_clusters(version)
        .into_iter()
        .map(|cluster| CompactionTask::with_overlaps(version, 0, cluster))
        .find(|task| !damaged.touches(task))
}

/// The L0 tables grouped into clusters of chained overlapping key ranges,
/// each cluster in the level's own order.
fn level0_clusters(version: &Version) -> Vec<Vec<Arc<TableHandle>>> {
    let tables = version.level(0);
    let mut order: Vec<usize> = (0..tables.len()).collect();
    order.sort_by(|&a, &b| {
        tables[a]
            .smallest_user_key()
            .cmp(tables[b].smallest_user_key())
    });
    let mut clusters: Vec<Vec<usize>> = Vec::new();
    let mut reach: &[u8] = &[];
    for index in order {
        let table = &tables[index];
        match clusters.last_mut() {
            Some(cluster) if table.smallest_user_key() <= reach => {
                cluster.push(index);
                reach = reach.max(table.largest_user_key());
            }
            _ => {
                clusters.push(vec![index]);
                reach = table.largest_user_key();
            }
        }
    }
    clusters
        .into_iter()
        .map(|mut cluster| {
            cluster.sort_unstable();
            cluster
                .into_iter()
                .map(|i| Arc::clone(&tables[i]))
                .collect()
        })
        .collect()
}
