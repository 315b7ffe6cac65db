//! Session settings: the configuration parameters (PostgreSQL's GUCs) that
//! `SET`, `SET LOCAL`, `RESET`, `SHOW` and `current_setting()` change and
//! read, with their defaults, their checks, and which ones a server reports
//! to its client (ParameterStatus).
//!
//! Values are kept as canonical text, the way `SHOW` prints them:
//!
//! ```text
//!   SET statement_timeout = 1500       SHOW statement_timeout -> 1500ms
//!   SET statement_timeout = '2min'     SHOW statement_timeout -> 2min
//!   SET DateStyle = iso                SHOW DateStyle         -> ISO, MDY
//!   SET client_encoding = 'utf-8'      SHOW client_encoding   -> UTF8
//! ```
//!
//! As in PostgreSQL, SET is transactional: a SET inside a block that rolls
//! back is undone, and SET LOCAL lasts until the block ends. (A ROLLBACK TO
//! SAVEPOINT does not undo SETs made after the savepoint; PostgreSQL's
//! does.) The four parameters about transactions (`transaction_isolation`,
//! `transaction_read_only` and their `default_` forms) belong to the
//! session's state machine, which reads and sets them itself.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{Error, Result};

/// The PostgreSQL version isodb answers as (`server_version`), for clients
/// that choose their SQL by version: psql's catalog queries for this version
/// are the ones isodb's `pg_catalog` answers.
pub const SERVER_VERSION: &str = "14.0";

/// [`SERVER_VERSION`] as `server_version_num` spells it.
pub const SERVER_VERSION_NUM: &str = "140000";

/// What `version()` returns.
pub fn version_string() -> String {
    format!(
        "PostgreSQL {SERVER_VERSION} (isodb {}) on {}, a PostgreSQL-compatible server",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    )
}

/// The kinds of value a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A duration in milliseconds; 0 means none.
    Milliseconds,
    /// on / off.
    Boolean,
    /// A boolean isodb supports only one value of.
    OnlyValue(&'static str, &'static str),
    /// An integer in a range.
    Integer(i64, i64),
    /// One of a list of words (lower case).
    Choice(&'static [&'static str]),
    /// Any text.
    Text,
    /// The client's character set: UTF8 only.
    Encoding,
    /// PostgreSQL's DateStyle pair (output style, field order).
    DateStyle,
    /// Fixed when the server starts; SET is refused.
    Fixed,
}

/// One configuration parameter.
#[derive(Debug)]
struct Parameter {
    /// The name as PostgreSQL spells it (ParameterStatus and SHOW use it).
    name: &'static str,
    kind: Kind,
    default: &'static str,
    /// Sent to the client in ParameterStatus when it changes.
    reported: bool,
    description: &'static str,
}

const fn parameter(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    reported: bool,
    description: &'static str,
) -> Parameter {
    Parameter {
        name,
        kind,
        default,
        reported,
        description,
    }
}

const MESSAGE_LEVELS: &[&str] = &[
    "debug5", "debug4", "debug3", "debug2", "debug1", "log", "notice", "warning", "error",
];

