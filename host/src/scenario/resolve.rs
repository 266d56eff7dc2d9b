//! [`Scenario`] (what the user wrote) to [`ResolvedScenario`] (what the
//! runner consumes). Runs only on scenarios that validated without errors,
//! so every lookup here has already been checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::build_context;
use super::config_value::ConfigValue;
use super::duration::whole_us;
use super::engines::{EngineEndpoint, TlsFiles};
use super::manifest::{DockerSection, EngineEntry, FaultEntry, MqttSection, NetworkSection, NodeEntry, Scenario};
use super::margin::Margin;
use super::mqtt::{
    DEFAULT_ANSWER_DEADLINE_MS, DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_HOST_ENV, DEFAULT_PORT_ENV, DEFAULT_QUIET_MS,
    MqttRole, MqttSettings,
};
use super::node_config::NodeConfig;
use super::payload_tolerance::PayloadTolerance;
use super::resolved::*;
use super::scripted_fault::{FaultAction, LinkOverride, ScriptedFault};
use super::validate::{ImplementationName, implementation_name, is_named_volume, port_number};

/// Resolves a validated scenario read from `file` (an absolute path),
/// whose nodes came from the file entries `origins` gives (`expand`);
/// `home`, the user's home folder, is never a build context's.
pub fn resolve(file: &Path, scenario: &Scenario, origins: &[usize], home: Option<&Path>) -> ResolvedScenario {
    let sim = scenario.simulation.clone().unwrap_or_default();
    let duration_s = sim.duration_s.unwrap_or(DEFAULT_DURATION_S);
    let on_fault = fault_policy(sim.on_fault.as_deref(), FaultPolicy::Abort);
    let base = file.parent().unwrap_or(Path::new("/"));
    let duration_us = super::duration::duration_us(duration_s).unwrap_or(0);
    ResolvedScenario {
        source: file.to_path_buf(),
        name: file.file_stem().map_or_else(|| "scenario".to_string(), |s| s.to_string_lossy().into_owned()),
        seed: sim.seed.unwrap_or(DEFAULT_SEED),
        duration_us,
        time_quantum_us: sim.time_quantum_us.unwrap_or(DEFAULT_TIME_QUANTUM_US),
        on_fault,
        network: network(scenario.network.as_ref()),
        nodes: {
            // Found once: looked up per node, a file of sensors before their
            // gateway (as xEdgeSim writes them) would resolve in quadratic time.
            let firsts = FirstOfKind {
                gateway: first_of_kind(scenario, &NodeKind::Gateway),
                cloud: first_of_kind(scenario, &NodeKind::Cloud),
            };
            let mut share = EntryShare::default();
            let nodes = scenario.nodes.iter().enumerate().map(|(i, n)| {
                share.begin(origins.get(i).copied().unwrap_or(i));
                node(base, home, &firsts, n, on_fault, &mut share)
            });
            nodes.collect()
        },
        equivalence: scenario.equivalence.as_ref().map(|e| EquivalenceRules {
            ignore_timing: e.ignore_timing.unwrap_or(false),
            time_tolerance_us: e.time_tolerance_us.unwrap_or(0),
            json_tolerance: (e.payloads.as_deref() == Some("json") || !e.payload_tolerance.is_empty())
                .then(|| e.json_tolerance.unwrap_or(0.0)),
            // Checked by validate: a bad tolerance never gets here.
            payload_tolerance: e
                .payload_tolerance
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), PayloadTolerance::new(v.abs, v.rel).ok()?)))
                .collect(),
            metric_tolerance: e.metric_tolerance.unwrap_or(0.0),
            ignore_nodes: e.ignore_nodes.clone(),
            ignore_topics: e.ignore_topics.clone(),
            // Checked by validate: a bad margin never gets here.
            margins: e.margins.iter().filter_map(|(k, v)| Some((k.clone(), Margin::from_config(v).ok()?))).collect(),
            margin_default: e.margin_default.as_ref().and_then(|v| Margin::from_config(v).ok()),
            min_trials: e.min_trials,
            deadline_ms: e.deadline_ms,
            latency_at: e.latency_at.clone(),
        }),
        faults: scenario.faults.iter().map(|f| scripted_fault(f, duration_us)).collect(),
        engines: scenario.engines.iter().filter_map(|(name, e)| Some((name.clone(), engine(base, e)?))).collect(),
    }
}

