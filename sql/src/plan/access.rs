//! Access-path choice: how to read one table, given the WHERE conjuncts
//! that mention only that table.
//!
//! A conjunct constrains a column when it compares the column with an
//! expression that does not depend on the row (a literal, a parameter, a
//! column of an outer query, an uncorrelated subquery):
//!
//! ```text
//!   c = e, e = c                     -> equality on c
//!   c < e, c <= e, c > e, c >= e     -> a bound on c (flipped when e is on the left)
//!   c BETWEEN a AND b                -> c >= a and c <= b
//! ```
//!
//! Then, best first:
//!
//! 1. equality on every primary-key column: a **key lookup**, one `get`;
//! 2. otherwise the key — primary or secondary index — whose leading
//!    columns are most constrained: equalities on a prefix, then at most
//!    one range on the next column (score: 2 per equality, 1 for a range;
//!    the primary key wins ties, as it needs no second read per row);
//! 3. otherwise a **full scan**.
//!
//! The chosen path only narrows what is read: the scan still applies every
//! conjunct as its filter, so an inexact key (a search value that does not
//! convert exactly to the column's type) can never produce a wrong row.

use std::ops::Bound;

use crate::catalog::TableDef;
use crate::plan::expr::{BinaryOp, Expr};
use crate::plan::{Access, KeyRange};

/// What the conjuncts say about one column.
#[derive(Debug, Default, Clone)]
struct ColumnConstraint {
    equal: Option<Expr>,
    lower: Option<(Expr, bool)>,
    upper: Option<(Expr, bool)>,
}

/// Collects the constraints conjuncts put on each column of the table.
fn constraints(width: usize, conjuncts: &[Expr]) -> Vec<ColumnConstraint> {
    let mut by_column = vec![ColumnConstraint::default(); width];
    let mut add = |column: usize, op: BinaryOp, value: &Expr| {
        let Some(constraint) = by_column.get_mut(column) else {
            return;
        };
        match op {
            BinaryOp::Eq if constraint.equal.is_none() => constraint.equal = Some(value.clone()),
            BinaryOp::Gt | BinaryOp::GtEq if constraint.lower.is_none() => {
                constraint.lower = Some((value.clone(), op == BinaryOp::GtEq))
            }
            BinaryOp::Lt | BinaryOp::LtEq if constraint.upper.is_none() => {
                constraint.upper = Some((value.clone(), op == BinaryOp::LtEq))
            }
            _ => {}
        }
    };
    for conjunct in conjuncts {
        match conjunct {
            Expr::Binary { op, left, right } if op.is_comparison() => {
                match (left.as_ref(), right.as_ref()) {
                    (Expr::Column(c), value) if value.is_row_independent() => add(*c, *op, value),
                    (value, Expr::Column(c)) if value.is_row_independent() => {
                        add(*c, op.flipped(), value)
                    }
                    _ => {}
                }
            }
            Expr::Between {
                expr,
                low,
                high,
                negated: false,
            } => {
                if let Expr::Column(c) = expr.as_ref()
                    && low.is_row_independent()
                    && high.is_row_independent()
                {
                    add(*c, BinaryOp::GtEq, low);
                    add(*c, BinaryOp::LtEq, high);
                }
            }
            _ => {}
        }
    }
    by_column
}

/// The best key range over `key_columns`, with its score (0: unusable).
fn key_range(key_columns: &[usize], constraints: &[ColumnConstraint]) -> (usize, KeyRange) {
    let mut prefix = Vec::new();
    let mut score = 0;
    let mut lower = Bound::Unbounded;
    let mut upper = Bound::Unbounded;
    for &column in key_columns {
        let Some(constraint) = constraints.get(column) else {
            break;
        };
        if let Some(value) = &constraint.equal {
            prefix.push(value.clone());
            score += 2;
            continue;
        }
        if let Some((value, inclusive)) = &constraint.lower {
            lower = bound(value, *inclusive);
        }
        if let Some((value, inclusive)) = &constraint.upper {
            upper = bound(value, *inclusive);
        }
        if constraint.lower.is_some() || constraint.upper.is_some() {
            score += 1;
        }
        break;
    }
    (
        score,
        KeyRange {
            prefix,
            lower,
            upper,
        },
    )
}

