//! [`Script`]: a multi-session SQL interleaving, run step by step the way a
//! person with one terminal per session would run it, and the [`Run`] it
//! leaves behind (every reply, a readable transcript, the final table).
//!
//! Each step goes to its session's [`SessionThread`]. The runner then
//! *settles*: it waits until every session with an outstanding statement
//! has either replied or is waiting for a row lock. A step that waits is
//! recorded as blocked and the script goes on; a later step (usually the
//! other session's COMMIT) releases the lock, and the blocked step's reply
//! is collected during that step's settling and written into the transcript
//! where it arrived:
//!
//! ```text
//! t1: UPDATE test SET value = 11 WHERE id = 1   -> UPDATE 1
//! t2: UPDATE test SET value = 12 WHERE id = 1   -> (blocked)
//! t1: COMMIT                                    -> ok
//!     t2 resumes: UPDATE test ... WHERE id = 1  -> ERROR 40001
//! ```
//!
//! Settling needs no sleeps-and-hopes: once every busy session waits for a
//! lock, nothing can change until the script's next step.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use isodb::{Database, IsolationLevel};

use crate::session_thread::{Reply, SessionThread};

/// One step: session `session` (1-based: `t1`, `t2`, ...) runs `sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Which session runs it, from 1.
    pub session: usize,
    /// One SQL statement.
    pub sql: &'static str,
    /// A name the scenario's judge uses to find this step's reply.
    pub label: Option<&'static str>,
}

/// `t{session}` runs `sql`.
pub const fn step(session: usize, sql: &'static str) -> Step {
    Step {
        session,
        sql,
        label: None,
    }
}

/// `t{session}` runs `sql`, and the judge calls its reply `label`.
pub const fn labeled(session: usize, sql: &'static str, label: &'static str) -> Step {
    Step {
        session,
        sql,
        label: Some(label),
    }
}

/// A whole interleaving: set-up SQL (run alone, autocommit), then steps.
#[derive(Debug, Clone, Copy)]
pub struct Script {
    /// Statements that create and fill the tables, run before the steps.
    pub setup: &'static str,
    /// The interleaved steps.
    pub steps: &'static [Step],
    /// The query whose rows are the final state, run after every session
    /// has ended its transaction.
    pub final_query: &'static str,
}

/// What became of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    /// The step.
    pub step: Step,
    /// True when the step waited for a lock before it replied.
    pub blocked: bool,
    /// Its reply; `None` only if it never finished (a script error).
    pub reply: Option<Reply>,
}

/// Why a script could not be run to the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptError {
    /// Opening the database, the set-up SQL or the final query failed.
    Setup(String),
    /// A step names a session the script does not have or that is busy.
    BadStep(String),
    /// A statement neither finished nor waited for a lock within the limit.
    Stuck(String),
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptError::Setup(m) => write!(f, "set-up failed: {m}"),
            ScriptError::BadStep(m) => write!(f, "bad step: {m}"),
            ScriptError::Stuck(m) => write!(f, "stuck: {m}"),
        }
    }
}

impl std::error::Error for ScriptError {}

/// Everything a script run left: replies, transcript, final state.
#[derive(Debug, Clone)]
pub struct Run {
    /// The level every session ran at.
    pub level: IsolationLevel,
    /// One outcome per step, in script order.
    pub outcomes: Vec<StepOutcome>,
    /// The transcript, one line per step or late reply.
    pub transcript: String,
    /// The final query's rows, as integers.
    pub final_rows: Vec<Vec<i64>>,
}

impl Run {
    /// The outcome of the step labelled `label`.
    pub fn outcome(&self, label: &str) -> Option<&StepOutcome> {
        self.outcomes.iter().find(|o| o.step.label == Some(label))
    }

    /// The integer rows the step labelled `label` returned (`None` if it
    /// failed, or if there is no such label).
    pub fn rows(&self, label: &str) -> Option<Vec<Vec<i64>>> {
        self.outcome(label)?.reply.as_ref()?.integers()
    }

    /// The single integer the step labelled `label` returned.
    pub fn value(&self, label: &str) -> Option<i64> {
        match self.rows(label)?.as_slice() {
            [row] => row.first().copied(),
            _ => None,
        }
    }

    /// True when the step labelled `label` succeeded.
    pub fn succeeded(&self, label: &str) -> bool {
        self.outcome(label)
            .and_then(|o| o.reply.as_ref())
            .is_some_and(|r| r.sqlstate().is_none())
    }

    /// True when no step of session `session` failed (so its COMMIT, if
    /// any, really committed).
    pub fn clean(&self, session: usize) -> bool {
        self.outcomes
            .iter()
            .filter(|o| o.step.session == session)
            .all(|o| o.reply.as_ref().is_some_and(|r| r.sqlstate().is_none()))
    }

    /// The first error's SQLSTATE, in script order.
    pub fn first_error(&self) -> Option<&str> {
        self.outcomes
            .iter()
            .find_map(|o| o.reply.as_ref().and_then(Reply::sqlstate))
    }

