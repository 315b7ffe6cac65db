//! The results of a run and their three outputs: the aligned table on
//! stdout (with the issue's targets, met or missed), the JSON file for
//! comparisons across commits, and the SVG chart (drawn by the engine
//! benchmarks' `common/chart.rs`).
//!
//! JSON: an array of objects, one per workload and system:
//!
//! ```text
//! { "workload": "point_select", "system": "isodb", "value": 61234.5, "unit": "queries/s",
//!   "isolation": "SERIALIZABLE", "durability": "sync", "scale": 1.0,
//!   "ratio_vs": { "sqlite": 0.62 } }
//! ```
//!
//! `ratio_vs` holds this row's value divided by each other system's value
//! for the same workload (for isodb's rows: isodb's ratio to SQLite).

use serde_json::{Value, json};

use crate::common::chart::{BarChart, Group};
use crate::common::durability::Mode;
use crate::common::report::{Target, align, ratio_cell, ratio_map, targets_text, thousands};
use crate::workload::{Measurement, Workload};

/// The name of isodb's rows.
pub const ISODB: &str = "isodb";

/// One figure: a workload on a system.
pub struct Row {
    /// The workload.
    pub workload: Workload,
    /// The system's name.
    pub system: &'static str,
    /// What was measured.
    pub measurement: Measurement,
}

/// A system of the run and the isolation level it ran at.
pub struct SystemInfo {
    /// The name in the table and the JSON.
    pub name: &'static str,
    /// Its isolation level, as the table prints it.
    pub isolation: &'static str,
}

/// Everything one run measured.
pub struct Report {
    /// The scale factor of the run.
    pub scale: f64,
    /// The durability every system ran with.
    pub durability: Mode,
    /// The systems compared, isodb first.
    pub systems: Vec<SystemInfo>,
    /// The figures, in the order they were measured.
    pub rows: Vec<Row>,
}

impl Report {
    /// Records one figure.
    pub fn push(&mut self, workload: Workload, system: &'static str, measurement: Measurement) {
        self.rows.push(Row {
            workload,
            system,
            measurement,
        });
    }

    /// The figure of `workload` on `system`.
    pub fn rate(&self, workload: Workload, system: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|row| row.workload == workload && row.system == system)
            .map(|row| row.measurement.rate())
    }

    fn ratio(&self, workload: Workload, system: &str, other: &str) -> Option<f64> {
        Some(self.rate(workload, system)? / self.rate(workload, other)?)
    }

    fn isolation(&self, system: &str) -> &'static str {
        self.systems
            .iter()
            .find(|s| s.name == system)
            .map_or("?", |s| s.isolation)
    }

    fn peers(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.systems
            .iter()
            .map(|s| s.name)
            .filter(|name| *name != ISODB)
    }

    /// The aligned table and the targets.
    pub fn table(&self) -> String {
        let mut header: Vec<String> = [
            "workload",
            "system",
            "isolation",
            "unit",
            "figure",
            "seconds",
        ]
        .map(String::from)
        .into();
        header.extend(self.peers().map(|peer| format!("isodb/{peer}")));
        let mut lines = vec![header];
        for workload in Workload::ALL {
            for system in self.systems.iter().map(|s| s.name) {
                let Some(row) = self
                    .rows
                    .iter()
                    .find(|row| row.workload == workload && row.system == system)
                else {
                    continue;
                };
                let mut line = vec![
                    workload.name().to_string(),
                    system.to_string(),
                    self.isolation(system).to_string(),
                    workload.unit().to_string(),
                    thousands(row.measurement.rate()),
                    format!("{:.2}", row.measurement.elapsed.as_secs_f64()),
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
        // Four text columns, then the numbers.
        let mut out = align(&lines, 4);
        out.push_str(&format!(
            "(durability: {} on every system — isodb Durability::Sync, SQLite WAL + synchronous=FULL; scale {})\n\n",
            self.durability.name(),
            self.scale
        ));
        out.push_str(&targets_text(&self.targets()));
        out
    }

    /// The issue's targets, with what this run measured.
    fn targets(&self) -> Vec<Target> {
        if !cfg!(feature = "peers") {
            return Vec::new();
        }
        [
            (Workload::PointSelect, 0.5),
            (Workload::PointUpdate, 0.5),
            (Workload::Insert, 0.5),
        ]
        .into_iter()
        .map(|(workload, goal)| {
            Target::at_least(
                format!("isodb {} >= {goal}x sqlite", workload.name()),
                self.ratio(workload, ISODB, "sqlite"),
                goal,
            )
        })
        .collect()
    }

    /// The JSON array described in the module doc.
    pub fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let value = row.measurement.rate();
                let others = self
                    .systems
                    .iter()
                    .map(|s| s.name)
                    .filter(|name| *name != row.system)
                    .map(|name| (name, self.rate(row.workload, name)));
                json!({
                    "workload": row.workload.name(),
                    "system": row.system,
                    "value": value,
                    "unit": row.workload.unit(),
                    "seconds": row.measurement.elapsed.as_secs_f64(),
                    "operations": row.measurement.ops,
                    "isolation": self.isolation(row.system),
                    "durability": self.durability.name(),
                    "scale": self.scale,
                    "ratio_vs": ratio_map(value, others),
                })
            })
            .collect();
        Value::Array(rows)
    }

    /// The chart: one group per workload, one bar per system.
    pub fn chart(&self) -> BarChart {
        BarChart {
            title: format!(
                "isodb SQL benchmark (synced commits, scale {}; higher is better)",
                self.scale
            ),
            series: self.systems.iter().map(|s| s.name.to_string()).collect(),
            groups: Workload::ALL
                .into_iter()
                .map(|workload| Group {
                    label: workload.name().to_string(),
                    unit: workload.unit(),
                    values: self
                        .systems
                        .iter()
                        .map(|s| self.rate(workload, s.name))
                        .collect(),
                })
                .collect(),
        }
    }
}
