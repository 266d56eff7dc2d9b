//! `xedgesim validate FILE...`

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
    /// Check the file only: do not run each WASM model's constructor on its config.
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
        match scenario::load(file) {
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
                if !args.no_models && !models_accept(file, &mut loaded) {
                    invalid += 1;
                    continue;
                }
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
                    let docker: Vec<&str> =
                        r.nodes.iter().filter(|n| n.implementation.is_docker()).map(|n| n.id.as_str()).collect();
                    if !docker.is_empty() {
                        println!(
                            "note: needs a Docker engine to run (Docker nodes: {}); images are built at `xedgesim build` or `run`",
                            docker.join(", ")
                        );
                    }
                }
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

/// Builds the model folders `loaded` names, checks each node's config
/// against its component's declaration (at each key's line), then runs
/// each model's constructor on its config, all through one runtime; prints
/// what is wrong. Whether everything passed.
fn models_accept(file: &Path, loaded: &mut scenario::Loaded) -> bool {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("{}: error: {}\n", file.display(), super::for_terminal(&e.to_string()));
        false
    };
    let cache = crate::runtime::wasm::ArtifactCache::default_dir();
    // A model folder is built first: its component is what is checked.
    let built = crate::sim::build_model_folders(&mut loaded.resolved, Some(&cache), &mut |line| {
        eprintln!("  build | {}", super::for_terminal(line))
    });
    if let Err(e) = built {
        return fail(&e);
    }
    let mut runtime = match crate::sim::check_runtime(Some(cache), None) {
        Ok(runtime) => runtime,
        Err(e) => return fail(&e),
    };
    if let Some(source) = &loaded.source {
        match crate::sim::check_declared_configs(&loaded.resolved, source, &mut runtime) {
            Ok(diagnostics) if diagnostics.has_errors() => {
                let n = diagnostics.error_count();
                eprintln!("{}\n", ScenarioError::Invalid { diagnostics });
                eprintln!("{}: {n} error{}\n", file.display(), if n == 1 { "" } else { "s" });
                return false;
            }
            Ok(_) => {}
            Err(e) => return fail(&e),
        }
    }
    // The models' own checks: a config key the model does not take, a bad value.
    match crate::sim::check_models(&loaded.resolved, &mut runtime) {
        Err(e) => fail(&e),
        Ok(faults) if faults.is_empty() => true,
        Ok(faults) => {
            for fault in &faults {
                eprintln!("{}: error: {}\n", file.display(), super::for_terminal(&fault.to_string()));
            }
            let n = faults.len();
            eprintln!("{}: {n} error{} in the models' configs\n", file.display(), if n == 1 { "" } else { "s" });
            false
        }
    }
}
