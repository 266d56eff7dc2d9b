//! Stepping the groups due at one instant a wave at a time: consecutive
//! groups of about [`WAVE_CALLS`] calls are stepped (on threads, as every
//! group is otherwise), then their results applied, before the next wave
//! steps. An instant then holds one wave's outputs, where ten million
//! sensors due at once held every one of theirs (about 600 bytes a node).
//! `step_due` takes this way only when nothing can tell it from stepping
//! every group first: the due groups' nodes come in node order (so wave by
//! wave is node order), and no log line is heard as it is taken (a trace
//! at level `all`, or `--log`, would show a wave's lines after an earlier
//! wave's messages, where they came before). What a step sends is
//! delivered in a later round, never to a group of this one, and a group's
//! calls were made before any wave stepped. The waves are cut by call
//! counts alone, never by the thread count, and every group's results are
//! collected and its log lines taken in group order as when all step
//! first, so what a recording spends its budget on comes in the same order.

use super::{Engine, Stop};
use crate::runtime::{NodeFault, StepCall, StepOutput};

/// About how many calls a wave holds (a group is never split): 4,096
/// results of a few hundred bytes each, and for packs of 1,000 sensors four
/// groups a wave to share between threads. Tests use waves of two calls,
/// so that every engine test of several due nodes goes through them.
pub(super) const WAVE_CALLS: usize = if cfg!(test) { 2 } else { 4_096 };

impl Engine<'_> {
    /// Whether the run hears log lines as they are taken from the groups.
    pub(super) fn hears_logs(&self) -> bool {
        self.trace.records_logs() || self.log_tap.is_some()
    }

    /// Steps `batches` (by group, in group and node order) a wave at a
    /// time, each wave's results applied before the next wave steps.
    pub(super) fn step_in_waves(&mut self, now: u64, batches: Vec<(usize, Vec<StepCall>)>) -> Result<(), Stop> {
        let groups: Vec<usize> = batches.iter().map(|(group, _)| *group).collect();
        // The first result that stops the run: every group is still stepped
        // (its usage and logs as when all stepped first), none applied after it.
        let mut stop = None;
        let mut batches = batches.into_iter().peekable();
        while batches.peek().is_some() {
            let mut wave = Vec::new();
            let mut calls = 0;
            while let Some(batch) = batches.next_if(|(_, c)| wave.is_empty() || calls + c.len() <= WAVE_CALLS) {
                calls += batch.1.len();
                wave.push(batch);
            }
            let submitted: Vec<(usize, Vec<usize>)> =
                wave.iter().map(|(group, calls)| (*group, calls.iter().map(|c| c.index).collect())).collect();
            self.submit_batches(wave, calls)?;
            for (group, indexes) in submitted {
                let outputs = self.collect_group(group, &indexes)?;
                if stop.is_none() {
                    stop = self.apply_group(now, group, indexes, outputs).err();
                }
            }
        }
        // Once, after every group, as when all step first.
        self.trace_logs(groups);
        stop.map_or(Ok(()), Err)
    }

    /// Applies `group`'s `outputs` (one per index in `indexes`) in order;
    /// the first that stops the run ends it.
    fn apply_group(
        &mut self,
        now: u64,
        group: usize,
        indexes: Vec<usize>,
        outputs: Vec<Result<StepOutput, NodeFault>>,
    ) -> Result<(), Stop> {
        for (index, result) in indexes.into_iter().zip(outputs) {
            let node = self.placement.members[group][index];
            self.steps += 1;
            self.series.step(now, node);
            match result {
                Ok(output) if self.compute.has_speed(node) => {
                    let fuel = self.placement.groups[group].last_step_fuel(index).unwrap_or(0);
                    match self.compute.cost_us(node, fuel) {
                        0 => self.apply(node, now, output)?,
                        cost_us => self.apply_computed(node, now, cost_us, output)?,
                    }
                }
                Ok(output) => self.apply(node, now, output)?,
                Err(fault) => self.fault(node, fault)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::TraceLevel;
    use super::super::tests::{LATENCY, Script, run_at, scenario, send, steps, to};
    use crate::runtime::FaultKind;
    use crate::scenario::FaultPolicy;

    #[test]
    fn waves_give_what_stepping_every_group_first_gives() {
        // Under `messages` the due groups are applied a wave at a time (of
        // two calls, in tests) when their nodes come in node order; under
        // `all` (log lines heard), or with groups of interleaved nodes, all
        // are stepped first.
        let nodes = "  - {id: a, type: sensor}\n  - {id: b, type: sensor}\n  - {id: c, type: sensor}\n  - {id: d, type: sensor}\n  - {id: gw, type: gateway}\n";
        let mut s = scenario(LATENCY, nodes, "");
        s.nodes[1].on_fault = FaultPolicy::Abort;
        // Sends without their payloads, which only level `all` shows.
        let sends = |trace: &str| -> Vec<String> {
            let sends = trace.lines().filter(|l| l.contains(r#""event":"send""#));
            sends.map(|l| l.split(",\"payload\"").next().unwrap_or(l).trim_end_matches('}').to_string()).collect()
        };
        for (fault, groups) in [
            (false, [vec![0, 1], vec![2, 3, 4]]),
            (false, [vec![1, 3], vec![0, 2, 4]]),
            (true, [vec![0, 1], vec![2, 3, 4]]),
        ] {
            let ran = |level| {
                let script: Script = Box::new(move |id, now, _| match (id, now) {
                    ("b", 0) if fault => Err(FaultKind::ModelError),
                    ("gw", _) | (_, 1..) => send(vec![]),
                    _ => send(vec![to("gw", id)]),
                });
                run_at(level, &s, groups.to_vec(), script, false, Arc::new(|_, _| 0))
            };
            let (all, messages) = (ran(TraceLevel::All), ran(TraceLevel::Messages));
            assert_eq!(sends(&all.trace), sends(&messages.trace), "{groups:?}");
            assert_eq!(all.calls, messages.calls, "{groups:?}: every group steps, in the same order");
            assert_eq!(
                (all.outcome.steps, all.outcome.faults.len()),
                (messages.outcome.steps, messages.outcome.faults.len())
            );
            if fault {
                // Stopped at `b`: `c`, `d` and `gw` still stepped, and nothing after `b` applied.
                assert_eq!(steps(&messages.calls), ["0 a []", "0 b []", "0 c []", "0 d []", "0 gw []"]);
                assert_eq!((messages.outcome.steps, messages.outcome.counts.sent), (2, 1));
            } else {
                assert_eq!(steps(&messages.calls).last().unwrap(), &"2000 gw [a:a b:b c:c d:d]", "{groups:?}");
            }
        }
    }
}
