//! [`LanedGroup`]: one pack (the nodes `--sandbox shared:N` puts in one
//! sandbox: one failure domain) run as several instances of its component,
//! "lanes", each holding a fixed, contiguous share of the pack's nodes, so
//! that the engine can step them on different threads at one instant.
//!
//! How many lanes a pack gets ([`lane_count`]) is a function of the
//! scenario alone, never of the thread count or the machine: the same
//! instances exist on every machine, so 1 and 16 threads give the same
//! bytes. Only a component whose nodes make few packs is split (1,000
//! gateways in one pack, not 10,000,000 sensors in 10,000 packs), so lanes
//! cost a few instances, not one more per pack.
//!
//! Each node runs as it would alone (the contract, `wit/node.wit`), so a
//! lane returns what the one instance would have for its nodes. A fault
//! is the pack's, as one instance's fault is: when a call poisons a lane,
//! the lane whose culprit one instance would have reached first (the
//! first in node order) is the culprit's; every other node of the call
//! gets `shared_sandbox` naming it, what the other lanes did in that call
//! is undone as far as anyone can see (their steps, fuel and the log lines
//! of nodes one instance would not have reached), and every lane refuses
//! from then on.

use super::log_sink::LogMark;
use super::node_group::WasmNodeGroup;
use crate::runtime::{
    FaultKind, Interrupted, LogLine, Metric, NodeFault, NodeGroup, NodeUsage, StepCall, StepOutput, SubmitPart,
};
use crate::scenario::ConfigValue;

/// The instances a component's packs are split into, between them, when
/// it makes fewer packs than this (one pack: four lanes; two: two each):
/// enough for the cores of a small machine and for the engine to balance
/// them, few enough to cost next to nothing.
pub const LANES_PER_COMPONENT: usize = 4;

/// The fewest nodes a lane holds: a lane is an instance (its memory, its
/// start), worth having only for a share of real work.
pub const MIN_LANE_NODES: usize = 16;

/// The lanes a pack of `nodes` nodes gets when its component (with its
/// limits and files) makes `packs` packs in the run.
pub fn lane_count(nodes: usize, packs: usize) -> usize {
    (LANES_PER_COMPONENT / packs.max(1)).min(nodes / MIN_LANE_NODES).max(1)
}

/// The nodes of each of `lanes` lanes of a pack of `nodes`, in order: as
/// even as can be, the first ones one longer.
pub fn lane_sizes(nodes: usize, lanes: usize) -> Vec<usize> {
    let lanes = lanes.clamp(1, nodes.max(1));
    (0..lanes).map(|k| nodes / lanes + usize::from(k < nodes % lanes)).collect()
}

/// A pack's lanes, stepped as one [`NodeGroup`].
pub struct LanedGroup {
    ids: Vec<String>,
    lanes: Vec<WasmNodeGroup>,
    /// The pack index of each lane's first node.
    starts: Vec<usize>,
    /// The last submit: each call's lane and pack index, in call order.
    order: Vec<(usize, usize)>,
    /// Each lane before the last submit: what undoing it restores.
    saved: Vec<Option<Saved>>,
    /// Set once a fault poisoned the pack.
    poisoned: bool,
}

/// A lane's node books and log before a call.
struct Saved {
    books: Vec<(usize, (u64, u64), bool, u64)>,
    log: LogMark,
}

impl std::fmt::Debug for LanedGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LanedGroup").field("starts", &self.starts).field("ids", &self.ids).finish_non_exhaustive()
    }
}

impl LanedGroup {
    /// One pack of `lanes`, each holding the next nodes in pack order.
    pub fn new(lanes: Vec<WasmNodeGroup>) -> Self {
        let mut starts = Vec::with_capacity(lanes.len());
        let mut ids = Vec::new();
        for lane in &lanes {
            starts.push(ids.len());
            ids.extend_from_slice(lane.node_ids());
        }
        let saved = lanes.iter().map(|_| None).collect();
        LanedGroup { ids, lanes, starts, order: Vec::new(), saved, poisoned: false }
    }

    /// The lane of pack index `index`, and its index there.
    fn locate(&self, index: usize) -> (usize, usize) {
        let lane = self.starts.partition_point(|&start| start <= index) - 1;
        (lane, index - self.starts[lane])
    }

    /// Every lane but `culprit_lane` shares the fault of `culprit` (its
    /// node and time): what it did in this call is undone (its log lines
    /// too for lanes one instance would not have reached), and it refuses
    /// from now on, as one poisoned instance does.
    fn share_fate(&mut self, culprit_lane: usize, culprit: &(String, u64)) {
        for (k, lane) in self.lanes.iter_mut().enumerate() {
            if k == culprit_lane {
                continue;
            }
            if let Some(saved) = self.saved[k].take() {
                for (index, (steps, fuel_used), stopped, last_step_fuel) in saved.books {
                    let slot = &mut lane.slots[index];
                    (slot.steps, slot.fuel_used, slot.stopped, slot.last_step_fuel) =
                        (steps, fuel_used, stopped, last_step_fuel);
                }
                if k > culprit_lane {
                    lane.store.data().log.rewind(saved.log);
                }
                // Nothing it sent this call leaves (its results are replaced).
                lane.store.data_mut().clear_outboxes();
            }
            lane.poisoned_by = Some(culprit.clone());
        }
        self.poisoned = true;
    }

    /// A lane poisoned since the pack was last healthy, the first in lane order.
    fn newly_poisoned(&self) -> Option<(usize, (String, u64))> {
        if self.poisoned {
            return None;
        }
        self.lanes.iter().enumerate().find_map(|(k, lane)| Some((k, lane.poisoned_by.clone()?)))
    }
}

