//! The checker's one error type: what can go wrong before a history is checked.
//!
//! Checking itself never fails — a broken history is a *finding*, not an error. Errors are
//! reserved for input that cannot be read at all (bad JSON/EDN, a completion without an
//! invocation, an unknown micro-operation), for input of another workload than the one asked
//! for, and for I/O while reading or writing files.

use std::path::PathBuf;

/// Everything that stops the checker from producing a verdict.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The history text is malformed; `line` is 1-based (0 when unknown).
    #[error("{path}:{line}: {reason}")]
    Parse {
        /// The file (or `<input>` for in-memory text).
        path: String,
        /// 1-based line number of the offending record.
        line: usize,
        /// What is wrong, in words a person can act on.
        reason: String,
    },
    /// The history is well formed but of another workload than the one asked for (a register
    /// write in a `list-append` history, a bank transfer): elle-cli's "wrong model selected".
    #[error("{path}:{line}: {reason}")]
    OtherWorkload {
        /// The file (or `<input>` for in-memory text).
        path: String,
        /// 1-based line number of the offending record.
        line: usize,
        /// What does not belong, in words a person can act on.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl Error {
    /// A parse error at `line` of `path`.
    pub fn parse(path: impl Into<String>, line: usize, reason: impl Into<String>) -> Self {
        Error::Parse {
            path: path.into(),
            line,
            reason: reason.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// The checker's result type.
pub type Result<T> = std::result::Result<T, Error>;
