//! Running transaction-control statements: the transitions of the
//! session's state machine (see [`crate::session`]).
//!
//! Savepoints, as in PostgreSQL:
//!
//! ```text
//!   BEGIN; INSERT a; SAVEPOINT s; INSERT b; INSERT a  -- 23505: block Failed
//!   ROLLBACK TO SAVEPOINT s   -- undoes INSERT b (and the failed INSERT's
//!                             -- partial writes); back InBlock, s still open
//!   INSERT c; RELEASE s; COMMIT                        -- commits a and c
//! ```
//!
//! - SAVEPOINT, ROLLBACK TO and RELEASE outside a block are 25P01.
//! - An unknown name is 3B001 and fails the block, like any error in it.
//! - ROLLBACK TO closes the savepoints taken after the named one; RELEASE
//!   closes the named one and those after it, keeping their writes.
//! - Row locks taken after a savepoint stay held after ROLLBACK TO (see
//!   [`isodb_engine::txn::savepoint`]).

use isodb_engine::txn::{IsolationLevel, TransactionOptions};

use crate::error::{Error, Result};
use crate::exec::StatementResult;
use crate::plan::Column;
use crate::session::control::Control;
use crate::session::{Block, BlockState, Session};
use crate::types::{DataType, Value};

impl Session {
    /// Runs one transaction-control statement.
    pub(super) fn run_control(&mut self, control: Control) -> Result<StatementResult> {
        match control {
            Control::Begin(level, read_only) => self.begin_block(level, read_only)?,
            Control::Commit => self.commit_block(true)?,
            Control::Rollback => self.rollback_block()?,
            Control::Savepoint(name) => self.savepoint(name)?,
            Control::RollbackTo(name) => self.rollback_to_savepoint(&name)?,
            Control::Release(name) => self.release_savepoint(&name)?,
            Control::SetTransaction(level, read_only) => self.set_transaction(level, read_only)?,
            Control::SetSessionDefault(level, read_only) => {
                if let Some(level) = level {
                    self.level = level;
                }
                if let Some(read_only) = read_only {
                    self.read_only = read_only;
                }
            }
            Control::PrepareTransaction(gid) => self.prepare_transaction(&gid)?,
            Control::CommitPrepared(gid) => {
                self.outside_block("COMMIT PREPARED")?;
                self.db.cluster().commit_prepared(&gid)?;
            }
            Control::RollbackPrepared(gid) => {
                self.outside_block("ROLLBACK PREPARED")?;
                self.db.cluster().rollback_prepared(&gid)?;
            }
            Control::ShowPrepared => return Ok(self.show_prepared()),
            Control::ShowIsolation => {
                let level = match &self.state {
                    BlockState::InBlock(block)
                    | BlockState::Failed {
                        kept: Some(block), ..
                    } => block.txn.level(),
                    _ => self.level,
                };
                return Ok(StatementResult {
                    columns: vec![Column {
                        name: "transaction_isolation".into(),
                        data_type: Some(DataType::Text),
                    }],
                    rows: vec![vec![Value::Text(level.as_sql().to_lowercase())]],
                    affected: 1,
                });
            }
        }
        Ok(StatementResult::default())
    }

    /// PREPARE TRANSACTION 'gid': the open block's transaction is prepared
    /// durably on every shard it wrote and leaves the session, which is idle
    /// again; `COMMIT PREPARED 'gid'` (from any session, after a restart
    /// too) finishes it. Outside a block it does nothing, as in PostgreSQL;
    /// in a failed block it rolls back and reports 25P02.
    fn prepare_transaction(&mut self, gid: &str) -> Result<()> {
        self.current.set(None);
        match std::mem::replace(&mut self.state, BlockState::Idle) {
            BlockState::Idle => Ok(()),
            BlockState::InBlock(block) => Ok(block.txn.prepare(gid)?),
            BlockState::Failed { kept, .. } => {
                if let Some(block) = kept {
                    block.txn.rollback()?;
                }
                Err(Error::InFailedTransaction)
            }
        }
    }

