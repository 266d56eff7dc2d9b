//! [`ScriptedFault`]: one entry of the `faults:` section as the runner
//! takes it (times in µs, legacy type names mapped, node lists sorted).
//! `engine/fault_schedule.rs` turns these into the instants the engine
//! applies; random crashes are drawn there, from the run's seed, so
//! `--seed` moves them too.

use serde::Serialize;

use super::resolved::LinkParams;

/// A fault the scenario asks for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScriptedFault {
    /// When it happens (for `random`: unused; see `between_us`).
    pub at_us: u64,
    /// When it ends: the crash's restart, the partition's heal, the end of
    /// a degrade or stall; `None`: it lasts to the end of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_us: Option<u64>,
    #[serde(flatten)]
    pub action: FaultAction,
}

/// What a scripted fault does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultAction {
    /// The node stops: its state is lost, messages to it are dropped (`node_down`).
    Crash { node: String },
    /// A crashed node is made afresh from its config.
    Restart { node: String },
    /// Messages between these nodes and the rest are dropped (`partition`).
    Partition { nodes: Vec<String> },
    /// Ends the partition of exactly these nodes.
    Heal { nodes: Vec<String> },
    /// The directed link `src -> dst` behaves as `link` says.
    Degrade { src: String, dst: String, link: LinkOverride },
    /// Each of the node's steps happens `delay_us` later.
    Stall { node: String, delay_us: u64 },
    /// `count` crashes of nodes of `node_type`, at times drawn in
    /// `between_us` from the run's seed; each restarts `down_us` later.
    RandomCrash { node_type: String, count: u64, between_us: (u64, u64), down_us: Option<u64> },
}

impl FaultAction {
    /// The name a user writes (`crash`, `random`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            FaultAction::Crash { .. } => "crash",
            FaultAction::Restart { .. } => "restart",
            FaultAction::Partition { .. } => "partition",
            FaultAction::Heal { .. } => "heal",
            FaultAction::Degrade { .. } => "degrade",
            FaultAction::Stall { .. } => "stall",
            FaultAction::RandomCrash { .. } => "random",
        }
    }
}

/// What a degrade changes on a link; `None`: as the link was.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinkOverride {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter_us: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bandwidth_bps: Option<u64>,
}

impl LinkOverride {
    /// The link `base` becomes while degraded.
    pub fn apply(&self, base: LinkParams) -> LinkParams {
        LinkParams {
            latency_us: self.latency_us.unwrap_or(base.latency_us),
            jitter_us: self.jitter_us.unwrap_or(base.jitter_us),
            loss_rate: self.loss_rate.unwrap_or(base.loss_rate),
            bandwidth_bps: self.bandwidth_bps.or(base.bandwidth_bps),
            // Not a degrade's to change: the link's buffer stays, its
            // backlog counted at the bandwidth of the moment.
            queue_bytes: base.queue_bytes,
        }
    }
}
