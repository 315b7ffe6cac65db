//! `isodb`: an embedded, transactional SQL database.
//!
//! Open a [`Database`] (a directory, or a temporary one), take a
//! [`Session`] per thread, and run SQL. Statements outside a transaction
//! block commit on their own; `BEGIN ... COMMIT` or [`Session::transaction`]
//! group them; [`Database::run_in_transaction`] retries serialization
//! failures and deadlocks. The default isolation level is SERIALIZABLE.
//!
//! ```
//! # fn main() -> isodb::Result<()> {
//! use isodb::{Database, IsolationLevel};
//!
//! let db = Database::open_temporary()?;
//! let mut session = db.session();
//! session.execute(
//!     "CREATE TABLE person (id INT PRIMARY KEY, name TEXT NOT NULL, age INT);
//!      CREATE INDEX person_age ON person (age);
//!      INSERT INTO person VALUES (1, 'Ada', 36), (2, 'Brian', NULL)",
//! )?;
//!
//! let rows = session.query("SELECT name, age FROM person WHERE id = $1", &[&1])?;
//! assert_eq!(rows[0].get::<String>("name")?, "Ada");
//! assert_eq!(rows[0].get::<Option<i64>>("age")?, Some(36));
//!
//! let mut tx = session.transaction(IsolationLevel::RepeatableRead)?;
//! tx.execute("UPDATE person SET age = 37 WHERE id = 1")?;
//! tx.commit()?;
//!
//! let error = session.execute("INSERT INTO person VALUES (1, 'again', 1)").unwrap_err();
//! assert_eq!(error.sqlstate(), "23505");
//!
//! let plan = session.query("EXPLAIN SELECT * FROM person WHERE id = 2", &[])?;
//! let lines: Vec<String> = plan.iter().map(|r| r.get(0)).collect::<isodb::Result<_>>()?;
//! assert!(lines.iter().any(|l| l.contains("Primary key lookup on person (id = 2)")));
//! # Ok(())
//! # }
//! ```
//!
//! Layers, top down:
//!
//! - [`database`], [`session`], [`transaction`], [`statement`], [`row`]:
//!   the embedded API.
//! - [`parse`]: SQL text to sqlparser's AST (PostgreSQL dialect).
//! - [`plan`]: binding, access paths, joins, grouping: the [`plan::Plan`].
//! - [`exec`]: running plans inside one engine transaction.
//! - [`catalog`], [`table`] and [`placement`]: schema objects, rows in
//!   engine keyspaces, and which shard holds a row.
//! - [`types`], [`encoding`], [`error`]: values, byte encodings, errors.

#![deny(missing_docs)]

pub mod catalog;
pub mod database;
pub mod encoding;
pub mod error;
pub mod exec;
pub mod introspect;
pub mod parse;
pub mod placement;
pub mod plan;
pub mod row;
pub mod session;
pub mod statement;
pub mod table;
pub mod transaction;
pub mod types;

/// The examples in the top-level README, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

pub use database::{Database, DatabaseOptions};
pub use encoding::{decode_key, decode_row, encode_key, encode_row, prefix_successor};
pub use error::{Error, Result};
pub use isodb_engine::cluster::Layout;
/// Checking and salvaging a damaged database directory (`isodb check`, `isodb recover`).
pub use isodb_engine::storage::{CheckReport, RecoverReport, check_database, recover_database};
pub use isodb_engine::storage::{Durability, LogRecovery, RecoveryReport};
pub use isodb_engine::txn::IsolationLevel;
pub use plan::Column;
pub use row::{Row, RowIndex, Rows};
pub use session::{CancelHandle, Completion, Description, Session, TransactionState};
pub use statement::{Prepared, StatementRef, ToStatement, ToValue};
pub use transaction::Transaction;
pub use types::{DataType, FromValue, Value, cast, like};
