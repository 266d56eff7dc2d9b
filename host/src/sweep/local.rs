//! The `local` executor: every point a child process (`xedgesim sweep
//! point`), as many at once as there are jobs, so a point that crashes or
//! runs out of memory never takes the sweep down. Resumable: a finished
//! point is not handed out again. An interrupt stops handing out points
//! and kills the running children (their points are left missing).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::error::SweepError;
use super::layout::{PointFailure, SweepPlan, create_no_follow, is_finished, point_dir, point_folder, read_failure};
use super::point::write_failure;

/// Where a point's child writes what it prints, in its folder.
pub const POINT_LOG_FILE: &str = "point.log";

/// How the local executor runs.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// This xedgesim (`std::env::current_exe()`): what runs each point.
    pub binary: PathBuf,
    pub jobs: usize,
    /// Set on Ctrl-C / SIGTERM.
    pub interrupt: Arc<AtomicBool>,
    /// More arguments for each `sweep point` (`--allow WHAT`).
    pub point_args: Vec<String>,
}

/// One line of the sweep's progress.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Skipped(usize),
    Done(usize),
    Failed(usize, PointFailure),
}

/// What the sweep came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Points never started or killed by an interrupt.
    pub missing: usize,
    pub interrupted: bool,
}

/// The lock file in a sweep folder, held by the sweep running it locally.
pub const LOCK_FILE: &str = ".lock";

/// Takes the sweep folder `dir` for this process (an exclusive lock on
/// `dir/.lock`, released when the returned file is dropped or the process
/// ends, however it ends); another sweep holding it is a user error.
pub fn lock(dir: &Path) -> Result<std::fs::File, SweepError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|source| SweepError::Io { path: path.clone(), source })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(SweepError::Usage(format!(
            "another sweep is running in {} (it holds {}): wait for it to end, or sweep into another folder with --out",
            dir.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(source)) => Err(SweepError::Io { path, source }),
    }
}

/// The jobs that fit: at most `asked`, and no more than `available_mb`
/// holds points of `worst_point_mb` each (at least one).
pub fn capped_jobs(asked: usize, worst_point_mb: u64, available_mb: Option<u64>) -> usize {
    let asked = asked.max(1);
    match available_mb {
        Some(available) if worst_point_mb > 0 => asked.min(((available / worst_point_mb) as usize).max(1)),
        _ => asked,
    }
}

