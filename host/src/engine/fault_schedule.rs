//! [`FaultSchedule`]: a run's scripted faults as the instants the engine
//! applies, in one fixed order: by time; at one instant, the ends of
//! intervals (a restart after `until_s` or `down_s`, a heal, a degrade's or
//! stall's end) before the starts, so an interval that begins where
//! another ends is not cut short by that end; then by the fault's place
//! in the file, then (for `random`) by draw. Validation
//! (`scenario/validate/faults.rs`) checks crashes and restarts, partitions and
//! heals in this order too. Random crashes are drawn here from the run's seed (so `--seed`
//! moves them): draw k of `faults[i]` takes two numbers of the stream
//! `derive_seed(seed, "faults[i]", Stream::Fault)`, the first picking the
//! node (among the nodes of the type, in file order), the second the time
//! (in `between_s`, both ends included).

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use crate::scenario::{FaultAction, LinkOverride, ScriptedFault, ScriptedFaultKind};
use crate::seed::{Stream, derive_seed};

/// What happens at one scheduled instant. `fault` is the entry's index
/// under `faults:`.
#[derive(Debug, Clone, PartialEq)]
pub enum Scheduled {
    Crash {
        node: usize,
        fault: usize,
        /// Which draw of a `random` entry (0 otherwise).
        draw: u64,
    },
    Restart {
        node: usize,
        fault: usize,
        /// The crash this restart ends (`until_s`, `down_s`): it revives
        /// the node only if that crash is what keeps it down. `None` for a
        /// `restart:` entry, which revives it whatever took it down.
        ends_crash: Option<(usize, u64)>,
    },
    /// `nodes` (sorted) are cut off from the rest.
    Cut {
        nodes: Vec<usize>,
        fault: usize,
    },
    Heal {
        nodes: Vec<usize>,
        fault: usize,
    },
    DegradeStart {
        src: usize,
        dst: usize,
        link: LinkOverride,
        fault: usize,
    },
    DegradeEnd {
        src: usize,
        dst: usize,
        fault: usize,
    },
    StallStart {
        node: usize,
        delay_us: u64,
        fault: usize,
    },
    StallEnd {
        node: usize,
        fault: usize,
    },
}

impl Scheduled {
    /// The trace's name for it.
    pub fn kind(&self) -> &'static str {
        match self {
            Scheduled::Crash { .. } => ScriptedFaultKind::Crash.name(),
            Scheduled::Restart { .. } => ScriptedFaultKind::Restart.name(),
            Scheduled::Cut { .. } => ScriptedFaultKind::Partition.name(),
            Scheduled::Heal { .. } => ScriptedFaultKind::Heal.name(),
            Scheduled::DegradeStart { .. } => ScriptedFaultKind::Degrade.name(),
            Scheduled::DegradeEnd { .. } => "degrade_end",
            Scheduled::StallStart { .. } => ScriptedFaultKind::Stall.name(),
            Scheduled::StallEnd { .. } => "stall_end",
        }
    }

    /// Whether it ends a fault (after which a sink's recovery is timed).
    pub fn ends_a_fault(&self) -> bool {
        matches!(
            self,
            Scheduled::Restart { .. }
                | Scheduled::Heal { .. }
                | Scheduled::DegradeEnd { .. }
                | Scheduled::StallEnd { .. }
        )
    }
}

/// A scripted fault that names what a scenario built in code does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("faults[{fault}] names node '{node}', which is not in the scenario")]
    UnknownNode { fault: usize, node: String },
    #[error("faults[{fault}] crashes nodes of type '{node_type}', and no node has that type")]
    NoNodeOfType { fault: usize, node_type: String },
}

/// Every scheduled instant of a run, in the order they apply.
#[derive(Debug, Default)]
pub struct FaultSchedule {
    events: Vec<(u64, Scheduled)>,
    next: usize,
}

