//! [`RecordingGroup`]: wraps any [`NodeGroup`] and records, per node, every
//! call and what it returned, within a [`RecordBudget`] shared by every
//! recorded group of a run. It changes nothing of what passes.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Event, RecordError};
use crate::runtime::{Interrupted, LogLine, Metric, NodeFault, NodeGroup, NodeUsage, StepCall, StepOutput};
use crate::scenario::ConfigValue;

/// The bytes a run's recording may take (held in memory until written):
/// past them, recording stops and the run says so at its end.
#[derive(Debug)]
pub struct RecordBudget {
    _private: (),
}

impl RecordBudget {
    pub fn new(max_bytes: u64) -> Arc<Self> {
        let _ = max_bytes;
        unimplemented!("runtime/record/recorder.rs: RecordBudget::new")
    }

    /// Where the cap was passed, if it was.
    pub fn exceeded(&self) -> Option<RecordError> {
        unimplemented!("runtime/record/recorder.rs: RecordBudget::exceeded")
    }
}

/// A group, recorded.
pub struct RecordingGroup {
    inner: Box<dyn NodeGroup>,
}

/// What a [`RecordingGroup`] recorded, taken when the run is over (the
/// engine owns the group).
#[derive(Debug, Clone)]
pub struct RecordTap {
    _private: (),
}

impl RecordTap {
    /// Each member's events, by index in the group; `Err` when the budget was passed.
    pub fn take(&self) -> Result<Vec<Vec<Event>>, RecordError> {
        unimplemented!("runtime/record/recorder.rs: RecordTap::take")
    }
}

impl RecordingGroup {
    pub fn new(inner: Box<dyn NodeGroup>, budget: Arc<RecordBudget>) -> (Self, RecordTap) {
        let _ = budget;
        let _ = RecordingGroup { inner };
        unimplemented!("runtime/record/recorder.rs: RecordingGroup::new")
    }
}

impl NodeGroup for RecordingGroup {
    fn node_ids(&self) -> &[String] {
        self.inner.node_ids()
    }
    fn submit(&mut self, calls: Vec<StepCall>) {
        self.inner.submit(calls)
    }
    fn collect(&mut self) -> Result<Vec<Result<StepOutput, NodeFault>>, Interrupted> {
        self.inner.collect()
    }
    fn finish(&mut self, indexes: &[usize], now_us: u64) -> Vec<Result<Vec<Metric>, NodeFault>> {
        self.inner.finish(indexes, now_us)
    }
    fn take_logs(&mut self) -> Vec<LogLine> {
        self.inner.take_logs()
    }
    fn usage(&self, index: usize) -> NodeUsage {
        self.inner.usage(index)
    }
    fn last_step_fuel(&self, index: usize) -> Option<u64> {
        self.inner.last_step_fuel(index)
    }
    fn crash(&mut self, index: usize, now_us: u64) {
        self.inner.crash(index, now_us)
    }
    fn restart(
        &mut self,
        index: usize,
        now_us: u64,
        config: &BTreeMap<String, ConfigValue>,
        restarts: u32,
    ) -> Result<(), NodeFault> {
        self.inner.restart(index, now_us, config, restarts)
    }
    fn shutdown(&mut self) -> Vec<crate::runtime::ShutdownError> {
        self.inner.shutdown()
    }
}
