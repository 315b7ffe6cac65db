//! Anomalies: what the checker found, named as Elle names them, with the evidence.
//!
//! Two families:
//! * **cycles** in the dependency graph, named by their edges as Elle names them
//!   ([`CycleBase`]) and by the order edges they need ([`Via`]): `G0`, `G1c`,
//!   `G-single-item`, `G-nonadjacent-item`, `G2-item` over item dependencies, `G-single`,
//!   `G-nonadjacent`, `G2` once a predicate anti-dependency is involved, each also as
//!   `-process` (needs process order) and `-realtime` (needs real-time order); each with the
//!   shortest cycle found and one plain sentence per edge;
//! * **non-cycle** findings read straight off the history: aborted reads (G1a), intermediate
//!   reads (G1b), dirty updates, lost updates, internal inconsistency, future reads, duplicate
//!   elements, incompatible list orders, cyclic register versions, garbage reads, and
//!   jepsen-lite's session-guarantee and register-linearizability findings.

use serde::Serialize;

use crate::history::TxnId;

/// The data-dependency shape of a cycle (Elle's classification).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum CycleBase {
    /// Write-write edges only (dirty write).
    G0,
    /// Write-write and write-read edges, at least one write-read (circular information flow).
    G1c,
    /// Exactly one item anti-dependency (read skew).
    GSingleItem,
    /// Exactly one anti-dependency, a predicate one.
    GSingle,
    /// Two or more item anti-dependencies, none adjacent.
    GNonadjacentItem,
    /// Two or more anti-dependencies, none adjacent, one a predicate one.
    GNonadjacent,
    /// Item anti-dependencies, two adjacent (write skew).
    G2Item,
    /// Anti-dependencies, two adjacent, one a predicate one (phantom).
    G2,
}

impl CycleBase {
    /// Every shape, in Elle's order of severity.
    pub const ALL: [CycleBase; 8] = [
        CycleBase::G0,
        CycleBase::G1c,
        CycleBase::GSingleItem,
        CycleBase::GSingle,
        CycleBase::GNonadjacentItem,
        CycleBase::GNonadjacent,
        CycleBase::G2Item,
        CycleBase::G2,
    ];

    /// Elle's name.
    pub fn name(self) -> &'static str {
        match self {
            CycleBase::G0 => "G0",
            CycleBase::G1c => "G1c",
            CycleBase::GSingleItem => "G-single-item",
            CycleBase::GSingle => "G-single",
            CycleBase::GNonadjacentItem => "G-nonadjacent-item",
            CycleBase::GNonadjacent => "G-nonadjacent",
            CycleBase::G2Item => "G2-item",
            CycleBase::G2 => "G2",
        }
    }

    /// Whether the shape involves a predicate anti-dependency.
    pub fn predicate(self) -> bool {
        matches!(
            self,
            CycleBase::GSingle | CycleBase::GNonadjacent | CycleBase::G2
        )
    }
}

/// Which order edges a cycle needs besides data dependencies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Via {
    /// None: a cycle of dependencies alone.
    Data,
    /// Process order (a process's transactions one after another), no real-time edge.
    Process,
    /// Real-time order (one transaction completed before another began).
    Realtime,
}

impl Via {
    /// The suffix of the anomaly's name.
    pub fn suffix(self) -> &'static str {
        match self {
            Via::Data => "",
            Via::Process => "-process",
            Via::Realtime => "-realtime",
        }
    }
}

/// The kind of an anomaly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum AnomalyKind {
    /// A dependency cycle of a shape, through data dependencies alone or order edges too.
    Cycle(CycleBase, Via),
    /// A read of a write by a transaction that aborted.
    G1a,
    /// A read of a version its writer later overwrote within the same transaction.
    G1b,
    /// A committed write installed right after an aborted one (Elle's dirty update).
    DirtyUpdate,
    /// A transaction's reads disagree with its own earlier reads and writes.
    Internal,
    /// A read saw a value its own transaction wrote only later.
    FutureRead,
    /// Two committed transactions read the same version of a key and both wrote it.
    LostUpdate,
    /// A list read contains an element twice.
    DuplicateElements,
    /// Two reads of a list disagree on the order (neither is a prefix of the other).
    IncompatibleOrder,
    /// A register's inferred version order has a cycle.
    CyclicVersions,
    /// A read saw a value no transaction wrote (or a predicate row that does not match).
    GarbageRead,
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

