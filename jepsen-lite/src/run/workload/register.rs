//! The read-write register workload: a row per key, `NULL` until first written.
//!
//! ```text
//! registers:  k │ v        write 1 := 17:  UPDATE registers SET v = 17 WHERE k = 1
//!             1 │ NULL     read 1:         SELECT v FROM registers WHERE k = 1  → nil
//! ```

use std::sync::atomic::{AtomicI64, Ordering};

use rand::Rng;
use rand::rngs::SmallRng;

use crate::history::MicroOp;
use crate::run::client::{Conn, OpError};
use crate::run::workload::{KeyChoice, Workload};

/// Reads and writes of registers.
pub struct RwRegister {
    keys: KeyChoice,
    next_value: AtomicI64,
}

impl RwRegister {
    /// Over the keys `keys` draws.
    pub fn new(keys: KeyChoice) -> Self {
        RwRegister {
            keys,
            next_value: AtomicI64::new(1),
        }
    }
}

impl Workload for RwRegister {
    fn setup(&self, session: &mut isodb::Session) -> isodb::Result<()> {
        session.execute("CREATE TABLE registers (k INT PRIMARY KEY, v INT)")?;
        for k in 0..self.keys.count() as i64 {
            session.execute_with("INSERT INTO registers VALUES ($1, NULL)", &[&k])?;
        }
        Ok(())
    }

    fn generate(&self, rng: &mut SmallRng) -> Vec<MicroOp> {
        self.keys
            .keys(rng, 4)
            .into_iter()
            .map(|key| {
                if rng.gen_bool(0.5) {
                    MicroOp::read(key, None)
                } else {
                    MicroOp::write(key, self.next_value.fetch_add(1, Ordering::Relaxed))
                }
            })
            .collect()
    }

    fn execute(
        &self,
        conn: &mut Conn<'_, '_>,
        ops: &[MicroOp],
        done: &mut Vec<MicroOp>,
    ) -> Result<(), OpError> {
        for op in ops {
            match op {
                MicroOp::Write { key, value } => {
                    done.push(op.clone());
                    let updated =
                        conn.execute("UPDATE registers SET v = $2 WHERE k = $1", &[key, value])?;
                    if updated != 1 {
                        return Err(OpError::Unexpected(format!(
                            "write to register {key} updated {updated} rows"
                        )));
                    }
                }
                MicroOp::Read { key, .. } => {
                    let value = read_register(conn, "registers", *key)?.ok_or_else(|| {
                        OpError::Unexpected(format!("register row {key} is missing"))
                    })?;
                    done.push(MicroOp::read(*key, value));
                }
                other => done.push(other.clone()),
            }
        }
        Ok(())
    }
}

/// Reads `v` of row `key` in `table`: `None` when the row is missing, `Some(None)` for `NULL`.
pub(crate) fn read_register(
    conn: &mut Conn<'_, '_>,
    table: &str,
    key: i64,
) -> Result<Option<Option<i64>>, OpError> {
    let rows = conn.query(&format!("SELECT v FROM {table} WHERE k = $1"), &[&key])?;
    match rows.iter().next() {
        Some(row) => Ok(Some(row.get::<Option<i64>>(0)?)),
        None => Ok(None),
    }
}
