//! Checker throughput on serial list-append histories of 10k, 100k and 1M transactions.
//!
//! Run with `cargo bench -p jepsen-lite`. Prints, per size, the time to check (generation is not
//! timed) as wall-clock time and as the CPU time the process spent checking (on a shared machine
//! the second is the steadier figure), the growth factor against the previous size, and the
//! process's peak memory. Pass
//! sizes as arguments to override, e.g. `cargo bench -p jepsen-lite -- 10000 100000`.

use std::time::Instant;

use jepsen_lite::checker::check;
use jepsen_lite::synth::{SerialWorkload, serial_history};

fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// User plus system CPU time of this process so far. `getrusage` allocates nothing, so reading
/// the clock does not disturb the allocator state the check starts from.
fn cpu_seconds() -> Option<f64> {
    // SAFETY: `getrusage` only writes the `rusage` it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        (libc::getrusage(libc::RUSAGE_SELF, &mut usage) == 0).then_some(usage)
    }?;
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![10_000, 100_000, 1_000_000];
    }
    println!(
        "{:>10} {:>12} {:>10} {:>10} {:>8} {:>14}",
        "txns", "check (s)", "cpu (s)", "edges", "growth", "peak mem (MiB)"
    );
    let mut previous: Option<(usize, f64)> = None;
    for size in sizes {
        let history = serial_history(&SerialWorkload::list_append(size, 42))
            .build()
            .expect("synthetic history pairs");
        let cpu_start = cpu_seconds();
        let start = Instant::now();
        let report = check(&history);
        let seconds = start.elapsed().as_secs_f64();
        let cpu = cpu_start
            .zip(cpu_seconds())
            .map_or("?".to_string(), |(a, b)| format!("{:.2}", b - a));
        assert!(
            report.anomalies.is_empty(),
            "a serial history must be valid: {:?}",
            report.kinds()
        );
        let growth = previous.map_or("-".to_string(), |(n, t)| {
            format!("{:.1}x/{:.0}x", seconds / t, size as f64 / n as f64)
        });
        let memory = peak_memory_mib().map_or("?".to_string(), |m| format!("{m:.0}"));
        println!(
            "{size:>10} {seconds:>12.3} {cpu:>10} {:>10} {growth:>8} {memory:>14}",
            report.edges
        );
        previous = Some((size, seconds));
        drop(history);
    }
}
