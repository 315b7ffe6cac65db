//! Planning INSERT, UPDATE and DELETE.
//!
//! UPDATE and DELETE read their target rows with an ordinary scan of the
//! table (so they use key lookups and index scans like a SELECT does) with
//! the hidden row id appended for tables without a primary key; the
//! executor collects every target row before it writes anything, so a
//! statement never sees its own changes (no Halloween problem).
//!
//! INSERT's source is a VALUES list or any query. `DEFAULT` in VALUES and
//! columns missing from the column list take the column's DEFAULT (or
//! NULL). String literals going into non-text columns are cast at plan
//! time, as PostgreSQL does with untyped literals.

use sqlparser::ast;

use crate::catalog::TableDef;
use crate::error::{Error, Result};
use crate::parse::parse_expression;
use crate::plan::access::choose_access;
use crate::plan::binder::{Binder, ScopeColumn, ident_name, object_name};
use crate::plan::expr::Expr;
use crate::plan::select::plan_query;
use crate::plan::{Column, Node, Returning};
use crate::types::{Value, cast};

/// A planned INSERT.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertPlan {
    /// The table written.
    pub table: TableDef,
    /// For each source column, the table column it fills.
    pub targets: Vec<usize>,
    /// The rows to insert.
    pub source: Node,
    /// Per table column: the expression filling it when no source column
    /// does (its DEFAULT, or NULL).
    pub defaults: Vec<Expr>,
    /// RETURNING, over the inserted row.
    pub returning: Option<Returning>,
}

/// A planned UPDATE.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdatePlan {
    /// The table written.
    pub table: TableDef,
    /// The target rows (all columns, then the row id if the table has one).
    pub source: Node,
    /// `column = expression` over the old row.
    pub assignments: Vec<(usize, Expr)>,
    /// RETURNING, over the new row.
    pub returning: Option<Returning>,
}

/// A planned DELETE.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletePlan {
    /// The table written.
    pub table: TableDef,
    /// The target rows (all columns, then the row id if the table has one).
    pub source: Node,
    /// RETURNING, over the deleted row.
    pub returning: Option<Returning>,
}

fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::FeatureNotSupported(what.to_string())
}

/// The scope of a table's row under `label`.
fn table_scope(table: &TableDef, label: &str) -> Vec<ScopeColumn> {
    table
        .columns
        .iter()
        .map(|c| ScopeColumn {
            table: Some(label.to_string()),
            name: c.name.clone(),
            data_type: Some(c.data_type),
        })
        .collect()
}

/// Binds a column's DEFAULT expression (which may not read columns).
pub fn bind_default(b: &mut Binder, text: Option<&str>) -> Result<Expr> {
    let Some(text) = text else {
        return Ok(Expr::Constant(Value::Null));
    };
    let parsed = parse_expression(text)?;
    b.push_scope(Vec::new());
    let bound = b.bind(&parsed);
    b.pop_scope();
    bound
}

/// Casts a string literal to the column's type at plan time.
fn literal_for_column(expr: Expr, table: &TableDef, column: usize) -> Result<Expr> {
    match (&expr, table.columns.get(column)) {
        (Expr::Constant(value @ Value::Text(_)), Some(def)) => {
            Ok(Expr::Constant(cast(value, def.data_type)?))
        }
        _ => Ok(expr),
    }
}

/// True for the bare word DEFAULT in a VALUES list.
fn is_default_marker(expr: &ast::Expr) -> bool {
    matches!(expr, ast::Expr::Identifier(ident)
        if ident.quote_style.is_none() && ident.value.eq_ignore_ascii_case("default"))
}

