//! The anomaly transcripts `\demo` plays, and how each one judges, from
//! the values its steps actually returned, whether the anomaly happened.
//!
//! Every transcript runs on `demo(id int primary key, value int)` holding
//! x = (1, 10) and y = (2, 20), the rows of ISOLATION.md, with sessions t1
//! and t2 (and t3 for a final read after both have ended):
//!
//! ```text
//!   lost-update                      judged by
//!    3. t1: SELECT x        -> 10
//!    4. t2: SELECT x        -> 10
//!    5. t1: UPDATE x = 11
//!    6. t2: UPDATE x = 11   (waits)
//!    7. t1: COMMIT
//!    8. t2: COMMIT
//!    9. t3: SELECT x        -> 11    steps 5-8 all succeeded and x = 11:
//!                                    happened (one increment was lost)
//! ```
//!
//! `allowed_at` is ISOLATION.md's matrix: the levels at which the anomaly
//! may happen. It is what the level *promises*; the judgement is what this
//! run *did*, and the shell reports both (and a contradiction as a bug).

use isodb::IsolationLevel;

use super::outcome::{Judgement, StepResult};

/// One step of a transcript.
#[derive(Debug)]
pub struct Step {
    /// 0 = t1, 1 = t2, 2 = t3.
    pub session: usize,
    /// The statement.
    pub sql: &'static str,
    /// What the step does and why it is there.
    pub note: &'static str,
}

const fn step(session: usize, sql: &'static str, note: &'static str) -> Step {
    Step { session, sql, note }
}

/// One anomaly.
#[derive(Debug)]
pub struct Demo {
    /// The name `\demo` takes.
    pub name: &'static str,
    /// Its name in prose ("lost update").
    pub short: &'static str,
    /// One line: which phenomenon, what goes wrong.
    pub title: &'static str,
    /// The transcript.
    pub steps: &'static [Step],
    /// ISOLATION.md: the levels that allow it.
    pub allowed_at: &'static [IsolationLevel],
    /// Judges a run from each step's result (one per step, in order).
    pub judge: fn(&[StepResult]) -> Judgement,
}

/// The result of step `i` (1-based, as printed), or `Missing`.
fn at(results: &[StepResult], i: usize) -> &StepResult {
    results
        .get(i.wrapping_sub(1))
        .unwrap_or(&StepResult::Missing)
}

/// Describes the first of steps `from..=to` (1-based) that did not succeed.
fn first_failure(results: &[StepResult], steps: &[Step], from: usize, to: usize) -> String {
    (from..=to)
        .find(|&i| !at(results, i).succeeded())
        .map(|i| {
            let who = ["t1", "t2", "t3"]
                .get(steps.get(i - 1).map_or(0, |s| s.session))
                .copied()
                .unwrap_or("t?");
            format!("step {i} ({who}) {}", at(results, i).describe_failure())
        })
        .unwrap_or_else(|| "every step succeeded".to_string())
}

fn value_or_failure(result: &StepResult) -> String {
    match result.integer() {
        Some(n) => n.to_string(),
        None => format!("nothing (the read {})", result.describe_failure()),
    }
}

use IsolationLevel::{ReadCommitted, ReadUncommitted, RepeatableRead};

const DIRTY_WRITE: &[Step] = &[
    step(0, "BEGIN", "t1 starts"),
    step(1, "BEGIN", "t2 starts"),
    step(0, "UPDATE demo SET value = 11 WHERE id = 1", "t1 writes x"),
    step(
        1,
        "UPDATE demo SET value = 12 WHERE id = 1",
        "t2 writes x too, before t1 ends",
    ),
    step(0, "UPDATE demo SET value = 21 WHERE id = 2", "t1 writes y"),
    step(0, "COMMIT", "t1 commits"),
    step(1, "UPDATE demo SET value = 22 WHERE id = 2", "t2 writes y"),
    step(1, "COMMIT", "t2 commits (if it still can)"),
    step(
        2,
        "SELECT value FROM demo ORDER BY id",
        "afterwards: x and y should come from one transaction",
    ),
];

const DIRTY_READ: &[Step] = &[
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
];

const NON_REPEATABLE_READ: &[Step] = &[
    step(0, "BEGIN", "t1 starts"),
    step(0, "SELECT value FROM demo WHERE id = 1", "t1 reads x"),
    step(
        1,
        "UPDATE demo SET value = 12 WHERE id = 1",
        "t2 changes x and commits (autocommit)",
    ),
    step(0, "SELECT value FROM demo WHERE id = 1", "t1 reads x again"),
    step(0, "COMMIT", "t1 ends"),
];

