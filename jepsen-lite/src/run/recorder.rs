//! [`Recorder`]: the history as it happens — client invocations and completions, and the
//! nemesis's fault windows — stamped with microseconds since the run began and streamed to
//! disk as compact, zstd-compressed JSON lines.
//!
//! ```text
//! client ──invoke──▶ ┐                                         history.jsonl.zst
//! client ──ok/fail/info──▶ lock: clock + one line ──▶ zstd ──▶ {"type":"invoke","process":0,...}
//! nemesis ──start/stop──▶ ┘                                    {"type":"info","process":"nemesis",...}
//! ```
//!
//! Each line is written under one lock that also reads the clock, so line order and time
//! order agree (the checker's real-time edges rely on it). Nothing of a transaction is kept
//! once its line is written: memory holds one line buffer, the process of each transaction in
//! flight and the fault windows, so it is bounded by the run's concurrency, not its length.
//! An `info` completion carries the micro-ops *attempted* (a bank transfer computes its write
//! values from its reads, and an indeterminate transaction's writes must be known to the
//! checker), as Jepsen records it. Fault windows appear as Jepsen's nemesis operations, which
//! the checker skips:
//!
//! ```text
//! {"type":"info","process":"nemesis","f":"start","value":"crash","time":412003}
//! {"type":"info","process":"nemesis","f":"stop","value":"crash","time":515870}
//! ```
//!
//! Lines use the array micro-ops of Elle's JSON (`["append",1,2]`, `["r",1,[1,2]]`); the
//! compression (zstd, level 1) takes a list-append history, whose reads repeat ever longer
//! lists, to a few percent of its text. `zstd -d` gives the plain JSON lines back.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::json;

use crate::history::{EventType, MicroOp, ProcessId};
use crate::json;

/// The history file's name in a run folder.
pub const HISTORY_FILE: &str = "history.jsonl.zst";

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
    /// Crash one shard (of a database with several), then restart it.
    ShardCrash,
    /// Cut one shard off from the commit protocol's messages, then reconnect it.
    Partition,
    /// Drop, duplicate, delay and reorder the commit protocol's messages.
    MessageFaults,
}

impl Fault {
    /// Whether the fault needs a database of several shards.
    pub fn needs_shards(self) -> bool {
        matches!(self, Fault::Partition | Fault::MessageFaults)
    }
}

impl Fault {
    /// The name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Crash => "crash",
            Fault::Pause => "pause",
            Fault::SlowDisk => "slow-disk",
            Fault::ShardCrash => "shard-crash",
            Fault::Partition => "partition",
            Fault::MessageFaults => "message-faults",
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

/// What a finished recording left on disk.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RecordedHistory {
    /// The history file.
    pub path: PathBuf,
    /// Its size on disk (compressed), in bytes.
    pub bytes: u64,
    /// The size of its JSON lines once decompressed, in bytes.
    pub text_bytes: u64,
    /// Lines written (client events and nemesis operations).
    pub lines: u64,
}

struct Log {
    out: Option<zstd::stream::write::Encoder<'static, File>>,
    /// Invocations in flight: their token's process.
    in_flight: HashMap<usize, ProcessId>,
    next_token: usize,
    line: String,
    text_bytes: u64,
    lines: u64,
    counts: (u64, u64, u64),
    windows: Vec<FaultWindow>,
    /// Faults begun and not yet healed: (fault, start).
    open: Vec<(Fault, i64)>,
    error: Option<std::io::Error>,
}

impl Log {
    /// Writes the line in `self.line`, keeping the first error.
    fn flush_line(&mut self) {
        self.text_bytes += self.line.len() as u64;
        self.lines += 1;
        if let Some(out) = self.out.as_mut()
            && let Err(e) = out.write_all(self.line.as_bytes())
        {
            self.error.get_or_insert(e);
            self.out = None;
        }
        self.line.clear();
    }

