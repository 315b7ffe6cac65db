//! Chooses the next compaction from a [`Version`]: the level with the highest
//! score (L0: tables / trigger; deeper: bytes / limit) if it is at least 1.

use std::ops::Bound;
use std::sync::Arc;

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
pub fn pick_compaction(
    version: &Version,
    options: &StoreOptions,
    pointers: &[Option<Vec<u8>>],
) -> Option<CompactionTask> {
    let mut best: Option<(f64, usize)> = None;
    let l0_score = version.level(0).len() as f64 / options.l0_compaction_trigger.max(1) as f64;
    if l0_score >= 1.0 {
        best = Some((l0_score, 0));
    }
    for level in 1..NUM_LEVELS - 1 {
        let score = version.level_bytes(level) as f64 / options.max_bytes_for_level(level) as f64;
        if score >= 1.0 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, level));
        }
    }
    let (_, level) = best?;
    if level == 0 {
        return Some(CompactionTask::with_overlaps(
            version,
            0,
            version.level(0).to_vec(),
        ));
    }
    let tables = version.level(level);
    let pointer = pointers.get(level).and_then(|p| p.as_deref());
    let chosen = pointer
        .and_then(|p| tables.iter().find(|t| t.smallest_user_key() > p))
        .or_else(|| tables.first())?;
    Some(CompactionTask::with_overlaps(
        version,
        level,
        vec![Arc::clone(chosen)],
    ))
}
