//! The memcomparable key encoding: tuples of values as byte strings whose
//! plain byte order (`memcmp`, `Vec<u8>::cmp`, the engine's key order) is
//! the tuple order, column by column, NULLs first, ascending values.
//!
//! Primary keys and index keys are stored this way, so a range of tuples is
//! a range of bytes and the planner can scan it without decoding.
//!
//! Each value is a tag byte followed by a body; tags order the types and put
//! NULL first. Every encoded value is self-delimiting, so a tuple is the
//! plain concatenation of its values, and the encoding of a tuple prefix is
//! a byte prefix of the encoding of every tuple that starts with it.
//!
//! ```text
//!   value         tag   body
//!   NULL          0x00  (none)
//!   FALSE         0x10  (none)
//!   TRUE          0x11  (none)
//!   Integer i     0x20  8 bytes big-endian of (i XOR 1<<63)    sign flip: MIN..MAX -> 00..FF
//!   Double  d     0x30  8 bytes big-endian of the bits of d,   negative: all bits inverted;
//!                                                              positive: sign bit set
//!   Text    s     0x40  UTF-8 bytes with 0x00 -> 0x00 0xFF, then terminator 0x00 0x00
//!
//!   (5, 'ab')   -> 20 80 00 00 00 00 00 00 05 | 40 61 62 00 00
//!   (5, 'a\0')  -> 20 80 00 00 00 00 00 00 05 | 40 61 00 FF 00 00
//!   (5, NULL)   -> 20 80 00 00 00 00 00 00 05 | 00
//! ```
//!
//! Text: a string sorts before its extensions because its terminator
//! `00 00` is below any continuation byte (`00 FF` for an embedded zero, or a
//! non-zero byte). Byte order of UTF-8 is code-point order, so text keys
//! order like `str::cmp`.
//!
//! Doubles: `-0.0` is encoded as `0.0` and every NaN as one canonical
//! positive NaN, which sorts after `+inf`; so key order matches
//! [`Value::total_cmp`] (`-inf < ... < -0.0 = 0.0 < ... < +inf < NaN`), and
//! `-0.0` reads back as `0.0`.
//!
//! A column has one type, so integers and doubles never meet in one key
//! column. If they do, they order by tag (every integer before every
//! double, whatever the numbers) and `1` and `1.0` are different keys: the
//! planner must cast a search value to the column's type before encoding it.
//!
//! Turning predicates on a key prefix `p` (the encoding of the leading
//! column values) into byte ranges, with `succ` = [`prefix_successor`]:
//!
//! ```text
//!   col = v    [enc(v), succ(enc(v)))          col >= v   [enc(v), end)
//!   col > v    [succ(enc(v)), end)             col <= v   [start, succ(enc(v)))
//!   col < v    [start, enc(v))    -- start at succ(enc(NULL)) = [0x01] to skip NULLs
//! ```

use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::types::Value;

const TAG_NULL: u8 = 0x00;
const TAG_FALSE: u8 = 0x10;
const TAG_TRUE: u8 = 0x11;
const TAG_INTEGER: u8 = 0x20;
const TAG_DOUBLE: u8 = 0x30;
const TAG_TEXT: u8 = 0x40;

/// The bit pattern every NaN is stored as.
const CANONICAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0000;
const SIGN_BIT: u64 = 1 << 63;

/// Encodes a tuple of values as a memcomparable key.
pub fn encode_key(values: &[Value]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(values.iter().map(encoded_len_hint).sum());
    encode_key_into(&mut buf, values);
    buf
}

/// Encodes the columns `columns` of `row` (a missing column as NULL) as a
/// memcomparable key — the same bytes as [`encode_key`] of those values —
/// followed by `suffix`, an encoded key. Keys concatenate: the key of
/// `a ++ b` is the key of `a`, then of `b`.
pub fn encode_columns(row: &[Value], columns: &[usize], suffix: &[u8]) -> Vec<u8> {
    let value = |i: usize| row.get(i).unwrap_or(&Value::Null);
    let len: usize = columns.iter().map(|&i| encoded_len_hint(value(i))).sum();
    let mut buf = Vec::with_capacity(len + suffix.len());
    for &i in columns {
        encode_value_into(&mut buf, value(i));
    }
    buf.extend_from_slice(suffix);
    buf
}

/// Appends the key encoding of `values` to `buf`, e.g. after a table or
/// index id, so that prefix and tuple order are kept.
pub fn encode_key_into(buf: &mut Vec<u8>, values: &[Value]) {
    for value in values {
        encode_value_into(buf, value);
    }
}

/// The encoded length of `value` (exact unless a text holds zero bytes).
fn encoded_len_hint(value: &Value) -> usize {
    match value {
        Value::Null | Value::Boolean(_) => 1,
        Value::Integer(_) | Value::Double(_) => 9,
        Value::Text(s) => s.len() + 3,
    }
}

