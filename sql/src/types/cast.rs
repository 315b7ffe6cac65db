//! `CAST(value AS type)`, with PostgreSQL's rules and error codes.
//!
//! ```text
//!   from \ to | BOOLEAN            INTEGER                 DOUBLE           TEXT
//!   ----------+-----------------------------------------------------------------------
//!   BOOLEAN   | itself             true->1, false->0       42846            'true'/'false'
//!   INTEGER   | 0->false, else true itself                  exact or nearest decimal text
//!   DOUBLE    | 42846              round half away from 0; itself           psql text
//!             |                    NaN/out of range 22003
//!   TEXT      | see below          trimmed, +/- sign;      trimmed; inf,    itself
//!             |                    22P02 / 22003           nan; 22P02/22003
//!   NULL      | NULL               NULL                    NULL             NULL
//! ```
//!
//! Text to boolean accepts, case-insensitively and after trimming
//! whitespace, any prefix of `true`, `false`, `yes`, `no` (`t`, `tr`, `n`,
//! ...), `on`, `off` (at least `of`), `1` and `0`. Everything else is 22P02,
//! as are empty text and `'1.5'` cast to integer.

use crate::error::{Error, Result};
use crate::types::{DataType, Value};

/// 2^63 as a double: the first double above every i64.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// Converts `value` to `target`; see the module docs for the rules.
pub fn cast(value: &Value, target: DataType) -> Result<Value> {
    let cast = match (value, target) {
        (Value::Null, _) => Value::Null,
        (Value::Boolean(b), DataType::Boolean) => Value::Boolean(*b),
        (Value::Boolean(b), DataType::Integer) => Value::Integer(i64::from(*b)),
        (Value::Integer(i), DataType::Boolean) => Value::Boolean(*i != 0),
        (Value::Integer(i), DataType::Integer) => Value::Integer(*i),
        (Value::Integer(i), DataType::Double) => Value::Double(*i as f64),
        (Value::Double(d), DataType::Integer) => Value::Integer(double_to_integer(*d)?),
        (Value::Double(d), DataType::Double) => Value::Double(*d),
        (Value::Text(s), DataType::Boolean) => Value::Boolean(text_to_boolean(s)?),
        (Value::Text(s), DataType::Integer) => Value::Integer(text_to_integer(s)?),
        (Value::Text(s), DataType::Double) => Value::Double(text_to_double(s)?),
        (_, DataType::Text) => Value::Text(value.to_string()),
        (Value::Boolean(_), DataType::Double) | (Value::Double(_), DataType::Boolean) => {
            return Err(Error::CannotCast {
                from: value.type_name(),
                to: target.to_string(),
            });
        }
    };
    Ok(cast)
}

/// Rounds half away from zero; NaN and values outside i64 are 22003.
fn double_to_integer(value: f64) -> Result<i64> {
    let rounded = value.round();
    if rounded.is_nan() || !(-TWO_POW_63..TWO_POW_63).contains(&rounded) {
        return Err(Error::NumericOverflow("bigint out of range".to_string()));
    }
    Ok(rounded as i64)
}

/// Parses an optionally signed decimal integer, ignoring surrounding whitespace.
fn text_to_integer(text: &str) -> Result<i64> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid_text(DataType::Integer, text));
    }
    trimmed.parse::<i64>().map_err(|_| {
        Error::NumericOverflow(format!("value \"{text}\" is out of range for type bigint"))
    })
}

/// Parses a decimal or scientific double, or `inf`/`infinity`/`nan` in
/// any case; a finite literal too large for a double is 22003.
fn text_to_double(text: &str) -> Result<f64> {
    let trimmed = text.trim();
    let value: f64 = trimmed
        .parse()
        .map_err(|_| invalid_text(DataType::Double, text))?;
    let spelled_infinite = trimmed.to_ascii_lowercase().contains("inf");
    if value.is_infinite() && !spelled_infinite {
        return Err(Error::NumericOverflow(format!(
            "\"{text}\" is out of range for type double precision"
        )));
    }
    Ok(value)
}

/// Parses PostgreSQL's boolean spellings (see the module docs).
fn text_to_boolean(text: &str) -> Result<bool> {
    let word = text.trim().to_ascii_lowercase();
    let is_prefix_of =
        |full: &str, min_len: usize| word.len() >= min_len && full.starts_with(&word);
    if is_prefix_of("true", 1) || is_prefix_of("yes", 1) || is_prefix_of("on", 2) || word == "1" {
        Ok(true)
    } else if is_prefix_of("false", 1)
        || is_prefix_of("no", 1)
        || is_prefix_of("off", 2)
        || word == "0"
    {
        Ok(false)
    } else {
        Err(invalid_text(DataType::Boolean, text))
    }
}

