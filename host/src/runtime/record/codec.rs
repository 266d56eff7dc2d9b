//! Events as bytes: a compact binary encoding of [`Event`](super::Event)
//! and everything in it; `decoder.rs` reads it back and says where bytes
//! stop making sense.
//!
//! Numbers are LEB128 varints (a step's time, a payload's length: mostly one
//! to four bytes), a metric's value its eight IEEE bytes little-endian (NaN
//! and infinities kept exactly), text and payloads a length then the bytes,
//! an enum a tag byte then its fields. Nothing is skipped or defaulted: every
//! byte read is checked, so damage that a checksum missed still stops here.

use super::{Event, RecordedLog, RecordedNode};
use crate::runtime::{
    Address, FaultKind, LogLevel, LogStream, Message, Metric, NodeFault, NodeUsage, Outgoing, StepOutput,
};

// ---------------------------------------------------------------- writing

pub(super) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_bytes(out, text.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, value: Option<u64>) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put_varint(out, v);
        }
    }
}

fn put_address(out: &mut Vec<u8>, address: &Address) {
    match address {
        Address::Node(id) => {
            out.push(0);
            put_str(out, id);
        }
        Address::Publish => out.push(1),
    }
}

fn put_message(out: &mut Vec<u8>, message: &Message) {
    put_str(out, &message.source);
    put_address(out, &message.destination);
    put_str(out, &message.topic);
    put_bytes(out, &message.payload);
    put_varint(out, message.sent_us);
}

fn put_output(out: &mut Vec<u8>, output: &StepOutput) {
    put_varint(out, output.outbox.len() as u64);
    for sent in &output.outbox {
        put_address(out, &sent.destination);
        put_str(out, &sent.topic);
        put_bytes(out, &sent.payload);
    }
    put_opt(out, output.wake_at_us);
}

fn put_metrics(out: &mut Vec<u8>, metrics: &[Metric]) {
    put_varint(out, metrics.len() as u64);
    for metric in metrics {
        put_str(out, &metric.name);
        out.extend_from_slice(&metric.value.to_bits().to_le_bytes());
    }
}

fn put_kind(out: &mut Vec<u8>, kind: &FaultKind) {
    match kind {
        FaultKind::Config => out.push(0),
        FaultKind::ModelError => out.push(1),
        FaultKind::OutOfFuel { budget } => {
            out.push(2);
            put_varint(out, *budget);
        }
        FaultKind::MemoryLimit { memory_limit_mb } => {
            out.push(3);
            put_varint(out, *memory_limit_mb);
        }
        FaultKind::TableLimit { max_elements } => {
            out.push(4);
            put_varint(out, *max_elements);
        }
        FaultKind::StackOverflow => out.push(5),
        FaultKind::Trap => out.push(6),
        FaultKind::LogLimit { max_log_bytes } => {
            out.push(7);
            put_varint(out, *max_log_bytes);
        }
        FaultKind::OutboxLimit { what, count, limit } => {
            out.push(8);
            put_str(out, what);
            put_varint(out, *count);
            put_varint(out, *limit);
        }
        FaultKind::RealTimeWait => out.push(9),
        FaultKind::WakeInPast { wake_at_us } => {
            out.push(10);
            put_varint(out, *wake_at_us);
        }
        FaultKind::SharedSandbox { culprit } => {
            out.push(11);
            put_str(out, culprit);
        }
        FaultKind::Stopped => out.push(12),
        FaultKind::ContainerExited { exit_code } => {
            out.push(13);
            match exit_code {
                None => out.push(0),
                Some(code) => {
                    out.push(1);
                    out.extend_from_slice(&code.to_le_bytes());
                }
            }
        }
        FaultKind::Timeout { timeout_ms } => {
            out.push(14);
            put_varint(out, *timeout_ms);
        }
        FaultKind::Protocol => out.push(15),
        FaultKind::ImageBuild => out.push(16),
        FaultKind::ImageMissing { image } => {
            out.push(17);
            put_str(out, image);
        }
        FaultKind::EngineUnreachable { endpoint } => {
            out.push(18);
            put_str(out, endpoint);
        }
        FaultKind::ContainerStart => out.push(19),
        FaultKind::BadBatch => out.push(20),
        FaultKind::GuestExit { code } => {
            out.push(21);
            out.extend_from_slice(&code.to_le_bytes());
        }
        FaultKind::DuplicateMetric => out.push(22),
        FaultKind::NotConnected { timeout_s } => {
            out.push(23);
            put_varint(out, *timeout_s);
        }
        FaultKind::Mqtt => out.push(24),
        FaultKind::Interrupted => out.push(25),
        FaultKind::ReplayDiverged => out.push(26),
    }
}

pub(super) fn put_fault(out: &mut Vec<u8>, fault: &NodeFault) {
    put_str(out, &fault.node);
    put_varint(out, fault.time_us);
    put_kind(out, &fault.kind);
    put_str(out, &fault.detail);
}

