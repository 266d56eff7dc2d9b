//! [`Container`]: one running container with its stdin and stdout
//! attached. A reader task splits stdout into frames (lines, bounded by
//! the frame size limit; blank lines dropped; an oversized line or a flood
//! of blank lines reported once, after which it reads no more) and stderr into log lines stamped with the virtual time of the
//! step in progress; a writer task feeds stdin, so sending a request never
//! blocks the engine, even on a container that stopped reading.
//!
//! Dropping a [`Container`] ends both tasks, and with them the attach
//! connection: the engine cannot finish removing a container whose output
//! it is still trying to hand to a reader that stopped reading (a flood
//! held back by the full frame queue), so it must be dropped before
//! [`remove`].

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bollard::container::LogOutput;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::container_spec::{ContainerSpec, create_body};
use super::engine::DockerEngine;
use super::error::DockerError;
use super::{LABEL_NODE, LABEL_RUN};
use crate::text::truncate;

/// What the reader saw on stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Line(String),
    /// A line longer than the frame limit: its start and its length so far.
    Oversized {
        start: String,
        len: usize,
    },
    /// A line that is not UTF-8.
    NotText {
        start: String,
    },
    /// More than [`MAX_BLANK_LINES`] blank lines in a row: a flood.
    BlankFlood {
        lines: u64,
    },
    /// stdout closed: the container exited (or the attachment broke: the reason).
    Closed(Option<String>),
}

/// Blank lines in a row that stdout may carry (the protocol ignores them);
/// one more is a flood, and a `protocol` fault.
pub const MAX_BLANK_LINES: u64 = 4096;

/// Pending log bytes kept per container between two collections; more is
/// dropped and counted, so a container that floods stderr cannot exhaust
/// the host's memory.
const MAX_PENDING_LOG_BYTES: usize = 1 << 20;
/// stderr lines kept for fault messages.
const TAIL_LINES: usize = 10;
/// Bytes of an offending frame quoted in an error.
pub const QUOTE_BYTES: usize = 200;

#[derive(Debug, Default)]
pub struct LogBuffer {
    /// (virtual time, line), oldest first.
    pub lines: Vec<(u64, String)>,
    pending_bytes: usize,
    pub dropped_lines: u64,
    pub tail: VecDeque<String>,
}

impl LogBuffer {
    fn push(&mut self, time_us: u64, line: String) {
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(truncate(&line, QUOTE_BYTES));
        if self.pending_bytes + line.len() > MAX_PENDING_LOG_BYTES {
            self.dropped_lines += 1;
            return;
        }
        self.pending_bytes += line.len();
        self.lines.push((time_us, line));
    }

    pub fn take(&mut self) -> Vec<(u64, String)> {
        self.pending_bytes = 0;
        std::mem::take(&mut self.lines)
    }
}

/// Frames read ahead of the host: the reader then stops reading, so a
/// container that floods stdout is held back by its pipe, not buffered here.
const FRAMES_AHEAD: usize = 16;

/// A container of one node.
pub struct Container {
    pub id: String,
    stdin: Option<mpsc::UnboundedSender<Vec<u8>>>,
    frames: mpsc::Receiver<(Frame, std::time::Instant)>,
    /// A frame taken off the queue while waiting for stderr, not yet read.
    held: Option<(Frame, std::time::Instant)>,
    /// When the last frame taken was read off stdout: round trips end there,
    /// not when the host got round to looking.
    pub last_frame_at: Option<std::time::Instant>,
    /// The virtual time stderr lines are stamped with.
    pub clock: Arc<AtomicU64>,
    pub log: Arc<Mutex<LogBuffer>>,
    /// Lines read off stderr so far (unterminated ones excluded).
    stderr_lines: tokio::sync::watch::Receiver<u64>,
    /// The reader and writer tasks, ended when the container is dropped.
    tasks: [tokio::task::AbortHandle; 2],
}

