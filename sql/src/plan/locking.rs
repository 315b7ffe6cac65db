//! Planning `SELECT ... FOR UPDATE | FOR SHARE [OF t] [NOWAIT | SKIP LOCKED]`.
//!
//! The rows to lock are the table rows behind the result, so the
//! projection carries the whole table row (and the hidden row id) as extra
//! columns, a [`Node::LockRows`] locks them in result order, and the Limit
//! and a Truncate come last — as in PostgreSQL, where the LockRows node
//! sits under the Limit, so `LIMIT 1 FOR UPDATE SKIP LOCKED` locks just the
//! first row it can get (the job-queue idiom):
//!
//! ```text
//!   SELECT id FROM jobs WHERE done = false ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
//!
//!   Truncate to [id]
//!     Limit 1
//!       Lock rows of jobs (FOR UPDATE SKIP LOCKED), stop after 1
//!         Sort [#0]
//!           Project [id | id, done]          (select list | table row)
//!             Full scan on jobs (done = false)
//! ```
//!
//! Supported: one table in FROM (no joins, derived tables or UNION), no
//! aggregates, GROUP BY or DISTINCT (PostgreSQL refuses those too), and
//! only at the top level of a statement; anything else is 0A000.

use sqlparser::ast;

use crate::catalog::TableDef;
use crate::error::{Error, Result};
use crate::plan::Node;
use crate::plan::binder::object_name;
use crate::plan::expr::Expr;

/// How a row-locking SELECT treats rows locked by other transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    /// Wait for the lock (the transaction's lock timeout applies).
    Wait,
    /// Fail at once with 55P03.
    NoWait,
    /// Leave such rows out of the result.
    SkipLocked,
}

/// The locking clause of a SELECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowLocking {
    /// True for FOR UPDATE (exclusive), false for FOR SHARE.
    pub exclusive: bool,
    /// What to do about rows locked by others.
    pub wait: LockWait,
}

impl RowLocking {
    /// The SQL spelling, e.g. `FOR UPDATE SKIP LOCKED`.
    pub fn as_sql(&self) -> String {
        let mode = if self.exclusive {
            "FOR UPDATE"
        } else {
            "FOR SHARE"
        };
        match self.wait {
            LockWait::Wait => mode.to_string(),
            LockWait::NoWait => format!("{mode} NOWAIT"),
            LockWait::SkipLocked => format!("{mode} SKIP LOCKED"),
        }
    }
}

/// The locking clause of a query, and the table name it is limited to
/// (`OF t`). Several clauses are not supported.
pub fn locking_clause(locks: &[ast::LockClause]) -> Result<Option<(RowLocking, Option<String>)>> {
    let [clause] = locks else {
        if locks.is_empty() {
            return Ok(None);
        }
        return Err(unsupported("several FOR UPDATE / FOR SHARE clauses"));
    };
    let locking = RowLocking {
        exclusive: matches!(clause.lock_type, ast::LockType::Update),
        wait: match clause.nonblock {
            None => LockWait::Wait,
            Some(ast::NonBlock::Nowait) => LockWait::NoWait,
            Some(ast::NonBlock::SkipLocked) => LockWait::SkipLocked,
        },
    };
    let of = match &clause.of {
        Some(name) => Some(object_name(name)?),
        None => None,
    };
    Ok(Some((locking, of)))
}

fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::FeatureNotSupported(what.to_string())
}

/// What the FROM clause of a locking SELECT gives the LockRows node.
pub struct LockedTable {
    /// The table.
    pub table: TableDef,
    /// The whole WHERE clause over its row.
    pub filter: Option<Expr>,
    /// True when its rows carry the hidden row id.
    pub with_row_id: bool,
}

/// Checks that `from` is a single table (optionally filtered) and makes its
/// scan carry the hidden row id when the table has one.
pub fn locked_table(
    from: &mut Node,
    locking: &RowLocking,
    of: Option<&str>,
    label: Option<&str>,
) -> Result<LockedTable> {
    let (scan, subquery_filter) = match from {
        Node::Filter { input, predicate } => (input.as_mut(), Some(predicate.clone())),
        other => (other, None),
    };
    let Node::Scan {
        table,
        filter,
        with_row_id,
        ..
    } = scan
    else {
        return Err(unsupported(format!(
            "{} on a join, a derived table or a SELECT without FROM",
            locking.as_sql()
        )));
    };
    if let Some(of) = of
        && Some(of) != label
        && of != table.name
    {
        return Err(Error::UndefinedTable(format!(
            "{of} (in {} clause, not found in FROM clause)",
            locking.as_sql()
        )));
    }
    *with_row_id = table.has_row_id();
    let terms: Vec<Expr> = filter
        .iter()
        .chain(subquery_filter.iter())
        .cloned()
        .collect();
    Ok(LockedTable {
        table: table.clone(),
        filter: Expr::conjunction(terms),
        with_row_id: *with_row_id,
    })
}

/// The columns a locking SELECT's projection appends: the table row and,
/// when it has one, the hidden row id (which follows the table columns).
pub fn table_row_columns(locked: &LockedTable) -> Vec<Expr> {
    let width = locked.table.columns.len() + usize::from(locked.with_row_id);
    (0..width).map(Expr::Column).collect()
}

/// Refuses what PostgreSQL refuses with a locking clause.
pub fn check_lockable(locking: &RowLocking, aggregated: bool, distinct: bool) -> Result<()> {
    if aggregated {
        return Err(unsupported(format!(
            "{} is not allowed with aggregate functions or GROUP BY",
            locking.as_sql()
        )));
    }
    if distinct {
        return Err(unsupported(format!(
            "{} is not allowed with DISTINCT clause",
            locking.as_sql()
        )));
    }
    Ok(())
}
