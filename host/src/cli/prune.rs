//! `xedgesim prune [FILE]`: removes the containers, named volumes and
//! networks a killed xedgesim left behind (found by their `xedgesim.run`
//! label) on the default engine and, with FILE, on every engine of its
//! `engines:` that the user allows (`--allow engine:NAME`). Those of runs
//! still going on this machine are kept unless `--all` is given.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::allow::AllowArgs;
use crate::runtime::docker::DockerEngine;
use crate::runtime::docker::prune::{Leftover, LeftoverKind, prune};
use crate::runtime::{engine_unreachable_help, named_endpoint};
use crate::scenario::{self, DEFAULT_ENGINE_NAME};

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// A scenario whose `engines:` are pruned too (each one you allow).
    file: Option<PathBuf>,
    /// Also remove the containers and volumes of runs that are still going.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    allow: AllowArgs,
}

pub fn run(args: &PruneArgs) -> ExitCode {
    let mut engines: Vec<(String, Result<DockerEngine, String>)> = Vec::new();
    let default = DockerEngine::connect(super::docker_host().as_deref()).map_err(|e| {
        let url = super::docker_host().unwrap_or_else(|| crate::runtime::docker::DEFAULT_ENDPOINT.into());
        format!("{e}\n  = help: {}", engine_unreachable_help(&url))
    });
    let Some(file) = &args.file else {
        return match default {
            Ok(engine) => report(None, &engine, args.all),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(super::EXIT_USER_ERROR)
            }
        };
    };
    let loaded = match scenario::load_with(file, &super::load_options()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("{}", super::for_terminal(&e.to_string()));
            return ExitCode::from(super::EXIT_USER_ERROR);
        }
    };
    let allowance = match args.allow.allowance_for(&loaded.resolved.source) {
        Ok(allowance) => allowance,
        Err(code) => return code,
    };
    engines.push((DEFAULT_ENGINE_NAME.to_string(), default));
    for (name, endpoint) in &loaded.resolved.engines {
        let engine = if allowance.permits_engine(name, endpoint) {
            DockerEngine::connect_to(endpoint).map_err(|e| {
                format!("{e}\n  = help: {}", engine_unreachable_help(&named_endpoint(name, &endpoint.url())))
            })
        } else {
            Err(format!(
                "{endpoint} is not reached without your yes; pass `--allow engine:{name}` if you trust {}",
                file.display()
            ))
        };
        engines.push((name.clone(), engine));
    }
    // Every engine is pruned, whatever became of the others.
    let mut failed = false;
    for (name, engine) in engines {
        println!("engine {name}:");
        match engine {
            Ok(engine) => failed |= report(Some(&name), &engine, args.all) != ExitCode::SUCCESS,
            Err(e) => {
                failed = true;
                eprintln!("error: engine {name}: {}", super::for_terminal(&e));
            }
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// Prunes `engine` and prints what became of each leftover (lines
/// prefixed with the engine's name when there are several).
fn report(name: Option<&str>, engine: &DockerEngine, all: bool) -> ExitCode {
    let prefix = name.map_or(String::new(), |n| format!("{n}: "));
    let found = match prune(engine, all) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: {prefix}{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = 0;
    for c in &found {
        let what = describe(c);
        match (&c.removed, c.kept_because) {
            (Ok(true), _) => println!("{prefix}removed: {what}"),
            (Ok(false), why) => println!("{prefix}kept: {what}: {}", why.unwrap_or("")),
            (Err(e), _) => {
                failed += 1;
                eprintln!("error: {prefix}{what}: {e}");
            }
        }
    }
    let removed = |kind| found.iter().filter(|c| c.kind == kind && c.removed == Ok(true)).count();
    let (containers, volumes) = (removed(LeftoverKind::Container), removed(LeftoverKind::Volume));
    println!(
        "{prefix}{containers} container(s) and {volumes} volume(s) removed, {} kept, {failed} could not be removed",
        found.len() - containers - volumes - failed
    );
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn describe(c: &Leftover) -> String {
    match c.kind {
        LeftoverKind::Container => format!("{} (run {}, node '{}')", &c.id[..c.id.len().min(12)], c.run, c.node),
        LeftoverKind::Volume => format!("volume {} (run {})", c.id, c.run),
        LeftoverKind::Network => format!("network {} (run {})", &c.id[..c.id.len().min(12)], c.run),
    }
}
