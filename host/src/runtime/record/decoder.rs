//! Reads back what `codec.rs` wrote, every byte checked: an error says at
//! which byte (from the start of what was read) and what was expected
//! there. Never a panic, and never an allocation a damaged length claims.

use super::codec::{CRASH, FINISH, LOGS, RESTART, STEP};
use super::{Event, RecordedLog, RecordedNode};
use crate::runtime::{
    Address, FaultKind, LogLevel, LogStream, Message, Metric, NodeFault, NodeUsage, Outgoing, StepOutput,
};

/// Bytes that stop making sense at `offset` (from the start of what was read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DecodeError {
    pub offset: usize,
    pub what: String,
}

/// The strings [`FaultKind::OutboxLimit`]'s `what` takes (it is `&'static
/// str`: a recording maps its text back to one of these).
const OUTBOX_LIMIT_WHATS: &[&str] = &["messages", "bytes"];

/// Most elements a list's length may reserve room for up front: a damaged
/// length claiming billions must not allocate them (the list grows past
/// this as its elements are actually read).
const MAX_RESERVE: usize = 1024;

/// Reads values back from bytes, each read checked; an error says at which
/// byte (from the start of `bytes`) and what was expected there.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Memory the lists read so far take (each element's fixed size), and
    /// the most they may: see [`Reader::bounded`].
    decoded: u64,
    max_decoded: u64,
}

