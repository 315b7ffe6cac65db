//! `isodb check PATH` and `isodb recover PATH --to NEW`: the two commands
//! that work on a database directory without opening it as a database.
//!
//! ```text
//!   isodb check PATH               verifies every file, prints a report;
//!                                  exit 0 when sound, 1 when damaged, 2 when it cannot check
//!   isodb recover PATH --to NEW    copies every readable row into a new database at NEW,
//!                                  prints what it could not save;
//!                                  exit 0 when every row was saved, 1 when some were not,
//!                                  2 when it could not recover
//! ```
//!
//! Neither writes to PATH. They are recognised by the first argument, before
//! the shell's own command line is parsed (a database directory named
//! `check` or `recover` is opened as `isodb ./check`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use isodb::{Database, DatabaseOptions, check_database, recover_database};

use crate::views::describe_key;

/// The maintenance commands.
#[derive(Debug, Parser)]
#[command(name = "isodb", version)]
enum Maintenance {
    /// Verify every file of a database (checksums, table identities, manifest
    /// consistency, key order) and print a report; nothing is written.
    Check {
        /// The database directory.
        path: PathBuf,
    },
    /// Copy every readable row of a damaged database into a new one and say
    /// what could not be saved; the damaged database is only read.
    Recover {
        /// The damaged database directory.
        path: PathBuf,
        /// Where to create the new database (must not exist, or be empty).
        #[arg(long, value_name = "NEW")]
        to: PathBuf,
    },
}

/// Runs a maintenance command when the first argument names one.
pub fn dispatch(args: &[OsString]) -> Option<ExitCode> {
    let first = args.get(1)?.to_str()?;
    if first != "check" && first != "recover" {
        return None;
    }
    let command = match Maintenance::try_parse_from(args) {
        Ok(command) => command,
        Err(error) => error.exit(),
    };
    Some(match command {
        Maintenance::Check { path } => check(&path),
        Maintenance::Recover { path, to } => recover(&path, &to),
    })
}

fn check(path: &Path) -> ExitCode {
    match check_database(path) {
        Ok(report) => {
            print!("{}", report.render());
            if report.is_healthy() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("isodb: cannot check {}: {error}", path.display());
            ExitCode::from(2)
        }
    }
}

fn recover(path: &Path, to: &Path) -> ExitCode {
    let report = match recover_database(path, to) {
        Ok(report) => report,
        Err(error) => {
            eprintln!(
                "isodb: cannot recover {} into {}: {error}",
                path.display(),
                to.display()
            );
            return ExitCode::from(2);
        }
    };
    print!("{}", report.render());
    // Name the unsaved ranges by table and key, from the new database's catalog.
    if !report.unsaved.is_empty()
        && let Ok(db) = Database::open_with(to, DatabaseOptions::default())
    {
        for range in &report.unsaved {
            println!(
                "  that is: {} ..= {}",
                describe_key(&db, &range.lower),
                describe_key(&db, &range.upper)
            );
        }
    }
    println!("the new database is {}", to.display());
    if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
