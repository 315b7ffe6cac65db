//! Bank transfers across the 4 shards of a cluster while the network
//! misbehaves and shards fail: the commit protocol's messages are dropped,
//! duplicated, delayed and reordered, one shard is cut off for a while and
//! another crashes (power loss) and restarts. Writers move money between
//! random accounts (most transfers span two shards) at SERIALIZABLE and
//! REPEATABLE READ, retrying what fails; a reader sums every account in one
//! transaction (a merged scan over all shards) and must always find the
//! same total. At the end everything in doubt is settled, the total is
//! unchanged, and no lock is held.
//!
//! `ISODB_CLUSTER_BANK_SECS` runs it longer than CI's 3 seconds.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{decode_int, encode_int, fast_options, row_key};
use isodb_engine::cluster::{Cluster, ClusterOptions, FaultPlan};
use isodb_engine::storage::CrashKind;
use isodb_engine::txn::{IsolationLevel, Keyspace, LockMode, TransactionOptions, WaitPolicy};

const SHARDS: u16 = 4;
const ACCOUNTS: u64 = 40;
const INITIAL: i64 = 1_000;

/// Account `n` lives on shard `n % SHARDS`.
fn home(ks: &[Keyspace], account: u64) -> Keyspace {
    ks[(account % u64::from(SHARDS)) as usize]
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn total(cluster: &Cluster, ks: &[Keyspace]) -> isodb_engine::Result<i64> {
    let mut txn = cluster.begin_with(TransactionOptions {
        level: IsolationLevel::RepeatableRead,
        read_only: true,
    });
    let mut sum = 0;
    let mut rows = 0;
    for row in txn.scan_merged(ks, ..)? {
        let (_, value) = row?;
        sum += decode_int(&value);
        rows += 1;
    }
    assert_eq!(rows, ACCOUNTS, "every account is read");
    txn.commit()?;
    Ok(sum)
}

#[test]
fn transfers_keep_the_total_through_message_faults_partitions_and_crashes() {
    let seconds: u64 = std::env::var("ISODB_CLUSTER_BANK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().expect("dir");
    let cluster = Cluster::open(
        dir.path(),
        ClusterOptions {
            engine: fast_options(),
            shards: Some(SHARDS),
            request_timeout: Duration::from_millis(10),
            decision_deadline: Duration::from_millis(200),
            in_doubt_timeout: Duration::from_millis(300),
            resolve_interval: Duration::from_millis(20),
            ..ClusterOptions::default()
        },
    )
    .expect("open");
    let ks = cluster.keyspace("accounts").expect("keyspace");
    let mut txn = cluster.begin(IsolationLevel::Serializable);
    for account in 0..ACCOUNTS {
        txn.put(home(&ks, account), &row_key(account), &encode_int(INITIAL))
            .expect("account");
    }
    txn.commit().expect("setup");
    cluster.transport().set_faults(FaultPlan {
        drop_request: 0.03,
        drop_reply: 0.03,
        duplicate: 0.05,
        delay_probability: 0.05,
        delay: Duration::from_millis(3),
        reorder: 0.02,
        ..FaultPlan::none()
    });

    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for (writer, level) in [IsolationLevel::Serializable, IsolationLevel::RepeatableRead]
        .into_iter()
        .enumerate()
    {
        let (cluster, ks, stop, committed) = (
            cluster.clone(),
            ks.clone(),
            Arc::clone(&stop),
            Arc::clone(&committed),
        );
        threads.push(std::thread::spawn(move || {
            let mut rng = 0x9E37_79B9 + writer as u64;
            while !stop.load(Ordering::Relaxed) {
                let from = xorshift(&mut rng) % ACCOUNTS;
                let to = (from + 1 + xorshift(&mut rng) % (ACCOUNTS - 1)) % ACCOUNTS;
                let amount = (xorshift(&mut rng) % 50) as i64;
                let mut txn = cluster.begin(level);
                let result = (|| {
                    let a = decode_int(&txn.get(home(&ks, from), &row_key(from))?.expect("from"));
                    let b = decode_int(&txn.get(home(&ks, to), &row_key(to))?.expect("to"));
                    txn.put(home(&ks, from), &row_key(from), &encode_int(a - amount))?;
                    txn.put(home(&ks, to), &row_key(to), &encode_int(b + amount))?;
                    txn.commit()
                })();
                if result.is_ok() {
                    committed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let reader = {
        let (cluster, ks, stop) = (cluster.clone(), ks.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                match total(&cluster, &ks) {
                    Ok(sum) => {
                        assert_eq!(sum, INITIAL * ACCOUNTS as i64, "a read saw a torn transfer");
                        reads += 1;
                    }
                    Err(e) => assert!(
                        matches!(e.sqlstate(), "08006" | "55P03" | "40001"),
                        "reader: {e}"
                    ),
                }
            }
            reads
        })
    };

    // The nemesis: cut shard 3 off for a while, crash and restart shard 2.
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut round = 0;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        match round % 2 {
            0 => {
                cluster.transport().set_unreachable(3, true);
                std::thread::sleep(Duration::from_millis(200));
                cluster.transport().set_unreachable(3, false);
            }
            _ => {
                cluster.crash_shard(2, CrashKind::PowerLoss).expect("crash");
                std::thread::sleep(Duration::from_millis(50));
                cluster.restart_shard(2).expect("restart");
            }
        }
        round += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().expect("writer");
    }
    let reads = reader.join().expect("reader");
    cluster.transport().set_faults(FaultPlan::none());

    // Settle whatever is left in doubt, then check.
    let settled_by = Instant::now() + Duration::from_secs(20);
    loop {
        cluster.run_background_once();
        let in_doubt: usize = (0..SHARDS)
            .map(|s| cluster.engine(s).expect("up").in_doubt().len())
            .sum();
        if in_doubt == 0 && cluster.unfinished() == 0 && cluster.transport().in_background() == 0 {
            break;
        }
        assert!(Instant::now() < settled_by, "still in doubt: {in_doubt}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        total(&cluster, &ks).expect("total"),
        INITIAL * ACCOUNTS as i64
    );
    let mut txn = cluster.begin(IsolationLevel::ReadCommitted);
    for account in 0..ACCOUNTS {
        txn.lock_and_read(
            home(&ks, account),
            &row_key(account),
            LockMode::Exclusive,
            WaitPolicy::NoWait,
        )
        .unwrap_or_else(|e| panic!("account {account} still locked: {e}"));
    }
    let stats = cluster.transport().stats();
    assert!(
        stats.dropped_requests + stats.dropped_replies > 0,
        "faults happened: {stats:?}"
    );
    assert!(
        committed.load(Ordering::Relaxed) > 20,
        "transfers committed: {}",
        committed.load(Ordering::Relaxed)
    );
    assert!(reads > 5, "reads: {reads}");
}
