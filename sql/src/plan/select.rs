//! SELECT: the select list, grouping and aggregates, HAVING, DISTINCT,
//! ORDER BY and LIMIT, on top of FROM and WHERE ([`crate::plan::join`]).
//!
//! The node stack of one SELECT, bottom up:
//!
//! ```text
//!   FROM/WHERE rows                       (the FROM scope)
//!   Aggregate [group keys | aggregates]   (only with GROUP BY or aggregates)
//!   Filter HAVING
//!   Project [select list | hidden sort columns]
//!   Distinct
//!   Sort
//!   Limit
//!   Truncate to the select list           (only with hidden sort columns)
//! ```
//!
//! With aggregation, select-list, HAVING and ORDER BY expressions are bound
//! in the FROM scope and then rewritten over the Aggregate's output: a
//! sub-expression equal to a GROUP BY expression becomes that key's column,
//! an aggregate call becomes its result column, and any other column
//! reference is a grouping error (42803).
//!
//! ORDER BY resolves, in order: an output column name, an ordinal, then
//! an expression that matches a select-list expression, and otherwise
//! computes a hidden column (not allowed with DISTINCT: 42P10).

use sqlparser::ast;

use crate::error::{Error, Result};
use crate::plan::binder::{Binder, ident_name};
use crate::plan::covering;
use crate::plan::expr::{AggregateCall, Expr};
use crate::plan::join::plan_from_where;
use crate::plan::locking::{
    LockedTable, RowLocking, check_lockable, locked_table, locking_clause, table_row_columns,
};
use crate::plan::{Column, Node, QueryPlan, SortKey};
use crate::types::Value;

fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::FeatureNotSupported(what.to_string())
}

/// Plans a query (SELECT, VALUES, UNION, with ORDER BY and LIMIT) inside
/// another statement: a locking clause is not supported there.
pub fn plan_query(b: &mut Binder, query: &ast::Query) -> Result<QueryPlan> {
    if !query.locks.is_empty() {
        return Err(unsupported(
            "FOR UPDATE / FOR SHARE in a subquery or INSERT ... SELECT",
        ));
    }
    plan_top_query(b, query)
}

/// Plans a query that is a whole statement, where `FOR UPDATE` and `FOR
/// SHARE` may lock its rows ([`crate::plan::locking`]); index scans that can
/// be answered from the index alone are marked so
/// ([`crate::plan::covering`]).
pub fn plan_top_query(b: &mut Binder, query: &ast::Query) -> Result<QueryPlan> {
    let mut plan = plan_query_tree(b, query)?;
    covering::use_covering_indexes(&mut plan.root);
    Ok(plan)
}

fn plan_query_tree(b: &mut Binder, query: &ast::Query) -> Result<QueryPlan> {
    if query.with.is_some() {
        return Err(unsupported("WITH"));
    }
    if query.fetch.is_some() || query.for_clause.is_some() || !query.pipe_operators.is_empty() {
        return Err(unsupported(format!("query {query}")));
    }
    let locking = locking_clause(&query.locks)?;
    let (limit, offset) = limit_clause(query.limit_clause.as_ref())?;
    let order_by = match &query.order_by {
        None => &[][..],
        Some(order) => match &order.kind {
            ast::OrderByKind::Expressions(items) => items.as_slice(),
            ast::OrderByKind::All(_) => return Err(unsupported("ORDER BY ALL")),
        },
    };
    let mut plan = match query.body.as_ref() {
        ast::SetExpr::Select(select) => {
            return plan_select(b, select, order_by, limit, offset, locking);
        }
        _ if locking.is_some() => {
            return Err(unsupported(
                "FOR UPDATE / FOR SHARE with UNION, VALUES or a parenthesized query",
            ));
        }
        other => plan_set_expr(b, other)?,
    };
    if !order_by.is_empty() {
        let mut keys = Vec::new();
        for item in order_by {
            let column = output_position(&item.expr, &plan.columns)?.ok_or_else(|| {
                unsupported(
                    "ORDER BY expressions on UNION or VALUES; use a column name or position",
                )
            })?;
            keys.push(sort_key(column, &item.options));
        }
        plan.root = Node::Sort {
            input: Box::new(plan.root),
            keys,
        };
    }
    plan.root = with_limit(b, plan.root, limit, offset)?;
    Ok(plan)
}

