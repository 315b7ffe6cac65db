//! Which write-ahead logs recovery must replay, and whether each still holds
//! everything that was made durable in it.
//!
//! The manifest (format 2) tracks every log recovery needs: a log is added
//! when it is created, a *synced* mark records periodically how much of the
//! live log an fsync had made durable (a lower bound), and a *sealed* mark
//! gives a log's exact extent once it stops growing (at the switch to the
//! next log and at close). Durability is tracked by log number, bytes and
//! record count, never by sequence numbers, so batches written at
//! pre-assigned, non-consecutive sequence numbers change nothing here.
//!
//! ```text
//!   MANIFEST: +log 7 ... synced 7 (40 records, 9 KB) ... +log 9, sealed 7 (95 records, 21 KB)
//!   at open:  000007.log must hold exactly 95 records in 21 KB   (sealed)
//!             000009.log must exist and hold at least what a later mark says
//!   a crash:  000009.log ends in a torn record after its last mark -> cut silently
//!   damage:   000007.log deleted, emptied, cut, or an older copy -> Corruption naming it
//! ```
//!
//! A format-1 manifest tracks no log, but the log its `log_number` names was
//! always created before the manifest named it, so that one must exist.
//!
//! Replay is planned first: every log is read and checked (framing,
//! checksums, batch encoding, the extent the manifest recorded) before any
//! record is applied or any file written, so a refused open changes nothing.
//! With [`LogRecovery::Strict`] (the default) a lost record is
//! [`Error::Corruption`] naming the log. With [`LogRecovery::PointInTime`]
//! replay stops at the first lost or damaged record — later records are not
//! applied, since they may depend on the lost ones — and the
//! [`RecoveryReport`] says what was lost; the logs from that point on are kept
//! beside the database as `NNNNNN.log.lost`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::storage::batch::WriteBatch;
use crate::storage::files::{FileKind, log_path, manifest_file_name, parse_file_name};
use crate::storage::log::LogReader;
use crate::storage::manifest::{ManifestState, TrackedLog};
use crate::storage::options::LogRecovery;

/// The suffix given to logs whose records a point-in-time recovery did not
/// replay.
pub const LOST_LOG_SUFFIX: &str = ".lost";

/// What a point-in-time recovery could not replay from one log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostLogRecords {
    /// The log.
    pub path: PathBuf,
    /// What was wrong with it (missing, shorter than recorded, damaged).
    pub problem: String,
    /// Records replayed from it.
    pub records_replayed: u64,
    /// Records known to be lost from it.
    pub records_lost: u64,
    /// False when more than `records_lost` may be lost (the manifest knew
    /// only a lower bound, or damage hid how many records followed).
    pub exact: bool,
}

/// What an open had to give up or set aside; empty after a normal open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Logs whose records were not (all) replayed, in replay order.
    pub lost_logs: Vec<LostLogRecords>,
    /// Files set aside rather than deleted (lost logs, renamed with
    /// [`LOST_LOG_SUFFIX`]; table files the manifest does not name, kept
    /// because the manifest ended in a torn record).
    pub kept_files: Vec<PathBuf>,
}

impl RecoveryReport {
    /// True when nothing was lost or set aside.
    pub fn is_clean(&self) -> bool {
        self.lost_logs.is_empty() && self.kept_files.is_empty()
    }

    /// Records known to be lost, over every log.
    pub fn records_lost(&self) -> u64 {
        self.lost_logs.iter().map(|l| l.records_lost).sum()
    }

    /// One line per log that lost records, and per file kept aside.
    pub fn summary(&self) -> String {
        let mut text = String::new();
        for lost in &self.lost_logs {
            let _ = writeln!(
                text,
                "{}: {}; {} records replayed, {} lost",
                lost.path.display(),
                lost.problem,
                lost.records_replayed,
                lost.count()
            );
        }
        for kept in &self.kept_files {
            let _ = writeln!(text, "kept aside: {}", kept.display());
        }
        text
    }
}

impl LostLogRecords {
    /// How many records are lost, in words: `12`, `at least 3`, or `an
    /// unknown number of`.
    pub fn count(&self) -> String {
        match (self.exact, self.records_lost) {
            (true, n) => n.to_string(),
            (false, 0) => "an unknown number of".to_string(),
            (false, n) => format!("at least {n}"),
        }
    }
}

