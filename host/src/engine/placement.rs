//! [`Placement`]: the sandboxes ([`NodeGroup`]s) a run's nodes live in and
//! which node is where. The run layer makes them (`run/placement.rs`
//! chooses the backends); the engine only steps them, so a test can hand
//! it groups of its own.

use crate::runtime::{FaultKind, NodeFault, NodeGroup, NodeUsage, ShutdownError};
use crate::scenario::ResolvedScenario;

pub struct Placement {
    pub groups: Vec<Box<dyn NodeGroup>>,
    /// For each group, the scenario index of each of its nodes.
    pub members: Vec<Vec<usize>>,
    /// For each node, its (group, index in group); `None` if its sandbox could not be made.
    pub slot: Vec<Option<(usize, usize)>>,
    /// Faults raised while making nodes (a constructor refusing its config).
    pub startup_faults: Vec<(usize, NodeFault)>,
}

impl Placement {
    /// No group yet for the `nodes` nodes of a scenario.
    pub fn new(nodes: usize) -> Self {
        Placement { groups: Vec::new(), members: Vec::new(), slot: vec![None; nodes], startup_faults: Vec::new() }
    }

    /// Adds the group made for `members` (scenario indexes, in the group's
    /// index order), or, when it could not be made, a startup fault for each.
    pub fn add(
        &mut self,
        scenario: &ResolvedScenario,
        members: Vec<usize>,
        made: Result<Box<dyn NodeGroup>, NodeFault>,
    ) {
        match made {
            Ok(group) => {
                let g = self.groups.len();
                for (i, &node) in members.iter().enumerate() {
                    self.slot[node] = Some((g, i));
                }
                self.groups.push(group);
                self.members.push(members);
            }
            Err(fault) => {
                // The culprit keeps its fault; its sandbox mates are stopped with it.
                for node in members {
                    let id = &scenario.nodes[node].id;
                    let f = if *id == fault.node {
                        fault.clone()
                    } else {
                        NodeFault {
                            node: id.clone(),
                            time_us: fault.time_us,
                            kind: FaultKind::SharedSandbox { culprit: fault.node.clone() },
                            detail: String::new(),
                        }
                    };
                    self.startup_faults.push((node, f));
                }
            }
        }
    }

    /// Shuts every group down; what could not be released, by group order.
    pub fn shutdown(&mut self) -> Vec<ShutdownError> {
        self.groups.iter_mut().flat_map(|g| g.shutdown()).collect()
    }

    /// How many times `node` was stepped, as its runtime counted (0 if it was never placed).
    pub fn steps(&self, node: usize) -> u64 {
        self.slot[node].map_or(0, |(g, i)| self.groups[g].usage(i).steps)
    }

    /// What running `node` cost, as its runtime measured it: fuel for WASM
    /// nodes, wall-clock and engine figures for containers. Not results:
    /// fuel depends on packing (nodes sharing an instance share its heap
    /// allocator), the rest on the real clock.
    pub fn usage(&self, scenario: &ResolvedScenario, node: usize) -> NodeUsage {
        match self.slot[node] {
            Some((g, i)) => self.groups[g].usage(i),
            // A node whose sandbox was never made used nothing; WASM nodes still say so in fuel.
            None if !scenario.nodes[node].implementation.is_docker() => {
                NodeUsage { fuel_used: Some(0), ..NodeUsage::default() }
            }
            None => NodeUsage::default(),
        }
    }
}
