//! Values on the wire: which type OID describes a column or parameter, and
//! how a value is written and read in PostgreSQL's text and binary formats.
//!
//! One row per isodb type says everything the server needs (the OIDs and
//! names come from [`isodb::types::pg_type`]):
//!
//! ```text
//!   DataType   column OID     text out         binary out        parameters read as
//!   Boolean    bool (16)      t / f            1 byte            bool
//!   Integer    int8 (20)      -42              8 bytes BE        int2, int4, int8, oid
//!   Double     float8 (701)   0.1, NaN, -0     8 bytes IEEE BE   float4, float8, numeric (text)
//!   Text       text (25)      as is            UTF-8             text, varchar, bpchar, name, unknown
//! ```
//!
//! A parameter arrives with the type the client declared in Parse (or, when
//! it declared none, the type isodb inferred from the statement). Text
//! parameters are read with isodb's casts, so `'12'` for an INTEGER is 12
//! and `'x'` fails with 22P02; binary parameters are read by their
//! declared OID's layout and must have exactly its size.

use bytes::{BufMut, BytesMut};
use isodb::types::pg_type::PgType;
use isodb::{DataType, Value, cast};

/// Format code of text.
pub const TEXT: i16 = 0;
/// Format code of binary.
pub const BINARY: i16 = 1;

/// The OID a column of `data_type` (or of no known type) is described with.
pub fn column_oid(data_type: Option<DataType>) -> u32 {
    PgType::of(data_type.unwrap_or(DataType::Text)).oid
}

/// The size `RowDescription` gives for a column type.
pub fn column_size(data_type: Option<DataType>) -> i16 {
    PgType::of(data_type.unwrap_or(DataType::Text)).len
}

/// Why a value could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// A binary value of the wrong size or content (08P01, like PostgreSQL's
    /// "insufficient data left in message").
    #[error("incorrect binary data format in bind parameter {0}")]
    BadBinary(usize),
    /// A declared type isodb has no storage type for (0A000).
    #[error("parameter ${0} has type OID {1}, which isodb does not support")]
    UnsupportedType(usize, u32),
    /// A format code other than 0 and 1 (08P01).
    #[error("unsupported format code: {0}")]
    BadFormat(i16),
    /// A text value the target type cannot read (its own SQLSTATE).
    #[error(transparent)]
    Sql(#[from] isodb::Error),
}

impl WireError {
    /// The SQLSTATE sent with it.
    pub fn sqlstate(&self) -> &str {
        match self {
            WireError::BadBinary(_) | WireError::BadFormat(_) => "08P01",
            WireError::UnsupportedType(..) => "0A000",
            WireError::Sql(e) => e.sqlstate(),
        }
    }
}

/// Appends one value in `format` to a DataRow body, converted to the
/// column's described type first (binary must match the description).
pub fn put_value(
    out: &mut BytesMut,
    value: &Value,
    described: Option<DataType>,
    format: i16,
) -> Result<(), WireError> {
    if value.is_null() {
        out.put_i32(-1);
        return Ok(());
    }
    let target = described.unwrap_or(DataType::Text);
    let converted;
    let value = if value.data_type() == Some(target) {
        value
    } else if target == DataType::Text {
        converted = Value::Text(text(value));
        &converted
    } else {
        converted = cast(value, target)?;
        &converted
    };
    let start = out.len();
    out.put_i32(0);
    match (format, value) {
        (TEXT, value) => out.put_slice(text(value).as_bytes()),
        (BINARY, Value::Boolean(b)) => out.put_u8(u8::from(*b)),
        (BINARY, Value::Integer(i)) => out.put_i64(*i),
        (BINARY, Value::Double(d)) => out.put_f64(*d),
        (BINARY, Value::Text(s)) => out.put_slice(s.as_bytes()),
        (BINARY, Value::Null) => {}
        (other, _) => return Err(WireError::BadFormat(other)),
    }
    let length = i32::try_from(out.len() - start - 4).unwrap_or(i32::MAX);
    out[start..start + 4].copy_from_slice(&length.to_be_bytes());
    Ok(())
}

/// PostgreSQL's text output of a value (booleans are `t` and `f`).
pub fn text(value: &Value) -> String {
    match value {
        Value::Boolean(true) => "t".into(),
        Value::Boolean(false) => "f".into(),
        other => other.to_string(),
    }
}

/// Reads parameter number `index` (0-based) sent as `bytes` in `format`,
/// declared with type `oid` (0: undeclared) and inferred as `inferred`.
pub fn read_param(
    index: usize,
    bytes: Option<&[u8]>,
    format: i16,
    oid: u32,
    inferred: Option<DataType>,
) -> Result<Value, WireError> {
    let Some(bytes) = bytes else {
        return Ok(Value::Null);
    };
    let declared = match oid {
        0 => None,
        oid => Some(PgType::by_oid(oid).ok_or(WireError::UnsupportedType(index + 1, oid))?),
    };
    match format {
        TEXT => {
            let text = std::str::from_utf8(bytes).map_err(|_| WireError::BadBinary(index + 1))?;
            let target = declared
                .map(|t| t.data_type)
                .or(inferred)
                .unwrap_or(DataType::Text);
            let value = Value::Text(text.to_string());
            Ok(if target == DataType::Text {
                value
            } else {
                cast(&value, target)?
            })
        }
        BINARY => {
            let pg = declared
                .or_else(|| inferred.map(PgType::of))
                .unwrap_or_else(|| PgType::of(DataType::Text));
            read_binary(index, bytes, pg)
        }
        other => Err(WireError::BadFormat(other)),
    }
}

