//! [`RunError`]: why a run could not start or did not finish, by the
//! phase that failed: preparing it ([`PrepareError`]: the scenario, model
//! builds, config checks, compiling and placing), running it
//! ([`EngineError`]), or writing its outputs.

use std::path::PathBuf;

use crate::engine::EngineError;
use crate::runtime::record::RecordError;
use crate::runtime::wasm::WasmError;
use crate::scenario::{DurationError, ScenarioError};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Before the first event; nothing was run.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// While running the scenario.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Writing an output file.
    #[error("cannot write {}: {source}", path.display())]
    Output { path: PathBuf, source: std::io::Error },
    /// The recording (`--record`): its cap passed, or the file not written.
    /// The other outputs were written.
    #[error(transparent)]
    Recording(RecordError),
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Duration(#[from] DurationError),
    #[error(
        "the scenario cannot run: {0}\n  = help: a scenario built in code is not checked as a file is; `xedgesim validate` on a file reports every problem with its line"
    )]
    Unsound(String),
    #[error(
        "node '{node}' uses its own component or a container, which has no native build\n  = help: the native path runs only the built-in models"
    )]
    NativeUnavailable { node: String },
    #[error(
        "node '{node}' has `cpu:`: its compute time is counted from WASM fuel, which the native path does not count\n  = help: run it without `--native` (a benchmark mode), or remove `cpu:`"
    )]
    NativeCompute { node: String },
    #[error("node '{node}': {source}")]
    Component { node: String, source: WasmError },
    #[error(
        "node '{node}': the model in {} is not built from its current sources, and building it runs code from the folder: {runs}; nothing was run\n  = help: if you trust the folder, build it with `xedgesim build {}`, or run with `--build`", folder.display(), file.display()
    )]
    Unbuilt { node: String, folder: PathBuf, runs: &'static str, file: PathBuf },
    #[error(
        "node '{node}' (type ml_inference): its model is built from xedgesim's own sources in {}, which are not there: this xedgesim was installed without the tree it was built from
  = help: run xedgesim from a checkout of its repository, or give the node `wasm: {{component: FILE}}`, an ml-inference component built in one (`cargo build --release --target wasm32-wasip2 --manifest-path models/ml-inference/Cargo.toml`)", folder.display()
    )]
    MlInferenceSourceMissing { node: String, folder: PathBuf },
    #[error("cannot set up the WebAssembly runtime: {0}")]
    Runtime(WasmError),
    #[error(
        "{stores} sandboxes need about {needed} memory mappings, more than this kernel allows (vm.max_map_count = {limit}); nothing was started\n  = help: raise the limit (`sudo sysctl -w vm.max_map_count=1048576`) or pack nodes into shared instances (`--sandbox shared`)"
    )]
    TooManySandboxes { stores: usize, needed: u64, limit: u64 },
    /// The user stopped the run before it started (during a compile).
    #[error("interrupted while compiling {component}, before the run started; nothing was written")]
    Interrupted { component: String },
    /// A recording to replay could not be read.
    #[error(transparent)]
    Recording(#[from] RecordError),
    #[error(
        "cannot {what} node '{node}': {} has no such node (its nodes: {known})\n  = help: name one of its nodes", scenario.display()
    )]
    UnknownNode { what: &'static str, node: String, scenario: PathBuf, known: String },
    #[error(
        "{}: node '{node}' is not in this recording (it holds {recorded})\n  = help: replay one of those, or record the node: `xedgesim run FILE --record --record-node {node}`", recording.display()
    )]
    NotRecorded { node: String, recording: PathBuf, recorded: String },
    #[error("node '{node}' is named by two --replay\n  = help: give one --replay for each node")]
    ReplayedTwice { node: String },
    #[error(
        "node '{node}' is answered from a recording in this run, so it cannot be recorded\n  = help: drop it from --record-node: the recording it is replayed from holds it already"
    )]
    RecordingReplayed { node: String },
    #[error(
        "nothing to record: {} has no Docker node, and --record records the Docker nodes by default\n  = help: name nodes with --record-node NODE (a WASM node's answers can be recorded too)", scenario.display()
    )]
    NothingToRecord { scenario: PathBuf },
    #[error(
        "a recording capped at {max_bytes} bytes could not be replayed: a replay reads at most 1 GiB uncompressed\n  = help: cap it at 1 GiB or less (--record-max-mb 1024 at most)"
    )]
    RecordCapTooLarge { max_bytes: u64 },
    #[error(
        "{}: not the scenario {} was recorded with: its SHA-256 is {found}, the recording's {recorded}\n  = help: replay with the file as it was recorded (`--scenario FILE` names another copy of it), or record again with this one", scenario.display(), recording.display()
    )]
    ScenarioChanged { scenario: PathBuf, recording: PathBuf, found: String, recorded: String },
    #[error(
        "{}: the header's `{field}` is {found}, which no run has (expected {expected}); the file was edited or is damaged\n  = help: record again", recording.display()
    )]
    BadRecordingHeader { recording: PathBuf, field: &'static str, found: String, expected: String },
    #[error(
        "{}: cannot find the scenario it was recorded from: not at {}{}\n  = help: pass --scenario FILE (a copy of the file as it was recorded: its SHA-256 is checked)", recording.display(), recorded.display(), moved.as_ref().map_or_else(String::new, |m| format!(" nor at {} (where it was from the recording's folder)", m.display()))
    )]
    ScenarioNotFound { recording: PathBuf, recorded: PathBuf, moved: Option<PathBuf> },
}

