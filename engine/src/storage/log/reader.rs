//! `LogReader`: reads a log's records back in order, telling a torn tail
//! (stop quietly, report where) from corruption (stop with an error).
//!
//! The whole file is read into memory when the reader is opened: logs are
//! bounded by the memtable size and manifests are small, and checking "every
//! byte from here to the end is zero" needs the tail at hand anyway.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::HEADER_LEN;

/// Reads the records of one log file in order.
#[derive(Debug)]
pub struct LogReader {
    path: PathBuf,
    data: Vec<u8>,
    /// Offset of the next record to read.
    pos: usize,
    /// Records returned so far.
    records: u64,
    state: ReadState,
}

/// Where the reader stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ReadState {
    /// More records may follow.
    Reading,
    /// The file ended exactly after a record.
    CleanEnd,
    /// A torn record began at this offset; nothing after it is read.
    TornTail(u64),
    /// Corruption was found at this offset; every later call repeats it.
    Corrupt(u64, String),
}

/// What the bytes at one offset hold.
enum Found<'a> {
    Record(&'a [u8], usize),
    End,
    Torn,
    Corrupt(&'static str),
}

impl LogReader {
    /// Reads the log file at `path` into memory.
    pub fn open(path: &Path) -> Result<LogReader> {
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Ok(LogReader::from_bytes(path, data))
    }

    /// A reader over `data` as if it were the contents of `path` (which is
    /// only used to name the file in errors).
    pub fn from_bytes(path: impl Into<PathBuf>, data: Vec<u8>) -> LogReader {
        LogReader {
            path: path.into(),
            data,
            pos: 0,
            records: 0,
            state: ReadState::Reading,
        }
    }

    /// The next record as `(offset, payload)`; `None` at the end of the log
    /// or at a torn tail (see [`Self::torn_tail`]); [`Error::Corruption`]
    /// naming the record's offset when acknowledged bytes are damaged.
    pub fn next_record(&mut self) -> Result<Option<(u64, Vec<u8>)>> {
        match &self.state {
            ReadState::Reading => {}
            ReadState::CleanEnd | ReadState::TornTail(_) => return Ok(None),
            ReadState::Corrupt(offset, reason) => {
                return Err(Error::corruption(&self.path, *offset, reason.clone()));
            }
        }
        let offset = self.pos as u64;
        match self.examine(self.pos) {
            Found::Record(payload, end) => {
                let payload = payload.to_vec();
                self.pos = end;
                self.records += 1;
                Ok(Some((offset, payload)))
            }
            Found::End => {
                self.state = ReadState::CleanEnd;
                Ok(None)
            }
            Found::Torn => {
                self.state = ReadState::TornTail(offset);
                Ok(None)
            }
            Found::Corrupt(reason) => {
                self.state = ReadState::Corrupt(offset, reason.to_owned());
                Err(Error::corruption(&self.path, offset, reason))
            }
        }
    }

    /// After [`Self::next_record`] returned `None`: the offset where a torn
    /// tail begins, which recovery truncates with [`super::truncate_at`];
    /// `None` when the log ended cleanly (or has not been read to its end).
    pub fn torn_tail(&self) -> Option<u64> {
        match self.state {
            ReadState::TornTail(offset) => Some(offset),
            _ => None,
        }
    }

    /// Offset just past the last record returned so far.
    pub fn valid_len(&self) -> u64 {
        self.pos as u64
    }

    /// Records returned so far.
    pub fn records_read(&self) -> u64 {
        self.records
    }

    /// Length of the whole file.
    pub fn file_len(&self) -> u64 {
        self.data.len() as u64
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Classifies the bytes starting at `pos` (see the table in the module
    /// docs of [`super`]).
    fn examine(&self, pos: usize) -> Found<'_> {
        let rest = self.data.get(pos..).unwrap_or_default();
        if rest.is_empty() {
            return Found::End;
        }
        let Some((header, body)) = rest.split_first_chunk::<HEADER_LEN>() else {
            return Found::Torn;
        };
        let [l0, l1, l2, l3, h0, h1, h2, h3, p0, p1, p2, p3] = *header;
        let len_bytes = [l0, l1, l2, l3];
        let header_crc = u32::from_le_bytes([h0, h1, h2, h3]);
        let payload_crc = u32::from_le_bytes([p0, p1, p2, p3]);
        if crc32c::crc32c(&len_bytes) != header_crc {
            return if all_zero(rest) {
                Found::Torn
            } else {
                Found::Corrupt("record header checksum mismatch")
            };
        }
        let Ok(len) = usize::try_from(u32::from_le_bytes(len_bytes)) else {
            return Found::Corrupt("record length does not fit in memory");
        };
        let Some(payload) = body.get(..len) else {
            return Found::Torn;
        };
        if crc32c::crc32c(payload) != payload_crc {
            return if all_zero(rest) {
                Found::Torn
            } else {
                Found::Corrupt("record payload checksum mismatch")
            };
        }
        Found::Record(payload, pos + HEADER_LEN + len)
    }
}

/// True when every byte is zero: space the filesystem allocated but whose
/// data never reached the disk.
fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}
