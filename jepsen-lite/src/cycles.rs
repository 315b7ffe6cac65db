//! Shortest cycles of a given shape inside strongly connected components.
//!
//! Every cycle anomaly is a [`Spec`]: which edge kinds it may use, which count as
//! anti-dependencies and how many of those it needs (none, exactly one, two or more never
//! adjacent, at least one), and which kinds must appear (a write-read for G1c, a predicate
//! anti-dependency for G-single / G-nonadjacent / G2, a process-order or real-time edge for
//! the `-process` and `-realtime` variants). A search picks a first edge of the shape's most
//! selective kind (`u → v`), then runs a breadth-first search from `v` back to `u` over states
//!
//! ```text
//! (node, anti-dependencies so far: 0 / 1 / 2+, last edge an anti-dependency?, required kinds seen)
//! ```
//!
//! so the path found is the shortest that completes a cycle of the shape; several first
//! edges are tried and the shortest cycle kept (a 2-cycle ends the search at once).
//!
//! [`search`] runs every shape over a graph: it splits the graph into strongly connected
//! components over all its edges, and in each component tries the shapes in Elle's order of
//! severity, skipping a shape that a shape already found there implies (a component with a
//! G0 is not searched for G1c: a G0 is a G1c). Each search is restricted to the component's
//! members, renumbered densely, and to the sub-components over the shape's edge kinds. Work
//! is bounded per shape and component by a budget of visited states; a shape whose search
//! ran out of budget without a cycle is reported as incomplete (Elle's
//! `cycle-search-timeout`), so a verdict never rests on a search that gave up.

use std::collections::VecDeque;

use crate::anomaly::{AnomalyKind, CycleBase, Via};
use crate::graph::{DependencyGraph, EdgeKinds, GraphBuilder};
use crate::scc::strongly_connected;

/// One step of a cycle: `from → to` by the relation `kind` (a single relation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CycleEdge {
    /// Source transaction.
    pub from: u32,
    /// Target transaction.
    pub to: u32,
    /// The relation used on this step.
    pub kind: EdgeKinds,
}

/// How many anti-dependencies a cycle shape has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AntiCount {
    /// None.
    Zero,
    /// Exactly one.
    One,
    /// Two or more, no two adjacent (around the cycle).
    TwoNonadjacent,
    /// One or more, any arrangement.
    AtLeastOne,
}

/// A cycle shape to search for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The anomaly a cycle of this shape is.
    pub kind: AnomalyKind,
    /// Kinds the first edge is chosen from (every cycle of the shape has one).
    pub first: EdgeKinds,
    /// Kinds allowed besides anti-dependencies.
    pub plain: EdgeKinds,
    /// Kinds that count as anti-dependencies.
    pub anti: EdgeKinds,
    /// How many anti-dependencies.
    pub count: AntiCount,
    /// Kinds that must each appear at least once (`NONE` when unused).
    pub required: [EdgeKinds; 2],
}

