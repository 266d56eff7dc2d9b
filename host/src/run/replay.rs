//! A recorded run rerun from its recording (`xedgesim replay RUN_DIR`):
//! [`replay_of`] makes the [`Simulation`] that answers every recorded node
//! from the recording, with the recorded run's scenario (its hash
//! checked), seed and options; [`compare_outputs`] says whether the
//! replay's outputs are the recorded run's, and where they first differ.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::error::{PrepareError, RunError};
use super::options::ReplayFrom;
use super::recording::{LoadedRecording, trace_level_named};
use super::simulation::Simulation;
use crate::runtime::record::ReplayMode;
use crate::scenario::LoadOptions;
use crate::text::{escape_controls, truncate};

/// The keys of `summary.json` that are the run's results: what a faithful
/// replay reproduces. The rest say how the run was made (wall time, the
/// scenario's path, components loaded, images, the recording itself).
pub const RESULT_KEYS: [&str; 17] = [
    "status",
    "reason",
    "seed",
    "nodes",
    "virtual_duration_s",
    "virtual_time_reached_s",
    "events",
    "steps",
    "messages",
    "drop_rate",
    "throughput_msgs_per_s",
    "message_latency_us",
    "end_to_end_latency_us",
    "faults",
    "model_metrics",
    "scripted_faults",
    "fault_free",
];

/// The output files a replay reproduces line for line.
const SAME_FILES: [&str; 2] = ["trace.jsonl", "metrics.csv"];

/// Most bytes of a differing line shown.
const MAX_SHOWN_BYTES: usize = 300;

/// The run recorded in `run_dir` (a run folder, or its `recording.xrec`),
/// every recorded node answered from the recording (strict, in the groups
/// they were recorded in), with the scenario the header names (or
/// `scenario`, which must be the same file: its SHA-256 is checked) and
/// the recorded run's seed, duration, trace level, fault-free flag and
/// queue bound. The caller sets where its outputs go.
pub fn replay_of(run_dir: &Path, scenario: Option<&Path>, load: &LoadOptions) -> Result<Simulation, RunError> {
    let loaded = Arc::new(LoadedRecording::read(run_dir).map_err(PrepareError::from)?);
    replay_of_recording(loaded, scenario, load)
}

/// [`replay_of`] a recording already read (`equiv` reads it to know the
/// side's scenario before it runs).
pub fn replay_of_recording(
    loaded: Arc<LoadedRecording>,
    scenario: Option<&Path>,
    load: &LoadOptions,
) -> Result<Simulation, RunError> {
    let header = &loaded.recording.header;
    let path = scenario.map_or_else(|| PathBuf::from(&header.scenario_path), Path::to_path_buf);
    let sim = Simulation::from_file_with(&path, load)?;
    let found = sim.scenario_sha256();
    if found != header.scenario_sha256 {
        let recording = loaded.path.clone();
        let recorded = header.scenario_sha256.clone();
        return Err(PrepareError::ScenarioChanged { scenario: path, recording, found, recorded }.into());
    }
    let trace_level = trace_level_named(&header.trace_level).ok_or_else(|| PrepareError::UnknownTraceLevel {
        recording: loaded.path.clone(),
        found: header.trace_level.clone(),
    })?;
    let mut options = sim.options().clone();
    options.seed = header.seed;
    options.duration_us = header.duration_us;
    options.trace_level = trace_level;
    options.fault_free = header.fault_free;
    options.max_queued_payload_bytes = header.max_queued_payload_bytes;
    options.replay = vec![ReplayFrom { recording: loaded, nodes: None, mode: ReplayMode::Strict }];
    Ok(sim.with_options(options))
}

/// Where a replay's outputs first differ from the recorded run's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputDifference {
    /// `trace.jsonl`, `metrics.csv` or `summary.json`.
    pub file: &'static str,
    /// `line N`, or `key "K"` of the summary.
    pub at: String,
    /// What each run has there (`(absent)` past its end), escaped and cut.
    pub recorded: String,
    pub replayed: String,
}

