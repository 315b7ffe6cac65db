//! A small EDN reader, enough for Jepsen's `history.edn` files, and their conversion to events.
//!
//! Jepsen writes one operation map per line:
//!
//! ```text
//! {:type :invoke, :f :txn, :value [[:append 1 2] [:r 1 nil]], :process 0, :time 123, :index 4}
//! {:type :ok,     :f :txn, :value [[:append 1 2] [:r 1 [1 2]]], :process 0, :time 150, :index 5}
//! {:type :ok,     :f :txn, :value [[:w 1 3] [:r 2 nil]], :process 1, :time 160, :index 6}
//! ```
//!
//! The reader handles `nil`, booleans, integers (an `N` suffix allowed, beyond 64 bits too),
//! floats, strings, characters, keywords, symbols, lists, vectors, maps, sets, comments (`;`),
//! discards (`#_`) and tagged values (`#inst "..."`, `#jepsen.history.Op{...}`: the tag is
//! dropped). A file whose first form is a vector (or list) holds the operations inside it, as
//! elle-cli reads it. What the operations mean (optional `:f`, `:process`, `:time`, `:index`,
//! micro-ops with keys of any scalar type) is [`crate::op`]'s.

use crate::error::{Error, Result};
use crate::history::Event;
use crate::json::EventSink;
use crate::names::{Names, Scalar};
use crate::op::{NO_PROCESS, RawMop, RawOp, RawProcess, RawValue, Workload, event_type};

/// An EDN value.
#[derive(Clone, Debug, PartialEq)]
pub enum Edn {
    /// `nil`
    Nil,
    /// `true` / `false`
    Bool(bool),
    /// An integer.
    Int(i64),
    /// An integer beyond 64 bits (its digits).
    BigInt(String),
    /// A floating-point number.
    Float(f64),
    /// A string (escapes resolved).
    Str(String),
    /// A character literal such as `\a`.
    Char(char),
    /// A keyword, without the leading `:`.
    Keyword(String),
    /// A symbol.
    Symbol(String),
    /// A list or vector.
    Seq(Vec<Edn>),
    /// A map, in text order.
    Map(Vec<(Edn, Edn)>),
    /// A set, in text order.
    Set(Vec<Edn>),
}

impl Edn {
    /// Looks up a keyword key in a map.
    pub fn get(&self, keyword: &str) -> Option<&Edn> {
        match self {
            Edn::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Edn::Keyword(name) if name == keyword))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Reads every top-level form; each comes with the 1-based line it starts on.
pub fn read_all(text: &str, source: &str) -> Result<Vec<(usize, Edn)>> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
        source,
    };
    let mut forms = Vec::new();
    loop {
        reader.skip_space()?;
        if reader.pos >= reader.bytes.len() {
            return Ok(forms);
        }
        let line = reader.line;
        if let Some(form) = reader.form()? {
            forms.push((line, form));
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    source: &'a str,
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'"' | b';'
        )
}

