//! `xedgesim validate FILE...`: checks each file, lists what it asks to
//! do to the host (each at its line, and whether it needs the user's yes),
//! and checks each model against its config. It never builds anything nor
//! runs anything from a scenario's or model's folder: a model folder
//! without a build of its current sources is a note saying how to build it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::scenario::{self, ScenarioError};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files to check.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print each valid scenario's resolved form (every default filled in) as YAML.
    #[arg(long)]
    resolved: bool,
    /// Check the file only: do not run each WASM model's constructor (in
    /// its sandbox) on its config.
    #[arg(long)]
    no_models: bool,
    /// Treat warnings as errors (a config key the model does not take, a
    /// build context found above the scenario's folder, …).
    #[arg(long)]
    strict: bool,
}

/// Checks every file; exit 0 when all are valid, 2 when any is not.
pub fn run(args: &ValidateArgs) -> ExitCode {
    let mut invalid = 0usize;
    for file in &args.files {
        match scenario::load_with(file, &super::load_options()) {
            Ok(mut loaded) => {
                for warning in &loaded.warnings.0 {
                    eprintln!("{warning}\n");
                }
                if args.strict && !loaded.warnings.0.is_empty() {
                    invalid += 1;
                    let n = loaded.warnings.0.len();
                    eprintln!(
                        "{}: {n} warning{} (errors under --strict)\n",
                        file.display(),
                        if n == 1 { "" } else { "s" }
                    );
                    continue;
                }
                // Each point of a `sweep:` section, as the sweep would run it.
                let sweep = match loaded.sweep.is_some().then(|| {
                    crate::sweep::plan::make(file, &super::load_options(), &crate::sweep::spec::SweepRequest::default())
                }) {
                    Some(Err(e)) => {
                        invalid += 1;
                        eprintln!(
                            "{}
",
                            super::for_terminal(&e.to_string())
                        );
                        continue;
                    }
                    Some(Ok(planned)) => Some(planned),
                    None => None,
                };
                let unbuilt = if args.no_models {
                    Vec::new()
                } else {
                    match models_accept(file, &mut loaded) {
                        Some(unbuilt) => unbuilt,
                        None => {
                            invalid += 1;
                            continue;
                        }
                    }
                };
                let r = &loaded.resolved;
                if args.resolved {
                    if args.files.len() > 1 {
                        println!("# {}", file.display());
                    }
                    print!("{}", scenario::resolved_to_yaml(r));
                } else {
                    let n = r.nodes.len();
                    println!(
                        "ok: {} ({n} node{}, {} s, seed {})",
                        file.display(),
                        if n == 1 { "" } else { "s" },
                        r.duration_us as f64 / 1e6,
                        r.seed
                    );
                    if let Some(planned) = &sweep {
                        let counted = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
                        println!(
                            "sweep: {} ({} × {}), each valid",
                            counted(planned.plan.points.len(), "point"),
                            counted(planned.expanded.points.len(), "parameter point"),
                            counted(planned.expanded.seeds.len(), "seed")
                        );
                    }
                    let docker: Vec<&str> =
                        r.nodes.iter().filter(|n| n.implementation.is_docker()).map(|n| n.id.as_str()).collect();
                    if !docker.is_empty() {
                        println!(
                            "note: needs a Docker engine to run (Docker nodes: {}); images are built at `xedgesim build` or `run`",
                            docker.join(", ")
                        );
                    }
                }
                print_capabilities(file, &loaded.capabilities, &unbuilt, args.resolved);
            }
            Err(e) => {
                invalid += 1;
                eprintln!("{e}\n");
                if let ScenarioError::Invalid { diagnostics } = &e {
                    let n = diagnostics.error_count();
                    eprintln!("{}: {n} error{}\n", file.display(), if n == 1 { "" } else { "s" });
                }
            }
        }
    }
    if invalid == 0 { ExitCode::SUCCESS } else { ExitCode::from(super::EXIT_USER_ERROR) }
}