/// An `engines:` entry, its TLS files made absolute (checked by validate:
/// a bad endpoint never gets here).
fn engine(base: &Path, entry: &EngineEntry) -> Option<EngineEndpoint> {
    let mut endpoint = EngineEndpoint::parse(&entry.endpoint).ok()?;
    if let (EngineEndpoint::Tcp { tls, .. }, Some(ConfigValue::Map(files))) = (&mut endpoint, &entry.tls) {
        let file = |key: &str| files.get(key).and_then(ConfigValue::as_scalar_string).map(|f| absolute(base, &f));
        *tls = Some(TlsFiles { ca: file("ca")?, cert: file("cert")?, key: file("key")? });
    }
    Some(endpoint)
}

fn fault_policy(name: Option<&str>, default: FaultPolicy) -> FaultPolicy {
    name.and_then(FaultPolicy::from_name).unwrap_or(default)
}

fn non_negative(v: Option<i64>, default: u64) -> u64 {
    v.map_or(default, |v| v.max(0) as u64)
}

fn network(net: Option<&NetworkSection>) -> ResolvedNetwork {
    let Some(net) = net else {
        return ResolvedNetwork { model: NetworkModel::Direct, default_link: LinkParams::PERFECT, links: Vec::new() };
    };
    // No `model:` means `direct`, as in xEdgeSim (validation warns about
    // latency settings it then ignores).
    let model = net.model.as_deref().and_then(NetworkModel::from_name).unwrap_or(NetworkModel::Direct);
    if model == NetworkModel::Direct {
        return ResolvedNetwork { model, default_link: LinkParams::PERFECT, links: Vec::new() };
    }
    let default_link = LinkParams {
        latency_us: non_negative(net.default_latency_us, DEFAULT_LATENCY_US),
        jitter_us: non_negative(net.default_jitter_us, 0),
        loss_rate: net.default_loss_rate.unwrap_or(0.0),
        bandwidth_bps: net.default_bandwidth_bps.map(|b| b as u64),
        queue_bytes: net.default_queue_bytes.map(|q| q as u64),
    };
    let links = net
        .links
        .iter()
        .map(|l| ResolvedLink {
            src: l.src.clone(),
            dst: l.dst.clone(),
            params: LinkParams {
                latency_us: non_negative(l.latency_us, default_link.latency_us),
                jitter_us: non_negative(l.jitter_us, default_link.jitter_us),
                loss_rate: l.loss_rate.unwrap_or(default_link.loss_rate),
                bandwidth_bps: l.bandwidth_bps.map(|b| b as u64).or(default_link.bandwidth_bps),
                queue_bytes: l.queue_bytes.map(|q| q as u64).or(default_link.queue_bytes),
            },
        })
        .collect();
    ResolvedNetwork { model, default_link, links }
}

/// The first gateway and the first cloud in file order: the default
/// destinations of sensors (a gateway, else a cloud) and gateways (a cloud).
struct FirstOfKind<'a> {
    gateway: Option<&'a str>,
    cloud: Option<&'a str>,
}

/// The first node of `kind` in file order.
fn first_of_kind<'a>(scenario: &'a Scenario, kind: &NodeKind) -> Option<&'a str> {
    scenario.nodes.iter().find(|n| NodeKind::builtin(&n.node_type).as_ref() == Some(kind)).map(|n| n.id.as_str())
}