impl FaultSchedule {
    /// The schedule of `faults` in a run seeded `seed` that ends at
    /// `duration_us`; `index_of` finds a node by id, `of_type` lists the
    /// nodes of a type (in file order). Instants after the end are left out.
    pub fn new(
        faults: &[ScriptedFault],
        seed: u64,
        duration_us: u64,
        index_of: impl Fn(&str) -> Option<usize>,
        of_type: impl Fn(&str) -> Vec<usize>,
    ) -> Result<Self, ScheduleError> {
        // (time, start?, fault, draw) orders them: ends first at an instant; see the module docs.
        let mut keyed: Vec<((u64, bool, usize, u64), Scheduled)> = Vec::new();
        for (fault, f) in faults.iter().enumerate() {
            let node =
                |id: &str| index_of(id).ok_or_else(|| ScheduleError::UnknownNode { fault, node: id.to_string() });
            let nodes = |ids: &[String]| -> Result<Vec<usize>, ScheduleError> {
                let mut nodes = ids.iter().map(|id| node(id)).collect::<Result<Vec<_>, _>>()?;
                nodes.sort_unstable();
                nodes.dedup();
                Ok(nodes)
            };
            let (at, until) = (f.at_us, f.until_us);
            let mut add =
                |time: u64, draw: u64, end: bool, what: Scheduled| keyed.push(((time, !end, fault, draw), what));
            match &f.action {
                FaultAction::Crash { node: id } => {
                    let n = node(id)?;
                    add(at, 0, false, Scheduled::Crash { node: n, fault, draw: 0 });
                    if let Some(u) = until {
                        add(u, 0, true, Scheduled::Restart { node: n, fault, ends_crash: Some((fault, 0)) });
                    }
                }
                FaultAction::Restart { node: id } => {
                    add(at, 0, false, Scheduled::Restart { node: node(id)?, fault, ends_crash: None })
                }
                FaultAction::Partition { nodes: ids } => {
                    let cut = nodes(ids)?;
                    if let Some(u) = until {
                        add(u, 0, true, Scheduled::Heal { nodes: cut.clone(), fault });
                    }
                    add(at, 0, false, Scheduled::Cut { nodes: cut, fault });
                }
                FaultAction::Heal { nodes: ids } => add(at, 0, false, Scheduled::Heal { nodes: nodes(ids)?, fault }),
                FaultAction::Degrade { src, dst, link } => {
                    let (src, dst) = (node(src)?, node(dst)?);
                    add(at, 0, false, Scheduled::DegradeStart { src, dst, link: *link, fault });
                    if let Some(u) = until {
                        add(u, 0, true, Scheduled::DegradeEnd { src, dst, fault });
                    }
                }
                FaultAction::Stall { node: id, delay_us } => {
                    let n = node(id)?;
                    add(at, 0, false, Scheduled::StallStart { node: n, delay_us: *delay_us, fault });
                    if let Some(u) = until {
                        add(u, 0, true, Scheduled::StallEnd { node: n, fault });
                    }
                }
                FaultAction::RandomCrash { node_type, count, between_us: (from, to), down_us } => {
                    let candidates = of_type(node_type);
                    if candidates.is_empty() {
                        return Err(ScheduleError::NoNodeOfType { fault, node_type: node_type.clone() });
                    }
                    let mut rng = ChaCha20Rng::from_seed(derive_seed(seed, &format!("faults[{fault}]"), Stream::Fault));
                    let span = to.saturating_sub(*from).saturating_add(1);
                    for draw in 0..*count {
                        let n = candidates[(rng.next_u64() % candidates.len() as u64) as usize];
                        let time = from + rng.next_u64() % span;
                        add(time, draw, false, Scheduled::Crash { node: n, fault, draw });
                        if let Some(down) = down_us {
                            let restart = Scheduled::Restart { node: n, fault, ends_crash: Some((fault, draw)) };
                            add(time.saturating_add(*down), draw, true, restart);
                        }
                    }
                }
            }
        }
        keyed.retain(|((time, ..), _)| *time <= duration_us);
        // Stable, and the keys are unique but for a degenerate interval.
        keyed.sort_by_key(|(key, _)| *key);
        Ok(FaultSchedule { events: keyed.into_iter().map(|((time, ..), what)| (time, what)).collect(), next: 0 })
    }

    /// When the next scheduled instant is, if any is left.
    pub fn next_time(&self) -> Option<u64> {
        self.events.get(self.next).map(|(time, _)| *time)
    }

    /// The next scheduled instant, if it is due at or before `now`.
    pub fn pop_due(&mut self, now: u64) -> Option<Scheduled> {
        let (time, _) = self.events.get(self.next)?;
        if *time > now {
            return None;
        }
        self.next += 1;
        Some(self.events[self.next - 1].1.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(at_us: u64, until_us: Option<u64>, action: FaultAction) -> ScriptedFault {
        ScriptedFault { at_us, until_us, action }
    }

    fn schedule(faults: &[ScriptedFault], seed: u64) -> Vec<(u64, Scheduled)> {
        let ids = ["s0", "s1", "s2", "gw"];
        let mut s = FaultSchedule::new(
            faults,
            seed,
            60_000_000,
            |id| ids.iter().position(|i| *i == id),
            |t| if t == "sensor" { vec![0, 1, 2] } else { Vec::new() },
        )
        .unwrap();
        let mut out = Vec::new();
        while let Some(t) = s.next_time() {
            out.push((t, s.pop_due(t).unwrap()));
        }
        out
    }

    #[test]
    fn instants_are_ordered_by_time_then_ends_first_then_file_order() {
        let got = schedule(
            &[
                fault(10, Some(20), FaultAction::Crash { node: "gw".into() }),
                fault(10, None, FaultAction::Stall { node: "s0".into(), delay_us: 5 }),
                fault(5, Some(10), FaultAction::Partition { nodes: vec!["s1".into(), "s0".into()] }),
            ],
            1,
        );
        let kinds: Vec<(u64, &str)> = got.iter().map(|(t, s)| (*t, s.kind())).collect();
        // At 10 s the partition's end (file entry 2) comes before the starts of entries 0 and 1.
        assert_eq!(kinds, vec![(5, "partition"), (10, "heal"), (10, "crash"), (10, "stall"), (20, "restart")]);
        assert_eq!(got[0].1, Scheduled::Cut { nodes: vec![0, 1], fault: 2 });
    }

    #[test]
    fn random_crashes_follow_the_seed() {
        let random = fault(
            0,
            None,
            FaultAction::RandomCrash {
                node_type: "sensor".into(),
                count: 5,
                between_us: (1_000_000, 2_000_000),
                down_us: Some(500),
            },
        );
        let a = schedule(std::slice::from_ref(&random), 7);
        assert_eq!(a, schedule(std::slice::from_ref(&random), 7));
        assert_ne!(a, schedule(std::slice::from_ref(&random), 8));
        assert_eq!(a.len(), 10);
        for (t, s) in &a {
            match s {
                Scheduled::Crash { node, .. } => assert!(*node < 3 && (1_000_000..=2_000_000).contains(t)),
                Scheduled::Restart { node, .. } => assert!(*node < 3 && (1_000_500..=2_000_500).contains(t)),
                other => panic!("{other:?}"),
            }
        }
    }
}
