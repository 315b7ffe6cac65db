//! `isodb`: the isodb SQL shell.
//!
//! ```text
//!   isodb [PATH | --temp | --connect URL] [-c SQL]... [-f FILE]...
//!         [--format table|csv|json] [--on-error stop|continue] [--isolation LEVEL]
//!         [--accept-log-loss]
//!   isodb serve [PATH | --temp] [--listen ADDR] [...]
//!   isodb check PATH
//!   isodb recover PATH --to NEW
//! ```
//!
//! With `-c` or `-f` it runs them in command-line order and exits; with
//! standard input that is not a terminal it runs that; otherwise it is
//! interactive. Without PATH it opens `./isodb-data` (created when
//! missing); with `--connect` it runs on a server instead (`isodb serve`
//! or PostgreSQL), every session a connection of its own. In scripts the exit status is 1 when a statement failed (2
//! when the database could not be opened); an interactive shell exits 0,
//! its errors having been shown as they happened.
//!
//! # Architecture
//!
//! The main thread owns the [`shell::Shell`] and, when interactive, the
//! rustyline editor. Each named session (`main`, and every `\session NAME`)
//! is a real [`isodb::Session`] (or, with `--connect`, a connection to the
//! server) on a thread of its own, a [`worker::SessionWorker`]; the main
//! thread never runs SQL itself, so a statement that waits for a row lock
//! blocks only its session's thread.
//!
//! ```text
//!   main thread                                   one thread per session
//!   ───────────                                   ──────────────────────
//!   rustyline / -c / -f / stdin
//!        │ StatementSplitter: text → statements and meta-commands
//!        ▼
//!   Shell ── submit(sql) ── mpsc channel ───────► SessionWorker "t1": Session::query
//!     │   ◄─ Ticket: the outcome, if it arrives ─┘
//!     │      within 100 ms, else: is the session
//!     │      among Engine::locks() waiters? (on a
//!     │      server: pg_blocking_pids(its pid))
//!     │        yes → "t2: waiting for t1 (row lock on accounts (id=1))",
//!     │              back to the prompt; the outcome goes to the Outbox
//!     │
//!     └─ settle() after every command and before every prompt: prints the
//!        outcomes that arrived in the Outbox, labelled "t2: ...", first
//!        waiting for the statements the command just released
//!
//!   Ctrl-C: at the prompt (raw mode) rustyline reports it; while a
//!   statement runs (cooked mode) a SIGINT handler sets a flag; either way
//!   the session's CancelHandle cancels its statement, wherever it is (57014).
//! ```
//!
//! Modules:
//!
//! - [`args`]: the command line; [`maintenance`]: `isodb check` and
//!   `isodb recover`.
//! - [`shell`]: sessions, running statements, waiting for locks.
//! - [`worker`]: one session on its own thread; tickets and the outbox.
//! - [`backend`]: a local database or a server; [`link`]: one session's
//!   connection to it; [`client`]: the wire protocol's client side;
//!   [`reply`]: results and errors from either.
//! - [`server`]: `isodb serve`.
//! - [`splitter`]: input into statements and meta-commands.
//! - [`meta`]: meta-commands and scripts; [`views`]: catalog, sessions,
//!   locks, transactions; [`server_views`]: the catalog on a server.
//! - [`render`]: tables, CSV, JSON, errors with a caret.
//! - [`demo`]: anomaly walkthroughs with computed verdicts.
//! - [`interactive`]: rustyline, history, completion, Ctrl-C and Ctrl-D.

mod args;
mod backend;
mod client;
mod demo;
mod interactive;
mod link;
mod maintenance;
mod meta;
mod render;
mod reply;
mod server;
mod server_views;
mod shell;
mod splitter;
mod views;
mod worker;

use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::sync::Arc;

use isodb::{Database, DatabaseOptions, Durability, IsolationLevel, LogRecovery};

use crate::args::{Cli, Command, DEFAULT_DATA_DIR, Input, ServeArgs};
use crate::backend::Backend;
use crate::shell::{Flow, Shell, StdOutput};

fn open(cli: &Cli) -> Result<(Backend, String), String> {
    if let Some(url) = &cli.connect {
        let backend = Backend::connect(url)?;
        let location = backend.describe_server().unwrap_or_else(|| url.clone());
        return Ok((backend, location));
    }
    let mut options = DatabaseOptions {
        shards: cli.shards,
        ..DatabaseOptions::default()
    };
    if let Some(level) = &cli.isolation {
        options.isolation_level = level
            .parse::<IsolationLevel>()
            .map_err(|e| format!("--isolation: {e}"))?;
    }
    if cli.temp {
        options.durability = Durability::NoSync;
        let db = Database::open_temporary_with(options)
            .map_err(|e| format!("cannot open a temporary database: {e}"))?;
        return Ok((
            Backend::Local(db),
            "a temporary database (removed on exit)".to_string(),
        ));
    }
    if cli.accept_log_loss {
        options.log_recovery = LogRecovery::PointInTime;
    }
    let path = cli.path.clone().unwrap_or_else(|| DEFAULT_DATA_DIR.into());
    let db = Database::open_with(&path, options)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let report = db.recovery_report();
    if !report.lost_logs.is_empty() {
        eprintln!(
            "isodb: {} was opened by point-in-time log recovery; committed records were lost:",
            path.display()
        );
    }
    if report.lost_logs.is_empty() && !report.kept_files.is_empty() {
        eprintln!(
            "isodb: {}: recovery kept files aside rather than delete them (`isodb check` lists them):",
            path.display()
        );
    }
    if !report.is_clean() {
        eprint!("{}", report.summary());
    }
    let shown = std::fs::canonicalize(&path).unwrap_or(path);
    Ok((Backend::Local(db), shown.display().to_string()))
}

