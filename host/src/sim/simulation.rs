//! [`Simulation`]: a scenario run end to end.
//!
//! Next-event, not fixed-step: a node steps only when messages reach it or
//! the wake-up time it asked for comes; idle nodes cost nothing. Every node
//! is stepped once at t = 0. All messages due for a node at one instant
//! arrive in one step, in the order they were sent (over several steps at
//! that instant when they exceed its inbox byte bound). Events at the same
//! virtual time are handled in rounds: a step's zero-latency messages are
//! delivered in the next round at the same instant.
//!
//! The run covers the closed interval [0, duration]: an event due exactly
//! at the end time is handled (a 10 s run samples at 10 s); later ones are
//! not, and messages due after the end are counted as in flight. A
//! node's requested wake-up replaces its earlier one; `none` cancels it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};

use super::atomic_file::write_atomic;
use super::error::RunError;
use super::event_queue::{EventKind, EventQueue, QueueFull};
use super::fault_schedule::{FaultSchedule, Scheduled};
use super::fault_state::{FaultState, HeldMessage};
use super::histogram::Histogram;
use super::network::{Network, Transit};
use super::placement::{PlaceOptions, Placement, SandboxMode, hex, place};
use super::report::{Delivery, FaultRecord, MessageCounts, Percentiles, RunReport, RunStatus, Versions};
use super::series::{NodeRow, Series, SeriesRecorder, busiest_nodes};
use super::trace::{DropReason, Trace, TraceLevel};
use crate::runtime::fault::FaultKind;
use crate::runtime::{
    Address, Interrupted, LogLevel, LogLine, Message, Metric, NodeFault, NodeUsage, Outgoing, StepCall, StepOutput,
};
use crate::scenario::{self, FaultPolicy, NodeKind, ResolvedScenario};
use crate::text::format_time;

/// Most events the queue may hold: a bound on memory (about 200 bytes each).
pub const MAX_QUEUED_EVENTS: usize = 50_000_000;
/// Most rounds at one instant before the run is declared stuck.
pub const MAX_ROUNDS_PER_INSTANT: usize = 10_000;
/// Most events (deliveries and wake-ups) created and handled at one
/// instant (every round after the first, whose events were scheduled
/// earlier, however many nodes there are) before the run is declared
/// stuck: bounds the work, not only the rounds, so a node that sends itself
/// thousands of messages a round is stopped early.
pub const MAX_EVENTS_PER_INSTANT: u64 = 1_000_000;
/// Default bound on the bytes of messages in flight (payloads, topics,
/// ids and a fixed overhead each: `event_queue::held_bytes`).
pub const DEFAULT_MAX_QUEUED_PAYLOAD_BYTES: u64 = 1 << 30;

/// Where a run is, for progress displays.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub now_us: u64,
    pub duration_us: u64,
    pub events: u64,
}

/// Hears each line of image build output.
type BuildLog = Box<dyn FnMut(&str)>;

/// One line a node logged, as the run makes it: virtual time, node, level, text.
#[derive(Debug, Clone, Copy)]
pub struct LiveLog<'a> {
    pub time_us: u64,
    pub node: &'a str,
    pub level: LogLevel,
    pub text: &'a str,
}

