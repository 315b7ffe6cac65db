//! Anomalies: what the checker found, named as in Adya's thesis and Elle, with the evidence.
//!
//! Two families:
//! * **cycles** in the dependency graph (G0, G1c, G-single, G-nonadjacent, G2-item, G2, and
//!   their `-realtime` forms that need real-time edges), each with the shortest cycle found and
//!   one plain sentence per edge saying which transaction read or overwrote what;
//! * **non-cycle** findings read straight off the history: aborted reads (G1a), intermediate
//!   reads (G1b), lost updates, internal inconsistency, duplicate elements, incompatible list
//!   orders, garbage reads, session-guarantee violations and non-linearizable registers.

use serde::Serialize;

use crate::history::TxnId;

/// The kind of an anomaly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum AnomalyKind {
    /// A cycle of write-write edges (dirty write).
    G0,
    /// A read of a write by a transaction that aborted.
    G1a,
    /// A read of a version its writer later overwrote within the same transaction.
    G1b,
    /// A cycle of write-write and write-read edges (circular information flow).
    G1c,
    /// A cycle with exactly one anti-dependency (read skew).
    GSingle,
    /// A cycle with two or more anti-dependencies, none adjacent.
    GNonadjacent,
    /// A cycle with item anti-dependencies (write skew).
    G2Item,
    /// A cycle with a predicate anti-dependency (phantom).
    G2,
    /// A transaction's reads disagree with its own earlier reads and writes.
    Internal,
    /// Two committed transactions read the same version of a key and both wrote it.
    LostUpdate,
    /// A list read contains an element twice.
    DuplicateElements,
    /// Two reads of a list disagree on the order (neither is a prefix of the other).
    IncompatibleOrder,
    /// A read saw a value no transaction wrote (or a predicate row that does not match).
    GarbageRead,
    /// G0 once real-time order is added.
    G0Realtime,
    /// G1c once real-time order is added.
    G1cRealtime,
    /// G-single once real-time order is added.
    GSingleRealtime,
    /// G-nonadjacent once real-time order is added.
    GNonadjacentRealtime,
    /// G2-item once real-time order is added.
    G2ItemRealtime,
    /// G2 once real-time order is added.
    G2Realtime,
    /// A process did not see its own earlier write.
    ReadYourWrites,
    /// A process saw a version older than one it had already seen.
    MonotonicReads,
    /// A process's writes became visible out of order.
    MonotonicWrites,
    /// A write became visible without the writes its process had read before it.
    WritesFollowReads,
    /// A single register's operations admit no linearization.
    NonlinearizableRegister,
}

impl AnomalyKind {
    /// Every kind, in report order.
    pub const ALL: [AnomalyKind; 24] = [
        AnomalyKind::G0,
        AnomalyKind::G1a,
        AnomalyKind::G1b,
        AnomalyKind::G1c,
        AnomalyKind::GSingle,
        AnomalyKind::GNonadjacent,
        AnomalyKind::G2Item,
        AnomalyKind::G2,
        AnomalyKind::Internal,
        AnomalyKind::LostUpdate,
        AnomalyKind::DuplicateElements,
        AnomalyKind::IncompatibleOrder,
        AnomalyKind::GarbageRead,
        AnomalyKind::G0Realtime,
        AnomalyKind::G1cRealtime,
        AnomalyKind::GSingleRealtime,
        AnomalyKind::GNonadjacentRealtime,
        AnomalyKind::G2ItemRealtime,
        AnomalyKind::G2Realtime,
        AnomalyKind::ReadYourWrites,
        AnomalyKind::MonotonicReads,
        AnomalyKind::MonotonicWrites,
        AnomalyKind::WritesFollowReads,
        AnomalyKind::NonlinearizableRegister,
    ];

