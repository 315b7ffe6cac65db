//! `recover_database`: copies every readable key of a damaged database into
//! a new one, and says what it could not save (as SQLite's `.recover`). The
//! damaged database is only read: nothing in it is written, created or
//! deleted.
//!
//! Which files are read depends on how much of the manifest can be trusted:
//!
//! ```text
//!   manifest intact (or torn, with every file its state needs present):
//!       its live tables, each checked to be the file it names,
//!       and the logs from its oldest needed one on
//!   manifest damaged, or its state misses files:
//!       every table file and every log in the directory
//! ```
//!
//! Every data block of every table is read and verified. A block that fails
//! is not read; the range of user keys it held is *unsaved*: no version of a
//! key in that range is copied from anywhere, since the lost block may have
//! held its newest version or its deletion. A table that cannot be opened,
//! is missing, or is not the file the manifest names leaves the whole key
//! range the manifest recorded for it unsaved (unless another table file in
//! the directory is the one the manifest names: a swapped or renamed table is
//! read from where it is). Logs are read record by
//! record up to the first damaged one; what follows is reported lost.
//!
//! The newest version of every user key over all sources is copied (by
//! sequence number, so the levels do not matter) unless it is a deletion:
//!
//! ```text
//!   000012.sst  block 3 damaged, keys 'k0300'..='k0399'   -> unsaved
//!   000015.sst  k0350#90 = "new"                          -> not copied (in the unsaved range)
//!   000015.sst  k0500#91 = "x", 000012.sst k0500#10 = "y" -> k0500 = "x" copied
//! ```

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::storage::batch::WriteBatch;
use crate::storage::damage::display_key;
use crate::storage::files::{
    DirLock, FileKind, log_path, manifest_file_name, parse_file_name, table_path,
};
use crate::storage::key::{ValueKind, compare_internal_keys, kind_of, user_key};
use crate::storage::log::LogReader;
use crate::storage::manifest::{FileMeta, ManifestState, load_manifest_with_tail, read_current};
use crate::storage::memtable::MemTable;
use crate::storage::merge::Entry;
use crate::storage::open_checks::{KEPT_TABLE_SUFFIX, missing_needed_files};
use crate::storage::options::{Durability, StoreOptions};
use crate::storage::sstable::block::BlockIterator;
use crate::storage::sstable::{BlockCache, Table};
use crate::storage::store::Store;
use crate::storage::table_identity::{check_identity, open_live_table};

/// A range of user keys `recover_database` could not save.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsavedRange {
    /// The file whose damage lost the range.
    pub path: PathBuf,
    /// What was wrong (a damaged block, a missing or foreign table).
    pub problem: String,
    /// The smallest user key of the range.
    pub lower: Vec<u8>,
    /// The largest user key of the range (inclusive).
    pub upper: Vec<u8>,
    /// Live keys in the range that readable blocks or other files held but
    /// were not copied (the lost block may have held newer versions of them).
    pub keys_not_copied: u64,
}

/// What `recover_database` copied and what it could not save.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoverReport {
    /// Live keys copied into the new database.
    pub keys_copied: u64,
    /// Table files read.
    pub tables_read: usize,
    /// Log records read.
    pub log_records_read: u64,
    /// How the files to read were chosen.
    pub notes: Vec<String>,
    /// Key ranges not saved.
    pub unsaved: Vec<UnsavedRange>,
    /// Log records lost (one line per damaged or short log), and whole files
    /// that could not be read and whose key range is unknown.
    pub lost: Vec<String>,
}

impl RecoverReport {
    /// True when every key was saved.
    pub fn is_complete(&self) -> bool {
        self.unsaved.is_empty() && self.lost.is_empty()
    }

    /// The report as text.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for note in &self.notes {
            let _ = writeln!(text, "note: {note}");
        }
        let _ = writeln!(
            text,
            "copied {} keys (read {} table files and {} log records)",
            self.keys_copied, self.tables_read, self.log_records_read
        );
        for range in &self.unsaved {
            let _ = writeln!(
                text,
                "NOT SAVED: user keys {}..={} ({} {}){}",
                display_key(&range.lower),
                display_key(&range.upper),
                range.path.display(),
                range.problem,
                if range.keys_not_copied > 0 {
                    format!(
                        "; {} keys in this range that other blocks or files hold were not copied \
                         either (the lost block may have held newer versions of them)",
                        range.keys_not_copied
                    )
                } else {
                    String::new()
                }
            );
        }
        for lost in &self.lost {
            let _ = writeln!(text, "NOT SAVED: {lost}");
        }
        if self.is_complete() && self.notes.is_empty() {
            text.push_str("every key was saved\n");
        } else if self.is_complete() {
            text.push_str("every key the files that are there hold was saved\n");
        }
        text
    }
}

