//! The anomaly matrix's vocabulary: what a scenario run showed at one level
//! ([`Outcome`]), what ../shared/ISOLATION.md promises for a phenomenon at
//! one level ([`Promise`]), and the check that the one keeps the other.
//!
//! An outcome is read mechanically off a [`Run`]:
//!
//! ```text
//!   the scenario's judge sees the anomaly          -> Anomaly
//!   else a step failed with 40001 / 40P01           -> Aborted(40001 / 40P01)
//!   else a step failed with anything else           -> Failed(sqlstate)  (a bug)
//!   else a step waited for a lock                   -> Blocked
//!   else                                            -> Prevented (snapshots alone)
//! ```

use std::fmt;

use isodb::IsolationLevel;

use crate::script::Run;

/// What one scenario showed at one level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The anomaly happened: the committed results show it.
    Anomaly,
    /// No anomaly, no waiting, no abort: the level's snapshots prevented it.
    Prevented,
    /// No anomaly; a step waited for a row lock and then went on.
    Blocked,
    /// No anomaly; a transaction was aborted with this SQLSTATE (40001 or 40P01).
    Aborted(&'static str),
    /// A step failed with an unexpected SQLSTATE (never expected by a table).
    Failed(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Anomaly => f.write_str("anomaly"),
            Outcome::Prevented => f.write_str("prevented"),
            Outcome::Blocked => f.write_str("blocked"),
            Outcome::Aborted(code) => write!(f, "aborted {code}"),
            Outcome::Failed(code) => write!(f, "FAILED {code}"),
        }
    }
}

/// The serialization-failure abort (40001).
pub const SERIALIZATION: Outcome = Outcome::Aborted("40001");
/// The deadlock abort (40P01).
pub const DEADLOCK: Outcome = Outcome::Aborted("40P01");

/// Reads the outcome of `run`, given whether the scenario's judge saw the
/// anomaly in it.
pub fn classify(run: &Run, anomaly: bool) -> Outcome {
    if anomaly {
        return Outcome::Anomaly;
    }
    match run.first_error() {
        Some("40001") => SERIALIZATION,
        Some("40P01") => DEADLOCK,
        Some(other) => Outcome::Failed(other.to_string()),
        None if run.any_blocked() => Outcome::Blocked,
        None => Outcome::Prevented,
    }
}

/// One cell of ISOLATION.md's matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Promise {
    /// "—": allowed, and some scenario must show it happening.
    Allowed,
    /// "✓": prevented, by whatever means.
    Prevented,
    /// "✓ B": prevented by the second writer blocking.
    Blocks,
    /// "✓ A": prevented by an abort with 40001 or 40P01.
    Aborts,
    /// "✓ B/A": prevented by blocking, or blocking then an abort.
    BlocksOrAborts,
}

impl Promise {
    /// Whether an outcome keeps this promise. For a promise of prevention
    /// this is checked on every scenario of the phenomenon; the mechanism
    /// (B, A) on its primary scenario only, see [`Promise::mechanism_kept`].
    pub fn prevention_kept(self, outcome: &Outcome) -> bool {
        match self {
            Promise::Allowed => true,
            _ => !matches!(outcome, Outcome::Anomaly | Outcome::Failed(_)),
        }
    }

    /// Whether the way an anomaly was prevented is the promised one.
    pub fn mechanism_kept(self, outcome: &Outcome) -> bool {
        let aborted = matches!(outcome, Outcome::Aborted("40001" | "40P01"));
        match self {
            Promise::Allowed => *outcome == Outcome::Anomaly,
            Promise::Prevented => self.prevention_kept(outcome),
            Promise::Blocks => *outcome == Outcome::Blocked,
            Promise::Aborts => aborted,
            Promise::BlocksOrAborts => aborted || *outcome == Outcome::Blocked,
        }
    }
}

impl fmt::Display for Promise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Promise::Allowed => "—",
            Promise::Prevented => "✓",
            Promise::Blocks => "✓ B",
            Promise::Aborts => "✓ A",
            Promise::BlocksOrAborts => "✓ B/A",
        })
    }
}

/// The four levels, weakest first, in the column order of every table.
pub const LEVELS: [IsolationLevel; 4] = IsolationLevel::ALL;

/// Renders a matrix (rows of outcomes per level) as a Markdown table.
pub fn render(rows: &[(&str, Vec<Outcome>)]) -> String {
    let mut out = String::from("| scenario |");
    for level in LEVELS {
        out.push_str(&format!(" {level} |"));
    }
    out.push_str("\n| --- |");
    for _ in LEVELS {
        out.push_str(" :-: |");
    }
    out.push('\n');
    for (name, outcomes) in rows {
        out.push_str(&format!("| {name} |"));
        for outcome in outcomes {
            out.push_str(&format!(" {outcome} |"));
        }
        out.push('\n');
    }
    out
}
