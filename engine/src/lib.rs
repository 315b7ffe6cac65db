//! The storage and transaction engine of isodb (placeholder doc, rewritten when the engine lands).
pub mod error;
pub mod storage;

pub use error::{Error, Result};
