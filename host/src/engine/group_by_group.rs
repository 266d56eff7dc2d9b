//! Stepping the groups due at one instant one after another, each group's
//! results applied before the next group steps: an instant then holds one
//! group's outputs at a time, where ten million sensors due at once held
//! every one of theirs (about 600 bytes a node). `step_due` takes this way
//! only when nothing can tell it from stepping every group first: the due
//! groups' nodes come in node order (so group by group is node order), the
//! instant is stepped on one thread, and no log line is heard (a trace at
//! level `all`, or `--log`, would show a group's lines after an earlier
//! group's messages, where they came before). What a step sends is
//! delivered in a later round, never to a group of this one.

use super::{Engine, EngineError, Stop};
use crate::runtime::{Interrupted, NodeFault, StepCall, StepOutput};

impl Engine<'_> {
    /// Whether the run hears log lines as they are taken from the groups.
    pub(super) fn hears_logs(&self) -> bool {
        self.trace.records_logs() || self.log_tap.is_some()
    }

    /// Steps `batches` (by group, in group and node order) and applies each
    /// group's results before the next group steps. The last group is
    /// submitted first, as `step_due` does, so a container group's round
    /// trips overlap the WASM work; it is applied last, in its order.
    pub(super) fn step_group_by_group(&mut self, now: u64, batches: Vec<(usize, Vec<StepCall>)>) -> Result<(), Stop> {
        let mut batches = batches.into_iter();
        let Some((last, last_calls)) = batches.next_back() else { return Ok(()) };
        if self.interrupted() {
            return Err(Stop::Interrupted);
        }
        let last_indexes: Vec<usize> = last_calls.iter().map(|c| c.index).collect();
        self.placement.groups[last].submit(last_calls);
        // The first result that stops the run: every group is still stepped
        // (its usage and logs as when all stepped first), none applied after it.
        let mut stop = None;
        for (group, calls) in batches {
            // A call begun after the user's stop would only be cut short.
            if self.interrupted() {
                return Err(Stop::Interrupted);
            }
            let indexes: Vec<usize> = calls.iter().map(|c| c.index).collect();
            self.placement.groups[group].submit(calls);
            self.apply_group(now, group, indexes, &mut stop)?;
        }
        self.apply_group(now, last, last_indexes, &mut stop)?;
        stop.map_or(Ok(()), Err)
    }

    /// Collects the results of `group`'s calls to `indexes` and applies
    /// them in order, unless an earlier result stopped the run (`stop`).
    fn apply_group(
        &mut self,
        now: u64,
        group: usize,
        indexes: Vec<usize>,
        stop: &mut Option<Stop>,
    ) -> Result<(), Stop> {
        let outputs: Vec<Result<StepOutput, NodeFault>> =
            self.placement.groups[group].collect().map_err(|Interrupted| Stop::Interrupted)?;
        if outputs.len() != indexes.len() {
            // A runtime broke the NodeGroup contract: no result can be matched to its node.
            let nodes = indexes.iter().map(|&i| self.ids[self.placement.members[group][i]]).collect::<Vec<_>>();
            return Err(Stop::Error(EngineError::ResultCount {
                nodes: nodes.join(", "),
                calls: indexes.len(),
                results: outputs.len(),
            }));
        }
        self.trace_logs([group]);
        if stop.is_some() {
            return Ok(());
        }
        for (index, result) in indexes.into_iter().zip(outputs) {
            let node = self.placement.members[group][index];
            self.steps += 1;
            self.series.step(now, node);
            let applied = match result {
                Ok(output) if self.compute.has_speed(node) => {
                    let fuel = self.placement.groups[group].last_step_fuel(index).unwrap_or(0);
                    match self.compute.cost_us(node, fuel) {
                        0 => self.apply(node, now, output),
                        cost_us => self.apply_computed(node, now, cost_us, output),
                    }
                }
                Ok(output) => self.apply(node, now, output),
                Err(fault) => self.fault(node, fault),
            };
            if let Err(why) = applied {
                *stop = Some(why);
                return Ok(());
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
    fn groups_applied_one_at_a_time_give_what_stepping_them_all_first_gives() {
        // Under `messages` the due groups are applied one at a time when their
        // nodes come in node order; under `all` (log lines heard), or with
        // groups of interleaved nodes, all are stepped first.
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
