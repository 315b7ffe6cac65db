//! `check_database`: verifies every file of a database without opening it
//! (nothing is written, created or deleted; the `LOCK` is taken only if the
//! file exists, so an open database is refused rather than read mid-write).
//!
//! What it checks, and reports as *damage* when it fails:
//!
//! ```text
//!   CURRENT        names a manifest
//!   MANIFEST-n     every record's checksum, every edit decodes and applies;
//!                  a torn last record is a warning, or damage when the state
//!                  without it misses files it needs
//!   live tables    present; the file the manifest names (size, entries, keys);
//!                  footer, index, filter; every data block's checksum; keys in
//!                  strictly increasing order, within their block's bounds and
//!                  the table's recorded range; the entry count
//!   levels 1..     tables sorted and not overlapping
//!   logs           every log recovery needs is present and holds what the
//!                  manifest recorded as durable; every record's checksum
//! ```
//!
//! Files the manifest does not name (tables left by an interrupted flush,
//! logs kept by a point-in-time recovery, foreign files) are listed as notes.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::storage::files::{DirLock, FileKind, manifest_file_name, parse_file_name, table_path};
use crate::storage::key::{compare_internal_keys, user_key};
use crate::storage::log_replay::plan_replay;
use crate::storage::manifest::{FileMeta, ManifestState, load_manifest_with_tail, read_current};
use crate::storage::open_checks::{
    KEPT_TABLE_SUFFIX, TORN_MANIFEST_SUFFIX, check_torn_manifest, missing_needed_files,
    unnamed_tables,
};
use crate::storage::options::LogRecovery;
use crate::storage::sstable::BlockCache;
use crate::storage::sstable::block::BlockIterator;
use crate::storage::table_identity::open_live_table;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Data is damaged or missing: opening would fail or lose it.
    Damage,
    /// Worth knowing, but nothing is lost (a torn manifest tail whose state is
    /// whole, a file the database does not need).
    Warning,
    /// A file that was checked and is sound.
    Ok,
}

/// One line of a check report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How serious it is.
    pub severity: Severity,
    /// The file it is about.
    pub path: PathBuf,
    /// What was found.
    pub what: String,
}

/// The result of [`check_database`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Every finding, in the order checked.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// True when nothing is damaged.
    pub fn is_healthy(&self) -> bool {
        self.damage().next().is_none()
    }

    /// The findings that are damage.
    pub fn damage(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Damage)
    }

    /// The report as text, one finding a line, then a verdict.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for finding in &self.findings {
            let label = match finding.severity {
                Severity::Damage => "DAMAGE ",
                Severity::Warning => "warning",
                Severity::Ok => "ok     ",
            };
            let name = finding.path.file_name().map_or_else(
                || finding.path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            let _ = writeln!(text, "{label} {name}: {}", finding.what);
        }
        let damaged = self.damage().count();
        if damaged == 0 {
            text.push_str("no damage found\n");
        } else {
            let _ = writeln!(
                text,
                "{damaged} problem{} found; `isodb recover PATH --to NEW` copies every readable row \
                 into a new database",
                if damaged == 1 { "" } else { "s" }
            );
        }
        text
    }

    fn push(&mut self, severity: Severity, path: impl Into<PathBuf>, what: impl Into<String>) {
        self.findings.push(Finding {
            severity,
            path: path.into(),
            what: what.into(),
        });
    }

    fn push_error(&mut self, error: &Error, fallback_path: &Path) {
        match error {
            Error::Corruption {
                path,
                offset,
                reason,
            } => self.push(
                Severity::Damage,
                path,
                format!("at offset {offset}: {reason}"),
            ),
            other => self.push(Severity::Damage, fallback_path, other.to_string()),
        }
    }
}

/// Checks the database in `dir` (see the module docs). An error means it
/// could not be checked at all: not a database, or open in another process.
pub fn check_database(dir: &Path) -> Result<CheckReport> {
    if !dir.is_dir() {
        return Err(Error::NotADatabase {
            path: dir.to_path_buf(),
            reason: "it is not a directory".into(),
        });
    }
    let _lock = DirLock::acquire_existing(dir)?;
    let mut report = CheckReport::default();
    let manifest_number = match read_current(dir) {
        Ok(Some(number)) => number,
        Ok(None) => {
            return Err(Error::NotADatabase {
                path: dir.to_path_buf(),
                reason: "it has no CURRENT file".into(),
            });
        }
        Err(error) => {
            report.push_error(&error, &dir.join("CURRENT"));
            return Ok(report);
        }
    };
    let manifest_path = dir.join(manifest_file_name(manifest_number));
    let state = match load_manifest_with_tail(dir, manifest_number) {
        Ok((state, torn_at)) => {
            if let Some(torn_at) = torn_at {
                match check_torn_manifest(dir, manifest_number, torn_at, &state) {
                    Ok(()) => report.push(
                        Severity::Warning,
                        &manifest_path,
                        format!(
                            "ends in a torn record at offset {torn_at} (a crash while appending \
                             it, or damage); the state before it is whole"
                        ),
                    ),
                    Err(error) => report.push_error(&error, &manifest_path),
                }
            } else {
                report.push(Severity::Ok, &manifest_path, "every edit is intact");
            }
            state
        }
        Err(error) => {
            report.push_error(&error, &manifest_path);
            return Ok(report);
        }
    };
    for missing in missing_needed_files(dir, &state) {
        report.push(
            Severity::Damage,
            &missing,
            format!(
                "missing, but {} needs it",
                manifest_file_name(manifest_number)
            ),
        );
    }
    check_tables(dir, manifest_number, &state, &mut report);
    check_levels(dir, &state, &mut report);
    match plan_replay(dir, manifest_number, &state, LogRecovery::Strict) {
        Ok(plan) => {
            for log in plan.logs {
                report.push(
                    Severity::Ok,
                    &log.path,
                    format!("{} records, all durable ones present", log.replay_records),
                );
            }
        }
        Err(error) => report.push_error(&error, dir),
    }
    note_other_files(dir, manifest_number, &state, &mut report);
    Ok(report)
}