/// What the members of one file entry share once resolved: its WASM node
/// (every member's is the same), and each distinct config the entry's
/// expansion made, by the address of the map written (`expand` gives
/// members with equal configs one map).
#[derive(Default)]
struct EntryShare {
    origin: Option<usize>,
    wasm: Option<Arc<WasmNode>>,
    configs: FxHashMap<usize, NodeConfig>,
}

impl EntryShare {
    /// Starts sharing for the entry `origin`, unless it is the current one.
    fn begin(&mut self, origin: usize) {
        if self.origin != Some(origin) {
            *self = EntryShare { origin: Some(origin), ..EntryShare::default() };
        }
    }
}

/// The config of `entry` (a node of `kind`) as the model gets it.
fn config(firsts: &FirstOfKind<'_>, entry: &NodeEntry, kind: &NodeKind) -> NodeConfig {
    let mut config = entry.config.clone();
    // As in xEdgeSim, keys a built-in model does not take are unused
    // (`validate` warns about each; `--strict` refuses them).
    if let Some((_, declaration)) = super::validate::builtin_config_keys(entry)
        && config.keys().any(|key| declaration.key(key).is_none())
    {
        config.make_mut().retain(|key, _| declaration.key(key).is_some());
    }
    let default_destination = match kind {
        NodeKind::Sensor => firsts.gateway.or(firsts.cloud),
        NodeKind::Gateway => firsts.cloud,
        _ => None,
    };
    // A node that publishes to a topic sends through the broker instead.
    if let Some(dst) = default_destination.filter(|_| !config.contains_key("topic"))
        && !config.contains_key("destination")
    {
        config.make_mut().insert("destination".to_string(), ConfigValue::Text(dst.to_string()));
    }
    config
}

fn node(
    base: &Path,
    home: Option<&Path>,
    firsts: &FirstOfKind<'_>,
    entry: &NodeEntry,
    default_fault: FaultPolicy,
    share: &mut EntryShare,
) -> ResolvedNode {
    let kind = NodeKind::builtin(&entry.node_type).unwrap_or_else(|| NodeKind::Custom(entry.node_type.clone()));
    let config = match share.configs.get(&entry.config.address()) {
        Some(same) => same.clone(),
        None => {
            let resolved = config(firsts, entry, &kind);
            share.configs.insert(entry.config.address(), resolved.clone());
            resolved
        }
    };
    let implementation = match implementation_name(entry.implementation.as_deref()) {
        ImplementationName::Docker => {
            Implementation::Docker(Box::new(docker(base, home, entry.docker.as_deref(), &entry.node_type)))
        }
        _ if share.wasm.is_some() => Implementation::Wasm(share.wasm.clone().expect("checked")),
        _ => {
            let wasm = entry.wasm.clone().unwrap_or_default();
            let mut defaults = SandboxLimits::default();
            if kind == NodeKind::Broker {
                // A broker's messages are others' publishes, fanned out: one
                // legal publish to many subscribers must not fault it. What it
                // sends is still bounded by its fuel (a copied byte costs one),
                // its memory, and the run's bound on payload bytes in flight.
                defaults.max_outbox_messages = u32::MAX;
                defaults.max_outbox_bytes = u64::MAX;
            }
            let wasm = Arc::new(WasmNode {
                component: match &wasm.component {
                    Some(path) if base.join(path).is_dir() => ComponentSource::Folder(absolute(base, path)),
                    Some(path) => ComponentSource::File(absolute(base, path)),
                    None if entry.node_type == ML_INFERENCE_TYPE => ComponentSource::Folder(ml_inference_folder()),
                    None => ComponentSource::Builtin(kind.name().to_string()),
                },
                limits: SandboxLimits {
                    fuel_per_step: wasm.fuel_per_step.unwrap_or(defaults.fuel_per_step),
                    fuel_per_message: wasm.fuel_per_message.unwrap_or(defaults.fuel_per_message),
                    memory_limit_mb: wasm.memory_limit_mb.unwrap_or(defaults.memory_limit_mb),
                    max_outbox_messages: wasm.max_outbox_messages.unwrap_or(defaults.max_outbox_messages),
                    max_outbox_bytes: wasm.max_outbox_bytes.unwrap_or(defaults.max_outbox_bytes),
                    max_inbox_bytes: wasm.max_inbox_bytes.unwrap_or(defaults.max_inbox_bytes),
                    max_log_bytes: wasm.max_log_bytes.unwrap_or(defaults.max_log_bytes),
                },
                // Real paths, as the host-read check sees them: staging opens
                // exactly these, refusing any link put in them since.
                files: wasm
                    .files
                    .iter()
                    .map(|(name, path)| {
                        let joined = absolute(base, path);
                        (name.clone(), std::fs::canonicalize(&joined).unwrap_or(joined))
                    })
                    .collect(),
            });
            share.wasm = Some(wasm.clone());
            Implementation::Wasm(wasm)
        }
    };
    ResolvedNode {
        id: entry.id.clone(),
        kind,
        implementation,
        config,
        on_fault: fault_policy(entry.on_fault.as_deref(), default_fault),
        port: entry.port,
        alternative: match implementation_name(entry.implementation.as_deref()) {
            ImplementationName::Docker => None,
            _ => entry.docker.as_deref().map(|d| Box::new(docker(base, home, Some(d), &entry.node_type))),
        },
        cpu: super::validate::resolved_cpu(entry),
    }
}

