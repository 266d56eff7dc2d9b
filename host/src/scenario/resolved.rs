//! The scenario as the runner consumes it: every default filled in, every
//! legacy name mapped, every path absolute. Built only by `resolve.rs`
//! from a scenario that validated without errors.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use super::cpu::CpuSpeed;
use super::node_config::NodeConfig;
use super::scripted_fault::{LinkOverride, ScriptedFault};
pub use super::wasm_node::{
    ComponentSource, DATA_DIR, DEFAULT_FUEL_PER_MESSAGE, DEFAULT_FUEL_PER_STEP, DEFAULT_MAX_INBOX_BYTES,
    DEFAULT_MAX_LOG_BYTES, DEFAULT_MAX_OUTBOX_BYTES, DEFAULT_MAX_OUTBOX_MESSAGES, DEFAULT_MEMORY_LIMIT_MB,
    MAX_DATA_FILES_BYTES, ML_INFERENCE_TYPE, MODEL_FOLDER_FILES, SandboxLimits, WasmNode, ml_inference_folder,
};

pub const DEFAULT_DURATION_S: f64 = 10.0;
pub const DEFAULT_SEED: u64 = 0;
pub const DEFAULT_TIME_QUANTUM_US: u64 = 1_000;
/// xEdgeSim's example files use 10 ms; so do we when a latency model has no default.
pub const DEFAULT_LATENCY_US: u64 = 10_000;

/// A scenario ready to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedScenario {
    /// Absolute path of the scenario file.
    pub source: PathBuf,
    /// File stem, used to name the run folder.
    pub name: String,
    pub seed: u64,
    pub duration_us: u64,
    pub time_quantum_us: u64,
    pub on_fault: FaultPolicy,
    pub network: ResolvedNetwork,
    pub nodes: Vec<ResolvedNode>,
    /// What `xedgesim equiv` counts when this scenario is side A.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equivalence: Option<EquivalenceRules>,
    /// The `faults:` section, in file order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<ScriptedFault>,
    /// The `engines:` section: Docker engines besides the default, by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub engines: BTreeMap<String, super::engines::EngineEndpoint>,
}

impl ResolvedScenario {
    /// What the engine relies on, for a scenario built in code rather than
    /// loaded from a file (a file's are checked, with lines, by `load`):
    /// non-empty unique node ids, links between nodes that exist, a length
    /// within bounds. The first problem, in words.
    pub fn check(&self) -> Result<(), String> {
        let mut ids = std::collections::BTreeSet::new();
        for node in &self.nodes {
            if node.id.is_empty() {
                return Err("a node has an empty id".to_string());
            }
            if !ids.insert(node.id.as_str()) {
                return Err(format!("node id '{}' is used twice", node.id));
            }
        }
        for link in &self.network.links {
            for (end, id) in [("src", &link.src), ("dst", &link.dst)] {
                if !ids.contains(id.as_str()) {
                    return Err(format!("a link's {end} '{id}' is not a node"));
                }
            }
        }
        let max_us = super::duration::duration_us(super::duration::MAX_DURATION_S).expect("the maximum is valid");
        if self.duration_us == 0 || self.duration_us > max_us {
            return Err(format!("duration_us {} is not within 1 ..= {max_us}", self.duration_us));
        }
        for node in &self.nodes {
            let docker = match &node.implementation {
                Implementation::Docker(d) => Some(d),
                Implementation::Wasm(_) => node.alternative.as_ref(),
            };
            if let Some(docker) = docker {
                docker.check().map_err(|e| format!("node '{}': {e}", node.id))?;
            }
        }
        Ok(())
    }
}

