//! Arithmetic (`+ - * / %`, unary `-`) and text concatenation (`||`) on
//! values, with SQL errors instead of wrapping, panics or silent infinities.
//!
//! Rules, following PostgreSQL:
//!
//! ```text
//!   NULL op x, x op NULL          -> NULL
//!   Integer op Integer            -> Integer, checked: overflow is 22003
//!   Integer op Double (either way)-> Double (the integer is converted)
//!   x / 0, x % 0 (integer/double) -> 22012 division by zero (NaN / 0 is NaN)
//!   Double overflowing to ±inf    -> 22003 (inf inputs may give inf)
//!   Double underflowing to 0      -> 22003 (for * and / of non-zero inputs)
//!   7 / 2 = 3, -7 / 2 = -3        (integer division truncates toward zero)
//!   -7 % 2 = -1                   (the remainder takes the dividend's sign)
//!   i64::MIN / -1                 -> 22003; i64::MIN % -1 = 0
//!   Text || x, x || Text          -> Text (x in its text output form)
//!   anything else                 -> 42883 operator does not exist
//! ```

use crate::error::{Error, Result};
use crate::types::Value;

/// The message PostgreSQL gives for a 64-bit integer overflow.
const INTEGER_OUT_OF_RANGE: &str = "bigint out of range";

/// The two numeric operands of a binary operator after promotion.
enum Operands {
    Integers(i64, i64),
    Doubles(f64, f64),
}

impl Value {
    /// SQL `self + other`.
    pub fn checked_add(&self, other: &Value) -> Result<Value> {
        match numeric_operands(self, "+", other)? {
            None => Ok(Value::Null),
            Some(Operands::Integers(a, b)) => integer_result(a.checked_add(b)),
            Some(Operands::Doubles(a, b)) => double_result(a + b, a, b, false),
        }
    }

    /// SQL `self - other`.
    pub fn checked_sub(&self, other: &Value) -> Result<Value> {
        match numeric_operands(self, "-", other)? {
            None => Ok(Value::Null),
            Some(Operands::Integers(a, b)) => integer_result(a.checked_sub(b)),
            Some(Operands::Doubles(a, b)) => double_result(a - b, a, b, false),
        }
    }

    /// SQL `self * other`.
    pub fn checked_mul(&self, other: &Value) -> Result<Value> {
        match numeric_operands(self, "*", other)? {
            None => Ok(Value::Null),
            Some(Operands::Integers(a, b)) => integer_result(a.checked_mul(b)),
            Some(Operands::Doubles(a, b)) => double_result(
                a * b,
                a,
                b,
                a != 0.0 && b != 0.0 && a.is_finite() && b.is_finite(),
            ),
        }
    }

    /// SQL `self / other`; integer division truncates toward zero.
    pub fn checked_div(&self, other: &Value) -> Result<Value> {
        match numeric_operands(self, "/", other)? {
            None => Ok(Value::Null),
            Some(Operands::Integers(_, 0)) => Err(Error::DivisionByZero),
            Some(Operands::Integers(a, b)) => integer_result(a.checked_div(b)),
            Some(Operands::Doubles(a, b)) => {
                if b == 0.0 && !a.is_nan() {
                    return Err(Error::DivisionByZero);
                }
                double_result(a / b, a, b, a != 0.0 && a.is_finite() && !b.is_infinite())
            }
        }
    }

    /// SQL `self % other`; the remainder has the sign of the dividend.
    pub fn checked_rem(&self, other: &Value) -> Result<Value> {
        match numeric_operands(self, "%", other)? {
            None => Ok(Value::Null),
            Some(Operands::Integers(_, 0)) => Err(Error::DivisionByZero),
            // i64::MIN % -1 overflows in the machine, but the answer is 0.
            Some(Operands::Integers(_, -1)) => Ok(Value::Integer(0)),
            Some(Operands::Integers(a, b)) => integer_result(a.checked_rem(b)),
            Some(Operands::Doubles(a, b)) => {
                if b == 0.0 && !a.is_nan() {
                    return Err(Error::DivisionByZero);
                }
                Ok(Value::Double(a % b))
            }
        }
    }

