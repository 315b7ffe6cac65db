//! Tests of the key encoding: byte order equals tuple order (NULLs first),
//! round trips, prefix ranges, and decoders that never panic.

use super::*;
use crate::types::DataType;
use proptest::prelude::*;

fn key(values: &[Value]) -> Vec<u8> {
    encode_key(values)
}

#[test]
fn layout_matches_the_documented_diagram() {
    assert_eq!(
        key(&[Value::Integer(5), Value::from("ab")]),
        [0x20, 0x80, 0, 0, 0, 0, 0, 0, 5, 0x40, b'a', b'b', 0, 0]
    );
    assert_eq!(
        key(&[Value::from("a\0")]),
        [0x40, b'a', 0x00, 0xFF, 0x00, 0x00]
    );
    assert_eq!(key(&[Value::Null, Value::Boolean(true)]), [0x00, 0x11]);
}

#[test]
fn hand_picked_orders() {
    let ascending = [
        Value::Null,
        Value::Boolean(false),
        Value::Boolean(true),
        Value::Integer(i64::MIN),
        Value::Integer(-1),
        Value::Integer(0),
        Value::Integer(1),
        Value::Integer(i64::MAX),
    ];
    for pair in ascending.windows(2) {
        assert!(key(&pair[..1]) < key(&pair[1..]), "{pair:?}");
    }
    let doubles = [
        f64::NEG_INFINITY,
        -f64::MAX,
        -1.5,
        -f64::MIN_POSITIVE,
        -1e-310,
        0.0,
        1e-310,
        1.0,
        f64::MAX,
        f64::INFINITY,
        f64::NAN,
    ];
    for pair in doubles.windows(2) {
        assert!(
            key(&[Value::Double(pair[0])]) < key(&[Value::Double(pair[1])]),
            "{pair:?}"
        );
    }
    assert_eq!(key(&[Value::Double(-0.0)]), key(&[Value::Double(0.0)]));
    assert_eq!(
        key(&[Value::Double(-f64::NAN)]),
        key(&[Value::Double(f64::NAN)])
    );
    let texts = [
        "", "\0", "\0\0", "\0a", "a", "a\0", "a\u{1}", "ab", "b", "é",
    ];
    for pair in texts.windows(2) {
        assert!(
            key(&[Value::from(pair[0])]) < key(&[Value::from(pair[1])]),
            "{pair:?}"
        );
    }
}

#[test]
fn prefix_successor_bounds_a_prefix_scan() {
    assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
    assert_eq!(prefix_successor(&[0x01, 0xFF, 0xFF]), Some(vec![0x02]));
    assert_eq!(prefix_successor(&[0xFF, 0xFF]), None);
    assert_eq!(prefix_successor(&[]), None);
    // `a = 5` on the first column of (a, b): every (5, _) key is in
    // [enc(5), succ(enc(5))), and (4, _) and (6, _) are outside.
    let start = key(&[Value::Integer(5)]);
    let end = prefix_successor(&start).expect("an integer key has a successor");
    for b in [Value::Null, Value::from(""), Value::from("\u{10FFFF}\0\0")] {
        let inside = key(&[Value::Integer(5), b]);
        assert!(start <= inside && inside < end);
    }
    assert!(key(&[Value::Integer(4), Value::from("zzz")]) < start);
    assert!(key(&[Value::Integer(6), Value::Null]) >= end);
    // Skipping NULLs in the first column: start at succ(enc(NULL)).
    let not_null = prefix_successor(&key(&[Value::Null])).expect("successor");
    assert!(key(&[Value::Null, Value::Integer(i64::MAX)]) < not_null);
    assert!(key(&[Value::Boolean(false)]) >= not_null);
}

#[test]
fn mixed_integer_and_double_order_by_tag() {
    // Documented: not numeric. Every integer sorts before every double.
    assert!(key(&[Value::Integer(i64::MAX)]) < key(&[Value::Double(f64::NEG_INFINITY)]));
    assert_ne!(key(&[Value::Integer(1)]), key(&[Value::Double(1.0)]));
}