type Read<T> = Result<T, DecodeError>;

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self::bounded(bytes, u64::MAX)
    }

    /// A reader whose lists together may take at most `max_decoded` bytes
    /// of fixed-size elements (an event, a message, a log line, … each
    /// [`size_of`](std::mem::size_of) its type): a list past it is refused
    /// at its count, before its elements are read. Text and payloads are
    /// not counted: they are at most the bytes read.
    pub fn bounded(bytes: &'a [u8], max_decoded: u64) -> Self {
        Reader { bytes, pos: 0, decoded: 0, max_decoded }
    }

    /// What the lists read so far take, as [`Reader::bounded`] counts it.
    #[cfg(test)]
    pub fn decoded_bytes(&self) -> u64 {
        self.decoded
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Where the next read starts.
    pub fn offset(&self) -> usize {
        self.pos
    }

    fn fail<T>(&self, at: usize, what: impl Into<String>) -> Read<T> {
        Err(DecodeError { offset: at, what: what.into() })
    }

    fn u8(&mut self, what: &str) -> Read<u8> {
        match self.bytes.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => self.fail(self.pos, format!("the data ends where {what} should be")),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Read<[u8; N]> {
        match self.bytes.get(self.pos..self.pos + N) {
            Some(slice) => {
                self.pos += N;
                Ok(slice.try_into().expect("N bytes"))
            }
            None => self.fail(self.pos, format!("the data ends where {what} should be")),
        }
    }

    fn varint(&mut self, what: &str) -> Read<u64> {
        let start = self.pos;
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8(what)?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return self.fail(start, format!("{what} does not fit 64 bits"));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        self.fail(start, format!("{what} does not fit 64 bits"))
    }

    fn len(&mut self, what: &str) -> Read<usize> {
        let start = self.pos;
        let len = self.varint(what)?;
        match usize::try_from(len) {
            Ok(len) if len <= self.bytes.len() - self.pos => Ok(len),
            _ => self.fail(start, format!("{what} claims {len} bytes; {} are left", self.bytes.len() - self.pos)),
        }
    }

    /// A list's element count: at most the bytes left, since every element
    /// takes at least one (each is then read and checked in turn).
    fn count(&mut self, what: &str) -> Read<u64> {
        let start = self.pos;
        let count = self.varint(what)?;
        let left = self.bytes.len() - self.pos;
        if count > left as u64 {
            return self.fail(start, format!("{what} claims {count}; {left} bytes are left"));
        }
        Ok(count)
    }

    fn bytes(&mut self, what: &str) -> Read<Vec<u8>> {
        let len = self.len(what)?;
        let bytes = self.bytes[self.pos..self.pos + len].to_vec();
        self.pos += len;
        Ok(bytes)
    }

    fn string(&mut self, what: &str) -> Read<String> {
        let start = self.pos;
        String::from_utf8(self.bytes(what)?).or_else(|_| self.fail(start, format!("{what} is not UTF-8")))
    }

    fn opt(&mut self, what: &str) -> Read<Option<u64>> {
        let at = self.pos;
        match self.u8(what)? {
            0 => Ok(None),
            1 => Ok(Some(self.varint(what)?)),
            tag => self.fail(at, format!("{what}: presence tag {tag} (0 or 1)")),
        }
    }

    fn list<T>(&mut self, what: &str, read: impl FnMut(&mut Self) -> Read<T>) -> Read<Vec<T>> {
        let at = self.pos;
        let count = self.count(what)?;
        self.charge::<T>(at, what, count)?;
        self.items(count, read)
    }

    /// Counts a list of `count` elements of `T` (its count read at `at`)
    /// against the memory the lists may take.
    fn charge<T>(&mut self, at: usize, what: &str, count: u64) -> Read<()> {
        self.decoded = self.decoded.saturating_add(count.saturating_mul(std::mem::size_of::<T>() as u64));
        if self.decoded > self.max_decoded {
            let max = self.max_decoded;
            return self.fail(
                at,
                format!("{what} of {count} brings what the recording decodes to past {max} bytes in memory, the most this build holds"),
            );
        }
        Ok(())
    }

    /// `count` elements, each read by `read`.
    fn items<T>(&mut self, count: u64, mut read: impl FnMut(&mut Self) -> Read<T>) -> Read<Vec<T>> {
        let mut items = Vec::with_capacity(usize::try_from(count).unwrap_or(usize::MAX).min(MAX_RESERVE));
        for _ in 0..count {
            items.push(read(self)?);
        }
        Ok(items)
    }

    fn address(&mut self) -> Read<Address> {
        let at = self.pos;
        match self.u8("an address")? {
            0 => Ok(Address::Node(self.string("a destination node id")?)),
            1 => Ok(Address::Publish),
            tag => self.fail(at, format!("address tag {tag} (0 or 1)")),
        }
    }

    fn message(&mut self) -> Read<Message> {
        Ok(Message {
            source: self.string("a message's source")?,
            destination: self.address()?,
            topic: self.string("a message's topic")?,
            payload: self.bytes("a message's payload")?,
            sent_us: self.varint("a message's send time")?,
        })
    }

    fn output(&mut self) -> Read<StepOutput> {
        let outbox = self.list("an outbox's length", |r| {
            Ok(Outgoing {
                destination: r.address()?,
                topic: r.string("a sent message's topic")?,
                payload: r.bytes("a sent message's payload")?,
            })
        })?;
        Ok(StepOutput { outbox, wake_at_us: self.opt("a wake-up time")? })
    }

    fn metrics(&mut self) -> Read<Vec<Metric>> {
        self.list("a metric count", |r| {
            let name = r.string("a metric's name")?;
            let value = f64::from_bits(u64::from_le_bytes(r.array("a metric's value")?));
            Ok(Metric { name, value })
        })
    }

    fn kind(&mut self) -> Read<FaultKind> {
        let at = self.pos;
        Ok(match self.u8("a fault's kind")? {
            0 => FaultKind::Config,
            1 => FaultKind::ModelError,
            2 => FaultKind::OutOfFuel { budget: self.varint("a fuel budget")? },
            3 => FaultKind::MemoryLimit { memory_limit_mb: self.varint("a memory limit")? },
            4 => FaultKind::TableLimit { max_elements: self.varint("a table limit")? },
            5 => FaultKind::StackOverflow,
            6 => FaultKind::Trap,
            7 => FaultKind::LogLimit { max_log_bytes: self.varint("a log limit")? },
            8 => {
                let what_at = self.pos;
                let what = self.string("what an outbox limit counts")?;
                let Some(what) = OUTBOX_LIMIT_WHATS.iter().find(|known| **known == what) else {
                    return self.fail(what_at, format!("an outbox limit counts {what:?}, not messages or bytes"));
                };
                FaultKind::OutboxLimit {
                    what,
                    count: self.varint("an outbox count")?,
                    limit: self.varint("an outbox limit")?,
                }
            }
            9 => FaultKind::RealTimeWait,
            10 => FaultKind::WakeInPast { wake_at_us: self.varint("a wake-up time")? },
            11 => FaultKind::SharedSandbox { culprit: self.string("a culprit node id")? },
            12 => FaultKind::Stopped,
            13 => {
                let tag_at = self.pos;
                let exit_code = match self.u8("an exit code")? {
                    0 => None,
                    1 => Some(i64::from_le_bytes(self.array("an exit code")?)),
                    tag => return self.fail(tag_at, format!("an exit code: presence tag {tag} (0 or 1)")),
                };
                FaultKind::ContainerExited { exit_code }
            }
            14 => FaultKind::Timeout { timeout_ms: self.varint("a timeout")? },
            15 => FaultKind::Protocol,
            16 => FaultKind::ImageBuild,
            17 => FaultKind::ImageMissing { image: self.string("an image name")? },
            18 => FaultKind::EngineUnreachable { endpoint: self.string("an engine endpoint")? },
            19 => FaultKind::ContainerStart,
            20 => FaultKind::BadBatch,
            21 => FaultKind::GuestExit { code: i32::from_le_bytes(self.array("an exit code")?) },
            22 => FaultKind::DuplicateMetric,
            23 => FaultKind::NotConnected { timeout_s: self.varint("a connect timeout")? },
            24 => FaultKind::Mqtt,
            25 => FaultKind::Interrupted,
            26 => FaultKind::ReplayDiverged,
            tag => return self.fail(at, format!("fault kind {tag} (this version knows 0 to 26)")),
        })
    }

    fn fault(&mut self) -> Read<NodeFault> {
        Ok(NodeFault {
            node: self.string("a fault's node")?,
            time_us: self.varint("a fault's time")?,
            kind: self.kind()?,
            detail: self.string("a fault's detail")?,
        })
    }

    fn result<T>(&mut self, read_ok: impl FnOnce(&mut Self) -> Read<T>) -> Read<Result<T, NodeFault>> {
        let at = self.pos;
        match self.u8("a result")? {
            0 => Ok(Ok(read_ok(self)?)),
            1 => Ok(Err(self.fault()?)),
            tag => self.fail(at, format!("result tag {tag} (0 or 1)")),
        }
    }

    fn usage(&mut self) -> Read<NodeUsage> {
        Ok(NodeUsage {
            steps: self.varint("a step count")?,
            fuel_used: self.opt("fuel used")?,
            round_trip_us_total: self.opt("a round-trip total")?,
            round_trip_us_max: self.opt("a round-trip maximum")?,
            cpu_time_us: self.opt("a CPU time")?,
            peak_memory_bytes: self.opt("a peak memory")?,
            answers: self.opt("an answer count")?,
            processing_us_p50: self.opt("a processing median")?,
            processing_us_p95: self.opt("a processing 95th percentile")?,
            processing_us_max: self.opt("a processing maximum")?,
            wall_to_virtual_us: self.opt("a wall-to-virtual time")?,
        })
    }

    fn log(&mut self) -> Read<RecordedLog> {
        let time_us = self.varint("a log line's time")?;
        let at = self.pos;
        let stream = match self.u8("a log stream")? {
            0 => LogStream::Log,
            1 => LogStream::Stdout,
            2 => LogStream::Stderr,
            tag => return self.fail(at, format!("log stream {tag} (0 to 2)")),
        };
        let at = self.pos;
        let level = match self.u8("a log level")? {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            tag => return self.fail(at, format!("log level {tag} (0 to 4)")),
        };
        Ok(RecordedLog { time_us, stream, level, text: self.string("a log line")? })
    }

    /// One event, as `codec::put_event` wrote it.
    pub fn event(&mut self) -> Read<Event> {
        let at = self.pos;
        Ok(match self.u8("an event")? {
            STEP => Event::Step {
                now_us: self.varint("a step's time")?,
                inbox: self.list("an inbox's length", Self::message)?,
                result: self.result(Self::output)?,
                fuel: self.opt("a step's fuel")?,
            },
            FINISH => Event::Finish { now_us: self.varint("a finish's time")?, result: self.result(Self::metrics)? },
            CRASH => Event::Crash { now_us: self.varint("a crash's time")? },
            RESTART => {
                let now_us = self.varint("a restart's time")?;
                let count_at = self.pos;
                let restarts = self.varint("a restart count")?;
                let Ok(restarts) = u32::try_from(restarts) else {
                    return self.fail(count_at, format!("a restart count of {restarts}"));
                };
                Event::Restart { now_us, restarts, result: self.result(|_| Ok(()))? }
            }
            LOGS => Event::Logs {
                after_calls: self.varint("a log event's call count")?,
                lines: self.list("a log line count", Self::log)?,
            },
            tag => return self.fail(at, format!("event kind {tag} (0 to 4)")),
        })
    }

    /// One node and its events, as `codec::put_node_head` and `codec::put_event`
    /// wrote them. `check_id` refuses an id that is not expected here (`Err`:
    /// why), before anything else of the node is read; a node claiming more
    /// than `max_events` events is refused before they are read.
    pub fn node(&mut self, check_id: impl FnOnce(&str) -> Result<(), String>, max_events: u64) -> Read<RecordedNode> {
        let id_at = self.pos;
        let id = self.string("a node id")?;
        if let Err(what) = check_id(&id) {
            return self.fail(id_at, what);
        }
        let group_at = self.pos;
        let group = match self.opt("a group number")? {
            None => None,
            Some(g) => match u32::try_from(g) {
                Ok(g) => Some(g),
                Err(_) => return self.fail(group_at, format!("group number {g}")),
            },
        };
        let at = self.pos;
        let startup_fault = match self.u8("a startup fault")? {
            0 => None,
            1 => Some(self.fault()?),
            tag => return self.fail(at, format!("a startup fault: presence tag {tag} (0 or 1)")),
        };
        let usage = self.usage()?;
        let count_at = self.pos;
        let count = self.count("an event count")?;
        if count > max_events {
            return self.fail(count_at, format!("a node of {count} events where {max_events} are left to count"));
        }
        self.charge::<Event>(count_at, "an event count", count)?;
        let events = self.items(count, Self::event)?;
        Ok(RecordedNode { id, group, startup_fault, usage, events })
    }

    /// Every event to the end of the bytes (a recorder's buffer of one node).
    pub fn events_to_end(&mut self) -> Read<Vec<Event>> {
        let mut events = Vec::new();
        while !self.at_end() {
            events.push(self.event()?);
        }
        Ok(events)
    }
}
