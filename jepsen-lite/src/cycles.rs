//! Shortest-cycle search inside strongly connected components, restricted by edge kinds.
//!
//! An anomaly is a cycle of a particular *shape*. The search picks a first edge of a required
//! kind (`u → v`, say an rw edge for G-single) inside a component, then runs a breadth-first
//! search from `v` back to `u` over the edge kinds the shape allows on the rest of the cycle
//! (for G-single: ww and wr only). BFS gives the shortest such path, so the cycle is the
//! shortest through that first edge; several first edges are tried and the shortest cycle kept:
//!
//! ```text
//!   T1 ──rw──▶ T2        first edge T1→T2 (rw); BFS from T2 to T1 over ww|wr
//!    ▲          │         finds T2 ─wr▶ T1: cycle [T1 →rw T2 →wr T1], one rw edge: G-single
//!    └───wr─────┘
//! ```
//!
//! G-nonadjacent needs memory of the previous edge, so its BFS runs over states
//! `(node, last edge was rw, at least two rw so far)`. Visited marks use a generation counter,
//! so no per-search clearing or allocation is needed. Work per component is bounded: the search
//! stops at a 2-cycle (the shortest possible) or after a budget of visited states, so for huge
//! components the cycle is short but not always the shortest.

use std::collections::VecDeque;

use crate::graph::{DependencyGraph, EdgeKinds};
use crate::scc::Components;

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

/// The shape of cycle a search looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A first edge of kinds `first`, then any path over kinds `rest`.
    Through {
        /// Kinds allowed on the first edge.
        first: EdgeKinds,
        /// Kinds allowed on the other edges.
        rest: EdgeKinds,
    },
    /// At least two rw edges, no two adjacent (around the cycle), others ww/wr.
    NonadjacentRw,
}

/// Reusable BFS state for one graph.
pub struct CycleFinder<'g> {
    graph: &'g DependencyGraph,
    stamp: Vec<u32>,
    parent: Vec<(u32, EdgeKinds)>,
    generation: u32,
    queue: VecDeque<u32>,
    /// Budget of visited states per component search.
    pub budget: usize,
}

const STATES: usize = 4;

impl<'g> CycleFinder<'g> {
    /// A finder over `graph`.
    pub fn new(graph: &'g DependencyGraph) -> Self {
        CycleFinder {
            graph,
            stamp: Vec::new(),
            parent: Vec::new(),
            generation: 0,
            queue: VecDeque::new(),
            budget: 4_000_000,
        }
    }

    /// For each component, the shortest cycle of `shape` found (components with none are skipped).
    pub fn find_per_component(
        &mut self,
        components: &Components,
        shape: Shape,
    ) -> Vec<Vec<CycleEdge>> {
        let mut found = Vec::new();
        for (c, members) in components.members.iter().enumerate() {
            if let Some(cycle) =
                self.find_in_component(components, c as u32, members, shape, &|_, _| true)
            {
                found.push(cycle);
            }
        }
        found
    }

    /// The shortest cycle of `shape` found in component `c`, if any.
    pub fn find_in(
        &mut self,
        components: &Components,
        c: u32,
        shape: Shape,
    ) -> Option<Vec<CycleEdge>> {
        self.find_in_where(components, c, shape, &|_, _| true)
    }

    /// Like [`Self::find_in`], trying only first edges `u → v` for which `first_edge(u, v)` holds.
    pub fn find_in_where(
        &mut self,
        components: &Components,
        c: u32,
        shape: Shape,
        first_edge: &dyn Fn(u32, u32) -> bool,
    ) -> Option<Vec<CycleEdge>> {
        let members = components.members.get(c as usize)?;
        self.find_in_component(components, c, members, shape, first_edge)
    }

    fn find_in_component(
        &mut self,
        components: &Components,
        c: u32,
        members: &[u32],
        shape: Shape,
        first_edge: &dyn Fn(u32, u32) -> bool,
    ) -> Option<Vec<CycleEdge>> {
        let first = match shape {
            Shape::Through { first, .. } => first,
            Shape::NonadjacentRw => EdgeKinds::RW,
        };
        let mut best: Option<Vec<CycleEdge>> = None;
        let mut spent = 0usize;
        for &u in members {
            for (v, kinds) in self.graph.out_edges(u) {
                if !kinds.intersects(first)
                    || components.component_of.get(v as usize) != Some(&c)
                    || !first_edge(u, v)
                {
                    continue;
                }
                let head = CycleEdge {
                    from: u,
                    to: v,
                    kind: kinds.intersection(first).primary(),
                };
                let path = match shape {
                    Shape::Through { rest, .. } => {
                        self.bfs_plain(components, c, v, u, rest, &mut spent)
                    }
                    Shape::NonadjacentRw => self.bfs_nonadjacent(components, c, v, u, &mut spent),
                };
                if let Some(path) = path
                    && best.as_ref().is_none_or(|b| path.len() + 1 < b.len())
                {
                    let mut cycle = vec![head];
                    cycle.extend(path);
                    best = Some(cycle);
                }
                if best.as_ref().is_some_and(|b| b.len() <= 2) || spent >= self.budget {
                    return best;
                }
            }
        }
        best
    }