    /// SQL unary `-self`.
    pub fn checked_neg(&self) -> Result<Value> {
        match self {
            Value::Null => Ok(Value::Null),
            Value::Integer(i) => integer_result(i.checked_neg()),
            Value::Double(d) => Ok(Value::Double(-d)),
            other => Err(Error::UndefinedOperator(format!("- {}", other.type_name()))),
        }
    }

    /// SQL `self || other`: text concatenation. One side must be text; the
    /// other is converted with its text output (`'a' || 1.5` is `a1.5`).
    pub fn concat(&self, other: &Value) -> Result<Value> {
        match (self, other) {
            (Value::Null, _) | (_, Value::Null) => Ok(Value::Null),
            (Value::Text(_), _) | (_, Value::Text(_)) => Ok(Value::Text(format!("{self}{other}"))),
            (a, b) => Err(Error::UndefinedOperator(format!(
                "{} || {}",
                a.type_name(),
                b.type_name()
            ))),
        }
    }
}

/// Promotes the operands of an arithmetic operator; `None` when one is NULL.
fn numeric_operands(left: &Value, operator: &str, right: &Value) -> Result<Option<Operands>> {
    let operands = match (left, right) {
        (Value::Null, _) | (_, Value::Null) => return Ok(None),
        (Value::Integer(a), Value::Integer(b)) => Operands::Integers(*a, *b),
        (Value::Integer(a), Value::Double(b)) => Operands::Doubles(*a as f64, *b),
        (Value::Double(a), Value::Integer(b)) => Operands::Doubles(*a, *b as f64),
        (Value::Double(a), Value::Double(b)) => Operands::Doubles(*a, *b),
        (a, b) => {
            return Err(Error::UndefinedOperator(format!(
                "{} {operator} {}",
                a.type_name(),
                b.type_name()
            )));
        }
    };
    Ok(Some(operands))
}

/// Turns a checked integer result into a value or a 22003 error.
fn integer_result(result: Option<i64>) -> Result<Value> {
    result
        .map(Value::Integer)
        .ok_or_else(|| Error::NumericOverflow(INTEGER_OUT_OF_RANGE.to_string()))
}

