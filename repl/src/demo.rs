//! `\demo NAME`: plays an isolation anomaly as a transcript, through real
//! sessions on their own threads (so blocking is real), at the current
//! session's isolation level, and ends with a one-line verdict.
//!
//! Every demo starts from `demo(id int primary key, value int)` holding
//! x = (1, 10) and y = (2, 20), the rows of /shared/ISOLATION.md:
//!
//! ```text
//!   lost update at REPEATABLE READ
//!    1. t1: BEGIN                    -- t1 and t2 both start
//!    ...
//!    6. t2: UPDATE demo SET value = 11 WHERE id = 1   -- t2 writes x = 10 + 1
//!       t2: waiting for t1 (row lock on demo (id=1))
//!    7. t1: COMMIT
//!       t2: ERROR 40001: ...
//!   verdict: prevented: t2 aborted with 40001
//! ```
//!
//! The verdict comes from what happened: the demo's own check of the
//! values read (or of which commits succeeded) says whether the anomaly
//! happened; otherwise an aborted step (40001/40P01) or a step that had to
//! wait says how it was prevented.

use std::sync::Arc;

use isodb::{IsolationLevel, Value};

use crate::shell::{Flow, Shell};
use crate::worker::SessionWorker;

/// The outcome of one step: its rows, or its SQLSTATE.
type StepResult = Option<Result<Vec<Vec<Value>>, String>>;

/// One step of a transcript.
struct Step {
    session: usize,
    sql: &'static str,
    note: &'static str,
}

const fn step(session: usize, sql: &'static str, note: &'static str) -> Step {
    Step { session, sql, note }
}

/// One anomaly: its steps and how to tell whether it happened.
struct Demo {
    name: &'static str,
    title: &'static str,
    steps: &'static [Step],
    /// Given each step's result, describes the anomaly if it happened.
    happened: fn(&[StepResult]) -> Option<String>,
}

fn first_integer(result: &StepResult) -> Option<i64> {
    match result {
        Some(Ok(rows)) => match rows.first().and_then(|r| r.first()) {
            Some(Value::Integer(n)) => Some(*n),
            _ => None,
        },
        _ => None,
    }
}

fn succeeded(result: &StepResult) -> bool {
    matches!(result, Some(Ok(_)))
}

