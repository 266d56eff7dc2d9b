//! [`NodeGroup`]: the contract between the engine and whatever runs nodes.

use std::collections::BTreeMap;

use super::{Message, Metric, NodeFault, StepOutput};
use crate::scenario::ConfigValue;

/// One node's share of a step: which node, when, and what arrived for it.
#[derive(Debug, Clone)]
pub struct StepCall {
    /// Index of the node in its group ([`NodeGroup::node_ids`]).
    pub index: usize,
    pub now_us: u64,
    pub inbox: Vec<Message>,
}

/// A share of a [`NodeGroup::submit`] that may run on a thread of its
/// own, at the same time as the others (one lane of a pack).
pub type SubmitPart<'a> = Box<dyn FnOnce() + Send + 'a>;

/// What a node has used so far. Each kind of node reports what it can
/// measure; `None` is "not measured here", never zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeUsage {
    pub steps: u64,
    /// WASM fuel consumed (about one unit per guest instruction).
    pub fuel_used: Option<u64>,
    /// Containers: the sum and the largest of the steps' round trips
    /// (request written to reply read), in wall-clock µs.
    pub round_trip_us_total: Option<u64>,
    pub round_trip_us_max: Option<u64>,
    /// Containers: CPU time and peak memory as the engine reports them
    /// at the end of the run (peak memory on cgroup v1 engines only).
    pub cpu_time_us: Option<u64>,
    pub peak_memory_bytes: Option<u64>,
    /// Containers that speak MQTT: answers to deliveries, their processing
    /// times (wall µs: median, 95th percentile, largest), and the virtual
    /// time the run took from wall time (docs/running.md).
    pub answers: Option<u64>,
    pub processing_us_p50: Option<u64>,
    pub processing_us_p95: Option<u64>,
    pub processing_us_max: Option<u64>,
    pub wall_to_virtual_us: Option<u64>,
}

impl NodeUsage {
    /// `(name, value)` of every measured cost, in a fixed order: the rows
    /// of `usage.csv`.
    pub fn measured(&self) -> Vec<(&'static str, u64)> {
        [
            ("fuel_used", self.fuel_used),
            ("round_trip_us_total", self.round_trip_us_total),
            ("round_trip_us_max", self.round_trip_us_max),
            ("cpu_time_us", self.cpu_time_us),
            ("peak_memory_bytes", self.peak_memory_bytes),
            ("answers", self.answers),
            ("processing_us_p50", self.processing_us_p50),
            ("processing_us_p95", self.processing_us_p95),
            ("processing_us_max", self.processing_us_max),
            ("wall_to_virtual_us", self.wall_to_virtual_us),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect()
    }
}

/// A wait for results was cut short by Ctrl-C or SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

/// A resource a group could not release (a container it could not remove).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node '{node}': {problem}")]
pub struct ShutdownError {
    pub node: String,
    pub problem: String,
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

/// A set of nodes that step together (one WASM instance, every container
/// of a run, one native model table). `Send`: the engine steps groups due
/// at one instant on several threads; a group is only ever used by one
/// thread at a time, and what it returns is applied in node order. Every method names nodes by their
/// index in [`node_ids`](NodeGroup::node_ids).
///
/// A step is split in two so that slow nodes overlap: the engine
/// [`submit`](NodeGroup::submit)s to every group due at an instant, then
/// [`collect`](NodeGroup::collect)s from each. A WASM group does its work
/// in `submit`; a container group writes requests in `submit` and waits
/// for all replies together in `collect`.
pub trait NodeGroup: Send {
    /// The ids of the nodes in this group, in index order.
    fn node_ids(&self) -> &[String];

    /// Starts stepping each node in `calls` (distinct indexes, all at one
    /// instant); [`collect`](NodeGroup::collect) returns the results.
    fn submit(&mut self, calls: Vec<StepCall>);

    /// `submit` as parts that may run at once on different threads (a
    /// pack split into lanes: one part a lane); the engine runs every part,
    /// then [`collect`](NodeGroup::collect)s as after `submit`. By default
    /// one part: `submit` itself.
    fn submit_parts(&mut self, calls: Vec<StepCall>) -> Vec<SubmitPart<'_>> {
        vec![Box::new(move || self.submit(calls))]
    }

    /// The results of the last `submit`, in its order. A fault of one node
    /// may fault others that share its sandbox; each result says so. `Err`
    /// only when a wait was cut short by [`Interrupted`].
    fn collect(&mut self) -> Result<Vec<Result<StepOutput, NodeFault>>, Interrupted>;

    /// `submit` then `collect`, for groups that are never interrupted
    /// (WASM, native): tests and benchmarks.
    fn step(&mut self, calls: Vec<StepCall>) -> Vec<Result<StepOutput, NodeFault>> {
        self.submit(calls);
        self.collect().expect("stepped without an interrupt flag")
    }

    /// Final metrics of each node in `indexes`, in that order; called once
    /// per node, after its last step.
    fn finish(&mut self, indexes: &[usize], now_us: u64) -> Vec<Result<Vec<Metric>, NodeFault>>;

    /// Lines logged since the last call, oldest first.
    fn take_logs(&mut self) -> Vec<LogLine>;

    fn usage(&self, index: usize) -> NodeUsage;

    /// The fuel node `index`'s last step used: the WASM instructions its
    /// own code executed, the same whatever else shares its sandbox. The
    /// engine asks it after a step of a node with `cpu:` (its compute
    /// time). `None`, the default: not counted here (a container's time
    /// is measured; native models are not counted).
    fn last_step_fuel(&self, index: usize) -> Option<u64> {
        let _ = index;
        None
    }

    /// A scripted crash of node `index` at `now_us`: whatever it holds is
    /// lost (a container is killed and removed), and the engine steps it no
    /// more until [`restart`](NodeGroup::restart). Not a fault: it happens
    /// because the scenario asked for it. By default nothing happens here:
    /// a node held in this process is replaced at its restart, and until
    /// then the engine does not step it; a container group kills its
    /// container.
    fn crash(&mut self, index: usize, now_us: u64) {
        let _ = (index, now_us);
    }

    /// Makes crashed node `index` afresh at `now_us`, from `config`, as it
    /// was made at the start of the run: a WASM node gets a new resource
    /// (its state is gone) and the random streams of its `restarts`-th
    /// restart ([`crate::seed::restart_id`]); a container is
    /// started again from the same image. A node that cannot be made
    /// again is a fault, as at the start.
    fn restart(
        &mut self,
        index: usize,
        now_us: u64,
        config: &BTreeMap<String, ConfigValue>,
        restarts: u32,
    ) -> Result<(), NodeFault>;

    /// Releases what the group holds (containers, …). Called once on every
    /// path, success or not; what could not be released is returned, not
    /// hidden in `Drop`.
    fn shutdown(&mut self) -> Vec<ShutdownError> {
        Vec::new()
    }
}
