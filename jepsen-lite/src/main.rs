//! The `jepsen-lite` command line.
//!
//! ```text
//! jepsen-lite check FILE [--model serializable] [--format text|json] [--out DIR]
//! ```
//!
//! Exit status: 0 when the history satisfies the model, 1 when it does not, 2 when the input
//! cannot be read. Subcommands are a clap enum, so `run` (driving a database) can be added
//! beside `check`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use jepsen_lite::checker::check;
use jepsen_lite::models::Model;
use jepsen_lite::{load, report};

#[derive(Parser)]
#[command(
    name = "jepsen-lite",
    version,
    about = "Checks transactional histories for isolation anomalies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a history file (JSON lines, or Jepsen EDN when the name ends in .edn).
    Check(CheckArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The history file.
    file: PathBuf,
    /// The model the history must satisfy (exit status 1 when it does not).
    #[arg(long, default_value = "serializable", value_parser = parse_model)]
    model: Model,
    /// Output format on standard output.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Directory for results.json and a .dot and .svg per anomaly cycle.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn parse_model(name: &str) -> Result<Model, String> {
    Model::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Model::ALL.iter().map(|m| m.name()).collect();
        format!("unknown model {name:?}; one of: {}", names.join(", "))
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => run_check(&args),
    }
}

fn run_check(args: &CheckArgs) -> ExitCode {
    let history = match load::history_file(&args.file) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("jepsen-lite: cannot read history: {e}");
            return ExitCode::from(2);
        }
    };
    let result = check(&history);
    match args.format {
        Format::Text => print!("{}", report::text::render(&result, args.model)),
        Format::Json => println!("{}", report::json::render(&result)),
    }
    if let Some(dir) = &args.out
        && let Err(e) = report::write_directory(&result, dir)
    {
        eprintln!("jepsen-lite: cannot write results: {e}");
        return ExitCode::from(2);
    }
    if result.satisfies(args.model) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
