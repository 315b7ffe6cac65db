//! Running INSERT, UPDATE, DELETE and DDL.
//!
//! Values are assigned to columns with PostgreSQL's assignment rules:
//!
//! ```text
//!   NULL             -> NULL (NOT NULL is checked when the row is written)
//!   INTEGER->DOUBLE  -> converted          DOUBLE->INTEGER -> rounded (22003 if out of range)
//!   same type        -> unchanged          anything else   -> 42804 datatype mismatch
//! ```
//!
//! UPDATE and DELETE lock every target row before changing any; at READ
//! COMMITTED a row that another transaction changed meanwhile is
//! re-checked against the WHERE clause ([`crate::exec::lock`]).
//!
//! UPDATE first computes every new row, then deletes all old rows, then
//! inserts all new ones: constraints are checked against the statement's
//! final state, so `UPDATE t SET id = id + 1` works whatever the order of
//! the rows. A failing statement leaves partial writes in the transaction;
//! the session rolls the transaction back (autocommit) or marks it failed
//! (explicit block), so they never commit.

use crate::catalog::{ColumnDef, IndexDef, TableDef};
use crate::error::{Error, Result};
use crate::exec::eval::eval;
use crate::exec::lock::{Locked, lock_row};
use crate::exec::node::execute;
use crate::exec::{ExecContext, Row, StatementResult};
use crate::plan::ddl::{CreateIndexPlan, CreateTablePlan};
use crate::plan::dml::{DeletePlan, InsertPlan, UpdatePlan};
use crate::plan::{Expr, LockWait, Node, Returning, RowLocking};
use crate::table::{self, build_index, clear_keyspaces, index_keyspaces, table_keyspaces};
use crate::types::{DataType, Value, cast};

/// Converts `value` for `column` (see the module docs).
pub fn assign(value: Value, column: &ColumnDef) -> Result<Value> {
    match (&value, column.data_type) {
        (Value::Null, _) => Ok(value),
        (Value::Integer(_), DataType::Double) | (Value::Double(_), DataType::Integer) => {
            cast(&value, column.data_type)
        }
        (v, t) if v.data_type() == Some(t) => Ok(value),
        (v, t) => Err(Error::DatatypeMismatch(format!(
            "column \"{}\" is of type {t} but expression is of type {}",
            column.name,
            v.type_name()
        ))),
    }
}

/// RETURNING rows (or none) and the count, as a statement result.
fn finish(returning: Option<&Returning>, rows: Vec<Row>, affected: usize) -> StatementResult {
    StatementResult {
        columns: returning.map(|r| r.columns.clone()).unwrap_or_default(),
        rows,
        affected: affected as u64,
    }
}

fn returned(
    returning: Option<&Returning>,
    row: &[Value],
    ctx: &mut ExecContext,
) -> Result<Option<Row>> {
    let Some(returning) = returning else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(returning.exprs.len());
    for e in &returning.exprs {
        out.push(eval(e, row, ctx)?);
    }
    Ok(Some(out))
}

/// Runs INSERT.
pub fn insert(plan: &InsertPlan, ctx: &mut ExecContext) -> Result<StatementResult> {
    let table = &plan.table;
    let sources = execute(&plan.source, ctx)?;
    let mut output = Vec::new();
    let count = sources.len();
    // The columns the statement leaves out take their defaults.
    let defaulted: Vec<(usize, &Expr)> = plan
        .defaults
        .iter()
        .enumerate()
        .filter(|(i, _)| !plan.targets.contains(i))
        .collect();
    for source in sources {
        ctx.interrupt.check()?;
        let mut row = vec![Value::Null; table.columns.len()];
        for (value, &target) in source.into_iter().zip(&plan.targets) {
            if let Some(slot) = row.get_mut(target) {
                *slot = value;
            }
        }
        for &(i, default) in &defaulted {
            let value = eval(default, &[], ctx)?;
            if let Some(slot) = row.get_mut(i) {
                *slot = value;
            }
        }
        let row = coerce(table, row)?;
        let row_id = table.has_row_id().then(|| ctx.row_ids.next());
        table::insert_row(ctx.txn, table, &row, row_id, ctx.catalog.shards())?;
        if let Some(r) = returned(plan.returning.as_ref(), &row, ctx)? {
            output.push(r);
        }
    }
    Ok(finish(plan.returning.as_ref(), output, count))
}

