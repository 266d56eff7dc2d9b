//! `xedgesim validate FILE...`

use std::path::PathBuf;
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
                if !args.no_models {
                    // A model folder is built first: its component is what is checked.
                    let cache = crate::runtime::wasm::ArtifactCache::default_dir();
                    let built = crate::sim::build_model_folders(&mut loaded.resolved, Some(&cache), &mut |line| {
                        eprintln!("  build | {}", super::for_terminal(line))
                    });
                    if let Err(e) = built {
                        invalid += 1;
                        eprintln!("{}: error: {}\n", file.display(), super::for_terminal(&e.to_string()));
                        continue;
                    }
                }
                let r = &loaded.resolved;
                if !args.no_models {
                    // Each component's declared config, at the line of each key.
                    if let Some(source) = &loaded.source {
                        match crate::sim::check_declared_configs(
                            r,
                            source,
                            Some(crate::runtime::wasm::ArtifactCache::default_dir()),
                            None,
                        ) {
                            Ok(diagnostics) if diagnostics.has_errors() => {
                                invalid += 1;
                                eprintln!("{}\n", ScenarioError::Invalid { diagnostics: diagnostics.clone() });
                                let n = diagnostics.error_count();
                                eprintln!("{}: {n} error{}\n", file.display(), if n == 1 { "" } else { "s" });
                                continue;
                            }
                            Ok(_) => {}
                            Err(e) => {
                                invalid += 1;
                                eprintln!("{}: error: {}\n", file.display(), super::for_terminal(&e.to_string()));
                                continue;
                            }
                        }
                    }
                    // The models' own checks: a config key the model does not take, a bad value.
                    let faults =
                        match crate::sim::check_models(r, Some(crate::runtime::wasm::ArtifactCache::default_dir())) {
                            Ok(faults) => faults,
                            Err(e) => {
                                invalid += 1;
                                eprintln!("{}: error: {}\n", file.display(), super::for_terminal(&e.to_string()));
                                continue;
                            }
                        };
                    if !faults.is_empty() {
                        invalid += 1;
                        for fault in &faults {
                            eprintln!("{}: error: {}\n", file.display(), super::for_terminal(&fault.to_string()));
                        }
                        let n = faults.len();
                        eprintln!(
                            "{}: {n} error{} in the models' configs\n",
                            file.display(),
                            if n == 1 { "" } else { "s" }
                        );
                        continue;
                    }
                }
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
