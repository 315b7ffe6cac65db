//! Keys and values of any scalar type, as the checker's integer codes.
//!
//! Elle takes any key and any list element: integers, strings (`"x"`), keywords (`:x`),
//! floats, booleans. The checker's inner loops work on `i64` codes ([`Key`], [`Value`]), so a
//! history of integers pays nothing: an integer is its own code. Every other scalar is
//! interned, per namespace (keys, values), and gets a code from a reserved range at the very
//! bottom of `i64`:
//!
//! ```text
//!  i64::MIN ......... i64::MIN + 2^40 ......................... 0 ......... i64::MAX
//!  │ interned scalars │ integers (their own code) ────────────────────────────────────│
//!  "x" → MIN+0, :y → MIN+1, 1.5 → MIN+2
//! ```
//!
//! An integer inside the reserved range (below `-2^63 + 2^40`) is refused with a clear error.
//! Equality is the scalar's: `1`, `1.0`, `"1"` and `:1` are four different values, as in
//! Clojure. [`Names`] turns codes back into text (`show_key`) and JSON (`key_json`).

use std::collections::HashMap;
use std::fmt;

use serde_json::Value as Json;

use crate::history::{Key, Value};

/// The lowest code; codes below [`FIRST_INTEGER`] index interned scalars.
const INTERNED_BASE: i64 = i64::MIN;
/// The smallest integer that is its own code.
pub const FIRST_INTEGER: i64 = i64::MIN + (1 << 40);

/// A key or value as written in a history.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scalar {
    /// An integer that fits 64 bits.
    Int(i64),
    /// An integer beyond 64 bits, as its decimal digits.
    BigInt(String),
    /// A floating-point number (its bits, so that equality is exact).
    Float(u64),
    /// A string.
    Str(String),
    /// An EDN keyword, without its colon.
    Keyword(String),
    /// An EDN symbol.
    Symbol(String),
    /// A boolean.
    Bool(bool),
    /// An EDN character.
    Char(char),
}

impl Scalar {
    /// A float scalar.
    pub fn float(value: f64) -> Scalar {
        Scalar::Float(value.to_bits())
    }

    /// The JSON form (a keyword or symbol becomes its name, as Clojure's JSON writer does).
    pub fn to_json(&self) -> Json {
        match self {
            Scalar::Int(i) => Json::from(*i),
            Scalar::BigInt(digits) => digits
                .parse::<serde_json::Number>()
                .map_or_else(|_| Json::String(digits.clone()), Json::Number),
            Scalar::Float(bits) => {
                serde_json::Number::from_f64(f64::from_bits(*bits)).map_or(Json::Null, Json::Number)
            }
            Scalar::Str(s) | Scalar::Keyword(s) | Scalar::Symbol(s) => Json::String(s.clone()),
            Scalar::Bool(b) => Json::Bool(*b),
            Scalar::Char(c) => Json::String(c.to_string()),
        }
    }
}

impl fmt::Display for Scalar {
    /// EDN-like: `5`, `"x"`, `:x`, `1.5`, `true`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::BigInt(digits) => write!(f, "{digits}N"),
            Scalar::Float(bits) => write!(f, "{:?}", f64::from_bits(*bits)),
            Scalar::Str(s) => write!(f, "{s:?}"),
            Scalar::Keyword(k) => write!(f, ":{k}"),
            Scalar::Symbol(s) => f.write_str(s),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Char(c) => write!(f, "\\{c}"),
        }
    }
}

/// One namespace of interned scalars.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Table {
    scalars: Vec<Scalar>,
    index: HashMap<Scalar, i64>,
}

impl Table {
    fn encode(&mut self, scalar: Scalar) -> Result<i64, String> {
        if let Scalar::Int(i) = scalar {
            return if i >= FIRST_INTEGER {
                Ok(i)
            } else {
                Err(format!(
                    "integer {i} is below the smallest supported ({FIRST_INTEGER})"
                ))
            };
        }
        if let Some(&code) = self.index.get(&scalar) {
            return Ok(code);
        }
        let code = INTERNED_BASE + self.scalars.len() as i64;
        if code >= FIRST_INTEGER {
            return Err("more than 2^40 distinct non-integer keys or values".into());
        }
        self.scalars.push(scalar.clone());
        self.index.insert(scalar, code);
        Ok(code)
    }

