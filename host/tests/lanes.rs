//! A pack split into lanes (`runtime/wasm/lanes.rs`) answers as one
//! instance of the whole pack does: the same results, log lines
//! (finished and unfinished), steps and final metrics, wherever in the
//! pack a node traps (the first lane, a middle one, the last, two at
//! once, in `finish`), with its lanes run one after another or each on a
//! thread of its own; and the engine runs a pack's lanes side by side.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use xedgesim::engine::{
    DEFAULT_MAX_QUEUED_PAYLOAD_BYTES, Engine, EngineOptions, FaultState, Placement, Trace, TraceLevel,
};
use xedgesim::runtime::wasm::{LanedGroup, NodeSpec, WasmNodeGroup, lane_count, lane_sizes};
use xedgesim::runtime::{
    FaultKind, Interrupted, LogLine, Metric, NodeFault, NodeGroup, NodeUsage, StepCall, StepOutput, SubmitPart,
};
use xedgesim::scenario::{ConfigValue, SandboxLimits, load_str};

const NODES: usize = 8;
const SECOND: u64 = 1_000_000;

/// Each node's config: `(mode, at_us)` of the hostile fixture.
fn configs(modes: &[(&str, u64)]) -> Vec<BTreeMap<String, ConfigValue>> {
    modes
        .iter()
        .map(|(mode, at_us)| config(&[("mode", text(mode)), ("at_us", ConfigValue::Integer(*at_us as i64))]))
        .collect()
}

/// The pack's limits for `nodes` of its nodes (memory is each instance's nodes' worth).
fn limits(nodes: usize) -> SandboxLimits {
    let base = SandboxLimits { fuel_per_step: 5_000_000, ..SandboxLimits::default() };
    SandboxLimits { memory_limit_mb: base.memory_limit_mb * nodes as u64, ..base }
}

/// Everything a group shows the engine over five steps of every node (and
/// a restart of one) and their `finish`: results, log lines and steps
/// after each.
fn drive(group: &mut dyn NodeGroup, on_threads: bool, configs: &[BTreeMap<String, ConfigValue>]) -> Vec<String> {
    let mut seen = Vec::new();
    for t in 0..5 {
        let now_us = t * SECOND;
        let calls = (0..NODES).map(|index| StepCall { index, now_us, inbox: Vec::new() }).collect();
        if on_threads {
            let parts = group.submit_parts(calls);
            std::thread::scope(|scope| {
                for part in parts {
                    scope.spawn(part);
                }
            });
        } else {
            group.submit(calls);
        }
        let results = group.collect().expect("not interrupted");
        seen.push(format!("{now_us}: {results:?}"));
        seen.push(format!("{now_us} logs: {:?}", logs(group)));
        // Fuel used is a cost, which the heap's history moves (docs/sandbox.md); steps are a result.
        seen.push(format!("{now_us} steps: {:?}", (0..NODES).map(|i| group.usage(i).steps).collect::<Vec<_>>()));
        if t == 1 {
            // A scripted crash and restart of a node of the third lane (of two-node lanes).
            group.crash(5, now_us);
            seen.push(format!("restart: {:?}", group.restart(5, now_us + 1, &configs[5], 1)));
        }
    }
    let finished = group.finish(&(0..NODES).collect::<Vec<_>>(), 5 * SECOND);
    seen.push(format!("finish: {finished:?}"));
    seen.push(format!("final logs: {:?}", logs(group)));
    seen
}

/// The lines `group` logged, each node's in order, in node order: what
/// the trace shows (engine/step.rs `trace_logs`).
fn logs(group: &mut dyn NodeGroup) -> Vec<LogLine> {
    let mut lines = group.take_logs();
    lines.sort_by_key(|l| l.index);
    lines
}

