//! [`ScriptedFault`]: one entry of the `faults:` section as the runner
//! takes it (times in µs, legacy type names mapped, node lists sorted),
//! and [`ScriptedFaultKind`], the one list of the kinds' names: the
//! checks, the messages and the trace take them from it.
//! `engine/fault_schedule.rs` turns these into the instants the engine
//! applies; random crashes are drawn there, from the run's seed, so
//! `--seed` moves them too.

use std::fmt;

use serde::Serialize;

/// A kind of scripted fault, named by the key that starts its entry
/// (`crash: gateway`). Not a node fault (`runtime`'s `FaultKind`), which
/// happens to a run when a model misbehaves; these are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScriptedFaultKind {
    Crash,
    Restart,
    Partition,
    Heal,
    Degrade,
    Stall,
    /// Crashes of random nodes (`random: crash`).
    Random,
}

impl ScriptedFaultKind {
    /// Every kind, in the order the file format lists them.
    pub const ALL: [ScriptedFaultKind; 7] = [
        ScriptedFaultKind::Crash,
        ScriptedFaultKind::Restart,
        ScriptedFaultKind::Partition,
        ScriptedFaultKind::Heal,
        ScriptedFaultKind::Degrade,
        ScriptedFaultKind::Stall,
        ScriptedFaultKind::Random,
    ];

    /// The key a user writes, and the name the trace and summary give it.
    pub const fn name(self) -> &'static str {
        match self {
            ScriptedFaultKind::Crash => "crash",
            ScriptedFaultKind::Restart => "restart",
            ScriptedFaultKind::Partition => "partition",
            ScriptedFaultKind::Heal => "heal",
            ScriptedFaultKind::Degrade => "degrade",
            ScriptedFaultKind::Stall => "stall",
            ScriptedFaultKind::Random => "random",
        }
    }

    /// `kinds`' names, for messages that list them.
    pub fn names(kinds: &[ScriptedFaultKind]) -> Vec<&'static str> {
        kinds.iter().map(|k| k.name()).collect()
    }
}

impl fmt::Display for ScriptedFaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

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
    /// Its kind.
    pub fn scripted_kind(&self) -> ScriptedFaultKind {
        match self {
            FaultAction::Crash { .. } => ScriptedFaultKind::Crash,
            FaultAction::Restart { .. } => ScriptedFaultKind::Restart,
            FaultAction::Partition { .. } => ScriptedFaultKind::Partition,
            FaultAction::Heal { .. } => ScriptedFaultKind::Heal,
            FaultAction::Degrade { .. } => ScriptedFaultKind::Degrade,
            FaultAction::Stall { .. } => ScriptedFaultKind::Stall,
            FaultAction::RandomCrash { .. } => ScriptedFaultKind::Random,
        }
    }

    /// The name a user writes (`crash`, `random`, …).
    pub fn kind(&self) -> &'static str {
        self.scripted_kind().name()
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
