//! What the engine's benchmarks share (`benches/storage.rs`,
//! `benches/transactions.rs` and `benches/cluster.rs` load this directory as
//! `mod common`):
//!
//! | module          | owns                                                          |
//! |-----------------|---------------------------------------------------------------|
//! | [`run`]         | the command line and `ISODB_BENCH_SCALE`, the output directory, the seeded generator, the error type |
//! | [`durability`]  | the two durability promises every system is run with          |
//! | [`report`]      | number formatting, aligned tables, targets (met or missed), JSON ratios |
//! | [`chart`]       | a log-scale grouped bar chart as SVG                          |
//! | `sqlite`        | opening SQLite in WAL mode with a given durability (feature `peers`) |
//!
//! A bench target compiles this directory as its own module, so an item one
//! bench does not use is dead code to it; hence the `allow(dead_code)` on the
//! `mod common` declarations.

pub mod chart;
pub mod durability;
pub mod report;
pub mod run;
#[cfg(feature = "peers")]
pub mod sqlite;
