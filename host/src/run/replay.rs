//! A recorded run rerun from its recording (`xedgesim replay RUN_DIR`):
//! [`replay_of`] makes the [`Simulation`] that answers every recorded node
//! from the recording, with the recorded run's scenario (its hash
//! checked), seed and options; [`compare_outputs`] says whether the
//! replay's outputs are the recorded run's (the same bytes, the same
//! results), and where they first differ.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::error::{PrepareError, RunError};
use super::options::ReplayFrom;
use super::recording::LoadedRecording;
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

/// The output files a replay reproduces byte for byte.
const SAME_FILES: [&str; 2] = ["trace.jsonl", "metrics.csv"];

/// Most bytes of a differing line shown.
const MAX_SHOWN_BYTES: usize = 300;

/// The run recorded in `run_dir` (a run folder, or its `recording.xrec`),
/// every recorded node answered from the recording (strict, in the groups
/// they were recorded in), with the scenario the header names (see
/// [`LoadedRecording::scenario_file`]; or `scenario`, which must be the
/// same file: its SHA-256 is checked) and the recorded run's options
/// ([`RecordedOptions`](super::RecordedOptions)): seed, duration, trace
/// level, fault-free flag, queue bound and packing. The caller sets where
/// its outputs go.
pub fn replay_of(run_dir: &Path, scenario: Option<&Path>, load: &LoadOptions) -> Result<Simulation, RunError> {
    let loaded = Arc::new(LoadedRecording::read(run_dir)?);
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
    let path = match scenario {
        Some(path) => path.to_path_buf(),
        None => loaded.scenario_file()?,
    };
    let sim = Simulation::from_file_with(&path, load)?;
    let found = sim.scenario_sha256();
    if found != header.scenario_sha256 {
        let recording = loaded.path.clone();
        let recorded = header.scenario_sha256.clone();
        return Err(PrepareError::ScenarioChanged { scenario: path, recording, found, recorded }.into());
    }
    let mut options = sim.options().clone();
    loaded.options.apply(&mut options);
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

/// What a replay's outputs are, next to the recorded run's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// The same bytes, the same results.
    Identical,
    /// Where they first differ.
    Differs(OutputDifference),
    /// The recorded run's folder holds none of its outputs (the recording
    /// was kept alone): nothing to compare with.
    NothingToCompare,
}

fn shown(text: Option<&[u8]>) -> String {
    text.map_or_else(
        || "(absent)".to_string(),
        |t| escape_controls(&truncate(&String::from_utf8_lossy(t), MAX_SHOWN_BYTES)),
    )
}

/// The file `name` of `dir`; `None` when there is none (a run with `--trace off`).
fn read(dir: &Path, name: &str) -> Result<Option<Vec<u8>>, CompareError> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CompareError::Read { path, source }),
    }
}

/// Where two different files first differ: the line, and each file's
/// line there, without its `\n` unless that (or a `\r` before it) is all
/// that differs.
fn first_difference<'a>(file: &'static str, a: &'a [u8], b: &'a [u8]) -> OutputDifference {
    let (mut a_lines, mut b_lines) = (a.split_inclusive(|&c| c == b'\n'), b.split_inclusive(|&c| c == b'\n'));
    for line in 1.. {
        let (x, y) = (a_lines.next(), b_lines.next());
        if x == y && x.is_some() {
            continue;
        }
        let content = |l: Option<&'a [u8]>| l.map(|l| l.strip_suffix(b"\n").unwrap_or(l));
        let (x, y) = if content(x) == content(y) { (x, y) } else { (content(x), content(y)) };
        return OutputDifference { file, at: format!("line {line}"), recorded: shown(x), replayed: shown(y) };
    }
    unreachable!("the files differ, so a line does")
}