/// Copies every readable live key of the database in `source` into a new
/// database created at `target` (which must not exist, or be an empty
/// directory: anything else is refused before a file is read or written);
/// see the module docs.
pub fn recover_database(source: &Path, target: &Path) -> Result<RecoverReport> {
    if !source.is_dir() || !looks_like_a_database(source) {
        return Err(Error::NotADatabase {
            path: source.to_path_buf(),
            reason: "it has no CURRENT file and no isodb file".into(),
        });
    }
    let same = match (std::fs::canonicalize(source), std::fs::canonicalize(target)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(Error::InvalidArgument(
            "the new database must be another directory than the damaged one".into(),
        ));
    }
    let target_in_use = match std::fs::read_dir(target) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(_) => true,
    };
    if target_in_use {
        return Err(Error::InvalidArgument(format!(
            "{} already exists: the new database must be a directory that does not exist yet, or \
             an empty one",
            target.display()
        )));
    }
    let _lock = DirLock::acquire_existing(source)?;
    let mut report = RecoverReport::default();
    let cache = Arc::new(BlockCache::new(8 << 20));
    let plan = choose_sources(source, &mut report);

    let mut sources: Vec<Box<dyn Iterator<Item = Result<Entry>>>> = Vec::new();
    for table in &plan.tables {
        let opened = match &table.meta {
            Some((manifest, level, meta)) => {
                open_live_table(source, *manifest, *level, meta, &cache).or_else(|error| {
                    // A table renamed or swapped: its data may be in another file.
                    let found = find_table(source, *manifest, meta, &cache).ok_or(error)?;
                    report.notes.push(format!(
                        "{} is not the table the manifest names; its data was found in {}",
                        table_path(source, meta.number).display(),
                        found.path().display()
                    ));
                    Ok(found)
                })
            }
            None => Table::open(
                table.number,
                table_path(source, table.number),
                Arc::clone(&cache),
            ),
        };
        match opened {
            Ok(opened) => {
                report.tables_read += 1;
                let readable = readable_blocks(&opened, &mut report);
                sources.push(Box::new(TableBlocks::new(Arc::new(opened), readable)));
            }
            Err(error) => match &table.meta {
                Some((_, _, meta)) => report.unsaved.push(UnsavedRange {
                    path: table_path(source, table.number),
                    problem: error_text(&error),
                    lower: user_key(&meta.smallest).to_vec(),
                    upper: user_key(&meta.largest).to_vec(),
                    keys_not_copied: 0,
                }),
                None => report.lost.push(format!(
                    "{}: cannot be read ({}); its key range is unknown",
                    table_path(source, table.number).display(),
                    error_text(&error)
                )),
            },
        }
    }
    let mem = Arc::new(MemTable::new(0));
    for &(number, durable_records) in &plan.logs {
        read_log_into(
            &log_path(source, number),
            durable_records,
            &mem,
            &mut report,
        )?;
    }
    sources.push(Box::new(
        mem.iter(std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
    ));

    let store = Store::open(
        target,
        StoreOptions {
            create_if_missing: true,
            durability: Durability::NoSync,
            ..StoreOptions::default()
        },
    )?;
    copy_newest_versions(sources, &store, &mut report)?;
    store.close()?;
    Ok(report)
}

/// One table to read: its number, and what the manifest says of it (when
/// the manifest is trusted).
struct TableSource {
    number: u64,
    meta: Option<(u64, usize, FileMeta)>,
}

/// The files to read: tables, and logs with the records known durable in
/// each (0 when unknown).
struct SourcePlan {
    tables: Vec<TableSource>,
    logs: Vec<(u64, u64)>,
}

/// True when `dir` holds `CURRENT` or any file isodb writes.
fn looks_like_a_database(dir: &Path) -> bool {
    if dir.join(crate::storage::files::CURRENT_FILE).exists() {
        return true;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        matches!(
            e.file_name().to_str().and_then(parse_file_name),
            Some(FileKind::Table(_) | FileKind::Log(_) | FileKind::Manifest(_))
        )
    })
}

