//! [`ReplayGroup`]: a [`NodeGroup`] that answers from a recording instead
//! of running its nodes. Each call is checked against the recorded one:
//! [`ReplayMode::Strict`] stops the run at the first call whose time or
//! inbox differs ([`FaultKind::ReplayDiverged`](crate::runtime::FaultKind)),
//! naming it; [`ReplayMode::Lenient`] answers by time and counts.
//!
//! Log lines come back as they were recorded: once the node's events before
//! them are answered and, when the group is the one recorded
//! (`same_group`), at the very call of the group they came after.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use super::divergence::{self, Expected};
use super::{Event, RecordedLog, RecordedNode};
use crate::runtime::{Interrupted, LogLine, Message, Metric, NodeFault, NodeGroup, NodeUsage, StepCall, StepOutput};
use crate::scenario::ConfigValue;

/// What a replay does when a node's inputs stop matching its recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplayMode {
    /// Stop the run at the first call that differs, and name it.
    #[default]
    Strict,
    /// Answer each call with the recorded step at its time (an empty
    /// answer where none was recorded), and count what differed.
    Lenient,
}

/// How one replayed node's calls matched its recording.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    pub node: String,
    /// Steps the engine asked of it.
    pub calls: u64,
    /// Calls at a recorded time whose inbox differed from the recorded one.
    pub inputs_differed: u64,
    /// Calls at a time with no recorded step (answered with nothing).
    pub calls_unrecorded: u64,
    /// Recorded steps no call came for.
    pub recorded_unused: u64,
}

/// The [`ReplayStats`] of a [`ReplayGroup`]'s nodes, read when the run is over.
#[derive(Debug, Clone)]
pub struct ReplayReport {
    stats: Arc<Mutex<Vec<ReplayStats>>>,
    first_divergence: Arc<Mutex<Option<NodeFault>>>,
}

