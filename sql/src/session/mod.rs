//! [`Session`]: one client's connection to a database, and its transaction
//! state machine.
//!
//! ```text
//!             BEGIN                      error in a statement
//!   Idle ─────────────────► InBlock ─────────────────────────► Failed
//!    ▲ ◄──── COMMIT / ROLLBACK ─┘ ▲                               │
//!    │                            └── ROLLBACK TO SAVEPOINT s ────┤
//!    └──────────────── ROLLBACK (or COMMIT, which rolls back) ────┘
//! ```
//!
//! - **Idle** (autocommit): each statement runs in its own transaction at
//!   the session's default level, committed when it succeeds and rolled
//!   back entirely when it fails — a multi-row INSERT with one duplicate
//!   key inserts nothing.
//! - **InBlock**: statements share the block's transaction. Each starts
//!   with `new_statement()` (READ COMMITTED's fresh snapshot).
//! - **Failed**: a statement failed inside the block; every statement
//!   except ROLLBACK (and COMMIT, which then means ROLLBACK, as in
//!   PostgreSQL) and ROLLBACK TO SAVEPOINT is refused with 25P02. Without
//!   savepoints the transaction is rolled back at once (releasing its
//!   locks). With savepoints it is kept, partial writes and locks included,
//!   so `ROLLBACK TO SAVEPOINT s` can undo everything since `s` and return
//!   to InBlock — unless the failure aborted the engine transaction itself
//!   (40001, 40P01, a lock wait timeout or cancel): then only ROLLBACK helps.
//!
//! Transaction control (the `control` module): `SET TRANSACTION ISOLATION LEVEL ...`
//! works at the start of a block (before its first query); `SET SESSION
//! CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL ...` (or
//! [`Session::set_isolation_level`]) sets the session's default, which
//! starts as the database's ([`crate::DatabaseOptions::isolation_level`]);
//! `SHOW TRANSACTION ISOLATION LEVEL` answers with the current block's level
//! or the default. Savepoints are a stack of names over the engine's
//! savepoint marks (a name may repeat; the newest one wins).
//!
//! For a shell: [`Session::transaction_state`], [`Session::transaction_id`]
//! (the engine's id, as lock listings show it) and
//! [`Session::cancel_handle`], which ends a lock wait from another thread
//! ([`cancel`]).

mod block;
pub mod cancel;
mod control;

use isodb_engine::cluster::{ClusterSavepoint as SavepointId, ClusterTransaction as EngineTransaction};
use isodb_engine::txn::{IsolationLevel, TransactionOptions, TxnId};
use sqlparser::ast;

use crate::database::Database;
use crate::error::{Error, Result};
use crate::exec::{ExecContext, StatementResult, execute_plan};
use crate::parse::parse_statements;
use crate::row::Rows;
use crate::statement::{Prepared, StatementRef, ToStatement, ToValue, plan_fresh};
use crate::transaction::Transaction;
use crate::types::Value;

pub use cancel::CancelHandle;
use cancel::CurrentTransaction;
use control::control;

/// Where a session is, as a shell shows it (PostgreSQL's `I`, `T`, `E`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionState {
    /// No transaction block: statements autocommit.
    Idle,
    /// Inside a transaction block.
    InTransaction,
    /// Inside a failed block: only ROLLBACK (or ROLLBACK TO SAVEPOINT) works.
    Failed,
}

/// An open transaction block.
struct Block {
    txn: EngineTransaction,
    /// Statements run so far (SET TRANSACTION must come first).
    statements: usize,
    /// Open savepoints, oldest first.
    savepoints: Vec<(String, SavepointId)>,
}

impl Block {
    fn new(txn: EngineTransaction) -> Block {
        Block {
            txn,
            statements: 0,
            savepoints: Vec::new(),
        }
    }

    /// The newest open savepoint called `name`.
    fn savepoint(&self, name: &str) -> Result<(usize, SavepointId)> {
        self.savepoints
            .iter()
            .rposition(|(n, _)| n == name)
            .and_then(|i| self.savepoints.get(i).map(|(_, id)| (i, *id)))
            .ok_or_else(|| Error::InvalidSavepoint(name.to_string()))
    }
}

/// Where the session is in the state machine.
enum BlockState {
    Idle,
    InBlock(Block),
    Failed {
        retryable: bool,
        /// The block, kept for ROLLBACK TO SAVEPOINT (only when it has
        /// savepoints and its engine transaction is still active).
        kept: Option<Block>,
    },
}

/// One connection to a [`Database`]. Use one per thread.
pub struct Session {
    db: Database,
    state: BlockState,
    level: IsolationLevel,
    read_only: bool,
    current: CurrentTransaction,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("in_transaction", &self.in_transaction())
            .field("failed", &self.is_failed())
            .field("level", &self.level)
            .finish()
    }
}