impl Reader<'_> {
    fn error(&self, reason: impl Into<String>) -> Error {
        Error::parse(self.source, self.line, reason)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_space(&mut self) -> Result<()> {
        while let Some(b) = self.peek() {
            match b {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b',' => self.pos += 1,
                b if b.is_ascii_whitespace() => self.pos += 1,
                b';' => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    fn token(&mut self) -> &str {
        let start = self.pos;
        while self.peek().is_some_and(|b| !is_delimiter(b)) {
            self.pos += 1;
        }
        std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or("")
    }

    /// Reads one form; `None` when a discard (`#_x`) consumed it.
    fn form(&mut self) -> Result<Option<Edn>> {
        self.skip_space()?;
        let Some(b) = self.peek() else {
            return Err(self.error("unexpected end of input"));
        };
        let value = match b {
            b'(' | b'[' => {
                self.pos += 1;
                Edn::Seq(self.items(if b == b'(' { b')' } else { b']' })?)
            }
            b'{' => {
                self.pos += 1;
                let items = self.items(b'}')?;
                if items.len() % 2 != 0 {
                    return Err(self.error("map with an odd number of forms"));
                }
                let mut entries = Vec::with_capacity(items.len() / 2);
                let mut iter = items.into_iter();
                while let (Some(k), Some(v)) = (iter.next(), iter.next()) {
                    entries.push((k, v));
                }
                Edn::Map(entries)
            }
            b')' | b']' | b'}' => return Err(self.error(format!("unexpected '{}'", b as char))),
            b'"' => Edn::Str(self.string()?),
            b'\\' => {
                self.pos += 1;
                let token = self.token().to_string();
                let c = match token.as_str() {
                    "newline" => '\n',
                    "space" => ' ',
                    "tab" => '\t',
                    "return" => '\r',
                    other => other
                        .chars()
                        .next()
                        .ok_or_else(|| self.error("empty character"))?,
                };
                Edn::Char(c)
            }
            b'#' => {
                self.pos += 1;
                match self.peek() {
                    Some(b'{') => {
                        self.pos += 1;
                        Edn::Set(self.items(b'}')?)
                    }
                    Some(b'_') => {
                        self.pos += 1;
                        self.form()?;
                        return Ok(None);
                    }
                    _ => {
                        let _tag = self.token().to_string();
                        return self.tagged_value();
                    }
                }
            }
            b':' => {
                self.pos += 1;
                Edn::Keyword(self.token().to_string())
            }
            _ => {
                let token = self.token().to_string();
                if token.is_empty() {
                    return Err(self.error(format!("unexpected byte {:?}", b as char)));
                }
                atom(&token).ok_or_else(|| self.error(format!("cannot read {token:?}")))?
            }
        };
        Ok(Some(value))
    }

    fn tagged_value(&mut self) -> Result<Option<Edn>> {
        loop {
            if let Some(value) = self.form()? {
                return Ok(Some(value));
            }
        }
    }

    fn items(&mut self, close: u8) -> Result<Vec<Edn>> {
        let mut items = Vec::new();
        loop {
            self.skip_space()?;
            match self.peek() {
                None => return Err(self.error(format!("missing '{}'", close as char))),
                Some(b) if b == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(_) => {
                    if let Some(item) = self.form()? {
                        items.push(item);
                    }
                }
            }
        }
    }

    fn string(&mut self) -> Result<String> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let escaped = self
                        .peek()
                        .ok_or_else(|| self.error("unterminated string"))?;
                    self.pos += 1;
                    out.push(match escaped {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        other => other,
                    });
                }
                b'\n' => {
                    self.line += 1;
                    out.push(b);
                }
                _ => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| self.error("string is not UTF-8"))
    }
}

fn atom(token: &str) -> Option<Edn> {
    match token {
        "nil" => return Some(Edn::Nil),
        "true" => return Some(Edn::Bool(true)),
        "false" => return Some(Edn::Bool(false)),
        _ => {}
    }
    let first = token.as_bytes().first().copied()?;
    let numeric = first.is_ascii_digit()
        || ((first == b'-' || first == b'+')
            && token.as_bytes().get(1).is_some_and(u8::is_ascii_digit));
    if !numeric {
        return Some(Edn::Symbol(token.to_string()));
    }
    let digits = token.strip_suffix('N').unwrap_or(token);
    if let Ok(i) = digits.parse::<i64>() {
        return Some(Edn::Int(i));
    }
    let unsigned = digits.strip_prefix(['-', '+']).unwrap_or(digits);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Edn::BigInt(digits.trim_start_matches('+').to_string()));
    }
    token
        .strip_suffix('M')
        .unwrap_or(token)
        .parse::<f64>()
        .ok()
        .map(Edn::Float)
}

/// Parses a Jepsen EDN history into events; keys and values are coded in `names`.
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

