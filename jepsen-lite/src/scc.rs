//! Strongly connected components (Tarjan's algorithm, iterative) over a subset of edge kinds.
//!
//! Every cycle lies inside one strongly connected component, so the cycle search only looks
//! inside the non-trivial components (two or more nodes; the graph has no self-loops). The
//! algorithm keeps its own explicit call stack of `(node, next edge position)` frames, so a
//! million-node chain cannot overflow the thread's stack.

use crate::graph::{DependencyGraph, EdgeKinds};

/// The non-trivial strongly connected components of a graph restricted to some edge kinds.
#[derive(Clone, Debug, Default)]
pub struct Components {
    /// For each node, the index of its component in `members`, or `u32::MAX` when trivial.
    pub component_of: Vec<u32>,
    /// The nodes of each non-trivial component.
    pub members: Vec<Vec<u32>>,
}

impl Components {
    /// Whether `a` and `b` are in the same non-trivial component.
    pub fn same(&self, a: u32, b: u32) -> bool {
        let ca = self
            .component_of
            .get(a as usize)
            .copied()
            .unwrap_or(u32::MAX);
        ca != u32::MAX && Some(&ca) == self.component_of.get(b as usize)
    }
}

const UNVISITED: u32 = u32::MAX;

/// Tarjan's SCC algorithm over edges whose kinds intersect `allowed`.
pub fn strongly_connected(graph: &DependencyGraph, allowed: EdgeKinds) -> Components {
    let n = graph.node_count();
    let mut index = vec![UNVISITED; n];
    let mut lowlink = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    // (node, next edge position, end of the node's edges)
    let mut frames: Vec<(u32, usize, usize)> = Vec::new();
    let mut next_index = 0u32;
    let mut components = Components {
        component_of: vec![u32::MAX; n],
        members: Vec::new(),
    };

    for root in 0..n as u32 {
        if index[root as usize] != UNVISITED
            || !graph.out_edges(root).any(|(_, k)| k.intersects(allowed))
        {
            continue;
        }
        index[root as usize] = next_index;
        lowlink[root as usize] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root as usize] = true;
        let range = graph.edge_range(root);
        frames.push((root, range.start, range.end));
        while let Some(frame) = frames.last_mut() {
            let node = frame.0;
            if frame.1 < frame.2 {
                let (next, kinds) = graph.edge_at(frame.1);
                frame.1 += 1;
                if !kinds.intersects(allowed) {
                    continue;
                }
                let next_us = next as usize;
                if index[next_us] == UNVISITED {
                    index[next_us] = next_index;
                    lowlink[next_us] = next_index;
                    next_index += 1;
                    stack.push(next);
                    on_stack[next_us] = true;
                    let range = graph.edge_range(next);
                    frames.push((next, range.start, range.end));
                } else if on_stack[next_us] {
                    lowlink[node as usize] = lowlink[node as usize].min(index[next_us]);
                }
                continue;
            }
            frames.pop();
            if let Some(parent) = frames.last() {
                let p = parent.0 as usize;
                lowlink[p] = lowlink[p].min(lowlink[node as usize]);
            }
            if lowlink[node as usize] == index[node as usize] {
                let mut members = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member as usize] = false;
                    members.push(member);
                    if member == node {
                        break;
                    }
                }
                if members.len() > 1 {
                    let id = components.members.len() as u32;
                    for &m in &members {
                        components.component_of[m as usize] = id;
                    }
                    members.sort_unstable();
                    components.members.push(members);
                }
            }
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::GraphBuilder;

    fn graph(n: usize, edges: &[(u32, u32, EdgeKinds)]) -> DependencyGraph {
        GraphBuilder::from_edges(n, edges)
    }

    #[test]
    fn finds_components_only_through_allowed_kinds() {
        let g = graph(
            5,
            &[
                (0, 1, EdgeKinds::WW),
                (1, 0, EdgeKinds::RW),
                (2, 3, EdgeKinds::WW),
                (3, 2, EdgeKinds::WW),
                (3, 4, EdgeKinds::WW),
            ],
        );
        let all = strongly_connected(&g, EdgeKinds::DATA);
        assert_eq!(all.members.len(), 2);
        assert!(all.same(0, 1) && all.same(2, 3) && !all.same(3, 4) && !all.same(1, 2));
        let ww = strongly_connected(&g, EdgeKinds::WW);
        assert_eq!(ww.members, vec![vec![2, 3]]);
    }

    #[test]
    fn a_long_chain_does_not_overflow_and_a_long_ring_is_one_component() {
        let n = 200_000u32;
        let mut edges: Vec<(u32, u32, EdgeKinds)> =
            (0..n - 1).map(|i| (i, i + 1, EdgeKinds::WW)).collect();
        let chain = graph(n as usize, &edges);
        assert!(strongly_connected(&chain, EdgeKinds::WW).members.is_empty());
        edges.push((n - 1, 0, EdgeKinds::WW));
        let ring = graph(n as usize, &edges);
        assert_eq!(
            strongly_connected(&ring, EdgeKinds::WW).members[0].len(),
            n as usize
        );
    }
}
