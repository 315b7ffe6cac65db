//! Consistency models: which anomalies each forbids, and the lattice between them.
//!
//! ```text
//!                 strict-serializable        (+ no cycle through real-time edges)
//!                         │
//!                   serializable             (+ no G2: no cycle at all)
//!                  ╱             ╲
//!   repeatable-read               snapshot-isolation
//!   (PL-2.99: no G2-item)         (no G-single, G-nonadjacent, lost update)
//!                  ╲             ╱
//!                  read-committed            (+ no G1a, G1b, G1c)
//!                         │
//!                 read-uncommitted           (no G0)
//! ```
//!
//! Every transactional model also forbids the "corruption" findings (internal inconsistency,
//! duplicate elements, incompatible orders, garbage reads): Adya's definitions presuppose that a
//! transaction sees its own writes and reads only values someone wrote. Snapshot isolation
//! forbids G-nonadjacent as well as G-single (Cerone and Gotsman: under SI every cycle has two
//! adjacent anti-dependencies). Beside the lattice: the four session guarantees and
//! linearizability of single registers, each forbidding exactly its own finding.

use serde::Serialize;

use crate::anomaly::AnomalyKind;

/// A consistency model the checker reports on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Model {
    /// No G0.
    ReadUncommitted,
    /// No G0, G1a, G1b, G1c.
    ReadCommitted,
    /// Adya PL-2.99: read committed plus no G2-item.
    RepeatableRead,
    /// Read committed plus no G-single, G-nonadjacent or lost update.
    SnapshotIsolation,
    /// No dependency cycle at all (G2), items or predicates.
    Serializable,
    /// Serializable in an order consistent with real time.
    StrictSerializable,
    /// Session guarantee: a process sees its own writes.
    ReadYourWrites,
    /// Session guarantee: a process never sees older state after newer.
    MonotonicReads,
    /// Session guarantee: a process's writes take effect in order.
    MonotonicWrites,
    /// Session guarantee: writes take effect after the writes their process read.
    WritesFollowReads,
    /// Each register, alone, is linearizable.
    LinearizableRegisters,
}

const CORRUPTION: [AnomalyKind; 4] = [
    AnomalyKind::Internal,
    AnomalyKind::DuplicateElements,
    AnomalyKind::IncompatibleOrder,
    AnomalyKind::GarbageRead,
];

impl Model {
    /// Every model, weakest transactional models first.
    pub const ALL: [Model; 11] = [
        Model::ReadUncommitted,
        Model::ReadCommitted,
        Model::RepeatableRead,
        Model::SnapshotIsolation,
        Model::Serializable,
        Model::StrictSerializable,
        Model::ReadYourWrites,
        Model::MonotonicReads,
        Model::MonotonicWrites,
        Model::WritesFollowReads,
        Model::LinearizableRegisters,
    ];

