//! Transaction-control statements: BEGIN, COMMIT, ROLLBACK, SAVEPOINT,
//! ROLLBACK TO SAVEPOINT, RELEASE SAVEPOINT, SET TRANSACTION, SET SESSION
//! CHARACTERISTICS, SHOW TRANSACTION ISOLATION LEVEL, and two-phase commit:
//! PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED and
//! `SHOW prepared_transactions` (what PostgreSQL's `pg_prepared_xacts` lists).
//!
//! The session runs these itself (they change its state machine, see
//! [`crate::session`]); everything else goes to the planner. This module
//! only recognizes them in sqlparser's AST:
//!
//! ```text
//!   START TRANSACTION ISOLATION LEVEL READ COMMITTED, READ ONLY
//!     -> Begin(Some(ReadCommitted), Some(true))
//!   SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE
//!     -> SetSessionDefault(Some(Serializable), None)
//!   ROLLBACK TO SAVEPOINT s1   -> RollbackTo("s1")
//! ```

use isodb_engine::txn::IsolationLevel;
use sqlparser::ast;

use crate::error::{Error, Result};

/// A transaction-control statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    /// BEGIN / START TRANSACTION with its optional level and access mode.
    Begin(Option<IsolationLevel>, Option<bool>),
    /// COMMIT.
    Commit,
    /// ROLLBACK.
    Rollback,
    /// SAVEPOINT name.
    Savepoint(String),
    /// ROLLBACK TO [SAVEPOINT] name.
    RollbackTo(String),
    /// RELEASE [SAVEPOINT] name.
    Release(String),
    /// SET TRANSACTION ...
    SetTransaction(Option<IsolationLevel>, Option<bool>),
    /// SET SESSION CHARACTERISTICS AS TRANSACTION ...
    SetSessionDefault(Option<IsolationLevel>, Option<bool>),
    /// SHOW TRANSACTION ISOLATION LEVEL.
    ShowIsolation,
    /// PREPARE TRANSACTION 'gid'.
    PrepareTransaction(String),
    /// COMMIT PREPARED 'gid'.
    CommitPrepared(String),
    /// ROLLBACK PREPARED 'gid'.
    RollbackPrepared(String),
    /// SHOW prepared_transactions.
    ShowPrepared,
}

fn level_of(level: &ast::TransactionIsolationLevel) -> Result<IsolationLevel> {
    Ok(match level {
        ast::TransactionIsolationLevel::ReadUncommitted => IsolationLevel::ReadUncommitted,
        ast::TransactionIsolationLevel::ReadCommitted => IsolationLevel::ReadCommitted,
        ast::TransactionIsolationLevel::RepeatableRead => IsolationLevel::RepeatableRead,
        ast::TransactionIsolationLevel::Serializable => IsolationLevel::Serializable,
        ast::TransactionIsolationLevel::Snapshot => {
            return Err(Error::FeatureNotSupported(
                "ISOLATION LEVEL SNAPSHOT".into(),
            ));
        }
    })
}

fn modes(list: &[ast::TransactionMode]) -> Result<(Option<IsolationLevel>, Option<bool>)> {
    let mut level = None;
    let mut read_only = None;
    for mode in list {
        match mode {
            ast::TransactionMode::IsolationLevel(l) => level = Some(level_of(l)?),
            ast::TransactionMode::AccessMode(ast::TransactionAccessMode::ReadOnly) => {
                read_only = Some(true)
            }
            ast::TransactionMode::AccessMode(ast::TransactionAccessMode::ReadWrite) => {
                read_only = Some(false)
            }
        }
    }
    Ok((level, read_only))
}

