//! # isodb-tests: the cross-crate isolation suites
//!
//! This package holds no product code. It drives isodb (the `isodb` SQL
//! crate) from several threads, the way clients would, and checks what the
//! four isolation levels really guarantee against ../shared/ISOLATION.md.
//!
//! ## The suites (in `tests/`)
//!
//! - **`anomaly_matrix`**: each classic anomaly (dirty write, aborted read,
//!   intermediate read, circular information flow, observed transaction
//!   vanishes, non-repeatable read, phantom, predicate-many-preceders for
//!   reads and writes, lost update, read skew, write skew, predicate write
//!   skew, the read-only anomaly) is a two- or three-session SQL script
//!   ([`scenarios`]), run at all four levels. Each session is a thread
//!   ([`session_thread`]); a step that waits for a row lock is seen in the
//!   lock manager's wait-for graph and the script goes on with the other
//!   session ([`script`]). The outcome per level (anomaly, prevented,
//!   blocked, aborted with 40001/40P01) must equal the scenario's table,
//!   and the table must keep ISOLATION.md's promise ([`matrix`]). Each
//!   scenario's transcript at the four levels is compared with a golden
//!   file in `tests/scenarios/`.
//! - **`levels_differ`**: the four levels are four different things: for
//!   each pair of neighbouring levels a deterministic scenario shows an
//!   anomaly the weaker allows and the stronger prevents, and every "—" of
//!   ISOLATION.md is shown happening.
//! - **`history_properties`**: proptest generates small random workloads
//!   ([`workload`]): a few sessions, each a list of short transactions that
//!   read and append to a few rows, scan a table and insert into it. They run concurrently at one level; the
//!   run is recorded as a jepsen-lite history ([`history_run`]) and checked:
//!   the committed results must never show an anomaly the level forbids.
//!   A failing case shrinks to a small schedule printed as SQL per session.
//!   Lockstep runs of write skew and predicate write skew show that the
//!   recording and checking pipeline finds what REPEATABLE READ allows.
//!
//! ## Running
//!
//! ```text
//! cargo test -p isodb-tests --release
//! PROPTEST_CASES=256 cargo test -p isodb-tests --release --test history_properties
//! UPDATE_GOLDEN=1 cargo test -p isodb-tests --release --test anomaly_matrix
//! ```

#![deny(missing_docs)]

pub mod history_run;
pub mod matrix;
pub mod scenarios;
pub mod script;
pub mod session_thread;
pub mod workload;
