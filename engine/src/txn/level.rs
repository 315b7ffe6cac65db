//! `IsolationLevel`: the four SQL isolation levels and what each guarantees.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// An SQL isolation level. See the table in [`crate::txn`] for exactly what
/// each one prevents and allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum IsolationLevel {
    /// Reads see the newest version of a row, including other transactions'
    /// uncommitted writes (dirty reads). Writes take row locks.
    ReadUncommitted,
    /// Every statement reads a fresh snapshot of committed data; a write to a
    /// row another writer holds waits, then proceeds on the newest committed
    /// version (lost updates are possible).
    ReadCommitted,
    /// Snapshot isolation: one snapshot for the whole transaction; writing a
    /// row that changed after the snapshot fails with 40001 (first updater
    /// wins). Write skew is possible.
    RepeatableRead,
    /// Serializable snapshot isolation: repeatable read plus tracking of
    /// read-write dependencies; a transaction that would complete a dangerous
    /// structure is aborted with 40001.
    #[default]
    Serializable,
}

impl IsolationLevel {
    /// All four, weakest first.
    pub const ALL: [IsolationLevel; 4] = [
        IsolationLevel::ReadUncommitted,
        IsolationLevel::ReadCommitted,
        IsolationLevel::RepeatableRead,
        IsolationLevel::Serializable,
    ];

    /// The SQL spelling, e.g. `REPEATABLE READ`.
    pub fn as_sql(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "READ UNCOMMITTED",
            IsolationLevel::ReadCommitted => "READ COMMITTED",
            IsolationLevel::RepeatableRead => "REPEATABLE READ",
            IsolationLevel::Serializable => "SERIALIZABLE",
        }
    }

    /// True when each statement takes a fresh snapshot (READ COMMITTED) or
    /// reads the newest data (READ UNCOMMITTED).
    pub fn snapshot_per_statement(self) -> bool {
        self <= IsolationLevel::ReadCommitted
    }

    /// True when writing a row changed after the snapshot is a conflict.
    pub fn first_updater_wins(self) -> bool {
        self >= IsolationLevel::RepeatableRead
    }
}

impl fmt::Display for IsolationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_sql())
    }
}

impl FromStr for IsolationLevel {
    type Err = Error;

    /// Parses `read uncommitted`, `READ_COMMITTED`, `repeatable-read`,
    /// `serializable`, and the short forms `ru`, `rc`, `rr`, `si`, `ser`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .trim()
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c == '_' || c == '-' { ' ' } else { c })
            .collect();
        let norm = norm.split_whitespace().collect::<Vec<_>>().join(" ");
        match norm.as_str() {
            "read uncommitted" | "ru" => Ok(IsolationLevel::ReadUncommitted),
            "read committed" | "rc" => Ok(IsolationLevel::ReadCommitted),
            "repeatable read" | "rr" | "snapshot" | "si" => Ok(IsolationLevel::RepeatableRead),
            "serializable" | "ser" | "ssi" => Ok(IsolationLevel::Serializable),
            _ => Err(Error::InvalidArgument(format!(
                "unknown isolation level {s:?}; expected READ UNCOMMITTED, READ COMMITTED, REPEATABLE READ or SERIALIZABLE"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sql_and_short_spellings() {
        for level in IsolationLevel::ALL {
            assert_eq!(level.as_sql().parse::<IsolationLevel>().ok(), Some(level));
            assert_eq!(
                level
                    .to_string()
                    .to_lowercase()
                    .parse::<IsolationLevel>()
                    .ok(),
                Some(level)
            );
        }
        assert_eq!(
            "repeatable_read".parse::<IsolationLevel>().ok(),
            Some(IsolationLevel::RepeatableRead)
        );
        assert!("chaos".parse::<IsolationLevel>().is_err());
        assert!(IsolationLevel::ReadUncommitted < IsolationLevel::Serializable);
    }
}
