//! [`RunSummary`]: what a run did, written as `summary.json` and printed
//! as the results table (the HTML page, `report.html`, is `crate::report`'s).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::options::RunOptions;
use super::placement::Placed;
use crate::engine::{
    Delivery, FaultRecord, Histogram, MessageCounts, ModelMetrics, Outcome, ScriptedFaultSummary, Stop,
    gather_model_metrics, model_metrics_line, number_or_name,
};
use crate::runtime::record::{ReplayMode, ReplayStats};
use crate::scenario::{NodeKind, ResolvedScenario};
use crate::text::format_time;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Ran to its end time.
    Finished,
    /// Stopped by an error (a fault under `on_fault: abort`, a full queue, …).
    Failed,
    /// Stopped by the user (Ctrl-C).
    Interrupted,
}

/// Percentiles in µs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
}

impl From<&Histogram> for Percentiles {
    fn from(h: &Histogram) -> Self {
        Percentiles {
            count: h.count(),
            p50: h.quantile(0.50),
            p95: h.quantile(0.95),
            p99: h.quantile(0.99),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// Writes each value as [`number_or_name`] does.
fn numbers_or_names<S: serde::Serializer>(map: &Option<BTreeMap<String, f64>>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    struct NumberOrName(f64);
    impl Serialize for NumberOrName {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            number_or_name(&self.0, s)
        }
    }
    let Some(map) = map else { return s.serialize_none() };
    let mut out = s.serialize_map(Some(map.len()))?;
    for (key, &value) in map {
        out.serialize_entry(key, &NumberOrName(value))?;
    }
    out.end()
}

/// What made a run: two summaries that differ can say why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Versions {
    pub xedgesim: &'static str,
    pub wasmtime: &'static str,
    /// The node contract, `wit/node.wit`.
    pub contract: &'static str,
}

impl Versions {
    pub const THIS: Versions = Versions {
        xedgesim: env!("CARGO_PKG_VERSION"),
        wasmtime: env!("XEDGESIM_WASMTIME_VERSION"),
        contract: crate::runtime::wasm::CONTRACT_VERSION,
    };
}

/// Everything a run did, as `summary.json` says it. Fields whose names start with `wall_` vary
/// between runs, and `sandbox` with the packing; without Docker nodes
/// (`deterministic: true`) everything else is determined by scenario, seed
/// and models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub status: RunStatus,
    /// Why the run failed or was interrupted.
    pub reason: Option<String>,
    pub scenario: String,
    pub scenario_sha256: String,
    pub seed: u64,
    /// The values set over the file's (`run --set`, a sweep's point), by
    /// path; only when there are any.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, serde_json::Value>,
    /// How WASM nodes were packed (`per-node`, `shared:N`): it changes no
    /// result, but a summary says how it was made.
    pub sandbox: String,
    pub versions: Versions,
    /// SHA-256 of each component that ran, by name.
    pub components: BTreeMap<String, String>,
    /// The image id each Docker node ran, by node.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<String, String>,
    /// SHA-256 of each `wasm.files` file a node read, by node and name
    /// (only nodes with files).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, BTreeMap<String, String>>,
    /// Whether the same scenario and seed give the same bytes: false as
    /// soon as a Docker node ran live (one answered from a recording does not count).
    pub deterministic: bool,
    /// Why the run is not deterministic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nondeterminism: Option<String>,
    /// Containers that could not be removed, and other clean-up failures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shutdown_errors: Vec<String>,
    /// Every node's metrics, as in `metrics.csv`: the model's by name, the
    /// host's as `host.<name>`; only when the run recorded deliveries. Not
    /// in `summary.json`.
    #[serde(skip)]
    pub node_metrics: BTreeMap<String, BTreeMap<String, f64>>,
    /// Every delivery in the order the engine made them, when recorded.
    /// Not in `summary.json`.
    #[serde(skip)]
    pub deliveries: Vec<Delivery>,
    pub nodes: usize,
    pub virtual_duration_s: f64,
    /// Virtual time reached (the end time, unless the run stopped early).
    pub virtual_time_reached_s: f64,
    pub events: u64,
    pub steps: u64,
    pub messages: MessageCounts,
    /// Fraction of sent messages that were dropped.
    pub drop_rate: f64,
    /// Deliveries per virtual second.
    pub throughput_msgs_per_s: f64,
    /// Send-to-delivery latency of every delivered message, in µs.
    pub message_latency_us: Percentiles,
    /// Sample-to-sink latency as the cloud node(s) measured it, if any
    /// (each cloud's `latency_*_us` metrics; the worst over clouds, NaN
    /// when any cloud reported NaN). JSON has no NaN or infinity: those are
    /// written as the strings `"NaN"`, `"inf"` and `"-inf"`, never dropped.
    #[serde(serialize_with = "numbers_or_names")]
    pub end_to_end_latency_us: Option<BTreeMap<String, f64>>,
    pub faults: Vec<FaultRecord>,
    /// What the models reported at the end, per node type: each metric's
    /// sum, minimum and maximum over the type's nodes (`metrics.csv` has
    /// every node's).
    pub model_metrics: ModelMetrics,
    /// The scenario's scripted faults: what took effect, the messages lost
    /// to each kind, and what the sinks saw; only when it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scripted_faults: Option<ScriptedFaultSummary>,
    /// The run left out the scenario's `faults:` section (`--fault-free`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fault_free: bool,
    /// Before the first event: building model folders, compiling
    /// components (or loading them from the cache), checking configs,
    /// making the sandboxes and starting containers.
    pub wall_prepare_s: f64,
    /// The run itself, from its first event until its outputs are due
    /// (containers removed), without the preparation.
    pub wall_duration_s: f64,
    /// Events per second of `wall_duration_s`.
    pub wall_events_per_s: f64,
    /// The run's recording (`--record`), when it made one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<RecordingSummary>,
    /// The nodes answered from recordings, by node: which recording and
    /// how their calls matched it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub replayed: BTreeMap<String, ReplayedNode>,
    /// Each Docker engine the run connected to, by name (`default` or an
    /// `engines:` name). Wall-clock facts, not results.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub engines: BTreeMap<String, EngineSummary>,
}

