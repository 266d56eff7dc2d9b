//! The command line: a thin layer over the library. `anyhow` lives here
//! and nowhere else in the host.
//!
//! Exit codes: 0 success, 2 a user error (bad scenario, bad arguments),
//! 1 anything else.

mod run;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code for errors the user can fix: a bad scenario or bad arguments.
pub const EXIT_USER_ERROR: u8 = 2;

#[derive(Debug, Parser)]
#[command(name = "xedgesim", version, about = "Co-simulator for the edge tier of IoT systems", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario and write its trace, metrics and summary.
    Run(run::RunArgs),
    /// Check scenario files and report every problem in them.
    Validate(validate::ValidateArgs),
}

/// Parses the command line, runs the command and maps its outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USER_ERROR } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Validate(args) => validate::run(&args),
    }
}