/// True for statements that never write (they may run read-only).
fn reads_only(statement: &ast::Statement) -> bool {
    match statement {
        ast::Statement::Query(query) => query.locks.is_empty(),
        ast::Statement::Explain {
            analyze: false,
            statement,
            ..
        } => !matches!(statement.as_ref(), ast::Statement::Explain { .. }) || reads_only(statement),
        _ => false,
    }
}

fn values_of(params: &[&dyn ToValue]) -> Vec<Value> {
    params.iter().map(|p| p.to_value()).collect()
}

fn into_rows(result: StatementResult) -> Rows {
    Rows::new(result.columns, result.rows, result.affected)
}

impl Session {
    pub(crate) fn new(db: Database) -> Session {
        let level = db.options().isolation_level;
        Session {
            db,
            state: BlockState::Idle,
            level,
            read_only: false,
            current: CurrentTransaction::default(),
        }
    }

    /// The database this session belongs to.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The isolation level new transactions of this session get.
    pub fn isolation_level(&self) -> IsolationLevel {
        self.level
    }

    /// Sets the isolation level of this session's future transactions.
    pub fn set_isolation_level(&mut self, level: IsolationLevel) {
        self.level = level;
    }

    /// True inside a transaction block (including a failed one).
    pub fn in_transaction(&self) -> bool {
        !matches!(self.state, BlockState::Idle)
    }

    /// True when a statement failed in the current block (25P02 until
    /// ROLLBACK).
    pub fn is_failed(&self) -> bool {
        matches!(self.state, BlockState::Failed { .. })
    }

    /// True when the current block failed with a serialization failure or
    /// deadlock (retrying the whole transaction may succeed).
    pub(crate) fn failed_retryably(&self) -> bool {
        matches!(
            self.state,
            BlockState::Failed {
                retryable: true,
                ..
            }
        )
    }

    /// Idle, in a transaction block, or in a failed one.
    pub fn transaction_state(&self) -> TransactionState {
        match self.state {
            BlockState::Idle => TransactionState::Idle,
            BlockState::InBlock(_) => TransactionState::InTransaction,
            BlockState::Failed { .. } => TransactionState::Failed,
        }
    }

    /// The engine id of the open block's transaction (as
    /// [`isodb_engine::cluster::Cluster::locks`] and `transactions` show it);
    /// `None` outside a block, or when a failed block's transaction is gone.
    pub fn transaction_id(&self) -> Option<TxnId> {
        match &self.state {
            BlockState::InBlock(block)
            | BlockState::Failed {
                kept: Some(block), ..
            } => Some(block.txn.id()),
            _ => None,
        }
    }

