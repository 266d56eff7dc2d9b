//! Preparing a run, before anything starts: model folders given their
//! components, configs checked.
//!
//! [`build_model_folders`]: each model source folder a scenario names is
//! given its component before anything is checked or run: built when the
//! user said so (`xedgesim build`, `run --build`; building runs code from
//! the folder), else the component a previous build made from exactly its
//! current sources (see `runtime/wasm/source_build.rs`), else an error
//! naming the folder and the command that builds it. Either way it says,
//! through `log`, what it built or used, and from where.
//!
//! [`check_models`]: each WASM node's constructor run on its config, in
//! the sandbox, before any run, so `xedgesim validate` catches a model's
//! config error (an unknown key, a bad value) that the file's own checks
//! cannot know; [`check_declared_configs`]: each node's config against its
//! component's declaration, at the line of each key. Both load components
//! through one [`check_runtime`], so each is compiled (or read from the
//! cache) once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::error::PrepareError;
use crate::runtime::NodeFault;
use crate::runtime::wasm::{
    FolderLanguage, NodeSpec, RuntimeOptions, WasmError, WasmNodeGroup, WasmRuntime, build_folder, kept_build,
};
use crate::scenario::{
    ComponentSource, ConfigValue, Declaration, Diagnostics, Implementation, ResolvedScenario, SandboxLimits,
    SourceFile, WasmNode,
};

/// A model folder without a component for its current sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbuilt {
    /// The first node that runs it.
    pub node: String,
    pub folder: PathBuf,
}

impl Unbuilt {
    /// What building the folder runs, in words.
    pub fn what_building_runs(&self) -> &'static str {
        FolderLanguage::of(&self.folder).map_or("its build tool", FolderLanguage::what_building_runs)
    }
}

/// Gives each model folder of `scenario` its component, once per folder,
/// in node order, and points its nodes at it: built when `build` is true,
/// else the one kept from a build of the same sources (an error when there
/// is none). Components are kept under `cache_dir`; Rust crates are built
/// by `cargo` (`None`: `cargo` from `PATH`); the tools' output and a line
/// saying what was built or used go to `log`.
pub fn build_model_folders(
    scenario: &mut ResolvedScenario,
    cache_dir: Option<&Path>,
    cargo: Option<&Path>,
    build: bool,
    log: &mut dyn FnMut(&str),
) -> Result<(), PrepareError> {
    let file = scenario.source.clone();
    let mut built: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut done = Repointed::new();
    for node in &mut scenario.nodes {
        let Implementation::Wasm(wasm) = &mut node.implementation else { continue };
        let ComponentSource::Folder(dir) = &wasm.component else { continue };
        let component = match built.get(dir) {
            Some(component) => component.clone(),
            None => {
                let component_error = |source| PrepareError::Component { node: node.id.clone(), source };
                // xedgesim's own model folder is built without the user's
                // yes: it runs no code but xedgesim's.
                let own = *dir == crate::scenario::ml_inference_folder();
                if own {
                    own_sources_present(&node.id, dir)?;
                }
                let component = if build || own {
                    let runs = FolderLanguage::of(dir).map_or("its build tool", FolderLanguage::what_building_runs);
                    log(&format!("building the model in {} ({runs})", dir.display()));
                    let component = build_folder(dir, cache_dir, cargo, log).map_err(component_error)?;
                    log(&format!("built the model in {} into {}", dir.display(), component.display()));
                    component
                } else {
                    match kept_build(dir, cache_dir).map_err(component_error)? {
                        Some(component) => {
                            log(&format!(
                                "using the model in {}, as built into {}",
                                dir.display(),
                                component.display()
                            ));
                            component
                        }
                        None => {
                            return Err(PrepareError::Unbuilt {
                                node: node.id.clone(),
                                folder: dir.clone(),
                                runs: FolderLanguage::of(dir)
                                    .map_or("its build tool", FolderLanguage::what_building_runs),
                                file: file.clone(),
                            });
                        }
                    }
                };
                built.insert(dir.clone(), component.clone());
                component
            }
        };
        let source = ComponentSource::Built { folder: dir.clone(), component };
        repoint(wasm, source, &mut done);
    }
    Ok(())
}

/// WASM nodes given a built component, by the address of the one before:
/// that one, kept so its address is not reused, and the one after.
type Repointed = BTreeMap<usize, (Arc<WasmNode>, Arc<WasmNode>)>;

/// Gives `wasm` the component `source`; nodes that shared one WASM node (a
/// `count:` entry's) share the one after, as they did the one before.
fn repoint(wasm: &mut Arc<WasmNode>, source: ComponentSource, done: &mut Repointed) {
    let (_, after) = done.entry(Arc::as_ptr(wasm) as usize).or_insert_with(|| {
        let mut after = WasmNode::clone(wasm);
        after.component = source;
        (wasm.clone(), Arc::new(after))
    });
    *wasm = after.clone();
}

