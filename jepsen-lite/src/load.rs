//! Loading a history file: EDN when the name ends in `.edn` (or the text starts with `{:` or
//! `[{:`), JSON lines otherwise.

use std::path::Path;

use crate::error::{Error, Result};
use crate::history::{Event, History};
use crate::{edn, json};

/// Parses history text; `source` names it in errors.
pub fn events_from_text(text: &str, source: &str) -> Result<Vec<Event>> {
    let head = text.trim_start();
    if source.ends_with(".edn")
        || head.starts_with("{:")
        || head.starts_with("[{:")
        || head.starts_with('[') && !head.starts_with("[{\"")
    {
        edn::parse_events(text, source)
    } else {
        json::parse_events(text, source)
    }
}

/// Reads and pairs a history file.
pub fn history_file(path: &Path) -> Result<History> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let source = path.display().to_string();
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::parse(&source, 0, "the file is not UTF-8 text"))?;
    let events = events_from_text(&text, &source)?;
    if events.is_empty() {
        return Err(Error::parse(
            &source,
            0,
            "the history holds no transactions",
        ));
    }
    History::from_events(&events, &source)
}
