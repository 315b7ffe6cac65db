//! Simulated crashes in one process (`Store::crash`): after a power loss
//! what was fsynced survives and what was only handed to the OS is gone;
//! after a process crash both survive; nothing after the crash is accepted,
//! and recovery reads the rest back whole.
//!
//! ```text
//!   put a (Sync)     ── fsynced ─────────────┐
//!   put b (NoSync)   ── in the OS only ──┐   │
//!   crash            ── log cut at its last fsync
//!   reopen           ── a is there, b is not
//! ```

use isodb_engine::storage::{CrashKind, Durability, Store, StoreOptions, WriteBatch};

fn options() -> StoreOptions {
    StoreOptions {
        durability: Durability::NoSync,
        ..Default::default()
    }
}

fn batch(key: &[u8], value: &[u8]) -> WriteBatch {
    let mut batch = WriteBatch::new();
    batch.put(key, value);
    batch
}

#[test]
fn a_power_loss_keeps_synced_writes_and_drops_the_unsynced_tail() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), options()).expect("open");
    for i in 0..100u32 {
        let key = format!("synced-{i:03}");
        store
            .write_with(batch(key.as_bytes(), b"v"), Durability::Sync)
            .expect("synced write");
    }
    for i in 0..100u32 {
        let key = format!("unsynced-{i:03}");
        store
            .write_with(batch(key.as_bytes(), b"v"), Durability::NoSync)
            .expect("unsynced write");
    }
    store.crash(CrashKind::PowerLoss).expect("crash");
    assert!(
        store.put(b"after", b"crash").is_err(),
        "a crashed store accepts no write"
    );
    drop(store);

    let store = Store::open(dir.path(), options()).expect("reopen after power loss");
    let keys: Vec<Vec<u8>> = store.scan(..).map(|item| item.expect("scan").0).collect();
    let expected: Vec<Vec<u8>> = (0..100u32)
        .map(|i| format!("synced-{i:03}").into_bytes())
        .collect();
    assert_eq!(keys, expected, "exactly the synced writes survive");
    store
        .put(b"after", b"reopen")
        .expect("the reopened store writes");
    store.close().expect("close");
}

#[test]
fn a_later_sync_makes_earlier_unsynced_writes_durable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), options()).expect("open");
    store
        .write_with(batch(b"a", b"1"), Durability::NoSync)
        .expect("unsynced");
    store
        .write_with(batch(b"b", b"2"), Durability::Sync)
        .expect("synced");
    store.crash(CrashKind::PowerLoss).expect("crash");
    drop(store);
    let store = Store::open(dir.path(), options()).expect("reopen");
    assert_eq!(store.get(b"a").expect("get"), Some(b"1".to_vec()));
    assert_eq!(store.get(b"b").expect("get"), Some(b"2".to_vec()));
}

#[test]
fn a_process_crash_keeps_what_the_os_was_handed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), options()).expect("open");
    for i in 0..50u32 {
        let key = format!("k{i:02}");
        store
            .write_with(batch(key.as_bytes(), b"v"), Durability::NoSync)
            .expect("unsynced write");
    }
    store.crash(CrashKind::Process).expect("crash");
    assert!(store.put(b"after", b"crash").is_err());
    drop(store);
    let store = Store::open(dir.path(), options()).expect("reopen");
    assert_eq!(
        store.scan(..).count(),
        50,
        "acknowledged NoSync writes survive a process crash"
    );
}

/// The slow-disk fault: with a sync delay every synced write takes at least
/// that long, and after it is lifted writes are fast again; nothing is lost.
#[test]
fn an_injected_sync_delay_slows_every_synced_write() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), options()).expect("open");
    store.set_sync_delay(Duration::from_millis(20));
    let started = Instant::now();
    for i in 0..5u32 {
        let key = format!("slow{i}");
        store
            .write_with(batch(key.as_bytes(), b"v"), Durability::Sync)
            .expect("synced write");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "five synced writes on a disk slowed by 20 ms took {:?}",
        started.elapsed()
    );
    store.set_sync_delay(Duration::ZERO);
    store.put(b"fast", b"v").expect("put");
    store.close().expect("close");
    let store = Store::open(dir.path(), options()).expect("reopen");
    assert_eq!(store.scan(..).count(), 6);
}
