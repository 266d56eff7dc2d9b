//! `xedgesim report RUN_DIR`: draws a run's `report.html` again from the
//! `summary.json` and `series.json` in its output folder.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run's output folder (e.g. runs/wasm_gateway-seed42).
    #[arg(value_name = "RUN_DIR")]
    run_dir: PathBuf,
}

pub fn run(args: &ReportArgs) -> ExitCode {
    match crate::report::rebuild(&args.run_dir) {
        Ok(path) => {
            println!("report        {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", super::for_terminal(&e.to_string()));
            ExitCode::from(super::EXIT_USER_ERROR)
        }
    }
}