/// Hears the lines nodes log at or above a level, as the run makes them.
type LogTap = (LogLevel, Box<dyn FnMut(LiveLog<'_>)>);

/// A scenario, ready to run; configure it with the builder methods.
pub struct Simulation {
    scenario: ResolvedScenario,
    /// SHA-256 of the scenario file, when it came from one.
    file_sha256: Option<[u8; 32]>,
    /// What loading the file warned about (a key the model does not take, …).
    warnings: scenario::Diagnostics,
    /// The file as written, when a node runs its own component: its config
    /// is checked against the component's declaration before the run.
    source: Option<Arc<scenario::SourceFile>>,
    /// What the file asks to do to the host, each at its line.
    capabilities: Vec<scenario::Capability>,
    /// The scenario's path as the caller gave it (relative to where the run
    /// started, when given so), for `summary.json`.
    scenario_path: Option<PathBuf>,
    seed: u64,
    duration_us: u64,
    out_dir: Option<PathBuf>,
    trace_level: TraceLevel,
    sandbox: SandboxMode,
    native: bool,
    cache_dir: Option<PathBuf>,
    /// The cargo that builds Rust model folders; `None`: `cargo` from `PATH`.
    cargo: Option<PathBuf>,
    interrupt: Option<Arc<AtomicBool>>,
    /// Threads that step the groups due at one instant (1: the caller's only).
    threads: usize,
    progress: Option<Box<dyn FnMut(Progress)>>,
    docker_host: Option<String>,
    /// Nothing is pulled: a Docker node whose image is missing faults.
    offline: bool,
    run_label: Option<String>,
    build_log: Option<BuildLog>,
    /// Whether model folders are built (running code from them) or only
    /// taken from earlier builds.
    build_models: bool,
    log_tap: Option<LogTap>,
    record_deliveries: bool,
    max_queued_payload_bytes: u64,
    /// Whether the run writes `report.html`.
    write_report: bool,
    /// Whether the run leaves out the scenario's scripted faults.
    fault_free: bool,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("scenario", &self.scenario.name)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

/// Fewer calls than this at one instant are stepped on the engine's own
/// thread: handing work to another thread costs more than a few steps.
const PARALLEL_MIN_CALLS: usize = 32;

impl Simulation {
    /// Loads, validates and resolves the scenario at `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, RunError> {
        Self::from_file_with(path, &scenario::LoadOptions::default())
    }

    /// [`Simulation::from_file`] with the loader's `options`.
    pub fn from_file_with(path: impl AsRef<Path>, options: &scenario::LoadOptions) -> Result<Self, RunError> {
        let loaded = scenario::load_with(path.as_ref(), options)?;
        let mut sim = Simulation::new(loaded.resolved);
        sim.file_sha256 = Some(loaded.source_sha256);
        sim.warnings = loaded.warnings;
        sim.source = loaded.source;
        sim.capabilities = loaded.capabilities;
        sim.scenario_path = Some(path.as_ref().to_path_buf());
        Ok(sim)
    }

    /// What loading the scenario file warned about; empty for a scenario
    /// built in code.
    pub fn warnings(&self) -> &scenario::Diagnostics {
        &self.warnings
    }

    /// A simulation of an already resolved scenario.
    pub fn new(scenario: ResolvedScenario) -> Self {
        Simulation {
            seed: scenario.seed,
            duration_us: scenario.duration_us,
            scenario,
            file_sha256: None,
            warnings: scenario::Diagnostics::default(),
            source: None,
            capabilities: Vec::new(),
            scenario_path: None,
            out_dir: None,
            trace_level: TraceLevel::default(),
            sandbox: SandboxMode::PerNode,
            native: false,
            cache_dir: None,
            cargo: None,
            interrupt: None,
            threads: 1,
            progress: None,
            docker_host: None,
            offline: false,
            run_label: None,
            build_log: None,
            build_models: false,
            log_tap: None,
            record_deliveries: false,
            max_queued_payload_bytes: DEFAULT_MAX_QUEUED_PAYLOAD_BYTES,
            write_report: true,
            fault_free: false,
        }
    }

    pub fn scenario(&self) -> &ResolvedScenario {
        &self.scenario
    }

    /// What the scenario file asks to do to the host, each at its line
    /// (empty for a scenario built in code): the caller decides what its
    /// user allowed before running (see `scenario::Allowance`).
    pub fn capabilities(&self) -> &[scenario::Capability] {
        &self.capabilities
    }

    /// Overrides the scenario's seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Overrides the scenario's duration.
    pub fn duration_s(mut self, seconds: f64) -> Result<Self, RunError> {
        self.duration_us = scenario::duration_us(seconds)?;
        Ok(self)
    }

    /// Where outputs go (default `runs/<scenario>-seed<seed>/`).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    pub fn trace(mut self, level: TraceLevel) -> Self {
        self.trace_level = level;
        self
    }

    pub fn sandbox(mut self, mode: SandboxMode) -> Self {
        self.sandbox = mode;
        self
    }

    /// The compiled-component cache folder, which also keeps model
    /// folders' builds; `None` (the default) disables it.
    pub fn cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.cache_dir = dir;
        self
    }

    /// The cargo that builds Rust model folders; `None` (the default):
    /// `cargo` from `PATH`.
    pub fn cargo(mut self, cargo: Option<PathBuf>) -> Self {
        self.cargo = cargo;
        self
    }

    /// Steps the sandboxes due at one busy instant on up to `threads`
    /// threads (default 1). Results are applied in node order, so the
    /// outputs are the same bytes with any number.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Stops the run cleanly (status `interrupted`) once `flag` is set.
    pub fn interrupt_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.interrupt = Some(flag);
        self
    }

    /// The Docker engine to use (`unix:///…`, `tcp://…`); default the local one.
    pub fn docker_host(mut self, endpoint: Option<String>) -> Self {
        self.docker_host = endpoint;
        self
    }

    /// Pulls nothing (`--offline`): a Docker node whose image, or whose
    /// Dockerfile's base image, is not in the engine faults (`image_missing`,
    /// `image_build`) instead of having it pulled.
    pub fn offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// Puts `label` on every container and volume of the run, as label
    /// `xedgesim.run_label`, so a test suite or a CI job finds its own
    /// among those of other runs on the machine (`xedgesim run` takes it
    /// from `XEDGESIM_RUN_LABEL`).
    pub fn run_label(mut self, label: Option<String>) -> Self {
        self.run_label = label;
        self
    }

    /// Keeps every delivery (destination, source, topic, payload, time) and
    /// every node's metrics in the report, for [`crate::equiv::canonical`].
    /// Memory grows with the messages delivered.
    pub fn record_deliveries(mut self, record: bool) -> Self {
        self.record_deliveries = record;
        self
    }

    /// Bounds the bytes of messages in flight (default 1 GiB; payloads,
    /// topics, ids and 128 a message): past it the run stops with an error
    /// naming the sender.
    pub fn max_queued_payload_bytes(mut self, bytes: u64) -> Self {
        self.max_queued_payload_bytes = bytes;
        self
    }

    /// Whether the run writes `report.html` (default yes); `series.json`,
    /// which it is drawn from, is written either way.
    pub fn report(mut self, write: bool) -> Self {
        self.write_report = write;
        self
    }

    /// Runs the scenario without its `faults:` section (default: with it),
    /// to compare a faulty run with a healthy one.
    pub fn fault_free(mut self, fault_free: bool) -> Self {
        self.fault_free = fault_free;
        self
    }

    /// The scripted faults of this run: scheduled from the run's seed and
    /// length, none with [`fault_free`](Self::fault_free).
    fn fault_state(&self) -> Result<FaultState, RunError> {
        let scenario = &self.scenario;
        let faults = if self.fault_free { &[][..] } else { &scenario.faults[..] };
        if faults.is_empty() {
            // No map of a million node ids for a run without faults.
            return Ok(FaultState::default());
        }
        let index_of: FxHashMap<&str, usize> =
            scenario.nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
        let schedule = FaultSchedule::new(
            faults,
            self.seed,
            self.duration_us,
            |id| index_of.get(id).copied(),
            |kind| scenario.nodes.iter().enumerate().filter(|(_, n)| n.kind.name() == kind).map(|(i, _)| i).collect(),
        )
        .map_err(|e| RunError::Unsound(e.to_string()))?;
        let sinks = scenario.nodes.iter().enumerate().filter(|(_, n)| n.kind == NodeKind::Cloud).map(|(i, _)| i);
        let mut kinds: Vec<&'static str> = faults.iter().map(|f| f.action.kind()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        Ok(FaultState::new(schedule, scenario.nodes.len(), sinks.collect(), kinds))
    }

    /// Hears each line of image and model builds' output, and what each
    /// model folder's component was built or taken from.
    pub fn on_build_output(mut self, f: impl FnMut(&str) + 'static) -> Self {
        self.build_log = Some(Box::new(f));
        self
    }

    /// Builds the model folders the scenario names before the run (default
    /// no: the component an earlier build made from the same sources is
    /// used, and a folder without one is an error). Building runs code
    /// from the folder: say yes only for folders the user trusts.
    pub fn build_models(mut self, build: bool) -> Self {
        self.build_models = build;
        self
    }

    /// Hears every line a node logs at `min_level` or above, in trace
    /// order, as the run makes it (`trace.jsonl` keeps them only with
    /// `--trace all`). Stdout lines are `info`, stderr lines `warn`.
    pub fn on_log(mut self, min_level: LogLevel, f: impl FnMut(LiveLog<'_>) + 'static) -> Self {
        self.log_tap = Some((min_level, Box::new(f)));
        self
    }

    /// Called every few thousand events.
    pub fn on_progress(mut self, f: impl FnMut(Progress) + 'static) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// Runs the built-in models compiled natively instead of as WASM: the
    /// benchmarks' physical limit. Not sandboxed, not deterministic.
    #[doc(hidden)]
    pub fn native_models(mut self, native: bool) -> Self {
        self.native = native;
        self
    }

    /// The file's SHA-256; for a scenario built in code, that of its resolved form.
    fn scenario_sha256(&self) -> String {
        hex(&self.file_sha256.unwrap_or_else(|| Sha256::digest(scenario::resolved_to_yaml(&self.scenario)).into()))
    }

    pub fn current_seed(&self) -> u64 {
        self.seed
    }

    /// `runs/<scenario>-seed<seed>` (`-fault-free` added for a fault-free run of a scenario with faults), unless [`out_dir`](Self::out_dir) says otherwise.
    pub fn output_dir(&self) -> PathBuf {
        self.out_dir.clone().unwrap_or_else(|| {
            // A fault-free run of a faulty scenario must not overwrite the faulty run's outputs.
            let suffix = if self.fault_free && !self.scenario.faults.is_empty() { "-fault-free" } else { "" };
            PathBuf::from("runs").join(format!("{}-seed{}{suffix}", self.scenario.name, self.seed))
        })
    }

    /// Runs the scenario and writes `trace.jsonl`, `metrics.csv` and
    /// `summary.json`. Problems found before the run starts (a component
    /// that does not load) are errors and write nothing, and remove what an
    /// earlier run left in the output folder, so no earlier "finished"
    /// summary passes for this run's; a run that fails or is interrupted
    /// part-way still writes its outputs, and the report's status says why
    /// it stopped. Containers are removed on every path, before this returns.
    pub fn run(mut self) -> Result<RunReport, RunError> {
        // Building, compiling and starting are timed apart from the run
        // itself: a first compile can take longer than the whole run.
        let preparing = Instant::now();
        let (cache_dir, cargo, build) = (self.cache_dir.clone(), self.cargo.clone(), self.build_models);
        let (cache_dir, cargo) = (cache_dir.as_deref(), cargo.as_deref());
        match self.build_log.as_mut() {
            Some(log) => super::build_model_folders(&mut self.scenario, cache_dir, cargo, build, log.as_mut())?,
            None => super::build_model_folders(&mut self.scenario, cache_dir, cargo, build, &mut |_| {})?,
        }
        self.scenario.check().map_err(RunError::Unsound)?;
        let faults = self.fault_state()?;
        let out_dir = self.output_dir();
        for name in OUTPUT_FILES {
            let path = out_dir.join(name);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(RunError::Output { path, source: e });
                }
                _ => {}
            }
        }
        let mut build_log = self.build_log.take();
        let mut ignore = |_: &str| {};
        // A component's declared config is checked before anything starts:
        // `run` refuses what `validate` refuses.
        // Dropped once checked: at scale it is the whole expanded file.
        if let Some(source) = self.source.take() {
            let mut runtime = super::check_runtime(self.cache_dir.clone(), self.interrupt.clone())?;
            let diagnostics = super::check_declared_configs(&self.scenario, &source, &mut runtime)?;
            if diagnostics.has_errors() {
                return Err(scenario::ScenarioError::Invalid { diagnostics }.into());
            }
        }
        let options = PlaceOptions {
            seed: self.seed,
            mode: self.sandbox,
            native: self.native,
            cache_dir: self.cache_dir.clone(),
            docker_host: self.docker_host.clone(),
            offline: self.offline,
            interrupt: self.interrupt.clone(),
            run_id: run_id(),
            run_label: self.run_label.clone(),
            build_log: match build_log.as_mut() {
                Some(f) => f.as_mut(),
                None => &mut ignore,
            },
        };
        let mut placement = place(&self.scenario, options)?;
        let prepare_s = preparing.elapsed().as_secs_f64();
        match self.run_placed(&mut placement, faults, prepare_s) {
            Ok(report) => Ok(report),
            Err(e) => {
                // The outputs could not be written; the containers still go.
                let _ = placement.shutdown();
                Err(e)
            }
        }
    }

    fn run_placed(
        &mut self,
        placement: &mut Placement,
        faults: FaultState,
        prepare_s: f64,
    ) -> Result<RunReport, RunError> {
        let started = Instant::now();
        let out_dir = self.output_dir();
        let output_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RunError::Output { path, source }
        };
        std::fs::create_dir_all(&out_dir).map_err(output_error(&out_dir))?;
        let trace_path = out_dir.join("trace.jsonl");
        let trace = Trace::create(&trace_path, self.trace_level).map_err(output_error(&trace_path))?;

        let queue = EventQueue::new(MAX_QUEUED_EVENTS, self.max_queued_payload_bytes);
        let mut engine = Engine::new(&self.scenario, self.seed, self.duration_us, placement, queue, trace);
        engine.deliveries = self.record_deliveries.then(Vec::new);
        engine.interrupt = self.interrupt.clone();
        engine.threads = self.threads;
        engine.log_tap = self.log_tap.take();
        engine.scripted = faults;
        let mut progress = self.progress.take();
        let outcome = engine.run(progress.as_mut());
        let end_us = engine.now_us;
        let (node_metrics, finish_error) = engine.finish_all(end_us);
        // A fault in `finish` fails a run that had not failed already.
        let outcome = match (outcome, finish_error) {
            // Final metrics cut short by the user's stop.
            (Ok(()), _) if engine.interrupted() => Err(Stop::Interrupted),
            (Ok(()), Some(e)) => Err(Stop::Error(e)),
            (outcome, _) => outcome,
        };
        engine.shutdown_errors = engine.placement.shutdown().iter().map(ToString::to_string).collect();

        let (status, reason) = match outcome {
            Ok(()) => (RunStatus::Finished, None),
            Err(Stop::Interrupted) => (RunStatus::Interrupted, Some("interrupted by the user".to_string())),
            Err(Stop::Error(e)) => (RunStatus::Failed, Some(e.to_string())),
        };
        let wall = started.elapsed().as_secs_f64();
        let report = engine.report(self, status, reason, &node_metrics, (prepare_s, wall));

        let metrics_path = out_dir.join("metrics.csv");
        write_atomic(&metrics_path, engine.metrics_csv(&node_metrics).as_bytes())
            .map_err(output_error(&metrics_path))?;
        let usage_path = out_dir.join("usage.csv");
        write_atomic(&usage_path, engine.usage_csv().as_bytes()).map_err(output_error(&usage_path))?;
        engine.trace.take().expect("trace present until now").commit().map_err(output_error(&trace_path))?;
        let series = engine.series();
        let series_path = out_dir.join("series.json");
        let mut series_json = serde_json::to_string(&series).expect("series serialise");
        series_json.push('\n');
        write_atomic(&series_path, series_json.as_bytes()).map_err(output_error(&series_path))?;
        let summary_path = out_dir.join("summary.json");
        let mut summary = serde_json::to_string_pretty(&report).expect("reports serialise");
        summary.push('\n');
        write_atomic(&summary_path, summary.as_bytes()).map_err(output_error(&summary_path))?;
        if self.write_report {
            // Drawn from the files' contents, as `xedgesim report` redraws it.
            let summary: serde_json::Value = serde_json::from_str(&summary).expect("a summary just written parses");
            let report_path = out_dir.join("report.html");
            write_atomic(&report_path, crate::report::run_page(&summary, &series).as_bytes())
                .map_err(output_error(&report_path))?;
        }
        Ok(report)
    }
}

