//! Making a sweep's plan (`sweep.json`): every point's scenario validated
//! before anything runs, and a sweep folder's plan written, or resumed
//! when the folder already holds the same one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::{SweepError, io_error};
use super::layout::{MAX_PLAN_BYTES, PLAN_FILE, PointEntry, SweepPlan};
use super::spec::{self, Expanded, SweepRequest};
use crate::atomic_file::write_atomic;
use crate::scenario::{self, Implementation, LoadOptions, MAX_SWEEP_POINTS, Override, ResolvedScenario};
use crate::text::hex;

/// The version of `sweep.json` this xedgesim writes.
pub const PLAN_VERSION: u32 = 1;

/// Memory a point's process takes beside its sandboxes (the host, the
/// engine, wasmtime's code), an estimate: one point of
/// scenarios/sweep_gateway.yaml peaked at 29.2-29.9 MiB resident (3 points, debug build,
/// `/usr/bin/time -f %M`), rounded up to leave room (docs/sweeps.md).
pub const PROCESS_BASE_MB: u64 = 64;

/// A plan and what the executors need besides it.
#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: SweepPlan,
    /// Each parameter point's overrides; point `i` runs `overrides[i / seeds]`.
    pub expanded: Expanded,
    /// The most memory one point may take: its process and the memory
    /// limits of all its sandboxes and containers, at the hungriest point.
    pub worst_point_mb: u64,
}

/// Plans the sweep of the scenario at `file`: its `sweep:` section with
/// `request` applied, each parameter point loaded and validated.
pub fn make(file: &Path, options: &LoadOptions, request: &SweepRequest) -> Result<Planned, SweepError> {
    let (source, absolute) = scenario::read(file)?;
    let base = scenario::load_str_with(file, &absolute, &source, options)?;
    let expanded = spec::expand(base.sweep.as_ref(), request, base.resolved.seed).map_err(SweepError::Usage)?;
    let targets = scenario::targets(&source, &expanded.parameters);
    for (i, target) in targets.iter().enumerate() {
        if let Some(j) = targets[..i].iter().position(|t| t == target) {
            return Err(SweepError::Usage(format!(
                "the sweep sets one value by two paths, {} and {} (both {target}): sweep it once, by one path",
                expanded.parameters[j], expanded.parameters[i]
            )));
        }
        if target == "simulation.seed" {
            return Err(SweepError::Usage(format!(
                "{} is the seed, not a parameter (every point runs its own seed): give the seeds with `seeds:` or --seeds",
                expanded.parameters[i]
            )));
        }
    }
    let mut worst_point_mb = worst_case_mb(&base.resolved);
    for point in &expanded.points {
        if point.is_empty() {
            continue;
        }
        let loaded = scenario::load_point(file, &absolute, &source, options, point, &base.warnings)
            .map_err(|error| SweepError::InvalidPoint { values: spec::shown(point), error })?;
        worst_point_mb = worst_point_mb.max(worst_case_mb(&loaded.resolved));
    }
    let n_seeds = expanded.seeds.len();
    let mut points = Vec::with_capacity(expanded.len());
    for (p, point) in expanded.points.iter().enumerate() {
        for (s, seed) in expanded.seeds.iter().enumerate() {
            points.push(PointEntry { index: p * n_seeds + s, seed: *seed, values: json_values(point) });
        }
    }
    let plan = SweepPlan {
        version: PLAN_VERSION,
        scenario: absolute,
        scenario_sha256: hex(&Sha256::digest(source.as_bytes())),
        parameters: expanded.parameters.clone(),
        points,
    };
    Ok(Planned { plan, expanded, worst_point_mb })
}

/// A point's values as `sweep.json` keeps them.
fn json_values(point: &[Override]) -> BTreeMap<String, serde_json::Value> {
    point.iter().map(|o| (o.path.clone(), serde_json::to_value(&o.value).expect("scalars serialise"))).collect()
}

/// The overrides of `entry`'s values (what `sweep point` sets), in the plan's parameter order.
pub fn overrides_of(plan: &SweepPlan, entry: &PointEntry) -> Result<Vec<Override>, SweepError> {
    plan.parameters
        .iter()
        .map(|path| {
            let value = entry.values.get(path).ok_or_else(|| {
                SweepError::Usage(format!("sweep.json: point {} has no value for '{path}'", entry.index))
            })?;
            let value = serde_json::from_value(value.clone()).map_err(|e| {
                SweepError::Usage(format!("sweep.json: point {}'s value for '{path}': {e}", entry.index))
            })?;
            Ok(Override { path: path.clone(), value, origin: None })
        })
        .collect()
}

/// The most memory a run of `scenario` may take, in MiB: its process and
/// every sandbox's and container's memory limit (a node that shares a
/// sandbox counts as its own: an upper bound).
pub fn worst_case_mb(scenario: &ResolvedScenario) -> u64 {
    let nodes: u64 = scenario
        .nodes
        .iter()
        .map(|n| match &n.implementation {
            Implementation::Wasm(w) => w.limits.memory_limit_mb,
            Implementation::Docker(d) => d.memory_mb,
        })
        .sum();
    PROCESS_BASE_MB + nodes
}

/// Why a sweep folder's plan could not be read.
#[derive(Debug)]
pub enum PlanFileError {
    /// The folder has no `sweep.json`.
    Missing,
    Io(std::io::Error),
    /// It is not a plan this xedgesim reads, and why.
    Bad(String),
}

