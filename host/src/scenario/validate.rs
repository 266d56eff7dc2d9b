//! Semantic checks on a parsed [`Scenario`]: every problem in the file is
//! reported, each pointing at the line of the thing it is about.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::build_context;
use super::config_value::ConfigValue;
use super::declaration::Declaration;
use super::diagnostic::{Diagnostic, Diagnostics};
use super::manifest::{DockerSection, NetworkSection, NodeEntry, Scenario, WasmSection};
use super::margin::{MIN_TRIALS_FLOOR, Margin};
use super::parse::SpanMap;
use super::resolved::{
    ContainerProtocol, DEFAULT_BUILD_TIMEOUT_S, DEFAULT_DOCKER_CPUS, DEFAULT_DOCKER_MEMORY_MB,
    DEFAULT_DOCKER_PIDS_LIMIT, DEFAULT_START_TIMEOUT_MS, DEFAULT_STEP_TIMEOUT_MS, DOCKER_CPUS, DOCKER_FRAME_BYTES,
    DOCKER_MEMORY_MB, DOCKER_PIDS_LIMIT, DOCKER_TIMEOUT_MS, FaultPolicy, Implementation, LINK_QUEUE_BYTES,
    MAX_BUILD_TIMEOUT_S, MODEL_FOLDER_FILES, NetworkModel, NodeKind, PAYLOAD_MATCHES,
};
use super::suggest;

/// Longest accepted node id: ids name run files and container labels.
pub const MAX_NODE_ID_LEN: usize = 64;
pub const NETWORK_MODES: &[&str] = &["none", "bridge"];

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

/// Whether a `volumes:` key names a volume (`models`) rather than a host
/// path (`./models`, `/data`): a key without `/` that does not start with
/// `.` or `~`, as docker-py reads xEdgeSim's files.
pub fn is_named_volume(key: &str) -> bool {
    !key.contains('/') && !key.starts_with('.') && !key.starts_with('~')
}

/// Whether `name` is one the engine accepts for a volume
/// (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`).
fn is_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// A container or host port written as a number or a string of digits.
pub fn port_number(value: &ConfigValue) -> Option<u16> {
    let n: i64 = match value {
        ConfigValue::Integer(i) => *i,
        ConfigValue::Text(s) => s.trim().strip_suffix("/tcp").unwrap_or(s.trim()).parse().ok()?,
        _ => return None,
    };
    u16::try_from(n).ok().filter(|p| *p >= 1)
}

/// Checks `scenario` (parsed from `file`, text `source`) and returns every
/// problem. Relative paths in it are checked against `base_dir`, the
/// scenario file's folder.
pub fn validate(
    file: &Path,
    base_dir: &Path,
    source: &str,
    spans: &SpanMap,
    origins: &[usize],
    scenario: &Scenario,
) -> Diagnostics {
    let mut checker = Checker {
        file,
        base_dir,
        source,
        spans,
        origins,
        found: Vec::new(),
        unreported_errors: 0,
        unreported_warnings: 0,
    };
    checker.simulation(scenario);
    checker.network(scenario);
    checker.nodes(scenario);
    checker.equivalence(scenario);
    checker.faults(scenario);
    if scenario.ml_inference.is_some() {
        checker.key_error(
            "ml_inference",
            None,
            "the `ml_inference:` section (xEdgeSim's ML placement experiments) is not supported",
            "remove it: the study runs with its containers as nodes that speak MQTT (`docker.protocol: mqtt`), as \
             scenarios/ml_inference_mqtt.yaml does (docs/container-protocol.md)",
        );
    }
    checker.into_diagnostics()
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

/// Checks each node's config against the declaration `declared` gives for
/// it (the components' own, read by the runtime after the file loaded).
pub fn validate_declared<'d>(
    file: &Path,
    source: &str,
    spans: &SpanMap,
    origins: &[usize],
    scenario: &Scenario,
    declared: DeclarationOf<'_, 'd>,
) -> Diagnostics {
    let mut checker = Checker {
        file,
        base_dir: Path::new("/"),
        source,
        spans,
        origins,
        found: Vec::new(),
        unreported_errors: 0,
        unreported_warnings: 0,
    };
    let ids: BTreeMap<&str, usize> = scenario.nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
    checker.declared_configs(scenario, &ids, declared);
    checker.into_diagnostics()
}

