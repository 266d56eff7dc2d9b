//! The engine tests' node group: each step answers from a script and is
//! written down, so what the engine asks of a group is seen directly.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::runtime::{
    FaultKind, Interrupted, LogLine, Message, Metric, NodeFault, NodeGroup, NodeUsage, StepCall, StepOutput,
};
use crate::scenario::ConfigValue;

/// What a node answers to a step: (its id, the time, its inbox) → its output, or a fault.
pub(super) type Script = Box<dyn FnMut(&str, u64, &[Message]) -> Result<StepOutput, FaultKind> + Send>;

/// The fuel a node's step uses: (its id, the time) → fuel.
pub(super) type Fuel = Arc<dyn Fn(&str, u64) -> u64 + Send + Sync>;

/// A node of this id makes its group's `submit` panic.
pub(super) const SUBMIT_PANICS: &str = "submit_panics";

/// A node group that answers from a script and writes down every call.
pub(super) struct FakeGroup {
    pub(super) ids: Vec<String>,
    pub(super) script: Script,
    pub(super) fuel: Fuel,
    pub(super) last_fuel: Vec<u64>,
    pub(super) pending: Vec<StepCall>,
    pub(super) steps: Vec<u64>,
    pub(super) calls: Arc<Mutex<Vec<String>>>,
    /// Answers one result too few: a runtime breaking the contract.
    pub(super) short: bool,
}

impl NodeGroup for FakeGroup {
    fn node_ids(&self) -> &[String] {
        &self.ids
    }

    fn submit(&mut self, calls: Vec<StepCall>) {
        // A part that panics, as a runtime's bug would.
        assert!(!self.ids.iter().any(|id| id == SUBMIT_PANICS), "{SUBMIT_PANICS}: a part panics");
        self.pending = calls;
    }

    fn collect(&mut self) -> Result<Vec<Result<StepOutput, NodeFault>>, Interrupted> {
        let FakeGroup { ids, script, fuel, last_fuel, pending, steps, calls, short } = self;
        let mut results: Vec<_> = std::mem::take(pending)
            .into_iter()
            .map(|call| {
                let id = &ids[call.index];
                steps[call.index] += 1;
                last_fuel[call.index] = fuel(id, call.now_us);
                let inbox: Vec<String> = call
                    .inbox
                    .iter()
                    .map(|m| format!("{}:{}", m.source, String::from_utf8_lossy(&m.payload)))
                    .collect();
                calls.lock().unwrap().push(format!("{} {id} [{}]", call.now_us, inbox.join(" ")));
                script(id, call.now_us, &call.inbox).map_err(|kind| NodeFault {
                    node: id.clone(),
                    time_us: call.now_us,
                    kind,
                    detail: String::new(),
                })
            })
            .collect();
        if *short {
            results.pop();
        }
        Ok(results)
    }

    fn finish(&mut self, indexes: &[usize], now_us: u64) -> Vec<Result<Vec<Metric>, NodeFault>> {
        let ids: Vec<&str> = indexes.iter().map(|&i| self.ids[i].as_str()).collect();
        self.calls.lock().unwrap().push(format!("finish {} at {now_us}", ids.join(",")));
        indexes.iter().map(|_| Ok(vec![Metric::new("seen", 1.0)])).collect()
    }

    fn take_logs(&mut self) -> Vec<LogLine> {
        Vec::new()
    }

    fn usage(&self, index: usize) -> NodeUsage {
        NodeUsage { steps: self.steps[index], ..NodeUsage::default() }
    }

    fn last_step_fuel(&self, index: usize) -> Option<u64> {
        Some(self.last_fuel[index])
    }

    fn crash(&mut self, index: usize, now_us: u64) {
        self.calls.lock().unwrap().push(format!("crash {} at {now_us}", self.ids[index]));
    }

    fn restart(
        &mut self,
        index: usize,
        now_us: u64,
        _config: &BTreeMap<String, ConfigValue>,
        restarts: u32,
    ) -> Result<(), NodeFault> {
        self.calls.lock().unwrap().push(format!("restart {} at {now_us} ({restarts})", self.ids[index]));
        Ok(())
    }
}