    /// The conventional name (`G-single`, `lost-update`, ...).
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::G0 => "G0",
            AnomalyKind::G1a => "G1a",
            AnomalyKind::G1b => "G1b",
            AnomalyKind::G1c => "G1c",
            AnomalyKind::GSingle => "G-single",
            AnomalyKind::GNonadjacent => "G-nonadjacent",
            AnomalyKind::G2Item => "G2-item",
            AnomalyKind::G2 => "G2",
            AnomalyKind::Internal => "internal",
            AnomalyKind::LostUpdate => "lost-update",
            AnomalyKind::DuplicateElements => "duplicate-elements",
            AnomalyKind::IncompatibleOrder => "incompatible-order",
            AnomalyKind::GarbageRead => "garbage-read",
            AnomalyKind::G0Realtime => "G0-realtime",
            AnomalyKind::G1cRealtime => "G1c-realtime",
            AnomalyKind::GSingleRealtime => "G-single-realtime",
            AnomalyKind::GNonadjacentRealtime => "G-nonadjacent-realtime",
            AnomalyKind::G2ItemRealtime => "G2-item-realtime",
            AnomalyKind::G2Realtime => "G2-realtime",
            AnomalyKind::ReadYourWrites => "read-your-writes",
            AnomalyKind::MonotonicReads => "monotonic-reads",
            AnomalyKind::MonotonicWrites => "monotonic-writes",
            AnomalyKind::WritesFollowReads => "writes-follow-reads",
            AnomalyKind::NonlinearizableRegister => "nonlinearizable-register",
        }
    }

    /// Parses a name as produced by [`Self::name`].
    pub fn from_name(name: &str) -> Option<AnomalyKind> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// One line saying what the anomaly means.
    pub fn meaning(self) -> &'static str {
        match self {
            AnomalyKind::G0 => "dirty write: transactions overwrote each other in a cycle",
            AnomalyKind::G1a => {
                "aborted read: a committed transaction saw a write of an aborted one"
            }
            AnomalyKind::G1b => {
                "intermediate read: a transaction saw a value its writer later overwrote itself"
            }
            AnomalyKind::G1c => {
                "circular information flow: transactions saw each other's writes in a cycle"
            }
            AnomalyKind::GSingle => "read skew: a cycle with exactly one anti-dependency",
            AnomalyKind::GNonadjacent => "a cycle with non-adjacent anti-dependencies",
            AnomalyKind::G2Item => "write skew: a cycle with item anti-dependencies",
            AnomalyKind::G2 => "phantom: a cycle with a predicate anti-dependency",
            AnomalyKind::Internal => {
                "a transaction's read contradicts its own earlier reads or writes"
            }
            AnomalyKind::LostUpdate => {
                "two transactions read the same version and both wrote the key"
            }
            AnomalyKind::DuplicateElements => "a list contains the same element twice",
            AnomalyKind::IncompatibleOrder => "two reads disagree on the order of a list",
            AnomalyKind::GarbageRead => "a read saw a value that was never written",
            AnomalyKind::G0Realtime
            | AnomalyKind::G1cRealtime
            | AnomalyKind::GSingleRealtime
            | AnomalyKind::GNonadjacentRealtime
            | AnomalyKind::G2ItemRealtime
            | AnomalyKind::G2Realtime => "the serialization order contradicts real time",
            AnomalyKind::ReadYourWrites => "a process did not see its own earlier write",
            AnomalyKind::MonotonicReads => "a process saw an older version after a newer one",
            AnomalyKind::MonotonicWrites => "a process's writes took effect out of order",
            AnomalyKind::WritesFollowReads => "a write was visible without the writes it followed",
            AnomalyKind::NonlinearizableRegister => {
                "a register's operations cannot be ordered consistently with real time"
            }
        }
    }
}

impl std::fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One step of a cycle, explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CycleStep {
    /// Source transaction.
    pub from: TxnId,
    /// Target transaction.
    pub to: TxnId,
    /// `ww`, `wr`, `rw`, `prw`, `rt` or `po`.
    pub relation: &'static str,
    /// Which transaction read or overwrote what.
    pub why: String,
}

/// A finding, with its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// What kind it is.
    pub kind: AnomalyKind,
    /// The transactions involved.
    pub txns: Vec<TxnId>,
    /// A plain-words explanation.
    pub explanation: String,
    /// For cycle anomalies, the cycle (the last step returns to the first's source).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycle: Vec<CycleStep>,
}

impl Anomaly {
    /// A non-cycle anomaly.
    pub fn new(kind: AnomalyKind, txns: Vec<TxnId>, explanation: String) -> Self {
        Anomaly {
            kind,
            txns,
            explanation,
            cycle: Vec::new(),
        }
    }
}

/// Shows a list compactly: `[1, 2, 3]`, or `[…, 7, 8, 9]` (with its length) when long.
pub fn show_list(values: &[i64]) -> String {
    const SHOWN: usize = 6;
    if values.len() <= SHOWN {
        format!("{values:?}")
    } else {
        let tail: Vec<String> = values[values.len() - SHOWN..]
            .iter()
            .map(i64::to_string)
            .collect();
        format!("[… {} more, {}]", values.len() - SHOWN, tail.join(", "))
    }
}

/// Shows a register value (`nil` for the initial state).
pub fn show_value(value: Option<i64>) -> String {
    value.map_or_else(|| "nil".to_string(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut names: Vec<&str> = AnomalyKind::ALL.iter().map(|k| k.name()).collect();
        for kind in AnomalyKind::ALL {
            assert_eq!(AnomalyKind::from_name(kind.name()), Some(kind));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AnomalyKind::ALL.len());
    }

    #[test]
    fn long_lists_are_abbreviated() {
        assert_eq!(show_list(&[1, 2]), "[1, 2]");
        assert_eq!(
            show_list(&(1..=10).collect::<Vec<_>>()),
            "[… 4 more, 5, 6, 7, 8, 9, 10]"
        );
    }
}
