//! The command line: a thin layer over the library, and the only part of
//! the host that reads the environment (`env.rs`).
//!
//! Exit codes: 0 success, 2 a user error (bad scenario, bad arguments),
//! 1 anything else.

mod allow;
mod build;
mod cache;
mod env;
mod equiv;
mod equiv_latency;
mod equiv_sides;
mod models;
mod new;
mod prune;
mod record;
mod replay;
mod report;
mod run;
mod sandbox;
mod sdk;
mod signals;
mod sweep;
mod sweep_collect;
mod sweep_options;
mod trials_table;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use env::{docker_host, load_options, run_label};

/// Exit code for errors the user can fix: a bad scenario or bad arguments.
pub const EXIT_USER_ERROR: u8 = 2;

/// Most characters of one message printed to the terminal; the output
/// files keep all of it.
const MAX_PRINTED_CHARS: usize = 4_000;

/// `text` made safe to print: control characters other than line breaks
/// escaped (a guest's own line breaks are escaped where its words enter a
/// message), and at most [`MAX_PRINTED_CHARS`] of it.
pub fn for_terminal(text: &str) -> String {
    let mut chars = text.chars();
    let shown: String = chars.by_ref().take(MAX_PRINTED_CHARS).collect();
    let mut out = crate::text::escape_controls_but(&shown, &['\n']);
    let rest = chars.count();
    if rest > 0 {
        out.push_str(&format!("… ({rest} more characters; summary.json and trace.jsonl keep them all)"));
    }
    out
}

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
    /// Build every image and WASM component a scenario needs.
    Build(build::BuildArgs),
    /// Rerun a recorded run (`run --record`) with every recorded node answered from its recording, and say whether the outputs are the same.
    Replay(replay::ReplayArgs),
    /// Run two scenarios with one seed and say whether they behave the same.
    Equiv(Box<equiv::EquivArgs>),
    /// Draw a run's report.html again from its output folder.
    Report(report::ReportArgs),
    /// Make a new model: its crate, a test, a scenario that runs it, and the SDK.
    New(new::NewArgs),
    /// Write this xedgesim's model SDK into a folder, for a crate of your own.
    Sdk(sdk::SdkArgs),
    /// Print the built-in models' config reference (Markdown).
    Models(models::ModelsArgs),
    /// Remove containers and volumes left behind by a killed xedgesim.
    Prune(prune::PruneArgs),
    /// Manage the compiled-component cache.
    Cache(cache::CacheArgs),
    /// Many runs of one scenario (seeds × parameter values, its `sweep:` section, --seeds, --set) on this machine, Slurm or Kubernetes, and their results in one table (`sweep collect`).
    Sweep(sweep::SweepArgs),
}

/// Parses the command line, runs the command and maps its outcome to an exit code.
pub fn main() -> ExitCode {
    quiet_on_closed_stdout();
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
        Command::Build(args) => build::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Equiv(args) => equiv::run(&args),
        Command::Report(args) => report::run(&args),
        Command::New(args) => new::run(&args),
        Command::Sdk(args) => sdk::run(&args),
        Command::Models(args) => models::run(&args),
        Command::Prune(args) => prune::run(&args),
        Command::Cache(args) => cache::run(&args),
        Command::Sweep(args) => sweep::run(&args),
    }
}

/// Exit code of a command whose reader closed its output (`xedgesim … |
/// head`): 128 + SIGPIPE, what a shell reports for any Unix tool so stopped.
pub const EXIT_CLOSED_OUTPUT: i32 = 141;

/// A reader that closed our standard output ends the command quietly, as
/// it ends any Unix tool, rather than in a panic: `println!` panics on a
/// broken pipe. SIGPIPE itself stays ignored (Rust's default), so a
/// container whose stdin closes never kills a run.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload().downcast_ref::<String>().map_or("", String::as_str);
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(EXIT_CLOSED_OUTPUT);
        }
        default(info);
    }));
}
