//! Meta-commands: the lines that start with `\`, and running whole
//! scripts (`-f`, `-c`, standard input, `\i`) through the shell.
//!
//! ```text
//!   \help               this list            \session NAME   create or switch session
//!   \dt  \d TABLE  \di  catalog              \sessions       every session's state
//!   \explain [SQL]      EXPLAIN              \locks  \txns   lock table, transactions
//!   \timing [on|off]    statement times      \cancel [NAME]  cancel a session's statement
//!   \isolation LEVEL    session default      \demo [NAME]    anomaly walkthroughs
//!   \i FILE             run a script         \q              quit
//! ```

use std::path::Path;
use std::sync::atomic::Ordering;

use crate::demo;
use crate::shell::{Flow, Shell};
use crate::splitter::{Piece, split_script};
use crate::{server_views, views};

/// The meta-commands with one line of help each (also used for completion).
pub const META_COMMANDS: &[(&str, &str)] = &[
    ("\\help", "show this list"),
    ("\\dt", "list tables"),
    ("\\d", "describe a table: \\d TABLE"),
    ("\\di", "list indexes"),
    ("\\explain", "EXPLAIN the given statement, or the next one"),
    (
        "\\timing",
        "print how long each statement takes: \\timing [on|off]",
    ),
    (
        "\\isolation",
        "set the session's default isolation level: \\isolation read committed",
    ),
    ("\\i", "run the statements in a file: \\i FILE"),
    (
        "\\session",
        "create or switch to a named session: \\session t2",
    ),
    ("\\sessions", "list sessions with their transaction state"),
    (
        "\\locks",
        "show locks held and awaited (a local database only)",
    ),
    (
        "\\txns",
        "show open transactions and their snapshots (a local database only)",
    ),
    (
        "\\prepared",
        "list prepared transactions (PREPARE TRANSACTION, and 2PC in doubt)",
    ),
    (
        "\\cancel",
        "cancel a session's running statement: \\cancel [SESSION]",
    ),
    (
        "\\demo",
        "play an isolation anomaly step by step: \\demo [NAME]",
    ),
    ("\\q", "quit"),
];

/// The help text.
pub fn help() -> String {
    let mut text = String::from("SQL statements end with ';' and may span lines. Meta-commands:\n");
    for (name, what) in META_COMMANDS {
        text.push_str(&format!("  {name:<11} {what}\n"));
    }
    text.push_str("Ctrl-C cancels the current input or the running statement; Ctrl-D quits.\n");
    text
}

