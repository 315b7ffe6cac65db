//! The one error type of the `isodb` SQL crate, with the SQLSTATE each failure maps to.
//!
//! Every variant tells the client what to do next, by the class of its
//! PostgreSQL SQLSTATE code ([`Error::sqlstate`]):
//!
//! | class | meaning                          | what the client does              |
//! |-------|----------------------------------|-----------------------------------|
//! | 42    | syntax or name error             | fix the statement                 |
//! | 22    | bad data (cast, overflow, /0)    | fix the input                     |
//! | 23    | constraint violated              | fix the data or the statement     |
//! | 25    | wrong transaction state          | end or start a transaction        |
//! | 40    | serialization failure, deadlock  | retry the whole transaction       |
//! | XX    | corrupt data                     | stop: the stored bytes are bad    |
//!
//! Engine failures pass through unchanged as [`Error::Engine`] and keep the
//! engine's own code (40001, 40P01, 55P03, XX001, ...).

/// Result with the SQL crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while parsing, planning or running SQL.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The statement is not valid SQL (42601).
    #[error("syntax error{}: {message}", position_suffix(.position))]
    SyntaxError {
        /// What the parser expected or found.
        message: String,
        /// The 1-based line and column of the error, when the parser knows it.
        position: Option<(u64, u64)>,
    },

    /// A table named in the statement does not exist (42P01).
    #[error("relation \"{0}\" does not exist")]
    UndefinedTable(String),

    /// A column named in the statement does not exist (42703).
    #[error("column \"{0}\" does not exist")]
    UndefinedColumn(String),

    /// An unqualified column name matches columns of more than one table (42702).
    #[error("column reference \"{0}\" is ambiguous; qualify it with a table name")]
    AmbiguousColumn(String),

    /// CREATE TABLE of a table that already exists (42P07).
    #[error("relation \"{0}\" already exists")]
    DuplicateTable(String),

    /// A column name appears twice in one table definition or column list (42701).
    #[error("column \"{0}\" specified more than once")]
    DuplicateColumn(String),

    /// An index, constraint or other named object does not exist (42704).
    #[error("{kind} \"{name}\" does not exist")]
    UndefinedObject {
        /// What sort of object: "index", "constraint", ...
        kind: &'static str,
        /// Its name.
        name: String,
    },

    /// An index, constraint or other named object already exists (42710).
    #[error("{kind} \"{name}\" already exists")]
    DuplicateObject {
        /// What sort of object: "index", "constraint", ...
        kind: &'static str,
        /// Its name.
        name: String,
    },

    /// An insert or update would create a second row with the same key (23505).
    #[error("duplicate key value violates unique constraint \"{constraint}\": {detail}")]
    UniqueViolation {
        /// The primary key or unique index that was violated.
        constraint: String,
        /// Which key value collided, e.g. `Key (id)=(5) already exists.`
        detail: String,
    },

    /// A NULL was written into a NOT NULL column (23502).
    #[error(
        "null value in column \"{column}\" of relation \"{table}\" violates not-null constraint"
    )]
    NotNullViolation {
        /// The table written to.
        table: String,
        /// The NOT NULL column.
        column: String,
    },

    /// An expression has a type the context does not accept, or an operator
    /// has no version for its operand types (42804).
    #[error("datatype mismatch: {0}")]
    DatatypeMismatch(String),

    /// A binary or unary operator has no version for its operand types,
    /// e.g. `bigint + text` or `boolean < bigint` (42883).
    #[error("operator does not exist: {0}")]
    UndefinedOperator(String),

    /// A function with this name and argument types does not exist, e.g.
    /// `foo(bigint)` (42883).
    #[error("function {0} does not exist")]
    UndefinedFunction(String),

    /// A cast between two types that have no conversion, e.g. boolean to
    /// double precision (42846).
    #[error("cannot cast type {from} to {to}")]
    CannotCast {
        /// SQL name of the source type.
        from: String,
        /// SQL name of the target type.
        to: String,
    },

    /// Text could not be read as a value of the target type, e.g. `'abc'::integer` (22P02).
    #[error("invalid input syntax for type {type_name}: \"{input}\"")]
    InvalidTextRepresentation {
        /// SQL name of the target type.
        type_name: String,
        /// The text that was rejected.
        input: String,
    },

    /// Division or modulo by zero, for integers and doubles alike (22012).
    #[error("division by zero")]
    DivisionByZero,

    /// A result does not fit its type, e.g. `i64::MAX + 1` (22003).
    #[error("{0}")]
    NumericOverflow(String),

    /// A statement was executed with the wrong number of parameter values (08P01).
    #[error("statement needs {expected} parameters but {given} were supplied")]
    WrongParameterCount {
        /// How many `$n` parameters the statement uses.
        expected: usize,
        /// How many values the client supplied.
        given: usize,
    },

    /// A statement refers to a parameter `$n` that does not exist, e.g. `$0` (42P02).
    #[error("there is no parameter ${0}")]
    UndefinedParameter(usize),

    /// Valid SQL that isodb does not implement (0A000).
    #[error("not supported: {0}")]
    FeatureNotSupported(String),

    /// A column is used outside an aggregate without appearing in GROUP BY (42803).
    #[error("grouping error: {0}")]
    GroupingError(String),

    /// A scalar subquery returned more than one row (21000).
    #[error("more than one row returned by a subquery used as an expression")]
    CardinalityViolation,

    /// A statement other than ROLLBACK was sent in a transaction that has
    /// already failed (25P02).
    #[error("current transaction is aborted, commands ignored until end of transaction block")]
    InFailedTransaction,

    /// BEGIN (or a statement that must run outside a transaction) inside an
    /// open transaction block (25001).
    #[error("there is already a transaction in progress")]
    ActiveTransaction,

    /// COMMIT or ROLLBACK without an open transaction block (25P01).
    #[error("there is no transaction in progress")]
    NoActiveTransaction,

    /// A write in a READ ONLY transaction (25006); names the statement kind.
    #[error("cannot execute {0} in a read-only transaction")]
    ReadOnlyTransaction(String),

    /// A column value could not be converted to the Rust type asked for by
    /// `row.get::<T>()` (42804, like a datatype mismatch: the caller asked for
    /// the wrong type, the data is fine).
    #[error("column \"{column}\" holds {found}, which cannot be read as {expected}")]
    TypeConversion {
        /// The column name, or its position as text.
        column: String,
        /// The Rust type asked for, e.g. `i64`.
        expected: &'static str,
        /// What the column holds, e.g. `TEXT` or `NULL`.
        found: String,
    },

    /// An encoded key or row failed to decode: stored bytes are not what
    /// isodb wrote (XX001, the same class as engine corruption). Keys and rows
    /// live inside engine values, so there is no file path to name; `what`
    /// says which encoding and `offset` is the byte position inside it.
    #[error("corrupt {what} encoding at byte {offset}: {reason}")]
    Corrupt {
        /// Which encoding: "key" or "row".
        what: &'static str,
        /// Byte offset within the encoded value where decoding failed.
        offset: usize,
        /// What check failed.
        reason: String,
    },

    /// A statement nests expressions or subqueries too deeply to run (54001).
    #[error("statement too complex: {0}")]
    StatementTooComplex(String),

    /// An ORDER BY or similar clause names something it may not use, e.g. an
    /// expression missing from the select list of a SELECT DISTINCT (42P10).
    #[error("invalid column reference: {0}")]
    InvalidColumnReference(String),

    /// A CREATE TABLE that cannot work, e.g. two primary keys (42P16).
    #[error("invalid table definition: {0}")]
    InvalidTableDefinition(String),

    /// A table option has a value it cannot take (22023).
    #[error("invalid option value: {0}")]
    InvalidOption(String),

    /// LIMIT or OFFSET is negative or not an integer (2201W).
    #[error("invalid row count: {0}")]
    InvalidRowCount(String),

    /// A transaction-control statement at the wrong moment, e.g. SET
    /// TRANSACTION after the transaction's first query (25001).
    #[error("invalid transaction state: {0}")]
    InvalidTransactionState(String),

    /// ROLLBACK TO or RELEASE names a savepoint that does not exist, or a
    /// savepoint statement runs where it cannot (3B001).
    #[error("savepoint \"{0}\" does not exist")]
    InvalidSavepoint(String),

    /// `FOR UPDATE NOWAIT` met a row locked by another transaction (55P03).
    /// Unlike a lock wait timeout it does not abort the transaction: a
    /// `ROLLBACK TO SAVEPOINT` makes the block usable again.
    #[error("could not obtain lock on row in relation \"{0}\"")]
    LockNotAvailable(String),

    /// The statement was stopped (57014): canceled from another thread
    /// through [`crate::session::CancelHandle`] ("user request"), or past its
    /// `statement_timeout` ("statement timeout").
    #[error("canceling statement due to {0}")]
    QueryCanceled(String),

    /// A lock wait outlasted the session's `lock_timeout` (55P03); the text
    /// says which lock and who held it.
    #[error("canceling statement due to lock timeout")]
    LockTimeout(String),

    /// The session stayed idle inside a transaction block longer than its
    /// `idle_in_transaction_session_timeout` (25P03); the block was rolled back.
    #[error("terminating connection due to idle-in-transaction timeout")]
    IdleInTransactionTimeout,

    /// SET or SHOW of a configuration parameter isodb does not know (42704).
    #[error("unrecognized configuration parameter \"{0}\"")]
    UnrecognizedParameter(String),

    /// A configuration parameter given a value it cannot take (22023).
    #[error("invalid value for parameter \"{name}\": \"{value}\"")]
    InvalidParameterValue {
        /// The parameter.
        name: String,
        /// The rejected value.
        value: String,
        /// What it accepts.
        hint: String,
    },

    /// A regular expression that does not compile (2201B).
    #[error("invalid regular expression: {0}")]
    InvalidRegularExpression(String),

    /// SET of a parameter that is fixed for the server (55P02).
    #[error("parameter \"{0}\" cannot be changed")]
    CantChangeParameter(String),

    /// A broken internal invariant of isodb (XX000): a bug, never bad input.
    #[error("internal error: {0}")]
    Internal(String),

    /// An error from the storage and transaction engine; keeps its SQLSTATE.
    #[error(transparent)]
    Engine(#[from] isodb_engine::Error),
}