/// What a message costs an inbox beyond its payload, id and topic: its
/// header in the packed inbox (`wit/node.wit`), rounded up.
const INBOX_HEADER_BYTES: u64 = 32;

/// What `message` takes of an inbox's byte bound: payload, sender id, topic and header.
fn inbox_size(message: &Message) -> u64 {
    (message.payload.len() + message.source.len() + message.topic.len()) as u64 + INBOX_HEADER_BYTES
}

/// Where `inbox` passes `bound` bytes: the first message that does not fit
/// (never the first message), or `None` when all fit.
fn inbox_cut(inbox: &[Message], bound: u64) -> Option<usize> {
    let mut held = 0u64;
    for (k, message) in inbox.iter().enumerate() {
        held = held.saturating_add(inbox_size(message));
        if k > 0 && held > bound {
            return Some(k);
        }
    }
    None
}

/// The files a run writes in its output folder.
pub const OUTPUT_FILES: [&str; 6] =
    ["trace.jsonl", "metrics.csv", "usage.csv", "series.json", "summary.json", "report.html"];

/// Why the loop stopped early.
enum Stop {
    Interrupted,
    Error(RunError),
}

#[derive(Debug, Clone, Default)]
struct NodeStats {
    messages_in: u64,
    bytes_in: u64,
    messages_out: u64,
    bytes_out: u64,
    dropped_out: u64,
}

struct Engine<'a> {
    scenario: &'a ResolvedScenario,
    ids: Vec<&'a str>,
    // Looked up, never iterated: a fast hash, as it is asked once a message.
    index_of: FxHashMap<&'a str, usize>,
    broker: Option<usize>,
    placement: &'a mut Placement,
    shutdown_errors: Vec<String>,
    /// Every delivery, when the run records them.
    deliveries: Option<Vec<Delivery>>,
    /// The user's stop flag, looked at between instants and between the
    /// groups of one instant.
    interrupt: Option<Arc<AtomicBool>>,
    /// Threads that may step the groups due at a busy instant.
    threads: usize,
    /// Their pool, made at the first busy instant (a small run never pays
    /// for starting threads); `None` inside: the system refused threads,
    /// and the run goes on serial, not failed.
    pool: Option<Option<rayon::ThreadPool>>,
    stopped: Vec<bool>,
    /// The scripted faults: nodes down, partitions, stalls (`fault_state.rs`).
    scripted: FaultState,
    generation: Vec<u64>,
    /// Each node's position in the current round's due list (`u32::MAX`: not due).
    due_at: Vec<u32>,
    stats: Vec<NodeStats>,
    /// Who hears log lines live (`--log`), and from which level.
    log_tap: Option<LogTap>,
    queue: EventQueue,
    network: Network,
    trace: Option<Trace>,
    latency: Histogram,
    /// What the report is drawn from (bounded; see `series.rs`).
    series: SeriesRecorder,
    counts: MessageCounts,
    faults: Vec<FaultRecord>,
    next_message_id: u64,
    events: u64,
    steps: u64,
    now_us: u64,
    duration_us: u64,
}

