//! Consistency models: which anomalies each forbids, the lattice between them, and the
//! boundary (`not`, `also-not`) a set of anomalies draws through it — Elle's lattice.
//!
//! Three tables, as Elle publishes them (`elle.consistency-model`, after Adya, Bailis,
//! Cerone, Daudjee, Fekete and others), written out here as data:
//!
//! * [`IMPLIED`]: an anomaly implies others (G0 is also a G1c; G-single-item is also a
//!   G-single and a G-nonadjacent-item; a `-process` cycle is also a `-realtime` one;
//!   incompatible-order and dirty-update imply G1a; future-read implies G1c; lost-update
//!   implies G2-item). Some nodes name classes the checker never reports on their own (`G1`,
//!   `G1-process`, `GSIb`, `write-skew`...): they carry implications.
//! * [`Model::weaker`]: a model implies weaker ones (strict-serializable implies serializable,
//!   linearizable and strong snapshot isolation; serializable implies repeatable-read and
//!   snapshot-isolation; ...).
//! * [`Model::direct`]: what a model forbids over the models it implies (read-uncommitted:
//!   G0, duplicate-elements, cyclic-versions; read-committed: G1; snapshot-isolation:
//!   internal, G1, G-SI, G-nonadjacent; strict-serializable: G1c-realtime, G2-realtime; ...).
//!
//! A model forbids every anomaly that implies one it, or a model it implies, forbids
//! directly ([`Model::forbids`]). Given the anomalies found, the impossible models are those
//! forbidding one of their implied anomalies, and every model implying those; `not` is the
//! weakest of them, `also-not` the rest ([`boundary`]). jepsen-lite adds its own findings to
//! the tables: garbage-read beside duplicate-elements under read-uncommitted, each session
//! guarantee's violation under the model of that name, and nonlinearizable-register under
//! linearizable.
//!
//! ```text
//!   strict-serializable ──▶ serializable ──▶ repeatable-read ──▶ cursor-stability ─┐
//!          │   │                 │                                                 ▼
//!          │   └─▶ linearizable  └────────▶ snapshot-isolation ──▶ ... ──▶ read-committed
//!          └─▶ strong-snapshot-isolation ──▶ strong-read-committed ──────────▶   │
//!                                                                        read-uncommitted
//! ```

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde::Serialize;

use crate::anomaly::AnomalyKind;

/// Anomaly implications: `(a, [b...])` means an `a` is also each `b`.
pub const IMPLIED: &[(&str, &[&str])] = &[
    ("G0", &["G1c", "G0-process"]),
    ("G0-process", &["G1c-process", "G0-realtime"]),
    ("G0-realtime", &["G1c-realtime"]),
    ("G1a", &["G1"]),
    ("G1b", &["G1"]),
    ("G1c", &["G1", "G1c-process"]),
    ("G1c-process", &["G1c-realtime", "G1-process"]),
    ("G1c-realtime", &["G1-realtime"]),
    ("G1", &["G1-process"]),
    ("G1-process", &["G1-realtime"]),
    (
        "G-single-item",
        &["G-single", "G-single-item-process", "G-nonadjacent-item"],
    ),
    (
        "G-single-item-process",
        &[
            "G-single-process",
            "G-single-item-realtime",
            "G-nonadjacent-item-process",
        ],
    ),
    (
        "G-single-item-realtime",
        &["G-single-realtime", "G-nonadjacent-item-realtime"],
    ),
    ("G-single", &["G-nonadjacent", "GSIb", "G-single-process"]),
    (
        "G-single-process",
        &["G-nonadjacent-process", "G-single-realtime"],
    ),
    ("G-single-realtime", &["G-nonadjacent-realtime"]),
    (
        "G-nonadjacent-item",
        &["G-nonadjacent", "G2-item", "G-nonadjacent-item-process"],
    ),
    (
        "G-nonadjacent-item-process",
        &[
            "G-nonadjacent-process",
            "G2-item-process",
            "G-nonadjacent-item-realtime",
        ],
    ),
    (
        "G-nonadjacent-item-realtime",
        &["G2-item-realtime", "G-nonadjacent-realtime"],
    ),
    ("G-nonadjacent", &["G2", "G-nonadjacent-process"]),
    (
        "G-nonadjacent-process",
        &["G2-process", "G-nonadjacent-realtime"],
    ),
    ("G-nonadjacent-realtime", &["G2-realtime"]),
    ("G2", &["G2-process"]),
    ("G2-item", &["G2", "G2-item-process"]),
    ("G2-item-process", &["G2-process", "G2-item-realtime"]),
    ("G2-item-realtime", &["G2-realtime"]),
    ("G2-process", &["G2-realtime"]),
    ("GSIa", &["GSI"]),
    ("GSIb", &["GSI"]),
    ("incompatible-order", &["G1a"]),
    ("future-read", &["G1c"]),
    ("dirty-update", &["G1a"]),
    ("lost-update", &["write-skew", "G2-item"]),
    ("write-skew", &["G2"]),
];