/// Runs the pack as one instance and as lanes of `lane_nodes` (one after
/// another, then on threads); panics where they differ.
fn assert_lanes_answer_as_one_instance(modes: &[(&str, u64)], lane_nodes: usize) -> Vec<String> {
    let (rt, _dir) = runtime();
    let hostile = fixture(&rt, "hostile");
    let configs = configs(modes);
    let ids: Vec<String> = (0..NODES).map(|i| format!("n{i}")).collect();
    let specs: Vec<NodeSpec<'_>> = ids.iter().zip(&configs).map(|(id, config)| NodeSpec { id, config }).collect();
    let mut one = WasmNodeGroup::new(&rt, &hostile, 3, &specs, limits(NODES)).unwrap();
    let expected = drive(&mut one, false, &configs);
    for on_threads in [false, true] {
        let lanes = specs
            .chunks(lane_nodes)
            .map(|lane| WasmNodeGroup::new(&rt, &hostile, 3, lane, limits(lane.len())).unwrap())
            .collect();
        let mut laned = LanedGroup::new(lanes);
        let got = drive(&mut laned, on_threads, &configs);
        for (a, b) in expected.iter().zip(&got) {
            assert_eq!(a, b, "{modes:?}, lanes of {lane_nodes}, on threads: {on_threads}");
        }
        assert_eq!(expected.len(), got.len());
    }
    expected
}

/// Nodes that log finished and unfinished lines every step, and one that
/// refuses to step at 2 s (a fault of its own, not of the sandbox).
const CALM: [(&str, u64); NODES] = [
    ("nasty_log", 0),
    ("unterminated", 0),
    ("error", 2 * SECOND),
    ("nasty_log", 0),
    ("unterminated", 0),
    ("print_unflushed", 0),
    ("nasty_log", 0),
    ("unterminated", 0),
];

#[test]
fn lanes_without_a_trap_answer_as_one_instance() {
    let seen = assert_lanes_answer_as_one_instance(&CALM, 2);
    let all = seen.join("\n");
    assert!(all.contains("model refused to step at 2000000"), "the model error is there: {all}");
    assert!(all.contains("no newline at 4000000"), "unfinished lines flushed at the end: {all}");
}

#[test]
fn a_trap_in_any_lane_faults_the_pack_as_one_instance_would() {
    // The culprit in the first lane, in the middle of the pack, last; and two
    // at once (the one one instance would reach first is the culprit).
    for culprits in [&[0][..], &[3], &[7], &[3, 6], &[1, 4]] {
        let mut modes = CALM;
        for &c in culprits {
            modes[c] = ("panic", 3 * SECOND);
        }
        for lane_nodes in [1, 2, 3] {
            let seen = assert_lanes_answer_as_one_instance(&modes, lane_nodes);
            let all = seen.join("\n");
            let culprit = format!("n{}", culprits[0]);
            assert!(all.contains(&format!("SharedSandbox {{ culprit: \"{culprit}\" }}")), "{all}");
            assert!(all.contains("hostile model panicked on purpose at 3000000"), "{all}");
        }
    }
}

#[test]
fn a_trap_in_finish_stops_the_lanes_after_it_as_one_instance_would() {
    let mut modes = CALM;
    modes[2] = ("finish_loop", 0);
    let seen = assert_lanes_answer_as_one_instance(&modes, 2);
    let finish = seen.iter().find(|s| s.starts_with("finish:")).unwrap();
    assert!(finish.contains("OutOfFuel"), "{finish}");
    assert!(finish.contains("SharedSandbox { culprit: \"n2\" }"), "{finish}");
}

#[test]
fn lanes_are_a_function_of_the_scenario_alone() {
    // A component's only pack of 100 gateways: four lanes of 25; one of ten
    // packs of 1,000 sensors: none; too few nodes for a second lane: none.
    assert_eq!(lane_count(100, 1), 4);
    assert_eq!(lane_sizes(100, 4), [25, 25, 25, 25]);
    assert_eq!(lane_count(1_000, 10), 1);
    assert_eq!(lane_count(1_000, 2), 2);
    assert_eq!(lane_count(1_000, 3), 1);
    assert_eq!(lane_count(31, 1), 1);
    assert_eq!(lane_count(40, 1), 2);
    assert_eq!(lane_sizes(41, 2), [21, 20]);
    assert_eq!(lane_count(1, 1), 1);
}

