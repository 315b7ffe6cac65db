//! [`SessionView`]: what a running statement (and SHOW) can see of its
//! session — the settings, the transaction's level and access mode, the
//! database's name — for `SHOW`, `current_setting()`, `current_user` and
//! `current_database()`.

use isodb_engine::txn::IsolationLevel;

use crate::error::Result;
use crate::session::settings::{self, Settings};

/// A read-only view of a session while one of its statements runs.
#[derive(Debug, Clone, Copy)]
pub struct SessionView<'a> {
    /// The session's configuration parameters.
    pub settings: &'a Settings,
    /// The running transaction's isolation level.
    pub level: IsolationLevel,
    /// True when the running transaction is read-only.
    pub read_only: bool,
    /// The level of the session's next transactions.
    pub default_level: IsolationLevel,
    /// The access mode of the session's next transactions.
    pub default_read_only: bool,
    /// The database's name.
    pub database: &'a str,
    /// The session's backend pid (`pg_backend_pid()`).
    pub backend_pid: i32,
}

fn on_off(value: bool) -> String {
    if value { "on" } else { "off" }.to_string()
}

impl SessionView<'_> {
    /// The canonical name and current value of parameter `name` (42704 when
    /// isodb does not know it).
    pub fn show(&self, name: &str) -> Result<(String, String)> {
        if let Some(parameter) = settings::transaction_parameter(name) {
            let value = match parameter {
                "transaction_isolation" => self.level.as_sql().to_lowercase(),
                "default_transaction_isolation" => self.default_level.as_sql().to_lowercase(),
                "transaction_read_only" => on_off(self.read_only),
                _ => on_off(self.default_read_only),
            };
            return Ok((parameter.to_string(), value));
        }
        let value = self.settings.get(name)?;
        let canonical = self
            .settings
            .all()
            .into_iter()
            .map(|(n, _, _)| n)
            .find(|n| n.eq_ignore_ascii_case(name))
            .unwrap_or_else(|| name.to_string());
        Ok((canonical, value))
    }

    /// Every parameter with its value and description, by name (SHOW ALL).
    pub fn show_all(&self) -> Vec<(String, String, String)> {
        let mut rows = self.settings.all();
        for (name, description) in settings::TRANSACTION_PARAMETERS {
            if let Ok((name, value)) = self.show(name) {
                rows.push((name, value, (*description).to_string()));
            }
        }
        rows.sort_by_key(|(name, _, _)| name.to_lowercase());
        rows
    }

    /// The connected user (`current_user`).
    pub fn user(&self) -> String {
        self.settings
            .get("session_authorization")
            .unwrap_or_default()
    }
}