fn plan_set_expr(b: &mut Binder, body: &ast::SetExpr) -> Result<QueryPlan> {
    match body {
        ast::SetExpr::Select(select) => plan_select(b, select, &[], None, None, None),
        ast::SetExpr::Query(query) => plan_query(b, query),
        ast::SetExpr::Values(values) => plan_values(b, values),
        ast::SetExpr::SetOperation {
            op: ast::SetOperator::Union,
            set_quantifier,
            left,
            right,
        } => {
            let left = plan_set_expr(b, left)?;
            let right = plan_set_expr(b, right)?;
            if left.columns.len() != right.columns.len() {
                return Err(Error::SyntaxError {
                    message: "each UNION query must have the same number of columns".into(),
                    position: None,
                });
            }
            let distinct = !matches!(
                set_quantifier,
                ast::SetQuantifier::All | ast::SetQuantifier::AllByName
            );
            let columns = left
                .columns
                .iter()
                .zip(&right.columns)
                .map(|(l, r)| Column {
                    name: l.name.clone(),
                    data_type: l.data_type.or(r.data_type),
                })
                .collect();
            Ok(QueryPlan {
                root: Node::Union {
                    inputs: vec![left.root, right.root],
                    distinct,
                },
                columns,
            })
        }
        other => Err(unsupported(format!("query {other}"))),
    }
}

/// Plans `VALUES (..), (..)`: columns `column1`, `column2`, ...
pub fn plan_values(b: &mut Binder, values: &ast::Values) -> Result<QueryPlan> {
    let mut rows = Vec::with_capacity(values.rows.len());
    let width = values.rows.first().map_or(0, |r| r.content.len());
    for row in &values.rows {
        if row.content.len() != width {
            return Err(Error::SyntaxError {
                message: "VALUES lists must all be the same length".into(),
                position: None,
            });
        }
        let mut bound = Vec::with_capacity(width);
        for expr in &row.content {
            let e = b.bind(expr)?;
            if e.has_aggregate() {
                return Err(Error::GroupingError(
                    "aggregate functions are not allowed in VALUES".into(),
                ));
            }
            bound.push(e);
        }
        rows.push(bound);
    }
    let columns = (0..width)
        .map(|i| Column {
            name: format!("column{}", i + 1),
            data_type: rows
                .iter()
                .find_map(|r: &Vec<Expr>| r.get(i).and_then(|e| b.type_of(e))),
        })
        .collect();
    Ok(QueryPlan {
        root: Node::Values { rows },
        columns,
    })
}

/// Plans one SELECT with its ORDER BY and LIMIT.
fn plan_select(
    b: &mut Binder,
    select: &ast::Select,
    order_by: &[ast::OrderByExpr],
    limit: Option<&ast::Expr>,
    offset: Option<&ast::Expr>,
    locking: Option<(RowLocking, Option<String>)>,
) -> Result<QueryPlan> {
    if select.into.is_some()
        || select.top.is_some()
        || !select.lateral_views.is_empty()
        || select.prewhere.is_some()
        || !select.connect_by.is_empty()
        || !select.cluster_by.is_empty()
        || !select.distribute_by.is_empty()
        || !select.sort_by.is_empty()
        || !select.named_window.is_empty()
        || select.qualify.is_some()
    {
        return Err(unsupported(format!("SELECT clause in {select}")));
    }
    let node = plan_from_where(b, &select.from, select.selection.as_ref());
    let planned = node.and_then(|mut node| {
        let locked = match &locking {
            Some((how, of)) => Some((*how, lockable_from(select, &mut node, how, of.as_deref())?)),
            None => None,
        };
        plan_select_body(b, select, node, order_by, limit, offset, locked)
    });
    b.pop_scope();
    planned
}

/// The single table a locking SELECT reads (anything else is 0A000).
fn lockable_from(
    select: &ast::Select,
    node: &mut Node,
    locking: &RowLocking,
    of: Option<&str>,
) -> Result<LockedTable> {
    let label = match select.from.as_slice() {
        [item] if item.joins.is_empty() => match &item.relation {
            ast::TableFactor::Table { alias, .. } => alias.as_ref().map(|a| ident_name(&a.name)),
            _ => {
                return Err(unsupported(format!(
                    "{} on a derived table",
                    locking.as_sql()
                )));
            }
        },
        _ => {
            return Err(unsupported(format!(
                "{} on a join or a SELECT without exactly one table",
                locking.as_sql()
            )));
        }
    };
    locked_table(node, locking, of, label.as_deref())
}