impl Spec {
    /// The shape of `base` through `via`.
    pub fn of(base: CycleBase, via: Via) -> Spec {
        let item = EdgeKinds::RW;
        let predicate = EdgeKinds::RW.union(EdgeKinds::PRW);
        let (first, plain, anti, count, base_required) = match base {
            CycleBase::G0 => (
                EdgeKinds::WW,
                EdgeKinds::WW,
                EdgeKinds::NONE,
                AntiCount::Zero,
                EdgeKinds::NONE,
            ),
            CycleBase::G1c => (
                EdgeKinds::WR,
                EdgeKinds::WRITES_AND_READS,
                EdgeKinds::NONE,
                AntiCount::Zero,
                EdgeKinds::WR,
            ),
            CycleBase::GSingleItem => (
                item,
                EdgeKinds::WRITES_AND_READS,
                item,
                AntiCount::One,
                EdgeKinds::NONE,
            ),
            CycleBase::GSingle => (
                EdgeKinds::PRW,
                EdgeKinds::WRITES_AND_READS,
                predicate,
                AntiCount::One,
                EdgeKinds::PRW,
            ),
            CycleBase::GNonadjacentItem => (
                item,
                EdgeKinds::WRITES_AND_READS,
                item,
                AntiCount::TwoNonadjacent,
                EdgeKinds::NONE,
            ),
            CycleBase::GNonadjacent => (
                EdgeKinds::PRW,
                EdgeKinds::WRITES_AND_READS,
                predicate,
                AntiCount::TwoNonadjacent,
                EdgeKinds::PRW,
            ),
            CycleBase::G2Item => (
                item,
                EdgeKinds::WRITES_AND_READS,
                item,
                AntiCount::AtLeastOne,
                EdgeKinds::NONE,
            ),
            CycleBase::G2 => (
                EdgeKinds::PRW,
                EdgeKinds::WRITES_AND_READS,
                predicate,
                AntiCount::AtLeastOne,
                EdgeKinds::PRW,
            ),
        };
        let (plain, order) = match via {
            Via::Data => (plain, EdgeKinds::NONE),
            Via::Process => (plain.union(EdgeKinds::PO), EdgeKinds::PO),
            Via::Realtime => (
                plain.union(EdgeKinds::RT).union(EdgeKinds::PO),
                EdgeKinds::RT,
            ),
        };
        Spec {
            kind: AnomalyKind::Cycle(base, via),
            first,
            plain,
            anti,
            count,
            required: [base_required, order],
        }
    }

    /// Every kind the shape may use.
    pub fn allowed(&self) -> EdgeKinds {
        self.plain.union(self.anti)
    }

    fn required_mask(&self, kind: EdgeKinds) -> u8 {
        u8::from(self.required[0] != EdgeKinds::NONE && kind.intersects(self.required[0]))
            | (u8::from(self.required[1] != EdgeKinds::NONE && kind.intersects(self.required[1]))
                << 1)
    }

    fn full_mask(&self) -> u8 {
        u8::from(self.required[0] != EdgeKinds::NONE)
            | (u8::from(self.required[1] != EdgeKinds::NONE) << 1)
    }
}

/// Every cycle shape, in Elle's order of severity: data cycles, then `-process`, then
/// `-realtime`, each from G0 to G2.
pub fn all_specs() -> Vec<Spec> {
    [Via::Data, Via::Process, Via::Realtime]
        .into_iter()
        .flat_map(|via| CycleBase::ALL.into_iter().map(move |b| Spec::of(b, via)))
        .collect()
}

/// Names a cycle by its edges, as Elle does: the anti-dependencies decide the shape
/// (`-item` unless a predicate one is involved), a real-time step makes it `-realtime`,
/// else a process-order step `-process`.
pub fn classify(cycle: &[CycleEdge]) -> AnomalyKind {
    let count = |k: EdgeKinds| cycle.iter().filter(|e| e.kind.intersects(k)).count();
    let anti_kinds = EdgeKinds::RW.union(EdgeKinds::PRW);
    let anti = count(anti_kinds);
    let predicate = count(EdgeKinds::PRW) > 0;
    let n = cycle.len();
    let adjacent = (0..n).any(|i| {
        cycle[i].kind.intersects(anti_kinds) && cycle[(i + 1) % n].kind.intersects(anti_kinds)
    });
    let base = match anti {
        0 if count(EdgeKinds::WR) > 0 => CycleBase::G1c,
        0 => CycleBase::G0,
        1 if predicate => CycleBase::GSingle,
        1 => CycleBase::GSingleItem,
        _ => match (adjacent, predicate) {
            (true, true) => CycleBase::G2,
            (true, false) => CycleBase::G2Item,
            (false, true) => CycleBase::GNonadjacent,
            (false, false) => CycleBase::GNonadjacentItem,
        },
    };
    let via = if count(EdgeKinds::RT) > 0 {
        Via::Realtime
    } else if count(EdgeKinds::PO) > 0 {
        Via::Process
    } else {
        Via::Data
    };
    AnomalyKind::Cycle(base, via)
}