fn docker(base: &Path, home: Option<&Path>, section: Option<&DockerSection>, node_type: &str) -> DockerNode {
    let d = section.cloned().unwrap_or_default();
    let protocol = d.protocol.as_deref().and_then(ContainerProtocol::from_name).unwrap_or(ContainerProtocol::Xedgesim);
    let build_context = d.build_context.as_deref().map(|c| {
        let levels_up = build_context::locate(base, c, home).map_or(0, |found| found.levels_up);
        absolute(base.ancestors().nth(levels_up).unwrap_or(base), c)
    });
    let network_mode =
        d.network_mode.clone().unwrap_or_else(|| if d.ports.is_empty() { "none" } else { "bridge" }.to_string());
    DockerNode {
        image: d.image.clone(),
        dockerfile: d.dockerfile.as_deref().and_then(|f| build_context.as_ref().map(|c| c.join(f))),
        build_context,
        build_command: d.build_command.clone(),
        build_timeout_s: d.build_timeout_s.unwrap_or(DEFAULT_BUILD_TIMEOUT_S),
        build_network: d.build_network.unwrap_or(false),
        protocol,
        step_timeout_ms: d.step_timeout_ms.unwrap_or(DEFAULT_STEP_TIMEOUT_MS),
        start_timeout_ms: d.start_timeout_ms.unwrap_or(DEFAULT_START_TIMEOUT_MS),
        max_frame_bytes: d.max_frame_bytes.unwrap_or(DEFAULT_MAX_FRAME_BYTES),
        ports: d.ports.iter().filter_map(|(c, h)| Some((port_number(c)?, port_number(h)?))).collect(),
        environment: d
            .environment
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_scalar_string()?)))
            .collect::<BTreeMap<_, _>>(),
        volumes: d
            .volumes
            .iter()
            .map(|(host, v)| Volume {
                // Its real path, links resolved: what the trust check decided on is what is bound.
                host_path: if is_named_volume(host) {
                    PathBuf::from(host)
                } else {
                    let path = absolute(base, host);
                    std::fs::canonicalize(&path).unwrap_or(path)
                },
                container_path: v.bind.clone(),
                read_only: v.mode.as_deref() != Some("rw"),
            })
            .collect(),
        cpus: d.cpus.unwrap_or(DEFAULT_DOCKER_CPUS),
        memory_mb: d.memory_mb.unwrap_or(DEFAULT_DOCKER_MEMORY_MB),
        pids_limit: d.pids_limit.unwrap_or(DEFAULT_DOCKER_PIDS_LIMIT),
        read_only_rootfs: d.read_only_rootfs.unwrap_or(false),
        user: d.user.clone(),
        network_mode,
        mqtt: (protocol == ContainerProtocol::Mqtt)
            .then(|| MqttSettings::resolve(d.mqtt.as_ref(), MqttSettings::role_of(node_type))),
        engine: d.engine.clone(),
    }
}

