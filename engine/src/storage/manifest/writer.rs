//! `ManifestWriter`: starts a manifest from a snapshot, points `CURRENT` at
//! it, and appends synced edits.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::storage::files::{
    current_path, manifest_file_name, manifest_path, write_file_atomically,
};
use crate::storage::log::LogWriter;

use super::{VersionEdit, read_current};

/// Appends version edits to the live manifest.
#[derive(Debug)]
pub struct ManifestWriter {
    dir: PathBuf,
    number: u64,
    log: LogWriter,
}

impl ManifestWriter {
    /// Writes `MANIFEST-{manifest_number}` in `dir` with `snapshot` as its
    /// first record, fsyncs it, then atomically points `CURRENT` at it.
    ///
    /// Nothing is removed: the caller deletes the previous manifest once this
    /// returns. If this fails, `CURRENT` still names the previous manifest
    /// unless the failure came from the final directory fsync, in which case
    /// either may be current after a crash (both are complete).
    ///
    /// `manifest_number` must be fresh (taken from `next_file_number`): a
    /// leftover file of that name is overwritten, and the number of the
    /// manifest `CURRENT` names is refused with [`Error::InvalidArgument`]
    /// rather than truncating the live manifest.
    pub fn create(
        dir: &Path,
        manifest_number: u64,
        snapshot: &VersionEdit,
    ) -> Result<ManifestWriter> {
        if read_current(dir)? == Some(manifest_number) {
            return Err(Error::InvalidArgument(format!(
                "{} is the live manifest and cannot be recreated",
                manifest_file_name(manifest_number)
            )));
        }
        let mut log = LogWriter::create(&manifest_path(dir, manifest_number))?;
        log.add_record(&snapshot.encode())?;
        log.sync()?;
        let current = format!("{}\n", manifest_file_name(manifest_number));
        write_file_atomically(&current_path(dir), current.as_bytes())?;
        Ok(ManifestWriter {
            dir: dir.to_path_buf(),
            number: manifest_number,
            log,
        })
    }

    /// Appends `edit` and fsyncs it; the edit is part of the durable state
    /// once this returns `Ok`. After a failure every later call fails with
    /// [`crate::error::Error::Poisoned`] and the caller must roll to a new
    /// manifest (or reopen the store).
    pub fn log_edit(&mut self, edit: &VersionEdit) -> Result<()> {
        self.log.add_record(&edit.encode())?;
        self.log.sync()
    }

    /// Size of the manifest file in bytes, to decide when to roll to a new one.
    pub fn file_size(&self) -> u64 {
        self.log.len()
    }

    /// The manifest's file number.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The database directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest file's path.
    pub fn path(&self) -> &Path {
        self.log.path()
    }
}