    /// True when any step waited for a lock.
    pub fn any_blocked(&self) -> bool {
        self.outcomes.iter().any(|o| o.blocked)
    }
}

/// How long a statement may run before the script gives up on it.
const STUCK_AFTER: Duration = Duration::from_secs(20);

impl Script {
    /// The number of sessions the steps use.
    pub fn sessions(&self) -> usize {
        self.steps.iter().map(|s| s.session).max().unwrap_or(0)
    }

    /// Runs the script on a fresh temporary database at `level`.
    pub fn run(&self, level: IsolationLevel) -> Result<Run, ScriptError> {
        let db = Database::open_temporary().map_err(|e| ScriptError::Setup(e.to_string()))?;
        self.run_on(db, self.setup, level)
    }

    /// Runs the script on a fresh temporary database of `shards` shards
    /// whose `test` table puts row `id` on shard `id - 1` (ids 1 to
    /// `shards`; larger ones on the last shard): every row of a scenario on
    /// a shard of its own, so each transaction that touches two rows spans
    /// two shards.
    pub fn run_sharded(&self, level: IsolationLevel, shards: u16) -> Result<Run, ScriptError> {
        let db = Database::open_temporary_with(isodb::DatabaseOptions {
            durability: isodb::Durability::NoSync,
            shards: Some(shards),
            ..isodb::DatabaseOptions::default()
        })
        .map_err(|e| ScriptError::Setup(e.to_string()))?;
        const PLAIN: &str = "CREATE TABLE test (id INT PRIMARY KEY, value INT NOT NULL)";
        if !self.setup.contains(PLAIN) {
            return Err(ScriptError::Setup(format!(
                "the set-up does not create the test table as {PLAIN:?}"
            )));
        }
        let bounds: Vec<String> = (2..=shards).map(|b| b.to_string()).collect();
        let sharded = format!(
            "{PLAIN} WITH (shard_bounds = '{}') PARTITION BY RANGE (id)",
            bounds.join(", ")
        );
        let setup = self.setup.replace(PLAIN, &sharded);
        self.run_on(db, &setup, level)
    }

    fn run_on(&self, db: Database, setup: &str, level: IsolationLevel) -> Result<Run, ScriptError> {
        db.session()
            .execute(setup)
            .map_err(|e| ScriptError::Setup(format!("{setup}: {e}")))?;
        let mut sessions = Vec::new();
        for i in 1..=self.sessions() {
            let thread = SessionThread::spawn(&db, &format!("t{i}"), level)
                .map_err(|e| ScriptError::Setup(e.to_string()))?;
            sessions.push(thread);
        }
        let mut runner = Runner {
            outcomes: Vec::new(),
            running: vec![None; sessions.len()],
            transcript: String::new(),
            sessions,
        };
        for step in self.steps {
            runner.submit(*step)?;
            runner.settle()?;
        }
        // Whatever is still open ends now (a scenario normally ends each
        // transaction itself; this keeps a faulty one from hanging).
        for session in &mut runner.sessions {
            if session.is_busy() {
                return Err(ScriptError::Stuck(format!(
                    "{} still waits at the end of the script",
                    session.name()
                )));
            }
            session.submit("ROLLBACK");
        }
        runner.settle()?;
        for session in &mut runner.sessions {
            let _ = session.try_reply();
        }
        let final_rows = db
            .session()
            .query(self.final_query, &[])
            .map_err(|e| ScriptError::Setup(format!("{}: {e}", self.final_query)))?;
        let final_rows = Reply::Rows {
            columns: final_rows.columns().len(),
            affected: final_rows.rows_affected(),
            rows: final_rows.values(),
        }
        .integers()
        .unwrap_or_default();
        let mut transcript = runner.transcript;
        let _ = writeln!(
            transcript,
            "final: {}",
            show_rows(
                &final_rows
                    .iter()
                    .map(|r| r.iter().map(|v| isodb::Value::Integer(*v)).collect())
                    .collect::<Vec<_>>()
            )
        );
        Ok(Run {
            level,
            outcomes: runner.outcomes,
            transcript,
            final_rows,
        })
    }
}

/// The state of one script run.
struct Runner {
    sessions: Vec<SessionThread>,
    outcomes: Vec<StepOutcome>,
    /// Per session: the index of its outstanding step.
    running: Vec<Option<usize>>,
    transcript: String,
}

impl Runner {
    fn submit(&mut self, step: Step) -> Result<(), ScriptError> {
        let index = step.session.checked_sub(1);
        let Some(session) = index.and_then(|i| self.sessions.get_mut(i)) else {
            return Err(ScriptError::BadStep(format!(
                "no session t{} for {:?}",
                step.session, step.sql
            )));
        };
        if !session.submit(step.sql) {
            return Err(ScriptError::BadStep(format!(
                "t{} is still blocked when asked to run {:?}",
                step.session, step.sql
            )));
        }
        self.running[step.session - 1] = Some(self.outcomes.len());
        self.outcomes.push(StepOutcome {
            step,
            blocked: false,
            reply: None,
        });
        Ok(())
    }

