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
//! The reader handles `nil`, booleans, integers (an `N` suffix allowed), floats, strings,
//! characters, keywords, symbols, lists, vectors, maps, sets, comments (`;`), discards (`#_`) and
//! tagged values (`#inst "..."`, `#jepsen.history.Op{...}`: the tag is dropped). A file holding a
//! single vector of operation maps is accepted too. Operations whose `:f` is not `:txn` or whose
//! `:process` is not an integer (the nemesis) are skipped; micro-ops are `[:append k v]`,
//! `[:r k v]` and `[:w k v]` with integer keys and values. A `[:r k nil]` is resolved to a list
//! or register read as described in [`crate::history::resolve_nil_reads`].

use crate::error::{Error, Result};
use crate::history::{Event, EventType, MicroOp, resolve_nil_reads};

/// An EDN value.
#[derive(Clone, Debug, PartialEq)]
pub enum Edn {
    /// `nil`
    Nil,
    /// `true` / `false`
    Bool(bool),
    /// An integer.
    Int(i64),
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
    token
        .strip_suffix('M')
        .unwrap_or(token)
        .parse::<f64>()
        .ok()
        .map(Edn::Float)
}

/// Parses a Jepsen EDN history of list-append or rw-register transactions into events.
pub fn parse_events(text: &str, source: &str) -> Result<Vec<Event>> {
    let mut forms = read_all(text, source)?;
    if let [(line, Edn::Seq(items))] = forms.as_slice() {
        let line = *line;
        forms = items.iter().cloned().map(|item| (line, item)).collect();
    }
    let mut events = Vec::new();
    for (line, form) in &forms {
        let fail = |reason: String| Error::parse(source, *line, reason);
        if !matches!(form, Edn::Map(_)) {
            return Err(fail(
                "expected an operation map {:type .., :f .., :value ..}".into(),
            ));
        }
        if !matches!(form.get("f"), Some(Edn::Keyword(f)) if f == "txn") {
            continue;
        }
        let Some(Edn::Int(process)) = form.get("process") else {
            continue;
        };
        let process = u64::try_from(*process).map_err(|_| fail("negative :process".into()))?;
        let kind = match form.get("type") {
            Some(Edn::Keyword(k)) if k == "invoke" => EventType::Invoke,
            Some(Edn::Keyword(k)) if k == "ok" => EventType::Ok,
            Some(Edn::Keyword(k)) if k == "fail" => EventType::Fail,
            Some(Edn::Keyword(k)) if k == "info" => EventType::Info,
            other => {
                return Err(fail(format!(
                    ":type must be :invoke, :ok, :fail or :info, not {other:?}"
                )));
            }
        };
        let time = match form.get("time") {
            Some(Edn::Int(t)) => Some(*t),
            _ => None,
        };
        let txn = match form.get("value") {
            None | Some(Edn::Nil) => Vec::new(),
            Some(Edn::Seq(ops)) => ops
                .iter()
                .map(micro_op)
                .collect::<std::result::Result<_, _>>()
                .map_err(fail)?,
            Some(other) => {
                return Err(fail(format!(
                    ":value must be a vector of micro-ops, not {other:?}"
                )));
            }
        };
        events.push(Event {
            process,
            kind,
            txn,
            time,
        });
    }
    resolve_nil_reads(&mut events);
    Ok(events)
}

fn micro_op(op: &Edn) -> std::result::Result<MicroOp, String> {
    let Edn::Seq(parts) = op else {
        return Err(format!("micro-op must be a vector, not {op:?}"));
    };
    let (Some(Edn::Keyword(f)), Some(key)) = (parts.first(), parts.get(1)) else {
        return Err(format!(
            "micro-op must start with a keyword and a key: {op:?}"
        ));
    };
    let Edn::Int(key) = *key else {
        return Err(format!("only integer keys are supported: {op:?}"));
    };
    let value = parts.get(2).unwrap_or(&Edn::Nil);
    let int = |v: &Edn| match v {
        Edn::Int(i) => Ok(*i),
        other => Err(format!("expected an integer in {op:?}, got {other:?}")),
    };
    Ok(match f.as_str() {
        "append" => MicroOp::Append {
            key,
            value: int(value)?,
        },
        "w" => MicroOp::Write {
            key,
            value: int(value)?,
        },
        "r" => match value {
            Edn::Nil => MicroOp::Read { key, value: None },
            Edn::Int(v) => MicroOp::Read {
                key,
                value: Some(*v),
            },
            Edn::Seq(items) => MicroOp::ReadList {
                key,
                value: items
                    .iter()
                    .map(int)
                    .collect::<std::result::Result<_, _>>()?,
            },
            other => return Err(format!("unreadable read value {other:?}")),
        },
        other => return Err(format!("unknown micro-op :{other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jepsen_list_append_lines() {
        let text = r#"{:type :invoke, :f :txn, :value [[:append 1 2] [:r 1 nil]], :process 0, :time 123, :index 4}
{:type :ok, :f :txn, :value [[:append 1 2] [:r 1 [1 2]]], :process 0, :time 150, :index 5}
{:type :info, :f :start-partition, :value nil, :process :nemesis, :time 160}
"#;
        let events = parse_events(text, "h.edn").expect("parses");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].txn[1], MicroOp::read_list(1, &[]));
        assert_eq!(
            events[1].txn,
            vec![MicroOp::append(1, 2), MicroOp::read_list(1, &[1, 2])]
        );
        assert_eq!(events[1].time, Some(150));
    }

    #[test]
    fn reads_registers_tags_sets_comments_and_discards() {
        let text = "; a comment\n[#jepsen.history.Op{:type :ok, :f :txn, :value [[:w 1 3] [:r 2 nil]], :process 1, :time 5 :tags #{:a \"b\\\"c\"} #_ :gone :x 1.5}]";
        let events = parse_events(text, "h.edn").expect("parses");
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
        let err = parse_events("{:type :ok\n :f :txn", "h.edn").expect_err("unclosed map");
        assert!(err.to_string().starts_with("h.edn:"), "{err}");
        assert!(parse_events("{:type :ok :f :txn :process 0 :value [[:zap 1 2]]}", "h").is_err());
        assert!(parse_events("{:a}", "h").is_err());
    }
}