    /// COMMIT/ROLLBACK PREPARED cannot run inside a transaction block (25001).
    fn outside_block(&self, what: &str) -> Result<()> {
        match self.state {
            BlockState::Idle => Ok(()),
            _ => Err(Error::InvalidTransactionState(format!(
                "{what} cannot run inside a transaction block"
            ))),
        }
    }

    /// `SHOW prepared_transactions`: one row per prepared transaction, with
    /// the columns of PostgreSQL's `pg_prepared_xacts` that isodb has, and
    /// where it is prepared.
    fn show_prepared(&self) -> StatementResult {
        let text = |name: &str| Column {
            name: name.into(),
            data_type: Some(DataType::Text),
        };
        let columns = vec![
            Column {
                name: "transaction".into(),
                data_type: Some(DataType::Integer),
            },
            text("gid"),
            text("coordinator"),
            text("home_shard"),
            text("participants"),
            Column {
                name: "rows".into(),
                data_type: Some(DataType::Integer),
            },
            text("isolation"),
            Column {
                name: "age_seconds".into(),
                data_type: Some(DataType::Double),
            },
        ];
        let rows: Vec<Vec<Value>> = self
            .db
            .cluster()
            .prepared_transactions()
            .into_iter()
            .map(|p| {
                let participants: Vec<String> = p
                    .coordination
                    .participants
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                vec![
                    Value::Integer(p.id as i64),
                    p.coordination.gid.clone().map_or(Value::Null, Value::Text),
                    Value::from(if p.coordination.gid.is_some() {
                        "outside (PREPARE TRANSACTION)"
                    } else {
                        "isodb (in doubt)"
                    }),
                    Value::Text(p.coordination.home.to_string()),
                    Value::Text(participants.join(", ")),
                    Value::Integer(p.rows as i64),
                    Value::Text(p.level.as_sql().to_lowercase()),
                    Value::Double(p.age.as_secs_f64()),
                ]
            })
            .collect();
        StatementResult {
            columns,
            affected: rows.len() as u64,
            rows,
        }
    }

    /// BEGIN: opens a block (25001 when one is open, 25P02 when failed).
    pub(crate) fn begin_block(
        &mut self,
        level: Option<IsolationLevel>,
        read_only: Option<bool>,
    ) -> Result<()> {
        match self.state {
            BlockState::Idle => {
                let txn = self.db.cluster().begin_with(TransactionOptions {
                    level: level.unwrap_or(self.level),
                    read_only: read_only.unwrap_or(self.read_only),
                });
                self.current.set(Some(txn.id()));
                self.state = BlockState::InBlock(Block::new(txn));
                Ok(())
            }
            BlockState::InBlock(_) => Err(Error::ActiveTransaction),
            BlockState::Failed { .. } => Err(Error::InFailedTransaction),
        }
    }

    /// COMMIT. Outside a block it does nothing (PostgreSQL warns); in a
    /// failed block it rolls back — and, unless `lenient_failed` (SQL's
    /// COMMIT), reports 25P02 so a Rust caller knows nothing was committed.
    pub(crate) fn commit_block(&mut self, lenient_failed: bool) -> Result<()> {
        self.current.set(None);
        match std::mem::replace(&mut self.state, BlockState::Idle) {
            BlockState::Idle => Ok(()),
            BlockState::InBlock(block) => {
                block.txn.commit()?;
                Ok(())
            }
            BlockState::Failed { kept, .. } => {
                if let Some(block) = kept {
                    block.txn.rollback()?;
                }
                if lenient_failed {
                    Ok(())
                } else {
                    Err(Error::InFailedTransaction)
                }
            }
        }
    }

