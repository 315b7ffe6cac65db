//! The scenario catalog: each classic anomaly as a two- or three-session
//! SQL [`Script`] in the style of Hermitage, with a judge that decides from
//! the replies and the final table whether the anomaly happened, the
//! outcome isodb shows at each level, and ISOLATION.md's promise for the
//! phenomenon it belongs to.
//!
//! Unless a scenario says otherwise the table is
//! `test(id INT PRIMARY KEY, value INT NOT NULL)` with x = (1, 10) and
//! y = (2, 20), and every session's transaction runs at the level under
//! test (`BEGIN` takes the session's level).
//!
//! The `expected` arrays (READ UNCOMMITTED, READ COMMITTED, REPEATABLE READ,
//! SERIALIZABLE) state what isodb really does, observed and explained; the
//! `promise` arrays copy ISOLATION.md's row. The tests check both: the run
//! must equal `expected`, and `expected` must keep `promise`.

mod dirty;
mod skew;
mod snapshot;

pub use dirty::{G0, G1A, G1B, G1C, OTV};
pub use skew::{G2_ITEM, G2_PREDICATE, READ_ONLY};
pub use snapshot::{G_SINGLE, P2, P3, P4, PMP_READ, PMP_WRITE, PMP_WRITE_ROLLBACK};

use crate::matrix::{Outcome, Promise};
use crate::script::{Run, Script, Step};

use Promise::{Aborts, Allowed, Blocks, BlocksOrAborts};

/// The default table: x = (1, 10), y = (2, 20).
pub const XY: &str = "CREATE TABLE test (id INT PRIMARY KEY, value INT NOT NULL);
     INSERT INTO test VALUES (1, 10), (2, 20)";

/// The final state every scenario reports.
pub const ALL_ROWS: &str = "SELECT id, value FROM test ORDER BY id";

/// One anomaly scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// A file-name friendly name (`g0_dirty_write`), also the golden file.
    pub name: &'static str,
    /// What the interleaving shows, in a line.
    pub about: &'static str,
    /// The interleaving.
    pub script: Script,
    /// True when the run's committed results show the anomaly.
    pub anomaly: fn(&Run) -> bool,
    /// What isodb does at each level, weakest first.
    pub expected: [Outcome; 4],
}

/// A row of ISOLATION.md: a phenomenon, its promise per level, and the
/// scenarios that exercise it (the first is the primary one, whose way of
/// prevention — blocking or aborting — must be the promised one).
#[derive(Debug, Clone)]
pub struct Phenomenon {
    /// The row's name in ISOLATION.md.
    pub name: &'static str,
    /// ISOLATION.md's cells, weakest level first.
    pub promise: [Promise; 4],
    /// The scenarios; never empty.
    pub scenarios: Vec<Scenario>,
}

const fn xy(steps: &'static [Step]) -> Script {
    Script {
        setup: XY,
        steps,
        final_query: ALL_ROWS,
    }
}

fn contains_value(rows: Option<Vec<Vec<i64>>>, value: i64) -> bool {
    rows.is_some_and(|rows| rows.iter().any(|r| r.contains(&value)))
}

/// Every phenomenon of ISOLATION.md that has a scenario, in its order.
pub fn catalog() -> Vec<Phenomenon> {
    let p = |name, promise, scenarios| Phenomenon {
        name,
        promise,
        scenarios,
    };
    let prevented_from_rc = [
        Allowed,
        Promise::Prevented,
        Promise::Prevented,
        Promise::Prevented,
    ];
    let prevented_from_rr = [Allowed, Allowed, Promise::Prevented, Promise::Prevented];
    vec![
        p(
            "G0 dirty write",
            [Blocks, Blocks, BlocksOrAborts, BlocksOrAborts],
            vec![G0],
        ),
        p("P1 / G1a aborted read", prevented_from_rc, vec![G1A]),
        p("G1b intermediate read", prevented_from_rc, vec![G1B]),
        p(
            "G1c circular information flow",
            prevented_from_rc,
            vec![G1C],
        ),
        p(
            "OTV observed transaction vanishes",
            prevented_from_rc,
            vec![OTV],
        ),
        p("P2 non-repeatable read", prevented_from_rr, vec![P2]),
        p("P3 / PMP phantom", prevented_from_rr, vec![P3, PMP_READ]),
        p(
            "PMP for writes",
            [Allowed, Allowed, Aborts, Aborts],
            vec![PMP_WRITE, PMP_WRITE_ROLLBACK],
        ),
        p(
            "P4 lost update",
            [Allowed, Allowed, Aborts, Aborts],
            vec![P4],
        ),
        p("G-single read skew", prevented_from_rr, vec![G_SINGLE]),
        p(
            "G2-item write skew",
            [Allowed, Allowed, Allowed, Aborts],
            vec![G2_ITEM],
        ),
        p(
            "G2 predicate write skew",
            [Allowed, Allowed, Allowed, Aborts],
            vec![G2_PREDICATE],
        ),
        p(
            "read-only anomaly",
            [Allowed, Allowed, Allowed, Aborts],
            vec![READ_ONLY],
        ),
    ]
}

/// Every scenario, in catalog order.
pub fn all() -> Vec<Scenario> {
    catalog().into_iter().flat_map(|p| p.scenarios).collect()
}