/// The `equivalence:` section, every default filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EquivalenceRules {
    pub ignore_timing: bool,
    pub time_tolerance_us: u64,
    /// Payloads compared as JSON with this relative tolerance; `None`: byte for byte.
    pub json_tolerance: Option<f64>,
    /// Per payload field: its numbers' bounds (payloads then compare as JSON).
    pub payload_tolerance: BTreeMap<String, super::PayloadTolerance>,
    pub metric_tolerance: f64,
    pub ignore_nodes: Vec<String>,
    pub ignore_topics: Vec<String>,
    /// With `--trials`: margins by metric name (or `node/metric`).
    pub margins: BTreeMap<String, super::margin::Margin>,
    pub margin_default: Option<super::margin::Margin>,
    pub min_trials: Option<u32>,
    /// End-to-end latency at the sinks held against this deadline.
    pub deadline_ms: Option<f64>,
    /// The sinks whose end-to-end latency is shown; empty: the default.
    pub latency_at: Vec<String>,
}

/// How `equivalence.payloads` may read.
pub const PAYLOAD_MATCHES: &[&str] = &["exact", "json"];

/// What happens when a node faults (traps, runs out of fuel or memory, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultPolicy {
    /// The run stops with the error (the default).
    Abort,
    /// The node is stopped, the fault recorded, and the run goes on.
    Isolate,
}

impl FaultPolicy {
    pub const NAMES: &[&str] = &["abort", "isolate"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "abort" => Some(FaultPolicy::Abort),
            "isolate" => Some(FaultPolicy::Isolate),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkModel {
    /// Zero latency, no loss, unlimited bandwidth.
    Direct,
    /// Per-link latency, jitter, loss and bandwidth.
    Latency,
}

impl NetworkModel {
    pub const NAMES: &[&str] = &["direct", "latency"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "direct" => Some(NetworkModel::Direct),
            "latency" => Some(NetworkModel::Latency),
            _ => None,
        }
    }
}

/// How one directed link behaves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinkParams {
    pub latency_us: u64,
    pub jitter_us: u64,
    pub loss_rate: f64,
    /// `None`: unlimited (no serialisation delay).
    pub bandwidth_bps: Option<u64>,
    /// The link's buffer: a message that would make the bytes waiting to
    /// be serialised more than this is dropped (`queue_full`). `None`:
    /// unbounded. Only set with a bandwidth (validation sees to it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_bytes: Option<u64>,
}

impl LinkParams {
    pub const PERFECT: LinkParams =
        LinkParams { latency_us: 0, jitter_us: 0, loss_rate: 0.0, bandwidth_bps: None, queue_bytes: None };
}

impl LinkOverride {
    /// The link `base` becomes while degraded.
    pub fn apply(&self, base: LinkParams) -> LinkParams {
        LinkParams {
            latency_us: self.latency_us.unwrap_or(base.latency_us),
            jitter_us: self.jitter_us.unwrap_or(base.jitter_us),
            loss_rate: self.loss_rate.unwrap_or(base.loss_rate),
            bandwidth_bps: self.bandwidth_bps.or(base.bandwidth_bps),
            // Not a degrade's to change: the link's buffer stays, its
            // backlog counted at the bandwidth of the moment.
            queue_bytes: base.queue_bytes,
        }
    }
}

/// Accepted `queue_bytes` and `default_queue_bytes`: a byte at least, and at
/// most 1 TiB, past any real link's buffer (a longer one is a typo).
pub const LINK_QUEUE_BYTES: RangeInclusive<u64> = 1..=1 << 40;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedNetwork {
    pub model: NetworkModel,
    /// Used for every pair of nodes without a link of its own.
    pub default_link: LinkParams,
    pub links: Vec<ResolvedLink>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedLink {
    pub src: String,
    pub dst: String,
    #[serde(flatten)]
    pub params: LinkParams,
}

/// What a node does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeKind {
    Sensor,
    Gateway,
    Broker,
    Cloud,
    /// A user-named type; the node brings its own component or image.
    Custom(String),
}

impl NodeKind {
    pub const BUILTIN_NAMES: &[&str] = &["sensor", "gateway", "broker", "cloud"];
    /// xEdgeSim's type names and what they mean here.
    pub const LEGACY_NAMES: &[(&str, &str)] =
        &[("sensor_model", "sensor"), ("gateway_model", "gateway"), ("mqtt_broker", "broker")];

