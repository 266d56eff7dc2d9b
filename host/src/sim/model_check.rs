//! [`check_models`]: each WASM node's constructor run on its config, in
//! the sandbox, before any run, so `xedgesim validate` catches a model's
//! config error (an unknown key, a bad value) that the file's own checks
//! cannot know; [`check_declared_configs`]: each node's config against its
//! component's declaration, at the line of each key. Both load components
//! through one [`check_runtime`], so each is compiled (or read from the
//! cache) once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::error::RunError;
use crate::runtime::NodeFault;
use crate::runtime::wasm::{NodeSpec, RuntimeOptions, WasmError, WasmNodeGroup, WasmRuntime};
use crate::scenario::{
    ComponentSource, ConfigValue, Declaration, Diagnostics, Implementation, ResolvedScenario, SandboxLimits, SourceFile,
};

/// Makes every WASM node of `scenario` once, alone, and drops it; returns
/// the constructors' faults in node order. A node with the same component,
/// limits and config as one already made is not made again (100,000
/// sensors of one group have a few distinct configs), so its fault is
/// reported for the first such node only. Docker nodes are not started.
pub fn check_models(scenario: &ResolvedScenario, runtime: &mut WasmRuntime) -> Result<Vec<NodeFault>, RunError> {
    let mut seen: BTreeSet<(&ComponentSource, SandboxLimits, &BTreeMap<String, ConfigValue>)> = BTreeSet::new();
    let mut faults = Vec::new();
    for node in &scenario.nodes {
        let Implementation::Wasm(wasm) = &node.implementation else { continue };
        // A model folder not built yet: nothing to check (building it is the user's call).
        if matches!(wasm.component, ComponentSource::Folder(_))
            || !seen.insert((&wasm.component, wasm.limits, &node.config))
        {
            continue;
        }
        let component = runtime
            .component(&wasm.component)
            .map_err(|source| RunError::Component { node: node.id.clone(), source })?;
        let spec = NodeSpec { id: &node.id, config: &node.config };
        if let Err(fault) = WasmNodeGroup::new(runtime, &component, scenario.seed, &[spec], wasm.limits) {
            faults.push(fault);
        }
    }
    Ok(faults)
}

/// The runtime the checks load components with: default settings, the
/// compiled-component cache in `cache_dir`, compiles abandoned once
/// `interrupt` is set.
pub fn check_runtime(cache_dir: Option<PathBuf>, interrupt: Option<Arc<AtomicBool>>) -> Result<WasmRuntime, RunError> {
    let options = RuntimeOptions { cache_dir, interrupt, ..RuntimeOptions::default() };
    WasmRuntime::new(&options).map_err(RunError::Runtime)
}

/// Each node's config checked against its own component's declaration
/// (the built-in models' are checked when the file loads), at the line of
/// each key in `source`. Components that declare nothing are skipped.
pub fn check_declared_configs(
    scenario: &ResolvedScenario,
    source: &SourceFile,
    runtime: &mut WasmRuntime,
) -> Result<Diagnostics, RunError> {
    let mut declared: BTreeMap<&ComponentSource, Option<Declaration>> = BTreeMap::new();
    for node in &scenario.nodes {
        let Implementation::Wasm(wasm) = &node.implementation else { continue };
        if matches!(wasm.component, ComponentSource::Builtin(_) | ComponentSource::Folder(_))
            || declared.contains_key(&wasm.component)
        {
            continue;
        }
        let component_error = |source| match source {
            WasmError::Interrupted { component } => RunError::Interrupted { component },
            source => RunError::Component { node: node.id.clone(), source },
        };
        let component = runtime.component(&wasm.component).map_err(component_error)?;
        let declaration = runtime.declaration(&component, wasm.limits).map_err(component_error)?;
        declared.insert(&wasm.component, declaration);
    }
    Ok(source.check_declared(&|i| {
        let Implementation::Wasm(wasm) = &scenario.nodes.get(i)?.implementation else { return None };
        let declaration = declared.get(&wasm.component)?.as_ref()?;
        Some((component_name(&wasm.component), declaration))
    }))
}

/// A component as messages name it: its file name.
fn component_name(source: &ComponentSource) -> String {
    match source {
        ComponentSource::File(path) | ComponentSource::Folder(path) | ComponentSource::Built { folder: path, .. } => {
            path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
        }
        ComponentSource::Builtin(name) => format!("builtin:{name}"),
    }
}