fn run_inputs(shell: &mut Shell, inputs: &[Input]) {
    for input in inputs {
        let flow = match input {
            Input::Command(text) => shell.run_script(text),
            Input::File(path) => match std::fs::read_to_string(path) {
                Ok(script) => shell.run_script(&script),
                Err(error) => {
                    shell.complain(&format!("isodb: cannot read {}: {error}", path.display()));
                    Flow::Stop
                }
            },
        };
        if flow != Flow::Continue {
            break;
        }
    }
}

/// `isodb serve`: opens the database and serves it until Ctrl-C or SIGTERM.
fn serve_main(args: &ServeArgs) -> ExitCode {
    let mut options = DatabaseOptions {
        shards: args.shards,
        ..DatabaseOptions::default()
    };
    if let Some(level) = &args.isolation {
        match level.parse::<IsolationLevel>() {
            Ok(level) => options.isolation_level = level,
            Err(error) => {
                eprintln!("isodb: --isolation: {error}");
                return ExitCode::from(2);
            }
        }
    }
    if args.no_sync {
        options.durability = Durability::NoSync;
    }
    let opened = if args.temp {
        Database::open_temporary_with(options)
    } else {
        let path = args.path.clone().unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        Database::open_with(&path, options)
    };
    let db = match opened {
        Ok(db) => db,
        Err(error) => {
            eprintln!("isodb: cannot open the database: {error}");
            return ExitCode::from(2);
        }
    };
    let passwords = match (&args.password, &args.password_file) {
        (Some(password), _) => Some(server::Passwords::Any(password.clone())),
        (None, Some(file)) => match server::Passwords::from_file(file) {
            Ok(passwords) => Some(passwords),
            Err(error) => {
                eprintln!("isodb: --password-file: {error}");
                return ExitCode::from(2);
            }
        },
        (None, None) => None,
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(server::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let options = server::ServerOptions {
        listen: args.listen,
        max_connections: args.max_connections,
        passwords,
        tls,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("isodb: cannot start the server's runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let bound = match server::Server::bind(db, options, &runtime) {
        Ok(bound) => bound,
        Err(error) => {
            eprintln!("isodb: {error}");
            return ExitCode::from(2);
        }
    };
    match bound.local_addr() {
        Ok(addr) => println!("isodb: listening on {addr}"),
        Err(error) => {
            eprintln!("isodb: {error}");
            return ExitCode::from(2);
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    server::serve(bound, &runtime);
    eprintln!("isodb: the database is closed");
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(status) = maintenance::dispatch(&args) {
        return status;
    }
    let (cli, inputs) = Cli::parse_with_inputs();
    if let Some(Command::Serve(args)) = &cli.command {
        return serve_main(args);
    }
    let (backend, location) = match open(&cli) {
        Ok(opened) => opened,
        Err(message) => {
            eprintln!("isodb: {message}");
            return ExitCode::from(2);
        }
    };
    // On a server, --isolation is the sessions' default (the server's own
    // default otherwise); locally it was the database's option.
    let connected_level = match (&cli.connect, &cli.isolation) {
        (Some(_), Some(level)) => match level.parse::<IsolationLevel>() {
            Ok(level) => Some(level),
            Err(error) => {
                eprintln!("isodb: --isolation: {error}");
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    let level = connected_level.unwrap_or_else(|| backend.default_level());
    let interactive = inputs.is_empty() && std::io::stdin().is_terminal();
    let mut shell = match Shell::new(
        backend,
        cli.format,
        cli.on_error,
        interactive,
        Arc::new(StdOutput),
    ) {
        Ok(shell) => shell,
        Err(error) => {
            eprintln!("isodb: cannot start a session: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(level) = connected_level {
        shell.session().set_level(level);
    }
    if !inputs.is_empty() {
        run_inputs(&mut shell, &inputs);
    } else if interactive {
        let banner = format!(
            "isodb {} on {location}\ndefault isolation level: {level}. Type \\help for help, \\q or Ctrl-D to quit.",
            env!("CARGO_PKG_VERSION")
        );
        let ended = interactive::run(&mut shell, &banner);
        shell.shut_down();
        return match ended {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("isodb: terminal error: {error}");
                ExitCode::from(1)
            }
        };
    } else {
        let mut script = String::new();
        match std::io::stdin().read_to_string(&mut script) {
            Ok(_) => {
                shell.run_script(&script);
            }
            Err(error) => shell.complain(&format!("isodb: cannot read standard input: {error}")),
        }
    }
    shell.shut_down();
    if shell.failures > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
