//! # jepsen-lite: a checker for transactional histories
//!
//! jepsen-lite reads what clients of a database saw — which transactions they invoked, what
//! each read and wrote, and whether it committed — and decides which consistency models that
//! history satisfies. It knows nothing of any particular database: point it at a history from
//! isodb's runner or one published by Jepsen.
//!
//! ## Architecture
//!
//! ```text
//!  JSON lines / EDN ──▶ events ──pair per process──▶ History (T0, T1, … compact ids)
//!        json.rs, edn.rs, load.rs                      history.rs
//!                                   │
//!            ┌──────────────────────┴──────────────────────┐
//!   list_append.rs: version order =            register.rs: version order inferred from
//!   longest read; every read a prefix          nil < v and read-then-write; predicate reads
//!            └──────────┬──────────────────────────────────┘
//!                       ▼  ww / wr / rw / prw edges (+ non-cycle anomalies: G1a, G1b,
//!                       │   lost update, internal, duplicates, incompatible order, garbage)
//!   order.rs: rt edges  ▼
//!              graph.rs: DependencyGraph (CSR, edge-kind bit sets)
//!                       ▼
//!   scc.rs (Tarjan, iterative) per allowed edge set ─▶ cycles.rs (BFS shortest cycle of a shape)
//!                       ▼
//!   checker.rs: G0, G1c, G-single, G-nonadjacent, G2-item, G2, *-realtime; session.rs;
//!   linearizable.rs; explain.rs (plain words for each cycle edge)
//!                       ▼
//!   models.rs: verdict per model over the lattice ─▶ report/ (text, json, dot, svg)
//! ```
//!
//! ## The history format (JSON lines)
//!
//! One event per line, as Jepsen records them; see [`json`] for every field:
//!
//! ```text
//! {"process":0,"type":"invoke","time":1,"value":[{"f":"append","key":1,"value":10},{"f":"r","key":2,"value":null}]}
//! {"process":0,"type":"ok","time":3,"value":[{"f":"append","key":1,"value":10},{"f":"r","key":2,"value":[]}]}
//! ```
//!
//! Jepsen's EDN (`{:type :ok, :f :txn, :value [[:append 1 2] [:r 1 [1 2]]], :process 0}`, one
//! per line or in a vector) is read by [`edn`], elle-cli's JSON arrays and JSON lines by
//! [`json`]; [`load`] picks the format, [`op`] says what the fields mean. Results follow Elle:
//! its anomaly names ([`anomaly`]), its model lattice ([`models`]) and its result map
//! ([`report::elle`]).
//!
//! ## Using it
//!
//! ```
//! use jepsen_lite::checker::check;
//! use jepsen_lite::history::{HistoryBuilder, MicroOp};
//! use jepsen_lite::models::Model;
//!
//! let mut h = HistoryBuilder::new();
//! h.ok(0, vec![MicroOp::read_list(1, &[]), MicroOp::read_list(2, &[]), MicroOp::append(1, 10)]);
//! h.ok(1, vec![MicroOp::read_list(1, &[]), MicroOp::read_list(2, &[]), MicroOp::append(2, 20)]);
//! let report = check(&h.build().unwrap());
//! assert!(!report.satisfies(Model::Serializable));   // write skew (G2-item)...
//! assert!(report.satisfies(Model::SnapshotIsolation)); // ...which snapshot isolation allows
//! ```
//!
//! ## Runs
//!
//! [`run`] drives isodb itself: N client threads open [`isodb::Session`]s on one embedded
//! database and run a workload (list-append, rw-register, bank, or predicate scans racing
//! inserts) at one isolation level while a nemesis crashes and reopens the database, pauses
//! every client, or slows every commit. Each transaction is recorded as `ok`, `fail` or — when
//! a crash may have swallowed its commit's acknowledgement — `info`; the history is checked
//! against the model the level promises ([`run::required_model`]: strict serializable,
//! snapshot isolation, read committed, read uncommitted), and a run folder holds the history,
//! the checker's results, the cycle drawings and an HTML report with throughput and latency
//! over time and the fault windows shaded:
//!
//! ```text
//! jepsen-lite run --workload list-append --isolation serializable --clients 8 --time 30s --nemesis crash
//! ```
//!
//! Any other database's runner can produce [`history::Event`]s (or JSON lines via
//! [`json::write_events`]) and hand the paired history to [`checker::check`].

#![deny(missing_docs)]

pub mod anomaly;
pub mod checker;
pub mod cycles;
pub mod edn;
pub mod error;
pub mod explain;
pub mod graph;
pub mod history;
pub mod json;
pub mod linearizable;
pub mod list_append;
pub mod load;
pub mod models;
pub mod names;
pub mod op;
pub mod order;
pub mod predicate;
pub mod register;
pub mod report;
pub mod run;
pub mod scc;
pub mod session;
pub mod synth;
