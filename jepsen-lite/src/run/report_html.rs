//! The run's HTML report: verdict, configuration, throughput and latency over time with the
//! fault windows shaded, the anomalies found, and a drawing of each anomaly's cycle (the
//! checker's own SVG, [`crate::report::svg`]).
//!
//! ```text
//! report.html
//!   ├── verdict: "serializable run satisfies strict-serializable" (or what violated it)
//!   ├── config and counts (ok / fail / info, throughput)
//!   ├── plot: completions per second by outcome      ░ crash ░ pause ░ slow-disk
//!   ├── plot: latency (ms) of every completion, by outcome
//!   └── anomalies: kind, explanation, cycle drawing (at most a few per kind)
//! ```

use std::fmt::Write;

use crate::history::{EventType, History, Outcome};
use crate::report::svg;
use crate::run::RunResult;
use crate::run::plot::{self, Series, Shade};
use crate::run::recorder::Fault;

/// Cycles drawn per anomaly kind.
const DRAWN_PER_KIND: usize = 3;
/// Latency points drawn at most (evenly thinned beyond).
const MAX_POINTS: usize = 4_000;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn outcome_color(kind: EventType) -> &'static str {
    match kind {
        EventType::Ok => "#2e7d32",
        EventType::Fail => "#ef6c00",
        _ => "#6a1b9a",
    }
}

fn fault_color(fault: Fault) -> &'static str {
    match fault {
        Fault::Crash => "#c62828",
        Fault::Pause => "#1565c0",
        Fault::SlowDisk => "#8d6e63",
        Fault::ShardCrash => "#ad1457",
        Fault::Partition => "#00838f",
        Fault::MessageFaults => "#9e9d24",
    }
}