fn put_result<T>(out: &mut Vec<u8>, result: &Result<T, NodeFault>, put_ok: impl FnOnce(&mut Vec<u8>, &T)) {
    match result {
        Ok(value) => {
            out.push(0);
            put_ok(out, value);
        }
        Err(fault) => {
            out.push(1);
            put_fault(out, fault);
        }
    }
}

fn put_usage(out: &mut Vec<u8>, usage: &NodeUsage) {
    put_varint(out, usage.steps);
    for value in [
        usage.fuel_used,
        usage.round_trip_us_total,
        usage.round_trip_us_max,
        usage.cpu_time_us,
        usage.peak_memory_bytes,
        usage.answers,
        usage.processing_us_p50,
        usage.processing_us_p95,
        usage.processing_us_max,
        usage.wall_to_virtual_us,
    ] {
        put_opt(out, value);
    }
}

pub(super) const STEP: u8 = 0;
pub(super) const FINISH: u8 = 1;
pub(super) const CRASH: u8 = 2;
pub(super) const RESTART: u8 = 3;
pub(super) const LOGS: u8 = 4;

/// The first half of an [`Event::Step`]: what the node was handed. The
/// recorder writes it when the step is submitted (no copy of the inbox is
/// kept) and [`put_step_end`] when its result is collected.
pub(super) fn put_step_start(out: &mut Vec<u8>, now_us: u64, inbox: &[Message]) {
    out.push(STEP);
    put_varint(out, now_us);
    put_varint(out, inbox.len() as u64);
    for message in inbox {
        put_message(out, message);
    }
}

/// The second half of an [`Event::Step`]: what came back.
pub(super) fn put_step_end(out: &mut Vec<u8>, result: &Result<StepOutput, NodeFault>, fuel: Option<u64>) {
    put_result(out, result, put_output);
    put_opt(out, fuel);
}

/// Appends `event`'s bytes to `out`.
pub(super) fn put_event(out: &mut Vec<u8>, event: &Event) {
    match event {
        Event::Step { now_us, inbox, result, fuel } => {
            put_step_start(out, *now_us, inbox);
            put_step_end(out, result, *fuel);
        }
        Event::Finish { now_us, result } => {
            out.push(FINISH);
            put_varint(out, *now_us);
            put_result(out, result, |out, metrics| put_metrics(out, metrics));
        }
        Event::Crash { now_us } => {
            out.push(CRASH);
            put_varint(out, *now_us);
        }
        Event::Restart { now_us, restarts, result } => {
            out.push(RESTART);
            put_varint(out, *now_us);
            put_varint(out, u64::from(*restarts));
            put_result(out, result, |_, ()| {});
        }
        Event::Logs { after_calls, lines } => {
            out.push(LOGS);
            put_varint(out, *after_calls);
            put_varint(out, lines.len() as u64);
            for line in lines {
                put_log(out, line);
            }
        }
    }
}

pub(super) fn put_log(out: &mut Vec<u8>, line: &RecordedLog) {
    put_varint(out, line.time_us);
    out.push(match line.stream {
        LogStream::Log => 0,
        LogStream::Stdout => 1,
        LogStream::Stderr => 2,
    });
    out.push(match line.level {
        LogLevel::Trace => 0,
        LogLevel::Debug => 1,
        LogLevel::Info => 2,
        LogLevel::Warn => 3,
        LogLevel::Error => 4,
    });
    put_str(out, &line.text);
}

/// Appends what a node is before its events (id, group, startup fault,
/// usage, event count); its events follow, each as [`put_event`] writes it.
pub(super) fn put_node_head(out: &mut Vec<u8>, node: &RecordedNode) {
    put_str(out, &node.id);
    put_opt(out, node.group.map(u64::from));
    match &node.startup_fault {
        None => out.push(0),
        Some(fault) => {
            out.push(1);
            put_fault(out, fault);
        }
    }
    put_usage(out, &node.usage);
    put_varint(out, node.events.len() as u64);
}

/// The memory `nodes` take as a reader counts it when it decodes them
/// ([`Reader::bounded`](super::decoder::Reader::bounded)): each list's
/// elements at their fixed size. A writer checks it, so what it writes
/// reads back.
pub(super) fn decoded_bytes(nodes: &[RecordedNode]) -> u64 {
    fn of<T>(count: usize) -> u64 {
        (count as u64).saturating_mul(std::mem::size_of::<T>() as u64)
    }
    let mut total = 0u64;
    for node in nodes {
        total = total.saturating_add(of::<Event>(node.events.len()));
        for event in &node.events {
            let lists = match event {
                Event::Step { inbox, result, .. } => {
                    of::<Message>(inbox.len()) + result.as_ref().map_or(0, |out| of::<Outgoing>(out.outbox.len()))
                }
                Event::Finish { result: Ok(metrics), .. } => of::<Metric>(metrics.len()),
                Event::Logs { lines, .. } => of::<RecordedLog>(lines.len()),
                Event::Finish { result: Err(_), .. } | Event::Crash { .. } | Event::Restart { .. } => 0,
            };
            total = total.saturating_add(lists);
        }
    }
    total
}

#[cfg(test)]
#[path = "codec_tests.rs"]
pub(super) mod tests;