const DEMOS: &[Demo] = &[
    Demo {
        name: "dirty-read",
        title: "dirty (aborted) read, P1/G1a: a reader sees a write that is later rolled back",
        steps: &[
            step(0, "BEGIN", "t1 starts"),
            step(
                0,
                "UPDATE demo SET value = 101 WHERE id = 1",
                "t1 writes x = 101, uncommitted",
            ),
            step(
                1,
                "SELECT value FROM demo WHERE id = 1",
                "t2 reads x while t1 is open",
            ),
            step(0, "ROLLBACK", "t1 rolls back: x = 101 never existed"),
        ],
        happened: |r| {
            (first_integer(&r[2]) == Some(101))
                .then(|| "t2 read 101, a value t1 rolled back".to_string())
        },
    },
    Demo {
        name: "non-repeatable-read",
        title: "non-repeatable read, P2: the same row read twice gives two answers",
        steps: &[
            step(0, "BEGIN", "t1 starts"),
            step(0, "SELECT value FROM demo WHERE id = 1", "t1 reads x"),
            step(
                1,
                "UPDATE demo SET value = 12 WHERE id = 1",
                "t2 changes x and commits (autocommit)",
            ),
            step(0, "SELECT value FROM demo WHERE id = 1", "t1 reads x again"),
            step(0, "COMMIT", "t1 ends"),
        ],
        happened: |r| match (first_integer(&r[1]), first_integer(&r[3])) {
            (Some(a), Some(b)) if a != b => Some(format!("t1 read x = {a}, then x = {b}")),
            _ => None,
        },
    },
    Demo {
        name: "phantom",
        title: "phantom, P3: the same predicate read twice gives two sets of rows",
        steps: &[
            step(0, "BEGIN", "t1 starts"),
            step(
                0,
                "SELECT count(*) FROM demo WHERE value > 15",
                "t1 counts rows with value > 15",
            ),
            step(
                1,
                "INSERT INTO demo VALUES (3, 30)",
                "t2 inserts a matching row and commits",
            ),
            step(
                0,
                "SELECT count(*) FROM demo WHERE value > 15",
                "t1 counts again",
            ),
            step(0, "COMMIT", "t1 ends"),
        ],
        happened: |r| match (first_integer(&r[1]), first_integer(&r[3])) {
            (Some(a), Some(b)) if a != b => Some(format!("t1 counted {a} rows, then {b}")),
            _ => None,
        },
    },
    Demo {
        name: "lost-update",
        title: "lost update, P4: two read-modify-write cycles on one row; one increment is lost",
        steps: &[
            step(0, "BEGIN", "t1 starts"),
            step(1, "BEGIN", "t2 starts"),
            step(0, "SELECT value FROM demo WHERE id = 1", "t1 reads x = 10"),
            step(1, "SELECT value FROM demo WHERE id = 1", "t2 reads x = 10"),
            step(
                0,
                "UPDATE demo SET value = 11 WHERE id = 1",
                "t1 writes x = 10 + 1",
            ),
            step(
                1,
                "UPDATE demo SET value = 11 WHERE id = 1",
                "t2 writes x = 10 + 1",
            ),
            step(0, "COMMIT", "t1 commits"),
            step(1, "COMMIT", "t2 commits (if it still can)"),
            step(
                2,
                "SELECT value FROM demo WHERE id = 1",
                "afterwards: two increments should give 12",
            ),
        ],
        happened: |r| {
            (r[4..8].iter().all(succeeded) && first_integer(&r[8]) == Some(11))
                .then(|| "both increments committed, yet x = 11: one was lost".to_string())
        },
    },
    Demo {
        name: "read-skew",
        title: "read skew, G-single: a transaction sees part of another's effects",
        steps: &[
            step(0, "BEGIN", "t1 starts; the invariant is x + y = 30"),
            step(0, "SELECT value FROM demo WHERE id = 1", "t1 reads x = 10"),
            step(1, "BEGIN", "t2 starts a transfer"),
            step(
                1,
                "UPDATE demo SET value = 5 WHERE id = 1",
                "t2 moves 5 out of x",
            ),
            step(
                1,
                "UPDATE demo SET value = 25 WHERE id = 2",
                "t2 moves 5 into y",
            ),
            step(1, "COMMIT", "t2 commits"),
            step(0, "SELECT value FROM demo WHERE id = 2", "t1 reads y"),
            step(0, "COMMIT", "t1 ends"),
        ],
        happened: |r| match (first_integer(&r[1]), first_integer(&r[6])) {
            (Some(x), Some(y)) if x + y != 30 => Some(format!(
                "t1 saw x = {x} and y = {y}: x + y = {} is not 30",
                x + y
            )),
            _ => None,
        },
    },
    Demo {
        name: "write-skew",
        title: "write skew, G2-item: two transactions read both rows and write different ones",
        steps: &[
            step(
                0,
                "BEGIN",
                "t1 starts; the rule is: at least one of x, y stays non-zero",
            ),
            step(1, "BEGIN", "t2 starts"),
            step(
                0,
                "SELECT count(*) FROM demo WHERE value > 0",
                "t1 sees two non-zero rows",
            ),
            step(
                1,
                "SELECT count(*) FROM demo WHERE value > 0",
                "t2 sees two non-zero rows",
            ),
            step(
                0,
                "UPDATE demo SET value = 0 WHERE id = 1",
                "so t1 zeroes x",
            ),
            step(
                1,
                "UPDATE demo SET value = 0 WHERE id = 2",
                "and t2 zeroes y",
            ),
            step(0, "COMMIT", "t1 commits"),
            step(1, "COMMIT", "t2 commits"),
            step(
                2,
                "SELECT count(*) FROM demo WHERE value > 0",
                "afterwards: non-zero rows",
            ),
        ],
        happened: |r| {
            (r[4..8].iter().all(succeeded) && first_integer(&r[8]) == Some(0)).then(|| {
                "both commits succeeded and no row is non-zero: the rule is broken".to_string()
            })
        },
    },
];

/// What each level promises, in one line (ISOLATION.md's matrix).
fn guarantee(level: IsolationLevel) -> &'static str {
    match level {
        IsolationLevel::ReadUncommitted => {
            "READ UNCOMMITTED only prevents dirty writes; readers may see uncommitted data"
        }
        IsolationLevel::ReadCommitted => {
            "READ COMMITTED reads only committed data, with a fresh snapshot per statement"
        }
        IsolationLevel::RepeatableRead => {
            "REPEATABLE READ (snapshot isolation) reads one snapshot and aborts conflicting writers; write skew is still possible"
        }
        IsolationLevel::Serializable => {
            "SERIALIZABLE (SSI) aborts any transaction that would make the result differ from some serial order"
        }
    }
}

