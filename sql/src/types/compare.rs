//! How values compare: SQL's three-valued comparison, and the total order
//! used for sorting, grouping, DISTINCT and hashing.
//!
//! Two orders, one numeric core:
//!
//! - [`Value::sql_cmp`] / [`Value::sql_eq`] are SQL's `<`, `=`, ...: a NULL
//!   operand makes the answer unknown (`None`), and comparing types that have
//!   no operator (`TRUE < 1`, `1 = 'a'`) is an [`Error::UndefinedOperator`].
//! - [`Value::total_cmp`] is a total order for ORDER BY, GROUP BY, DISTINCT
//!   and hash tables. NULL is the smallest value; ORDER BY applies NULLS
//!   FIRST/LAST by looking at NULLs *before* it calls `total_cmp`. Values of
//!   different types order by type rank: NULL < Boolean < numbers < Text.
//!
//! Numbers follow PostgreSQL, in both orders:
//!
//! ```text
//!   -inf < ... < -1 < -0.0 = 0 = 0.0 < 0.5 < 1 = 1.0 < ... < +inf < NaN = NaN
//! ```
//!
//! Integer against double compares the exact mathematical values (no
//! rounding through f64, so `2^53 + 1 > 2^53 as f64`). `-0.0` equals `0.0`,
//! and NaN equals itself and is greater than every other number, so every
//! value has one place in the order. `PartialEq`, `Eq`, `Ord` and `Hash` of
//! [`Value`] are this total order: `Integer(1) == Double(1.0)` and both
//! hash alike, so `GROUP BY` puts them in one group (the group keeps
//! whichever value it saw first).

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use crate::error::{Error, Result};
use crate::types::Value;

impl Value {
    /// The total order for sorting and grouping; see the module docs.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Boolean(a), Value::Boolean(b)) => a.cmp(b),
            (Value::Integer(a), Value::Integer(b)) => a.cmp(b),
            (Value::Double(a), Value::Double(b)) => compare_doubles(*a, *b),
            (Value::Integer(a), Value::Double(b)) => compare_integer_to_double(*a, *b),
            (Value::Double(a), Value::Integer(b)) => compare_integer_to_double(*b, *a).reverse(),
            (Value::Text(a), Value::Text(b)) => a.cmp(b),
            (a, b) => type_rank(a).cmp(&type_rank(b)),
        }
    }

    /// SQL comparison: `Ok(None)` when either side is NULL; an
    /// [`Error::UndefinedOperator`] (42883) when the types cannot be compared.
    /// Text compares by Unicode code point (the "C" collation).
    pub fn sql_cmp(&self, other: &Value) -> Result<Option<Ordering>> {
        if self.is_null() || other.is_null() {
            return Ok(None);
        }
        if type_rank(self) != type_rank(other) {
            return Err(Error::UndefinedOperator(format!(
                "{} = {}",
                self.type_name(),
                other.type_name()
            )));
        }
        Ok(Some(self.total_cmp(other)))
    }

    /// SQL `=`: `Ok(None)` when either side is NULL.
    pub fn sql_eq(&self, other: &Value) -> Result<Option<bool>> {
        Ok(self.sql_cmp(other)?.map(Ordering::is_eq))
    }
}

/// Rank of a value's type in the total order.
fn type_rank(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Boolean(_) => 1,
        Value::Integer(_) | Value::Double(_) => 2,
        Value::Text(_) => 3,
    }
}

/// Orders doubles numerically with `-0.0 == 0.0` and NaN last, equal to itself.
pub(crate) fn compare_doubles(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// 2^63 as a double: the first double above every i64.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// Compares an integer with a double exactly, without rounding the integer.
fn compare_integer_to_double(integer: i64, double: f64) -> Ordering {
    if double.is_nan() || double >= TWO_POW_63 {
        return Ordering::Less;
    }
    if double < -TWO_POW_63 {
        return Ordering::Greater;
    }
    // Now -2^63 <= double < 2^63, so its integral part fits an i64 exactly.
    let whole = double.trunc();
    match integer.cmp(&(whole as i64)) {
        Ordering::Equal => compare_doubles(whole, double),
        unequal => unequal,
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        self.total_cmp(other).is_eq()
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Value) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Value) -> Ordering {
        self.total_cmp(other)
    }
}

/// Hashes consistently with `==`: a double holding an integral value in i64
/// range hashes as that integer; `-0.0` as `0`; every NaN alike.
impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Value::Null => state.write_u8(0),
            Value::Boolean(b) => {
                state.write_u8(1);
                b.hash(state);
            }
            Value::Integer(i) => hash_integral(*i, state),
            Value::Double(d) => {
                if d.is_nan() {
                    state.write_u8(4);
                } else if d.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(d) {
                    hash_integral(*d as i64, state);
                } else {
                    state.write_u8(3);
                    state.write_u64(d.to_bits());
                }
            }
            Value::Text(s) => {
                state.write_u8(5);
                s.hash(state);
            }
        }
    }
}