/// What the manifest says of one log recovery reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expectation {
    /// Tracked by a format-2 manifest.
    Tracked(TrackedLog),
    /// Named by a format-1 manifest's `log_number`: it must exist.
    MustExist,
    /// Found on disk, not tracked (a log created just before a crash
    /// stopped the manifest edit announcing it; it holds nothing acknowledged).
    Untracked,
}

/// One log of the plan: how many of its records to apply.
#[derive(Debug)]
pub(crate) struct PlannedLog {
    /// Its path.
    pub path: PathBuf,
    /// Records to apply, from the start.
    pub replay_records: u64,
    /// Where a torn tail (cut at recovery) begins, when there is one.
    pub torn_at: Option<u64>,
}

/// The result of checking every log before replaying any.
#[derive(Debug, Default)]
pub(crate) struct ReplayPlan {
    /// The logs to apply, in order.
    pub logs: Vec<PlannedLog>,
    /// What could not be replayed (point-in-time recovery only).
    pub report: RecoveryReport,
    /// Logs to set aside once the new state is durable.
    pub set_aside: Vec<PathBuf>,
}

/// What reading one log found.
struct LogContents {
    /// Complete, well-formed records from the start.
    records: u64,
    /// Bytes those records take.
    bytes: u64,
    /// Where a torn tail begins.
    torn_at: Option<u64>,
    /// A damaged record: its offset and what is wrong.
    damage: Option<(u64, String)>,
    /// The file's length.
    file_len: u64,
}

/// Checks the logs `state` needs (and any later log on disk) and plans
/// their replay; see the module docs for what is refused.
pub(crate) fn plan_replay(
    dir: &Path,
    manifest_number: u64,
    state: &ManifestState,
    mode: LogRecovery,
) -> Result<ReplayPlan> {
    let mut plan = ReplayPlan::default();
    let mut stopped = false;
    for (number, expectation) in needed_logs(dir, state)? {
        let path = log_path(dir, number);
        let contents = if path.exists() {
            Some(read_log(&path)?)
        } else {
            None
        };
        if stopped {
            // Point-in-time recovery stopped at an earlier log: none of this
            // log's records are applied.
            if let Some(found) = contents {
                plan.report.lost_logs.push(LostLogRecords {
                    path: path.clone(),
                    problem: "follows a log whose records were lost".into(),
                    records_replayed: 0,
                    records_lost: found.records,
                    exact: found.damage.is_none(),
                });
                plan.set_aside.push(path);
            }
            continue;
        }
        match judge(&path, manifest_number, expectation, contents.as_ref()) {
            Verdict::Complete { replay_records } => plan.logs.push(PlannedLog {
                path,
                replay_records,
                torn_at: contents.and_then(|c| c.torn_at),
            }),
            Verdict::Lost(lost) => {
                if mode == LogRecovery::Strict {
                    let offset = contents.as_ref().map_or(0, |c| c.bytes);
                    return Err(Error::corruption(&path, offset, strict_message(&lost)));
                }
                stopped = true;
                if lost.records_replayed > 0 {
                    plan.logs.push(PlannedLog {
                        path: path.clone(),
                        replay_records: lost.records_replayed,
                        torn_at: None,
                    });
                }
                if contents.is_some() {
                    plan.set_aside.push(path);
                }
                plan.report.lost_logs.push(lost);
            }
        }
    }
    Ok(plan)
}

/// The logs recovery reads, in order: every tracked log, the one the
/// manifest's `log_number` names, and every later log found on disk.
fn needed_logs(dir: &Path, state: &ManifestState) -> Result<Vec<(u64, Expectation)>> {
    let mut numbers: BTreeSet<u64> = state.logs.keys().copied().collect();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if let Some(FileKind::Log(n)) = entry.file_name().to_str().and_then(parse_file_name)
            && n >= state.log_number
        {
            numbers.insert(n);
        }
    }
    if state.log_number > 0 {
        numbers.insert(state.log_number);
    }
    Ok(numbers
        .into_iter()
        .map(|n| {
            let expectation = match state.logs.get(&n) {
                Some(tracked) => Expectation::Tracked(*tracked),
                None if n == state.log_number => Expectation::MustExist,
                None => Expectation::Untracked,
            };
            (n, expectation)
        })
        .collect())
}

