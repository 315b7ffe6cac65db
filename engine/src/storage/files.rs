//! The files of a database directory: their names, the directory lock, and
//! the two durability helpers every writer of a new file needs.
//!
//! Every numbered file takes its number from one counter (the manifest's
//! `next_file_number`), zero-padded to at least six digits:
//!
//! ```text
//! db/
//! ├── CURRENT            "MANIFEST-000003\n": names the live manifest
//! ├── LOCK               held with an advisory lock while the database is open
//! ├── MANIFEST-000003    log of version edits (which tables are live)
//! ├── 000007.log         write-ahead log of the memtable
//! ├── 000012.sst         a sorted table
//! └── CURRENT.tmp        a file being written by `write_file_atomically`
//! ```
//!
//! A new file's *name* is durable only once its directory is fsynced, so
//! creating a log or swapping `CURRENT` ends with [`sync_dir`].

use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Name of the file that names the live manifest.
pub const CURRENT_FILE: &str = "CURRENT";
/// Name of the directory lock file.
pub const LOCK_FILE: &str = "LOCK";
/// Prefix of manifest file names.
pub const MANIFEST_PREFIX: &str = "MANIFEST-";
/// Extension of write-ahead log files.
pub const LOG_EXTENSION: &str = ".log";
/// Extension of sorted table files.
pub const TABLE_EXTENSION: &str = ".sst";
/// Suffix of temporary files.
pub const TEMP_SUFFIX: &str = ".tmp";

/// What a file in the database directory is, recognised from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// `000007.log`: a write-ahead log.
    Log(u64),
    /// `000012.sst`: a sorted table.
    Table(u64),
    /// `MANIFEST-000003`: a manifest.
    Manifest(u64),
    /// `CURRENT`.
    Current,
    /// `LOCK`.
    Lock,
    /// Any name ending in `.tmp`: a leftover of an interrupted atomic write.
    Temp,
}

/// The zero-padded decimal form every numbered file uses.
fn padded(number: u64) -> String {
    format!("{number:06}")
}

/// Parses a file number written by [`padded`]; rejects any other spelling so
/// that one number has exactly one file name.
fn parse_padded(digits: &str) -> Option<u64> {
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u64 = digits.parse().ok()?;
    (padded(number) == digits).then_some(number)
}

/// Path of write-ahead log `number` in `dir`.
pub fn log_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{}{LOG_EXTENSION}", padded(number)))
}

/// Path of table `number` in `dir`.
pub fn table_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{}{TABLE_EXTENSION}", padded(number)))
}

/// File name (no directory) of manifest `number`, as written into `CURRENT`.
pub fn manifest_file_name(number: u64) -> String {
    format!("{MANIFEST_PREFIX}{}", padded(number))
}

/// Path of manifest `number` in `dir`.
pub fn manifest_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(manifest_file_name(number))
}

/// Path of the `CURRENT` file in `dir`.
pub fn current_path(dir: &Path) -> PathBuf {
    dir.join(CURRENT_FILE)
}

/// Path of the `LOCK` file in `dir`.
pub fn lock_path(dir: &Path) -> PathBuf {
    dir.join(LOCK_FILE)
}

/// The temporary path `path` is written under before being renamed over it.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TEMP_SUFFIX);
    PathBuf::from(name)
}

/// Recognises a file name of the database directory; `None` for a name isodb
/// never creates.
pub fn parse_file_name(name: &str) -> Option<FileKind> {
    match name {
        CURRENT_FILE => return Some(FileKind::Current),
        LOCK_FILE => return Some(FileKind::Lock),
        _ => {}
    }
    if name.ends_with(TEMP_SUFFIX) {
        return Some(FileKind::Temp);
    }
    if let Some(digits) = name.strip_prefix(MANIFEST_PREFIX) {
        return parse_padded(digits).map(FileKind::Manifest);
    }
    if let Some(digits) = name.strip_suffix(LOG_EXTENSION) {
        return parse_padded(digits).map(FileKind::Log);
    }
    if let Some(digits) = name.strip_suffix(TABLE_EXTENSION) {
        return parse_padded(digits).map(FileKind::Table);
    }
    None
}

/// Fsyncs directory `dir`, making the names created, renamed or removed in it
/// durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let handle = File::open(dir).map_err(|e| Error::io(dir, e))?;
    handle.sync_all().map_err(|e| Error::io(dir, e))
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Replaces the contents of `path` with `bytes` so that a crash leaves either
/// the old contents or the new, never a mix: write `path.tmp`, fsync it,
/// rename it over `path`, fsync the directory.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = temp_path(path);
    let mut file = File::create(&temp).map_err(|e| Error::io(&temp, e))?;
    file.write_all(bytes).map_err(|e| Error::io(&temp, e))?;
    file.sync_all().map_err(|e| Error::io(&temp, e))?;
    drop(file);
    std::fs::rename(&temp, path).map_err(|e| Error::io(path, e))?;
    sync_dir(parent_dir(path))
}

