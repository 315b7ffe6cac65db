//! JSON histories: JSON lines (one operation per line) and elle-cli's JSON array, read and
//! written.
//!
//! ```text
//! JSON lines    {"process":0,"type":"invoke","time":100,"value":[["append","x",2],["r","y",null]]}
//!               {"process":0,"type":"ok","time":180,"value":[["append","x",2],["r","y",[1,2]]]}
//! JSON array    [{"index":0,"process":0,"type":"invoke","value":[["append",1,1]]},
//!                {"index":1,"process":0,"type":"ok","value":[["append",1,1]]}]
//! objects too   {"f":"append","key":1,"value":2}  {"f":"pred-read","predicate":{..},"value":{"7":3}}
//! ```
//!
//! * An operation has `type` (`invoke`/`ok`/`fail`/`info`) and `value` (its micro-ops);
//!   `process`, `time`, `index` and `f` are optional ([`crate::op`] says what each means).
//!   Other fields are ignored; `"process": "nemesis"` operations are skipped.
//! * A micro-op is elle-cli's `[f, key, value]` or jepsen-lite's `{"f", "key", "value"}`; keys
//!   and values are any JSON scalars (strings, integers, floats, booleans).
//! * In JSON lines, blank lines and lines starting with `#` are skipped.
//!
//! Runs write the compact form ([`write_line`]): array micro-ops, reads of invocations as
//! `null`, list reads always as lists (`[]` included), so nothing is left to guess.

use std::io::BufRead;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value as Json, json};

use crate::error::{Error, Result};
use crate::history::{Event, EventType, MicroOp, ProcessId};
use crate::names::{Names, Scalar};
use crate::op::{NO_PROCESS, RawMop, RawOp, RawProcess, RawValue, Workload, event_type};
use crate::predicate::Predicate;

/// Receives each client event with its 1-based line and its history index.
pub type EventSink<'a> = dyn FnMut(Event, usize, u64) -> Result<()> + 'a;

/// Parses JSON text (lines or an array) into events; keys and values are coded in `names`.
pub fn parse_events(
    text: &str,
    source: &str,
    names: &mut Names,
    workload: Workload,
) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    read_text(text, source, names, workload, &mut |event, _, _| {
        events.push(event);
        Ok(())
    })?;
    Ok(events)
}

/// Reads JSON text (lines, or an array when it starts with `[`), event by event.
pub fn read_text(
    text: &str,
    source: &str,
    names: &mut Names,
    workload: Workload,
    sink: &mut EventSink<'_>,
) -> Result<()> {
    if text.trim_start().starts_with('[') {
        read_array(text, source, names, workload, sink)
    } else {
        read_lines(text.as_bytes(), source, names, workload, sink)
    }
}

/// Reads JSON lines from `reader` (a file, a decompressor), one operation at a time.
pub fn read_lines(
    reader: impl BufRead,
    source: &str,
    names: &mut Names,
    workload: Workload,
    sink: &mut EventSink<'_>,
) -> Result<()> {
    let mut index = 0u64;
    for (number, line) in reader.lines().enumerate() {
        let line =
            line.map_err(|e| Error::parse(source, number + 1, format!("cannot read: {e}")))?;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let op =
            parse_op(trimmed, names).map_err(|reason| Error::parse(source, number + 1, reason))?;
        let at = op.index.unwrap_or(index);
        index += 1;
        if let Some(event) = op
            .into_event(names, workload)
            .map_err(|e| e.at(source, number + 1))?
        {
            sink(event, number + 1, at)?;
        }
    }
    Ok(())
}

/// Reads elle-cli's JSON array: `[op, op, ...]`, each element parsed on its own (so a large
/// array is never held as one JSON value) and errors name the element's line.
fn read_array(
    text: &str,
    source: &str,
    names: &mut Names,
    workload: Workload,
    sink: &mut EventSink<'_>,
) -> Result<()> {
    let bytes = text.as_bytes();
    let mut pos = text.len() - text.trim_start().len() + 1;
    let mut line = 1 + text[..pos].matches('\n').count();
    let mut index = 0u64;
    loop {
        // Skip whitespace and commas between elements.
        while let Some(&b) = bytes.get(pos) {
            match b {
                b'\n' => line += 1,
                b',' | b' ' | b'\t' | b'\r' => {}
                _ => break,
            }
            pos += 1;
        }
        match bytes.get(pos) {
            None => return Err(Error::parse(source, line, "the JSON array is not closed")),
            Some(b']') => {
                if !text[pos + 1..].trim().is_empty() {
                    return Err(Error::parse(source, line, "text after the JSON array"));
                }
                return Ok(());
            }
            Some(_) => {}
        }
        let start = pos;
        let start_line = line;
        let end = element_end(bytes, start)
            .ok_or_else(|| Error::parse(source, start_line, "unterminated JSON element"))?;
        line += text[start..end].matches('\n').count();
        pos = end;
        let op = parse_op(&text[start..end], names)
            .map_err(|reason| Error::parse(source, start_line, reason))?;
        let at = op.index.unwrap_or(index);
        index += 1;
        if let Some(event) = op
            .into_event(names, workload)
            .map_err(|e| e.at(source, start_line))?
        {
            sink(event, start_line, at)?;
        }
    }
}