fn list() -> String {
    let mut text = String::from("demos (\\demo NAME plays one at the current session's level):\n");
    for demo in DEMOS {
        text.push_str(&format!("  {:<20} {}\n", demo.name, demo.title));
    }
    text
}

/// `\demo [NAME]`.
pub fn run(shell: &mut Shell, name: &str) -> Flow {
    let Some(demo) = DEMOS.iter().find(|d| d.name == name.trim()) else {
        if name.trim().is_empty() {
            shell.output.out(&list());
            return Flow::Continue;
        }
        shell.complain(&format!("\\demo: there is no demo {name:?}\n{}", list()));
        return shell.after_failure();
    };
    let level = shell.session().status().level;
    let failures_before = shell.failures;
    let verdict = play(shell, demo, level);
    // The demo's errors are part of the show, not failures of the user's script.
    shell.failures = failures_before;
    match verdict {
        Ok(verdict) => {
            shell.say(&format!("verdict: {verdict}"));
            shell.say(&format!("{level}: {}", guarantee(level)));
            Flow::Continue
        }
        Err(message) => {
            shell.complain(&format!("\\demo: {message}"));
            shell.after_failure()
        }
    }
}

fn play(shell: &mut Shell, demo: &Demo, level: IsolationLevel) -> Result<String, String> {
    let setup = "DROP TABLE IF EXISTS demo; CREATE TABLE demo (id INT PRIMARY KEY, value INT); INSERT INTO demo VALUES (1, 10), (2, 20)";
    shell
        .db
        .session()
        .execute(setup)
        .map_err(|e| format!("could not create table demo: {e}"))?;
    let mut workers = Vec::new();
    for name in ["t1", "t2", "t3"] {
        let worker = Arc::new(
            SessionWorker::spawn(name, &shell.db)
                .map_err(|e| format!("cannot start a session thread: {e}"))?,
        );
        worker.set_level(level);
        workers.push(worker);
    }
    shell.guests = workers.clone();
    shell.recorded = Some(Vec::new());
    shell.say(&format!("{} at {level}", demo.title));
    let mut tickets: Vec<(String, u64)> = Vec::new();
    let mut blocked: Vec<(String, String)> = Vec::new();
    for (i, step) in demo.steps.iter().enumerate() {
        let worker = &workers[step.session.min(workers.len() - 1)];
        shell.say(&format!(
            "{:>2}. {}: {:<45} -- {}",
            i + 1,
            worker.name(),
            step.sql,
            step.note
        ));
        let pending_before = shell.pending.len();
        // Tickets count up from 1 per worker, and only the demo submits to these.
        let next_ticket = worker.tickets_issued() + 1;
        shell.run_on(worker, step.sql, true);
        if shell.pending.len() > pending_before
            && let Some(wait) = shell.lock_wait(worker)
        {
            let blockers: Vec<String> =
                wait.blockers.iter().map(|&t| shell.session_of(t)).collect();
            blocked.push((worker.name().to_string(), blockers.join(", ")));
        }
        tickets.push((worker.name().to_string(), next_ticket));
    }
    shell.settle();
    let recorded = shell.recorded.take().unwrap_or_default();
    let results: Vec<StepResult> = tickets
        .iter()
        .map(|(session, ticket)| {
            recorded
                .iter()
                .find(|(s, t, _)| s == session && t == ticket)
                .map(|(_, _, result)| result.clone())
        })
        .collect();
    for worker in &workers {
        worker.cancel_wait();
    }
    shell.settle();
    for worker in &workers {
        worker.stop(true);
    }
    shell.guests.clear();
    let _ = shell.db.session().execute("DROP TABLE IF EXISTS demo");

    if let Some(anomaly) = (demo.happened)(&results) {
        return Ok(format!("anomaly happened: {anomaly}"));
    }
    for (i, result) in results.iter().enumerate() {
        if let Some(Err(code)) = result
            && (code == "40001" || code == "40P01")
        {
            return Ok(format!("prevented: {} aborted with {code}", tickets[i].0));
        }
    }
    if let Some((waiter, blocker)) = blocked.first() {
        return Ok(format!(
            "prevented: {waiter} blocked until {blocker} committed"
        ));
    }
    Ok("prevented: no step saw another transaction's uncommitted or later data".to_string())
}

/// The demos' names (for tab completion).
pub fn names() -> impl Iterator<Item = &'static str> {
    DEMOS.iter().map(|d| d.name)
}
