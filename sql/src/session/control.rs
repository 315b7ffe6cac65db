//! Session-control statements: BEGIN, COMMIT, ROLLBACK, SAVEPOINT,
//! ROLLBACK TO SAVEPOINT, RELEASE SAVEPOINT, SET TRANSACTION, SET SESSION
//! CHARACTERISTICS, SET / RESET / SHOW of configuration parameters
//! ([`crate::session::settings`]), and two-phase commit: PREPARE
//! TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED and
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
//!   SET LOCAL lock_timeout = '1s'
//!     -> Set { name: "lock_timeout", value: Some("1s"), local: true }
//!   SHOW TRANSACTION ISOLATION LEVEL -> Show("transaction_isolation")
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
    /// SET [LOCAL] name = value; `value: None` is SET name TO DEFAULT and
    /// RESET name.
    Set {
        /// The parameter.
        name: String,
        /// Its new value, as text; `None` for its default.
        value: Option<String>,
        /// SET LOCAL: until the end of the block.
        local: bool,
    },
    /// RESET ALL.
    ResetAll,
    /// SHOW name (SHOW TRANSACTION ISOLATION LEVEL is SHOW transaction_isolation).
    Show(String),
    /// SHOW ALL.
    ShowAll,
    /// PREPARE TRANSACTION 'gid'.
    PrepareTransaction(String),
    /// COMMIT PREPARED 'gid'.
    CommitPrepared(String),
    /// ROLLBACK PREPARED 'gid'.
    RollbackPrepared(String),
    /// SHOW prepared_transactions.
    ShowPrepared,
}

/// The text of a SET value (`ISO, MDY`, `'1s'`, `5`, `"$user", public`);
/// `None` for DEFAULT.
fn set_value(name: &str, values: &[ast::Expr]) -> Result<Option<String>> {
    if let [ast::Expr::Identifier(ident)] = values
        && ident.quote_style.is_none()
        && ident.value.eq_ignore_ascii_case("default")
    {
        return Ok(None);
    }
    let mut parts = Vec::with_capacity(values.len());
    for value in values {
        parts.push(match value {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => n.clone(),
                ast::Value::SingleQuotedString(s)
                | ast::Value::EscapedStringLiteral(s)
                | ast::Value::DoubleQuotedString(s) => s.clone(),
                ast::Value::Boolean(b) => if *b { "on" } else { "off" }.to_string(),
                other => return Err(Error::FeatureNotSupported(format!("SET value {other}"))),
            },
            ast::Expr::Identifier(ident)
                if ident.quote_style.is_some() && name.eq_ignore_ascii_case("search_path") =>
            {
                format!("\"{}\"", ident.value)
            }
            ast::Expr::Identifier(ident) => ident.value.clone(),
            ast::Expr::UnaryOp {
                op: ast::UnaryOperator::Minus,
                expr,
            } => match expr.as_ref() {
                ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
                    format!("-{}", v.value)
                }
                other => return Err(Error::FeatureNotSupported(format!("SET value -{other}"))),
            },
            other => return Err(Error::FeatureNotSupported(format!("SET value {other}"))),
        });
    }
    Ok(Some(parts.join(", ")))
}

/// The name of a SET target (`a` or `a.b`).
fn parameter_name(name: &ast::ObjectName) -> String {
    name.0
        .iter()
        .filter_map(|part| part.as_ident().map(|i| i.value.clone()))
        .collect::<Vec<_>>()
        .join(".")
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
        ast::Statement::Set(ast::Set::SingleAssignment {
            scope,
            hivevar: false,
            variable,
            values,
        }) => {
            let name = parameter_name(variable);
            Control::Set {
                value: set_value(&name, values)?,
                name,
                local: matches!(scope, Some(ast::ContextModifier::Local)),
            }
        }
        ast::Statement::Set(ast::Set::SetTimeZone { local, value }) => Control::Set {
            name: "TimeZone".into(),
            value: match value {
                ast::Expr::Identifier(i) if i.value.eq_ignore_ascii_case("local") => None,
                other => set_value("TimeZone", std::slice::from_ref(other))?,
            },
            local: *local,
        },
        ast::Statement::Set(ast::Set::SetNames { charset_name, .. }) => Control::Set {
            name: "client_encoding".into(),
            value: Some(charset_name.value.clone()),
            local: false,
        },
        ast::Statement::Reset(reset) => match &reset.reset {
            ast::Reset::ALL => Control::ResetAll,
            ast::Reset::ConfigurationParameter(name) => Control::Set {
                name: parameter_name(name),
                value: None,
                local: false,
            },
            ast::Reset::SessionAuthorization => {
                return Err(Error::FeatureNotSupported(
                    "RESET SESSION AUTHORIZATION".into(),
                ));
            }
        },
        ast::Statement::ShowVariable { variable } => {
            let words: Vec<String> = variable.iter().map(|i| i.value.clone()).collect();
            match words.join(" ").to_lowercase().as_str() {
                "all" => Control::ShowAll,
                "transaction isolation level" => Control::Show("transaction_isolation".into()),
                "time zone" => Control::Show("TimeZone".into()),
                "prepared_transactions" => Control::ShowPrepared,
                _ => Control::Show(words.join(".")),
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
            Some(Control::Show("transaction_isolation".into()))
        );
        assert_eq!(
            parsed("SET LOCAL lock_timeout TO '1s'"),
            Some(Control::Set {
                name: "lock_timeout".into(),
                value: Some("1s".into()),
                local: true
            })
        );
        assert_eq!(
            parsed("SET DateStyle = ISO, MDY"),
            Some(Control::Set {
                name: "DateStyle".into(),
                value: Some("ISO, MDY".into()),
                local: false
            })
        );
        assert_eq!(
            parsed("SET search_path = \"$user\", public"),
            Some(Control::Set {
                name: "search_path".into(),
                value: Some("\"$user\", public".into()),
                local: false
            })
        );
        assert_eq!(
            parsed("SET extra_float_digits TO -2"),
            Some(Control::Set {
                name: "extra_float_digits".into(),
                value: Some("-2".into()),
                local: false
            })
        );
        for reset in [
            "RESET statement_timeout",
            "SET statement_timeout TO DEFAULT",
        ] {
            assert_eq!(
                parsed(reset),
                Some(Control::Set {
                    name: "statement_timeout".into(),
                    value: None,
                    local: false
                })
            );
        }
        assert_eq!(parsed("RESET ALL"), Some(Control::ResetAll));
        assert_eq!(parsed("SHOW ALL"), Some(Control::ShowAll));
        assert_eq!(
            parsed("SHOW TIME ZONE"),
            Some(Control::Show("TimeZone".into()))
        );
        assert_eq!(
            parsed("SET TIME ZONE 'UTC'"),
            Some(Control::Set {
                name: "TimeZone".into(),
                value: Some("UTC".into()),
                local: false
            })
        );
        assert_eq!(parsed("SELECT 1"), None);
    }
}