/// Prints what the file asks of the host, each at its line with what
/// allows it, and a note for each model folder without a build (on
/// stderr when stdout carries the resolved YAML).
fn print_capabilities(file: &Path, asked: &[scenario::Capability], unbuilt: &[crate::run::Unbuilt], quiet: bool) {
    let mut lines = Vec::new();
    for c in asked {
        let needs = match (&c.kind, c.kind.allow_word()) {
            (scenario::CapabilityKind::ModelBuild, _) => {
                "needs your yes: `xedgesim build FILE`, or `run --build`".to_string()
            }
            (_, Some(word)) => format!("needs your yes: --allow {word}"),
            (_, None) => "allowed".to_string(),
        };
        lines.push(format!("  {}: {} [{needs}]", c.location(), super::for_terminal(&c.description())));
    }
    if !lines.is_empty() {
        lines.insert(0, format!("{} asks of the host (docs/sandbox.md):", file.display()));
    }
    for u in unbuilt {
        lines.push(format!(
            "note: the model in {} (node '{}') has no build of its current sources, so its config is not checked yet; `xedgesim build {}` builds it, running {}",
            u.folder.display(),
            u.node,
            file.display(),
            u.what_building_runs()
        ));
    }
    for line in lines {
        if quiet {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
}

/// Points each model folder `loaded` names at the component a build of
/// its current sources made (building nothing), checks each node's config
/// against its component's declaration (at each key's line), then runs
/// each model's constructor on its config, all through one runtime; prints
/// what is wrong. The folders without a build (their nodes are not
/// checked), or `None` when something failed.
fn models_accept(file: &Path, loaded: &mut scenario::Loaded) -> Option<Vec<crate::run::Unbuilt>> {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("{}: error: {}\n", file.display(), super::for_terminal(&e.to_string()));
        None
    };
    let cache = super::env::cache_dir();
    let unbuilt = match crate::run::use_kept_builds(&mut loaded.resolved, cache.as_deref(), &mut |_| {}) {
        Ok(unbuilt) => unbuilt,
        Err(e) => return fail(&e),
    };
    let mut runtime = match crate::run::check_runtime(cache, None) {
        Ok(runtime) => runtime,
        Err(e) => return fail(&e),
    };
    if let Some(source) = &loaded.source {
        match crate::run::check_declared_configs(&loaded.resolved, source, &mut runtime) {
            Ok(diagnostics) if diagnostics.has_errors() => {
                let n = diagnostics.error_count();
                eprintln!("{}\n", ScenarioError::Invalid { diagnostics });
                eprintln!("{}: {n} error{}\n", file.display(), if n == 1 { "" } else { "s" });
                return None;
            }
            Ok(_) => {}
            Err(e) => return fail(&e),
        }
    }
    // The models' constructors read their `wasm.files`: never a host file
    // outside the scenario's folder, which only `run --allow read:PATH` may
    // read (and a model could print what it read).
    if let Some(read) = loaded.capabilities.iter().find(|c| matches!(c.kind, scenario::CapabilityKind::HostRead(_))) {
        eprintln!(
            "{}: note: the models' own config checks were not run: node '{}' reads a file outside the scenario's folder, which validate never reads; `xedgesim run` with your yes checks them\n",
            file.display(),
            read.node
        );
        return Some(unbuilt);
    }
    // The models' own checks: a config key the model does not take, a bad value.
    match crate::run::check_models(&loaded.resolved, &mut runtime) {
        Err(e) => fail(&e),
        Ok(faults) if faults.is_empty() => Some(unbuilt),
        Ok(faults) => {
            for fault in &faults {
                eprintln!("{}: error: {}\n", file.display(), super::for_terminal(&fault.to_string()));
            }
            let n = faults.len();
            eprintln!("{}: {n} error{} in the models' configs\n", file.display(), if n == 1 { "" } else { "s" });
            None
        }
    }
}
