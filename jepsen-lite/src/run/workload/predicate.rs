//! The predicate workload: range scans racing inserts into the range — phantoms.
//!
//! The table starts empty; a write updates its key or, when the row does not exist yet, inserts
//! it. A scan is recorded as the checker's predicate read over the key range, so a scan that
//! missed a key some concurrent transaction inserted is a predicate anti-dependency (`prw`):
//!
//! ```text
//! T1: SELECT k, v FROM predicates WHERE k BETWEEN 4 AND 7  → {}     then insert 5
//! T2: SELECT k, v FROM predicates WHERE k BETWEEN 4 AND 7  → {}     then insert 6
//! T1 ─prw▶ T2 ─prw▶ T1: G2 (allowed by snapshot isolation, forbidden by serializable)
//! ```
//!
//! Two writers inserting the same new key race: the loser fails with 23505 (or 40001), an
//! ordinary `fail`.

use std::sync::atomic::{AtomicI64, Ordering};

use rand::Rng;
use rand::rngs::SmallRng;

use crate::history::{Key, MicroOp};
use crate::predicate::Predicate;
use crate::run::client::{Conn, OpError};
use crate::run::keys::KeySampler;
use crate::run::workload::Workload;
use crate::run::workload::register::read_register;

/// How many keys one scan covers.
const RANGE_WIDTH: i64 = 4;

/// Scans and inserts.
pub struct PredicateScan {
    keys: KeySampler,
    next_value: AtomicI64,
}

impl PredicateScan {
    /// Over the keys `keys` draws (a scan starts at a drawn key).
    pub fn new(keys: KeySampler) -> Self {
        PredicateScan {
            keys,
            next_value: AtomicI64::new(1),
        }
    }

    fn range(&self, start: Key) -> Predicate {
        Predicate {
            key_min: Some(start),
            key_max: Some(start + RANGE_WIDTH - 1),
            op: None,
            value: None,
        }
    }

    fn write(&self, key: Key) -> MicroOp {
        MicroOp::write(key, self.next_value.fetch_add(1, Ordering::Relaxed))
    }
}

impl Workload for PredicateScan {
    fn setup(&self, session: &mut isodb::Session) -> isodb::Result<()> {
        session.execute("CREATE TABLE predicates (k INT PRIMARY KEY, v INT NOT NULL)")?;
        Ok(())
    }

    fn generate(&self, rng: &mut SmallRng) -> Vec<MicroOp> {
        let start = self.keys.sample(rng);
        let predicate = self.range(start);
        let in_range = start + rng.gen_range(0..RANGE_WIDTH);
        match rng.gen_range(0..10) {
            // Scan, then write into the range: the phantom-prone shape.
            0..=4 => vec![
                MicroOp::predicate_read(predicate, &[]),
                self.write(in_range),
            ],
            5..=7 => vec![self.write(in_range)],
            8 => vec![MicroOp::predicate_read(predicate, &[])],
            _ => vec![MicroOp::read(in_range, None)],
        }
    }

    fn execute(
        &self,
        conn: &mut Conn<'_, '_>,
        ops: &[MicroOp],
        done: &mut Vec<MicroOp>,
    ) -> Result<(), OpError> {
        for op in ops {
            match op {
                MicroOp::PredicateRead { predicate, .. } => {
                    let (lo, hi) = (
                        predicate.key_min.unwrap_or(i64::MIN),
                        predicate.key_max.unwrap_or(i64::MAX),
                    );
                    let rows = conn.query(
                        "SELECT k, v FROM predicates WHERE k BETWEEN $1 AND $2",
                        &[&lo, &hi],
                    )?;
                    let mut seen = Vec::with_capacity(rows.len());
                    for row in rows.iter() {
                        seen.push((row.get::<i64>(0)?, row.get::<i64>(1)?));
                    }
                    done.push(MicroOp::predicate_read(predicate.clone(), &seen));
                }
                MicroOp::Write { key, value } => {
                    done.push(op.clone());
                    let updated =
                        conn.execute("UPDATE predicates SET v = $2 WHERE k = $1", &[key, value])?;
                    if updated == 0 {
                        conn.execute("INSERT INTO predicates VALUES ($1, $2)", &[key, value])?;
                    }
                }
                MicroOp::Read { key, .. } => {
                    let value = read_register(conn, "predicates", *key)?.flatten();
                    done.push(MicroOp::read(*key, value));
                }
                other => done.push(other.clone()),
            }
        }
        Ok(())
    }

    fn expects_failure(&self, sqlstate: &str) -> bool {
        // Two transactions inserting the same new key: the second violates the primary key.
        sqlstate == "23505"
    }
}
