//! Stepping the nodes due at one instant: one call per group, on threads
//! when many are due, results applied in node order whatever group each
//! node lives in; and the log lines the groups made, into the trace.

use std::sync::Arc;

use super::event_queue::EventKind;
use super::waves::WAVE_CALLS;
use super::{Engine, EngineError, LiveLog, Stop};
use crate::runtime::{Interrupted, LogLine, Message, NodeFault, NodeGroup, StepCall, StepOutput, SubmitPart};

/// Stepped nodes' results: the node, what its step returned, and its
/// compute time (`cpu:` nodes; 0 for the rest).
pub(super) type Stepped = Vec<(usize, Result<StepOutput, NodeFault>, u64)>;

/// Fewer calls than this at one instant are stepped on the engine's own
/// thread: handing work to another thread costs more than a few steps.
/// So is the work of one sandbox alone (one part). Tests use 2, so that
/// engine tests on threads share out (and overlap) their few calls.
const PARALLEL_MIN_CALLS: usize = if cfg!(test) { 2 } else { 32 };

impl Engine<'_> {
    /// Steps the due nodes (in node order), one call per sandbox: every
    /// group is submitted to before any is collected from, the last group
    /// (containers, placed last) first, so container round trips overlap
    /// the WASM work. Results are applied in node order whatever the group.
    /// An instant of many calls whose groups come in node order, where no
    /// one hears log lines as they are taken, goes in waves instead
    /// (`waves.rs`). `due` is left empty, its capacity kept for the next round.
    pub(super) fn step_due(&mut self, now: u64, due: &mut Vec<(usize, Vec<Message>)>) -> Result<(), Stop> {
        let mut calls: Vec<(usize, StepCall)> = due
            .drain(..)
            .map(|(node, inbox)| {
                self.inbox_hint[node] = inbox.len() as u32;
                let (group, index) = self.placement.slot[node].expect("only placed nodes are scheduled");
                (group, StepCall { index, now_us: now, inbox })
            })
            .collect();
        // Groups due in node order can be applied a wave at a time (`waves.rs`).
        let groups_in_node_order = calls.is_sorted_by_key(|(group, _)| *group);
        // Stable: within a group, calls stay in node order.
        calls.sort_by_key(|(group, _)| *group);
        let total_calls = calls.len();
        // Each group's calls in one vector of the right size (not grown a doubling at a time).
        let sizes: Vec<usize> = calls.chunk_by(|a, b| a.0 == b.0).map(<[_]>::len).collect();
        let mut batches: Vec<(usize, Vec<StepCall>)> = Vec::with_capacity(sizes.len());
        let mut calls = calls.into_iter();
        for size in sizes {
            let (mut group, mut batch) = (0, Vec::with_capacity(size));
            for (g, call) in calls.by_ref().take(size) {
                group = g;
                batch.push(call);
            }
            batches.push((group, batch));
        }
        if groups_in_node_order && total_calls > WAVE_CALLS && !self.hears_logs() {
            return self.step_in_waves(now, batches);
        }
        let submitted = indexes_by_group(&batches);
        self.submit_batches(batches, total_calls)?;
        let mut results: Stepped = Vec::with_capacity(total_calls);
        let groups: Vec<usize> = submitted.iter().map(|(group, _)| *group).collect();
        for (group, indexes) in submitted {
            self.collect_stepped(group, indexes, &mut results)?;
        }
        self.trace_logs(groups);
        // Outputs in node order, whatever sandbox each node lives in.
        results.sort_unstable_by_key(|(node, _, _)| *node);
        let mut stop = None;
        self.apply_stepped(now, results, &mut stop);
        stop.map_or(Ok(()), Err)
    }

    /// Applies `stepped` in order, unless the run has stopped; the first
    /// result that stops it ends the applying, and is kept in `stop`.
    pub(super) fn apply_stepped(&mut self, now: u64, stepped: Stepped, stop: &mut Option<Stop>) {
        if stop.is_some() {
            return;
        }
        for (node, result, cost_us) in stepped {
            self.steps += 1;
            self.series.step(now, node);
            let applied = match result {
                Ok(output) if cost_us > 0 => self.apply_computed(node, now, cost_us, output),
                Ok(output) => self.apply(node, now, output),
                Err(fault) => self.fault(node, fault),
            };
            if let Err(why) = applied {
                *stop = Some(why);
                return;
            }
        }
    }

    /// Submits each group's calls: on threads when many are due (each
    /// group's work in parts where it has them, a pack's lanes), else on
    /// this thread, last group first.
    pub(super) fn submit_batches(&mut self, batches: Vec<(usize, Vec<StepCall>)>, calls: usize) -> Result<(), Stop> {
        // A call begun after the user's stop would only be cut short.
        if self.interrupted() {
            return Err(Stop::Interrupted);
        }
        if self.on_threads(calls) {
            self.with_groups_lent(|engine, groups| {
                let parts = parts_of(groups, batches);
                match (parts.len() > 1).then(|| engine.pool()).flatten() {
                    Some(pool) => pool.install(|| {
                        use rayon::prelude::*;
                        parts.into_par_iter().for_each(|part| part());
                    }),
                    // One sandbox's work (or no pool): on this thread.
                    None => parts.into_iter().for_each(|part| part()),
                }
            });
            return Ok(());
        }
        // Last group first: the container group (placed last) starts its
        // round trips before the WASM groups do their work.
        for (group, calls) in batches.into_iter().rev() {
            if self.interrupted() {
                return Err(Stop::Interrupted);
            }
            self.placement.groups[group].submit(calls);
        }
        Ok(())
    }

    /// Runs `work` with the groups taken out of the engine, so that their
    /// parts can run on the pool while the engine is in use (the pool is
    /// the engine's; applying results touches no group). They are put back
    /// however `work` ends: a panic in a part is raised again only after.
    pub(super) fn with_groups_lent<R>(&mut self, work: impl FnOnce(&mut Self, &mut Vec<Box<dyn NodeGroup>>) -> R) -> R {
        let mut groups = std::mem::take(&mut self.placement.groups);
        let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(self, &mut groups)));
        self.placement.groups = groups;
        ended.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    /// Whether an instant (or wave) of `calls` calls steps on threads.
    pub(super) fn on_threads(&self, calls: usize) -> bool {
        self.threads > 1 && calls >= PARALLEL_MIN_CALLS
    }

    /// The threads' pool, made at the first instant with parts to share
    /// out; `None` when it cannot be made (the work then runs here).
    pub(super) fn pool(&mut self) -> Option<Arc<rayon::ThreadPool>> {
        let threads = self.threads;
        // The main thread's stack size: guest calls run on these threads' stacks.
        let pool = self.pool.get_or_insert_with(|| {
            rayon::ThreadPoolBuilder::new().num_threads(threads).stack_size(8 << 20).build().ok().map(Arc::new)
        });
        pool.clone()
    }

    /// Collects `group`'s results (one per index in `indexes`) into
    /// `stepped`, each with its node and compute time.
    pub(super) fn collect_stepped(
        &mut self,
        group: usize,
        indexes: Vec<usize>,
        stepped: &mut Stepped,
    ) -> Result<(), Stop> {
        let outputs = self.collect_group(group, &indexes)?;
        for (index, result) in indexes.into_iter().zip(outputs) {
            let node = self.placement.members[group][index];
            let cost_us = match &result {
                Ok(_) if self.compute.has_speed(node) => {
                    let fuel = self.placement.groups[group].last_step_fuel(index).unwrap_or(0);
                    self.compute.cost_us(node, fuel)
                }
                _ => 0,
            };
            stepped.push((node, result, cost_us));
        }
        Ok(())
    }

    /// The results of `group`'s last submit, one per index in `indexes`.
    pub(super) fn collect_group(
        &mut self,
        group: usize,
        indexes: &[usize],
    ) -> Result<Vec<Result<StepOutput, NodeFault>>, Stop> {
        let outputs = self.placement.groups[group].collect().map_err(|Interrupted| Stop::Interrupted)?;
        if outputs.len() != indexes.len() {
            // A runtime broke the NodeGroup contract: no result can be matched to its node.
            let nodes = indexes.iter().map(|&i| self.ids[self.placement.members[group][i]]).collect::<Vec<_>>();
            return Err(Stop::Error(EngineError::ResultCount {
                nodes: nodes.join(", "),
                calls: indexes.len(),
                results: outputs.len(),
            }));
        }
        Ok(outputs)
    }

    /// Writes the lines `groups` logged since they were last asked, in
    /// node order (each node's lines in the order written), whichever
    /// group each node lives in: packing must not reorder the trace.
    pub(super) fn trace_logs(&mut self, groups: impl IntoIterator<Item = usize>) {
        let mut lines: Vec<(usize, LogLine)> = Vec::new();
        for group in groups {
            let members = &self.placement.members[group];
            lines.extend(self.placement.groups[group].take_logs().into_iter().map(|l| (members[l.index], l)));
        }
        lines.sort_by_key(|(node, _)| *node);
        for (node, line) in lines {
            let id = self.ids[node];
            self.trace.log(line.time_us, id, line.level, line.stream, &line.text);
            if let Some((min_level, tap)) = &mut self.log_tap
                && line.level >= *min_level
            {
                tap(LiveLog { time_us: line.time_us, node: id, level: line.level, text: &line.text });
            }
        }
    }

    /// Sends a step's messages and schedules its wake-up.
    pub(super) fn apply(&mut self, node: usize, now: u64, output: StepOutput) -> Result<(), Stop> {
        for message in output.outbox {
            self.send(node, now, message)?;
        }
        self.schedule_wake(node, output.wake_at_us)
    }

    /// A step that takes `cost_us` of compute: the node is busy until
    /// `now + cost_us`, and its messages leave then (a step whose compute
    /// ends after the run's end sends nothing). Its wake-up is scheduled as
    /// asked; one due while it is busy waits for the end.
    pub(super) fn apply_computed(
        &mut self,
        node: usize,
        now: u64,
        cost_us: u64,
        output: StepOutput,
    ) -> Result<(), Stop> {
        let until_us = now.saturating_add(cost_us);
        self.compute.start(node, cost_us, until_us, output.outbox);
        if until_us <= self.duration_us {
            self.queue.push(until_us, EventKind::Computed { node }).map_err(|why| self.queue_full(node, why))?;
        }
        self.schedule_wake(node, output.wake_at_us)
    }

    /// Replaces `node`'s wake-up with the one its last step asked for.
    fn schedule_wake(&mut self, node: usize, wake_at_us: Option<u64>) -> Result<(), Stop> {
        self.generation[node] += 1;
        if let Some(at) = wake_at_us
            && at <= self.duration_us
        {
            let generation = self.generation[node];
            self.queue.push(at, EventKind::Wake { node, generation }).map_err(|why| self.queue_full(node, why))?;
        }
        Ok(())
    }
}

/// Each batch's group with the indexes it calls, to collect its results by
/// once the calls are handed over.
pub(super) fn indexes_by_group(batches: &[(usize, Vec<StepCall>)]) -> Vec<(usize, Vec<usize>)> {
    batches.iter().map(|(group, calls)| (*group, calls.iter().map(|c| c.index).collect())).collect()
}

/// Each due group's work, in group order, in parts where a group has them
/// (a pack's lanes): the parts are independent (own store, streams, log),
/// so which thread runs which changes nothing of what they return.
/// `batches` come in group order.
pub(super) fn parts_of(groups: &mut [Box<dyn NodeGroup>], batches: Vec<(usize, Vec<StepCall>)>) -> Vec<SubmitPart<'_>> {
    let mut parts = Vec::with_capacity(batches.len());
    let mut batches = batches.into_iter().peekable();
    for (group, node_group) in groups.iter_mut().enumerate() {
        if let Some((_, calls)) = batches.next_if(|(g, _)| *g == group) {
            parts.extend(node_group.submit_parts(calls));
        }
    }
    parts
}
