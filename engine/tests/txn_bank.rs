//! Bank-transfer stress test with real threads, at SERIALIZABLE and at
//! REPEATABLE READ.
//!
//! 50 accounts start with 1,000 each. Four writer threads make 2,500 random
//! transfers each (read both balances, write both back), retrying on 40001
//! and 40P01 — opposite transfer orders deadlock, concurrent updates of one
//! account conflict. Meanwhile a reader thread sums every balance in one
//! transaction, alternately with a scan and with 50 point reads, and asserts
//! the total is always 50,000: every snapshot sees whole transfers only.
//! At the end the total is still 50,000 and each account's balance is the
//! initial one plus the effect of every transfer the writers made: each
//! committed exactly once, no update lost.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use common::{decode_int, encode_int, open_fast, row_key};
use isodb_engine::txn::{Engine, IsolationLevel, Keyspace, TransactionOptions};

const ACCOUNTS: u64 = 50;
const INITIAL: i64 = 1_000;
const WRITERS: u64 = 4;
const TRANSFERS_PER_WRITER: u64 = 2_500;

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn balance(
    txn: &mut isodb_engine::txn::Transaction,
    ks: Keyspace,
    account: u64,
) -> isodb_engine::Result<i64> {
    let value = txn.get(ks, &row_key(account))?;
    Ok(decode_int(
        &value.unwrap_or_else(|| panic!("account {account} vanished")),
    ))
}

/// One transfer, retried until it commits; returns the number of retries.
fn transfer(
    engine: &Engine,
    ks: Keyspace,
    level: IsolationLevel,
    from: u64,
    to: u64,
    amount: i64,
) -> u64 {
    let mut retries = 0;
    loop {
        let mut txn = engine.begin(level);
        let attempt = (|| {
            txn.new_statement();
            let a = balance(&mut txn, ks, from)?;
            txn.new_statement();
            let b = balance(&mut txn, ks, to)?;
            txn.new_statement();
            txn.put(ks, &row_key(from), &encode_int(a - amount))?;
            txn.new_statement();
            txn.put(ks, &row_key(to), &encode_int(b + amount))?;
            Ok::<(), isodb_engine::Error>(())
        })();
        let result = attempt.and_then(|()| txn.commit().map(|_| ()));
        match result {
            Ok(()) => return retries,
            Err(e) if matches!(e.sqlstate(), "40001" | "40P01") => retries += 1,
            Err(e) => panic!("transfer {from} -> {to} failed with a non-retryable error: {e}"),
        }
    }
}

/// Sums every balance in one transaction (a scan, or point reads); `None`
/// if the transaction had to be retried.
fn audit(engine: &Engine, ks: Keyspace, level: IsolationLevel, by_scan: bool) -> Option<i64> {
    let mut txn = engine.begin_with(TransactionOptions {
        level,
        read_only: true,
    });
    let total = if by_scan {
        let rows = match txn.scan(ks, ..) {
            Ok(rows) => rows,
            Err(e) if e.sqlstate() == "40001" => return None,
            Err(e) => panic!("audit scan: {e}"),
        };
        let mut total = 0;
        let mut count = 0;
        for row in rows {
            let (_, value) = row.expect("audit row");
            total += decode_int(&value);
            count += 1;
        }
        assert_eq!(count, ACCOUNTS, "an audit saw {count} accounts");
        total
    } else {
        let mut total = 0;
        for account in 0..ACCOUNTS {
            match balance(&mut txn, ks, account) {
                Ok(b) => total += b,
                Err(e) if e.sqlstate() == "40001" => return None,
                Err(e) => panic!("audit read: {e}"),
            }
        }
        total
    };
    match txn.commit() {
        Ok(_) => Some(total),
        Err(e) if e.sqlstate() == "40001" => None,
        Err(e) => panic!("audit commit: {e}"),
    }
}

fn run_bank(level: IsolationLevel) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = open_fast(dir.path());
    let ks = engine.keyspace("accounts").expect("keyspace");
    let mut load = engine.begin(IsolationLevel::Serializable);
    for account in 0..ACCOUNTS {
        load.put(ks, &row_key(account), &encode_int(INITIAL))
            .expect("load");
    }
    load.commit().expect("load commit");
    let expected_total = INITIAL * ACCOUNTS as i64;

    let started = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let retries = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (engine, retries) = (engine.clone(), Arc::clone(&retries));
            std::thread::spawn(move || {
                let mut seed = 0x2545_f491_4f6c_dd1d ^ (w + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let mut made = Vec::new();
                for _ in 0..TRANSFERS_PER_WRITER {
                    let from = xorshift(&mut seed) % ACCOUNTS;
                    let to = (from + 1 + xorshift(&mut seed) % (ACCOUNTS - 1)) % ACCOUNTS;
                    let amount = 1 + (xorshift(&mut seed) % 100) as i64;
                    let r = transfer(&engine, ks, level, from, to, amount);
                    retries.fetch_add(r, Ordering::Relaxed);
                    made.push((from, to, amount));
                }
                made
            })
        })
        .collect();
    let reader = {
        let (engine, done) = (engine.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let (mut audits, mut audit_retries) = (0u64, 0u64);
            while !done.load(Ordering::Acquire) {
                match audit(&engine, ks, level, audits % 2 == 0) {
                    Some(total) => {
                        assert_eq!(
                            total, expected_total,
                            "an audit at {level} saw a partial transfer"
                        );
                        audits += 1;
                    }
                    None => audit_retries += 1,
                }
            }
            (audits, audit_retries)
        })
    };
    // Each transfer committed exactly once: the final balances are the
    // initial ones plus every transfer's effect (no update lost or doubled).
    let mut expected = vec![INITIAL; ACCOUNTS as usize];
    for w in writers {
        for (from, to, amount) in w.join().expect("writer thread") {
            expected[from as usize] -= amount;
            expected[to as usize] += amount;
        }
    }
    done.store(true, Ordering::Release);
    let (audits, audit_retries) = reader.join().expect("reader thread");

    let final_total = audit(&engine, ks, level, true).expect("final audit");
    eprintln!(
        "{level}: {} transfers in {:?}, {} retries (40001/40P01); {audits} audits during the run, {audit_retries} audits retried",
        WRITERS * TRANSFERS_PER_WRITER,
        started.elapsed(),
        retries.load(Ordering::Relaxed),
    );
    assert_eq!(
        final_total, expected_total,
        "money was created or destroyed at {level}"
    );
    let mut check = engine.begin(IsolationLevel::ReadCommitted);
    for account in 0..ACCOUNTS {
        let got = balance(&mut check, ks, account).expect("final balance");
        assert_eq!(
            got, expected[account as usize],
            "account {account} at {level}: an update was lost or doubled"
        );
    }
    check.commit().expect("check commit");
    assert!(
        audits > 0,
        "no audit completed while the transfers ran: the test proved nothing"
    );
    assert!(
        engine.transactions().is_empty(),
        "transactions left open: {:?}",
        engine.transactions()
    );
    assert!(
        engine.locks().is_empty(),
        "locks left behind: {:?}",
        engine.locks()
    );
}

#[test]
fn transfers_keep_the_total_at_serializable() {
    run_bank(IsolationLevel::Serializable);
}

#[test]
fn transfers_keep_the_total_at_repeatable_read() {
    run_bank(IsolationLevel::RepeatableRead);
}
