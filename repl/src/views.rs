//! The shell's read-only views: `\dt`, `\d TABLE`, `\di` (from
//! [`isodb::introspect`]), `\sessions`, `\locks` and `\txns` (from the
//! engine's lock table and transaction list), as aligned tables. On a
//! server, [`crate::server_views`] answers `\dt`, `\d` and `\di`; the
//! lock table and transaction list are the server's own.
//!
//! Engine keys are shown by name: a key is its keyspace number (4 bytes,
//! big-endian) followed by the memcomparable encoding of the row's primary
//! key, so
//!
//! ```text
//!   00 10 00 00 | 20 80 00 00 00 00 00 00 01   ->   accounts (id=1)
//!   keyspace 1048576 = table accounts, key (1)
//! ```

use isodb::introspect::TableInfo;
use isodb::{Database, Value, decode_key};

use crate::render::{row_count, table};
use crate::shell::Shell;
use crate::worker::TxnState;

fn tables_or_message(db: &Database) -> Result<Vec<TableInfo>, String> {
    db.tables()
        .map_err(|e| format!("ERROR {}: {e}", e.sqlstate()))
}

fn quote(value: &Value) -> String {
    match value {
        Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
        other => other.to_string(),
    }
}

/// A readable name for an engine key: `accounts (id=1)`, `index
/// accounts_owner ('ann', 1)`, `catalog`, or hex.
pub fn describe_key(db: &Database, key: &[u8]) -> String {
    if let Some(keyspace) = isodb::introspect::locked_keyspace(key) {
        let tables = db.tables().unwrap_or_default();
        if let Some(table) = tables.iter().find(|t| t.keyspace == keyspace) {
            return format!("{} (whole table)", table.name);
        }
        let index = tables
            .iter()
            .flat_map(|t| &t.indexes)
            .find(|i| i.keyspace == keyspace);
        return match index {
            Some(index) => format!("index {} (whole index)", index.name),
            None => format!("keyspace {keyspace} (whole keyspace)"),
        };
    }
    let hex = || key.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let (Some(prefix), Some(rest)) = (key.get(..4), key.get(4..)) else {
        return hex();
    };
    let mut id = [0u8; 4];
    id.copy_from_slice(prefix);
    let keyspace = u32::from_be_bytes(id);
    let tables = db.tables().unwrap_or_default();
    let values = decode_key(rest).ok();
    let list = |values: &[Value]| values.iter().map(quote).collect::<Vec<_>>().join(", ");
    if let Some(table) = tables.iter().find(|t| t.keyspace == keyspace) {
        return match values {
            Some(values) if table.primary_key.len() == values.len() => {
                let pairs: Vec<String> = table
                    .primary_key
                    .iter()
                    .zip(&values)
                    .map(|(column, value)| format!("{column}={}", quote(value)))
                    .collect();
                format!("{} ({})", table.name, pairs.join(", "))
            }
            Some(values) => format!("{} (row {})", table.name, list(&values)),
            None => format!("{} (key {})", table.name, hex()),
        };
    }
    for table in &tables {
        if let Some(index) = table.indexes.iter().find(|i| i.keyspace == keyspace) {
            return match values {
                Some(values) => format!("index {} ({})", index.name, list(&values)),
                None => format!("index {}", index.name),
            };
        }
    }
    if keyspace < isodb_first_object_keyspace() {
        return "catalog".to_string();
    }
    hex()
}

/// Keyspaces below this number are the database's own (catalog, engine).
fn isodb_first_object_keyspace() -> u32 {
    isodb::catalog::store::FIRST_OBJECT_ID
}

/// `\dt`: the tables.
pub fn list_tables(db: &Database) -> Result<String, String> {
    let tables = tables_or_message(db)?;
    let rows: Vec<Vec<String>> = tables
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                t.columns.len().to_string(),
                if t.primary_key.is_empty() {
                    "(row id)".to_string()
                } else {
                    t.primary_key.join(", ")
                },
                t.indexes
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    Ok(format!(
        "{}{}\n",
        table(
            &header(&["table", "columns", "primary key", "indexes"]),
            &rows,
            &[false, true, false, false]
        ),
        row_count(rows.len())
    ))
}

fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// `\d TABLE`: columns, then the primary key and the indexes.
pub fn describe_table(db: &Database, name: &str) -> Result<String, String> {
    let tables = tables_or_message(db)?;
    let Some(info) = tables.iter().find(|t| t.name == name) else {
        return Err(format!("ERROR 42P01: relation \"{name}\" does not exist"));
    };
    let rows: Vec<Vec<String>> = info
        .columns
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.data_type.to_string().to_lowercase(),
                if c.nullable { "" } else { "not null" }.to_string(),
                c.default.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut text = format!("Table \"{}\"\n", info.name);
    text.push_str(&table(
        &header(&["column", "type", "nullable", "default"]),
        &rows,
        &[false; 4],
    ));
    if !info.primary_key.is_empty() {
        text.push_str(&format!(
            "Primary key: {}_pkey ({})\n",
            info.name,
            info.primary_key.join(", ")
        ));
    }
    if db.shard_count() > 1 {
        text.push_str(&format!("Distribution: {}\n", info.distribution));
    }
    if !info.indexes.is_empty() {
        text.push_str("Indexes:\n");
        for index in &info.indexes {
            text.push_str(&format!(
                "    {}{} ({})\n",
                index.name,
                if index.unique { " UNIQUE" } else { "" },
                index.columns.join(", ")
            ));
        }
    }
    Ok(text)
}

