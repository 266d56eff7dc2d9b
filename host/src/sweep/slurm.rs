//! The `slurm` executor: a job-array script over the unfinished points,
//! one task per point running `xedgesim sweep point DIR --index
//! $SLURM_ARRAY_TASK_ID`, submitted with `sbatch --parsable`. Every path
//! in it is absolute, so it works from any folder.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::error::{SweepError, io_error};
use super::layout::{SweepPlan, is_finished};
use crate::atomic_file::write_atomic;
use crate::text::shell::quote;

/// The script's folder in the sweep folder, and its name.
pub const SLURM_DIR: &str = "slurm";
pub const SCRIPT_FILE: &str = "sweep.sbatch";
/// The id of the last job array submitted for the folder, in `DIR/slurm/`.
pub const JOB_FILE: &str = "job";

/// What the script asks of Slurm.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// This xedgesim, absolute.
    pub binary: PathBuf,
    pub partition: Option<String>,
    /// `--time` (e.g. `10:00`).
    pub time: Option<String>,
    /// `--mem` (e.g. `2G`).
    pub mem: Option<String>,
    /// More `#SBATCH` lines, each an option as sbatch takes it.
    pub args: Vec<String>,
    /// More arguments for each `sweep point` (`--allow WHAT`).
    pub point_args: Vec<String>,
}

/// The points of `plan` (in `dir`) not finished (see [`is_finished`]).
pub fn unfinished(dir: &Path, plan: &SweepPlan) -> Vec<usize> {
    plan.points.iter().filter(|p| !is_finished(dir, plan, p)).map(|p| p.index).collect()
}

/// Refuses a sweep folder (absolute) that an `#SBATCH --output` line
/// cannot carry: sbatch splits those lines at blanks and reads quotes, and
/// Slurm expands `%` in the file name, none of which can be escaped there.
pub fn check_folder(dir: &Path) -> Result<(), SweepError> {
    let text = dir.display().to_string();
    match text.chars().find(|c| c.is_whitespace() || c.is_control() || "%'\"\\".contains(*c)) {
        Some(c) => Err(SweepError::Usage(format!(
            "--on slurm: the sweep folder {} holds {c:?}, which Slurm's #SBATCH --output line cannot carry (blanks, quotes, `%`, line breaks); choose a folder without it with --out",
            crate::text::shell::quote(&text)
        ))),
        None => Ok(()),
    }
}

/// The job array last submitted for `dir` when Slurm still has any of its
/// tasks (pending or running): another sweep of the folder, here or in
/// Slurm, would run its points a second time. None without Slurm.
pub fn still_queued(dir: &Path) -> Option<String> {
    let id = std::fs::read_to_string(dir.join(SLURM_DIR).join(JOB_FILE)).ok()?.trim().to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let output = Command::new("squeue").args(["-h", "-j", &id]).stdin(Stdio::null()).output().ok()?;
    (output.status.success() && !output.stdout.trim_ascii().is_empty()).then_some(id)
}

/// Records `job_id` as the folder's job array (for [`still_queued`]).
pub fn record_job(dir: &Path, job_id: &str) -> Result<(), SweepError> {
    let path = dir.join(SLURM_DIR).join(JOB_FILE);
    write_atomic(&path, format!("{job_id}\n").as_bytes()).map_err(io_error(&path))
}

/// The error for a folder whose job array `id` is still in Slurm.
pub fn queued_error(dir: &Path, id: &str) -> SweepError {
    SweepError::Usage(format!(
        "job {id}, this folder's job array, is still in Slurm ({}): wait for it to end (squeue -j {id}), or cancel it (scancel {id}), then run the sweep again",
        dir.display()
    ))
}

/// `indices` (ascending) as a Slurm array: `3,5,7-19`.
pub fn array_ranges(indices: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end = indices[i];
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
        i += 1;
    }
    parts.join(",")
}