/// What a search found.
#[derive(Debug, Default)]
pub struct Found {
    /// Each cycle, with its kind.
    pub cycles: Vec<(AnomalyKind, Vec<CycleEdge>)>,
    /// Shapes whose search ran out of budget in a component, with the component's size.
    pub incomplete: Vec<(AnomalyKind, usize)>,
}

/// Searches `graph` for every shape in `specs` (in that order), one cycle per shape and
/// strongly connected component; `skip(found, spec)` says whether a shape is implied by the
/// kinds already found in the component. `budget` bounds the states visited per shape and
/// component.
pub fn search(
    graph: &DependencyGraph,
    specs: &[Spec],
    skip: &dyn Fn(&[AnomalyKind], AnomalyKind) -> bool,
    budget: usize,
) -> Found {
    let everything = specs
        .iter()
        .fold(EdgeKinds::NONE, |acc, s| acc.union(s.allowed()));
    let components = strongly_connected(graph, everything);
    let mut found = Found::default();
    let mut local_of = vec![u32::MAX; graph.node_count()];
    for members in &components.members {
        if members.len() < 2 {
            continue;
        }
        let local = Local::new(graph, members, &mut local_of, everything);
        let mut here: Vec<AnomalyKind> = Vec::new();
        for spec in specs {
            if skip(&here, spec.kind) {
                continue;
            }
            match local.shortest(spec, budget) {
                Outcome::Found(cycle) => {
                    here.push(spec.kind);
                    found.cycles.push((spec.kind, cycle));
                }
                Outcome::OutOfBudget => found.incomplete.push((spec.kind, members.len())),
                Outcome::None => {}
            }
        }
        for &m in members {
            local_of[m as usize] = u32::MAX;
        }
    }
    found
}

enum Outcome {
    Found(Vec<CycleEdge>),
    OutOfBudget,
    None,
}

/// One component, renumbered `0..n`, with its internal edges.
struct Local<'m> {
    members: &'m [u32],
    graph: DependencyGraph,
}

const STATES: usize = 24;

fn state(node: u32, anti: u8, last_anti: bool, req: u8) -> usize {
    node as usize * STATES + usize::from(anti) * 8 + usize::from(last_anti) * 4 + usize::from(req)
}

fn unpack(s: usize) -> (u32, u8, bool, u8) {
    let node = (s / STATES) as u32;
    let rest = s % STATES;
    (node, (rest / 8) as u8, (rest % 8) >= 4, (rest % 4) as u8)
}

