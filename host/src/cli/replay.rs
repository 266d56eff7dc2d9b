//! `xedgesim replay RUN_DIR`: reruns a recorded run with every recorded
//! node answered from its recording (no Docker engine is contacted when
//! every container node was recorded), then says whether `trace.jsonl`,
//! `metrics.csv` and the summary's results are the recorded run's. Exit 0
//! when they are (or when the recording was kept without them and the
//! replay did not diverge: nothing to compare), 1 when they differ (the
//! first difference is printed), 2 on a user error (an unreadable, foreign
//! or forged recording, a changed or missing scenario).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::run::{Comparison, RunStatus, compare_outputs, replay_of};
use crate::text::escape_controls;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The recorded run's folder (of `xedgesim run FILE --record`), or its recording.xrec.
    #[arg(value_name = "RUN_DIR")]
    run_dir: PathBuf,
    /// Output folder (default: RUN_DIR/replay).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The scenario file, when it is no longer where it was recorded; it
    /// must be the same file (its SHA-256 is checked).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Print nothing but errors and the verdict.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    allow: super::allow::AllowArgs,
}

pub fn run(args: &ReplayArgs) -> ExitCode {
    let user_error = |e: &dyn std::fmt::Display| {
        eprintln!("error: {}", super::for_terminal(&e.to_string()));
        ExitCode::from(super::EXIT_USER_ERROR)
    };
    let mut sim = match replay_of(&args.run_dir, args.scenario.as_deref(), &super::load_options()) {
        Ok(sim) => sim,
        Err(e) => return user_error(&e),
    };
    let recorded_dir = recorded_dir(&args.run_dir);
    let out_dir = args.out.clone().unwrap_or_else(|| recorded_dir.join("replay"));
    if same_folder(&out_dir, &recorded_dir) {
        return user_error(&format!(
            "--out {} is the recorded run's folder: the replay would replace what it is compared with\n  = help: give another folder, or leave --out out (RUN_DIR/replay)",
            out_dir.display()
        ));
    }
    if !args.quiet {
        // The scenario comes from the recording's header: say which file runs.
        let shown = |path: &Path| escape_controls(&super::for_terminal(&path.display().to_string()));
        println!(
            "replaying {} (scenario {}) → {}",
            shown(&args.run_dir),
            shown(&sim.scenario().source),
            shown(&out_dir)
        );
    }
    let allowance = match args.allow.allowance_for(&sim.scenario().source) {
        Ok(allowance) => allowance,
        Err(code) => return code,
    };
    let replayed: Vec<String> = sim
        .options()
        .replay
        .iter()
        .flat_map(|r| r.recording.node_ids().into_iter().map(str::to_string).collect::<Vec<_>>())
        .collect();
    let asked = super::record::asked(sim.scenario(), sim.capabilities(), &replayed);
    if !super::allow::permitted(&asked, &allowance, super::allow::Acting::Running) {
        return ExitCode::from(super::EXIT_USER_ERROR);
    }
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    sim = sim
        .out_dir(&out_dir)
        .threads(threads)
        .build_models(allowance.builds())
        .interrupt_flag(super::signals::install())
        .cache_dir(super::env::cache_dir())
        .cargo(super::env::cargo())
        .docker_host(super::docker_host())
        .run_label(super::run_label());
    if !args.quiet {
        sim = sim.on_build_output(|line| eprintln!("  build | {}", super::for_terminal(line)));
    }
    let summary = match sim.run() {
        Ok(summary) => summary,
        Err(e) => {
            eprintln!("{}", super::for_terminal(&e.to_string()));
            if e.is_interrupt() {
                return ExitCode::from(super::signals::exit_code());
            }
            return ExitCode::from(if e.is_user_error() { super::EXIT_USER_ERROR } else { 1 });
        }
    };
    if !args.quiet {
        println!("{summary}");
        super::record::print(&summary, &out_dir);
        println!("outputs       {}", out_dir.display());
    }
    match summary.status {
        RunStatus::Interrupted => {
            eprintln!("interrupted at t = {:.6} s; nothing was compared", summary.virtual_time_reached_s);
            return ExitCode::from(super::signals::exit_code());
        }
        RunStatus::Failed => {
            eprintln!("the replay failed: {}", super::for_terminal(summary.reason.as_deref().unwrap_or("")));
        }
        RunStatus::Finished => {}
    }
    match compare_outputs(&recorded_dir, &out_dir) {
        Ok(Comparison::Identical) => {
            // A run with `--trace off` has no trace: say only what was compared.
            let files: Vec<&str> =
                ["trace.jsonl", "metrics.csv"].into_iter().filter(|f| recorded_dir.join(f).is_file()).collect();
            let files = files.iter().map(|f| format!("{f}, ")).collect::<String>();
            println!("identical: {files}the summary's results are the recorded run's");
            ExitCode::SUCCESS
        }
        Ok(Comparison::NothingToCompare) => {
            // Strict: a node asked what it was not asked when recorded is a fault of its own.
            if summary.faults.iter().any(|f| f.kind == "replay_diverged") {
                println!("diverged from the recording (see above); no outputs of the recorded run to compare with");
                return ExitCode::from(1);
            }
            println!(
                "nothing to compare: {} holds no trace.jsonl, metrics.csv or summary.json of the recorded run; the replay followed the recording without diverging\n  = help: keep trace.jsonl, metrics.csv and summary.json beside the recording to have them compared",
                recorded_dir.display()
            );
            ExitCode::SUCCESS
        }
        Ok(Comparison::Differs(difference)) => {
            println!("differs from the recorded run: {}", super::for_terminal(&difference.to_string()));
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {}", super::for_terminal(&e.to_string()));
            ExitCode::from(1)
        }
    }
}

/// The recorded run's folder: `run_dir` itself, or the folder of the
/// recording it names (`.` for a bare file name, whose parent is empty).
fn recorded_dir(run_dir: &Path) -> PathBuf {
    if run_dir.is_dir() {
        return run_dir.to_path_buf();
    }
    match run_dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether `a` and `b` name one folder, either of which may not exist yet.
fn same_folder(a: &Path, b: &Path) -> bool {
    real_path(a).is_some_and(|a| real_path(b) == Some(a))
}

/// `path` with its links followed and its `.` and `..` resolved: its
/// longest existing ancestor's real path, then the rest lexically (what
/// does not exist yet is no link).
fn real_path(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    let parts: Vec<_> = absolute.components().collect();
    let (mut real, exists) = (0..=parts.len())
        .rev()
        .find_map(|n| std::fs::canonicalize(parts[..n].iter().collect::<PathBuf>()).ok().map(|real| (real, n)))?;
    for part in &parts[exists..] {
        match part {
            std::path::Component::ParentDir => {
                real.pop();
            }
            std::path::Component::Normal(name) => real.push(name),
            _ => {}
        }
    }
    Some(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_recording_file_name_is_in_the_current_folder() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("recording.xrec");
        std::fs::write(&file, b"").unwrap();
        assert_eq!(recorded_dir(Path::new("recording.xrec")), Path::new("."));
        assert_eq!(recorded_dir(&file), dir.path());
        assert_eq!(recorded_dir(dir.path()), dir.path());
        assert!(same_folder(Path::new("."), Path::new("./")));
        assert!(same_folder(&dir.path().join("not-yet/.."), dir.path()), "made by the replay, then left");
        assert!(same_folder(&dir.path().join("not-yet/../recording.xrec/.."), dir.path()));
        assert!(!same_folder(&dir.path().join("replay"), dir.path()));
    }
}
