//! Index-only scans: a query that reads nothing but columns an index entry
//! holds — the index's own columns and the primary key — is answered from
//! the index entries alone, without fetching each row by its key.
//!
//! ```text
//!   SELECT id, val FROM t WHERE val BETWEEN 10 AND 20     (index t_val on val)
//!   entry key = key(val) ++ key(id)  →  row (id, val, NULL, ...) — no row read
//! ```
//!
//! The rewrite marks an index scan covering when it sits right under a
//! projection whose expressions, like the scan's filter, read only such
//! columns and hold no subquery (which could read any column of the row).
//! DOUBLE columns never count as held: an index key stores -0.0 as 0.0 and
//! every NaN alike, so only the row has their exact value. Scans whose
//! rows are locked (`FOR UPDATE`) are left alone, as are tables keyed by a
//! hidden row id when the row id is asked for.
//!
//! Under SERIALIZABLE the scan still registers the index range it read, so
//! a concurrent change to any column the query used — each moves or
//! rewrites an index entry in that range — is still a conflict.

use crate::catalog::TableDef;
use crate::plan::expr::Expr;
use crate::plan::{Access, Node};
use crate::types::DataType;

/// Marks every index scan in `node` that can be answered from the index.
pub fn use_covering_indexes(node: &mut Node) {
    match node {
        // Locks the rows it read: they must be read.
        Node::LockRows { .. } => {}
        Node::Project { input, exprs } => match input.as_mut() {
            Node::Scan {
                table,
                access:
                    Access::IndexScan {
                        index, covering, ..
                    },
                filter,
                with_row_id: false,
            } => {
                let held: Vec<usize> = index
                    .columns
                    .iter()
                    .chain(&table.primary_key)
                    .copied()
                    .filter(|&c| is_exact_in_keys(table, c))
                    .collect();
                let reads_held =
                    |e: &Expr| !e.has_subquery() && e.columns().iter().all(|c| held.contains(c));
                *covering = exprs.iter().all(reads_held) && filter.as_ref().is_none_or(reads_held);
            }
            other => use_covering_indexes(other),
        },
        Node::Filter { input, .. }
        | Node::Aggregate { input, .. }
        | Node::Sort { input, .. }
        | Node::Distinct { input }
        | Node::Limit { input, .. }
        | Node::Truncate { input, .. } => use_covering_indexes(input),
        Node::HashJoin { left, right, .. } | Node::NestedLoopJoin { left, right, .. } => {
            use_covering_indexes(left);
            use_covering_indexes(right);
        }
        Node::Union { inputs, .. } => inputs.iter_mut().for_each(use_covering_indexes),
        Node::Scan { .. } | Node::SystemScan { .. } | Node::Values { .. } => {}
    }
}

/// True when a key holds column `column`'s value exactly (see the module docs).
fn is_exact_in_keys(table: &TableDef, column: usize) -> bool {
    table
        .columns
        .get(column)
        .is_some_and(|c| c.data_type != DataType::Double)
}