/// The job-array script for the points `indices` of the sweep in `dir` (absolute).
pub fn script(dir: &Path, indices: &[usize], options: &SlurmOptions) -> String {
    let name = dir.file_name().map_or_else(|| "sweep".into(), |n| n.to_string_lossy().into_owned());
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name=xedgesim-{}\n", sbatch_word(&name)));
    s.push_str(&format!("#SBATCH --array={}\n", array_ranges(indices)));
    s.push_str(&format!("#SBATCH --output={}\n", dir.join(SLURM_DIR).join("%A_%a.out").display()));
    s.push_str("#SBATCH --cpus-per-task=1\n");
    if let Some(p) = &options.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = &options.time {
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    if let Some(m) = &options.mem {
        s.push_str(&format!("#SBATCH --mem={m}\n"));
    }
    for arg in &options.args {
        s.push_str(&format!("#SBATCH {arg}\n"));
    }
    s.push_str(&format!(
        "# Written by xedgesim: one task per unfinished point of the sweep in\n# {}; each runs the point as `xedgesim sweep point` does.\n",
        dir.display()
    ));
    s.push_str(&format!(
        "exec {} sweep point {} --index \"$SLURM_ARRAY_TASK_ID\"{}\n",
        quote(&options.binary.display().to_string()),
        quote(&dir.display().to_string()),
        options.point_args.iter().map(|a| format!(" {}", quote(a))).collect::<String>()
    ));
    s
}

/// `text` with only characters safe in an `#SBATCH` word.
fn sbatch_word(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

/// Writes the script into `dir/slurm/`, returning its path.
pub fn write_script(dir: &Path, text: &str) -> Result<PathBuf, SweepError> {
    let folder = dir.join(SLURM_DIR);
    std::fs::create_dir_all(&folder).map_err(io_error(&folder))?;
    let path = folder.join(SCRIPT_FILE);
    write_atomic(&path, text.as_bytes()).map_err(io_error(&path))?;
    Ok(path)
}

/// The sbatch command that submits `script`.
pub fn submit_command(script: &Path, wait: bool) -> Vec<String> {
    let mut cmd = vec!["sbatch".to_string(), "--parsable".to_string()];
    if wait {
        cmd.push("--wait".to_string());
    }
    cmd.push(script.display().to_string());
    cmd
}

/// What a submission came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub job_id: String,
    /// With `--wait`: whether every task succeeded.
    pub all_succeeded: bool,
    /// With `--wait`: the wait was interrupted (the array runs on in Slurm).
    pub interrupted: bool,
}

/// Submits `script` with sbatch (waiting for the array with `wait`, until
/// it is done or `interrupt` is set: then sbatch is stopped and the array
/// left to Slurm).
pub fn submit(script: &Path, wait: bool, interrupt: &AtomicBool) -> Result<Submitted, SweepError> {
    let cmd = submit_command(script, wait);
    let not_run = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            SweepError::Usage(
                "sbatch was not found: this machine has no Slurm client; --dry-run writes the script without submitting it (submit it where Slurm is)"
                    .to_string(),
            )
        } else {
            SweepError::Failed(format!("could not run sbatch: {e}"))
        }
    };
    // Its own process group: a Ctrl-C at the terminal is ours to handle
    // (and the array's to survive), not sbatch's.
    let mut child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(not_run)?;
    let (stdout, stderr) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    // --parsable prints `JOBID` or `JOBID;CLUSTER` as soon as it submitted.
    let (id_tx, id_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            let id = line.split(';').next().unwrap_or("").trim().to_string();
            if !id.is_empty() {
                let _ = id_tx.send(id);
                break;
            }
        }
        lines.for_each(drop);
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    let mut job_id = String::new();
    let status = loop {
        if let Ok(id) = id_rx.try_recv() {
            job_id = id;
        }
        if let Some(status) = child.try_wait().map_err(|e| SweepError::Failed(format!("sbatch: {e}")))? {
            break Some(status);
        }
        if interrupt.load(Ordering::SeqCst) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = reader.join();
    let stderr = errors.join().unwrap_or_default();
    if job_id.is_empty() {
        job_id = id_rx.try_recv().unwrap_or_default();
    }
    if !job_id.is_empty() {
        record_job(script.parent().and_then(Path::parent).unwrap_or(Path::new(".")), &job_id)?;
    }
    let Some(status) = status else {
        return Ok(Submitted { job_id, all_succeeded: false, interrupted: true });
    };
    if job_id.is_empty() {
        // sbatch refused the script: what is in it is the user's (the
        // --slurm-* options, the number of points), so it is theirs to fix.
        let hint = if stderr.contains("array") {
            "; more points than the cluster's MaxArraySize (`scontrol show config | grep MaxArraySize`) need a sweep split into smaller ones (fewer --seeds or values)"
        } else {
            "; check the --slurm-* options against the cluster (`sinfo`, `sacctmgr show assoc`)"
        };
        return Err(SweepError::Usage(format!(
            "sbatch refused the job array (exit {}): {}{hint}; the script is {}",
            status.code().unwrap_or(-1),
            stderr.trim(),
            script.display()
        )));
    }
    Ok(Submitted { job_id, all_succeeded: status.success(), interrupted: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_array_is_its_indices_in_runs() {
        assert_eq!(array_ranges(&[3, 5, 7, 8, 9, 10]), "3,5,7-10");
        assert_eq!(array_ranges(&[0, 1, 2]), "0-2");
        assert_eq!(array_ranges(&[4]), "4");
        assert_eq!(array_ranges(&[]), "");
    }

    #[test]
    fn a_folder_an_sbatch_line_cannot_carry_is_refused() {
        assert!(check_folder(Path::new("/work/sweeps/a_b-1.2")).is_ok());
        for bad in ["/work/sp ace", "/work/pct%u", "/work/q'uote", "/work/q\"uote", "/work/new\nline", "/work/tab\t"] {
            let e = check_folder(Path::new(bad)).unwrap_err().to_string();
            assert!(e.contains("cannot carry") && e.contains("--out"), "{bad}: {e}");
        }
    }
}