/// Every anomaly `names` implies, themselves included.
pub fn implied_by<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<&'a str> {
    let mut out: BTreeSet<&str> = BTreeSet::new();
    let mut stack: Vec<&str> = names.into_iter().collect();
    while let Some(name) = stack.pop() {
        if out.insert(name) {
            for (from, to) in IMPLIED {
                if *from == name {
                    stack.extend(to.iter().copied());
                }
            }
        }
    }
    out
}

/// Every anomaly that implies one of `names`, themselves included.
pub fn implying<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<&'a str> {
    let mut out: BTreeSet<&str> = BTreeSet::new();
    let mut stack: Vec<&str> = names.into_iter().collect();
    while let Some(name) = stack.pop() {
        if out.insert(name) {
            for (from, to) in IMPLIED {
                if to.contains(&name) {
                    stack.push(from);
                }
            }
        }
    }
    out
}

/// Whether `name` is an anomaly Elle or jepsen-lite knows (for `--anomalies`).
pub fn known_anomaly(name: &str) -> bool {
    IMPLIED
        .iter()
        .any(|(from, to)| *from == name || to.contains(&name))
        || AnomalyKind::from_name(name).is_some()
        || Model::ALL.iter().any(|m| m.direct().contains(&name))
}

/// A consistency model, named as Elle names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[allow(missing_docs)]
pub enum Model {
    ReadUncommitted,
    ReadCommitted,
    CursorStability,
    MonotonicView,
    MonotonicSnapshotRead,
    ConsistentView,
    ForwardConsistentView,
    MonotonicAtomicView,
    ReadAtomic,
    CausalCerone,
    Prefix,
    UpdateAtomic,
    ParallelSnapshotIsolation,
    RepeatableRead,
    SnapshotIsolation,
    UpdateSerializable,
    ViewSerializable,
    Serializable,
    StrongSessionReadUncommitted,
    StrongSessionReadCommitted,
    StrongReadUncommitted,
    StrongReadCommitted,
    StrongSessionSnapshotIsolation,
    StrongSnapshotIsolation,
    StrongSessionSerializable,
    OneSr,
    SessionSerializable,
    StrictSerializable,
    ReadYourWrites,
    MonotonicReads,
    MonotonicWrites,
    WritesFollowReads,
    Pram,
    Causal,
    Sequential,
    Linearizable,
}

impl Model {
    /// Every model.
    pub const ALL: [Model; 36] = [
        Model::ReadUncommitted,
        Model::ReadCommitted,
        Model::CursorStability,
        Model::MonotonicView,
        Model::MonotonicSnapshotRead,
        Model::ConsistentView,
        Model::ForwardConsistentView,
        Model::MonotonicAtomicView,
        Model::ReadAtomic,
        Model::CausalCerone,
        Model::Prefix,
        Model::UpdateAtomic,
        Model::ParallelSnapshotIsolation,
        Model::RepeatableRead,
        Model::SnapshotIsolation,
        Model::UpdateSerializable,
        Model::ViewSerializable,
        Model::Serializable,
        Model::StrongSessionReadUncommitted,
        Model::StrongSessionReadCommitted,
        Model::StrongReadUncommitted,
        Model::StrongReadCommitted,
        Model::StrongSessionSnapshotIsolation,
        Model::StrongSnapshotIsolation,
        Model::StrongSessionSerializable,
        Model::OneSr,
        Model::SessionSerializable,
        Model::StrictSerializable,
        Model::ReadYourWrites,
        Model::MonotonicReads,
        Model::MonotonicWrites,
        Model::WritesFollowReads,
        Model::Pram,
        Model::Causal,
        Model::Sequential,
        Model::Linearizable,
    ];

