//! SQLite (bundled, feature `peers`) behind the benchmark's [`SqlSystem`]
//! seam, with isodb's promise: WAL journal and `synchronous=FULL`, so every
//! commit is fsynced before it returns (opened by `common/sqlite.rs`), and a
//! page cache as large as isodb's block cache. Statements are prepared once
//! and reused through rusqlite's statement cache (`prepare_cached`).
//!
//! SQLite's transactions are serializable: one writer at a time, and each
//! reader sees one snapshot. Autocommit statements are, as in isodb, one
//! transaction each.

use std::path::Path;
use std::time::Duration;

use isodb_engine::storage::StoreOptions;
use rusqlite::{Connection, OptionalExtension, params};

use crate::common::durability::Mode;
use crate::common::run::BenchResult;
use crate::common::sqlite;
use crate::workload::{BenchRow, Group, SqlSystem};

const SCHEMA: &str =
    "CREATE TABLE bench (id INTEGER PRIMARY KEY, grp INTEGER, val INTEGER, name TEXT);
     CREATE INDEX bench_val ON bench (val);";
const INSERT: &str = "INSERT INTO bench (id, grp, val, name) VALUES (?1, ?2, ?3, ?4)";
const SELECT_BY_ID: &str = "SELECT grp, val, name FROM bench WHERE id = ?1";
const SELECT_RANGE: &str = "SELECT id, val FROM bench WHERE val >= ?1 AND val <= ?2";
const GROUP_BY: &str = "SELECT grp, count(*), sum(val) FROM bench GROUP BY grp ORDER BY grp";
const UPDATE_NAME: &str = "UPDATE bench SET name = ?1 WHERE id = ?2";

/// One connection: nobody else to wait for.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens SQLite in `dir` (file `bench.sqlite`) in WAL mode with synced
/// commits, runs `body`, and closes it.
pub fn with_sqlite(
    dir: &Path,
    body: &mut dyn FnMut(&mut dyn SqlSystem) -> BenchResult<()>,
) -> BenchResult<()> {
    let conn = sqlite::open(
        &dir.join("bench.sqlite"),
        Mode::Sync,
        StoreOptions::default().block_cache_size,
        BUSY_TIMEOUT,
    )?;
    let mut system = SqliteSystem { conn };
    body(&mut system)?;
    system.conn.close().map_err(|(_, error)| error)?;
    Ok(())
}

struct SqliteSystem {
    conn: Connection,
}

impl SqlSystem for SqliteSystem {
    fn create_schema(&mut self) -> BenchResult<()> {
        self.conn.execute_batch(SCHEMA)?;
        Ok(())
    }

    fn insert_all(&mut self, rows: &mut dyn Iterator<Item = BenchRow>) -> BenchResult<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(INSERT)?;
            for row in rows {
                insert.execute(params![row.id, row.grp, row.val, row.name])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn settle(&mut self) -> BenchResult<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn range_plan(&mut self) -> BenchResult<String> {
        let mut explain = self
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {SELECT_RANGE}"))?;
        let lines = explain
            .query_map(params![0i64, 1i64], |row| row.get::<_, String>(3))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(lines.join("\n"))
    }

    fn plan_uses_index(&self, plan: &str) -> bool {
        // `COVERING INDEX` when the index alone answers (here: `id` is the rowid).
        plan.contains("INDEX bench_val")
    }

    fn select_by_id(&mut self, id: i64) -> BenchResult<Option<(i64, i64, String)>> {
        let mut select = self.conn.prepare_cached(SELECT_BY_ID)?;
        Ok(select
            .query_row(params![id], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()?)
    }

    fn select_range(&mut self, low: i64, high: i64) -> BenchResult<Vec<(i64, i64)>> {
        let mut select = self.conn.prepare_cached(SELECT_RANGE)?;
        let rows = select
            .query_map(params![low, high], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn group_by(&mut self) -> BenchResult<Vec<Group>> {
        let mut select = self.conn.prepare_cached(GROUP_BY)?;
        let rows = select
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn update_name(&mut self, id: i64, name: &str) -> BenchResult<u64> {
        let mut update = self.conn.prepare_cached(UPDATE_NAME)?;
        Ok(update.execute(params![name, id])? as u64)
    }
}