/// A pack of two lanes whose parts each wait for the other: they return
/// only when the engine runs them at the same time.
struct Rendezvous {
    ids: Vec<String>,
    calls: Vec<StepCall>,
    /// Whether each lane met the other at the last submit.
    met: [bool; 2],
}

impl NodeGroup for Rendezvous {
    fn node_ids(&self) -> &[String] {
        &self.ids
    }

    fn submit(&mut self, calls: Vec<StepCall>) {
        for part in self.submit_parts(calls) {
            part();
        }
    }

    fn submit_parts(&mut self, calls: Vec<StepCall>) -> Vec<SubmitPart<'_>> {
        self.calls = calls;
        let (to_b, from_a) = std::sync::mpsc::channel();
        let (to_a, from_b) = std::sync::mpsc::channel();
        let [a, b] = &mut self.met;
        let wait = std::time::Duration::from_secs(20);
        vec![
            Box::new(move || {
                let _ = to_b.send(());
                *a = from_b.recv_timeout(wait).is_ok();
            }),
            Box::new(move || {
                let _ = to_a.send(());
                *b = from_a.recv_timeout(wait).is_ok();
            }),
        ]
    }

    fn collect(&mut self) -> Result<Vec<Result<StepOutput, NodeFault>>, Interrupted> {
        let met = self.met == [true, true];
        let answer = |c: &StepCall| match met {
            true => Ok(StepOutput { outbox: Vec::new(), wake_at_us: None }),
            false => Err(NodeFault {
                node: self.ids[c.index].clone(),
                time_us: c.now_us,
                kind: FaultKind::Trap,
                detail: "its lanes ran one after the other".into(),
            }),
        };
        Ok(std::mem::take(&mut self.calls).iter().map(answer).collect())
    }

    fn finish(&mut self, indexes: &[usize], _now_us: u64) -> Vec<Result<Vec<Metric>, NodeFault>> {
        indexes.iter().map(|_| Ok(Vec::new())).collect()
    }

    fn take_logs(&mut self) -> Vec<LogLine> {
        Vec::new()
    }

    fn usage(&self, _index: usize) -> NodeUsage {
        NodeUsage::default()
    }

    fn restart(
        &mut self,
        _index: usize,
        _now_us: u64,
        _config: &BTreeMap<String, ConfigValue>,
        _restarts: u32,
    ) -> Result<(), NodeFault> {
        Ok(())
    }
}

#[test]
fn the_engine_steps_a_packs_lanes_side_by_side() {
    // One group, 40 nodes due at t = 0: on two threads its two parts run at once.
    let yaml = "simulation: {duration_s: 1, seed: 1}\nnodes:\n  - {id: 'c{i}', count: 40, type: cloud}\n";
    let scenario = load_str(Path::new("t.yaml"), Path::new("/t/t.yaml"), yaml).unwrap().resolved;
    let mut placement = Placement::new(40);
    let group = Rendezvous { ids: (0..40).map(|i| format!("c{i}")).collect(), calls: Vec::new(), met: [false; 2] };
    placement.add(&scenario, (0..40).collect(), Ok(Box::new(group)));
    let faults = FaultState::for_scenario(&scenario, &scenario.faults, 1, scenario.duration_us).unwrap();
    let options = EngineOptions {
        seed: 1,
        duration_us: scenario.duration_us,
        max_queued_payload_bytes: DEFAULT_MAX_QUEUED_PAYLOAD_BYTES,
        threads: 2,
        interrupt: None,
        record_deliveries: false,
        log_tap: None,
        faults,
    };
    let outcome = Engine::new(&scenario, &mut placement, Trace::new(TraceLevel::Off, None), options).run(None);
    assert!(outcome.faults.is_empty(), "{:?}", outcome.faults);
    assert_eq!(outcome.steps, 40);
}
