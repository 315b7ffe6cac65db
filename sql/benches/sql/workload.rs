//! The workloads of the SQL benchmark: the data set, the [`SqlSystem`]
//! seam each database implements, and the timed loops, which check every
//! answer they get.
//!
//! The data set: rows `id = 1..=n` of
//! `bench (id INTEGER PRIMARY KEY, grp INTEGER, val INTEGER, name TEXT)`,
//! each computed from its id, so no copy of the data is kept:
//!
//! ```text
//!   id   grp = id % 100   val = id * P mod n   name
//!    1          1            P mod n           row-0000001
//!    2          2           2P mod n           row-0000002
//! ```
//!
//! `P` is a prime that does not divide `n`, so `val` is a permutation of
//! `0..n`: every range `[lo, lo + 99]` of values holds exactly 100 rows, and
//! each group's count and sum of `val` are known in advance. A loop that gets
//! a wrong count, a missing row or a wrong sum ends the run with an error: a
//! benchmark that silently measures nothing is worthless.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::common::run::{BenchResult, SplitMix64};

/// Rows in the table at scale 1.
const ROWS: f64 = 100_000.0;
/// Point SELECTs at scale 1.
const SELECTS: f64 = 50_000.0;
/// Point UPDATEs (each a synced commit) at scale 1.
const UPDATES: f64 = 2_000.0;
/// Range queries at scale 1.
const RANGES: f64 = 2_000.0;
/// Full GROUP BY queries at scale 1.
const GROUP_BYS: f64 = 10.0;
/// Rows returned by each range query (fewer if the table is smaller).
pub const RANGE_WIDTH: u64 = 100;
/// Groups of the GROUP BY (`grp = id % GROUPS`).
pub const GROUPS: u64 = 100;

const SELECT_SEED: u64 = 0x005E_1EC7;
const UPDATE_SEED: u64 = 0x0B_DA7E;
const RANGE_SEED: u64 = 0x2A_4E;

/// A workload of the benchmark, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// All rows inserted by a prepared INSERT in one transaction.
    Insert,
    /// Prepared SELECT of one row by primary key, autocommit.
    PointSelect,
    /// Prepared range query on the `val` index, autocommit.
    Range,
    /// `GROUP BY grp` with count and sum over the whole table, autocommit.
    GroupBy,
    /// Prepared UPDATE of one row by primary key, each its own synced commit.
    PointUpdate,
}

impl Workload {
    /// Every workload, in running order (the UPDATEs last: they change `name`).
    pub const ALL: [Workload; 5] = [
        Workload::Insert,
        Workload::PointSelect,
        Workload::Range,
        Workload::GroupBy,
        Workload::PointUpdate,
    ];

    /// The name in the table, the JSON and the command-line filter.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Insert => "insert",
            Workload::PointSelect => "point_select",
            Workload::Range => "range",
            Workload::GroupBy => "group_by",
            Workload::PointUpdate => "point_update",
        }
    }

    /// The unit of the figure.
    pub fn unit(self) -> &'static str {
        match self {
            Workload::Insert => "rows/s",
            Workload::PointSelect | Workload::Range => "queries/s",
            Workload::GroupBy => "rows/s",
            Workload::PointUpdate => "commits/s",
        }
    }
}

/// The counts of a run, scaled by `ISODB_BENCH_SCALE`.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    /// Rows in the table.
    pub rows: u64,
    /// Point SELECTs.
    pub selects: u64,
    /// Point UPDATEs.
    pub updates: u64,
    /// Range queries.
    pub ranges: u64,
    /// GROUP BY queries.
    pub group_bys: u64,
    /// The multiplier of `val` (a prime not dividing `rows`).
    multiplier: u64,
}

impl Scale {
    /// The counts at `factor` times the defaults (each at least 1).
    pub fn new(factor: f64) -> Scale {
        let count = |base: f64| ((base * factor).round() as u64).max(1);
        let rows = count(ROWS);
        let multiplier = [1_000_003, 998_244_353]
            .into_iter()
            .find(|p| rows % p != 0)
            .expect("no row count is a multiple of both primes");
        Scale {
            rows,
            selects: count(SELECTS),
            updates: count(UPDATES),
            ranges: count(RANGES),
            group_bys: count(GROUP_BYS),
            multiplier,
        }
    }

