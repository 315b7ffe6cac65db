//! Little helpers for the byte formats: LEB128 varints and fixed-width integers.
//!
//! Decoders return `None` on truncated or overlong input; callers turn that
//! into a corruption error naming their file and offset.

/// Appends `value` as an unsigned LEB128 varint.
pub fn put_varint(buf: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buf.push((value as u8) | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

/// Decodes a varint at the start of `input`; returns it and the bytes it used.
pub fn get_varint(input: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &byte) in input.iter().enumerate().take(10) {
        let part = u64::from(byte & 0x7f);
        if i == 9 && part > 1 {
            return None;
        }
        value |= part << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// A cursor over a byte slice for decoding; every read fails softly.
pub struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    /// Starts decoding `input` at its first byte.
    pub fn new(input: &'a [u8]) -> Self {
        Decoder { input, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// True when all input has been consumed.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// Reads a varint.
    pub fn varint(&mut self) -> Option<u64> {
        let (value, used) = get_varint(&self.input[self.pos..])?;
        self.pos += used;
        Some(value)
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Option<u8> {
        let byte = *self.input.get(self.pos)?;
        self.pos += 1;
        Some(byte)
    }

    /// Reads a little-endian u32.
    pub fn u32_le(&mut self) -> Option<u32> {
        let bytes = self.take(4)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?))
    }

    /// Reads a little-endian u64.
    pub fn u64_le(&mut self) -> Option<u64> {
        let bytes = self.take(8)?;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }

    /// Reads `len` raw bytes.
    pub fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(len)?;
        let bytes = self.input.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    /// Reads a length-prefixed byte string.
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_reject_truncation() {
        for value in [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, value);
            assert_eq!(get_varint(&buf), Some((value, buf.len())));
            assert_eq!(get_varint(&buf[..buf.len() - 1]), None);
        }
        assert_eq!(get_varint(&[0xff; 11]), None);
    }

    #[test]
    fn decoder_reads_what_was_written() {
        let mut buf = Vec::new();
        put_bytes(&mut buf, b"hello");
        buf.extend_from_slice(&7u32.to_le_bytes());
        let mut d = Decoder::new(&buf);
        assert_eq!(d.bytes(), Some(&b"hello"[..]));
        assert_eq!(d.u32_le(), Some(7));
        assert!(d.is_empty());
        assert_eq!(d.u8(), None);
    }
}