/// A 22P02 error for `text` that does not read as `target`.
fn invalid_text(target: DataType, text: &str) -> Error {
    Error::InvalidTextRepresentation {
        type_name: target.postgres_name().to_string(),
        input: text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cast_code(value: Value, target: DataType) -> Result<Value, &'static str> {
        cast(&value, target).map_err(|e| e.sqlstate())
    }

    fn text(s: &str) -> Value {
        Value::from(s)
    }

    #[test]
    fn text_to_integer_table() {
        let ok = [
            ("12", 12),
            (" 12 ", 12),
            ("+7", 7),
            ("-0", 0),
            ("\t-42\n", -42),
        ];
        for (input, expected) in ok {
            assert_eq!(
                cast_code(text(input), DataType::Integer),
                Ok(Value::Integer(expected))
            );
        }
        assert_eq!(
            cast_code(text("-9223372036854775808"), DataType::Integer),
            Ok(Value::Integer(i64::MIN))
        );
        for bad in ["abc", "", "  ", "1.5", "1 2", "--1", "+", "0x10", "１２"] {
            assert_eq!(
                cast_code(text(bad), DataType::Integer),
                Err("22P02"),
                "{bad:?}"
            );
        }
        assert_eq!(
            cast_code(text("9223372036854775808"), DataType::Integer),
            Err("22003")
        );
    }

    #[test]
    fn text_to_double_table() {
        let ok = [
            ("1.5", 1.5),
            (" -2e3 ", -2000.0),
            (".5", 0.5),
            ("Infinity", f64::INFINITY),
        ];
        for (input, expected) in ok {
            assert_eq!(
                cast_code(text(input), DataType::Double),
                Ok(Value::Double(expected))
            );
        }
        let nan = cast(&text("NaN"), DataType::Double).ok();
        assert!(matches!(nan, Some(Value::Double(d)) if d.is_nan()));
        assert_eq!(
            cast_code(text("-inf"), DataType::Double),
            Ok(Value::Double(f64::NEG_INFINITY))
        );
        assert_eq!(cast_code(text("1e400"), DataType::Double), Err("22003"));
        assert_eq!(cast_code(text("one"), DataType::Double), Err("22P02"));
    }

    #[test]
    fn double_to_integer_rounds_half_away_from_zero() {
        let cases = [(2.5, 3), (-2.5, -3), (2.4999, 2), (-0.5, -1), (0.49, 0)];
        for (input, expected) in cases {
            assert_eq!(
                cast_code(Value::Double(input), DataType::Integer),
                Ok(Value::Integer(expected))
            );
        }
        assert_eq!(
            cast_code(Value::Double(-TWO_POW_63), DataType::Integer),
            Ok(Value::Integer(i64::MIN))
        );
        for bad in [TWO_POW_63, -TWO_POW_63 * 1.5, f64::NAN, f64::INFINITY] {
            assert_eq!(
                cast_code(Value::Double(bad), DataType::Integer),
                Err("22003"),
                "{bad}"
            );
        }
    }

    #[test]
    fn booleans_from_text_and_integers() {
        for yes in ["true", "T", "tr", "yes", "Y", "on", " ON ", "1"] {
            assert_eq!(
                cast_code(text(yes), DataType::Boolean),
                Ok(Value::Boolean(true)),
                "{yes}"
            );
        }
        for no in ["false", "f", "FAL", "no", "n", "off", "of", "0"] {
            assert_eq!(
                cast_code(text(no), DataType::Boolean),
                Ok(Value::Boolean(false)),
                "{no}"
            );
        }
        for bad in ["o", "", "2", "truth", "yess", "nope"] {
            assert_eq!(
                cast_code(text(bad), DataType::Boolean),
                Err("22P02"),
                "{bad:?}"
            );
        }
        assert_eq!(
            cast_code(Value::Integer(0), DataType::Boolean),
            Ok(Value::Boolean(false))
        );
        assert_eq!(
            cast_code(Value::Integer(1), DataType::Boolean),
            Ok(Value::Boolean(true))
        );
        assert_eq!(
            cast_code(Value::Integer(-5), DataType::Boolean),
            Ok(Value::Boolean(true))
        );
        assert_eq!(
            cast_code(Value::Boolean(true), DataType::Integer),
            Ok(Value::Integer(1))
        );
    }

    #[test]
    fn to_text_uses_display_and_impossible_casts_are_42846() {
        assert_eq!(cast_code(Value::Double(1.0), DataType::Text), Ok(text("1")));
        assert_eq!(
            cast_code(Value::Boolean(false), DataType::Text),
            Ok(text("false"))
        );
        assert_eq!(
            cast_code(Value::Integer(-3), DataType::Text),
            Ok(text("-3"))
        );
        assert_eq!(
            cast_code(Value::Integer(3), DataType::Double),
            Ok(Value::Double(3.0))
        );
        assert_eq!(
            cast_code(Value::Boolean(true), DataType::Double),
            Err("42846")
        );
        assert_eq!(
            cast_code(Value::Double(1.0), DataType::Boolean),
            Err("42846")
        );
        assert_eq!(cast_code(Value::Null, DataType::Integer), Ok(Value::Null));
    }
}
