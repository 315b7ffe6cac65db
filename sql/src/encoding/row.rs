//! The compact row encoding: a table row stored as the engine value, read
//! back with the table's schema (the row does not record its types).
//!
//! ```text
//!   row    := varint(column_count) null_bitmap value*
//!   null_bitmap := ceil(column_count / 8) bytes; bit (i % 8) of byte (i / 8)
//!                  is set when column i is NULL; unused high bits are zero
//!   value  := one per non-NULL column, in column order:
//!     BOOLEAN  1 byte, 0x00 or 0x01
//!     INTEGER  zigzag LEB128 varint  (0 -> 00, -1 -> 01, 1 -> 02, 63 -> 7E, -65 -> 81 01)
//!     DOUBLE   8 bytes, little-endian IEEE bits (exact: keeps -0.0 and NaN payloads)
//!     TEXT     varint byte length, then UTF-8 bytes
//!
//!   (7, NULL, 'hi', true) with schema (INTEGER, TEXT, TEXT, BOOLEAN):
//!     04 | 02 | 0E | 02 68 69 | 01
//!     n=4  col 1 NULL  7  'hi'   true
//! ```
//!
//! A row with fewer columns than the schema decodes with the missing
//! trailing columns as NULL: a row written before `ALTER TABLE ... ADD
//! COLUMN` reads back with the new column NULL. More columns than the
//! schema, a value that runs past the end, bytes left over, a boolean byte
//! other than 0 or 1, set unused bitmap bits, or text that is not UTF-8 are
//! all [`Error::Corrupt`] (XX001) naming the byte offset: the decoder never
//! panics and never guesses.

use isodb_engine::storage::coding::{Decoder, put_bytes, put_varint};

use crate::error::{Error, Result};
use crate::types::{DataType, Value};

/// Encodes a row whose values match `schema` (same length; each value NULL
/// or of its column's type, else [`Error::DatatypeMismatch`]).
pub fn encode_row(values: &[Value], schema: &[DataType]) -> Result<Vec<u8>> {
    if values.len() != schema.len() {
        return Err(Error::DatatypeMismatch(format!(
            "row has {} values but the table has {} columns",
            values.len(),
            schema.len()
        )));
    }
    let payload: usize = values
        .iter()
        .map(|value| match value {
            Value::Text(s) => s.len() + 5,
            _ => 10,
        })
        .sum();
    let mut buf = Vec::with_capacity(10 + values.len().div_ceil(8) + payload);
    put_varint(&mut buf, values.len() as u64);
    let bitmap_at = buf.len();
    buf.resize(bitmap_at + values.len().div_ceil(8), 0);
    for (i, value) in values.iter().enumerate() {
        if value.is_null() {
            buf[bitmap_at + i / 8] |= 1 << (i % 8);
        }
    }
    for (i, (value, &data_type)) in values.iter().zip(schema).enumerate() {
        match (value, data_type) {
            (Value::Null, _) => {}
            (Value::Boolean(b), DataType::Boolean) => buf.push(u8::from(*b)),
            (Value::Integer(n), DataType::Integer) => put_varint(&mut buf, zigzag(*n)),
            (Value::Double(d), DataType::Double) => buf.extend_from_slice(&d.to_le_bytes()),
            (Value::Text(s), DataType::Text) => put_bytes(&mut buf, s.as_bytes()),
            (other, expected) => {
                return Err(Error::DatatypeMismatch(format!(
                    "column {i} is {expected} but the value is {}",
                    other.type_name()
                )));
            }
        }
    }
    Ok(buf)
}

/// Decodes a row written by [`encode_row`] with the same schema, or with a
/// schema that has since gained trailing columns (read as NULL).
pub fn decode_row(bytes: &[u8], schema: &[DataType]) -> Result<Vec<Value>> {
    let mut decoder = Decoder::new(bytes);
    let count = decoder
        .varint()
        .ok_or_else(|| corrupt(0, "missing or bad column count"))?;
    let count = usize::try_from(count)
        .ok()
        .filter(|&count| count <= schema.len())
        .ok_or_else(|| {
            corrupt(
                0,
                format!(
                    "row has {count} columns but the schema has {}",
                    schema.len()
                ),
            )
        })?;
    let bitmap_at = decoder.position();
    let bitmap = decoder
        .take(count.div_ceil(8))
        .ok_or_else(|| corrupt(bitmap_at, "truncated null bitmap"))?;
    if count % 8 != 0 && bitmap.last().is_some_and(|last| last >> (count % 8) != 0) {
        return Err(corrupt(
            bitmap_at,
            "null bitmap marks columns past the row's end",
        ));
    }
    let mut values = Vec::with_capacity(schema.len());
    for (i, &data_type) in schema.iter().enumerate().take(count) {
        let is_null = bitmap
            .get(i / 8)
            .is_some_and(|byte| byte & (1 << (i % 8)) != 0);
        if is_null {
            values.push(Value::Null);
            continue;
        }
        let at = decoder.position();
        let value = decode_value(&mut decoder, data_type, at)?;
        values.push(value);
    }
    if !decoder.is_empty() {
        return Err(corrupt(
            decoder.position(),
            "bytes left over after the last column",
        ));
    }
    values.resize(schema.len(), Value::Null);
    Ok(values)
}

/// Decodes one non-NULL value of `data_type` that starts at byte `at`.
fn decode_value(decoder: &mut Decoder<'_>, data_type: DataType, at: usize) -> Result<Value> {
    let truncated = || corrupt(at, format!("truncated {data_type} value"));
    let value = match data_type {
        DataType::Boolean => match decoder.u8().ok_or_else(truncated)? {
            0 => Value::Boolean(false),
            1 => Value::Boolean(true),
            other => return Err(corrupt(at, format!("boolean byte 0x{other:02x}"))),
        },
        DataType::Integer => Value::Integer(unzigzag(decoder.varint().ok_or_else(truncated)?)),
        DataType::Double => Value::Double(f64::from_bits(decoder.u64_le().ok_or_else(truncated)?)),
        DataType::Text => {
            let bytes = decoder.bytes().ok_or_else(truncated)?;
            let text =
                std::str::from_utf8(bytes).map_err(|_| corrupt(at, "text is not valid UTF-8"))?;
            Value::Text(text.to_string())
        }
    };
    Ok(value)
}

/// Maps signed to unsigned so small magnitudes stay small: 0, -1, 1, -2 -> 0, 1, 2, 3.
fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Inverts [`zigzag`].
fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

fn corrupt(offset: usize, reason: impl Into<String>) -> Error {
    Error::corrupt("row", offset, reason)
}

#[cfg(test)]
#[path = "row_tests.rs"]
mod tests;
