//! The history model: events, micro-operations, and transactions paired from events.
//!
//! A history is what clients saw: each process *invokes* a transaction and later learns its
//! outcome (`ok` committed, `fail` certainly aborted, `info` unknown — it may or may not have
//! committed). Pairing follows Jepsen: a process runs one operation at a time, so its next
//! completion answers its last invocation.
//!
//! ```text
//! event 0  p0 invoke [append 1 2]          ┐
//! event 1  p1 invoke [r 1 ?]               │ T1 (p1): ok, reads [2]
//! event 2  p0 ok     [append 1 2]  ── T0 ──┘
//! event 3  p1 ok     [r 1 [2]]
//! ```
//!
//! Transactions are numbered `T0, T1, ...` in invocation order; that number ([`TxnId`]) is the
//! compact integer id every later stage uses. An invocation left without completion at the end
//! of the history is treated as `info`.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use crate::error::{Error, Result};
use crate::names::Names;
use crate::predicate::Predicate;

/// A key (list or register). Jepsen's workloads use integer keys.
pub type Key = i64;
/// A value appended to a list or written to a register.
pub type Value = i64;
/// A transaction's compact id: its position in [`History::txns`].
pub type TxnId = u32;
/// A client process (a logical single-threaded client).
pub type ProcessId = u64;

/// The type of an event, as in Jepsen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// The client started the transaction.
    Invoke,
    /// The transaction committed.
    Ok,
    /// The transaction certainly did not commit.
    Fail,
    /// The outcome is unknown (timeout, crash).
    Info,
}

/// One operation inside a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MicroOp {
    /// Append `value` to the list at `key`.
    Append {
        /// The list.
        key: Key,
        /// The (per-key unique) element.
        value: Value,
    },
    /// Read the whole list at `key` (empty when never appended to).
    ReadList {
        /// The list.
        key: Key,
        /// The elements seen, oldest first; meaningful only in `ok` transactions.
        value: Vec<Value>,
    },
    /// Write `value` to the register at `key`.
    Write {
        /// The register.
        key: Key,
        /// The (per-key unique) value.
        value: Value,
    },
    /// Read the register at `key`; `None` is the initial (never written) state.
    Read {
        /// The register.
        key: Key,
        /// The value seen; meaningful only in `ok` transactions.
        value: Option<Value>,
    },
    /// Read every register row matching `predicate`: the result maps key to value.
    PredicateRead {
        /// The condition.
        predicate: Predicate,
        /// The rows seen; meaningful only in `ok` transactions.
        value: BTreeMap<Key, Value>,
    },
}

impl MicroOp {
    /// `append key value`.
    pub fn append(key: Key, value: Value) -> Self {
        MicroOp::Append { key, value }
    }
    /// A list read that saw `value`.
    pub fn read_list(key: Key, value: &[Value]) -> Self {
        MicroOp::ReadList {
            key,
            value: value.to_vec(),
        }
    }
    /// `write key value`.
    pub fn write(key: Key, value: Value) -> Self {
        MicroOp::Write { key, value }
    }
    /// A register read that saw `value` (`None`: the initial state).
    pub fn read(key: Key, value: Option<Value>) -> Self {
        MicroOp::Read { key, value }
    }
    /// A predicate read that saw `rows`.
    pub fn predicate_read(predicate: Predicate, rows: &[(Key, Value)]) -> Self {
        MicroOp::PredicateRead {
            predicate,
            value: rows.iter().copied().collect(),
        }
    }
    /// Whether this micro-op writes (append or register write).
    pub fn is_write(&self) -> bool {
        matches!(self, MicroOp::Append { .. } | MicroOp::Write { .. })
    }
}

impl std::fmt::Display for MicroOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MicroOp::Append { key, value } => write!(f, "append {key} {value}"),
            MicroOp::ReadList { key, value } => write!(f, "r {key} {value:?}"),
            MicroOp::Write { key, value } => write!(f, "w {key} {value}"),
            MicroOp::Read {
                key,
                value: Some(v),
            } => write!(f, "r {key} {v}"),
            MicroOp::Read { key, value: None } => write!(f, "r {key} nil"),
            MicroOp::PredicateRead { predicate, value } => {
                write!(f, "pred-read ({predicate}) {value:?}")
            }
        }
    }
}

/// One line of a history: an invocation or a completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The client process.
    pub process: ProcessId,
    /// Invoke, ok, fail or info.
    pub kind: EventType,
    /// The transaction (on invocations, reads carry no meaningful value).
    pub txn: Vec<MicroOp>,
    /// Wall-clock or logical time; when any event lacks one, event order is used instead.
    pub time: Option<i64>,
}

/// The outcome of a paired transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Committed.
    Ok,
    /// Aborted: none of its writes may be visible.
    Fail,
    /// Unknown: its writes may be visible, its reads are unknown.
    Info,
}

