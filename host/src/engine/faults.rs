//! Faults as the engine applies them: the scenario's scripted faults
//! (crash, restart, partition, degrade, stall) at their instants, and a
//! node's own fault, which stops it and, under `on_fault: abort`, the run.

use std::collections::BTreeMap;

use super::event_queue::EventKind;
use super::fault_schedule::Scheduled;
use super::fault_state::HeldMessage;
use super::instant::inbox_cut;
use super::{Engine, EngineError, FaultRecord, Stop};
use crate::runtime::{Message, NodeFault};
use crate::scenario::FaultPolicy;

impl Engine<'_> {
    /// Applies every scripted fault due at `now`, in the schedule's order
    /// (time, then file order). One that would change nothing (a crash of
    /// a node already down, a restart of one that is up, a crash or restart
    /// of a node a node fault stopped) is counted as skipped.
    pub(super) fn apply_faults(&mut self, now: u64) -> Result<(), Stop> {
        while let Some(what) = self.scripted.schedule.pop_due(now) {
            let takes_effect = match &what {
                Scheduled::Crash { node, fault, draw } => {
                    let up = !self.stopped[*node] && !self.scripted.is_down(*node);
                    if !up && self.scripted.is_down(*node) {
                        // Already down: this crash now keeps it down, so an
                        // earlier crash's timed restart does not revive it.
                        self.scripted.set_down(*node, Some((*fault, *draw)));
                    }
                    up
                }
                Scheduled::Restart { node, ends_crash, .. } => {
                    !self.stopped[*node]
                        && self.scripted.is_down(*node)
                        && ends_crash.is_none_or(|crash| self.scripted.down_by(*node) == Some(crash))
                }
                Scheduled::Heal { nodes, .. } => self.scripted.is_cut(nodes),
                _ => true,
            };
            if !takes_effect {
                self.scripted.skipped += 1;
                continue;
            }
            let ids = &self.ids;
            let target = match &what {
                Scheduled::Crash { node, .. }
                | Scheduled::Restart { node, .. }
                | Scheduled::StallStart { node, .. }
                | Scheduled::StallEnd { node, .. } => ids[*node].to_string(),
                Scheduled::Cut { nodes, .. } | Scheduled::Heal { nodes, .. } => {
                    nodes.iter().map(|&n| ids[n]).collect::<Vec<_>>().join(",")
                }
                Scheduled::DegradeStart { src, dst, .. } | Scheduled::DegradeEnd { src, dst, .. } => {
                    format!("{}->{}", ids[*src], ids[*dst])
                }
            };
            self.trace.scripted_fault(now, what.kind(), &target);
            self.scripted.applied(now, &what, target);
            match what {
                Scheduled::Crash { node, fault, draw } => {
                    // What a stall held for it is lost with it: no step received it.
                    let held = self.scripted.take_held(node);
                    self.drop_held(now, node, held);
                    // So is what waited for its compute, and what it computed does not leave.
                    let held = self.compute.abandon(node);
                    self.drop_held(now, node, held);
                    self.scripted.set_down(node, Some((fault, draw)));
                    // Its wake-ups die with it.
                    self.generation[node] += 1;
                    if let Some((group, index)) = self.placement.slot[node] {
                        self.placement.groups[group].crash(index, now);
                        self.trace_logs([group]);
                    }
                }
                Scheduled::Restart { node, .. } => self.restart(node, now)?,
                Scheduled::Cut { nodes, .. } => self.scripted.cut(nodes),
                Scheduled::Heal { nodes, .. } => {
                    self.scripted.heal(&nodes);
                }
                Scheduled::DegradeStart { src, dst, link, fault } => {
                    self.network.degrade(src, dst, self.ids[src], self.ids[dst], fault, link);
                }
                Scheduled::DegradeEnd { src, dst, .. } => self.network.restore(src, dst),
                Scheduled::StallStart { node, delay_us, .. } => self.scripted.stall(node, Some(delay_us)),
                Scheduled::StallEnd { node, .. } => self.scripted.stall(node, None),
            }
        }
        Ok(())
    }

    /// Makes crashed `node` afresh and steps it at `now`, as every node is
    /// stepped at t = 0; a node that cannot be made again faults.
    pub(super) fn restart(&mut self, node: usize, now: u64) -> Result<(), Stop> {
        self.scripted.set_down(node, None);
        let restarts = self.scripted.count_restart(node);
        self.generation[node] += 1;
        let scenario = self.scenario;
        let Some((group, index)) = self.placement.slot[node] else { return Ok(()) };
        let made = self.placement.groups[group].restart(index, now, &scenario.nodes[node].config, restarts);
        self.trace_logs([group]);
        match made {
            // A start cut short by the user's stop.
            Ok(()) if self.interrupted() => Err(Stop::Interrupted),
            Ok(()) => {
                let generation = self.generation[node];
                self.queue.push(now, EventKind::Wake { node, generation }).map_err(|why| self.queue_full(node, why))
            }
            Err(fault) => self.fault(node, fault),
        }
    }

    /// Takes the steps a stall delays out of this round: each is held until
    /// its release (a release event is scheduled then), after any step of
    /// the node held before it. Nodes in `released` step now with what
    /// their held steps bring, up to the node's inbox bound (the rest is
    /// handed over in the next round at this instant; true when that
    /// happens); what they are handed counts as delivered now.
    pub(super) fn hold_stalled(
        &mut self,
        now: u64,
        due: &mut Vec<(usize, Vec<Message>)>,
        released: Vec<(usize, Vec<(usize, u64)>)>,
    ) -> Result<bool, Stop> {
        let mut split = false;
        let mut kept = Vec::with_capacity(due.len());
        let mut released: BTreeMap<usize, Vec<(usize, u64)>> = released.into_iter().collect();
        for (node, mut inbox) in std::mem::take(due) {
            if let Some(mut senders) = released.remove(&node) {
                debug_assert_eq!(inbox.len(), senders.len(), "a released node's inbox is what it held");
                let bound = self.scenario.nodes[node].implementation.max_inbox_bytes();
                if let Some(cut) = inbox_cut(&inbox, bound) {
                    // Older than anything still held: it goes first.
                    let rest = inbox.split_off(cut).into_iter().zip(senders.split_off(cut));
                    let rest = rest.map(|(message, (src, id))| HeldMessage { src, id, message }).collect();
                    self.scripted.hold_first(node, now, rest);
                    self.queue.push(now, EventKind::Release { node }).map_err(|why| self.queue_full(node, why))?;
                    split = true;
                }
                for (message, (src, id)) in inbox.iter().zip(senders) {
                    self.delivered(now, src, node, id, message);
                }
                kept.push((node, inbox));
                continue;
            }
            match self.held_until(node, now, &[]) {
                Some(release) => {
                    // Only wake-ups are left here: messages were held as they arrived.
                    debug_assert!(inbox.is_empty(), "a held node's messages are held on arrival");
                    if self.scripted.hold(node, release, Vec::new()) {
                        self.queue
                            .push(release, EventKind::Release { node })
                            .map_err(|why| self.queue_full(node, why))?;
                    }
                }
                None => kept.push((node, inbox)),
            }
        }
        *due = kept;
        Ok(split)
    }

    /// When a stall lets a step of `node` due at `now` happen, if not now:
    /// later while it is stalled, and never before a step held earlier,
    /// nor in a round before the steps `released` now (messages keep
    /// their order).
    pub(super) fn held_until(&self, node: usize, now: u64, released: &[(usize, Vec<(usize, u64)>)]) -> Option<u64> {
        self.scripted
            .hold_until(node, now)
            .or_else(|| (self.scripted.holds(node) || released.iter().any(|(n, _)| *n == node)).then_some(now))
    }

    /// Records a fault; the node is stopped, and the run too if its policy says so.
    pub(super) fn fault(&mut self, node: usize, fault: NodeFault) -> Result<(), Stop> {
        let kind = fault.kind.name();
        let message = fault.to_string();
        self.trace.fault(fault.time_us, &fault.node, kind, &message);
        self.series.fault(fault.time_us);
        self.faults.push(FaultRecord {
            node: fault.node.clone(),
            time_us: fault.time_us,
            kind: kind.to_string(),
            message,
        });
        self.stopped[node] = true;
        self.generation[node] += 1;
        if self.scripted.present {
            // What a stall held for it goes with it: no step received it.
            let held = self.scripted.take_held(node);
            self.drop_held(fault.time_us, node, held);
        }
        if self.compute.present {
            let held = self.compute.abandon(node);
            self.drop_held(fault.time_us, node, held);
        }
        // A replay that left its recording has nothing more to answer with.
        if fault.kind == crate::runtime::FaultKind::ReplayDiverged {
            return Err(Stop::Error(EngineError::Fault(fault)));
        }
        match self.scenario.nodes[node].on_fault {
            FaultPolicy::Abort => Err(Stop::Error(EngineError::Fault(fault))),
            FaultPolicy::Isolate => Ok(()),
        }
    }
}