    /// The model's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Model::ReadUncommitted => "read-uncommitted",
            Model::ReadCommitted => "read-committed",
            Model::RepeatableRead => "repeatable-read",
            Model::SnapshotIsolation => "snapshot-isolation",
            Model::Serializable => "serializable",
            Model::StrictSerializable => "strict-serializable",
            Model::ReadYourWrites => "read-your-writes",
            Model::MonotonicReads => "monotonic-reads",
            Model::MonotonicWrites => "monotonic-writes",
            Model::WritesFollowReads => "writes-follow-reads",
            Model::LinearizableRegisters => "linearizable",
        }
    }

    /// Parses a name (also accepts `si`, `rr`, `rc`, `ru`, `strict`).
    pub fn from_name(name: &str) -> Option<Model> {
        let name = name.to_ascii_lowercase();
        let alias = match name.as_str() {
            "ru" => Some(Model::ReadUncommitted),
            "rc" => Some(Model::ReadCommitted),
            "rr" => Some(Model::RepeatableRead),
            "si" | "snapshot" => Some(Model::SnapshotIsolation),
            "strict" | "strict-serializability" => Some(Model::StrictSerializable),
            "serializability" => Some(Model::Serializable),
            _ => None,
        };
        alias.or_else(|| Self::ALL.into_iter().find(|m| m.name() == name))
    }

    /// Whether the model belongs to the isolation lattice (not a session guarantee).
    pub fn in_lattice(self) -> bool {
        self <= Model::StrictSerializable
    }

    /// The models directly below this one in the lattice.
    pub fn weaker(self) -> &'static [Model] {
        match self {
            Model::ReadCommitted => &[Model::ReadUncommitted],
            Model::RepeatableRead | Model::SnapshotIsolation => &[Model::ReadCommitted],
            Model::Serializable => &[Model::RepeatableRead, Model::SnapshotIsolation],
            Model::StrictSerializable => &[Model::Serializable],
            _ => &[],
        }
    }

    /// Whether `self` implies `other` (reflexive, transitive over [`Self::weaker`]).
    pub fn implies(self, other: Model) -> bool {
        self == other || self.weaker().iter().any(|w| w.implies(other))
    }

    /// Whether the model forbids an anomaly of `kind`.
    pub fn forbids(self, kind: AnomalyKind) -> bool {
        use AnomalyKind as K;
        match self {
            Model::ReadYourWrites => kind == K::ReadYourWrites,
            Model::MonotonicReads => kind == K::MonotonicReads,
            Model::MonotonicWrites => kind == K::MonotonicWrites,
            Model::WritesFollowReads => kind == K::WritesFollowReads,
            Model::LinearizableRegisters => kind == K::NonlinearizableRegister,
            Model::ReadUncommitted => kind == K::G0 || CORRUPTION.contains(&kind),
            Model::ReadCommitted => {
                matches!(kind, K::G1a | K::G1b | K::G1c) || Model::ReadUncommitted.forbids(kind)
            }
            Model::SnapshotIsolation => {
                matches!(kind, K::GSingle | K::GNonadjacent | K::LostUpdate)
                    || Model::ReadCommitted.forbids(kind)
            }
            Model::RepeatableRead => {
                matches!(
                    kind,
                    K::GSingle | K::GNonadjacent | K::G2Item | K::LostUpdate
                ) || Model::ReadCommitted.forbids(kind)
            }
            Model::Serializable => {
                kind == K::G2
                    || Model::RepeatableRead.forbids(kind)
                    || Model::SnapshotIsolation.forbids(kind)
            }
            Model::StrictSerializable => {
                matches!(
                    kind,
                    K::G0Realtime
                        | K::G1cRealtime
                        | K::GSingleRealtime
                        | K::GNonadjacentRealtime
                        | K::G2ItemRealtime
                        | K::G2Realtime
                ) || Model::Serializable.forbids(kind)
            }
        }
    }
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a model holds, and which anomaly kinds break it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelVerdict {
    /// The model.
    pub model: Model,
    /// True when no forbidden anomaly was found.
    pub satisfied: bool,
    /// The anomaly kinds found that the model forbids.
    pub violated_by: Vec<AnomalyKind>,
}

/// Judges every model against the set of anomaly kinds found.
pub fn judge(found: &[AnomalyKind]) -> Vec<ModelVerdict> {
    Model::ALL
        .into_iter()
        .map(|model| {
            let mut violated_by: Vec<AnomalyKind> = found
                .iter()
                .copied()
                .filter(|k| model.forbids(*k))
                .collect();
            violated_by.sort_unstable();
            violated_by.dedup();
            ModelVerdict {
                model,
                satisfied: violated_by.is_empty(),
                violated_by,
            }
        })
        .collect()
}

/// The strongest lattice models satisfied: satisfied models no stronger satisfied model implies.
pub fn strongest_satisfied(verdicts: &[ModelVerdict]) -> Vec<Model> {
    let holds: Vec<Model> = verdicts
        .iter()
        .filter(|v| v.satisfied && v.model.in_lattice())
        .map(|v| v.model)
        .collect();
    holds
        .iter()
        .copied()
        .filter(|m| !holds.iter().any(|o| o != m && o.implies(*m)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lattice_implications() {
        assert!(Model::StrictSerializable.implies(Model::ReadUncommitted));
        assert!(Model::Serializable.implies(Model::SnapshotIsolation));
        assert!(!Model::SnapshotIsolation.implies(Model::RepeatableRead));
        assert!(!Model::ReadCommitted.implies(Model::Serializable));
    }

    #[test]
    fn write_skew_leaves_snapshot_isolation_as_strongest() {
        let verdicts = judge(&[AnomalyKind::G2Item]);
        assert_eq!(
            strongest_satisfied(&verdicts),
            vec![Model::SnapshotIsolation]
        );
        let verdicts = judge(&[AnomalyKind::GSingle]);
        assert_eq!(strongest_satisfied(&verdicts), vec![Model::ReadCommitted]);
        let verdicts = judge(&[]);
        assert_eq!(
            strongest_satisfied(&verdicts),
            vec![Model::StrictSerializable]
        );
        let verdicts = judge(&[AnomalyKind::GSingleRealtime]);
        assert_eq!(strongest_satisfied(&verdicts), vec![Model::Serializable]);
    }

    #[test]
    fn every_forbidden_kind_is_forbidden_by_every_stronger_model() {
        for kind in AnomalyKind::ALL {
            for weak in Model::ALL {
                for strong in Model::ALL {
                    if strong.implies(weak) && weak.forbids(kind) {
                        assert!(
                            strong.forbids(kind),
                            "{strong} must forbid {kind} since {weak} does"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn names_parse() {
        for m in Model::ALL {
            assert_eq!(Model::from_name(m.name()), Some(m));
        }
        assert_eq!(Model::from_name("SI"), Some(Model::SnapshotIsolation));
    }
}
