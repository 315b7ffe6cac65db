//! The one error type of `isodb-engine`, with the SQLSTATE each failure maps to.
//!
//! Every variant tells the caller what to do next: retry the transaction
//! (40001, 40P01, 55P03), fix the input (22023), or stop because the disk or
//! the data is bad (58030, XX001). Storage errors name the file and, for
//! corruption, the byte offset where the check failed.

use std::path::PathBuf;

/// Result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O call failed on a file of the database.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// A checksum or structural check failed: the bytes on disk are not what
    /// isodb wrote. The file is never read past this point.
    #[error("corruption in {path} at offset {offset}: {reason}")]
    Corruption {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damaged record, block or footer.
        offset: u64,
        /// What check failed.
        reason: String,
    },

    /// Another process (or another open handle) holds the database directory.
    #[error("the database at {0} is already open in another process (its LOCK file is held)")]
    Locked(PathBuf),

    /// The directory exists but does not hold an isodb database.
    #[error("{path} is not an isodb database: {reason}")]
    NotADatabase {
        /// The directory that was opened.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },

    /// A key longer than [`crate::storage::MAX_KEY_SIZE`].
    #[error("key of {size} bytes is longer than the limit of {limit} bytes")]
    KeyTooLarge {
        /// The size of the rejected key.
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// A value longer than [`crate::storage::MAX_VALUE_SIZE`].
    #[error("value of {size} bytes is longer than the limit of {limit} bytes")]
    ValueTooLarge {
        /// The size of the rejected value.
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// An earlier write or fsync failed, so what is on disk is unknown; the
    /// store refuses further writes until it is reopened and recovered.
    #[error(
        "the store refuses writes after an earlier failed write or sync ({0}); reopen it to recover"
    )]
    Poisoned(String),

    /// The store or transaction was closed.
    #[error("the database is closed")]
    Closed,

    /// A caller passed an argument the engine cannot accept.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The transaction could not be serialized with concurrent ones; retry it.
    #[error("could not serialize access due to {0}")]
    SerializationFailure(String),

    /// The transaction was chosen as the victim of a deadlock; retry it.
    #[error("deadlock detected: {0}")]
    Deadlock(String),

    /// A lock could not be granted within the lock wait timeout (or at once, for NOWAIT).
    #[error("could not obtain lock: {0}")]
    LockTimeout(String),

    /// The transaction is no longer active (committed, rolled back or aborted).
    #[error("transaction is not active: {0}")]
    TransactionNotActive(String),

    /// A write was attempted in a read-only transaction.
    #[error("cannot execute {0} in a read-only transaction")]
    ReadOnlyTransaction(String),

    /// A shard this transaction used is down or unreachable, or restarted
    /// since the transaction began: the transaction is rolled back; retry it.
    #[error("shard {shard} is unavailable: {reason}")]
    ShardUnavailable {
        /// The shard.
        shard: u16,
        /// What happened to it.
        reason: String,
    },

    /// The commit's decision could not be confirmed in time (its home
    /// shard did not answer): the transaction may have committed or not.
    /// The database settles it by itself; read the data to know.
    #[error("the outcome of transaction {txn} is unknown: {reason}")]
    OutcomeUnknown {
        /// The transaction.
        txn: u64,
        /// Why it could not be confirmed.
        reason: String,
    },

    /// `COMMIT PREPARED` or `ROLLBACK PREPARED` named no prepared transaction.
    #[error("prepared transaction with identifier \"{0}\" does not exist")]
    UnknownPreparedTransaction(String),

    /// `PREPARE TRANSACTION` named a global id already in use.
    #[error("transaction identifier \"{0}\" is already in use")]
    DuplicatePreparedTransaction(String),
}

impl Error {
    /// The PostgreSQL-style SQLSTATE code of this error.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            Error::Io { .. } => "58030",
            Error::Corruption { .. } => "XX001",
            Error::Locked(_) => "55006",
            Error::NotADatabase { .. } => "58P03",
            Error::KeyTooLarge { .. } | Error::ValueTooLarge { .. } => "54000",
            Error::Poisoned(_) => "58030",
            Error::Closed => "57P01",
            Error::InvalidArgument(_) => "22023",
            Error::SerializationFailure(_) => "40001",
            Error::Deadlock(_) => "40P01",
            Error::LockTimeout(_) => "55P03",
            Error::TransactionNotActive(_) => "25P02",
            Error::ReadOnlyTransaction(_) => "25006",
            Error::ShardUnavailable { .. } => "08006",
            Error::OutcomeUnknown { .. } => "08007",
            Error::UnknownPreparedTransaction(_) => "42704",
            Error::DuplicatePreparedTransaction(_) => "42710",
        }
    }

    /// True when retrying the whole transaction may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::SerializationFailure(_)
                | Error::Deadlock(_)
                | Error::LockTimeout(_)
                | Error::ShardUnavailable { .. }
        )
    }

    /// Builds an [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Builds an [`Error::Corruption`].
    pub fn corruption(path: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corruption {
            path: path.into(),
            offset,
            reason: reason.into(),
        }
    }
}