    /// Waits until every busy session has replied or waits for a lock;
    /// records replies and blocks in the transcript as they are seen.
    fn settle(&mut self) -> Result<(), ScriptError> {
        let deadline = Instant::now() + STUCK_AFTER;
        loop {
            let mut settled = true;
            // A step just issued is written before the blocked steps it
            // releases (a ROLLBACK frees the locks before its reply comes):
            // blocked steps are looked at only once no fresh step is pending.
            let fresh_pending = self.running.iter().flatten().any(|&index| {
                !self.outcomes[index].blocked && self.outcomes[index].reply.is_none()
            });
            for (i, session) in self.sessions.iter_mut().enumerate() {
                let Some(index) = self.running[i] else {
                    continue;
                };
                let outcome = &mut self.outcomes[index];
                if outcome.blocked && fresh_pending {
                    settled = false;
                    continue;
                }
                if let Some(reply) = session.try_reply() {
                    let shown = show(outcome.step.sql, &reply);
                    let _ = if outcome.blocked {
                        writeln!(
                            self.transcript,
                            "    {} resumes: {} -> {shown}",
                            session.name(),
                            outcome.step.sql
                        )
                    } else {
                        writeln!(
                            self.transcript,
                            "{} -> {shown}",
                            statement_line(&outcome.step)
                        )
                    };
                    outcome.reply = Some(reply);
                    self.running[i] = None;
                } else if session.is_waiting_for_lock() {
                    if !outcome.blocked {
                        outcome.blocked = true;
                        let _ = writeln!(
                            self.transcript,
                            "{} -> (blocked)",
                            statement_line(&outcome.step)
                        );
                    }
                } else {
                    settled = false;
                }
            }
            if settled {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(ScriptError::Stuck(format!(
                    "a statement neither finished nor waited within {STUCK_AFTER:?}:\n{}",
                    self.transcript
                )));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

fn statement_line(step: &Step) -> String {
    format!("t{}: {}", step.session, step.sql)
}

/// A reply to `sql` as a transcript shows it: rows, a command tag with the
/// row count for writes (`UPDATE 1`), `ok`, or the SQLSTATE of an error.
pub fn show(sql: &str, reply: &Reply) -> String {
    let verb = sql
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    match reply {
        Reply::Error { sqlstate, .. } => format!("ERROR {sqlstate}"),
        Reply::Rows {
            columns: 0,
            affected,
            ..
        } if matches!(verb.as_str(), "INSERT" | "UPDATE" | "DELETE") => {
            format!("{verb} {affected}")
        }
        Reply::Rows { columns: 0, .. } => "ok".to_string(),
        Reply::Rows { rows, .. } => show_rows(rows),
    }
}

fn show_rows(rows: &[Vec<isodb::Value>]) -> String {
    if rows.is_empty() {
        return "(no rows)".to_string();
    }
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETUP: &str = "CREATE TABLE test (id INT PRIMARY KEY, value INT NOT NULL);
                         INSERT INTO test VALUES (1, 10)";

    #[test]
    fn a_blocked_step_is_recorded_and_resumes_after_the_commit() {
        const STEPS: &[Step] = &[
            step(1, "BEGIN"),
            step(2, "BEGIN"),
            step(1, "UPDATE test SET value = 11 WHERE id = 1"),
            labeled(2, "UPDATE test SET value = value + 1 WHERE id = 1", "waits"),
            step(1, "COMMIT"),
            step(2, "COMMIT"),
        ];
        let script = Script {
            setup: SETUP,
            steps: STEPS,
            final_query: "SELECT value FROM test",
        };
        let run = script
            .run(IsolationLevel::ReadCommitted)
            .expect("script runs");
        let waited = run.outcome("waits").expect("labelled step");
        assert!(waited.blocked);
        assert!(run.succeeded("waits"));
        assert_eq!(run.final_rows, vec![vec![12]]);
        assert!(
            run.transcript.contains(
                "-> (blocked)\nt1: COMMIT -> ok\n    t2 resumes: UPDATE test SET value = value + 1 WHERE id = 1 -> UPDATE 1\n"
            ),
            "{}",
            run.transcript
        );
    }

    #[test]
    fn a_step_for_a_session_that_is_still_blocked_is_refused() {
        const STEPS: &[Step] = &[
            step(1, "BEGIN"),
            step(1, "UPDATE test SET value = 11 WHERE id = 1"),
            step(2, "BEGIN"),
            step(2, "UPDATE test SET value = 12 WHERE id = 1"),
            step(2, "COMMIT"),
        ];
        let script = Script {
            setup: SETUP,
            steps: STEPS,
            final_query: "SELECT value FROM test",
        };
        match script.run(IsolationLevel::ReadCommitted) {
            Err(ScriptError::BadStep(message)) => assert!(message.contains("t2"), "{message}"),
            other => panic!("expected a refused step, got {other:?}"),
        }
    }
}
