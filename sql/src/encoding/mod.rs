//! Byte encodings of SQL values for the key-value engine.
//!
//! - [`key`]: the memcomparable encoding of primary-key and index-key
//!   tuples, whose byte order is the tuple order, so range scans work on
//!   raw bytes.
//! - [`row`]: the compact, non-ordered encoding of a whole row stored as
//!   the engine value.
//!
//! Both decoders treat their input as untrusted: malformed bytes are an
//! [`Error::Corrupt`](crate::error::Error::Corrupt) (XX001), never a panic.

pub mod key;
pub mod row;

pub use key::{
    decode_key, encode_columns, encode_key, encode_key_into, prefix_successor, tuple_cmp,
};
pub use row::{decode_row, encode_row};
