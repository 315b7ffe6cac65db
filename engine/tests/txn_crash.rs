//! Crash tests of the transaction layer with real processes: the test binary
//! re-runs itself as a child (selected by an environment variable), the
//! parent kills it with SIGKILL and reopens the engine.
//!
//! (a) **Kill during commit.** Transaction `i` moves a deterministic amount
//! between two of 20 accounts, writes the marker `m{i}` and sets `next` =
//! i + 1, at SERIALIZABLE; the child appends `i` to an acknowledgement file
//! after each commit returns. After each kill the parent replays transfers
//! `0..next` from scratch and demands exactly that state: every balance,
//! exactly the markers `0..next`, and every acknowledged `i < next`. So each
//! acknowledged transaction is there whole, and no transaction is there in
//! part (a half-applied one would break a balance or the total).
//! `ISODB_CRASH_CYCLES` sets the number of kills (default 20).
//!
//! (b) **Kill between prepare and decision.** The child prepares a
//! transaction (update `q`, insert `p1` and `p2`, delete `d`), writes its id
//! to a file and sleeps until killed. After reopening, the transaction is in
//! doubt, its rows are locked (another writer gets 55P03), its writes are
//! invisible; `commit_prepared` makes them visible whole, or in a second run
//! `rollback_prepared` discards them; after another reopen nothing is in
//! doubt and the decision stands.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use isodb_engine::storage::{Durability, StoreOptions, TableOptions};
use isodb_engine::txn::{Engine, EngineOptions, IsolationLevel, Keyspace, Transaction};

const CHILD_DIR: &str = "ISODB_TXN_CRASH_DIR";
const CHILD_MODE: &str = "ISODB_TXN_CRASH_MODE";
const ACCOUNTS: u64 = 20;
const INITIAL: i64 = 1_000;

fn options() -> EngineOptions {
    EngineOptions {
        store: StoreOptions {
            durability: Durability::Sync,
            memtable_size: 8 * 1024,
            max_immutable_memtables: 1,
            table: TableOptions {
                block_size: 512,
                ..TableOptions::default()
            },
            target_file_size: 8 * 1024,
            level1_max_bytes: 32 * 1024,
            level_size_ratio: 4,
            l0_compaction_trigger: 2,
            ..StoreOptions::default()
        },
        lock_timeout: None,
    }
}

fn open(dir: &Path) -> (Engine, Keyspace) {
    let engine = Engine::open(dir.join("db"), options()).expect("open engine");
    let ks = engine.keyspace("bank").expect("keyspace");
    (engine, ks)
}

fn account_key(a: u64) -> Vec<u8> {
    format!("a{a:02}").into_bytes()
}

fn marker_key(i: u64) -> Vec<u8> {
    format!("m{i:08}").into_bytes()
}

/// Transfer `i`: (from, to, amount), the same in child and parent.
fn transfer_of(i: u64) -> (u64, u64, i64) {
    let h = (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let from = (h >> 11) % ACCOUNTS;
    let to = (from + 1 + (h >> 29) % (ACCOUNTS - 1)) % ACCOUNTS;
    (from, to, 1 + ((h >> 47) % 50) as i64)
}

fn read_int(txn: &mut Transaction, ks: Keyspace, key: &[u8]) -> Option<i64> {
    txn.get(ks, key)
        .expect("read")
        .map(|v| common::decode_int(&v))
}

// ---------------------------------------------------------------- children

fn commit_child(dir: &Path) {
    let (engine, ks) = open(dir);
    let mut acks = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("acks"))
        .expect("ack file");
    let mut init = engine.begin(IsolationLevel::Serializable);
    if read_int(&mut init, ks, b"next").is_none() {
        for a in 0..ACCOUNTS {
            init.put(ks, &account_key(a), &common::encode_int(INITIAL))
                .expect("init");
        }
        init.put(ks, b"next", b"0").expect("init");
        init.commit().expect("init commit");
    } else {
        init.rollback().expect("rollback");
    }
    loop {
        let mut txn = engine.begin(IsolationLevel::Serializable);
        let i = read_int(&mut txn, ks, b"next").expect("next") as u64;
        let (from, to, amount) = transfer_of(i);
        let a = read_int(&mut txn, ks, &account_key(from)).expect("from");
        let b = read_int(&mut txn, ks, &account_key(to)).expect("to");
        txn.put(ks, &account_key(from), &common::encode_int(a - amount))
            .expect("put");
        txn.put(ks, &marker_key(i), i.to_string().as_bytes())
            .expect("marker");
        txn.put(ks, &account_key(to), &common::encode_int(b + amount))
            .expect("put");
        txn.put(ks, b"next", (i + 1).to_string().as_bytes())
            .expect("next");
        txn.commit().expect("commit");
        // One write call: a kill cannot leave half a line behind.
        acks.write_all(format!("{i}\n").as_bytes()).expect("ack");
    }
}

