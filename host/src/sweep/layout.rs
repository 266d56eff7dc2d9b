//! The folder a sweep lives in, shared by the executors that fill it and
//! `sweep collect` that reads it:
//!
//! ```text
//! DIR/sweep.json            the plan: SweepPlan (written first, atomically)
//! DIR/points/0007/          point 7's run folder (`xedgesim run` outputs)
//! DIR/points/0007/point.json   PointEntry of that point (written before it runs)
//! DIR/points/0007/summary.json the run's summary: the point is finished
//! DIR/points/0007/failed.json  PointFailure: the point ran and failed
//! DIR/collect/              what `sweep collect` writes
//! ```
//!
//! A point is finished when its `summary.json` (the run writes it last,
//! atomically) is its own finished run ([`check_summary`]); a point with
//! neither file is missing. A point's folder is a real folder, never a
//! symbolic link ([`point_folder`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The plan's file name in a sweep folder.
pub const PLAN_FILE: &str = "sweep.json";
/// The folder of the points' run folders.
pub const POINTS_DIR: &str = "points";
/// A point's own description, in its folder.
pub const POINT_FILE: &str = "point.json";
/// Written by a point that ran and failed.
pub const FAILURE_FILE: &str = "failed.json";
/// Written last by a finished run.
pub const SUMMARY_FILE: &str = "summary.json";
/// Most bytes of a `sweep.json` read: a plan of 100,000 points with a few
/// parameters is about 20 MiB; a bigger file was not written by xedgesim.
pub const MAX_PLAN_BYTES: u64 = 64 << 20;
/// What `sweep collect` writes.
pub const COLLECT_DIR: &str = "collect";

/// `sweep.json`: everything needed to run any point again, anywhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPlan {
    /// Format version of this file.
    pub version: u32,
    /// The scenario file, absolute.
    pub scenario: PathBuf,
    pub scenario_sha256: String,
    /// The swept parameters, in the order they vary (the first slowest),
    /// each a path as written (`gateway.config.window_s`).
    pub parameters: Vec<String>,
    /// Every point, by index (0..n, in order).
    pub points: Vec<PointEntry>,
}

/// One run of a sweep: a parameter point and a seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointEntry {
    pub index: usize,
    pub seed: u64,
    /// Each swept parameter's value at this point, by path (YAML scalars
    /// as JSON: numbers, strings, booleans).
    pub values: BTreeMap<String, serde_json::Value>,
}

/// `failed.json`: why a point did not finish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointFailure {
    /// The run's exit code (2: the scenario at this point is invalid; 1: the run failed).
    pub exit_code: i32,
    /// The error as the run printed it.
    pub error: String,
}

/// Where point `index`'s run folder is in the sweep folder `dir`.
pub fn point_dir(dir: &Path, index: usize) -> PathBuf {
    dir.join(POINTS_DIR).join(format!("{index:04}"))
}

/// Where a point stands, as its folder shows.
#[derive(Debug, Clone, PartialEq)]
pub enum PointStatus {
    Finished,
    Failed(PointFailure),
    Missing,
}

/// What a point's `summary.json` says of it.
#[derive(Debug, Clone, PartialEq)]
pub enum SummaryCheck {
    /// There is none.
    Absent,
    /// It is this point's finished run: the point is done.
    Finished(serde_json::Value),
    /// It is there but not this point's finished run, and why.
    NotThis(String),
}

/// Reads the `summary.json` in `folder` and checks it is point `entry`'s
/// finished run: it parses, says `finished`, and has the plan's scenario
/// SHA-256 and the point's seed and values. Anything less leaves the point to run again.
pub fn check_summary(folder: &Path, plan: &SweepPlan, entry: &PointEntry) -> SummaryCheck {
    let text = match read_no_follow(&folder.join(SUMMARY_FILE)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return SummaryCheck::Absent,
        Err(e) => return SummaryCheck::NotThis(format!("cannot read {SUMMARY_FILE}: {e}")),
    };
    let summary: serde_json::Value = match serde_json::from_str(&text) {
        Ok(summary) => summary,
        Err(e) => return SummaryCheck::NotThis(format!("{SUMMARY_FILE} is not JSON: {e}")),
    };
    if summary["status"] != "finished" {
        let status = summary["status"].as_str().unwrap_or("without a status");
        let reason = summary["reason"].as_str().unwrap_or("no reason given");
        return SummaryCheck::NotThis(format!("the run ended {status}: {reason}"));
    }
    if summary["scenario_sha256"].as_str() != Some(plan.scenario_sha256.as_str()) {
        return SummaryCheck::NotThis(format!(
            "{SUMMARY_FILE} is of another scenario (SHA-256 {}, the plan's {})",
            summary["scenario_sha256"], plan.scenario_sha256
        ));
    }
    if summary["seed"].as_u64() != Some(entry.seed) {
        return SummaryCheck::NotThis(format!(
            "{SUMMARY_FILE} is of seed {}, this point's is {}",
            summary["seed"], entry.seed
        ));
    }
    let overrides: BTreeMap<String, serde_json::Value> =
        summary.get("overrides").and_then(|o| serde_json::from_value(o.clone()).ok()).unwrap_or_default();
    if overrides != entry.values {
        return SummaryCheck::NotThis(format!(
            "{SUMMARY_FILE} is of the values {}, this point's are {}",
            serde_json::to_string(&overrides).unwrap_or_default(),
            serde_json::to_string(&entry.values).unwrap_or_default()
        ));
    }
    SummaryCheck::Finished(summary)
}

/// The point's `failed.json`, if it has one; one it cannot read is a
/// failure too, saying so.
pub fn read_failure(folder: &Path) -> Option<PointFailure> {
    let path = folder.join(FAILURE_FILE);
    match read_no_follow(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(PointFailure { exit_code: 1, error: format!("cannot read {FAILURE_FILE}: {e}") }),
        Ok(text) => Some(serde_json::from_str(&text).unwrap_or_else(|e| PointFailure {
            exit_code: 1,
            error: format!("{FAILURE_FILE} is not a point failure: {e}"),
        })),
    }
}

/// Whether point `entry`'s folder in `dir` holds its finished run.
pub fn is_finished(dir: &Path, plan: &SweepPlan, entry: &PointEntry) -> bool {
    point_folder(dir, entry.index).is_ok()
        && matches!(check_summary(&point_dir(dir, entry.index), plan, entry), SummaryCheck::Finished(_))
}

/// Point `index`'s folder in `dir`, or why it cannot be one: `points/`
/// or the point's folder is a symbolic link or not a folder (a sweep
/// writes and reads only inside its own folder). Absent is fine.
pub fn point_folder(dir: &Path, index: usize) -> Result<PathBuf, String> {
    let folder = point_dir(dir, index);
    for path in [dir.join(POINTS_DIR), folder.clone()] {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(format!(
                    "{} is a symbolic link, not a folder of this sweep: remove it and run the sweep again",
                    path.display()
                ));
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(format!("{} is a file, not a folder: remove it and run the sweep again", path.display()));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot look at {}: {e}", path.display())),
        }
    }
    Ok(folder)
}

/// The text of `path`, not following a symbolic link there.
pub fn read_no_follow(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut text = String::new();
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path)?.read_to_string(&mut text)?;
    Ok(text)
}

/// Creates `path` anew for writing (whatever was there removed first), never
/// through a symbolic link.
pub fn create_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::OpenOptions::new().write(true).create_new(true).custom_flags(libc::O_NOFOLLOW).open(path)
}