impl Drop for Container {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Container {
    /// Creates, attaches and starts the container. On failure after
    /// creation, the container is removed before the error returns.
    /// stderr lines are stamped with `time_us` until the first step.
    pub async fn start(
        engine: &DockerEngine,
        spec: &ContainerSpec<'_>,
        time_us: u64,
    ) -> Result<Container, DockerError> {
        let docker = engine.docker();
        let config = create_body(spec);
        let name = format!("xedgesim-{}-{}", spec.run_id, spec.node);
        let options = bollard::query_parameters::CreateContainerOptions { name: Some(name), ..Default::default() };
        let created = docker
            .create_container(Some(options), config)
            .await
            .map_err(DockerError::api(format!("to create a container for node '{}'", spec.node)))?;
        let id = created.id;
        let attached = async {
            let options = bollard::query_parameters::AttachContainerOptions {
                stream: true,
                stdin: true,
                stdout: true,
                stderr: true,
                ..Default::default()
            };
            let io = docker.attach_container(&id, Some(options)).await.map_err(DockerError::api("to attach"))?;
            docker.start_container(&id, None).await.map_err(DockerError::api("to start the container"))?;
            Ok::<_, DockerError>(io)
        }
        .await;
        let io = match attached {
            Ok(io) => io,
            Err(e) => {
                let _ = remove(engine, &id).await;
                return Err(e);
            }
        };
        let (stdin_tx, mut stdin_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let (frames_tx, frames) = mpsc::channel(FRAMES_AHEAD);
        let clock = Arc::new(AtomicU64::new(time_us));
        let log = Arc::new(Mutex::new(LogBuffer::default()));
        let (stderr_count, stderr_lines) = tokio::sync::watch::channel(0);
        let mut input = io.input;
        let writer = engine.spawn(async move {
            while let Some(bytes) = stdin_rx.recv().await {
                if input.write_all(&bytes).await.is_err() || input.flush().await.is_err() {
                    break;
                }
            }
            let _ = input.shutdown().await;
        });
        let reader = Reader {
            frames: frames_tx,
            clock: clock.clone(),
            log: log.clone(),
            max_frame_bytes: usize::try_from(spec.docker.max_frame_bytes).unwrap_or(usize::MAX),
            line: Vec::new(),
            stdout_is_log: spec.stdout_is_log,
            blank_lines: 0,
            err_line: Vec::new(),
            stderr_count,
        };
        let reader = engine.spawn(reader.run(io.output));
        Ok(Container {
            id,
            stdin: Some(stdin_tx),
            frames,
            held: None,
            last_frame_at: None,
            clock,
            log,
            stderr_lines,
            tasks: [reader, writer],
        })
    }

    /// Queues `frame` for the container's stdin.
    pub fn send(&self, frame: Vec<u8>) {
        if let Some(stdin) = &self.stdin {
            // A closed channel means the container is gone; the next receive says so.
            let _ = stdin.send(frame);
        }
    }

    /// Closes stdin: a well-behaved node exits at the end of its input.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next frame, or `None` once `deadline` passes.
    pub async fn next_frame(&mut self, deadline: tokio::time::Instant) -> Option<Frame> {
        let next = match self.held.take() {
            Some(held) => Some(held),
            None => tokio::time::timeout_at(deadline, self.frames.recv()).await.ok()?,
        };
        match next {
            Some((frame, at)) => {
                self.last_frame_at = Some(at);
                Some(frame)
            }
            None => Some(Frame::Closed(None)),
        }
    }

    /// A frame already received, without waiting.
    pub fn try_frame(&mut self) -> Option<Frame> {
        self.held.take().or_else(|| self.frames.try_recv().ok()).map(|(frame, _)| frame)
    }

    /// Waits until `count` stderr lines have been read (a reply says how
    /// many the program wrote). Stops early when a frame arrives (it is
    /// kept for [`next_frame`](Self::next_frame), and [`held`](Self::held)
    /// shows it): the reader may wait for it to be taken before it reads
    /// further, stderr included. `Err` with the number of lines read if
    /// `deadline` passes or a frame comes first.
    pub async fn stderr_lines_read(&mut self, count: u64, deadline: tokio::time::Instant) -> Result<(), u64> {
        loop {
            let read = *self.stderr_lines.borrow_and_update();
            if read >= count {
                return Ok(());
            }
            if self.held.is_some() {
                return Err(read);
            }
            tokio::select! {
                changed = self.stderr_lines.changed() => {
                    if changed.is_err() {
                        // The reader ended, after queueing its last frame (`Closed`).
                        let last = self.frames.try_recv().unwrap_or((Frame::Closed(None), std::time::Instant::now()));
                        self.held = Some(last);
                        return Err(*self.stderr_lines.borrow());
                    }
                }
                frame = self.frames.recv() => {
                    self.held = Some(frame.unwrap_or((Frame::Closed(None), std::time::Instant::now())));
                }
                () = tokio::time::sleep_until(deadline) => return Err(read),
            }
        }
    }

    /// The frame [`stderr_lines_read`](Self::stderr_lines_read) stopped at, if any.
    pub fn held(&self) -> Option<&Frame> {
        self.held.as_ref().map(|(frame, _)| frame)
    }

    /// The last lines of stderr, for fault messages.
    pub fn stderr_tail(&self) -> String {
        let log = self.log.lock().expect("log lock");
        log.tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

/// Waits (briefly) for the container to stop and returns its exit code.
pub async fn exit_code(engine: &DockerEngine, id: &str) -> Option<i64> {
    let options = bollard::query_parameters::WaitContainerOptions { condition: "not-running".into() };
    let mut wait = engine.docker().wait_container(id, Some(options));
    match tokio::time::timeout(std::time::Duration::from_secs(2), wait.next()).await {
        Ok(Some(Ok(r))) => Some(r.status_code),
        // bollard reports a non-zero exit as an error carrying the code.
        Ok(Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. }))) => Some(code),
        _ => engine.docker().inspect_container(id, None).await.ok()?.state?.exit_code,
    }
}

/// How long the engine may take to remove a container: far more than it
/// needs (well under a second once the container's [`Container`] is
/// dropped), far less than a request's own 600 s.
const REMOVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Kills and removes the container, whatever state it is in. Its
/// [`Container`], if any, must be dropped first (see the module docs).
pub async fn remove(engine: &DockerEngine, id: &str) -> Result<(), DockerError> {
    let options = bollard::query_parameters::RemoveContainerOptions { force: true, v: true, ..Default::default() };
    let what = || format!("to remove container {}", &id[..id.len().min(12)]);
    match tokio::time::timeout(REMOVE_TIMEOUT, engine.docker().remove_container(id, Some(options))).await {
        Ok(Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })) => Ok(()),
        Ok(Err(e)) => Err(DockerError::api(what())(e)),
        Err(_) => {
            Err(DockerError::Api { what: what(), detail: format!("no answer within {} s", REMOVE_TIMEOUT.as_secs()) })
        }
    }
}

