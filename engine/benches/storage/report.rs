//! The results of a run and their three outputs: the aligned table on
//! stdout (with the targets of the issue, met or missed), the JSON file for
//! comparisons across commits, and the SVG chart (drawn by
//! `common/chart.rs`).
//!
//! JSON: an array of objects, one per workload and system:
//!
//! ```text
//! { "workload": "readrandom", "system": "isodb", "value": 812345.6, "unit": "ops/s",
//!   "scale": 1.0, "ratio_vs": { "fjall": 1.21, "sqlite": 3.4 } }
//! ```
//!
//! `ratio_vs` holds this row's value divided by each other system's value
//! for the same workload (for isodb's rows: isodb's ratio to each peer).
//! Peak memory during fillrandom is one more row per system, workload
//! `fillrandom_peak_memory`, unit `bytes`, with `baseline_bytes` (resident
//! size before the fill) and, for isodb, `budget_bytes` and `ratio_to_budget`.

use serde_json::{Value, json};

use crate::common::chart::{BarChart, Group};
use crate::common::report::{Target, align, ratio_cell, ratio_map, targets_text, thousands};
use crate::workload::{Measurement, Workload};

/// One figure: a workload on a system.
pub struct Row {
    /// The workload.
    pub workload: Workload,
    /// The system's name.
    pub system: &'static str,
    /// What was measured.
    pub measurement: Measurement,
}

/// Peak resident memory while one system ran fillrandom.
pub struct PeakMemory {
    /// The system's name.
    pub system: &'static str,
    /// Resident bytes when the fill started.
    pub baseline: u64,
    /// Peak resident bytes during the fill.
    pub peak: u64,
}

/// Everything one run measured.
pub struct Report {
    /// The scale factor of the run.
    pub scale: f64,
    /// The systems compared, isodb first.
    pub systems: Vec<&'static str>,
    /// isodb's memory budget: memtables plus block cache, in bytes.
    pub budget: u64,
    /// Throughput figures, in the order they were measured.
    pub rows: Vec<Row>,
    /// Peak memory per system.
    pub memory: Vec<PeakMemory>,
}

const ISODB: &str = "isodb";
const MIB: f64 = 1024.0 * 1024.0;

