//! [`NodeGroup`]: the contract between the engine and whatever runs nodes.

use super::{Message, Metric, NodeFault, StepOutput};

/// One node's share of a step: which node, when, and what arrived for it.
#[derive(Debug, Clone)]
pub struct StepCall {
    /// Index of the node in its group ([`NodeGroup::node_ids`]).
    pub index: usize,
    pub now_us: u64,
    pub inbox: Vec<Message>,
}

/// What a node has used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeUsage {
    pub steps: u64,
    /// WASM fuel consumed (about one unit per guest instruction); 0 elsewhere.
    pub fuel_used: u64,
}

pub use xedgesim_model::LogLevel;

/// Where a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// The `xedgesim:node/log` import.
    Log,
    Stdout,
    Stderr,
}

/// One line a node logged, at the virtual time it was logged.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub index: usize,
    pub time_us: u64,
    pub stream: LogStream,
    pub level: LogLevel,
    pub text: String,
}

/// A set of nodes that step together (one WASM instance, one container,
/// one native model table). Every method names nodes by their index in
/// [`node_ids`](NodeGroup::node_ids).
pub trait NodeGroup {
    /// The ids of the nodes in this group, in index order.
    fn node_ids(&self) -> &[String];

    /// Steps each node in `calls` (distinct indexes, all at one instant)
    /// and returns their results in the same order. A fault of one node may
    /// fault others that share its sandbox; each result says so.
    fn step(&mut self, calls: Vec<StepCall>) -> Vec<Result<StepOutput, NodeFault>>;

    /// The node's final metrics; called once, after its last step.
    fn finish(&mut self, index: usize, now_us: u64) -> Result<Vec<Metric>, NodeFault>;

    /// Lines logged since the last call, oldest first.
    fn take_logs(&mut self) -> Vec<LogLine>;

    fn usage(&self, index: usize) -> NodeUsage;
}