const PHANTOM: &[Step] = &[
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
];

const LOST_UPDATE: &[Step] = &[
    step(0, "BEGIN", "t1 starts"),
    step(1, "BEGIN", "t2 starts"),
    step(0, "SELECT value FROM demo WHERE id = 1", "t1 reads x"),
    step(1, "SELECT value FROM demo WHERE id = 1", "t2 reads x"),
    step(
        0,
        "UPDATE demo SET value = 11 WHERE id = 1",
        "t1 writes what it read + 1",
    ),
    step(
        1,
        "UPDATE demo SET value = 11 WHERE id = 1",
        "t2 writes what it read + 1",
    ),
    step(0, "COMMIT", "t1 commits"),
    step(1, "COMMIT", "t2 commits (if it still can)"),
    step(
        2,
        "SELECT value FROM demo WHERE id = 1",
        "afterwards: two increments should give 12",
    ),
];

const READ_SKEW: &[Step] = &[
    step(0, "BEGIN", "t1 starts; the invariant is x + y = 30"),
    step(0, "SELECT value FROM demo WHERE id = 1", "t1 reads x"),
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
];

const WRITE_SKEW: &[Step] = &[
    step(
        0,
        "BEGIN",
        "t1 starts; the rule is: at least one of x, y stays non-zero",
    ),
    step(1, "BEGIN", "t2 starts"),
    step(
        0,
        "SELECT count(*) FROM demo WHERE value > 0",
        "t1 counts the non-zero rows",
    ),
    step(
        1,
        "SELECT count(*) FROM demo WHERE value > 0",
        "t2 counts the non-zero rows",
    ),
    step(
        0,
        "UPDATE demo SET value = 0 WHERE id = 1",
        "seeing two, t1 zeroes x",
    ),
    step(
        1,
        "UPDATE demo SET value = 0 WHERE id = 2",
        "seeing two, t2 zeroes y",
    ),
    step(0, "COMMIT", "t1 commits"),
    step(1, "COMMIT", "t2 commits (if it still can)"),
    step(
        2,
        "SELECT count(*) FROM demo WHERE value > 0",
        "afterwards: the non-zero rows",
    ),
];

fn judge_dirty_write(r: &[StepResult]) -> Judgement {
    match at(r, 9).integers()[..] {
        [x @ 11, y @ 22] | [x @ 12, y @ 21] => Judgement::Happened(format!(
            "x = {x} and y = {y} come from different transactions: their writes interleaved"
        )),
        [12, 22] => Judgement::Avoided(
            "x = 12 and y = 22 are both t2's: t2's writes came after t1 had ended".to_string(),
        ),
        [x, y] => Judgement::Avoided(format!(
            "x = {x} and y = {y} come from one transaction: {}",
            first_failure(r, DIRTY_WRITE, 4, 8)
        )),
        _ => Judgement::Avoided(format!("the final read {}", at(r, 9).describe_failure())),
    }
}

fn judge_dirty_read(r: &[StepResult]) -> Judgement {
    match at(r, 3).integer() {
        Some(101) => {
            Judgement::Happened("t2 read x = 101, a value t1 then rolled back".to_string())
        }
        Some(v) => Judgement::Avoided(format!(
            "t2 read x = {v}, the committed value, not t1's uncommitted 101"
        )),
        None => Judgement::Avoided(format!("t2's read {}", at(r, 3).describe_failure())),
    }
}

fn judge_non_repeatable_read(r: &[StepResult]) -> Judgement {
    match (at(r, 2).integer(), at(r, 4).integer()) {
        (Some(a), Some(b)) if a != b => Judgement::Happened(format!(
            "t1 read x = {a}, then x = {b}, within one transaction"
        )),
        (Some(a), Some(_)) if at(r, 3).succeeded() => Judgement::Avoided(format!(
            "t1 read x = {a} both times, though t2 committed x = 12 in between"
        )),
        _ => Judgement::Avoided(first_failure(r, NON_REPEATABLE_READ, 1, 4)),
    }
}

