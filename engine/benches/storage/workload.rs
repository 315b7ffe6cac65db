//! The workloads of the storage benchmark: the key space, the values, the
//! fixed-seed orders, and the timed loops that drive a [`System`].
//!
//! Key space: key `i` of the data set is the 16-digit zero-padded decimal of
//! `2 * i`; the *missing* key `i` is that of `2 * i + 1`. Missing keys have the
//! same length and interleave with the present ones, so no range check can
//! reject them: only a bloom filter (or a block search) can.
//!
//! ```text
//! present: 0000000000000000  0000000000000002  0000000000000004 ...
//! missing:        0000000000000001  0000000000000003  0000000000000005 ...
//! ```
//!
//! The value of key `i` is 100 pseudo-random bytes seeded by `i`, so every
//! read can be checked against [`value_for`] without storing the data set.
//! Every loop checks what it reads: a sample of values, every presence and
//! absence, and the count and order of a scan. A benchmark that silently reads
//! nothing is worthless.

use std::time::{Duration, Instant};

use crate::common::run::{BenchResult, SplitMix64};

/// Length of every key.
pub const KEY_LEN: usize = 16;
/// Length of every value.
pub const VALUE_LEN: usize = 100;
/// Writes per synced batch in `fillsync`.
pub const SYNC_BATCH: usize = 100;
/// Every this many reads, the value read is compared with the expected one.
const CHECK_EVERY: u64 = 64;

const ORDER_SEED: u64 = 0x15_0DB5_EED0;
const READ_SEED: u64 = 0x0DD_BA11;
const VALUE_SEED: u64 = 0xA11_CE5;

/// A key of the benchmark.
pub type Key = [u8; KEY_LEN];
/// A value of the benchmark.
pub type Value = [u8; VALUE_LEN];

fn decimal_key(mut n: u64) -> Key {
    let mut key = [b'0'; KEY_LEN];
    for digit in key.iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
    key
}

/// Key `i` of the data set.
pub fn present_key(i: u64) -> Key {
    decimal_key(2 * i)
}

/// Key `i` of the disjoint space of absent keys.
pub fn missing_key(i: u64) -> Key {
    decimal_key(2 * i + 1)
}

/// The value stored under [`present_key`]`(i)`.
pub fn value_for(i: u64) -> Value {
    let mut rng = SplitMix64::new(i ^ VALUE_SEED);
    let mut value = [0u8; VALUE_LEN];
    for chunk in value.chunks_mut(8) {
        let bits = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&bits[..chunk.len()]);
    }
    value
}

/// `0..n` in a fixed pseudo-random order (Fisher-Yates).
pub fn shuffled(n: u64, seed: u64) -> Vec<u32> {
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut rng = SplitMix64::new(seed);
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

/// What every system under test offers the workloads. Durability is fixed
/// when the system is opened (see `systems.rs`), except for
/// [`System::write_synced_batch`], which is always durable.
pub trait System {
    /// Writes one key with the durability the system was opened with; one
    /// atomic write per call.
    fn put(&mut self, key: &[u8], value: &[u8]) -> BenchResult<()>;
    /// Writes `batch` atomically and durably (fsynced before returning).
    fn write_synced_batch(&mut self, batch: &[(Key, Value)]) -> BenchResult<()>;
    /// Looks `key` up; calls `found` with the value and returns true if present.
    fn get(&mut self, key: &[u8], found: &mut dyn FnMut(&[u8])) -> BenchResult<bool>;
    /// Visits every entry in key order.
    fn scan(&mut self, visit: &mut dyn FnMut(&[u8], &[u8])) -> BenchResult<()>;
    /// Lets background work settle after a fill: memtables flushed, logs
    /// checkpointed. Not timed.
    fn settle(&mut self) -> BenchResult<()>;
}

/// The workloads, in the order of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Puts of keys in ascending order, no-sync.
    FillSeq,
    /// Puts of keys in random order, no-sync.
    FillRandom,
    /// Synced batches of 100 puts, random order.
    FillSync,
    /// Gets of present keys in random order, after `FillRandom`.
    ReadRandom,
    /// Gets of absent keys, after `FillRandom`.
    ReadMissing,
    /// One full ordered scan, after `FillRandom`.
    Scan,
}

impl Workload {
    /// Every workload, in table order.
    pub const ALL: [Workload; 6] = [
        Workload::FillSeq,
        Workload::FillRandom,
        Workload::FillSync,
        Workload::ReadRandom,
        Workload::ReadMissing,
        Workload::Scan,
    ];

    /// The db_bench-style name, also the filter's haystack.
    pub fn name(self) -> &'static str {
        match self {
            Workload::FillSeq => "fillseq",
            Workload::FillRandom => "fillrandom",
            Workload::FillSync => "fillsync",
            Workload::ReadRandom => "readrandom",
            Workload::ReadMissing => "readmissing",
            Workload::Scan => "scan",
        }
    }

    /// The unit of the workload's figure.
    pub fn unit(self) -> &'static str {
        match self {
            Workload::Scan => "entries/s",
            _ => "ops/s",
        }
    }
}

/// Key counts of one run, scaled by `ISODB_BENCH_SCALE`.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    /// Keys written by `fillseq` and `fillrandom` (1,000,000 at scale 1).
    pub fill_keys: u64,
    /// Keys written by `fillsync`, a multiple of [`SYNC_BATCH`] (100,000).
    pub sync_keys: u64,
    /// Gets of `readrandom` and of `readmissing` (1,000,000).
    pub reads: u64,
}

