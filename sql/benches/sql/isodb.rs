//! isodb behind the benchmark's [`SqlSystem`] seam: one [`Session`] at the
//! database's default isolation level (SERIALIZABLE), synced commits
//! (`Durability::Sync`), every statement prepared once with
//! `Session::prepare` and run with parameters.
//!
//! Autocommit statements are what a client without `BEGIN` gets: a SELECT
//! runs in its own read-only transaction, an UPDATE in its own read-write
//! transaction whose commit is fsynced before `execute_with` returns.

use std::path::Path;

use isodb::{Database, DatabaseOptions, Durability, IsolationLevel, Prepared, Session};

use crate::common::run::BenchResult;
use crate::workload::{BenchRow, Group, SqlSystem};

const SCHEMA: &str =
    "CREATE TABLE bench (id INTEGER PRIMARY KEY, grp INTEGER, val INTEGER, name TEXT);
     CREATE INDEX bench_val ON bench (val)";
const INSERT: &str = "INSERT INTO bench (id, grp, val, name) VALUES ($1, $2, $3, $4)";
const SELECT_BY_ID: &str = "SELECT grp, val, name FROM bench WHERE id = $1";
const SELECT_RANGE: &str = "SELECT id, val FROM bench WHERE val >= $1 AND val <= $2";
const GROUP_BY: &str = "SELECT grp, count(*), sum(val) FROM bench GROUP BY grp ORDER BY grp";
const UPDATE_NAME: &str = "UPDATE bench SET name = $1 WHERE id = $2";

/// The isolation level isodb runs at: its default.
pub const LEVEL: IsolationLevel = IsolationLevel::Serializable;

/// Opens isodb in `dir` with synced commits and its default isolation level,
/// runs `body`, and closes it.
pub fn with_isodb(
    dir: &Path,
    body: &mut dyn FnMut(&mut dyn SqlSystem) -> BenchResult<()>,
) -> BenchResult<()> {
    let options = DatabaseOptions {
        durability: Durability::Sync,
        ..DatabaseOptions::default()
    };
    if options.isolation_level != LEVEL {
        return Err(format!(
            "isodb's default level is {:?}; the report says {LEVEL:?}",
            options.isolation_level
        )
        .into());
    }
    let db = Database::open_with(dir, options)?;
    let mut system = IsodbSystem {
        session: db.session(),
        statements: None,
        db,
    };
    body(&mut system)
}

/// The prepared statements, made as soon as the table exists.
struct Statements {
    select_by_id: Prepared,
    select_range: Prepared,
    group_by: Prepared,
    update_name: Prepared,
}

struct IsodbSystem {
    db: Database,
    session: Session,
    statements: Option<Statements>,
}

impl IsodbSystem {
    /// The session and the prepared statements, borrowed together.
    fn parts(&mut self) -> BenchResult<(&mut Session, &Statements)> {
        let statements = self
            .statements
            .as_ref()
            .ok_or("a statement ran before create_schema")?;
        Ok((&mut self.session, statements))
    }
}

impl SqlSystem for IsodbSystem {
    fn create_schema(&mut self) -> BenchResult<()> {
        self.session.execute(SCHEMA)?;
        self.statements = Some(Statements {
            select_by_id: self.session.prepare(SELECT_BY_ID)?,
            select_range: self.session.prepare(SELECT_RANGE)?,
            group_by: self.session.prepare(GROUP_BY)?,
            update_name: self.session.prepare(UPDATE_NAME)?,
        });
        Ok(())
    }

    fn insert_all(&mut self, rows: &mut dyn Iterator<Item = BenchRow>) -> BenchResult<()> {
        let mut tx = self.session.transaction(LEVEL)?;
        let insert = tx.prepare(INSERT)?;
        for row in rows {
            tx.execute_with(&insert, &[&row.id, &row.grp, &row.val, &row.name])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn settle(&mut self) -> BenchResult<()> {
        self.db.cluster().flush()?;
        Ok(())
    }

    fn range_plan(&mut self) -> BenchResult<String> {
        let rows = self
            .session
            .query(&format!("EXPLAIN {SELECT_RANGE}"), &[&0i64, &1i64])?;
        let lines: Vec<String> = rows
            .iter()
            .map(|r| r.get(0))
            .collect::<isodb::Result<_>>()?;
        Ok(lines.join("\n"))
    }

    fn plan_uses_index(&self, plan: &str) -> bool {
        plan.contains("Index scan on bench using bench_val")
    }

    fn select_by_id(&mut self, id: i64) -> BenchResult<Option<(i64, i64, String)>> {
        let (session, statements) = self.parts()?;
        let rows = session.query(&statements.select_by_id, &[&id])?;
        match rows.first() {
            None => Ok(None),
            Some(row) => Ok(Some((row.get(0)?, row.get(1)?, row.get(2)?))),
        }
    }

    fn select_range(&mut self, low: i64, high: i64) -> BenchResult<Vec<(i64, i64)>> {
        let (session, statements) = self.parts()?;
        let rows = session.query(&statements.select_range, &[&low, &high])?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows.iter() {
            out.push((row.get(0)?, row.get(1)?));
        }
        Ok(out)
    }

    fn group_by(&mut self) -> BenchResult<Vec<Group>> {
        let (session, statements) = self.parts()?;
        let rows = session.query(&statements.group_by, &[])?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows.iter() {
            out.push((row.get(0)?, row.get(1)?, row.get(2)?));
        }
        Ok(out)
    }

    fn update_name(&mut self, id: i64, name: &str) -> BenchResult<u64> {
        let (session, statements) = self.parts()?;
        Ok(session.execute_with(&statements.update_name, &[&name, &id])?)
    }
}
