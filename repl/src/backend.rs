//! [`Backend`]: what the shell's sessions run on — a database opened in
//! this process, or a server the shell connects to (`--connect`), where
//! every session is a connection of its own:
//!
//! ```text
//!   isodb PATH                          isodb --connect postgres://127.0.0.1:5433/db
//!   Backend::Local(Database)            Backend::Remote: ConnectOptions + a monitor connection
//!     session t1 = db.session()           session t1 = a connection (BackendKeyData pid 7)
//!     who blocks t2? Engine::locks()      who blocks t2? monitor: pg_blocking_pids(8) = {7} → t1
//!     \dt: Database::tables()             \dt: information_schema.tables
//! ```
//!
//! The monitor is the shell's own connection: it answers the questions
//! the shell asks besides the user's statements (who waits for whom, the
//! catalog for `\dt` and tab completion, a demo's table), so those never
//! queue behind a session's statement. `pg_blocking_pids` is standard
//! PostgreSQL, so lock waits are named against PostgreSQL servers too.

use std::sync::{Arc, Mutex, MutexGuard};

use isodb::{Database, IsolationLevel};

use crate::client::{Client, ConnectOptions};
use crate::reply::{Failure, Reply};

/// A server and the shell's monitor connection to it.
#[derive(Debug)]
pub struct Remote {
    /// Where the sessions connect.
    pub options: ConnectOptions,
    monitor: Mutex<Client>,
}

impl Remote {
    fn monitor(&self) -> MutexGuard<'_, Client> {
        self.monitor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Where the shell's sessions run.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A database opened by this process.
    Local(Database),
    /// A server; every session is a connection.
    Remote(Arc<Remote>),
}

/// `'text'` as an SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Backend {
    /// Connects the monitor to the server at `url`.
    pub fn connect(url: &str) -> Result<Backend, String> {
        let options = ConnectOptions::parse(url)?;
        let monitor = Client::connect(&options).map_err(|f| f.message)?;
        Ok(Backend::Remote(Arc::new(Remote {
            options,
            monitor: Mutex::new(monitor),
        })))
    }

    /// The database this process opened, if it opened one.
    pub fn database(&self) -> Option<&Database> {
        match self {
            Backend::Local(db) => Some(db),
            Backend::Remote(_) => None,
        }
    }

    /// What the banner names: the server and its version.
    pub fn describe_server(&self) -> Option<String> {
        match self {
            Backend::Local(_) => None,
            Backend::Remote(remote) => {
                let monitor = remote.monitor();
                Some(format!(
                    "{} (server {})",
                    remote.options.display(),
                    monitor
                        .parameter("server_version")
                        .unwrap_or("of unknown version")
                ))
            }
        }
    }

    /// The isolation level new sessions start with.
    pub fn default_level(&self) -> IsolationLevel {
        match self {
            Backend::Local(db) => db.options().isolation_level,
            Backend::Remote(_) => self
                .query("SHOW default_transaction_isolation")
                .ok()
                .and_then(|reply| first_text(&reply))
                .and_then(|text| text.parse().ok())
                .unwrap_or(IsolationLevel::ReadCommitted),
        }
    }

    /// Runs one statement outside every shell session (a session of its
    /// own, or the monitor).
    pub fn query(&self, sql: &str) -> Result<Reply, Failure> {
        match self {
            Backend::Local(db) => db
                .session()
                .query(sql, &[])
                .map(Reply::from)
                .map_err(|e| Failure::from(&e)),
            Backend::Remote(remote) => remote.monitor().query(sql),
        }
    }

    /// Runs `;`-separated statements outside every shell session.
    pub fn execute(&self, sql: &str) -> Result<(), Failure> {
        match self {
            Backend::Local(db) => db
                .session()
                .execute(sql)
                .map(|_| ())
                .map_err(|e| Failure::from(&e)),
            Backend::Remote(remote) => remote.monitor().query(sql).map(|_| ()),
        }
    }

    /// True when a table called `name` exists.
    pub fn table_exists(&self, name: &str) -> Result<bool, Failure> {
        match self {
            Backend::Local(db) => db
                .table(name)
                .map(|t| t.is_some())
                .map_err(|e| Failure::from(&e)),
            Backend::Remote(_) => {
                let sql = format!(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = {}",
                    literal(name)
                );
                let reply = self.query(&sql)?;
                Ok(reply.rows.first().and_then(|row| row.first())
                    != Some(&isodb::Value::Integer(0)))
            }
        }
    }

    /// Every table with its columns (for tab completion).
    pub fn tables_and_columns(&self) -> Vec<(String, Vec<String>)> {
        match self {
            Backend::Local(db) => db
                .tables()
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.name, t.columns.into_iter().map(|c| c.name).collect()))
                .collect(),
            Backend::Remote(_) => {
                let sql = "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position";
                let mut tables: Vec<(String, Vec<String>)> = Vec::new();
                for row in self.query(sql).map(|r| r.rows).unwrap_or_default() {
                    let (Some(table), Some(column)) = (row.first(), row.get(1)) else {
                        continue;
                    };
                    let (table, column) = (table.to_string(), column.to_string());
                    match tables.last_mut() {
                        Some((name, columns)) if *name == table => columns.push(column),
                        _ => tables.push((table, vec![column])),
                    }
                }
                tables
            }
        }
    }

    /// The backend pids that session `pid` waits for (`pg_blocking_pids`);
    /// `None` when the server could not say.
    pub fn blocking_pids(&self, pid: i32) -> Option<Vec<i32>> {
        match self {
            Backend::Local(db) => Some(db.blocking_pids(pid)),
            Backend::Remote(_) => {
                let reply = self
                    .query(&format!(
                        "SELECT array_to_string(pg_blocking_pids({pid}), ',')"
                    ))
                    .ok()?;
                let text = first_text(&reply)?;
                Some(
                    text.split(',')
                        .filter_map(|p| p.trim().parse().ok())
                        .collect(),
                )
            }
        }
    }
}

/// The first value of the first row, as text.
pub fn first_text(reply: &Reply) -> Option<String> {
    match reply.rows.first()?.first()? {
        isodb::Value::Null => None,
        value => Some(value.to_string()),
    }
}
