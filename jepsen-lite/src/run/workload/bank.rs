//! The bank workload: transfers between accounts and audits of all of them; under snapshot
//! isolation and above, every audit must see the same total.
//!
//! Each account row carries, besides its balance, a register `v` that names the version: the
//! transaction that wrote it and the balance it left, packed as `uid · 2^20 + balance`. So the
//! checker sees a transfer as register reads and writes, and the audit as a predicate read of
//! every row, and the balance of every read can be recovered from the history alone:
//!
//! ```text
//! accounts:  id │ balance │ v                       transfer 3 from 0 to 1 (uid 9):
//!             0 │     100 │ NULL  (initial)           read 0 → nil (100), read 1 → nil (100)
//!             1 │     100 │ NULL                      write 0 := 9·2^20 + 97, write 1 := 9·2^20 + 103
//! audit:  SELECT id, balance, v FROM accounts  → pred-read {} = {0: 9·2^20+97, 1: 9·2^20+103}
//! ```
//!
//! A transfer computes new balances from the balances it read (the classic read-modify-write),
//! and skips when the source would go negative; so a lost update changes the total.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};

use rand::Rng;
use rand::rngs::SmallRng;

use crate::history::{History, Key, MicroOp, Outcome};
use crate::predicate::Predicate;
use crate::run::client::{Conn, OpError};
use crate::run::keys::KeySampler;
use crate::run::workload::Workload;

/// Every account's opening balance.
pub const INITIAL_BALANCE: i64 = 100;
const BALANCE_BITS: u32 = 20;

/// Transfers and audits.
pub struct Bank {
    keys: KeySampler,
    next_uid: AtomicI64,
}

impl Bank {
    /// Over the accounts `keys` draws (at least two).
    pub fn new(keys: KeySampler) -> Self {
        Bank {
            keys,
            next_uid: AtomicI64::new(1),
        }
    }

    fn accounts(&self) -> i64 {
        self.keys.count().max(2) as i64
    }
}

/// The balance a version of `v` holds (`None`: the opening balance).
pub fn balance_of(version: Option<i64>) -> i64 {
    version.map_or(INITIAL_BALANCE, |v| v & ((1 << BALANCE_BITS) - 1))
}

fn version(uid: i64, balance: i64) -> i64 {
    (uid << BALANCE_BITS) | balance
}

impl Workload for Bank {
    fn setup(&self, session: &mut isodb::Session) -> isodb::Result<()> {
        session
            .execute("CREATE TABLE accounts (id INT PRIMARY KEY, balance INT NOT NULL, v INT)")?;
        for id in 0..self.accounts() {
            session.execute_with(
                "INSERT INTO accounts VALUES ($1, $2, NULL)",
                &[&id, &INITIAL_BALANCE],
            )?;
        }
        Ok(())
    }

    fn generate(&self, rng: &mut SmallRng) -> Vec<MicroOp> {
        if rng.gen_bool(0.3) {
            return vec![MicroOp::predicate_read(Predicate::default(), &[])];
        }
        let (from, to) = if self.keys.count() >= 2 {
            self.keys.sample_pair(rng)
        } else {
            (0, 1)
        };
        vec![MicroOp::read(from, None), MicroOp::read(to, None)]
    }

    fn execute(
        &self,
        conn: &mut Conn<'_, '_>,
        ops: &[MicroOp],
        done: &mut Vec<MicroOp>,
    ) -> Result<(), OpError> {
        match ops {
            [MicroOp::PredicateRead { predicate, .. }] => {
                let rows = conn.query("SELECT id, balance, v FROM accounts", &[])?;
                let mut seen: Vec<(Key, i64)> = Vec::new();
                for row in rows.iter() {
                    let id: i64 = row.get(0)?;
                    let balance: i64 = row.get(1)?;
                    let v: Option<i64> = row.get(2)?;
                    if balance != balance_of(v) {
                        return Err(OpError::Unexpected(format!(
                            "account {id} holds balance {balance} but version {v:?}"
                        )));
                    }
                    if let Some(v) = v {
                        seen.push((id, v));
                    }
                }
                done.push(MicroOp::predicate_read(predicate.clone(), &seen));
                Ok(())
            }
            [
                MicroOp::Read { key: from, .. },
                MicroOp::Read { key: to, .. },
            ] => {
                let mut read = |id: Key| -> Result<Option<i64>, OpError> {
                    let rows = conn.query("SELECT v FROM accounts WHERE id = $1", &[&id])?;
                    match rows.iter().next() {
                        Some(row) => Ok(row.get::<Option<i64>>(0)?),
                        None => Err(OpError::Unexpected(format!("account {id} is missing"))),
                    }
                };
                let (v_from, v_to) = (read(*from)?, read(*to)?);
                done.extend([MicroOp::read(*from, v_from), MicroOp::read(*to, v_to)]);
                let uid = self.next_uid.fetch_add(1, Ordering::Relaxed);
                let amount = 1 + uid % 5;
                let (b_from, b_to) = (balance_of(v_from), balance_of(v_to));
                if b_from < amount {
                    return Ok(());
                }
                for (id, balance) in [(*from, b_from - amount), (*to, b_to + amount)] {
                    let v = version(uid, balance);
                    done.push(MicroOp::write(id, v));
                    conn.execute(
                        "UPDATE accounts SET balance = $2, v = $3 WHERE id = $1",
                        &[&id, &balance, &v],
                    )?;
                }
                Ok(())
            }
            other => Err(OpError::Unexpected(format!(
                "the bank cannot run {other:?}"
            ))),
        }
    }

    fn invariant_violations(&self, history: &History) -> Vec<String> {
        let expected = self.accounts() * INITIAL_BALANCE;
        let mut violations = Vec::new();
        for txn in history.txns.iter().filter(|t| t.outcome == Outcome::Ok) {
            for op in &txn.ops {
                if let MicroOp::PredicateRead { value, .. } = op {
                    let seen: &BTreeMap<Key, i64> = value;
                    let total: i64 = (0..self.accounts())
                        .map(|id| balance_of(seen.get(&id).copied()))
                        .sum();
                    if total != expected {
                        violations.push(format!(
                            "T{} read a total of {total}, not {expected}",
                            txn.id
                        ));
                    }
                }
            }
        }
        violations
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::HistoryBuilder;

    #[test]
    fn versions_pack_the_balance() {
        assert_eq!(balance_of(None), INITIAL_BALANCE);
        assert_eq!(balance_of(Some(version(9, 97))), 97);
        assert_ne!(version(9, 97), version(10, 97));
    }

    #[test]
    fn an_audit_with_a_wrong_total_is_a_violation() {
        let bank = Bank::new(KeySampler::new(
            crate::run::keys::KeyDistribution::Uniform,
            2,
        ));
        let mut h = HistoryBuilder::new();
        let all = Predicate::default();
        h.ok(
            0,
            vec![MicroOp::predicate_read(
                all.clone(),
                &[(0, version(1, 97)), (1, version(1, 103))],
            )],
        );
        h.ok(
            0,
            vec![MicroOp::predicate_read(all, &[(0, version(1, 97))])],
        );
        let violations = bank.invariant_violations(&h.build().expect("pairs"));
        assert_eq!(
            violations,
            vec!["T1 read a total of 197, not 200".to_string()]
        );
    }
}
