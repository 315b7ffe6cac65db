//! Tests of the row encoding: the documented layout, round trips with exact
//! doubles, schema evolution, and decoders that never panic.

use super::*;
use proptest::prelude::*;

use DataType::{Boolean, Double, Integer, Text};

/// Values identical down to the bits of doubles (stricter than `==`).
fn identical(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Value::Double(p), Value::Double(q)) => p.to_bits() == q.to_bits(),
            _ => x == y && x.data_type() == y.data_type(),
        })
}

#[test]
fn layout_matches_the_documented_example() {
    let row = [
        Value::Integer(7),
        Value::Null,
        Value::from("hi"),
        Value::Boolean(true),
    ];
    let bytes = encode_row(&row, &[Integer, Text, Text, Boolean]).expect("encodes");
    assert_eq!(bytes, [0x04, 0x02, 0x0E, 0x02, b'h', b'i', 0x01]);
}

#[test]
fn zigzag_keeps_small_magnitudes_small() {
    let cases = [(0, 0), (-1, 1), (1, 2), (63, 126), (-65, 129)];
    for (value, encoded) in cases {
        assert_eq!(zigzag(value), encoded);
        assert_eq!(unzigzag(encoded), value);
    }
    for value in [i64::MIN, i64::MAX, i64::MIN + 1] {
        assert_eq!(unzigzag(zigzag(value)), value);
    }
}

#[test]
fn doubles_round_trip_bit_for_bit() {
    let schema = [Double, Double, Double];
    let row = [
        Value::Double(-0.0),
        Value::Double(f64::from_bits(0x7ff8_dead_beef_0001)),
        Value::Double(f64::NEG_INFINITY),
    ];
    let bytes = encode_row(&row, &schema).expect("encodes");
    let decoded = decode_row(&bytes, &schema).expect("decodes");
    assert!(identical(&decoded, &row), "{decoded:?}");
}

#[test]
fn rows_from_before_add_column_read_the_new_column_as_null() {
    let bytes = encode_row(&[Value::Integer(1)], &[Integer]).expect("encodes");
    let decoded = decode_row(&bytes, &[Integer, Text, Boolean]).expect("decodes");
    assert!(identical(
        &decoded,
        &[Value::Integer(1), Value::Null, Value::Null]
    ));
}

#[test]
fn values_must_match_the_schema() {
    let wrong_type = encode_row(&[Value::Integer(1)], &[Double]).err();
    assert_eq!(wrong_type.map(|e| e.sqlstate()), Some("42804"));
    let wrong_len = encode_row(&[Value::Integer(1)], &[Integer, Integer]).err();
    assert_eq!(wrong_len.map(|e| e.sqlstate()), Some("42804"));
    assert!(encode_row(&[Value::Null], &[Boolean]).is_ok());
}

#[test]
fn corrupt_rows_are_errors() {
    let schema = [Integer, Boolean, Text];
    let cases: [&[u8]; 8] = [
        &[],                                   // no column count
        &[0x04, 0x00],                         // more columns than the schema
        &[0x03],                               // no bitmap
        &[0x03, 0x08],                         // bitmap bit past the row's end
        &[0x03, 0x00, 0x02, 0x02],             // boolean byte 2
        &[0x03, 0x00, 0x02, 0x01, 0x05],       // text shorter than its length
        &[0x03, 0x00, 0x02, 0x01, 0x01, 0xFF], // text not UTF-8
        &[0x03, 0x06, 0x02, 0x00],             // bytes left over
    ];
    for bytes in cases {
        let error = decode_row(bytes, &schema).err();
        assert_eq!(error.map(|e| e.sqlstate()), Some("XX001"), "{bytes:?}");
    }
    let good = [0x03, 0x00, 0x02, 0x01, 0x01, b'x'];
    assert!(decode_row(&good, &schema).is_ok());
}

fn value_of(data_type: DataType) -> BoxedStrategy<Value> {
    let non_null = match data_type {
        Boolean => any::<bool>().prop_map(Value::Boolean).boxed(),
        Integer => prop_oneof![Just(i64::MIN), Just(i64::MAX), any::<i64>(), -200i64..200]
            .prop_map(Value::Integer)
            .boxed(),
        Double => any::<u64>()
            .prop_map(|bits| Value::Double(f64::from_bits(bits)))
            .boxed(),
        Text => any::<String>().prop_map(Value::Text).boxed(),
    };
    prop_oneof![1 => Just(Value::Null), 3 => non_null].boxed()
}

fn schema_and_row() -> impl Strategy<Value = (Vec<DataType>, Vec<Value>)> {
    prop::collection::vec(
        prop::sample::select(vec![Boolean, Integer, Double, Text]),
        0..20,
    )
    .prop_flat_map(|schema| {
        let row: Vec<_> = schema.iter().map(|&t| value_of(t)).collect();
        (Just(schema), row)
    })
}

proptest! {
    #[test]
    fn rows_round_trip((schema, row) in schema_and_row()) {
        let bytes = encode_row(&row, &schema).expect("values match the schema");
        let decoded = decode_row(&bytes, &schema);
        prop_assert!(decoded.as_ref().is_ok_and(|d| identical(d, &row)), "{:?} -> {:?}", row, decoded);
    }

    #[test]
    fn truncated_rows_are_errors_not_panics((schema, row) in schema_and_row(), cut in any::<prop::sample::Index>()) {
        let bytes = encode_row(&row, &schema).expect("values match the schema");
        let cut = cut.index(bytes.len());
        prop_assert!(decode_row(&bytes[..cut], &schema).is_err());
    }

    #[test]
    fn random_bytes_never_panic(
        (schema, _row) in schema_and_row(),
        bytes in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        if let Ok(values) = decode_row(&bytes, &schema) {
            prop_assert_eq!(values.len(), schema.len());
        }
    }
}
