//! [`build_model_folders`]: every model source folder a scenario names is
//! built (see `runtime/wasm/source_build.rs` for what is stale) and the
//! scenario then names the built component, before anything is checked
//! or run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::RunError;
use crate::runtime::wasm::build_folder;
use crate::scenario::{ComponentSource, Implementation, ResolvedScenario};

/// Builds each model folder of `scenario` once, in node order, and points
/// its nodes at the component. Python and JavaScript components are kept
/// under `cache_dir`; the tools' output goes to `log`.
pub fn build_model_folders(
    scenario: &mut ResolvedScenario,
    cache_dir: Option<&Path>,
    log: &mut dyn FnMut(&str),
) -> Result<(), RunError> {
    let mut built: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for node in &mut scenario.nodes {
        let Implementation::Wasm(wasm) = &mut node.implementation else { continue };
        let ComponentSource::Folder(dir) = &wasm.component else { continue };
        let component = match built.get(dir) {
            Some(component) => component.clone(),
            None => {
                log(&format!("building the model in {}", dir.display()));
                let component = build_folder(dir, cache_dir, log)
                    .map_err(|source| RunError::Component { node: node.id.clone(), source })?;
                built.insert(dir.clone(), component.clone());
                component
            }
        };
        wasm.component = ComponentSource::Built { folder: dir.clone(), component };
    }
    Ok(())
}