impl<'m> Local<'m> {
    fn new(
        graph: &DependencyGraph,
        members: &'m [u32],
        local_of: &mut [u32],
        kinds: EdgeKinds,
    ) -> Local<'m> {
        for (i, &m) in members.iter().enumerate() {
            local_of[m as usize] = i as u32;
        }
        let mut builder = GraphBuilder::new(members.len());
        for (i, &m) in members.iter().enumerate() {
            for (to, edge) in graph.out_edges(m) {
                let j = local_of[to as usize];
                let edge = edge.intersection(kinds);
                if j != u32::MAX && edge != EdgeKinds::NONE {
                    crate::graph::EdgeSink::edge(&mut builder, i as u32, j, edge, &String::new);
                }
            }
        }
        Local {
            members,
            graph: builder.finish(),
        }
    }

    /// The shortest cycle of `spec` in this component.
    fn shortest(&self, spec: &Spec, budget: usize) -> Outcome {
        let parts = strongly_connected(&self.graph, spec.allowed());
        let n = self.graph.node_count();
        let mut stamp = vec![0u32; n * STATES];
        let mut parent = vec![(0u32, EdgeKinds::NONE); n * STATES];
        let mut generation = 0u32;
        let mut queue: VecDeque<usize> = VecDeque::new();
        let mut best: Option<Vec<CycleEdge>> = None;
        let mut spent = 0usize;
        for u in 0..n as u32 {
            let Some(&c) = parts.component_of.get(u as usize) else {
                continue;
            };
            if parts.members.get(c as usize).is_none_or(|m| m.len() < 2) {
                continue;
            }
            for (v, kinds) in self.graph.out_edges(u) {
                if parts.component_of.get(v as usize) != Some(&c) {
                    continue;
                }
                for first in single_kinds(kinds.intersection(spec.first)) {
                    generation += 1;
                    let path = self.bfs(
                        spec,
                        (u, v, first),
                        (&parts.component_of, c),
                        (&mut stamp, &mut parent, generation, &mut queue),
                        (&mut spent, budget),
                    );
                    if let Some(path) = path
                        && best.as_ref().is_none_or(|b| path.len() + 1 < b.len())
                    {
                        let mut cycle = vec![CycleEdge {
                            from: self.members[u as usize],
                            to: self.members[v as usize],
                            kind: first,
                        }];
                        cycle.extend(path.into_iter().map(|e| CycleEdge {
                            from: self.members[e.from as usize],
                            to: self.members[e.to as usize],
                            kind: e.kind,
                        }));
                        if classify(&cycle) == spec.kind {
                            best = Some(cycle);
                        }
                    }
                    if best.as_ref().is_some_and(|b| b.len() <= 2) {
                        return best.map_or(Outcome::None, Outcome::Found);
                    }
                    if spent >= budget {
                        return best.map_or(Outcome::OutOfBudget, Outcome::Found);
                    }
                }
            }
        }
        best.map_or(Outcome::None, Outcome::Found)
    }

    /// Shortest path `v → u` completing a cycle of `spec` whose first edge is `u → v` by
    /// `first`; local numbering.
    #[allow(clippy::type_complexity)]
    fn bfs(
        &self,
        spec: &Spec,
        (u, v, first): (u32, u32, EdgeKinds),
        (component_of, c): (&[u32], u32),
        (stamp, parent, generation, queue): (
            &mut [u32],
            &mut [(u32, EdgeKinds)],
            u32,
            &mut VecDeque<usize>,
        ),
        (spent, budget): (&mut usize, usize),
    ) -> Option<Vec<CycleEdge>> {
        let first_anti = first.intersects(spec.anti);
        let start = state(
            v,
            u8::from(first_anti),
            first_anti,
            spec.required_mask(first),
        );
        let full = spec.full_mask();
        queue.clear();
        stamp[start] = generation;
        queue.push_back(start);
        while let Some(s) = queue.pop_front() {
            if *spent >= budget {
                return None;
            }
            *spent += 1;
            let (node, anti, last_anti, req) = unpack(s);
            if node == u {
                let count_ok = match spec.count {
                    AntiCount::Zero => anti == 0,
                    AntiCount::One => anti == 1,
                    AntiCount::TwoNonadjacent => anti == 2 && !(last_anti && first_anti),
                    AntiCount::AtLeastOne => anti >= 1,
                };
                if count_ok && req == full {
                    let mut path = Vec::new();
                    let mut at = s;
                    while at != start {
                        let (prev, kind) = parent[at];
                        path.push(CycleEdge {
                            from: unpack(prev as usize).0,
                            to: unpack(at).0,
                            kind,
                        });
                        at = prev as usize;
                    }
                    path.reverse();
                    return Some(path);
                }
                continue;
            }
            for (next, kinds) in self.graph.out_edges(node) {
                if component_of.get(next as usize) != Some(&c) {
                    continue;
                }
                for kind in single_kinds(kinds.intersection(spec.allowed())) {
                    let is_anti = kind.intersects(spec.anti);
                    let anti2 = if is_anti {
                        match spec.count {
                            AntiCount::Zero => continue,
                            AntiCount::One if anti >= 1 => continue,
                            AntiCount::TwoNonadjacent if last_anti => continue,
                            _ => (anti + 1).min(2),
                        }
                    } else {
                        anti
                    };
                    let to = state(next, anti2, is_anti, req | spec.required_mask(kind));
                    if stamp[to] != generation {
                        stamp[to] = generation;
                        parent[to] = (s as u32, kind);
                        queue.push_back(to);
                    }
                }
            }
        }
        None
    }
}

