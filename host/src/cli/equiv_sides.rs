//! The two sides of `xedgesim equiv A B`: each a scenario file, or a
//! recorded run (a run folder of `run --record`, or its `recording.xrec`),
//! which is replayed with its own scenario, seed and options: "does my
//! WASM model behave like the container did that day" is then one command
//! and needs no Docker (docs/running.md, "Record and replay").

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::equiv::Side;
use crate::run::{LoadedRecording, ReplayFrom, SandboxMode};

/// What `equiv` was given for its sides.
pub struct SideArgs<'a> {
    pub a: &'a Path,
    pub b: &'a Path,
    pub swap: Option<&'a String>,
    pub seed: Option<u64>,
    pub trials: u64,
    /// `--sandbox-a` and `--sandbox-b`, when given.
    pub sandbox: [Option<SandboxMode>; 2],
    pub fault_free_b: bool,
    pub replay: Vec<ReplayFrom>,
}

/// The recorded run `path` names, when it names one (a folder, or a
/// `.xrec` file) rather than a scenario file.
fn recorded_run(path: &Path) -> Result<Option<Arc<LoadedRecording>>, String> {
    if !path.is_dir() && path.extension().is_none_or(|e| e != "xrec") {
        return Ok(None);
    }
    LoadedRecording::read(path).map(|loaded| Some(Arc::new(loaded))).map_err(|e| e.to_string())
}

/// Both sides, a recorded one checked against what a recording cannot do:
/// run several trials (it is one run), run with another seed or packing
/// than its own, or have a node swapped.
pub fn sides(args: &SideArgs<'_>) -> Result<[Side; 2], String> {
    let recorded = [recorded_run(args.a)?, recorded_run(args.b)?];
    for (index, (path, recorded)) in [args.a, args.b].into_iter().zip(&recorded).enumerate() {
        let Some(recorded) = recorded else { continue };
        let seed = recorded.options.seed;
        if let Some(asked) = args.sandbox[index].filter(|&s| s != recorded.options.sandbox) {
            let flag = ["--sandbox-a", "--sandbox-b"][index];
            return Err(format!(
                "{flag} {asked}: {} was recorded with {} packing, and a replay keeps it (packing decides which nodes share a fault)\n  = help: leave {flag} out, or record a run with --sandbox {asked}",
                path.display(),
                recorded.options.sandbox
            ));
        }
        let answered = args.replay.iter().flat_map(|r| r.nodes.iter().flatten());
        if let Some(node) = answered.into_iter().find(|n| recorded.node_ids().contains(&n.as_str())) {
            return Err(format!(
                "--replay {node}=…: {} is a recorded run whose node '{node}' is answered from its own recording already (equiv's --replay applies to both sides)
  = help: leave --replay out, or compare with a scenario file on both sides",
                path.display()
            ));
        }
        if args.trials > 1 {
            return Err(format!(
                "--trials {}: {} is a recorded run, and a recording is one run\n  = help: compare it once (leave --trials out), or record a run per trial",
                args.trials,
                path.display()
            ));
        }
        if let Some(asked) = args.seed.filter(|&s| s != seed) {
            return Err(format!(
                "--seed {asked}: {} was recorded with seed {seed}, and a replay keeps it\n  = help: leave --seed out (the comparison then uses {seed}), or record a run with seed {asked}",
                path.display()
            ));
        }
    }
    if args.swap.is_some() && recorded[1].is_some() {
        return Err(format!(
            "--swap: side B ({}) is a recorded run, whose nodes are answered from its recording\n  = help: swap on a scenario file, or replay one node in it with --replay NODE={}",
            args.b.display(),
            args.b.display()
        ));
    }
    // A recorded side's scenario is the file its recording names (its hash is checked when it runs).
    let files = [(args.a, &recorded[0]), (args.b, &recorded[1])].map(|(path, recorded)| match recorded {
        Some(r) => r.scenario_file().map_err(|e| e.to_string()),
        None => Ok(path.to_path_buf()),
    });
    let [file_a, file_b] = files;
    let (file_a, file_b) = (file_a?, file_b?);
    let swap_base = std::env::current_dir().unwrap_or_default();
    // A scenario side packs as a recorded other side did unless told
    // otherwise: compared with its own file, a recording made under
    // `--sandbox shared` is then the same run.
    let recorded_packing = recorded.iter().flatten().map(|r| r.options.sandbox).next();
    let side = |name: &'static str, file: PathBuf, recorded: Option<Arc<LoadedRecording>>, index: usize| Side {
        name,
        file,
        swap: if index == 1 { args.swap.cloned() } else { None },
        swap_base: swap_base.clone(),
        sandbox: recorded.as_ref().map_or_else(
            || args.sandbox[index].or(recorded_packing).unwrap_or(SandboxMode::PerNode),
            |r| r.options.sandbox,
        ),
        fault_free: index == 1 && args.fault_free_b,
        load: super::load_options(),
        replay: args.replay.clone(),
        recorded,
    };
    let [recorded_a, recorded_b] = recorded;
    Ok([side("a", file_a, recorded_a, 0), side("b", file_b, recorded_b, 1)])
}

/// The nodes of `side` answered from a recording: its `--replay` nodes and
/// every node of the run it replays (none of them builds, binds or publishes).
pub fn replayed_nodes(side: &Side, replay: Vec<String>) -> Vec<String> {
    let recorded = side.recorded.iter().flat_map(|r| r.node_ids().into_iter().map(str::to_string));
    replay.into_iter().chain(recorded).collect()
}

/// What a recorded side runs with when its seed is not the comparison's
/// (two recordings of other seeds): ` (B replays its recording's seed 7)`.
pub fn own_seeds(sides: &[Side; 2], seed: u64) -> String {
    sides
        .iter()
        .filter_map(|s| s.recorded.as_ref().map(|r| (s.name, r.options.seed)))
        .filter(|&(_, own)| own != seed)
        .map(|(name, own)| format!(" ({} replays its recording's seed {own})", name.to_uppercase()))
        .collect()
}

/// The comparison's seed: `--seed`, else the recorded side's (A's when
/// both are recorded), else A's file's.
pub fn seed(asked: Option<u64>, sides: &[Side; 2], a_seed: u64) -> u64 {
    let recorded = sides.iter().find_map(|s| s.recorded.as_ref().map(|r| r.options.seed));
    asked.or(recorded).unwrap_or(a_seed)
}