/// The output name of a select item without an alias.
fn default_name(expr: &ast::Expr) -> String {
    match expr {
        ast::Expr::Identifier(ident) => ident_name(ident),
        ast::Expr::CompoundIdentifier(idents) => idents.last().map(ident_name).unwrap_or_default(),
        ast::Expr::Function(f) => f
            .name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(ident_name)
            .unwrap_or_else(|| "?column?".into()),
        ast::Expr::Nested(inner) => default_name(inner),
        ast::Expr::Cast { expr, .. } => default_name(expr),
        ast::Expr::Case { .. } => "case".into(),
        ast::Expr::Exists { .. } => "exists".into(),
        _ => "?column?".into(),
    }
}

/// The body of a SELECT, in its FROM scope.
fn plan_select_body(
    b: &mut Binder,
    select: &ast::Select,
    input: Node,
    order_by: &[ast::OrderByExpr],
    limit: Option<&ast::Expr>,
    offset: Option<&ast::Expr>,
    locked: Option<(RowLocking, LockedTable)>,
) -> Result<QueryPlan> {
    // The select list, bound in the FROM scope.
    let mut exprs: Vec<Expr> = Vec::new();
    let mut columns: Vec<Column> = Vec::new();
    for item in &select.projection {
        match item {
            ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => {
                let bound = b.bind(e)?;
                let name = match item {
                    ast::SelectItem::ExprWithAlias { alias, .. } => ident_name(alias),
                    _ => default_name(e),
                };
                columns.push(Column {
                    name,
                    data_type: b.type_of(&bound),
                });
                exprs.push(bound);
            }
            ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                let qualifier = match item {
                    ast::SelectItem::QualifiedWildcard(
                        ast::SelectItemQualifiedWildcardKind::ObjectName(name),
                        _,
                    ) => Some(crate::plan::binder::object_name(name)?),
                    ast::SelectItem::QualifiedWildcard(..) => {
                        return Err(unsupported(format!("select item {item}")));
                    }
                    _ => None,
                };
                let mut any = false;
                for (i, column) in b.scope().iter().enumerate() {
                    if qualifier.is_some() && column.table != qualifier {
                        continue;
                    }
                    any = true;
                    exprs.push(Expr::Column(i));
                    columns.push(Column {
                        name: column.name.clone(),
                        data_type: column.data_type,
                    });
                }
                if let Some(q) = &qualifier
                    && !any
                {
                    return Err(Error::UndefinedTable(q.clone()));
                }
                if qualifier.is_none() && !any {
                    return Err(Error::SyntaxError {
                        message: "SELECT * with no tables specified is not valid".into(),
                        position: None,
                    });
                }
            }
            other => return Err(unsupported(format!("select item {other}"))),
        }
    }

    // ORDER BY: output positions, or expressions in the FROM scope.
    enum OrderTarget {
        Output(usize),
        Expression(Expr),
    }
    let mut order_targets = Vec::with_capacity(order_by.len());
    for item in order_by {
        if let Some(position) = output_position(&item.expr, &columns)? {
            order_targets.push(OrderTarget::Output(position));
        } else {
            order_targets.push(OrderTarget::Expression(b.bind(&item.expr)?));
        }
    }

    // GROUP BY.
    let group_items = match &select.group_by {
        ast::GroupByExpr::Expressions(items, modifiers) if modifiers.is_empty() => items.as_slice(),
        ast::GroupByExpr::Expressions(..) | ast::GroupByExpr::All(_) => {
            return Err(unsupported("GROUP BY modifiers"));
        }
    };
    let mut group_by = Vec::with_capacity(group_items.len());
    for item in group_items {
        let bound = match literal_position(item, exprs.len())? {
            Some(position) => exprs[position].clone(),
            None => match b.bind(item) {
                Ok(e) => e,
                Err(Error::UndefinedColumn(name)) => {
                    match columns.iter().position(|c| c.name == name) {
                        Some(position) => exprs[position].clone(),
                        None => return Err(Error::UndefinedColumn(name)),
                    }
                }
                Err(e) => return Err(e),
            },
        };
        if bound.has_aggregate() {
            return Err(Error::GroupingError(
                "aggregate functions are not allowed in GROUP BY".into(),
            ));
        }
        group_by.push(bound);
    }
    let having = match &select.having {
        Some(h) => Some(b.bind(h)?),
        None => None,
    };

    let aggregated = !group_by.is_empty()
        || having.is_some()
        || exprs.iter().any(Expr::has_aggregate)
        || order_targets
            .iter()
            .any(|t| matches!(t, OrderTarget::Expression(e) if e.has_aggregate()));

    let mut node = input;
    if aggregated {
        let mut aggregates: Vec<AggregateCall> = Vec::new();
        let mut rewrite = |e: &Expr| rewrite_grouped(e, &group_by, &mut aggregates);
        let mut new_exprs = Vec::with_capacity(exprs.len());
        for e in &exprs {
            new_exprs.push(rewrite(e)?);
        }
        let having = match &having {
            Some(h) => Some(rewrite(h)?),
            None => None,
        };
        let mut new_targets = Vec::with_capacity(order_targets.len());
        for target in order_targets {
            new_targets.push(match target {
                OrderTarget::Expression(e) => OrderTarget::Expression(rewrite(&e)?),
                other => other,
            });
        }
        node = Node::Aggregate {
            input: Box::new(node),
            group_by,
            aggregates,
        };
        if let Some(predicate) = having {
            node = Node::Filter {
                input: Box::new(node),
                predicate,
            };
        }
        exprs = new_exprs;
        order_targets = new_targets;
    }

    // Hidden sort columns, then the projection.
    let visible = exprs.len();
    let mut keys = Vec::with_capacity(order_targets.len());
    for (target, item) in order_targets.into_iter().zip(order_by) {
        let column = match target {
            OrderTarget::Output(position) => position,
            OrderTarget::Expression(e) => match exprs.iter().position(|x| *x == e) {
                Some(position) => position,
                None => {
                    exprs.push(e);
                    exprs.len() - 1
                }
            },
        };
        keys.push(sort_key(column, &item.options));
    }
    let distinct = match &select.distinct {
        None | Some(ast::Distinct::All) => false,
        Some(ast::Distinct::Distinct) => true,
        Some(ast::Distinct::On(_)) => return Err(unsupported("DISTINCT ON")),
    };
    if distinct && exprs.len() > visible {
        return Err(Error::InvalidColumnReference(
            "for SELECT DISTINCT, ORDER BY expressions must appear in select list".into(),
        ));
    }
    if let Some((locking, _)) = &locked {
        check_lockable(locking, aggregated, distinct)?;
    }
    let outputs = exprs.clone();
    if let Some((_, table)) = &locked {
        exprs.extend(table_row_columns(table));
    }
    node = Node::Project {
        input: Box::new(node),
        exprs,
    };
    let width = match &node {
        Node::Project { exprs, .. } => exprs.len(),
        _ => visible,
    };
    if distinct {
        node = Node::Distinct {
            input: Box::new(node),
        };
    }
    if !keys.is_empty() {
        node = Node::Sort {
            input: Box::new(node),
            keys,
        };
    }
    node = with_limit(b, node, limit, offset)?;
    if let Some((locking, locked)) = locked {
        node = lock_under_limit(node, locking, locked, outputs);
    }
    if width > visible {
        node = Node::Truncate {
            input: Box::new(node),
            width: visible,
        };
    }
    Ok(QueryPlan {
        root: node,
        columns,
    })
}