    /// A handle that cancels this session's lock wait from another thread:
    /// the waiting statement fails with 57014.
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle::new(self.db.cluster().clone(), self.current.clone())
    }

    /// Runs one or more `;`-separated statements without parameters;
    /// returns the rows affected by the last one (rows returned, for a query).
    pub fn execute(&mut self, sql: &str) -> Result<u64> {
        let statements = parse_statements(sql)?;
        let mut affected = 0;
        for statement in &statements {
            affected = self.run(statement, &[], None)?.affected;
        }
        Ok(affected)
    }

    /// Runs one statement with parameters and returns the rows affected.
    pub fn execute_with<S: ToStatement + ?Sized>(
        &mut self,
        statement: &S,
        params: &[&dyn ToValue],
    ) -> Result<u64> {
        self.run_one(statement.to_statement(), &values_of(params))
            .map(|r| r.affected)
    }

    /// Runs one statement with parameters and returns its rows (empty for
    /// statements without rows; see [`Rows::rows_affected`]).
    pub fn query<S: ToStatement + ?Sized>(
        &mut self,
        statement: &S,
        params: &[&dyn ToValue],
    ) -> Result<Rows> {
        self.run_one(statement.to_statement(), &values_of(params))
            .map(into_rows)
    }

    /// Like [`Session::query`] with parameters as [`Value`]s.
    pub fn query_values<S: ToStatement + ?Sized>(
        &mut self,
        statement: &S,
        params: &[Value],
    ) -> Result<Rows> {
        self.run_one(statement.to_statement(), params)
            .map(into_rows)
    }

    /// Parses (and, outside transaction control, plans) a statement once.
    pub fn prepare(&mut self, sql: &str) -> Result<Prepared> {
        let mut statements = parse_statements(sql)?;
        if statements.len() != 1 {
            return Err(Error::SyntaxError {
                message: format!(
                    "a prepared statement must be exactly one statement, not {}",
                    statements.len()
                ),
                position: None,
            });
        }
        let statement = statements.remove(0);
        let prepared = Prepared::new(sql, statement);
        if control(prepared.statement())?.is_some() {
            return Ok(prepared);
        }
        let catalog = self.db.catalog();
        match &mut self.state {
            BlockState::Failed { .. } => return Err(Error::InFailedTransaction),
            BlockState::InBlock(block) => {
                prepared.plan(&mut block.txn, catalog)?;
            }
            BlockState::Idle => {
                let mut txn = self.db.cluster().begin_with(TransactionOptions {
                    level: self.level,
                    read_only: true,
                });
                let planned = prepared.plan(&mut txn, catalog);
                txn.rollback()?;
                planned?;
            }
        }
        Ok(prepared)
    }

    /// Starts a transaction block at `level`; the guard commits or rolls
    /// back, and rolls back when dropped.
    pub fn transaction(&mut self, level: IsolationLevel) -> Result<Transaction<'_>> {
        self.begin_block(Some(level), None)?;
        Ok(Transaction::new(self))
    }

    /// Starts a read-only transaction block at `level`.
    pub fn read_only_transaction(&mut self, level: IsolationLevel) -> Result<Transaction<'_>> {
        self.begin_block(Some(level), Some(true))?;
        Ok(Transaction::new(self))
    }

    fn run_one(
        &mut self,
        statement: StatementRef<'_>,
        params: &[Value],
    ) -> Result<StatementResult> {
        match statement {
            StatementRef::Sql(sql) => {
                let statements = parse_statements(sql)?;
                match statements.as_slice() {
                    [one] => self.run(one, params, None),
                    _ => Err(Error::SyntaxError {
                        message: format!(
                            "cannot run {} statements with parameters; use execute()",
                            statements.len()
                        ),
                        position: None,
                    }),
                }
            }
            StatementRef::Prepared(prepared) => {
                self.run(prepared.statement(), params, Some(prepared))
            }
        }
    }

    /// Runs one parsed statement through the state machine.
    fn run(
        &mut self,
        statement: &ast::Statement,
        params: &[Value],
        prepared: Option<&Prepared>,
    ) -> Result<StatementResult> {
        if let Some(control) = control(statement)? {
            if !params.is_empty() {
                return Err(Error::WrongParameterCount {
                    expected: 0,
                    given: params.len(),
                });
            }
            return self.run_control(control);
        }
        let catalog = self.db.catalog();
        let db = self.db.clone();
        match &mut self.state {
            BlockState::Failed { .. } => Err(Error::InFailedTransaction),
            BlockState::InBlock(block) => {
                block.txn.new_statement();
                block.statements += 1;
                let result =
                    plan_and_run(&db, &mut block.txn, catalog, statement, params, prepared)
                        .map_err(canceled);
                if let Err(error) = &result {
                    self.fail_block(error)?;
                }
                result
            }
            BlockState::Idle => {
                let mut txn = db.cluster().begin_with(TransactionOptions {
                    level: self.level,
                    read_only: self.read_only || reads_only(statement),
                });
                self.current.set(Some(txn.id()));
                txn.new_statement();
                let result = plan_and_run(&db, &mut txn, catalog, statement, params, prepared)
                    .map_err(canceled);
                let ended = match result {
                    Ok(result) => txn.commit().map(|_| result).map_err(Error::from),
                    Err(error) => txn.rollback().map_err(Error::from).and(Err(error)),
                };
                self.current.set(None);
                ended
            }
        }
    }

    /// Moves an open block to Failed after a statement's `error`: the
    /// transaction is rolled back at once, unless the block has savepoints
    /// and the transaction is still active (ROLLBACK TO may rescue it).
    fn fail_block(&mut self, error: &Error) -> Result<()> {
        if !matches!(self.state, BlockState::InBlock(_)) {
            return Ok(());
        }
        let retryable = error.is_serialization_or_deadlock();
        let BlockState::InBlock(block) = std::mem::replace(
            &mut self.state,
            BlockState::Failed {
                retryable,
                kept: None,
            },
        ) else {
            return Ok(());
        };
        if !block.savepoints.is_empty() && block.txn.is_active() {
            self.state = BlockState::Failed {
                retryable,
                kept: Some(block),
            };
            return Ok(());
        }
        self.current.set(None);
        block.txn.rollback()?;
        Ok(())
    }
}

/// A lock wait ended by a [`CancelHandle`] is reported as 57014.
fn canceled(error: Error) -> Error {
    match error {
        Error::Engine(isodb_engine::Error::LockTimeout(message))
            if message.starts_with("canceled") =>
        {
            Error::QueryCanceled(message)
        }
        other => other,
    }
}

/// Plans (or reuses a prepared plan) and executes one statement.
fn plan_and_run(
    db: &Database,
    txn: &mut EngineTransaction,
    catalog: crate::catalog::store::Catalog,
    statement: &ast::Statement,
    params: &[Value],
    prepared: Option<&Prepared>,
) -> Result<StatementResult> {
    let (plan, param_count) = match prepared {
        Some(prepared) => prepared.plan(txn, catalog)?,
        None => {
            let (plan, _, count) = plan_fresh(txn, catalog, statement)?;
            (std::sync::Arc::new(plan), count)
        }
    };
    if param_count != params.len() {
        return Err(Error::WrongParameterCount {
            expected: param_count,
            given: params.len(),
        });
    }
    let mut ctx = ExecContext {
        txn,
        catalog,
        params,
        outer: Vec::new(),
        subquery_cache: Default::default(),
        row_ids: db.row_ids(),
    };
    execute_plan(&plan, &mut ctx)
}
