//! Checker throughput on serial list-append histories of 10k, 100k and 1M transactions.
//!
//! Run with `cargo bench -p jepsen-lite`. Prints, per size, the time to check (generation is not
//! timed), the growth factor against the previous size, and the process's peak memory. Pass
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

fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![10_000, 100_000, 1_000_000];
    }
    println!(
        "{:>10} {:>12} {:>10} {:>8} {:>14}",
        "txns", "check (s)", "edges", "growth", "peak mem (MiB)"
    );
    let mut previous: Option<(usize, f64)> = None;
    for size in sizes {
        let history = serial_history(&SerialWorkload::list_append(size, 42))
            .build()
            .expect("synthetic history pairs");
        let start = Instant::now();
        let report = check(&history);
        let seconds = start.elapsed().as_secs_f64();
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
            "{size:>10} {seconds:>12.3} {:>10} {growth:>8} {memory:>14}",
            report.edges
        );
        previous = Some((size, seconds));
        drop(history);
    }
}