impl Scale {
    /// The counts at `factor` times the issue's sizes (at least one batch).
    pub fn new(factor: f64) -> Scale {
        let scaled = |n: f64| ((n * factor).round() as u64).max(1);
        let batches = scaled(100_000.0).div_ceil(SYNC_BATCH as u64);
        Scale {
            fill_keys: scaled(1_000_000.0),
            sync_keys: batches * SYNC_BATCH as u64,
            reads: scaled(1_000_000.0),
        }
    }
}

/// Operations done and the time they took.
#[derive(Clone, Copy, Debug)]
pub struct Measurement {
    /// Operations (or scanned entries).
    pub ops: u64,
    /// Wall-clock time of the loop.
    pub elapsed: Duration,
}

impl Measurement {
    /// Operations per second.
    pub fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn timed(ops: u64, body: impl FnOnce() -> BenchResult<()>) -> BenchResult<Measurement> {
    let start = Instant::now();
    body()?;
    Ok(Measurement {
        ops,
        elapsed: start.elapsed(),
    })
}

/// `fillseq`: puts keys `0..n` in ascending order.
pub fn fill_seq(system: &mut dyn System, n: u64) -> BenchResult<Measurement> {
    timed(n, || {
        for i in 0..n {
            system.put(&present_key(i), &value_for(i))?;
        }
        Ok(())
    })
}

/// `fillrandom`: puts keys `0..n` in a fixed random order (each once).
pub fn fill_random(system: &mut dyn System, n: u64) -> BenchResult<Measurement> {
    let order = shuffled(n, ORDER_SEED);
    timed(n, || {
        for &i in &order {
            let i = u64::from(i);
            system.put(&present_key(i), &value_for(i))?;
        }
        Ok(())
    })
}

/// `fillsync`: puts keys `0..n` in random order, in synced batches of
/// [`SYNC_BATCH`].
pub fn fill_sync(system: &mut dyn System, n: u64) -> BenchResult<Measurement> {
    let order = shuffled(n, ORDER_SEED ^ 1);
    let mut batch: Vec<(Key, Value)> = Vec::with_capacity(SYNC_BATCH);
    timed(n, || {
        for chunk in order.chunks(SYNC_BATCH) {
            batch.clear();
            batch.extend(chunk.iter().map(|&i| {
                let i = u64::from(i);
                (present_key(i), value_for(i))
            }));
            system.write_synced_batch(&batch)?;
        }
        Ok(())
    })
}

/// `readrandom`: `reads` gets of present keys drawn uniformly from `0..n`.
/// Every get must find its key; every 64th value is compared.
pub fn read_random(system: &mut dyn System, n: u64, reads: u64) -> BenchResult<Measurement> {
    let mut rng = SplitMix64::new(READ_SEED);
    let mut wrong_values = 0u64;
    let measurement = timed(reads, || {
        for r in 0..reads {
            let i = rng.below(n);
            let check = r.is_multiple_of(CHECK_EVERY);
            let found = system.get(&present_key(i), &mut |value| {
                if check && value != value_for(i) {
                    wrong_values += 1;
                }
            })?;
            if !found {
                return Err(format!("readrandom: key {i} is missing").into());
            }
        }
        Ok(())
    })?;
    if wrong_values > 0 {
        return Err(format!("readrandom: {wrong_values} sampled values were wrong").into());
    }
    Ok(measurement)
}

/// `readmissing`: `reads` gets of absent keys interleaved with the present
/// ones; every get must find nothing.
pub fn read_missing(system: &mut dyn System, n: u64, reads: u64) -> BenchResult<Measurement> {
    let mut rng = SplitMix64::new(READ_SEED ^ 1);
    timed(reads, || {
        for _ in 0..reads {
            let i = rng.below(n);
            if system.get(&missing_key(i), &mut |_| {})? {
                return Err(format!("readmissing: absent key {i} was found").into());
            }
        }
        Ok(())
    })
}

/// `scan`: one full ordered scan. It must yield exactly the `n` keys, in
/// strictly ascending order; every 64th entry is compared with the expected
/// key and value.
pub fn scan(system: &mut dyn System, n: u64) -> BenchResult<Measurement> {
    let mut count = 0u64;
    let mut previous: Option<Key> = None;
    let mut problems: Vec<String> = Vec::new();
    let mut measurement = timed(n, || {
        system.scan(&mut |key, value| {
            match Key::try_from(key) {
                Ok(key) => {
                    if previous.is_some_and(|p| p >= key) {
                        problems.push(format!("entry {count} is out of order"));
                    }
                    if count.is_multiple_of(CHECK_EVERY)
                        && (key != present_key(count) || value != value_for(count))
                    {
                        problems.push(format!("entry {count} has the wrong key or value"));
                    }
                    previous = Some(key);
                }
                Err(_) => problems.push(format!("entry {count} has a key of {}", key.len())),
            }
            count += 1;
        })
    })?;
    if let Some(first) = problems.first() {
        return Err(format!("scan: {} problems, first: {first}", problems.len()).into());
    }
    if count != n {
        return Err(format!("scan: read {count} entries, expected {n}").into());
    }
    measurement.ops = count;
    Ok(measurement)
}

/// Untimed check after a fill: `samples` random keys of `0..n` hold their values.
pub fn verify_sample(system: &mut dyn System, n: u64, samples: u64) -> BenchResult<()> {
    let mut rng = SplitMix64::new(READ_SEED ^ 2);
    for _ in 0..samples {
        let i = rng.below(n);
        let mut right = false;
        let found = system.get(&present_key(i), &mut |value| right = value == value_for(i))?;
        if !found || !right {
            return Err(format!("after the fill, key {i} is missing or wrong").into());
        }
    }
    Ok(())
}