/// `\di`: every secondary index.
pub fn list_indexes(db: &Database) -> Result<String, String> {
    let tables = tables_or_message(db)?;
    let mut rows = Vec::new();
    for t in &tables {
        for index in &t.indexes {
            rows.push(vec![
                index.name.clone(),
                t.name.clone(),
                index.columns.join(", "),
                if index.unique { "yes" } else { "no" }.to_string(),
            ]);
        }
    }
    Ok(format!(
        "{}{}\n",
        table(
            &header(&["index", "table", "columns", "unique"]),
            &rows,
            &[false; 4]
        ),
        row_count(rows.len())
    ))
}

/// `\sessions`: every session, its level, state and what it is doing.
pub fn list_sessions(shell: &Shell) -> String {
    let rows: Vec<Vec<String>> = shell
        .sessions
        .iter()
        .enumerate()
        .map(|(i, worker)| {
            let status = worker.status();
            let doing = match (&status.running, shell.lock_wait(worker)) {
                (_, Some(wait)) => format!("waiting for {}", shell.describe_wait(&wait)),
                (Some(running), None) => format!(
                    "running for {:.1} s: {}",
                    running.started.elapsed().as_secs_f64(),
                    running.sql
                ),
                (None, None) => String::new(),
            };
            vec![
                if i == shell.current { "*" } else { "" }.to_string(),
                worker.name().to_string(),
                status.level.to_string(),
                match (status.state, &status.running) {
                    (TxnState::Idle, Some(_)) => "autocommit".to_string(),
                    (state, _) => state.label().to_string(),
                },
                if worker.is_remote() {
                    format!("pid {}", worker.backend_pid())
                } else {
                    status
                        .block_txn
                        .or(worker.current_txn())
                        .map(|t| t.to_string())
                        .unwrap_or_default()
                },
                doing,
            ]
        })
        .collect();
    table(
        &header(&["", "session", "isolation", "state", "txn", "activity"]),
        &rows,
        &[false, false, false, false, true, false],
    )
}

/// What `\locks` and `\txns` say on a server.
fn not_on_a_server(what: &str) -> Result<String, String> {
    Err(format!(
        "{what}: the lock table and transactions are the server's own; the shell reads them only from a database it opened (on a server, \\sessions shows who waits for whom)"
    ))
}

/// `\locks`: each locked key, who holds it in which mode, who waits.
pub fn list_locks(shell: &Shell) -> Result<String, String> {
    let Some(db) = shell.backend.database() else {
        return not_on_a_server("\\locks");
    };
    let locks = db.cluster().locks();
    if locks.is_empty() {
        return Ok("no locks are held\n".to_string());
    }
    let mut rows = Vec::new();
    for lock in &locks {
        let what = describe_key(db, &lock.key);
        for holder in &lock.holders {
            rows.push(vec![
                what.clone(),
                format!("{} (txn {})", shell.session_of(holder.txn), holder.txn),
                holder.mode.to_string(),
                "holds".to_string(),
            ]);
        }
        for waiter in &lock.waiters {
            let behind: Vec<String> = lock
                .holders
                .iter()
                .map(|h| shell.session_of(h.txn))
                .collect();
            rows.push(vec![
                what.clone(),
                format!("{} (txn {})", shell.session_of(waiter.txn), waiter.txn),
                waiter.mode.to_string(),
                format!("waits for {}", behind.join(", ")),
            ]);
        }
    }
    Ok(table(
        &header(&["key", "transaction", "mode", "status"]),
        &rows,
        &[false; 4],
    ))
}

/// `\txns`: open engine transactions with their snapshots.
pub fn list_transactions(shell: &Shell) -> Result<String, String> {
    let Some(db) = shell.backend.database() else {
        return not_on_a_server("\\txns");
    };
    let rows: Vec<Vec<String>> = db
        .cluster()
        .transactions()
        .iter()
        .map(|t| {
            vec![
                t.id.to_string(),
                shell.session_of(t.id),
                t.level.to_string(),
                t.snapshot.to_string(),
                if t.read_only { "yes" } else { "no" }.to_string(),
                t.writes.to_string(),
                format!("{:.1} s", t.age.as_secs_f64()),
            ]
        })
        .collect();
    Ok(format!(
        "{}{}\n",
        table(
            &header(&[
                "txn",
                "session",
                "isolation",
                "snapshot",
                "read only",
                "writes",
                "age"
            ]),
            &rows,
            &[true, false, false, true, false, true, true]
        ),
        row_count(rows.len())
    ))
}