impl Shell {
    /// Runs every statement and meta-command of a script. Returns `Stop`
    /// after a failure with `--on-error stop`, `Quit` after `\q`.
    pub fn run_script(&mut self, script: &str) -> Flow {
        for piece in split_script(script) {
            let flow = self.run_piece(&piece);
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    /// Runs one piece of input.
    pub fn run_piece(&mut self, piece: &Piece) -> Flow {
        match piece {
            Piece::Sql(sql) => self.run_sql(sql),
            Piece::Meta(line) => self.run_meta(line),
            Piece::Unterminated(unterminated) => {
                self.complain(&unterminated.message());
                self.after_failure()
            }
        }
    }

    fn print_or_fail(&mut self, result: Result<String, String>) -> Flow {
        match result {
            Ok(text) => {
                self.output.out(&text);
                Flow::Continue
            }
            Err(message) => {
                self.complain(&message);
                self.after_failure()
            }
        }
    }

    /// Runs one meta-command line such as `\d accounts`.
    pub fn run_meta(&mut self, line: &str) -> Flow {
        let line = line.trim().trim_end_matches(';').trim();
        let (command, argument) = match line.split_once(char::is_whitespace) {
            Some((command, argument)) => (command, argument.trim()),
            None => (line, ""),
        };
        match command {
            "\\q" | "\\quit" => Flow::Quit,
            "\\?" | "\\h" | "\\help" => {
                self.output.out(&help());
                Flow::Continue
            }
            "\\dt" => {
                let text = self.list_tables();
                self.print_or_fail(text)
            }
            "\\di" => {
                let text = match self.backend.database() {
                    Some(db) => views::list_indexes(db),
                    None => server_views::list_indexes(&self.backend),
                };
                self.print_or_fail(text)
            }
            "\\d" if argument.is_empty() => {
                let text = self.list_tables();
                self.print_or_fail(text)
            }
            "\\d" => {
                let text = match self.backend.database() {
                    Some(db) => views::describe_table(db, argument),
                    None => server_views::describe_table(&self.backend, argument),
                };
                self.print_or_fail(text)
            }
            "\\explain" if argument.is_empty() => {
                self.explain_next = true;
                self.say("the next statement will be EXPLAINed");
                Flow::Continue
            }
            "\\explain" => self.run_sql(&format!("EXPLAIN {argument}")),
            "\\timing" => self.timing(argument),
            "\\isolation" => self.isolation(argument),
            "\\i" | "\\include" => self.include(argument),
            "\\session" | "\\s" => self.session_command(argument),
            "\\sessions" => {
                self.output.out(&views::list_sessions(self));
                Flow::Continue
            }
            "\\locks" => {
                let text = views::list_locks(self);
                self.print_or_fail(text)
            }
            "\\txns" => {
                let text = views::list_transactions(self);
                self.print_or_fail(text)
            }
            "\\prepared" => self.run_sql("SHOW prepared_transactions"),
            "\\cancel" => self.cancel(argument),
            "\\demo" => demo::run(self, argument),
            other => {
                self.complain(&format!("invalid command {other}; try \\help"));
                self.after_failure()
            }
        }
    }

    fn list_tables(&self) -> Result<String, String> {
        match self.backend.database() {
            Some(db) => views::list_tables(db),
            None => server_views::list_tables(&self.backend),
        }
    }

    fn timing(&mut self, argument: &str) -> Flow {
        let now = self.settings.timing.load(Ordering::SeqCst);
        let on = match argument.to_ascii_lowercase().as_str() {
            "" => !now,
            "on" => true,
            "off" => false,
            other => {
                self.complain(&format!("\\timing: expected on or off, not {other:?}"));
                return self.after_failure();
            }
        };
        self.settings.timing.store(on, Ordering::SeqCst);
        self.say(&format!("Timing is {}.", if on { "on" } else { "off" }));
        Flow::Continue
    }

    fn isolation(&mut self, argument: &str) -> Flow {
        if argument.is_empty() {
            let status = self.session().status();
            self.say(&format!(
                "{}: {} ({})",
                self.session().name(),
                status.level,
                status.state.label()
            ));
            return Flow::Continue;
        }
        match argument.parse::<isodb::IsolationLevel>() {
            Ok(level) => {
                self.session().set_level(level);
                let note = if self.session().status().state == crate::worker::TxnState::Idle {
                    ""
                } else {
                    " (from the next transaction on)"
                };
                self.say(&format!(
                    "{}: default isolation level is {level}{note}",
                    self.session().name()
                ));
                Flow::Continue
            }
            Err(error) => {
                self.complain(&format!("\\isolation: {error}"));
                self.after_failure()
            }
        }
    }

    fn include(&mut self, argument: &str) -> Flow {
        if argument.is_empty() {
            self.complain("\\i: which file?");
            return self.after_failure();
        }
        match std::fs::read_to_string(Path::new(argument)) {
            Ok(script) => match self.run_script(&script) {
                Flow::Quit => Flow::Quit,
                Flow::Stop => Flow::Stop,
                Flow::Continue => Flow::Continue,
            },
            Err(error) => {
                self.complain(&format!("\\i: cannot read {argument}: {error}"));
                self.after_failure()
            }
        }
    }

    fn session_command(&mut self, argument: &str) -> Flow {
        if argument.is_empty() {
            self.say(&format!("current session: {}", self.session().name()));
            return Flow::Continue;
        }
        let valid = argument
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
        if !valid {
            self.complain(&format!(
                "\\session: a session name is letters, digits, '_' or '-', not {argument:?}"
            ));
            return self.after_failure();
        }
        match self.switch_session(argument) {
            Ok(created) => {
                if created && self.interactive {
                    self.say(&format!("new session {argument}"));
                }
                Flow::Continue
            }
            Err(error) => {
                self.complain(&format!("\\session: cannot start the session: {error}"));
                self.after_failure()
            }
        }
    }

    fn cancel(&mut self, argument: &str) -> Flow {
        let worker = if argument.is_empty() {
            Some(std::sync::Arc::clone(self.session()))
        } else {
            self.sessions.iter().find(|w| w.name() == argument).cloned()
        };
        match worker {
            Some(worker) => {
                if worker.cancel() {
                    self.settle();
                } else {
                    self.say(&format!("{} is not running a statement", worker.name()));
                }
                Flow::Continue
            }
            None => {
                self.complain(&format!("\\cancel: there is no session {argument}"));
                self.after_failure()
            }
        }
    }
}
