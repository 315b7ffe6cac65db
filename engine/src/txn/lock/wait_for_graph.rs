//! The wait-for graph: which transaction waits for which, and cycle search.
//!
//! A node is a transaction; an edge `a → b` means "a cannot be granted its
//! pending lock until b releases or withdraws its own lock or request". The
//! lock manager owns one graph and keeps it exact: every time a key's queue
//! changes it replaces the out-edges of each waiter on that key with
//! [`WaitForGraph::set_waits`], so the graph never holds a stale edge.
//!
//! A transaction waits for at most one lock at a time, so all of its
//! out-edges come from one key's queue. A deadlock is a cycle; the manager
//! asks [`WaitForGraph::find_cycle_through`] for one that passes through the
//! transaction that just began to wait.
//!
//! The maps are ordered (`BTreeMap`/`BTreeSet`) so the search is
//! deterministic, which the loom models rely on.

use std::collections::{BTreeMap, BTreeSet};

use crate::txn::lock::TxnId;

/// Directed graph of transactions waiting for other transactions.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WaitForGraph {
    /// Out-edges per waiting transaction; a node without edges is absent.
    waits: BTreeMap<TxnId, BTreeSet<TxnId>>,
}

impl WaitForGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces all out-edges of `waiter` with `targets` (self-edges are
    /// dropped). An empty `targets` removes the node's out-edges entirely.
    pub fn set_waits(&mut self, waiter: TxnId, targets: impl IntoIterator<Item = TxnId>) {
        let targets: BTreeSet<TxnId> = targets.into_iter().filter(|&t| t != waiter).collect();
        if targets.is_empty() {
            self.waits.remove(&waiter);
        } else {
            self.waits.insert(waiter, targets);
        }
    }

    /// Removes all out-edges of `waiter` (it no longer waits).
    pub fn clear_waits(&mut self, waiter: TxnId) {
        self.waits.remove(&waiter);
    }

    /// The transactions `waiter` waits for, in ascending order.
    pub fn waits_for(&self, waiter: TxnId) -> Vec<TxnId> {
        self.waits
            .get(&waiter)
            .map(|targets| targets.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Adds every edge of `other` (the union of two graphs, e.g. those of
    /// the shards of a cluster).
    pub fn merge(&mut self, other: &WaitForGraph) {
        for (waiter, targets) in &other.waits {
            self.waits
                .entry(*waiter)
                .or_default()
                .extend(targets.iter().copied());
        }
    }

    /// The waiting transactions, ascending.
    pub fn waiters(&self) -> Vec<TxnId> {
        self.waits.keys().copied().collect()
    }

    /// True when no transaction waits for any other.
    pub fn is_empty(&self) -> bool {
        self.waits.is_empty()
    }

    /// Number of edges in the graph.
    pub fn edge_count(&self) -> usize {
        self.waits.values().map(BTreeSet::len).sum()
    }

    /// Searches depth-first for a cycle that passes through `start`.
    ///
    /// Returns the cycle as the path `[start, t1, .., tn]` where each entry
    /// waits for the next and `tn` waits for `start`, or `None` if `start` is
    /// on no cycle. Cycles elsewhere in the graph are not reported: the lock
    /// manager checks each new wait, so any cycle must pass through it.
    pub fn find_cycle_through(&self, start: TxnId) -> Option<Vec<TxnId>> {
        let mut visited: BTreeSet<TxnId> = BTreeSet::new();
        visited.insert(start);
        // `path[i]` is a node on the current DFS path; `frontier[i]` holds the
        // successors of `path[i]` not yet explored.
        let mut path: Vec<TxnId> = vec![start];
        let mut frontier: Vec<std::collections::btree_set::Iter<'_, TxnId>> =
            vec![self.successors(start)];
        while let Some(next_successors) = frontier.last_mut() {
            match next_successors.next() {
                Some(&next) if next == start => return Some(path),
                Some(&next) => {
                    if visited.insert(next) {
                        path.push(next);
                        frontier.push(self.successors(next));
                    }
                }
                None => {
                    frontier.pop();
                    path.pop();
                }
            }
        }
        None
    }

    fn successors(&self, node: TxnId) -> std::collections::btree_set::Iter<'_, TxnId> {
        static NO_EDGES: BTreeSet<TxnId> = BTreeSet::new();
        self.waits.get(&node).unwrap_or(&NO_EDGES).iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(TxnId, &[TxnId])]) -> WaitForGraph {
        let mut g = WaitForGraph::new();
        for &(from, to) in edges {
            g.set_waits(from, to.iter().copied());
        }
        g
    }

    #[test]
    fn two_cycle_is_found_from_either_end() {
        let g = graph(&[(1, &[2]), (2, &[1])]);
        assert_eq!(g.find_cycle_through(1), Some(vec![1, 2]));
        assert_eq!(g.find_cycle_through(2), Some(vec![2, 1]));
    }

    #[test]
    fn three_cycle_reports_the_path_in_order() {
        let g = graph(&[(7, &[3]), (3, &[5]), (5, &[7])]);
        assert_eq!(g.find_cycle_through(7), Some(vec![7, 3, 5]));
    }

    #[test]
    fn chain_and_diamond_are_not_cycles() {
        // 1 → 2 → 4 and 1 → 3 → 4: two paths to 4, but no way back to 1.
        let g = graph(&[(1, &[2, 3]), (2, &[4]), (3, &[4])]);
        assert_eq!(g.find_cycle_through(1), None);
        assert_eq!(g.find_cycle_through(4), None);
    }

    #[test]
    fn cycle_not_through_start_is_not_reported() {
        // 1 waits into the cycle 2 ⇄ 3 but is not on it.
        let g = graph(&[(1, &[2]), (2, &[3]), (3, &[2])]);
        assert_eq!(g.find_cycle_through(1), None);
        assert_eq!(g.find_cycle_through(2), Some(vec![2, 3]));
    }

    #[test]
    fn cycle_behind_a_dead_end_branch_is_found() {
        // DFS tries 2 first (dead end via 4), then 3 → 1.
        let g = graph(&[(1, &[2, 3]), (2, &[4]), (3, &[1])]);
        assert_eq!(g.find_cycle_through(1), Some(vec![1, 3]));
    }

    #[test]
    fn set_waits_replaces_edges_and_drops_self_edges() {
        let mut g = graph(&[(1, &[2, 3])]);
        assert_eq!(g.edge_count(), 2);
        g.set_waits(1, [1, 4]);
        assert_eq!(g.waits_for(1), vec![4]);
        g.set_waits(1, [1]);
        assert!(g.is_empty());
        g.set_waits(2, [1]);
        g.clear_waits(2);
        assert!(g.is_empty());
        assert_eq!(g.waits_for(2), Vec::<TxnId>::new());
    }

    #[test]
    fn stale_edge_removed_breaks_the_cycle() {
        let mut g = graph(&[(1, &[2]), (2, &[1])]);
        g.set_waits(2, []);
        assert_eq!(g.find_cycle_through(1), None);
    }
}