    /// The built-in kind for `name` (current or legacy), if any.
    pub fn builtin(name: &str) -> Option<Self> {
        let name = Self::LEGACY_NAMES.iter().find(|(legacy, _)| *legacy == name).map_or(name, |(_, current)| current);
        match name {
            "sensor" => Some(NodeKind::Sensor),
            "gateway" => Some(NodeKind::Gateway),
            "broker" => Some(NodeKind::Broker),
            "cloud" => Some(NodeKind::Cloud),
            _ => None,
        }
    }

    /// The `config:` keys the built-in model of this kind takes; `None`
    /// for a custom kind, whose model alone knows.
    pub fn config_keys(&self) -> Option<&'static [xedgesim_model::ConfigKey]> {
        match self {
            NodeKind::Sensor => Some(xedgesim_model_sensor::CONFIG),
            NodeKind::Gateway => Some(xedgesim_model_gateway::CONFIG),
            NodeKind::Broker => Some(xedgesim_model_broker::CONFIG),
            NodeKind::Cloud => Some(xedgesim_model_cloud::CONFIG),
            NodeKind::Custom(_) => None,
        }
    }

    /// What the built-in model of this kind sends and reports, for its
    /// reference; `None` for a custom kind.
    pub fn sends(&self) -> Option<&'static str> {
        match self {
            NodeKind::Sensor => Some(xedgesim_model_sensor::SENDS),
            NodeKind::Gateway => Some(xedgesim_model_gateway::SENDS),
            NodeKind::Broker => Some(xedgesim_model_broker::SENDS),
            NodeKind::Cloud => Some(xedgesim_model_cloud::SENDS),
            NodeKind::Custom(_) => None,
        }
    }

    /// A type as the resolved form names it: legacy names mapped
    /// (`sensor_model` is `sensor`), any other as written.
    pub(crate) fn current_name(written: &str) -> &str {
        Self::LEGACY_NAMES.iter().find(|(legacy, _)| *legacy == written).map_or(written, |(_, current)| current)
    }

    pub fn name(&self) -> &str {
        match self {
            NodeKind::Sensor => "sensor",
            NodeKind::Gateway => "gateway",
            NodeKind::Broker => "broker",
            NodeKind::Cloud => "cloud",
            NodeKind::Custom(name) => name,
        }
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for NodeKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedNode {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: NodeKind,
    pub implementation: Implementation,
    /// Shared with the other members of its `count:` entry whose configs
    /// are equal (`NodeConfig`).
    pub config: NodeConfig,
    pub on_fault: FaultPolicy,
    /// xEdgeSim's TCP port, kept for reference; unused by wasm nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// A wasm node's `docker:` section: how it runs in a container when
    /// `xedgesim equiv --swap NODE=docker` asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternative: Option<Box<DockerNode>>,
    /// `cpu:`: a WASM node's steps take virtual time (`cpu.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuSpeed>,
}

/// How a node runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Implementation {
    /// Shared by the members of a `count:` entry (one copy for ten
    /// million sensors); [`Arc::make_mut`] to change one node's.
    #[serde(serialize_with = "shared_wasm")]
    Wasm(Arc<WasmNode>),
    /// Boxed: a Docker node's settings are large, and a million WASM nodes
    /// should not each carry room for them.
    Docker(Box<DockerNode>),
}

/// A shared WASM node as the node itself (serde's `Arc` needs its `rc` feature).
fn shared_wasm<S: serde::Serializer>(wasm: &Arc<WasmNode>, s: S) -> Result<S::Ok, S::Error> {
    WasmNode::serialize(wasm, s)
}

impl Implementation {
    /// Accepted names; `python_model` is xEdgeSim's name for the deterministic model.
    pub const NAMES: &[&str] = &["wasm", "docker"];

    pub fn is_docker(&self) -> bool {
        matches!(self, Implementation::Docker(_))
    }