/// An exclusive advisory lock on a database directory's `LOCK` file, held
/// until the value is dropped.
///
/// The lock belongs to the open file description, so a second
/// [`DirLock::acquire`] fails even from the same process.
#[derive(Debug)]
pub struct DirLock {
    file: File,
    dir: PathBuf,
}

impl DirLock {
    /// Creates `dir/LOCK` if needed and locks it; [`Error::Locked`] when
    /// another handle holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let path = lock_path(dir);
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock {
                file,
                dir: dir.to_path_buf(),
            }),
            Err(TryLockError::WouldBlock) => Err(Error::Locked(dir.to_path_buf())),
            Err(TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }

    /// Locks `dir/LOCK` only if the file exists, never creating it (for
    /// tools that read a database without opening it): `None` without a
    /// `LOCK` file, [`Error::Locked`] when another handle holds it.
    pub fn acquire_existing(dir: &Path) -> Result<Option<DirLock>> {
        let path = lock_path(dir);
        let file = match File::options().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        match file.try_lock() {
            Ok(()) => Ok(Some(DirLock {
                file,
                dir: dir.to_path_buf(),
            })),
            Err(TryLockError::WouldBlock) => Err(Error::Locked(dir.to_path_buf())),
            Err(TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }

    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first just makes
        // the release independent of when the descriptor is closed. An error
        // here cannot be acted on.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse() {
        let dir = Path::new("/db");
        assert_eq!(log_path(dir, 7), Path::new("/db/000007.log"));
        assert_eq!(table_path(dir, 12), Path::new("/db/000012.sst"));
        assert_eq!(manifest_path(dir, 3), Path::new("/db/MANIFEST-000003"));
        assert_eq!(current_path(dir), Path::new("/db/CURRENT"));
        assert_eq!(lock_path(dir), Path::new("/db/LOCK"));
        assert_eq!(temp_path(&current_path(dir)), Path::new("/db/CURRENT.tmp"));
        for number in [0, 7, 999_999, 1_000_000, 123_456_789, u64::MAX] {
            let name = |p: PathBuf| p.file_name().unwrap().to_str().unwrap().to_owned();
            assert_eq!(
                parse_file_name(&name(log_path(dir, number))),
                Some(FileKind::Log(number))
            );
            assert_eq!(
                parse_file_name(&name(table_path(dir, number))),
                Some(FileKind::Table(number))
            );
            assert_eq!(
                parse_file_name(&manifest_file_name(number)),
                Some(FileKind::Manifest(number))
            );
        }
        assert_eq!(parse_file_name("CURRENT"), Some(FileKind::Current));
        assert_eq!(parse_file_name("LOCK"), Some(FileKind::Lock));
        assert_eq!(parse_file_name("000012.sst.tmp"), Some(FileKind::Temp));
    }

    #[test]
    fn foreign_and_non_canonical_names_are_rejected() {
        for name in [
            "",
            "7.log",
            "00007.log",
            "0000007.log",
            "+00007.log",
            "00000a.sst",
            "000007.txt",
            "MANIFEST-",
            "MANIFEST-12",
            "MANIFEST-000003x",
            "current",
            "99999999999999999999.log",
            ".log",
        ] {
            assert_eq!(parse_file_name(name), None, "{name:?}");
        }
    }

    #[test]
    fn write_file_atomically_replaces_contents_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("CURRENT");
        write_file_atomically(&path, b"one\n").unwrap();
        write_file_atomically(&path, b"two\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two\n");
        assert!(!temp_path(&path).exists());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("CURRENT")]);
    }

    #[test]
    fn sync_dir_fails_with_io_error_naming_a_missing_dir() {
        let dir = tempfile::tempdir().unwrap();
        sync_dir(dir.path()).unwrap();
        let missing = dir.path().join("missing");
        match sync_dir(&missing) {
            Err(Error::Io { path, .. }) => assert_eq!(path, missing),
            other => panic!("expected Io error, got {other:?}"),
        }
    }

    #[test]
    fn second_lock_fails_while_first_is_held_even_in_one_process() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        assert_eq!(first.dir(), dir.path());
        match DirLock::acquire(dir.path()) {
            Err(Error::Locked(locked)) => assert_eq!(locked, dir.path()),
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        let again = DirLock::acquire(dir.path()).unwrap();
        drop(again);
        assert!(lock_path(dir.path()).exists());
    }
}