/// The control statement `statement` is, if it is one.
pub(crate) fn control(statement: &ast::Statement) -> Result<Option<Control>> {
    if let Some(two_phase) = crate::parse::two_phase::recognize(statement) {
        use crate::parse::two_phase::TwoPhase;
        return Ok(Some(match two_phase {
            TwoPhase::Prepare(gid) => Control::PrepareTransaction(gid),
            TwoPhase::CommitPrepared(gid) => Control::CommitPrepared(gid),
            TwoPhase::RollbackPrepared(gid) => Control::RollbackPrepared(gid),
        }));
    }
    Ok(Some(match statement {
        ast::Statement::StartTransaction {
            modes: list,
            statements,
            exception,
            ..
        } => {
            if !statements.is_empty() || exception.is_some() {
                return Err(Error::FeatureNotSupported("BEGIN ... END blocks".into()));
            }
            let (level, read_only) = modes(list)?;
            Control::Begin(level, read_only)
        }
        ast::Statement::Commit { chain: false, .. } => Control::Commit,
        ast::Statement::Rollback {
            chain: false,
            savepoint: None,
        } => Control::Rollback,
        ast::Statement::Rollback {
            chain: false,
            savepoint: Some(name),
        } => Control::RollbackTo(savepoint_name(name)),
        ast::Statement::Savepoint { name } => Control::Savepoint(savepoint_name(name)),
        ast::Statement::ReleaseSavepoint { name } => Control::Release(savepoint_name(name)),
        ast::Statement::Rollback { .. } | ast::Statement::Commit { .. } => {
            return Err(Error::FeatureNotSupported("AND CHAIN".into()));
        }
        ast::Statement::Set(ast::Set::SetTransaction {
            modes: list,
            snapshot: None,
            session,
        }) => {
            let (level, read_only) = modes(list)?;
            if *session {
                Control::SetSessionDefault(level, read_only)
            } else {
                Control::SetTransaction(level, read_only)
            }
        }
        ast::Statement::ShowVariable { variable } => {
            let name: Vec<String> = variable.iter().map(|i| i.value.to_lowercase()).collect();
            match name.join(" ").as_str() {
                "transaction isolation level"
                | "transaction_isolation"
                | "default_transaction_isolation" => Control::ShowIsolation,
                "prepared_transactions" => Control::ShowPrepared,
                other => {
                    return Err(Error::UndefinedObject {
                        kind: "configuration parameter",
                        name: other.to_string(),
                    });
                }
            }
        }
        _ => return Ok(None),
    }))
}

/// A savepoint's name: folded to lower case unless quoted, as identifiers are.
fn savepoint_name(ident: &ast::Ident) -> String {
    crate::plan::binder::ident_name(ident)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_statements;

    fn parsed(sql: &str) -> Option<Control> {
        let statements = parse_statements(sql).expect("parses");
        let [statement] = statements.as_slice() else {
            panic!("{sql}: expected one statement");
        };
        control(statement).expect("recognized")
    }

    #[test]
    fn recognizes_every_control_statement() {
        assert_eq!(
            parsed("START TRANSACTION ISOLATION LEVEL READ COMMITTED, READ ONLY"),
            Some(Control::Begin(
                Some(IsolationLevel::ReadCommitted),
                Some(true)
            ))
        );
        assert_eq!(parsed("BEGIN"), Some(Control::Begin(None, None)));
        assert_eq!(
            parsed("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ"),
            Some(Control::SetSessionDefault(
                Some(IsolationLevel::RepeatableRead),
                None
            ))
        );
        assert_eq!(
            parsed("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
            Some(Control::SetTransaction(
                Some(IsolationLevel::Serializable),
                None
            ))
        );
        assert_eq!(
            parsed("SAVEPOINT Sp1"),
            Some(Control::Savepoint("sp1".into()))
        );
        assert_eq!(
            parsed("ROLLBACK TO SAVEPOINT sp1"),
            Some(Control::RollbackTo("sp1".into()))
        );
        assert_eq!(
            parsed("ROLLBACK TO \"Sp1\""),
            Some(Control::RollbackTo("Sp1".into()))
        );
        assert_eq!(
            parsed("RELEASE SAVEPOINT sp1"),
            Some(Control::Release("sp1".into()))
        );
        assert_eq!(parsed("RELEASE sp1"), Some(Control::Release("sp1".into())));
        assert_eq!(parsed("ROLLBACK"), Some(Control::Rollback));
        assert_eq!(parsed("COMMIT"), Some(Control::Commit));
        assert_eq!(
            parsed("SHOW TRANSACTION ISOLATION LEVEL"),
            Some(Control::ShowIsolation)
        );
        assert_eq!(parsed("SELECT 1"), None);
    }
}
