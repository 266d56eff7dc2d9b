//! The scenario file as the user writes it: every key optional where the
//! file format allows, nothing defaulted, nothing resolved. `resolve.rs`
//! turns it into the [`ResolvedScenario`](super::ResolvedScenario) the
//! runner consumes.
//!
//! Unknown keys are rejected (`deny_unknown_fields`); keys that xEdgeSim
//! files carry but xedgesim does not support yet are accepted here so that
//! validation can name them with a "not supported yet" error instead of a
//! generic unknown-key one.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::config_value::ConfigValue;
use super::node_config::NodeConfig;

/// A whole scenario file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub simulation: Option<SimulationSection>,
    pub network: Option<NetworkSection>,
    #[serde(default)]
    pub nodes: Vec<NodeEntry>,
    /// xEdgeSim's ML placement experiments: not supported yet.
    pub ml_inference: Option<ConfigValue>,
    pub equivalence: Option<EquivalenceSection>,
    /// Scripted faults: crashes, partitions, degraded links, stalls.
    #[serde(default)]
    pub faults: Vec<FaultEntry>,
    /// Many runs of this file: seeds × parameter points (`crate::sweep`).
    pub sweep: Option<super::sweep_section::SweepSection>,
    /// Docker engines besides the default one, by name (`docker.engine`).
    #[serde(default)]
    pub engines: BTreeMap<String, EngineEntry>,
}

/// One `engines:` entry: where the engine listens and how it is reached.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an engine entry, `{endpoint: …}` (with `tls:` for tcp://)")]
pub struct EngineEntry {
    pub endpoint: String,
    /// `{ca, cert, key}` (files relative to the scenario file) or `false`
    /// (plain TCP); checked by hand in `validate/engines.rs`, which names
    /// a misspelt key at its line.
    pub tls: Option<ConfigValue>,
}

/// `equivalence:`: what `xedgesim equiv` counts when this file is side A.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EquivalenceSection {
    pub ignore_timing: Option<bool>,
    pub time_tolerance_us: Option<u64>,
    /// `exact` or `json`.
    pub payloads: Option<String>,
    pub json_tolerance: Option<f64>,
    /// Per payload field (keys joined by `.`): how far its numbers may be
    /// apart; implies JSON payloads.
    #[serde(default)]
    pub payload_tolerance: BTreeMap<String, PayloadToleranceEntry>,
    pub metric_tolerance: Option<f64>,
    #[serde(default)]
    pub ignore_nodes: Vec<String>,
    #[serde(default)]
    pub ignore_topics: Vec<String>,
    /// With `--trials`: per metric, how far B's mean may be from A's
    /// (a number, or a percentage of A's mean such as `5%`).
    #[serde(default)]
    pub margins: BTreeMap<String, ConfigValue>,
    /// With `--trials`: the margin of every metric `margins` does not name.
    pub margin_default: Option<ConfigValue>,
    /// With `--trials`: the fewest trials per side to decide on (at least 5).
    pub min_trials: Option<u32>,
    /// End-to-end latency at the sinks held against this many ms (> 0).
    pub deadline_ms: Option<f64>,
    /// The sinks whose end-to-end latency is shown (default: the cloud nodes).
    #[serde(default)]
    pub latency_at: Vec<String>,
}

/// One field's bounds in `equivalence.payload_tolerance`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadToleranceEntry {
    pub abs: Option<f64>,
    pub rel: Option<f64>,
}

/// `simulation:`: how long, which seed, and what happens on a node fault.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationSection {
    pub duration_s: Option<f64>,
    pub seed: Option<u64>,
    pub time_quantum_us: Option<u64>,
    pub on_fault: Option<String>,
}

/// `network:`: the default link and per-link overrides.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    pub model: Option<String>,
    pub default_latency_us: Option<i64>,
    pub default_jitter_us: Option<i64>,
    pub default_loss_rate: Option<f64>,
    pub default_bandwidth_bps: Option<i64>,
    pub default_queue_bytes: Option<i64>,
    #[serde(default)]
    pub links: Vec<LinkEntry>,
}

/// One directed link `src -> dst`; absent values fall back to the defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkEntry {
    pub src: String,
    pub dst: String,
    pub latency_us: Option<i64>,
    pub jitter_us: Option<i64>,
    pub loss_rate: Option<f64>,
    pub bandwidth_bps: Option<i64>,
    pub queue_bytes: Option<i64>,
}

