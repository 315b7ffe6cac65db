//! `LogWriter`: appends records to one log file, buffering them until
//! [`LogWriter::flush`] or [`LogWriter::sync`], and refusing all work after a
//! failed write or fsync.
//!
//! Why poison instead of retrying: when `fsync` fails, Linux may already have
//! dropped the dirty pages and cleared the error, so a second `fsync` can
//! succeed without the data ever reaching the disk. What is on disk is
//! unknown; only reopening the store and recovering from the file tells.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::storage::files::{parent_dir, sync_dir};

use super::{HEADER_LEN, MAX_RECORD_LEN, encode_header};

/// Buffered bytes beyond which [`LogWriter::add_record`] hands the buffer to
/// the OS on its own.
const BUFFER_LIMIT: usize = 64 * 1024;

/// What a simulated crash ([`LogWriter::crash`]) loses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashKind {
    /// The process dies: bytes handed to the OS survive, buffered ones do not.
    Process,
    /// The machine loses power: only bytes made durable by an fsync survive.
    PowerLoss,
}

/// How much of a log: its length in bytes and the records in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LogExtent {
    /// Bytes from the start of the file.
    pub bytes: u64,
    /// Complete records in those bytes.
    pub records: u64,
}

/// Appends checksummed records to a log file.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    file: File,
    /// Records not yet handed to the OS.
    buffer: Vec<u8>,
    /// Bytes already handed to the OS (the file length as we know it).
    written: u64,
    /// Bytes known to be on disk: the length at the last successful fsync
    /// (or at open). A simulated power loss keeps exactly these.
    synced: u64,
    /// Records added, buffered ones included.
    records: u64,
    /// Records handed to the OS.
    written_records: u64,
    /// Records known to be on disk (at the last successful fsync).
    synced_records: u64,
    /// Why the writer refuses work, once a write or sync has failed.
    poisoned: Option<String>,
}

impl LogWriter {
    /// Creates (or truncates) the log at `path` and fsyncs its directory so
    /// the new file's name survives a crash.
    pub fn create(path: &Path) -> Result<LogWriter> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        sync_dir(parent_dir(path))?;
        Ok(LogWriter::from_file(path, file, 0))
    }

    /// Reopens an existing log to append after its last byte (after recovery
    /// has truncated any torn tail with [`super::truncate_at`]).
    /// `records` is the number of records already in it (what reading it
    /// back found), so that [`Self::synced_extent`] stays exact.
    pub fn append(path: &Path, records: u64) -> Result<LogWriter> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut writer = LogWriter::from_file(path, file, len);
        writer.records = records;
        writer.written_records = records;
        writer.synced_records = records;
        Ok(writer)
    }

    fn from_file(path: &Path, file: File, written: u64) -> LogWriter {
        LogWriter {
            path: path.to_path_buf(),
            file,
            buffer: Vec::with_capacity(BUFFER_LIMIT),
            written,
            synced: written,
            records: 0,
            written_records: 0,
            synced_records: 0,
            poisoned: None,
        }
    }

    /// Appends one record holding `payload` and returns its offset in the
    /// file. The record is buffered: it reaches the OS on [`Self::flush`] and
    /// the disk on [`Self::sync`].
    pub fn add_record(&mut self, payload: &[u8]) -> Result<u64> {
        self.check_poisoned()?;
        if payload.len() > MAX_RECORD_LEN {
            return Err(Error::InvalidArgument(format!(
                "log record of {} bytes exceeds the limit of {MAX_RECORD_LEN} bytes",
                payload.len()
            )));
        }
        let offset = self.len();
        let header = encode_header(payload);
        if self.buffer.len() + HEADER_LEN + payload.len() <= BUFFER_LIMIT {
            self.buffer.extend_from_slice(&header);
            self.buffer.extend_from_slice(payload);
        } else {
            // A large record goes straight to the file after what is buffered,
            // rather than being copied into the buffer first.
            self.buffer.extend_from_slice(&header);
            self.flush()?;
            self.write_to_file(payload)?;
        }
        self.records += 1;
        if self.buffer.is_empty() {
            self.written_records = self.records;
        }
        Ok(offset)
    }

    /// Hands every buffered byte to the OS (no fsync).
    pub fn flush(&mut self) -> Result<()> {
        self.check_poisoned()?;
        if self.buffer.is_empty() {
            return Ok(());
        }
        let buffer = std::mem::take(&mut self.buffer);
        let result = self.write_to_file(&buffer);
        self.buffer = buffer;
        self.buffer.clear();
        if result.is_ok() {
            self.written_records = self.records;
        }
        result
    }

    /// Flushes, then fsyncs the file's data: every record added so far is on
    /// disk when this returns `Ok`.
    pub fn sync(&mut self) -> Result<()> {
        self.flush()?;
        if let Err(e) = self.file.sync_data() {
            return Err(self.poison("fsync", e));
        }
        self.synced = self.written;
        self.synced_records = self.written_records;
        Ok(())
    }

    /// How much of the log the last successful fsync made durable (all of
    /// it at open, nothing of a new log).
    pub fn synced_extent(&self) -> LogExtent {
        LogExtent {
            bytes: self.synced,
            records: self.synced_records,
        }
    }

    /// Simulates a crash at this instant, for fault-injection tests: drops
    /// the records not yet handed to the OS and refuses all later work. A
    /// process crash keeps what the OS has; a power loss also cuts the file
    /// back to the bytes the last successful fsync made durable (the worst a
    /// real power failure may leave).
    pub fn crash(&mut self, kind: CrashKind) -> Result<()> {
        self.buffer.clear();
        self.poisoned = Some(format!(
            "the store was crashed on purpose ({kind:?}); log {} was abandoned",
            self.path.display()
        ));
        if kind == CrashKind::PowerLoss {
            self.file
                .set_len(self.synced)
                .map_err(|e| Error::io(&self.path, e))?;
            self.written = self.synced;
            self.written_records = self.synced_records;
        }
        self.records = self.written_records;
        Ok(())
    }

    /// Bytes in the log, buffered ones included: the offset the next record
    /// will get.
    pub fn len(&self) -> u64 {
        self.written + self.buffer.len() as u64
    }

    /// True when the log holds no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True once a write or sync has failed; every later call then fails.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }

    fn write_to_file(&mut self, bytes: &[u8]) -> Result<()> {
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.written += bytes.len() as u64;
                Ok(())
            }
            Err(e) => Err(self.poison("write", e)),
        }
    }

    fn check_poisoned(&self) -> Result<()> {
        match &self.poisoned {
            Some(reason) => Err(Error::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    /// Records the failure so later calls refuse, and returns the I/O error
    /// for this call.
    fn poison(&mut self, operation: &str, e: std::io::Error) -> Error {
        self.poisoned = Some(format!(
            "{operation} of log {} failed: {e}",
            self.path.display()
        ));
        self.buffer.clear();
        Error::io(&self.path, e)
    }
}

impl Drop for LogWriter {
    /// Hands buffered records to the OS on a best-effort basis. Nothing
    /// unsynced was promised durable, so a failure here loses nothing that was
    /// acknowledged.
    fn drop(&mut self) {
        if self.poisoned.is_none() {
            let _ = self.flush();
        }
    }
}
