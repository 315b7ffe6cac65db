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

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, Result};
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
}

impl History {
    /// Pairs events per process as Jepsen does. `source` names the input for error messages;
    /// event positions (1-based) are used as line numbers.
    pub fn from_events(events: &[Event], source: &str) -> Result<History> {
        let use_positions = events.iter().any(|e| e.time.is_none());
        let mut pending: HashMap<ProcessId, usize> = HashMap::new();
        let mut txns: Vec<Transaction> = Vec::new();
        for (position, event) in events.iter().enumerate() {
            let time = if use_positions {
                position as i64
            } else {
                event.time.unwrap_or(0)
            };
            match event.kind {
                EventType::Invoke => {
                    if pending.contains_key(&event.process) {
                        return Err(Error::parse(
                            source,
                            position + 1,
                            format!("process {} invoked again before completing", event.process),
                        ));
                    }
                    let id = TxnId::try_from(txns.len()).map_err(|_| {
                        Error::parse(source, position + 1, "more than 2^32 transactions")
                    })?;
                    pending.insert(event.process, txns.len());
                    txns.push(Transaction {
                        id,
                        process: event.process,
                        outcome: Outcome::Info,
                        ops: event.txn.clone(),
                        invoke_time: time,
                        complete_time: None,
                    });
                }
                kind => {
                    let Some(slot) = pending.remove(&event.process) else {
                        return Err(Error::parse(
                            source,
                            position + 1,
                            format!("process {} completed without an invocation", event.process),
                        ));
                    };
                    let txn = &mut txns[slot];
                    txn.outcome = match kind {
                        EventType::Ok => Outcome::Ok,
                        EventType::Fail => Outcome::Fail,
                        _ => Outcome::Info,
                    };
                    if !event.txn.is_empty() && kind != EventType::Info {
                        txn.ops = event.txn.clone();
                    }
                    if kind != EventType::Info {
                        txn.complete_time = Some(time);
                    }
                }
            }
        }
        Ok(History { txns })
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
pub fn resolve_nil_reads(events: &mut [Event]) {
    let list_keys: std::collections::HashSet<Key> = events
        .iter()
        .flat_map(|e| &e.txn)
        .filter_map(|op| match op {
            MicroOp::Append { key, .. } | MicroOp::ReadList { key, .. } => Some(*key),
            _ => None,
        })
        .collect();
    for op in events.iter_mut().flat_map(|e| e.txn.iter_mut()) {
        if let MicroOp::Read { key, value: None } = op
            && list_keys.contains(key)
        {
            *op = MicroOp::ReadList {
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