impl std::fmt::Display for OutputDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {}:\n  recorded: {}\n  replayed: {}", self.file, self.at, self.recorded, self.replayed)
    }
}

/// Why two run folders could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: not a run's summary: {source}", path.display())]
    Summary { path: PathBuf, source: serde_json::Error },
}

fn shown(text: Option<&str>) -> String {
    text.map_or_else(|| "(absent)".to_string(), |t| escape_controls(&truncate(t, MAX_SHOWN_BYTES)))
}

/// The file `name` of `dir`; `None` when there is none (a run with `--trace off`).
fn read(dir: &Path, name: &str) -> Result<Option<String>, CompareError> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CompareError::Read { path, source }),
    }
}

/// Whether the outputs in `replayed` are those in `recorded`: `trace.jsonl`
/// and `metrics.csv` line for line, and the results of `summary.json`
/// ([`RESULT_KEYS`]); `None` when they are, else the first difference.
pub fn compare_outputs(recorded: &Path, replayed: &Path) -> Result<Option<OutputDifference>, CompareError> {
    for file in SAME_FILES {
        let (a, b) = (read(recorded, file)?, read(replayed, file)?);
        let (a, b) = (a.as_deref().unwrap_or(""), b.as_deref().unwrap_or(""));
        let (mut a_lines, mut b_lines) = (a.lines(), b.lines());
        for line in 1.. {
            let (x, y) = (a_lines.next(), b_lines.next());
            if x.is_none() && y.is_none() {
                break;
            }
            if x != y {
                let at = format!("line {line}");
                return Ok(Some(OutputDifference { file, at, recorded: shown(x), replayed: shown(y) }));
            }
        }
    }
    let summary = |dir: &Path| -> Result<Value, CompareError> {
        let path = dir.join("summary.json");
        let text = read(dir, "summary.json")?
            .ok_or_else(|| CompareError::Read { path: path.clone(), source: std::io::ErrorKind::NotFound.into() })?;
        serde_json::from_str(&text).map_err(|source| CompareError::Summary { path, source })
    };
    let (a, b) = (summary(recorded)?, summary(replayed)?);
    for key in RESULT_KEYS {
        if a.get(key) != b.get(key) {
            let value = |v: &Value| v.get(key).map(Value::to_string);
            return Ok(Some(OutputDifference {
                file: "summary.json",
                at: format!("key \"{key}\""),
                recorded: shown(value(&a).as_deref()),
                replayed: shown(value(&b).as_deref()),
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(trace: &str, metrics: &str, summary: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("trace.jsonl"), trace).unwrap();
        std::fs::write(dir.path().join("metrics.csv"), metrics).unwrap();
        std::fs::write(dir.path().join("summary.json"), summary).unwrap();
        dir
    }

    #[test]
    fn outputs_compare_by_line_and_by_result_not_by_how_the_run_was_made() {
        let a = folder("1\n2\n", "m\n", r#"{"events": 3, "wall_duration_s": 1.0}"#);
        let same = folder("1\n2\n", "m\n", r#"{"events": 3, "wall_duration_s": 9.0, "replayed": {}}"#);
        assert_eq!(compare_outputs(a.path(), same.path()).unwrap(), None);
        let longer = folder("1\n2\n3\n", "m\n", r#"{"events": 3}"#);
        let d = compare_outputs(a.path(), longer.path()).unwrap().unwrap();
        assert_eq!(
            (d.file, d.at.as_str(), d.recorded.as_str(), d.replayed.as_str()),
            ("trace.jsonl", "line 3", "(absent)", "3")
        );
        let other = folder("1\n2\n", "m\n", r#"{"events": 4}"#);
        let d = compare_outputs(a.path(), other.path()).unwrap().unwrap();
        assert_eq!(d.to_string(), "summary.json, key \"events\":\n  recorded: 3\n  replayed: 4");
    }
}