impl<'a> Engine<'a> {
    fn new(
        scenario: &'a ResolvedScenario,
        seed: u64,
        duration_us: u64,
        placement: &'a mut Placement,
        queue: EventQueue,
        trace: Trace,
    ) -> Self {
        let ids: Vec<&str> = scenario.nodes.iter().map(|n| n.id.as_str()).collect();
        let index_of: FxHashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let network = Network::new(&scenario.network, seed, |id| index_of[id]);
        let n = ids.len();
        let kinds: Vec<&str> = scenario.nodes.iter().map(|n| n.kind.name()).collect();
        let series = SeriesRecorder::new(duration_us, &ids, &kinds);
        Engine {
            broker: scenario.nodes.iter().position(|n| n.kind == NodeKind::Broker),
            scenario,
            ids,
            index_of,
            placement,
            shutdown_errors: Vec::new(),
            deliveries: None,
            interrupt: None,
            threads: 1,
            pool: None,
            stopped: vec![false; n],
            scripted: FaultState::default(),
            generation: vec![0; n],
            due_at: vec![u32::MAX; n],
            stats: vec![NodeStats::default(); n],
            log_tap: None,
            queue,
            network,
            trace: Some(trace),
            latency: Histogram::default(),
            series,
            counts: MessageCounts::default(),
            faults: Vec::new(),
            next_message_id: 0,
            events: 0,
            steps: 0,
            now_us: 0,
            duration_us,
        }
    }

    fn trace(&mut self) -> &mut Trace {
        self.trace.as_mut().expect("trace present while running")
    }

