//! The results of a transaction benchmark run and their three outputs: the
//! table on stdout with the issue's targets, the JSON file for comparisons
//! across commits, and the SVG chart.
//!
//! JSON (`transactions.json`): an array of objects, one per cell and system;
//! `workload` is the cell's key, so `(workload, system)` is unique as in
//! `storage.json`:
//!
//! ```text
//! { "workload": "transfer_2t_sync", "transaction": "transfer", "threads": 2,
//!   "durability": "sync", "system": "isodb-serializable",
//!   "value": 812.3, "unit": "txn/s", "scale": 1.0,
//!   "round_values": [790.1, 812.3, 845.0], "seconds": 2.0,
//!   "commits": 1625, "aborts": 41, "attempts": 1666, "abort_rate": 0.0246,
//!   "aborts_by_reason": { "40001": 40, "40P01": 1 },
//!   "ratio_vs": { "isodb-read-committed": 1.02, "sqlite": 3.1, ... },
//!   "ratio_vs_one_thread": 1.7 }
//! ```
//!
//! `value` is the median of the rounds' figures (`round_values`); the
//! counts and `seconds` are summed over the rounds. `ratio_vs` divides this
//! row's figure by every other system's in the same
//! cell; `ratio_vs_one_thread` (two-thread rows only) by the same system's
//! one-thread figure for the same workload and durability.

use serde_json::{Value, json};

use crate::common::chart::{BarChart, Group};
use crate::common::durability::Mode;
use crate::common::report::{Target, align, ratio_cell, ratio_map, targets_text, thousands};
use crate::workload::{Cell, Outcome, SystemKind, TxnWorkload};
use isodb_engine::txn::IsolationLevel;

const UNIT: &str = "txn/s";
const SERIALIZABLE: SystemKind = SystemKind::Isodb(IsolationLevel::Serializable);
const READ_COMMITTED: SystemKind = SystemKind::Isodb(IsolationLevel::ReadCommitted);

/// One figure: a cell on a system, measured in rounds.
pub struct Row {
    /// The cell.
    pub cell: Cell,
    /// The system.
    pub system: SystemKind,
    /// What each round measured, in order.
    pub rounds: Vec<Outcome>,
}

impl Row {
    /// The figure: the median of the rounds' txn/s (robust to one round
    /// that a noisy neighbour slowed down).
    pub fn rate(&self) -> f64 {
        let mut rates: Vec<f64> = self.rounds.iter().map(Outcome::rate).collect();
        rates.sort_by(f64::total_cmp);
        match rates.len() {
            0 => 0.0,
            n if n % 2 == 1 => rates[n / 2],
            n => (rates[n / 2 - 1] + rates[n / 2]) / 2.0,
        }
    }

    /// All rounds together: commits and aborts summed, time summed.
    pub fn total(&self) -> Outcome {
        let mut total = Outcome {
            tally: Default::default(),
            elapsed: Default::default(),
        };
        for round in &self.rounds {
            total.tally.merge(&round.tally);
            total.elapsed += round.elapsed;
        }
        total
    }
}

/// Everything one run measured.
pub struct Report {
    /// The scale factor of the run.
    pub scale: f64,
    /// The systems compared, in column order.
    pub systems: Vec<SystemKind>,
    /// The figures, in the order they were measured.
    pub rows: Vec<Row>,
}

impl Report {
    fn row(&self, cell: Cell, system: SystemKind) -> Option<&Row> {
        self.rows
            .iter()
            .find(|row| row.cell == cell && row.system == system)
    }

    /// Committed transactions per second of `system` in `cell`.
    pub fn rate(&self, cell: Cell, system: SystemKind) -> Option<f64> {
        self.row(cell, system).map(Row::rate)
    }

    /// The row of `system` in `cell`, created empty if missing.
    pub fn row_mut(&mut self, cell: Cell, system: SystemKind) -> &mut Row {
        let index = match self
            .rows
            .iter()
            .position(|row| row.cell == cell && row.system == system)
        {
            Some(index) => index,
            None => {
                self.rows.push(Row {
                    cell,
                    system,
                    rounds: Vec::new(),
                });
                self.rows.len() - 1
            }
        };
        &mut self.rows[index]
    }

    fn ratio(&self, cell: Cell, system: SystemKind, other: SystemKind) -> Option<f64> {
        Some(self.rate(cell, system)? / self.rate(cell, other)?)
    }

    /// The two-thread figure over the one-thread figure of the same system.
    fn scaling(&self, cell: Cell, system: SystemKind) -> Option<f64> {
        if cell.threads == 1 {
            return None;
        }
        let one = Cell { threads: 1, ..cell };
        Some(self.rate(cell, system)? / self.rate(one, system)?)
    }

    fn sqlite(&self) -> Option<SystemKind> {
        self.systems
            .iter()
            .copied()
            .find(|s| !matches!(s, SystemKind::Isodb(_)))
    }

