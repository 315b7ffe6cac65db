//! One operation of a history as both formats give it, and what it means: the fields Jepsen
//! and Elle use, the micro-operations, and which reads are list reads.
//!
//! ```text
//! EDN  {:type :ok, :f :txn, :process 0, :time 5, :index 3, :value [[:append :x 1] [:r :y [1]]]}
//! JSON {"type":"ok","process":0,"time":5,"index":3,"value":[["append","x",1],["r","y",[1]]]}
//!      {"type":"ok","process":0,"value":[{"f":"append","key":1,"value":2}]}   (jepsen-lite's)
//!                         │
//!                         ▼   RawOp { process, kind, time, index, mops: [RawMop] }
//!                    Event (codes; keys and values interned in Names)
//! ```
//!
//! * `:type` is required; `:process` is optional (a history without it is one process, as in
//!   Elle's examples) and `:nemesis` operations are skipped; `:time` and `:index` are optional.
//! * `:f` is optional, as in Elle: an operation is a transaction when its `:value` is a list of
//!   micro-ops (or nil). An operation whose `:f` is not `:txn` and whose value is not a list of
//!   micro-ops is refused with its line: it belongs to another kind of test.
//! * Micro-ops: `append k v`, `r k v`, `w k v` (also `read`, `write`, `read-list`, and
//!   jepsen-lite's `pred-read`). Keys and values are any scalars ([`crate::names`]).
//! * A read `r k v` is a list read when `v` is a list and a register read when it is a
//!   scalar; `nil` is decided by [`Workload`]: Elle's `list-append` and `rw-register`
//!   checkers say what every read is, `auto` decides per key (a list key anywhere makes it a
//!   list read, see [`crate::history::resolve_nil_reads`]).

use std::collections::BTreeMap;

use crate::history::{Event, EventType, MicroOp, ProcessId, Value};
use crate::names::{Names, Scalar};
use crate::predicate::Predicate;

/// The process of operations that name none (Elle's examples omit `:process`).
pub const NO_PROCESS: ProcessId = u64::MAX;

/// What kind of transactions a history holds, as Elle's checker names say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Decide per read: lists are list reads, scalars register reads, `nil` by the key.
    #[default]
    Auto,
    /// Elle's `list-append`: only `append` and `r`; every read is a list read.
    ListAppend,
    /// Elle's `rw-register`: only `w` and `r`; every read is a register read.
    RwRegister,
}

impl Workload {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Auto => "auto",
            Workload::ListAppend => "list-append",
            Workload::RwRegister => "rw-register",
        }
    }
}

/// Who ran an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawProcess {
    /// A client process.
    Client(ProcessId),
    /// The nemesis (fault injection): not a transaction.
    Nemesis,
}

/// The value of a micro-op as written.
#[derive(Clone, Debug, PartialEq)]
pub enum RawValue {
    /// `nil` / `null` / absent.
    Nil,
    /// One scalar.
    Scalar(Scalar),
    /// A list of values, already coded (lists are the bulk of a history: they are coded as
    /// they are read, never held as scalars).
    List(Vec<Value>),
    /// Rows of a predicate read: `{key: value}`.
    Rows(Vec<(Scalar, Scalar)>),
}

/// A micro-op as written.
#[derive(Clone, Debug, PartialEq)]
pub struct RawMop {
    /// Its function: `append`, `r`, `w`, ...
    pub f: String,
    /// Its key (`None` for a predicate read).
    pub key: Option<Scalar>,
    /// Its value.
    pub value: RawValue,
    /// A predicate read's condition.
    pub predicate: Option<Predicate>,
}

/// An operation as written.
#[derive(Clone, Debug, PartialEq)]
pub struct RawOp {
    /// Who ran it.
    pub process: RawProcess,
    /// Invoke, ok, fail or info.
    pub kind: EventType,
    /// `:time`, if given.
    pub time: Option<i64>,
    /// `:index`, if given.
    pub index: Option<u64>,
    /// `:f`, if given.
    pub f: Option<String>,
    /// The micro-ops, or `None` when `:value` is not a list of micro-ops.
    pub mops: Option<Vec<RawMop>>,
}