const Q: &[u8] = b"q";
const D: &[u8] = b"d";
const P1: &[u8] = b"p1";
const P2: &[u8] = b"p2";

fn prepare_child(dir: &Path) {
    let (engine, ks) = open(dir);
    let mut txn = engine.begin(IsolationLevel::Serializable);
    txn.put(ks, Q, b"new").expect("update q");
    txn.put(ks, P1, b"one").expect("insert p1");
    txn.put(ks, P2, b"two").expect("insert p2");
    txn.delete(ks, D).expect("delete d");
    let id = txn.prepare().expect("prepare");
    let tmp = dir.join("prepared.tmp");
    std::fs::write(&tmp, id.to_string()).expect("write id");
    std::fs::rename(&tmp, dir.join("prepared")).expect("publish id");
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn crash_child_entry_point() {
    // Does something only as the child of one of the tests below.
    if let (Ok(dir), Ok(mode)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_MODE)) {
        match mode.as_str() {
            "commit" => commit_child(&PathBuf::from(dir)),
            "prepare" => prepare_child(&PathBuf::from(dir)),
            other => panic!("unknown child mode {other}"),
        }
    }
}

fn spawn_child(dir: &Path, mode: &str) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "crash_child_entry_point",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir)
        .env(CHILD_MODE, mode)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child")
}

// ------------------------------------------------------ (a) kill in commit

/// Checks the state after a kill; returns `next` (transactions committed).
fn check_commits(dir: &Path, cycle: usize) -> u64 {
    let acked: Vec<u64> = std::fs::read_to_string(dir.join("acks"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect();
    let (engine, ks) = open(dir);
    let mut txn = engine.begin(IsolationLevel::RepeatableRead);
    let Some(next) = read_int(&mut txn, ks, b"next").map(|n| n as u64) else {
        // Killed before the initial load committed: nothing may be there.
        let rows = txn.scan(ks, ..).expect("scan").count();
        assert_eq!(rows, 0, "cycle {cycle}: part of the initial load survived");
        assert!(
            acked.is_empty(),
            "cycle {cycle}: acknowledged commits lost with the initial load"
        );
        return 0;
    };
    let mut expected = vec![INITIAL; ACCOUNTS as usize];
    for i in 0..next {
        let (from, to, amount) = transfer_of(i);
        expected[from as usize] -= amount;
        expected[to as usize] += amount;
    }
    let mut total = 0;
    for a in 0..ACCOUNTS {
        let got = read_int(&mut txn, ks, &account_key(a));
        assert_eq!(
            got,
            Some(expected[a as usize]),
            "cycle {cycle}: account {a} is not the replay of transactions 0..{next}"
        );
        total += got.unwrap_or(0);
    }
    assert_eq!(
        total,
        INITIAL * ACCOUNTS as i64,
        "cycle {cycle}: money created or destroyed"
    );
    let markers: Vec<u64> = txn
        .scan(
            ks,
            (
                std::ops::Bound::Included(&b"m"[..]),
                std::ops::Bound::Excluded(&b"n"[..]),
            ),
        )
        .expect("scan markers")
        .map(|row| {
            let (key, _) = row.expect("marker row");
            std::str::from_utf8(&key[1..])
                .expect("utf8")
                .parse()
                .expect("marker number")
        })
        .collect();
    assert_eq!(
        markers,
        (0..next).collect::<Vec<_>>(),
        "cycle {cycle}: markers are not exactly those of transactions 0..{next}"
    );
    if let Some(&lost) = acked.iter().find(|&&i| i >= next) {
        panic!("cycle {cycle}: transaction {lost} was acknowledged but is missing (next = {next})");
    }
    txn.commit().expect("check commit");
    next
}

#[test]
fn acknowledged_transactions_survive_sigkill_whole() {
    let cycles: usize = std::env::var("ISODB_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut seed: u64 = 0x5851_f42d_4c95_7f2d;
    let mut committed = 0;
    let started = Instant::now();
    for cycle in 0..cycles {
        let mut child = spawn_child(dir.path(), "commit");
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(30 + seed % 170));
        child.kill().expect("SIGKILL child");
        child.wait().expect("reap child");
        committed = check_commits(dir.path(), cycle);
    }
    let acked = std::fs::read_to_string(dir.path().join("acks"))
        .unwrap_or_default()
        .lines()
        .count();
    eprintln!(
        "{cycles} kills in {:?}: {committed} transactions committed, {acked} acknowledged",
        started.elapsed()
    );
    assert!(
        acked > 0,
        "the child never acknowledged a commit: the test proved nothing"
    );
}

// ------------------------------------------- (b) kill between prepare and decision

/// Sets up q = old, d = old, spawns the preparing child, kills it once it
/// has prepared; returns the prepared transaction's id.
fn prepare_and_kill(dir: &Path) -> u64 {
    {
        let (engine, ks) = open(dir);
        let mut txn = engine.begin(IsolationLevel::Serializable);
        txn.put(ks, Q, b"old").expect("q");
        txn.put(ks, D, b"old").expect("d");
        txn.commit().expect("setup commit");
    }
    let mut child = spawn_child(dir, "prepare");
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        if let Ok(text) = std::fs::read_to_string(dir.join("prepared")) {
            break text.trim().parse::<u64>().expect("prepared id");
        }
        assert!(Instant::now() < deadline, "the child never prepared");
        std::thread::sleep(Duration::from_millis(10));
    };
    child.kill().expect("SIGKILL child");
    child.wait().expect("reap child");
    id
}

fn rows(engine: &Engine, ks: Keyspace, level: IsolationLevel) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut txn = engine.begin(level);
    let rows = txn
        .scan(ks, ..)
        .expect("scan")
        .map(|r| r.expect("row"))
        .collect();
    txn.commit().expect("commit");
    rows
}