/// Reads a Jepsen EDN history operation by operation: one map per line, or a vector of maps.
pub fn read_text(
    text: &str,
    source: &str,
    names: &mut Names,
    workload: Workload,
    sink: &mut EventSink<'_>,
) -> Result<()> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
        source,
    };
    reader.skip_space()?;
    let close = match reader.peek() {
        Some(b'[') => Some(b']'),
        Some(b'(') => Some(b')'),
        _ => None,
    };
    if close.is_some() {
        reader.pos += 1;
    }
    let mut index = 0u64;
    loop {
        reader.skip_space()?;
        match (reader.peek(), close) {
            (None, None) => return Ok(()),
            (None, Some(c)) => return Err(reader.error(format!("missing '{}'", c as char))),
            (Some(b), Some(c)) if b == c => {
                reader.pos += 1;
                reader.skip_space()?;
                if reader.peek().is_some() {
                    return Err(reader.error("text after the vector of operations"));
                }
                return Ok(());
            }
            _ => {}
        }
        let line = reader.line;
        let Some(form) = reader.form()? else {
            continue;
        };
        let op = raw_op(&form, names).map_err(|reason| Error::parse(source, line, reason))?;
        let at = op.index.unwrap_or(index);
        index += 1;
        if let Some(event) = op
            .into_event(names, workload)
            .map_err(|e| e.at(source, line))?
        {
            sink(event, line, at)?;
        }
    }
}

fn keyword_name(edn: &Edn) -> Option<&str> {
    match edn {
        Edn::Keyword(k) | Edn::Symbol(k) | Edn::Str(k) => Some(k),
        _ => None,
    }
}

