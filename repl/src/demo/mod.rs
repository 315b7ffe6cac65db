//! `\demo NAME`: plays an isolation anomaly as a transcript through real
//! sessions on their own threads (so blocking is real), at the current
//! session's isolation level, and ends with a verdict computed from what
//! the steps returned.
//!
//! ```text
//!   lost update, P4: ... at REPEATABLE READ
//!    1. t1: BEGIN                                     -- t1 starts
//!    ...
//!    6. t2: UPDATE demo SET value = 11 WHERE id = 1   -- t2 writes what it read + 1
//!   t2: waiting for t1 (row lock on demo (id=1))
//!    7. t1: COMMIT                                    -- t1 commits
//!   t1: COMMIT
//!   t2: ERROR 40001: could not serialize access ...
//!    ...
//!   verdict: no lost update (P4): x = 11: step 6 (t2) failed with 40001 ...
//!   how: t2 waited for t1 at step 6; t2 failed with 40001 at step 6
//!   REPEATABLE READ prevents lost update (P4) (ISOLATION.md); this run agrees.
//! ```
//!
//! Three things are reported apart: the *verdict* (did the anomaly happen,
//! judged by the transcript from the values read: see [`scripts`]), *how*
//! (which steps waited for a lock and which aborted), and the level's
//! *promise* (ISOLATION.md's matrix). When the verdict contradicts the
//! promise the shell says so as an error: that is a bug in isodb.
//!
//! In the interactive shell the demo stops before each step until Enter
//! (`c` plays the rest); scripts play straight through. The demo refuses to
//! run when a table `demo` already exists, so it never drops a user's
//! table; it drops its own when it ends.

mod outcome;
mod scripts;

use std::sync::Arc;

use isodb::IsolationLevel;

use crate::shell::{Flow, Shell};
use crate::worker::SessionWorker;
use outcome::{Judgement, StepResult, meaning};
use scripts::{DEMOS, Demo};

/// The table every demo plays on.
const TABLE: &str = "demo";