    /// Bytes one step's inbox may hold. A container's is half its frame
    /// limit: the step request carries payloads in base64 (4/3) in JSON.
    pub fn max_inbox_bytes(&self) -> u64 {
        match self {
            Implementation::Wasm(wasm) => wasm.limits.max_inbox_bytes,
            Implementation::Docker(docker) => docker.max_frame_bytes / 2,
        }
    }
}

/// Default deadline for a container's answer to one step.
pub const DEFAULT_STEP_TIMEOUT_MS: u64 = 10_000;
/// Default deadline from the request to create a container to its answer to `new`.
pub const DEFAULT_START_TIMEOUT_MS: u64 = 30_000;
/// Default longest line a container may write on stdout.
pub const DEFAULT_MAX_FRAME_BYTES: u64 = 16 * 1024 * 1024;
/// Default time a `build_command` may take: a release build of a
/// container's program from nothing takes minutes on a small machine.
pub const DEFAULT_BUILD_TIMEOUT_S: u64 = 1800;
/// Longest `build_timeout_s` accepted: a day.
pub const MAX_BUILD_TIMEOUT_S: u64 = 86_400;
/// Accepted `step_timeout_ms` and `start_timeout_ms`: up to an hour (a
/// deadline past it is a hang, not a slow node).
pub const DOCKER_TIMEOUT_MS: RangeInclusive<u64> = 1..=3_600_000;
/// Accepted `max_frame_bytes`: room for any reply's framing, and no more
/// than the host will buffer for one line.
pub const DOCKER_FRAME_BYTES: RangeInclusive<u64> = 1024..=256 * 1024 * 1024;
/// A container's memory limit when the scenario gives none.
pub const DEFAULT_DOCKER_MEMORY_MB: u64 = 512;
/// Accepted `memory_mb`: the engine refuses less than 6 MiB; 1 TiB is
/// more than any edge node, and far from the byte count's overflow.
pub const DOCKER_MEMORY_MB: RangeInclusive<u64> = 6..=1024 * 1024;
/// A container's CPU quota (cores) when the scenario gives none.
pub const DEFAULT_DOCKER_CPUS: f64 = 1.0;
/// Accepted `cpus`: the engine's quota resolution is a hundredth of a
/// core; it also refuses more cores than the machine has, which only it
/// knows.
pub const DOCKER_CPUS: RangeInclusive<f64> = 0.01..=1024.0;
/// Processes and threads a container may have when the scenario gives
/// no `pids_limit`: a fork bomb stops here.
pub const DEFAULT_DOCKER_PIDS_LIMIT: u64 = 256;
/// Accepted `pids_limit`.
pub const DOCKER_PIDS_LIMIT: RangeInclusive<u64> = 8..=65_536;
/// Size of the tmpfs mounted on `/tmp` of a read-only root file system
/// (its pages count against the memory limit).
pub const DOCKER_TMPFS_MB: u64 = 64;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DockerNode {
    /// The image to run. With `build_context` it is the tag the built image
    /// gets; without one, `xedgesim/<context folder>:<content hash>`.
    pub image: Option<String>,
    pub build_context: Option<PathBuf>,
    /// The Dockerfile (absolute); `None`: `Dockerfile` in the context.
    pub dockerfile: Option<PathBuf>,
    /// A shell command run in `build_context` before each image build
    /// (e.g. compiling the static binary the image wraps).
    pub build_command: Option<String>,
    /// How long `build_command` may run before it is stopped, with every
    /// process it started.
    pub build_timeout_s: u64,
    /// The image build's `RUN` steps reach the network (needs `--allow network`).
    pub build_network: bool,
    pub protocol: ContainerProtocol,
    pub step_timeout_ms: u64,
    pub start_timeout_ms: u64,
    pub max_frame_bytes: u64,
    /// Container port → host port, published on 127.0.0.1 only.
    pub ports: BTreeMap<u16, u16>,
    pub environment: BTreeMap<String, String>,
    pub volumes: Vec<Volume>,
    pub cpus: f64,
    pub memory_mb: u64,
    /// Processes and threads the container may have at once.
    pub pids_limit: u64,
    /// The root file system is read-only (a tmpfs is on `/tmp`).
    pub read_only_rootfs: bool,
    /// `user` or `uid[:gid]` to run as; `None`: the image's user.
    pub user: Option<String>,
    pub network_mode: String,
    /// With `protocol: mqtt`: how the host meets the container.
    pub mqtt: Option<super::mqtt::MqttSettings>,
    /// The engine it runs on, an `engines:` name; `None`: the default engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
}