/// Every parameter isodb knows, in `SHOW ALL` order.
const PARAMETERS: &[Parameter] = &[
    parameter(
        "application_name",
        Kind::Text,
        "",
        true,
        "Sets the application name to be reported in statistics and logs.",
    ),
    parameter(
        "bytea_output",
        Kind::Choice(&["hex", "escape"]),
        "hex",
        false,
        "Sets the output format for bytea.",
    ),
    parameter(
        "client_encoding",
        Kind::Encoding,
        "UTF8",
        true,
        "Sets the client's character set encoding.",
    ),
    parameter(
        "client_min_messages",
        Kind::Choice(MESSAGE_LEVELS),
        "notice",
        false,
        "Sets the message levels that are sent to the client.",
    ),
    parameter(
        "DateStyle",
        Kind::DateStyle,
        "ISO, MDY",
        true,
        "Sets the display format for date and time values.",
    ),
    parameter(
        "default_transaction_deferrable",
        Kind::Boolean,
        "off",
        false,
        "Sets the default deferrable status of new transactions.",
    ),
    parameter(
        "extra_float_digits",
        Kind::Integer(-15, 3),
        "1",
        false,
        "Sets the number of digits displayed for floating-point values.",
    ),
    parameter(
        "idle_in_transaction_session_timeout",
        Kind::Milliseconds,
        "0",
        false,
        "Sets the maximum allowed idle time between queries, when in a transaction.",
    ),
    parameter(
        "integer_datetimes",
        Kind::Fixed,
        "on",
        true,
        "Shows whether datetimes are integer based.",
    ),
    parameter(
        "IntervalStyle",
        Kind::Choice(&["postgres", "postgres_verbose", "sql_standard", "iso_8601"]),
        "postgres",
        true,
        "Sets the display format for interval values.",
    ),
    parameter(
        "is_superuser",
        Kind::Fixed,
        "on",
        true,
        "Shows whether the current user is a superuser.",
    ),
    parameter(
        "lc_messages",
        Kind::Text,
        "C",
        false,
        "Sets the language in which messages are displayed.",
    ),
    parameter(
        "lc_monetary",
        Kind::Text,
        "C",
        false,
        "Sets the locale for formatting monetary amounts.",
    ),
    parameter(
        "lc_numeric",
        Kind::Text,
        "C",
        false,
        "Sets the locale for formatting numbers.",
    ),
    parameter(
        "lc_time",
        Kind::Text,
        "C",
        false,
        "Sets the locale for formatting date and time values.",
    ),
    parameter(
        "lock_timeout",
        Kind::Milliseconds,
        "0",
        false,
        "Sets the maximum allowed duration of any wait for a lock.",
    ),
    parameter(
        "max_identifier_length",
        Kind::Fixed,
        "63",
        false,
        "Shows the maximum identifier length.",
    ),
    parameter(
        "row_security",
        Kind::Boolean,
        "on",
        false,
        "Enable row security.",
    ),
    parameter(
        "search_path",
        Kind::Text,
        "\"$user\", public",
        false,
        "Sets the schema search order for names that are not schema-qualified.",
    ),
    parameter(
        "server_encoding",
        Kind::Fixed,
        "UTF8",
        true,
        "Shows the server (database) character set encoding.",
    ),
    parameter(
        "server_version",
        Kind::Fixed,
        SERVER_VERSION,
        true,
        "Shows the server version.",
    ),
    parameter(
        "server_version_num",
        Kind::Fixed,
        SERVER_VERSION_NUM,
        false,
        "Shows the server version as an integer.",
    ),
    parameter(
        "session_authorization",
        Kind::Fixed,
        "isodb",
        true,
        "Shows the session user name.",
    ),
    parameter(
        "standard_conforming_strings",
        Kind::OnlyValue(
            "on",
            "isodb always reads backslashes in string literals literally",
        ),
        "on",
        true,
        "Causes '...' strings to treat backslashes literally.",
    ),
    parameter(
        "statement_timeout",
        Kind::Milliseconds,
        "0",
        false,
        "Sets the maximum allowed duration of any statement.",
    ),
    parameter(
        "synchronous_commit",
        Kind::OnlyValue(
            "on",
            "isodb's durability is chosen when the database opens (DatabaseOptions::durability)",
        ),
        "on",
        false,
        "Sets the current transaction's synchronization level.",
    ),
    parameter(
        "TimeZone",
        Kind::Text,
        "UTC",
        true,
        "Sets the time zone for displaying and interpreting time stamps.",
    ),
];

