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
//! Configuration parameters (`SET`, `SHOW`, `RESET`, [`settings`]) include
//! three timeouts, as in PostgreSQL:
//!
//! - `statement_timeout`: a statement running longer fails with 57014
//!   (its operators check the deadline as they go, and a lock wait ends at
//!   it);
//! - `lock_timeout`: a lock wait longer than this fails with 55P03;
//! - `idle_in_transaction_session_timeout`: a block left idle longer than
//!   this is rolled back, and the next statement fails with 25P03 (a
//!   server closes the connection at that moment instead).
//!
//! For a shell: [`Session::transaction_state`], [`Session::transaction_id`]
//! (the engine's id, as lock listings show it) and
//! [`Session::cancel_handle`], which cancels the running statement from
//! another thread ([`cancel`]).

mod block;
pub mod cancel;
mod client;
mod control;
pub(crate) mod registry;
pub mod settings;
mod show;

use std::sync::Arc;
use std::time::{Duration, Instant};

use isodb_engine::cluster::{
    ClusterSavepoint as SavepointId, ClusterTransaction as EngineTransaction,
};
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

pub use cancel::{CancelHandle, Interrupt};
pub use client::{Completion, Description};
pub use settings::Settings;
pub use show::SessionView;

use cancel::Activity;
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
    /// An implicit block ([`client`]): ends with the message that opened it.
    implicit: bool,
}

impl Block {
    fn new(txn: EngineTransaction) -> Block {
        Block {
            txn,
            statements: 0,
            savepoints: Vec::new(),
            implicit: false,
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
        /// The failed block was an implicit one.
        implicit: bool,
    },
}

/// One connection to a [`Database`]. Use one per thread.
pub struct Session {
    db: Database,
    state: BlockState,
    level: IsolationLevel,
    read_only: bool,
    activity: Arc<Activity>,
    /// Statements started so far (numbers the running one for cancels).
    statements: u64,
    settings: Settings,
    /// The connected database's name (`current_database()`).
    database_name: String,
    /// When the open block last finished a statement.
    idle_since: Option<Instant>,
    /// Its backend process id ([`registry`]).
    pid: i32,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.db.sessions().unregister(self.pid);
    }
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
        let settings = Settings::new(db.options().lock_timeout);
        let activity = Arc::default();
        let pid = db.sessions().register(&activity);
        Session {
            db,
            state: BlockState::Idle,
            level,
            read_only: false,
            activity,
            statements: 0,
            settings,
            database_name: "isodb".into(),
            idle_since: None,
            pid,
        }
    }

    /// Names the user and database this session serves (a server does this
    /// at connection start): `current_user`, `session_authorization`,
    /// `current_database()`.
    pub fn set_identity(&mut self, user: &str, database: &str) {
        // `session_authorization` is a known fixed parameter.
        let _ = self.settings.set_fixed("session_authorization", user);
        self.database_name = database.to_string();
    }

    /// The session's backend process id, unique among the database's open
    /// sessions: `pg_backend_pid()`, what a server sends as BackendKeyData,
    /// and what [`Database::blocking_pids`] takes and returns.
    pub fn backend_pid(&self) -> i32 {
        self.pid
    }

    /// The session's configuration parameters.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Reported parameters that changed since the last call (what a server
    /// sends its client as ParameterStatus after a statement).
    pub fn take_reported_changes(&mut self) -> Vec<(&'static str, String)> {
        self.settings.take_reported_changes()
    }

    /// The value of parameter `name`, as `SHOW name` gives it.
    pub fn show(&self, name: &str) -> Result<String> {
        self.view().show(name).map(|(_, value)| value)
    }

    /// The instant at which an idle open block exceeds
    /// `idle_in_transaction_session_timeout` (a server closes the
    /// connection then); `None` outside a block or without the timeout.
    pub fn idle_in_transaction_deadline(&self) -> Option<Instant> {
        let timeout = self.settings.idle_in_transaction_timeout()?;
        self.idle_since
            .filter(|_| self.in_transaction())
            .map(|since| since + timeout)
    }

    /// What the executor and SHOW see of the session.
    fn view(&self) -> SessionView<'_> {
        let (level, read_only) = match &self.state {
            BlockState::InBlock(block)
            | BlockState::Failed {
                kept: Some(block), ..
            } => (block.txn.level(), block.txn.is_read_only()),
            _ => (self.level, self.read_only),
        };
        SessionView {
            settings: &self.settings,
            level,
            read_only,
            default_level: self.level,
            default_read_only: self.read_only,
            database: &self.database_name,
            backend_pid: self.pid,
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

    /// A handle that cancels this session's running statement from another
    /// thread: it fails with 57014.
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle::new(self.db.cluster().clone(), Arc::clone(&self.activity))
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
        self.plan_prepared(&prepared)?;
        Ok(prepared)
    }

    /// Plans a prepared statement in the open block, or in a read-only
    /// transaction of its own.
    pub(crate) fn plan_prepared(&mut self, prepared: &Prepared) -> Result<()> {
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
        Ok(())
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
        self.end_idle_block()?;
        let result = self.run_statement(statement, params, prepared);
        self.idle_since = self.in_transaction().then(Instant::now);
        result
    }

    /// Rolls back an open block that was idle past
    /// `idle_in_transaction_session_timeout` (25P03).
    fn end_idle_block(&mut self) -> Result<()> {
        match self.idle_in_transaction_deadline() {
            Some(deadline) if Instant::now() >= deadline => {
                self.rollback_block()?;
                self.idle_since = None;
                Err(Error::IdleInTransactionTimeout)
            }
            _ => Ok(()),
        }
    }

    fn run_statement(
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
        if matches!(self.state, BlockState::Failed { .. }) {
            return Err(Error::InFailedTransaction);
        }
        self.statements += 1;
        let number = self.statements;
        let deadline = self
            .settings
            .statement_timeout()
            .and_then(|t| Instant::now().checked_add(t));
        let lock_timeout = lock_wait_limit(self.settings.lock_timeout(), deadline);
        let interrupt = Interrupt::new(Arc::clone(&self.activity), number, deadline);
        self.activity.start_statement(number);
        let result = self.run_planned(statement, params, prepared, interrupt, lock_timeout);
        self.activity.end_statement();
        result
    }

    fn run_planned(
        &mut self,
        statement: &ast::Statement,
        params: &[Value],
        prepared: Option<&Prepared>,
        interrupt: Interrupt,
        lock_timeout: Option<Duration>,
    ) -> Result<StatementResult> {
        let catalog = self.db.catalog();
        let db = self.db.clone();
        let (level, read_only) = (self.level, self.read_only);
        let view = SessionView {
            settings: &self.settings,
            level,
            read_only,
            default_level: level,
            default_read_only: read_only,
            database: &self.database_name,
            backend_pid: self.pid,
        };
        match &mut self.state {
            BlockState::Failed { .. } => Err(Error::InFailedTransaction),
            BlockState::InBlock(block) => {
                block.txn.new_statement();
                block.txn.set_lock_timeout(lock_timeout);
                block.statements += 1;
                let view = SessionView {
                    level: block.txn.level(),
                    read_only: block.txn.is_read_only(),
                    ..view
                };
                let run = Run {
                    db: &db,
                    catalog,
                    statement,
                    params,
                    prepared,
                    interrupt,
                    session: view,
                };
                let result = run.execute(&mut block.txn);
                if let Err(error) = &result {
                    self.fail_block(error)?;
                }
                result
            }
            BlockState::Idle => {
                let mut txn = db.cluster().begin_with(TransactionOptions {
                    level,
                    read_only: read_only || reads_only(statement),
                });
                txn.set_lock_timeout(lock_timeout);
                self.activity.set_transaction(Some(txn.id()));
                txn.new_statement();
                let run = Run {
                    db: &db,
                    catalog,
                    statement,
                    params,
                    prepared,
                    interrupt,
                    session: view,
                };
                let result = run.execute(&mut txn);
                let ended = match result {
                    Ok(result) => txn.commit().map(|_| result).map_err(Error::from),
                    Err(error) => txn.rollback().map_err(Error::from).and(Err(error)),
                };
                self.activity.set_transaction(None);
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
                implicit: false,
            },
        ) else {
            return Ok(());
        };
        let implicit = block.implicit;
        if !block.savepoints.is_empty() && block.txn.is_active() {
            self.state = BlockState::Failed {
                retryable,
                kept: Some(block),
                implicit,
            };
            return Ok(());
        }
        self.state = BlockState::Failed {
            retryable,
            kept: None,
            implicit,
        };
        self.activity.set_transaction(None);
        block.txn.rollback()?;
        Ok(())
    }
}