    /// The models a text report lists: the SQL levels, Adya's and the session guarantees.
    pub const SHOWN: [Model; 12] = [
        Model::ReadUncommitted,
        Model::ReadCommitted,
        Model::RepeatableRead,
        Model::SnapshotIsolation,
        Model::Serializable,
        Model::StrongSnapshotIsolation,
        Model::StrictSerializable,
        Model::ReadYourWrites,
        Model::MonotonicReads,
        Model::MonotonicWrites,
        Model::WritesFollowReads,
        Model::Linearizable,
    ];

    /// The model's name (Elle's friendly name; `strict-serializable` for PL-SS).
    pub fn name(self) -> &'static str {
        match self {
            Model::ReadUncommitted => "read-uncommitted",
            Model::ReadCommitted => "read-committed",
            Model::CursorStability => "cursor-stability",
            Model::MonotonicView => "monotonic-view",
            Model::MonotonicSnapshotRead => "monotonic-snapshot-read",
            Model::ConsistentView => "consistent-view",
            Model::ForwardConsistentView => "forward-consistent-view",
            Model::MonotonicAtomicView => "monotonic-atomic-view",
            Model::ReadAtomic => "read-atomic",
            Model::CausalCerone => "causal-cerone",
            Model::Prefix => "prefix",
            Model::UpdateAtomic => "update-atomic",
            Model::ParallelSnapshotIsolation => "parallel-snapshot-isolation",
            Model::RepeatableRead => "repeatable-read",
            Model::SnapshotIsolation => "snapshot-isolation",
            Model::UpdateSerializable => "update-serializable",
            Model::ViewSerializable => "view-serializable",
            Model::Serializable => "serializable",
            Model::StrongSessionReadUncommitted => "strong-session-read-uncommitted",
            Model::StrongSessionReadCommitted => "strong-session-read-committed",
            Model::StrongReadUncommitted => "strong-read-uncommitted",
            Model::StrongReadCommitted => "strong-read-committed",
            Model::StrongSessionSnapshotIsolation => "strong-session-snapshot-isolation",
            Model::StrongSnapshotIsolation => "strong-snapshot-isolation",
            Model::StrongSessionSerializable => "strong-session-serializable",
            Model::OneSr => "1SR",
            Model::SessionSerializable => "session-serializable",
            Model::StrictSerializable => "strict-serializable",
            Model::ReadYourWrites => "read-your-writes",
            Model::MonotonicReads => "monotonic-reads",
            Model::MonotonicWrites => "monotonic-writes",
            Model::WritesFollowReads => "writes-follow-reads",
            Model::Pram => "PRAM",
            Model::Causal => "causal",
            Model::Sequential => "sequential",
            Model::Linearizable => "linearizable",
        }
    }

    /// The name Elle prints in `not` / `also-not` (it calls PL-SS `strong-serializable`).
    pub fn elle_name(self) -> &'static str {
        match self {
            Model::StrictSerializable => "strong-serializable",
            other => other.name(),
        }
    }

    /// Parses a name: Elle's friendly names, its canonical ones (`PL-2`, `PL-SI`, ...) and
    /// aliases (`strong-serializable`, `conflict-serializable`, `rc`, `si`, `strict`, ...).
    pub fn from_name(name: &str) -> Option<Model> {
        let lower = name.trim().trim_start_matches(':').to_ascii_lowercase();
        let alias = match lower.as_str() {
            "ru" | "pl-1" => Some(Model::ReadUncommitted),
            "rc" | "pl-2" => Some(Model::ReadCommitted),
            "rr" | "pl-2.99" => Some(Model::RepeatableRead),
            "si" | "snapshot" | "pl-si" => Some(Model::SnapshotIsolation),
            "pl-cs" => Some(Model::CursorStability),
            "pl-2l" => Some(Model::MonotonicView),
            "pl-msr" => Some(Model::MonotonicSnapshotRead),
            "pl-2+" => Some(Model::ConsistentView),
            "pl-fcv" => Some(Model::ForwardConsistentView),
            "pl-3u" => Some(Model::UpdateSerializable),
            "serializability" | "conflict-serializable" | "pl-3" => Some(Model::Serializable),
            "strict" | "strict-serializability" | "strong-serializable" | "pl-ss" => {
                Some(Model::StrictSerializable)
            }
            "strong-session-pl-1" => Some(Model::StrongSessionReadUncommitted),
            "strong-session-pl-2" => Some(Model::StrongSessionReadCommitted),
            "strong-pl-1" => Some(Model::StrongReadUncommitted),
            "strong-pl-2" => Some(Model::StrongReadCommitted),
            "1sr" => Some(Model::OneSr),
            "pram" => Some(Model::Pram),
            _ => None,
        };
        alias.or_else(|| Self::ALL.into_iter().find(|m| m.name() == lower))
    }

    /// The models this one implies directly (Elle's model graph).
    pub fn weaker(self) -> &'static [Model] {
        use Model as M;
        match self {
            M::ReadCommitted => &[M::ReadUncommitted],
            M::CursorStability => &[M::ReadCommitted],
            M::MonotonicView => &[M::ReadCommitted],
            M::MonotonicSnapshotRead => &[M::ReadCommitted],
            M::ConsistentView => &[M::CursorStability, M::MonotonicView],
            M::ForwardConsistentView => &[M::ConsistentView],
            M::MonotonicAtomicView => &[M::ReadCommitted],
            M::ReadAtomic => &[M::MonotonicAtomicView],
            M::CausalCerone => &[M::ReadAtomic],
            M::Prefix => &[M::CausalCerone],
            M::UpdateAtomic => &[M::ReadAtomic],
            M::ParallelSnapshotIsolation => &[M::CausalCerone, M::UpdateAtomic],
            M::RepeatableRead => &[M::CursorStability, M::MonotonicAtomicView],
            M::SnapshotIsolation => &[
                M::ForwardConsistentView,
                M::MonotonicAtomicView,
                M::MonotonicSnapshotRead,
                M::ParallelSnapshotIsolation,
                M::Prefix,
            ],
            M::UpdateSerializable => &[M::ForwardConsistentView],
            M::Serializable => &[
                M::RepeatableRead,
                M::UpdateSerializable,
                M::SnapshotIsolation,
                M::ViewSerializable,
            ],
            M::StrongSessionReadUncommitted => &[M::ReadUncommitted],
            M::StrongSessionReadCommitted => &[M::ReadCommitted, M::StrongSessionReadUncommitted],
            M::StrongReadUncommitted => &[M::StrongSessionReadUncommitted],
            M::StrongReadCommitted => &[M::StrongSessionReadCommitted, M::StrongReadUncommitted],
            M::StrongSessionSnapshotIsolation => {
                &[M::SnapshotIsolation, M::StrongSessionReadCommitted]
            }
            M::StrongSnapshotIsolation => {
                &[M::StrongSessionSnapshotIsolation, M::StrongReadCommitted]
            }
            M::StrongSessionSerializable => &[M::Serializable, M::StrongSessionSnapshotIsolation],
            M::SessionSerializable => &[M::OneSr],
            M::StrictSerializable => &[
                M::Serializable,
                M::Linearizable,
                M::SnapshotIsolation,
                M::StrongSnapshotIsolation,
                M::StrongSessionSerializable,
                M::SessionSerializable,
            ],
            M::Pram => &[M::MonotonicReads, M::MonotonicWrites, M::ReadYourWrites],
            M::Causal => &[M::WritesFollowReads, M::Pram],
            M::Sequential => &[M::Causal],
            M::Linearizable => &[M::Sequential],
            M::ReadUncommitted
            | M::ViewSerializable
            | M::OneSr
            | M::ReadYourWrites
            | M::MonotonicReads
            | M::MonotonicWrites
            | M::WritesFollowReads => &[],
        }
    }

    /// The anomalies this model forbids directly, over the models it implies.
    pub fn direct(self) -> &'static [&'static str] {
        use Model as M;
        match self {
            M::ReadUncommitted => &[
                "G0",
                "duplicate-elements",
                "cyclic-versions",
                "garbage-read",
            ],
            M::ReadCommitted => &["G1"],
            M::CursorStability => &["G1", "G-cursor", "lost-update"],
            M::MonotonicView => &["G1", "G-monotonic"],
            M::MonotonicSnapshotRead => &["G1", "G-MSR"],
            M::ConsistentView => &["G1", "G-single"],
            M::ForwardConsistentView => &["G1", "G-SIb"],
            M::ParallelSnapshotIsolation | M::CausalCerone | M::Prefix => &["internal", "G1a"],
            M::ReadAtomic => &["internal", "G1a", "future-read"],
            M::UpdateAtomic => &["lost-update"],
            M::RepeatableRead => &["G1", "G2-item", "lost-update"],
            M::SnapshotIsolation => &["internal", "G1", "G-SI", "G-nonadjacent"],
            M::UpdateSerializable => &["G1", "G-update"],
            M::Serializable => &["G1", "G2", "predicate-read-miss", "internal"],
            M::StrongSessionReadUncommitted => &["G0-process"],
            M::StrongSessionReadCommitted => &["G1c-process"],
            M::StrongReadUncommitted => &["G0-realtime"],
            M::StrongReadCommitted => &["G1c-realtime"],
            M::StrongSessionSnapshotIsolation => {
                &["internal", "G1-process", "G-nonadjacent-process"]
            }
            M::StrongSnapshotIsolation => &["internal", "G1-realtime", "G-nonadjacent-realtime"],
            M::StrongSessionSerializable => &["G1-process", "G2-process"],
            M::StrictSerializable => &["G1", "G1c-realtime", "G2-realtime"],
            M::ReadYourWrites => &["read-your-writes"],
            M::MonotonicReads => &["monotonic-reads"],
            M::MonotonicWrites => &["monotonic-writes"],
            M::WritesFollowReads => &["writes-follow-reads"],
            M::Linearizable => &["nonlinearizable-register"],
            M::ViewSerializable | M::OneSr | M::SessionSerializable | M::Pram | M::Causal => &[],
            M::Sequential | M::MonotonicAtomicView => &[],
        }
    }

    /// Whether the model belongs to the transactional lattice (not a single-object or
    /// session model).
    pub fn transactional(self) -> bool {
        !matches!(
            self,
            Model::ReadYourWrites
                | Model::MonotonicReads
                | Model::MonotonicWrites
                | Model::WritesFollowReads
                | Model::Pram
                | Model::Causal
                | Model::Sequential
                | Model::Linearizable
        )
    }

    /// Whether `self` implies `other` (reflexive, transitive over [`Self::weaker`]).
    pub fn implies(self, other: Model) -> bool {
        self == other || self.weaker().iter().any(|w| w.implies(other))
    }

    /// Every anomaly (name) the model forbids: those implying what it or a model it implies
    /// forbids directly.
    pub fn prohibited(self) -> &'static BTreeSet<&'static str> {
        static TABLE: OnceLock<Vec<BTreeSet<&'static str>>> = OnceLock::new();
        let table = TABLE.get_or_init(|| {
            Model::ALL
                .iter()
                .map(|m| {
                    implying(
                        Model::ALL
                            .iter()
                            .filter(|w| m.implies(**w))
                            .flat_map(|w| w.direct().iter().copied()),
                    )
                })
                .collect()
        });
        &table[self as usize]
    }

    /// Whether the model forbids an anomaly of `kind`.
    pub fn forbids(self, kind: AnomalyKind) -> bool {
        self.prohibited().contains(kind.name())
    }
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The anomaly names that break at least one of `models`, or that imply one of `anomalies`
/// (Elle's `prohibited-anomaly-types`).
pub fn prohibited<'a>(models: &[Model], anomalies: &'a [String]) -> BTreeSet<&'a str> {
    let mut out: BTreeSet<&str> = implying(anomalies.iter().map(String::as_str));
    for model in models {
        out.extend(model.prohibited().iter().copied());
    }
    out
}

