//! The executor: runs a [`Plan`] inside one engine transaction.
//!
//! - [`eval`]: expressions over a row, with three-valued logic and the
//!   subquery stack of outer rows.
//! - [`scan`]: table access (key lookup, key range, index scan, full scan).
//! - [`node`]: the other operators (filter, project, joins, sort, ...).
//! - [`aggregate`]: grouping and aggregate functions.
//! - [`lock`]: row locks of `SELECT ... FOR UPDATE` and of UPDATE/DELETE
//!   targets, with READ COMMITTED's re-check of a changed row.
//! - [`write`](mod@write): INSERT, UPDATE, DELETE and DDL.
//! - [`system_function`]: system functions and system relations.
//!
//! Operators materialize their output as a vector of rows. That keeps the
//! transaction (`&mut`) out of long-lived iterators and makes every
//! operator a plain function of its inputs; the planner's access paths are
//! what keep point queries and range queries from reading whole tables.
//!
//! Every operator calls `ctx.interrupt.check()` once per row it reads,
//! joins, sorts, groups or writes, so a canceled statement or one past its
//! `statement_timeout` stops within microseconds, wherever it is
//! ([`crate::session::cancel`]).

pub mod aggregate;
pub mod eval;
pub mod lock;
pub mod node;
pub mod scan;
pub mod system_function;
pub mod write;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use isodb_engine::cluster::ClusterTransaction as Transaction;

use crate::catalog::store::Catalog;
use crate::error::Result;
use crate::plan::explain::explain;
use crate::plan::{Column, Plan};
use crate::session::{Interrupt, SessionView};
use crate::types::{DataType, Value};

/// One row of values.
pub type Row = Vec<Value>;

/// Hands out hidden row ids: `epoch << 40 | counter`. The epoch is bumped
/// durably each time the database opens, so ids never repeat, and
/// concurrent inserts never contend on a shared row.
#[derive(Debug)]
pub struct RowIdAllocator {
    epoch: i64,
    counter: AtomicI64,
}

impl RowIdAllocator {
    /// An allocator for one open of the database.
    pub fn new(epoch: i64) -> RowIdAllocator {
        RowIdAllocator {
            epoch,
            counter: AtomicI64::new(0),
        }
    }

    /// The next row id.
    pub fn next(&self) -> i64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) & ((1 << 40) - 1);
        (self.epoch << 40) | n
    }
}

/// A subquery's rows, kept for the rest of the statement when the
/// subquery is uncorrelated.
#[derive(Debug, Default)]
pub struct SubqueryRows {
    /// The rows.
    pub rows: Vec<Row>,
    /// First-column values, for IN.
    pub values: std::collections::HashSet<Value>,
    /// True when some first-column value is NULL.
    pub has_null: bool,
}

/// Everything an operator needs while running.
pub struct ExecContext<'a> {
    /// The statement's transaction.
    pub txn: &'a mut Transaction,
    /// The catalog (for DDL).
    pub catalog: Catalog,
    /// The statement's parameter values.
    pub params: &'a [Value],
    /// Rows of enclosing queries while a correlated subquery runs (the
    /// innermost last).
    pub outer: Vec<Row>,
    /// Results of uncorrelated subqueries, by plan address.
    pub subquery_cache: HashMap<usize, Arc<SubqueryRows>>,
    /// Hidden row ids.
    pub row_ids: &'a RowIdAllocator,
    /// The database (for what one session may ask about the others:
    /// `pg_blocking_pids`).
    pub db: &'a crate::database::Database,
    /// The statement's cancel flag and deadline.
    pub interrupt: Interrupt,
    /// The session running the statement (settings, for `current_setting`).
    pub session: SessionView<'a>,
    /// The system catalogs' source, once a statement needed it.
    pub system_catalog: Option<Arc<crate::catalog::system::CatalogSnapshot>>,
}

/// What a statement returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatementResult {
    /// Result columns (empty for statements without rows).
    pub columns: Vec<Column>,
    /// Result rows (SELECT, RETURNING, EXPLAIN, SHOW).
    pub rows: Vec<Row>,
    /// Rows inserted, updated or deleted; for a query, rows returned.
    pub affected: u64,
}

/// Runs a plan.
pub fn execute_plan(plan: &Plan, ctx: &mut ExecContext) -> Result<StatementResult> {
    match plan {
        Plan::Query(query) => {
            let rows = node::execute(&query.root, ctx)?;
            Ok(StatementResult {
                columns: query.columns.clone(),
                affected: rows.len() as u64,
                rows,
            })
        }
        Plan::Explain(inner) => Ok(StatementResult {
            columns: vec![Column {
                name: "QUERY PLAN".into(),
                data_type: Some(DataType::Text),
            }],
            rows: explain(inner, ctx.catalog.shards())
                .into_iter()
                .map(|line| vec![Value::Text(line)])
                .collect(),
            affected: 0,
        }),
        Plan::Insert(insert) => write::insert(insert, ctx),
        Plan::Update(update) => write::update(update, ctx),
        Plan::Delete(delete) => write::delete(delete, ctx),
        Plan::CreateTable(create) => write::create_table(create, ctx),
        Plan::DropTable { names, if_exists } => write::drop_tables(names, *if_exists, ctx),
        Plan::CreateIndex(create) => write::create_index(create, ctx),
        Plan::DropIndex { names, if_exists } => write::drop_indexes(names, *if_exists, ctx),
    }
}
