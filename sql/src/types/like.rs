//! SQL `LIKE` pattern matching: `%` matches any run of characters (even
//! none), `_` matches exactly one character, and `ESCAPE 'c'` makes the
//! character after `c` literal.
//!
//! Matching works on Unicode scalar values (`_` matches `é` or `日`, one
//! character, however many bytes), is case-sensitive, and uses the greedy
//! wildcard algorithm that remembers only the most recent `%`:
//!
//! ```text
//!   'abcabd' LIKE 'a%bd'
//!   a = a; save '%' and let it take "":  b = b, then d != c   mismatch
//!   back to '%', let it take "b":        b != c               mismatch
//!   back to '%', let it take "bc":       b != a               mismatch
//!   back to '%', let it take "bca":      b = b, d = d, both at the end: match
//! ```
//!
//! Backtracking to the latest `%` is enough because a later `%` can absorb
//! whatever an earlier one would have, so the worst case is
//! O(len(text) × len(pattern)), never exponential (`%a%a%a%a%b` against a
//! long run of `a` stays fast).
//!
//! A pattern that ends with a lone escape character treats it as a literal
//! (PostgreSQL raises 22025 there; callers who want that check can look for
//! it before calling).

/// One element of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatternToken {
    /// Exactly this character.
    Literal(char),
    /// `_`: any one character.
    AnyChar,
    /// `%`: any run of characters, possibly empty.
    AnyRun,
}

/// True when `text` matches the LIKE `pattern`, with `escape` as the escape
/// character (`None` for no escape character, as with `ESCAPE ''`).
pub fn like(text: &str, pattern: &str, escape: Option<char>) -> bool {
    let pattern = compile(pattern, escape);
    let text: Vec<char> = text.chars().collect();
    let (mut t, mut p) = (0, 0);
    // After a mismatch: the pattern position just past the latest '%', and
    // the text position that '%' would match up to next.
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(PatternToken::AnyRun) => {
                p += 1;
                backtrack = Some((p, t));
                continue;
            }
            Some(PatternToken::AnyChar) => {
                t += 1;
                p += 1;
                continue;
            }
            Some(PatternToken::Literal(c)) if text.get(t) == Some(c) => {
                t += 1;
                p += 1;
                continue;
            }
            _ => {}
        }
        match backtrack {
            Some((after_run, run_end)) => {
                p = after_run;
                t = run_end + 1;
                backtrack = Some((after_run, run_end + 1));
            }
            None => return false,
        }
    }
    pattern[p.min(pattern.len())..]
        .iter()
        .all(|token| *token == PatternToken::AnyRun)
}

/// Compiles a pattern, resolving escapes and merging runs of `%`.
fn compile(pattern: &str, escape: Option<char>) -> Vec<PatternToken> {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        let token = if Some(c) == escape {
            PatternToken::Literal(chars.next().unwrap_or(c))
        } else if c == '%' {
            if tokens.last() == Some(&PatternToken::AnyRun) {
                continue;
            }
            PatternToken::AnyRun
        } else if c == '_' {
            PatternToken::AnyChar
        } else {
            PatternToken::Literal(c)
        };
        tokens.push(token);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let cases = [
            ("abc", "abc", true),
            ("abc", "ab", false),
            ("abc", "a%", true),
            ("abc", "%c", true),
            ("abc", "%b%", true),
            ("abc", "%%", true),
            ("", "%%", true),
            ("", "%", true),
            ("", "_", false),
            ("", "", true),
            ("a", "", false),
            ("abc", "a_c", true),
            ("abc", "___", true),
            ("abc", "____", false),
            ("abc", "_%_", true),
            ("ab", "a%%%b", true),
            ("abcabd", "a%bd", true),
            ("abcabc", "a%bd", false),
            ("mississippi", "%iss%ppi", true),
            ("mississippi", "m%issi_pi", true),
            ("mississippi", "m%iss_pi%x", false),
            ("ABC", "abc", false),
        ];
        for (text, pattern, expected) in cases {
            assert_eq!(
                like(text, pattern, None),
                expected,
                "{text:?} LIKE {pattern:?}"
            );
        }
    }

    #[test]
    fn escapes() {
        let backslash = Some('\\');
        assert!(like("100%", "100\\%", backslash));
        assert!(!like("1000", "100\\%", backslash));
        assert!(like("a_b", "a\\_b", backslash));
        assert!(!like("axb", "a\\_b", backslash));
        assert!(like("a\\b", "a\\\\b", backslash));
        // Without an escape character the backslash is an ordinary character.
        assert!(like("a\\xb", "a\\_b", None));
        // A custom escape character, and the escape escaping itself.
        assert!(like("50%", "50#%", Some('#')));
        assert!(like("a#", "a##", Some('#')));
        // '%' as its own escape: '%%' is a literal percent sign.
        assert!(like("5%", "5%%", Some('%')));
        assert!(!like("55", "5%%", Some('%')));
        // A trailing lone escape matches itself.
        assert!(like("ab\\", "ab\\", backslash));
    }

    #[test]
    fn unicode_characters_are_single_characters() {
        assert!(like("héllo", "h_llo", None));
        assert!(like("日本語", "日_語", None));
        assert!(like("日本語", "%語", None));
        assert!(!like("日本語", "__", None));
        assert!(like("🦀x", "_x", None));
        assert!(like("naïve", "na_ve", None));
    }

    /// The textbook dynamic program, as an oracle: `matches[i][j]` says
    /// whether the first `i` characters of text match the first `j` tokens.
    fn like_by_table(text: &str, pattern: &str, escape: Option<char>) -> bool {
        let tokens = compile(pattern, escape);
        let text: Vec<char> = text.chars().collect();
        let mut matches = vec![vec![false; tokens.len() + 1]; text.len() + 1];
        matches[0][0] = true;
        for i in 0..=text.len() {
            for j in 1..=tokens.len() {
                matches[i][j] = match tokens[j - 1] {
                    PatternToken::AnyRun => matches[i][j - 1] || (i > 0 && matches[i - 1][j]),
                    PatternToken::AnyChar => i > 0 && matches[i - 1][j - 1],
                    PatternToken::Literal(c) => i > 0 && text[i - 1] == c && matches[i - 1][j - 1],
                };
            }
        }
        matches[text.len()][tokens.len()]
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_the_dynamic_program(
            text in "[ab%_é]{0,8}",
            pattern in "[ab%_é\\\\]{0,6}",
            use_escape in proptest::bool::ANY,
        ) {
            let escape = use_escape.then_some('\\');
            proptest::prop_assert_eq!(
                like(&text, &pattern, escape),
                like_by_table(&text, &pattern, escape),
                "{:?} LIKE {:?} ESCAPE {:?}", text, pattern, escape
            );
        }
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let text = "a".repeat(5_000);
        let pattern = format!("{}b", "%a".repeat(50));
        let started = std::time::Instant::now();
        assert!(!like(&text, &pattern, None));
        assert!(like(&format!("{text}b"), &pattern, None));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