/// One node entry under `nodes:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
    pub id: String,
    /// Makes this many nodes of the entry (see `expand.rs`).
    pub count: Option<u64>,
    #[serde(rename = "type")]
    pub node_type: String,
    pub implementation: Option<String>,
    /// xEdgeSim's TCP port; accepted for its files, unused by wasm nodes.
    pub port: Option<u16>,
    #[serde(default)]
    pub config: NodeConfig,
    pub on_fault: Option<String>,
    /// Boxed, as `docker`: every member of a `count:` entry is a copy of
    /// it, and ten million copies should not each carry room for them.
    pub wasm: Option<Box<WasmSection>>,
    pub docker: Option<Box<DockerSection>>,
    /// How fast the node's CPU is: a profile name or `{instructions_per_us: N}`
    /// (checked in `validate/cpu.rs`, which names what is wrong at its line).
    pub cpu: Option<ConfigValue>,
    /// xEdgeSim's Renode firmware nodes: not supported yet.
    pub platform: Option<ConfigValue>,
    /// xEdgeSim's Renode firmware nodes: not supported yet.
    pub firmware: Option<ConfigValue>,
}

/// `wasm:` on a node: which component, and the sandbox limits.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasmSection {
    /// Path to a `.wasm` component, relative to the scenario file.
    pub component: Option<String>,
    pub fuel_per_step: Option<u64>,
    pub fuel_per_message: Option<u64>,
    pub memory_limit_mb: Option<u64>,
    pub max_outbox_messages: Option<u32>,
    pub max_outbox_bytes: Option<u64>,
    pub max_inbox_bytes: Option<u64>,
    pub max_log_bytes: Option<u64>,
    /// Read-only data for the model: a name (the file the guest opens as
    /// `/data/<name>`) to a host file, relative to the scenario file.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

/// `docker:` on a node with `implementation: docker`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerSection {
    pub image: Option<String>,
    pub build_context: Option<String>,
    pub dockerfile: Option<String>,
    /// Container port to host port; xEdgeSim files write either as a
    /// number or a string.
    #[serde(default)]
    pub ports: BTreeMap<ConfigValue, ConfigValue>,
    #[serde(default)]
    pub environment: BTreeMap<String, ConfigValue>,
    #[serde(default)]
    pub volumes: BTreeMap<String, VolumeEntry>,
    pub cpus: Option<f64>,
    pub memory_mb: Option<u64>,
    pub pids_limit: Option<u64>,
    /// Mounts the image's file system read-only (with a tmpfs on `/tmp`).
    pub read_only_rootfs: Option<bool>,
    /// `name` or `uid[:gid]` to run as instead of the image's user.
    pub user: Option<String>,
    pub network_mode: Option<String>,
    /// Runs on the host, in `build_context`, before the image is built.
    pub build_command: Option<String>,
    /// Seconds `build_command` may run.
    pub build_timeout_s: Option<u64>,
    /// The image build's `RUN` steps reach the network (`pip install`).
    pub build_network: Option<bool>,
    /// `xedgesim` (the default), `xedgesim-adapter` or `mqtt`.
    pub protocol: Option<String>,
    pub step_timeout_ms: Option<u64>,
    pub start_timeout_ms: Option<u64>,
    pub max_frame_bytes: Option<u64>,
    /// With `protocol: mqtt`: how the host meets the container.
    pub mqtt: Option<MqttSection>,
    /// The `engines:` entry the container runs on; none: the default engine.
    pub engine: Option<String>,
}

/// One `volumes:` entry, docker-py style: `host_path: {bind, mode}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeEntry {
    pub bind: String,
    pub mode: Option<String>,
}

/// `docker.mqtt:` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSection {
    pub host_env: Option<String>,
    pub port_env: Option<String>,
    pub connect_timeout_s: Option<u64>,
    pub answer_deadline_ms: Option<u64>,
    pub quiet_ms: Option<u64>,
    pub expect_answer: Option<bool>,
    pub processing_us: Option<u64>,
    pub time_scale: Option<f64>,
}

/// One entry under `faults:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultEntry {
    /// Node to crash.
    pub crash: Option<String>,
    /// Node to restart (after a crash).
    pub restart: Option<String>,
    /// Nodes cut off from the rest.
    pub partition: Option<Vec<String>>,
    /// Nodes of an earlier `partition` to join to the rest again.
    pub heal: Option<Vec<String>>,
    /// The directed link to degrade.
    pub degrade: Option<LinkRef>,
    /// Node whose steps are delayed.
    pub stall: Option<String>,
    /// `crash`: crashes of random nodes of `type`.
    pub random: Option<String>,
    pub at_s: Option<f64>,
    pub until_s: Option<f64>,
    pub latency_us: Option<i64>,
    pub jitter_us: Option<i64>,
    pub loss_rate: Option<f64>,
    pub bandwidth_bps: Option<i64>,
    pub delay_us: Option<u64>,
    #[serde(rename = "type")]
    pub node_type: Option<String>,
    pub count: Option<u64>,
    pub between_s: Option<Vec<f64>>,
    pub down_s: Option<f64>,
}

/// `degrade: {src, dst}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRef {
    pub src: String,
    pub dst: String,
}