fn judge_phantom(r: &[StepResult]) -> Judgement {
    match (at(r, 2).integer(), at(r, 4).integer()) {
        (Some(a), Some(b)) if a != b => Judgement::Happened(format!(
            "t1 counted {a} matching row(s), then {b}, within one transaction"
        )),
        (Some(a), Some(_)) if at(r, 3).succeeded() => Judgement::Avoided(format!(
            "t1 counted {a} row(s) both times, though t2 committed a matching row in between"
        )),
        _ => Judgement::Avoided(first_failure(r, PHANTOM, 1, 4)),
    }
}

fn judge_lost_update(r: &[StepResult]) -> Judgement {
    let all_committed = (5..=8).all(|i| at(r, i).succeeded());
    match at(r, 9).integer() {
        Some(11) if all_committed => {
            Judgement::Happened("both increments committed, yet x = 11: one was lost".to_string())
        }
        Some(12) => Judgement::Avoided("x = 12: both increments survived".to_string()),
        _ => Judgement::Avoided(format!(
            "x = {}: {}, so only one increment committed and the other must be retried",
            value_or_failure(at(r, 9)),
            first_failure(r, LOST_UPDATE, 5, 8)
        )),
    }
}

fn judge_read_skew(r: &[StepResult]) -> Judgement {
    match (at(r, 2).integer(), at(r, 7).integer()) {
        (Some(x), Some(y)) if x + y != 30 => Judgement::Happened(format!(
            "t1 saw x = {x} and y = {y}: x + y = {} is not 30",
            x + y
        )),
        (Some(x), Some(y)) => Judgement::Avoided(format!(
            "t1 saw x = {x} and y = {y}, which add up to 30, though t2's transfer committed in between"
        )),
        _ => Judgement::Avoided(first_failure(r, READ_SKEW, 1, 7)),
    }
}

fn judge_write_skew(r: &[StepResult]) -> Judgement {
    let all_committed = (5..=8).all(|i| at(r, i).succeeded());
    match at(r, 9).integer() {
        Some(0) if all_committed => Judgement::Happened(
            "both commits succeeded and no row is non-zero: the rule is broken".to_string(),
        ),
        Some(n) => Judgement::Avoided(format!(
            "{n} row(s) stay non-zero: {}",
            first_failure(r, WRITE_SKEW, 5, 8)
        )),
        None => Judgement::Avoided(format!("the final read {}", at(r, 9).describe_failure())),
    }
}