/// Every live table: identity, structure, blocks, key order.
fn check_tables(dir: &Path, manifest_number: u64, state: &ManifestState, report: &mut CheckReport) {
    let cache = Arc::new(BlockCache::new(1 << 20));
    for (level, meta) in state.live_files() {
        let path = table_path(dir, meta.number);
        if !path.exists() {
            continue; // reported as missing
        }
        let table = match open_live_table(dir, manifest_number, level as usize, meta, &cache) {
            Ok(table) => table,
            Err(error) => {
                report.push_error(&error, &path);
                continue;
            }
        };
        let mut previous: Option<Vec<u8>> = None;
        let mut entries = 0u64;
        let mut damaged = false;
        for (block_index, block) in table.blocks() {
            let block = match block {
                Ok(block) => block,
                Err(error) => {
                    report.push_error(&error, &path);
                    damaged = true;
                    continue;
                }
            };
            let (lower, upper) = table.block_bounds(block_index);
            let offset = table.block_offset(block_index);
            let mut problem = None;
            let mut cursor = BlockIterator::new(block);
            cursor.seek_to_first();
            while cursor.is_valid() {
                let key = cursor.key();
                entries += 1;
                if let Some(previous) = &previous
                    && compare_internal_keys(previous, key) != Ordering::Less
                {
                    problem = Some("keys are out of order");
                    break;
                }
                if compare_internal_keys(key, upper) == Ordering::Greater
                    || (block_index > 0 && compare_internal_keys(key, lower) != Ordering::Greater)
                {
                    problem = Some("a key lies outside the block's index bounds");
                    break;
                }
                previous = Some(key.to_vec());
                cursor.next();
            }
            if let Some(problem) = problem {
                report.push(
                    Severity::Damage,
                    &path,
                    format!("data block {block_index} at offset {offset}: {problem}"),
                );
                damaged = true;
            }
        }
        if damaged {
            continue;
        }
        let first_and_last_match = previous.as_deref() == Some(table.largest());
        if entries != table.entries() || !first_and_last_match {
            report.push(
                Severity::Damage,
                &path,
                format!(
                    "holds {entries} entries ending at another key than its footer and properties \
                     record ({} entries)",
                    table.entries()
                ),
            );
            continue;
        }
        report.push(
            Severity::Ok,
            &path,
            format!(
                "level {level}, {} blocks, {entries} entries, keys in order",
                table.num_blocks()
            ),
        );
    }
}

/// Levels 1 and deeper: tables sorted by key and disjoint.
fn check_levels(dir: &Path, state: &ManifestState, report: &mut CheckReport) {
    for (level, files) in state.files.iter().enumerate().skip(1) {
        let mut sorted: Vec<&FileMeta> = files.iter().collect();
        sorted.sort_by(|a, b| compare_internal_keys(&a.smallest, &b.smallest));
        for pair in sorted.windows(2) {
            if user_key(&pair[0].largest) >= user_key(&pair[1].smallest) {
                report.push(
                    Severity::Damage,
                    table_path(dir, pair[1].number),
                    format!(
                        "overlaps {} on level {level}, where tables must be disjoint",
                        table_path(dir, pair[0].number).display()
                    ),
                );
            }
        }
    }
}

/// Files the database does not need, listed for the reader.
fn note_other_files(
    dir: &Path,
    manifest_number: u64,
    state: &ManifestState,
    report: &mut CheckReport,
) {
    for table in unnamed_tables(dir, state) {
        report.push(
            Severity::Warning,
            table,
            "a table file the manifest does not name (left by an interrupted flush or compaction, \
             or named by a lost manifest edit); the database does not read it",
        );
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut others: Vec<(PathBuf, &str)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let note = match parse_file_name(&name) {
            Some(FileKind::Manifest(n)) if n != manifest_number => "an old manifest, not in use",
            Some(FileKind::Temp) => "a temporary file of an interrupted write",
            Some(_) => continue,
            None if name.ends_with(crate::storage::log_replay::LOST_LOG_SUFFIX) => {
                "a log a point-in-time recovery did not fully replay, kept aside"
            }
            None if name.ends_with(KEPT_TABLE_SUFFIX) => {
                "a table file kept aside by an open that found the manifest torn (the lost edit \
                 may have named it); the database does not read it"
            }
            None if name.ends_with(TORN_MANIFEST_SUFFIX) => {
                "a copy of a torn manifest, kept aside by the open that replaced it"
            }
            None => "not a file isodb writes",
        };
        others.push((entry.path(), note));
    }
    others.sort();
    for (path, note) in others {
        report.push(Severity::Warning, path, note);
    }
}
