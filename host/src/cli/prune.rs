//! `xedgesim prune`: removes the containers a killed xedgesim left behind
//! (found by their `xedgesim.run` label). Containers of runs still going
//! on this machine are kept unless `--all` is given.

use std::process::ExitCode;

use clap::Args;

use crate::runtime::docker::DockerEngine;
use crate::runtime::docker::prune::prune;

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Also remove the containers of runs that are still going.
    #[arg(long)]
    all: bool,
}

pub fn run(args: &PruneArgs) -> ExitCode {
    let engine = match DockerEngine::connect(super::docker_host().as_deref()) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_USER_ERROR);
        }
    };
    match prune(&engine, args.all) {
        Ok(found) => {
            let removed = found.iter().filter(|c| c.removed).count();
            for c in &found {
                let what = if c.removed { "removed" } else { "kept (its run is still going)" };
                println!("{what}: {} (run {}, node '{}')", &c.id[..c.id.len().min(12)], c.run, c.node);
            }
            println!("{removed} container(s) removed, {} kept", found.len() - removed);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
