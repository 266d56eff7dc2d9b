//! Where each node runs: which [`NodeGroup`] (sandbox) holds it, at which
//! index. Built once, before the run starts; any problem that would stop
//! the run (a Docker node, a component that does not load) is found here,
//! before anything runs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::error::RunError;
use crate::runtime::native::builtin_native;
use crate::runtime::wasm::{NodeSpec, RuntimeOptions, WasmNodeGroup, WasmRuntime};
use crate::runtime::{FaultKind, NodeFault, NodeGroup};
use crate::scenario::{ComponentSource, Implementation, ResolvedScenario, SandboxLimits, WasmNode};

/// How wasm nodes are packed into sandboxes; see docs/sandbox.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    /// One store per node: faults are isolated (the default).
    PerNode,
    /// Up to this many nodes of one component (and one set of limits) per
    /// instance, stepped in one call: far less memory, shared fate.
    Shared { nodes_per_instance: usize },
}

/// Stores at or above this count use wasmtime's pooling allocator: one
/// reservation for all of them and faster instantiation.
const POOLING_THRESHOLD: usize = 256;

/// Kernel memory mappings one store needs (about 4 measured, with margin),
/// and what the rest of the process needs.
const MAPPINGS_PER_STORE: u64 = 5;
const MAPPINGS_BASELINE: u64 = 2_000;

/// Refuses, before anything starts, more stores than the kernel's
/// `vm.max_map_count` allows: each store's memory and tables are separate
/// mappings, and past the limit instantiation fails with ENOMEM.
pub fn check_map_count(stores: usize, max_map_count: Option<u64>) -> Result<(), RunError> {
    let Some(limit) = max_map_count else { return Ok(()) };
    let needed = stores as u64 * MAPPINGS_PER_STORE + MAPPINGS_BASELINE;
    if needed > limit {
        return Err(RunError::TooManySandboxes { stores, needed, limit });
    }
    Ok(())
}

/// The kernel's limit on memory mappings per process, where there is one.
fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count").ok()?.trim().parse().ok()
}

pub struct Placement {
    pub groups: Vec<Box<dyn NodeGroup>>,
    /// For each group, the scenario index of each of its nodes.
    pub members: Vec<Vec<usize>>,
    /// For each node, its (group, index in group); `None` if its sandbox could not be made.
    pub slot: Vec<Option<(usize, usize)>>,
    /// Faults raised while making nodes (a constructor refusing its config).
    pub startup_faults: Vec<(usize, NodeFault)>,
    /// SHA-256 of each component that runs, by name.
    pub components: BTreeMap<String, String>,
}

/// Makes every node of `scenario`.
pub fn place(
    scenario: &ResolvedScenario,
    seed: u64,
    mode: SandboxMode,
    native: bool,
    cache_dir: Option<PathBuf>,
) -> Result<Placement, RunError> {
    let mut wasm_nodes: Vec<(usize, &WasmNode)> = Vec::new();
    for (index, node) in scenario.nodes.iter().enumerate() {
        match &node.implementation {
            Implementation::Docker(_) => return Err(RunError::DockerNotSupported { node: node.id.clone() }),
            Implementation::Wasm(w) => wasm_nodes.push((index, w)),
        }
    }
    // Nodes that share a sandbox: same component and limits, in file order.
    let mut batches: Vec<(ComponentSource, SandboxLimits, Vec<usize>)> = Vec::new();
    for (index, wasm) in &wasm_nodes {
        let open = batches.iter_mut().find(|(source, limits, members)| {
            matches!(mode, SandboxMode::Shared { nodes_per_instance } if members.len() < nodes_per_instance)
                && *source == wasm.component
                && *limits == wasm.limits
        });
        match open {
            Some((_, _, members)) => members.push(*index),
            None => batches.push((wasm.component.clone(), wasm.limits, vec![*index])),
        }
    }
    let mut placement = Placement {
        groups: Vec::new(),
        members: Vec::new(),
        slot: vec![None; scenario.nodes.len()],
        startup_faults: Vec::new(),
        components: BTreeMap::new(),
    };
    let specs = |members: &[usize]| -> Vec<NodeSpec<'_>> {
        members.iter().map(|&i| NodeSpec { id: &scenario.nodes[i].id, config: &scenario.nodes[i].config }).collect()
    };
    if native {
        for (source, _, members) in batches {
            let name = match &source {
                ComponentSource::Builtin(name) => name.clone(),
                ComponentSource::File(_) => {
                    let node = scenario.nodes[members[0]].id.clone();
                    return Err(RunError::NativeUnavailable { node });
                }
            };
            let made = builtin_native(&name, &specs(&members)).expect("every built-in model has a native build");
            add(&mut placement, scenario, members, made);
        }
        return Ok(placement);
    }

    let shared_limits = |limits: SandboxLimits, n: usize| SandboxLimits {
        memory_limit_mb: (limits.memory_limit_mb * n as u64).min(4096),
        max_log_bytes: limits.max_log_bytes.saturating_mul(n as u64),
        ..limits
    };
    let max_memory_mb = batches.iter().map(|(_, l, m)| shared_limits(*l, m.len()).memory_limit_mb).max().unwrap_or(64);
    let stores = batches.len();
    check_map_count(stores, max_map_count())?;
    let options = RuntimeOptions {
        cache_dir,
        pooling_slots: (stores >= POOLING_THRESHOLD).then(|| u32::try_from(stores).unwrap_or(u32::MAX)),
        max_memory_mb,
    };
    let mut runtime = WasmRuntime::new(&options).map_err(RunError::Runtime)?;
    for (source, limits, members) in batches {
        let component = runtime
            .component(&source)
            .map_err(|source| RunError::Component { node: scenario.nodes[members[0]].id.clone(), source })?;
        placement.components.entry(component.name.clone()).or_insert_with(|| hex(&component.sha256));
        let limits = shared_limits(limits, members.len());
        let made = WasmNodeGroup::new(&runtime, &component, seed, &specs(&members), limits)
            .map(|g| Box::new(g) as Box<dyn NodeGroup>);
        add(&mut placement, scenario, members, made);
    }
    Ok(placement)
}

fn add(
    placement: &mut Placement,
    scenario: &ResolvedScenario,
    members: Vec<usize>,
    made: Result<Box<dyn NodeGroup>, NodeFault>,
) {
    match made {
        Ok(group) => {
            let g = placement.groups.len();
            for (i, &node) in members.iter().enumerate() {
                placement.slot[node] = Some((g, i));
            }
            placement.groups.push(group);
            placement.members.push(members);
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
                placement.startup_faults.push((node, f));
            }
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_stores_for_the_kernel_are_refused_with_the_fixes() {
        assert!(check_map_count(10_000, Some(65_530)).is_ok());
        assert!(check_map_count(100_000, None).is_ok(), "no limit known: nothing to check");
        let e = check_map_count(100_000, Some(65_530)).unwrap_err().to_string();
        assert!(e.contains("100000 sandboxes need about 502000 memory mappings"), "{e}");
        assert!(e.contains("sysctl -w vm.max_map_count=1048576") && e.contains("--sandbox shared"), "{e}");
    }
}
