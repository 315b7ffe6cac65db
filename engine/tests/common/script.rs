//! A two-terminal script runner for isolation tests.
//!
//! Each session (T1, T2, …) is a thread owning one [`Transaction`], like a
//! person typing into their own `psql` terminal. The script sends each step
//! to its session's thread and waits for the answer. A step that has not
//! answered after [`BLOCK_AFTER`] while the engine reports its transaction
//! waiting for a row lock is recorded as **blocked**, and the script goes on
//! with the other sessions, exactly as a person would switch terminals. The
//! blocked step's eventual answer is collected as soon as the engine stops
//! reporting it waiting (after another session's commit or rollback), or
//! before that session's next step.
//!
//! ```text
//!   T1: x = 11                  ok
//!   T2: x = 12                  blocked
//!   T1: commit                  ok
//!   T2: x = 12                  ... 40001 (unblocked)
//! ```
//!
//! Every step calls `new_statement()` first, as the SQL layer will, so READ
//! COMMITTED takes a fresh snapshot per statement.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use isodb_engine::Error;
use isodb_engine::txn::{Engine, IsolationLevel, Keyspace, Transaction, TransactionOptions, TxnId};

use super::{decode_int, encode_int, open_fast, row_id, row_key};

/// A step that has not answered after this long, while its transaction waits
/// for a lock, is blocked.
pub const BLOCK_AFTER: Duration = Duration::from_millis(150);
/// A step that is slow but not waiting for a lock is given this long.
const SLOW_LIMIT: Duration = Duration::from_secs(5);
/// How long a blocked step may take once it stops waiting.
const FINISH_LIMIT: Duration = Duration::from_secs(10);

/// The answer of one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// `begin`: the new transaction's id.
    Begun(TxnId),
    /// A point read: the row's value, if it exists.
    Value(Option<i64>),
    /// A predicate read: the matching rows `(id, value)`.
    Rows(Vec<(u64, i64)>),
    /// A write, commit or rollback that succeeded.
    Done,
}

/// A failed step: its SQLSTATE and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The SQLSTATE, e.g. "40001".
    pub sqlstate: &'static str,
    /// The error's text.
    pub message: String,
}

/// What a step answered.
pub type Reply = Result<Output, Failure>;

/// What the script saw when it ran a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// The step answered at once.
    Done(Reply),
    /// The step is waiting for a lock; its answer comes later.
    Blocked,
}

impl Observed {
    /// The value a point read returned (`None` if it failed or blocked).
    pub fn value(&self) -> Option<Option<i64>> {
        match self {
            Observed::Done(Ok(Output::Value(v))) => Some(*v),
            _ => None,
        }
    }

    /// The rows a predicate read returned (`None` if it failed or blocked).
    pub fn rows(&self) -> Option<Vec<(u64, i64)>> {
        match self {
            Observed::Done(Ok(Output::Rows(r))) => Some(r.clone()),
            _ => None,
        }
    }
}

/// The state a session thread keeps between steps.
pub struct Terminal {
    engine: Engine,
    ks: Keyspace,
    level: IsolationLevel,
    txn: Option<Transaction>,
}

type Job = Box<dyn FnOnce(&mut Terminal) -> Reply + Send>;

fn failure(e: Error) -> Failure {
    Failure {
        sqlstate: e.sqlstate(),
        message: e.to_string(),
    }
}

impl Terminal {
    fn txn(&mut self) -> Result<&mut Transaction, Failure> {
        match self.txn.as_mut() {
            Some(t) => {
                t.new_statement();
                Ok(t)
            }
            None => Err(Failure {
                sqlstate: "25P02",
                message: "no transaction in progress".into(),
            }),
        }
    }

    fn begin(&mut self, read_only: bool) -> Reply {
        let txn = self.engine.begin_with(TransactionOptions {
            level: self.level,
            read_only,
        });
        let id = txn.id();
        self.txn = Some(txn);
        Ok(Output::Begun(id))
    }

    fn get(&mut self, id: u64) -> Reply {
        let ks = self.ks;
        let value = self.txn()?.get(ks, &row_key(id)).map_err(failure)?;
        Ok(Output::Value(value.as_deref().map(decode_int)))
    }

    fn put(&mut self, id: u64, value: i64) -> Reply {
        let ks = self.ks;
        self.txn()?
            .put(ks, &row_key(id), &encode_int(value))
            .map_err(failure)?;
        Ok(Output::Done)
    }

    fn select(&mut self, predicate: fn(i64) -> bool) -> Reply {
        let ks = self.ks;
        let rows = self.txn()?.scan(ks, ..).map_err(failure)?;
        let mut out = Vec::new();
        for row in rows {
            let (key, value) = row.map_err(failure)?;
            let value = decode_int(&value);
            if predicate(value) {
                out.push((row_id(&key), value));
            }
        }
        Ok(Output::Rows(out))
    }

    fn commit(&mut self) -> Reply {
        self.txn()?;
        let txn = self.txn.take().expect("checked above");
        txn.commit().map(|_| Output::Done).map_err(failure)
    }