/// Most diagnostics reported for one file: past it they are counted, not
/// built (each quotes its line), so a file of repeated mistakes costs little.
pub const MAX_DIAGNOSTICS: usize = 100;

pub(super) struct Checker<'a> {
    file: &'a Path,
    base_dir: &'a Path,
    source: &'a str,
    spans: &'a SpanMap,
    /// For each node, the index of the file entry it came from (a group
    /// makes many nodes of one entry).
    origins: &'a [usize],
    found: Vec<Diagnostic>,
    unreported_errors: usize,
    unreported_warnings: usize,
}

impl Checker<'_> {
    /// What was found, in file order, and a last line counting what was
    /// not shown past [`MAX_DIAGNOSTICS`].
    fn into_diagnostics(self) -> Diagnostics {
        let mut found = self.found;
        found.sort_by_key(|d| d.position);
        if self.unreported_errors + self.unreported_warnings > 0 {
            let more = self.unreported_errors + self.unreported_warnings;
            let message = format!("… and {more} more problems not shown ({} errors)", self.unreported_errors);
            let d = if self.unreported_errors > 0 {
                Diagnostic::error(self.file, message)
            } else {
                Diagnostic::warning(self.file, message)
            };
            found.push(d.help("fix the ones above first; the rest are often the same mistake"));
        }
        Diagnostics(found)
    }

    /// `path` as it is in the file: `nodes[K]` of a node made by a group is
    /// its group's entry.
    fn in_file(&self, path: &str) -> String {
        if let Some(rest) = path.strip_prefix("nodes[")
            && let Some((index, tail)) = rest.split_once(']')
            && let Ok(k) = index.parse::<usize>()
            && let Some(&origin) = self.origins.get(k)
        {
            return format!("nodes[{origin}]{tail}");
        }
        path.to_string()
    }

    /// An error about the value at `path`.
    /// Whether the report is full; counts the diagnostic if so.
    fn full(&mut self, error: bool) -> bool {
        if self.found.len() < MAX_DIAGNOSTICS {
            return false;
        }
        if error {
            self.unreported_errors += 1;
        } else {
            self.unreported_warnings += 1;
        }
        true
    }

    pub(super) fn error(
        &mut self,
        path: &str,
        node: Option<&str>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        if self.full(true) {
            return;
        }
        let mut d = Diagnostic::error(self.file, message).help(help);
        if let Some((pos, len)) = self.spans.value_or_parent(&self.in_file(path)) {
            d = d.at(self.source, pos, len);
        }
        if let Some(id) = node {
            d = d.node(id);
        }
        self.found.push(d);
    }

    /// An error about the key at `path` (the key, not its value, is wrong).
    pub(super) fn key_error(
        &mut self,
        path: &str,
        node: Option<&str>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        if self.full(true) {
            return;
        }
        let mut d = Diagnostic::error(self.file, message).help(help);
        let path = self.in_file(path);
        if let Some((pos, len)) = self.spans.key(&path).or_else(|| self.spans.value_or_parent(&path)) {
            d = d.at(self.source, pos, len);
        }
        if let Some(id) = node {
            d = d.node(id);
        }
        self.found.push(d);
    }

    fn warning(&mut self, path: &str, message: impl Into<String>, help: impl Into<String>) {
        self.warning_about(path, None, message, help);
    }

    fn node_warning(&mut self, path: &str, node: &str, message: impl Into<String>, help: impl Into<String>) {
        self.warning_about(path, Some(node), message, help);
    }

    fn warning_about(&mut self, path: &str, node: Option<&str>, message: impl Into<String>, help: impl Into<String>) {
        if self.full(false) {
            return;
        }
        let mut d = Diagnostic::warning(self.file, message).help(help);
        if let Some((pos, len)) = self.spans.key(&self.in_file(path)) {
            d = d.at(self.source, pos, len);
        }
        if let Some(id) = node {
            d = d.node(id);
        }
        self.found.push(d);
    }

    fn not_supported(&mut self, path: &str, node: Option<&str>, what: &str) {
        self.key_error(
            path,
            node,
            format!("{what} is not supported yet"),
            "remove it; xedgesim runs wasm and docker nodes (see docs/scenario-format.md, \"xEdgeSim compatibility\")",
        );
    }

    fn fault_policy(&mut self, path: &str, node: Option<&str>, value: Option<&str>) {
        if let Some(v) = value
            && FaultPolicy::from_name(v).is_none()
        {
            self.error(
                path,
                node,
                format!("on_fault must be one of {}; found '{v}'", FaultPolicy::NAMES.join(", ")),
                suggest::did_you_mean(v, FaultPolicy::NAMES),
            );
        }
    }

    fn equivalence(&mut self, scenario: &Scenario) {
        let Some(e) = &scenario.equivalence else { return };
        if let Some(p) = &e.payloads
            && !PAYLOAD_MATCHES.contains(&p.as_str())
        {
            self.error(
                "equivalence.payloads",
                None,
                format!("payloads must be one of {}; found '{p}'", PAYLOAD_MATCHES.join(", ")),
                suggest::did_you_mean(p, PAYLOAD_MATCHES),
            );
        }
        if e.ignore_timing == Some(true) && e.time_tolerance_us.is_some() {
            self.key_error(
                "equivalence.time_tolerance_us",
                None,
                "`time_tolerance_us` with `ignore_timing: true`: arrival times are not compared",
                "remove one of the two",
            );
        }
        if e.json_tolerance.is_some() && e.payloads.as_deref() != Some("json") {
            self.key_error(
                "equivalence.json_tolerance",
                None,
                "`json_tolerance` without `payloads: json`",
                "add `payloads: json`; byte-for-byte payloads have no tolerance",
            );
        }
        for key in ["json_tolerance", "metric_tolerance"] {
            let value = if key == "json_tolerance" { e.json_tolerance } else { e.metric_tolerance };
            if let Some(v) = value
                && !(v.is_finite() && v >= 0.0)
            {
                self.error(
                    &format!("equivalence.{key}"),
                    None,
                    format!("{key} must be a number >= 0 (a fraction, e.g. 0.01 for 1 %); found {v}"),
                    "omit it for exact comparison",
                );
            }
        }
        let margins = e.margins.iter().map(|(k, v)| (format!("equivalence.margins.{k}"), v));
        for (path, value) in margins.chain(e.margin_default.iter().map(|v| ("equivalence.margin_default".into(), v))) {
            if let Err(error) = Margin::from_config(value) {
                self.error(&path, None, error.to_string(), "e.g. `latency_p50_us: 500` or `windows_closed: 5%`");
            }
        }
        if let Some(n) = e.min_trials
            && n < MIN_TRIALS_FLOOR
        {
            self.error(
                "equivalence.min_trials",
                None,
                format!("min_trials must be at least {MIN_TRIALS_FLOOR}; found {n}"),
                format!("omit it ({MIN_TRIALS_FLOOR} trials per side) or ask for more"),
            );
        }
        let ids: Vec<&str> = scenario.nodes.iter().map(|n| n.id.as_str()).collect();
        for (i, node) in e.ignore_nodes.iter().enumerate() {
            if !ids.contains(&node.as_str()) {
                self.error(
                    &format!("equivalence.ignore_nodes.{i}"),
                    None,
                    format!("no node '{node}' to ignore"),
                    suggest::did_you_mean(node, &ids),
                );
            }
        }
    }

    fn simulation(&mut self, scenario: &Scenario) {
        let Some(sim) = &scenario.simulation else { return };
        if let Some(Err(e)) = sim.duration_s.map(super::duration::duration_us) {
            self.error(
                "simulation.duration_s",
                None,
                e.to_string(),
                "set the virtual run length in seconds, e.g. `duration_s: 10`",
            );
        }
        if sim.time_quantum_us == Some(0) {
            self.error(
                "simulation.time_quantum_us",
                None,
                "time_quantum_us must be greater than 0",
                "omit it (default 1000) or give the time resolution in microseconds",
            );
        }
        self.fault_policy("simulation.on_fault", None, sim.on_fault.as_deref());
    }

    fn network(&mut self, scenario: &Scenario) {
        let Some(net) = &scenario.network else { return };
        let model = match net.model.as_deref() {
            // As in xEdgeSim, whose files run verbatim.
            None => Some(NetworkModel::Direct),
            Some(name) => {
                let model = NetworkModel::from_name(name);
                if model.is_none() {
                    self.error(
                        "network.model",
                        None,
                        format!("network model must be one of {}; found '{name}'", NetworkModel::NAMES.join(", ")),
                        suggest::did_you_mean(name, NetworkModel::NAMES),
                    );
                }
                model
            }
        };
        self.link_values(
            "network",
            "default_",
            net.default_latency_us,
            net.default_jitter_us,
            net.default_loss_rate,
            net.default_bandwidth_bps,
            None,
        );
        self.queue_bytes(
            "network",
            "default_",
            net.default_queue_bytes,
            net.default_bandwidth_bps.is_some(),
            "add `default_bandwidth_bps` (a buffer fills at its link's bandwidth), or remove `default_queue_bytes`",
        );
        let node_ids: Vec<&str> = scenario.nodes.iter().map(|n| n.id.as_str()).collect();
        let mut seen = BTreeSet::new();
        for (i, link) in net.links.iter().enumerate() {
            let path = format!("network.links[{i}]");
            for (end, id) in [("src", &link.src), ("dst", &link.dst)] {
                if !node_ids.contains(&id.as_str()) {
                    self.error(
                        &format!("{path}.{end}"),
                        None,
                        format!("link {end} '{id}' is not a node in this scenario"),
                        suggest::closest(id, &node_ids).map_or_else(
                            || format!("nodes are: {}", node_ids.join(", ")),
                            |c| format!("did you mean '{c}'?"),
                        ),
                    );
                }
            }
            if link.src == link.dst {
                self.error(
                    &format!("{path}.dst"),
                    None,
                    format!("link from '{}' to itself", link.src),
                    "a node's messages to itself are delivered at once; remove this link",
                );
            } else if !seen.insert((&link.src, &link.dst)) {
                self.error(
                    &format!("{path}.dst"),
                    None,
                    format!("a second link from '{}' to '{}'", link.src, link.dst),
                    "links are directed and each pair has at most one: merge the two entries",
                );
            }
            self.link_values(&path, "", link.latency_us, link.jitter_us, link.loss_rate, link.bandwidth_bps, None);
            self.queue_bytes(
                &path,
                "",
                link.queue_bytes,
                link.bandwidth_bps.is_some() || net.default_bandwidth_bps.is_some(),
                "add `bandwidth_bps` to this link or `default_bandwidth_bps` to `network:` (a buffer fills at its link's bandwidth), or remove `queue_bytes`",
            );
        }
        if model == Some(NetworkModel::Direct) {
            self.direct_warnings(net);
        }
    }

    /// Warns about each latency setting that `model: direct` overrides.
    fn direct_warnings(&mut self, net: &NetworkSection) {
        let defaults = [
            ("default_latency_us", net.default_latency_us.is_some_and(|v| v != 0)),
            ("default_jitter_us", net.default_jitter_us.is_some_and(|v| v != 0)),
            ("default_loss_rate", net.default_loss_rate.is_some_and(|v| v != 0.0)),
            ("default_bandwidth_bps", net.default_bandwidth_bps.is_some()),
            ("default_queue_bytes", net.default_queue_bytes.is_some()),
        ];
        for (key, set) in defaults {
            if set {
                let why = if net.model.is_none() {
                    "`model: direct` (the default, as in xEdgeSim)"
                } else {
                    "`model: direct`"
                };
                self.warning(
                    &format!("network.{key}"),
                    format!("network.{key} has no effect with {why}"),
                    "direct links have zero latency and no loss; add `model: latency` to apply it",
                );
            }
        }
        for i in 0..net.links.len() {
            let l = &net.links[i];
            if l.latency_us.is_some()
                || l.jitter_us.is_some()
                || l.loss_rate.is_some()
                || l.bandwidth_bps.is_some()
                || l.queue_bytes.is_some()
            {
                self.warning(
                    &format!("network.links[{i}]"),
                    "link settings have no effect with `model: direct`",
                    "use `model: latency` to apply them",
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments, reason = "one call per link-shaped section")]
    fn link_values(
        &mut self,
        path: &str,
        prefix: &str,
        latency: Option<i64>,
        jitter: Option<i64>,
        loss: Option<f64>,
        bandwidth: Option<i64>,
        node: Option<&str>,
    ) {
        for (key, value) in [("latency_us", latency), ("jitter_us", jitter)] {
            if let Some(v) = value
                && v < 0
            {
                self.error(
                    &format!("{path}.{prefix}{key}"),
                    node,
                    format!("{prefix}{key} must not be negative; found {v}"),
                    "use 0 or a positive number of microseconds",
                );
            }
        }
        if let Some(v) = loss
            && !(0.0..=1.0).contains(&v)
        {
            self.error(
                &format!("{path}.{prefix}loss_rate"),
                node,
                format!("{prefix}loss_rate must be between 0 and 1; found {v}"),
                "a loss rate is a probability: 0.01 loses one message in a hundred",
            );
        }
        if let Some(v) = bandwidth
            && v <= 0
        {
            self.error(
                &format!("{path}.{prefix}bandwidth_bps"),
                node,
                format!("{prefix}bandwidth_bps must be greater than 0; found {v}"),
                "omit it for unlimited bandwidth",
            );
        }
    }

    /// Checks a link buffer `{prefix}queue_bytes` at `path`: in range, and
    /// on links with a bandwidth (`has_bandwidth`), since only those queue;
    /// `fix` says how to give one.
    fn queue_bytes(&mut self, path: &str, prefix: &str, queue: Option<i64>, has_bandwidth: bool, fix: &str) {
        let Some(v) = queue else { return };
        let key = format!("{path}.{prefix}queue_bytes");
        if !u64::try_from(v).is_ok_and(|v| LINK_QUEUE_BYTES.contains(&v)) {
            self.error(
                &key,
                None,
                format!(
                    "{prefix}queue_bytes is {v}; allowed {} ..= {}",
                    LINK_QUEUE_BYTES.start(),
                    LINK_QUEUE_BYTES.end()
                ),
                "the link's buffer in bytes; omit it for an unbounded one",
            );
        }
        if !has_bandwidth {
            self.error(
                &key,
                None,
                format!(
                    "{prefix}queue_bytes on a link without a bandwidth: such a link sends at once and never queues"
                ),
                fix,
            );
        }
    }

    fn nodes(&mut self, scenario: &Scenario) {
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
    fn declared_configs<'d>(
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
                if !super::declaration::fits(declared_key.kind, value) {
                    self.error(
                        &value_path,
                        Some(&node.id),
                        format!(
                            "config key '{key}' of the {model} must be {}; found {}",
                            if declared_key.names_node { "a node id" } else { declared_key.kind.name() },
                            super::declaration::describe(value)
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

        let is_docker = matches!(implementation, ImplementationName::Docker);
        let has_component = node.wasm.as_ref().is_some_and(|w| w.component.is_some());
        if NodeKind::builtin(&node.node_type).is_none() && !is_docker && !has_component {
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

    fn wasm(&mut self, path: &str, id: &str, wasm: &WasmSection) {
        if let Some(component) = &wasm.component {
            let folder = self.base_dir.join(component);
            if !folder.is_dir() {
                self.existing_path(&format!("{path}.wasm.component"), id, component, false);
            } else if !MODEL_FOLDER_FILES.iter().any(|f| folder.join(f).is_file()) {
                self.error(
                    &format!("{path}.wasm.component"),
                    Some(id),
                    format!("folder '{component}' holds no model: no Cargo.toml, model.py or model.js"),
                    "a component is a .wasm file, or a model's folder (`xedgesim new model NAME` makes one), built before the run",
                );
            }
        }
        let limits = [
            ("fuel_per_step", wasm.fuel_per_step),
            ("fuel_per_message", wasm.fuel_per_message),
            ("memory_limit_mb", wasm.memory_limit_mb),
            ("max_outbox_messages", wasm.max_outbox_messages.map(u64::from)),
            ("max_outbox_bytes", wasm.max_outbox_bytes),
            ("max_inbox_bytes", wasm.max_inbox_bytes),
            ("max_log_bytes", wasm.max_log_bytes),
        ];
        for (key, value) in limits {
            if value == Some(0) {
                self.error(
                    &format!("{path}.wasm.{key}"),
                    Some(id),
                    format!("wasm.{key} must be greater than 0"),
                    "omit it for the default (see docs/sandbox.md)",
                );
            }
        }
        if let Some(mb) = wasm.memory_limit_mb
            && mb > 4096
        {
            self.error(
                &format!("{path}.wasm.memory_limit_mb"),
                Some(id),
                format!("wasm.memory_limit_mb is {mb}; a 32-bit component can address at most 4096"),
                "use at most 4096",
            );
        }
    }

    fn docker(&mut self, path: &str, id: &str, docker: &DockerSection) {
        let node = Some(id);
        let dpath = format!("{path}.docker");
        if docker.image.is_none() && docker.build_context.is_none() {
            self.error(
                &dpath,
                node,
                "a docker node needs `image` or `build_context`",
                "add `image: name:tag` for an existing image or `build_context: dir` to build one",
            );
        }
        let outside = |f: &str| {
            Path::new(f)
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir))
        };
        if let Some(dockerfile) = &docker.dockerfile
            && outside(dockerfile)
        {
            self.error(
                &format!("{dpath}.dockerfile"),
                node,
                format!("dockerfile '{dockerfile}' is outside the build context"),
                "the engine only sees the build context: give a path inside it, relative to `build_context`",
            );
        }
        let located = docker.build_context.as_deref().map(|c| (c, build_context::locate(self.base_dir, c)));
        match &located {
            Some((context, None)) => self.error(
                &format!("{dpath}.build_context"),
                node,
                format!("directory '{context}' does not exist"),
                "paths are relative to the folder of the scenario file (a build context is also looked for in the folders above it, as xEdgeSim's files expect)",
            ),
            Some((context, Some(found))) if found.levels_up > 0 => self.node_warning(
                &format!("{dpath}.build_context"),
                id,
                format!(
                    "build context '{context}' is not in the scenario's folder; using {}, {} folder{} up (xEdgeSim resolved it from its repository root)",
                    found.path.display(),
                    found.levels_up,
                    if found.levels_up == 1 { "" } else { "s" }
                ),
                format!("write it as '{}' to say so", build_context::relative_spelling(found, context)),
            ),
            _ => {}
        }
        let found_context = located.and_then(|(_, found)| found).map(|found| found.path);
        if let (Some(context), Some(dockerfile)) = (&found_context, &docker.dockerfile)
            && !outside(dockerfile)
            && !context.join(dockerfile).is_file()
        {
            self.error(
                &format!("{dpath}.dockerfile"),
                node,
                format!("file '{dockerfile}' does not exist in the build context"),
                "`dockerfile` is relative to `build_context`",
            );
        }
        if let (Some(context), Some(shown)) = (&found_context, &docker.build_context)
            && docker.dockerfile.is_none()
            && !context.join("Dockerfile").is_file()
        {
            let context = shown;
            self.error(
                &format!("{dpath}.build_context"),
                node,
                format!("the build context '{context}' has no Dockerfile"),
                "add a Dockerfile there, or name one with `dockerfile:`",
            );
        }
        if docker.build_command.is_some() && docker.build_context.is_none() {
            self.key_error(
                &format!("{dpath}.build_command"),
                node,
                "`build_command` without `build_context`",
                "the command runs in the build context before the image is built: add `build_context`",
            );
        }
        if docker.build_network.is_some() && docker.build_context.is_none() {
            self.key_error(
                &format!("{dpath}.build_network"),
                node,
                "`build_network` without `build_context`",
                "it lets an image build reach the network: add the `build_context` it builds, or remove it",
            );
        }
        if let Some(timeout_s) = docker.build_timeout_s {
            if !(1..=MAX_BUILD_TIMEOUT_S).contains(&timeout_s) {
                self.error(
                    &format!("{dpath}.build_timeout_s"),
                    node,
                    format!("build_timeout_s must be from 1 to {MAX_BUILD_TIMEOUT_S} (a day); found {timeout_s}"),
                    format!("omit it for the default ({DEFAULT_BUILD_TIMEOUT_S} s)"),
                );
            } else if docker.build_command.is_none() {
                self.node_warning(
                    &format!("{dpath}.build_timeout_s"),
                    id,
                    "`build_timeout_s` has no effect without `build_command`",
                    "remove it, or add the `build_command` it bounds",
                );
            }
        }
        if let Some(protocol) = &docker.protocol
            && ContainerProtocol::from_name(protocol).is_none()
        {
            self.error(
                &format!("{dpath}.protocol"),
                node,
                format!("protocol must be one of {}; found '{protocol}'", ContainerProtocol::NAMES.join(", ")),
                suggest::did_you_mean(protocol, ContainerProtocol::NAMES),
            );
        }
        self.in_range(
            &dpath,
            id,
            "step_timeout_ms",
            docker.step_timeout_ms,
            &DOCKER_TIMEOUT_MS,
            &format!("a time in milliseconds; omit it for the default ({DEFAULT_STEP_TIMEOUT_MS})"),
        );
        self.in_range(
            &dpath,
            id,
            "start_timeout_ms",
            docker.start_timeout_ms,
            &DOCKER_TIMEOUT_MS,
            &format!("a time in milliseconds; omit it for the default ({DEFAULT_START_TIMEOUT_MS})"),
        );
        self.in_range(
            &dpath,
            id,
            "max_frame_bytes",
            docker.max_frame_bytes,
            &DOCKER_FRAME_BYTES,
            "the longest stdout line in bytes (at least 1024 for the framing); omit it for the default (16 MiB)",
        );
        if docker.dockerfile.is_some() && docker.build_context.is_none() {
            self.key_error(
                &format!("{dpath}.dockerfile"),
                node,
                "`dockerfile` without `build_context`",
                "the Dockerfile path is relative to `build_context`: add one",
            );
        }
        for (container, host) in &docker.ports {
            let key = container.to_string();
            let kpath = format!("{dpath}.ports.{key}");
            if port_number(container).is_none() {
                self.key_error(
                    &kpath,
                    node,
                    format!("container port '{key}' is not a port number"),
                    "ports are whole numbers from 1 to 65535",
                );
            }
            if port_number(host).is_none() {
                self.error(
                    &kpath,
                    node,
                    format!("host port '{host}' is not a port number"),
                    "ports are whole numbers from 1 to 65535",
                );
            }
        }
        for (name, value) in &docker.environment {
            if value.as_scalar_string().is_none() {
                self.error(
                    &format!("{dpath}.environment.{name}"),
                    node,
                    format!("environment variable {name} must be a string, number or boolean"),
                    "quote structured values as a string",
                );
            }
        }
        for (host_path, volume) in &docker.volumes {
            // The engine would quietly create a missing bind source as an empty folder.
            if !is_named_volume(host_path) {
                self.existing_any(&format!("{dpath}.volumes.{host_path}"), id, host_path);
            } else if !is_volume_name(host_path) {
                self.key_error(
                    &format!("{dpath}.volumes.{host_path}"),
                    node,
                    format!("'{host_path}' is neither a host path nor a Docker volume name"),
                    "a volume name is a letter or digit, then letters, digits, `_`, `.` or `-`; write a host path as `./name`",
                );
            }
            if let Some(mode) = &volume.mode
                && mode != "ro"
                && mode != "rw"
            {
                self.error(
                    &format!("{dpath}.volumes.{host_path}.mode"),
                    node,
                    format!("volume mode must be ro or rw; found '{mode}'"),
                    suggest::did_you_mean(mode, &["ro", "rw"]),
                );
            }
        }
        if let Some(cpus) = docker.cpus
            && !DOCKER_CPUS.contains(&cpus)
        {
            self.error(
                &format!("{dpath}.cpus"),
                node,
                format!("cpus is {cpus}; allowed {} ..= {}", DOCKER_CPUS.start(), DOCKER_CPUS.end()),
                format!("cores, e.g. `cpus: 0.5` for half a core; omit it for the default ({DEFAULT_DOCKER_CPUS})"),
            );
        }
        self.in_range(
            &dpath,
            id,
            "memory_mb",
            docker.memory_mb,
            &DOCKER_MEMORY_MB,
            &format!("in MiB (the engine refuses less than 6); omit it for the default ({DEFAULT_DOCKER_MEMORY_MB})"),
        );
        self.in_range(
            &dpath,
            id,
            "pids_limit",
            docker.pids_limit,
            &DOCKER_PIDS_LIMIT,
            &format!("processes and threads at once; omit it for the default ({DEFAULT_DOCKER_PIDS_LIMIT})"),
        );
        if let Some(user) = &docker.user
            && (user.is_empty() || user.contains(|c: char| c.is_whitespace() || c.is_control()))
        {
            self.error(
                &format!("{dpath}.user"),
                node,
                format!("user must be a name or uid[:gid] without spaces; found '{user}'"),
                "e.g. `user: \"65534:65534\"`; omit it for the image's user",
            );
        }
        if let Some(mode) = &docker.network_mode {
            if !NETWORK_MODES.contains(&mode.as_str()) {
                self.error(
                    &format!("{dpath}.network_mode"),
                    node,
                    format!("network_mode must be one of {}; found '{mode}'", NETWORK_MODES.join(", ")),
                    suggest::did_you_mean(mode, NETWORK_MODES),
                );
            } else if mode == "none" && !docker.ports.is_empty() {
                self.error(
                    &format!("{dpath}.network_mode"),
                    node,
                    "published `ports` need a network, but network_mode is none",
                    "remove `network_mode: none` (ports are published on 127.0.0.1 only) or remove `ports`",
                );
            }
        }
    }

    /// Checks that `dpath.key`, if given, is within `range`; `unit` says
    /// what the number counts and what omitting it means.
    pub(super) fn in_range(
        &mut self,
        dpath: &str,
        id: &str,
        key: &str,
        value: Option<u64>,
        range: &std::ops::RangeInclusive<u64>,
        unit: &str,
    ) {
        if let Some(value) = value
            && !range.contains(&value)
        {
            self.error(
                &format!("{dpath}.{key}"),
                Some(id),
                format!("{key} is {value}; allowed {} ..= {}", range.start(), range.end()),
                unit.to_string(),
            );
        }
    }

    /// Checks that a volume's host path (relative to the scenario file) exists.
    fn existing_any(&mut self, path: &str, id: &str, relative: &str) {
        if !self.base_dir.join(relative).exists() {
            self.key_error(
                path,
                Some(id),
                format!("volume host path '{relative}' does not exist"),
                "paths are relative to the folder of the scenario file; the engine would mount an empty folder instead",
            );
        }
    }

    /// Checks that `relative` (to the scenario file) exists; returns whether it does.
    fn existing_path(&mut self, path: &str, id: &str, relative: &str, want_dir: bool) -> bool {
        let full = self.base_dir.join(relative);
        let ok = if want_dir { full.is_dir() } else { full.is_file() };
        if !ok {
            let what = if want_dir { "directory" } else { "file" };
            self.error(
                path,
                Some(id),
                format!("{what} '{relative}' does not exist"),
                "paths are relative to the folder of the scenario file",
            );
        }
        ok
    }
}
