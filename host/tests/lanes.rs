//! A pack split into lanes (`runtime/wasm/lanes.rs`) answers as one
//! instance of the whole pack does: the same results, log lines
//! (finished and unfinished), steps and final metrics, wherever in the
//! pack a node traps (the first lane, a middle one, the last, two at
//! once, in `finish`), with its lanes run one after another or each on a
//! thread of its own.

mod common;

use std::collections::BTreeMap;

use common::*;
use xedgesim::runtime::wasm::{LanedGroup, NodeSpec, WasmNodeGroup, lane_count, lane_sizes};
use xedgesim::runtime::{LogLine, NodeGroup, StepCall};
use xedgesim::scenario::{ConfigValue, SandboxLimits};

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
