//! The dependency graph: transactions as compact integer nodes, typed edges in CSR form.
//!
//! Edges carry a bit set of relations ([`EdgeKinds`]), because the same pair of transactions can
//! be related several ways (T1 both overwrote and was read by T2). Inference modules push edges
//! through the [`EdgeSink`] trait; [`GraphBuilder`] collects them as flat `(from, to, kinds)`
//! triples (no allocation per edge), then [`GraphBuilder::finish`] counting-sorts them into
//! compressed sparse rows and merges duplicates:
//!
//! ```text
//! triples (0,1,ww) (2,0,rw) (0,1,wr)   →   offsets [0, 1, 1, 2]
//!                                          targets [1,       0 ]
//!                                          kinds   [ww|wr,   rw]
//! ```
//!
//! The same trait lets [`crate::explain`] re-run inference to learn *why* a given edge exists,
//! so reasons are only formatted for the handful of edges on reported cycles.

/// A set of edge relations (a bit set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EdgeKinds(pub u8);

impl EdgeKinds {
    /// Write-write: `from` installed a version, `to` installed the next one.
    pub const WW: EdgeKinds = EdgeKinds(1);
    /// Write-read: `to` read the version `from` installed.
    pub const WR: EdgeKinds = EdgeKinds(2);
    /// Item read-write (anti-dependency): `from` read a version, `to` installed a later one.
    pub const RW: EdgeKinds = EdgeKinds(4);
    /// Predicate read-write: `to` wrote a row into `from`'s predicate that `from` did not see.
    pub const PRW: EdgeKinds = EdgeKinds(8);
    /// Real time: `from` completed before `to` was invoked.
    pub const RT: EdgeKinds = EdgeKinds(16);
    /// Process order: `from` and `to` ran one after the other on one process.
    pub const PO: EdgeKinds = EdgeKinds(32);
    /// No relation.
    pub const NONE: EdgeKinds = EdgeKinds(0);
    /// Dependencies Adya's G1 allows: ww and wr.
    pub const WRITES_AND_READS: EdgeKinds = EdgeKinds(1 | 2);
    /// Every item dependency: ww, wr, rw.
    pub const ITEM: EdgeKinds = EdgeKinds(1 | 2 | 4);
    /// Every data dependency: ww, wr, rw, prw.
    pub const DATA: EdgeKinds = EdgeKinds(1 | 2 | 4 | 8);

    /// The union of two sets.
    pub const fn union(self, other: EdgeKinds) -> EdgeKinds {
        EdgeKinds(self.0 | other.0)
    }
    /// Whether the sets share a relation.
    pub const fn intersects(self, other: EdgeKinds) -> bool {
        self.0 & other.0 != 0
    }
    /// The relations in both sets.
    pub const fn intersection(self, other: EdgeKinds) -> EdgeKinds {
        EdgeKinds(self.0 & other.0)
    }
    /// The single most informative relation in the set, in the order ww, wr, rw, prw, po, rt.
    pub fn primary(self) -> EdgeKinds {
        [Self::WW, Self::WR, Self::RW, Self::PRW, Self::PO, Self::RT]
            .into_iter()
            .find(|k| self.intersects(*k))
            .unwrap_or(Self::NONE)
    }
    /// The short name of a single relation (`ww`, `wr`, `rw`, `prw`, `rt`, `po`).
    pub fn name(self) -> &'static str {
        match self.primary() {
            Self::WW => "ww",
            Self::WR => "wr",
            Self::RW => "rw",
            Self::PRW => "prw",
            Self::RT => "rt",
            Self::PO => "po",
            _ => "none",
        }
    }
}

/// Receives inferred edges. `why` formats a sentence explaining the edge; graph builders never
/// call it, explainers call it only for edges they care about.
pub trait EdgeSink {
    /// Records that `kind` relates `from` to `to`.
    fn edge(&mut self, from: u32, to: u32, kind: EdgeKinds, why: &dyn Fn() -> String);
}

/// Collects edges for a graph of `node_count` transactions.
#[derive(Debug)]
pub struct GraphBuilder {
    node_count: usize,
    triples: Vec<(u32, u32, u8)>,
}

impl GraphBuilder {
    /// A builder for nodes `0..node_count`.
    pub fn new(node_count: usize) -> Self {
        GraphBuilder {
            node_count,
            triples: Vec::new(),
        }
    }

    /// A graph of `n` nodes with exactly these edges (for tests).
    #[cfg(test)]
    pub fn from_edges(n: usize, edges: &[(u32, u32, EdgeKinds)]) -> DependencyGraph {
        let mut b = GraphBuilder::new(n);
        for &(from, to, kinds) in edges {
            b.edge(from, to, kinds, &String::new);
        }
        b.finish()
    }

