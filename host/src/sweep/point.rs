//! One point of a sweep, as `xedgesim sweep point DIR --index I` runs it
//! (what every executor calls): its scenario checked against the plan,
//! `point.json` written, the run made into `points/NNNN` like `xedgesim
//! run --out`, and a failure written to `failed.json`. A finished point
//! (its `summary.json` its own finished run) is not run again unless forced;
//! any other `summary.json` there is removed before it runs again.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::{SweepError, io_error};
use super::layout::{
    FAILURE_FILE, POINT_FILE, PointEntry, PointFailure, SUMMARY_FILE, SummaryCheck, check_summary, point_folder,
};
use super::plan;
use crate::atomic_file::write_atomic;
use crate::run::{RunError, RunStatus, RunSummary, Simulation};
use crate::scenario::{self, LoadOptions};
use crate::text::hex;

/// A failed run's own summary, kept beside `failed.json` under this name
/// (`summary.json` is the mark of a finished point).
pub const FAILED_SUMMARY_FILE: &str = "failed-summary.json";

/// What `prepare` found.
#[derive(Debug)]
pub enum Prepared {
    /// The point finished before (its folder).
    Finished(PathBuf),
    /// Ready to run: set the run's options on `sim` and run it.
    Run(Box<PointRun>),
}

/// A point about to run.
#[derive(Debug)]
pub struct PointRun {
    pub entry: PointEntry,
    /// Its folder, `DIR/points/NNNN`.
    pub dir: PathBuf,
    /// The scenario at the point's values, its seed and output folder set.
    pub sim: Simulation,
}

/// Readies point `index` of the sweep in `dir`; `scenario_at` is where the
/// scenario is when not at the plan's path (inside a container), and
/// `force` runs a finished point again.
pub fn prepare(
    dir: &Path,
    index: usize,
    scenario_at: Option<&Path>,
    options: &LoadOptions,
    force: bool,
) -> Result<Prepared, SweepError> {
    let plan = plan::read(dir)?;
    let Some(entry) = plan.points.get(index).cloned() else {
        return Err(SweepError::Usage(format!(
            "the sweep in {} has {} points (0 to {}); there is no point {index}",
            dir.display(),
            plan.points.len(),
            plan.points.len().saturating_sub(1)
        )));
    };
    let out = point_folder(dir, index).map_err(SweepError::Usage)?;
    if !force && matches!(check_summary(&out, &plan, &entry), SummaryCheck::Finished(_)) {
        return Ok(Prepared::Finished(out));
    }
    let file = scenario_at.unwrap_or(&plan.scenario);
    let (source, absolute) = scenario::read(file).map_err(|e| {
        SweepError::Usage(format!("{e}\nthe sweep's scenario must be where the plan says (or give --scenario PATH)"))
    })?;
    let sha = hex(&Sha256::digest(source.as_bytes()));
    if sha != plan.scenario_sha256 {
        return Err(SweepError::Usage(format!(
            "{} has changed since the sweep in {} was planned (SHA-256 {sha}, the plan's {}); put the file back as it was, or plan a new sweep into another folder (--out)",
            file.display(),
            dir.display(),
            plan.scenario_sha256
        )));
    }
    std::fs::create_dir_all(&out).map_err(io_error(&out))?;
    for stale in [FAILURE_FILE, FAILED_SUMMARY_FILE, SUMMARY_FILE] {
        remove_if_there(&out.join(stale))?;
    }
    let point_json = serde_json::to_string_pretty(&entry).expect("points serialise") + "\n";
    write_atomic(&out.join(POINT_FILE), point_json.as_bytes()).map_err(io_error(&out.join(POINT_FILE)))?;
    let overrides = plan::overrides_of(&plan, &entry)?;
    let loaded = scenario::load_str_with(file, &absolute, &source, options).and_then(|base| {
        if overrides.is_empty() {
            Ok(base)
        } else {
            scenario::load_point(file, &absolute, &source, options, &overrides, &base.warnings)
        }
    });
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            write_failure(&out, &PointFailure { exit_code: 2, error: e.to_string() })?;
            return Err(e.into());
        }
    };
    let sim = Simulation::from_loaded(loaded, file).overrides(&overrides).seed(entry.seed).out_dir(&out);
    Ok(Prepared::Run(Box::new(PointRun { entry, dir: out, sim })))
}

/// How a point's run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Finished,
    Failed(PointFailure),
    /// Stopped by a signal: the point is left missing, for a rerun.
    Interrupted,
}

/// Writes what `result`, the run of the point in `out`, leaves: nothing
/// more when it finished; `failed.json` (the run's summary kept as
/// `failed-summary.json`) when it failed; no `summary.json` when interrupted.
pub fn finish(out: &Path, result: &Result<RunSummary, RunError>) -> Result<Outcome, SweepError> {
    let summary = out.join(SUMMARY_FILE);
    let failure = match result {
        Ok(s) if s.status == RunStatus::Finished => return Ok(Outcome::Finished),
        Ok(s) if s.status == RunStatus::Interrupted => {
            remove_if_there(&summary)?;
            return Ok(Outcome::Interrupted);
        }
        Ok(s) => PointFailure { exit_code: 1, error: s.reason.clone().unwrap_or_else(|| "the run failed".to_string()) },
        Err(e) if e.is_interrupt() => {
            remove_if_there(&summary)?;
            return Ok(Outcome::Interrupted);
        }
        Err(e) => PointFailure { exit_code: if e.is_user_error() { 2 } else { 1 }, error: e.to_string() },
    };
    if summary.exists() {
        let kept = out.join(FAILED_SUMMARY_FILE);
        std::fs::rename(&summary, &kept).map_err(io_error(&kept))?;
    }
    write_failure(out, &failure)?;
    Ok(Outcome::Failed(failure))
}

/// Writes `failed.json` into the point folder `out`, atomically.
pub fn write_failure(out: &Path, failure: &PointFailure) -> Result<(), SweepError> {
    let path = out.join(FAILURE_FILE);
    let text = serde_json::to_string_pretty(failure).expect("failures serialise") + "\n";
    write_atomic(&path, text.as_bytes()).map_err(io_error(&path))
}

fn remove_if_there(path: &Path) -> Result<(), SweepError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(SweepError::Io { path: path.to_path_buf(), source: e })
        }
        _ => Ok(()),
    }
}