/// Plans INSERT.
pub fn plan_insert(b: &mut Binder, insert: &ast::Insert) -> Result<InsertPlan> {
    let ast::TableObject::TableName(name) = &insert.table else {
        return Err(unsupported("INSERT into a table function"));
    };
    if insert.on.is_some() || insert.or.is_some() || !insert.assignments.is_empty() {
        return Err(unsupported("INSERT ... ON CONFLICT / SET"));
    }
    let table = b.table(&object_name(name)?)?;
    let targets: Vec<usize> = if insert.columns.is_empty() {
        (0..table.columns.len()).collect()
    } else {
        let mut targets = Vec::with_capacity(insert.columns.len());
        for column in &insert.columns {
            let column_name = object_name(column)?;
            let position = table
                .column_index(&column_name)
                .ok_or_else(|| Error::UndefinedColumn(column_name.clone()))?;
            if targets.contains(&position) {
                return Err(Error::DuplicateColumn(column_name));
            }
            targets.push(position);
        }
        targets
    };
    let mut defaults = Vec::with_capacity(table.columns.len());
    for column in &table.columns {
        defaults.push(bind_default(b, column.default.as_deref())?);
    }
    let Some(source) = &insert.source else {
        return Err(unsupported("INSERT without VALUES or SELECT"));
    };
    let (source, width) = match source.body.as_ref() {
        ast::SetExpr::Values(values)
            if source.order_by.is_none() && source.limit_clause.is_none() =>
        {
            b.push_scope(Vec::new());
            let rows = values_rows(b, values, &table, &targets, &defaults);
            b.pop_scope();
            let rows = rows?;
            let width = rows.first().map_or(targets.len(), Vec::len);
            (Node::Values { rows }, width)
        }
        _ => {
            b.push_scope(Vec::new());
            let planned = plan_query(b, source);
            b.pop_scope();
            let plan = planned?;
            (plan.root, plan.columns.len())
        }
    };
    if width > targets.len() {
        return Err(Error::SyntaxError {
            message: "INSERT has more expressions than target columns".into(),
            position: None,
        });
    }
    let targets = targets[..width].to_vec();
    let label = table.name.clone();
    let returning = plan_returning(b, &table, &label, insert.returning.as_deref())?;
    Ok(InsertPlan {
        table,
        targets,
        source,
        defaults,
        returning,
    })
}

/// Binds the rows of `INSERT ... VALUES`, resolving DEFAULT.
fn values_rows(
    b: &mut Binder,
    values: &ast::Values,
    table: &TableDef,
    targets: &[usize],
    defaults: &[Expr],
) -> Result<Vec<Vec<Expr>>> {
    let width = values.rows.first().map_or(0, |r| r.content.len());
    let mut rows = Vec::with_capacity(values.rows.len());
    for row in &values.rows {
        if row.content.len() != width {
            return Err(Error::SyntaxError {
                message: "VALUES lists must all be the same length".into(),
                position: None,
            });
        }
        if width > targets.len() {
            return Err(Error::SyntaxError {
                message: "INSERT has more expressions than target columns".into(),
                position: None,
            });
        }
        let mut bound = Vec::with_capacity(width);
        for (expr, &column) in row.content.iter().zip(targets) {
            if is_default_marker(expr) {
                bound.push(
                    defaults
                        .get(column)
                        .cloned()
                        .unwrap_or(Expr::Constant(Value::Null)),
                );
                continue;
            }
            let e = b.bind(expr)?;
            if e.has_aggregate() {
                return Err(Error::GroupingError(
                    "aggregate functions are not allowed in VALUES".into(),
                ));
            }
            b.note_param_type(&e, table.columns.get(column).map(|c| c.data_type));
            bound.push(literal_for_column(e, table, column)?);
        }
        rows.push(bound);
    }
    Ok(rows)
}

/// Binds a RETURNING list over the table's row.
fn plan_returning(
    b: &mut Binder,
    table: &TableDef,
    label: &str,
    items: Option<&[ast::SelectItem]>,
) -> Result<Option<Returning>> {
    let Some(items) = items else {
        return Ok(None);
    };
    b.push_scope(table_scope(table, label));
    let bound = bind_select_items(b, items);
    b.pop_scope();
    let (exprs, columns) = bound?;
    Ok(Some(Returning { exprs, columns }))
}

/// Binds select items in the current scope (no aggregates allowed).
fn bind_select_items(
    b: &mut Binder,
    items: &[ast::SelectItem],
) -> Result<(Vec<Expr>, Vec<Column>)> {
    let mut exprs = Vec::new();
    let mut columns = Vec::new();
    for item in items {
        match item {
            ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => {
                let bound = b.bind(e)?;
                if bound.has_aggregate() {
                    return Err(Error::GroupingError(
                        "aggregate functions are not allowed in RETURNING".into(),
                    ));
                }
                let name = match item {
                    ast::SelectItem::ExprWithAlias { alias, .. } => ident_name(alias),
                    _ => match e {
                        ast::Expr::Identifier(ident) => ident_name(ident),
                        ast::Expr::CompoundIdentifier(idents) => {
                            idents.last().map(ident_name).unwrap_or_default()
                        }
                        _ => "?column?".into(),
                    },
                };
                columns.push(Column {
                    name,
                    data_type: b.type_of(&bound),
                });
                exprs.push(bound);
            }
            ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                for (i, column) in b.scope().iter().enumerate() {
                    columns.push(Column {
                        name: column.name.clone(),
                        data_type: column.data_type,
                    });
                    exprs.push(Expr::Column(i));
                }
            }
            other => return Err(unsupported(format!("RETURNING item {other}"))),
        }
    }
    Ok((exprs, columns))
}