    fn nemesis_line(&mut self, f: &str, fault: Fault, time: i64) {
        let line = json!({"type": "info", "process": "nemesis", "f": f,
                          "value": fault.name(), "time": time});
        self.line.push_str(&line.to_string());
        self.line.push('\n');
        self.flush_line();
    }
}

/// Records a run's history into a file.
pub struct Recorder {
    start: Instant,
    path: PathBuf,
    log: Mutex<Log>,
}

impl Recorder {
    /// A recorder writing to `path` (created or truncated), whose clock starts now.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let file = File::create(path)?;
        let out = zstd::stream::write::Encoder::new(file, 1)?;
        Ok(Recorder {
            start: Instant::now(),
            path: path.to_path_buf(),
            log: Mutex::new(Log {
                out: Some(out),
                in_flight: HashMap::new(),
                next_token: 0,
                line: String::with_capacity(256),
                text_bytes: 0,
                lines: 0,
                counts: (0, 0, 0),
                windows: Vec::new(),
                open: Vec::new(),
                error: None,
            }),
        })
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

    /// Records an invocation; returns its token for [`Recorder::complete`].
    pub fn invoke(&self, process: ProcessId, txn: &[MicroOp]) -> usize {
        let mut log = self.lock();
        let time = self.now();
        let token = log.next_token;
        log.next_token += 1;
        log.in_flight.insert(token, process);
        let log = &mut *log;
        json::write_line(&mut log.line, process, EventType::Invoke, time, txn, false);
        log.flush_line();
        token
    }

    /// Records the completion of the invocation `token`. For `info`, `txn` is what was
    /// attempted.
    pub fn complete(&self, token: usize, kind: EventType, txn: &[MicroOp]) {
        let mut log = self.lock();
        let time = self.now();
        let Some(process) = log.in_flight.remove(&token) else {
            return;
        };
        match kind {
            EventType::Ok => log.counts.0 += 1,
            EventType::Fail => log.counts.1 += 1,
            EventType::Info => log.counts.2 += 1,
            EventType::Invoke => {}
        }
        let log = &mut *log;
        json::write_line(
            &mut log.line,
            process,
            kind,
            time,
            txn,
            kind != EventType::Info,
        );
        log.flush_line();
    }

