//! The command line of the `isodb` binary (clap derive).
//!
//! ```text
//!   isodb                         ./isodb-data, interactive (or stdin when it is not a terminal)
//!   isodb PATH                    another database directory
//!   isodb --temp                  a throwaway database, removed on exit
//!   isodb PATH --shards 4         a new database of 4 shards (2PC across them)
//!   isodb PATH -c "SQL" -f FILE   run commands and files in the order given, then exit
//!   isodb serve [PATH] --listen 127.0.0.1:5433    the PostgreSQL wire protocol
//!   isodb --connect postgres://user@host:port/db  the shell, on a server
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// The directory opened when no path is given.
pub const DEFAULT_DATA_DIR: &str = "isodb-data";

/// What to do after a statement fails in non-interactive use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnError {
    /// Stop at the first failed statement (exit status 1).
    Stop,
    /// Go on with the next statement (the exit status is still 1).
    Continue,
}

/// How query results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns with a row count, for people.
    Table,
    /// RFC 4180 CSV with a header line, one block per query.
    Csv,
    /// One JSON array of row objects per query, one per line.
    Json,
}

/// The isodb shell.
#[derive(Debug, Parser)]
#[command(name = "isodb", version, about = "The isodb SQL shell")]
pub struct Cli {
    /// Database directory (created when missing) [default: ./isodb-data]
    pub path: Option<PathBuf>,

    /// Open a throwaway database in a temporary directory.
    #[arg(long, conflicts_with = "path")]
    pub temp: bool,

    /// Run this SQL (or meta-command) and exit; may be given several times.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub commands: Vec<String>,

    /// Run the statements in this file and exit; may be given several times.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Stop at the first failing statement, or continue.
    #[arg(long, value_enum, default_value_t = OnError::Stop)]
    pub on_error: OnError,

    /// How to print query results.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// The default isolation level of new sessions (e.g. "read committed", rr, ser).
    #[arg(long, value_name = "LEVEL")]
    pub isolation: Option<String>,

    /// If a write-ahead log lost committed records (deleted, emptied, cut
    /// short), open with what is left instead of refusing, and say how many
    /// records were lost (point-in-time recovery).
    #[arg(long)]
    pub accept_log_loss: bool,

    /// Create a new database of N shards, each an engine in its own
    /// subdirectory (rows placed by the hash of their primary key, or by
    /// PARTITION BY; transactions that write several commit by two-phase
    /// commit). An existing database keeps the count it was created with.
    #[arg(long, value_name = "N", conflicts_with = "connect")]
    pub shards: Option<u16>,

    /// Run the shell against an isodb (or PostgreSQL) server instead of a
    /// database directory; every session is a connection.
    #[arg(long, value_name = "URL", conflicts_with_all = ["path", "temp"])]
    pub connect: Option<String>,

    /// A subcommand (`serve`).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a database over the PostgreSQL wire protocol (psql, pgbench,
    /// drivers). Ctrl-C or SIGTERM shuts it down cleanly.
    Serve(ServeArgs),
}

/// `isodb serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Database directory (created when missing) [default: ./isodb-data]
    pub path: Option<PathBuf>,

    /// Serve a throwaway database in a temporary directory.
    #[arg(long, conflicts_with = "path")]
    pub temp: bool,

    /// The address to listen on (loopback unless another one is given;
    /// port 0 picks a free one, printed at start).
    #[arg(long, default_value = "127.0.0.1:5433")]
    pub listen: SocketAddr,

    /// Connections served at once; more are refused with 53300.
    #[arg(long, default_value_t = 100)]
    pub max_connections: usize,

    /// Require SCRAM-SHA-256 with this password, for any user name.
    #[arg(long, value_name = "PASSWORD", conflicts_with = "password_file")]
    pub password: Option<String>,

    /// Require SCRAM-SHA-256 with the passwords of this file (`user:password` lines).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// TLS certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// The default isolation level of new sessions.
    #[arg(long, value_name = "LEVEL")]
    pub isolation: Option<String>,

    /// Acknowledge commits before their fsync (faster, loses the last commits on a power loss).
    #[arg(long)]
    pub no_sync: bool,

    /// Create a new database of N shards (see `isodb --help`).
    #[arg(long, value_name = "N")]
    pub shards: Option<u16>,
}

