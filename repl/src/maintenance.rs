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
//! A database of several shards (a `CLUSTER` file and `shard-NNN`
//! directories) is checked shard by shard, and recovered into a new database
//! of as many shards, each shard's rows into the same shard.
//!
//! Neither writes to PATH. They are recognised by the first argument, before
//! the shell's own command line is parsed (a database directory named
//! `check` or `recover` is opened as `isodb ./check`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use isodb::{Database, DatabaseOptions, Layout, check_database, recover_database};

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

/// The layout of the database at `path`: one engine directory (`Layout`
/// of one shard, whose directory is `path`), or several.
fn layout(path: &Path) -> Result<Layout, String> {
    match Layout::existing(path) {
        Ok(Some(layout)) => Ok(layout),
        // Not a database: the one-engine check says why, in its own words.
        Ok(None) => Ok(Layout {
            root: path.to_path_buf(),
            shards: 1,
        }),
        Err(error) => Err(error.to_string()),
    }
}

fn check(path: &Path) -> ExitCode {
    let layout = match layout(path) {
        Ok(layout) => layout,
        Err(error) => {
            eprintln!("isodb: cannot check {}: {error}", path.display());
            return ExitCode::from(2);
        }
    };
    let mut healthy = true;
    for shard in 0..layout.shards {
        let dir = layout.shard_dir(shard);
        if layout.shards > 1 {
            println!("shard {shard} of {} ({}):", layout.shards, dir.display());
        }
        match check_database(&dir) {
            Ok(report) => {
                print!("{}", report.render());
                healthy &= report.is_healthy();
            }
            Err(error) => {
                eprintln!("isodb: cannot check {}: {error}", dir.display());
                return ExitCode::from(2);
            }
        }
    }
    if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn recover(path: &Path, to: &Path) -> ExitCode {
    let cannot = |error: &dyn std::fmt::Display| {
        eprintln!(
            "isodb: cannot recover {} into {}: {error}",
            path.display(),
            to.display()
        );
        ExitCode::from(2)
    };
    let source = match layout(path) {
        Ok(layout) => layout,
        Err(error) => return cannot(&error),
    };
    let target = if source.shards > 1 {
        if std::fs::read_dir(to).is_ok_and(|mut entries| entries.next().is_some()) {
            return cannot(&format!(
                "{} already exists: the new database must be a directory that does not exist \
                 yet, or an empty one",
                to.display()
            ));
        }
        match Layout::open_or_create(to, Some(source.shards)) {
            Ok(layout) => layout,
            Err(error) => return cannot(&error),
        }
    } else {
        Layout {
            root: to.to_path_buf(),
            shards: 1,
        }
    };
    let mut reports = Vec::new();
    for shard in 0..source.shards {
        if source.shards > 1 {
            println!("shard {shard} of {}:", source.shards);
        }
        match recover_database(&source.shard_dir(shard), &target.shard_dir(shard)) {
            Ok(report) => {
                print!("{}", report.render());
                reports.push(report);
            }
            Err(error) => return cannot(&error),
        }
    }
    // Name the unsaved ranges by table and key, from the new database's catalog.
    let unsaved: Vec<_> = reports.iter().flat_map(|r| &r.unsaved).collect();
    if !unsaved.is_empty()
        && let Ok(db) = Database::open_with(to, DatabaseOptions::default())
    {
        for range in unsaved {
            println!(
                "  that is: {} ..= {}",
                describe_key(&db, &range.lower),
                describe_key(&db, &range.upper)
            );
        }
    }
    println!("the new database is {}", to.display());
    if reports.iter().all(|r| r.is_complete()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
