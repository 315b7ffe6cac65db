//! SQL's three-valued logic over `Option<bool>`, where `None` is UNKNOWN
//! (a NULL boolean).
//!
//! ```text
//!   AND   | T  F  U        OR    | T  F  U        NOT
//!   ------+---------       ------+---------       T -> F
//!   T     | T  F  U        T     | T  T  T        F -> T
//!   F     | F  F  F        F     | T  F  U        U -> U
//!   U     | U  F  U        U     | T  U  U
//! ```
//!
//! FALSE dominates AND and TRUE dominates OR even against UNKNOWN, which is
//! what lets an executor short-circuit. A WHERE clause keeps a row only when
//! its condition is `Some(true)`.

/// SQL `a AND b`.
pub fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

/// SQL `a OR b`.
pub fn or(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// SQL `NOT a`.
pub fn not(a: Option<bool>) -> Option<bool> {
    a.map(|b| !b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Option<bool> = Some(true);
    const F: Option<bool> = Some(false);
    const U: Option<bool> = None;

    #[test]
    fn and_truth_table() {
        let table = [
            (T, T, T),
            (T, F, F),
            (T, U, U),
            (F, T, F),
            (F, F, F),
            (F, U, F),
            (U, T, U),
            (U, F, F),
            (U, U, U),
        ];
        for (a, b, expected) in table {
            assert_eq!(and(a, b), expected, "{a:?} AND {b:?}");
        }
    }

    #[test]
    fn or_truth_table() {
        let table = [
            (T, T, T),
            (T, F, T),
            (T, U, T),
            (F, T, T),
            (F, F, F),
            (F, U, U),
            (U, T, T),
            (U, F, U),
            (U, U, U),
        ];
        for (a, b, expected) in table {
            assert_eq!(or(a, b), expected, "{a:?} OR {b:?}");
        }
    }

    #[test]
    fn not_truth_table() {
        assert_eq!(not(T), F);
        assert_eq!(not(F), T);
        assert_eq!(not(U), U);
    }
}