/// Why an operation cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpError {
    /// It is not an operation of any history the checker reads.
    Malformed(String),
    /// It is well formed, but belongs to another workload than the one asked for (a register
    /// write under `list-append`, a bank transfer): elle-cli's "wrong model selected".
    OtherWorkload(String),
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpError::Malformed(reason) | OpError::OtherWorkload(reason) => f.write_str(reason),
        }
    }
}

impl OpError {
    /// The checker's error for this operation at `line` of `source`.
    pub fn at(self, source: &str, line: usize) -> crate::error::Error {
        match self {
            OpError::Malformed(reason) => crate::error::Error::parse(source, line, reason),
            OpError::OtherWorkload(reason) => crate::error::Error::OtherWorkload {
                path: source.to_string(),
                line,
                reason,
            },
        }
    }
}

/// Parses `invoke` / `ok` / `fail` / `info`.
pub fn event_type(name: &str) -> Option<EventType> {
    Some(match name {
        "invoke" => EventType::Invoke,
        "ok" => EventType::Ok,
        "fail" => EventType::Fail,
        "info" => EventType::Info,
        _ => return None,
    })
}

impl RawOp {
    /// The client event this operation is, or `None` for the nemesis.
    pub fn into_event(
        self,
        names: &mut Names,
        workload: Workload,
    ) -> Result<Option<Event>, OpError> {
        let RawProcess::Client(process) = self.process else {
            return Ok(None);
        };
        let Some(mops) = self.mops else {
            return Err(match &self.f {
                Some(f) if f != "txn" => OpError::OtherWorkload(format!(
                    "operation :f {f} is not a transaction (its :value is not a list of micro-ops): is this a history of another kind of test?"
                )),
                _ => OpError::Malformed(
                    "a transaction's :value must be a list of micro-ops".to_string(),
                ),
            });
        };
        let txn = mops
            .into_iter()
            .map(|m| m.into_micro_op(names, workload))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Event {
            process,
            kind: self.kind,
            txn,
            time: self.time,
        }))
    }
}

impl RawMop {
    /// The micro-op, with its key and values coded.
    pub fn into_micro_op(self, names: &mut Names, workload: Workload) -> Result<MicroOp, OpError> {
        let f = self.f.as_str();
        if f == "pred-read" {
            return self.into_predicate_read(names).map_err(OpError::Malformed);
        }
        let allowed = match workload {
            Workload::Auto => true,
            Workload::ListAppend => matches!(f, "append" | "r" | "read" | "read-list"),
            Workload::RwRegister => matches!(f, "w" | "write" | "r" | "read"),
        };
        if !allowed {
            return Err(OpError::OtherWorkload(format!(
                "micro-op {f:?} does not belong to a {} history",
                workload.name()
            )));
        }
        let key = self
            .key
            .ok_or_else(|| format!("micro-op {f:?} needs a key"))
            .and_then(|k| names.key(k))
            .map_err(OpError::Malformed)?;
        let scalar = |value: RawValue, names: &mut Names| match value {
            RawValue::Scalar(s) => names.value(s).map_err(OpError::Malformed),
            other => Err(OpError::Malformed(format!(
                "micro-op {f:?} needs a scalar value, not {other:?}"
            ))),
        };
        Ok(match f {
            "append" => MicroOp::Append {
                key,
                value: scalar(self.value, names)?,
            },
            "w" | "write" => MicroOp::Write {
                key,
                value: scalar(self.value, names)?,
            },
            "read-list" => match self.value {
                RawValue::Nil => MicroOp::ReadList {
                    key,
                    value: Vec::new(),
                },
                RawValue::List(items) => MicroOp::ReadList { key, value: items },
                other => {
                    return Err(OpError::Malformed(format!(
                        "a list read needs a list, not {other:?}"
                    )));
                }
            },
            "r" | "read" => match (self.value, workload) {
                (RawValue::Nil, Workload::ListAppend) => MicroOp::ReadList {
                    key,
                    value: Vec::new(),
                },
                (RawValue::Nil, _) => MicroOp::Read { key, value: None },
                (RawValue::List(items), Workload::Auto | Workload::ListAppend) => {
                    MicroOp::ReadList { key, value: items }
                }
                (RawValue::Scalar(s), Workload::Auto | Workload::RwRegister) => MicroOp::Read {
                    key,
                    value: Some(names.value(s).map_err(OpError::Malformed)?),
                },
                (other, _) => {
                    return Err(OpError::OtherWorkload(format!(
                        "a {} read cannot return {other:?}",
                        workload.name()
                    )));
                }
            },
            other => return Err(OpError::Malformed(format!("unknown micro-op {other:?}"))),
        })
    }

