//! `xedgesim prune`: removes the containers and named volumes a killed
//! xedgesim left behind (found by their `xedgesim.run` label). Those of
//! runs still going on this machine are kept unless `--all` is given.

use std::process::ExitCode;

use clap::Args;

use crate::runtime::docker::DockerEngine;
use crate::runtime::docker::prune::{LeftoverKind, prune};

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Also remove the containers and volumes of runs that are still going.
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
                let what = match c.kind {
                    LeftoverKind::Container => {
                        format!("{} (run {}, node '{}')", &c.id[..c.id.len().min(12)], c.run, c.node)
                    }
                    LeftoverKind::Volume => format!("volume {} (run {})", c.id, c.run),
                    LeftoverKind::Network => format!("network {} (run {})", &c.id[..c.id.len().min(12)], c.run),
                };
                match (&c.removed, c.kept_because) {
                    (Ok(true), _) => println!("removed: {what}"),
                    (Ok(false), why) => println!("kept: {what}: {}", why.unwrap_or("")),
                    (Err(e), _) => {
                        failed += 1;
                        eprintln!("error: {what}: {e}");
                    }
                }
            }
            let removed = |kind| found.iter().filter(|c| c.kind == kind && c.removed == Ok(true)).count();
            let (containers, volumes) = (removed(LeftoverKind::Container), removed(LeftoverKind::Volume));
            println!(
                "{containers} container(s) and {volumes} volume(s) removed, {} kept, {failed} could not be removed",
                found.len() - containers - volumes - failed
            );
            if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
