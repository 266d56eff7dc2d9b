//! `faults:`: scripted faults (crash, restart, partition, heal, degrade,
//! stall, and random crashes for sweeps), each at a virtual time or over
//! an interval. One entry names exactly one kind (its key: `crash:
//! gateway`) and the keys that kind takes; the checks here report every
//! problem with its line, and `resolve.rs` turns a checked entry into a
//! [`ScriptedFault`](crate::scenario::ScriptedFault).

use std::collections::{BTreeMap, BTreeSet};

use super::Checker;
use crate::scenario::duration::{self, whole_us};
use crate::scenario::manifest::{FaultEntry, Scenario};
use crate::scenario::resolved::{DEFAULT_DURATION_S, NodeKind};
use crate::scenario::scripted_fault::ScriptedFaultKind::{self, *};
use crate::scenario::suggest;

/// What `random:` may ask for.
pub const RANDOM_KINDS: &[ScriptedFaultKind] = &[Crash];
/// Most crashes the `random` entries of a file may draw (each and all
/// together): bounds the schedule's memory.
pub const MAX_RANDOM_COUNT: u64 = 1_000_000;

/// The kind keys present in `entry`, in [`ScriptedFaultKind::ALL`] order.
fn kinds(entry: &FaultEntry) -> Vec<ScriptedFaultKind> {
    let present = [
        entry.crash.is_some(),
        entry.restart.is_some(),
        entry.partition.is_some(),
        entry.heal.is_some(),
        entry.degrade.is_some(),
        entry.stall.is_some(),
        entry.random.is_some(),
    ];
    ScriptedFaultKind::ALL.into_iter().zip(present).filter(|(_, p)| *p).map(|(k, _)| k).collect()
}

/// Every other key present in `entry`, with the kinds that take it.
fn options(entry: &FaultEntry) -> Vec<(&'static str, &'static [ScriptedFaultKind])> {
    let keys: [(&str, bool, &[ScriptedFaultKind]); 11] = [
        ("at_s", entry.at_s.is_some(), &[Crash, Restart, Partition, Heal, Degrade, Stall]),
        ("until_s", entry.until_s.is_some(), &[Crash, Partition, Degrade, Stall]),
        ("latency_us", entry.latency_us.is_some(), &[Degrade]),
        ("jitter_us", entry.jitter_us.is_some(), &[Degrade]),
        ("loss_rate", entry.loss_rate.is_some(), &[Degrade]),
        ("bandwidth_bps", entry.bandwidth_bps.is_some(), &[Degrade]),
        ("delay_us", entry.delay_us.is_some(), &[Stall]),
        ("type", entry.node_type.is_some(), &[Random]),
        ("count", entry.count.is_some(), &[Random]),
        ("between_s", entry.between_s.is_some(), &[Random]),
        ("down_s", entry.down_s.is_some(), &[Random]),
    ];
    keys.into_iter().filter(|(_, present, _)| *present).map(|(k, _, kinds)| (k, kinds)).collect()
}

/// The run's length as the file says (its default when it says nothing).
fn file_duration_us(scenario: &Scenario) -> Option<u64> {
    let seconds = scenario.simulation.as_ref().and_then(|s| s.duration_s).unwrap_or(DEFAULT_DURATION_S);
    duration::duration_us(seconds).ok()
}