    /// ROLLBACK (a no-op outside a block).
    pub(crate) fn rollback_block(&mut self) -> Result<()> {
        self.current.set(None);
        match std::mem::replace(&mut self.state, BlockState::Idle) {
            BlockState::InBlock(block)
            | BlockState::Failed {
                kept: Some(block), ..
            } => {
                block.txn.rollback()?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// SAVEPOINT name.
    fn savepoint(&mut self, name: String) -> Result<()> {
        match &mut self.state {
            BlockState::Idle => Err(Error::NoActiveTransaction),
            BlockState::Failed { .. } => Err(Error::InFailedTransaction),
            BlockState::InBlock(block) => {
                let id = block.txn.savepoint()?;
                block.savepoints.push((name, id));
                Ok(())
            }
        }
    }

    /// ROLLBACK TO SAVEPOINT name: undoes the block's writes since the
    /// savepoint; a failed block becomes usable again.
    fn rollback_to_savepoint(&mut self, name: &str) -> Result<()> {
        let undone = match &mut self.state {
            BlockState::Idle => return Err(Error::NoActiveTransaction),
            BlockState::Failed { kept: None, .. } => return Err(Error::InFailedTransaction),
            BlockState::InBlock(block)
            | BlockState::Failed {
                kept: Some(block), ..
            } => block.savepoint(name).and_then(|(position, id)| {
                block.txn.rollback_to_savepoint(id)?;
                block.savepoints.truncate(position + 1);
                Ok(())
            }),
        };
        if let Err(error) = undone {
            self.fail_block(&error)?;
            return Err(error);
        }
        if matches!(self.state, BlockState::Failed { kept: Some(_), .. })
            && let BlockState::Failed {
                kept: Some(block), ..
            } = std::mem::replace(&mut self.state, BlockState::Idle)
        {
            self.state = BlockState::InBlock(block);
        }
        Ok(())
    }

    /// RELEASE SAVEPOINT name: forgets it and every later savepoint.
    fn release_savepoint(&mut self, name: &str) -> Result<()> {
        let released = match &mut self.state {
            BlockState::Idle => return Err(Error::NoActiveTransaction),
            BlockState::Failed { .. } => return Err(Error::InFailedTransaction),
            BlockState::InBlock(block) => block.savepoint(name).and_then(|(position, id)| {
                block.txn.release_savepoint(id)?;
                block.savepoints.truncate(position);
                Ok(())
            }),
        };
        if let Err(error) = &released {
            self.fail_block(error)?;
        }
        released
    }

    /// SET TRANSACTION: only before the block's first query, and not once
    /// a savepoint exists.
    fn set_transaction(
        &mut self,
        level: Option<IsolationLevel>,
        read_only: Option<bool>,
    ) -> Result<()> {
        let block = match &mut self.state {
            BlockState::Idle => return Err(Error::NoActiveTransaction),
            BlockState::Failed { .. } => return Err(Error::InFailedTransaction),
            BlockState::InBlock(block) => block,
        };
        let new_level = level.unwrap_or(block.txn.level());
        let new_read_only = read_only.unwrap_or(block.txn.is_read_only());
        if new_level == block.txn.level() && new_read_only == block.txn.is_read_only() {
            return Ok(());
        }
        if block.statements > 0 {
            return Err(Error::InvalidTransactionState(
                "SET TRANSACTION ISOLATION LEVEL must be called before any query".into(),
            ));
        }
        if !block.savepoints.is_empty() {
            return Err(Error::InvalidTransactionState(
                "SET TRANSACTION ISOLATION LEVEL must not be called after a SAVEPOINT".into(),
            ));
        }
        let fresh = self.db.cluster().begin_with(TransactionOptions {
            level: new_level,
            read_only: new_read_only,
        });
        self.current.set(Some(fresh.id()));
        let old = std::mem::replace(&mut block.txn, fresh);
        old.rollback()?;
        Ok(())
    }

    /// Ends the block for the transaction guard: commit (strictly: a failed
    /// block reports 25P02) or roll back.
    pub(crate) fn finish_block(&mut self, commit: bool) -> Result<()> {
        if commit {
            self.commit_block(false)
        } else {
            self.rollback_block()
        }
    }

    /// Rolls back whatever block is open, ignoring errors (guard drop).
    pub(crate) fn abandon_block(&mut self) {
        let _ = self.rollback_block();
    }
}
