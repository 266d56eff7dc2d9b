//! The flags of `xedgesim run` that record nodes (`--record`), those of
//! `run` and `equiv` that answer nodes from a recording (`--replay
//! NODE=RUN_DIR`), and what the terminal says of both after a run
//! (docs/running.md, "Record and replay").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};

use crate::run::{
    DEFAULT_RECORD_MAX_BYTES, LoadedRecording, RecordOptions, ReplayFrom, ReplayMode, RunSummary, Simulation,
};
use crate::scenario::{Capability, CapabilityKind, ResolvedScenario};
use crate::text::shell::quote as shell_quote;

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Record what the Docker nodes (or the nodes --record-node names)
    /// exchange with the host into recording.xrec in the run folder, for
    /// `xedgesim replay RUN_DIR` and `--replay NODE=RUN_DIR`.
    #[arg(long)]
    record: bool,
    /// With --record: the most megabytes the recording may take (default
    /// 256, at most 1024: a replay reads at most 1 GiB uncompressed). Past
    /// it the outputs are written, no recording is, and the exit code is 2.
    #[arg(long, value_name = "MB", requires = "record", value_parser = clap::value_parser!(u64).range(1..=1024))]
    record_max_mb: Option<u64>,
    /// With --record: record this node instead of every Docker node
    /// (repeatable; a WASM node too, in a sandbox of its own).
    #[arg(long, value_name = "NODE", requires = "record")]
    record_node: Vec<String>,
    #[command(flatten)]
    replay: ReplayArgs,
}

/// `--replay NODE=RUN_DIR` and `--replay-mode`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Answer NODE from the recording in RUN_DIR (a run folder of `run
    /// --record`, or its recording.xrec) instead of running it; no Docker
    /// engine, image or component is needed for it (repeatable; `equiv`
    /// answers it on both sides).
    #[arg(long, value_name = "NODE=RUN_DIR")]
    replay: Vec<String>,
    /// With --replay: `strict` (the default) stops the run at the first
    /// step whose time or inbox differs from the recording and names it;
    /// `lenient` answers each step with the recorded one at its time and
    /// counts what differed.
    #[arg(long, value_enum, value_name = "MODE", requires = "replay")]
    replay_mode: Option<ReplayModeArg>,
}

/// A `--replay-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReplayModeArg {
    Strict,
    Lenient,
}

impl From<ReplayModeArg> for ReplayMode {
    fn from(mode: ReplayModeArg) -> Self {
        match mode {
            ReplayModeArg::Strict => ReplayMode::Strict,
            ReplayModeArg::Lenient => ReplayMode::Lenient,
        }
    }
}

impl RecordArgs {
    /// Whether `--record` was given.
    pub fn records(&self) -> bool {
        self.record
    }

    /// The nodes `--replay` names.
    pub fn replayed_nodes(&self) -> Vec<String> {
        self.replay.replayed_nodes()
    }

    /// `sim` recording and replaying as the flags say; `Err`: a bad
    /// `--replay`, or a recording that cannot be read (the message).
    pub fn apply(&self, mut sim: Simulation) -> Result<Simulation, String> {
        if self.record {
            let max_bytes = self.record_max_mb.map_or(DEFAULT_RECORD_MAX_BYTES, |mb| mb << 20);
            sim = sim.record(Some(RecordOptions { nodes: self.record_node.clone(), max_bytes }));
        }
        for from in self.replay.read()? {
            sim = sim.replay(from);
        }
        Ok(sim)
    }

    /// The flags that change results, for the command that reproduces a run.
    pub fn reproduce(&self) -> String {
        self.replay.reproduce()
    }
}

impl ReplayArgs {
    /// Each `--replay` as (node, run folder), or the error naming the bad one.
    fn replays(&self) -> Result<Vec<(&str, &str)>, String> {
        self.replay
            .iter()
            .map(|spec| {
                spec.split_once('=').filter(|(node, dir)| !node.is_empty() && !dir.is_empty()).ok_or_else(|| {
                    format!(
                        "--replay '{spec}': expected NODE=RUN_DIR\n  = help: e.g. --replay gateway=runs/docker_gateway-seed42 (a run folder of `xedgesim run FILE --record`)"
                    )
                })
            })
            .collect()
    }

    /// The nodes `--replay` names.
    pub fn replayed_nodes(&self) -> Vec<String> {
        self.replays().unwrap_or_default().into_iter().map(|(node, _)| node.to_string()).collect()
    }

    /// Each `--replay`, its recording read; `Err`: a bad `--replay`, or a
    /// recording that cannot be read (the message).
    pub fn read(&self) -> Result<Vec<ReplayFrom>, String> {
        let mut replays = Vec::new();
        let mode = self.replay_mode.map_or(ReplayMode::Strict, ReplayMode::from);
        // A folder named by several --replay is read once.
        let mut read: BTreeMap<PathBuf, Arc<LoadedRecording>> = BTreeMap::new();
        for (node, dir) in self.replays()? {
            let recording = match read.get(Path::new(dir)) {
                Some(recording) => recording.clone(),
                None => {
                    let loaded = Arc::new(LoadedRecording::read(Path::new(dir)).map_err(|e| e.to_string())?);
                    read.insert(PathBuf::from(dir), loaded.clone());
                    loaded
                }
            };
            replays.push(ReplayFrom { recording, nodes: Some(vec![node.to_string()]), mode });
        }
        Ok(replays)
    }

    /// The flags that change results, for the command that reproduces a run.
    pub fn reproduce(&self) -> String {
        let mut flags = String::new();
        for spec in &self.replay {
            flags.push_str(&format!(" --replay {}", shell_quote(spec)));
        }
        if self.replay_mode == Some(ReplayModeArg::Lenient) {
            flags.push_str(" --replay-mode lenient");
        }
        flags
    }
}

/// What `scenario` asks of the host (`capabilities`), without what only
/// its containers ask when none of them runs (each is `replayed`): a
/// replayed container builds, binds and publishes nothing.
pub fn asked(scenario: &ResolvedScenario, capabilities: &[Capability], replayed: &[String]) -> Vec<Capability> {
    let live_container = scenario.nodes.iter().any(|n| n.implementation.is_docker() && !replayed.contains(&n.id));
    capabilities
        .iter()
        .filter(|c| {
            live_container
                || matches!(
                    c.kind,
                    CapabilityKind::ModelBuild | CapabilityKind::HostRead(_) | CapabilityKind::LocalRead
                )
        })
        .cloned()
        .collect()
}

/// The lines that say where the recording is and how replayed nodes matched theirs.
pub fn print(summary: &RunSummary, out_dir: &Path) {
    if let Some(recording) = &summary.recording {
        println!(
            "recording     {} ({:.1} kB; {})",
            out_dir.join(&recording.file).display(),
            recording.bytes as f64 / 1e3,
            recording.nodes.join(", ")
        );
    }
    for (node, r) in &summary.replayed {
        println!(
            "replayed      {node} from {} ({}): {} calls, {} inputs differed, {} unrecorded, {} recorded steps unused",
            r.recording, r.mode, r.calls, r.inputs_differed, r.calls_unrecorded, r.recorded_unused
        );
    }
}
