//! [`RecordingGroup`]: wraps any [`NodeGroup`] and records, per node, every
//! call and what it returned, within a [`RecordBudget`] shared by every
//! recorded group of a run. It changes nothing of what passes.
//!
//! Events are encoded as they happen (`codec.rs`), into one buffer per
//! node: no copy of an inbox is kept, and the budget counts exactly the
//! bytes held, so memory is bounded by the cap whatever the run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::codec;
use super::decoder::Reader;
use super::{Event, RecordError, RecordedLog};
use crate::runtime::{Interrupted, LogLine, Metric, NodeFault, NodeGroup, NodeUsage, StepCall, StepOutput};
use crate::scenario::ConfigValue;
use crate::text::format_time;

/// The bytes a run's recording may take (held in memory until written):
/// past them, recording stops and the run says so at its end.
#[derive(Debug)]
pub struct RecordBudget {
    max_bytes: u64,
    used: AtomicU64,
    passed: AtomicBool,
    /// The node and virtual time of the event that passed the cap.
    passed_at: Mutex<Option<(String, u64)>>,
}

impl RecordBudget {
    pub fn new(max_bytes: u64) -> Arc<Self> {
        Arc::new(RecordBudget {
            max_bytes,
            used: AtomicU64::new(0),
            passed: AtomicBool::new(false),
            passed_at: Mutex::new(None),
        })
    }

    /// Where the cap was passed, if it was.
    pub fn exceeded(&self) -> Option<RecordError> {
        let passed_at = self.passed_at.lock().unwrap_or_else(PoisonError::into_inner);
        passed_at.as_ref().map(|(node, time_us)| RecordError::CapExceeded {
            cap_bytes: self.max_bytes,
            node: node.clone(),
            time: format_time(*time_us),
        })
    }

    /// The bytes recorded so far, by every group sharing this budget.
    pub fn used_bytes(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    fn is_passed(&self) -> bool {
        self.passed.load(Ordering::Relaxed)
    }

    /// Counts `bytes` more for `node` at `time_us`; false once the cap is passed.
    fn spend(&self, bytes: u64, node: &str, time_us: u64) -> bool {
        let used = self.used.fetch_add(bytes, Ordering::Relaxed).saturating_add(bytes);
        if used <= self.max_bytes {
            return !self.is_passed();
        }
        let mut passed_at = self.passed_at.lock().unwrap_or_else(PoisonError::into_inner);
        passed_at.get_or_insert_with(|| (node.to_string(), time_us));
        self.passed.store(true, Ordering::Relaxed);
        false
    }
}

/// What a group recorded: one buffer of encoded events per member.
#[derive(Debug)]
struct Held {
    events: Vec<Vec<u8>>,
}

/// A group, recorded.
pub struct RecordingGroup {
    inner: Box<dyn NodeGroup>,
    budget: Arc<RecordBudget>,
    held: Arc<Mutex<Held>>,
    /// Calls made to the group so far (submit, finish, crash, restart):
    /// a log event says after which it came.
    calls: u64,
    /// The last `submit`'s calls (member index, time), each with the first
    /// half of its event (time and inbox, encoded), until `collect`.
    pending: Vec<(usize, u64, Vec<u8>)>,
    /// The latest virtual time the group was called at (a log event's, for the budget).
    now_us: u64,
    /// Set once the budget is passed: nothing more is recorded.
    stopped: bool,
}

/// What a [`RecordingGroup`] recorded, taken when the run is over (the
/// engine owns the group).
#[derive(Debug, Clone)]
pub struct RecordTap {
    held: Arc<Mutex<Held>>,
    budget: Arc<RecordBudget>,
}

impl RecordTap {
    /// Each member's events, by index in the group; `Err` when the budget
    /// was passed. They stay held: taking them again gives them again.
    pub fn take(&self) -> Result<Vec<Vec<Event>>, RecordError> {
        if let Some(e) = self.budget.exceeded() {
            return Err(e);
        }
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.events
            .iter()
            .map(|bytes| {
                // What `codec` wrote a moment ago reads back; failing here is a bug, said as such.
                Reader::new(bytes).events_to_end().map_err(|e| RecordError::Malformed {
                    path: PathBuf::from("(the recording in memory)"),
                    offset: e.offset as u64,
                    what: format!("{} (a bug in xedgesim's recorder: please report it)", e.what),
                })
            })
            .collect()
    }
}

impl RecordingGroup {
    pub fn new(inner: Box<dyn NodeGroup>, budget: Arc<RecordBudget>) -> (Self, RecordTap) {
        let held = Arc::new(Mutex::new(Held { events: vec![Vec::new(); inner.node_ids().len()] }));
        let tap = RecordTap { held: Arc::clone(&held), budget: Arc::clone(&budget) };
        let group = RecordingGroup { inner, budget, held, calls: 0, pending: Vec::new(), now_us: 0, stopped: false };
        (group, tap)
    }

