//! SQL values and their types: what a datum is, how it compares, how it
//! combines with others, and how it converts.
//!
//! - [`data_type`]: [`DataType`], the four storage types and the SQL names
//!   that map onto them.
//! - [`value`]: [`Value`], one datum, and its psql-like text output.
//! - [`compare`]: SQL's three-valued comparison and the total order used for
//!   sorting, grouping and hashing.
//! - [`logic`]: three-valued AND, OR, NOT.
//! - [`arithmetic`]: `+ - * / %`, unary minus and `||`, with SQL errors.
//! - [`cast`](mod@cast): `CAST` between the types.
//! - [`like`](mod@like): the LIKE matcher.
//! - [`from_value`]: typed reads into Rust types for `row.get::<T>()`.
//! - [`pg_type`]: PostgreSQL's names and OIDs for these types.

pub mod arithmetic;
pub mod cast;
pub mod compare;
pub mod data_type;
pub mod from_value;
pub mod like;
pub mod logic;
pub mod pg_type;
pub mod value;

pub use cast::cast;
pub use data_type::DataType;
pub use from_value::{FromValue, convert};
pub use like::like;
pub use value::Value;