    fn rollback(&mut self) -> Reply {
        self.txn()?;
        let txn = self.txn.take().expect("checked above");
        txn.rollback().map(|_| Output::Done).map_err(failure)
    }
}

struct Session {
    jobs: Option<Sender<Job>>,
    replies: Receiver<Reply>,
    txn: Option<TxnId>,
    /// Index of this session's blocked event, if one is waiting.
    pending: Option<usize>,
    thread: Option<JoinHandle<()>>,
}

/// One line of the transcript.
#[derive(Clone, Debug)]
pub struct Event {
    /// The session, 1-based (T1, T2, …).
    pub session: usize,
    /// What the step did, e.g. `x = 11`.
    pub label: String,
    /// True when the step was recorded as blocked.
    pub blocked: bool,
    /// Its answer (`None` while still blocked).
    pub reply: Option<Reply>,
}

/// A script: an engine with the `test` table loaded and N session threads.
pub struct Script {
    /// The level every session runs at.
    pub level: IsolationLevel,
    engine: Engine,
    ks: Keyspace,
    sessions: Vec<Session>,
    events: Vec<Event>,
    _dir: tempfile::TempDir,
}

/// The name a script gives row `id`: x, y, or `row 3`.
pub fn row_name(id: u64) -> String {
    match id {
        1 => "x".into(),
        2 => "y".into(),
        _ => format!("row {id}"),
    }
}

impl Script {
    /// A fresh engine with `rows` committed, and `sessions` idle sessions at `level`.
    pub fn new(level: IsolationLevel, sessions: usize, rows: &[(u64, i64)]) -> Script {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = open_fast(dir.path());
        let ks = engine.keyspace("test").expect("keyspace");
        let mut load = engine.begin(IsolationLevel::Serializable);
        for &(id, value) in rows {
            load.put(ks, &row_key(id), &encode_int(value))
                .expect("load row");
        }
        load.commit().expect("load commit");
        let sessions = (0..sessions)
            .map(|_| {
                let (job_tx, job_rx) = mpsc::channel::<Job>();
                let (reply_tx, reply_rx) = mpsc::channel::<Reply>();
                let mut terminal = Terminal {
                    engine: engine.clone(),
                    ks,
                    level,
                    txn: None,
                };
                let thread = std::thread::spawn(move || {
                    for job in job_rx {
                        if reply_tx.send(job(&mut terminal)).is_err() {
                            break;
                        }
                    }
                });
                Session {
                    jobs: Some(job_tx),
                    replies: reply_rx,
                    txn: None,
                    pending: None,
                    thread: Some(thread),
                }
            })
            .collect();
        Script {
            level,
            engine,
            ks,
            sessions,
            events: Vec::new(),
            _dir: dir,
        }
    }

    fn is_waiting(&self, session: usize) -> bool {
        self.sessions[session - 1]
            .txn
            .is_some_and(|id| !self.engine.waits_for(id).is_empty())
    }

    /// Waits for session `t`'s blocked step, if any, and records its answer.
    fn finish_pending(&mut self, t: usize) {
        let Some(index) = self.sessions[t - 1].pending.take() else {
            return;
        };
        let reply = self.sessions[t - 1]
            .replies
            .recv_timeout(FINISH_LIMIT)
            .unwrap_or_else(|_| {
                panic!("T{t}'s blocked step never finished\n{}", self.transcript())
            });
        self.events[index].reply = Some(reply);
    }

    /// Collects the answers of blocked steps that are no longer waiting.
    fn collect_unblocked(&mut self) {
        for t in 1..=self.sessions.len() {
            if self.sessions[t - 1].pending.is_some() && !self.is_waiting(t) {
                self.finish_pending(t);
            }
        }
    }

    fn run(&mut self, t: usize, label: String, job: Job) -> Observed {
        self.finish_pending(t);
        let session = &self.sessions[t - 1];
        session
            .jobs
            .as_ref()
            .expect("session open")
            .send(job)
            .expect("session thread alive");
        let started = Instant::now();
        let mut waited = BLOCK_AFTER;
        let observed = loop {
            match self.sessions[t - 1].replies.recv_timeout(waited) {
                Ok(reply) => break Observed::Done(reply),
                Err(RecvTimeoutError::Disconnected) => panic!("T{t}'s thread died"),
                Err(RecvTimeoutError::Timeout) => {
                    if self.is_waiting(t) || started.elapsed() > SLOW_LIMIT {
                        break Observed::Blocked;
                    }
                    waited = Duration::from_millis(50);
                }
            }
        };
        let index = self.events.len();
        self.events.push(Event {
            session: t,
            label,
            blocked: observed == Observed::Blocked,
            reply: match &observed {
                Observed::Done(reply) => Some(reply.clone()),
                Observed::Blocked => None,
            },
        });
        if let Observed::Done(Ok(Output::Begun(id))) = &observed {
            self.sessions[t - 1].txn = Some(*id);
        }
        if observed == Observed::Blocked {
            self.sessions[t - 1].pending = Some(index);
        } else {
            self.collect_unblocked();
        }
        observed
    }

