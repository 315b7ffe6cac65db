//! The peer systems (feature `peers`): fjall 3 and SQLite, configured for the
//! same durability and the same memory as isodb (see the table in the
//! benchmark's `//!` doc).

use std::path::Path;
use std::time::Duration;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use rusqlite::{Connection, Statement};

use crate::common::durability::Mode;
use crate::common::run::BenchResult;
use crate::common::sqlite;
use crate::systems::isodb_options;
use crate::workload::{Key, System, Value};

/// The storage benchmark has one connection per database: nobody to wait for.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens fjall in `dir` with isodb's memtable size and block cache size,
/// runs `body`, and closes it. Plain puts flush the journal to the OS
/// (fjall's default, `PersistMode::Buffer`); synced batches commit with
/// `PersistMode::SyncData` (`fdatasync`, as isodb's `Durability::Sync`).
pub fn with_fjall(
    dir: &Path,
    body: &mut dyn FnMut(&mut dyn System) -> BenchResult<()>,
) -> BenchResult<()> {
    let options = isodb_options(Mode::NoSync);
    let db = Database::builder(dir)
        .cache_size(options.block_cache_size as u64)
        .open()?;
    let keyspace = db.keyspace("bench", || {
        KeyspaceCreateOptions::default().max_memtable_size(options.memtable_size as u64)
    })?;
    let mut system = FjallSystem { db, keyspace };
    body(&mut system)?;
    system.db.persist(PersistMode::SyncAll)?;
    Ok(())
}

struct FjallSystem {
    db: Database,
    keyspace: Keyspace,
}

impl System for FjallSystem {
    fn put(&mut self, key: &[u8], value: &[u8]) -> BenchResult<()> {
        self.keyspace.insert(key, value)?;
        Ok(())
    }

    fn write_synced_batch(&mut self, batch: &[(Key, Value)]) -> BenchResult<()> {
        let mut write = self.db.batch().durability(Some(PersistMode::SyncData));
        for (key, value) in batch {
            write.insert(&self.keyspace, key.as_slice(), value.as_slice());
        }
        write.commit()?;
        Ok(())
    }

    fn get(&mut self, key: &[u8], found: &mut dyn FnMut(&[u8])) -> BenchResult<bool> {
        match self.keyspace.get(key)? {
            Some(value) => {
                found(&value);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn scan(&mut self, visit: &mut dyn FnMut(&[u8], &[u8])) -> BenchResult<()> {
        for guard in self.keyspace.iter() {
            let (key, value) = guard.into_inner()?;
            visit(&key, &value);
        }
        Ok(())
    }

    fn settle(&mut self) -> BenchResult<()> {
        // The counterpart of isodb's `flush`: seal the active memtable and
        // wait until every sealed one is written to a table. (Public but
        // doc-hidden in fjall 3; fjall's own tests use it.)
        self.keyspace.rotate_memtable_and_wait()?;
        Ok(())
    }
}

/// Opens SQLite in `dir` (WAL mode, a 32 MiB page cache like isodb's block
/// cache, one `WITHOUT ROWID` key-value table), runs `body`, and closes it.
/// [`Mode::NoSync`] sets `synchronous=OFF` (commits reach the OS, never an
/// fsync); [`Mode::Sync`] sets `synchronous=FULL` (WAL fsynced at every
/// commit); see `common/durability.rs`.
pub fn with_sqlite(
    dir: &Path,
    mode: Mode,
    body: &mut dyn FnMut(&mut dyn System) -> BenchResult<()>,
) -> BenchResult<()> {
    let cache = isodb_options(mode).block_cache_size;
    let conn = sqlite::open(&dir.join("bench.sqlite"), mode, cache, BUSY_TIMEOUT)?;
    conn.execute_batch(
        "CREATE TABLE kv (k BLOB PRIMARY KEY NOT NULL, v BLOB NOT NULL) WITHOUT ROWID",
    )?;
    {
        let mut system = SqliteSystem {
            conn: &conn,
            insert: conn.prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)")?,
            select: conn.prepare("SELECT v FROM kv WHERE k = ?1")?,
            begin: conn.prepare("BEGIN")?,
            commit: conn.prepare("COMMIT")?,
        };
        body(&mut system)?;
    }
    conn.close().map_err(|(_, e)| e)?;
    Ok(())
}

struct SqliteSystem<'c> {
    conn: &'c Connection,
    insert: Statement<'c>,
    select: Statement<'c>,
    begin: Statement<'c>,
    commit: Statement<'c>,
}

impl System for SqliteSystem<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> BenchResult<()> {
        // Autocommit: one transaction per put, as isodb's one batch per put.
        self.insert.execute((key, value))?;
        Ok(())
    }

    fn write_synced_batch(&mut self, batch: &[(Key, Value)]) -> BenchResult<()> {
        self.begin.execute([])?;
        for (key, value) in batch {
            self.insert.execute((key.as_slice(), value.as_slice()))?;
        }
        self.commit.execute([])?;
        Ok(())
    }

    fn get(&mut self, key: &[u8], found: &mut dyn FnMut(&[u8])) -> BenchResult<bool> {
        let mut rows = self.select.query([key])?;
        match rows.next()? {
            Some(row) => {
                found(row.get_ref(0)?.as_blob()?);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn scan(&mut self, visit: &mut dyn FnMut(&[u8], &[u8])) -> BenchResult<()> {
        let mut statement = self.conn.prepare("SELECT k, v FROM kv ORDER BY k")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            visit(row.get_ref(0)?.as_blob()?, row.get_ref(1)?.as_blob()?);
        }
        Ok(())
    }

    fn settle(&mut self) -> BenchResult<()> {
        // The counterpart of a flush: move the WAL into the database file.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}
