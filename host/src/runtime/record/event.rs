//! What a recording holds: per node, every call the engine made to it and
//! what came back, in the order they happened, and the file's header.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::runtime::{LogLevel, LogStream, Message, Metric, NodeFault, NodeUsage, StepOutput};

/// One thing that passed between the engine and one node.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A step at `now_us` with this inbox, what it returned, and the fuel
    /// it used where its group counts it (the compute time of a `cpu:` node).
    Step { now_us: u64, inbox: Vec<Message>, result: Result<StepOutput, NodeFault>, fuel: Option<u64> },
    /// The node's final metrics, asked at `now_us`.
    Finish { now_us: u64, result: Result<Vec<Metric>, NodeFault> },
    /// A scripted crash at `now_us`.
    Crash { now_us: u64 },
    /// The node made again at `now_us` after its `restarts`-th crash.
    Restart { now_us: u64, restarts: u32, result: Result<(), NodeFault> },
    /// Lines the group's `take_logs` returned for this node, when the group
    /// had been called (submit, finish, crash, restart) `after_calls` times.
    Logs { after_calls: u64, lines: Vec<RecordedLog> },
}

/// A log line as recorded: [`LogLine`](crate::runtime::LogLine) without
/// its index in the group (a recording names nodes, not indexes).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedLog {
    pub time_us: u64,
    pub stream: LogStream,
    pub level: LogLevel,
    pub text: String,
}

/// Everything recorded of one node.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedNode {
    pub id: String,
    /// The group it ran in (nodes of one group stepped together), by
    /// number; `None`: it never ran (its startup fault says why).
    pub group: Option<u32>,
    /// Why it could not start (no engine, no image, …), if it could not.
    pub startup_fault: Option<NodeFault>,
    /// What running it cost, as measured when it was recorded; a replay
    /// reports these figures, not its own.
    pub usage: NodeUsage,
    pub events: Vec<Event>,
}

/// The header of a recording: readable JSON at the start of the file, so
/// `head -c 2000 recording.xrec` says what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingHeader {
    /// [`FORMAT_VERSION`](super::FORMAT_VERSION) when written.
    pub format: u32,
    pub xedgesim_version: String,
    /// The scenario file as the recording run was given it (made absolute).
    pub scenario_path: String,
    /// The scenario file's path from the recording's folder, where one
    /// could be made: found there when both were moved together (a
    /// checkout at another path).
    pub scenario_path_from_recording: Option<String>,
    /// SHA-256 of the scenario file, hex.
    pub scenario_sha256: String,
    /// The run options that decide results, as the recorded run had them.
    pub seed: u64,
    pub duration_us: u64,
    pub trace_level: String,
    pub fault_free: bool,
    pub max_queued_payload_bytes: u64,
    /// How WASM nodes were packed (`per-node` or `shared:N`): a node that
    /// faults in a shared instance stops the others in it.
    pub sandbox: String,
    /// Whether the built-in models ran as native code rather than WASM.
    pub native: bool,
    /// What each recorded node ran, by node: `image sha256:…` for a
    /// container, `component <sha256>` for a WASM node.
    pub nodes: BTreeMap<String, String>,
}

/// A whole recording: its header and its nodes, in scenario order.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub header: RecordingHeader,
    pub nodes: Vec<RecordedNode>,
}