/// The table and label (alias) a DML statement targets.
fn target_table(b: &mut Binder, relation: &ast::TableFactor) -> Result<(TableDef, String)> {
    match relation {
        ast::TableFactor::Table {
            name, alias, args, ..
        } if args.is_none() => {
            let table = b.table(&object_name(name)?)?;
            let label = alias
                .as_ref()
                .map(|a| ident_name(&a.name))
                .unwrap_or_else(|| table.name.clone());
            Ok((table, label))
        }
        other => Err(unsupported(format!("target {other}"))),
    }
}

/// The scan reading the target rows of UPDATE or DELETE (scope pushed).
fn target_scan(b: &mut Binder, table: &TableDef, selection: Option<&ast::Expr>) -> Result<Node> {
    let filter = match selection {
        Some(e) => {
            let bound = b.bind(e)?;
            if bound.has_aggregate() {
                return Err(Error::GroupingError(
                    "aggregate functions are not allowed in WHERE".into(),
                ));
            }
            Some(bound)
        }
        None => None,
    };
    let conjuncts = filter.clone().map(Expr::into_conjuncts).unwrap_or_default();
    Ok(Node::Scan {
        table: table.clone(),
        access: choose_access(table, &conjuncts),
        filter,
        with_row_id: table.has_row_id(),
    })
}

/// Plans UPDATE.
pub fn plan_update(b: &mut Binder, update: &ast::Update) -> Result<UpdatePlan> {
    if update.from.is_some() || !update.table.joins.is_empty() || update.limit.is_some() {
        return Err(unsupported("UPDATE ... FROM / JOIN / LIMIT"));
    }
    let (table, label) = target_table(b, &update.table.relation)?;
    b.push_scope(table_scope(&table, &label));
    let planned = (|| {
        let source = target_scan(b, &table, update.selection.as_ref())?;
        let mut assignments: Vec<(usize, Expr)> = Vec::new();
        for assignment in &update.assignments {
            let ast::AssignmentTarget::ColumnName(name) = &assignment.target else {
                return Err(unsupported("UPDATE of a column tuple"));
            };
            let column_name = name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .map(ident_name)
                .unwrap_or_default();
            let column = table
                .column_index(&column_name)
                .ok_or_else(|| Error::UndefinedColumn(column_name.clone()))?;
            if assignments.iter().any(|(c, _)| *c == column) {
                return Err(Error::SyntaxError {
                    message: format!("multiple assignments to same column \"{column_name}\""),
                    position: None,
                });
            }
            let value = if is_default_marker(&assignment.value) {
                bind_default(b, table.columns[column].default.as_deref())?
            } else {
                b.bind(&assignment.value)?
            };
            if value.has_aggregate() {
                return Err(Error::GroupingError(
                    "aggregate functions are not allowed in UPDATE".into(),
                ));
            }
            b.note_param_type(&value, table.columns.get(column).map(|c| c.data_type));
            assignments.push((column, literal_for_column(value, &table, column)?));
        }
        Ok((source, assignments))
    })();
    b.pop_scope();
    let (source, assignments) = planned?;
    let returning = plan_returning(b, &table, &label, update.returning.as_deref())?;
    Ok(UpdatePlan {
        table,
        source,
        assignments,
        returning,
    })
}

/// Plans DELETE.
pub fn plan_delete(b: &mut Binder, delete: &ast::Delete) -> Result<DeletePlan> {
    let from = match &delete.from {
        ast::FromTable::WithFromKeyword(from) | ast::FromTable::WithoutKeyword(from) => from,
    };
    let [item] = from.as_slice() else {
        return Err(unsupported("DELETE from several tables"));
    };
    if !item.joins.is_empty()
        || delete.using.is_some()
        || !delete.tables.is_empty()
        || delete.limit.is_some()
    {
        return Err(unsupported("DELETE ... USING / JOIN / LIMIT"));
    }
    let (table, label) = target_table(b, &item.relation)?;
    b.push_scope(table_scope(&table, &label));
    let source = target_scan(b, &table, delete.selection.as_ref());
    b.pop_scope();
    let source = source?;
    let returning = plan_returning(b, &table, &label, delete.returning.as_deref())?;
    Ok(DeletePlan {
        table,
        source,
        returning,
    })
}