impl Checker<'_> {
    /// Checks `faults:`: one kind per entry, the keys it takes, times
    /// inside the run, nodes and links that exist, and that each restart
    /// and heal follows its crash or partition.
    pub(super) fn faults(&mut self, scenario: &Scenario) {
        let duration_us = file_duration_us(scenario);
        let ids: Vec<&str> = scenario.nodes.iter().map(|n| n.id.as_str()).collect();
        let id_set: BTreeSet<&str> = ids.iter().copied().collect();
        // Crashes, restarts, partitions and heals, to check pairs in the engine's order.
        let mut timeline: Vec<TimedFault<'_>> = Vec::new();
        // Degrades by link and stalls by node, as intervals, to refuse overlaps.
        let mut intervals: Vec<(String, u64, u64, usize)> = Vec::new();
        let end_us = duration_us.unwrap_or(u64::MAX);
        for (i, entry) in scenario.faults.iter().enumerate() {
            let path = format!("faults[{i}]");
            let kinds = kinds(entry);
            let kind = match kinds.as_slice() {
                [] => {
                    self.error(
                        &path,
                        None,
                        "a fault names no kind",
                        format!(
                            "start it with one of {}, e.g. `- {{crash: gateway, at_s: 10}}`",
                            ScriptedFaultKind::names(&ScriptedFaultKind::ALL).join(", ")
                        ),
                    );
                    continue;
                }
                [kind] => *kind,
                [first, second, ..] => {
                    self.key_error(
                        &format!("{path}.{second}"),
                        None,
                        format!("one fault entry has two kinds, '{first}' and '{second}'"),
                        "write each fault as its own entry under `faults:`",
                    );
                    continue;
                }
            };
            for (key, takes) in options(entry) {
                if !takes.contains(&kind) {
                    self.key_error(
                        &format!("{path}.{key}"),
                        None,
                        format!("`{key}` does not apply to a `{kind}` fault"),
                        format!("`{key}` is for {}; remove it here", ScriptedFaultKind::names(takes).join(", ")),
                    );
                }
            }
            let at = self.fault_time(&format!("{path}.at_s"), entry.at_s, duration_us, kind != Random);
            let until = self.fault_time(&format!("{path}.until_s"), entry.until_s, duration_us, false);
            if let (Some(a), Some(u)) = (at, until)
                && u <= a
            {
                self.error(
                    &format!("{path}.until_s"),
                    None,
                    format!("until_s ({}) must be after at_s ({})", u as f64 / 1e6, a as f64 / 1e6),
                    "the fault ends after it starts; omit until_s to keep it to the end of the run",
                );
            }
            let mut node = |checker: &mut Self, key: String, id: &str| -> bool {
                if id_set.contains(id) {
                    return true;
                }
                checker.error(
                    &key,
                    Some(id),
                    format!("fault names node '{id}', which is not in this scenario"),
                    suggest::closest(id, &ids).map_or_else(
                        || "faults name nodes by their `id`".to_string(),
                        |c| format!("did you mean '{c}'?"),
                    ),
                );
                false
            };
            if let Some(a) = at {
                let target = match (&entry.degrade, &entry.stall) {
                    (Some(link), _) if kind == Degrade => Some(format!("degrade of {} -> {}", link.src, link.dst)),
                    (_, Some(node)) if kind == Stall => Some(format!("stall of {node}")),
                    _ => None,
                };
                if let Some(target) = target {
                    intervals.push((target, a, until.filter(|&u| u > a).unwrap_or(end_us), i));
                }
            }
            match kind {
                Crash | Restart | Stall => {
                    let id = entry.crash.as_deref().or(entry.restart.as_deref()).or(entry.stall.as_deref());
                    let id = id.expect("the kind's key is present");
                    if node(self, format!("{path}.{kind}"), id)
                        && kind != Stall
                        && let Some(a) = at
                    {
                        timeline.push(TimedFault { time_us: a, ends: false, fault: i, kind, nodes: vec![id] });
                        if let (true, Some(u)) = (kind == Crash, until.filter(|&u| u > a)) {
                            timeline.push(TimedFault {
                                time_us: u,
                                ends: true,
                                fault: i,
                                kind: Restart,
                                nodes: vec![id],
                            });
                        }
                    }
                    if kind == Stall {
                        match entry.delay_us {
                            None => self.key_error(
                                &format!("{path}.stall"),
                                Some(id),
                                "a stall needs `delay_us`",
                                "add how long each step is delayed, e.g. `delay_us: 200000`",
                            ),
                            Some(0) => self.error(
                                &format!("{path}.delay_us"),
                                Some(id),
                                "delay_us must be greater than 0",
                                "give the delay of each step in microseconds",
                            ),
                            Some(_) => {}
                        }
                    }
                }
                Partition | Heal => {
                    let list = entry.partition.as_ref().or(entry.heal.as_ref()).expect("the kind's key is present");
                    if list.is_empty() {
                        self.error(
                            &format!("{path}.{kind}"),
                            None,
                            format!("`{kind}` lists no nodes"),
                            "list the nodes cut off from the rest, e.g. `[sensor1, sensor2]`",
                        );
                    }
                    let mut seen = BTreeSet::new();
                    let mut all_known = true;
                    for (k, id) in list.iter().enumerate() {
                        all_known &= node(self, format!("{path}.{kind}[{k}]"), id);
                        if !seen.insert(id.as_str()) {
                            self.error(
                                &format!("{path}.{kind}[{k}]"),
                                Some(id),
                                format!("node '{id}' is listed twice"),
                                "list each node once",
                            );
                        }
                    }
                    if all_known
                        && !list.is_empty()
                        && let Some(a) = at
                    {
                        let nodes: Vec<&str> = seen.iter().copied().collect();
                        timeline.push(TimedFault { time_us: a, ends: false, fault: i, kind, nodes: nodes.clone() });
                        if let (true, Some(u)) = (kind == Partition, until.filter(|&u| u > a)) {
                            timeline.push(TimedFault { time_us: u, ends: true, fault: i, kind: Heal, nodes });
                        }
                    }
                }
                Degrade => self.degrade(&path, entry, &mut node),
                Random => self.random(&path, entry, scenario, duration_us),
            }
        }
        let drawn: u64 = scenario.faults.iter().filter_map(|f| f.random.as_ref().and(f.count)).sum();
        if drawn > MAX_RANDOM_COUNT
            && let Some(last) = scenario.faults.iter().rposition(|f| f.random.is_some())
        {
            self.error(
                &format!("faults[{last}].count"),
                None,
                format!("random faults draw {drawn} crashes in all; at most {MAX_RANDOM_COUNT}"),
                "draw fewer crashes, or sweep with several runs and seeds",
            );
        }
        self.fault_pairs(timeline);
        intervals.sort();
        for pair in intervals.windows(2) {
            let ((target, _, until, first), (next, at, _, i)) = (&pair[0], &pair[1]);
            if target == next && at < until {
                self.error(
                    &format!("faults[{i}].at_s"),
                    None,
                    format!("this {target} starts while faults[{first}]'s is in force"),
                    "one at a time: end the first (until_s) before this one starts, or merge them",
                );
            }
        }
    }

    /// A fault time in seconds: present when `required`, within the run.
    fn fault_time(
        &mut self,
        path: &str,
        seconds: Option<f64>,
        duration_us: Option<u64>,
        required: bool,
    ) -> Option<u64> {
        let Some(s) = seconds else {
            if required {
                let entry = path.rsplit_once('.').map_or(path, |(p, _)| p);
                self.error(entry, None, "a fault needs `at_s`", "add when it happens, in seconds, e.g. `at_s: 10`");
            }
            return None;
        };
        let key = path.rsplit('.').next().unwrap_or(path);
        let end = duration_us.map_or(f64::INFINITY, |d| d as f64 / 1e6);
        if !(s.is_finite() && s >= 0.0 && s <= end) {
            self.error(
                path,
                None,
                format!("{key} is {s}; a fault must fall inside the run, 0 to {end} s"),
                "give a time in seconds from the start, at most `simulation.duration_s`",
            );
            return None;
        }
        Some(whole_us(s))
    }

    fn degrade(&mut self, path: &str, entry: &FaultEntry, node: &mut impl FnMut(&mut Self, String, &str) -> bool) {
        let link = entry.degrade.as_ref().expect("the kind's key is present");
        let src_ok = node(self, format!("{path}.degrade.src"), &link.src);
        let dst_ok = node(self, format!("{path}.degrade.dst"), &link.dst);
        if src_ok && dst_ok && link.src == link.dst {
            self.error(
                &format!("{path}.degrade.dst"),
                None,
                format!("a link from '{}' to itself", link.src),
                "a node's messages to itself are delivered at once; name a link between two nodes",
            );
        }
        if entry.latency_us.is_none()
            && entry.jitter_us.is_none()
            && entry.loss_rate.is_none()
            && entry.bandwidth_bps.is_none()
        {
            self.key_error(
                &format!("{path}.degrade"),
                None,
                "a degrade changes nothing",
                "give at least one of latency_us, jitter_us, loss_rate, bandwidth_bps",
            );
        }
        for (key, value) in [("latency_us", entry.latency_us), ("jitter_us", entry.jitter_us)] {
            if let Some(v) = value
                && v < 0
            {
                self.error(
                    &format!("{path}.{key}"),
                    None,
                    format!("{key} must be >= 0; found {v}"),
                    "use microseconds",
                );
            }
        }
        if let Some(rate) = entry.loss_rate
            && !(0.0..=1.0).contains(&rate)
        {
            self.error(
                &format!("{path}.loss_rate"),
                None,
                format!("loss_rate must be between 0 and 1; found {rate}"),
                "a fraction: 0.5 loses half the messages",
            );
        }
        if let Some(b) = entry.bandwidth_bps
            && b <= 0
        {
            self.error(
                &format!("{path}.bandwidth_bps"),
                None,
                format!("bandwidth_bps must be greater than 0; found {b}"),
                "bits per second, e.g. 9600",
            );
        }
    }

    fn random(&mut self, path: &str, entry: &FaultEntry, scenario: &Scenario, duration_us: Option<u64>) {
        let what = entry.random.as_deref().expect("the kind's key is present");
        let random_kinds = ScriptedFaultKind::names(RANDOM_KINDS);
        if !random_kinds.contains(&what) {
            self.error(
                &format!("{path}.random"),
                None,
                format!("random faults may be {}; found '{what}'", random_kinds.join(", ")),
                suggest::did_you_mean(what, &random_kinds),
            );
        }
        match &entry.node_type {
            None => self.key_error(
                &format!("{path}.random"),
                None,
                "random crashes need `type`",
                "say which nodes may crash, e.g. `type: sensor`",
            ),
            Some(t) => {
                let types: BTreeSet<&str> =
                    scenario.nodes.iter().map(|n| NodeKind::current_name(&n.node_type)).collect();
                if !types.contains(NodeKind::current_name(t)) {
                    let types: Vec<&str> = types.into_iter().collect();
                    self.error(
                        &format!("{path}.type"),
                        None,
                        format!("no node has type '{t}'"),
                        suggest::closest(t, &types).map_or_else(
                            || format!("types in this scenario: {}", types.join(", ")),
                            |c| format!("did you mean '{c}'?"),
                        ),
                    );
                }
            }
        }
        match entry.count {
            None => self.key_error(
                &format!("{path}.random"),
                None,
                "random crashes need `count`",
                "say how many crashes to draw, e.g. `count: 3`",
            ),
            Some(c) if c == 0 || c > MAX_RANDOM_COUNT => self.error(
                &format!("{path}.count"),
                None,
                format!("count must be from 1 to {MAX_RANDOM_COUNT}; found {c}"),
                "the number of crashes to draw",
            ),
            Some(_) => {}
        }
        if let Some(between) = &entry.between_s {
            let bpath = format!("{path}.between_s");
            if between.len() != 2 {
                self.error(&bpath, None, "between_s must be two times, [from, until]", "e.g. `between_s: [5, 25]`");
            } else {
                let from = self.fault_time(&format!("{bpath}[0]"), Some(between[0]), duration_us, true);
                let until = self.fault_time(&format!("{bpath}[1]"), Some(between[1]), duration_us, true);
                if let (Some(f), Some(u)) = (from, until)
                    && u < f
                {
                    self.error(&bpath, None, "between_s ends before it starts", "write [from, until], from <= until");
                }
            }
        }
        if let Some(d) = entry.down_s
            && !(d.is_finite() && d > 0.0 && duration::duration_us(d).is_ok())
        {
            self.error(
                &format!("{path}.down_s"),
                None,
                format!("down_s must be greater than 0; found {d}"),
                "how long each crashed node stays down before it restarts; omit it to keep them down",
            );
        }
    }

    /// Each explicit restart follows a crash of its node, each heal a
    /// partition of the same nodes; a node is not crashed twice. Looked at
    /// in the order the engine applies them (`engine/fault_schedule.rs`): by
    /// time; at one instant the ends of intervals before the starts; then
    /// by place in the file. So the verdict does not depend on the order
    /// the file lists them in when the run's would not.
    fn fault_pairs(&mut self, mut timeline: Vec<TimedFault<'_>>) {
        timeline.sort_by_key(|f| (f.time_us, !f.ends, f.fault));
        let mut down: BTreeMap<&str, usize> = BTreeMap::new();
        let mut cut: Vec<Vec<&str>> = Vec::new();
        for TimedFault { time_us, fault: i, kind, nodes, .. } in timeline {
            let path = format!("faults[{i}]");
            let at = time_us as f64 / 1e6;
            match kind {
                Crash => {
                    if let Some(first) = down.insert(nodes[0], i) {
                        self.error(
                            &format!("{path}.crash"),
                            Some(nodes[0]),
                            format!("node '{}' is already down at {at} s (crashed by faults[{first}])", nodes[0]),
                            "restart it first, or remove one of the crashes",
                        );
                    }
                }
                Restart => {
                    if down.remove(nodes[0]).is_none() {
                        self.error(
                            &format!("{path}.restart"),
                            Some(nodes[0]),
                            format!("restart of node '{}' at {at} s, which is not down then", nodes[0]),
                            "a restart follows a `crash` of the same node at an earlier time",
                        );
                    }
                }
                Partition => cut.push(nodes),
                _ => match cut.iter().position(|c| *c == nodes) {
                    Some(k) => {
                        cut.remove(k);
                    }
                    None => self.error(
                        &format!("{path}.heal"),
                        None,
                        format!("heal at {at} s of [{}], which no partition cut off then", nodes.join(", ")),
                        "a heal names the same nodes as an earlier `partition`",
                    ),
                },
            }
        }
    }
}

/// A crash, restart, partition or heal as the engine applies it.
struct TimedFault<'a> {
    time_us: u64,
    /// The end of an interval (`until_s`), not an entry of its own: applied
    /// before the starts at its instant.
    ends: bool,
    /// The entry's index under `faults:`.
    fault: usize,
    kind: ScriptedFaultKind,
    nodes: Vec<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_a_key_of_an_entry_and_found_by_it() {
        for kind in ScriptedFaultKind::ALL {
            let value = match kind {
                Crash | Restart | Stall | Random => "x",
                Partition | Heal => "[x]",
                Degrade => "{src: x, dst: y}",
            };
            let entry: FaultEntry = serde_yaml::from_str(&format!("{kind}: {value}")).unwrap();
            assert_eq!(kinds(&entry), vec![kind]);
        }
    }
}