    /// `T{t}: begin`.
    pub fn begin(&mut self, t: usize) -> Observed {
        self.run(t, "begin".into(), Box::new(|s| s.begin(false)))
    }

    /// `T{t}: begin read only`.
    pub fn begin_read_only(&mut self, t: usize) -> Observed {
        self.run(t, "begin read only".into(), Box::new(|s| s.begin(true)))
    }

    /// `T{t}: select value where id = {id}`.
    pub fn get(&mut self, t: usize, id: u64) -> Observed {
        self.run(
            t,
            format!("read {}", row_name(id)),
            Box::new(move |s| s.get(id)),
        )
    }

    /// `T{t}: upsert (id, value)`.
    pub fn put(&mut self, t: usize, id: u64, value: i64) -> Observed {
        self.run(
            t,
            format!("{} = {value}", row_name(id)),
            Box::new(move |s| s.put(id, value)),
        )
    }

    /// `T{t}: select * where {what}` (a scan of the whole table, filtered).
    pub fn select(&mut self, t: usize, what: &str, predicate: fn(i64) -> bool) -> Observed {
        self.run(
            t,
            format!("select where {what}"),
            Box::new(move |s| s.select(predicate)),
        )
    }

    /// `T{t}: commit`.
    pub fn commit(&mut self, t: usize) -> Observed {
        self.run(t, "commit".into(), Box::new(|s| s.commit()))
    }

    /// `T{t}: rollback`.
    pub fn rollback(&mut self, t: usize) -> Observed {
        self.run(t, "rollback".into(), Box::new(|s| s.rollback()))
    }

    /// Waits for every blocked step to answer.
    pub fn settle(&mut self) {
        for t in 1..=self.sessions.len() {
            self.finish_pending(t);
        }
    }

    /// True when session `t` committed successfully.
    pub fn committed(&self, t: usize) -> bool {
        self.events
            .iter()
            .any(|e| e.session == t && e.label == "commit" && e.reply == Some(Ok(Output::Done)))
    }

    /// The SQLSTATE of the first step that aborted a transaction (40001,
    /// 40P01 or 55P03), in transcript order.
    pub fn first_abort(&self) -> Option<&'static str> {
        self.events.iter().find_map(|e| match &e.reply {
            Some(Err(f)) if is_retryable(f.sqlstate) => Some(f.sqlstate),
            _ => None,
        })
    }

    /// True when some step was recorded as blocked.
    pub fn any_blocked(&self) -> bool {
        self.events.iter().any(|e| e.blocked)
    }

    /// Panics on an error a script must never see: anything but an abort
    /// (40001, 40P01, 55P03), or "not active" (25P02) after that session's abort.
    pub fn check_errors(&self) {
        let mut aborted = vec![false; self.sessions.len() + 1];
        for e in &self.events {
            if let Some(Err(f)) = &e.reply {
                let expected =
                    is_retryable(f.sqlstate) || (f.sqlstate == "25P02" && aborted[e.session]);
                assert!(
                    expected,
                    "unexpected error at T{} {}: {} {}\n{}",
                    e.session,
                    e.label,
                    f.sqlstate,
                    f.message,
                    self.transcript()
                );
                aborted[e.session] |= is_retryable(f.sqlstate);
            }
        }
    }

    /// The committed table after every session has finished.
    pub fn final_rows(&mut self) -> BTreeMap<u64, i64> {
        self.settle();
        let mut txn = self.engine.begin(IsolationLevel::ReadCommitted);
        let rows = txn
            .scan(self.ks, ..)
            .expect("final scan")
            .map(|row| {
                let (key, value) = row.expect("final row");
                (row_id(&key), decode_int(&value))
            })
            .collect();
        txn.commit().expect("final commit");
        rows
    }

    /// The transcript, one step per line.
    pub fn transcript(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            let answer = match &e.reply {
                None => "(still blocked)".to_string(),
                Some(Ok(o)) => format_output(o),
                Some(Err(f)) => format!("ERROR {} ({})", f.sqlstate, f.message),
            };
            let shown = if e.blocked {
                format!("blocked ... then {answer}")
            } else {
                answer
            };
            out.push_str(&format!("    T{}: {:<28} {shown}\n", e.session, e.label));
        }
        out
    }
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.transcript(), self.level)
    }
}

fn is_retryable(sqlstate: &str) -> bool {
    matches!(sqlstate, "40001" | "40P01" | "55P03")
}

fn format_output(o: &Output) -> String {
    match o {
        Output::Begun(id) => format!("ok (txn {id})"),
        Output::Value(Some(v)) => v.to_string(),
        Output::Value(None) => "(no row)".into(),
        Output::Rows(rows) => {
            let rows: Vec<String> = rows.iter().map(|(id, v)| format!("({id},{v})")).collect();
            format!("[{}]", rows.join(" "))
        }
        Output::Done => "ok".into(),
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        // Closing every session first rolls back their transactions, which
        // releases the locks any blocked session waits for.
        for s in &mut self.sessions {
            s.jobs = None;
        }
        for s in &mut self.sessions {
            if let Some(thread) = s.thread.take() {
                let _ = thread.join();
            }
        }
    }
}