/// An invocation paired with its completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    /// Compact id, equal to the position in [`History::txns`].
    pub id: TxnId,
    /// The client process.
    pub process: ProcessId,
    /// Committed, aborted or unknown.
    pub outcome: Outcome,
    /// The micro-operations (from the completion for `ok`; reads are ignored otherwise).
    pub ops: Vec<MicroOp>,
    /// When the client invoked it.
    pub invoke_time: i64,
    /// When the client learnt the outcome; `None` for `info` (it may take effect any time later).
    pub complete_time: Option<i64>,
    /// When the completion was recorded, whatever the outcome (`None`: never completed). Only
    /// reports use it (the latency of an `info`); the checker orders by `complete_time`.
    pub end_time: Option<i64>,
    /// The history index of its completion (of its invocation while it has none): the
    /// operation's `:index` when the input gives one, else its 0-based position in the input.
    pub index: u64,
}

impl Transaction {
    /// Whether the transaction may have taken effect (ok or info): it is a graph node with edges.
    pub fn may_have_committed(&self) -> bool {
        self.outcome != Outcome::Fail
    }
}

/// A paired history: the checker's input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// All transactions in invocation order; `txns[i].id == i`.
    pub txns: Vec<Transaction>,
    /// What the key and value codes stand for (empty when every key and value is an integer).
    pub names: Names,
}

impl History {
    /// Pairs events per process as Jepsen does. `source` names the input for error messages;
    /// event positions (1-based) are used as line numbers.
    pub fn from_events(events: &[Event], source: &str) -> Result<History> {
        let mut pairer = Pairer::new(source);
        for (position, event) in events.iter().enumerate() {
            pairer.push(event.clone(), position + 1, position as u64)?;
        }
        Ok(pairer.finish(Names::default()))
    }

    /// The transactions that committed.
    pub fn committed(&self) -> impl Iterator<Item = &Transaction> {
        self.txns.iter().filter(|t| t.outcome == Outcome::Ok)
    }

    /// Whether the history uses list-append micro-ops (otherwise registers).
    pub fn has_lists(&self) -> bool {
        self.txns
            .iter()
            .flat_map(|t| &t.ops)
            .any(|op| matches!(op, MicroOp::Append { .. } | MicroOp::ReadList { .. }))
    }
}

/// Pairs events one at a time into a [`History`], so a history file can be read without
/// holding its events: memory grows with the transactions, not with the text.
///
/// A process runs one transaction at a time: its invocation is answered by its next
/// completion. An `ok` or `fail` completion's micro-ops replace the invocation's (they carry
/// what was read); an `info` completion's micro-ops, when it has any, are what was attempted
/// (as Jepsen and Elle read them: its writes may have taken effect, its reads are unknown).
#[derive(Debug)]
pub struct Pairer<'s> {
    source: &'s str,
    pending: HashMap<ProcessId, usize>,
    txns: Vec<Transaction>,
    /// Per transaction, the positions of its invocation and completion among client events:
    /// the real-time order when some event has no time.
    positions: Vec<(i64, Option<i64>)>,
    events: i64,
    all_timed: bool,
}

impl<'s> Pairer<'s> {
    /// An empty pairer; `source` names the input in errors.
    pub fn new(source: &'s str) -> Self {
        Pairer {
            source,
            pending: HashMap::new(),
            txns: Vec::new(),
            positions: Vec::new(),
            events: 0,
            all_timed: true,
        }
    }

    /// Adds the client event at 1-based `line` whose history index is `index`.
    pub fn push(&mut self, event: Event, line: usize, index: u64) -> Result<()> {
        let position = self.events;
        self.events += 1;
        self.all_timed &= event.time.is_some();
        let time = event.time.unwrap_or(position);
        match event.kind {
            EventType::Invoke => {
                if self.pending.contains_key(&event.process) {
                    return Err(Error::parse(
                        self.source,
                        line,
                        format!(
                            "process {} invoked again before completing",
                            show_process(event.process)
                        ),
                    ));
                }
                let id = TxnId::try_from(self.txns.len())
                    .map_err(|_| Error::parse(self.source, line, "more than 2^32 transactions"))?;
                self.pending.insert(event.process, self.txns.len());
                self.positions.push((position, None));
                self.txns.push(Transaction {
                    id,
                    process: event.process,
                    outcome: Outcome::Info,
                    ops: event.txn,
                    invoke_time: time,
                    complete_time: None,
                    end_time: None,
                    index,
                });
            }
            kind => {
                let Some(slot) = self.pending.remove(&event.process) else {
                    return Err(Error::parse(
                        self.source,
                        line,
                        format!(
                            "process {} completed without an invocation",
                            show_process(event.process)
                        ),
                    ));
                };
                let txn = &mut self.txns[slot];
                txn.outcome = match kind {
                    EventType::Ok => Outcome::Ok,
                    EventType::Fail => Outcome::Fail,
                    _ => Outcome::Info,
                };
                if !event.txn.is_empty() {
                    txn.ops = event.txn;
                }
                if kind != EventType::Info {
                    txn.complete_time = Some(time);
                }
                txn.end_time = Some(time);
                txn.index = index;
                self.positions[slot].1 = Some(position);
            }
        }
        Ok(())
    }