/// Checks a double result the way PostgreSQL does: infinity from finite
/// inputs is an overflow; zero where `zero_is_underflow` says the exact
/// result is non-zero is an underflow.
fn double_result(result: f64, a: f64, b: f64, zero_is_underflow: bool) -> Result<Value> {
    if result.is_infinite() && a.is_finite() && b.is_finite() {
        return Err(Error::NumericOverflow(
            "value out of range: overflow".to_string(),
        ));
    }
    if result == 0.0 && zero_is_underflow {
        return Err(Error::NumericOverflow(
            "value out of range: underflow".to_string(),
        ));
    }
    Ok(Value::Double(result))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: Result<Value>) -> Option<&'static str> {
        result.err().map(|e| e.sqlstate())
    }

    fn int(i: i64) -> Value {
        Value::Integer(i)
    }

    fn double(d: f64) -> Value {
        Value::Double(d)
    }

    #[test]
    fn integer_overflow_is_22003() {
        assert_eq!(code(int(i64::MAX).checked_add(&int(1))), Some("22003"));
        assert_eq!(code(int(i64::MIN).checked_sub(&int(1))), Some("22003"));
        assert_eq!(code(int(i64::MAX).checked_mul(&int(2))), Some("22003"));
        assert_eq!(code(int(i64::MIN).checked_div(&int(-1))), Some("22003"));
        assert_eq!(code(int(i64::MIN).checked_neg()), Some("22003"));
        assert_eq!(int(i64::MIN).checked_rem(&int(-1)).ok(), Some(int(0)));
        assert_eq!(int(i64::MIN + 1).checked_neg().ok(), Some(int(i64::MAX)));
    }

    #[test]
    fn division_by_zero_is_22012_for_integers_and_doubles() {
        assert_eq!(code(int(1).checked_div(&int(0))), Some("22012"));
        assert_eq!(code(int(1).checked_rem(&int(0))), Some("22012"));
        assert_eq!(code(double(1.0).checked_div(&int(0))), Some("22012"));
        assert_eq!(code(int(1).checked_div(&double(0.0))), Some("22012"));
        assert_eq!(code(double(1.0).checked_div(&double(-0.0))), Some("22012"));
        assert_eq!(code(double(1.5).checked_rem(&double(0.0))), Some("22012"));
        let nan = double(f64::NAN).checked_div(&double(0.0)).ok();
        assert!(matches!(nan, Some(Value::Double(d)) if d.is_nan()));
    }

    #[test]
    fn integer_division_truncates_and_remainder_follows_dividend() {
        assert_eq!(int(7).checked_div(&int(2)).ok(), Some(int(3)));
        assert_eq!(int(-7).checked_div(&int(2)).ok(), Some(int(-3)));
        assert_eq!(int(-7).checked_rem(&int(2)).ok(), Some(int(-1)));
        assert_eq!(int(7).checked_rem(&int(-2)).ok(), Some(int(1)));
    }

    #[test]
    fn mixed_operands_promote_to_double() {
        let sum = int(1).checked_add(&double(0.5)).ok();
        assert!(matches!(sum, Some(Value::Double(d)) if d == 1.5));
        let quotient = double(7.0).checked_div(&int(2)).ok();
        assert!(matches!(quotient, Some(Value::Double(d)) if d == 3.5));
        assert_eq!(int(2).checked_mul(&int(-3)).ok(), Some(int(-6)));
        assert_eq!(int(5).checked_sub(&int(7)).ok(), Some(int(-2)));
    }

    #[test]
    fn double_overflow_and_underflow_are_22003_but_infinity_propagates() {
        assert_eq!(code(double(f64::MAX).checked_mul(&int(2))), Some("22003"));
        assert_eq!(
            code(double(f64::MAX).checked_add(&double(f64::MAX))),
            Some("22003")
        );
        assert_eq!(
            code(double(1e-300).checked_mul(&double(1e-300))),
            Some("22003")
        );
        assert_eq!(
            code(double(1e-300).checked_div(&double(1e300))),
            Some("22003")
        );
        let inf = double(f64::INFINITY).checked_add(&int(1)).ok();
        assert!(matches!(inf, Some(Value::Double(d)) if d == f64::INFINITY));
        let zero = double(0.0).checked_mul(&double(5.0)).ok();
        assert!(matches!(zero, Some(Value::Double(d)) if d == 0.0));
        let small = double(1.0).checked_div(&double(f64::INFINITY)).ok();
        assert!(matches!(small, Some(Value::Double(d)) if d == 0.0));
    }

    #[test]
    fn null_propagates_and_bad_types_are_42883() {
        assert!(int(1).checked_add(&Value::Null).is_ok_and(|v| v.is_null()));
        assert!(Value::Null.checked_div(&int(0)).is_ok_and(|v| v.is_null()));
        assert!(Value::Null.checked_neg().is_ok_and(|v| v.is_null()));
        assert_eq!(code(int(1).checked_add(&Value::from("1"))), Some("42883"));
        assert_eq!(code(Value::Boolean(true).checked_neg()), Some("42883"));
        assert_eq!(
            code(Value::from("a").checked_mul(&Value::from("b"))),
            Some("42883")
        );
    }

    #[test]
    fn concatenation_needs_one_text_side() {
        let joined = Value::from("a").concat(&double(1.5)).ok();
        assert_eq!(joined, Some(Value::from("a1.5")));
        assert_eq!(
            int(1).concat(&Value::from("x")).ok(),
            Some(Value::from("1x"))
        );
        assert!(
            Value::from("a")
                .concat(&Value::Null)
                .is_ok_and(|v| v.is_null())
        );
        assert_eq!(code(int(1).concat(&int(2))), Some("42883"));
    }
}
