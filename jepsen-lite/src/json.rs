//! The JSON lines history format: one event (invocation or completion) per line.
//!
//! ```text
//! {"process":0,"type":"invoke","time":100,"value":[{"f":"append","key":1,"value":2},{"f":"r","key":1,"value":null}]}
//! {"process":0,"type":"ok","time":180,"value":[{"f":"append","key":1,"value":2},{"f":"r","key":1,"value":[1,2]}]}
//! {"process":1,"type":"invoke","time":120,"value":[{"f":"pred-read","predicate":{"key_min":1,"key_max":9,"op":">=","value":30},"value":null}]}
//! {"process":1,"type":"ok","time":200,"value":[{"f":"pred-read","predicate":{"key_min":1,"key_max":9,"op":">=","value":30},"value":{"3":30}}]}
//! ```
//!
//! * `process` (integer), `type` (`invoke`/`ok`/`fail`/`info`) and `value` (the transaction, a
//!   list of micro-ops) are required; `time` (integer, any unit, monotonic) is optional — when
//!   any line lacks it, line order is the real-time order.
//! * Micro-ops, by `f`:
//!   `append` {key, value}; `read-list` {key, value: [..] or null}; `write` (or `w`)
//!   {key, value}; `read` {key, value: integer or null = never written}; `r` {key, value}: a list
//!   read when `value` is an array, a register read when it is an integer, and for `null` a list
//!   read if the key is a list key anywhere in the history; `pred-read` {predicate, value:
//!   {"key": value, ...}} (see [`crate::predicate`]).
//! * Blank lines, lines starting with `#` and nemesis operations (`"process": "nemesis"`, as the
//!   runner records fault windows) are skipped. Other fields are ignored.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

use crate::error::{Error, Result};
use crate::history::{Event, EventType, Key, MicroOp, Value, resolve_nil_reads};
use crate::predicate::Predicate;

/// Parses a JSON lines history. `source` names the input in error messages.
pub fn parse_events(text: &str, source: &str) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fail = |reason: String| Error::parse(source, index + 1, reason);
        let json: Json =
            serde_json::from_str(trimmed).map_err(|e| fail(format!("not JSON: {e}")))?;
        if is_nemesis(&json) {
            continue;
        }
        events.push(parse_event(&json).map_err(fail)?);
    }
    resolve_nil_reads(&mut events);
    Ok(events)
}

/// Whether the line is a nemesis operation (`"process": "nemesis"`), which is not a transaction.
fn is_nemesis(json: &Json) -> bool {
    json.get("process").and_then(Json::as_str) == Some("nemesis")
}

fn parse_event(json: &Json) -> std::result::Result<Event, String> {
    let object = json.as_object().ok_or("an event must be a JSON object")?;
    let process = object
        .get("process")
        .and_then(Json::as_u64)
        .ok_or("missing or non-integer \"process\"")?;
    let kind = match object.get("type").and_then(Json::as_str) {
        Some("invoke") => EventType::Invoke,
        Some("ok") => EventType::Ok,
        Some("fail") => EventType::Fail,
        Some("info") => EventType::Info,
        other => {
            return Err(format!(
                "\"type\" must be invoke, ok, fail or info, not {other:?}"
            ));
        }
    };
    let time = match object.get("time") {
        None | Some(Json::Null) => None,
        Some(t) => Some(t.as_i64().ok_or("\"time\" must be an integer")?),
    };
    let txn = match object.get("value") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(ops)) => ops
            .iter()
            .map(parse_micro_op)
            .collect::<std::result::Result<_, _>>()?,
        Some(_) => return Err("\"value\" must be a list of micro-ops".into()),
    };
    Ok(Event {
        process,
        kind,
        txn,
        time,
    })
}

fn int(object: &Map<String, Json>, field: &str) -> std::result::Result<i64, String> {
    object
        .get(field)
        .and_then(Json::as_i64)
        .ok_or_else(|| format!("micro-op needs an integer \"{field}\""))
}

fn int_list(json: &Json) -> std::result::Result<Vec<Value>, String> {
    match json {
        Json::Null => Ok(Vec::new()),
        Json::Array(items) => items
            .iter()
            .map(|i| {
                i.as_i64()
                    .ok_or_else(|| format!("list element {i} is not an integer"))
            })
            .collect(),
        other => Err(format!("expected a list of integers, got {other}")),
    }
}