fn bound(value: &Expr, inclusive: bool) -> Bound<Expr> {
    if inclusive {
        Bound::Included(value.clone())
    } else {
        Bound::Excluded(value.clone())
    }
}

/// For each of `columns`, the row-independent value an equality conjunct
/// of `filter` fixes it to; `None` unless every one is fixed (shard
/// pruning: [`crate::placement`]).
pub fn fixed_values(width: usize, filter: Option<&Expr>, columns: &[usize]) -> Option<Vec<Expr>> {
    if columns.is_empty() {
        return None;
    }
    let conjuncts = filter?.clone().into_conjuncts();
    let constraints = constraints(width, &conjuncts);
    columns
        .iter()
        .map(|&c| constraints.get(c).and_then(|k| k.equal.clone()))
        .collect()
}

/// Chooses how to read `table` given conjuncts over its row.
pub fn choose_access(table: &TableDef, conjuncts: &[Expr]) -> Access {
    let constraints = constraints(table.columns.len(), conjuncts);
    if !table.primary_key.is_empty() {
        let key: Option<Vec<Expr>> = table
            .primary_key
            .iter()
            .map(|&c| constraints.get(c).and_then(|k| k.equal.clone()))
            .collect();
        if let Some(values) = key {
            return Access::KeyLookup(values);
        }
    }
    let mut best = if table.primary_key.is_empty() {
        None
    } else {
        let (score, range) = key_range(&table.primary_key, &constraints);
        (score > 0).then_some((score, Access::KeyRange(range)))
    };
    for index in &table.indexes {
        let (score, range) = key_range(&index.columns, &constraints);
        if score > 0 && best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((
                score,
                Access::IndexScan {
                    index: index.clone(),
                    range,
                    covering: false,
                },
            ));
        }
    }
    best.map_or(Access::FullScan, |(_, access)| access)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ColumnDef, IndexDef};
    use crate::types::{DataType, Value};

    fn table() -> TableDef {
        let column = |name: &str| ColumnDef {
            name: name.into(),
            data_type: DataType::Integer,
            nullable: true,
            default: None,
        };
        TableDef {
            id: 1 << 20,
            name: "t".into(),
            columns: vec![column("a"), column("b"), column("c")],
            primary_key: vec![0, 1],
            indexes: vec![IndexDef {
                id: (1 << 20) + 1,
                name: "t_c".into(),
                columns: vec![2],
                unique: false,
            }],
            distribution: crate::catalog::Distribution::PrimaryKey,
        }
    }

    fn cmp(op: BinaryOp, column: usize, value: i64) -> Expr {
        Expr::binary(
            op,
            Expr::Column(column),
            Expr::Constant(Value::Integer(value)),
        )
    }

    #[test]
    fn full_key_equality_is_a_lookup() {
        let access = choose_access(
            &table(),
            &[cmp(BinaryOp::Eq, 1, 2), cmp(BinaryOp::Eq, 0, 1)],
        );
        assert_eq!(
            access,
            Access::KeyLookup(vec![
                Expr::Constant(Value::Integer(1)),
                Expr::Constant(Value::Integer(2))
            ])
        );
    }

    #[test]
    fn key_prefix_and_range_beat_an_index_range() {
        let access = choose_access(
            &table(),
            &[cmp(BinaryOp::Eq, 0, 1), cmp(BinaryOp::Gt, 2, 5)],
        );
        assert!(matches!(access, Access::KeyRange(ref r) if r.prefix.len() == 1));
        let flipped = Expr::binary(
            BinaryOp::Lt,
            Expr::Constant(Value::Integer(5)),
            Expr::Column(2),
        );
        let access = choose_access(&table(), &[flipped]);
        let Access::IndexScan { index, range, .. } = access else {
            panic!("expected an index scan, got {access:?}");
        };
        assert_eq!(index.name, "t_c");
        assert_eq!(
            range.lower,
            Bound::Excluded(Expr::Constant(Value::Integer(5)))
        );
    }

    #[test]
    fn row_dependent_comparisons_scan() {
        let same_row = Expr::binary(BinaryOp::Eq, Expr::Column(0), Expr::Column(1));
        assert_eq!(choose_access(&table(), &[same_row]), Access::FullScan);
        assert_eq!(choose_access(&table(), &[]), Access::FullScan);
    }
}