    /// Row `id` (`1..=rows`) of the data set.
    pub fn row(&self, id: i64) -> BenchRow {
        let id_u = id as u64;
        BenchRow {
            id,
            grp: (id_u % GROUPS) as i64,
            val: ((u128::from(id_u) * u128::from(self.multiplier)) % u128::from(self.rows)) as i64,
            name: format!("row-{id:07}"),
        }
    }

    /// Rows per range query.
    pub fn range_width(&self) -> u64 {
        RANGE_WIDTH.min(self.rows)
    }

    /// The GROUP BY's expected answer: `(grp, count, sum(val))` by `grp`.
    pub fn expected_groups(&self) -> Vec<Group> {
        let mut groups: Vec<Group> = (0..GROUPS.min(self.rows + 1))
            .map(|grp| (grp as i64, 0, 0))
            .collect();
        for id in 1..=self.rows as i64 {
            let row = self.row(id);
            let group = &mut groups[row.grp as usize];
            group.1 += 1;
            group.2 += row.val;
        }
        groups.retain(|g| g.1 > 0);
        groups
    }
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchRow {
    /// The primary key.
    pub id: i64,
    /// The group, `id % 100`.
    pub grp: i64,
    /// The indexed value, a permutation of `0..n`.
    pub val: i64,
    /// A short text.
    pub name: String,
}

/// One line of the GROUP BY's answer: `(grp, count(*), sum(val))`.
pub type Group = (i64, i64, i64);

/// What a database must do for the benchmark. Each call is one statement
/// (or, for [`SqlSystem::insert_all`], one transaction), run through a
/// prepared statement the system caches.
pub trait SqlSystem {
    /// Creates the table and the index on `val`.
    fn create_schema(&mut self) -> BenchResult<()>;
    /// Inserts `rows` in one transaction, one prepared INSERT per row, and
    /// commits (synced).
    fn insert_all(&mut self, rows: &mut dyn Iterator<Item = BenchRow>) -> BenchResult<()>;
    /// Untimed: brings the files to a steady state after the load.
    fn settle(&mut self) -> BenchResult<()>;
    /// The plan of the range query, checked to use the index.
    fn range_plan(&mut self) -> BenchResult<String>;
    /// True when `range_plan` shows the index on `val` being used.
    fn plan_uses_index(&self, plan: &str) -> bool;
    /// `SELECT grp, val, name FROM bench WHERE id = ?`.
    fn select_by_id(&mut self, id: i64) -> BenchResult<Option<(i64, i64, String)>>;
    /// `SELECT id, val FROM bench WHERE val >= ? AND val <= ?`.
    fn select_range(&mut self, low: i64, high: i64) -> BenchResult<Vec<(i64, i64)>>;
    /// `SELECT grp, count(*), sum(val) FROM bench GROUP BY grp ORDER BY grp`.
    fn group_by(&mut self) -> BenchResult<Vec<Group>>;
    /// `UPDATE bench SET name = ? WHERE id = ?` in autocommit; rows changed.
    fn update_name(&mut self, id: i64, name: &str) -> BenchResult<u64>;
}

/// What one timed loop measured.
#[derive(Clone, Copy, Debug)]
pub struct Measurement {
    /// Operations (rows for insert and group_by).
    pub ops: u64,
    /// Wall-clock time of the loop.
    pub elapsed: Duration,
}

impl Measurement {
    /// Operations per second.
    pub fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn timed(ops: u64, body: impl FnOnce() -> BenchResult<()>) -> BenchResult<Measurement> {
    let start = Instant::now();
    body()?;
    Ok(Measurement {
        ops,
        elapsed: start.elapsed(),
    })
}

/// `insert`: rows `1..=n` in ascending id order, one transaction.
pub fn insert(system: &mut dyn SqlSystem, scale: &Scale) -> BenchResult<Measurement> {
    system.create_schema()?;
    timed(scale.rows, || {
        system.insert_all(&mut (1..=scale.rows as i64).map(|id| scale.row(id)))
    })
}

/// Untimed check that the load left exactly the data set: every group's
/// count and sum (so every row) is there.
pub fn verify_load(system: &mut dyn SqlSystem, scale: &Scale) -> BenchResult<()> {
    check_groups(&system.group_by()?, &scale.expected_groups())
}

/// `point_select`: random ids, each row checked against the data set.
pub fn point_select(system: &mut dyn SqlSystem, scale: &Scale) -> BenchResult<Measurement> {
    let mut random = SplitMix64::new(SELECT_SEED);
    timed(scale.selects, || {
        for _ in 0..scale.selects {
            let id = random.below(scale.rows) as i64 + 1;
            let expected = scale.row(id);
            match system.select_by_id(id)? {
                Some((grp, val, name))
                    if grp == expected.grp && val == expected.val && name == expected.name => {}
                found => return Err(format!("SELECT id = {id}: got {found:?}").into()),
            }
        }
        Ok(())
    })
}

/// `range`: random value ranges of [`RANGE_WIDTH`], each answer checked
/// for its count and its values.
pub fn range(system: &mut dyn SqlSystem, scale: &Scale) -> BenchResult<Measurement> {
    let plan = system.range_plan()?;
    if !system.plan_uses_index(&plan) {
        return Err(format!("the range query does not use the index on val:\n{plan}").into());
    }
    let width = scale.range_width();
    let mut random = SplitMix64::new(RANGE_SEED);
    timed(scale.ranges, || {
        for _ in 0..scale.ranges {
            let low = random.below(scale.rows - width + 1) as i64;
            let high = low + width as i64 - 1;
            let rows = system.select_range(low, high)?;
            let in_range = rows.iter().all(|&(id, val)| {
                (low..=high).contains(&val) && (1..=scale.rows as i64).contains(&id)
            });
            if rows.len() as u64 != width || !in_range {
                return Err(format!(
                    "range [{low}, {high}] returned {} rows (expected {width}) or values outside it",
                    rows.len()
                )
                .into());
            }
        }
        Ok(())
    })
}

/// `group_by`: the whole table grouped, each answer checked; the figure
/// counts rows aggregated per second.
pub fn group_by(system: &mut dyn SqlSystem, scale: &Scale) -> BenchResult<Measurement> {
    let expected = scale.expected_groups();
    timed(scale.rows * scale.group_bys, || {
        for _ in 0..scale.group_bys {
            check_groups(&system.group_by()?, &expected)?;
        }
        Ok(())
    })
}

/// `point_update`: random ids, each UPDATE its own synced commit that must
/// change exactly one row; afterwards (untimed) every updated row is read
/// back with its last name.
pub fn point_update(system: &mut dyn SqlSystem, scale: &Scale) -> BenchResult<Measurement> {
    let mut random = SplitMix64::new(UPDATE_SEED);
    let mut last_name: HashMap<i64, String> = HashMap::new();
    let measured = timed(scale.updates, || {
        for round in 0..scale.updates {
            let id = random.below(scale.rows) as i64 + 1;
            let name = format!("upd-{id:07}-{round}");
            let changed = system.update_name(id, &name)?;
            if changed != 1 {
                return Err(format!("UPDATE id = {id} changed {changed} rows").into());
            }
            last_name.insert(id, name);
        }
        Ok(())
    })?;
    for (id, name) in &last_name {
        let found = system.select_by_id(*id)?;
        if found.as_ref().map(|row| &row.2) != Some(name) {
            return Err(format!("after UPDATE, id = {id} reads {found:?}, not {name}").into());
        }
    }
    Ok(measured)
}

fn check_groups(got: &[Group], expected: &[Group]) -> BenchResult<()> {
    if got != expected {
        let first_difference = got.iter().zip(expected).find(|(g, e)| g != e);
        return Err(format!(
            "GROUP BY returned {} groups (expected {}); first difference {first_difference:?}",
            got.len(),
            expected.len()
        )
        .into());
    }
    Ok(())
}
