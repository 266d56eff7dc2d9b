//! The loop: instant after instant, and within one instant round after
//! round (a step's zero-latency messages are delivered in the next round),
//! with the bounds that stop a run that never lets time move.

use super::event_queue::EventKind;
use super::fault_state::HeldMessage;
use super::trace::DropReason;
use super::{Engine, EngineError, MAX_EVENTS_PER_INSTANT, MAX_ROUNDS_PER_INSTANT, Progress, Stop};
use crate::runtime::{Message, Outgoing};
use crate::text::format_time;

impl Engine<'_> {
    /// Runs every instant up to the end time (or the first stop).
    pub(super) fn run_instants(&mut self, mut progress: Option<&mut dyn FnMut(Progress)>) -> Result<(), Stop> {
        // Every startup fault is recorded, even when a signal came while
        // images were built or containers started (then the run stops). In
        // node order, whatever order placing found them in (images first,
        // then containers by kind, then recorded ones): a replay, which
        // finds them in another order, traces the same lines.
        let mut abort = None;
        let mut startup_faults = std::mem::take(&mut self.placement.startup_faults);
        startup_faults.sort_by_key(|(node, _)| *node);
        for (node, fault) in startup_faults {
            if let Err(stop) = self.fault(node, fault) {
                abort.get_or_insert(stop);
            }
        }
        if self.interrupted() {
            return Err(Stop::Interrupted);
        }
        if let Some(stop) = abort {
            return Err(stop);
        }
        // Every node steps once at t = 0, in file order.
        for node in 0..self.ids.len() {
            if !self.stopped[node] {
                self.queue
                    .push(0, EventKind::Wake { node, generation: 0 })
                    .map_err(|why| self.queue_full(node, why))?;
            }
        }
        let mut next_progress = 0;
        loop {
            // The next instant: an event's, or a scripted fault's.
            let now = match (self.queue.peek_time(), self.scripted.schedule.next_time()) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if now > self.duration_us {
                break;
            }
            if self.interrupted() {
                return Err(Stop::Interrupted);
            }
            self.now_us = now;
            // Scripted faults first: before any delivery or step at this instant.
            self.apply_faults(now)?;
            self.run_instant(now)?;
            if self.events >= next_progress {
                next_progress = self.events + 4096;
                if let Some(report) = progress.as_mut() {
                    report(Progress { now_us: now, duration_us: self.duration_us, events: self.events });
                }
            }
        }
        self.now_us = self.duration_us.max(self.now_us);
        Ok(())
    }

    /// Handles every event at `now`, in rounds, until none is left at `now`.
    pub(super) fn run_instant(&mut self, now: u64) -> Result<(), Stop> {
        let mut rounds = 0;
        let mut split = false;
        let mut events_before = self.events;
        while self.queue.peek_time() == Some(now) {
            // A round that only hands over what a full inbox left waiting is
            // not a node stepping without end: it does not count as a round.
            if !split {
                rounds += 1;
            }
            // Due nodes, each with its inbox in arrival order, and the bytes
            // in it (`u64::MAX` once full: what comes later for that node
            // waits too, so arrival order holds).
            let mut due = std::mem::take(&mut self.round_due);
            let mut inbox_bytes = std::mem::take(&mut self.round_inbox_bytes);
            inbox_bytes.clear();
            let mut waiting: Vec<(usize, usize, u64, Message)> = Vec::new();
            // Nodes whose held steps a stall released this round (stepped
            // now), with the sender and id of each message those steps
            // held: their inbox this round, in order.
            let mut released: Vec<(usize, Vec<(usize, u64)>)> = Vec::new();
            // What nodes whose compute ended now send, sent once the round's events are taken.
            let mut departing: Vec<(usize, Vec<Outgoing>)> = Vec::new();
            while self.queue.peek_time() == Some(now) {
                match self.queue.pop().expect("peeked") {
                    EventKind::Deliver { src, dst, id, message } => {
                        // Delivered or dropped: either happened.
                        self.events += 1;
                        if self.stopped[dst] {
                            let dst_id = self.ids[dst];
                            self.drop_message(now, id, Some(src), Some(dst), dst_id, DropReason::NodeStopped);
                            continue;
                        }
                        if self.scripted.present {
                            let reason = if self.scripted.is_down(dst) {
                                Some(DropReason::NodeDown)
                            } else if self.scripted.separated(src, dst) {
                                // What was on the wire when the partition came is lost.
                                Some(DropReason::Partition)
                            } else {
                                None
                            };
                            if let Some(reason) = reason {
                                let dst_id = self.ids[dst];
                                self.drop_message(now, id, Some(src), Some(dst), dst_id, reason);
                                continue;
                            }
                            if let Some(release) = self.held_until(dst, now, &released) {
                                // A stall holds it: delivered when a step receives it.
                                if self.scripted.hold(dst, release, vec![HeldMessage { src, id, message }]) {
                                    self.queue
                                        .push(release, EventKind::Release { node: dst })
                                        .map_err(|why| self.queue_full(dst, why))?;
                                }
                                continue;
                            }
                        }
                        if self.compute.is_busy(dst) {
                            // It computes: the message waits for the end, in arrival order.
                            self.compute.hold(dst, HeldMessage { src, id, message });
                            continue;
                        }
                        let mut round = Round { due: &mut due, inbox_bytes: &mut inbox_bytes, waiting: &mut waiting };
                        self.accept(now, &mut round, dst, HeldMessage { src, id, message });
                    }
                    EventKind::Release { node } => {
                        // A stall's held steps. What reached the node since
                        // was held behind them, so its inbox this round is
                        // theirs alone, in order; they count as delivered
                        // once the inbox bound has said which go now.
                        // A crash or node fault took what it held already.
                        let Some(held) = self.scripted.release(node, now) else { continue };
                        if self.stopped[node] || self.scripted.is_down(node) {
                            // Never so (they go at the stop), but never silently either.
                            self.drop_held(now, node, held);
                            continue;
                        }
                        if self.compute.is_busy(node) {
                            // Released while it computes: they wait for the end.
                            for h in held {
                                self.compute.hold(node, h);
                            }
                            continue;
                        }
                        let slot = self.due_slot(&mut due, node);
                        let senders = match released.iter().position(|(n, _)| *n == node) {
                            Some(k) => &mut released[k].1,
                            None => {
                                released.push((node, Vec::new()));
                                &mut released.last_mut().expect("just pushed").1
                            }
                        };
                        for h in held {
                            senders.push((h.src, h.id));
                            due[slot].1.push(h.message);
                        }
                    }
                    EventKind::Wake { node, generation } => {
                        // A wake-up a later step superseded is not an event.
                        if generation == self.generation[node] && !self.stopped[node] && !self.scripted.is_down(node) {
                            self.events += 1;
                            let id = self.ids[node];
                            self.trace.wake(now, id);
                            if self.compute.is_busy(node) {
                                self.compute.wake(node);
                            } else {
                                self.due_slot(&mut due, node);
                            }
                        }
                    }
                    EventKind::Computed { node } => {
                        // A crash or a fault since ended it: nothing leaves.
                        let Some(busy) = self.compute.finish(node, now) else { continue };
                        departing.push((node, busy.outbox));
                        if busy.held.is_empty() && !busy.woken {
                            continue;
                        }
                        // One step now with what waited, unless a stall holds it further.
                        if self.scripted.present
                            && let Some(release) = self.held_until(node, now, &released)
                        {
                            if self.scripted.hold_ahead(node, release, busy.held) {
                                self.queue
                                    .push(release, EventKind::Release { node })
                                    .map_err(|why| self.queue_full(node, why))?;
                            }
                            continue;
                        }
                        self.due_slot(&mut due, node);
                        for held in busy.held {
                            let mut round =
                                Round { due: &mut due, inbox_bytes: &mut inbox_bytes, waiting: &mut waiting };
                            self.accept(now, &mut round, node, held);
                        }
                    }
                }
            }
            for &(node, _) in &due {
                self.due_at[node] = u32::MAX;
            }
            // In node order, before this round's steps send: their zero-latency messages arrive next round.
            departing.sort_unstable_by_key(|(node, _)| *node);
            for (node, outbox) in departing {
                for message in outbox {
                    self.send(node, now, message)?;
                }
            }
            // The next round hands over what waits (the events bound still
            // stops a real livelock hiding behind it).
            split = !waiting.is_empty();
            for (src, dst, id, message) in waiting {
                self.queue
                    .push(now, EventKind::Deliver { src, dst, id, message })
                    .map_err(|why| self.queue_full(dst, why))?;
            }
            if self.scripted.present {
                split |= self.hold_stalled(now, &mut due, released)?;
            }
            due.sort_unstable_by_key(|(node, _)| *node);
            if rounds == 1 {
                // Scheduled before this instant: not work the instant made.
                events_before = self.events;
            }
            let events = self.events - events_before;
            if rounds > MAX_ROUNDS_PER_INSTANT || events > MAX_EVENTS_PER_INSTANT {
                let nodes =
                    due.iter().take(10).map(|(n, _)| format!("'{}'", self.ids[*n])).collect::<Vec<_>>().join(", ");
                return Err(Stop::Error(EngineError::Livelock { time: format_time(now), rounds, events, nodes }));
            }
            self.round_inbox_bytes = inbox_bytes;
            self.step_due(now, &mut due)?;
            self.round_due = due;
        }
        Ok(())
    }

    /// Puts `h` in its node's inbox this round, counted as delivered, or,
    /// past the node's inbox byte bound, in `waiting` for a further step at
    /// this instant (what comes later for that node waits too, so arrival
    /// order holds).
    fn accept(&mut self, now: u64, round: &mut Round<'_>, dst: usize, h: HeldMessage) {
        let HeldMessage { src, id, message } = h;
        let slot = self.due_slot(round.due, dst);
        round.inbox_bytes.resize(round.due.len(), 0);
        // What the step is handed: payload, sender id and topic, and its header.
        let size = inbox_size(&message);
        let held = &mut round.inbox_bytes[slot];
        if *held > 0 && held.saturating_add(size) > self.scenario.nodes[dst].implementation.max_inbox_bytes() {
            // A full inbox: the rest arrives in a further step at this instant.
            *held = u64::MAX;
            self.events -= 1;
            round.waiting.push((src, dst, id, message));
            return;
        }
        *held += size;
        // Counted here, once: a message a full inbox made wait comes round again.
        self.delivered(now, src, dst, id, &message);
        round.due[slot].1.push(message);
    }

    /// Position of `node` in this round's `due` list, adding it if new.
    pub(super) fn due_slot(&mut self, due: &mut Vec<(usize, Vec<Message>)>, node: usize) -> usize {
        if self.due_at[node] == u32::MAX {
            self.due_at[node] = due.len() as u32;
            // As many as last time: one allocation, not one each time it doubles.
            due.push((node, Vec::with_capacity(self.inbox_hint[node] as usize)));
        }
        self.due_at[node] as usize
    }
}

/// A round's due nodes with their inboxes, the bytes in each, and the
/// messages a full inbox left for a further round.
struct Round<'r> {
    due: &'r mut Vec<(usize, Vec<Message>)>,
    inbox_bytes: &'r mut Vec<u64>,
    waiting: &'r mut Vec<(usize, usize, u64, Message)>,
}

/// What a message costs an inbox beyond its payload, id and topic: its
/// header in the packed inbox (`wit/node.wit`), rounded up.
pub(super) const INBOX_HEADER_BYTES: u64 = 32;

/// What `message` takes of an inbox's byte bound: payload, sender id, topic and header.
pub(super) fn inbox_size(message: &Message) -> u64 {
    (message.payload.len() + message.source.len() + message.topic.len()) as u64 + INBOX_HEADER_BYTES
}

/// Where `inbox` passes `bound` bytes: the first message that does not fit
/// (never the first message), or `None` when all fit.
pub(super) fn inbox_cut(inbox: &[Message], bound: u64) -> Option<usize> {
    let mut held = 0u64;
    for (k, message) in inbox.iter().enumerate() {
        held = held.saturating_add(inbox_size(message));
        if k > 0 && held > bound {
            return Some(k);
        }
    }
    None
}