/// One operation map.
fn raw_op(form: &Edn, names: &mut Names) -> std::result::Result<RawOp, String> {
    if !matches!(form, Edn::Map(_)) {
        return Err("expected an operation map {:type .., :value ..}".into());
    }
    let process = match form.get("process") {
        None | Some(Edn::Nil) => RawProcess::Client(NO_PROCESS),
        Some(Edn::Int(p)) => RawProcess::Client(
            u64::try_from(*p)
                .ok()
                .filter(|p| *p != NO_PROCESS)
                .ok_or_else(|| format!(":process {p} is negative"))?,
        ),
        // Elle's client operations are those with an integer process; :nemesis is not one.
        Some(_) => RawProcess::Nemesis,
    };
    let kind = form
        .get("type")
        .and_then(keyword_name)
        .and_then(event_type)
        .ok_or_else(|| {
            format!(
                ":type must be :invoke, :ok, :fail or :info, not {:?}",
                form.get("type")
            )
        })?;
    let time = match form.get("time") {
        Some(Edn::Int(t)) => Some(*t),
        _ => None,
    };
    let index = match form.get("index") {
        Some(Edn::Int(i)) => {
            Some(u64::try_from(*i).map_err(|_| format!(":index {i} is negative"))?)
        }
        _ => None,
    };
    let f = form.get("f").and_then(keyword_name).map(str::to_string);
    let mops = match form.get("value") {
        None | Some(Edn::Nil) => Some(Vec::new()),
        Some(Edn::Seq(items)) => match items
            .iter()
            .map(|item| raw_mop(item, names))
            .collect::<std::result::Result<Vec<_>, _>>()
        {
            Ok(mops) => Some(mops),
            Err(_) if f.as_deref().is_some_and(|f| f != "txn") => None,
            Err(e) => return Err(e),
        },
        Some(_) => None,
    };
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

fn scalar(edn: &Edn) -> std::result::Result<Scalar, String> {
    Ok(match edn {
        Edn::Int(i) => Scalar::Int(*i),
        Edn::BigInt(digits) => Scalar::BigInt(digits.clone()),
        Edn::Float(f) => Scalar::float(*f),
        Edn::Str(s) => Scalar::Str(s.clone()),
        Edn::Keyword(k) => Scalar::Keyword(k.clone()),
        Edn::Symbol(s) => Scalar::Symbol(s.clone()),
        Edn::Bool(b) => Scalar::Bool(*b),
        Edn::Char(c) => Scalar::Char(*c),
        other => return Err(format!("{other:?} is not a scalar (a key or value)")),
    })
}

fn raw_value(edn: &Edn, names: &mut Names) -> std::result::Result<RawValue, String> {
    Ok(match edn {
        Edn::Nil => RawValue::Nil,
        Edn::Seq(items) => RawValue::List(
            items
                .iter()
                .map(|item| names.value(scalar(item)?))
                .collect::<std::result::Result<_, _>>()?,
        ),
        Edn::Map(rows) => RawValue::Rows(
            rows.iter()
                .map(|(k, v)| Ok((scalar(k)?, scalar(v)?)))
                .collect::<std::result::Result<_, String>>()?,
        ),
        other => RawValue::Scalar(scalar(other)?),
    })
}

/// A micro-op vector `[:f key value]`.
fn raw_mop(op: &Edn, names: &mut Names) -> std::result::Result<RawMop, String> {
    let Edn::Seq(parts) = op else {
        return Err(format!("micro-op must be a vector, not {op:?}"));
    };
    let Some(f) = parts.first().and_then(keyword_name) else {
        return Err(format!("micro-op must start with its function: {op:?}"));
    };
    if parts.len() > 3 {
        return Err(format!("micro-op {op:?} has more than [f key value]"));
    }
    Ok(RawMop {
        f: f.to_string(),
        key: parts.get(1).map(scalar).transpose()?,
        value: raw_value(parts.get(2).unwrap_or(&Edn::Nil), names)?,
        predicate: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::MicroOp;

    fn parse(source: &str, text: &str) -> Result<Vec<Event>> {
        parse_events(text, source, &mut Names::default(), Workload::Auto)
    }

    #[test]
    fn keys_of_every_scalar_type_and_no_f() {
        let text = "{:type :ok, :value [[:append :x 1] [:append \"y\" 2] [:r 3 [1]] [:w 4.5 true] [:r 99999999999999999999 nil]]}";
        let mut names = Names::default();
        let events = parse_events(text, "h", &mut names, Workload::Auto).expect("parses");
        let keys: Vec<String> = events[0]
            .txn
            .iter()
            .map(|op| match op {
                MicroOp::Append { key, .. }
                | MicroOp::ReadList { key, .. }
                | MicroOp::Write { key, .. }
                | MicroOp::Read { key, .. } => names.show_key(*key).to_string(),
                MicroOp::PredicateRead { .. } => String::new(),
            })
            .collect();
        assert_eq!(keys, [":x", "\"y\"", "3", "4.5", "99999999999999999999N"]);
    }

    #[test]
    fn reads_jepsen_list_append_lines() {
        let text = r#"{:type :invoke, :f :txn, :value [[:append 1 2] [:r 1 nil]], :process 0, :time 123, :index 4}
{:type :ok, :f :txn, :value [[:append 1 2] [:r 1 [1 2]]], :process 0, :time 150, :index 5}
{:type :info, :f :start-partition, :value nil, :process :nemesis, :time 160}
"#;
        let events = parse("h.edn", text).expect("parses");
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].txn[1],
            MicroOp::read(1, None),
            "resolved when paired"
        );
        assert_eq!(
            events[1].txn,
            vec![MicroOp::append(1, 2), MicroOp::read_list(1, &[1, 2])]
        );
        assert_eq!(events[1].time, Some(150));
    }

    #[test]
    fn reads_registers_tags_sets_comments_and_discards() {
        let text = "; a comment\n[#jepsen.history.Op{:type :ok, :f :txn, :value [[:w 1 3] [:r 2 nil]], :process 1, :time 5 :tags #{:a \"b\\\"c\"} #_ :gone :x 1.5}]";
        let events = parse("h.edn", text).expect("parses");
        assert_eq!(
            events[0].txn,
            vec![MicroOp::write(1, 3), MicroOp::read(2, None)]
        );
        let forms = read_all("#inst \"2020\" 12N -4 \\a", "t").expect("reads");
        let values: Vec<Edn> = forms.into_iter().map(|(_, f)| f).collect();
        assert_eq!(
            values,
            vec![
                Edn::Str("2020".into()),
                Edn::Int(12),
                Edn::Int(-4),
                Edn::Char('a')
            ]
        );
    }

    #[test]
    fn malformed_input_is_an_error_with_a_line() {
        let err = parse("h.edn", "{:type :ok\n :f :txn").expect_err("unclosed map");
        assert!(err.to_string().starts_with("h.edn:"), "{err}");
        assert!(parse("h", "{:type :ok :f :txn :process 0 :value [[:zap 1 2]]}").is_err());
        assert!(parse("h", "{:a}").is_err());
        let err = parse(
            "h",
            "[{:type :invoke :value []}\n {:type :ok :value [[:zap 1 2]]}]",
        )
        .expect_err("bad element");
        assert!(err.to_string().starts_with("h:2:"), "{err}");
    }
}