impl From<ScenarioError> for RunError {
    fn from(e: ScenarioError) -> Self {
        RunError::Prepare(e.into())
    }
}

impl From<DurationError> for RunError {
    fn from(e: DurationError) -> Self {
        RunError::Prepare(e.into())
    }
}

impl RunError {
    /// Whether the error came from running the scenario (a fault, a bound
    /// the run hit), so that rerunning it with the same seed shows it again;
    /// not for a file, a setting or the machine, which a rerun cannot help.
    pub fn came_from_the_run(&self) -> bool {
        matches!(self, RunError::Engine(_))
    }

    /// Whether the user stopped the run before it started.
    pub fn is_interrupt(&self) -> bool {
        matches!(self, RunError::Prepare(PrepareError::Interrupted { .. }))
    }

    /// Whether the user can fix it (exit code 2) rather than an internal failure.
    pub fn is_user_error(&self) -> bool {
        match self {
            RunError::Prepare(e) => !matches!(e, PrepareError::Runtime(_)),
            RunError::Engine(e) => e.is_user_error(),
            RunError::Output { .. } => false,
            RunError::Recording(e) => !matches!(e, RecordError::Io { .. }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_says_its_phase_and_what_the_cli_does_with_it() {
        let prepare: RunError = PrepareError::Unsound("a link to nowhere".into()).into();
        assert!(prepare.to_string().starts_with("the scenario cannot run: a link to nowhere"), "{prepare}");
        assert!(matches!(prepare, RunError::Prepare(_)) && prepare.is_user_error() && !prepare.came_from_the_run());
        let interrupted: RunError = PrepareError::Interrupted { component: "x.wasm".into() }.into();
        assert!(interrupted.is_interrupt() && interrupted.is_user_error());
        let engine: RunError =
            EngineError::Livelock { time: "0 s".into(), rounds: 1, events: 1, nodes: "'a'".into() }.into();
        assert!(engine.came_from_the_run() && engine.is_user_error() && !engine.is_interrupt());
        let bug: RunError = EngineError::ResultCount { nodes: "a".into(), calls: 2, results: 1 }.into();
        assert!(bug.came_from_the_run() && !bug.is_user_error());
        let output =
            RunError::Output { path: "out/summary.json".into(), source: std::io::ErrorKind::StorageFull.into() };
        assert!(output.to_string().starts_with("cannot write out/summary.json: "), "{output}");
        assert!(!output.is_user_error() && !output.came_from_the_run());
    }
}