fn coerce(table: &TableDef, row: Row) -> Result<Row> {
    row.into_iter()
        .zip(&table.columns)
        .map(|(value, column)| assign(value, column))
        .collect()
}

/// Splits a scanned target row into its columns and row id.
fn split_row_id(table: &TableDef, mut row: Row) -> (Row, Option<i64>) {
    if !table.has_row_id() {
        return (row, None);
    }
    let id = match row.pop() {
        Some(Value::Integer(id)) => Some(id),
        _ => None,
    };
    (row, id)
}

/// The WHERE clause of an UPDATE or DELETE (the filter of its target scan).
fn target_filter(source: &Node) -> Option<&Expr> {
    match source {
        Node::Scan { filter, .. } => filter.as_ref(),
        _ => None,
    }
}

/// Reads the target rows of UPDATE or DELETE and locks each one; a row
/// that changed before its lock was granted is re-checked against the
/// WHERE clause (READ COMMITTED; see [`crate::exec::lock`]) and used in its
/// newest form, or dropped.
fn locked_targets(table: &TableDef, source: &Node, ctx: &mut ExecContext) -> Result<Vec<Row>> {
    let scanned = execute(source, ctx)?;
    let filter = target_filter(source);
    let with_row_id = table.has_row_id();
    let locking = RowLocking {
        exclusive: true,
        wait: LockWait::Wait,
    };
    let mut targets = Vec::with_capacity(scanned.len());
    for row in scanned {
        ctx.interrupt.check()?;
        if let Locked::Row(current) = lock_row(table, &row, with_row_id, filter, locking, ctx)? {
            targets.push(current);
        }
    }
    Ok(targets)
}

/// Runs UPDATE.
pub fn update(plan: &UpdatePlan, ctx: &mut ExecContext) -> Result<StatementResult> {
    let table = &plan.table;
    let targets = locked_targets(table, &plan.source, ctx)?;
    let mut changes = Vec::with_capacity(targets.len());
    for target in targets {
        ctx.interrupt.check()?;
        let (old, row_id) = split_row_id(table, target);
        let mut new = old.clone();
        for (column, expr) in &plan.assignments {
            let value = eval(expr, &old, ctx)?;
            let definition = table
                .columns
                .get(*column)
                .ok_or_else(|| Error::Internal(format!("no column #{column}")))?;
            if let Some(slot) = new.get_mut(*column) {
                *slot = assign(value, definition)?;
            }
        }
        changes.push(table::RowChange { old, new, row_id });
    }
    table::update_rows(ctx.txn, table, &changes, ctx.catalog.shards())?;
    let mut output = Vec::new();
    for change in &changes {
        if let Some(r) = returned(plan.returning.as_ref(), &change.new, ctx)? {
            output.push(r);
        }
    }
    Ok(finish(plan.returning.as_ref(), output, changes.len()))
}

/// Runs DELETE.
pub fn delete(plan: &DeletePlan, ctx: &mut ExecContext) -> Result<StatementResult> {
    let table = &plan.table;
    let targets = locked_targets(table, &plan.source, ctx)?;
    let count = targets.len();
    let mut output = Vec::new();
    for target in targets {
        ctx.interrupt.check()?;
        let (row, row_id) = split_row_id(table, target);
        table::delete_row(ctx.txn, table, &row, row_id, ctx.catalog.shards())?;
        if let Some(r) = returned(plan.returning.as_ref(), &row, ctx)? {
            output.push(r);
        }
    }
    Ok(finish(plan.returning.as_ref(), output, count))
}

