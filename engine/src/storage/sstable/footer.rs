//! The fixed-size footer at the end of every table file: where the filter,
//! properties and index blocks are, how many entries the table holds, and the
//! checks that the file is an isodb table at all.
//!
//! ```text
//! offset  0  filter offset      u64 LE
//!         8  filter size        u64 LE
//!        16  properties offset  u64 LE
//!        24  properties size    u64 LE
//!        32  index offset       u64 LE
//!        40  index size         u64 LE
//!        48  entries            u64 LE
//!        56  format version     u32 LE
//!        60  crc32c(bytes 0..60) u32 LE
//!        64  magic              u64 LE   ("isodbSST" read big-endian)
//!        72  end of file
//! ```
//!
//! The magic is checked first (is this a table at all?), then the checksum,
//! then the version and the block layout: filter, properties and index lie
//! in that order between the data blocks and the footer.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::framing::BlockHandle;
use crate::error::{Error, Result};
use crate::storage::coding::Decoder;

/// Length of the footer in bytes.
pub const FOOTER_LEN: u64 = 72;

/// The last 8 bytes of every table file.
pub const TABLE_MAGIC: u64 = u64::from_be_bytes(*b"isodbSST");

/// The table format this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Bytes covered by the footer checksum.
const CHECKED_LEN: usize = 60;

/// The decoded footer of a table file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footer {
    /// The bloom filter block.
    pub filter: BlockHandle,
    /// The properties block (smallest and largest key).
    pub properties: BlockHandle,
    /// The index block.
    pub index: BlockHandle,
    /// Number of entries in the table.
    pub entries: u64,
}

impl Footer {
    /// The footer's bytes.
    pub fn encode(&self) -> [u8; FOOTER_LEN as usize] {
        let mut out = [0u8; FOOTER_LEN as usize];
        let fields = [
            self.filter.offset,
            self.filter.size,
            self.properties.offset,
            self.properties.size,
            self.index.offset,
            self.index.size,
            self.entries,
        ];
        for (slot, field) in out.chunks_exact_mut(8).zip(fields) {
            slot.copy_from_slice(&field.to_le_bytes());
        }
        out[56..60].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        let crc = crc32c::crc32c(&out[..CHECKED_LEN]);
        out[60..64].copy_from_slice(&crc.to_le_bytes());
        out[64..72].copy_from_slice(&TABLE_MAGIC.to_le_bytes());
        out
    }

    /// Reads and checks the footer of `file`, which is `file_size` bytes long.
    pub fn read(file: &File, path: &Path, file_size: u64) -> Result<Footer> {
        let Some(footer_offset) = file_size.checked_sub(FOOTER_LEN) else {
            return Err(Error::corruption(
                path,
                0,
                format!("file of {file_size} bytes is too short to be a table"),
            ));
        };
        let mut bytes = [0u8; FOOTER_LEN as usize];
        file.read_exact_at(&mut bytes, footer_offset)
            .map_err(|error| Error::io(path, error))?;
        Footer::decode(&bytes, footer_offset)
            .map_err(|reason| Error::corruption(path, footer_offset, reason))
    }

    /// Decodes and checks footer bytes found at `footer_offset`.
    pub fn decode(bytes: &[u8; FOOTER_LEN as usize], footer_offset: u64) -> Result<Footer, String> {
        let mut decoder = Decoder::new(bytes);
        let mut fields = [0u64; 7];
        for field in &mut fields {
            *field = decoder.u64_le().ok_or("footer too short")?;
        }
        let version = decoder.u32_le().ok_or("footer too short")?;
        let stored_crc = decoder.u32_le().ok_or("footer too short")?;
        let magic = decoder.u64_le().ok_or("footer too short")?;
        if magic != TABLE_MAGIC {
            return Err(format!(
                "bad magic number {magic:#018x}: not an isodb table"
            ));
        }
        let crc = crc32c::crc32c(&bytes[..CHECKED_LEN]);
        if crc != stored_crc {
            return Err(format!(
                "footer checksum mismatch: stored {stored_crc:#010x}, computed {crc:#010x}"
            ));
        }
        if version != FORMAT_VERSION {
            return Err(format!("unsupported table format version {version}"));
        }
        let [fo, fs, po, ps, io, is, entries] = fields;
        let footer = Footer {
            filter: BlockHandle {
                offset: fo,
                size: fs,
            },
            properties: BlockHandle {
                offset: po,
                size: ps,
            },
            index: BlockHandle {
                offset: io,
                size: is,
            },
            entries,
        };
        let ordered =
            |first: BlockHandle, next_start: u64| first.end().is_some_and(|end| end <= next_start);
        if !(ordered(footer.filter, footer.properties.offset)
            && ordered(footer.properties, footer.index.offset)
            && ordered(footer.index, footer_offset))
        {
            return Err(format!(
                "block handles {footer:?} do not fit before the footer at {footer_offset}"
            ));
        }
        Ok(footer)
    }

    /// Offset where the data blocks end (the filter block begins).
    pub fn data_end(&self) -> u64 {
        self.filter.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Footer {
        Footer {
            filter: BlockHandle {
                offset: 1000,
                size: 95,
            },
            properties: BlockHandle {
                offset: 1100,
                size: 40,
            },
            index: BlockHandle {
                offset: 1145,
                size: 300,
            },
            entries: 12345,
        }
    }

    #[test]
    fn round_trips() {
        let footer = sample();
        assert_eq!(Footer::decode(&footer.encode(), 1450), Ok(footer));
        assert_eq!(footer.data_end(), 1000);
    }

    #[test]
    fn every_damaged_byte_is_detected() {
        let bytes = sample().encode();
        for at in 0..bytes.len() {
            let mut damaged = bytes;
            damaged[at] ^= 0x10;
            assert!(Footer::decode(&damaged, 1450).is_err(), "byte {at}");
        }
    }

    #[test]
    fn handles_past_the_footer_are_rejected() {
        let err = Footer::decode(&sample().encode(), 1400).unwrap_err();
        assert!(err.contains("do not fit"), "{err}");
    }
}
