//! Loading a history file: zstd-compressed or plain; Jepsen EDN, JSON lines or a JSON array.
//!
//! ```text
//! bytes ──(starts with the zstd magic 28 b5 2f fd)──▶ decompressed stream
//!   │
//!   ├─ name ends in .edn, or text starts with {: or [{: or ( ────▶ edn::read_text
//!   ├─ text starts with [ ───────────────────────────────────────▶ JSON array (elle-cli)
//!   └─ otherwise ────────────────────────────────────────────────▶ JSON lines, streamed
//! ```
//!
//! Events are paired as they are read ([`Pairer`]), so memory holds the transactions, never
//! the list of events; JSON lines are also never held as one text.

use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::error::{Error, Result};
use crate::history::{Event, History, Pairer};
use crate::names::Names;
use crate::op::Workload;
use crate::{edn, json};

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The formats a history can be in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Decide from the name and the first characters.
    #[default]
    Auto,
    /// Jepsen EDN: one operation map per line, or a vector of them.
    Edn,
    /// JSON lines, or elle-cli's JSON array.
    Json,
}

/// Whether text in `format` named `source` is EDN.
fn is_edn(text_head: &str, source: &str, format: Format) -> bool {
    match format {
        Format::Edn => true,
        Format::Json => false,
        Format::Auto => {
            let head = text_head.trim_start();
            let after_bracket = head.strip_prefix(['[', '(']).map(str::trim_start);
            source.ends_with(".edn")
                || source.ends_with(".edn.zst")
                || head.starts_with("{:")
                || head.starts_with(';')
                || head.starts_with('(')
                || after_bracket.is_some_and(|rest| rest.starts_with("{:") || rest.starts_with('#'))
        }
    }
}

/// Parses history text; `source` names it in errors.
pub fn events_from_text(text: &str, source: &str) -> Result<(Vec<Event>, Names)> {
    let mut names = Names::default();
    let events = if is_edn(text, source, Format::Auto) {
        edn::parse_events(text, source, &mut names, Workload::Auto)?
    } else {
        json::parse_events(text, source, &mut names, Workload::Auto)?
    };
    Ok((events, names))
}

/// Parses and pairs history text.
pub fn history_from_text(
    text: &str,
    source: &str,
    format: Format,
    workload: Workload,
) -> Result<History> {
    let mut names = Names::default();
    let mut pairer = Pairer::new(source);
    let mut sink = |event: Event, line: usize, index: u64| pairer.push(event, line, index);
    if is_edn(text, source, format) {
        edn::read_text(text, source, &mut names, workload, &mut sink)?;
    } else {
        json::read_text(text, source, &mut names, workload, &mut sink)?;
    }
    finish(pairer, names, source)
}

fn finish(pairer: Pairer<'_>, names: Names, source: &str) -> Result<History> {
    let history = pairer.finish(names);
    if history.txns.is_empty() {
        return Err(Error::parse(source, 0, "the history holds no transactions"));
    }
    let predicate_reads = history
        .txns
        .iter()
        .flat_map(|t| &t.ops)
        .any(|op| matches!(op, crate::history::MicroOp::PredicateRead { .. }));
    if predicate_reads && !history.names.integer_keys_and_values() {
        return Err(Error::parse(
            source,
            0,
            "a history with predicate reads needs integer keys and values",
        ));
    }
    Ok(history)
}

/// Reads and pairs a history file, guessing its format.
pub fn history_file(path: &Path) -> Result<History> {
    history_file_as(path, Format::Auto, Workload::Auto)
}

/// Reads and pairs a history file in `format`, whose reads `workload` interprets.
pub fn history_file_as(path: &Path, format: Format, workload: Workload) -> Result<History> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let head = reader.fill_buf().map_err(|e| Error::io(path, e))?;
    if head.starts_with(&ZSTD_MAGIC) {
        let decoder =
            zstd::stream::read::Decoder::with_buffer(reader).map_err(|e| Error::io(path, e))?;
        read_stream(
            BufReader::with_capacity(1 << 16, decoder),
            &source,
            format,
            workload,
        )
    } else {
        read_stream(reader, &source, format, workload)
    }
}

fn read_stream(
    mut reader: impl BufRead,
    source: &str,
    format: Format,
    workload: Workload,
) -> Result<History> {
    let head = reader
        .fill_buf()
        .map_err(|e| Error::parse(source, 0, format!("cannot read: {e}")))?;
    let head = String::from_utf8_lossy(&head[..head.len().min(4096)]).into_owned();
    let json_lines = !is_edn(&head, source, format) && !head.trim_start().starts_with('[');
    if json_lines {
        let mut names = Names::default();
        let mut pairer = Pairer::new(source);
        json::read_lines(
            reader,
            source,
            &mut names,
            workload,
            &mut |event, line, index| pairer.push(event, line, index),
        )?;
        return finish(pairer, names, source);
    }
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| Error::parse(source, 0, format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::parse(source, 0, "the file is not UTF-8 text"))?;
    history_from_text(&text, source, format, workload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_and_plain_files_read_alike() {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = "{\"process\":0,\"type\":\"invoke\",\"value\":[[\"append\",1,2]]}\n{\"process\":0,\"type\":\"ok\",\"value\":[[\"append\",1,2]]}\n";
        let plain = dir.path().join("h.jsonl");
        std::fs::write(&plain, text).expect("write");
        let packed = dir.path().join("h.jsonl.zst");
        std::fs::write(&packed, zstd::encode_all(text.as_bytes(), 1).expect("zstd"))
            .expect("write");
        let a = history_file(&plain).expect("plain");
        let b = history_file(&packed).expect("compressed");
        assert_eq!(a, b);
        assert_eq!(a.txns.len(), 1);
    }
}