/// Reads a whole log, checking every record's framing and batch encoding.
fn read_log(path: &Path) -> Result<LogContents> {
    let mut reader = LogReader::open(path)?;
    let mut damage = None;
    loop {
        match reader.next_record() {
            Ok(Some((offset, payload))) => {
                if WriteBatch::decode(&payload).is_none() {
                    damage = Some((
                        offset,
                        "log record is not a well-formed write batch".to_string(),
                    ));
                    break;
                }
            }
            Ok(None) => break,
            Err(Error::Corruption { offset, reason, .. }) => {
                damage = Some((offset, reason));
                break;
            }
            Err(other) => return Err(other),
        }
    }
    let mut records = reader.records_read();
    let mut bytes = reader.valid_len();
    if let Some((offset, _)) = &damage {
        // A malformed batch was returned as a record: it does not count.
        if *offset < bytes {
            records -= 1;
            bytes = *offset;
        }
    }
    Ok(LogContents {
        records,
        bytes,
        torn_at: reader.torn_tail(),
        damage,
        file_len: reader.file_len(),
    })
}

enum Verdict {
    /// Apply this many records; nothing durable is missing.
    Complete { replay_records: u64 },
    /// Durable records are missing or damaged.
    Lost(LostLogRecords),
}

/// Compares what a log holds with what the manifest says was made durable.
fn judge(
    path: &Path,
    manifest_number: u64,
    expectation: Expectation,
    contents: Option<&LogContents>,
) -> Verdict {
    let manifest = manifest_file_name(manifest_number);
    let lost = |problem: String, replayed: u64, lost: u64, exact: bool| {
        Verdict::Lost(LostLogRecords {
            path: path.to_path_buf(),
            problem,
            records_replayed: replayed,
            records_lost: lost,
            exact,
        })
    };
    let Some(found) = contents else {
        return match expectation {
            Expectation::Tracked(log) => lost(
                format!(
                    "the log is missing, but {manifest} names it as needed for recovery, with {} \
                     records ({} bytes) made durable in it",
                    log.durable_records, log.durable_bytes
                ),
                0,
                log.durable_records,
                log.sealed,
            ),
            Expectation::MustExist => lost(
                format!(
                    "the log is missing, but {manifest} names it as the oldest log recovery needs"
                ),
                0,
                0,
                false,
            ),
            Expectation::Untracked => Verdict::Complete { replay_records: 0 },
        };
    };
    let (durable_records, durable_bytes, sealed) = match expectation {
        Expectation::Tracked(log) => (log.durable_records, log.durable_bytes, log.sealed),
        Expectation::MustExist | Expectation::Untracked => (0, 0, false),
    };
    if let Some((offset, reason)) = &found.damage {
        let missing = durable_records.saturating_sub(found.records);
        return lost(
            format!("damaged record at offset {offset}: {reason}"),
            found.records,
            missing,
            false,
        );
    }
    if found.records < durable_records || found.bytes < durable_bytes {
        let how = if sealed { "" } else { "at least " };
        return lost(
            format!(
                "the log ends after {} records ({} bytes), but {how}{durable_records} records \
                 ({durable_bytes} bytes) were made durable in it, as {manifest} records",
                found.records, found.bytes
            ),
            found.records,
            durable_records - found.records.min(durable_records),
            sealed,
        );
    }
    if sealed && (found.records > durable_records || found.file_len > durable_bytes) {
        // A sealed log never grows: this is not the file that was sealed.
        return lost(
            format!(
                "the log holds {} bytes ({} records), but it was sealed at {durable_records} \
                 records ({durable_bytes} bytes), as {manifest} records: it is not the log \
                 that was written",
                found.file_len, found.records
            ),
            0,
            durable_records,
            true,
        );
    }
    Verdict::Complete {
        replay_records: found.records,
    }
}

/// The error text of a strict open: what is lost, and what to do.
fn strict_message(lost: &LostLogRecords) -> String {
    format!(
        "{}: {} committed records are lost. Nothing was changed. To open the \
         database with what the logs still hold, losing those records, open it with \
         point-in-time log recovery (`isodb PATH --accept-log-loss`, or \
         StoreOptions::log_recovery = LogRecovery::PointInTime)",
        lost.problem,
        lost.count()
    )
}

/// Renames the logs a point-in-time recovery did not fully replay to
/// `NNNNNN.log.lost`, once the recovered state is durable; returns the new
/// paths. A log that cannot be renamed is left where it is (the next open
/// deletes it as an old log), and is not listed.
pub(crate) fn set_aside(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut kept = Vec::new();
    for path in paths {
        let mut name = path.as_os_str().to_owned();
        name.push(LOST_LOG_SUFFIX);
        let target = PathBuf::from(name);
        if std::fs::rename(path, &target).is_ok() {
            kept.push(target);
        }
    }
    kept
}
