//! [`RunReport`]: what a run did, written as `summary.json` and printed as
//! the results table.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::histogram::Histogram;
use crate::scenario::NodeKind;

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

/// Counts of messages by fate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MessageCounts {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
    /// Sent but neither delivered nor dropped when the run ended: due
    /// after its end, or held by a stall past it.
    pub in_flight: u64,
    pub dropped_by_reason: BTreeMap<String, u64>,
    pub bytes_delivered: u64,
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

/// A message as it reached its destination; recorded only when asked for
/// ([`Simulation::record_deliveries`](super::Simulation::record_deliveries)).
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub time_us: u64,
    pub src: String,
    pub dst: String,
    pub topic: String,
    pub payload: Vec<u8>,
}

/// A fault that stopped a node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultRecord {
    pub node: String,
    pub time_us: u64,
    pub kind: String,
    pub message: String,
}

/// A JSON number, or `"NaN"`, `"inf"` or `"-inf"`: JSON has none of them,
/// and a value the run measured is never dropped.
pub(crate) fn number_or_name<S: serde::Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() { s.serialize_f64(*value) } else { s.serialize_str(&value.to_string()) }
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

/// Everything a run reports. Fields whose names start with `wall_` vary
/// between runs, and `sandbox` with the packing; without Docker nodes
/// (`deterministic: true`) everything else is determined by scenario, seed
/// and models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    pub status: RunStatus,
    /// Why the run failed or was interrupted.
    pub reason: Option<String>,
    pub scenario: String,
    pub scenario_sha256: String,
    pub seed: u64,
    /// How WASM nodes were packed (`per-node`, `shared:N`): it changes no
    /// result, but a summary says how it was made.
    pub sandbox: String,
    pub versions: Versions,
    /// SHA-256 of each component that ran, by name.
    pub components: BTreeMap<String, String>,
    /// The image id each Docker node ran, by node.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<String, String>,
    /// Whether the same scenario and seed give the same bytes: false as
    /// soon as a Docker node took part.
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
    pub model_metrics: super::ModelMetrics,
    /// The scenario's scripted faults: what took effect, the messages lost
    /// to each kind, and what the sinks saw; only when it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scripted_faults: Option<super::fault_state::ScriptedFaultReport>,
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
}

/// Most characters of the reason on the status line (the reason may quote
/// a guest's words; the error printed below it is bounded the same way).
const MAX_STATUS_REASON_CHARS: usize = 200;

/// The reason's first line, at most [`MAX_STATUS_REASON_CHARS`] of it.
fn status_reason(reason: &str) -> String {
    let line = reason.lines().next().unwrap_or("");
    let mut chars = line.chars();
    let mut shown: String = chars.by_ref().take(MAX_STATUS_REASON_CHARS).collect();
    if chars.next().is_some() {
        shown.push('…');
    }
    shown
}

impl fmt::Display for RunReport {
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
            write!(f, "\n{label:<14}{node_type} ({nodes}): {}", super::model_metrics::table_line(metrics))?;
        }
        Ok(())
    }
}