#[allow(non_upper_case_globals)]
impl AnomalyKind {
    /// `G0`.
    pub const G0: AnomalyKind = AnomalyKind::Cycle(CycleBase::G0, Via::Data);
    /// `G1c`.
    pub const G1c: AnomalyKind = AnomalyKind::Cycle(CycleBase::G1c, Via::Data);
    /// `G-single-item`.
    pub const GSingleItem: AnomalyKind = AnomalyKind::Cycle(CycleBase::GSingleItem, Via::Data);
    /// `G-single` (with a predicate anti-dependency).
    pub const GSingle: AnomalyKind = AnomalyKind::Cycle(CycleBase::GSingle, Via::Data);
    /// `G-nonadjacent-item`.
    pub const GNonadjacentItem: AnomalyKind =
        AnomalyKind::Cycle(CycleBase::GNonadjacentItem, Via::Data);
    /// `G-nonadjacent` (with a predicate anti-dependency).
    pub const GNonadjacent: AnomalyKind = AnomalyKind::Cycle(CycleBase::GNonadjacent, Via::Data);
    /// `G2-item`.
    pub const G2Item: AnomalyKind = AnomalyKind::Cycle(CycleBase::G2Item, Via::Data);
    /// `G2` (with a predicate anti-dependency).
    pub const G2: AnomalyKind = AnomalyKind::Cycle(CycleBase::G2, Via::Data);
    /// `G0-realtime`.
    pub const G0Realtime: AnomalyKind = AnomalyKind::Cycle(CycleBase::G0, Via::Realtime);
    /// `G1c-realtime`.
    pub const G1cRealtime: AnomalyKind = AnomalyKind::Cycle(CycleBase::G1c, Via::Realtime);
    /// `G-single-item-realtime`.
    pub const GSingleItemRealtime: AnomalyKind =
        AnomalyKind::Cycle(CycleBase::GSingleItem, Via::Realtime);
    /// `G-nonadjacent-item-realtime`.
    pub const GNonadjacentItemRealtime: AnomalyKind =
        AnomalyKind::Cycle(CycleBase::GNonadjacentItem, Via::Realtime);
    /// `G2-item-realtime`.
    pub const G2ItemRealtime: AnomalyKind = AnomalyKind::Cycle(CycleBase::G2Item, Via::Realtime);
    /// `G2-realtime`.
    pub const G2Realtime: AnomalyKind = AnomalyKind::Cycle(CycleBase::G2, Via::Realtime);
    /// `G0-process`.
    pub const G0Process: AnomalyKind = AnomalyKind::Cycle(CycleBase::G0, Via::Process);
    /// `G1c-process`.
    pub const G1cProcess: AnomalyKind = AnomalyKind::Cycle(CycleBase::G1c, Via::Process);
    /// `G-single-realtime` (with a predicate anti-dependency).
    pub const GSingleRealtime: AnomalyKind = AnomalyKind::Cycle(CycleBase::GSingle, Via::Realtime);
    /// `G-nonadjacent-realtime` (with a predicate anti-dependency).
    pub const GNonadjacentRealtime: AnomalyKind =
        AnomalyKind::Cycle(CycleBase::GNonadjacent, Via::Realtime);
    /// `G-single-item-process`.
    pub const GSingleItemProcess: AnomalyKind =
        AnomalyKind::Cycle(CycleBase::GSingleItem, Via::Process);
    /// `G-nonadjacent-item-process`.
    pub const GNonadjacentItemProcess: AnomalyKind =
        AnomalyKind::Cycle(CycleBase::GNonadjacentItem, Via::Process);
    /// `G2-item-process`.
    pub const G2ItemProcess: AnomalyKind = AnomalyKind::Cycle(CycleBase::G2Item, Via::Process);

    /// Every kind, in report order.
    pub fn all() -> Vec<AnomalyKind> {
        let mut all: Vec<AnomalyKind> = [Via::Data, Via::Process, Via::Realtime]
            .into_iter()
            .flat_map(|via| {
                CycleBase::ALL
                    .into_iter()
                    .map(move |b| AnomalyKind::Cycle(b, via))
            })
            .collect();
        all.extend([
            AnomalyKind::G1a,
            AnomalyKind::G1b,
            AnomalyKind::DirtyUpdate,
            AnomalyKind::Internal,
            AnomalyKind::FutureRead,
            AnomalyKind::LostUpdate,
            AnomalyKind::DuplicateElements,
            AnomalyKind::IncompatibleOrder,
            AnomalyKind::CyclicVersions,
            AnomalyKind::GarbageRead,
            AnomalyKind::ReadYourWrites,
            AnomalyKind::MonotonicReads,
            AnomalyKind::MonotonicWrites,
            AnomalyKind::WritesFollowReads,
            AnomalyKind::NonlinearizableRegister,
        ]);
        all.sort_unstable();
        all
    }