    /// Freezes the edges into a [`DependencyGraph`], merging duplicate pairs.
    pub fn finish(self) -> DependencyGraph {
        let n = self.node_count;
        let mut offsets = vec![0usize; n + 1];
        for &(from, _, _) in &self.triples {
            offsets[from as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut cursor = offsets.clone();
        let mut slots = vec![(0u32, 0u8); self.triples.len()];
        for (from, to, kind) in self.triples {
            let at = &mut cursor[from as usize];
            slots[*at] = (to, kind);
            *at += 1;
        }
        drop(cursor);
        let mut targets = Vec::with_capacity(slots.len());
        let mut kinds = Vec::with_capacity(slots.len());
        let mut merged_offsets = vec![0usize; n + 1];
        for node in 0..n {
            let row = &mut slots[offsets[node]..offsets[node + 1]];
            row.sort_unstable_by_key(|&(to, _)| to);
            let row_start = targets.len();
            for &(to, kind) in row.iter() {
                if targets.len() > row_start && targets.last() == Some(&to) {
                    if let Some(last) = kinds.last_mut() {
                        *last |= kind;
                    }
                } else {
                    targets.push(to);
                    kinds.push(kind);
                }
            }
            merged_offsets[node + 1] = targets.len();
        }
        DependencyGraph {
            offsets: merged_offsets,
            targets,
            kinds,
        }
    }
}

impl EdgeSink for GraphBuilder {
    fn edge(&mut self, from: u32, to: u32, kind: EdgeKinds, _why: &dyn Fn() -> String) {
        let n = self.node_count as u32;
        if from != to && from < n && to < n {
            self.triples.push((from, to, kind.0));
        }
    }
}

/// An immutable directed graph over transactions with typed edges (CSR layout).
#[derive(Clone, Debug, Default)]
pub struct DependencyGraph {
    offsets: Vec<usize>,
    targets: Vec<u32>,
    kinds: Vec<u8>,
}

impl DependencyGraph {
    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Number of distinct (from, to) pairs.
    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    /// The out-edges of `node`: `(target, kinds)`.
    pub fn out_edges(&self, node: u32) -> impl Iterator<Item = (u32, EdgeKinds)> + '_ {
        let (start, end) = self.row(node);
        self.targets[start..end]
            .iter()
            .zip(&self.kinds[start..end])
            .map(|(&t, &k)| (t, EdgeKinds(k)))
    }

    /// The relations on the edge `from → to` (empty when there is none).
    pub fn kinds_between(&self, from: u32, to: u32) -> EdgeKinds {
        let (start, end) = self.row(from);
        match self.targets[start..end].binary_search(&to) {
            Ok(i) => EdgeKinds(self.kinds[start + i]),
            Err(_) => EdgeKinds::NONE,
        }
    }

    /// Positions of `node`'s out-edges, for callers that keep a cursor (see [`Self::edge_at`]).
    pub fn edge_range(&self, node: u32) -> std::ops::Range<usize> {
        let (start, end) = self.row(node);
        start..end
    }

    /// The edge at a position from [`Self::edge_range`]: `(target, kinds)`.
    pub fn edge_at(&self, position: usize) -> (u32, EdgeKinds) {
        match (self.targets.get(position), self.kinds.get(position)) {
            (Some(&t), Some(&k)) => (t, EdgeKinds(k)),
            _ => (u32::MAX, EdgeKinds::NONE),
        }
    }

    fn row(&self, node: u32) -> (usize, usize) {
        let node = node as usize;
        match (self.offsets.get(node), self.offsets.get(node + 1)) {
            (Some(&s), Some(&e)) => (s, e),
            _ => (0, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_duplicate_edges_and_drops_self_loops() {
        let mut b = GraphBuilder::new(3);
        b.edge(0, 1, EdgeKinds::WW, &String::new);
        b.edge(2, 0, EdgeKinds::RW, &String::new);
        b.edge(0, 1, EdgeKinds::WR, &String::new);
        b.edge(1, 1, EdgeKinds::WR, &String::new);
        let g = b.finish();
        assert_eq!(g.edge_count(), 2);
        assert_eq!(g.kinds_between(0, 1), EdgeKinds::WRITES_AND_READS);
        assert_eq!(g.kinds_between(2, 0), EdgeKinds::RW);
        assert_eq!(g.kinds_between(1, 0), EdgeKinds::NONE);
        assert_eq!(g.out_edges(1).count(), 0);
    }

    #[test]
    fn primary_prefers_dependencies_over_order() {
        assert_eq!(EdgeKinds::RT.union(EdgeKinds::RW).primary(), EdgeKinds::RW);
        assert_eq!(EdgeKinds::RT.name(), "rt");
    }
}
