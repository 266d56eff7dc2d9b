//! Compute time (`cpu:`): a step of a node with a CPU speed costs
//! ceil(fuel / instructions_per_us) virtual µs
//! ([`CpuSpeed::compute_us`]), the fuel being what its own code executed
//! in that step ([`NodeGroup::last_step_fuel`](crate::runtime::NodeGroup::last_step_fuel)).
//! Until the cost has passed the node is busy: what it sent leaves at
//! the end (a `Computed` event), and what reaches it meanwhile — messages
//! and its wake-ups — waits, to be handed over in one step at the end, in
//! the order it arrived. Nodes without `cpu:` never enter here.

use std::collections::BTreeMap;

use super::fault_state::HeldMessage;
use crate::runtime::Outgoing;
use crate::scenario::{CpuSpeed, ResolvedScenario};

/// A node computing: when it is done, what it sends then, what waits for it.
#[derive(Debug)]
pub struct Busy {
    pub until_us: u64,
    pub outbox: Vec<Outgoing>,
    /// Messages that reached it while busy, in arrival order.
    pub held: Vec<HeldMessage>,
    /// A wake-up of its came while busy.
    pub woken: bool,
}

/// The compute side of a run.
#[derive(Debug, Default)]
pub struct Compute {
    /// Whether any node has `cpu:` (nothing else here is used otherwise).
    pub present: bool,
    /// Each node's speed; empty when none has one.
    speeds: Vec<Option<CpuSpeed>>,
    busy: BTreeMap<usize, Busy>,
    /// Each node's virtual µs of compute over the run (`usage.csv`).
    total_us: Vec<u64>,
}

impl Compute {
    pub fn for_scenario(scenario: &ResolvedScenario) -> Self {
        // A node swapped into a container (`equiv --swap`) keeps its `cpu:`
        // for the way back, but a container's time is measured, not counted.
        let speed = |n: &crate::scenario::ResolvedNode| n.cpu.clone().filter(|_| !n.implementation.is_docker());
        if scenario.nodes.iter().all(|n| speed(n).is_none()) {
            return Compute::default();
        }
        Compute {
            present: true,
            speeds: scenario.nodes.iter().map(speed).collect(),
            busy: BTreeMap::new(),
            total_us: vec![0; scenario.nodes.len()],
        }
    }

    /// Whether `node` has a CPU speed.
    pub fn has_speed(&self, node: usize) -> bool {
        self.speeds.get(node).is_some_and(Option::is_some)
    }

    /// What `fuel` costs `node`, in virtual µs (0 for a node without a speed).
    pub fn cost_us(&self, node: usize, fuel: u64) -> u64 {
        self.speeds.get(node).and_then(Option::as_ref).map_or(0, |speed| speed.compute_us(fuel))
    }

    /// `node` computes until `until_us` and sends `outbox` then.
    pub fn start(&mut self, node: usize, cost_us: u64, until_us: u64, outbox: Vec<Outgoing>) {
        self.total_us[node] = self.total_us[node].saturating_add(cost_us);
        self.busy.insert(node, Busy { until_us, outbox, held: Vec::new(), woken: false });
    }

    pub fn is_busy(&self, node: usize) -> bool {
        self.present && self.busy.contains_key(&node)
    }

    /// Keeps `message` for busy `node`, behind what it holds already.
    pub fn hold(&mut self, node: usize, message: HeldMessage) {
        self.busy.get_mut(&node).expect("held for a busy node").held.push(message);
    }

    /// A wake-up of busy `node` came: it steps when it is done.
    pub fn wake(&mut self, node: usize) {
        self.busy.get_mut(&node).expect("woken while busy").woken = true;
    }

    /// `node`'s computing done at `now`, if it was due then (a crash may
    /// have ended it earlier, and a restarted node computes anew).
    pub fn finish(&mut self, node: usize, now: u64) -> Option<Busy> {
        if self.busy.get(&node)?.until_us != now {
            return None;
        }
        self.busy.remove(&node)
    }

    /// Ends `node`'s computing without its result (a crash or a fault):
    /// what waited for it, to be dropped.
    pub fn abandon(&mut self, node: usize) -> Vec<HeldMessage> {
        self.busy.remove(&node).map(|b| b.held).unwrap_or_default()
    }

    /// Messages still waiting for busy nodes when the run ended: in flight.
    pub fn held_messages(&self) -> u64 {
        self.busy.values().map(|b| b.held.len() as u64).sum()
    }

    /// Each node's compute time over the run, `None` for nodes without `cpu:`.
    pub fn totals(&self) -> Vec<Option<u64>> {
        self.speeds.iter().zip(&self.total_us).map(|(speed, &total)| speed.as_ref().map(|_| total)).collect()
    }
}
