//! [`FaultState`]: what a run's scripted faults have done so far — which
//! nodes are down, which partitions and stalls are in force, the steps a
//! stall holds back — and what the summary reports about them: the
//! messages lost to each kind and, for each sink (a `cloud` node), the
//! longest gap in its deliveries and how long delivery took to resume
//! after each fault ended.
//!
//! A message a stall holds is not delivered yet: it counts as delivered
//! when a step of its node receives it, or as dropped when a crash
//! (`crashed_while_held`) or a node fault (`stopped_while_held`) takes the
//! node first; one still held at the end of the run is in flight.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use rustc_hash::FxHashMap;

use super::fault_schedule::{FaultSchedule, ScheduleError, Scheduled};
use crate::runtime::Message;
use crate::scenario::{NodeKind, ResolvedScenario, ScriptedFault, ScriptedFaultKind};

/// A stalled node's steps, each with the time it is released and its inbox.
type Held = VecDeque<(u64, Vec<HeldMessage>)>;

/// A message a stall holds: not delivered yet, so the engine keeps what it
/// counts the delivery (or the drop) by.
#[derive(Debug)]
pub struct HeldMessage {
    /// The sender's node index.
    pub src: usize,
    /// The message's id in the trace.
    pub id: u64,
    pub message: Message,
}

/// The scripted faults' side of a run.
#[derive(Debug, Default)]
pub struct FaultState {
    pub schedule: FaultSchedule,
    /// Whether the scenario has any scripted fault (the summary reports them then).
    pub present: bool,
    /// By node index; empty when `present` is false.
    /// What keeps each node down: the crash's (fault, draw).
    down: Vec<Option<(usize, u64)>>,
    restarts: BTreeMap<usize, u32>,
    /// Node sets cut off from the rest, each sorted.
    cuts: Vec<Vec<usize>>,
    /// Stalled nodes and their delay.
    stalls: BTreeMap<usize, u64>,
    held: BTreeMap<usize, Held>,
    /// The latest release time scheduled for each node with held steps.
    last_release: BTreeMap<usize, u64>,
    sinks: BTreeMap<usize, SinkWatch>,
    applied: Vec<AppliedFault>,
    more_applied: u64,
    /// The kinds in the scenario, for the lost-message counts.
    kinds: Vec<ScriptedFaultKind>,
    /// Scheduled faults that changed nothing (see [`ScriptedFaultSummary::skipped`]).
    pub skipped: u64,
}

#[derive(Debug, Default)]
struct SinkWatch {
    deliveries: u64,
    last_us: Option<u64>,
    /// (gap, from, until)
    longest: Option<(u64, u64, u64)>,
    /// The first [`MAX_RECOVERIES`] fault ends, in time order, and where
    /// the ones not yet followed by a delivery start: a delivery settles
    /// every pending end at or before it, so each is looked at once.
    recoveries: Vec<PendingRecovery>,
    first_pending: usize,
    /// Fault ends past [`MAX_RECOVERIES`], counted only.
    more_recoveries: u64,
}

/// Most fault ends whose recovery each sink reports (a million random
/// restarts would otherwise be a million entries per sink).
pub const MAX_RECOVERIES: usize = 1_000;

#[derive(Debug)]
struct PendingRecovery {
    after: String,
    ended_us: u64,
    recovered_at_us: Option<u64>,
}

/// A scripted fault as it took effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppliedFault {
    pub time_us: u64,
    pub kind: &'static str,
    pub target: String,
}

/// The summary's `scripted_faults`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScriptedFaultSummary {
    /// Every scripted fault that took effect, in order.
    pub applied: Vec<AppliedFault>,
    /// Fault events past the first [`MAX_RECOVERIES`], counted only.
    #[serde(skip_serializing_if = "is_zero")]
    pub more_applied: u64,
    /// Scheduled faults that changed nothing (a crash of a node already
    /// down, a restart of one that is up), as random crashes may be.
    pub skipped: u64,
    /// Messages dropped because of each kind in the scenario: `crash`
    /// (reasons `node_down`, and `crashed_while_held` for what a stall
    /// held when the node crashed), `partition`, `degrade`.
    pub messages_lost: BTreeMap<String, u64>,
    /// For each sink (`cloud` node), by id.
    pub sinks: BTreeMap<String, SinkSummary>,
}