/// Removes every container of run `run_id` and node `node`, found by
/// their labels: for a start abandoned before the engine said the id.
pub async fn remove_labelled(engine: &DockerEngine, run_id: &str, node: &str) -> Result<(), DockerError> {
    let labels = vec![format!("{LABEL_RUN}={run_id}"), format!("{LABEL_NODE}={node}")];
    let options = bollard::query_parameters::ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([("label".to_string(), labels)])),
        ..Default::default()
    };
    let found = engine.docker().list_containers(Some(options)).await.map_err(DockerError::api("to list containers"))?;
    for id in found.into_iter().filter_map(|c| c.id) {
        remove(engine, &id).await?;
    }
    Ok(())
}

/// CPU time (ns) and peak memory (bytes) as the engine reports them;
/// either may be missing (peak memory is reported on cgroup v1 only).
pub async fn resource_usage(engine: &DockerEngine, id: &str) -> (Option<u64>, Option<u64>) {
    let options = bollard::query_parameters::StatsOptions { stream: false, one_shot: true };
    let mut stats = engine.docker().stats(id, Some(options));
    match tokio::time::timeout(std::time::Duration::from_secs(5), stats.next()).await {
        Ok(Some(Ok(s))) => (
            s.cpu_stats.and_then(|c| c.cpu_usage).and_then(|u| u.total_usage),
            s.memory_stats.and_then(|m| m.max_usage),
        ),
        _ => (None, None),
    }
}

struct Reader {
    frames: mpsc::Sender<(Frame, std::time::Instant)>,
    clock: Arc<AtomicU64>,
    log: Arc<Mutex<LogBuffer>>,
    max_frame_bytes: usize,
    line: Vec<u8>,
    stdout_is_log: bool,
    /// Blank lines since the last frame.
    blank_lines: u64,
    err_line: Vec<u8>,
    stderr_count: tokio::sync::watch::Sender<u64>,
}

