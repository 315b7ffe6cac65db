//! The interactive front end: rustyline line editing, persistent history in
//! `~/.isodb_history` (`$HOME`; none when HOME is unset, and a history that
//! cannot be written is skipped), tab completion, multi-line statements,
//! Ctrl-C and Ctrl-D.
//!
//! ```text
//!   ┌─► Shell::settle: print outcomes that arrived (labelled "t2: ...")
//!   │   readline(prompt) ──line──► StatementSplitter ──pieces──► Shell::run_piece
//!   └──────────────────────────────────────────────────────────────────┘
//! ```
//!
//! A waiting statement is released by a command typed here (a COMMIT or
//! ROLLBACK in another session, `\cancel`, Ctrl-C), and the shell prints
//! its outcome right after that command. One that ends while the shell sits
//! at its prompt (a lock wait timeout) prints before the next prompt.
//! rustyline's `ExternalPrinter` could print it at once, but with it
//! rustyline 17 waits in `select` while typed-ahead bytes sit in its own
//! buffer, so pasted or typed-ahead input stalls; the shell does not use it.
//!
//! Ctrl-C at the prompt drops the statement being typed; on an empty line it
//! cancels the current session's waiting statement, if it has one. While a
//! statement runs in the foreground, Ctrl-C (a signal then, the terminal
//! being in cooked mode) cancels it wherever it is — a lock wait, a long
//! scan, a sort — and it fails with 57014. On a terminal rustyline cannot
//! drive (TERM=dumb) the prompt is cooked too: the terminal drops the typed
//! line and the signal cancels the prompt session's statement.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{
    Cmd, CompletionType, ConditionalEventHandler, Config, Context, Editor, Event, EventContext,
    EventHandler, Helper, Highlighter, Hinter, KeyEvent, RepeatCount, Validator,
};

use crate::backend::Backend;
use crate::meta::META_COMMANDS;
use crate::shell::{Flow, Shell};
use crate::splitter::StatementSplitter;
use crate::worker::SessionWorker;

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
    backend: Backend,
}

impl ShellHelper {
    /// A helper that looks names up in `backend`'s catalog.
    pub fn new(backend: Backend) -> ShellHelper {
        ShellHelper { backend }
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
        let tables = self.backend.tables_and_columns();
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
            names.extend(tables.iter().map(|(table, _)| table.clone()));
        } else {
            let lower = word.chars().next().is_some_and(char::is_lowercase);
            names.extend(KEYWORDS.iter().map(|k| {
                if lower {
                    k.to_lowercase()
                } else {
                    k.to_string()
                }
            }));
            for (table, columns) in &tables {
                names.push(table.clone());
                names.extend(columns.iter().cloned());
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

/// Ctrl-C at the prompt: interrupts `readline` as usual, and remembers
/// whether the line was empty, which rustyline does not say (an empty line
/// cancels the session's lock wait; a non-empty one is only dropped).
struct InterruptHandler {
    line_was_empty: Arc<AtomicBool>,
}

impl ConditionalEventHandler for InterruptHandler {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        self.line_was_empty
            .store(ctx.line().is_empty(), Ordering::SeqCst);
        Some(Cmd::Interrupt)
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
    editor.set_helper(Some(ShellHelper::new(shell.backend.clone())));
    let line_was_empty = Arc::new(AtomicBool::new(true));
    editor.bind_sequence(
        KeyEvent::ctrl('C'),
        EventHandler::Conditional(Box::new(InterruptHandler {
            line_was_empty: Arc::clone(&line_was_empty),
        })),
    );
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }

    // SIGINT arrives while a statement runs (the terminal is in cooked mode
    // then) and, on a terminal rustyline cannot drive (TERM=dumb), at the
    // prompt too: there it cancels the prompt session's lock wait.
    let interrupted = Arc::clone(&shell.interrupted);
    let at_prompt: Arc<Mutex<Option<Arc<SessionWorker>>>> = Arc::new(Mutex::new(None));
    let prompt_session = Arc::clone(&at_prompt);
    let _ = ctrlc::set_handler(move || {
        let at_prompt = prompt_session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        match at_prompt {
            Some(worker) => {
                worker.cancel();
            }
            None => interrupted.store(true, Ordering::SeqCst),
        }
    });
    let set_at_prompt = |worker: Option<Arc<SessionWorker>>| {
        *at_prompt
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = worker;
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
        set_at_prompt(Some(Arc::clone(shell.session())));
        let line = editor.readline(&prompt);
        set_at_prompt(None);
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
                let empty_line = line_was_empty.swap(true, Ordering::SeqCst);
                if splitter.is_open() || !typed.is_empty() || !empty_line {
                    splitter.clear();
                    typed.clear();
                } else {
                    let worker = Arc::clone(shell.session());
                    if worker.cancel() {
                        shell.settle();
                    }
                }
            }
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(error),
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_offers_keywords_tables_columns_and_meta_commands() {
        let db = isodb::Database::open_temporary().expect("temporary database");
        db.session()
            .execute("CREATE TABLE accounts (id INT PRIMARY KEY, balance INT, owner TEXT)")
            .expect("create table");
        let helper = ShellHelper::new(Backend::Local(db));
        let complete = |line: &str| helper.candidates(line, line.len());
        assert_eq!(complete("sel"), (0, vec!["select".to_string()]));
        assert_eq!(complete("SEL"), (0, vec!["SELECT".to_string()]));
        assert_eq!(
            complete("select * from acc"),
            (14, vec!["accounts".to_string()])
        );
        assert_eq!(complete("select bal"), (7, vec!["balance".to_string()]));
        assert_eq!(
            complete("\\ses"),
            (0, vec!["\\session".to_string(), "\\sessions".to_string()])
        );
        assert_eq!(complete("\\d acc"), (3, vec!["accounts".to_string()]));
        assert_eq!(
            complete("\\demo lost"),
            (6, vec!["lost-update".to_string()])
        );
        assert_eq!(
            complete("\\isolation ser"),
            (11, vec!["serializable".to_string()])
        );
        assert_eq!(complete("select "), (7, Vec::<String>::new()));
    }
}
