//! isodb's errors as ErrorResponse fields: severity, SQLSTATE, message,
//! detail and hint where isodb has them, and for syntax errors the
//! position (a 1-based character index into the query text, as libpq
//! expects, computed from isodb's line and column).

use pgwire::error::ErrorInfo;

/// ERROR: the statement failed, the connection goes on.
pub const ERROR: &str = "ERROR";
/// FATAL: the connection ends.
pub const FATAL: &str = "FATAL";

/// An ErrorResponse with `severity`, `code` and `message`.
pub fn info(severity: &str, code: &str, message: impl Into<String>) -> ErrorInfo {
    ErrorInfo::new(severity.to_string(), code.to_string(), message.into())
}

/// The ErrorResponse of a failed statement whose text was `sql`.
pub fn from_sql_error(error: &isodb::Error, sql: &str) -> ErrorInfo {
    let mut info = info(ERROR, error.sqlstate(), error.to_string());
    info.detail = error.detail();
    info.hint = error.hint();
    if let isodb::Error::SyntaxError {
        position: Some((line, column)),
        ..
    } = error
    {
        info.position = character_position(sql, *line, *column).map(|p| p.to_string());
    }
    if error.sqlstate() == "25P03" {
        info.severity = FATAL.to_string();
    }
    info
}

/// The 1-based character index of `line`:`column` (both 1-based) in `sql`.
fn character_position(sql: &str, line: u64, column: u64) -> Option<usize> {
    let line = usize::try_from(line).ok()?.checked_sub(1)?;
    let column = usize::try_from(column).ok()?;
    let before: usize = sql
        .split('\n')
        .take(line)
        .map(|l| l.chars().count() + 1)
        .sum();
    Some(before + column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_point_at_their_character() {
        assert_eq!(character_position("SELEC 1", 1, 1), Some(1));
        assert_eq!(character_position("SELECT 1;\nSELEC 2", 2, 1), Some(11));
        let error = isodb::Error::SyntaxError {
            message: "x".into(),
            position: Some((1, 8)),
        };
        assert_eq!(
            from_sql_error(&error, "SELECT FROM").position.as_deref(),
            Some("8")
        );
        let unique = isodb::Error::UniqueViolation {
            constraint: "t_pkey".into(),
            detail: "Key (id)=(1) already exists.".into(),
        };
        let info = from_sql_error(&unique, "");
        assert_eq!(
            (info.code.as_str(), info.detail.as_deref()),
            ("23505", Some("Key (id)=(1) already exists."))
        );
    }
}
