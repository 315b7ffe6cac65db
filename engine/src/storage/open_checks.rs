//! Checks an open makes before it changes anything: is the path a database
//! at all, and does the manifest describe every file the state needs?
//!
//! **Nothing is created in a path that is not a database.** A directory
//! without `CURRENT` becomes a new database only if it is empty; otherwise
//! the open fails before `LOCK` is taken (and so before it is created).
//!
//! **A manifest that ends before the state its files imply is corruption.**
//! A torn last manifest record is either an edit a crash cut before it was
//! acknowledged (harmless: nothing that edit made unneeded was deleted yet)
//! or a durable edit that damage cut (dangerous: what it made unneeded — the
//! logs a flush retired, the inputs a compaction replaced — may be gone). The
//! two look alike, so the open checks what the remaining state needs:
//!
//! ```text
//!   MANIFEST: ... edit 7: +L0 000012.sst, log 9  |torn|   (edit 7 was durable, then damaged)
//!   state without edit 7: oldest needed log 000008.log  -> gone (deleted after edit 7)
//!   -> Corruption { MANIFEST-000005, offset of edit 7, "ends before the state ... 000008.log" }
//! ```
//!
//! When every needed file is there the state is whole and the open goes on;
//! table files the manifest does not name are then *kept*, renamed
//! `NNNNNN.sst.kept`, and a copy of the torn manifest is kept as
//! `MANIFEST-NNNNNN.torn` (both listed in the
//! [`crate::storage::RecoveryReport`]), since the lost edit may have named
//! them: nothing a durable state might need is deleted, and no later open
//! deletes them either. With an intact manifest unnamed tables are leftovers
//! of an interrupted flush or compaction (whose data the logs or the input
//! tables still hold), and are deleted once the new manifest is durable.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::storage::files::{FileKind, log_path, manifest_path, parse_file_name, table_path};
use crate::storage::manifest::ManifestState;
use crate::storage::options::StoreOptions;

/// Refuses, before anything is created, a path that cannot be opened as a
/// database: a file, a missing directory without `create_if_missing`, or a
/// directory without `CURRENT` that holds anything.
pub(crate) fn check_path(dir: &Path, options: &StoreOptions) -> Result<()> {
    if !dir.exists() {
        if !options.create_if_missing {
            return Err(Error::NotADatabase {
                path: dir.to_path_buf(),
                reason: "the directory does not exist".into(),
            });
        }
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(Error::NotADatabase {
            path: dir.to_path_buf(),
            reason: "it is not a directory".into(),
        });
    }
    if !dir.join(crate::storage::files::CURRENT_FILE).exists() {
        check_empty(dir, options)?;
    }
    Ok(())
}

/// A directory without `CURRENT` may become a database only if it is empty
/// (a `LOCK` or `.tmp` file of an interrupted first open aside).
pub(crate) fn check_empty(dir: &Path, options: &StoreOptions) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        match parse_file_name(&name) {
            Some(FileKind::Lock) | Some(FileKind::Temp) => {}
            Some(_) => {
                return Err(Error::corruption(
                    dir.join("CURRENT"),
                    0,
                    format!("CURRENT is missing but database file {name} exists"),
                ));
            }
            None => {
                return Err(Error::NotADatabase {
                    path: dir.to_path_buf(),
                    reason: format!("it already holds {name:?}, which isodb did not write"),
                });
            }
        }
    }
    if !options.create_if_missing {
        return Err(Error::NotADatabase {
            path: dir.to_path_buf(),
            reason: "it holds no database and create_if_missing is off".into(),
        });
    }
    Ok(())
}

/// The files the manifest's state needs that are not on disk: live tables,
/// the oldest needed log and every tracked log.
pub(crate) fn missing_needed_files(dir: &Path, state: &ManifestState) -> Vec<PathBuf> {
    let tables = state.live_files().map(|(_, f)| table_path(dir, f.number));
    let mut logs: Vec<u64> = state.logs.keys().copied().collect();
    if state.log_number > 0 && !logs.contains(&state.log_number) {
        logs.push(state.log_number);
    }
    tables
        .chain(logs.into_iter().map(|n| log_path(dir, n)))
        .filter(|path| !path.exists())
        .collect()
}

/// Table files in `dir` that `state` does not name.
pub(crate) fn unnamed_tables(dir: &Path, state: &ManifestState) -> Vec<PathBuf> {
    let live: HashSet<u64> = state.live_files().map(|(_, f)| f.number).collect();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut unnamed: Vec<PathBuf> = entries
        .flatten()
        .filter_map(|e| match parse_file_name(e.file_name().to_str()?)? {
            FileKind::Table(n) if !live.contains(&n) => Some(e.path()),
            _ => None,
        })
        .collect();
    unnamed.sort();
    unnamed
}

/// When the manifest ended in a torn record and the state without it misses
/// files it needs, the corruption error naming the manifest.
pub(crate) fn check_torn_manifest(
    dir: &Path,
    manifest_number: u64,
    torn_at: u64,
    state: &ManifestState,
) -> Result<()> {
    let missing = missing_needed_files(dir, state);
    if missing.is_empty() {
        return Ok(());
    }
    let names = |paths: &[PathBuf]| {
        paths
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let unnamed = unnamed_tables(dir, state);
    let unnamed_note = if unnamed.is_empty() {
        String::new()
    } else {
        format!(
            "; table files it does not name are present ({}), likely made live by the lost edit",
            names(&unnamed)
        )
    };
    Err(Error::corruption(
        manifest_path(dir, manifest_number),
        torn_at,
        format!(
            "the manifest ends in a torn record at offset {torn_at}, before the state the \
             database's files imply: {} — needed by its last complete edit — {} gone, so a later \
             edit that made {} unneeded was lost{unnamed_note}. Nothing was changed or deleted; \
             run `isodb check PATH` for a report and `isodb recover PATH --to NEW` to copy every \
             readable row into a new database",
            names(&missing),
            if missing.len() == 1 { "is" } else { "are" },
            if missing.len() == 1 { "it" } else { "them" },
        ),
    ))
}

/// The suffix of a table file kept aside after a torn manifest.
pub const KEPT_TABLE_SUFFIX: &str = ".kept";
/// The suffix of a torn manifest kept aside.
pub const TORN_MANIFEST_SUFFIX: &str = ".torn";

/// Before an open of a torn manifest writes the recovered state: keeps
/// `tables` as `NNNNNN.sst.kept` and a copy of the torn manifest as
/// `MANIFEST-NNNNNN.torn`, out of reach of the garbage collection of this
/// and later opens (renaming a table no state names is safe at any instant
/// of a crash). Returns the new paths (a file that cannot be set aside is
/// left as it is and not listed).
pub(crate) fn keep_aside(dir: &Path, manifest_number: u64, tables: &[PathBuf]) -> Vec<PathBuf> {
    let with_suffix = |path: &Path, suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let mut kept = Vec::new();
    let manifest = manifest_path(dir, manifest_number);
    let copy = with_suffix(&manifest, TORN_MANIFEST_SUFFIX);
    if std::fs::copy(&manifest, &copy).is_ok() {
        kept.push(copy);
    }
    for table in tables {
        let target = with_suffix(table, KEPT_TABLE_SUFFIX);
        if std::fs::rename(table, &target).is_ok() {
            kept.push(target);
        }
    }
    let _ = crate::storage::files::sync_dir(dir);
    kept
}