    /// The name, as Elle spells it (`G-single-item-realtime`, `lost-update`, ...).
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::Cycle(base, via) => cycle_name(base, via),
            AnomalyKind::G1a => "G1a",
            AnomalyKind::G1b => "G1b",
            AnomalyKind::DirtyUpdate => "dirty-update",
            AnomalyKind::Internal => "internal",
            AnomalyKind::FutureRead => "future-read",
            AnomalyKind::LostUpdate => "lost-update",
            AnomalyKind::DuplicateElements => "duplicate-elements",
            AnomalyKind::IncompatibleOrder => "incompatible-order",
            AnomalyKind::CyclicVersions => "cyclic-versions",
            AnomalyKind::GarbageRead => "garbage-read",
            AnomalyKind::ReadYourWrites => "read-your-writes",
            AnomalyKind::MonotonicReads => "monotonic-reads",
            AnomalyKind::MonotonicWrites => "monotonic-writes",
            AnomalyKind::WritesFollowReads => "writes-follow-reads",
            AnomalyKind::NonlinearizableRegister => "nonlinearizable-register",
        }
    }

    /// Parses a name as produced by [`Self::name`] (also `garbage-versions` for garbage reads).
    pub fn from_name(name: &str) -> Option<AnomalyKind> {
        if name.eq_ignore_ascii_case("garbage-versions") {
            return Some(AnomalyKind::GarbageRead);
        }
        Self::all()
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// The cycle's shape and order edges, for cycle anomalies.
    pub fn cycle(self) -> Option<(CycleBase, Via)> {
        match self {
            AnomalyKind::Cycle(base, via) => Some((base, via)),
            _ => None,
        }
    }

    /// One line saying what the anomaly means.
    pub fn meaning(self) -> &'static str {
        match self {
            AnomalyKind::Cycle(base, via) => {
                let shape = match base {
                    CycleBase::G0 => "dirty write: transactions overwrote each other in a cycle",
                    CycleBase::G1c => {
                        "circular information flow: transactions saw each other's writes in a cycle"
                    }
                    CycleBase::GSingleItem => "read skew: a cycle with exactly one anti-dependency",
                    CycleBase::GSingle => {
                        "a cycle with exactly one anti-dependency, a predicate one"
                    }
                    CycleBase::GNonadjacentItem => "a cycle with non-adjacent anti-dependencies",
                    CycleBase::GNonadjacent => {
                        "a cycle with non-adjacent anti-dependencies, one a predicate one"
                    }
                    CycleBase::G2Item => "write skew: a cycle with adjacent item anti-dependencies",
                    CycleBase::G2 => "phantom: a cycle with a predicate anti-dependency",
                };
                match via {
                    Via::Data => shape,
                    Via::Process => "the serialization order contradicts a process's own order",
                    Via::Realtime => "the serialization order contradicts real time",
                }
            }
            AnomalyKind::G1a => {
                "aborted read: a committed transaction saw a write of an aborted one"
            }
            AnomalyKind::G1b => {
                "intermediate read: a transaction saw a value its writer later overwrote itself"
            }
            AnomalyKind::DirtyUpdate => {
                "dirty update: a committed write was installed on top of an aborted one"
            }
            AnomalyKind::Internal => {
                "a transaction's read contradicts its own earlier reads or writes"
            }
            AnomalyKind::FutureRead => "a transaction read a value that it wrote itself only later",
            AnomalyKind::LostUpdate => {
                "two transactions read the same version and both wrote the key"
            }
            AnomalyKind::DuplicateElements => "a list contains the same element twice",
            AnomalyKind::IncompatibleOrder => "two reads disagree on the order of a list",
            AnomalyKind::CyclicVersions => "a register's versions are ordered in a cycle",
            AnomalyKind::GarbageRead => "a read saw a value that was never written",
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

fn cycle_name(base: CycleBase, via: Via) -> &'static str {
    use CycleBase as B;
    match (base, via) {
        (B::G0, Via::Data) => "G0",
        (B::G0, Via::Process) => "G0-process",
        (B::G0, Via::Realtime) => "G0-realtime",
        (B::G1c, Via::Data) => "G1c",
        (B::G1c, Via::Process) => "G1c-process",
        (B::G1c, Via::Realtime) => "G1c-realtime",
        (B::GSingleItem, Via::Data) => "G-single-item",
        (B::GSingleItem, Via::Process) => "G-single-item-process",
        (B::GSingleItem, Via::Realtime) => "G-single-item-realtime",
        (B::GSingle, Via::Data) => "G-single",
        (B::GSingle, Via::Process) => "G-single-process",
        (B::GSingle, Via::Realtime) => "G-single-realtime",
        (B::GNonadjacentItem, Via::Data) => "G-nonadjacent-item",
        (B::GNonadjacentItem, Via::Process) => "G-nonadjacent-item-process",
        (B::GNonadjacentItem, Via::Realtime) => "G-nonadjacent-item-realtime",
        (B::GNonadjacent, Via::Data) => "G-nonadjacent",
        (B::GNonadjacent, Via::Process) => "G-nonadjacent-process",
        (B::GNonadjacent, Via::Realtime) => "G-nonadjacent-realtime",
        (B::G2Item, Via::Data) => "G2-item",
        (B::G2Item, Via::Process) => "G2-item-process",
        (B::G2Item, Via::Realtime) => "G2-item-realtime",
        (B::G2, Via::Data) => "G2",
        (B::G2, Via::Process) => "G2-process",
        (B::G2, Via::Realtime) => "G2-realtime",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let all = AnomalyKind::all();
        let mut names: Vec<&str> = all.iter().map(|k| k.name()).collect();
        for kind in &all {
            assert_eq!(AnomalyKind::from_name(kind.name()), Some(*kind));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert_eq!(all.len(), 24 + 15);
        assert_eq!(
            AnomalyKind::GSingleItemRealtime.name(),
            "G-single-item-realtime"
        );
        assert_eq!(
            AnomalyKind::from_name("garbage-versions"),
            Some(AnomalyKind::GarbageRead)
        );
    }
}