    fn scalar(&self, code: i64) -> Option<&Scalar> {
        if code >= FIRST_INTEGER {
            return None;
        }
        self.scalars.get((code - INTERNED_BASE) as usize)
    }

    fn show(&self, code: i64) -> Shown<'_> {
        match self.scalar(code) {
            Some(s) => Shown::Scalar(s),
            None => Shown::Int(code),
        }
    }

    fn json(&self, code: i64) -> Json {
        self.scalar(code).map_or(Json::from(code), Scalar::to_json)
    }
}

/// A key or value ready to print: an integer, or an interned scalar.
#[derive(Clone, Copy, Debug)]
pub enum Shown<'a> {
    /// An integer (its own code).
    Int(i64),
    /// An interned scalar.
    Scalar(&'a Scalar),
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Int(i) => write!(f, "{i}"),
            Shown::Scalar(s) => s.fmt(f),
        }
    }
}

/// The interned keys and values of one history (empty for an all-integer history).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    keys: Table,
    values: Table,
}

impl Names {
    /// The code of a key.
    pub fn key(&mut self, scalar: Scalar) -> Result<Key, String> {
        self.keys.encode(scalar)
    }

    /// The code of a value (a list element or a register value).
    pub fn value(&mut self, scalar: Scalar) -> Result<Value, String> {
        self.values.encode(scalar)
    }

    /// Whether every key is an integer (predicate reads need integer keys and values).
    pub fn integer_keys_and_values(&self) -> bool {
        self.keys.scalars.is_empty() && self.values.scalars.is_empty()
    }

    /// A key, printable.
    pub fn show_key(&self, key: Key) -> Shown<'_> {
        self.keys.show(key)
    }

    /// A value, printable.
    pub fn show_value(&self, value: Value) -> Shown<'_> {
        self.values.show(value)
    }

    /// A register value, printable (`nil` for the initial state).
    pub fn show_register(&self, value: Option<Value>) -> String {
        value.map_or_else(|| "nil".to_string(), |v| self.show_value(v).to_string())
    }

    /// A list, printable: `[1, 2, 3]`, or `[… 4 more, 5, 6, 7, 8, 9, 10]` when long.
    pub fn show_list(&self, values: &[Value]) -> String {
        const SHOWN: usize = 6;
        let show = |vs: &[Value]| {
            vs.iter()
                .map(|v| self.show_value(*v).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if values.len() <= SHOWN {
            format!("[{}]", show(values))
        } else {
            format!(
                "[… {} more, {}]",
                values.len() - SHOWN,
                show(&values[values.len() - SHOWN..])
            )
        }
    }

    /// A key as JSON, in its original type.
    pub fn key_json(&self, key: Key) -> Json {
        self.keys.json(key)
    }

    /// A value as JSON, in its original type.
    pub fn value_json(&self, value: Value) -> Json {
        self.values.json(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_their_own_codes_and_other_scalars_are_interned() {
        let mut names = Names::default();
        assert_eq!(names.key(Scalar::Int(7)), Ok(7));
        assert_eq!(names.key(Scalar::Int(-7)), Ok(-7));
        let x = names.key(Scalar::Str("x".into())).expect("interned");
        let kx = names.key(Scalar::Keyword("x".into())).expect("interned");
        assert_ne!(x, kx, "a string and a keyword differ");
        assert_eq!(names.key(Scalar::Str("x".into())), Ok(x));
        assert!(x < FIRST_INTEGER && kx < FIRST_INTEGER);
        assert_eq!(names.show_key(x).to_string(), "\"x\"");
        assert_eq!(names.show_key(kx).to_string(), ":x");
        assert_eq!(names.show_key(7).to_string(), "7");
        assert_eq!(names.key_json(kx), Json::from("x"));
        let half = names.value(Scalar::float(0.5)).expect("interned");
        assert_ne!(names.value(Scalar::Int(0)), Ok(half));
        assert_eq!(names.show_value(half).to_string(), "0.5");
        assert!(!names.integer_keys_and_values());
        assert!(names.key(Scalar::Int(i64::MIN)).is_err());
    }
}
