//! `--swap NODE=TARGET`: a scenario compared with itself, one node's
//! implementation swapped, so users need not keep two files in step.
//!
//! Targets: `docker` (the node's own `docker:` section, which a wasm node
//! may carry for this), `wasm` (the built-in model of the node's type) and
//! `wasm:FILE` (a component file).

use std::path::{Path, PathBuf};

use crate::scenario::{ComponentSource, Implementation, ResolvedScenario, SandboxLimits, WasmNode};

/// A swap that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwapError {
    #[error("--swap '{0}': expected NODE=docker, NODE=wasm or NODE=wasm:FILE")]
    Syntax(String),
    #[error("--swap: no node '{node}' in the scenario; its nodes are: {known}")]
    UnknownNode { node: String, known: String },
    #[error(
        "--swap {node}=docker: node '{node}' has no `docker:` section\n  = help: add one to the node (with `implementation: wasm` it is used only by --swap)"
    )]
    NoDockerSection { node: String },
    #[error(
        "--swap {node}=wasm: type '{kind}' has no built-in model\n  = help: name a component: --swap {node}=wasm:FILE"
    )]
    NoBuiltin { node: String, kind: String },
    #[error("--swap {node}=wasm:{file}: no such file")]
    NoFile { node: String, file: String },
}

/// Parses `NODE=TARGET` and swaps that node's implementation in `scenario`;
/// relative component paths are taken from `cwd`.
pub fn swap(scenario: &mut ResolvedScenario, spec: &str, cwd: &Path) -> Result<(), SwapError> {
    let (node, target) = spec.split_once('=').ok_or_else(|| SwapError::Syntax(spec.to_string()))?;
    let known = || scenario.nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>().join(", ");
    let Some(index) = scenario.nodes.iter().position(|n| n.id == node) else {
        return Err(SwapError::UnknownNode { node: node.to_string(), known: known() });
    };
    let entry = &mut scenario.nodes[index];
    // A wasm node keeps its own sandbox limits; a container becomes a wasm node with the defaults.
    let (limits, files) = match &entry.implementation {
        Implementation::Wasm(w) => (w.limits, w.files.clone()),
        Implementation::Docker(_) => (SandboxLimits::default(), Default::default()),
    };
    let wasm = |component| Implementation::Wasm(std::sync::Arc::new(WasmNode { component, limits, files }));
    entry.implementation = match target.split_once(':') {
        None if target == "docker" => match &entry.implementation {
            Implementation::Docker(_) => return Ok(()),
            Implementation::Wasm(_) => Implementation::Docker(
                entry.alternative.clone().ok_or_else(|| SwapError::NoDockerSection { node: node.to_string() })?,
            ),
        },
        None if target == "wasm" => {
            if crate::scenario::NodeKind::builtin(entry.kind.name()).is_none() {
                return Err(SwapError::NoBuiltin { node: node.to_string(), kind: entry.kind.name().to_string() });
            }
            wasm(ComponentSource::Builtin(entry.kind.name().to_string()))
        }
        Some(("wasm", file)) => {
            let path: PathBuf = cwd.join(file);
            if !path.is_file() {
                return Err(SwapError::NoFile { node: node.to_string(), file: file.to_string() });
            }
            wasm(ComponentSource::File(path))
        }
        _ => return Err(SwapError::Syntax(spec.to_string())),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(yaml: &str) -> ResolvedScenario {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/inline.yaml");
        crate::scenario::load_str(Path::new("inline.yaml"), &file, yaml).unwrap().resolved
    }

    #[test]
    fn swaps_use_the_nodes_own_docker_section_or_a_model() {
        let mut s = scenario(
            "nodes:\n  - {id: s, type: sensor}\n  - {id: g, type: gateway, docker: {image: 'gw:1'}}\n  - {id: c, type: cloud}\n",
        );
        swap(&mut s, "g=docker", Path::new("/")).unwrap();
        assert!(s.nodes[1].implementation.is_docker());
        swap(&mut s, "g=wasm", Path::new("/")).unwrap();
        assert!(
            matches!(&s.nodes[1].implementation, Implementation::Wasm(w) if w.component == ComponentSource::Builtin("gateway".into()))
        );
        assert_eq!(swap(&mut s, "c=docker", Path::new("/")), Err(SwapError::NoDockerSection { node: "c".into() }));
        assert!(matches!(swap(&mut s, "x=wasm", Path::new("/")), Err(SwapError::UnknownNode { .. })));
        assert!(matches!(swap(&mut s, "g", Path::new("/")), Err(SwapError::Syntax(_))));
        assert!(matches!(swap(&mut s, "g=wasm:nope.wasm", Path::new("/")), Err(SwapError::NoFile { .. })));
    }
}
