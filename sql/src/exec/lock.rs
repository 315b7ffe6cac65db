//! Row locks: `SELECT ... FOR UPDATE / FOR SHARE` and the targets of UPDATE
//! and DELETE.
//!
//! A statement reads its rows at its snapshot, then locks each one through
//! the engine's lock manager. By the time the lock is granted another
//! transaction may have changed or deleted the row. What happens then
//! depends on the level, as in PostgreSQL:
//!
//! ```text
//!   T1: UPDATE t SET v = v + 10          (locks row 2: v 20 -> 30)
//!   T2: DELETE FROM t WHERE v = 20       reads row 2 (v = 20), waits for its lock
//!   T1: COMMIT                           T2 gets the lock and re-reads row 2:
//!     READ COMMITTED                       v = 30 fails v = 20: row skipped,
//!                                          DELETE 0
//!     REPEATABLE READ / SERIALIZABLE       the row changed after T2's snapshot:
//!                                          40001 (the engine's first-updater-wins)
//! ```
//!
//! At READ COMMITTED the engine hands back the newest committed version of
//! a locked row; when it differs from the scanned one the statement's WHERE
//! clause is evaluated again on it, and the row is used in its new form or
//! left out (a deleted row is always left out). `NOWAIT` fails with 55P03
//! without aborting the transaction (a savepoint can recover from it);
//! `SKIP LOCKED` leaves rows locked by others out of the result.

use isodb_engine::txn::LockMode;

use crate::catalog::TableDef;
use crate::error::{Error, Result};
use crate::exec::eval::{eval, holds};
use crate::exec::node::{execute, row_count};
use crate::exec::{ExecContext, Row};
use crate::placement::row_shard;
use crate::plan::{Expr, LockWait, Node, RowLocking};
use crate::table::{decode_stored_row, row_key, table_keyspace};
use crate::types::Value;

/// What locking one scanned row gave.
pub enum Locked {
    /// Locked; the row as it is now (the scanned one, or a newer version
    /// that still satisfies the WHERE clause).
    Row(Row),
    /// Left out: deleted, changed so that the WHERE clause fails, or
    /// (`SKIP LOCKED`) locked by another transaction.
    Skipped,
}

/// Splits off the hidden row id a scanned row carries last, if any.
fn row_and_id(table: &TableDef, row: &[Value], with_row_id: bool) -> (Vec<Value>, Option<i64>) {
    let width = table.columns.len();
    let columns = row.get(..width).unwrap_or(row).to_vec();
    let id = match (with_row_id, row.get(width)) {
        (true, Some(Value::Integer(id))) => Some(*id),
        _ => None,
    };
    (columns, id)
}

/// Locks the table row behind `row` (table columns, then the row id when
/// `with_row_id`), re-checking `filter` if the row changed (see the module
/// docs).
pub fn lock_row(
    table: &TableDef,
    row: &[Value],
    with_row_id: bool,
    filter: Option<&Expr>,
    locking: RowLocking,
    ctx: &mut ExecContext,
) -> Result<Locked> {
    let (columns, row_id) = row_and_id(table, row, with_row_id);
    let key = row_key(table, &columns, row_id);
    let shard = row_shard(table, &columns, row_id, ctx.catalog.shards());
    let keyspace = table_keyspace(table, shard);
    let mode = if locking.exclusive {
        LockMode::Exclusive
    } else {
        LockMode::Shared
    };
    let current = match locking.wait {
        LockWait::Wait if locking.exclusive => ctx.txn.get_for_update(keyspace, &key)?,
        LockWait::Wait => ctx.txn.lock_shared(keyspace, &key)?,
        LockWait::NoWait | LockWait::SkipLocked => {
            if !ctx.txn.try_lock(keyspace, &key, mode)? {
                if locking.wait == LockWait::SkipLocked {
                    return Ok(Locked::Skipped);
                }
                return Err(Error::LockNotAvailable(table.name.clone()));
            }
            // Held now: this read cannot wait.
            ctx.txn
                .lock_and_read(keyspace, &key, mode, isodb_engine::txn::WaitPolicy::NoWait)?
        }
    };
    let Some(bytes) = current else {
        return Ok(Locked::Skipped);
    };
    let fresh = decode_stored_row(table, &key, &bytes, with_row_id)?;
    if fresh.as_slice() == row {
        return Ok(Locked::Row(fresh));
    }
    if holds(filter, &fresh, ctx)? {
        Ok(Locked::Row(fresh))
    } else {
        Ok(Locked::Skipped)
    }
}

/// The parts of a [`Node::LockRows`].
pub struct LockRowsNode<'a> {
    /// The input.
    pub input: &'a Node,
    /// The locked table.
    pub table: &'a TableDef,
    /// Where the table row starts in each input row.
    pub row_start: usize,
    /// The table row ends with the hidden row id.
    pub with_row_id: bool,
    /// The WHERE clause over the table row.
    pub filter: Option<&'a Expr>,
    /// The output expressions over the table row.
    pub outputs: &'a [Expr],
    /// How to lock.
    pub locking: RowLocking,
    /// OFFSET of the Limit above.
    pub offset: Option<&'a Expr>,
    /// LIMIT of the Limit above.
    pub limit: Option<&'a Expr>,
}

/// Runs a LockRows node: locks rows in input order until it has
/// `offset + limit` of them.
pub fn lock_rows(node: LockRowsNode<'_>, ctx: &mut ExecContext) -> Result<Vec<Row>> {
    if ctx.txn.is_read_only() {
        return Err(Error::ReadOnlyTransaction(format!(
            "SELECT {}",
            node.locking.as_sql()
        )));
    }
    let offset = row_count(node.offset, "OFFSET", ctx)?.unwrap_or(0);
    let wanted = row_count(node.limit, "LIMIT", ctx)?.map(|limit| limit.saturating_add(offset));
    let rows = execute(node.input, ctx)?;
    let mut out = Vec::new();
    for row in rows {
        ctx.interrupt.check()?;
        if wanted.is_some_and(|wanted| out.len() >= wanted) {
            break;
        }
        let table_row = row.get(node.row_start..).unwrap_or_default();
        match lock_row(
            node.table,
            table_row,
            node.with_row_id,
            node.filter,
            node.locking,
            ctx,
        )? {
            Locked::Skipped => {}
            Locked::Row(fresh) if fresh.as_slice() == table_row => out.push(row),
            Locked::Row(fresh) => {
                let mut changed = Vec::with_capacity(row.len());
                for expr in node.outputs {
                    changed.push(eval(expr, &fresh, ctx)?);
                }
                changed.extend(fresh);
                out.push(changed);
            }
        }
    }
    Ok(out)
}