impl Reader {
    async fn run(
        mut self,
        mut output: std::pin::Pin<
            Box<dyn futures_util::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>,
        >,
    ) {
        let closed = loop {
            match output.next().await {
                Some(Ok(LogOutput::StdOut { message })) if self.stdout_is_log => {
                    let mut line = std::mem::take(&mut self.line);
                    self.log_bytes(&message, &mut line);
                    self.line = line;
                }
                Some(Ok(LogOutput::StdOut { message })) => match self.stdout(&message).await {
                    Ok(()) => {}
                    Err(Stop::Released) => return,
                    // Nothing more is read: the container is held back by its
                    // pipe until the host removes it.
                    Err(Stop::Reported) => return std::future::pending().await,
                },
                Some(Ok(LogOutput::StdErr { message })) => self.stderr(&message),
                Some(Ok(_)) => {}
                Some(Err(e)) => break Some(e.to_string()),
                None => break None,
            }
        };
        let unfinished =
            [Some(std::mem::take(&mut self.err_line)), self.stdout_is_log.then(|| std::mem::take(&mut self.line))];
        for rest in unfinished.into_iter().flatten().filter(|rest| !rest.is_empty()) {
            self.log_line(&rest);
        }
        let _ = self.frames.send((Frame::Closed(closed), std::time::Instant::now())).await;
    }

    /// Splits stdout into frames. A line past the frame limit is reported
    /// as soon as it passes it (a line that never ends is a flood too).
    async fn stdout(&mut self, mut bytes: &[u8]) -> Result<(), Stop> {
        while !bytes.is_empty() {
            let (part, complete) = match bytes.iter().position(|&b| b == b'\n') {
                Some(i) => (&bytes[..i], true),
                None => (bytes, false),
            };
            bytes = if complete { &bytes[part.len() + 1..] } else { &[] };
            self.line.extend_from_slice(part);
            if self.line.len() > self.max_frame_bytes {
                let frame = Frame::Oversized { start: quote(&self.line), len: self.line.len() };
                self.send(frame).await?;
                return Err(Stop::Reported);
            }
            if !complete {
                continue;
            }
            let line = std::mem::take(&mut self.line);
            if line.iter().all(|b| b.is_ascii_whitespace()) {
                // Ignored by the protocol, never queued: only counted.
                self.blank_lines += 1;
                if self.blank_lines > MAX_BLANK_LINES {
                    self.send(Frame::BlankFlood { lines: self.blank_lines }).await?;
                    return Err(Stop::Reported);
                }
                continue;
            }
            let frame = match String::from_utf8(line) {
                Ok(text) => Frame::Line(text.trim_end_matches('\r').to_string()),
                Err(e) => Frame::NotText { start: quote(e.as_bytes()) },
            };
            self.send(frame).await?;
        }
        Ok(())
    }

    async fn send(&mut self, frame: Frame) -> Result<(), Stop> {
        self.blank_lines = 0;
        self.frames.send((frame, std::time::Instant::now())).await.map_err(|_| Stop::Released)
    }

    fn stderr(&mut self, bytes: &[u8]) {
        let mut err_line = std::mem::take(&mut self.err_line);
        self.log_bytes(bytes, &mut err_line);
        self.err_line = err_line;
    }

    /// Splits `bytes` into log lines, continuing the unfinished `line`.
    fn log_bytes(&mut self, bytes: &[u8], line: &mut Vec<u8>) {
        let mut ended = 0;
        for &b in bytes {
            if b == b'\n' {
                self.log_line(line);
                line.clear();
                ended += 1;
            } else if line.len() < 64 * 1024 {
                line.push(b);
            }
        }
        if ended > 0 {
            // After the lines are in the log: a wait for them then finds them there.
            self.stderr_count.send_modify(|n| *n += ended);
        }
    }

    fn log_line(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line).trim_end_matches('\r').to_string();
        let time = self.clock.load(Ordering::Relaxed);
        self.log.lock().expect("log lock").push(time, text);
    }
}

/// Why the reader stops reading stdout.
enum Stop {
    /// Nobody takes frames any more: the container was let go.
    Released,
    /// A frame that faults the node whatever follows (an oversized line, a
    /// flood of blank lines) was reported.
    Reported,
}

/// The start of `bytes`, as text, for error messages.
fn quote(bytes: &[u8]) -> String {
    truncate(&String::from_utf8_lossy(&bytes[..bytes.len().min(QUOTE_BYTES * 2)]), QUOTE_BYTES)
}
