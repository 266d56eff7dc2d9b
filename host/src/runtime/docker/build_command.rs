//! A node's `docker.build_command`: run on the host in its build context
//! before the image is built (it compiles the static binary the image
//! wraps), in a process group of its own, bounded by `build_timeout_s`
//! and the user's stop, its output shown as it comes.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::error::DockerError;
use super::process_group;
use crate::runtime::output_tail::{self, OutputTail};
use crate::scenario::DockerNode;

/// How often a running build command is looked at.
const POLL: Duration = Duration::from_millis(20);
/// How long the output of a build command that ended is still read: a
/// process that left its group may hold the pipe open for ever.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);
/// Lines of a build command's output read but not yet shown.
const LINES_IN_FLIGHT: usize = 1024;

/// Runs the node's build command, if any, in its build context, in a
/// process group of its own; its output goes to `progress` line by line
/// as it comes (bounded, control characters escaped). Set, `interrupt`
/// stops it; so does `build_timeout_s`. Either way, and when it ends,
/// every process left in its group is killed.
pub fn run_build_command(
    docker: &DockerNode,
    progress: &mut dyn FnMut(&str),
    interrupt: Option<&AtomicBool>,
) -> Result<(), DockerError> {
    let (Some(command), Some(dir)) = (&docker.build_command, &docker.build_context) else { return Ok(()) };
    let failed = |status: String, output: String| DockerError::BuildCommand {
        command: command.clone(),
        dir: dir.clone(),
        status,
        output,
    };
    let mut child = process_group::spawn(
        Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .map_err(|e| failed("could not start".into(), e.to_string()))?;
    // Bounded: a command that prints faster than it is shown waits.
    let (lines_tx, lines) = std::sync::mpsc::sync_channel::<String>(LINES_IN_FLIGHT);
    let streams: [Option<Box<dyn std::io::Read + Send>>; 2] = [
        child.stdout.take().map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
        child.stderr.take().map(|e| Box::new(e) as Box<dyn std::io::Read + Send>),
    ];
    for stream in streams.into_iter().flatten() {
        let tx = lines_tx.clone();
        std::thread::spawn(move || {
            output_tail::for_each_line(stream, |line| {
                let _ = tx.send(line);
            });
        });
    }
    drop(lines_tx);
    let mut tail = OutputTail::default();
    let mut show = |line: String, tail: &mut OutputTail| {
        progress(&line);
        tail.push(&line);
    };
    let started = Instant::now();
    let timeout = Duration::from_secs(docker.build_timeout_s);
    // Why the command was stopped before it ended by itself, if it was.
    enum Stopped {
        Interrupted,
        TimedOut,
        Unwaitable(String),
    }
    let stopped = loop {
        while let Ok(line) = lines.try_recv() {
            show(line, &mut tail);
        }
        if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
            break Some(Stopped::Interrupted);
        }
        if started.elapsed() >= timeout {
            break Some(Stopped::TimedOut);
        }
        match process_group::has_exited(&child) {
            Ok(true) => break None,
            Ok(false) => std::thread::sleep(POLL),
            Err(e) => break Some(Stopped::Unwaitable(e.to_string())),
        }
    };
    // Before the leader is reaped: see process_group.
    process_group::kill(&child);
    let status = child.wait();
    let grace = Instant::now() + OUTPUT_GRACE;
    while let Ok(line) = lines.recv_timeout(grace.saturating_duration_since(Instant::now())) {
        show(line, &mut tail);
    }
    match (stopped, status) {
        (Some(Stopped::Interrupted), _) => Err(DockerError::Interrupted),
        (Some(Stopped::TimedOut), _) => Err(DockerError::BuildCommandTimeout {
            command: command.clone(),
            dir: dir.clone(),
            timeout_s: docker.build_timeout_s,
            output: tail.text(),
        }),
        (Some(Stopped::Unwaitable(e)), _) => Err(failed("could not be waited for".into(), e)),
        (None, Err(e)) => Err(failed("could not be waited for".into(), e.to_string())),
        (None, Ok(status)) if status.success() => Ok(()),
        (None, Ok(status)) => Err(failed(status.to_string(), tail.text())),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn node(dir: &Path, command: &str, timeout_s: u64) -> DockerNode {
        DockerNode {
            build_command: Some(command.into()),
            build_timeout_s: timeout_s,
            ..DockerNode::new(None, Some(dir.to_path_buf()))
        }
    }

    /// Whether process `pid` is gone within a few seconds (SIGKILL is
    /// delivered at once, the exit takes a moment; a zombie counts as gone).
    fn gone(pid: &str) -> bool {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
            if stat
                .map_or(true, |stat| stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')))
            {
                return true;
            }
            std::thread::sleep(POLL);
        }
        false
    }

    /// The pid the command wrote to `child.pid`, once it has.
    fn child_pid(dir: &Path) -> String {
        let started = Instant::now();
        loop {
            if let Ok(pid) = std::fs::read_to_string(dir.join("child.pid"))
                && pid.ends_with('\n')
            {
                return pid.trim().to_string();
            }
            assert!(started.elapsed() < Duration::from_secs(30), "the command never wrote its child's pid");
            std::thread::sleep(POLL);
        }
    }

    const SPAWNS_A_SLEEPER: &str = "echo starting; sleep 300 & echo $! > child.pid; wait";

    #[test]
    fn a_hanging_build_command_is_stopped_at_its_timeout_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let error = run_build_command(&node(dir.path(), SPAWNS_A_SLEEPER, 1), &mut |_| {}, None).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(60), "hang guard");
        let text = error.to_string();
        assert!(matches!(error, DockerError::BuildCommandTimeout { timeout_s: 1, .. }), "{text}");
        assert!(text.contains("within 1 s") && text.contains("build_timeout_s") && text.contains("starting"), "{text}");
        assert!(gone(&child_pid(dir.path())), "the background sleep was killed with the group");
    }

    #[test]
    fn an_interrupt_stops_the_build_command_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let interrupt = std::sync::Arc::new(AtomicBool::new(false));
        let flag = interrupt.clone();
        let path = dir.path().to_path_buf();
        let setter = std::thread::spawn(move || {
            child_pid(&path);
            flag.store(true, Ordering::Relaxed);
        });
        let error =
            run_build_command(&node(dir.path(), SPAWNS_A_SLEEPER, 3600), &mut |_| {}, Some(&interrupt)).unwrap_err();
        setter.join().unwrap();
        assert!(matches!(error, DockerError::Interrupted), "{error}");
        assert!(gone(&child_pid(dir.path())));
    }

    /// A command that ends leaving a process behind (holding its output
    /// pipe open) ends its build step, and the leftover with it.
    #[test]
    fn what_a_finished_build_command_left_running_is_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let mut lines = Vec::new();
        run_build_command(
            &node(dir.path(), "sleep 300 & echo $! > child.pid; echo done", 3600),
            &mut |l| lines.push(l.to_string()),
            None,
        )
        .unwrap();
        assert!(started.elapsed() < Duration::from_secs(60), "hang guard: the leftover held the pipe");
        assert_eq!(lines, ["done"]);
        assert!(gone(&child_pid(dir.path())));
    }

    #[test]
    fn build_command_output_is_escaped_and_its_tail_kept() {
        let dir = tempfile::tempdir().unwrap();
        let command = r"printf 'red \033[31m bell \007\n'; seq 1 5000; exit 3";
        let mut lines = Vec::new();
        let error = run_build_command(&node(dir.path(), command, 60), &mut |l| lines.push(l.to_string()), None)
            .unwrap_err()
            .to_string();
        assert_eq!(lines[0], r"red \u{1b}[31m bell \u{7}");
        assert_eq!(lines.len(), 5001);
        assert!(error.contains("\n4981\n") && error.ends_with("\n5000") && !error.contains("\n4980\n"), "{error}");
    }
}