/// Puts a LockRows node under the Limit (or on top, without one).
fn lock_under_limit(
    node: Node,
    locking: RowLocking,
    locked: LockedTable,
    outputs: Vec<Expr>,
) -> Node {
    let row_start = outputs.len();
    let lock = |input: Node, offset: Option<Expr>, limit: Option<Expr>| Node::LockRows {
        input: Box::new(input),
        table: locked.table.clone(),
        row_start,
        with_row_id: locked.with_row_id,
        filter: locked.filter.clone(),
        outputs: outputs.clone(),
        locking,
        offset,
        limit,
    };
    match node {
        Node::Limit {
            input,
            offset,
            limit,
        } => Node::Limit {
            input: Box::new(lock(*input, offset.clone(), limit.clone())),
            offset,
            limit,
        },
        other => lock(other, None, None),
    }
}

/// Rewrites an expression bound in the FROM scope over the Aggregate's
/// output (group keys, then aggregates), registering aggregate calls.
fn rewrite_grouped(
    expr: &Expr,
    group_by: &[Expr],
    aggregates: &mut Vec<AggregateCall>,
) -> Result<Expr> {
    let keys = group_by.len();
    expr.transform(&mut |e| {
        if let Some(position) = group_by.iter().position(|g| g == e) {
            return Ok(Some(Expr::Column(position)));
        }
        match e {
            Expr::Aggregate(call) => {
                let position = match aggregates.iter().position(|a| a == call.as_ref()) {
                    Some(position) => position,
                    None => {
                        aggregates.push(call.as_ref().clone());
                        aggregates.len() - 1
                    }
                };
                Ok(Some(Expr::Column(keys + position)))
            }
            Expr::Column(_) => Err(Error::GroupingError(
                "a column must appear in the GROUP BY clause or be used in an aggregate function"
                    .into(),
            )),
            Expr::Subquery(s)
            | Expr::Exists { subquery: s, .. }
            | Expr::InSubquery { subquery: s, .. }
                if s.correlated =>
            {
                Err(Error::FeatureNotSupported(
                    "correlated subqueries in an aggregated select list or HAVING".into(),
                ))
            }
            _ => Ok(None),
        }
    })
}

