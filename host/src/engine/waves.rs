//! Stepping the groups due at one instant a wave at a time: consecutive
//! groups of about [`WAVE_CALLS`] calls are stepped (on threads, as every
//! group is otherwise), and their results applied while the next wave
//! steps (on one thread: before it steps). An instant then holds two
//! waves' outputs at most, where ten million sensors due at once held
//! every one of theirs (about 600 bytes a node).
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

use super::step::{Stepped, indexes_by_group, parts_of};
use super::{Engine, Stop};
use crate::runtime::StepCall;

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
    /// time. On threads, a wave's results are applied while the next wave
    /// steps (the engine's serial work beside the guests', not between
    /// them); else each wave's are applied before the next steps.
    pub(super) fn step_in_waves(&mut self, now: u64, batches: Vec<(usize, Vec<StepCall>)>) -> Result<(), Stop> {
        let groups: Vec<usize> = batches.iter().map(|(group, _)| *group).collect();
        // The first result that stops the run: every group is still stepped
        // (its usage and logs as when all stepped first), none applied after it.
        let mut stop = None;
        let mut stepped: Stepped = Vec::new();
        let mut batches = batches.into_iter().peekable();
        while batches.peek().is_some() {
            let mut wave = Vec::new();
            let mut calls = 0;
            while let Some(batch) = batches.next_if(|(_, c)| wave.is_empty() || calls + c.len() <= WAVE_CALLS) {
                calls += batch.1.len();
                wave.push(batch);
            }
            let submitted = indexes_by_group(&wave);
            let previous = std::mem::replace(&mut stepped, Vec::with_capacity(calls));
            self.step_wave_applying(now, wave, calls, previous, &mut stop)?;
            for (group, indexes) in submitted {
                if let Err(why) = self.collect_stepped(group, indexes, &mut stepped) {
                    // What came before it is applied, as group by group.
                    self.apply_stepped(now, stepped, &mut stop);
                    return Err(why);
                }
            }
        }
        self.apply_stepped(now, stepped, &mut stop);
        // Once, after every group, as when all step first.
        self.trace_logs(groups);
        stop.map_or(Ok(()), Err)
    }

    /// Steps `wave` (`calls` calls) and applies `previous`, the last
    /// wave's results: side by side on threads, the wave's parts on the
    /// pool and the results on this thread; else one after the other. What
    /// a step sends is delivered in a later round, never to a group of this
    /// instant, so applying `previous` changes nothing `wave` steps with.
    fn step_wave_applying(
        &mut self,
        now: u64,
        wave: Vec<(usize, Vec<StepCall>)>,
        calls: usize,
        previous: Stepped,
        stop: &mut Option<Stop>,
    ) -> Result<(), Stop> {
        let pool = (self.on_threads(calls) && !previous.is_empty()).then(|| self.pool()).flatten();
        let Some(pool) = pool else {
            self.apply_stepped(now, previous, stop);
            return self.submit_batches(wave, calls);
        };
        // A call begun after the user's stop would only be cut short; what
        // was stepped before it is applied, as on one thread.
        if self.interrupted() {
            self.apply_stepped(now, previous, stop);
            return Err(Stop::Interrupted);
        }
        // Applying touches no group (each result's compute time was taken
        // as it was collected), so the groups are lent to the wave's parts.
        self.with_groups_lent(|engine, groups| {
            let parts = parts_of(groups, wave);
            pool.in_place_scope(|scope| {
                for part in parts {
                    scope.spawn(move |_| part());
                }
                engine.apply_stepped(now, previous, stop);
            });
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::super::TraceLevel;
    use super::super::tests::{LATENCY, On, Script, run_on, scenario, send, steps, to};
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
            let ran = |level, threads| {
                let script: Script = Box::new(move |id, now, _| match (id, now) {
                    ("b", 0) if fault => Err(FaultKind::ModelError),
                    ("gw", _) | (_, 1..) => send(vec![]),
                    _ => send(vec![to("gw", id)]),
                });
                run_on(On { threads, interrupt: None }, level, &s, groups.to_vec(), script, false, Arc::new(|_, _| 0))
            };
            let (all, messages) = (ran(TraceLevel::All, 1), ran(TraceLevel::Messages, 1));
            assert_eq!(sends(&all.trace), sends(&messages.trace), "{groups:?}");
            // On two threads a wave's results are applied while the next
            // wave steps (the stop at `b` among them): the same bytes.
            let overlapped = ran(TraceLevel::Messages, 2);
            assert_eq!(messages.trace, overlapped.trace, "{groups:?}, fault {fault}");
            assert_eq!(
                (messages.outcome.steps, messages.outcome.counts.sent),
                (overlapped.outcome.steps, overlapped.outcome.counts.sent)
            );
            let mut calls = overlapped.calls.clone();
            calls.sort();
            let mut expected = messages.calls.clone();
            expected.sort();
            assert_eq!(calls, expected, "every group steps on two threads too");
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

    #[test]
    fn a_stop_between_waves_applies_what_was_stepped_on_any_thread_count() {
        // The user's stop comes as the first wave (a, b) is collected: its
        // results are applied and the second wave is not stepped, on one
        // thread (apply, then the stop) as on two (where the first wave's
        // results would be applied beside the second's steps).
        let nodes = "  - {id: a, type: sensor}\n  - {id: b, type: sensor}\n  - {id: c, type: sensor}\n  - {id: d, type: sensor}\n  - {id: gw, type: gateway}\n";
        let s = scenario(LATENCY, nodes, "");
        let ran = |threads| {
            let interrupt = Arc::new(AtomicBool::new(false));
            let stop = Arc::clone(&interrupt);
            let script: Script = Box::new(move |id, now, _| {
                if id == "b" {
                    stop.store(true, Ordering::Relaxed);
                }
                match (id, now) {
                    ("gw", _) | (_, 1..) => send(vec![]),
                    _ => send(vec![to("gw", id)]),
                }
            });
            let on = On { threads, interrupt: Some(interrupt) };
            run_on(on, TraceLevel::Messages, &s, vec![vec![0, 1], vec![2, 3, 4]], script, false, Arc::new(|_, _| 0))
        };
        let (one, two) = (ran(1), ran(2));
        assert_eq!((one.outcome.steps, one.outcome.counts.sent), (2, 2), "{}", one.trace);
        assert_eq!(steps(&one.calls), ["0 a []", "0 b []"]);
        assert_eq!(one.trace, two.trace);
        assert_eq!((two.outcome.steps, two.outcome.counts.sent), (2, 2));
        assert_eq!(one.calls, two.calls);
    }
}
