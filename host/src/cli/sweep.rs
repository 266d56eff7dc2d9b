//! `xedgesim sweep`: many runs of one scenario. `sweep FILE` plans and runs
//! them, `sweep point DIR --index I` runs one (what executors call),
//! `sweep collect DIR` gathers them into one table and page.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{EXIT_USER_ERROR, sweep_collect};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub command: Option<SweepCommand>,
}

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Gather a sweep folder's points into one table (CSV, JSON) with means and 95% intervals, and a page of plots.
    Collect(sweep_collect::CollectArgs),
}

pub fn run(args: &SweepArgs) -> ExitCode {
    match &args.command {
        Some(SweepCommand::Collect(args)) => sweep_collect::run(args),
        None => {
            eprintln!("error: say what to do: `xedgesim sweep collect DIR` (see `xedgesim sweep --help`)");
            ExitCode::from(EXIT_USER_ERROR)
        }
    }
}