/// Every demo, in the order `\demo` lists them.
pub const DEMOS: &[Demo] = &[
    Demo {
        name: "dirty-write",
        short: "dirty write (G0)",
        title: "dirty write, G0: two uncommitted writers interleave on the same rows",
        steps: DIRTY_WRITE,
        allowed_at: &[],
        judge: judge_dirty_write,
    },
    Demo {
        name: "dirty-read",
        short: "dirty read (P1/G1a)",
        title: "dirty (aborted) read, P1/G1a: a reader sees a write that is later rolled back",
        steps: DIRTY_READ,
        allowed_at: &[ReadUncommitted],
        judge: judge_dirty_read,
    },
    Demo {
        name: "non-repeatable-read",
        short: "non-repeatable read (P2)",
        title: "non-repeatable read, P2: the same row read twice gives two answers",
        steps: NON_REPEATABLE_READ,
        allowed_at: &[ReadUncommitted, ReadCommitted],
        judge: judge_non_repeatable_read,
    },
    Demo {
        name: "phantom",
        short: "phantom (P3)",
        title: "phantom, P3: the same predicate read twice gives two sets of rows",
        steps: PHANTOM,
        allowed_at: &[ReadUncommitted, ReadCommitted],
        judge: judge_phantom,
    },
    Demo {
        name: "lost-update",
        short: "lost update (P4)",
        title: "lost update, P4: two read-modify-write cycles on one row; one increment is lost",
        steps: LOST_UPDATE,
        allowed_at: &[ReadUncommitted, ReadCommitted],
        judge: judge_lost_update,
    },
    Demo {
        name: "read-skew",
        short: "read skew (G-single)",
        title: "read skew, G-single: a transaction sees part of another's effects",
        steps: READ_SKEW,
        allowed_at: &[ReadUncommitted, ReadCommitted],
        judge: judge_read_skew,
    },
    Demo {
        name: "write-skew",
        short: "write skew (G2-item)",
        title: "write skew, G2-item: two transactions read both rows and write different ones",
        steps: WRITE_SKEW,
        allowed_at: &[ReadUncommitted, ReadCommitted, RepeatableRead],
        judge: judge_write_skew,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use isodb::Value;

    fn rows(values: &[i64]) -> StepResult {
        StepResult::Done(values.iter().map(|&v| vec![Value::Integer(v)]).collect())
    }

    fn ok() -> StepResult {
        StepResult::Done(Vec::new())
    }

    fn failed(code: &str) -> StepResult {
        StepResult::Failed(code.to_string())
    }

    #[test]
    fn a_lost_update_is_judged_from_the_final_value_and_the_commits() {
        let mut run = vec![
            ok(),
            ok(),
            rows(&[10]),
            rows(&[10]),
            ok(),
            ok(),
            ok(),
            ok(),
            rows(&[11]),
        ];
        assert!(matches!(judge_lost_update(&run), Judgement::Happened(_)));
        run[8] = rows(&[12]);
        assert_eq!(
            judge_lost_update(&run),
            Judgement::Avoided("x = 12: both increments survived".into())
        );
        run[5] = failed("40001");
        run[7] = StepResult::RolledBack;
        run[8] = rows(&[11]);
        let Judgement::Avoided(how) = judge_lost_update(&run) else {
            panic!("a failed writer means no lost update");
        };
        assert!(
            how.starts_with("x = 11: step 6 (t2) failed with 40001"),
            "{how}"
        );
        // A COMMIT that rolled back did not commit, even without an error.
        run[5] = ok();
        let Judgement::Avoided(how) = judge_lost_update(&run) else {
            panic!("a rolled-back commit means no lost update");
        };
        assert!(how.contains("step 8 (t2) rolled back"), "{how}");
    }

    #[test]
    fn reads_are_judged_by_the_values_they_returned() {
        let dirty = [ok(), ok(), rows(&[101]), ok()];
        assert!(matches!(judge_dirty_read(&dirty), Judgement::Happened(_)));
        let clean = [ok(), ok(), rows(&[10]), ok()];
        assert!(matches!(judge_dirty_read(&clean), Judgement::Avoided(_)));
        let skewed = [ok(), rows(&[10]), ok(), ok(), ok(), ok(), rows(&[25]), ok()];
        assert!(matches!(judge_read_skew(&skewed), Judgement::Happened(_)));
        let consistent = [ok(), rows(&[5]), ok(), ok(), ok(), ok(), rows(&[25]), ok()];
        assert!(matches!(
            judge_read_skew(&consistent),
            Judgement::Avoided(_)
        ));
        let phantom = [ok(), rows(&[1]), ok(), rows(&[2]), ok()];
        assert!(matches!(judge_phantom(&phantom), Judgement::Happened(_)));
        let blocked = [ok(), rows(&[10]), StepResult::Missing, rows(&[10]), ok()];
        assert_eq!(
            judge_non_repeatable_read(&blocked),
            Judgement::Avoided("step 3 (t2) did not finish".into())
        );
    }

    #[test]
    fn a_dirty_write_is_a_mix_of_two_writers_in_the_final_state() {
        let mut run = vec![ok(); 8];
        run.push(rows(&[11, 22]));
        assert!(matches!(judge_dirty_write(&run), Judgement::Happened(_)));
        run[8] = rows(&[12, 22]);
        assert!(matches!(judge_dirty_write(&run), Judgement::Avoided(_)));
        run[8] = rows(&[11, 21]);
        run[3] = failed("40001");
        let Judgement::Avoided(how) = judge_dirty_write(&run) else {
            panic!("one writer's values only");
        };
        assert!(how.contains("step 4 (t2) failed with 40001"), "{how}");
    }

    #[test]
    fn write_skew_needs_both_commits_and_no_row_left() {
        let mut run = vec![
            ok(),
            ok(),
            rows(&[2]),
            rows(&[2]),
            ok(),
            ok(),
            ok(),
            ok(),
            rows(&[0]),
        ];
        assert!(matches!(judge_write_skew(&run), Judgement::Happened(_)));
        run[7] = failed("40001");
        run[8] = rows(&[1]);
        assert!(matches!(judge_write_skew(&run), Judgement::Avoided(_)));
    }

    #[test]
    fn every_demo_judges_an_empty_run_as_avoided_without_panicking() {
        for demo in DEMOS {
            let missing = vec![StepResult::Missing; demo.steps.len()];
            assert!(
                matches!((demo.judge)(&missing), Judgement::Avoided(_)),
                "{}",
                demo.name
            );
            assert!(
                matches!((demo.judge)(&[]), Judgement::Avoided(_)),
                "{}",
                demo.name
            );
        }
    }
}