/// Each completion: (completion time in seconds, latency in ms, outcome).
pub fn completions(history: &History) -> Vec<(f64, f64, EventType)> {
    let mut out: Vec<(f64, f64, EventType)> = history
        .txns
        .iter()
        .filter_map(|t| {
            let end = t.end_time?;
            let kind = match t.outcome {
                Outcome::Ok => EventType::Ok,
                Outcome::Fail => EventType::Fail,
                Outcome::Info => EventType::Info,
            };
            Some((end as f64 / 1e6, (end - t.invoke_time) as f64 / 1e3, kind))
        })
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

fn throughput_plot(done: &[(f64, f64, EventType)], x_max: f64, shades: &[Shade]) -> String {
    let buckets = 60usize;
    let width = x_max / buckets as f64;
    let series: Vec<Series> = [EventType::Ok, EventType::Fail, EventType::Info]
        .into_iter()
        .map(|kind| {
            let mut counts = vec![0u64; buckets];
            for (t, _, _) in done.iter().filter(|d| d.2 == kind) {
                let i = ((t / width) as usize).min(buckets - 1);
                counts[i] += 1;
            }
            Series {
                name: format!("{kind:?}").to_lowercase(),
                color: outcome_color(kind),
                points: counts
                    .iter()
                    .enumerate()
                    .map(|(i, c)| ((i as f64 + 0.5) * width, *c as f64 / width))
                    .collect(),
                line: true,
            }
        })
        .collect();
    plot::render(
        "Throughput (completions per second)",
        "txn/s",
        x_max,
        &series,
        shades,
    )
}

fn latency_plot(done: &[(f64, f64, EventType)], x_max: f64, shades: &[Shade]) -> String {
    let stride = done.len().div_ceil(MAX_POINTS).max(1);
    let series: Vec<Series> = [EventType::Ok, EventType::Fail, EventType::Info]
        .into_iter()
        .map(|kind| Series {
            name: format!("{kind:?}").to_lowercase(),
            color: outcome_color(kind),
            points: done
                .iter()
                .step_by(stride)
                .filter(|d| d.2 == kind)
                .map(|d| (d.0, d.1))
                .collect(),
            line: false,
        })
        .collect();
    plot::render("Latency of each transaction", "ms", x_max, &series, shades)
}

/// The whole report as one HTML document.
pub fn render(result: &RunResult) -> String {
    let config = &result.config;
    let x_max = result.elapsed.as_secs_f64();
    let shades: Vec<Shade> = result
        .faults
        .iter()
        .map(|w| Shade {
            label: w.fault.name().to_string(),
            start: w.start as f64 / 1e6,
            end: w.end as f64 / 1e6,
            color: fault_color(w.fault),
        })
        .collect();
    let done = completions(&result.history);
    let mut html = String::new();
    let title = format!(
        "jepsen-lite: {} at {}",
        config.workload.name(),
        config.isolation.name()
    );
    let _ = writeln!(
        html,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title>\n<style>body{{font-family:Helvetica,Arial,sans-serif;margin:2em;max-width:1000px}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left}}.ok{{color:#2e7d32}}.bad{{color:#c62828}}code{{font-size:90%}}</style></head><body>",
        escape(&title)
    );
    let _ = writeln!(html, "<h1>{}</h1>", escape(&title));
    let verdict = result.verdict.word();
    let class = if result.verdict.valid { "ok" } else { "bad" };
    let _ = writeln!(
        html,
        "<p class=\"{class}\"><b>{verdict}</b>: the level promises <b>{}</b>; strongest models satisfied: {}.</p>",
        result.required.name(),
        result
            .report
            .strongest
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let faults: Vec<&str> = config.nemesis.faults.iter().map(|f| f.name()).collect();
    let rows = [
        ("clients", config.clients.to_string()),
        ("duration", format!("{:.2} s", x_max)),
        (
            "keys",
            format!("{} ({:?})", config.keys, config.distribution),
        ),
        (
            "nemesis",
            if faults.is_empty() {
                "none".into()
            } else {
                faults.join(", ")
            },
        ),
        ("fault windows", result.faults.len().to_string()),
        (
            "commits",
            if config.sync_commits {
                "fsynced".into()
            } else {
                "not fsynced".into()
            },
        ),
        (
            "ok / fail / info",
            format!(
                "{} / {} / {}",
                result.counts.ok, result.counts.fail, result.counts.info
            ),
        ),
        (
            "throughput",
            format!("{:.0} committed txn/s", result.throughput()),
        ),
        ("dependency edges", result.report.edges.to_string()),
        (
            "history",
            format!(
                "{} bytes compressed, {} bytes of JSON lines",
                result.recorded.bytes, result.recorded.text_bytes
            ),
        ),
    ];
    html.push_str("<table>\n");
    for (name, value) in rows {
        let _ = writeln!(html, "<tr><th>{name}</th><td>{}</td></tr>", escape(&value));
    }
    html.push_str("</table>\n");
    html.push_str(&throughput_plot(&done, x_max, &shades));
    html.push_str(&latency_plot(&done, x_max, &shades));

    if !result.invariant_violations.is_empty() {
        let _ = writeln!(
            html,
            "<h2>Invariant violations ({})</h2><ul>",
            result.invariant_violations.len()
        );
        for v in result.invariant_violations.iter().take(20) {
            let _ = writeln!(html, "<li>{}</li>", escape(v));
        }
        html.push_str("</ul>\n");
    }
    if !result.unexpected_errors.is_empty() {
        let _ = writeln!(html, "<h2 class=\"bad\">Unexpected errors</h2><ul>");
        for e in &result.unexpected_errors {
            let _ = writeln!(html, "<li><code>{}</code></li>", escape(e));
        }
        html.push_str("</ul>\n");
    }
    let _ = writeln!(html, "<h2>Anomalies</h2>");
    if result.report.anomalies.is_empty() {
        html.push_str("<p>None found.</p>\n");
    }
    for kind in result.report.kinds() {
        let all: Vec<_> = result
            .report
            .anomalies
            .iter()
            .filter(|a| a.kind == kind)
            .collect();
        let allowed = if crate::run::forbids(result.config.isolation, kind) {
            "<span class=\"bad\">forbidden at this level</span>"
        } else {
            "<span class=\"ok\">allowed at this level</span>"
        };
        let _ = writeln!(
            html,
            "<h3>{kind} ({}) — {allowed}</h3><p>{}</p>",
            all.len(),
            escape(kind.meaning())
        );
        for anomaly in all.iter().take(DRAWN_PER_KIND) {
            let _ = writeln!(html, "<p><code>{}</code></p>", escape(&anomaly.explanation));
            if !anomaly.cycle.is_empty() {
                html.push_str(&svg::render(anomaly));
            }
        }
    }
    html.push_str("<p>Files: <a href=\"history.jsonl.zst\">history.jsonl.zst</a>, <a href=\"results.json\">results.json</a>, <a href=\"run.json\">run.json</a>.</p>\n</body></html>\n");
    html
}