/// What each level promises, in one line.
fn guarantee(level: IsolationLevel) -> &'static str {
    match level {
        IsolationLevel::ReadUncommitted => {
            "no dirty writes (writers lock rows until they end); readers may see uncommitted data"
        }
        IsolationLevel::ReadCommitted => {
            "reads see only committed data, with a fresh snapshot per statement; a later read may differ"
        }
        IsolationLevel::RepeatableRead => {
            "snapshot isolation: one snapshot per transaction, and a writer whose row changed since aborts (40001); write skew is still possible"
        }
        IsolationLevel::Serializable => {
            "serializable snapshot isolation: a transaction that would make the outcome differ from every serial order aborts (40001)"
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

/// The demos' names (for tab completion).
pub fn names() -> impl Iterator<Item = &'static str> {
    DEMOS.iter().map(|d| d.name)
}

/// What happened during a run besides the step results: lock waits.
struct Run {
    results: Vec<StepResult>,
    /// (step number, waiter, whom it waited for).
    waits: Vec<(usize, String, String)>,
}

/// `\demo [NAME]`.
pub fn run(shell: &mut Shell, name: &str) -> Flow {
    let name = name.trim();
    let Some(demo) = DEMOS.iter().find(|d| d.name == name) else {
        if name.is_empty() {
            shell.output.out(&list());
            return Flow::Continue;
        }
        shell.complain(&format!("\\demo: there is no demo {name:?}\n{}", list()));
        return shell.after_failure();
    };
    match shell.backend.table_exists(TABLE) {
        Ok(false) => {}
        Ok(true) => {
            shell.complain(&format!(
                "\\demo: a table {TABLE} exists; the demos create and drop their own, so drop or rename it first"
            ));
            return shell.after_failure();
        }
        Err(error) => {
            shell.complain(&format!("\\demo: cannot read the catalog: {error}"));
            return shell.after_failure();
        }
    }
    let level = shell.session().status().level;
    let failures_before = shell.failures;
    let played = play(shell, demo, level);
    // The demo's errors are part of the show, not failures of the user's script.
    shell.failures = failures_before;
    let run = match played {
        Ok(run) => run,
        Err(message) => {
            shell.complain(&format!("\\demo: {message}"));
            return shell.after_failure();
        }
    };
    let judgement = (demo.judge)(&run.results);
    let happened = matches!(judgement, Judgement::Happened(_));
    match &judgement {
        Judgement::Happened(how) => shell.say(&format!("verdict: {} happened: {how}", demo.short)),
        Judgement::Avoided(how) => shell.say(&format!("verdict: no {}: {how}", demo.short)),
    }
    if let Some(how) = mechanism(demo, &run) {
        shell.say(&format!("how: {how}"));
    }
    let allowed = demo.allowed_at.contains(&level);
    let promise = if allowed { "allows" } else { "prevents" };
    shell.say(&format!("{level} guarantees: {}", guarantee(level)));
    match (allowed, happened) {
        (false, true) => {
            shell.complain(&format!(
                "{level} promises to prevent {} (ISOLATION.md), yet it happened: this is a bug in isodb",
                demo.short
            ));
            shell.after_failure()
        }
        (true, false) => {
            shell.say(&format!(
                "{level} {promise} {} (ISOLATION.md), but this interleaving did not show it.",
                demo.short
            ));
            Flow::Continue
        }
        _ => {
            shell.say(&format!(
                "{level} {promise} {} (ISOLATION.md); this run agrees.",
                demo.short
            ));
            Flow::Continue
        }
    }
}

/// "t2 waited for t1 at step 6; t2 failed with 40001 at step 6".
fn mechanism(demo: &Demo, run: &Run) -> Option<String> {
    let mut facts: Vec<String> = run
        .waits
        .iter()
        .map(|(step, waiter, blocker)| format!("{waiter} waited for {blocker} at step {step}"))
        .collect();
    for (i, result) in run.results.iter().enumerate() {
        if let StepResult::Failed(code) = result
            && (code == "40001" || code == "40P01")
        {
            let who = ["t1", "t2", "t3"]
                .get(demo.steps.get(i).map_or(0, |step| step.session))
                .copied()
                .unwrap_or("t?");
            facts.push(format!(
                "{who} failed with {code} at step {} ({})",
                i + 1,
                meaning(code)
            ));
        }
    }
    (!facts.is_empty()).then(|| facts.join("; "))
}

/// Interactive demos stop before each step until Enter; false when the user
/// asked to play the rest (`c`) or standard input ended.
fn wait_for_enter(shell: &Shell) -> bool {
    shell.output.out("-- next? ");
    let mut answer = String::new();
    match std::io::stdin().read_line(&mut answer) {
        Ok(0) | Err(_) => false,
        Ok(_) => !answer.trim().eq_ignore_ascii_case("c"),
    }
}

fn play(shell: &mut Shell, demo: &Demo, level: IsolationLevel) -> Result<Run, String> {
    let setup = format!(
        "CREATE TABLE {TABLE} (id INT PRIMARY KEY, value INT); INSERT INTO {TABLE} VALUES (1, 10), (2, 20)"
    );
    shell
        .backend
        .execute(&setup)
        .map_err(|e| format!("could not create table {TABLE}: {e}"))?;
    let mut workers = Vec::new();
    for name in ["t1", "t2", "t3"] {
        match SessionWorker::spawn(name, &shell.backend) {
            Ok(worker) => {
                worker.set_level(level);
                workers.push(Arc::new(worker));
            }
            Err(error) => {
                let _ = shell.backend.execute(&format!("DROP TABLE {TABLE}"));
                return Err(format!("cannot start a session: {error}"));
            }
        }
    }
    shell.guests = workers.clone();
    shell.recorded = Some(Vec::new());
    shell.say(&format!("{} at {level}", demo.title));
    let mut tickets: Vec<(String, u64)> = Vec::new();
    let mut waits = Vec::new();
    let mut pausing = shell.interactive;
    if pausing {
        shell.say("(Enter plays the next step; c and Enter plays the rest without stopping)");
    }
    for (i, step) in demo.steps.iter().enumerate() {
        let worker = &workers[step.session.min(workers.len() - 1)];
        if pausing && i > 0 {
            pausing = wait_for_enter(shell);
        }
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
            waits.push((i + 1, worker.name().to_string(), wait.blockers.join(", ")));
        }
        tickets.push((worker.name().to_string(), next_ticket));
    }
    shell.settle();
    for worker in &workers {
        worker.cancel();
    }
    shell.settle();
    let recorded = shell.recorded.take().unwrap_or_default();
    let results = tickets
        .iter()
        .map(|(session, ticket)| {
            match recorded
                .iter()
                .find(|r| &r.session == session && r.ticket == *ticket)
            {
                None => StepResult::Missing,
                Some(r) if r.rolled_back => StepResult::RolledBack,
                Some(r) => match &r.result {
                    Ok(rows) => StepResult::Done(rows.clone()),
                    Err(code) => StepResult::Failed(code.clone()),
                },
            }
        })
        .collect();
    for worker in &workers {
        worker.stop(true);
    }
    shell.guests.clear();
    let _ = shell
        .backend
        .execute(&format!("DROP TABLE IF EXISTS {TABLE}"));
    Ok(Run { results, waits })
}