/// What `lane` holds now for the nodes `calls` will step.
fn savepoint(lane: &WasmNodeGroup, calls: &[StepCall]) -> Saved {
    let books = calls
        .iter()
        .map(|c| {
            let slot = &lane.slots[c.index];
            (c.index, (slot.steps, slot.fuel_used), slot.stopped, slot.last_step_fuel)
        })
        .collect();
    Saved { books, log: lane.store.data().log.mark(calls.iter().map(|c| c.index)) }
}

impl NodeGroup for LanedGroup {
    fn node_ids(&self) -> &[String] {
        &self.ids
    }

    fn submit(&mut self, calls: Vec<StepCall>) {
        for part in self.submit_parts(calls) {
            part();
        }
    }

    fn submit_parts(&mut self, calls: Vec<StepCall>) -> Vec<SubmitPart<'_>> {
        let mut per_lane: Vec<Vec<StepCall>> = self.lanes.iter().map(|_| Vec::new()).collect();
        self.order.clear();
        for mut call in calls {
            let (lane, index) = self.locate(call.index);
            self.order.push((lane, call.index));
            call.index = index;
            per_lane[lane].push(call);
        }
        let mut parts: Vec<SubmitPart<'_>> = Vec::new();
        let lanes = self.lanes.iter_mut().zip(self.saved.iter_mut());
        for ((lane, saved), calls) in lanes.zip(per_lane) {
            *saved = None;
            if calls.is_empty() {
                continue;
            }
            parts.push(Box::new(move || {
                *saved = Some(savepoint(lane, &calls));
                lane.submit(calls);
            }));
        }
        parts
    }

    fn collect(&mut self) -> Result<Vec<Result<StepOutput, NodeFault>>, Interrupted> {
        let mut results = Vec::with_capacity(self.lanes.len());
        let mut interrupted = false;
        for lane in &mut self.lanes {
            match lane.collect() {
                Ok(r) => results.push(r.into_iter()),
                Err(Interrupted) => {
                    interrupted = true;
                    results.push(Vec::new().into_iter());
                }
            }
        }
        let fate = self.newly_poisoned();
        if let Some((k, culprit)) = &fate {
            self.share_fate(*k, culprit);
        }
        if interrupted {
            // Cut short: no lane runs anything more, as one instance would not.
            for lane in &mut self.lanes {
                lane.interrupted = true;
            }
            return Err(Interrupted);
        }
        let order = std::mem::take(&mut self.order);
        let merged = order
            .into_iter()
            .map(|(lane, index)| {
                let result = results[lane].next().expect("a lane answers each of its calls");
                match &fate {
                    // One instance would have stopped every other node of the call with the culprit.
                    Some((k, (culprit, time_us))) if lane != *k => match result {
                        Err(fault) if fault.kind == FaultKind::Stopped => Err(fault),
                        _ => Err(NodeFault {
                            node: self.ids[index].clone(),
                            time_us: *time_us,
                            kind: FaultKind::SharedSandbox { culprit: culprit.clone() },
                            detail: String::new(),
                        }),
                    },
                    _ => result,
                }
            })
            .collect();
        Ok(merged)
    }

    fn finish(&mut self, indexes: &[usize], now_us: u64) -> Vec<Result<Vec<Metric>, NodeFault>> {
        let located: Vec<(usize, usize)> = indexes.iter().map(|&i| self.locate(i)).collect();
        let mut per_lane: Vec<std::vec::IntoIter<Result<Vec<Metric>, NodeFault>>> = Vec::new();
        // Lane after lane, as one instance finishes node after node: a fault
        // in one lane's `finish` stops the nodes of the lanes after it.
        for k in 0..self.lanes.len() {
            let mine: Vec<usize> = located.iter().filter(|(lane, _)| *lane == k).map(|&(_, i)| i).collect();
            per_lane.push(self.lanes[k].finish(&mine, now_us).into_iter());
            if let Some((_, culprit)) = self.newly_poisoned() {
                for lane in &mut self.lanes {
                    lane.poisoned_by = Some(culprit.clone());
                }
                self.poisoned = true;
            }
        }
        located.iter().map(|&(lane, _)| per_lane[lane].next().expect("a lane finishes each of its nodes")).collect()
    }

    fn take_logs(&mut self) -> Vec<LogLine> {
        let mut lines = Vec::new();
        for (lane, start) in self.lanes.iter_mut().zip(&self.starts) {
            lines.extend(lane.take_logs().into_iter().map(|l| LogLine { index: l.index + start, ..l }));
        }
        lines
    }

    fn usage(&self, index: usize) -> NodeUsage {
        let (lane, index) = self.locate(index);
        self.lanes[lane].usage(index)
    }

    fn last_step_fuel(&self, index: usize) -> Option<u64> {
        let (lane, index) = self.locate(index);
        self.lanes[lane].last_step_fuel(index)
    }

    fn restart(
        &mut self,
        index: usize,
        now_us: u64,
        config: &std::collections::BTreeMap<String, ConfigValue>,
        restarts: u32,
    ) -> Result<(), NodeFault> {
        let (lane, index) = self.locate(index);
        let made = self.lanes[lane].restart(index, now_us, config, restarts);
        // A restart that poisoned its lane poisons the pack.
        if let Some((_, culprit)) = self.newly_poisoned() {
            for lane in &mut self.lanes {
                lane.poisoned_by = Some(culprit.clone());
            }
            self.poisoned = true;
        }
        made
    }
}