    /// Whether events are still recorded; drops what was held once the
    /// budget is passed (by this group or another).
    fn recording(&mut self) -> bool {
        if !self.stopped && self.budget.is_passed() {
            self.stop();
        }
        !self.stopped
    }

    fn stop(&mut self) {
        self.stopped = true;
        self.pending = Vec::new();
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.events.iter_mut().for_each(|bytes| *bytes = Vec::new());
    }

    /// Keeps `event` (encoded) for member `index`, if the budget allows.
    fn keep(&mut self, index: usize, time_us: u64, event: &[u8]) {
        if !self.recording() {
            return;
        }
        let spent = {
            let node = self.inner.node_ids().get(index).map_or("?", String::as_str);
            self.budget.spend(event.len() as u64, node, time_us)
        };
        if !spent {
            self.stop();
            return;
        }
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bytes) = held.events.get_mut(index) {
            bytes.extend_from_slice(event);
        }
    }

    /// The bytes held for every member (tests: what passing the budget drops).
    #[cfg(test)]
    pub(super) fn held_bytes(&self) -> usize {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).events.iter().map(Vec::len).sum()
    }

    fn encoded(event: &Event) -> Vec<u8> {
        let mut bytes = Vec::new();
        codec::put_event(&mut bytes, event);
        bytes
    }
}

impl NodeGroup for RecordingGroup {
    fn node_ids(&self) -> &[String] {
        self.inner.node_ids()
    }

    fn submit(&mut self, calls: Vec<StepCall>) {
        self.calls += 1;
        self.pending.clear();
        if self.recording() {
            for call in &calls {
                let mut bytes = Vec::new();
                codec::put_step_start(&mut bytes, call.now_us, &call.inbox);
                self.pending.push((call.index, call.now_us, bytes));
            }
        }
        if let Some(call) = calls.first() {
            self.now_us = call.now_us;
        }
        self.inner.submit(calls)
    }

    fn collect(&mut self) -> Result<Vec<Result<StepOutput, NodeFault>>, Interrupted> {
        let pending = std::mem::take(&mut self.pending);
        let results = self.inner.collect()?;
        for ((index, now_us, mut bytes), result) in pending.into_iter().zip(&results) {
            codec::put_step_end(&mut bytes, result, self.inner.last_step_fuel(index));
            self.keep(index, now_us, &bytes);
        }
        Ok(results)
    }

    fn finish(&mut self, indexes: &[usize], now_us: u64) -> Vec<Result<Vec<Metric>, NodeFault>> {
        self.calls += 1;
        self.now_us = now_us;
        let results = self.inner.finish(indexes, now_us);
        if self.recording() {
            for (&index, result) in indexes.iter().zip(&results) {
                let event = Self::encoded(&Event::Finish { now_us, result: result.clone() });
                self.keep(index, now_us, &event);
            }
        }
        results
    }

    fn take_logs(&mut self) -> Vec<LogLine> {
        let lines = self.inner.take_logs();
        if !lines.is_empty() && self.recording() {
            // Each member's lines, in the order written.
            let mut by_node: BTreeMap<usize, Vec<RecordedLog>> = BTreeMap::new();
            for line in &lines {
                by_node.entry(line.index).or_default().push(RecordedLog {
                    time_us: line.time_us,
                    stream: line.stream,
                    level: line.level,
                    text: line.text.clone(),
                });
            }
            for (index, lines) in by_node {
                let event = Self::encoded(&Event::Logs { after_calls: self.calls, lines });
                self.keep(index, self.now_us, &event);
            }
        }
        lines
    }

    fn usage(&self, index: usize) -> NodeUsage {
        self.inner.usage(index)
    }

    fn last_step_fuel(&self, index: usize) -> Option<u64> {
        self.inner.last_step_fuel(index)
    }

    fn crash(&mut self, index: usize, now_us: u64) {
        self.calls += 1;
        self.now_us = now_us;
        self.inner.crash(index, now_us);
        let event = Self::encoded(&Event::Crash { now_us });
        self.keep(index, now_us, &event);
    }

    fn restart(
        &mut self,
        index: usize,
        now_us: u64,
        config: &BTreeMap<String, ConfigValue>,
        restarts: u32,
    ) -> Result<(), NodeFault> {
        self.calls += 1;
        self.now_us = now_us;
        let result = self.inner.restart(index, now_us, config, restarts);
        let event = Self::encoded(&Event::Restart { now_us, restarts, result: result.clone() });
        self.keep(index, now_us, &event);
        result
    }

    fn shutdown(&mut self) -> Vec<crate::runtime::ShutdownError> {
        self.inner.shutdown()
    }
}
