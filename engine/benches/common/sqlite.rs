//! Opening SQLite (bundled, feature `peers`) the way every benchmark compares
//! it with isodb: WAL journal, the `synchronous` setting of the row's
//! [`Mode`], and a page cache as large as isodb's block cache.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::common::durability::Mode;
use crate::common::run::BenchResult;

/// Opens (or creates) the database file `path` in WAL mode with `mode`'s
/// durability and a page cache of `cache_bytes`. `busy_timeout` is how long
/// a statement waits for another connection's lock before failing with
/// `SQLITE_BUSY` (only matters when several connections share the file).
pub fn open(
    path: &Path,
    mode: Mode,
    cache_bytes: usize,
    busy_timeout: Duration,
) -> BenchResult<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(busy_timeout)?;
    let journal: String = conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
    if !journal.eq_ignore_ascii_case("wal") {
        return Err(format!("sqlite refused WAL mode (journal_mode={journal})").into());
    }
    conn.pragma_update(None, "synchronous", mode.sqlite_synchronous())?;
    let cache_kib = (cache_bytes / 1024) as i64;
    // A negative cache_size is a size in KiB rather than in pages.
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    Ok(conn)
}