impl DockerNode {
    /// A node of `image` with every setting at its default, for nodes made
    /// in code (benchmarks, tests); a file's are resolved from its keys.
    pub fn new(image: Option<String>, build_context: Option<PathBuf>) -> DockerNode {
        DockerNode {
            image,
            build_context,
            dockerfile: None,
            build_command: None,
            build_timeout_s: DEFAULT_BUILD_TIMEOUT_S,
            build_network: false,
            protocol: ContainerProtocol::Xedgesim,
            step_timeout_ms: DEFAULT_STEP_TIMEOUT_MS,
            start_timeout_ms: DEFAULT_START_TIMEOUT_MS,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            ports: BTreeMap::new(),
            environment: BTreeMap::new(),
            volumes: Vec::new(),
            cpus: DEFAULT_DOCKER_CPUS,
            memory_mb: DEFAULT_DOCKER_MEMORY_MB,
            pids_limit: DEFAULT_DOCKER_PIDS_LIMIT,
            read_only_rootfs: false,
            user: None,
            network_mode: "none".to_string(),
            mqtt: None,
            engine: None,
        }
    }

    /// The first setting out of its accepted range, in words (a file's
    /// are checked, with lines, by `validate`).
    pub fn check(&self) -> Result<(), String> {
        fn within<T: PartialOrd + fmt::Display>(key: &str, value: T, range: &RangeInclusive<T>) -> Result<(), String> {
            if range.contains(&value) {
                return Ok(());
            }
            Err(format!("docker.{key} is {value}; allowed {} ..= {}", range.start(), range.end()))
        }
        within("step_timeout_ms", self.step_timeout_ms, &DOCKER_TIMEOUT_MS)?;
        within("start_timeout_ms", self.start_timeout_ms, &DOCKER_TIMEOUT_MS)?;
        within("max_frame_bytes", self.max_frame_bytes, &DOCKER_FRAME_BYTES)?;
        within("memory_mb", self.memory_mb, &DOCKER_MEMORY_MB)?;
        within("cpus", self.cpus, &DOCKER_CPUS)?;
        within("pids_limit", self.pids_limit, &DOCKER_PIDS_LIMIT)
    }
}

/// How the host talks to a container; docs/container-protocol.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContainerProtocol {
    /// JSON frames mirroring `wit/node.wit` (the default).
    Xedgesim,
    /// xEdgeSim's line protocol (`INIT`, `ADVANCE`, `DONE`, `SHUTDOWN`);
    /// such a node is stepped every `time_quantum_us` and whenever
    /// messages arrive.
    XedgesimAdapter,
    /// MQTT 3.1.1 over TCP on the run's internal network: the container is
    /// an unmodified MQTT client (or, as `type: broker`, a broker), and
    /// every packet crosses the simulated network.
    Mqtt,
}

impl ContainerProtocol {
    pub const NAMES: &[&str] = &["xedgesim", "xedgesim-adapter", "mqtt"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "xedgesim" => Some(ContainerProtocol::Xedgesim),
            "xedgesim-adapter" => Some(ContainerProtocol::XedgesimAdapter),
            "mqtt" => Some(ContainerProtocol::Mqtt),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Volume {
    /// An absolute host path, or the name of a volume (`models`).
    pub host_path: PathBuf,
    pub container_path: String,
    pub read_only: bool,
}

impl Volume {
    /// The name of a Docker volume (`models`), not a host path (always absolute).
    pub fn volume_name(&self) -> Option<&str> {
        self.host_path.is_relative().then(|| self.host_path.to_str()).flatten()
    }
}