/// An ORDER BY item naming an output column or giving its position.
fn output_position(expr: &ast::Expr, columns: &[Column]) -> Result<Option<usize>> {
    if let Some(position) = literal_position(expr, columns.len())? {
        return Ok(Some(position));
    }
    if let ast::Expr::Identifier(ident) = expr {
        let name = ident_name(ident);
        let matching: Vec<usize> = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.name == name)
            .map(|(i, _)| i)
            .collect();
        return match matching.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(Error::AmbiguousColumn(name)),
        };
    }
    Ok(None)
}

/// `ORDER BY 2` / `GROUP BY 2`: a 0-based position; out of range is 42P10.
fn literal_position(expr: &ast::Expr, width: usize) -> Result<Option<usize>> {
    let ast::Expr::Value(value) = expr else {
        return Ok(None);
    };
    let ast::Value::Number(text, _) = &value.value else {
        return Ok(None);
    };
    match text.parse::<usize>() {
        Ok(n) if n >= 1 && n <= width => Ok(Some(n - 1)),
        _ => Err(Error::InvalidColumnReference(format!(
            "position {text} is not in select list"
        ))),
    }
}

fn sort_key(column: usize, options: &ast::OrderByOptions) -> SortKey {
    let descending = matches!(options.sort, Some(ast::OrderBySort::Desc));
    SortKey {
        column,
        descending,
        nulls_first: options.nulls_first.unwrap_or(descending),
    }
}

fn limit_clause(
    clause: Option<&ast::LimitClause>,
) -> Result<(Option<&ast::Expr>, Option<&ast::Expr>)> {
    match clause {
        None => Ok((None, None)),
        Some(ast::LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        }) => {
            if !limit_by.is_empty() {
                return Err(unsupported("LIMIT BY"));
            }
            Ok((limit.as_ref(), offset.as_ref().map(|o| &o.value)))
        }
        Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
            Ok((Some(limit), Some(offset)))
        }
    }
}

/// Wraps `node` in a Limit when LIMIT or OFFSET is given. Their
/// expressions may not read columns (they are bound in an empty scope).
fn with_limit(
    b: &mut Binder,
    node: Node,
    limit: Option<&ast::Expr>,
    offset: Option<&ast::Expr>,
) -> Result<Node> {
    if limit.is_none() && offset.is_none() {
        return Ok(node);
    }
    b.push_scope(Vec::new());
    let bind = |b: &mut Binder, e: Option<&ast::Expr>| -> Result<Option<Expr>> {
        match e {
            None => Ok(None),
            Some(ast::Expr::Value(v)) if matches!(v.value, ast::Value::Null) => Ok(None),
            Some(e) => {
                let bound = b.bind(e)?;
                b.note_param_type(&bound, Some(crate::types::DataType::Integer));
                if bound.has_aggregate() || !bound.columns().is_empty() {
                    return Err(Error::InvalidRowCount(
                        "argument of LIMIT/OFFSET must not contain columns or aggregates".into(),
                    ));
                }
                Ok(Some(bound))
            }
        }
    };
    let limit = bind(b, limit);
    let offset = bind(b, offset);
    b.pop_scope();
    let (limit, offset) = (limit?, offset?);
    if let Some(Expr::Constant(v)) = &limit
        && !matches!(v, Value::Integer(_) | Value::Null)
    {
        return Err(Error::InvalidRowCount(format!(
            "LIMIT must be an integer, not {v}"
        )));
    }
    Ok(Node::Limit {
        input: Box::new(node),
        offset,
        limit,
    })
}
