//! `xedgesim cache clean`: empties the compiled-component cache (it is
//! also bounded by itself; see docs/sandbox.md).

use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::runtime::wasm::ArtifactCache;

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    command: CacheCommand,
}

#[derive(Debug, Subcommand)]
enum CacheCommand {
    /// Remove every compiled component from the cache.
    Clean,
}

pub fn run(args: &CacheArgs) -> ExitCode {
    let CacheCommand::Clean = args.command;
    let Some(dir) = super::env::cache_dir() else {
        println!(
            "nothing to clean: there is no cache folder (none of XEDGESIM_CACHE_DIR, XDG_CACHE_HOME, HOME is set)"
        );
        return ExitCode::SUCCESS;
    };
    if !dir.exists() {
        println!("nothing to clean: {} does not exist", dir.display());
        return ExitCode::SUCCESS;
    }
    match ArtifactCache::new(&dir).and_then(|cache| cache.clean()) {
        Ok((entries, bytes)) => {
            println!(
                "removed {entries} compiled component(s), {:.1} MiB, from {}",
                bytes as f64 / (1 << 20) as f64,
                dir.display()
            );
            // Model folders' built components (see
            // `runtime/wasm/source_build.rs`): built again by `xedgesim build`.
            let builds = dir.join("builds");
            if builds.exists() {
                if let Err(e) = std::fs::remove_dir_all(&builds) {
                    eprintln!("error: cannot remove {}: {e}", builds.display());
                    return ExitCode::FAILURE;
                }
                println!("removed the model folders' built components, {}", builds.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot clean {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