/// What a sink saw of the faults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SinkSummary {
    pub deliveries: u64,
    /// The longest time without a delivery: between two deliveries, or
    /// from the last one to the end of the run (from the start, when there
    /// was none).
    pub longest_gap_us: u64,
    pub longest_gap_from_us: u64,
    pub longest_gap_until_us: u64,
    /// For each fault that ended (the first [`MAX_RECOVERIES`]): how long
    /// until the sink's next delivery.
    pub recovery: Vec<Recovery>,
    /// Fault ends past those, not timed.
    #[serde(skip_serializing_if = "is_zero")]
    pub more_recoveries: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Delivery resuming after a fault ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recovery {
    /// The fault's end: `restart gateway`, `heal sensor1,sensor2`, …
    pub after: String,
    pub ended_us: u64,
    /// The sink's first delivery at or after the end; `None`: none came.
    pub recovered_at_us: Option<u64>,
    pub recovery_us: Option<u64>,
}

impl FaultState {
    /// The scripted faults of a run of `scenario` (`faults`: its
    /// `faults:` section, or none for a fault-free run), scheduled from the
    /// run's seed and length.
    pub fn for_scenario(
        scenario: &ResolvedScenario,
        faults: &[ScriptedFault],
        seed: u64,
        duration_us: u64,
    ) -> Result<Self, ScheduleError> {
        if faults.is_empty() {
            // No map of a million node ids for a run without faults.
            return Ok(FaultState::default());
        }
        let index_of: FxHashMap<&str, usize> =
            scenario.nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
        let schedule = FaultSchedule::new(
            faults,
            seed,
            duration_us,
            |id| index_of.get(id).copied(),
            |kind| scenario.nodes.iter().enumerate().filter(|(_, n)| n.kind.name() == kind).map(|(i, _)| i).collect(),
        )?;
        let sinks = scenario.nodes.iter().enumerate().filter(|(_, n)| n.kind == NodeKind::Cloud).map(|(i, _)| i);
        let mut kinds: Vec<ScriptedFaultKind> = faults.iter().map(|f| f.action.scripted_kind()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        Ok(FaultState::new(schedule, scenario.nodes.len(), sinks.collect(), kinds))
    }

    /// The state of a run with `schedule` and `nodes` nodes, whose sinks
    /// are `sinks`; `kinds` are the fault kinds the scenario has.
    pub fn new(schedule: FaultSchedule, nodes: usize, sinks: Vec<usize>, kinds: Vec<ScriptedFaultKind>) -> Self {
        let present = !kinds.is_empty();
        FaultState {
            schedule,
            present,
            down: if present { vec![None; nodes] } else { Vec::new() },
            sinks: if present {
                sinks.into_iter().map(|s| (s, SinkWatch::default())).collect()
            } else {
                BTreeMap::new()
            },
            kinds,
            ..FaultState::default()
        }
    }

    pub fn is_down(&self, node: usize) -> bool {
        self.present && self.down[node].is_some()
    }

    /// The crash that keeps `node` down, if it is.
    pub fn down_by(&self, node: usize) -> Option<(usize, u64)> {
        if self.present { self.down[node] } else { None }
    }

    /// Takes the messages a stall holds for `node` (it stopped or
    /// crashed: they are lost), oldest first.
    pub fn take_held(&mut self, node: usize) -> Vec<HeldMessage> {
        self.last_release.remove(&node);
        self.held.remove(&node).map(|steps| steps.into_iter().flat_map(|(_, m)| m).collect()).unwrap_or_default()
    }

    /// Whether `node` has steps held (released or not yet).
    pub fn holds(&self, node: usize) -> bool {
        self.held.contains_key(&node)
    }

    /// Messages held when the run ended: never received, so in flight.
    pub fn held_messages(&self) -> u64 {
        self.held.values().flatten().map(|(_, m)| m.len() as u64).sum()
    }

    /// Marks `node` down by crash `by` (fault, draw), or up with `None`.
    /// What a stall held for it must be taken first ([`take_held`](Self::take_held)).
    pub fn set_down(&mut self, node: usize, by: Option<(usize, u64)>) {
        debug_assert!(by.is_none() || !self.holds(node), "held messages are dropped before a crash");
        self.down[node] = by;
    }

    /// The node's restart count after one more restart.
    pub fn count_restart(&mut self, node: usize) -> u32 {
        let count = self.restarts.entry(node).or_default();
        *count += 1;
        *count
    }

    pub fn cut(&mut self, nodes: Vec<usize>) {
        self.cuts.push(nodes);
    }

    /// Ends the partition of exactly `nodes`; false if none is in force.
    pub fn heal(&mut self, nodes: &[usize]) -> bool {
        match self.cuts.iter().position(|c| c == nodes) {
            Some(k) => {
                self.cuts.remove(k);
                true
            }
            None => false,
        }
    }

    /// Whether a partition of exactly `nodes` is in force.
    pub fn is_cut(&self, nodes: &[usize]) -> bool {
        self.cuts.iter().any(|c| c == nodes)
    }

    /// Whether a partition in force separates `a` and `b`.
    pub fn separated(&self, a: usize, b: usize) -> bool {
        a != b && self.cuts.iter().any(|c| c.binary_search(&a).is_ok() != c.binary_search(&b).is_ok())
    }

    pub fn stall(&mut self, node: usize, delay_us: Option<u64>) {
        match delay_us {
            Some(d) => self.stalls.insert(node, d),
            None => self.stalls.remove(&node),
        };
    }

    /// When a step of `node` due at `now` happens, if a stall moves it: `now`
    /// plus the delay while stalled, and never before a step held earlier
    /// (so a node's steps keep their order). `None`: it happens now.
    pub fn hold_until(&self, node: usize, now: u64) -> Option<u64> {
        let last = self.last_release.get(&node).copied().filter(|&r| r > now);
        match (self.stalls.get(&node), last) {
            (Some(&delay), last) => Some(now.saturating_add(delay).max(last.unwrap_or(0))),
            (None, Some(last)) => Some(last),
            (None, None) => None,
        }
    }

    /// Holds a step of `node` with `inbox` until `release`; true when the
    /// engine must schedule a release event then (none is yet).
    pub fn hold(&mut self, node: usize, release: u64, inbox: Vec<HeldMessage>) -> bool {
        let queue = self.held.entry(node).or_default();
        match queue.back_mut() {
            Some((r, held)) if *r == release => {
                held.extend(inbox);
                false
            }
            _ => {
                queue.push_back((release, inbox));
                self.last_release.insert(node, release);
                true
            }
        }
    }

    /// Holds what waited for busy `node` (`inbox`, older than anything a
    /// stall held since) ahead of everything the stall still holds, with
    /// its first release; at `release` when it holds nothing. True when
    /// the engine must schedule a release event then (none is yet).
    pub fn hold_ahead(&mut self, node: usize, release: u64, inbox: Vec<HeldMessage>) -> bool {
        match self.held.get_mut(&node).and_then(|queue| queue.front_mut()) {
            Some((_, held)) => {
                let later = std::mem::replace(held, inbox);
                held.extend(later);
                false
            }
            None => self.hold(node, release, inbox),
        }
    }

    /// Puts `inbox` back before everything `node` still holds, due at
    /// `now`: the part of a released step its inbox bound left over.
    pub fn hold_first(&mut self, node: usize, now: u64, inbox: Vec<HeldMessage>) {
        self.held.entry(node).or_default().push_front((now, inbox));
        self.last_release.entry(node).or_insert(now);
    }

    /// The messages of `node`'s held steps due by `now`, oldest first, or
    /// `None` when none is (the node crashed meanwhile).
    pub fn release(&mut self, node: usize, now: u64) -> Option<Vec<HeldMessage>> {
        let queue = self.held.get_mut(&node)?;
        let mut inbox = Vec::new();
        let mut any = false;
        while queue.front().is_some_and(|(r, _)| *r <= now) {
            let (_, messages) = queue.pop_front().expect("checked");
            inbox.extend(messages);
            any = true;
        }
        if queue.is_empty() {
            self.held.remove(&node);
            self.last_release.remove(&node);
        }
        any.then_some(inbox)
    }

    /// Records a scripted fault that took effect; one that ends a fault
    /// starts the sinks' recovery clocks.
    pub fn applied(&mut self, time_us: u64, what: &Scheduled, target: String) {
        if what.ends_a_fault() {
            let after = format!("{} {target}", what.kind());
            for watch in self.sinks.values_mut() {
                if watch.recoveries.len() < MAX_RECOVERIES {
                    watch.recoveries.push(PendingRecovery {
                        after: after.clone(),
                        ended_us: time_us,
                        recovered_at_us: None,
                    });
                } else {
                    watch.more_recoveries += 1;
                }
            }
        }
        if self.applied.len() < MAX_RECOVERIES {
            self.applied.push(AppliedFault { time_us, kind: what.kind(), target });
        } else {
            self.more_applied += 1;
        }
    }

    /// Notes a delivery to `node` at `now` (for the sinks' gaps and recoveries).
    pub fn delivered(&mut self, node: usize, now: u64) {
        let Some(watch) = self.sinks.get_mut(&node) else { return };
        watch.deliveries += 1;
        if let Some(last) = watch.last_us {
            let gap = now - last;
            if watch.longest.is_none_or(|(longest, ..)| gap > longest) {
                watch.longest = Some((gap, last, now));
            }
        }
        watch.last_us = Some(now);
        while let Some(r) = watch.recoveries.get_mut(watch.first_pending).filter(|r| r.ended_us <= now) {
            r.recovered_at_us = Some(now);
            watch.first_pending += 1;
        }
    }

    /// The summary's section, for a run that ended at `end_us` with these
    /// drops by reason; `None` for a scenario without scripted faults.
    pub fn summary(
        &self,
        end_us: u64,
        dropped_by_reason: &BTreeMap<String, u64>,
        id: impl Fn(usize) -> String,
    ) -> Option<ScriptedFaultSummary> {
        if !self.present {
            return None;
        }
        let mut messages_lost = BTreeMap::new();
        for kind in &self.kinds {
            // Random crashes are counted as crashes.
            let (key, reasons): (_, &[&str]) = match kind {
                ScriptedFaultKind::Crash | ScriptedFaultKind::Random => {
                    (ScriptedFaultKind::Crash, &["node_down", "crashed_while_held"])
                }
                ScriptedFaultKind::Partition => (ScriptedFaultKind::Partition, &["partition"]),
                ScriptedFaultKind::Degrade => (ScriptedFaultKind::Degrade, &["degrade"]),
                ScriptedFaultKind::Restart | ScriptedFaultKind::Heal | ScriptedFaultKind::Stall => continue,
            };
            let lost = reasons.iter().map(|r| dropped_by_reason.get(*r).copied().unwrap_or(0)).sum();
            messages_lost.insert(key.name().to_string(), lost);
        }
        let sinks = self
            .sinks
            .iter()
            .map(|(&sink, watch)| {
                // The gap to the end of the run counts too: a sink that stops hearing shows it.
                let tail = match watch.last_us {
                    Some(last) => (end_us.saturating_sub(last), last, end_us),
                    None => (end_us, 0, end_us),
                };
                let (gap, from, until) = match watch.longest {
                    Some(longest) if longest.0 >= tail.0 => longest,
                    _ => tail,
                };
                let recovery = watch
                    .recoveries
                    .iter()
                    .map(|r| Recovery {
                        after: r.after.clone(),
                        ended_us: r.ended_us,
                        recovered_at_us: r.recovered_at_us,
                        recovery_us: r.recovered_at_us.map(|t| t - r.ended_us),
                    })
                    .collect();
                let summary = SinkSummary {
                    deliveries: watch.deliveries,
                    longest_gap_us: gap,
                    longest_gap_from_us: from,
                    longest_gap_until_us: until,
                    recovery,
                    more_recoveries: watch.more_recoveries,
                };
                (id(sink), summary)
            })
            .collect();
        Some(ScriptedFaultSummary {
            applied: self.applied.clone(),
            more_applied: self.more_applied,
            skipped: self.skipped,
            messages_lost,
            sinks,
        })
    }
}
