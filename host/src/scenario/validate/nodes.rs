//! `nodes:`: ids, types, implementations, and each node's `config:`
//! checked against its model's declaration; a node's `wasm:` and
//! `docker:` sections are checked in `wasm.rs` and `docker.rs`.

use std::collections::BTreeMap;

use super::Checker;
use crate::scenario::config_value::ConfigValue;
use crate::scenario::declaration::{self, Declaration};
use crate::scenario::manifest::{NodeEntry, Scenario};
use crate::scenario::resolved::{Implementation, ML_INFERENCE_TYPE, NodeKind};
use crate::scenario::suggest;

/// Longest accepted node id: ids name run files and container labels.
pub const MAX_NODE_ID_LEN: usize = 64;

/// How an `implementation:` value reads.
pub enum ImplementationName {
    Wasm,
    Docker,
    /// Known to xEdgeSim, not supported here yet.
    NotSupported,
    Unknown,
}

pub fn implementation_name(value: Option<&str>) -> ImplementationName {
    match value {
        None | Some("wasm") | Some("python_model") => ImplementationName::Wasm,
        Some("docker") => ImplementationName::Docker,
        Some("renode_inprocess") => ImplementationName::NotSupported,
        Some(_) => ImplementationName::Unknown,
    }
}

/// The `config:` keys of the built-in model `node` runs, when the host
/// knows them: a WASM node of a built-in type without a component of its
/// own, or a Docker node of a built-in type (as in xEdgeSim, `type:
/// gateway` with `implementation: docker` says the container is that
/// model; a container that takes other keys gets a type of its own). A
/// node's own component gets its config whole: its constructor checks it,
/// at `validate` too.
pub fn builtin_config_keys(node: &NodeEntry) -> Option<(NodeKind, &'static Declaration)> {
    let runs_builtin = match implementation_name(node.implementation.as_deref()) {
        ImplementationName::Wasm => node.wasm.as_ref().is_none_or(|w| w.component.is_none()),
        ImplementationName::Docker => true,
        _ => false,
    };
    let kind = NodeKind::builtin(&node.node_type).filter(|_| runs_builtin)?;
    let declaration = Declaration::builtin(&kind)?;
    Some((kind, declaration))
}

/// The declaration a node's config is checked against, by the node's
/// position and entry, if the host knows it.
pub type DeclarationOf<'f, 'd> = &'f dyn Fn(usize, &NodeEntry) -> Option<(ModelName, &'d Declaration)>;

/// Whose declaration a node's config is checked against.
#[derive(Debug, Clone)]
pub enum ModelName {
    Builtin(NodeKind),
    /// A component of the user's, by its path as the scenario names it.
    Component(String),
}

impl std::fmt::Display for ModelName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelName::Builtin(kind) => write!(f, "built-in {kind} model"),
            ModelName::Component(name) => write!(f, "model {name}"),
        }
    }
}

