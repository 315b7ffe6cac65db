//! [`Recorder`]: the history as it happens — client invocations and completions, and the
//! nemesis's fault windows — stamped with microseconds since the run began.
//!
//! Events are appended under one lock that also reads the clock, so list order and time order
//! agree (the checker's real-time edges rely on it). A completion of kind `info` rewrites its
//! invocation's micro-ops to the ones *attempted*: a bank transfer computes its write values
//! from its reads, and an indeterminate transaction's writes must be known to the checker.
//!
//! In `history.jsonl` the fault windows appear as Jepsen's nemesis operations, which the
//! checker skips:
//!
//! ```text
//! {"process":"nemesis","type":"info","f":"start","value":"crash","time":412003}
//! {"process":"nemesis","type":"info","f":"stop","value":"crash","time":515870}
//! ```

use std::sync::Mutex;
use std::time::Instant;

use serde_json::json;

use crate::history::{Event, EventType, MicroOp, ProcessId};
use crate::json;

/// A fault the nemesis injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Abandon every session and transaction, then reopen the database directory.
    Crash,
    /// Stall every client between statements.
    Pause,
    /// Delay every COMMIT, as a slow fsync would.
    SlowDisk,
}

impl Fault {
    /// The name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Crash => "crash",
            Fault::Pause => "pause",
            Fault::SlowDisk => "slow-disk",
        }
    }
}

/// A fault, from when it began to when it was healed (microseconds since the start).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FaultWindow {
    /// Which fault.
    pub fault: Fault,
    /// When it began.
    pub start: i64,
    /// When it was healed.
    pub end: i64,
}

#[derive(Default)]
struct Log {
    events: Vec<Event>,
    windows: Vec<FaultWindow>,
    /// Faults begun and not yet healed: (fault, start).
    open: Vec<(Fault, i64)>,
}

/// Collects a run's history.
pub struct Recorder {
    start: Instant,
    log: Mutex<Log>,
}

impl Recorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Self {
        Recorder {
            start: Instant::now(),
            log: Mutex::new(Log::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> i64 {
        self.start.elapsed().as_micros() as i64
    }

    /// Microseconds since the start.
    pub fn elapsed_micros(&self) -> i64 {
        self.now()
    }

    /// Records an invocation; returns its position for [`Recorder::complete`].
    pub fn invoke(&self, process: ProcessId, txn: Vec<MicroOp>) -> usize {
        let mut log = self.lock();
        let time = self.now();
        log.events.push(Event {
            process,
            kind: EventType::Invoke,
            txn,
            time: Some(time),
        });
        log.events.len() - 1
    }

    /// Records the completion of the invocation at `invocation`. For `info`, `txn` is what was
    /// attempted and replaces the invocation's micro-ops.
    pub fn complete(&self, invocation: usize, kind: EventType, txn: Vec<MicroOp>) {
        let mut log = self.lock();
        let time = self.now();
        let Some(invoke) = log.events.get_mut(invocation) else {
            return;
        };
        let process = invoke.process;
        let completion = if kind == EventType::Info {
            invoke.txn = txn;
            Vec::new()
        } else {
            txn
        };
        log.events.push(Event {
            process,
            kind,
            txn: completion,
            time: Some(time),
        });
    }

    /// Marks the start of a fault.
    pub fn fault_started(&self, fault: Fault) {
        let mut log = self.lock();
        let time = self.now();
        log.open.push((fault, time));
    }

    /// Marks the end of the oldest open window of `fault`.
    pub fn fault_healed(&self, fault: Fault) {
        let mut log = self.lock();
        let time = self.now();
        if let Some(i) = log.open.iter().position(|(f, _)| *f == fault) {
            let (_, start) = log.open.remove(i);
            log.windows.push(FaultWindow {
                fault,
                start,
                end: time,
            });
        }
    }

    /// Counts of completions so far: (ok, fail, info).
    pub fn counts(&self) -> (u64, u64, u64) {
        let log = self.lock();
        let mut counts = (0, 0, 0);
        for e in &log.events {
            match e.kind {
                EventType::Ok => counts.0 += 1,
                EventType::Fail => counts.1 += 1,
                EventType::Info => counts.2 += 1,
                EventType::Invoke => {}
            }
        }
        counts
    }

    /// The name of the fault active now, if any.
    pub fn active_fault(&self) -> Option<Fault> {
        self.lock().open.first().map(|(f, _)| *f)
    }

    /// The events and fault windows recorded (windows still open are closed now).
    pub fn finish(&self) -> (Vec<Event>, Vec<FaultWindow>) {
        let mut log = self.lock();
        let time = self.now();
        let open = std::mem::take(&mut log.open);
        for (fault, start) in open {
            log.windows.push(FaultWindow {
                fault,
                start,
                end: time,
            });
        }
        log.windows.sort_by_key(|w| w.start);
        (log.events.clone(), log.windows.clone())
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

/// The history as JSON lines: client events in the checker's format, with the fault windows
/// interleaved as nemesis operations (`"process":"nemesis"`, skipped by the checker).
pub fn history_jsonl(events: &[Event], windows: &[FaultWindow]) -> String {
    let mut nemesis: Vec<(i64, String)> = Vec::new();
    for w in windows {
        for (f, time) in [("start", w.start), ("stop", w.end)] {
            let line = json!({"process": "nemesis", "type": "info", "f": f,
                              "value": w.fault.name(), "time": time});
            nemesis.push((time, line.to_string()));
        }
    }
    nemesis.sort_by_key(|(t, _)| *t);
    let mut out = String::new();
    let mut pending = nemesis.into_iter().peekable();
    for event in events {
        let time = event.time.unwrap_or(0);
        while let Some((_, line)) = pending.next_if(|(t, _)| *t <= time) {
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str(&json::write_events(std::slice::from_ref(event)));
    }
    for (_, line) in pending {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::History;

    #[test]
    fn info_completion_records_the_attempted_writes_on_the_invocation() {
        let recorder = Recorder::new();
        let a = recorder.invoke(0, vec![MicroOp::read(1, None), MicroOp::write(1, 0)]);
        let b = recorder.invoke(1, vec![MicroOp::write(2, 5)]);
        recorder.complete(b, EventType::Ok, vec![MicroOp::write(2, 5)]);
        recorder.complete(
            a,
            EventType::Info,
            vec![MicroOp::read(1, None), MicroOp::write(1, 7)],
        );
        let (events, _) = recorder.finish();
        let history = History::from_events(&events, "t").expect("pairs");
        assert_eq!(history.txns[0].outcome, crate::history::Outcome::Info);
        assert_eq!(history.txns[0].ops[1], MicroOp::write(1, 7));
        assert!(events.windows(2).all(|w| w[0].time <= w[1].time));
    }

    #[test]
    fn nemesis_lines_are_interleaved_and_skipped_by_the_parser() {
        let recorder = Recorder::new();
        let tick = || std::thread::sleep(std::time::Duration::from_millis(2));
        recorder.fault_started(Fault::Crash);
        tick();
        let a = recorder.invoke(0, vec![MicroOp::append(1, 1)]);
        tick();
        recorder.fault_healed(Fault::Crash);
        tick();
        recorder.complete(a, EventType::Ok, vec![MicroOp::append(1, 1)]);
        let (events, windows) = recorder.finish();
        assert_eq!(windows.len(), 1);
        let text = history_jsonl(&events, &windows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].contains("\"nemesis\"") && lines[0].contains("\"start\""));
        assert!(lines[2].contains("\"stop\""));
        let parsed = json::parse_events(&text, "h").expect("nemesis lines are skipped");
        assert_eq!(parsed, events);
    }
}
