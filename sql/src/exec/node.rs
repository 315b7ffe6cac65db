//! Running plan nodes: each takes its inputs' rows and produces its own.
//!
//! The hash join builds on its right input and probes with the left, so
//! a LEFT JOIN keeps left rows without a match by padding NULLs:
//!
//! ```text
//!   left: (1,a) (2,b)     right: (1,x) (1,y)     ON left.0 = right.0
//!   build {1: [(1,x), (1,y)]}
//!   probe (1,a) -> (1,a,1,x) (1,a,1,y)
//!   probe (2,b) -> no match -> inner: nothing; left: (2,b,NULL,NULL)
//! ```
//!
//! NULL keys never match (NULL = NULL is unknown).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::exec::aggregate::aggregate;
use crate::exec::eval::{eval, holds};
use crate::exec::lock::{LockRowsNode, lock_rows};
use crate::exec::scan::scan;
use crate::exec::{ExecContext, Row};
use crate::plan::{Expr, JoinKind, Node, SortKey};
use crate::session::Interrupt;
use crate::types::Value;

/// Runs a node and returns its rows.
pub fn execute(node: &Node, ctx: &mut ExecContext) -> Result<Vec<Row>> {
    match node {
        Node::Scan {
            table,
            access,
            filter,
            with_row_id,
        } => scan(table, access, filter.as_ref(), *with_row_id, ctx),
        Node::SystemScan { table, filter } => {
            crate::exec::system_function::scan_system(*table, filter.as_ref(), ctx)
        }
        Node::Values { rows } => {
            let mut out = Vec::with_capacity(rows.len());
            for exprs in rows {
                ctx.interrupt.check()?;
                out.push(eval_all(exprs, &[], ctx)?);
            }
            Ok(out)
        }
        Node::Filter { input, predicate } => {
            let rows = execute(input, ctx)?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                ctx.interrupt.check()?;
                if holds(Some(predicate), &row, ctx)? {
                    out.push(row);
                }
            }
            Ok(out)
        }
        Node::Project { input, exprs } => {
            let rows = execute(input, ctx)?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                ctx.interrupt.check()?;
                out.push(eval_all(exprs, &row, ctx)?);
            }
            Ok(out)
        }
        Node::HashJoin {
            left,
            right,
            left_keys,
            right_keys,
            residual,
            kind,
            right_width,
        } => {
            let left = execute(left, ctx)?;
            let right = execute(right, ctx)?;
            hash_join(
                left,
                right,
                left_keys,
                right_keys,
                residual.as_ref(),
                *kind,
                *right_width,
                ctx,
            )
        }
        Node::NestedLoopJoin {
            left,
            right,
            condition,
            kind,
            right_width,
        } => {
            let left = execute(left, ctx)?;
            let right = execute(right, ctx)?;
            let mut out = Vec::new();
            for l in left {
                let mut matched = false;
                for r in &right {
                    ctx.interrupt.check()?;
                    let mut joined = l.clone();
                    joined.extend(r.iter().cloned());
                    if holds(condition.as_ref(), &joined, ctx)? {
                        matched = true;
                        out.push(joined);
                    }
                }
                if !matched && *kind == JoinKind::Left {
                    out.push(pad(l, *right_width));
                }
            }
            Ok(out)
        }
        Node::Aggregate {
            input,
            group_by,
            aggregates,
        } => {
            let rows = execute(input, ctx)?;
            aggregate(rows, group_by, aggregates, ctx)
        }
        Node::Sort { input, keys } => {
            let mut rows = execute(input, ctx)?;
            sort_rows(&mut rows, keys, &mut ctx.interrupt)?;
            Ok(rows)
        }
        Node::Distinct { input } => {
            let rows = execute(input, ctx)?;
            distinct(rows, ctx)
        }
        Node::Limit {
            input,
            offset,
            limit,
        } => {
            let offset = row_count(offset.as_ref(), "OFFSET", ctx)?.unwrap_or(0);
            let limit = row_count(limit.as_ref(), "LIMIT", ctx)?;
            let rows = execute(input, ctx)?;
            let rows = rows.into_iter().skip(offset);
            Ok(match limit {
                Some(n) => rows.take(n).collect(),
                None => rows.collect(),
            })
        }
        Node::Truncate { input, width } => {
            let mut rows = execute(input, ctx)?;
            for row in &mut rows {
                row.truncate(*width);
            }
            Ok(rows)
        }
        Node::LockRows {
            input,
            table,
            row_start,
            with_row_id,
            filter,
            outputs,
            locking,
            offset,
            limit,
        } => lock_rows(
            LockRowsNode {
                input,
                table,
                row_start: *row_start,
                with_row_id: *with_row_id,
                filter: filter.as_ref(),
                outputs,
                locking: *locking,
                offset: offset.as_ref(),
                limit: limit.as_ref(),
            },
            ctx,
        ),
        Node::Union {
            inputs,
            distinct: dedupe,
        } => {
            let mut rows = Vec::new();
            for input in inputs {
                rows.extend(execute(input, ctx)?);
            }
            if *dedupe {
                distinct(rows, ctx)
            } else {
                Ok(rows)
            }
        }
    }
}