    /// The paired history, whose codes `names` explains; invocations left without completion
    /// stay `info`. When some event had no time, event order is the real-time order. Reads
    /// left open by the text are resolved ([`resolve_nil_reads`]).
    pub fn finish(self, names: Names) -> History {
        let mut txns = self.txns;
        if !self.all_timed {
            for (txn, (invoked, ended)) in txns.iter_mut().zip(self.positions) {
                txn.invoke_time = invoked;
                txn.end_time = ended;
                txn.complete_time = ended.filter(|_| txn.outcome != Outcome::Info);
            }
        }
        let mut history = History { txns, names };
        resolve_nil_reads(history.txns.iter_mut().flat_map(|t| t.ops.iter_mut()));
        history
    }
}

fn show_process(process: ProcessId) -> String {
    if process == crate::op::NO_PROCESS {
        "(none)".to_string()
    } else {
        process.to_string()
    }
}

/// Builds histories in code (tests, synthetic workloads): events in the order they are added.
#[derive(Clone, Debug, Default)]
pub struct HistoryBuilder {
    events: Vec<Event>,
    clock: i64,
}

impl HistoryBuilder {
    /// An empty builder; time starts at 0 and advances by one per event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an invocation by `process`.
    pub fn invoke(&mut self, process: ProcessId, txn: Vec<MicroOp>) -> &mut Self {
        self.push(process, EventType::Invoke, txn)
    }

    /// Records a completion by `process`.
    pub fn complete(
        &mut self,
        process: ProcessId,
        kind: EventType,
        txn: Vec<MicroOp>,
    ) -> &mut Self {
        self.push(process, kind, txn)
    }

    /// Records a whole transaction run alone: invocation immediately followed by completion.
    pub fn txn(&mut self, process: ProcessId, kind: EventType, txn: Vec<MicroOp>) -> &mut Self {
        self.invoke(process, txn.clone());
        self.complete(process, kind, txn)
    }

    /// Records a committed transaction run alone.
    pub fn ok(&mut self, process: ProcessId, txn: Vec<MicroOp>) -> &mut Self {
        self.txn(process, EventType::Ok, txn)
    }

    /// The events so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Pairs the events into a history.
    pub fn build(&self) -> Result<History> {
        History::from_events(&self.events, "<builder>")
    }

    fn push(&mut self, process: ProcessId, kind: EventType, txn: Vec<MicroOp>) -> &mut Self {
        self.events.push(Event {
            process,
            kind,
            txn,
            time: Some(self.clock),
        });
        self.clock += 1;
        self
    }
}

/// Resolves reads whose kind the text left open: a `nil` read (`[:r k nil]`, `{"f":"r","value":
/// null}`) is a list read of the empty list when `k` is a list key anywhere in the history
/// (appended to, or read as a list), and a register read of the initial state otherwise.
pub fn resolve_nil_reads<'a>(ops: impl Iterator<Item = &'a mut MicroOp>) {
    let mut ops: Vec<&mut MicroOp> = ops.collect();
    let list_keys: std::collections::HashSet<Key> = ops
        .iter()
        .filter_map(|op| match op {
            MicroOp::Append { key, .. } | MicroOp::ReadList { key, .. } => Some(*key),
            _ => None,
        })
        .collect();
    if list_keys.is_empty() {
        return;
    }
    for op in ops.iter_mut() {
        if let MicroOp::Read { key, value: None } = op
            && list_keys.contains(key)
        {
            **op = MicroOp::ReadList {
                key: *key,
                value: Vec::new(),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_interleaved_processes_and_keeps_ok_values() {
        let mut b = HistoryBuilder::new();
        b.invoke(0, vec![MicroOp::append(1, 2)])
            .invoke(1, vec![MicroOp::read_list(1, &[])])
            .complete(0, EventType::Ok, vec![MicroOp::append(1, 2)])
            .complete(1, EventType::Ok, vec![MicroOp::read_list(1, &[2])])
            .invoke(2, vec![MicroOp::write(5, 1)]);
        let h = b.build().expect("pairs");
        assert_eq!(h.txns.len(), 3);
        assert_eq!(h.txns[1].ops, vec![MicroOp::read_list(1, &[2])]);
        assert_eq!(
            (h.txns[1].invoke_time, h.txns[1].complete_time),
            (1, Some(3))
        );
        assert_eq!(h.txns[2].outcome, Outcome::Info);
        assert_eq!(h.txns[2].complete_time, None);
    }

    #[test]
    fn completion_without_invocation_is_an_error() {
        let events = vec![Event {
            process: 3,
            kind: EventType::Ok,
            txn: vec![],
            time: None,
        }];
        let err = History::from_events(&events, "h.jsonl").expect_err("must fail");
        assert!(err.to_string().contains("h.jsonl:1"), "{err}");
    }

    #[test]
    fn double_invocation_is_an_error() {
        let mut b = HistoryBuilder::new();
        b.invoke(0, vec![]).invoke(0, vec![]);
        assert!(b.build().is_err());
    }
}