/// Formats the optional `(line, column)` of a syntax error.
fn position_suffix(position: &Option<(u64, u64)>) -> String {
    match position {
        Some((line, column)) => format!(" at line {line}, column {column}"),
        None => String::new(),
    }
}

impl Error {
    /// The PostgreSQL SQLSTATE code of this error.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            Error::SyntaxError { .. } => "42601",
            Error::UndefinedTable(_) => "42P01",
            Error::UndefinedColumn(_) => "42703",
            Error::AmbiguousColumn(_) => "42702",
            Error::DuplicateTable(_) => "42P07",
            Error::DuplicateColumn(_) => "42701",
            Error::UndefinedObject { .. } => "42704",
            Error::DuplicateObject { .. } => "42710",
            Error::UniqueViolation { .. } => "23505",
            Error::NotNullViolation { .. } => "23502",
            Error::DatatypeMismatch(_) => "42804",
            Error::UndefinedOperator(_) | Error::UndefinedFunction(_) => "42883",
            Error::CannotCast { .. } => "42846",
            Error::InvalidTextRepresentation { .. } => "22P02",
            Error::DivisionByZero => "22012",
            Error::NumericOverflow(_) => "22003",
            Error::WrongParameterCount { .. } => "08P01",
            Error::UndefinedParameter(_) => "42P02",
            Error::FeatureNotSupported(_) => "0A000",
            Error::GroupingError(_) => "42803",
            Error::CardinalityViolation => "21000",
            Error::InFailedTransaction => "25P02",
            Error::ActiveTransaction => "25001",
            Error::NoActiveTransaction => "25P01",
            Error::ReadOnlyTransaction(_) => "25006",
            Error::TypeConversion { .. } => "42804",
            Error::Corrupt { .. } => "XX001",
            Error::StatementTooComplex(_) => "54001",
            Error::InvalidColumnReference(_) => "42P10",
            Error::InvalidRowCount(_) => "2201W",
            Error::InvalidTableDefinition(_) => "42P16",
            Error::InvalidOption(_) => "22023",
            Error::InvalidTransactionState(_) => "25001",
            Error::InvalidSavepoint(_) => "3B001",
            Error::LockNotAvailable(_) => "55P03",
            Error::QueryCanceled(_) => "57014",
            Error::LockTimeout(_) => "55P03",
            Error::IdleInTransactionTimeout => "25P03",
            Error::UnrecognizedParameter(_) => "42704",
            Error::InvalidParameterValue { .. } => "22023",
            Error::CantChangeParameter(_) => "55P02",
            Error::InvalidRegularExpression(_) => "2201B",
            Error::Internal(_) => "XX000",
            Error::Engine(inner) => inner.sqlstate(),
        }
    }

    /// True for the failures `Database::run_in_transaction` retries: a
    /// serialization failure (40001) or a deadlock (40P01).
    pub fn is_serialization_or_deadlock(&self) -> bool {
        matches!(self.sqlstate(), "40001" | "40P01")
    }

    /// True when retrying the whole transaction may succeed (40001, 40P01, 55P03).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Engine(inner) => inner.is_retryable(),
            Error::LockTimeout(_) => true,
            _ => false,
        }
    }

    /// A secondary message with more about the failure, where isodb has
    /// one (PostgreSQL's DETAIL): the key of a unique violation, the lock
    /// and its holders of a lock timeout.
    pub fn detail(&self) -> Option<String> {
        match self {
            Error::UniqueViolation { detail, .. } => Some(detail.clone()),
            Error::LockTimeout(detail) => Some(detail.clone()),
            _ => None,
        }
    }

    /// A suggestion of what to do (PostgreSQL's HINT), where there is one.
    pub fn hint(&self) -> Option<String> {
        match self.sqlstate() {
            "40001" | "40P01" => Some("The transaction might succeed if retried.".into()),
            "25P02" => Some("End the transaction block with ROLLBACK.".into()),
            _ => match self {
                Error::InvalidParameterValue { hint, .. } => Some(hint.clone()),
                _ => None,
            },
        }
    }

    /// Builds an [`Error::Corrupt`].
    pub fn corrupt(what: &'static str, offset: usize, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            what,
            offset,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_postgres() {
        assert_eq!(Error::DivisionByZero.sqlstate(), "22012");
        assert_eq!(Error::NumericOverflow("x".into()).sqlstate(), "22003");
        assert_eq!(Error::InFailedTransaction.sqlstate(), "25P02");
        assert_eq!(Error::UndefinedParameter(3).sqlstate(), "42P02");
        assert_eq!(Error::corrupt("row", 3, "short").sqlstate(), "XX001");
    }

    #[test]
    fn engine_errors_keep_their_code_and_retryability() {
        let error: Error = isodb_engine::Error::SerializationFailure("rw conflict".into()).into();
        assert_eq!(error.sqlstate(), "40001");
        assert!(error.is_retryable());
        assert_eq!(
            error.to_string(),
            "could not serialize access due to rw conflict"
        );
        let deadlock: Error = isodb_engine::Error::Deadlock("cycle".into()).into();
        assert_eq!(deadlock.sqlstate(), "40P01");
        assert!(!Error::DivisionByZero.is_retryable());
    }

    #[test]
    fn messages_say_what_went_wrong() {
        let syntax = Error::SyntaxError {
            message: "expected FROM".into(),
            position: Some((1, 8)),
        };
        assert_eq!(
            syntax.to_string(),
            "syntax error at line 1, column 8: expected FROM"
        );
        let cast = Error::InvalidTextRepresentation {
            type_name: "integer".into(),
            input: "abc".into(),
        };
        assert_eq!(
            cast.to_string(),
            "invalid input syntax for type integer: \"abc\""
        );
        assert_eq!(
            Error::InFailedTransaction.to_string(),
            "current transaction is aborted, commands ignored until end of transaction block"
        );
    }
}
