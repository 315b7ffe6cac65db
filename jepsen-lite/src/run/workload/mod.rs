//! Workloads: what the clients ask of the database, and how each micro-operation maps to SQL.
//!
//! | workload | table | micro-ops | what it catches |
//! | --- | --- | --- | --- |
//! | `list-append` | `lists (k INT PRIMARY KEY, v TEXT)` | append = `UPDATE .. SET v = v \|\| ',7'`, read = `SELECT v` | every cycle anomaly, with exact version orders |
//! | `rw-register` | `registers (k INT PRIMARY KEY, v INT)` | write = `UPDATE .. SET v`, read = `SELECT v` | G0–G2-item, lost update, non-linearizable registers |
//! | `bank` | `accounts (id, balance, v)` | transfer: read two balances, write both; audit: read all | the total changes (read skew, lost update) |
//! | `predicate` | `predicates (k INT PRIMARY KEY, v INT)`, initially empty | `SELECT k, v .. WHERE k BETWEEN a AND b`, then insert or update a key | G2 phantoms: a scan missed a concurrent insert |
//!
//! Every written value is unique per key (one counter per workload), so a read names its writer.
//! Rows of `lists`, `registers` and `accounts` exist from the set-up on (empty text, `NULL`), so a
//! write never races an insert; the predicate workload inserts on purpose, and a racing insert of
//! the same key fails with 23505, which it counts as an ordinary `fail`.

pub mod bank;
pub mod list_append;
pub mod predicate;
pub mod register;

use rand::rngs::SmallRng;

use crate::history::{History, Key, MicroOp};
use crate::run::client::{Conn, OpError};
use crate::run::keys::KeySampler;

/// The workloads on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// Appends to and reads of lists (Elle's list-append).
    ListAppend,
    /// Writes and reads of integer registers.
    RwRegister,
    /// Transfers between accounts and full audits; the total must stay constant.
    Bank,
    /// Range scans racing inserts into the range (phantoms).
    Predicate,
}

impl WorkloadKind {
    /// Every workload.
    pub const ALL: [WorkloadKind; 4] = [
        WorkloadKind::ListAppend,
        WorkloadKind::RwRegister,
        WorkloadKind::Bank,
        WorkloadKind::Predicate,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::ListAppend => "list-append",
            WorkloadKind::RwRegister => "rw-register",
            WorkloadKind::Bank => "bank",
            WorkloadKind::Predicate => "predicate",
        }
    }

    /// The workload over the keys `sampler` draws. With `key_once_per_txn`, a list-append or
    /// register transaction touches each key at most once (see [`KeyChoice`]).
    pub fn build(self, sampler: KeySampler, key_once_per_txn: bool) -> Box<dyn Workload> {
        let choice = KeyChoice {
            sampler: sampler.clone(),
            once_per_txn: key_once_per_txn,
        };
        match self {
            WorkloadKind::ListAppend => Box::new(list_append::ListAppend::new(choice)),
            WorkloadKind::RwRegister => Box::new(register::RwRegister::new(choice)),
            WorkloadKind::Bank => Box::new(bank::Bank::new(sampler)),
            WorkloadKind::Predicate => Box::new(predicate::PredicateScan::new(sampler)),
        }
    }
}

/// A workload: set-up, a generator of transactions, and their execution in SQL.
pub trait Workload: Send + Sync {
    /// Creates the tables and initial rows (run once, before any client starts).
    fn setup(&self, session: &mut isodb::Session) -> isodb::Result<()>;

    /// The next transaction to invoke; reads carry no values yet.
    fn generate(&self, rng: &mut SmallRng) -> Vec<MicroOp>;

    /// Runs `ops` through `conn`, pushing each onto `done` completed (reads with what they saw,
    /// writes with the value written — pushed *before* the write's statement runs, so a failed
    /// transaction still names every write that may have reached the database as an intent).
    /// The caller commits.
    fn execute(
        &self,
        conn: &mut Conn<'_, '_>,
        ops: &[MicroOp],
        done: &mut Vec<MicroOp>,
    ) -> Result<(), OpError>;

    /// Whether a statement failing with `sqlstate` is an expected abort of this workload (beyond
    /// 40001 and 40P01, which every workload expects).
    fn expects_failure(&self, _sqlstate: &str) -> bool {
        false
    }

    /// Checks the workload's own invariant over the committed transactions (the bank's total);
    /// returns one line per violation.
    fn invariant_violations(&self, _history: &History) -> Vec<String> {
        Vec::new()
    }
}

/// The keys of one multi-operation transaction.
///
/// At READ COMMITTED and below a transaction may see a different committed version each time it
/// reads a key (a non-repeatable read, which those levels allow), and an update there applies to
/// the newest version, not the one read before. The checker assumes a transaction sees one
/// state of each key plus its own writes, so it would call such a re-read `internal`. At those
/// levels the runner therefore lets a transaction touch each key once (`once_per_txn`); at
/// REPEATABLE READ and SERIALIZABLE keys may repeat, and repeated reads must agree.
#[derive(Clone, Debug)]
pub struct KeyChoice {
    /// Where keys come from.
    pub sampler: KeySampler,
    /// Whether a key may appear at most once in one transaction.
    pub once_per_txn: bool,
}

impl KeyChoice {
    /// Keys for a transaction of 1 to `max` micro-ops.
    pub fn keys(&self, rng: &mut SmallRng, max: usize) -> Vec<Key> {
        use rand::Rng;
        let mut n = rng.gen_range(1..=max.max(1));
        if self.once_per_txn {
            n = n.min(self.sampler.count() as usize);
        }
        let mut keys: Vec<Key> = Vec::with_capacity(n);
        while keys.len() < n {
            let key = self.sampler.sample(rng);
            if !self.once_per_txn || !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }

    /// How many keys there are.
    pub fn count(&self) -> u64 {
        self.sampler.count()
    }
}
