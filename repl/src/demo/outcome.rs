//! What a demo step produced ([`StepResult`]) and what a whole run showed
//! ([`Judgement`]): the vocabulary the transcripts' judges and the verdict
//! speak, kept apart from the transcripts themselves.

use isodb::Value;

/// What one step of a transcript produced.
#[derive(Debug, Clone, PartialEq)]
pub enum StepResult {
    /// No outcome was recorded (the step never ran or never finished).
    Missing,
    /// Rows (empty for statements without a result).
    Done(Vec<Vec<Value>>),
    /// A COMMIT that found its block failed: it rolled back.
    RolledBack,
    /// The statement failed with this SQLSTATE.
    Failed(String),
}

impl StepResult {
    /// The first column of the first row, when it is an integer.
    pub fn integer(&self) -> Option<i64> {
        self.integers().first().copied()
    }

    /// The first column of every row, where it is an integer.
    pub fn integers(&self) -> Vec<i64> {
        match self {
            StepResult::Done(rows) => rows
                .iter()
                .filter_map(|row| match row.first() {
                    Some(Value::Integer(n)) => Some(*n),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// True when the statement did what it said (a COMMIT that rolled
    /// back did not).
    pub fn succeeded(&self) -> bool {
        matches!(self, StepResult::Done(_))
    }

    /// "failed with 40001", "rolled back", "did not finish".
    pub fn describe_failure(&self) -> String {
        match self {
            StepResult::Failed(code) => format!("failed with {code} ({})", meaning(code)),
            StepResult::RolledBack => "rolled back instead (its block had failed)".to_string(),
            StepResult::Missing => "did not finish".to_string(),
            StepResult::Done(_) => "succeeded".to_string(),
        }
    }
}

/// What a SQLSTATE tells the user to do.
pub fn meaning(code: &str) -> &'static str {
    match code {
        "40001" => "serialization failure: retry the transaction",
        "40P01" => "deadlock detected: retry the transaction",
        "25P02" => "the block has failed: only ROLLBACK helps",
        "57014" => "canceled",
        "55P03" => "lock not available",
        _ => "error",
    }
}

/// What a run of a transcript showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// The anomaly happened; how it showed.
    Happened(String),
    /// It did not; what was seen instead.
    Avoided(String),
}
