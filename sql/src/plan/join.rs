//! FROM and WHERE: table factors, predicate push-down and join methods.
//!
//! The FROM clause becomes a list of factors joined left to right; the
//! joined row is the concatenation of the factors' columns, so a column
//! keeps one position from the first join to the last:
//!
//! ```text
//!   FROM a JOIN b ON a.id = b.a_id, c WHERE c.k = 7 AND b.v > a.v
//!   row: a.* | b.* | c.*
//!   conjuncts: a.id = b.a_id (ON of an inner join is just a WHERE term)
//!              c.k = 7       -> pushed into c's scan (access path!)
//!              b.v > a.v     -> applied when b joins
//!   plan: NestedLoopJoin(cross)
//!           HashJoin(inner, a.id = b.a_id, residual b.v > a.v)
//!             Scan a, Scan b
//!           Scan c (c.k = 7)
//! ```
//!
//! Rules that keep this correct:
//! - a term that mentions one factor only is pushed into that factor's
//!   scan, unless the factor is the nullable side of a LEFT JOIN (a WHERE
//!   term must then see the NULL-extended row); the ON terms of a LEFT
//!   JOIN that mention only its right side are pushed there instead;
//! - a term is applied as soon as every factor it mentions has joined;
//!   with INNER, LEFT and CROSS joins only, earlier columns never change;
//! - terms with subqueries are applied last, on the complete row, because
//!   a correlated subquery may read any column of it;
//! - an equality between an expression over the joined-so-far factors and
//!   one over the new factor is a hash-join key; other terms are residual.

use sqlparser::ast;

use crate::catalog::TableDef;
use crate::catalog::system::SystemTable;
use crate::error::{Error, Result};
use crate::plan::access::choose_access;
use crate::plan::binder::{Binder, RelationRef, ScopeColumn, ident_name};
use crate::plan::expr::{BinaryOp, Expr};
use crate::plan::{JoinKind, Node, select};

/// Where a factor's rows come from.
enum Source {
    Table(TableDef),
    System(SystemTable),
    Derived(Box<Node>),
}

/// How a factor joins the factors before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Joining {
    Cross,
    Inner,
    Left,
}

/// One item of the FROM clause.
struct Factor<'q> {
    source: Source,
    columns: Vec<ScopeColumn>,
    joining: Joining,
    on: Option<&'q ast::Expr>,
}

/// A WHERE or ON term with the factors it mentions.
struct Term {
    expr: Expr,
    first: usize,
    last: usize,
    mentions_any: bool,
    has_subquery: bool,
}

fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::FeatureNotSupported(what.to_string())
}

/// Plans the FROM items (before the FROM scope exists).
fn plan_factors<'q>(b: &mut Binder, from: &'q [ast::TableWithJoins]) -> Result<Vec<Factor<'q>>> {
    let mut factors = Vec::new();
    for item in from {
        factors.push(plan_factor(b, &item.relation, Joining::Cross, None)?);
        for join in &item.joins {
            let (joining, constraint) = match &join.join_operator {
                ast::JoinOperator::Join(c) | ast::JoinOperator::Inner(c) => (Joining::Inner, c),
                ast::JoinOperator::Left(c) | ast::JoinOperator::LeftOuter(c) => (Joining::Left, c),
                ast::JoinOperator::CrossJoin(c) => (Joining::Cross, c),
                other => return Err(unsupported(format!("join {other:?}"))),
            };
            let on = match constraint {
                ast::JoinConstraint::On(e) => Some(e),
                ast::JoinConstraint::None => None,
                other => return Err(unsupported(format!("join constraint {other:?}"))),
            };
            if joining != Joining::Cross && on.is_none() {
                return Err(Error::SyntaxError {
                    message: "JOIN requires an ON condition".into(),
                    position: None,
                });
            }
            factors.push(plan_factor(b, &join.relation, joining, on)?);
        }
    }
    Ok(factors)
}

