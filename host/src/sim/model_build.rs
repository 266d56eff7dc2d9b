//! [`build_model_folders`]: each model source folder a scenario names is
//! given its component before anything is checked or run: built when the
//! user said so (`xedgesim build`, `run --build`; building runs code from
//! the folder), else the component a previous build made from exactly its
//! current sources (see `runtime/wasm/source_build.rs`), else an error
//! naming the folder and the command that builds it. Either way it says,
//! through `log`, what it built or used, and from where.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::RunError;
use crate::runtime::wasm::{FolderLanguage, build_folder, kept_build};
use crate::scenario::{ComponentSource, Implementation, ResolvedScenario};

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
) -> Result<(), RunError> {
    let file = scenario.source.clone();
    let mut built: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for node in &mut scenario.nodes {
        let Implementation::Wasm(wasm) = &mut node.implementation else { continue };
        let ComponentSource::Folder(dir) = &wasm.component else { continue };
        let component = match built.get(dir) {
            Some(component) => component.clone(),
            None => {
                let component_error = |source| RunError::Component { node: node.id.clone(), source };
                let component = if build {
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
                            return Err(RunError::Unbuilt {
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
        wasm.component = ComponentSource::Built { folder: dir.clone(), component };
    }
    Ok(())
}

/// Points each model folder of `scenario` that has a component kept for
/// its current sources at it, running nothing, and says so through `log`;
/// returns the folders that have none (their nodes keep naming the
/// folder), once each.
pub fn use_kept_builds(
    scenario: &mut ResolvedScenario,
    cache_dir: Option<&Path>,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<Unbuilt>, RunError> {
    let mut kept: BTreeMap<PathBuf, Option<PathBuf>> = BTreeMap::new();
    let mut unbuilt = Vec::new();
    for node in &mut scenario.nodes {
        let Implementation::Wasm(wasm) = &mut node.implementation else { continue };
        let ComponentSource::Folder(dir) = &wasm.component else { continue };
        let component = match kept.get(dir) {
            Some(component) => component.clone(),
            None => {
                let component = kept_build(dir, cache_dir)
                    .map_err(|source| RunError::Component { node: node.id.clone(), source })?;
                match &component {
                    Some(c) => log(&format!("using the model in {}, as built into {}", dir.display(), c.display())),
                    None => unbuilt.push(Unbuilt { node: node.id.clone(), folder: dir.clone() }),
                }
                kept.insert(dir.clone(), component.clone());
                component
            }
        };
        if let Some(component) = component {
            wasm.component = ComponentSource::Built { folder: dir.clone(), component };
        }
    }
    Ok(unbuilt)
}