impl ReplayReport {
    pub fn stats(&self) -> Vec<ReplayStats> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// A strict replay's first divergence in this group, if any. Each is
    /// also returned to the engine as the node's fault, but a crash answers
    /// nothing: one at an unrecorded time reaches the engine only at the
    /// node's next call, and a node never called again after it diverged
    /// silently but for this.
    pub fn divergence(&self) -> Option<NodeFault> {
        self.first_divergence.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// One node's recording, consumed from the front as calls are answered.
struct Replayed {
    id: String,
    events: VecDeque<Event>,
    usage: NodeUsage,
    /// Steps answered (from the recording, or with nothing).
    answered: u64,
    /// Recorded steps taken so far.
    taken: u64,
    last_fuel: Option<u64>,
    /// The time of the last recorded call answered from the recording.
    last_recorded_us: Option<u64>,
    /// Log lines whose events were passed by the calls answered since the last `take_logs`.
    due_logs: Vec<RecordedLog>,
    /// Strict: the first divergence, returned again at every later call.
    diverged: Option<NodeFault>,
}

impl Replayed {
    /// The first event that is a call (not log lines), by position.
    fn next_call(&self) -> Option<(usize, &Event)> {
        self.events.iter().enumerate().find(|(_, e)| !matches!(e, Event::Logs { .. }))
    }

    /// Takes the event at `position`: those before it are passed (their
    /// log lines become due, their steps go unused).
    fn take(&mut self, position: usize) -> Event {
        for _ in 0..position {
            if let Some(Event::Logs { lines, .. }) = self.events.pop_front() {
                self.due_logs.extend(lines);
            }
        }
        let event = self.events.pop_front().expect("a position in the recording");
        if let Some(t) = call_time(&event) {
            self.last_recorded_us = Some(t);
        }
        if matches!(event, Event::Step { .. }) {
            self.taken += 1;
        }
        event
    }

    /// Lenient: passes every event before `now_us` (never a finish).
    fn pass_before(&mut self, now_us: u64) {
        let before = self
            .events
            .iter()
            .position(|e| matches!(e, Event::Finish { .. }) || call_time(e).is_some_and(|t| t >= now_us))
            .unwrap_or(self.events.len());
        for _ in 0..before {
            if let Some(Event::Logs { lines, .. }) = self.events.pop_front() {
                self.due_logs.extend(lines);
            }
        }
    }

    /// Lenient: the position of the first recorded event at `now_us` that
    /// `wanted` accepts, passing only log lines and calls at `now_us` (after [`Self::pass_before`]).
    fn find_at(&self, now_us: u64, wanted: impl Fn(&Event) -> bool) -> Option<usize> {
        for (position, event) in self.events.iter().enumerate() {
            if wanted(event) {
                return Some(position);
            }
            match event {
                Event::Logs { .. } => {}
                Event::Finish { .. } => return None,
                e if call_time(e).is_some_and(|t| t > now_us) => return None,
                _ => {}
            }
        }
        None
    }

    /// The time of the first recorded step after `now_us`.
    fn next_step_after(&self, now_us: u64) -> Option<u64> {
        self.events.iter().find_map(|e| match e {
            Event::Step { now_us: t, .. } if *t > now_us => Some(*t),
            _ => None,
        })
    }
}

/// When a call event happened; `None` for log lines.
fn call_time(event: &Event) -> Option<u64> {
    match event {
        Event::Step { now_us, .. }
        | Event::Finish { now_us, .. }
        | Event::Crash { now_us }
        | Event::Restart { now_us, .. } => Some(*now_us),
        Event::Logs { .. } => None,
    }
}

/// Nodes answered from their recordings.
pub struct ReplayGroup {
    ids: Vec<String>,
    nodes: Vec<Replayed>,
    mode: ReplayMode,
    recording: String,
    same_group: bool,
    /// Calls made to the group (submit, finish, crash, restart), counted as the recorder counts them.
    calls: u64,
    /// The answers of the last `submit`, until `collect`.
    results: Vec<Result<StepOutput, NodeFault>>,
    stats: Arc<Mutex<Vec<ReplayStats>>>,
    first_divergence: Arc<Mutex<Option<NodeFault>>>,
}

impl ReplayGroup {
    /// A group of `nodes` (its members, in index order). `recording` names
    /// the file in divergence messages. `same_group`: the nodes are the
    /// whole group they were recorded in, as recorded (`xedgesim replay`),
    /// so log lines come back at the very calls they came at.
    pub fn new(
        nodes: Vec<RecordedNode>,
        mode: ReplayMode,
        recording: String,
        same_group: bool,
    ) -> (Self, ReplayReport) {
        let stats: Vec<ReplayStats> = nodes
            .iter()
            .map(|n| ReplayStats {
                node: n.id.clone(),
                recorded_unused: n.events.iter().filter(|e| matches!(e, Event::Step { .. })).count() as u64,
                ..ReplayStats::default()
            })
            .collect();
        let stats = Arc::new(Mutex::new(stats));
        let group = ReplayGroup {
            ids: nodes.iter().map(|n| n.id.clone()).collect(),
            nodes: nodes
                .into_iter()
                .map(|n| Replayed {
                    id: n.id,
                    events: n.events.into(),
                    usage: n.usage,
                    answered: 0,
                    taken: 0,
                    last_fuel: None,
                    last_recorded_us: None,
                    due_logs: Vec::new(),
                    diverged: None,
                })
                .collect(),
            mode,
            recording,
            same_group,
            calls: 0,
            results: Vec::new(),
            stats: Arc::clone(&stats),
            first_divergence: Arc::default(),
        };
        let first_divergence = Arc::clone(&group.first_divergence);
        (group, ReplayReport { stats, first_divergence })
    }

    fn stats_of(&self, index: usize, update: impl FnOnce(&mut ReplayStats)) {
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = stats.get_mut(index) {
            update(s);
        }
    }

    /// A strict replay's divergence of node `index` at `now_us`: kept, and returned.
    fn diverge(&mut self, index: usize, now_us: u64, expected: Expected<'_>) -> NodeFault {
        let node = &self.nodes[index];
        let fault =
            divergence::fault(&self.recording, &node.id, node.taken + 1, now_us, node.last_recorded_us, expected);
        self.nodes[index].diverged = Some(fault.clone());
        self.first_divergence.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert_with(|| fault.clone());
        fault
    }

    /// Strict: where the node's next recorded call is, if it is the one
    /// `asked` now (`fits` it); else its divergence (an earlier one stays).
    fn strict_next(
        &mut self,
        index: usize,
        now_us: u64,
        asked: &'static str,
        fits: impl Fn(&Event) -> bool,
    ) -> Result<usize, NodeFault> {
        let node = &self.nodes[index];
        if let Some(fault) = &node.diverged {
            return Err(fault.clone());
        }
        match node.next_call() {
            Some((position, event)) if fits(event) => Ok(position),
            next => {
                let next = next.map(|(_, e)| e.clone());
                Err(self.diverge(index, now_us, Expected::Call { asked, next: next.as_ref(), received: None }))
            }
        }
    }

    fn step_one(&mut self, index: usize, now_us: u64, inbox: &[Message]) -> Result<StepOutput, NodeFault> {
        self.stats_of(index, |s| s.calls += 1);
        match self.mode {
            ReplayMode::Strict => self.step_strict(index, now_us, inbox),
            ReplayMode::Lenient => self.step_lenient(index, now_us, inbox),
        }
    }

    fn step_strict(&mut self, index: usize, now_us: u64, inbox: &[Message]) -> Result<StepOutput, NodeFault> {
        let node = &self.nodes[index];
        if let Some(fault) = &node.diverged {
            return Err(fault.clone());
        }
        let position = match node.next_call() {
            Some((position, Event::Step { now_us: t, inbox: recorded, .. })) if *t == now_us => {
                if recorded.as_slice() != inbox {
                    let recorded = recorded.clone();
                    return Err(self.diverge(index, now_us, Expected::Inbox { recorded: &recorded, received: inbox }));
                }
                position
            }
            Some((_, event)) => {
                let event = event.clone();
                let expected = Expected::Call { asked: "step", next: Some(&event), received: Some(inbox) };
                return Err(self.diverge(index, now_us, expected));
            }
            None => {
                let expected = Expected::Call { asked: "step", next: None, received: Some(inbox) };
                return Err(self.diverge(index, now_us, expected));
            }
        };
        self.answer(index, position)
    }

    fn step_lenient(&mut self, index: usize, now_us: u64, inbox: &[Message]) -> Result<StepOutput, NodeFault> {
        let node = &mut self.nodes[index];
        node.answered += 1;
        node.pass_before(now_us);
        let found = node.find_at(now_us, |e| matches!(e, Event::Step { now_us: t, .. } if *t == now_us));
        let Some(position) = found else {
            node.last_fuel = None;
            let wake_at_us = node.next_step_after(now_us);
            self.stats_of(index, |s| s.calls_unrecorded += 1);
            return Ok(StepOutput { outbox: Vec::new(), wake_at_us });
        };
        let Event::Step { inbox: recorded, result, fuel, .. } = node.take(position) else { unreachable!("a step") };
        node.last_fuel = fuel;
        let next = node.next_step_after(now_us);
        let differed = recorded.as_slice() != inbox;
        self.stats_of(index, |s| {
            s.recorded_unused = s.recorded_unused.saturating_sub(1);
            s.inputs_differed += u64::from(differed);
        });
        // Still stepped at its recorded times, whatever now reaches it.
        result.map(|mut out| {
            out.wake_at_us = match (out.wake_at_us, next) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            out
        })
    }

    /// Strict: answers with the recorded step at `position`.
    fn answer(&mut self, index: usize, position: usize) -> Result<StepOutput, NodeFault> {
        let node = &mut self.nodes[index];
        let Event::Step { result, fuel, .. } = node.take(position) else { unreachable!("a step") };
        node.answered += 1;
        node.last_fuel = fuel;
        self.stats_of(index, |s| s.recorded_unused = s.recorded_unused.saturating_sub(1));
        result
    }

    fn finish_one(&mut self, index: usize, now_us: u64) -> Result<Vec<Metric>, NodeFault> {
        let position = match self.mode {
            ReplayMode::Strict => self.strict_next(
                index,
                now_us,
                "finish",
                |e| matches!(e, Event::Finish { now_us: t, .. } if *t == now_us),
            )?,
            // The recorded finish, whenever it was: a node that never finished reports nothing.
            ReplayMode::Lenient => {
                match self.nodes[index].events.iter().position(|e| matches!(e, Event::Finish { .. })) {
                    Some(position) => position,
                    None => return Ok(Vec::new()),
                }
            }
        };
        let Event::Finish { result, .. } = self.nodes[index].take(position) else { unreachable!("a finish") };
        result
    }
}

impl NodeGroup for ReplayGroup {
    fn node_ids(&self) -> &[String] {
        &self.ids
    }

    fn submit(&mut self, calls: Vec<StepCall>) {
        self.calls += 1;
        self.results = calls.iter().map(|call| self.step_one(call.index, call.now_us, &call.inbox)).collect();
    }

    fn collect(&mut self) -> Result<Vec<Result<StepOutput, NodeFault>>, Interrupted> {
        Ok(std::mem::take(&mut self.results))
    }

    fn finish(&mut self, indexes: &[usize], now_us: u64) -> Vec<Result<Vec<Metric>, NodeFault>> {
        self.calls += 1;
        indexes.iter().map(|&index| self.finish_one(index, now_us)).collect()
    }

    fn take_logs(&mut self) -> Vec<LogLine> {
        let mut out = Vec::new();
        for (index, node) in self.nodes.iter_mut().enumerate() {
            let mut lines = std::mem::take(&mut node.due_logs);
            while let Some(Event::Logs { after_calls, .. }) = node.events.front() {
                if self.same_group && *after_calls > self.calls {
                    break;
                }
                if let Some(Event::Logs { lines: more, .. }) = node.events.pop_front() {
                    lines.extend(more);
                }
            }
            out.extend(lines.into_iter().map(|l| LogLine {
                index,
                time_us: l.time_us,
                stream: l.stream,
                level: l.level,
                text: l.text,
            }));
        }
        out
    }

    fn usage(&self, index: usize) -> NodeUsage {
        let Some(node) = self.nodes.get(index) else { return NodeUsage::default() };
        let stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        let faithful = stats.get(index).is_some_and(|s| {
            s.inputs_differed == 0 && s.calls_unrecorded == 0 && s.recorded_unused == 0 && s.calls == node.answered
        });
        // The recorded count where every recorded step was answered as recorded
        // (a runtime may not count a step that trapped), else the calls answered.
        let steps = if faithful && node.diverged.is_none() { node.usage.steps } else { node.answered };
        NodeUsage { steps, ..node.usage }
    }

    fn last_step_fuel(&self, index: usize) -> Option<u64> {
        self.nodes.get(index).and_then(|n| n.last_fuel)
    }

    fn crash(&mut self, index: usize, now_us: u64) {
        self.calls += 1;
        let position = match self.mode {
            // A crash answers nothing: the node's next call returns the divergence.
            ReplayMode::Strict => {
                match self.strict_next(
                    index,
                    now_us,
                    "crash",
                    |e| matches!(e, Event::Crash { now_us: t } if *t == now_us),
                ) {
                    Ok(position) => position,
                    Err(_) => return,
                }
            }
            ReplayMode::Lenient => {
                let node = &mut self.nodes[index];
                node.pass_before(now_us);
                match node.find_at(now_us, |e| matches!(e, Event::Crash { now_us: t } if *t == now_us)) {
                    Some(position) => position,
                    None => return,
                }
            }
        };
        self.nodes[index].take(position);
    }

    fn restart(
        &mut self,
        index: usize,
        now_us: u64,
        config: &BTreeMap<String, ConfigValue>,
        restarts: u32,
    ) -> Result<(), NodeFault> {
        let _ = config;
        self.calls += 1;
        let position = match self.mode {
            ReplayMode::Strict => self.strict_next(
                index,
                now_us,
                "restart",
                |e| matches!(e, Event::Restart { now_us: t, restarts: r, .. } if *t == now_us && *r == restarts),
            )?,
            ReplayMode::Lenient => {
                let node = &mut self.nodes[index];
                node.pass_before(now_us);
                match node.find_at(now_us, |e| matches!(e, Event::Restart { now_us: t, .. } if *t == now_us)) {
                    Some(position) => position,
                    None => return Ok(()),
                }
            }
        };
        let Event::Restart { result, .. } = self.nodes[index].take(position) else { unreachable!("a restart") };
        result
    }
}

#[cfg(test)]
#[path = "replayer_tests.rs"]
mod tests;
