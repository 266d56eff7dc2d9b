//! [`Simulation`]: a scenario run end to end, the public entry point. The
//! builder sets [`RunOptions`] and the hooks that hear the run;
//! [`Simulation::run`] prepares the run (`prepare.rs`), places its nodes
//! (`placement.rs`), hands them to the engine (`crate::engine`) and writes
//! the outputs (`outputs.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::error::{PrepareError, RunError};
use super::options::{Hooks, RecordOptions, ReplayFrom, RunOptions, SandboxMode};
use super::placement::{PlaceOptions, Placed, place};
use super::recording;
use super::summary::{RunFacts, RunSummary, summarize};
use super::{outputs, prepare};
use crate::engine::{Engine, EngineOptions, FaultState, LiveLog, Progress, TraceLevel};
use crate::runtime::LogLevel;
use crate::scenario::{self, ResolvedScenario};
use crate::text::hex;

/// A scenario, ready to run; configure it with the builder methods (each
/// sets one of its [`RunOptions`] or a hook that hears the run).
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
    /// The values set over the file's (`run --set`, a sweep's point), by
    /// path, for `summary.json` and the command that reproduces the run.
    overrides: std::collections::BTreeMap<String, serde_json::Value>,
    options: RunOptions,
    hooks: Hooks,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("scenario", &self.scenario.name)
            .field("seed", &self.options.seed)
            .finish_non_exhaustive()
    }
}

