//! [`check_models`]: each WASM node's constructor run on its config, in
//! the sandbox, before any run, so `xedgesim validate` catches a model's
//! config error (an unknown key, a bad value) that the file's own checks
//! cannot know.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::error::RunError;
use crate::runtime::NodeFault;
use crate::runtime::wasm::{NodeSpec, RuntimeOptions, WasmNodeGroup, WasmRuntime};
use crate::scenario::{ComponentSource, ConfigValue, Implementation, ResolvedScenario, SandboxLimits};

/// Makes every WASM node of `scenario` once, alone, and drops it; returns
/// the constructors' faults in node order. A node with the same component,
/// limits and config as one already made is not made again (100,000
/// sensors of one group have a few distinct configs), so its fault is
/// reported for the first such node only. Docker nodes are not started.
pub fn check_models(scenario: &ResolvedScenario, cache_dir: Option<PathBuf>) -> Result<Vec<NodeFault>, RunError> {
    let options = RuntimeOptions { cache_dir, ..RuntimeOptions::default() };
    let mut runtime = WasmRuntime::new(&options).map_err(RunError::Runtime)?;
    let mut seen: BTreeSet<(&ComponentSource, SandboxLimits, &BTreeMap<String, ConfigValue>)> = BTreeSet::new();
    let mut faults = Vec::new();
    for node in &scenario.nodes {
        let Implementation::Wasm(wasm) = &node.implementation else { continue };
        if !seen.insert((&wasm.component, wasm.limits, &node.config)) {
            continue;
        }
        let component = runtime
            .component(&wasm.component)
            .map_err(|source| RunError::Component { node: node.id.clone(), source })?;
        let spec = NodeSpec { id: &node.id, config: &node.config };
        if let Err(fault) = WasmNodeGroup::new(&runtime, &component, scenario.seed, &[spec], wasm.limits) {
            faults.push(fault);
        }
    }
    Ok(faults)
}
