//! `--allow WHAT` and `--allow-file FILE`: the user's yes to what a
//! scenario asks of the host (docs/sandbox.md, "What a scenario file may
//! do"). The yes comes from the command line or a file the user names,
//! never from the scenario, whose author is not the user.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::scenario::{ALLOW_WORDS, Allowance, Capability, CapabilityKind};

#[derive(Debug, Clone, Args)]
pub struct AllowArgs {
    /// Say yes to what the scenario asks of the host (repeatable, or
    /// comma-separated): build-command, build (model folders), bind:PATH
    /// (binds at or below PATH), bind (any bind), read:PATH (`wasm.files`
    /// at or below PATH), port, network, engine:NAME (the scenario's Docker
    /// engine NAME, wherever the file points it), engine:NAME=ENDPOINT
    /// (that name at that endpoint only), engine (any of its engines).
    /// `xedgesim validate FILE` lists what a file asks, with its lines.
    #[arg(long, value_name = "WHAT", value_delimiter = ',')]
    pub allow: Vec<String>,
    /// Read what to allow from FILE: the same words, one or more a line,
    /// `#` for comments. A file you write, not one that came with the scenario.
    #[arg(long, value_name = "FILE")]
    pub allow_file: Option<PathBuf>,
}

impl AllowArgs {
    /// What the user allowed; an error names the bad word or file.
    pub fn allowance(&self) -> Result<Allowance, String> {
        let mut allowance = Allowance::default();
        if let Some(file) = &self.allow_file {
            let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            allowance.add_file_text(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        }
        for word in &self.allow {
            allowance.add(word).map_err(|e| format!("--allow {e}"))?;
        }
        Ok(allowance)
    }

    /// What the user allowed for running `scenario` (its absolute path),
    /// or the exit code once the error is printed: an allow file that came
    /// with the scenario, or a bad word or file.
    pub fn allowance_for(&self, scenario: &Path) -> Result<Allowance, std::process::ExitCode> {
        self.check_file_is_yours(scenario).and_then(|()| self.allowance()).map_err(|e| {
            eprintln!("error: {}", super::for_terminal(&e));
            std::process::ExitCode::from(super::EXIT_USER_ERROR)
        })
    }

    /// Refuses an allow file in the folder of `scenario` (its absolute
    /// path) or below: it came with the scenario, so it is its author's
    /// yes, not the user's.
    pub fn check_file_is_yours(&self, scenario: &Path) -> Result<(), String> {
        let (Some(file), Some(folder)) = (&self.allow_file, scenario.parent()) else { return Ok(()) };
        let real = std::fs::canonicalize(file).unwrap_or_else(|_| file.clone());
        if folder != Path::new("/") && real.starts_with(folder) {
            return Err(format!(
                "the allow file {} is in the scenario's folder ({}): a yes that came with the scenario is its author's, not yours; nothing was run\n  = help: write your own allow file outside the scenario's folder, or pass `--allow`",
                file.display(),
                folder.display()
            ));
        }
        Ok(())
    }
}

/// Which capabilities a command acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acting {
    /// `xedgesim build`: build commands and builds with network (nothing is started).
    Building,
    /// `run`, and `equiv` without `--swap`: what the nodes' own
    /// implementations do (a WASM node's `docker:` section is not used).
    Running,
    /// `equiv --swap`: every `docker:` section may be used.
    RunningSwapped,
}

/// Prints, for each capability in `asked` that `allowance` does not
/// permit, an error at its line with the flag that allows it; whether
/// every one is permitted. Model folder builds are not refused here: a
/// run without the yes uses the component an earlier build made.
pub fn permitted(asked: &[Capability], allowance: &Allowance, acting: Acting) -> bool {
    let refused: Vec<&Capability> = asked
        .iter()
        .filter(|c| c.kind != CapabilityKind::ModelBuild)
        .filter(|c| match acting {
            Acting::Building => {
                matches!(
                    c.kind,
                    CapabilityKind::BuildCommand | CapabilityKind::BuildNetwork | CapabilityKind::Engine { .. }
                ) && !c.alternative
            }
            Acting::Running => !c.alternative,
            Acting::RunningSwapped => true,
        })
        .filter(|c| !allowance.permits(c))
        .collect();
    for c in &refused {
        let word = c.kind.allow_word().unwrap_or_default();
        eprintln!(
            "{}: error: {}: not allowed without your yes; nothing was run\n  = help: if you trust this file, pass `--allow {word}` (or put `{word}` in a file you name with `--allow-file`)\n",
            c.location(),
            super::for_terminal(&c.description())
        );
    }
    if !refused.is_empty() {
        eprintln!("see docs/sandbox.md, \"What a scenario file may do\"; `--allow` takes {}", ALLOW_WORDS.join(", "));
    }
    refused.is_empty()
}
