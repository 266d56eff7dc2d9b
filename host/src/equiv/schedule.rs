//! Running a comparison's two sides: every (trial, side) run, spread over
//! a few threads, each run's deliveries recorded and reduced to its
//! [`CanonicalRun`]. What the runs are compared by is [`compare`] and
//! [`compare_trials`]; this file only makes the runs.
//!
//! [`compare`]: super::compare
//! [`compare_trials`]: super::compare_trials

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::canonical::{CanonicalRun, canonical};
use super::swap::{SwapError, swap};
use super::trials::trial_seed;
use crate::run::{
    LoadedRecording, ReplayFrom, RunError, RunStatus, SandboxMode, Simulation, TraceLevel, replay_of_recording,
};
use crate::scenario::ScenarioError;

/// One side of a comparison: a scenario file, maybe with one node's
/// implementation swapped, or a recorded run replayed.
#[derive(Debug, Clone)]
pub struct Side {
    /// `a` or `b`: names the side's output folders and its errors.
    pub name: &'static str,
    pub file: PathBuf,
    /// `NODE=TARGET` swapped on this side (see [`swap`]).
    pub swap: Option<String>,
    /// The folder a swap's `wasm:FILE` is relative to.
    pub swap_base: PathBuf,
    /// How the side's WASM nodes are packed (a recorded side: as recorded).
    pub sandbox: SandboxMode,
    /// Run without the scenario's `faults:` section.
    pub fault_free: bool,
    /// What the loader knows of the machine (the home folder).
    pub load: crate::scenario::LoadOptions,
    /// Nodes of this side answered from recordings (`--replay`).
    pub replay: Vec<ReplayFrom>,
    /// The recorded run this side replays (`equiv RUN_DIR B.yaml`), with its
    /// own seed and options; `file` is then its scenario.
    pub recorded: Option<Arc<LoadedRecording>>,
}

/// Why a side could not be run, or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum SideError {
    #[error(transparent)]
    Load(#[from] RunError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Swap(#[from] SwapError),
    #[error("{side} ({}): {source}", file.display())]
    Run { side: &'static str, file: PathBuf, source: RunError },
    #[error("{side} ({}) with seed {seed} did not finish: {reason}", file.display())]
    Unfinished { side: &'static str, file: PathBuf, seed: u64, reason: String },
}

impl Side {
    /// The side's simulation, its swap made, its replayed nodes answered from their recordings.
    pub fn simulation(&self) -> Result<Simulation, SideError> {
        if let Some(recorded) = &self.recorded {
            let sim = replay_of_recording(recorded.clone(), Some(&self.file), &self.load)?;
            return Ok(self.replay.iter().cloned().fold(sim, Simulation::replay));
        }
        let sim = match &self.swap {
            None => Simulation::from_file_with(&self.file, &self.load)?,
            Some(spec) => {
                let mut resolved = crate::scenario::load_with(&self.file, &self.load)?.resolved;
                swap(&mut resolved, spec, &self.swap_base)?;
                Simulation::new(resolved)
            }
        };
        Ok(self.replay.iter().cloned().fold(sim.fault_free(self.fault_free), Simulation::replay))
    }
}

/// What every run of a comparison shares.
#[derive(Debug, Clone)]
pub struct Runs {
    /// The comparison's seed: the one run's of each side, or the base the
    /// trials' seeds are derived from ([`trial_seed`]).
    pub seed: u64,
    /// Runs per side.
    pub trials: u64,
    /// Each run's outputs go in a folder inside it ([`run_dir`]).
    pub out: PathBuf,
    /// Runs made at once (at least one, at most one per run).
    pub threads: usize,
    /// The compiled-component cache, which keeps the model folders' builds
    /// the runs use; `None`: no disk cache (and no kept builds).
    pub cache_dir: Option<PathBuf>,
    /// The Docker engine to use; `None`: the local one.
    pub docker_host: Option<String>,
    /// Pull no image.
    pub offline: bool,
    /// Put on every container and volume a run makes.
    pub run_label: Option<String>,
    /// The user's stop flag, shared by every run.
    pub interrupt: Arc<AtomicBool>,
}

/// The folder of trial `trial` of `side` in `out`: `a/` when each side
/// runs once, `a0/`, `a1/`, … otherwise.
pub fn run_dir(out: &Path, side: &str, trial: u64, trials: u64) -> PathBuf {
    if trials == 1 { out.join(side) } else { out.join(format!("{side}{trial}")) }
}

/// Every (trial, side) run, in that order: trial 0 of A, of B, trial 1 …
pub fn run_order(trials: u64) -> Vec<(u64, usize)> {
    (0..trials).flat_map(|t| [(t, 0), (t, 1)]).collect()
}

/// Runs each side `runs.trials` times on up to `runs.threads` threads;
/// `progress(trial, side, finished)` is told as each run ends (from the
/// thread that ran it). The runs of each side, in trial order, or the
/// error of the first run, in [`run_order`], that failed.
pub fn run_sides(
    sides: &[Side; 2],
    runs: &Runs,
    progress: &(dyn Fn(u64, &Side, bool) + Sync),
) -> Result<[Vec<CanonicalRun>; 2], SideError> {
    let jobs = run_order(runs.trials);
    let threads = runs.threads.clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<CanonicalRun, SideError>>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(trial, side)) = jobs.get(i) else { break };
                    let side = &sides[side];
                    let seed = if runs.trials == 1 { runs.seed } else { trial_seed(runs.seed, trial) };
                    let result = run_side(side, seed, run_dir(&runs.out, side.name, trial, runs.trials), runs);
                    progress(trial, side, result.is_ok());
                    results.lock().expect("results lock")[i] = Some(result);
                }
            });
        }
    });
    let mut by_side: [Vec<CanonicalRun>; 2] = [Vec::new(), Vec::new()];
    for ((_, side), result) in jobs.iter().zip(results.into_inner().expect("results lock")) {
        by_side[*side].push(result.expect("every job ran")?);
    }
    Ok(by_side)
}

/// Runs one side with `seed`, outputs in `dir`, deliveries recorded.
fn run_side(side: &Side, seed: u64, dir: PathBuf, runs: &Runs) -> Result<CanonicalRun, SideError> {
    let sim = side.simulation()?;
    // A recorded run is replayed with the seed and packing it was recorded with.
    let sim = if side.recorded.is_some() { sim } else { sim.seed(seed).sandbox(side.sandbox) };
    let seed = sim.current_seed();
    let report = sim
        .out_dir(dir)
        .trace(TraceLevel::Messages)
        .record_deliveries(true)
        .cache_dir(runs.cache_dir.clone())
        .docker_host(runs.docker_host.clone())
        .offline(runs.offline)
        .run_label(runs.run_label.clone())
        .interrupt_flag(runs.interrupt.clone())
        .run()
        .map_err(|source| SideError::Run { side: side.name, file: side.file.clone(), source })?;
    if report.status != RunStatus::Finished {
        let reason = report.reason.clone().unwrap_or_default();
        return Err(SideError::Unfinished { side: side.name, file: side.file.clone(), seed, reason });
    }
    Ok(canonical(&report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_ordered_by_trial_then_side_and_named_by_both() {
        assert_eq!(run_order(2), vec![(0, 0), (0, 1), (1, 0), (1, 1)]);
        assert_eq!(run_dir(Path::new("out"), "a", 0, 1), Path::new("out/a"));
        assert_eq!(run_dir(Path::new("out"), "b", 3, 5), Path::new("out/b3"));
    }
}
