//! [`ReplayGroup`]: a [`NodeGroup`] that answers from a recording instead
//! of running its nodes. Each call is checked against the recorded one:
//! [`ReplayMode::Strict`] stops the run at the first call whose time or
//! inbox differs ([`FaultKind::ReplayDiverged`](crate::runtime::FaultKind)),
//! naming it; [`ReplayMode::Lenient`] answers by time and counts.

use std::collections::BTreeMap;

use super::RecordedNode;
use crate::runtime::{Interrupted, LogLine, Metric, NodeFault, NodeGroup, NodeUsage, StepCall, StepOutput};
use crate::scenario::ConfigValue;

/// What a replay does when a node's inputs stop matching its recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplayMode {
    /// Stop the run at the first call that differs, and name it.
    #[default]
    Strict,
    /// Answer each call with the recorded step at its time (an empty
    /// answer where none was recorded), and count what differed.
    Lenient,
}

/// How one replayed node's calls matched its recording.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    pub node: String,
    /// Steps the engine asked of it.
    pub calls: u64,
    /// Calls at a recorded time whose inbox differed from the recorded one.
    pub inputs_differed: u64,
    /// Calls at a time with no recorded step (answered with nothing).
    pub calls_unrecorded: u64,
    /// Recorded steps no call came for.
    pub recorded_unused: u64,
}

/// The [`ReplayStats`] of a [`ReplayGroup`]'s nodes, read when the run is over.
#[derive(Debug, Clone)]
pub struct ReplayReport {
    _private: (),
}

impl ReplayReport {
    pub fn stats(&self) -> Vec<ReplayStats> {
        unimplemented!("runtime/record/replayer.rs: ReplayReport::stats")
    }
}

/// Nodes answered from their recordings.
pub struct ReplayGroup {
    ids: Vec<String>,
}

impl ReplayGroup {
    /// A group of `nodes` (its members, in index order). `recording` names
    /// the file in divergence messages. `same_group`: the nodes are the
    /// whole group they were recorded in, as recorded (`xedgesim replay`),
    /// so log lines come back at the very calls they came at.
    pub fn new(
        nodes: Vec<RecordedNode>,
        mode: ReplayMode,
        recording: String,
        same_group: bool,
    ) -> (Self, ReplayReport) {
        let _ = (mode, recording, same_group);
        let _ = ReplayGroup { ids: nodes.iter().map(|n| n.id.clone()).collect() };
        unimplemented!("runtime/record/replayer.rs: ReplayGroup::new")
    }
}

impl NodeGroup for ReplayGroup {
    fn node_ids(&self) -> &[String] {
        &self.ids
    }
    fn submit(&mut self, calls: Vec<StepCall>) {
        let _ = calls;
        unimplemented!()
    }
    fn collect(&mut self) -> Result<Vec<Result<StepOutput, NodeFault>>, Interrupted> {
        unimplemented!()
    }
    fn finish(&mut self, indexes: &[usize], now_us: u64) -> Vec<Result<Vec<Metric>, NodeFault>> {
        let _ = (indexes, now_us);
        unimplemented!()
    }
    fn take_logs(&mut self) -> Vec<LogLine> {
        unimplemented!()
    }
    fn usage(&self, index: usize) -> NodeUsage {
        let _ = index;
        unimplemented!()
    }
    fn restart(
        &mut self,
        index: usize,
        now_us: u64,
        config: &BTreeMap<String, ConfigValue>,
        restarts: u32,
    ) -> Result<(), NodeFault> {
        let _ = (index, now_us, config, restarts);
        unimplemented!()
    }
}