fn eval_all(exprs: &[Expr], row: &[Value], ctx: &mut ExecContext) -> Result<Row> {
    let mut out = Vec::with_capacity(exprs.len());
    for e in exprs {
        out.push(eval(e, row, ctx)?);
    }
    Ok(out)
}

fn pad(mut row: Row, width: usize) -> Row {
    row.extend(std::iter::repeat_n(Value::Null, width));
    row
}

#[allow(clippy::too_many_arguments)]
fn hash_join(
    left: Vec<Row>,
    right: Vec<Row>,
    left_keys: &[Expr],
    right_keys: &[Expr],
    residual: Option<&Expr>,
    kind: JoinKind,
    right_width: usize,
    ctx: &mut ExecContext,
) -> Result<Vec<Row>> {
    let mut table: HashMap<Vec<Value>, Vec<usize>> = HashMap::new();
    for (i, row) in right.iter().enumerate() {
        ctx.interrupt.check()?;
        let key = eval_all(right_keys, row, ctx)?;
        if key.iter().any(Value::is_null) {
            continue;
        }
        table.entry(key).or_default().push(i);
    }
    let mut out = Vec::new();
    for l in left {
        ctx.interrupt.check()?;
        let key = eval_all(left_keys, &l, ctx)?;
        let mut matched = false;
        if !key.iter().any(Value::is_null)
            && let Some(candidates) = table.get(&key)
        {
            for &i in candidates {
                ctx.interrupt.check()?;
                let Some(r) = right.get(i) else { continue };
                let mut joined = l.clone();
                joined.extend(r.iter().cloned());
                if holds(residual, &joined, ctx)? {
                    matched = true;
                    out.push(joined);
                }
            }
        }
        if !matched && kind == JoinKind::Left {
            out.push(pad(l, right_width));
        }
    }
    Ok(out)
}

/// ORDER BY comparison of two rows.
pub fn compare_rows(a: &[Value], b: &[Value], keys: &[SortKey]) -> Ordering {
    for key in keys {
        let x = a.get(key.column).unwrap_or(&Value::Null);
        let y = b.get(key.column).unwrap_or(&Value::Null);
        let ordering = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) if key.nulls_first => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if key.nulls_first => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) if key.descending => x.total_cmp(y).reverse(),
            (false, false) => x.total_cmp(y),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// Keeps the first of each set of equal rows, in order.
fn distinct(rows: Vec<Row>, ctx: &mut ExecContext) -> Result<Vec<Row>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        ctx.interrupt.check()?;
        if seen.insert(row.clone()) {
            out.push(row);
        }
    }
    Ok(out)
}

/// Sorts rows by ORDER BY keys, checking for a cancel as it compares: once
/// the statement is stopped every comparison says "equal", so the sort
/// finishes in about one more pass, and the stop is reported.
fn sort_rows(rows: &mut [Row], keys: &[SortKey], interrupt: &mut Interrupt) -> Result<()> {
    let mut stopped = None;
    rows.sort_by(|a, b| {
        if stopped.is_some() {
            return Ordering::Equal;
        }
        if let Err(error) = interrupt.check() {
            stopped = Some(error);
            return Ordering::Equal;
        }
        compare_rows(a, b, keys)
    });
    match stopped {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Evaluates LIMIT or OFFSET: NULL means none; negative is 2201W.
pub(crate) fn row_count(
    expr: Option<&Expr>,
    what: &str,
    ctx: &mut ExecContext,
) -> Result<Option<usize>> {
    let Some(expr) = expr else {
        return Ok(None);
    };
    match eval(expr, &[], ctx)? {
        Value::Null => Ok(None),
        Value::Integer(n) if n >= 0 => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        Value::Integer(_) => Err(Error::InvalidRowCount(format!(
            "{what} must not be negative"
        ))),
        other => Err(Error::InvalidRowCount(format!(
            "{what} must be an integer, not {}",
            other.type_name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_sort_past_its_deadline_stops() {
        let mut rows: Vec<Row> = (0..100_000)
            .rev()
            .map(|i| vec![Value::Integer(i)])
            .collect();
        let keys = [SortKey {
            column: 0,
            descending: false,
            nulls_first: false,
        }];
        let mut unlimited = Interrupt::never();
        let mut sorted = rows.clone();
        sort_rows(&mut sorted, &keys, &mut unlimited).expect("sorts");
        assert_eq!(sorted.first(), Some(&vec![Value::Integer(0)]));
        let mut expired = Interrupt::for_deadline(Instant::now() - Duration::from_millis(1));
        let error = sort_rows(&mut rows, &keys, &mut expired).expect_err("stopped");
        assert_eq!(error.sqlstate(), "57014");
    }
}