/// The end (exclusive) of the JSON value starting at `start`: the matching bracket of an
/// object or array, or the end of a scalar.
fn element_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth == 0 => return Some(i),
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b',' if depth == 0 => return Some(i),
            _ => {}
        }
    }
    (depth == 0 && !in_string).then_some(bytes.len())
}

/// Parses one operation from its JSON text, coding keys and values as it reads them: no
/// intermediate JSON tree, so a long list read costs its codes and nothing more.
pub fn parse_op(text: &str, names: &mut Names) -> std::result::Result<RawOp, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let op = OpSeed { names }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(op)
}

struct OpSeed<'n> {
    names: &'n mut Names,
}

impl<'de> DeserializeSeed<'de> for OpSeed<'_> {
    type Value = RawOp;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<RawOp, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OpSeed<'_> {
    type Value = RawOp;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an operation object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<RawOp, A::Error> {
        let mut process = RawProcess::Client(NO_PROCESS);
        let mut kind = None;
        let mut type_text = None;
        let mut time = None;
        let mut index = None;
        let mut f = None;
        let mut mops = Some(Vec::new());
        while let Some(field) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match field.as_ref() {
                "type" => {
                    let t: Option<String> = map.next_value()?;
                    kind = t.as_deref().and_then(event_type);
                    type_text = t;
                }
                "process" => {
                    process = match map.next_value::<Json>()? {
                        Json::Null => RawProcess::Client(NO_PROCESS),
                        Json::Number(n) => RawProcess::Client(
                            n.as_u64().filter(|p| *p != NO_PROCESS).ok_or_else(|| {
                                de::Error::custom(format!(
                                    "\"process\" must be a non-negative integer, not {n}"
                                ))
                            })?,
                        ),
                        // Elle's client operations have integer processes; "nemesis" is not one.
                        _ => RawProcess::Nemesis,
                    };
                }
                "time" => time = map.next_value::<Option<i64>>()?,
                "index" => index = map.next_value::<Option<u64>>()?,
                "f" => f = map.next_value::<Option<String>>()?,
                "value" => {
                    mops = map.next_value_seed(TxnSeed {
                        names: &mut *self.names,
                    })?
                }
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let kind = kind.ok_or_else(|| {
            de::Error::custom(format!(
                "\"type\" must be invoke, ok, fail or info, not {}",
                type_text.map_or("nothing".to_string(), |t| format!("{t:?}"))
            ))
        })?;
        Ok(RawOp {
            process,
            kind,
            time,
            index,
            f,
            mops: if process == RawProcess::Nemesis {
                None
            } else {
                mops
            },
        })
    }
}

/// An operation's `value`: `Some(micro-ops)` for a list of them (or null), `None` otherwise.
struct TxnSeed<'n> {
    names: &'n mut Names,
}

impl<'de> DeserializeSeed<'de> for TxnSeed<'_> {
    type Value = Option<Vec<RawMop>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TxnSeed<'_> {
    type Value = Option<Vec<RawMop>>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of micro-ops")
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(Some(Vec::new()))
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(Some(Vec::new()))
    }
    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut mops = Vec::new();
        while let Some(mop) = seq.next_element_seed(MopSeed {
            names: &mut *self.names,
        })? {
            mops.push(mop);
        }
        Ok(Some(mops))
    }
    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
}

/// One micro-op: `[f, key, value]` or `{"f", "key", "value", "predicate"}`.
struct MopSeed<'n> {
    names: &'n mut Names,
}