/// Runs CREATE TABLE.
pub fn create_table(plan: &CreateTablePlan, ctx: &mut ExecContext) -> Result<StatementResult> {
    let catalog = ctx.catalog;
    if catalog.table_for_update(ctx.txn, &plan.name)?.is_some() {
        if plan.if_not_exists {
            return Ok(StatementResult::default());
        }
        return Err(Error::DuplicateTable(plan.name.clone()));
    }
    let id = catalog.allocate_id(ctx.txn)?;
    let mut indexes = Vec::with_capacity(plan.unique.len());
    for (name, columns) in &plan.unique {
        if catalog.index_table_for_update(ctx.txn, name)?.is_some() {
            return Err(Error::DuplicateTable(name.clone()));
        }
        indexes.push(IndexDef {
            id: catalog.allocate_id(ctx.txn)?,
            name: name.clone(),
            columns: columns.clone(),
            unique: true,
        });
    }
    let table = TableDef {
        id,
        name: plan.name.clone(),
        columns: plan.columns.clone(),
        primary_key: plan.primary_key.clone(),
        indexes,
        distribution: plan.distribution.clone(),
    };
    crate::placement::check_distribution(&table, catalog.shards())?;
    crate::placement::check_unique_constraints(&table, &plan.unique, catalog.shards())?;
    catalog.put_table(ctx.txn, &table)?;
    Ok(StatementResult::default())
}

/// Runs DROP TABLE: removes the rows, the index entries and the definition.
pub fn drop_tables(
    names: &[String],
    if_exists: bool,
    ctx: &mut ExecContext,
) -> Result<StatementResult> {
    let catalog = ctx.catalog;
    for name in names {
        let Some(table) = catalog.table_for_update(ctx.txn, name)? else {
            if if_exists {
                continue;
            }
            return Err(Error::UndefinedTable(name.clone()));
        };
        let shards = catalog.shards();
        clear_keyspaces(ctx.txn, &table_keyspaces(&table, shards))?;
        for index in &table.indexes {
            clear_keyspaces(ctx.txn, &index_keyspaces(index, shards))?;
        }
        catalog.delete_table(ctx.txn, &table)?;
    }
    Ok(StatementResult::default())
}

/// Runs CREATE INDEX: writes an entry for every existing row.
pub fn create_index(plan: &CreateIndexPlan, ctx: &mut ExecContext) -> Result<StatementResult> {
    let catalog = ctx.catalog;
    let taken = catalog
        .index_table_for_update(ctx.txn, &plan.name)?
        .is_some()
        || catalog.table(ctx.txn, &plan.name)?.is_some();
    if taken {
        if plan.if_not_exists {
            return Ok(StatementResult::default());
        }
        return Err(Error::DuplicateTable(plan.name.clone()));
    }
    let mut table = catalog
        .table_for_update(ctx.txn, &plan.table)?
        .ok_or_else(|| Error::UndefinedTable(plan.table.clone()))?;
    let index = IndexDef {
        id: catalog.allocate_id(ctx.txn)?,
        name: plan.name.clone(),
        columns: plan.columns.clone(),
        unique: plan.unique,
    };
    if index.unique {
        crate::placement::check_unique_constraints(
            &table,
            &[(index.name.clone(), index.columns.clone())],
            catalog.shards(),
        )?;
    }
    build_index(ctx.txn, &table, &index, catalog.shards())?;
    table.indexes.push(index);
    catalog.put_table(ctx.txn, &table)?;
    Ok(StatementResult::default())
}

/// Runs DROP INDEX.
pub fn drop_indexes(
    names: &[String],
    if_exists: bool,
    ctx: &mut ExecContext,
) -> Result<StatementResult> {
    let catalog = ctx.catalog;
    for name in names {
        let Some(table_name) = catalog.index_table_for_update(ctx.txn, name)? else {
            if if_exists {
                continue;
            }
            return Err(Error::UndefinedObject {
                kind: "index",
                name: name.clone(),
            });
        };
        let mut table = catalog
            .table_for_update(ctx.txn, &table_name)?
            .ok_or_else(|| {
                Error::corrupt(
                    "catalog entry",
                    0,
                    format!("index {name} names a missing table"),
                )
            })?;
        let Some(position) = table.indexes.iter().position(|i| i.name == *name) else {
            return Err(Error::corrupt(
                "catalog entry",
                0,
                format!("index {name} is not on its table"),
            ));
        };
        let index = table.indexes.remove(position);
        clear_keyspaces(ctx.txn, &index_keyspaces(&index, catalog.shards()))?;
        catalog.delete_index_name(ctx.txn, name)?;
        catalog.put_table(ctx.txn, &table)?;
    }
    Ok(StatementResult::default())
}