    fn into_predicate_read(self, names: &mut Names) -> Result<MicroOp, String> {
        let int = |s: Scalar, what: &str| match s {
            Scalar::Int(i) => Ok(i),
            other => Err(format!(
                "a predicate read's {what} must be an integer, not {other}"
            )),
        };
        let mut rows = BTreeMap::new();
        match self.value {
            RawValue::Nil => {}
            RawValue::Rows(pairs) => {
                for (k, v) in pairs {
                    let (k, v) = (int(k, "row key")?, int(v, "row value")?);
                    rows.insert(names.key(Scalar::Int(k))?, names.value(Scalar::Int(v))?);
                }
            }
            other => {
                return Err(format!(
                    "a predicate read's value must be rows {{key: value}}, not {other:?}"
                ));
            }
        }
        Ok(MicroOp::PredicateRead {
            predicate: self.predicate.unwrap_or_default(),
            value: rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mop(f: &str, key: Scalar, value: RawValue) -> RawMop {
        RawMop {
            f: f.into(),
            key: Some(key),
            value,
            predicate: None,
        }
    }

    #[test]
    fn the_workload_decides_what_a_nil_read_is() {
        let mut names = Names::default();
        let nil =
            |w| mop("r", Scalar::Int(1), RawValue::Nil).into_micro_op(&mut Names::default(), w);
        assert_eq!(nil(Workload::ListAppend), Ok(MicroOp::read_list(1, &[])));
        assert_eq!(nil(Workload::RwRegister), Ok(MicroOp::read(1, None)));
        assert_eq!(nil(Workload::Auto), Ok(MicroOp::read(1, None)));
        let append = mop("append", Scalar::Int(1), RawValue::Scalar(Scalar::Int(2)));
        assert!(
            append
                .into_micro_op(&mut names, Workload::RwRegister)
                .is_err()
        );
        let listed = mop("r", Scalar::Int(1), RawValue::List(vec![2]));
        assert!(
            listed
                .into_micro_op(&mut names, Workload::RwRegister)
                .is_err()
        );
    }

    #[test]
    fn operations_of_other_tests_are_refused_and_the_nemesis_skipped() {
        let op = |process, f: Option<&str>, mops| RawOp {
            process,
            kind: EventType::Ok,
            time: None,
            index: None,
            f: f.map(String::from),
            mops,
        };
        let mut names = Names::default();
        let bank = op(RawProcess::Client(0), Some("transfer"), None);
        let err = bank
            .into_event(&mut names, Workload::Auto)
            .expect_err("not a txn");
        assert!(matches!(err, OpError::OtherWorkload(_)));
        assert!(err.to_string().contains("another kind of test"), "{err}");
        let nemesis = op(RawProcess::Nemesis, Some("start"), None);
        assert_eq!(nemesis.into_event(&mut names, Workload::Auto), Ok(None));
        let untyped = op(RawProcess::Client(3), None, Some(Vec::new()));
        let event = untyped
            .into_event(&mut names, Workload::Auto)
            .expect("an empty transaction")
            .expect("a client event");
        assert_eq!(event.process, 3);
    }
}