    fn reset(&mut self, states: usize) {
        if self.stamp.len() < states {
            self.stamp.resize(states, 0);
            self.parent.resize(states, (u32::MAX, EdgeKinds::NONE));
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        self.queue.clear();
    }

    /// Shortest path `start → goal` over `kinds`, inside component `c`.
    fn bfs_plain(
        &mut self,
        comps: &Components,
        c: u32,
        start: u32,
        goal: u32,
        kinds: EdgeKinds,
        spent: &mut usize,
    ) -> Option<Vec<CycleEdge>> {
        self.reset(self.graph.node_count());
        let generation = self.generation;
        self.stamp[start as usize] = generation;
        self.queue.push_back(start);
        while let Some(node) = self.queue.pop_front() {
            *spent += 1;
            if node == goal {
                let mut path = Vec::new();
                let mut at = goal;
                while at != start {
                    let (prev, kind) = self.parent[at as usize];
                    path.push(CycleEdge {
                        from: prev,
                        to: at,
                        kind,
                    });
                    at = prev;
                }
                path.reverse();
                return Some(path);
            }
            for (next, edge) in self.graph.out_edges(node) {
                let n = next as usize;
                if edge.intersects(kinds)
                    && self.stamp[n] != generation
                    && comps.component_of.get(n) == Some(&c)
                {
                    self.stamp[n] = generation;
                    self.parent[n] = (node, edge.intersection(kinds).primary());
                    self.queue.push_back(next);
                }
            }
        }
        None
    }

    /// Shortest path `start → goal` for a cycle whose first edge (`goal → start`) is rw: the path
    /// must not begin or end with rw, must never take two rw in a row, and must contain an rw.
    fn bfs_nonadjacent(
        &mut self,
        comps: &Components,
        c: u32,
        start: u32,
        goal: u32,
        spent: &mut usize,
    ) -> Option<Vec<CycleEdge>> {
        self.reset(self.graph.node_count() * STATES);
        let generation = self.generation;
        let state = |node: u32, last_rw: bool, two: bool| {
            node as usize * STATES + usize::from(last_rw) * 2 + usize::from(two)
        };
        let first = state(start, true, false);
        self.stamp[first] = generation;
        self.queue.push_back(first as u32);
        while let Some(s) = self.queue.pop_front() {
            *spent += 1;
            let s = s as usize;
            let (node, last_rw, two) = ((s / STATES) as u32, s % STATES >= 2, s % 2 == 1);
            if node == goal && !last_rw && two {
                let mut path = Vec::new();
                let mut at = s;
                while at != first {
                    let (prev, kind) = self.parent[at];
                    path.push(CycleEdge {
                        from: (prev as usize / STATES) as u32,
                        to: (at / STATES) as u32,
                        kind,
                    });
                    at = prev as usize;
                }
                path.reverse();
                return Some(path);
            }
            for (next, edge) in self.graph.out_edges(node) {
                if comps.component_of.get(next as usize) != Some(&c) {
                    continue;
                }
                let mut moves = [None, None];
                if edge.intersects(EdgeKinds::WRITES_AND_READS) {
                    moves[0] = Some((
                        state(next, false, two),
                        edge.intersection(EdgeKinds::WRITES_AND_READS).primary(),
                    ));
                }
                if edge.intersects(EdgeKinds::RW) && !last_rw {
                    moves[1] = Some((state(next, true, true), EdgeKinds::RW));
                }
                for (to, kind) in moves.into_iter().flatten() {
                    if self.stamp[to] != generation {
                        self.stamp[to] = generation;
                        self.parent[to] = (s as u32, kind);
                        self.queue.push_back(to as u32);
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::GraphBuilder;
    use crate::scc::strongly_connected;

    fn graph(n: usize, edges: &[(u32, u32, EdgeKinds)]) -> DependencyGraph {
        GraphBuilder::from_edges(n, edges)
    }

    #[test]
    fn finds_the_shortest_cycle_through_a_first_edge() {
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
        let comps = strongly_connected(&g, EdgeKinds::WRITES_AND_READS);
        let mut finder = CycleFinder::new(&g);
        let g0 = finder.find_per_component(
            &comps,
            Shape::Through {
                first: EdgeKinds::WW,
                rest: EdgeKinds::WW,
            },
        );
        assert_eq!(g0[0].len(), 4);
        let g1c = finder.find_per_component(
            &comps,
            Shape::Through {
                first: EdgeKinds::WR,
                rest: EdgeKinds::WRITES_AND_READS,
            },
        );
        assert_eq!(
            g1c[0],
            vec![
                CycleEdge {
                    from: 1,
                    to: 0,
                    kind: EdgeKinds::WR
                },
                CycleEdge {
                    from: 0,
                    to: 1,
                    kind: EdgeKinds::WW
                }
            ]
        );
    }

    #[test]
    fn nonadjacent_requires_separated_rw_edges() {
        // Adjacent rw edges 0 →rw 1 →rw 0: not G-nonadjacent.
        let adjacent = graph(2, &[(0, 1, EdgeKinds::RW), (1, 0, EdgeKinds::RW)]);
        let comps = strongly_connected(&adjacent, EdgeKinds::ITEM);
        assert!(
            CycleFinder::new(&adjacent)
                .find_per_component(&comps, Shape::NonadjacentRw)
                .is_empty()
        );
        // 0 →rw 1 →wr 2 →rw 3 →wr 0: rw edges separated.
        let separated = graph(
            4,
            &[
                (0, 1, EdgeKinds::RW),
                (1, 2, EdgeKinds::WR),
                (2, 3, EdgeKinds::RW),
                (3, 0, EdgeKinds::WR),
            ],
        );
        let comps = strongly_connected(&separated, EdgeKinds::ITEM);
        let found = CycleFinder::new(&separated).find_per_component(&comps, Shape::NonadjacentRw);
        assert_eq!(found[0].len(), 4);
        assert_eq!(
            found[0].iter().filter(|e| e.kind == EdgeKinds::RW).count(),
            2
        );
    }
}