#[test]
fn corrupt_keys_are_errors() {
    let cases: [&[u8]; 6] = [
        &[0x20, 1, 2, 3],
        &[0x30],
        &[0x40, b'a'],
        &[0x40, b'a', 0x00],
        &[0x40, 0x00, 0x01],
        &[0x99],
    ];
    for bytes in cases {
        let error = decode_key(bytes).err();
        assert_eq!(error.map(|e| e.sqlstate()), Some("XX001"), "{bytes:?}");
    }
    assert!(
        decode_key(&[0x40, 0xC3, 0x28, 0x00, 0x00]).is_err(),
        "invalid UTF-8"
    );
    assert_eq!(decode_key(&[]).ok(), Some(vec![]));
}

fn value_of(data_type: DataType) -> BoxedStrategy<Value> {
    let non_null = match data_type {
        DataType::Boolean => any::<bool>().prop_map(Value::Boolean).boxed(),
        DataType::Integer => prop_oneof![Just(i64::MIN), Just(i64::MAX), -3i64..3, any::<i64>(),]
            .prop_map(Value::Integer)
            .boxed(),
        DataType::Double => prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::NAN),
            Just(-f64::NAN),
            Just(f64::MIN_POSITIVE),
            -3.0f64..3.0,
            any::<f64>(),
        ]
        .prop_map(Value::Double)
        .boxed(),
        DataType::Text => {
            let chars = prop::sample::select(vec!['a', 'b', '\0', '\u{1}', '\u{ff}', 'é', '日']);
            prop::collection::vec(chars, 0..5)
                .prop_map(|chars| Value::Text(chars.into_iter().collect()))
                .boxed()
        }
    };
    prop_oneof![1 => Just(Value::Null), 4 => non_null].boxed()
}

fn data_type() -> impl Strategy<Value = DataType> {
    prop::sample::select(vec![
        DataType::Boolean,
        DataType::Integer,
        DataType::Double,
        DataType::Text,
    ])
}

/// A tuple of the given schema.
fn tuple_of(schema: Vec<DataType>) -> BoxedStrategy<Vec<Value>> {
    schema.into_iter().map(value_of).collect::<Vec<_>>().boxed()
}

/// A schema and two tuples of it.
fn tuple_pair() -> impl Strategy<Value = (Vec<Value>, Vec<Value>)> {
    prop::collection::vec(data_type(), 1..4)
        .prop_flat_map(|schema| (tuple_of(schema.clone()), tuple_of(schema)))
}

/// Values equal by the total order and of the same type.
fn same_values(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y && x.data_type() == y.data_type())
}

proptest! {
    #[test]
    fn byte_order_is_tuple_order((a, b) in tuple_pair()) {
        prop_assert_eq!(key(&a).cmp(&key(&b)), tuple_cmp(&a, &b));
    }

    #[test]
    fn prefix_tuples_sort_first_and_bound_their_extensions((a, b) in tuple_pair()) {
        let prefix = key(&a[..1]);
        let full = key(&b);
        let inside = b[0] == a[0];
        let end = prefix_successor(&prefix);
        let in_range = full >= prefix && end.is_none_or(|end| full < end);
        prop_assert_eq!(in_range, inside);
    }

    #[test]
    fn keys_round_trip((a, _b) in tuple_pair()) {
        let decoded = decode_key(&key(&a));
        prop_assert!(decoded.as_ref().is_ok_and(|d| same_values(d, &a)), "{:?} -> {:?}", a, decoded);
    }

    #[test]
    fn decoding_random_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(values) = decode_key(&bytes) {
            // Whatever decodes must be the canonical encoding of its values,
            // except for non-canonical doubles (-0.0, NaN payloads).
            let has_double = values.iter().any(|v| matches!(v, Value::Double(_)));
            if !has_double {
                prop_assert_eq!(key(&values), bytes);
            }
        }
    }

    #[test]
    fn decoding_truncated_keys_never_panics((a, _b) in tuple_pair(), cut in any::<prop::sample::Index>()) {
        let bytes = key(&a);
        let cut = cut.index(bytes.len() + 1);
        let _ = decode_key(&bytes[..cut]);
    }
}