/// Trusts the manifest when it is readable and its state has every file it
/// needs; otherwise reads every table and log on disk.
fn choose_sources(dir: &Path, report: &mut RecoverReport) -> SourcePlan {
    match trusted_state(dir) {
        Ok((manifest, state)) => {
            let tables = state
                .live_files()
                .map(|(level, meta)| TableSource {
                    number: meta.number,
                    meta: Some((manifest, level as usize, meta.clone())),
                })
                .collect();
            let mut logs: Vec<(u64, u64)> = files_of(dir, |kind| match kind {
                FileKind::Log(n) if n >= state.log_number => Some(n),
                _ => None,
            })
            .into_iter()
            .map(|n| (n, state.logs.get(&n).map_or(0, |l| l.durable_records)))
            .collect();
            for (&number, tracked) in &state.logs {
                if !logs.iter().any(|&(n, _)| n == number) && tracked.durable_records > 0 {
                    report.lost.push(format!(
                        "{}: missing, with {} records made durable in it",
                        log_path(dir, number).display(),
                        tracked.durable_records
                    ));
                }
            }
            logs.sort_unstable();
            SourcePlan { tables, logs }
        }
        Err(why) => {
            report.notes.push(format!(
                "{why}; read every table file and log in the directory instead (a table a \
                 compaction had replaced but not yet deleted may bring back old versions)"
            ));
            let tables = files_of(dir, |kind| match kind {
                FileKind::Table(n) => Some(n),
                _ => None,
            })
            .into_iter()
            .map(|number| TableSource { number, meta: None })
            .collect();
            let logs = files_of(dir, |kind| match kind {
                FileKind::Log(n) => Some(n),
                _ => None,
            })
            .into_iter()
            .map(|n| (n, 0))
            .collect();
            SourcePlan { tables, logs }
        }
    }
}