/// The models `found` rules out: `not`, the weakest of them, and `also-not`, the others.
pub fn boundary<'a>(found: impl IntoIterator<Item = &'a str>) -> (Vec<Model>, Vec<Model>) {
    let implied = implied_by(found);
    let impossible: Vec<Model> = Model::ALL
        .into_iter()
        .filter(|m| {
            Model::ALL
                .iter()
                .any(|w| m.implies(*w) && w.direct().iter().any(|a| implied.contains(a)))
        })
        .collect();
    let weakest: Vec<Model> = impossible
        .iter()
        .copied()
        .filter(|m| !impossible.iter().any(|o| o != m && m.implies(*o)))
        .collect();
    let others: Vec<Model> = impossible
        .into_iter()
        .filter(|m| !weakest.contains(m))
        .collect();
    (weakest, others)
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

/// The strongest of the models shown ([`Model::SHOWN`]) in the transactional lattice that
/// hold: satisfied models no stronger satisfied model implies.
pub fn strongest_satisfied(verdicts: &[ModelVerdict]) -> Vec<Model> {
    let holds: Vec<Model> = verdicts
        .iter()
        .filter(|v| v.satisfied && v.model.transactional() && Model::SHOWN.contains(&v.model))
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

    fn names(models: &[Model]) -> Vec<&'static str> {
        let mut v: Vec<&str> = models.iter().map(|m| m.elle_name()).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn lattice_implications() {
        assert!(Model::StrictSerializable.implies(Model::ReadUncommitted));
        assert!(Model::Serializable.implies(Model::SnapshotIsolation));
        assert!(!Model::SnapshotIsolation.implies(Model::RepeatableRead));
        assert!(!Model::ReadCommitted.implies(Model::Serializable));
        assert!(Model::StrictSerializable.implies(Model::MonotonicReads));
    }

    #[test]
    fn read_committed_forbids_what_elle_says() {
        // Elle's consistency_model_test: anomalies-prohibited-by [:read-committed].
        let mut expected = vec![
            "dirty-update",
            "G1a",
            "G1b",
            "G1c",
            "G1",
            "G0",
            "cyclic-versions",
            "duplicate-elements",
            "incompatible-order",
            "future-read",
            "garbage-read",
        ];
        expected.sort_unstable();
        let got: Vec<&str> = Model::ReadCommitted.prohibited().iter().copied().collect();
        assert_eq!(got, expected);
        assert!(!Model::ReadCommitted.forbids(AnomalyKind::Internal));
        assert!(!Model::ReadUncommitted.forbids(AnomalyKind::IncompatibleOrder));
        assert!(Model::SnapshotIsolation.forbids(AnomalyKind::LostUpdate));
        assert!(Model::SnapshotIsolation.forbids(AnomalyKind::GNonadjacentItem));
        assert!(!Model::SnapshotIsolation.forbids(AnomalyKind::G2Item));
        assert!(!Model::RepeatableRead.forbids(AnomalyKind::G2));
        assert!(Model::StrictSerializable.forbids(AnomalyKind::G0Process));
        assert!(!Model::Serializable.forbids(AnomalyKind::GSingleItemRealtime));
    }

    #[test]
    fn boundaries_match_elles() {
        // Elle's friendly-boundary-test and elle-cli's expected results.
        let (not, also) = boundary(["G-single-item"]);
        assert_eq!(names(&not), ["consistent-view", "repeatable-read"]);
        assert_eq!(
            names(&also),
            [
                "forward-consistent-view",
                "serializable",
                "snapshot-isolation",
                "strong-serializable",
                "strong-session-serializable",
                "strong-session-snapshot-isolation",
                "strong-snapshot-isolation",
                "update-serializable"
            ]
        );
        let (not, also) = boundary(["G-single-realtime"]);
        assert_eq!(names(&not), ["strong-snapshot-isolation"]);
        assert_eq!(names(&also), ["strong-serializable"]);
        let (not, _) = boundary(["internal"]);
        assert_eq!(names(&not), ["read-atomic"]);
        let (not, _) = boundary(["lost-update"]);
        assert_eq!(names(&not), ["cursor-stability", "update-atomic"]);
        let (not, also) = boundary(["duplicate-elements"]);
        assert_eq!(names(&not), ["read-uncommitted"]);
        assert_eq!(also.len(), 24);
        let (not, also) = boundary(["G1a", "dirty-update"]);
        assert_eq!(names(&not), ["read-committed"]);
        assert_eq!(also.len(), 21);
        assert_eq!(boundary([]), (vec![], vec![]));
    }

    #[test]
    fn every_forbidden_kind_is_forbidden_by_every_stronger_model() {
        for kind in AnomalyKind::all() {
            for weak in Model::ALL {
                for strong in Model::ALL {
                    if strong.implies(weak) && weak.forbids(kind) {
                        assert!(strong.forbids(kind), "{strong} must forbid {kind}");
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
        assert_eq!(
            Model::from_name("strong-serializable"),
            Some(Model::StrictSerializable)
        );
        assert_eq!(Model::from_name("PL-2"), Some(Model::ReadCommitted));
    }

    #[test]
    fn write_skew_leaves_strong_snapshot_isolation_as_strongest() {
        let verdicts = judge(&[AnomalyKind::G2Item]);
        assert_eq!(
            strongest_satisfied(&verdicts),
            vec![Model::StrongSnapshotIsolation],
            "write skew is allowed by snapshot isolation, real-time-ordered or not"
        );
        let verdicts = judge(&[AnomalyKind::GSingleItem]);
        assert_eq!(strongest_satisfied(&verdicts), vec![Model::ReadCommitted]);
        assert_eq!(
            strongest_satisfied(&judge(&[])),
            vec![Model::StrictSerializable]
        );
        let verdicts = judge(&[AnomalyKind::GSingleItemRealtime]);
        assert_eq!(strongest_satisfied(&verdicts), vec![Model::Serializable]);
    }
}