impl Checker<'_> {
    pub(super) fn nodes(&mut self, scenario: &Scenario) {
        if scenario.nodes.is_empty() {
            self.error(
                "nodes",
                None,
                "the scenario has no nodes",
                "add a `nodes:` list with at least one node, e.g. `- {id: sensor1, type: sensor}`",
            );
            return;
        }
        let mut first_seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, node) in scenario.nodes.iter().enumerate() {
            let path = format!("nodes[{i}]");
            let id = node.id.as_str();
            if let Some(first) = first_seen.get(id) {
                let first_line =
                    self.spans.get(&self.in_file(&format!("nodes[{first}].id"))).map_or(0, |s| s.value.line);
                self.error(
                    &format!("{path}.id"),
                    Some(id),
                    format!("duplicate node id '{id}'"),
                    format!("ids must be unique; '{id}' is first used on line {first_line}"),
                );
            } else {
                first_seen.insert(id, i);
            }
            self.node_id(&path, id);
            self.node(&path, node);
        }
        self.declared_configs(scenario, &first_seen, &|_, node| {
            builtin_config_keys(node).map(|(kind, declaration)| (ModelName::Builtin(kind), declaration))
        });
    }

    /// Every node's config checked against its model's declaration, when
    /// `declared` knows it: keys the model does not take, values of the
    /// wrong kind, required keys missing, and node ids that name no node
    /// (the run would drop every message sent there, as
    /// `unknown_destination`, which xEdgeSim did silently). Keys a built-in
    /// model does not take are warnings: xEdgeSim ignored them, and so does
    /// the run, but not silently.
    pub(super) fn declared_configs<'d>(
        &mut self,
        scenario: &Scenario,
        ids: &BTreeMap<&str, usize>,
        declared: DeclarationOf<'_, 'd>,
    ) {
        let mut candidates: Option<Vec<&str>> = None;
        for (i, node) in scenario.nodes.iter().enumerate() {
            let Some((model, declaration)) = declared(i, node) else { continue };
            let path = format!("nodes[{i}].config");
            for (key, value) in &node.config {
                let Some(declared_key) = declaration.key(key) else {
                    self.undeclared_key(&path, node, key, &model, declaration);
                    continue;
                };
                let value_path = format!("{path}.{key}");
                if !declaration::fits(declared_key.kind, value) {
                    self.error(
                        &value_path,
                        Some(&node.id),
                        format!(
                            "config key '{key}' of the {model} must be {}; found {}",
                            if declared_key.names_node { "a node id" } else { declared_key.kind.name() },
                            declaration::describe(value)
                        ),
                        format!("'{key}': {}", declared_key.doc),
                    );
                    continue;
                }
                if let (true, ConfigValue::Text(target)) = (declared_key.names_node, value)
                    && !ids.contains_key(target.as_str())
                {
                    let candidates = candidates.get_or_insert_with(|| ids.keys().copied().collect());
                    let help = match suggest::closest(target.as_str(), candidates) {
                        Some(close) => format!("did you mean '{close}'? '{key}' is another node's id"),
                        None => format!("'{key}' is another node's id; no node has this one"),
                    };
                    self.error(
                        &value_path,
                        Some(&node.id),
                        format!(
                            "config key '{key}' names no node: '{target}' (every message sent there would be dropped)"
                        ),
                        help,
                    );
                }
            }
            for required in declaration.keys.iter().filter(|k| k.required && !node.config.contains_key(&k.name)) {
                self.error(
                    &path,
                    Some(&node.id),
                    format!("config key '{}' is required by the {model}", required.name),
                    format!("add `{}: …` to the node's `config:` ({})", required.name, required.doc),
                );
            }
        }
    }

    fn undeclared_key(
        &mut self,
        path: &str,
        node: &NodeEntry,
        key: &str,
        model: &ModelName,
        declaration: &Declaration,
    ) {
        let names = declaration.names();
        let takes = if names.is_empty() { "no config keys".to_string() } else { format!("only {}", names.join(", ")) };
        let closest = suggest::closest(key, &names);
        match model {
            ModelName::Builtin(kind) => {
                let help = match closest {
                    Some(close) => format!("did you mean '{close}'? the {kind} model takes {takes}"),
                    None => format!("the {kind} model takes {takes}; remove it (`--strict` makes this an error)"),
                };
                self.node_warning(
                    &format!("{path}.{key}"),
                    &node.id,
                    format!("config key '{key}' is ignored: the built-in {kind} model does not take it"),
                    help,
                );
            }
            ModelName::Component(_) => {
                let help = match closest {
                    Some(close) => format!("did you mean '{close}'? the model takes {takes}"),
                    None => format!("the model takes {takes}"),
                };
                self.key_error(
                    &format!("{path}.{key}"),
                    Some(&node.id),
                    format!("config key '{key}' is not taken by the {model}"),
                    help,
                );
            }
        }
    }

    fn node_id(&mut self, path: &str, id: &str) {
        let valid = !id.is_empty()
            && id.len() <= MAX_NODE_ID_LEN
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            self.error(
                &format!("{path}.id"),
                Some(id),
                format!("invalid node id '{id}'"),
                format!("ids are 1 to {MAX_NODE_ID_LEN} letters, digits, '-' and '_' (they name files and containers)"),
            );
        }
    }

    fn node(&mut self, path: &str, node: &NodeEntry) {
        let id = Some(node.id.as_str());
        let implementation = implementation_name(node.implementation.as_deref());
        match (&implementation, node.implementation.as_deref()) {
            (ImplementationName::NotSupported, Some(name)) => {
                self.error(
                    &format!("{path}.implementation"),
                    id,
                    format!("implementation '{name}' is not supported yet"),
                    "xedgesim runs `wasm` (deterministic) and `docker` nodes; Renode firmware nodes are planned",
                );
            }
            (ImplementationName::Unknown, Some(name)) => {
                self.error(
                    &format!("{path}.implementation"),
                    id,
                    format!("implementation must be one of {}; found '{name}'", Implementation::NAMES.join(", ")),
                    suggest::did_you_mean(name, &["wasm", "docker", "python_model"]),
                );
            }
            _ => {}
        }
        for (key, value) in [("platform", &node.platform), ("firmware", &node.firmware)] {
            if value.is_some() {
                self.not_supported(&format!("{path}.{key}"), id, &format!("`{key}:` (Renode firmware nodes)"));
            }
        }
        self.fault_policy(&format!("{path}.on_fault"), id, node.on_fault.as_deref());
        self.cpu(path, node);

        let is_docker = matches!(implementation, ImplementationName::Docker);
        let has_component = node.wasm.as_ref().is_some_and(|w| w.component.is_some());
        let own_model = node.node_type == ML_INFERENCE_TYPE;
        if NodeKind::builtin(&node.node_type).is_none() && !is_docker && !has_component && !own_model {
            let mut names: Vec<&str> = NodeKind::BUILTIN_NAMES.to_vec();
            names.extend(NodeKind::LEGACY_NAMES.iter().map(|(legacy, _)| *legacy));
            let help = match suggest::closest(&node.node_type, &names) {
                Some(c) => format!(
                    "did you mean '{c}'? A type of your own needs `wasm: {{component: path.wasm}}` or `implementation: docker`"
                ),
                None => format!(
                    "built-in types are {}; a type of your own needs `wasm: {{component: path.wasm}}` or `implementation: docker`",
                    NodeKind::BUILTIN_NAMES.join(", ")
                ),
            };
            self.error(&format!("{path}.type"), id, format!("unknown node type '{}'", node.node_type), help);
        }

        if is_docker {
            if node.wasm.is_some() {
                self.key_error(
                    &format!("{path}.wasm"),
                    id,
                    "a `wasm:` section on a docker node",
                    "remove it, or set `implementation: wasm`",
                );
            }
            match &node.docker {
                None => self.key_error(
                    &format!("{path}.implementation"),
                    id,
                    "a docker node needs a `docker:` section with `image` or `build_context`",
                    "add e.g. `docker: {build_context: containers/gateway}`",
                ),
                Some(docker) => {
                    self.docker(path, &node.id, docker);
                    self.mqtt(path, &node.id, docker);
                }
            }
        } else {
            if let Some(docker) = &node.docker
                && !matches!(implementation, ImplementationName::Unknown | ImplementationName::NotSupported)
            {
                // The node's other implementation: checked as fully as if it ran.
                self.docker(path, &node.id, docker);
                self.mqtt(path, &node.id, docker);
                self.warning(
                    &format!("{path}.docker"),
                    format!(
                        "node '{}' runs as wasm; its `docker:` section is used only by `xedgesim equiv --swap {}=docker`",
                        node.id, node.id
                    ),
                    "set `implementation: docker` to run it in a container",
                );
            }
            if let Some(wasm) = &node.wasm {
                self.wasm(path, &node.id, wasm);
            }
        }
    }

    fn not_supported(&mut self, path: &str, node: Option<&str>, what: &str) {
        self.key_error(
            path,
            node,
            format!("{what} is not supported yet"),
            "remove it; xedgesim runs wasm and docker nodes (see docs/scenario-format.md, \"xEdgeSim compatibility\")",
        );
    }
}
