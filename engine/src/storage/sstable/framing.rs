//! How a block is framed on disk and located: the checksummed block trailer
//! and the [`BlockHandle`] that points at a framed block.
//!
//! ```text
//! +----------------------+------------------+-------------------------------------+
//! | payload (size bytes) | compression: u8  | crc32c(payload ++ compression): u32 LE |
//! +----------------------+------------------+-------------------------------------+
//! ^ handle.offset
//! ```
//!
//! A handle's `size` counts the payload only; the 5 trailer bytes follow it.
//! Compression type 0 (none) is the only one written; the byte is reserved so
//! a later format can compress without moving anything. Every read from disk
//! verifies the checksum before the payload is looked at.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::storage::coding::{Decoder, put_varint};

/// Bytes that follow every block payload: compression type and checksum.
pub const BLOCK_TRAILER_LEN: u64 = 5;

/// Compression type of an uncompressed payload.
pub const COMPRESSION_NONE: u8 = 0;

/// Where a framed block lies in a table file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHandle {
    /// Offset of the first payload byte.
    pub offset: u64,
    /// Payload length, trailer excluded.
    pub size: u64,
}

impl BlockHandle {
    /// Appends the handle as two varints (offset, size), the form used as
    /// index-block values.
    pub fn encode_to(&self, buf: &mut Vec<u8>) {
        put_varint(buf, self.offset);
        put_varint(buf, self.size);
    }

    /// Decodes a handle written by [`BlockHandle::encode_to`] that fills all
    /// of `bytes`; `None` when malformed.
    pub fn decode(bytes: &[u8]) -> Option<BlockHandle> {
        let mut decoder = Decoder::new(bytes);
        let offset = decoder.varint()?;
        let size = decoder.varint()?;
        decoder.is_empty().then_some(BlockHandle { offset, size })
    }

    /// Offset just past the block's trailer; `None` on overflow.
    pub fn end(&self) -> Option<u64> {
        self.offset
            .checked_add(self.size)?
            .checked_add(BLOCK_TRAILER_LEN)
    }
}

/// The trailer to write after `payload`.
pub fn block_trailer(payload: &[u8]) -> [u8; BLOCK_TRAILER_LEN as usize] {
    let crc = block_checksum(payload, COMPRESSION_NONE);
    let mut trailer = [0u8; BLOCK_TRAILER_LEN as usize];
    trailer[0] = COMPRESSION_NONE;
    trailer[1..].copy_from_slice(&crc.to_le_bytes());
    trailer
}

/// Reads the block at `handle` from `file` and returns its payload after
/// checking the compression type and checksum. The caller has checked that
/// the handle lies inside the file.
pub fn read_block_payload(file: &File, path: &Path, handle: BlockHandle) -> Result<Vec<u8>> {
    let corrupt = |reason: String| Error::corruption(path, handle.offset, reason);
    let framed_len = handle
        .size
        .checked_add(BLOCK_TRAILER_LEN)
        .and_then(|len| usize::try_from(len).ok())
        .ok_or_else(|| corrupt(format!("block size {} is impossible", handle.size)))?;
    let mut framed = vec![0u8; framed_len];
    file.read_exact_at(&mut framed, handle.offset)
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                corrupt("block extends past the end of the file".to_string())
            }
            _ => Error::io(path, error),
        })?;
    let payload_len = framed_len - BLOCK_TRAILER_LEN as usize;
    let compression = framed[payload_len];
    let mut stored = [0u8; 4];
    stored.copy_from_slice(&framed[payload_len + 1..]);
    let stored = u32::from_le_bytes(stored);
    let actual = block_checksum(&framed[..payload_len], compression);
    if stored != actual {
        return Err(corrupt(format!(
            "block checksum mismatch: stored {stored:#010x}, computed {actual:#010x}"
        )));
    }
    if compression != COMPRESSION_NONE {
        return Err(corrupt(format!("unknown compression type {compression}")));
    }
    framed.truncate(payload_len);
    Ok(framed)
}

/// crc32c of the payload followed by the compression byte.
fn block_checksum(payload: &[u8], compression: u8) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(payload), &[compression])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn handles_round_trip_and_reject_trailing_bytes() {
        let handle = BlockHandle {
            offset: 1 << 40,
            size: 4096,
        };
        let mut buf = Vec::new();
        handle.encode_to(&mut buf);
        assert_eq!(BlockHandle::decode(&buf), Some(handle));
        buf.push(0);
        assert_eq!(BlockHandle::decode(&buf), None);
        assert_eq!(BlockHandle::decode(&[0x80]), None);
        let huge = BlockHandle {
            offset: u64::MAX,
            size: 1,
        };
        assert_eq!(huge.end(), None);
    }

    #[test]
    fn framed_block_reads_back_and_detects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("framed");
        let payload = b"some block payload".to_vec();
        let mut bytes = b"prefix".to_vec();
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&block_trailer(&payload));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
        let handle = BlockHandle {
            offset: 6,
            size: payload.len() as u64,
        };
        let file = File::open(&path).unwrap();
        assert_eq!(read_block_payload(&file, &path, handle).unwrap(), payload);

        for at in 6..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x04;
            std::fs::write(&path, &damaged).unwrap();
            let file = File::open(&path).unwrap();
            let err = read_block_payload(&file, &path, handle).unwrap_err();
            assert!(
                matches!(err, Error::Corruption { offset: 6, .. }),
                "byte {at}: {err}"
            );
        }

        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        let file = File::open(&path).unwrap();
        let err = read_block_payload(&file, &path, handle).unwrap_err();
        assert!(matches!(err, Error::Corruption { .. }), "{err}");
    }
}
