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
use crate::session::settings;
use crate::session::{Block, BlockState, Session};
use crate::types::{DataType, Value};

/// A result of text columns (SHOW).
fn text_result(names: &[&str], rows: Vec<Vec<String>>) -> StatementResult {
    StatementResult {
        columns: names
            .iter()
            .map(|name| Column {
                name: (*name).to_string(),
                data_type: Some(DataType::Text),
            })
            .collect(),
        affected: rows.len() as u64,
        rows: rows
            .into_iter()
            .map(|row| row.into_iter().map(Value::Text).collect())
            .collect(),
    }
}

/// An isolation level named in SET (`'repeatable read'`, `serializable`).
fn parse_level(name: &str, value: &str) -> Result<IsolationLevel> {
    let words = value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    Ok(match words.as_str() {
        "read uncommitted" => IsolationLevel::ReadUncommitted,
        "read committed" => IsolationLevel::ReadCommitted,
        "repeatable read" => IsolationLevel::RepeatableRead,
        "serializable" => IsolationLevel::Serializable,
        _ => {
            return Err(Error::InvalidParameterValue {
                name: name.to_string(),
                value: value.to_string(),
                hint: "Available values: serializable, repeatable read, read committed, read uncommitted.".into(),
            });
        }
    })
}

/// on / off in SET.
fn parse_on_off(name: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(Error::InvalidParameterValue {
            name: name.to_string(),
            value: value.to_string(),
            hint: "Give on or off.".into(),
        }),
    }
}

impl Session {
    /// Runs one session-control statement.
    pub(super) fn run_control(&mut self, control: Control) -> Result<StatementResult> {
        let parameters = matches!(
            control,
            Control::Set { .. } | Control::ResetAll | Control::Show(_) | Control::ShowAll
        );
        if parameters && self.is_failed() {
            return Err(Error::InFailedTransaction);
        }
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
            Control::Set { name, value, local } => {
                self.set_parameter_to(&name, value.as_deref(), local)?
            }
            Control::ResetAll => {
                self.settings.reset_all();
                self.level = self.db.options().isolation_level;
                self.read_only = false;
            }
            Control::Show(name) => {
                let (name, value) = self.view().show(&name)?;
                return Ok(text_result(&[&name], vec![vec![value]]));
            }
            Control::ShowAll => {
                let rows = self
                    .view()
                    .show_all()
                    .into_iter()
                    .map(|(name, value, description)| vec![name, value, description])
                    .collect();
                return Ok(text_result(&["name", "setting", "description"], rows));
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
        self.activity.set_transaction(None);
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

    /// `SET name = value` for the session (what a server does with the
    /// parameters of a client's startup packet).
    pub fn set_parameter(&mut self, name: &str, value: &str) -> Result<()> {
        if self.is_failed() {
            return Err(Error::InFailedTransaction);
        }
        self.set_parameter_to(name, Some(value), false)
    }

    /// SET name = value, SET name TO DEFAULT (value `None`) and RESET name.
    fn set_parameter_to(&mut self, name: &str, value: Option<&str>, local: bool) -> Result<()> {
        let in_block = matches!(self.state, BlockState::InBlock(_));
        let Some(transaction_parameter) = settings::transaction_parameter(name) else {
            return match value {
                Some(value) => self.settings.set(name, value, local, in_block),
                None => self.settings.reset(name, local, in_block),
            };
        };
        let default_level = self.db.options().isolation_level;
        match (transaction_parameter, value) {
            ("default_transaction_isolation", value) => {
                self.level = value.map_or(Ok(default_level), |v| parse_level(name, v))?;
            }
            ("default_transaction_read_only", value) => {
                self.read_only = value.map_or(Ok(false), |v| parse_on_off(name, v))?;
            }
            ("transaction_isolation", Some(value)) => {
                let level = parse_level(name, value)?;
                self.set_transaction(Some(level), None)?;
            }
            ("transaction_read_only", Some(value)) => {
                let read_only = parse_on_off(name, value)?;
                self.set_transaction(None, Some(read_only))?;
            }
            _ => {}
        }
        Ok(())
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
                self.activity.set_transaction(Some(txn.id()));
                self.state = BlockState::InBlock(Block::new(txn));
                self.settings.begin_block();
                Ok(())
            }
            // BEGIN inside an implicit block makes it an ordinary one.
            BlockState::InBlock(ref mut block) if block.implicit => {
                block.implicit = false;
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
        self.activity.set_transaction(None);
        match std::mem::replace(&mut self.state, BlockState::Idle) {
            BlockState::Idle => Ok(()),
            BlockState::InBlock(block) => {
                let committed = block.txn.commit();
                self.settings.end_block(committed.is_ok());
                committed?;
                Ok(())
            }
            BlockState::Failed { kept, .. } => {
                self.settings.end_block(false);
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
        self.activity.set_transaction(None);
        if self.in_transaction() {
            self.settings.end_block(false);
        }
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
        self.activity.set_transaction(Some(fresh.id()));
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