/// Hashes a number with an integral value, whichever type holds it.
fn hash_integral<H: Hasher>(value: i64, state: &mut H) {
    state.write_u8(2);
    state.write_i64(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of(value: &Value) -> u64 {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn null_makes_sql_comparison_unknown() {
        let one = Value::Integer(1);
        assert_eq!(one.sql_cmp(&Value::Null).ok(), Some(None));
        assert_eq!(Value::Null.sql_eq(&Value::Null).ok(), Some(None));
        assert_eq!(one.sql_eq(&Value::Double(1.0)).ok(), Some(Some(true)));
        assert_eq!(
            Value::Text("a".into())
                .sql_cmp(&Value::Text("b".into()))
                .ok(),
            Some(Some(Ordering::Less))
        );
    }

    #[test]
    fn incomparable_types_are_an_error() {
        let error = Value::Boolean(true).sql_cmp(&Value::Integer(1)).err();
        assert_eq!(error.map(|e| e.sqlstate()), Some("42883"));
        assert!(Value::Text("1".into()).sql_eq(&Value::Integer(1)).is_err());
    }

    #[test]
    fn integers_and_doubles_compare_exactly() {
        let big = 1i64 << 53;
        // (2^53 + 1) as f64 rounds to 2^53; exact comparison must not.
        assert_eq!(
            Value::Integer(big + 1).total_cmp(&Value::Double(big as f64)),
            Ordering::Greater
        );
        assert_eq!(
            Value::Integer(i64::MAX).total_cmp(&Value::Double(TWO_POW_63)),
            Ordering::Less
        );
        assert_eq!(
            Value::Integer(i64::MIN).total_cmp(&Value::Double(-TWO_POW_63)),
            Ordering::Equal
        );
        assert_eq!(
            Value::Integer(2).total_cmp(&Value::Double(2.5)),
            Ordering::Less
        );
        assert_eq!(
            Value::Integer(-2).total_cmp(&Value::Double(-2.5)),
            Ordering::Greater
        );
        assert_eq!(
            Value::Double(f64::NAN).total_cmp(&Value::Integer(i64::MAX)),
            Ordering::Greater
        );
        assert_eq!(
            Value::Double(f64::NEG_INFINITY).total_cmp(&Value::Integer(i64::MIN)),
            Ordering::Less
        );
    }

    #[test]
    fn total_order_puts_zeroes_together_and_nan_last() {
        assert_eq!(Value::Double(-0.0), Value::Double(0.0));
        assert_eq!(Value::Double(f64::NAN), Value::Double(f64::NAN));
        assert!(Value::Double(f64::INFINITY) < Value::Double(f64::NAN));
        assert!(Value::Null < Value::Boolean(false));
        assert!(Value::Boolean(true) < Value::Integer(i64::MIN));
        assert!(Value::Double(f64::NAN) < Value::Text(String::new()));
    }

    fn number() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        prop_oneof![
            (-4i64..4).prop_map(Value::Integer),
            any::<i64>().prop_map(Value::Integer),
            (-8i32..8).prop_map(|half| Value::Double(f64::from(half) / 2.0)),
            any::<f64>().prop_map(Value::Double),
            Just(Value::Double(f64::NAN)),
            Just(Value::Double(-0.0)),
            Just(Value::Double(TWO_POW_63)),
            Just(Value::Integer(i64::MAX)),
        ]
    }

    proptest::proptest! {
        #[test]
        fn numbers_form_a_total_order_consistent_with_hashing(
            a in number(), b in number(), c in number(),
        ) {
            let ab = a.total_cmp(&b);
            proptest::prop_assert_eq!(ab, b.total_cmp(&a).reverse());
            if ab.is_eq() {
                proptest::prop_assert_eq!(hash_of(&a), hash_of(&b));
            }
            if ab.is_le() && b.total_cmp(&c).is_le() {
                proptest::prop_assert!(a.total_cmp(&c).is_le(), "{:?} {:?} {:?}", a, b, c);
            }
        }

        #[test]
        fn small_integers_compare_like_their_exact_doubles(i in -(1i64 << 53)..(1i64 << 53), d in number()) {
            if let Value::Double(d) = d {
                proptest::prop_assert_eq!(
                    Value::Integer(i).total_cmp(&Value::Double(d)),
                    compare_doubles(i as f64, d)
                );
            }
        }
    }

    #[test]
    fn equal_values_hash_alike_so_they_group_together() {
        let pairs = [
            (Value::Integer(1), Value::Double(1.0)),
            (Value::Integer(0), Value::Double(-0.0)),
            (Value::Double(f64::NAN), Value::Double(-f64::NAN)),
            (Value::Integer(i64::MIN), Value::Double(-TWO_POW_63)),
        ];
        for (a, b) in pairs {
            assert_eq!(a, b);
            assert_eq!(hash_of(&a), hash_of(&b), "{a:?} and {b:?}");
        }
        let groups: HashSet<Value> = [
            Value::Integer(1),
            Value::Double(1.0),
            Value::Double(1.5),
            Value::Null,
            Value::Null,
        ]
        .into_iter()
        .collect();
        assert_eq!(groups.len(), 3);
    }
}