/// The manifest's state, when it can be trusted; otherwise why not.
fn trusted_state(dir: &Path) -> std::result::Result<(u64, ManifestState), String> {
    let number = match read_current(dir) {
        Ok(Some(number)) => number,
        Ok(None) => return Err("CURRENT is missing".into()),
        Err(error) => return Err(format!("CURRENT cannot be read ({})", error_text(&error))),
    };
    let (state, torn) = load_manifest_with_tail(dir, number)
        .map_err(|error| format!("the manifest cannot be read ({})", error_text(&error)))?;
    if let Some(offset) = torn {
        return Err(format!(
            "the manifest ends in a torn record at offset {offset} (it may have lost edits)"
        ));
    }
    let missing = missing_needed_files(dir, &state);
    if !missing.is_empty() {
        return Err(format!(
            "files the manifest needs are missing ({})",
            missing
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok((number, state))
}

/// The table file in `dir` (under any table name, or kept aside) that is the
/// table `meta` describes.
fn find_table(
    dir: &Path,
    manifest: u64,
    meta: &FileMeta,
    cache: &Arc<BlockCache>,
) -> Option<Table> {
    let manifest = manifest_file_name(manifest);
    let entries = std::fs::read_dir(dir).ok()?;
    entries.flatten().find_map(|entry| {
        let name = entry.file_name().to_str()?.to_owned();
        let number = match parse_file_name(name.strip_suffix(KEPT_TABLE_SUFFIX).unwrap_or(&name)) {
            Some(FileKind::Table(n)) => n,
            _ => return None,
        };
        // A fresh number keeps its blocks apart from the same file's in the cache.
        let table = Table::open(u64::MAX - number, entry.path(), Arc::clone(cache)).ok()?;
        check_identity(&table, meta, &manifest).ok()?;
        Some(table)
    })
}

/// File numbers in `dir` that `pick` selects, ascending.
fn files_of(dir: &Path, pick: impl Fn(FileKind) -> Option<u64>) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut numbers: Vec<u64> = entries
        .flatten()
        .filter_map(|e| pick(parse_file_name(e.file_name().to_str()?)?))
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}

fn error_text(error: &Error) -> String {
    match error {
        Error::Corruption { offset, reason, .. } => format!("at offset {offset}: {reason}"),
        other => other.to_string(),
    }
}

/// What is wrong with a damaged block, without the block and key range its
/// error names first (`data block 3 of 9, user keys 'a'..='k': what`).
fn block_damage(error: &Error) -> String {
    match error {
        Error::Corruption { reason, .. } => reason
            .split_once("': ")
            .map_or(reason.as_str(), |(_, what)| what)
            .to_string(),
        other => other.to_string(),
    }
}

/// The data blocks of `table` that read and verify; each damaged one is
/// reported as an unsaved range.
fn readable_blocks(table: &Table, report: &mut RecoverReport) -> Vec<usize> {
    let mut readable = Vec::new();
    for (index, block) in table.blocks() {
        match block {
            Ok(_) => readable.push(index),
            Err(error) => {
                let (lower, upper) = table.block_bounds(index);
                report.unsaved.push(UnsavedRange {
                    path: table.path().to_path_buf(),
                    problem: format!(
                        "data block {index} of {} at offset {}: {}",
                        table.num_blocks(),
                        table.block_offset(index),
                        block_damage(&error)
                    ),
                    lower: user_key(lower).to_vec(),
                    upper: user_key(upper).to_vec(),
                    keys_not_copied: 0,
                });
            }
        }
    }
    readable
}

/// Applies the readable records of one log to `mem`; reports damage and
/// records known durable but missing.
fn read_log_into(
    path: &Path,
    durable_records: u64,
    mem: &MemTable,
    report: &mut RecoverReport,
) -> Result<()> {
    let mut reader = LogReader::open(path)?;
    let mut damage = None;
    loop {
        match reader.next_record() {
            Ok(Some((offset, payload))) => match WriteBatch::decode(&payload) {
                Some((batch, first_seq)) => {
                    mem.apply(&batch, first_seq);
                    report.log_records_read += 1;
                }
                None => {
                    damage = Some((offset, "a record is not a well-formed write batch".into()));
                    break;
                }
            },
            Ok(None) => break,
            Err(Error::Corruption { offset, reason, .. }) => {
                damage = Some((offset, reason));
                break;
            }
            Err(other) => return Err(other),
        }
    }
    let read = reader.records_read()
        - u64::from(
            damage
                .as_ref()
                .is_some_and(|(o, _)| *o < reader.valid_len()),
        );
    if let Some((offset, reason)) = damage {
        report.lost.push(format!(
            "{}: damaged record at offset {offset} ({reason}); the records from there on \
             ({}) are lost",
            path.display(),
            match durable_records.checked_sub(read) {
                Some(n) if n > 0 => format!("at least {n}"),
                _ => "an unknown number".to_string(),
            }
        ));
    } else if read < durable_records {
        report.lost.push(format!(
            "{}: ends after {read} records, but {durable_records} were made durable in it; {} \
             are lost",
            path.display(),
            durable_records - read
        ));
    }
    Ok(())
}

/// The entries of a table's readable data blocks, in order.
struct TableBlocks {
    table: Arc<Table>,
    blocks: std::vec::IntoIter<usize>,
    cursor: Option<BlockIterator>,
}

impl TableBlocks {
    fn new(table: Arc<Table>, blocks: Vec<usize>) -> TableBlocks {
        TableBlocks {
            table,
            blocks: blocks.into_iter(),
            cursor: None,
        }
    }
}

impl Iterator for TableBlocks {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        loop {
            if let Some(cursor) = &mut self.cursor
                && cursor.is_valid()
            {
                let entry = (cursor.key().to_vec(), cursor.value().to_vec());
                cursor.next();
                return Some(Ok(entry));
            }
            let index = self.blocks.next()?;
            match self.table.read_data_block(index) {
                Ok(block) => {
                    let mut cursor = BlockIterator::new(block);
                    cursor.seek_to_first();
                    self.cursor = Some(cursor);
                }
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

/// A source's next entry, ordered so the heap pops the smallest internal key.
struct Head {
    entry: Entry,
    source: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_internal_keys(&other.entry.0, &self.entry.0).then(other.source.cmp(&self.source))
    }
}

/// Merges every source and writes the newest version of each user key
/// outside the unsaved ranges, when it is a value, to `store`.
fn copy_newest_versions(
    mut sources: Vec<Box<dyn Iterator<Item = Result<Entry>>>>,
    store: &Store,
    report: &mut RecoverReport,
) -> Result<()> {
    const BATCH_BYTES: usize = 1 << 20;
    let mut heap = BinaryHeap::new();
    for (source, iter) in sources.iter_mut().enumerate() {
        if let Some(entry) = iter.next() {
            heap.push(Head {
                entry: entry?,
                source,
            });
        }
    }
    let mut last_user_key: Option<Vec<u8>> = None;
    let mut batch = WriteBatch::new();
    while let Some(Head { entry, source }) = heap.pop() {
        if let Some(next) = sources[source].next() {
            heap.push(Head {
                entry: next?,
                source,
            });
        }
        let (ikey, value) = entry;
        let key = user_key(&ikey);
        if last_user_key.as_deref() == Some(key) {
            continue; // an older version
        }
        last_user_key = Some(key.to_vec());
        if kind_of(&ikey) == ValueKind::Delete {
            continue;
        }
        let unsaved = report
            .unsaved
            .iter()
            .position(|r| r.lower.as_slice() <= key && key <= r.upper.as_slice());
        if let Some(range) = unsaved {
            report.unsaved[range].keys_not_copied += 1;
            continue;
        }
        batch.put(key, &value);
        report.keys_copied += 1;
        if batch.encoded_len() >= BATCH_BYTES {
            store.write(std::mem::take(&mut batch))?;
        }
    }
    if !batch.is_empty() {
        store.write(batch)?;
    }
    Ok(())
}