/// `relative` resolved against the scenario's folder, with `.` and `..` folded.
fn absolute(base: &Path, relative: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for part in base.join(relative).components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A checked entry as the runner takes it.
fn scripted_fault(entry: &FaultEntry, duration_us: u64) -> ScriptedFault {
    let at_us = entry.at_s.map_or(0, whole_us);
    let until_us = entry.until_s.map(whole_us);
    let action = if let Some(node) = &entry.crash {
        FaultAction::Crash { node: node.clone() }
    } else if let Some(node) = &entry.restart {
        FaultAction::Restart { node: node.clone() }
    } else if let Some(nodes) = &entry.partition {
        FaultAction::Partition { nodes: sorted(nodes) }
    } else if let Some(nodes) = &entry.heal {
        FaultAction::Heal { nodes: sorted(nodes) }
    } else if let Some(link) = &entry.degrade {
        FaultAction::Degrade {
            src: link.src.clone(),
            dst: link.dst.clone(),
            link: LinkOverride {
                latency_us: entry.latency_us.map(|v| v.max(0) as u64),
                jitter_us: entry.jitter_us.map(|v| v.max(0) as u64),
                loss_rate: entry.loss_rate,
                bandwidth_bps: entry.bandwidth_bps.map(|v| v.max(1) as u64),
            },
        }
    } else if let Some(node) = &entry.stall {
        FaultAction::Stall { node: node.clone(), delay_us: entry.delay_us.unwrap_or(0) }
    } else {
        let between = entry.between_s.as_deref().unwrap_or(&[]);
        FaultAction::RandomCrash {
            node_type: NodeKind::current_name(entry.node_type.as_deref().unwrap_or("")).to_string(),
            count: entry.count.unwrap_or(0),
            between_us: match between {
                [from, until] => (whole_us(*from), whole_us(*until)),
                _ => (0, duration_us),
            },
            down_us: entry.down_s.map(whole_us),
        }
    };
    ScriptedFault { at_us, until_us, action }
}

fn sorted(nodes: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = nodes.iter().collect();
    set.into_iter().cloned().collect()
}

impl MqttSettings {
    /// `docker.mqtt:` as written (`None`: not written), every default filled in.
    pub fn resolve(section: Option<&MqttSection>, role: MqttRole) -> MqttSettings {
        let s = section.cloned().unwrap_or_default();
        MqttSettings {
            role,
            host_env: s.host_env.unwrap_or_else(|| DEFAULT_HOST_ENV.to_string()),
            port_env: s.port_env.unwrap_or_else(|| DEFAULT_PORT_ENV.to_string()),
            connect_timeout_s: s.connect_timeout_s.unwrap_or(DEFAULT_CONNECT_TIMEOUT_S),
            answer_deadline_ms: s.answer_deadline_ms.unwrap_or(DEFAULT_ANSWER_DEADLINE_MS),
            quiet_ms: s.quiet_ms.unwrap_or(DEFAULT_QUIET_MS),
            expect_answer: s.expect_answer.unwrap_or(true),
            processing_us: s.processing_us,
            time_scale: s.time_scale.unwrap_or(1.0),
        }
    }

    /// The role a node of `node_type` has.
    pub fn role_of(node_type: &str) -> MqttRole {
        match NodeKind::builtin(node_type) {
            Some(NodeKind::Broker) => MqttRole::Broker,
            _ => MqttRole::Client,
        }
    }
}