/// The plan in `dir`, read at most [`MAX_PLAN_BYTES`] and checked: of this
/// version, at most [`MAX_SWEEP_POINTS`] points indexed 0, 1, 2, … in
/// order, each setting exactly the plan's parameters. The one reader of
/// `sweep.json`, for the executors, `sweep point` and `collect`: a plan
/// someone else left in a folder is never trusted further than this.
pub fn read_file(dir: &Path) -> Result<SweepPlan, PlanFileError> {
    use std::io::Read;
    let bad = |problem: String| PlanFileError::Bad(problem);
    let file = match std::fs::File::open(dir.join(PLAN_FILE)) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(PlanFileError::Missing),
        Err(e) => return Err(PlanFileError::Io(e)),
    };
    let mut text = String::new();
    file.take(MAX_PLAN_BYTES + 1).read_to_string(&mut text).map_err(PlanFileError::Io)?;
    if text.len() as u64 > MAX_PLAN_BYTES {
        return Err(bad(format!(
            "it is over {} MiB, more than any plan of {MAX_SWEEP_POINTS} points",
            MAX_PLAN_BYTES >> 20
        )));
    }
    let plan: SweepPlan = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if plan.version != PLAN_VERSION {
        return Err(bad(format!("it is of plan version {}; this xedgesim reads version {PLAN_VERSION}", plan.version)));
    }
    if plan.points.len() > MAX_SWEEP_POINTS {
        return Err(bad(format!("it has {} points; a sweep has at most {MAX_SWEEP_POINTS}", plan.points.len())));
    }
    if let Some((position, point)) = plan.points.iter().enumerate().find(|(i, p)| p.index != *i) {
        let problem =
            format!("the point at position {position} has index {} (indexes run 0, 1, 2, … in order)", point.index);
        return Err(bad(problem));
    }
    let parameters: BTreeSet<&String> = plan.parameters.iter().collect();
    if let Some(point) = plan.points.iter().find(|p| p.values.keys().collect::<BTreeSet<_>>() != parameters) {
        return Err(bad(format!(
            "point {}'s values set [{}], the plan's parameters are [{}]",
            point.index,
            point.values.keys().cloned().collect::<Vec<_>>().join(", "),
            plan.parameters.join(", ")
        )));
    }
    Ok(plan)
}

/// Reads `dir`'s plan ([`read_file`]), its errors as the sweep commands say them.
pub fn read(dir: &Path) -> Result<SweepPlan, SweepError> {
    let path = dir.join(PLAN_FILE);
    read_file(dir).map_err(|e| match e {
        PlanFileError::Missing => SweepError::Usage(format!(
            "{} is not a sweep folder: it has no {PLAN_FILE}; `xedgesim sweep FILE --out {}` makes one",
            dir.display(),
            dir.display()
        )),
        PlanFileError::Io(source) => SweepError::Io { path: path.clone(), source },
        PlanFileError::Bad(problem) => SweepError::Usage(format!(
            "{} is not a sweep plan: {problem}: plan the sweep again into a new folder",
            path.display()
        )),
    })
}

/// Whether the plan was written now or found there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    New,
    Resumed,
}

/// Writes `plan` into `dir` (created), or finds the same plan there (a
/// resumed sweep). A different plan there is an error naming the first difference.
pub fn write(dir: &Path, plan: &SweepPlan) -> Result<Written, SweepError> {
    let path = dir.join(PLAN_FILE);
    if path.exists() {
        let old = read(dir)?;
        if let Some(difference) = first_difference(&old, plan) {
            return Err(SweepError::Usage(format!(
                "{} holds another sweep's plan ({difference}); choose another folder with --out, or remove {} to start this one there",
                dir.display(),
                dir.display()
            )));
        }
        return Ok(Written::Resumed);
    }
    if dir.exists() && !dir.is_dir() {
        return Err(SweepError::Usage(format!(
            "--out {} is a file, not a folder: give a folder for the sweep",
            dir.display()
        )));
    }
    // A folder of something else (a run's outputs) is not taken over.
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(SweepError::Usage(format!(
            "{} is not empty and holds no sweep ({PLAN_FILE}): give a new or empty folder with --out",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let mut text = serde_json::to_string_pretty(plan).expect("plans serialise");
    text.push('\n');
    write_atomic(&path, text.as_bytes()).map_err(io_error(&path))?;
    Ok(Written::New)
}

/// The first way `old` and `new` differ, in words.
fn first_difference(old: &SweepPlan, new: &SweepPlan) -> Option<String> {
    if old.scenario != new.scenario {
        return Some(format!("its scenario is {}, this one {}", old.scenario.display(), new.scenario.display()));
    }
    if old.scenario_sha256 != new.scenario_sha256 {
        return Some(format!("{} has changed since that plan was made", new.scenario.display()));
    }
    if old.parameters != new.parameters {
        return Some(format!("it sweeps [{}], this one [{}]", old.parameters.join(", "), new.parameters.join(", ")));
    }
    if let Some((a, b)) = old.points.iter().zip(&new.points).find(|(a, b)| a != b) {
        return Some(format!(
            "its point {} is seed {} {}, this one's seed {} {}",
            a.index,
            a.seed,
            serde_json::to_string(&a.values).unwrap_or_default(),
            b.seed,
            serde_json::to_string(&b.values).unwrap_or_default()
        ));
    }
    if old.points.len() != new.points.len() {
        return Some(format!("it has {} points, this one {}", old.points.len(), new.points.len()));
    }
    if old.version != new.version {
        return Some(format!("it is of plan version {}, this xedgesim writes {}", old.version, new.version));
    }
    None
}

/// The sweep folder used when none is given: `sweeps/<file stem>`.
pub fn default_dir(file: &Path) -> PathBuf {
    let stem = file.file_stem().map_or_else(|| "sweep".into(), |s| s.to_string_lossy().into_owned());
    Path::new("sweeps").join(stem)
}