/// Points each model folder of `scenario` that has a component kept for
/// its current sources at it, running nothing, and says so through `log`;
/// returns the folders that have none (their nodes keep naming the
/// folder), once each.
pub fn use_kept_builds(
    scenario: &mut ResolvedScenario,
    cache_dir: Option<&Path>,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<Unbuilt>, PrepareError> {
    let mut kept: BTreeMap<PathBuf, Option<PathBuf>> = BTreeMap::new();
    let mut unbuilt = Vec::new();
    let mut done = Repointed::new();
    for node in &mut scenario.nodes {
        let Implementation::Wasm(wasm) = &mut node.implementation else { continue };
        let ComponentSource::Folder(dir) = &wasm.component else { continue };
        let component = match kept.get(dir) {
            Some(component) => component.clone(),
            None => {
                let component = kept_build(dir, cache_dir)
                    .map_err(|source| PrepareError::Component { node: node.id.clone(), source })?;
                match &component {
                    Some(c) => log(&format!("using the model in {}, as built into {}", dir.display(), c.display())),
                    None => unbuilt.push(Unbuilt { node: node.id.clone(), folder: dir.clone() }),
                }
                kept.insert(dir.clone(), component.clone());
                component
            }
        };
        if let Some(component) = component {
            let source = ComponentSource::Built { folder: dir.clone(), component };
            repoint(wasm, source, &mut done);
        }
    }
    Ok(unbuilt)
}

/// Makes every WASM node of `scenario` once, alone, and drops it; returns
/// the constructors' faults in node order. A node with the same component,
/// limits and config as one already made is not made again (100,000
/// sensors of one group have a few distinct configs), so its fault is
/// reported for the first such node only. Docker nodes are not started.
pub fn check_models(scenario: &ResolvedScenario, runtime: &mut WasmRuntime) -> Result<Vec<NodeFault>, PrepareError> {
    type Seen<'a> =
        (&'a ComponentSource, SandboxLimits, &'a BTreeMap<String, ConfigValue>, &'a BTreeMap<String, PathBuf>);
    let mut seen: BTreeSet<Seen<'_>> = BTreeSet::new();
    let mut staged = super::placement::StagedFiles::default();
    let mut faults = Vec::new();
    for (index, node) in scenario.nodes.iter().enumerate() {
        let Implementation::Wasm(wasm) = &node.implementation else { continue };
        // A model folder not built yet: nothing to check (building it is the user's call).
        if matches!(wasm.component, ComponentSource::Folder(_))
            || !seen.insert((&wasm.component, wasm.limits, &node.config, &wasm.files))
        {
            continue;
        }
        let component = runtime
            .component(&wasm.component)
            .map_err(|source| PrepareError::Component { node: node.id.clone(), source })?;
        let spec = NodeSpec { id: &node.id, config: &node.config };
        let data = staged.for_node(scenario, index, wasm.limits)?;
        if let Err(fault) = WasmNodeGroup::with_data(runtime, &component, scenario.seed, &[spec], wasm.limits, data) {
            faults.push(fault);
        }
    }
    Ok(faults)
}

/// The runtime the checks load components with: default settings, the
/// compiled-component cache in `cache_dir`, compiles abandoned once
/// `interrupt` is set.
pub fn check_runtime(
    cache_dir: Option<PathBuf>,
    interrupt: Option<Arc<AtomicBool>>,
) -> Result<WasmRuntime, PrepareError> {
    let options = RuntimeOptions { cache_dir, interrupt, ..RuntimeOptions::default() };
    WasmRuntime::new(&options).map_err(PrepareError::Runtime)
}

/// Each node's config checked against its own component's declaration
/// (the built-in models' are checked when the file loads), at the line of
/// each key in `source`. Components that declare nothing are skipped.
pub fn check_declared_configs(
    scenario: &ResolvedScenario,
    source: &SourceFile,
    runtime: &mut WasmRuntime,
) -> Result<Diagnostics, PrepareError> {
    let mut declared: BTreeMap<&ComponentSource, Option<Declaration>> = BTreeMap::new();
    for node in &scenario.nodes {
        let Implementation::Wasm(wasm) = &node.implementation else { continue };
        if matches!(wasm.component, ComponentSource::Builtin(_) | ComponentSource::Folder(_))
            || declared.contains_key(&wasm.component)
        {
            continue;
        }
        let component_error = |source| match source {
            WasmError::Interrupted { component } => PrepareError::Interrupted { component },
            source => PrepareError::Component { node: node.id.clone(), source },
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

/// xedgesim's own model folder (`ml_inference`'s, where the build put it)
/// is there: an installed binary whose source tree is gone says so.
fn own_sources_present(node: &str, dir: &Path) -> Result<(), PrepareError> {
    if dir.join("Cargo.toml").is_file() {
        return Ok(());
    }
    Err(PrepareError::MlInferenceSourceMissing { node: node.to_string(), folder: dir.to_path_buf() })
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_installed_binary_without_its_sources_says_so_for_ml_inference() {
        let own = crate::scenario::ml_inference_folder();
        assert!(super::own_sources_present("inference", &own).is_ok(), "this checkout has them");
        let gone = tempfile::tempdir().unwrap();
        let e = super::own_sources_present("inference", gone.path()).unwrap_err().to_string();
        assert!(e.contains("node 'inference' (type ml_inference)") && e.contains("installed without the tree"), "{e}");
        assert!(e.contains("wasm: {component: FILE}"), "says the way out: {e}");
    }
}
