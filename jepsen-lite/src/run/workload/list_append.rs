//! The list-append workload: each key is a row whose text column holds a comma-separated list;
//! an append concatenates in one `UPDATE`, so the row lock orders appends to one key.
//!
//! ```text
//! lists:  k │ v                 append 3 to key 1:  UPDATE lists SET v = v || ',3' WHERE k = 1
//!         1 │ ,1,2              read key 1:         SELECT v FROM lists WHERE k = 1  → [1, 2]
//! ```

use std::sync::atomic::{AtomicI64, Ordering};

use rand::Rng;
use rand::rngs::SmallRng;

use crate::history::{MicroOp, Value};
use crate::run::client::{Conn, OpError};
use crate::run::workload::{KeyChoice, Workload};

/// Appends and reads of lists.
pub struct ListAppend {
    keys: KeyChoice,
    next_value: AtomicI64,
}

impl ListAppend {
    /// Over the keys `keys` draws.
    pub fn new(keys: KeyChoice) -> Self {
        ListAppend {
            keys,
            next_value: AtomicI64::new(1),
        }
    }
}

/// Parses `,1,2,3` into `[1, 2, 3]`.
fn parse_list(text: &str) -> Result<Vec<Value>, OpError> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| OpError::Unexpected(format!("list element {s:?} is not an integer")))
        })
        .collect()
}

impl Workload for ListAppend {
    fn setup(&self, session: &mut isodb::Session) -> isodb::Result<()> {
        session.execute("CREATE TABLE lists (k INT PRIMARY KEY, v TEXT NOT NULL)")?;
        for k in 0..self.keys.count() as i64 {
            session.execute_with("INSERT INTO lists VALUES ($1, '')", &[&k])?;
        }
        Ok(())
    }

    fn generate(&self, rng: &mut SmallRng) -> Vec<MicroOp> {
        self.keys
            .keys(rng, 4)
            .into_iter()
            .map(|key| {
                if rng.gen_bool(0.5) {
                    MicroOp::read_list(key, &[])
                } else {
                    MicroOp::append(key, self.next_value.fetch_add(1, Ordering::Relaxed))
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
                MicroOp::Append { key, value } => {
                    done.push(op.clone());
                    let suffix = format!(",{value}");
                    let updated =
                        conn.execute("UPDATE lists SET v = v || $2 WHERE k = $1", &[key, &suffix])?;
                    if updated != 1 {
                        return Err(OpError::Unexpected(format!(
                            "append to key {key} updated {updated} rows"
                        )));
                    }
                }
                MicroOp::ReadList { key, .. } => {
                    let rows = conn.query("SELECT v FROM lists WHERE k = $1", &[key])?;
                    let text: String = match rows.iter().next() {
                        Some(row) => row.get(0)?,
                        None => {
                            return Err(OpError::Unexpected(format!("list row {key} is missing")));
                        }
                    };
                    done.push(MicroOp::ReadList {
                        key: *key,
                        value: parse_list(&text)?,
                    });
                }
                other => done.push(other.clone()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_from_comma_text() {
        assert_eq!(parse_list("").ok(), Some(vec![]));
        assert_eq!(parse_list(",1,22,3").ok(), Some(vec![1, 22, 3]));
        assert!(parse_list(",1,x").is_err());
    }
}