    /// Rows in table order: by cell, then by system.
    fn ordered(&self) -> Vec<&Row> {
        let cells = Cell::all();
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|row| {
            let cell = cells.iter().position(|c| *c == row.cell);
            let system = self.systems.iter().position(|s| *s == row.system);
            (cell, system)
        });
        rows
    }

    /// The aligned table and the targets.
    pub fn table(&self) -> String {
        let sqlite = self.sqlite();
        let mut header: Vec<String> = [
            "workload",
            "durability",
            "threads",
            "system",
            "txn/s",
            "abort rate",
            "aborts",
            "vs RC",
        ]
        .map(String::from)
        .to_vec();
        if sqlite.is_some() {
            header.push("vs sqlite".to_string());
        }
        header.push("2t/1t".to_string());
        let mut lines = vec![header];
        for row in self.ordered() {
            let total = row.total();
            let isodb = matches!(row.system, SystemKind::Isodb(_));
            let mut line = vec![
                row.cell.workload.name().to_string(),
                row.cell.durability.name().to_string(),
                row.cell.threads.to_string(),
                row.system.name().to_string(),
                thousands(row.rate()),
                format!("{:.2}%", 100.0 * total.abort_rate()),
                aborts_cell(&total),
                ratio_cell(
                    isodb
                        .then(|| self.ratio(row.cell, row.system, READ_COMMITTED))
                        .flatten(),
                ),
            ];
            if let Some(sqlite) = sqlite {
                line.push(ratio_cell(
                    isodb
                        .then(|| self.ratio(row.cell, row.system, sqlite))
                        .flatten(),
                ));
            }
            line.push(ratio_cell(self.scaling(row.cell, row.system)));
            lines.push(line);
        }
        let mut out = align(&lines, 4);
        out.push_str(
            "(txn/s: median of the rounds; aborts: all rounds; vs RC: this level / READ COMMITTED in the same cell; vs sqlite: isodb / SQLite in the same cell;\n \
             2t/1t: two threads / one thread, same system; abort rate: aborted attempts / all attempts)\n\n",
        );
        out.push_str(&targets_text(&self.targets()));
        out
    }

    /// The issue's targets, all on synced commits.
    fn targets(&self) -> Vec<Target> {
        let cell = |workload, threads| Cell {
            workload,
            threads,
            durability: Mode::Sync,
        };
        let mut targets = Vec::new();
        for threads in [1, 2] {
            targets.push(Target::at_least(
                format!("rmw sync {threads}t: serializable >= 0.8x read committed"),
                self.ratio(
                    cell(TxnWorkload::Rmw, threads),
                    SERIALIZABLE,
                    READ_COMMITTED,
                ),
                0.8,
            ));
        }
        if let Some(sqlite) = self.sqlite() {
            targets.push(Target::at_least(
                "transfer sync 1t: isodb-serializable >= 1.0x sqlite",
                self.ratio(cell(TxnWorkload::Transfer, 1), SERIALIZABLE, sqlite),
                1.0,
            ));
        }
        targets.push(Target::at_least(
            "transfer sync: isodb-serializable 2t >= 1.5x 1t",
            self.scaling(cell(TxnWorkload::Transfer, 2), SERIALIZABLE),
            1.5,
        ));
        targets
    }

    /// The JSON array described in the module doc.
    pub fn json(&self) -> Value {
        let rows = self.ordered();
        let objects = rows
            .iter()
            .map(|row| {
                let outcome = row.total();
                let ratio_vs = ratio_map(
                    row.rate(),
                    self.systems
                        .iter()
                        .filter(|&&other| other != row.system)
                        .map(|&other| (other.name(), self.rate(row.cell, other))),
                );
                let mut object = json!({
                    "workload": row.cell.key(),
                    "transaction": row.cell.workload.name(),
                    "threads": row.cell.threads,
                    "durability": row.cell.durability.name(),
                    "system": row.system.name(),
                    "value": row.rate(),
                    "unit": UNIT,
                    "scale": self.scale,
                    "round_values": row.rounds.iter().map(Outcome::rate).collect::<Vec<f64>>(),
                    "seconds": outcome.elapsed.as_secs_f64(),
                    "commits": outcome.tally.commits,
                    "aborts": outcome.tally.aborted(),
                    "attempts": outcome.attempts(),
                    "abort_rate": outcome.abort_rate(),
                    "aborts_by_reason": outcome.tally.aborts,
                    "ratio_vs": ratio_vs,
                });
                if let Some(scaling) = self.scaling(row.cell, row.system) {
                    object["ratio_vs_one_thread"] = json!(scaling);
                }
                object
            })
            .collect();
        Value::Array(objects)
    }

    /// The chart: one group per cell, one bar per system.
    pub fn chart(&self) -> BarChart {
        BarChart {
            title: format!(
                "isodb transaction benchmark: committed txn/s (log scale), scale {}",
                self.scale
            ),
            series: self.systems.iter().map(|s| s.name().to_string()).collect(),
            groups: Cell::all()
                .into_iter()
                .map(|cell| Group {
                    label: cell.label(),
                    unit: UNIT,
                    values: self.systems.iter().map(|&s| self.rate(cell, s)).collect(),
                })
                .collect(),
        }
    }
}

/// Failed attempts by reason, e.g. `40001:12 40P01:3`; `-` when none.
fn aborts_cell(outcome: &Outcome) -> String {
    if outcome.tally.aborts.is_empty() {
        return "-".to_string();
    }
    outcome
        .tally
        .aborts
        .iter()
        .map(|(reason, count)| format!("{reason}:{count}"))
        .collect::<Vec<_>>()
        .join(" ")
}
