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
            let mut failed = 0;
            for c in &found {
                let short = &c.id[..c.id.len().min(12)];
                match (&c.removed, c.kept_because) {
                    (Ok(true), _) => println!("removed: {short} (run {}, node '{}')", c.run, c.node),
                    (Ok(false), why) => {
                        println!("kept: {short} (run {}, node '{}'): {}", c.run, c.node, why.unwrap_or(""))
                    }
                    (Err(e), _) => {
                        failed += 1;
                        eprintln!("error: {short} (run {}, node '{}'): {e}", c.run, c.node);
                    }
                }
            }
            let removed = found.iter().filter(|c| c.removed == Ok(true)).count();
            println!(
                "{removed} container(s) removed, {} kept, {failed} could not be removed",
                found.len() - removed - failed
            );
            if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