fn parse_micro_op(json: &Json) -> std::result::Result<MicroOp, String> {
    let object = json.as_object().ok_or("a micro-op must be a JSON object")?;
    let f = object
        .get("f")
        .and_then(Json::as_str)
        .ok_or("micro-op needs a string \"f\"")?;
    let value = object.get("value").unwrap_or(&Json::Null);
    Ok(match f {
        "append" => MicroOp::Append {
            key: int(object, "key")?,
            value: int(object, "value")?,
        },
        "write" | "w" => MicroOp::Write {
            key: int(object, "key")?,
            value: int(object, "value")?,
        },
        "read-list" => MicroOp::ReadList {
            key: int(object, "key")?,
            value: int_list(value)?,
        },
        "read" | "r" => {
            let key = int(object, "key")?;
            match value {
                Json::Array(_) => MicroOp::ReadList {
                    key,
                    value: int_list(value)?,
                },
                Json::Null => MicroOp::Read { key, value: None },
                v => MicroOp::Read {
                    key,
                    value: Some(
                        v.as_i64()
                            .ok_or_else(|| format!("read value {v} is not an integer"))?,
                    ),
                },
            }
        }
        "pred-read" => {
            let predicate: Predicate = serde_json::from_value(
                object
                    .get("predicate")
                    .cloned()
                    .unwrap_or_else(|| json!({})),
            )
            .map_err(|e| format!("bad predicate: {e}"))?;
            let mut rows = BTreeMap::new();
            match value {
                Json::Null => {}
                Json::Object(map) => {
                    for (k, v) in map {
                        let key: Key = k
                            .parse()
                            .map_err(|_| format!("row key {k:?} is not an integer"))?;
                        let v = v
                            .as_i64()
                            .ok_or_else(|| format!("row value {v} is not an integer"))?;
                        rows.insert(key, v);
                    }
                }
                _ => return Err("pred-read value must be an object {key: value}".into()),
            }
            MicroOp::PredicateRead {
                predicate,
                value: rows,
            }
        }
        other => return Err(format!("unknown micro-op {other:?}")),
    })
}

/// The JSON form of one micro-op (inverse of the parser).
pub fn micro_op_to_json(op: &MicroOp) -> Json {
    match op {
        MicroOp::Append { key, value } => json!({"f": "append", "key": key, "value": value}),
        MicroOp::ReadList { key, value } => json!({"f": "read-list", "key": key, "value": value}),
        MicroOp::Write { key, value } => json!({"f": "write", "key": key, "value": value}),
        MicroOp::Read { key, value } => json!({"f": "read", "key": key, "value": value}),
        MicroOp::PredicateRead { predicate, value } => {
            let rows: Map<String, Json> = value
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            json!({"f": "pred-read", "predicate": predicate, "value": rows})
        }
    }
}

/// Renders events as JSON lines (each line ends with `\n`).
pub fn write_events(events: &[Event]) -> String {
    let mut out = String::new();
    for event in events {
        let mut object = Map::new();
        object.insert("process".into(), json!(event.process));
        object.insert(
            "type".into(),
            serde_json::to_value(event.kind).unwrap_or(Json::Null),
        );
        if let Some(time) = event.time {
            object.insert("time".into(), json!(time));
        }
        object.insert(
            "value".into(),
            Json::Array(event.txn.iter().map(micro_op_to_json).collect()),
        );
        out.push_str(&Json::Object(object).to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::HistoryBuilder;
    use crate::predicate::CmpOp;

    #[test]
    fn round_trips_every_micro_op() {
        let mut b = HistoryBuilder::new();
        let pred = Predicate {
            key_min: Some(1),
            key_max: None,
            op: Some(CmpOp::Gt),
            value: Some(3),
        };
        b.ok(
            0,
            vec![
                MicroOp::append(1, 2),
                MicroOp::read_list(1, &[2]),
                MicroOp::write(7, 9),
                MicroOp::read(8, None),
                MicroOp::predicate_read(pred, &[(7, 9)]),
            ],
        );
        let text = write_events(b.events());
        let parsed = parse_events(&text, "t").expect("parses");
        assert_eq!(parsed, b.events());
    }

    #[test]
    fn null_read_of_a_list_key_is_an_empty_list() {
        let text = r#"{"process":0,"type":"invoke","value":[{"f":"r","key":1,"value":null}]}
{"process":0,"type":"ok","value":[{"f":"r","key":1,"value":null},{"f":"append","key":1,"value":5}]}
{"process":1,"type":"ok","value":[{"f":"r","key":2,"value":null}]}"#;
        let events = parse_events(text, "t").expect("parses");
        assert_eq!(events[1].txn[0], MicroOp::read_list(1, &[]));
        assert_eq!(events[2].txn[0], MicroOp::read(2, None));
    }

    #[test]
    fn errors_name_the_line() {
        let text = "\n{\"process\":0,\"type\":\"ok\",\"value\":[{\"f\":\"bogus\"}]}";
        let err = parse_events(text, "h.jsonl").expect_err("bad op");
        assert!(err.to_string().starts_with("h.jsonl:2:"), "{err}");
        assert!(parse_events("{not json", "h").is_err());
    }
}