    /// Marks the start of a fault.
    pub fn fault_started(&self, fault: Fault) {
        let mut log = self.lock();
        let time = self.now();
        log.open.push((fault, time));
        log.nemesis_line("start", fault, time);
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
            log.nemesis_line("stop", fault, time);
        }
    }

    /// Counts of completions so far: (ok, fail, info).
    pub fn counts(&self) -> (u64, u64, u64) {
        self.lock().counts
    }

    /// Bytes of state the recorder keeps besides the compressor's fixed buffers: one entry per
    /// transaction in flight, the line buffer and the fault windows. It does not grow with the
    /// number of transactions recorded.
    pub fn retained_bytes(&self) -> usize {
        let log = self.lock();
        log.in_flight.capacity() * (std::mem::size_of::<(usize, ProcessId)>() + 1)
            + log.line.capacity()
            + (log.windows.capacity() + log.open.capacity()) * std::mem::size_of::<FaultWindow>()
    }

    /// The name of the fault active now, if any.
    pub fn active_fault(&self) -> Option<Fault> {
        self.lock().open.first().map(|(f, _)| *f)
    }

    /// Closes the file (windows still open are closed now) and returns what was recorded.
    pub fn finish(self) -> std::io::Result<(RecordedHistory, Vec<FaultWindow>)> {
        let time = self.now();
        let mut log = self.log.into_inner().unwrap_or_else(|p| p.into_inner());
        for (fault, start) in std::mem::take(&mut log.open) {
            log.windows.push(FaultWindow {
                fault,
                start,
                end: time,
            });
            log.nemesis_line("stop", fault, time);
        }
        if let Some(e) = log.error.take() {
            return Err(e);
        }
        if let Some(out) = log.out.take() {
            out.finish()?.sync_all()?;
        }
        log.windows.sort_by_key(|w| w.start);
        let bytes = std::fs::metadata(&self.path)?.len();
        Ok((
            RecordedHistory {
                path: self.path,
                bytes,
                text_bytes: log.text_bytes,
                lines: log.lines,
            },
            log.windows,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Outcome;
    use crate::load;

    #[test]
    fn info_completions_carry_the_attempted_writes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let recorder = Recorder::create(&dir.path().join(HISTORY_FILE)).expect("create");
        let a = recorder.invoke(0, &[MicroOp::read(1, None), MicroOp::write(1, 0)]);
        let b = recorder.invoke(1, &[MicroOp::write(2, 5)]);
        recorder.complete(b, EventType::Ok, &[MicroOp::write(2, 5)]);
        recorder.complete(
            a,
            EventType::Info,
            &[MicroOp::read(1, None), MicroOp::write(1, 7)],
        );
        assert_eq!(recorder.counts(), (1, 0, 1));
        let (recorded, _) = recorder.finish().expect("finish");
        assert_eq!(recorded.lines, 4);
        assert!(recorded.bytes > 0 && recorded.text_bytes > recorded.bytes / 2);
        let history = load::history_file(&recorded.path).expect("reads back");
        assert_eq!(history.txns[0].outcome, Outcome::Info);
        assert_eq!(history.txns[0].ops[1], MicroOp::write(1, 7));
        assert!(history.txns[1].invoke_time <= history.txns[1].complete_time.unwrap_or(0));
    }

    #[test]
    fn memory_is_bounded_by_the_transactions_in_flight_not_by_the_history() {
        let dir = tempfile::tempdir().expect("temp dir");
        let recorder = Recorder::create(&dir.path().join(HISTORY_FILE)).expect("create");
        let mut after_warm_up = 0;
        for i in 0..200_000i64 {
            let process = (i % 4) as u64;
            let read = MicroOp::read_list(process as i64, &(0..i % 50).collect::<Vec<_>>());
            let token =
                recorder.invoke(process, &[MicroOp::append(process as i64, i), read.clone()]);
            recorder.complete(
                token,
                EventType::Ok,
                &[MicroOp::append(process as i64, i), read],
            );
            if i == 1_000 {
                after_warm_up = recorder.retained_bytes();
            }
        }
        assert_eq!(recorder.retained_bytes(), after_warm_up);
        assert!(after_warm_up < 4_096, "{after_warm_up} bytes retained");
        let (recorded, _) = recorder.finish().expect("finish");
        assert_eq!(recorded.lines, 400_000);
    }

    #[test]
    fn nemesis_lines_are_written_in_time_order_and_skipped_by_the_checker() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(HISTORY_FILE);
        let recorder = Recorder::create(&path).expect("create");
        let tick = || std::thread::sleep(std::time::Duration::from_millis(2));
        recorder.fault_started(Fault::Crash);
        tick();
        let a = recorder.invoke(0, &[MicroOp::append(1, 1)]);
        tick();
        recorder.fault_healed(Fault::Crash);
        tick();
        recorder.complete(a, EventType::Ok, &[MicroOp::append(1, 1)]);
        recorder.fault_started(Fault::Pause);
        let (_, windows) = recorder.finish().expect("finish");
        assert_eq!(windows.len(), 2, "the open pause is closed at the end");
        let text =
            String::from_utf8(zstd::decode_all(File::open(&path).expect("open")).expect("zstd"))
                .expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6);
        assert!(lines[0].contains("\"nemesis\"") && lines[0].contains("\"start\""));
        assert!(lines[2].contains("\"stop\""));
        let history = load::history_file(&path).expect("nemesis lines are skipped");
        assert_eq!(history.txns.len(), 1);
        assert_eq!(history.txns[0].ops, vec![MicroOp::append(1, 1)]);
    }
}
