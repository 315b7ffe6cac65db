//! Predicates of predicate reads: a key range and an optional comparison on the value.
//!
//! A predicate read is the checker's picture of `SELECT key, value FROM t WHERE ...` over
//! register keys. The predicate language is deliberately tiny so that the checker can decide,
//! for any write, whether that write would have entered the predicate's match set:
//!
//! ```text
//! {"key_min": 1, "key_max": 10, "op": ">=", "value": 30}
//!   matches (key, value) when 1 <= key <= 10 and value >= 30
//! {"op": "=", "value": 7}          every key whose value is 7
//! {}                               every key (a full scan)
//! ```
//!
//! Bounds are inclusive; a missing bound is unbounded. A key that holds no value (never
//! written) never matches.

use serde::{Deserialize, Serialize};

use crate::history::{Key, Value};

/// A comparison operator for [`Predicate::op`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CmpOp {
    /// `value == operand`
    #[serde(rename = "=")]
    Eq,
    /// `value != operand`
    #[serde(rename = "!=")]
    Ne,
    /// `value < operand`
    #[serde(rename = "<")]
    Lt,
    /// `value <= operand`
    #[serde(rename = "<=")]
    Le,
    /// `value > operand`
    #[serde(rename = ">")]
    Gt,
    /// `value >= operand`
    #[serde(rename = ">=")]
    Ge,
}

impl CmpOp {
    /// The operator as written in the JSON format.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Parses a symbol (`=`, `!=`, `<`, `<=`, `>`, `>=`, also `==`).
    pub fn parse(symbol: &str) -> Option<CmpOp> {
        Some(match symbol {
            "=" | "==" => CmpOp::Eq,
            "!=" | "not=" => CmpOp::Ne,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            _ => return None,
        })
    }

    /// Applies the comparison.
    pub fn holds(self, value: Value, operand: Value) -> bool {
        match self {
            CmpOp::Eq => value == operand,
            CmpOp::Ne => value != operand,
            CmpOp::Lt => value < operand,
            CmpOp::Le => value <= operand,
            CmpOp::Gt => value > operand,
            CmpOp::Ge => value >= operand,
        }
    }
}

/// A condition over (register key, value) pairs. See the module docs for the JSON form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Predicate {
    /// Smallest key in range (inclusive); `None` is unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_min: Option<Key>,
    /// Largest key in range (inclusive); `None` is unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_max: Option<Key>,
    /// The comparison applied to the value; `None` accepts any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<CmpOp>,
    /// The right-hand operand of `op`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

impl Predicate {
    /// Whether `key` lies in the predicate's key range.
    pub fn covers_key(&self, key: Key) -> bool {
        self.key_min.is_none_or(|min| key >= min) && self.key_max.is_none_or(|max| key <= max)
    }

    /// Whether the row `(key, value)` matches.
    pub fn matches(&self, key: Key, value: Value) -> bool {
        if !self.covers_key(key) {
            return false;
        }
        match (self.op, self.value) {
            (Some(op), Some(operand)) => op.holds(value, operand),
            (Some(_), None) => false,
            (None, _) => true,
        }
    }
}

impl std::fmt::Display for Predicate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        match (self.key_min, self.key_max) {
            (Some(lo), Some(hi)) => parts.push(format!("{lo} <= key <= {hi}")),
            (Some(lo), None) => parts.push(format!("key >= {lo}")),
            (None, Some(hi)) => parts.push(format!("key <= {hi}")),
            (None, None) => {}
        }
        if let (Some(op), Some(v)) = (self.op, self.value) {
            parts.push(format!("value {} {v}", op.symbol()));
        }
        if parts.is_empty() {
            write!(f, "true")
        } else {
            write!(f, "{}", parts.join(" and "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_and_comparison_both_apply() {
        let p = Predicate {
            key_min: Some(1),
            key_max: Some(10),
            op: Some(CmpOp::Ge),
            value: Some(30),
        };
        assert!(p.matches(3, 30));
        assert!(!p.matches(3, 29));
        assert!(!p.matches(11, 40));
        assert!(!p.matches(0, 40));
        assert_eq!(p.to_string(), "1 <= key <= 10 and value >= 30");
    }

    #[test]
    fn empty_predicate_matches_everything_and_parses_from_json() {
        let p: Predicate = serde_json::from_str("{}").expect("valid json");
        assert!(p.matches(-5, i64::MIN));
        let q: Predicate = serde_json::from_str(r#"{"op":"!=","value":2}"#).expect("valid json");
        assert!(q.matches(9, 3) && !q.matches(9, 2));
    }
}