fn plan_factor<'q>(
    b: &mut Binder,
    relation: &ast::TableFactor,
    joining: Joining,
    on: Option<&'q ast::Expr>,
) -> Result<Factor<'q>> {
    match relation {
        ast::TableFactor::Table {
            name, alias, args, ..
        } => {
            if args.is_some() {
                return Err(unsupported(format!("table function {name}")));
            }
            let table = match b.relation(name)? {
                RelationRef::Table(table) => table,
                RelationRef::System(system) => {
                    let relation = system.relation();
                    let label = match alias {
                        Some(alias) => ident_name(&alias.name),
                        None => relation.name.to_string(),
                    };
                    let columns = relation
                        .columns
                        .iter()
                        .map(|(name, data_type)| ScopeColumn {
                            table: Some(label.clone()),
                            name: (*name).to_string(),
                            data_type: Some(*data_type),
                        })
                        .collect();
                    return Ok(Factor {
                        source: Source::System(system),
                        columns,
                        joining,
                        on,
                    });
                }
            };
            let label = match alias {
                Some(alias) => ident_name(&alias.name),
                None => table.name.clone(),
            };
            let columns = table
                .columns
                .iter()
                .map(|c| ScopeColumn {
                    table: Some(label.clone()),
                    name: c.name.clone(),
                    data_type: Some(c.data_type),
                })
                .collect();
            Ok(Factor {
                source: Source::Table(table),
                columns,
                joining,
                on,
            })
        }
        ast::TableFactor::Derived {
            lateral: false,
            subquery,
            alias,
            ..
        } => {
            let label = alias.as_ref().map(|a| ident_name(&a.name));
            b.enter()?;
            let planned = select::plan_query(b, subquery);
            b.leave();
            let plan = planned?;
            let renamed: Vec<String> = alias
                .as_ref()
                .map(|a| a.columns.iter().map(|c| ident_name(&c.name)).collect())
                .unwrap_or_default();
            let columns = plan
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| ScopeColumn {
                    table: label.clone(),
                    name: renamed.get(i).cloned().unwrap_or_else(|| c.name.clone()),
                    data_type: c.data_type,
                })
                .collect();
            Ok(Factor {
                source: Source::Derived(Box::new(plan.root)),
                columns,
                joining,
                on,
            })
        }
        ast::TableFactor::NestedJoin { .. } => Err(unsupported("parenthesized joins")),
        other => Err(unsupported(format!("FROM item {other}"))),
    }
}

/// Plans FROM and WHERE: pushes the FROM scope (the caller pops it) and
/// returns the joined, filtered rows. Without FROM, one empty row.
pub fn plan_from_where(
    b: &mut Binder,
    from: &[ast::TableWithJoins],
    selection: Option<&ast::Expr>,
) -> Result<Node> {
    let factors = match plan_factors(b, from) {
        Ok(factors) => factors,
        Err(e) => {
            b.push_scope(Vec::new());
            return Err(e);
        }
    };
    b.push_scope(factors.iter().flat_map(|f| f.columns.clone()).collect());
    let mut offsets = Vec::with_capacity(factors.len() + 1);
    let mut width = 0;
    for factor in &factors {
        offsets.push(width);
        width += factor.columns.len();
    }
    offsets.push(width);
    let factor_of = |column: usize| offsets.partition_point(|&o| o <= column).saturating_sub(1);
    let term = |expr: Expr| {
        let columns = expr.columns();
        Term {
            first: columns.iter().map(|&c| factor_of(c)).min().unwrap_or(0),
            last: columns.iter().map(|&c| factor_of(c)).max().unwrap_or(0),
            mentions_any: !columns.is_empty(),
            has_subquery: expr.has_subquery(),
            expr,
        }
    };

    // WHERE terms, plus the ON terms of inner joins (equivalent there).
    let mut pool: Vec<Term> = Vec::new();
    if let Some(selection) = selection {
        let bound = b.bind(selection)?;
        if bound.has_aggregate() {
            return Err(Error::GroupingError(
                "aggregate functions are not allowed in WHERE".into(),
            ));
        }
        pool.extend(bound.into_conjuncts().into_iter().map(term));
    }
    let mut left_join_terms: Vec<Vec<Term>> = (0..factors.len()).map(|_| Vec::new()).collect();
    for (i, factor) in factors.iter().enumerate() {
        let Some(on) = factor.on else { continue };
        let bound = b.bind(on)?;
        if bound.has_aggregate() {
            return Err(Error::GroupingError(
                "aggregate functions are not allowed in JOIN conditions".into(),
            ));
        }
        for t in bound.into_conjuncts().into_iter().map(term) {
            if t.last > i {
                return Err(Error::UndefinedTable(
                    "invalid reference to a FROM-clause entry to the right of its JOIN".into(),
                ));
            }
            if factor.joining == Joining::Left {
                left_join_terms[i].push(t);
            } else {
                pool.push(t);
            }
        }
    }

    // Push single-factor terms into the factors.
    let mut pushed: Vec<Vec<Expr>> = (0..factors.len()).map(|_| Vec::new()).collect();
    let mut keep = Vec::new();
    for t in pool {
        let pushable = t.mentions_any
            && !t.has_subquery
            && t.first == t.last
            && factors[t.first].joining != Joining::Left;
        if pushable {
            pushed[t.first].push(t.expr.shift_columns_down(offsets[t.first]));
        } else {
            keep.push(t);
        }
    }
    let mut pool = keep;
    for (i, terms) in left_join_terms.iter_mut().enumerate() {
        let (local, rest): (Vec<Term>, Vec<Term>) = std::mem::take(terms)
            .into_iter()
            .partition(|t| t.mentions_any && !t.has_subquery && t.first == i && t.last == i);
        pushed[i].extend(
            local
                .into_iter()
                .map(|t| t.expr.shift_columns_down(offsets[i])),
        );
        *terms = rest;
    }

    // Build the factors' nodes and join them left to right.
    let mut joined: Option<Node> = None;
    for (i, (factor, filters)) in factors.into_iter().zip(pushed).enumerate() {
        let node = factor_node(factor.source, filters);
        let Some(left) = joined.take() else {
            joined = Some(node);
            continue;
        };
        let right_width = offsets[i + 1] - offsets[i];
        let (conditions, after): (Vec<Term>, Vec<Term>) = if factor.joining == Joining::Left {
            let (after, rest): (Vec<Term>, Vec<Term>) = std::mem::take(&mut pool)
                .into_iter()
                .partition(|t| !t.has_subquery && t.last <= i);
            pool = rest;
            (std::mem::take(&mut left_join_terms[i]), after)
        } else {
            let (now, rest): (Vec<Term>, Vec<Term>) = std::mem::take(&mut pool)
                .into_iter()
                .partition(|t| !t.has_subquery && t.last <= i);
            pool = rest;
            (now, Vec::new())
        };
        let kind = if factor.joining == Joining::Left {
            JoinKind::Left
        } else {
            JoinKind::Inner
        };
        let mut node = join_node(left, node, conditions, offsets[i], kind, right_width);
        if let Some(predicate) = Expr::conjunction(after.into_iter().map(|t| t.expr).collect()) {
            node = Node::Filter {
                input: Box::new(node),
                predicate,
            };
        }
        joined = Some(node);
    }
    let mut node = joined.unwrap_or(Node::Values {
        rows: vec![Vec::new()],
    });
    if let Some(predicate) = Expr::conjunction(pool.into_iter().map(|t| t.expr).collect()) {
        node = Node::Filter {
            input: Box::new(node),
            predicate,
        };
    }
    Ok(node)
}

