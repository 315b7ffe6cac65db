//! [`Transaction`]: a transaction block as a Rust guard, in the style of
//! rusqlite's and the postgres crate's: `commit()` or `rollback()` end it,
//! and dropping it without either rolls it back.
//!
//! ```
//! # fn main() -> isodb::Result<()> {
//! use isodb::IsolationLevel;
//! let db = isodb::Database::open_temporary()?;
//! let mut session = db.session();
//! session.execute("CREATE TABLE t (id INT PRIMARY KEY)")?;
//! {
//!     let mut tx = session.transaction(IsolationLevel::RepeatableRead)?;
//!     tx.execute("INSERT INTO t VALUES (1)")?;
//! } // dropped: rolled back
//! let mut tx = session.transaction(IsolationLevel::Serializable)?;
//! tx.execute("INSERT INTO t VALUES (2)")?;
//! tx.commit()?;
//! let ids = session.query("SELECT id FROM t", &[])?;
//! assert_eq!(ids.len(), 1);
//! # Ok(())
//! # }
//! ```

use crate::error::Result;
use crate::row::Rows;
use crate::session::Session;
use crate::statement::{Prepared, ToStatement, ToValue};
use crate::types::Value;

/// An open transaction block of a [`Session`].
pub struct Transaction<'s> {
    session: &'s mut Session,
    finished: bool,
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("session", &self.session)
            .field("finished", &self.finished)
            .finish()
    }
}

impl<'s> Transaction<'s> {
    pub(crate) fn new(session: &'s mut Session) -> Transaction<'s> {
        Transaction {
            session,
            finished: false,
        }
    }

    /// Runs one or more statements; see [`Session::execute`].
    pub fn execute(&mut self, sql: &str) -> Result<u64> {
        self.session.execute(sql)
    }

    /// Runs one statement with parameters; see [`Session::execute_with`].
    pub fn execute_with<S: ToStatement + ?Sized>(
        &mut self,
        statement: &S,
        params: &[&dyn ToValue],
    ) -> Result<u64> {
        self.session.execute_with(statement, params)
    }

    /// Runs one statement and returns its rows; see [`Session::query`].
    pub fn query<S: ToStatement + ?Sized>(
        &mut self,
        statement: &S,
        params: &[&dyn ToValue],
    ) -> Result<Rows> {
        self.session.query(statement, params)
    }

    /// Like [`Transaction::query`] with [`Value`] parameters.
    pub fn query_values<S: ToStatement + ?Sized>(
        &mut self,
        statement: &S,
        params: &[Value],
    ) -> Result<Rows> {
        self.session.query_values(statement, params)
    }

    /// Prepares a statement (planned inside this transaction).
    pub fn prepare(&mut self, sql: &str) -> Result<Prepared> {
        self.session.prepare(sql)
    }

    /// True when a statement failed and the transaction can only roll back.
    pub fn is_failed(&self) -> bool {
        self.session.is_failed()
    }

    /// True when the transaction failed with 40001 or 40P01, so running it
    /// again from the start may succeed.
    pub(crate) fn failed_retryably(&self) -> bool {
        self.session.failed_retryably()
    }

    /// Commits. A failed transaction is rolled back instead and this
    /// returns 25P02; a serialization failure at commit is 40001.
    pub fn commit(mut self) -> Result<()> {
        self.finished = true;
        self.session.finish_block(true)
    }

    /// Rolls back.
    pub fn rollback(mut self) -> Result<()> {
        self.finished = true;
        self.session.finish_block(false)
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.session.abandon_block();
        }
    }
}