/// A Docker engine a run used, as `summary.json` says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineSummary {
    pub endpoint: String,
    pub api_version: String,
    /// The median of 5 `/_ping` round trips when connected, wall µs
    /// (left out when a ping failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trip_us: Option<u64>,
    /// The Docker nodes placed on it.
    pub nodes: Vec<String>,
}

/// A run's recording, as `summary.json` says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordingSummary {
    /// In the run's folder.
    pub file: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    pub bytes: u64,
    /// The recorded nodes.
    pub nodes: Vec<String>,
}

/// A node answered from a recording, as `summary.json` says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayedNode {
    pub recording: String,
    pub sha256: String,
    /// `strict` or `lenient`.
    pub mode: &'static str,
    /// Steps the run asked of it.
    pub calls: u64,
    /// Calls at a recorded time whose inbox differed from the recorded one (lenient).
    pub inputs_differed: u64,
    /// Calls at a time with no recorded step, answered with nothing (lenient).
    pub calls_unrecorded: u64,
    /// Recorded steps no call came for.
    pub recorded_unused: u64,
}

/// Most characters of the reason on the status line (the reason may quote
/// a guest's words; the error printed below it is bounded the same way).
const MAX_STATUS_REASON_CHARS: usize = 200;

/// The reason's first line, at most [`MAX_STATUS_REASON_CHARS`] of it.
fn status_reason(reason: &str) -> String {
    // A reason whose details follow on the next lines ends its first in ':'.
    let line = reason.lines().next().unwrap_or("").trim_end_matches(':');
    let mut chars = line.chars();
    let mut shown: String = chars.by_ref().take(MAX_STATUS_REASON_CHARS).collect();
    if chars.next().is_some() {
        shown.push('…');
    }
    shown
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.messages;
        let l = &self.message_latency_us;
        writeln!(
            f,
            "status        {:?}{}",
            self.status,
            self.reason.as_ref().map(|r| format!(" ({})", status_reason(r))).unwrap_or_default()
        )?;
        writeln!(
            f,
            "virtual time  {:.3} s of {:.3} s, seed {}",
            self.virtual_time_reached_s, self.virtual_duration_s, self.seed
        )?;
        writeln!(
            f,
            "wall time     {:.3} s ({:.0} events/s), after {:.3} s preparing (builds, compiling, containers)",
            self.wall_duration_s, self.wall_events_per_s, self.wall_prepare_s
        )?;
        writeln!(f, "nodes         {} ({} steps, {} faults)", self.nodes, self.steps, self.faults.len())?;
        if let Some(why) = &self.nondeterminism {
            writeln!(f, "determinism   none: {why}")?;
        }
        for problem in &self.shutdown_errors {
            writeln!(f, "clean-up      FAILED: {problem}")?;
        }
        writeln!(
            f,
            "messages      {} sent, {} delivered, {} dropped ({:.2} %), {} in flight",
            m.sent,
            m.delivered,
            m.dropped,
            self.drop_rate * 100.0,
            m.in_flight
        )?;
        if !m.dropped_by_reason.is_empty() {
            let reasons: Vec<String> = m.dropped_by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect();
            writeln!(f, "dropped by    {}", reasons.join(", "))?;
        }
        writeln!(f, "latency       p50 {} µs, p95 {} µs, p99 {} µs, max {} µs", l.p50, l.p95, l.p99, l.max)?;
        if let Some(e2e) = &self.end_to_end_latency_us {
            let get = |k: &str| e2e.get(k).map_or("-".to_string(), |v| format!("{v:.0}"));
            writeln!(
                f,
                "end to end    p50 {} µs, p95 {} µs, p99 {} µs, max {} µs (at the cloud)",
                get("p50"),
                get("p95"),
                get("p99"),
                get("max")
            )?;
        }
        if let Some(scripted) = &self.scripted_faults {
            let lost: Vec<String> = scripted.messages_lost.iter().map(|(k, n)| format!("{n} to {k}")).collect();
            writeln!(
                f,
                "scripted      {} fault events applied; messages lost: {}",
                scripted.applied.len() as u64 + scripted.more_applied,
                if lost.is_empty() { "none".to_string() } else { lost.join(", ") }
            )?;
            for (sink, s) in &scripted.sinks {
                // The first few on the terminal; summary.json has them all (up to its bound).
                const SHOWN: usize = 5;
                let mut recoveries: Vec<String> = s
                    .recovery
                    .iter()
                    .take(SHOWN)
                    .map(|r| match r.recovery_us {
                        Some(us) => format!("{:.3} s after {}", us as f64 / 1e6, r.after),
                        None => format!("never after {}", r.after),
                    })
                    .collect();
                let more = s.recovery.len().saturating_sub(SHOWN) as u64 + s.more_recoveries;
                if more > 0 {
                    recoveries.push(format!("… {more} more (summary.json)"));
                }
                writeln!(
                    f,
                    "sink {sink:<8} longest gap {:.3} s ({:.3}–{:.3} s){}",
                    s.longest_gap_us as f64 / 1e6,
                    s.longest_gap_from_us as f64 / 1e6,
                    s.longest_gap_until_us as f64 / 1e6,
                    if recoveries.is_empty() {
                        String::new()
                    } else {
                        format!("; recovered {}", recoveries.join(", "))
                    }
                )?;
            }
        }
        if self.fault_free {
            writeln!(f, "fault-free    the scenario's `faults:` section was left out")?;
        }
        write!(f, "throughput    {:.1} deliveries per virtual second", self.throughput_msgs_per_s)?;
        // The models' own figures, per type; the built-in ones are in the lines above.
        let custom = self.model_metrics.iter().filter(|(t, m)| NodeKind::builtin(t).is_none() && !m.metrics.is_empty());
        for (i, (node_type, metrics)) in custom.enumerate() {
            let label = if i == 0 { "model metrics" } else { "" };
            let nodes = if metrics.nodes == 1 { "1 node".to_string() } else { format!("{} nodes", metrics.nodes) };
            write!(f, "\n{label:<14}{node_type} ({nodes}): {}", model_metrics_line(metrics))?;
        }
        Ok(())
    }
}