/// The node reading one factor, with its pushed-down filters.
fn factor_node(source: Source, filters: Vec<Expr>) -> Node {
    match source {
        Source::Table(table) => {
            let access = choose_access(&table, &filters);
            Node::Scan {
                table,
                access,
                filter: Expr::conjunction(filters),
                with_row_id: false,
            }
        }
        Source::System(table) => Node::SystemScan {
            table,
            filter: Expr::conjunction(filters),
        },
        Source::Derived(node) => match Expr::conjunction(filters) {
            Some(predicate) => Node::Filter {
                input: node,
                predicate,
            },
            None => *node,
        },
    }
}

/// Joins `left` (columns before `split`) with `right`: a hash join when
/// some condition is an equality across the two sides.
fn join_node(
    left: Node,
    right: Node,
    conditions: Vec<Term>,
    split: usize,
    kind: JoinKind,
    right_width: usize,
) -> Node {
    let mut left_keys = Vec::new();
    let mut right_keys = Vec::new();
    let mut residual = Vec::new();
    for t in conditions {
        if let Expr::Binary {
            op: BinaryOp::Eq,
            left: l,
            right: r,
        } = &t.expr
            && !t.has_subquery
        {
            let side = |e: &Expr| {
                let columns = e.columns();
                if columns.is_empty() {
                    None
                } else if columns.iter().all(|&c| c < split) {
                    Some(true)
                } else if columns.iter().all(|&c| c >= split) {
                    Some(false)
                } else {
                    None
                }
            };
            match (side(l), side(r)) {
                (Some(true), Some(false)) => {
                    left_keys.push(l.as_ref().clone());
                    right_keys.push(r.shift_columns_down(split));
                    continue;
                }
                (Some(false), Some(true)) => {
                    left_keys.push(r.as_ref().clone());
                    right_keys.push(l.shift_columns_down(split));
                    continue;
                }
                _ => {}
            }
        }
        residual.push(t.expr);
    }
    if left_keys.is_empty() {
        Node::NestedLoopJoin {
            left: Box::new(left),
            right: Box::new(right),
            condition: Expr::conjunction(residual),
            kind,
            right_width,
        }
    } else {
        Node::HashJoin {
            left: Box::new(left),
            right: Box::new(right),
            left_keys,
            right_keys,
            residual: Expr::conjunction(residual),
            kind,
            right_width,
        }
    }
}
