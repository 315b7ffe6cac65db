//! The interactive front end: rustyline line editing, persistent history in
//! `~/.isodb_history`, tab completion, multi-line statements, Ctrl-C and
//! Ctrl-D, and late outcomes printed above the prompt.
//!
//! ```text
//!   readline ──line──► StatementSplitter ──pieces──► Shell::run_piece
//!      ▲                                                  │
//!      └──── ExternalPrinter ◄── printer thread ◄── Outbox (outcomes that
//!                                                  finish while at the prompt)
//! ```
//!
//! Ctrl-C at the prompt drops the statement being typed; on an empty line it
//! cancels the current session's lock wait, if it has one. While a statement
//! runs in the foreground, Ctrl-C (a signal then, the terminal being in
//! cooked mode) cancels its lock wait or sends it to the background.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use isodb::Database;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{
    CompletionType, Config, Context, Editor, ExternalPrinter, Helper, Highlighter, Hinter,
    Validator,
};

use crate::meta::META_COMMANDS;
use crate::shell::{Flow, Shell, render_outcome};
use crate::splitter::StatementSplitter;

/// SQL keywords offered by tab completion.
const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "CREATE",
    "TABLE",
    "INDEX",
    "UNIQUE",
    "DROP",
    "PRIMARY",
    "KEY",
    "NOT",
    "NULL",
    "DEFAULT",
    "BEGIN",
    "START",
    "TRANSACTION",
    "COMMIT",
    "ROLLBACK",
    "ISOLATION",
    "LEVEL",
    "READ",
    "UNCOMMITTED",
    "COMMITTED",
    "REPEATABLE",
    "SERIALIZABLE",
    "ONLY",
    "WRITE",
    "SHOW",
    "EXPLAIN",
    "JOIN",
    "LEFT",
    "INNER",
    "CROSS",
    "ON",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "AS",
    "AND",
    "OR",
    "IN",
    "IS",
    "LIKE",
    "BETWEEN",
    "DISTINCT",
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "INTEGER",
    "INT",
    "TEXT",
    "BOOLEAN",
    "DOUBLE",
    "TRUE",
    "FALSE",
    "ASC",
    "DESC",
    "UNION",
    "EXISTS",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "IF",
];

/// Tab completion over keywords, tables, columns and meta-commands.
#[derive(Helper, Hinter, Highlighter, Validator)]
pub struct ShellHelper {
    db: Database,
}

impl ShellHelper {
    /// A helper that looks names up in `db`.
    pub fn new(db: Database) -> ShellHelper {
        ShellHelper { db }
    }

    /// The completions of the word that ends at `pos` in `line`.
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = line.get(..pos).unwrap_or(line);
        let start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '\\' || c == '-'))
            .map(|(i, c)| i + c.len_utf8())
            .unwrap_or(0);
        let word = &before[start..];
        let first = before.split_whitespace().next().unwrap_or("");
        let tables = self.db.tables().unwrap_or_default();
        let mut names: Vec<String> = Vec::new();
        if start == 0 && word.starts_with('\\') {
            names.extend(META_COMMANDS.iter().map(|(name, _)| name.to_string()));
        } else if first == "\\demo" {
            names.extend(crate::demo::names().map(str::to_string));
        } else if first == "\\isolation" {
            names.extend(
                [
                    "read-uncommitted",
                    "read-committed",
                    "repeatable-read",
                    "serializable",
                ]
                .map(str::to_string),
            );
        } else if first.starts_with('\\') {
            names.extend(tables.iter().map(|t| t.name.clone()));
        } else {
            let lower = word.chars().next().is_some_and(char::is_lowercase);
            names.extend(KEYWORDS.iter().map(|k| {
                if lower {
                    k.to_lowercase()
                } else {
                    k.to_string()
                }
            }));
            for table in &tables {
                names.push(table.name.clone());
                names.extend(table.columns.iter().map(|c| c.name.clone()));
            }
        }
        let lowered = word.to_lowercase();
        let mut matches: Vec<String> = names
            .into_iter()
            .filter(|n| !word.is_empty() && n.to_lowercase().starts_with(&lowered))
            .collect();
        matches.sort();
        matches.dedup();
        (start, matches)
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, names) = self.candidates(line, pos);
        Ok((
            start,
            names
                .into_iter()
                .map(|n| Pair {
                    display: n.clone(),
                    replacement: n,
                })
                .collect(),
        ))
    }
}

/// `~/.isodb_history`, or nothing when HOME is not set.
fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(|home| PathBuf::from(home).join(".isodb_history"))
}

/// Runs the interactive loop until `\q` or Ctrl-D.
pub fn run(shell: &mut Shell, banner: &str) -> Result<(), ReadlineError> {
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .build();
    let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(ShellHelper::new(shell.db.clone())));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }

    let interrupted = Arc::clone(&shell.interrupted);
    let _ = ctrlc::set_handler(move || interrupted.store(true, Ordering::SeqCst));

    let stop_printer = Arc::new(AtomicBool::new(false));
    let printer_thread = match editor.create_external_printer() {
        Ok(mut printer) => {
            let outbox = Arc::clone(&shell.outbox);
            let settings = Arc::clone(&shell.settings);
            let stop = Arc::clone(&stop_printer);
            std::thread::Builder::new()
                .name("printer".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        if let Some(outcome) = outbox.next_at_prompt(Duration::from_millis(100)) {
                            let text = render_outcome(&outcome, &settings, true);
                            let _ = printer.print(text.trim_end().to_string());
                        }
                    }
                })
                .ok()
        }
        Err(_) => None,
    };

    shell.say(banner);
    let mut splitter = StatementSplitter::new();
    let mut typed = String::new();
    loop {
        shell.settle();
        let prompt = if splitter.is_open() {
            shell.continuation_prompt()
        } else {
            shell.prompt()
        };
        shell.interrupted.store(false, Ordering::SeqCst);
        shell.outbox.set_at_prompt(true);
        let line = editor.readline(&prompt);
        shell.outbox.set_at_prompt(false);
        match line {
            Ok(line) => {
                if !typed.is_empty() {
                    typed.push('\n');
                }
                typed.push_str(&line);
                let pieces = splitter.push_line(&line);
                if !splitter.is_open() {
                    let entry = std::mem::take(&mut typed);
                    if !entry.trim().is_empty() {
                        let _ = editor.add_history_entry(entry.as_str());
                    }
                }
                let mut quit = false;
                for piece in pieces {
                    if shell.run_piece(&piece) == Flow::Quit {
                        quit = true;
                        break;
                    }
                }
                if quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => {
                if splitter.is_open() || !typed.is_empty() {
                    splitter.clear();
                    typed.clear();
                } else {
                    let worker = Arc::clone(shell.session());
                    if worker.cancel_wait() {
                        shell.settle();
                    }
                }
            }
            Err(ReadlineError::Eof) => break,
            Err(error) => {
                stop_printer.store(true, Ordering::SeqCst);
                return Err(error);
            }
        }
    }
    stop_printer.store(true, Ordering::SeqCst);
    if let Some(thread) = printer_thread {
        let _ = thread.join();
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}
