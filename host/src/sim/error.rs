//! Why a run could not start or did not finish.

use std::path::PathBuf;

use crate::runtime::NodeFault;
use crate::runtime::wasm::WasmError;
use crate::scenario::ScenarioError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Duration(#[from] crate::scenario::DurationError),
    #[error(
        "the scenario cannot run: {0}\n  = help: a scenario built in code is not checked as a file is; `xedgesim validate` on a file reports every problem with its line"
    )]
    Unsound(String),
    #[error(
        "node '{node}' uses its own component or a container, which has no native build\n  = help: the native path runs only the built-in models"
    )]
    NativeUnavailable { node: String },
    #[error("node '{node}': {source}")]
    Component { node: String, source: WasmError },
    #[error(
        "node '{node}': the model in {} is not built from its current sources, and building it runs code from the folder: {runs}; nothing was run\n  = help: if you trust the folder, build it with `xedgesim build {}`, or run with `--build`", folder.display(), file.display()
    )]
    Unbuilt { node: String, folder: PathBuf, runs: &'static str, file: PathBuf },
    #[error("cannot set up the WebAssembly runtime: {0}")]
    Runtime(WasmError),
    #[error("{0}")]
    Fault(NodeFault),
    #[error(
        "the event queue is full ({capacity} events) at t = {time}: node '{node}' was scheduling more\n  = help: shorten the run or lower the message rate; an unbounded queue would exhaust memory"
    )]
    QueueFull { node: String, time: String, capacity: usize },
    #[error(
        "nodes keep stepping at t = {time} without time advancing ({rounds} rounds, {events} events): {nodes}\n  = help: a node that answers every message at once with zero latency, or asks to wake at the current time, never lets time move"
    )]
    Livelock { time: String, rounds: usize, events: u64, nodes: String },
    #[error(
        "messages in flight hold more than {limit} bytes (payloads, topics and ids, and 128 a message) at t = {time}: {held} of them sent by node '{node}'\n  = help: send fewer or smaller messages, or shorten the links' latency; an unbounded backlog would exhaust memory"
    )]
    PayloadBytesFull { node: String, held: u64, time: String, limit: u64 },
    #[error(
        "{stores} sandboxes need about {needed} memory mappings, more than this kernel allows (vm.max_map_count = {limit}); nothing was started\n  = help: raise the limit (`sudo sysctl -w vm.max_map_count=1048576`) or pack nodes into shared instances (`--sandbox shared`)"
    )]
    TooManySandboxes { stores: usize, needed: u64, limit: u64 },
    #[error("a runtime answered {calls} steps with {results} results (nodes {nodes}); this is a bug in xedgesim")]
    ResultCount { nodes: String, calls: usize, results: usize },
    #[error("cannot write {}: {source}", path.display())]
    Output { path: PathBuf, source: std::io::Error },
    /// The user stopped the run before it started (during a compile).
    #[error("interrupted while compiling {component}, before the run started; nothing was written")]
    Interrupted { component: String },
}

impl RunError {
    /// Whether the error came from running the scenario (a fault, a bound
    /// the run hit), so that rerunning it with the same seed shows it again;
    /// not for a file, a setting or the machine, which a rerun cannot help.
    pub fn came_from_the_run(&self) -> bool {
        matches!(
            self,
            RunError::Fault(_)
                | RunError::QueueFull { .. }
                | RunError::Livelock { .. }
                | RunError::PayloadBytesFull { .. }
                | RunError::ResultCount { .. }
        )
    }

    /// Whether the user can fix it (exit code 2) rather than an internal failure.
    pub fn is_interrupt(&self) -> bool {
        matches!(self, RunError::Interrupted { .. })
    }

    pub fn is_user_error(&self) -> bool {
        !matches!(self, RunError::Runtime(_) | RunError::Output { .. } | RunError::ResultCount { .. })
    }
}
