//! `trace.jsonl`: one event per line, in the order the engine handled
//! them, with virtual time. Same scenario, seed and models ⇒ same bytes.
//!
//! Events: `send`, `deliver`, `drop` (with its reason), `fault`,
//! `scripted_fault` (at every level but `off`); `wake` and `log` (level `all` only). Payloads appear
//! in `send` events at level `all`, as text when they are UTF-8, else hex.

use std::fmt::Write as _;
use std::io::Write;

use crate::runtime::{LogLevel, LogStream};

/// How much of a run the trace records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum TraceLevel {
    /// No trace file.
    Off,
    /// Sends, deliveries, drops and faults (the default).
    #[default]
    Messages,
    /// Also wake-ups, log lines and payloads.
    All,
}

/// Why a message never arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DropReason {
    /// The link lost it (`loss_rate`).
    Loss,
    /// No node has the destination id.
    UnknownDestination,
    /// Published, but the scenario has no broker node.
    NoBroker,
    /// The destination node was stopped by a fault.
    NodeStopped,
    /// The destination node was down: crashed by a scripted fault.
    NodeDown,
    /// A scripted partition separated sender and destination.
    Partition,
    /// A scripted degrade of the link lost it (its own `loss_rate`).
    Degrade,
    /// The link's buffer (`queue_bytes`) was full: dropped at the sender.
    QueueFull,
    /// It reached its node, a stall held it, and a scripted crash took the
    /// node down before any step received it.
    CrashedWhileHeld,
    /// As [`CrashedWhileHeld`](Self::CrashedWhileHeld), but a node fault stopped the node.
    StoppedWhileHeld,
}

impl DropReason {
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::UnknownDestination => "unknown_destination",
            DropReason::NoBroker => "no_broker",
            DropReason::NodeStopped => "node_stopped",
            DropReason::NodeDown => "node_down",
            DropReason::Partition => "partition",
            DropReason::Degrade => "degrade",
            DropReason::QueueFull => "queue_full",
            DropReason::CrashedWhileHeld => "crashed_while_held",
            DropReason::StoppedWhileHeld => "stopped_while_held",
        }
    }
}

/// Where the trace's lines go: the run's `trace.jsonl` (written whole or
/// not at all), a test's buffer. The engine never opens a file itself.
pub trait TraceSink: Write {
    /// The trace is complete: the sink makes it visible (a file takes its real name).
    fn commit(self: Box<Self>) -> std::io::Result<()>;
}

/// Writes the trace, or nothing at level `off`.
pub struct Trace {
    level: TraceLevel,
    sink: Option<Box<dyn TraceSink>>,
    line: String,
    error: Option<std::io::Error>,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace").field("level", &self.level).finish_non_exhaustive()
    }
}

fn json_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).expect("strings serialise"));
}

impl Trace {
    /// A trace at `level` into `sink`; at level `off` nothing is written
    /// (the caller need not make a sink).
    pub fn new(level: TraceLevel, sink: Option<Box<dyn TraceSink>>) -> Self {
        let sink = if level == TraceLevel::Off { None } else { sink };
        Trace { level, sink, line: String::with_capacity(256), error: None }
    }

    /// Whether log lines are written (level `all`).
    pub fn records_logs(&self) -> bool {
        self.level == TraceLevel::All && self.sink.is_some()
    }

    /// Whether events are written at all: the hot paths ask first, so a
    /// run without a trace does not even make the call.
    #[inline]
    pub fn is_on(&self) -> bool {
        self.sink.is_some()
    }

    fn emit(&mut self) {
        self.line.push_str("}\n");
        if let Some(sink) = &mut self.sink
            && self.error.is_none()
            && let Err(e) = sink.write_all(self.line.as_bytes())
        {
            self.error = Some(e);
        }
        self.line.clear();
    }

    fn start(&mut self, time_us: u64, event: &str) -> bool {
        if self.sink.is_none() {
            return false;
        }
        let _ = write!(self.line, "{{\"t_us\":{time_us},\"event\":\"{event}\"");
        true
    }