/// The single relations in a set, most informative first.
fn single_kinds(kinds: EdgeKinds) -> impl Iterator<Item = EdgeKinds> {
    [
        EdgeKinds::WW,
        EdgeKinds::WR,
        EdgeKinds::RW,
        EdgeKinds::PRW,
        EdgeKinds::PO,
        EdgeKinds::RT,
    ]
    .into_iter()
    .filter(move |k| kinds.intersects(*k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: usize, edges: &[(u32, u32, EdgeKinds)]) -> DependencyGraph {
        GraphBuilder::from_edges(n, edges)
    }

    fn kinds(found: &Found) -> Vec<AnomalyKind> {
        found.cycles.iter().map(|(k, _)| *k).collect()
    }

    fn no_skip(_: &[AnomalyKind], _: AnomalyKind) -> bool {
        false
    }

    #[test]
    fn finds_the_shortest_cycle_of_each_shape() {
        // 0 →ww 1 →ww 2 →ww 3 →ww 0 and a shortcut 1 →wr 0.
        let g = graph(
            4,
            &[
                (0, 1, EdgeKinds::WW),
                (1, 2, EdgeKinds::WW),
                (2, 3, EdgeKinds::WW),
                (3, 0, EdgeKinds::WW),
                (1, 0, EdgeKinds::WR),
            ],
        );
        let found = search(&g, &all_specs(), &no_skip, 1_000_000);
        let g0 = &found
            .cycles
            .iter()
            .find(|(k, _)| *k == AnomalyKind::G0)
            .expect("G0")
            .1;
        assert_eq!(g0.len(), 4);
        let g1c = &found
            .cycles
            .iter()
            .find(|(k, _)| *k == AnomalyKind::G1c)
            .expect("G1c")
            .1;
        assert_eq!(g1c.len(), 2);
        assert_eq!(classify(g1c), AnomalyKind::G1c);
    }

    #[test]
    fn nonadjacent_requires_separated_anti_dependencies() {
        let adjacent = graph(2, &[(0, 1, EdgeKinds::RW), (1, 0, EdgeKinds::RW)]);
        let found = search(&adjacent, &all_specs(), &no_skip, 1_000_000);
        assert_eq!(kinds(&found), vec![AnomalyKind::G2Item]);
        let separated = graph(
            4,
            &[
                (0, 1, EdgeKinds::RW),
                (1, 2, EdgeKinds::WR),
                (2, 3, EdgeKinds::RW),
                (3, 0, EdgeKinds::WR),
            ],
        );
        let found = search(&separated, &all_specs(), &no_skip, 1_000_000);
        assert!(kinds(&found).contains(&AnomalyKind::GNonadjacentItem));
        assert!(!kinds(&found).contains(&AnomalyKind::GSingleItem));
    }

    #[test]
    fn order_edges_make_process_and_realtime_variants() {
        // 0 →rw 1 →po 0: G-single-item-process; the same with rt: -realtime.
        for (order, kind) in [
            (EdgeKinds::PO, AnomalyKind::GSingleItemProcess),
            (EdgeKinds::RT, AnomalyKind::GSingleItemRealtime),
        ] {
            let g = graph(2, &[(0, 1, EdgeKinds::RW), (1, 0, order)]);
            let found = search(&g, &all_specs(), &no_skip, 1_000_000);
            assert_eq!(kinds(&found), vec![kind]);
        }
        // A predicate anti-dependency and a write-read: G-single, not G-single-item.
        let g = graph(2, &[(0, 1, EdgeKinds::PRW), (1, 0, EdgeKinds::WR)]);
        let found = search(&g, &all_specs(), &no_skip, 1_000_000);
        assert_eq!(kinds(&found), vec![AnomalyKind::GSingle]);
    }

    #[test]
    fn an_exhausted_budget_is_reported_not_hidden() {
        let g = graph(
            3,
            &[
                (0, 1, EdgeKinds::WW),
                (1, 2, EdgeKinds::WW),
                (2, 0, EdgeKinds::WW),
            ],
        );
        let found = search(&g, &[Spec::of(CycleBase::G0, Via::Data)], &no_skip, 1);
        assert!(found.cycles.is_empty());
        assert_eq!(found.incomplete, vec![(AnomalyKind::G0, 3)]);
    }
}