impl Simulation {
    /// Loads, validates and resolves the scenario at `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, RunError> {
        Self::from_file_with(path, &scenario::LoadOptions::default())
    }

    /// [`Simulation::from_file`] with the loader's `options`.
    pub fn from_file_with(path: impl AsRef<Path>, options: &scenario::LoadOptions) -> Result<Self, RunError> {
        Self::from_file_overridden(path, options, &[])
    }

    /// [`Simulation::from_file_with`] with `overrides` set in the file
    /// first (`run --set`, a sweep's point).
    pub fn from_file_overridden(
        path: impl AsRef<Path>,
        options: &scenario::LoadOptions,
        overrides: &[scenario::Override],
    ) -> Result<Self, RunError> {
        let loaded = scenario::load_overridden(path.as_ref(), options, overrides)?;
        Ok(Self::from_loaded(loaded, path.as_ref()).overrides(overrides))
    }

    /// Records `overrides` as the values this run's file was loaded with
    /// (the caller loaded it so): `summary.json` lists them.
    pub fn overrides(mut self, overrides: &[scenario::Override]) -> Self {
        self.overrides = overrides
            .iter()
            .map(|o| (o.path.clone(), serde_json::to_value(&o.value).expect("scalars serialise")))
            .collect();
        self
    }

    /// A simulation of a scenario loaded from the file at `path`.
    pub fn from_loaded(loaded: scenario::Loaded, path: &Path) -> Self {
        let mut sim = Simulation::new(loaded.resolved);
        sim.file_sha256 = Some(loaded.source_sha256);
        sim.warnings = loaded.warnings;
        sim.source = loaded.source;
        sim.capabilities = loaded.capabilities;
        sim.scenario_path = Some(path.to_path_buf());
        sim
    }

    /// What loading the scenario file warned about; empty for a scenario
    /// built in code.
    pub fn warnings(&self) -> &scenario::Diagnostics {
        &self.warnings
    }

    /// A simulation of an already resolved scenario.
    pub fn new(scenario: ResolvedScenario) -> Self {
        let mut options = RunOptions::new(scenario.seed, scenario.duration_us);
        options.max_queued_payload_bytes = crate::engine::default_max_queued_payload_bytes(scenario.nodes.len());
        Simulation {
            options,
            scenario,
            file_sha256: None,
            warnings: scenario::Diagnostics::default(),
            source: None,
            capabilities: Vec::new(),
            scenario_path: None,
            overrides: std::collections::BTreeMap::new(),
            hooks: Hooks::default(),
        }
    }

    /// How the scenario will run, as the builder methods have set it.
    pub fn options(&self) -> &RunOptions {
        &self.options
    }

    /// Sets every option at once (the hooks stay as they are).
    pub fn with_options(mut self, options: RunOptions) -> Self {
        self.options = RunOptions { threads: options.threads.max(1), ..options };
        self
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
        self.options.seed = seed;
        self
    }

    /// Overrides the scenario's duration.
    pub fn duration_s(mut self, seconds: f64) -> Result<Self, RunError> {
        self.options.duration_us = scenario::duration_us(seconds)?;
        Ok(self)
    }

    /// Where outputs go (default `runs/<scenario>-seed<seed>/`).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.options.out_dir = Some(dir.into());
        self
    }

    pub fn trace(mut self, level: TraceLevel) -> Self {
        self.options.trace_level = level;
        self
    }

    pub fn sandbox(mut self, mode: SandboxMode) -> Self {
        self.options.sandbox = mode;
        self
    }

    /// The compiled-component cache folder, which also keeps model
    /// folders' builds; `None` (the default) disables it.
    pub fn cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.options.cache_dir = dir;
        self
    }

    /// The cargo that builds Rust model folders; `None` (the default):
    /// `cargo` from `PATH`.
    pub fn cargo(mut self, cargo: Option<PathBuf>) -> Self {
        self.options.cargo = cargo;
        self
    }

    /// Steps the sandboxes due at one busy instant on up to `threads`
    /// threads (default 1). Results are applied in node order, so the
    /// outputs are the same bytes with any number.
    pub fn threads(mut self, threads: usize) -> Self {
        self.options.threads = threads.max(1);
        self
    }

    /// Stops the run cleanly (status `interrupted`) once `flag` is set.
    pub fn interrupt_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.options.interrupt = Some(flag);
        self
    }

    /// The Docker engine to use (`unix:///…`, `tcp://…`); default the local one.
    pub fn docker_host(mut self, endpoint: Option<String>) -> Self {
        self.options.docker_host = endpoint;
        self
    }

    /// Pulls nothing (`--offline`): a Docker node whose image, or whose
    /// Dockerfile's base image, is not in the engine faults (`image_missing`,
    /// `image_build`) instead of having it pulled.
    pub fn offline(mut self, offline: bool) -> Self {
        self.options.offline = offline;
        self
    }

    /// Puts `label` on every container and volume of the run, as label
    /// `xedgesim.run_label`, so a test suite or a CI job finds its own
    /// among those of other runs on the machine (`xedgesim run` takes it
    /// from `XEDGESIM_RUN_LABEL`).
    pub fn run_label(mut self, label: Option<String>) -> Self {
        self.options.run_label = label;
        self
    }

    /// Keeps every delivery (destination, source, topic, payload, time) and
    /// every node's metrics in the summary, for [`crate::equiv::canonical`].
    /// Memory grows with the messages delivered.
    pub fn record_deliveries(mut self, record: bool) -> Self {
        self.options.record_deliveries = record;
        self
    }

    /// Bounds the bytes of messages in flight (default 1 GiB, or 512 bytes
    /// a node past two million nodes; payloads, topics, ids and 128 a
    /// message): past it the run stops with an error naming the sender.
    pub fn max_queued_payload_bytes(mut self, bytes: u64) -> Self {
        self.options.max_queued_payload_bytes = bytes;
        self
    }

    /// Whether the run writes `report.html` (default yes); `series.json`,
    /// which it is drawn from, is written either way.
    pub fn report_page(mut self, write: bool) -> Self {
        self.options.report_page = write;
        self
    }

    /// Runs the scenario without its `faults:` section (default: with it),
    /// to compare a faulty run with a healthy one.
    pub fn fault_free(mut self, fault_free: bool) -> Self {
        self.options.fault_free = fault_free;
        self
    }

    /// Records what nodes exchange with the host into `recording.xrec` in
    /// the output folder (`None`, the default: nothing); see
    /// docs/running.md, "Record and replay".
    pub fn record(mut self, record: Option<RecordOptions>) -> Self {
        self.options.record = record;
        self
    }

    /// Answers nodes from a recording instead of running them (each call
    /// adds one recording). A replayed node needs no Docker engine, image
    /// or component.
    pub fn replay(mut self, from: ReplayFrom) -> Self {
        self.options.replay.push(from);
        self
    }

    /// Hears each line of image and model builds' output, and what each
    /// model folder's component was built or taken from.
    pub fn on_build_output(mut self, f: impl FnMut(&str) + 'static) -> Self {
        self.hooks.build_log = Some(Box::new(f));
        self
    }

    /// Builds the model folders the scenario names before the run (default
    /// no: the component an earlier build made from the same sources is
    /// used, and a folder without one is an error). Building runs code
    /// from the folder: say yes only for folders the user trusts.
    pub fn build_models(mut self, build: bool) -> Self {
        self.options.build_models = build;
        self
    }

    /// Hears every line a node logs at `min_level` or above, in trace
    /// order, as the run makes it (`trace.jsonl` keeps them only with
    /// `--trace all`). Stdout lines are `info`, stderr lines `warn`.
    pub fn on_log(mut self, min_level: LogLevel, f: impl FnMut(LiveLog<'_>) + 'static) -> Self {
        self.hooks.log_tap = Some((min_level, Box::new(f)));
        self
    }

    /// Called every few thousand events.
    pub fn on_progress(mut self, f: impl FnMut(Progress) + 'static) -> Self {
        self.hooks.progress = Some(Box::new(f));
        self
    }

    /// Runs the built-in models compiled natively instead of as WASM: the
    /// benchmarks' physical limit. Not sandboxed, not deterministic.
    #[doc(hidden)]
    pub fn native_models(mut self, native: bool) -> Self {
        self.options.native = native;
        self
    }

    /// The file's SHA-256; for a scenario built in code, that of its resolved form.
    pub(super) fn scenario_sha256(&self) -> String {
        hex(&self.file_sha256.unwrap_or_else(|| Sha256::digest(scenario::resolved_to_yaml(&self.scenario)).into()))
    }

    pub fn current_seed(&self) -> u64 {
        self.options.seed
    }

    /// `runs/<scenario>-seed<seed>` (`-fault-free` added for a fault-free run of a scenario with faults), unless [`out_dir`](Self::out_dir) says otherwise.
    pub fn output_dir(&self) -> PathBuf {
        self.options.out_dir.clone().unwrap_or_else(|| {
            // A fault-free run of a faulty scenario must not overwrite the faulty run's outputs.
            let suffix = if self.options.fault_free && !self.scenario.faults.is_empty() { "-fault-free" } else { "" };
            PathBuf::from("runs").join(format!("{}-seed{}{suffix}", self.scenario.name, self.options.seed))
        })
    }

    /// Runs the scenario and writes `trace.jsonl`, `metrics.csv` and
    /// `summary.json`. Problems found before the run starts (a component
    /// that does not load) are errors and write nothing, and remove what an
    /// earlier run left in the output folder, so no earlier "finished"
    /// summary passes for this run's; a run that fails or is interrupted
    /// part-way still writes its outputs, and the summary's status says why
    /// it stopped. Containers are removed on every path, before this returns.
    pub fn run(mut self) -> Result<RunSummary, RunError> {
        // Building, compiling and starting are timed apart from the run
        // itself: a first compile can take longer than the whole run.
        let preparing = Instant::now();
        // Moved out: a replay holds each recording once, in its groups.
        let replays = std::mem::take(&mut self.options.replay);
        let replayed_files: Vec<PathBuf> = replays.iter().map(|r| r.recording.path.clone()).collect();
        let replay = recording::plan_replay(&self.scenario, replays)?;
        let record = recording::plan_record(&self.scenario, self.options.record.as_ref(), &replay.replayed)?;
        let (cache_dir, cargo, build) =
            (self.options.cache_dir.clone(), self.options.cargo.clone(), self.options.build_models);
        let (cache_dir, cargo) = (cache_dir.as_deref(), cargo.as_deref());
        match self.hooks.build_log.as_mut() {
            Some(log) => prepare::build_model_folders(&mut self.scenario, cache_dir, cargo, build, log.as_mut())?,
            None => prepare::build_model_folders(&mut self.scenario, cache_dir, cargo, build, &mut |_| {})?,
        }
        self.scenario.check().map_err(PrepareError::Unsound)?;
        let faults = self.fault_state()?;
        outputs::remove_earlier(&self.output_dir())?;
        self.remove_earlier_recording(&replayed_files)?;
        let mut build_log = self.hooks.build_log.take();
        let mut ignore = |_: &str| {};
        // A component's declared config is checked before anything starts:
        // `run` refuses what `validate` refuses.
        // Dropped once checked: at scale it is the whole expanded file.
        if let Some(source) = self.source.take() {
            let mut runtime = prepare::check_runtime(self.options.cache_dir.clone(), self.options.interrupt.clone())?;
            let diagnostics = prepare::check_declared_configs(&self.scenario, &source, &mut runtime)?;
            if diagnostics.has_errors() {
                return Err(scenario::ScenarioError::Invalid { diagnostics }.into());
            }
        }
        let options = PlaceOptions {
            seed: self.options.seed,
            mode: self.options.sandbox,
            native: self.options.native,
            cache_dir: self.options.cache_dir.clone(),
            docker_host: self.options.docker_host.clone(),
            offline: self.options.offline,
            interrupt: self.options.interrupt.clone(),
            run_id: run_id(),
            run_label: self.options.run_label.clone(),
            build_log: match build_log.as_mut() {
                Some(f) => f.as_mut(),
                None => &mut ignore,
            },
            record,
            replay,
        };
        let mut placed = place(&self.scenario, options)?;
        let prepare_s = preparing.elapsed().as_secs_f64();
        match self.run_placed(&mut placed, faults, prepare_s) {
            Ok(summary) => Ok(summary),
            Err(e) => {
                // The outputs could not be written; the containers still go.
                let _ = placed.placement.shutdown();
                Err(e)
            }
        }
    }

    /// Removes an earlier run's `recording.xrec` from the output folder,
    /// unless this run replays it (one of `replayed`): no earlier recording
    /// passes for this run's, which may not make one (its cap passed).
    fn remove_earlier_recording(&self, replayed: &[PathBuf]) -> Result<(), RunError> {
        let path = self.output_dir().join(crate::runtime::record::FILE_NAME);
        let same = |p: &PathBuf| std::fs::canonicalize(p).ok() == std::fs::canonicalize(&path).ok();
        if !path.exists() || replayed.iter().any(same) {
            return Ok(());
        }
        std::fs::remove_file(&path).map_err(|source| RunError::Output { path, source })
    }

    /// The recording of the run `placed` made, written into `out_dir`, in
    /// the summary; `Err`: its cap passed or it could not be written (the
    /// other outputs are still written).
    fn write_recording(
        &self,
        out_dir: &Path,
        placed: &Placed,
        summary: &mut RunSummary,
    ) -> Result<(), crate::runtime::record::RecordError> {
        let scenario_path = self.scenario_path.as_deref().unwrap_or(&self.scenario.source);
        let ran = placed.recorded_ran.clone();
        let header = recording::header(&self.options, scenario_path, self.scenario_sha256(), ran, out_dir);
        let made = recording::build(header, &self.scenario, placed)?;
        summary.recording = Some(recording::write(out_dir, &made)?);
        Ok(())
    }

    /// The scripted faults of this run: scheduled from the run's seed and
    /// length, none with [`fault_free`](Self::fault_free).
    fn fault_state(&self) -> Result<FaultState, PrepareError> {
        let faults = if self.options.fault_free { &[][..] } else { &self.scenario.faults[..] };
        FaultState::for_scenario(&self.scenario, faults, self.options.seed, self.options.duration_us)
            .map_err(|e| PrepareError::Unsound(e.to_string()))
    }

    fn run_placed(&mut self, placed: &mut Placed, faults: FaultState, prepare_s: f64) -> Result<RunSummary, RunError> {
        let started = Instant::now();
        let out_dir = self.output_dir();
        let trace = outputs::create_trace(&out_dir, self.options.trace_level)?;
        let options = EngineOptions {
            seed: self.options.seed,
            duration_us: self.options.duration_us,
            max_queued_payload_bytes: self.options.max_queued_payload_bytes,
            threads: self.options.threads,
            interrupt: self.options.interrupt.clone(),
            record_deliveries: self.options.record_deliveries,
            log_tap: self.hooks.log_tap.take(),
            faults,
        };
        let mut progress = self.hooks.progress.take();
        let engine = Engine::new(&self.scenario, &mut placed.placement, trace, options);
        let mut outcome = engine.run(progress.as_mut().map(|f| f.as_mut() as &mut dyn FnMut(Progress)));
        let wall_s = started.elapsed().as_secs_f64();
        let facts = RunFacts {
            scenario: &self.scenario,
            scenario_label: self.scenario_path.as_deref().unwrap_or(&self.scenario.source).display().to_string(),
            scenario_sha256: self.scenario_sha256(),
            overrides: &self.overrides,
            options: &self.options,
        };
        let mut summary = summarize(&facts, placed, &mut outcome, (prepare_s, wall_s));
        let recorded = match self.options.record {
            // An interrupted run's recording would end where the run stopped,
            // and every replay of it diverge there for no fault of anything's:
            // none is written (docs/running.md, "Record and replay").
            Some(_) if summary.status == super::RunStatus::Interrupted => Ok(()),
            Some(_) => self.write_recording(&out_dir, placed, &mut summary),
            None => Ok(()),
        };
        outputs::write(&out_dir, &self.scenario, &placed.placement, &mut outcome, &summary, self.options.report_page)?;
        recorded.map_err(RunError::Recording)?;
        Ok(summary)
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
