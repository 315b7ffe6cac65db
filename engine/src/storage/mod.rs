//! The LSM storage engine.
pub mod batch;
pub mod coding;
pub mod key;

/// Longest key the store accepts.
pub const MAX_KEY_SIZE: usize = 64 * 1024;
/// Longest value the store accepts.
pub const MAX_VALUE_SIZE: usize = 64 * 1024 * 1024;