impl Cli {
    /// Parses the process's arguments (exiting with usage on error) and
    /// returns them with the `-c` and `-f` inputs in command-line order.
    pub fn parse_with_inputs() -> (Cli, Vec<Input>) {
        let matches = Cli::command().get_matches();
        match Cli::from_arg_matches(&matches) {
            Ok(cli) => {
                let inputs = cli.inputs_in_order(&matches);
                (cli, inputs)
            }
            Err(error) => error.exit(),
        }
    }

    /// The `-c` commands and `-f` files in the order they appear on the
    /// command line (clap keeps the two lists apart; their indices say
    /// where each one was).
    pub fn inputs_in_order(&self, matches: &ArgMatches) -> Vec<Input> {
        let positions = |id: &str| -> Vec<usize> {
            matches
                .indices_of(id)
                .map(Iterator::collect)
                .unwrap_or_default()
        };
        let command_positions = positions("commands");
        let file_positions = positions("files");
        let mut inputs: Vec<(usize, Input)> = Vec::new();
        for (i, command) in self.commands.iter().enumerate() {
            let at = command_positions.get(i).copied().unwrap_or(i);
            inputs.push((at, Input::Command(command.clone())));
        }
        for (i, file) in self.files.iter().enumerate() {
            let at = file_positions.get(i).copied().unwrap_or(usize::MAX / 2 + i);
            inputs.push((at, Input::File(file.clone())));
        }
        inputs.sort_by_key(|(at, _)| *at);
        inputs.into_iter().map(|(_, input)| input).collect()
    }
}

/// One non-interactive input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Text given with `-c`.
    Command(String),
    /// A script given with `-f`.
    File(PathBuf),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_with_their_defaults() {
        let cli = Cli::try_parse_from(["isodb", "--temp", "-c", "select 1", "--format", "csv"])
            .expect("valid command line");
        assert!(cli.temp);
        assert_eq!(cli.commands, ["select 1"]);
        assert_eq!(cli.format, OutputFormat::Csv);
        assert_eq!(cli.on_error, OnError::Stop);
        assert!(Cli::try_parse_from(["isodb", "--temp", "dir"]).is_err());
        assert!(Cli::try_parse_from(["isodb", "--on-error", "maybe"]).is_err());
    }

    #[test]
    fn serve_takes_its_own_flags() {
        let cli = Cli::try_parse_from(["isodb", "serve", "data", "--listen", "127.0.0.1:0"])
            .expect("valid command line");
        let Some(Command::Serve(serve)) = cli.command else {
            panic!("expected serve");
        };
        assert_eq!(serve.path, Some(PathBuf::from("data")));
        assert_eq!(serve.listen.port(), 0);
        assert_eq!(serve.max_connections, 100);
        assert!(Cli::try_parse_from(["isodb", "serve", "--tls-cert", "c.pem"]).is_err());
        let cli = Cli::try_parse_from(["isodb", "--connect", "postgres://localhost:5433/x"])
            .expect("valid command line");
        assert!(cli.connect.is_some() && cli.command.is_none());
    }

    #[test]
    fn commands_and_files_keep_their_command_line_order() {
        let matches = Cli::command()
            .try_get_matches_from(["isodb", "-f", "a.sql", "-c", "select 1", "-f", "b.sql"])
            .expect("valid command line");
        let cli = Cli::from_arg_matches(&matches).expect("valid command line");
        assert_eq!(
            cli.inputs_in_order(&matches),
            [
                Input::File("a.sql".into()),
                Input::Command("select 1".into()),
                Input::File("b.sql".into())
            ]
        );
    }
}