/// The parameters the session's state machine owns (see the module docs).
pub(crate) const TRANSACTION_PARAMETERS: &[(&str, &str)] = &[
    (
        "default_transaction_isolation",
        "Sets the transaction isolation level of each new transaction.",
    ),
    (
        "default_transaction_read_only",
        "Sets the default read-only status of new transactions.",
    ),
    (
        "transaction_isolation",
        "Sets the current transaction's isolation level.",
    ),
    (
        "transaction_read_only",
        "Sets the current transaction's read-only status.",
    ),
];

fn find(name: &str) -> Option<&'static Parameter> {
    PARAMETERS
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// The canonical name of a transaction parameter, if `name` is one.
pub(crate) fn transaction_parameter(name: &str) -> Option<&'static str> {
    TRANSACTION_PARAMETERS
        .iter()
        .map(|(n, _)| *n)
        .find(|n| n.eq_ignore_ascii_case(name))
}

/// A custom parameter (`myapp.mode`): PostgreSQL accepts any two-part name.
fn is_custom(name: &str) -> bool {
    let mut parts = name.split('.');
    matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(b), None)
        if !a.is_empty() && !b.is_empty())
}

fn invalid(name: &str, value: &str, hint: &str) -> Error {
    Error::InvalidParameterValue {
        name: name.to_string(),
        value: value.to_string(),
        hint: hint.to_string(),
    }
}

/// Reads a duration as PostgreSQL does: an integer in milliseconds, or a
/// number with a unit (us, ms, s, min, h, d).
pub fn parse_milliseconds(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    let millis = (number * scale).round();
    (millis >= 0.0 && millis <= i32::MAX as f64).then_some(millis as u64)
}

/// Prints milliseconds as SHOW does: the largest unit that divides exactly.
pub fn format_milliseconds(millis: u64) -> String {
    if millis == 0 {
        return "0".to_string();
    }
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1000),
    ] {
        if millis.is_multiple_of(size) {
            return format!("{}{unit}", millis / size);
        }
    }
    format!("{millis}ms")
}

fn parse_boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" | "t" | "y" => Some(true),
        "off" | "false" | "no" | "0" | "f" | "n" => Some(false),
        _ => None,
    }
}

/// Normalizes a DateStyle value, keeping from `current` what it leaves out.
fn date_style(value: &str, current: &str) -> Option<String> {
    let (mut output, mut order) = current.split_once(", ").unwrap_or(("ISO", "MDY"));
    for token in value.split([',', ' ']).filter(|t| !t.is_empty()) {
        match token.to_ascii_uppercase().as_str() {
            "ISO" => output = "ISO",
            "SQL" => output = "SQL",
            "POSTGRES" => output = "Postgres",
            "GERMAN" => output = "German",
            "DMY" | "EURO" | "EUROPEAN" => order = "DMY",
            "MDY" | "US" | "NONEURO" | "NONEUROPEAN" => order = "MDY",
            "YMD" => order = "YMD",
            _ => return None,
        }
    }
    Some(format!("{output}, {order}"))
}

/// A session's settings.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Values set for the session (differing from the defaults).
    session: BTreeMap<String, String>,
    /// SET LOCAL values of the open block.
    local: BTreeMap<String, String>,
    /// Fixed values given when the session was made (the user's name).
    fixed: BTreeMap<&'static str, String>,
    /// The session values as they were when the open block began.
    saved: Option<BTreeMap<String, String>>,
    /// Reported parameters whose value changed since the last
    /// [`Settings::take_reported_changes`].
    changed: Vec<&'static str>,
}

impl Settings {
    /// The defaults, with `lock_timeout` from the database's options.
    pub(crate) fn new(lock_timeout: Option<Duration>) -> Settings {
        let mut settings = Settings::default();
        if let Some(timeout) = lock_timeout {
            let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
            settings
                .session
                .insert("lock_timeout".into(), format_milliseconds(millis));
        }
        settings
    }

    /// Fixes a parameter SET cannot change (`session_authorization` is the
    /// connected user's name).
    pub fn set_fixed(&mut self, name: &str, value: &str) -> Result<()> {
        let parameter = find(name).ok_or_else(|| Error::UnrecognizedParameter(name.into()))?;
        self.fixed.insert(parameter.name, value.to_string());
        Ok(())
    }

