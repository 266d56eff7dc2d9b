//! [`RunOptions`]: how to run a scenario, as plain data (the
//! [`Simulation`](super::Simulation) builder sets them), and [`Hooks`]:
//! who hears the run as it goes.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::recording::LoadedRecording;
use crate::engine::{DEFAULT_MAX_QUEUED_PAYLOAD_BYTES, LogTap, Progress, TraceLevel};
use crate::runtime::record::ReplayMode;

/// How wasm nodes are packed into sandboxes; see docs/sandbox.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    /// One store per node: faults are isolated (the default).
    PerNode,
    /// Up to this many nodes of one component (and one set of limits) per
    /// instance, stepped in one call: far less memory, shared fate.
    Shared { nodes_per_instance: usize },
}

impl std::fmt::Display for SandboxMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SandboxMode::PerNode => write!(f, "per-node"),
            SandboxMode::Shared { nodes_per_instance } => write!(f, "shared:{nodes_per_instance}"),
        }
    }
}

/// How to run a scenario; every field has the default [`RunOptions::new`] gives it.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub seed: u64,
    pub duration_us: u64,
    /// Where outputs go; `None`: `runs/<scenario>-seed<seed>/`.
    pub out_dir: Option<PathBuf>,
    pub trace_level: TraceLevel,
    pub sandbox: SandboxMode,
    /// The built-in models compiled natively (benchmarks only).
    pub native: bool,
    /// The compiled-component cache folder, which also keeps model
    /// folders' builds; `None` (the default) disables it.
    pub cache_dir: Option<PathBuf>,
    /// The cargo that builds Rust model folders; `None` (the default):
    /// `cargo` from `PATH`.
    pub cargo: Option<PathBuf>,
    /// Stops the run cleanly once set.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Threads that step the groups due at one instant (1: the caller's only).
    pub threads: usize,
    /// The Docker engine's endpoint; `None`: the local one.
    pub docker_host: Option<String>,
    /// Nothing is pulled: a Docker node whose image is missing faults.
    pub offline: bool,
    /// The caller's label on every container and volume (`xedgesim.run_label`).
    pub run_label: Option<String>,
    /// Whether model folders are built (running code from them) or only
    /// taken from earlier builds.
    pub build_models: bool,
    /// Keep every delivery and every node's metrics in the summary (equivalence).
    pub record_deliveries: bool,
    /// Bound on the bytes of messages in flight.
    pub max_queued_payload_bytes: u64,
    /// Whether the run writes `report.html`.
    pub report_page: bool,
    /// Whether the run leaves out the scenario's scripted faults.
    pub fault_free: bool,
    /// What to record into `recording.xrec` in the output folder; `None`
    /// (the default): nothing.
    pub record: Option<RecordOptions>,
    /// Nodes answered from recordings instead of run (empty by default).
    pub replay: Vec<ReplayFrom>,
}

/// What a run records (`xedgesim run --record`; docs/running.md, "Record
/// and replay").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOptions {
    /// The nodes to record, by id; empty: every Docker node. A node is
    /// recorded with the nodes it steps with (the run's stdio containers
    /// are one group); a WASM node named here gets a sandbox of its own.
    pub nodes: Vec<String>,
    /// Most bytes the recording may take: past it the outputs are written,
    /// no recording is, and the run ends in an error.
    pub max_bytes: u64,
}

/// The default of [`RecordOptions::max_bytes`]: 256 MiB.
pub const DEFAULT_RECORD_MAX_BYTES: u64 = 256 << 20;

/// The most [`RecordOptions::max_bytes`] may be: 1 GiB, the most a replay
/// reads uncompressed (a larger recording could be written, not read).
pub const MAX_RECORD_MAX_BYTES: u64 = 1 << 30;

/// Nodes answered from a recording.
#[derive(Debug, Clone)]
pub struct ReplayFrom {
    pub recording: Arc<LoadedRecording>,
    /// Which of its nodes, each alone in a group of its own; `None`: every
    /// recorded node, in the groups they were recorded in (`xedgesim replay`).
    pub nodes: Option<Vec<String>>,
    pub mode: ReplayMode,
}

impl RunOptions {
    /// The defaults for a scenario seeded `seed` that lasts `duration_us`.
    pub fn new(seed: u64, duration_us: u64) -> Self {
        RunOptions {
            seed,
            duration_us,
            out_dir: None,
            trace_level: TraceLevel::default(),
            sandbox: SandboxMode::PerNode,
            native: false,
            cache_dir: None,
            cargo: None,
            interrupt: None,
            threads: 1,
            docker_host: None,
            offline: false,
            run_label: None,
            build_models: false,
            record_deliveries: false,
            max_queued_payload_bytes: DEFAULT_MAX_QUEUED_PAYLOAD_BYTES,
            report_page: true,
            fault_free: false,
            record: None,
            replay: Vec::new(),
        }
    }
}

/// Hears each line of image build output.
pub type BuildLog = Box<dyn FnMut(&str)>;

/// Who hears the run as it goes; each is optional.
#[derive(Default)]
pub struct Hooks {
    /// Each line of image and model builds' output.
    pub build_log: Option<BuildLog>,
    /// The lines nodes log at or above a level.
    pub log_tap: Option<LogTap>,
    /// Called every few thousand events.
    pub progress: Option<Box<dyn FnMut(Progress)>>,
}