    fn interrupted(&self) -> bool {
        self.interrupt.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed))
    }

    fn run(&mut self, mut progress: Option<&mut Box<dyn FnMut(Progress)>>) -> Result<(), Stop> {
        // Every startup fault is recorded, even when a signal came while
        // images were built or containers started (then the run stops).
        let mut abort = None;
        for (node, fault) in std::mem::take(&mut self.placement.startup_faults) {
            if let Err(stop) = self.fault(node, fault) {
                abort.get_or_insert(stop);
            }
        }
        if self.interrupted() {
            return Err(Stop::Interrupted);
        }
        if let Some(stop) = abort {
            return Err(stop);
        }
        // Every node steps once at t = 0, in file order.
        for node in 0..self.ids.len() {
            if !self.stopped[node] {
                self.queue
                    .push(0, EventKind::Wake { node, generation: 0 })
                    .map_err(|why| self.queue_full(node, why))?;
            }
        }
        let mut next_progress = 0;
        loop {
            // The next instant: an event's, or a scripted fault's.
            let now = match (self.queue.peek_time(), self.scripted.schedule.next_time()) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if now > self.duration_us {
                break;
            }
            if self.interrupted() {
                return Err(Stop::Interrupted);
            }
            self.now_us = now;
            // Scripted faults first: before any delivery or step at this instant.
            self.apply_faults(now)?;
            self.run_instant(now)?;
            if self.events >= next_progress {
                next_progress = self.events + 4096;
                if let Some(report) = progress.as_mut() {
                    report(Progress { now_us: now, duration_us: self.duration_us, events: self.events });
                }
            }
        }
        self.now_us = self.duration_us.max(self.now_us);
        Ok(())
    }

    /// Handles every event at `now`, in rounds, until none is left at `now`.
    fn run_instant(&mut self, now: u64) -> Result<(), Stop> {
        let mut rounds = 0;
        let mut split = false;
        let mut events_before = self.events;
        while self.queue.peek_time() == Some(now) {
            // A round that only hands over what a full inbox left waiting is
            // not a node stepping without end: it does not count as a round.
            if !split {
                rounds += 1;
            }
            // Due nodes, each with its inbox in arrival order, and the bytes
            // in it (`u64::MAX` once full: what comes later for that node
            // waits too, so arrival order holds).
            let mut due: Vec<(usize, Vec<Message>)> = Vec::new();
            let mut inbox_bytes: Vec<u64> = Vec::new();
            let mut waiting: Vec<(usize, usize, u64, Message)> = Vec::new();
            // Nodes whose held steps a stall released this round (stepped
            // now), with the sender and id of each message those steps
            // held: their inbox this round, in order.
            let mut released: Vec<(usize, Vec<(usize, u64)>)> = Vec::new();
            while self.queue.peek_time() == Some(now) {
                match self.queue.pop().expect("peeked") {
                    EventKind::Deliver { src, dst, id, message } => {
                        // Delivered or dropped: either happened.
                        self.events += 1;
                        if self.stopped[dst] {
                            let dst_id = self.ids[dst];
                            self.drop_message(now, id, Some(src), Some(dst), dst_id, DropReason::NodeStopped);
                            continue;
                        }
                        if self.scripted.present {
                            let reason = if self.scripted.is_down(dst) {
                                Some(DropReason::NodeDown)
                            } else if self.scripted.separated(src, dst) {
                                // What was on the wire when the partition came is lost.
                                Some(DropReason::Partition)
                            } else {
                                None
                            };
                            if let Some(reason) = reason {
                                let dst_id = self.ids[dst];
                                self.drop_message(now, id, Some(src), Some(dst), dst_id, reason);
                                continue;
                            }
                            if let Some(release) = self.held_until(dst, now, &released) {
                                // A stall holds it: delivered when a step receives it.
                                if self.scripted.hold(dst, release, vec![HeldMessage { src, id, message }]) {
                                    self.queue
                                        .push(release, EventKind::Release { node: dst })
                                        .map_err(|why| self.queue_full(dst, why))?;
                                }
                                continue;
                            }
                        }
                        let slot = self.due_slot(&mut due, dst);
                        inbox_bytes.resize(due.len(), 0);
                        // What the step is handed: payload, sender id and topic, and its header.
                        let size = inbox_size(&message);
                        let held = &mut inbox_bytes[slot];
                        if *held > 0
                            && held.saturating_add(size) > self.scenario.nodes[dst].implementation.max_inbox_bytes()
                        {
                            // A full inbox: the rest arrives in a further step at this instant.
                            *held = u64::MAX;
                            self.events -= 1;
                            waiting.push((src, dst, id, message));
                            continue;
                        }
                        *held += size;
                        // Counted here, once: a message a full inbox made wait comes round again.
                        self.delivered(now, src, dst, id, &message);
                        due[slot].1.push(message);
                    }
                    EventKind::Release { node } => {
                        // A stall's held steps. What reached the node since
                        // was held behind them, so its inbox this round is
                        // theirs alone, in order; they count as delivered
                        // once the inbox bound has said which go now.
                        // A crash or node fault took what it held already.
                        let Some(held) = self.scripted.release(node, now) else { continue };
                        if self.stopped[node] || self.scripted.is_down(node) {
                            // Never so (they go at the stop), but never silently either.
                            self.drop_held(now, node, held);
                            continue;
                        }
                        let slot = self.due_slot(&mut due, node);
                        let senders = match released.iter().position(|(n, _)| *n == node) {
                            Some(k) => &mut released[k].1,
                            None => {
                                released.push((node, Vec::new()));
                                &mut released.last_mut().expect("just pushed").1
                            }
                        };
                        for h in held {
                            senders.push((h.src, h.id));
                            due[slot].1.push(h.message);
                        }
                    }
                    EventKind::Wake { node, generation } => {
                        // A wake-up a later step superseded is not an event.
                        if generation == self.generation[node] && !self.stopped[node] && !self.scripted.is_down(node) {
                            self.events += 1;
                            let id = self.ids[node];
                            self.trace().wake(now, id);
                            self.due_slot(&mut due, node);
                        }
                    }
                }
            }
            for &(node, _) in &due {
                self.due_at[node] = u32::MAX;
            }
            // The next round hands over what waits (the events bound still
            // stops a real livelock hiding behind it).
            split = !waiting.is_empty();
            for (src, dst, id, message) in waiting {
                self.queue
                    .push(now, EventKind::Deliver { src, dst, id, message })
                    .map_err(|why| self.queue_full(dst, why))?;
            }
            if self.scripted.present {
                split |= self.hold_stalled(now, &mut due, released)?;
            }
            due.sort_unstable_by_key(|(node, _)| *node);
            if rounds == 1 {
                // Scheduled before this instant: not work the instant made.
                events_before = self.events;
            }
            let events = self.events - events_before;
            if rounds > MAX_ROUNDS_PER_INSTANT || events > MAX_EVENTS_PER_INSTANT {
                let nodes =
                    due.iter().take(10).map(|(n, _)| format!("'{}'", self.ids[*n])).collect::<Vec<_>>().join(", ");
                return Err(Stop::Error(RunError::Livelock { time: format_time(now), rounds, events, nodes }));
            }
            self.step_due(now, due)?;
        }
        Ok(())
    }

    /// Position of `node` in this round's `due` list, adding it if new.
    fn due_slot(&mut self, due: &mut Vec<(usize, Vec<Message>)>, node: usize) -> usize {
        if self.due_at[node] == u32::MAX {
            self.due_at[node] = due.len() as u32;
            due.push((node, Vec::new()));
        }
        self.due_at[node] as usize
    }

    /// Steps the due nodes (in node order), one call per sandbox: every
    /// group is submitted to before any is collected from, the last group
    /// (containers, placed last) first, so container round trips overlap
    /// the WASM work. Results are applied in node order whatever the group.
    fn step_due(&mut self, now: u64, due: Vec<(usize, Vec<Message>)>) -> Result<(), Stop> {
        let mut calls: Vec<(usize, StepCall)> = due
            .into_iter()
            .map(|(node, inbox)| {
                let (group, index) = self.placement.slot[node].expect("only placed nodes are scheduled");
                (group, StepCall { index, now_us: now, inbox })
            })
            .collect();
        // Stable: within a group, calls stay in node order.
        calls.sort_by_key(|(group, _)| *group);
        let mut batches: Vec<(usize, Vec<StepCall>)> = Vec::new();
        for (group, call) in calls {
            match batches.last_mut() {
                Some((g, batch)) if *g == group => batch.push(call),
                _ => batches.push((group, vec![call])),
            }
        }
        let submitted: Vec<(usize, Vec<usize>)> =
            batches.iter().map(|(group, calls)| (*group, calls.iter().map(|c| c.index).collect())).collect();
        let total_calls: usize = submitted.iter().map(|(_, indexes)| indexes.len()).sum();
        let busy = self.threads > 1 && batches.len() > 1 && total_calls >= PARALLEL_MIN_CALLS;
        if busy {
            let threads = self.threads;
            // The main thread's stack size: guest calls run on these threads' stacks.
            self.pool.get_or_insert_with(|| {
                rayon::ThreadPoolBuilder::new().num_threads(threads).stack_size(8 << 20).build().ok()
            });
        }
        let pool = self.pool.as_ref().and_then(Option::as_ref).filter(|_| busy);
        match pool {
            Some(pool) => {
                if self.interrupted() {
                    return Err(Stop::Interrupted);
                }
                // Each due group, mutably and once, in group order: the groups are
                // independent (own store, streams, log), so which thread steps
                // which changes nothing of what they return.
                let mut due_groups = Vec::with_capacity(batches.len());
                let mut batches = batches.into_iter().peekable();
                for (group, node_group) in self.placement.groups.iter_mut().enumerate() {
                    if let Some((_, calls)) = batches.next_if(|(g, _)| *g == group) {
                        due_groups.push((node_group, calls));
                    }
                }
                pool.install(|| {
                    use rayon::prelude::*;
                    due_groups.into_par_iter().for_each(|(node_group, calls)| node_group.submit(calls));
                });
            }
            _ => {
                // Last group first: the container group (placed last) starts its
                // round trips before the WASM groups do their work.
                for (group, calls) in batches.into_iter().rev() {
                    // A call begun after the user's stop would only be cut short.
                    if self.interrupted() {
                        return Err(Stop::Interrupted);
                    }
                    self.placement.groups[group].submit(calls);
                }
            }
        }
        let mut results: Vec<(usize, Result<StepOutput, NodeFault>)> = Vec::new();
        let groups: Vec<usize> = submitted.iter().map(|(group, _)| *group).collect();
        for (group, indexes) in submitted {
            let outputs = self.placement.groups[group].collect().map_err(|Interrupted| Stop::Interrupted)?;
            if outputs.len() != indexes.len() {
                // A runtime broke the NodeGroup contract: no result can be matched to its node.
                let nodes = indexes.iter().map(|&i| self.ids[self.placement.members[group][i]]).collect::<Vec<_>>();
                return Err(Stop::Error(RunError::ResultCount {
                    nodes: nodes.join(", "),
                    calls: indexes.len(),
                    results: outputs.len(),
                }));
            }
            for (index, result) in indexes.into_iter().zip(outputs) {
                results.push((self.placement.members[group][index], result));
            }
        }
        self.trace_logs(groups);
        // Outputs in node order, whatever sandbox each node lives in.
        results.sort_unstable_by_key(|(node, _)| *node);
        for (node, result) in results {
            self.steps += 1;
            self.series.step(now, node);
            match result {
                Ok(output) => self.apply(node, now, output)?,
                Err(fault) => self.fault(node, fault)?,
            }
        }
        Ok(())
    }

    /// Writes the lines `groups` logged since they were last asked, in
    /// node order (each node's lines in the order written), whichever
    /// group each node lives in: packing must not reorder the trace.
    fn trace_logs(&mut self, groups: impl IntoIterator<Item = usize>) {
        let mut lines: Vec<(usize, LogLine)> = Vec::new();
        for group in groups {
            let members = &self.placement.members[group];
            lines.extend(self.placement.groups[group].take_logs().into_iter().map(|l| (members[l.index], l)));
        }
        lines.sort_by_key(|(node, _)| *node);
        for (node, line) in lines {
            let id = self.ids[node];
            self.trace().log(line.time_us, id, line.level, line.stream, &line.text);
            if let Some((min_level, tap)) = &mut self.log_tap
                && line.level >= *min_level
            {
                tap(LiveLog { time_us: line.time_us, node: id, level: line.level, text: &line.text });
            }
        }
    }

    /// Applies every scripted fault due at `now`, in the schedule's order
    /// (time, then file order). One that would change nothing (a crash of
    /// a node already down, a restart of one that is up, a crash or restart
    /// of a node a node fault stopped) is counted as skipped.
    fn apply_faults(&mut self, now: u64) -> Result<(), Stop> {
        while let Some(what) = self.scripted.schedule.pop_due(now) {
            let takes_effect = match &what {
                Scheduled::Crash { node, fault, draw } => {
                    let up = !self.stopped[*node] && !self.scripted.is_down(*node);
                    if !up && self.scripted.is_down(*node) {
                        // Already down: this crash now keeps it down, so an
                        // earlier crash's timed restart does not revive it.
                        self.scripted.set_down(*node, Some((*fault, *draw)));
                    }
                    up
                }
                Scheduled::Restart { node, ends_crash, .. } => {
                    !self.stopped[*node]
                        && self.scripted.is_down(*node)
                        && ends_crash.is_none_or(|crash| self.scripted.down_by(*node) == Some(crash))
                }
                Scheduled::Heal { nodes, .. } => self.scripted.is_cut(nodes),
                _ => true,
            };
            if !takes_effect {
                self.scripted.skipped += 1;
                continue;
            }
            let ids = &self.ids;
            let target = match &what {
                Scheduled::Crash { node, .. }
                | Scheduled::Restart { node, .. }
                | Scheduled::StallStart { node, .. }
                | Scheduled::StallEnd { node, .. } => ids[*node].to_string(),
                Scheduled::Cut { nodes, .. } | Scheduled::Heal { nodes, .. } => {
                    nodes.iter().map(|&n| ids[n]).collect::<Vec<_>>().join(",")
                }
                Scheduled::DegradeStart { src, dst, .. } | Scheduled::DegradeEnd { src, dst, .. } => {
                    format!("{}->{}", ids[*src], ids[*dst])
                }
            };
            self.trace().scripted_fault(now, what.kind(), &target);
            self.scripted.applied(now, &what, target);
            match what {
                Scheduled::Crash { node, fault, draw } => {
                    // What a stall held for it is lost with it: no step received it.
                    let held = self.scripted.take_held(node);
                    self.drop_held(now, node, held);
                    self.scripted.set_down(node, Some((fault, draw)));
                    // Its wake-ups die with it.
                    self.generation[node] += 1;
                    if let Some((group, index)) = self.placement.slot[node] {
                        self.placement.groups[group].crash(index, now);
                        self.trace_logs([group]);
                    }
                }
                Scheduled::Restart { node, .. } => self.restart(node, now)?,
                Scheduled::Cut { nodes, .. } => self.scripted.cut(nodes),
                Scheduled::Heal { nodes, .. } => {
                    self.scripted.heal(&nodes);
                }
                Scheduled::DegradeStart { src, dst, link, fault } => {
                    self.network.degrade(src, dst, self.ids[src], self.ids[dst], fault, link);
                }
                Scheduled::DegradeEnd { src, dst, .. } => self.network.restore(src, dst),
                Scheduled::StallStart { node, delay_us, .. } => self.scripted.stall(node, Some(delay_us)),
                Scheduled::StallEnd { node, .. } => self.scripted.stall(node, None),
            }
        }
        Ok(())
    }

    /// Makes crashed `node` afresh and steps it at `now`, as every node is
    /// stepped at t = 0; a node that cannot be made again faults.
    fn restart(&mut self, node: usize, now: u64) -> Result<(), Stop> {
        self.scripted.set_down(node, None);
        let restarts = self.scripted.count_restart(node);
        self.generation[node] += 1;
        let scenario = self.scenario;
        let Some((group, index)) = self.placement.slot[node] else { return Ok(()) };
        let made = self.placement.groups[group].restart(index, now, &scenario.nodes[node].config, restarts);
        self.trace_logs([group]);
        match made {
            // A start cut short by the user's stop.
            Ok(()) if self.interrupted() => Err(Stop::Interrupted),
            Ok(()) => {
                let generation = self.generation[node];
                self.queue.push(now, EventKind::Wake { node, generation }).map_err(|why| self.queue_full(node, why))
            }
            Err(fault) => self.fault(node, fault),
        }
    }

    /// Takes the steps a stall delays out of this round: each is held until
    /// its release (a release event is scheduled then), after any step of
    /// the node held before it. Nodes in `released` step now with what
    /// their held steps bring, up to the node's inbox bound (the rest is
    /// handed over in the next round at this instant; true when that
    /// happens); what they are handed counts as delivered now.
    fn hold_stalled(
        &mut self,
        now: u64,
        due: &mut Vec<(usize, Vec<Message>)>,
        released: Vec<(usize, Vec<(usize, u64)>)>,
    ) -> Result<bool, Stop> {
        let mut split = false;
        let mut kept = Vec::with_capacity(due.len());
        let mut released: BTreeMap<usize, Vec<(usize, u64)>> = released.into_iter().collect();
        for (node, mut inbox) in std::mem::take(due) {
            if let Some(mut senders) = released.remove(&node) {
                debug_assert_eq!(inbox.len(), senders.len(), "a released node's inbox is what it held");
                let bound = self.scenario.nodes[node].implementation.max_inbox_bytes();
                if let Some(cut) = inbox_cut(&inbox, bound) {
                    // Older than anything still held: it goes first.
                    let rest = inbox.split_off(cut).into_iter().zip(senders.split_off(cut));
                    let rest = rest.map(|(message, (src, id))| HeldMessage { src, id, message }).collect();
                    self.scripted.hold_first(node, now, rest);
                    self.queue.push(now, EventKind::Release { node }).map_err(|why| self.queue_full(node, why))?;
                    split = true;
                }
                for (message, (src, id)) in inbox.iter().zip(senders) {
                    self.delivered(now, src, node, id, message);
                }
                kept.push((node, inbox));
                continue;
            }
            match self.held_until(node, now, &[]) {
                Some(release) => {
                    // Only wake-ups are left here: messages were held as they arrived.
                    debug_assert!(inbox.is_empty(), "a held node's messages are held on arrival");
                    if self.scripted.hold(node, release, Vec::new()) {
                        self.queue
                            .push(release, EventKind::Release { node })
                            .map_err(|why| self.queue_full(node, why))?;
                    }
                }
                None => kept.push((node, inbox)),
            }
        }
        *due = kept;
        Ok(split)
    }

    /// When a stall lets a step of `node` due at `now` happen, if not now:
    /// later while it is stalled, and never before a step held earlier,
    /// nor in a round before the steps `released` now (messages keep
    /// their order).
    fn held_until(&self, node: usize, now: u64, released: &[(usize, Vec<(usize, u64)>)]) -> Option<u64> {
        self.scripted
            .hold_until(node, now)
            .or_else(|| (self.scripted.holds(node) || released.iter().any(|(n, _)| *n == node)).then_some(now))
    }

    /// Counts `message` (id `id`, from `src`) as delivered to `dst` at
    /// `now`: a step of `dst` receives it in this round.
    fn delivered(&mut self, now: u64, src: usize, dst: usize, id: u64, message: &Message) {
        if self.scripted.present {
            self.scripted.delivered(dst, now);
        }
        let latency = now - message.sent_us;
        self.latency.record(latency);
        self.counts.delivered += 1;
        self.counts.bytes_delivered += message.payload.len() as u64;
        self.series.deliver(now, src, dst, message.payload.len() as u64);
        let stats = &mut self.stats[dst];
        stats.messages_in += 1;
        stats.bytes_in += message.payload.len() as u64;
        let dst_id = self.ids[dst];
        self.trace().deliver(now, id, dst_id, latency);
        if let Some(record) = &mut self.deliveries {
            record.push(Delivery {
                time_us: now,
                src: message.source.clone(),
                dst: dst_id.to_string(),
                topic: message.topic.clone(),
                payload: message.payload.clone(),
            });
        }
    }

    /// Drops what a stall held for `node`, which a crash took down or a
    /// node fault stopped: no step of it will receive them.
    fn drop_held(&mut self, now: u64, node: usize, held: Vec<HeldMessage>) {
        let reason = if self.stopped[node] { DropReason::StoppedWhileHeld } else { DropReason::CrashedWhileHeld };
        let dst_id = self.ids[node];
        for h in held {
            self.drop_message(now, h.id, Some(h.src), Some(node), dst_id, reason);
        }
    }

    /// Sends a step's messages and schedules its wake-up.
    fn apply(&mut self, node: usize, now: u64, output: StepOutput) -> Result<(), Stop> {
        for message in output.outbox {
            self.send(node, now, message)?;
        }
        self.generation[node] += 1;
        if let Some(at) = output.wake_at_us
            && at <= self.duration_us
        {
            let generation = self.generation[node];
            self.queue.push(at, EventKind::Wake { node, generation }).map_err(|why| self.queue_full(node, why))?;
        }
        Ok(())
    }

    fn send(&mut self, src: usize, now: u64, out: Outgoing) -> Result<(), Stop> {
        let id = self.next_message_id;
        self.next_message_id += 1;
        self.counts.sent += 1;
        self.series.send(now);
        let stats = &mut self.stats[src];
        stats.messages_out += 1;
        stats.bytes_out += out.payload.len() as u64;
        let (dst, reason) = match &out.destination {
            Address::Node(name) => (self.index_of.get(name.as_str()).copied(), DropReason::UnknownDestination),
            Address::Publish => (self.broker, DropReason::NoBroker),
        };
        // Borrowed, not copied: the ids live as long as the scenario.
        let dst_label: &str = match (&out.destination, dst) {
            (Address::Node(name), None) => name.as_str(),
            (_, Some(dst)) => self.ids[dst],
            (Address::Publish, None) => "",
        };
        let src_id = self.ids[src];
        self.trace.as_mut().expect("trace present").send(now, id, src_id, dst_label, &out.topic, &out.payload);
        let Some(dst) = dst else {
            self.drop_message(now, id, Some(src), None, dst_label, reason);
            return Ok(());
        };
        if self.scripted.present && self.scripted.separated(src, dst) {
            self.drop_message(now, id, Some(src), Some(dst), dst_label, DropReason::Partition);
            return Ok(());
        }
        match self.network.send(src, dst, src_id, dst_label, out.payload.len(), now) {
            Transit::Lost => self.drop_message(now, id, Some(src), Some(dst), dst_label, DropReason::Loss),
            Transit::LostToDegrade => {
                self.drop_message(now, id, Some(src), Some(dst), dst_label, DropReason::Degrade);
            }
            Transit::QueueFull => {
                self.drop_message(now, id, Some(src), Some(dst), dst_label, DropReason::QueueFull);
            }
            Transit::Arrives(at) if at > self.duration_us => self.counts.in_flight += 1,
            Transit::Arrives(at) => {
                let message = Message {
                    source: src_id.to_string(),
                    destination: out.destination,
                    topic: out.topic,
                    payload: out.payload,
                    sent_us: now,
                };
                self.queue
                    .push(at, EventKind::Deliver { src, dst, id, message })
                    .map_err(|why| self.queue_full(src, why))?;
            }
        }
        Ok(())
    }

    /// Counts and traces a message dropped on its way to `dst_label`; its
    /// sender `src`, when known, is charged with it.
    fn drop_message(
        &mut self,
        now: u64,
        id: u64,
        src: Option<usize>,
        dst: Option<usize>,
        dst_label: &str,
        reason: DropReason,
    ) {
        self.series.drop_message(now, src, dst, reason.name());
        self.counts.dropped += 1;
        *self.counts.dropped_by_reason.entry(reason.name().to_string()).or_default() += 1;
        if let Some(src) = src {
            self.stats[src].dropped_out += 1;
        }
        self.trace().drop_message(now, id, dst_label, reason);
    }

    fn queue_full(&self, node: usize, why: QueueFull) -> Stop {
        let time = format_time(self.now_us);
        Stop::Error(match why {
            QueueFull::Events => {
                RunError::QueueFull { node: self.ids[node].to_string(), time, capacity: MAX_QUEUED_EVENTS }
            }
            QueueFull::PayloadBytes => {
                // Blame the node whose messages fill the queue, not the last sender.
                let (node, held) = self.queue.largest_sender().unwrap_or((self.ids[node].to_string(), 0));
                RunError::PayloadBytesFull { node, held, time, limit: self.queue.max_payload_bytes() }
            }
        })
    }

    /// Records a fault; the node is stopped, and the run too if its policy says so.
    fn fault(&mut self, node: usize, fault: NodeFault) -> Result<(), Stop> {
        let kind = fault.kind.name();
        let message = fault.to_string();
        self.trace().fault(fault.time_us, &fault.node, kind, &message);
        self.series.fault(fault.time_us);
        self.faults.push(FaultRecord {
            node: fault.node.clone(),
            time_us: fault.time_us,
            kind: kind.to_string(),
            message,
        });
        self.stopped[node] = true;
        self.generation[node] += 1;
        if self.scripted.present {
            // What a stall held for it goes with it: no step received it.
            let held = self.scripted.take_held(node);
            self.drop_held(fault.time_us, node, held);
        }
        match self.scenario.nodes[node].on_fault {
            FaultPolicy::Abort => Err(Stop::Error(RunError::Fault(fault))),
            FaultPolicy::Isolate => Ok(()),
        }
    }

    /// Every live node's final metrics, by node index; one batch per group.
    /// A fault in `finish` is recorded like any other; under `on_fault:
    /// abort` it fails the run (returned as the error, with the metrics).
    fn finish_all(&mut self, now: u64) -> (Vec<Vec<Metric>>, Option<RunError>) {
        let mut metrics = vec![Vec::new(); self.ids.len()];
        let mut faults = Vec::new();
        let groups = 0..self.placement.groups.len();
        for group in groups.clone() {
            // Every group is finished, even one whose nodes all stopped, so its
            // last (unterminated) log lines are flushed too.
            let live: Vec<usize> = self.placement.members[group]
                .iter()
                .copied()
                .filter(|&node| !self.stopped[node] && !self.scripted.is_down(node))
                .collect();
            let indexes: Vec<usize> = live.iter().map(|&node| self.placement.slot[node].expect("placed").1).collect();
            let results = self.placement.groups[group].finish(&indexes, now);
            for (node, result) in live.into_iter().zip(results) {
                // Kept as every runtime's are: escaped and bounded (a container's are not cut on the way).
                let result = result.map(|m| {
                    m.into_iter().map(|m| Metric { name: crate::runtime::kept_metric_name(m.name), ..m }).collect()
                });
                match result.map(|m: Vec<Metric>| (super::model_metrics::repeated_name(&m), m)) {
                    Ok((None, m)) => metrics[node] = m,
                    // Which of its values would be the metric? None: refused, as a broken contract.
                    Ok((Some(detail), _)) => faults.push((
                        node,
                        NodeFault {
                            node: self.ids[node].to_string(),
                            time_us: now,
                            kind: FaultKind::DuplicateMetric,
                            detail,
                        },
                    )),
                    Err(fault) => faults.push((node, fault)),
                }
            }
        }
        self.trace_logs(groups);
        // In node order, whatever group each node lives in.
        faults.sort_by_key(|(node, _)| *node);
        let mut abort = None;
        for (node, fault) in faults {
            // Every fault is recorded; the first under `abort` fails the run.
            if let Err(Stop::Error(e)) = self.fault(node, fault) {
                abort.get_or_insert(e);
            }
        }
        (metrics, abort)
    }

    /// The report's series: what was counted while running, and every
    /// node's totals (the busiest listed, all summed by type).
    fn series(&mut self) -> Series {
        let mut faults: BTreeMap<&str, u64> = BTreeMap::new();
        for f in &self.faults {
            *faults.entry(f.node.as_str()).or_default() += 1;
        }
        let steps = |node: usize| self.node_steps(node);
        let fault_count = |node: usize| faults.get(self.ids[node]).copied().unwrap_or(0);
        // Rows are made one node at a time and kept only for the listed
        // nodes: a million nodes' rows would cost more than the run's report.
        let listed = busiest_nodes(self.ids.len(), |node| {
            let s = &self.stats[node];
            (fault_count(node), s.messages_in + s.messages_out, steps(node))
        });
        let mut listed = listed.into_iter().peekable();
        let mut nodes = Vec::new();
        let mut node_types: BTreeMap<&str, NodeRow> = BTreeMap::new();
        for node in 0..self.ids.len() {
            let s = &self.stats[node];
            let kind = self.scenario.nodes[node].kind.name();
            let row = NodeRow {
                id: self.ids[node].to_string(),
                kind: kind.to_string(),
                nodes: 1,
                steps: steps(node),
                messages_in: s.messages_in,
                messages_out: s.messages_out,
                bytes_in: s.bytes_in,
                bytes_out: s.bytes_out,
                dropped_out: s.dropped_out,
                faults: fault_count(node),
                usage: self.usage_rows(node).into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            };
            node_types
                .entry(kind)
                .or_insert_with(|| NodeRow {
                    id: format!("all {kind} nodes"),
                    kind: kind.to_string(),
                    ..NodeRow::default()
                })
                .add(&row);
            if listed.next_if_eq(&node).is_some() {
                nodes.push(row);
            }
        }
        let recorder = std::mem::replace(&mut self.series, SeriesRecorder::new(0, &[], &[]));
        recorder.finish(&self.latency, &self.ids, nodes, node_types.into_values().collect(), self.ids.len() as u64)
    }

    /// How many times `node` was stepped, as its runtime counted (0 if it was never placed).
    fn node_steps(&self, node: usize) -> u64 {
        self.placement.slot[node].map_or(0, |(g, i)| self.placement.groups[g].usage(i).steps)
    }

    /// The engine's own metrics of `node`: its steps and message counts.
    fn host_metrics(&self, node: usize) -> Vec<(&'static str, u64)> {
        let s = &self.stats[node];
        let steps = self.node_steps(node);
        vec![
            ("steps", steps),
            ("messages_in", s.messages_in),
            ("bytes_in", s.bytes_in),
            ("messages_out", s.messages_out),
            ("bytes_out", s.bytes_out),
            ("messages_dropped", s.dropped_out),
            ("faulted", u64::from(self.stopped[node])),
        ]
    }

    /// What running `node` cost, as its runtime measured it: fuel for WASM
    /// nodes, wall-clock and engine figures for containers. Not results:
    /// fuel depends on packing (nodes sharing an instance share its heap
    /// allocator), the rest on the real clock.
    fn usage_rows(&self, node: usize) -> Vec<(&'static str, u64)> {
        self.usage(node).measured()
    }

    fn usage(&self, node: usize) -> NodeUsage {
        match self.placement.slot[node] {
            Some((g, i)) => self.placement.groups[g].usage(i),
            // A node whose sandbox was never made used nothing; WASM nodes still say so in fuel.
            None if !self.scenario.nodes[node].implementation.is_docker() => {
                NodeUsage { fuel_used: Some(0), ..NodeUsage::default() }
            }
            None => NodeUsage::default(),
        }
    }

    fn usage_csv(&self) -> String {
        let mut csv = String::from("node,metric,value\n");
        for node in 0..self.ids.len() {
            for (name, value) in self.usage_rows(node) {
                csv.push_str(&format!("{},{name},{value}\n", csv_field(self.ids[node])));
            }
        }
        csv
    }

    fn metrics_csv(&self, node_metrics: &[Vec<Metric>]) -> String {
        let mut csv = String::from("node,source,metric,value\n");
        for (node, model_metrics) in node_metrics.iter().enumerate() {
            let id = csv_field(self.ids[node]);
            for (name, value) in self.host_metrics(node) {
                csv.push_str(&format!("{id},host,{name},{value}\n"));
            }
            for m in model_metrics {
                csv.push_str(&format!("{id},model,{},{}\n", csv_field(&m.name), m.value));
            }
        }
        csv
    }

    fn report(
        &mut self,
        sim: &Simulation,
        status: RunStatus,
        reason: Option<String>,
        node_metrics: &[Vec<Metric>],
        (prepare_s, wall_s): (f64, f64),
    ) -> RunReport {
        let duration_s = self.duration_us as f64 / 1e6;
        let docker: Vec<usize> =
            (0..self.ids.len()).filter(|&n| self.scenario.nodes[n].implementation.is_docker()).collect();
        let docker_nodes: Vec<&str> = docker.iter().map(|&n| self.ids[n]).collect();
        // Virtual time that MQTT containers' wall time became (docs/running.md).
        let from_wall_us: Option<u64> =
            docker.iter().filter_map(|&n| self.usage(n).wall_to_virtual_us).reduce(u64::saturating_add);
        let mut counts = self.counts.clone();
        let ids = &self.ids;
        let scripted_faults =
            self.scripted.report(self.now_us.min(self.duration_us), &counts.dropped_by_reason, |n| ids[n].to_string());
        // Still on the wire, or at a stalled node no step of which received them.
        counts.in_flight += self.queue.deliveries() as u64 + self.scripted.held_messages();
        // End-to-end latency as the sinks measured it: the worst over cloud nodes.
        let mut e2e: BTreeMap<String, f64> = BTreeMap::new();
        for (node, metrics) in node_metrics.iter().enumerate() {
            if self.scenario.nodes[node].kind != NodeKind::Cloud {
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
        RunReport {
            status,
            reason,
            scenario: sim.scenario_path.as_deref().unwrap_or(&self.scenario.source).display().to_string(),
            scenario_sha256: sim.scenario_sha256(),
            sandbox: sim.sandbox.to_string(),
            versions: Versions::THIS,
            seed: sim.seed,
            components: self.placement.components.clone(),
            images: self.placement.images.clone(),
            deterministic: docker_nodes.is_empty(),
            nondeterminism: (!docker_nodes.is_empty()).then(|| {
                let from_wall = from_wall_us.map_or(String::new(), |us| {
                    format!("; {} of virtual time came from MQTT containers' wall time", format_time(us))
                });
                format!(
                    "Docker nodes took part ({}): containers run on the real clock{from_wall}",
                    docker_nodes.join(", ")
                )
            }),
            shutdown_errors: self.shutdown_errors.clone(),
            // Only for runs that record (equivalence): a million nodes' metrics
            // as a map would cost hundreds of MiB that `metrics.csv` already holds.
            node_metrics: (0..if self.deliveries.is_some() { self.ids.len() } else { 0 })
                .map(|node| {
                    let host = self.host_metrics(node).into_iter().map(|(n, v)| (format!("host.{n}"), v as f64));
                    let model = node_metrics[node].iter().map(|m| (m.name.clone(), m.value));
                    (self.ids[node].to_string(), host.chain(model).collect())
                })
                .collect(),
            deliveries: self.deliveries.take().unwrap_or_default(),
            nodes: self.ids.len(),
            virtual_duration_s: duration_s,
            virtual_time_reached_s: self.now_us.min(self.duration_us) as f64 / 1e6,
            events: self.events,
            steps: self.steps,
            drop_rate: if counts.sent == 0 { 0.0 } else { counts.dropped as f64 / counts.sent as f64 },
            // Over the time reached: an interrupted run covered less than asked.
            throughput_msgs_per_s: {
                let reached_s = self.now_us.min(self.duration_us) as f64 / 1e6;
                if reached_s > 0.0 { counts.delivered as f64 / reached_s } else { 0.0 }
            },
            messages: counts,
            message_latency_us: Percentiles::from(&self.latency),
            end_to_end_latency_us: (!e2e.is_empty()).then_some(e2e),
            scripted_faults,
            fault_free: sim.fault_free && !self.scenario.faults.is_empty(),
            faults: self.faults.clone(),
            model_metrics: super::model_metrics::gather(node_metrics, |node| self.scenario.nodes[node].kind.name()),
            wall_prepare_s: prepare_s,
            wall_duration_s: wall_s,
            wall_events_per_s: if wall_s > 0.0 { self.events as f64 / wall_s } else { 0.0 },
        }
    }
}

/// A name for this run's containers: unique on this machine, short.
fn run_id() -> String {
    // Runs of one process (equivalence trials) may start at once: a counter keeps them apart.
    static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{:x}{:05x}{n}", std::process::id(), nanos & 0xf_ffff)
}

/// A CSV field, quoted when it needs to be.
/// A field of `metrics.csv`, quoted per RFC 4180 when it holds a comma, a
/// quote, or a line break of either kind (a bare `\r` ends a row for many
/// readers too).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_per_rfc_4180() {
        assert_eq!(csv_field("plain"), "plain");
        for (raw, quoted) in
            [("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""), ("a\nb", "\"a\nb\""), ("a\rb", "\"a\rb\"")]
        {
            assert_eq!(csv_field(raw), quoted);
        }
    }
}