/// The machine's available memory in MiB (`MemAvailable`), where the system says.
pub fn available_mb() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Runs the unfinished points of `plan` (in `dir`), telling `on_event` of each.
pub fn run(
    dir: &Path,
    plan: &SweepPlan,
    options: &LocalOptions,
    on_event: &mut dyn FnMut(Event),
) -> Result<Tally, SweepError> {
    let mut tally = Tally::default();
    let mut queue = std::collections::VecDeque::new();
    for entry in &plan.points {
        if is_finished(dir, plan, entry) {
            tally.skipped += 1;
            on_event(Event::Skipped(entry.index));
        } else {
            queue.push_back(entry.index);
        }
    }
    let mut running: Vec<(usize, Child)> = Vec::new();
    loop {
        let interrupted = options.interrupt.load(Ordering::SeqCst);
        if interrupted {
            tally.interrupted = true;
            for (_, child) in &mut running {
                let _ = child.kill();
                let _ = child.wait();
            }
            tally.missing += running.len() + queue.len();
            return Ok(tally);
        }
        while running.len() < options.jobs.max(1)
            && let Some(index) = queue.pop_front()
        {
            // A point that cannot start fails alone; the others run on.
            match spawn(dir, index, options) {
                Ok(child) => running.push((index, child)),
                Err(failure) => {
                    tally.failed += 1;
                    on_event(Event::Failed(index, failure));
                }
            }
        }
        if running.is_empty() {
            return Ok(tally);
        }
        let mut still = Vec::with_capacity(running.len());
        for (index, mut child) in running {
            match child.try_wait() {
                Ok(None) => still.push((index, child)),
                Ok(Some(status)) => {
                    let out = point_dir(dir, index);
                    if is_finished(dir, plan, &plan.points[index]) {
                        tally.done += 1;
                        on_event(Event::Done(index));
                    } else if options.interrupt.load(Ordering::SeqCst) {
                        tally.missing += 1;
                    } else {
                        let failure = read_failure(&out).unwrap_or_else(|| {
                            // It wrote nothing: it crashed, or the system killed it.
                            let failure = crashed(status, &out);
                            let _ = write_failure(&out, &failure);
                            failure
                        });
                        tally.failed += 1;
                        on_event(Event::Failed(index, failure));
                    }
                }
                Err(e) => {
                    // Never return with points running.
                    let _ = child.kill();
                    let _ = child.wait();
                    for (_, other) in &mut still {
                        let _ = other.kill();
                        let _ = other.wait();
                    }
                    return Err(SweepError::Failed(format!("point {index}'s process: {e}")));
                }
            }
        }
        running = still;
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts point `index`'s child, its output into its `point.log`; or the
/// point's failure when it cannot start (its folder is not one: a symbolic
/// link or a file, which no `failed.json` can be written into).
fn spawn(dir: &Path, index: usize, options: &LocalOptions) -> Result<Child, PointFailure> {
    let cannot = |error: String| PointFailure { exit_code: 2, error };
    let binary = &options.binary;
    let out = point_folder(dir, index).map_err(cannot)?;
    std::fs::create_dir_all(&out).map_err(|e| cannot(format!("cannot make {}: {e}", out.display())))?;
    let log_path = out.join(POINT_LOG_FILE);
    let log = create_no_follow(&log_path).map_err(|e| cannot(format!("cannot write {}: {e}", log_path.display())))?;
    let log_err = log.try_clone().map_err(|e| cannot(format!("cannot write {}: {e}", log_path.display())))?;
    let mut command = Command::new(binary);
    let parent = std::process::id();
    {
        use std::os::unix::process::CommandExt;
        // The child dies with this process: a killed sweep leaves no points
        // running. (A parent that died before prctl took effect is seen by
        // its pid no longer being the child's parent.)
        #[allow(
            unsafe_code,
            reason = "pre_exec is unsafe; prctl and getppid are async-signal-safe and touch no memory of ours"
        )]
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() as u32 != parent {
                    return Err(std::io::Error::other("the sweep ended before the point started"));
                }
                Ok(())
            });
        }
    }
    let child = command
        .arg("sweep")
        .arg("point")
        .arg(dir)
        .arg("--index")
        .arg(index.to_string())
        .args(&options.point_args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| PointFailure {
            exit_code: 1,
            error: format!("could not start {} for point {index}: {e}", binary.display()),
        })?;
    Ok(child)
}

/// The failure of a child that ended without saying why.
fn crashed(status: std::process::ExitStatus, out: &Path) -> PointFailure {
    use std::os::unix::process::ExitStatusExt;
    let log = out.join(POINT_LOG_FILE);
    match status.signal() {
        Some(signal) => PointFailure {
            exit_code: 128 + signal,
            error: format!(
                "the point's process was killed by signal {signal}{} before it wrote a result\nits output: {}",
                if signal == libc::SIGKILL { " (out of memory?)" } else { "" },
                log.display()
            ),
        },
        None => PointFailure {
            exit_code: status.code().unwrap_or(1),
            error: format!(
                "the point's process exited with {} before it wrote a result\nits output: {}",
                status.code().unwrap_or(1),
                log.display()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_capped_by_the_memory_the_points_may_take() {
        assert_eq!(capped_jobs(8, 100, Some(1_000)), 8);
        assert_eq!(capped_jobs(8, 400, Some(1_000)), 2);
        assert_eq!(capped_jobs(8, 4_000, Some(1_000)), 1, "always one");
        assert_eq!(capped_jobs(0, 100, None), 1);
        assert_eq!(capped_jobs(3, 100, None), 3);
    }
}