    #[allow(clippy::too_many_arguments, reason = "one field each of a send event")]
    pub fn send(&mut self, time_us: u64, id: u64, src: &str, dst: &str, topic: &str, payload: &[u8]) {
        if !self.start(time_us, "send") {
            return;
        }
        // Every string is escaped, ids too: a hand-built scenario's ids are not checked.
        let _ = write!(self.line, ",\"id\":{id},\"src\":");
        json_str(&mut self.line, src);
        self.line.push_str(",\"dst\":");
        json_str(&mut self.line, dst);
        self.line.push_str(",\"topic\":");
        json_str(&mut self.line, topic);
        let _ = write!(self.line, ",\"bytes\":{}", payload.len());
        if self.level == TraceLevel::All {
            self.line.push_str(",\"payload\":");
            match std::str::from_utf8(payload) {
                Ok(text) => json_str(&mut self.line, text),
                Err(_) => {
                    self.line.push_str("\"hex:");
                    for b in payload {
                        let _ = write!(self.line, "{b:02x}");
                    }
                    self.line.push('"');
                }
            }
        }
        self.emit();
    }

    pub fn deliver(&mut self, time_us: u64, id: u64, dst: &str, latency_us: u64) {
        if self.start(time_us, "deliver") {
            let _ = write!(self.line, ",\"id\":{id},\"dst\":");
            json_str(&mut self.line, dst);
            let _ = write!(self.line, ",\"latency_us\":{latency_us}");
            self.emit();
        }
    }

    pub fn drop_message(&mut self, time_us: u64, id: u64, dst: &str, reason: DropReason) {
        if self.start(time_us, "drop") {
            let _ = write!(self.line, ",\"id\":{id},\"dst\":");
            json_str(&mut self.line, dst);
            let _ = write!(self.line, ",\"reason\":\"{}\"", reason.name());
            self.emit();
        }
    }

    pub fn wake(&mut self, time_us: u64, node: &str) {
        if self.level == TraceLevel::All && self.start(time_us, "wake") {
            self.line.push_str(",\"node\":");
            json_str(&mut self.line, node);
            self.emit();
        }
    }

    /// A scripted fault taking effect: `kind` (`crash`, `restart`,
    /// `partition`, `heal`, `degrade`, `degrade_end`, `stall`, `stall_end`)
    /// and what it applies to (`gateway`, `sensor1,sensor2`, `gateway->cloud`).
    pub fn scripted_fault(&mut self, time_us: u64, kind: &str, target: &str) {
        if self.start(time_us, "scripted_fault") {
            let _ = write!(self.line, ",\"kind\":\"{kind}\",\"target\":");
            json_str(&mut self.line, target);
            self.emit();
        }
    }

    pub fn fault(&mut self, time_us: u64, node: &str, kind: &str, message: &str) {
        if self.start(time_us, "fault") {
            self.line.push_str(",\"node\":");
            json_str(&mut self.line, node);
            let _ = write!(self.line, ",\"kind\":\"{kind}\",\"message\":");
            json_str(&mut self.line, message);
            self.emit();
        }
    }

    pub fn log(&mut self, time_us: u64, node: &str, level: LogLevel, stream: LogStream, text: &str) {
        if self.level == TraceLevel::All && self.start(time_us, "log") {
            let level = format!("{level:?}").to_lowercase();
            let stream = format!("{stream:?}").to_lowercase();
            self.line.push_str(",\"node\":");
            json_str(&mut self.line, node);
            let _ = write!(self.line, ",\"level\":\"{level}\",\"stream\":\"{stream}\",\"text\":");
            json_str(&mut self.line, text);
            self.emit();
        }
    }

    /// Commits the sink (a file takes its real name); the first write error, if any.
    pub fn commit(self) -> std::io::Result<()> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.sink {
            Some(sink) => sink.commit(),
            None => Ok(()),
        }
    }
}