fn encode_value_into(buf: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => buf.push(TAG_NULL),
        Value::Boolean(false) => buf.push(TAG_FALSE),
        Value::Boolean(true) => buf.push(TAG_TRUE),
        Value::Integer(i) => {
            buf.push(TAG_INTEGER);
            buf.extend_from_slice(&((*i as u64) ^ SIGN_BIT).to_be_bytes());
        }
        Value::Double(d) => {
            buf.push(TAG_DOUBLE);
            buf.extend_from_slice(&ordered_double_bits(*d).to_be_bytes());
        }
        Value::Text(s) => {
            buf.push(TAG_TEXT);
            for &byte in s.as_bytes() {
                buf.push(byte);
                if byte == 0x00 {
                    buf.push(0xFF);
                }
            }
            buf.extend_from_slice(&[0x00, 0x00]);
        }
    }
}

/// Decodes a whole key back into its values. Bytes that no call of
/// [`encode_key`] produces are an [`Error::Corrupt`] (XX001).
pub fn decode_key(bytes: &[u8]) -> Result<Vec<Value>> {
    let mut values = Vec::new();
    let mut pos = 0;
    while let Some(&tag) = bytes.get(pos) {
        pos += 1;
        let value = match tag {
            TAG_NULL => Value::Null,
            TAG_FALSE => Value::Boolean(false),
            TAG_TRUE => Value::Boolean(true),
            TAG_INTEGER => Value::Integer((read_u64(bytes, &mut pos)? ^ SIGN_BIT) as i64),
            TAG_DOUBLE => Value::Double(double_from_ordered_bits(read_u64(bytes, &mut pos)?)),
            TAG_TEXT => Value::Text(read_text(bytes, &mut pos)?),
            other => {
                return Err(corrupt(pos - 1, format!("unknown type tag 0x{other:02x}")));
            }
        };
        values.push(value);
    }
    Ok(values)
}

/// The smallest byte string greater than every string that starts with
/// `prefix`: the exclusive end of a prefix scan. `None` when there is none
/// (an empty prefix, or one of only 0xFF bytes): scan to the end.
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut successor = prefix.to_vec();
    while let Some(last) = successor.pop() {
        if last < 0xFF {
            successor.push(last + 1);
            return Some(successor);
        }
    }
    None
}

/// Maps a double to a u64 whose unsigned order is the double's total order.
fn ordered_double_bits(value: f64) -> u64 {
    let bits = if value.is_nan() {
        CANONICAL_NAN_BITS
    } else if value == 0.0 {
        0 // both zeroes as +0.0
    } else {
        value.to_bits()
    };
    if bits & SIGN_BIT != 0 {
        !bits
    } else {
        bits | SIGN_BIT
    }
}

/// Inverts [`ordered_double_bits`].
fn double_from_ordered_bits(ordered: u64) -> f64 {
    let bits = if ordered & SIGN_BIT != 0 {
        ordered & !SIGN_BIT
    } else {
        !ordered
    };
    f64::from_bits(bits)
}

/// Reads the 8-byte big-endian body of an integer or double.
fn read_u64(bytes: &[u8], pos: &mut usize) -> Result<u64> {
    let body = bytes
        .get(*pos..*pos + 8)
        .ok_or_else(|| corrupt(*pos, "truncated 8-byte number"))?;
    let mut array = [0u8; 8];
    array.copy_from_slice(body);
    *pos += 8;
    Ok(u64::from_be_bytes(array))
}

/// Reads an escaped, terminated text body.
fn read_text(bytes: &[u8], pos: &mut usize) -> Result<String> {
    let start = *pos;
    let mut text = Vec::new();
    loop {
        let byte = *bytes
            .get(*pos)
            .ok_or_else(|| corrupt(start, "text without its 00 00 terminator"))?;
        *pos += 1;
        if byte != 0x00 {
            text.push(byte);
            continue;
        }
        match bytes.get(*pos) {
            Some(0x00) => {
                *pos += 1;
                break;
            }
            Some(0xFF) => {
                *pos += 1;
                text.push(0x00);
            }
            _ => {
                return Err(corrupt(
                    *pos - 1,
                    "0x00 in text not followed by 0x00 or 0xFF",
                ));
            }
        }
    }
    String::from_utf8(text).map_err(|_| corrupt(start, "text is not valid UTF-8"))
}

fn corrupt(offset: usize, reason: impl Into<String>) -> Error {
    Error::corrupt("key", offset, reason)
}

/// Compares two tuples column by column with [`Value::total_cmp`] (NULLs
/// first): the order the encoding preserves.
pub fn tuple_cmp(a: &[Value], b: &[Value]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        match x.total_cmp(y) {
            Ordering::Equal => continue,
            unequal => return unequal,
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
#[path = "key_tests.rs"]
mod tests;