/// Whether the outputs in `replayed` are those in `recorded`: the bytes
/// of `trace.jsonl` and `metrics.csv`, and the results of `summary.json`
/// ([`RESULT_KEYS`]); [`Comparison::NothingToCompare`] when `recorded`
/// holds none of the three.
pub fn compare_outputs(recorded: &Path, replayed: &Path) -> Result<Comparison, CompareError> {
    let names = SAME_FILES.iter().chain(["summary.json"].iter());
    if names.map(|name| recorded.join(name)).all(|path| !path.exists()) {
        return Ok(Comparison::NothingToCompare);
    }
    for file in SAME_FILES {
        let (a, b) = (read(recorded, file)?, read(replayed, file)?);
        let difference = match (a.as_deref(), b.as_deref()) {
            (a, b) if a == b => continue,
            (Some(a), Some(b)) => first_difference(file, a, b),
            (a, b) => {
                let state = |f: Option<&[u8]>| f.map_or("(no file)".to_string(), |f| format!("{} bytes", f.len()));
                OutputDifference { file, at: "the file".into(), recorded: state(a), replayed: state(b) }
            }
        };
        return Ok(Comparison::Differs(difference));
    }
    let summary = |dir: &Path| -> Result<Value, CompareError> {
        let path = dir.join("summary.json");
        let bytes = read(dir, "summary.json")?
            .ok_or_else(|| CompareError::Read { path: path.clone(), source: std::io::ErrorKind::NotFound.into() })?;
        serde_json::from_slice(&bytes).map_err(|source| CompareError::Summary { path, source })
    };
    let (a, b) = (summary(recorded)?, summary(replayed)?);
    for key in RESULT_KEYS {
        if a.get(key) != b.get(key) {
            let value = |v: &Value| v.get(key).map(Value::to_string);
            return Ok(Comparison::Differs(OutputDifference {
                file: "summary.json",
                at: format!("key \"{key}\""),
                recorded: shown(value(&a).as_deref().map(str::as_bytes)),
                replayed: shown(value(&b).as_deref().map(str::as_bytes)),
            }));
        }
    }
    Ok(Comparison::Identical)
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

    fn differs(a: &Path, b: &Path) -> OutputDifference {
        match compare_outputs(a, b).unwrap() {
            Comparison::Differs(d) => d,
            other => panic!("{other:?}"),
        }
    }

    fn at(d: &OutputDifference) -> (&str, &str, &str, &str) {
        (d.file, d.at.as_str(), d.recorded.as_str(), d.replayed.as_str())
    }

    #[test]
    fn outputs_compare_by_bytes_and_by_result_not_by_how_the_run_was_made() {
        let a = folder("1\n2\n", "m\n", r#"{"events": 3, "wall_duration_s": 1.0}"#);
        let same = folder("1\n2\n", "m\n", r#"{"events": 3, "wall_duration_s": 9.0, "replayed": {}}"#);
        assert_eq!(compare_outputs(a.path(), same.path()).unwrap(), Comparison::Identical);
        let longer = folder("1\n2\n3\n", "m\n", r#"{"events": 3}"#);
        assert_eq!(at(&differs(a.path(), longer.path())), ("trace.jsonl", "line 3", "(absent)", "3"));
        let other = folder("1\n2\n", "m\n", r#"{"events": 4}"#);
        let d = differs(a.path(), other.path());
        assert_eq!(d.to_string(), "summary.json, key \"events\":\n  recorded: 3\n  replayed: 4");
        // Lines that differ only in how they end: the bytes differ.
        let unended = folder("1\n2", "m\n", r#"{"events": 3}"#);
        assert_eq!(at(&differs(a.path(), unended.path())), ("trace.jsonl", "line 2", "2\\n", "2"));
        let crlf = folder("1\n2\n", "m\r\n", r#"{"events": 3}"#);
        assert_eq!(at(&differs(a.path(), crlf.path())), ("metrics.csv", "line 1", "m", "m\\r"));
        let changed = folder("1\n9\r\n", "m\n", r#"{"events": 3}"#);
        assert_eq!(at(&differs(a.path(), changed.path())), ("trace.jsonl", "line 2", "2", "9\\r"));
        let empty = folder("", "m\n", r#"{"events": 3}"#);
        std::fs::remove_file(a.path().join("trace.jsonl")).unwrap();
        assert_eq!(at(&differs(a.path(), empty.path())), ("trace.jsonl", "the file", "(no file)", "0 bytes"));
    }

    #[test]
    fn a_folder_holding_no_output_has_nothing_to_compare() {
        let alone = tempfile::tempdir().unwrap();
        std::fs::write(alone.path().join("recording.xrec"), b"kept alone").unwrap();
        let replayed = folder("1\n", "m\n", r#"{"events": 3}"#);
        assert_eq!(compare_outputs(alone.path(), replayed.path()).unwrap(), Comparison::NothingToCompare);
        // One output kept is compared: the others are missing.
        std::fs::write(alone.path().join("metrics.csv"), "m\n").unwrap();
        assert_eq!(at(&differs(alone.path(), replayed.path())), ("trace.jsonl", "the file", "(no file)", "2 bytes"));
    }
}