/// What the summary says of a run besides what the engine counted.
pub(super) struct RunFacts<'a> {
    pub scenario: &'a ResolvedScenario,
    /// The scenario's path as the caller gave it.
    pub scenario_label: String,
    pub scenario_sha256: String,
    pub overrides: &'a BTreeMap<String, serde_json::Value>,
    pub options: &'a RunOptions,
}

/// The summary of a run from what the engine counted (`outcome`; the
/// recorded deliveries are moved out of it) and how long preparing and
/// running took, in wall-clock seconds.
pub(super) fn summarize(
    facts: &RunFacts<'_>,
    placed: &Placed,
    outcome: &mut Outcome,
    (prepare_s, wall_s): (f64, f64),
) -> RunSummary {
    let RunFacts { scenario, options, .. } = *facts;
    let (status, reason) = match &outcome.end {
        Ok(()) => (RunStatus::Finished, None),
        Err(Stop::Interrupted) => (RunStatus::Interrupted, Some("interrupted by the user".to_string())),
        Err(Stop::Error(e)) => (RunStatus::Failed, Some(e.to_string())),
    };
    let ids: Vec<&str> = scenario.nodes.iter().map(|n| n.id.as_str()).collect();
    let placement = &placed.placement;
    let duration_s = options.duration_us as f64 / 1e6;
    // Replayed nodes answer from their recordings: only live containers make a run nondeterministic.
    let docker: Vec<usize> = (0..ids.len())
        .filter(|&n| scenario.nodes[n].implementation.is_docker() && !placed.replayed.contains_key(&n))
        .collect();
    let docker_nodes: Vec<&str> = docker.iter().map(|&n| ids[n]).collect();
    // Virtual time that MQTT containers' wall time became (docs/running.md).
    let from_wall_us: Option<u64> =
        docker.iter().filter_map(|&n| placement.usage(scenario, n).wall_to_virtual_us).reduce(u64::saturating_add);
    let counts = outcome.counts.clone();
    // End-to-end latency as the sinks measured it: the worst over cloud nodes.
    let mut e2e: BTreeMap<String, f64> = BTreeMap::new();
    for (node, metrics) in outcome.node_metrics.iter().enumerate() {
        if scenario.nodes[node].kind != NodeKind::Cloud {
            continue;
        }
        for m in metrics {
            if let Some(key) = m.name.strip_prefix("latency_").and_then(|k| k.strip_suffix("_us")) {
                let slot = e2e.entry(key.to_string()).or_insert(f64::NEG_INFINITY);
                // NaN is kept, not lost to `max`: a cloud reported it.
                *slot = if slot.is_nan() || m.value.is_nan() { f64::NAN } else { slot.max(m.value) };
            }
        }
    }
    RunSummary {
        status,
        reason,
        scenario: facts.scenario_label.clone(),
        scenario_sha256: facts.scenario_sha256.clone(),
        sandbox: options.sandbox.to_string(),
        versions: Versions::THIS,
        seed: options.seed,
        overrides: facts.overrides.clone(),
        components: placed.components.clone(),
        files: placed.files.clone(),
        images: placed.images.clone(),
        deterministic: docker_nodes.is_empty(),
        nondeterminism: (!docker_nodes.is_empty()).then(|| {
            let from_wall = from_wall_us.map_or(String::new(), |us| {
                format!("; {} of virtual time came from MQTT containers' wall time", format_time(us))
            });
            format!("Docker nodes took part ({}): containers run on the real clock{from_wall}", docker_nodes.join(", "))
        }),
        shutdown_errors: outcome.shutdown_errors.clone(),
        // Only for runs that record (equivalence): a million nodes' metrics
        // as a map would cost hundreds of MiB that `metrics.csv` already holds.
        node_metrics: (0..if outcome.deliveries.is_some() { ids.len() } else { 0 })
            .map(|node| {
                let host =
                    outcome.host_metrics(node, placement).into_iter().map(|(n, v)| (format!("host.{n}"), v as f64));
                let model = outcome.node_metrics[node].iter().map(|m| (m.name.clone(), m.value));
                (ids[node].to_string(), host.chain(model).collect())
            })
            .collect(),
        deliveries: outcome.deliveries.take().unwrap_or_default(),
        nodes: ids.len(),
        virtual_duration_s: duration_s,
        virtual_time_reached_s: outcome.reached_us as f64 / 1e6,
        events: outcome.events,
        steps: outcome.steps,
        drop_rate: if counts.sent == 0 { 0.0 } else { counts.dropped as f64 / counts.sent as f64 },
        // Over the time reached: an interrupted run covered less than asked.
        throughput_msgs_per_s: {
            let reached_s = outcome.reached_us as f64 / 1e6;
            if reached_s > 0.0 { counts.delivered as f64 / reached_s } else { 0.0 }
        },
        messages: counts,
        message_latency_us: Percentiles::from(&outcome.latency),
        end_to_end_latency_us: (!e2e.is_empty()).then_some(e2e),
        scripted_faults: outcome.scripted_faults.take(),
        fault_free: options.fault_free && !scenario.faults.is_empty(),
        faults: outcome.faults.clone(),
        model_metrics: gather_model_metrics(&outcome.node_metrics, |node| scenario.nodes[node].kind.name()),
        wall_prepare_s: prepare_s,
        wall_duration_s: wall_s,
        wall_events_per_s: if wall_s > 0.0 { outcome.events as f64 / wall_s } else { 0.0 },
        recording: None,
        replayed: replayed(scenario, placed),
        engines: placed
            .engines
            .iter()
            .map(|(name, used)| {
                let nodes = placed.node_engines.iter().filter(|(_, e)| *e == name).map(|(n, _)| n.clone()).collect();
                let summary = EngineSummary {
                    endpoint: used.endpoint.clone(),
                    api_version: used.api_version.clone(),
                    round_trip_us: used.round_trip_us,
                    nodes,
                };
                (name.clone(), summary)
            })
            .collect(),
    }
}

/// Each replayed node's recording and counts.
fn replayed(scenario: &ResolvedScenario, placed: &Placed) -> BTreeMap<String, ReplayedNode> {
    let stats: BTreeMap<String, ReplayStats> =
        placed.replays.iter().flat_map(|r| r.stats()).map(|s| (s.node.clone(), s)).collect();
    placed
        .replayed
        .iter()
        .map(|(&node, source)| {
            let id = scenario.nodes[node].id.clone();
            let s = stats.get(&id).cloned().unwrap_or_default();
            let mode = match source.mode {
                ReplayMode::Strict => "strict",
                ReplayMode::Lenient => "lenient",
            };
            let replayed = ReplayedNode {
                recording: source.recording.clone(),
                sha256: source.sha256.clone(),
                mode,
                calls: s.calls,
                inputs_differed: s.inputs_differed,
                calls_unrecorded: s.calls_unrecorded,
                recorded_unused: s.recorded_unused,
            };
            (id, replayed)
        })
        .collect()
}