    /// The current value of `name`, as SHOW prints it.
    pub fn get(&self, name: &str) -> Result<String> {
        let key = self.key(name)?;
        if let Some(value) = self.local.get(&key).or_else(|| self.session.get(&key)) {
            return Ok(value.clone());
        }
        Ok(match find(&key) {
            Some(p) => self
                .fixed
                .get(p.name)
                .cloned()
                .unwrap_or_else(|| p.default.to_string()),
            None => String::new(),
        })
    }

    /// The key a parameter is stored under; 42704 for unknown names.
    fn key(&self, name: &str) -> Result<String> {
        if let Some(p) = find(name) {
            return Ok(p.name.to_string());
        }
        let lower = name.to_ascii_lowercase();
        if is_custom(&lower)
            && (self.session.contains_key(&lower) || self.local.contains_key(&lower))
        {
            return Ok(lower);
        }
        Err(Error::UnrecognizedParameter(name.to_string()))
    }

    /// Checks `value` for parameter `name` and returns it in canonical form.
    fn canonical(&self, name: &str, value: &str) -> Result<(String, String)> {
        let Some(parameter) = find(name) else {
            let lower = name.to_ascii_lowercase();
            if is_custom(&lower) {
                return Ok((lower, value.to_string()));
            }
            return Err(Error::UnrecognizedParameter(name.to_string()));
        };
        let key = parameter.name.to_string();
        let canonical = match parameter.kind {
            Kind::Fixed => return Err(Error::CantChangeParameter(parameter.name.into())),
            Kind::Milliseconds => parse_milliseconds(value)
                .map(format_milliseconds)
                .ok_or_else(|| {
                    invalid(
                        parameter.name,
                        value,
                        "Give milliseconds, or a number with a unit: us, ms, s, min, h, d.",
                    )
                })?,
            Kind::Boolean => match parse_boolean(value) {
                Some(true) => "on".into(),
                Some(false) => "off".into(),
                None => return Err(invalid(parameter.name, value, "Give on or off.")),
            },
            Kind::OnlyValue(only, why) => match parse_boolean(value) {
                Some(b) if (if b { "on" } else { "off" }) == only => only.to_string(),
                _ => {
                    return Err(invalid(
                        parameter.name,
                        value,
                        &format!("Only {only} is supported: {why}."),
                    ));
                }
            },
            Kind::Integer(min, max) => match value.trim().parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => n.to_string(),
                _ => {
                    return Err(invalid(
                        parameter.name,
                        value,
                        &format!("Give an integer from {min} to {max}."),
                    ));
                }
            },
            Kind::Choice(choices) => {
                let lower = value.trim().to_ascii_lowercase();
                if choices.contains(&lower.as_str()) {
                    lower
                } else {
                    return Err(invalid(
                        parameter.name,
                        value,
                        &format!("Available values: {}.", choices.join(", ")),
                    ));
                }
            }
            Kind::Text => value.to_string(),
            Kind::Encoding => match value.trim().to_ascii_uppercase().replace('-', "").as_str() {
                "UTF8" | "UNICODE" => "UTF8".into(),
                _ => return Err(invalid(parameter.name, value, "isodb speaks only UTF8.")),
            },
            Kind::DateStyle => date_style(value, &self.get(parameter.name)?).ok_or_else(|| {
                invalid(
                    parameter.name,
                    value,
                    "Give ISO, SQL, Postgres or German, and DMY, MDY or YMD.",
                )
            })?,
        };
        Ok((key, canonical))
    }

    /// SET name = value (SET LOCAL when `local`, which lasts until the open
    /// block ends and does nothing outside one, as in PostgreSQL).
    pub fn set(&mut self, name: &str, value: &str, local: bool, in_block: bool) -> Result<()> {
        let (key, value) = self.canonical(name, value)?;
        let before = self.get(&key).unwrap_or_default();
        if local {
            if in_block {
                self.local.insert(key.clone(), value);
            }
        } else {
            self.local.remove(&key);
            self.session.insert(key.clone(), value);
        }
        self.note_change(&key, &before);
        Ok(())
    }

    /// RESET name (SET name TO DEFAULT).
    pub fn reset(&mut self, name: &str, local: bool, in_block: bool) -> Result<()> {
        let key = match find(name) {
            Some(p) if p.kind == Kind::Fixed => {
                return Err(Error::CantChangeParameter(p.name.into()));
            }
            Some(p) => p.name.to_string(),
            None => self.key(name)?,
        };
        let before = self.get(&key)?;
        let default = find(&key)
            .map(|p| p.default.to_string())
            .unwrap_or_default();
        if local {
            if in_block {
                self.local.insert(key.clone(), default);
            }
        } else {
            self.local.remove(&key);
            self.session.remove(&key);
        }
        self.note_change(&key, &before);
        Ok(())
    }

    /// RESET ALL.
    pub fn reset_all(&mut self) {
        let before = self.reported_values();
        self.local.clear();
        self.session.clear();
        self.note_changes_since(&before);
    }

    /// A block begins: remember the session values for a rollback.
    pub(crate) fn begin_block(&mut self) {
        self.saved = Some(self.session.clone());
    }

    /// The block ended: SET LOCAL values lapse, and a rollback undoes the
    /// block's SETs.
    pub(crate) fn end_block(&mut self, committed: bool) {
        let before = self.reported_values();
        self.local.clear();
        if let Some(saved) = self.saved.take()
            && !committed
        {
            self.session = saved;
        }
        self.note_changes_since(&before);
    }

    fn reported_values(&self) -> Vec<(&'static str, String)> {
        PARAMETERS
            .iter()
            .filter(|p| p.reported)
            .map(|p| (p.name, self.get(p.name).unwrap_or_default()))
            .collect()
    }

    fn note_change(&mut self, key: &str, before: &str) {
        if let Some(p) = find(key)
            && p.reported
            && self.get(key).ok().as_deref() != Some(before)
            && !self.changed.contains(&p.name)
        {
            self.changed.push(p.name);
        }
    }

    fn note_changes_since(&mut self, before: &[(&'static str, String)]) {
        for (name, value) in before {
            self.note_change(name, value);
        }
    }

    /// The reported parameters and their values (what a server sends in
    /// ParameterStatus after authentication).
    pub fn reported(&self) -> Vec<(&'static str, String)> {
        self.reported_values()
    }

    /// The reported parameters that changed since the last call, with their
    /// new values (a server sends them as ParameterStatus).
    pub fn take_reported_changes(&mut self) -> Vec<(&'static str, String)> {
        std::mem::take(&mut self.changed)
            .into_iter()
            .map(|name| (name, self.get(name).unwrap_or_default()))
            .collect()
    }

    /// Every parameter with its value and description (SHOW ALL), the
    /// transaction parameters excluded.
    pub(crate) fn all(&self) -> Vec<(String, String, String)> {
        let mut rows: Vec<(String, String, String)> = PARAMETERS
            .iter()
            .map(|p| {
                (
                    p.name.to_string(),
                    self.get(p.name).unwrap_or_default(),
                    p.description.to_string(),
                )
            })
            .collect();
        for (name, value) in self.session.iter().chain(&self.local) {
            if find(name).is_none() && !rows.iter().any(|(n, _, _)| n == name) {
                rows.push((name.clone(), value.clone(), String::new()));
            }
        }
        rows
    }

    fn duration(&self, name: &str) -> Option<Duration> {
        let millis = parse_milliseconds(&self.get(name).ok()?)?;
        (millis > 0).then(|| Duration::from_millis(millis))
    }

    /// `statement_timeout`, when set.
    pub fn statement_timeout(&self) -> Option<Duration> {
        self.duration("statement_timeout")
    }

    /// `lock_timeout`, when set.
    pub fn lock_timeout(&self) -> Option<Duration> {
        self.duration("lock_timeout")
    }

    /// `idle_in_transaction_session_timeout`, when set.
    pub fn idle_in_transaction_timeout(&self) -> Option<Duration> {
        self.duration("idle_in_transaction_session_timeout")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_print_like_postgres() {
        assert_eq!(parse_milliseconds("1500"), Some(1500));
        assert_eq!(parse_milliseconds("2min"), Some(120_000));
        assert_eq!(parse_milliseconds("1.5s"), Some(1500));
        assert_eq!(parse_milliseconds("10 ms"), Some(10));
        assert_eq!(parse_milliseconds("ten"), None);
        assert_eq!(parse_milliseconds("-1"), None);
        assert_eq!(format_milliseconds(1500), "1500ms");
        assert_eq!(format_milliseconds(120_000), "2min");
        assert_eq!(format_milliseconds(5000), "5s");
        assert_eq!(format_milliseconds(0), "0");
    }

    #[test]
    fn set_checks_and_canonicalizes() {
        let mut s = Settings::new(None);
        s.set("STATEMENT_TIMEOUT", "5000", false, false).unwrap();
        assert_eq!(s.get("statement_timeout").unwrap(), "5s");
        assert_eq!(s.statement_timeout(), Some(Duration::from_secs(5)));
        s.set("datestyle", "iso", false, false).unwrap();
        assert_eq!(s.get("DateStyle").unwrap(), "ISO, MDY");
        s.set("DateStyle", "German, DMY", false, false).unwrap();
        assert_eq!(s.get("datestyle").unwrap(), "German, DMY");
        s.set("client_encoding", "utf-8", false, false).unwrap();
        assert_eq!(s.get("client_encoding").unwrap(), "UTF8");
        let error = s
            .set("client_encoding", "LATIN1", false, false)
            .unwrap_err();
        assert_eq!(error.sqlstate(), "22023");
        assert_eq!(
            s.set("nonsense", "1", false, false).unwrap_err().sqlstate(),
            "42704"
        );
        assert_eq!(
            s.set("server_version", "1", false, false)
                .unwrap_err()
                .sqlstate(),
            "55P02"
        );
        assert_eq!(
            s.set("extra_float_digits", "9", false, false)
                .unwrap_err()
                .sqlstate(),
            "22023"
        );
        s.set("myapp.mode", "fast", false, false).unwrap();
        assert_eq!(s.get("myapp.mode").unwrap(), "fast");
    }

    #[test]
    fn a_rolled_back_block_undoes_its_sets_and_local_ones_lapse() {
        let mut s = Settings::new(None);
        s.set("application_name", "before", false, false).unwrap();
        s.take_reported_changes();
        s.begin_block();
        s.set("application_name", "inside", false, true).unwrap();
        s.set("lock_timeout", "1s", true, true).unwrap();
        assert_eq!(s.get("lock_timeout").unwrap(), "1s");
        s.end_block(false);
        assert_eq!(s.get("application_name").unwrap(), "before");
        assert_eq!(s.get("lock_timeout").unwrap(), "0");
        // Changed and changed back: the client is told the final value.
        let changes = s.take_reported_changes();
        assert_eq!(changes, vec![("application_name", "before".to_string())]);
        s.begin_block();
        s.set("application_name", "kept", false, true).unwrap();
        s.end_block(true);
        assert_eq!(s.get("application_name").unwrap(), "kept");
    }

    #[test]
    fn the_database_lock_timeout_is_the_default() {
        let s = Settings::new(Some(Duration::from_millis(250)));
        assert_eq!(s.lock_timeout(), Some(Duration::from_millis(250)));
        assert!(
            s.reported()
                .iter()
                .any(|(n, v)| *n == "server_version" && v == SERVER_VERSION)
        );
    }
}