fn read_binary(index: usize, bytes: &[u8], pg: PgType) -> Result<Value, WireError> {
    let bad = || WireError::BadBinary(index + 1);
    let fixed = |n: usize| -> Result<&[u8], WireError> {
        if bytes.len() == n {
            Ok(bytes)
        } else {
            Err(bad())
        }
    };
    Ok(match pg.name {
        "bool" => Value::Boolean(fixed(1)?[0] != 0),
        "int2" => Value::Integer(i64::from(i16::from_be_bytes(
            fixed(2)?.try_into().map_err(|_| bad())?,
        ))),
        "int4" => Value::Integer(i64::from(i32::from_be_bytes(
            fixed(4)?.try_into().map_err(|_| bad())?,
        ))),
        "oid" => Value::Integer(i64::from(u32::from_be_bytes(
            fixed(4)?.try_into().map_err(|_| bad())?,
        ))),
        "int8" => Value::Integer(i64::from_be_bytes(fixed(8)?.try_into().map_err(|_| bad())?)),
        "float4" => Value::Double(f64::from(f32::from_be_bytes(
            fixed(4)?.try_into().map_err(|_| bad())?,
        ))),
        "float8" => Value::Double(f64::from_be_bytes(fixed(8)?.try_into().map_err(|_| bad())?)),
        "numeric" => return Err(WireError::UnsupportedType(index + 1, pg.oid)),
        _ => Value::Text(String::from_utf8(bytes.to_vec()).map_err(|_| bad())?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: Value, described: Option<DataType>, format: i16) -> Vec<u8> {
        let mut out = BytesMut::new();
        put_value(&mut out, &value, described, format).expect("encodes");
        out.to_vec()
    }

    #[test]
    fn every_type_round_trips_through_both_formats() {
        let cases = [
            (Value::Boolean(true), DataType::Boolean),
            (Value::Integer(-42), DataType::Integer),
            (Value::Integer(i64::MIN), DataType::Integer),
            (Value::Double(0.1), DataType::Double),
            (Value::Double(f64::NEG_INFINITY), DataType::Double),
            (Value::Text("héllo".into()), DataType::Text),
        ];
        for (value, data_type) in cases {
            for format in [TEXT, BINARY] {
                let bytes = encoded(value.clone(), Some(data_type), format);
                let body = &bytes[4..];
                let oid = column_oid(Some(data_type));
                let back = read_param(0, Some(body), format, oid, None).expect("decodes");
                assert_eq!(back, value, "{value:?} in format {format}");
            }
        }
        assert_eq!(
            encoded(Value::Boolean(false), Some(DataType::Boolean), TEXT),
            b"\0\0\0\x01f"
        );
        assert_eq!(
            encoded(Value::Null, Some(DataType::Integer), BINARY),
            [0xff; 4]
        );
    }

    #[test]
    fn parameters_follow_their_declared_type() {
        assert_eq!(
            read_param(0, Some(&7i32.to_be_bytes()), BINARY, 23, None).ok(),
            Some(Value::Integer(7))
        );
        assert_eq!(
            read_param(0, Some(&3i16.to_be_bytes()), BINARY, 21, None).ok(),
            Some(Value::Integer(3))
        );
        assert_eq!(
            read_param(0, Some(b"12"), TEXT, 0, Some(DataType::Integer)).ok(),
            Some(Value::Integer(12))
        );
        assert_eq!(
            read_param(0, Some(b"12"), TEXT, 0, None).ok(),
            Some(Value::Text("12".into()))
        );
        assert_eq!(
            read_param(0, Some(b"t"), TEXT, 16, None).ok(),
            Some(Value::Boolean(true))
        );
        assert_eq!(
            read_param(0, None, BINARY, 20, None).ok(),
            Some(Value::Null)
        );
        let short = read_param(1, Some(&[0, 1]), BINARY, 20, None).expect_err("too short");
        assert_eq!(short.sqlstate(), "08P01");
        let bad_text = read_param(0, Some(b"x"), TEXT, 20, None).expect_err("not a number");
        assert_eq!(bad_text.sqlstate(), "22P02");
        assert_eq!(
            read_param(0, Some(b"x"), TEXT, 600, None)
                .expect_err("point")
                .sqlstate(),
            "0A000"
        );
        assert_eq!(
            read_param(0, Some(b"x"), 2, 25, None)
                .expect_err("format")
                .sqlstate(),
            "08P01"
        );
    }
}