impl Report {
    /// The figure (ops/s or entries/s) of `workload` on `system`.
    pub fn rate(&self, workload: Workload, system: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|row| row.workload == workload && row.system == system)
            .map(|row| row.measurement.rate())
    }

    fn ratio(&self, workload: Workload, system: &str, other: &str) -> Option<f64> {
        Some(self.rate(workload, system)? / self.rate(workload, other)?)
    }

    fn peers(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.systems.iter().copied().filter(|s| *s != ISODB)
    }

    /// The aligned table, the peak-memory lines and the targets.
    pub fn table(&self) -> String {
        let mut header = vec![
            "workload".to_string(),
            "system".to_string(),
            "ops/s".to_string(),
        ];
        header.extend(self.peers().map(|peer| format!("isodb/{peer}")));
        let mut lines = vec![header];
        for workload in Workload::ALL {
            for &system in &self.systems {
                let Some(rate) = self.rate(workload, system) else {
                    continue;
                };
                let mut line = vec![
                    workload.name().to_string(),
                    system.to_string(),
                    thousands(rate),
                ];
                for peer in self.peers() {
                    let ratio = (system == ISODB)
                        .then(|| self.ratio(workload, ISODB, peer))
                        .flatten();
                    line.push(ratio_cell(ratio));
                }
                lines.push(line);
            }
        }
        let mut out = align(&lines, 2);
        out.push_str("(scan counts entries/s; every other workload ops/s)\n\n");
        for memory in &self.memory {
            out.push_str(&format!(
                "peak memory during fillrandom ({}): {:.1} MiB (resident before the fill: {:.1} MiB)",
                memory.system,
                memory.peak as f64 / MIB,
                memory.baseline as f64 / MIB,
            ));
            if memory.system == ISODB {
                out.push_str(&format!(
                    "; budget (memtables + block cache) {:.1} MiB; {:.2}x the budget",
                    self.budget as f64 / MIB,
                    memory.peak as f64 / self.budget as f64
                ));
            }
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&targets_text(&self.targets()));
        out
    }

    /// The issue's targets, with what this run measured.
    fn targets(&self) -> Vec<Target> {
        let mut targets = Vec::new();
        if cfg!(feature = "peers") {
            targets.push(Target::at_least(
                "isodb fillrandom >= 1.0x fjall",
                self.ratio(Workload::FillRandom, ISODB, "fjall"),
                1.0,
            ));
            targets.push(Target::at_least(
                "isodb readrandom >= 1.0x fjall",
                self.ratio(Workload::ReadRandom, ISODB, "fjall"),
                1.0,
            ));
            targets.push(Target::at_least(
                "isodb fillsync >= 1.0x sqlite",
                self.ratio(Workload::FillSync, ISODB, "sqlite"),
                1.0,
            ));
        }
        targets.push(Target::at_least(
            "isodb readmissing >= 3x readrandom",
            self.rate(Workload::ReadMissing, ISODB)
                .zip(self.rate(Workload::ReadRandom, ISODB))
                .map(|(missing, present)| missing / present),
            3.0,
        ));
        let memory = self.memory.iter().find(|m| m.system == ISODB);
        targets.push(Target::at_most(
            "isodb peak memory <= 2x budget",
            memory.map(|m| m.peak as f64 / self.budget as f64),
            2.0,
        ));
        targets
    }

    /// The chart: one group per workload measured, one bar per system.
    pub fn chart(&self) -> BarChart {
        BarChart {
            title: format!(
                "isodb storage benchmark: ops/s, scan entries/s (log scale), scale {}",
                self.scale
            ),
            series: self.systems.iter().map(|s| s.to_string()).collect(),
            groups: Workload::ALL
                .into_iter()
                .map(|workload| Group {
                    label: workload.name().to_string(),
                    unit: workload.unit(),
                    values: self
                        .systems
                        .iter()
                        .map(|s| self.rate(workload, s))
                        .collect(),
                })
                .collect(),
        }
    }

    /// The JSON array described in the module doc.
    pub fn json(&self) -> Value {
        let mut out = Vec::new();
        // In table order: by workload, then system.
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|row| {
            let workload = Workload::ALL.iter().position(|w| *w == row.workload);
            let system = self.systems.iter().position(|s| *s == row.system);
            (workload, system)
        });
        for row in rows {
            let ratio_vs = ratio_map(
                row.measurement.rate(),
                self.systems
                    .iter()
                    .filter(|&&other| other != row.system)
                    .map(|&other| (other, self.rate(row.workload, other))),
            );
            out.push(json!({
                "workload": row.workload.name(),
                "system": row.system,
                "value": row.measurement.rate(),
                "unit": row.workload.unit(),
                "scale": self.scale,
                "operations": row.measurement.ops,
                "seconds": row.measurement.elapsed.as_secs_f64(),
                "ratio_vs": ratio_vs,
            }));
        }
        for memory in &self.memory {
            let ratio_vs = ratio_map(
                memory.peak as f64,
                self.memory
                    .iter()
                    .filter(|m| m.system != memory.system)
                    .map(|other| (other.system, Some(other.peak as f64))),
            );
            let mut object = json!({
                "workload": "fillrandom_peak_memory",
                "system": memory.system,
                "value": memory.peak,
                "unit": "bytes",
                "scale": self.scale,
                "baseline_bytes": memory.baseline,
                "ratio_vs": ratio_vs,
            });
            if memory.system == ISODB {
                object["budget_bytes"] = json!(self.budget);
                object["ratio_to_budget"] = json!(memory.peak as f64 / self.budget as f64);
            }
            out.push(object);
        }
        Value::Array(out)
    }
}
