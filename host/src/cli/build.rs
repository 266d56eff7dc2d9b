//! `xedgesim build FILE`: builds what a scenario needs before it runs —
//! each model folder it names (this command is the user's yes to that:
//! building runs code from the folder), each Docker node's image (its
//! build command, with `--allow build-command`, then the image, skipped
//! when that content is built) and each WASM component (compiled into the
//! cache). `run` builds images by itself, and model folders with
//! `--build`; this does it up front, with progress, saying what it built
//! and from where. Ctrl-C stops a build command with every process it
//! started.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use crate::runtime::docker::image::{ensure_image_with, recipe};
use crate::runtime::docker::{DockerEngine, DockerError};
use crate::runtime::wasm::{RuntimeOptions, WasmRuntime};
use crate::runtime::{engine_unreachable_help, named_endpoint};
use crate::scenario::{self, DEFAULT_ENGINE_NAME, Implementation};

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The scenario file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Pull nothing: an image (or a base image a Dockerfile names) that is
    /// not in the engine is an error instead.
    #[arg(long)]
    offline: bool,
    #[command(flatten)]
    allow: super::allow::AllowArgs,
}

pub fn run(args: &BuildArgs) -> ExitCode {
    let mut loaded = match scenario::load_with(&args.file, &super::load_options()) {
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
    if !super::allow::permitted(&loaded.capabilities, &allowance, super::allow::Acting::Building) {
        return ExitCode::from(super::EXIT_USER_ERROR);
    }
    // A model folder is built first; its component is then compiled below.
    let cache = super::env::cache_dir();
    let cargo = super::env::cargo();
    if let Err(e) =
        crate::run::build_model_folders(&mut loaded.resolved, cache.as_deref(), cargo.as_deref(), true, &mut |line| {
            println!("  build | {}", super::for_terminal(line))
        })
    {
        eprintln!("error: {}", super::for_terminal(&e.to_string()));
        return ExitCode::from(super::EXIT_USER_ERROR);
    }
    let nodes = &loaded.resolved.nodes;
    let mut failed = false;
    let mut components = Vec::new();
    for node in nodes {
        if let Implementation::Wasm(w) = &node.implementation
            && !components.contains(&w.component)
        {
            components.push(w.component.clone());
        }
    }
    if !components.is_empty() {
        let options = RuntimeOptions { cache_dir: cache.clone(), ..RuntimeOptions::default() };
        match WasmRuntime::new(&options) {
            Err(e) => {
                eprintln!("error: cannot set up the WebAssembly runtime: {e}");
                return ExitCode::FAILURE;
            }
            Ok(mut runtime) => {
                for source in components {
                    let started = Instant::now();
                    match runtime.component(&source) {
                        Ok(_) => println!("component {source}: ready ({:.2} s)", started.elapsed().as_secs_f64()),
                        Err(e) => {
                            eprintln!("error: component {source}: {}", super::for_terminal(&e.to_string()));
                            failed = true;
                        }
                    }
                }
            }
        }
    }
    let docker: Vec<_> = nodes
        .iter()
        .filter_map(|n| match &n.implementation {
            Implementation::Docker(d) => Some((n.id.as_str(), d)),
            Implementation::Wasm(_) => None,
        })
        .collect();
    // Each image is built on the engine its node runs on (the default one first).
    let mut by_engine: std::collections::BTreeMap<Option<&str>, Vec<_>> = std::collections::BTreeMap::new();
    for (id, d) in docker {
        by_engine.entry(d.engine.as_deref()).or_default().push((id, d));
    }
    let interrupt = super::signals::install();
    for (name, docker) in by_engine {
        let endpoint = name.and_then(|n| loaded.resolved.engines.get(n));
        let connected = match endpoint {
            Some(endpoint) => DockerEngine::connect_to_unless(endpoint, Some(&interrupt)),
            None => DockerEngine::connect_unless(super::docker_host().as_deref(), Some(&interrupt)),
        };
        let engine = match connected {
            Ok(engine) => engine,
            Err(DockerError::Interrupted) => {
                eprintln!("interrupted while connecting to a Docker engine");
                return ExitCode::from(super::signals::exit_code());
            }
            // The other engines' images are still built; the exit code says one failed.
            Err(e) => {
                let ids: Vec<String> = docker.iter().map(|(id, _)| format!("'{id}'")).collect();
                let url = endpoint.map_or_else(
                    || super::docker_host().unwrap_or_else(|| crate::runtime::docker::DEFAULT_ENDPOINT.into()),
                    |e| e.url(),
                );
                let help = match name {
                    Some(name) => engine_unreachable_help(&named_endpoint(name, &url)),
                    None => engine_unreachable_help(&url),
                };
                let engine = name.unwrap_or(DEFAULT_ENGINE_NAME);
                eprintln!(
                    "error: engine '{engine}' (for node {}): {}\n  = help: {help}",
                    ids.join(", "),
                    super::for_terminal(&e.to_string())
                );
                failed = true;
                continue;
            }
        };
        let on = name.map_or(String::new(), |n| format!(" on engine '{n}'"));
        let mut seen = std::collections::BTreeSet::new();
        for (id, d) in docker {
            if !seen.insert(recipe(d)) {
                println!("image for node '{id}'{on}: as above");
                continue;
            }
            let started = Instant::now();
            println!("image for node '{id}'{on}:");
            let mut show = |line: &str| println!("  build | {}", super::for_terminal(line));
            match ensure_image_with(&engine, d, args.offline, &mut show, Some(&interrupt)) {
                Ok(image) => println!(
                    "  {} {} ({}, {:.2} s)",
                    if image.built { "built" } else { "up to date:" },
                    image.reference,
                    &image.id,
                    started.elapsed().as_secs_f64()
                ),
                Err(DockerError::Interrupted) => {
                    eprintln!("interrupted while building the image for node '{id}'");
                    return ExitCode::from(super::signals::exit_code());
                }
                Err(e) => {
                    eprintln!("error: node '{id}': {}", super::for_terminal(&e.to_string()));
                    failed = true;
                }
            }
        }
    }
    if failed { ExitCode::from(super::EXIT_USER_ERROR) } else { ExitCode::SUCCESS }
}