/// How long a lock wait may last: the session's `lock_timeout`, cut short
/// by the statement's deadline.
fn lock_wait_limit(lock_timeout: Option<Duration>, deadline: Option<Instant>) -> Option<Duration> {
    let remaining = deadline.map(|d| {
        d.saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    });
    match (lock_timeout, remaining) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A lock wait that ended early, reported as PostgreSQL does: canceled
/// (57014), past the statement's deadline (57014), or past `lock_timeout`
/// (55P03).
fn stopped(error: Error, interrupt: &Interrupt) -> Error {
    match error {
        Error::Engine(isodb_engine::Error::LockTimeout(message)) => {
            if interrupt.was_canceled() || message.starts_with("canceled") {
                Error::QueryCanceled("user request".into())
            } else if interrupt.deadline_passed() {
                Error::QueryCanceled("statement timeout".into())
            } else if message.ends_with("(NOWAIT)") {
                Error::Engine(isodb_engine::Error::LockTimeout(message))
            } else {
                Error::LockTimeout(message)
            }
        }
        other => other,
    }
}

/// One statement to plan (or take a prepared plan for) and execute.
struct Run<'a> {
    db: &'a Database,
    catalog: crate::catalog::store::Catalog,
    statement: &'a ast::Statement,
    params: &'a [Value],
    prepared: Option<&'a Prepared>,
    interrupt: Interrupt,
    session: SessionView<'a>,
}

impl Run<'_> {
    fn execute(self, txn: &mut EngineTransaction) -> Result<StatementResult> {
        let (plan, param_count) = match self.prepared {
            Some(prepared) => prepared.plan(txn, self.catalog)?,
            None => {
                let (plan, _, count) = plan_fresh(txn, self.catalog, self.statement)?;
                (Arc::new(plan), count)
            }
        };
        if param_count != self.params.len() {
            return Err(Error::WrongParameterCount {
                expected: param_count,
                given: self.params.len(),
            });
        }
        let mut ctx = ExecContext {
            txn,
            catalog: self.catalog,
            params: self.params,
            outer: Vec::new(),
            subquery_cache: Default::default(),
            row_ids: self.db.row_ids(),
            db: self.db,
            interrupt: self.interrupt,
            session: self.session,
            system_catalog: None,
        };
        execute_plan(&plan, &mut ctx).map_err(|error| stopped(error, &ctx.interrupt))
    }
}
