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
//! A point is finished when its `summary.json` exists (the run writes it
//! last, atomically); a point with neither file is missing.

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