fn before() -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![(D.to_vec(), b"old".to_vec()), (Q.to_vec(), b"old".to_vec())]
}

fn after() -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        (P1.to_vec(), b"one".to_vec()),
        (P2.to_vec(), b"two".to_vec()),
        (Q.to_vec(), b"new".to_vec()),
    ]
}

/// The checks common to both decisions, right after the reopen.
fn check_in_doubt(engine: &Engine, ks: Keyspace, id: u64) {
    let in_doubt = engine.in_doubt();
    assert_eq!(in_doubt.len(), 1, "in doubt after reopen: {in_doubt:?}");
    assert_eq!(in_doubt[0].id, id);
    assert_eq!(in_doubt[0].writes, 4);
    assert_eq!(in_doubt[0].level, IsolationLevel::Serializable);
    // Its rows are locked by it.
    let held: Vec<Vec<u8>> = engine
        .locks()
        .into_iter()
        .filter(|l| l.holders.iter().any(|h| h.txn == id))
        .map(|l| l.key)
        .collect();
    assert_eq!(
        held.len(),
        4,
        "the prepared transaction holds {} row locks",
        held.len()
    );
    for key in [Q, D, P1] {
        let mut other = engine.begin(IsolationLevel::ReadCommitted);
        other.set_lock_timeout(Some(Duration::from_millis(50)));
        let err = other
            .put(ks, key, b"intruder")
            .expect_err("a prepared row must stay locked");
        assert_eq!(err.sqlstate(), "55P03", "{err}");
    }
    // Its writes are invisible to every level that reads committed data.
    for level in [
        IsolationLevel::ReadCommitted,
        IsolationLevel::RepeatableRead,
        IsolationLevel::Serializable,
    ] {
        assert_eq!(
            rows(engine, ks, level),
            before(),
            "prepared writes visible at {level}"
        );
    }
}

fn decide_after_crash(commit: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let id = prepare_and_kill(dir.path());
    {
        let (engine, ks) = open(dir.path());
        check_in_doubt(&engine, ks, id);
        if commit {
            engine.commit_prepared(id).expect("commit prepared");
            assert_eq!(rows(&engine, ks, IsolationLevel::Serializable), after());
        } else {
            engine.rollback_prepared(id).expect("rollback prepared");
            assert_eq!(rows(&engine, ks, IsolationLevel::Serializable), before());
        }
        assert!(engine.in_doubt().is_empty());
        assert!(
            engine.locks().is_empty(),
            "locks after the decision: {:?}",
            engine.locks()
        );
        let mut txn = engine.begin(IsolationLevel::ReadCommitted);
        txn.put(ks, b"z", b"after decision")
            .expect("rows are free again");
        txn.commit().expect("commit");
    }
    let (engine, ks) = open(dir.path());
    assert!(
        engine.in_doubt().is_empty(),
        "in doubt after the second reopen: {:?}",
        engine.in_doubt()
    );
    let mut expected = if commit { after() } else { before() };
    expected.push((b"z".to_vec(), b"after decision".to_vec()));
    expected.sort();
    assert_eq!(
        rows(&engine, ks, IsolationLevel::Serializable),
        expected,
        "the decision did not stand"
    );
    // A new transaction may lock every row again.
    let mut txn = engine.begin(IsolationLevel::Serializable);
    txn.set_lock_timeout(Some(Duration::from_millis(50)));
    for key in [Q, D, P1, P2] {
        txn.put(ks, key, b"final").expect("no lock left behind");
    }
    txn.commit().expect("commit");
}

#[test]
fn prepared_transaction_survives_sigkill_and_commits() {
    decide_after_crash(true);
}

#[test]
fn prepared_transaction_survives_sigkill_and_rolls_back() {
    decide_after_crash(false);
}
