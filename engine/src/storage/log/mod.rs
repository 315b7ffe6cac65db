//! The record log: the write-ahead log of the memtable and the body of the
//! manifest are both a file of checksummed records, appended and fsynced by a
//! [`LogWriter`] and read back by a [`LogReader`].
//!
//! # Record format
//!
//! A log file is records laid end to end, with no padding and no blocks:
//!
//! ```text
//!  offset 0                                           offset 12+len
//!  ┌───────────┬──────────────┬───────────────┬──────────────┐┌────────
//!  │ len u32LE │ header_crc   │ payload_crc   │ payload      ││ next
//!  │           │ u32LE        │ u32LE         │ (len bytes)  ││ record…
//!  └───────────┴──────────────┴───────────────┴──────────────┘└────────
//!  header_crc  = crc32c(the 4 bytes of len)
//!  payload_crc = crc32c(payload)
//! ```
//!
//! The header has its own checksum so that a damaged length is never
//! trusted: a reader only skips `len` bytes after the header checksum
//! matched. CRCs are stored unmasked; an all-zero header never verifies
//! (`crc32c([0; 4]) != 0`), which is what lets zeroed space be told apart
//! from a record.
//!
//! # Torn tail or corruption
//!
//! A crash can cut the last write short; that record was never acknowledged
//! (it was not synced), so recovery drops it and truncates the file there. Any
//! other damage means bytes that *were* acknowledged are wrong, and recovery
//! must stop rather than silently lose them. The reader decides, at the
//! offset `o` of each record:
//!
//! | what is found at `o`                                   | verdict      |
//! |--------------------------------------------------------|--------------|
//! | end of file                                            | clean end    |
//! | fewer than 12 bytes left                               | torn tail    |
//! | header crc fails, every byte from `o` to the end is 0  | torn tail    |
//! | header crc fails otherwise                             | corruption   |
//! | header ok, payload runs past the end of file           | torn tail    |
//! | payload crc fails, every byte from `o` to the end is 0 | torn tail    |
//! | payload crc fails otherwise                            | corruption   |
//!
//! The all-zero rule covers a file whose size was extended by the filesystem
//! before its data reached the disk. A torn tail is reported by
//! [`LogReader::torn_tail`]; recovery then calls [`truncate_at`] before
//! appending. A payload whose checksum failed is never returned.

mod reader;
mod writer;

pub use reader::LogReader;
pub use writer::{CrashKind, LogExtent, LogWriter};

use std::fs::OpenOptions;
use std::path::Path;

use crate::error::{Error, Result};

/// Bytes of a record header: length, header checksum, payload checksum.
pub const HEADER_LEN: usize = 12;

/// Largest payload one record can hold.
pub const MAX_RECORD_LEN: usize = u32::MAX as usize;

/// Encodes the header of a record carrying `payload`.
///
/// The caller has checked that the payload fits in [`MAX_RECORD_LEN`].
fn encode_header(payload: &[u8]) -> [u8; HEADER_LEN] {
    let len_bytes = (payload.len() as u32).to_le_bytes();
    let mut header = [0u8; HEADER_LEN];
    header[0..4].copy_from_slice(&len_bytes);
    header[4..8].copy_from_slice(&crc32c::crc32c(&len_bytes).to_le_bytes());
    header[8..12].copy_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    header
}

/// Cuts the log at `path` to `offset` bytes and fsyncs it, discarding a torn
/// tail found by [`LogReader::torn_tail`].
pub fn truncate_at(path: &Path, offset: u64) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.set_len(offset).map_err(|e| Error::io(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests;