impl<'de> DeserializeSeed<'de> for MopSeed<'_> {
    type Value = RawMop;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<RawMop, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MopSeed<'_> {
    type Value = RawMop;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a micro-op [f, key, value]")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<RawMop, A::Error> {
        let f: String = seq
            .next_element()?
            .ok_or_else(|| de::Error::custom("an empty micro-op"))?;
        let key: Option<ScalarOrNil> = seq.next_element()?;
        let value = seq
            .next_element_seed(ValueSeed {
                names: &mut *self.names,
            })?
            .unwrap_or(RawValue::Nil);
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(format!(
                "micro-op {f:?} has more than [f, key, value]"
            )));
        }
        Ok(RawMop {
            f,
            key: key.and_then(|k| k.0),
            value,
            predicate: None,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<RawMop, A::Error> {
        let (mut f, mut key, mut value, mut predicate) = (None, None, RawValue::Nil, None);
        while let Some(field) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match field.as_ref() {
                "f" => f = Some(map.next_value::<String>()?),
                "key" => key = map.next_value::<ScalarOrNil>()?.0,
                "value" => {
                    value = map.next_value_seed(ValueSeed {
                        names: &mut *self.names,
                    })?
                }
                "predicate" => {
                    predicate = Some(
                        map.next_value::<Predicate>()
                            .map_err(|e| de::Error::custom(format!("bad predicate: {e}")))?,
                    )
                }
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(RawMop {
            f: f.ok_or_else(|| de::Error::custom("micro-op needs a string \"f\""))?,
            key,
            value,
            predicate,
        })
    }
}

/// A JSON scalar, or null.
struct ScalarOrNil(Option<Scalar>);

impl<'de> Deserialize<'de> for ScalarOrNil {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor).map(ScalarOrNil)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Option<Scalar>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a scalar (a number, string or boolean) or null")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(Some(Scalar::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(Some(i64::try_from(v).map_or_else(
            |_| Scalar::BigInt(v.to_string()),
            Scalar::Int,
        )))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
        Ok(Some(Scalar::float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(Some(Scalar::Str(v.to_string())))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Self::Value, E> {
        Ok(Some(Scalar::Bool(v)))
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
}

/// A micro-op's value: null, a scalar, a list (coded as it is read) or rows.
struct ValueSeed<'n> {
    names: &'n mut Names,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = RawValue;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<RawValue, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = RawValue;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("null, a scalar, a list of scalars or rows {key: value}")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<RawValue, E> {
        ScalarVisitor.visit_i64(v).map(scalar_value)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<RawValue, E> {
        ScalarVisitor.visit_u64(v).map(scalar_value)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<RawValue, E> {
        ScalarVisitor.visit_f64(v).map(scalar_value)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<RawValue, E> {
        ScalarVisitor.visit_str(v).map(scalar_value)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<RawValue, E> {
        ScalarVisitor.visit_bool(v).map(scalar_value)
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<RawValue, E> {
        Ok(RawValue::Nil)
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<RawValue, E> {
        Ok(RawValue::Nil)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<RawValue, A::Error> {
        let mut codes = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<ScalarOrNil>()? {
            let scalar = item
                .0
                .ok_or_else(|| de::Error::custom("a list element cannot be null"))?;
            codes.push(self.names.value(scalar).map_err(de::Error::custom)?);
        }
        codes.shrink_to_fit();
        Ok(RawValue::List(codes))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<RawValue, A::Error> {
        let mut rows = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, ScalarOrNil>()? {
            let key = k.parse::<i64>().map(Scalar::Int).unwrap_or(Scalar::Str(k));
            let value =
                v.0.ok_or_else(|| de::Error::custom("a row's value cannot be null"))?;
            rows.push((key, value));
        }
        Ok(RawValue::Rows(rows))
    }
}

fn scalar_value(scalar: Option<Scalar>) -> RawValue {
    scalar.map_or(RawValue::Nil, RawValue::Scalar)
}

/// The JSON object form of one micro-op (jepsen-lite's original format).
pub fn micro_op_to_json(op: &MicroOp, names: &Names) -> Json {
    match op {
        MicroOp::Append { key, value } => {
            json!({"f": "append", "key": names.key_json(*key), "value": names.value_json(*value)})
        }
        MicroOp::ReadList { key, value } => json!({"f": "read-list", "key": names.key_json(*key),
            "value": value.iter().map(|v| names.value_json(*v)).collect::<Vec<_>>()}),
        MicroOp::Write { key, value } => {
            json!({"f": "write", "key": names.key_json(*key), "value": names.value_json(*value)})
        }
        MicroOp::Read { key, value } => json!({"f": "read", "key": names.key_json(*key),
            "value": value.map_or(Json::Null, |v| names.value_json(v))}),
        MicroOp::PredicateRead { predicate, value } => {
            let rows: Map<String, Json> = value
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            json!({"f": "pred-read", "predicate": predicate, "value": rows})
        }
    }
}

/// The array form of one micro-op, as Elle writes it: `["append", k, v]`, `["r", k, [..]]`.
pub fn micro_op_to_elle_json(op: &MicroOp, names: &Names) -> Json {
    match op {
        MicroOp::Append { key, value } => {
            json!(["append", names.key_json(*key), names.value_json(*value)])
        }
        MicroOp::ReadList { key, value } => json!([
            "r",
            names.key_json(*key),
            value
                .iter()
                .map(|v| names.value_json(*v))
                .collect::<Vec<_>>()
        ]),
        MicroOp::Write { key, value } => {
            json!(["w", names.key_json(*key), names.value_json(*value)])
        }
        MicroOp::Read { key, value } => json!([
            "r",
            names.key_json(*key),
            value.map_or(Json::Null, |v| names.value_json(v))
        ]),
        MicroOp::PredicateRead { .. } => micro_op_to_json(op, names),
    }
}

/// Renders events as JSON lines in the object form (each line ends with `\n`); keys and
/// values are integers (events from code carry no names).
pub fn write_events(events: &[Event]) -> String {
    let names = Names::default();
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
            Json::Array(
                event
                    .txn
                    .iter()
                    .map(|op| micro_op_to_json(op, &names))
                    .collect(),
            ),
        );
        out.push_str(&Json::Object(object).to_string());
        out.push('\n');
    }
    out
}

/// Appends one event as a compact JSON line to `out`: array micro-ops with integer keys and
/// values; `with_reads: false` (an invocation) writes every read's value as `null`.
pub fn write_line(
    out: &mut String,
    process: ProcessId,
    kind: EventType,
    time: i64,
    ops: &[MicroOp],
    with_reads: bool,
) {
    use std::fmt::Write;
    let kind = match kind {
        EventType::Invoke => "invoke",
        EventType::Ok => "ok",
        EventType::Fail => "fail",
        EventType::Info => "info",
    };
    let _ = write!(
        out,
        "{{\"type\":\"{kind}\",\"process\":{process},\"time\":{time},\"value\":["
    );
    for (i, op) in ops.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match op {
            MicroOp::Append { key, value } => {
                let _ = write!(out, "[\"append\",{key},{value}]");
            }
            MicroOp::Write { key, value } => {
                let _ = write!(out, "[\"w\",{key},{value}]");
            }
            MicroOp::ReadList { key, value } if with_reads => {
                let _ = write!(out, "[\"r\",{key},[");
                for (j, v) in value.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{v}");
                }
                out.push_str("]]");
            }
            MicroOp::Read {
                key,
                value: Some(v),
            } if with_reads => {
                let _ = write!(out, "[\"r\",{key},{v}]");
            }
            MicroOp::ReadList { key, .. } | MicroOp::Read { key, .. } => {
                let _ = write!(out, "[\"r\",{key},null]");
            }
            MicroOp::PredicateRead { predicate, value } => {
                let rows = if with_reads {
                    let rows: Map<String, Json> = value
                        .iter()
                        .map(|(k, v)| (k.to_string(), json!(v)))
                        .collect();
                    Json::Object(rows)
                } else {
                    Json::Null
                };
                let _ = write!(
                    out,
                    "{}",
                    json!({"f": "pred-read", "predicate": predicate, "value": rows})
                );
            }
        }
    }
    out.push_str("]}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::HistoryBuilder;
    use crate::predicate::CmpOp;

    fn parse(text: &str) -> Result<Vec<Event>> {
        parse_events(text, "t", &mut Names::default(), Workload::Auto)
    }

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
        assert_eq!(parse(&text).expect("parses"), b.events());
        let mut compact = String::new();
        for e in b.events() {
            let reads = e.kind != EventType::Invoke;
            write_line(
                &mut compact,
                e.process,
                e.kind,
                e.time.unwrap_or(0),
                &e.txn,
                reads,
            );
        }
        let parsed = parse(&compact).expect("the compact form parses");
        assert_eq!(parsed[1], b.events()[1]);
    }

    #[test]
    fn a_json_array_of_elle_operations_with_string_keys() {
        let text = "[{\"index\":0,\"type\":\"invoke\",\"value\":[[\"append\",\"x\",1],[\"r\",\"y\",null]]},\n {\"index\":1,\"type\":\"ok\",\"value\":[[\"append\",\"x\",1],[\"r\",\"y\",[\"a\",2.5]]]}]\n";
        let mut names = Names::default();
        let events = parse_events(text, "h.json", &mut names, Workload::Auto).expect("parses");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].process, NO_PROCESS);
        let MicroOp::ReadList { key, value } = &events[1].txn[1] else {
            panic!("a list read: {:?}", events[1].txn);
        };
        assert_eq!(names.show_key(*key).to_string(), "\"y\"");
        assert_eq!(names.show_list(value), "[\"a\", 2.5]");
    }

    #[test]
    fn errors_name_the_line() {
        let text = "\n{\"process\":0,\"type\":\"ok\",\"value\":[{\"f\":\"bogus\",\"key\":1}]}";
        let err = parse(text).expect_err("bad op");
        assert!(err.to_string().starts_with("t:2:"), "{err}");
        assert!(parse("{not json").is_err());
        let array =
            "[{\"type\":\"invoke\",\"value\":[]},\n{\"type\":\"ok\",\"value\":[[\"zap\",1,2]]}]";
        let err = parse(array).expect_err("bad element");
        assert!(err.to_string().starts_with("t:2:"), "{err}");
        assert!(
            parse("[{\"type\":\"ok\",\"value\":[]}").is_err(),
            "unclosed array"
        );
    }
}
