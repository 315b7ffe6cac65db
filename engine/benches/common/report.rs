//! The pieces every benchmark report is made of: numbers with thousands
//! separators, tables padded into columns, the issue's targets printed as
//! met or missed, and the `ratio_vs` object of the JSON rows.
//!
//! ```text
//! workload  system  ops/s      isodb/sqlite      <- align(lines, 2): two text columns,
//! fillsync  isodb   52,311            4.02x         then right-aligned numbers
//!
//! targets:
//!   isodb fillsync >= 1.0x sqlite              4.02x  met
//! ```

use serde_json::{Map, Value, json};

/// A target of an issue: a measured ratio that must be at least (or at
/// most) `goal`.
pub struct Target {
    /// What is compared, e.g. `isodb fillsync >= 1.0x sqlite`.
    pub name: String,
    /// The ratio this run measured, if it measured both sides.
    pub measured: Option<f64>,
    /// The bound.
    pub goal: f64,
    /// True when the ratio must be at least `goal`, false for at most.
    pub at_least: bool,
}

impl Target {
    /// A target the ratio must reach.
    pub fn at_least(name: impl Into<String>, measured: Option<f64>, goal: f64) -> Target {
        Target {
            name: name.into(),
            measured,
            goal,
            at_least: true,
        }
    }

    /// A target the ratio must not exceed.
    pub fn at_most(name: impl Into<String>, measured: Option<f64>, goal: f64) -> Target {
        Target {
            name: name.into(),
            measured,
            goal,
            at_least: false,
        }
    }

    /// True when `measured` satisfies the bound.
    pub fn met(&self, measured: f64) -> bool {
        if self.at_least {
            measured >= self.goal
        } else {
            measured <= self.goal
        }
    }
}

/// The `targets:` section of a report: one line per target, with the
/// measured ratio and `met`, `MISSED` or `not measured in this run`.
pub fn targets_text(targets: &[Target]) -> String {
    let width = targets.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let mut out = String::from("targets:\n");
    for target in targets {
        let verdict = match target.measured {
            Some(r) if target.met(r) => format!("{r:.2}x  met"),
            Some(r) => format!("{r:.2}x  MISSED"),
            None => "not measured in this run".to_string(),
        };
        out.push_str(&format!("  {:<width$}  {verdict}\n", target.name));
    }
    out
}

/// The `ratio_vs` object of a JSON row: `value` divided by each other
/// system's value for the same workload (systems without a figure are left
/// out).
pub fn ratio_map<'a>(
    value: f64,
    others: impl IntoIterator<Item = (&'a str, Option<f64>)>,
) -> Map<String, Value> {
    let mut map = Map::new();
    for (name, other) in others {
        if let Some(other) = other.filter(|o| *o > 0.0) {
            map.insert(name.to_string(), json!(value / other));
        }
    }
    map
}

/// A ratio as a table cell: `1.23x`, or empty when unknown.
pub fn ratio_cell(ratio: Option<f64>) -> String {
    ratio.map(|r| format!("{r:.2}x")).unwrap_or_default()
}

/// `1234567.8` as `1,234,568`.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Columns padded to their widest cell: the first `text_columns` left
/// aligned, the rest (numbers) right aligned.
pub fn align(lines: &[Vec<String>], text_columns: usize) -> String {
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            lines
                .iter()
                .filter_map(|line| line.get(c))
                .map(String::len)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, &width))| {
                if c < text_columns {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
