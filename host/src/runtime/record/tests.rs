//! Record and replay around real WASM groups (the built-in gateway and the
//! hostile fixture): a recorded group answers as the group alone does, and
//! a replay of its recording answers the same again, through the file.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::runtime::wasm::{
    NodeSpec, RuntimeOptions, WasmNodeGroup, WasmRuntime, builtin_component, fixture_component,
};
use crate::runtime::{Address, FaultKind, Message, NodeGroup, StepCall};
use crate::scenario::{ConfigValue, SandboxLimits};

type Config = BTreeMap<String, ConfigValue>;

/// One call of the engine's to a group.
#[derive(Clone)]
pub(super) enum Call {
    /// Steps at one time: (member index, inbox).
    Step(u64, Vec<(usize, Vec<Message>)>),
    Crash(usize, u64),
    Restart(usize, u64, u32),
    Finish(Vec<usize>, u64),
}

/// What a group answered to `script`, as text: every result, log line,
/// fuel figure and, at the end, every member's usage.
pub(super) fn drive(group: &mut dyn NodeGroup, configs: &[Config], script: &[Call]) -> Vec<String> {
    let mut seen = Vec::new();
    for call in script {
        match call {
            Call::Step(now_us, calls) => {
                let indexes: Vec<usize> = calls.iter().map(|(i, _)| *i).collect();
                let calls = calls.iter().map(|(index, inbox)| StepCall {
                    index: *index,
                    now_us: *now_us,
                    inbox: inbox.clone(),
                });
                seen.push(format!("step {now_us}: {:?}", group.step(calls.collect())));
                let fuel: Vec<Option<u64>> = indexes.iter().map(|&i| group.last_step_fuel(i)).collect();
                seen.push(format!("fuel {fuel:?}"));
            }
            Call::Crash(index, now_us) => {
                group.crash(*index, *now_us);
                seen.push(format!("crash {index} {now_us}"));
            }
            Call::Restart(index, now_us, restarts) => {
                let result = group.restart(*index, *now_us, &configs[*index], *restarts);
                seen.push(format!("restart {index} {now_us}: {result:?}"));
            }
            Call::Finish(indexes, now_us) => {
                seen.push(format!("finish {now_us}: {:?}", group.finish(indexes, *now_us)));
            }
        }
        seen.push(format!("logs {:?}", group.take_logs()));
    }
    for index in 0..group.node_ids().len() {
        seen.push(format!("usage {index}: {:?}", group.usage(index)));
    }
    seen
}

pub(super) fn config(pairs: &[(&str, ConfigValue)]) -> Config {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

pub(super) fn reading(source: &str, temperature: f64, sent_us: u64) -> Message {
    Message {
        source: source.into(),
        destination: Address::Node("gw1".into()),
        topic: "sensors/t".into(),
        payload: format!("{{\"temperature\":{temperature},\"t_us\":{sent_us}}}").into_bytes(),
        sent_us,
    }
}

fn text(value: &str) -> ConfigValue {
    ConfigValue::Text(value.into())
}

fn runtime(interrupt: Option<Arc<AtomicBool>>) -> WasmRuntime {
    WasmRuntime::new(&RuntimeOptions { interrupt, ..RuntimeOptions::default() }).unwrap()
}

/// A group of `component` with one node per (id, config).
fn group(rt: &WasmRuntime, component: &[u8], nodes: &[(&str, Config)]) -> WasmNodeGroup {
    let component = rt.load_bytes("model".into(), component).unwrap();
    let specs: Vec<NodeSpec> = nodes.iter().map(|(id, config)| NodeSpec { id, config }).collect();
    let limits = SandboxLimits { memory_limit_mb: 256, ..SandboxLimits::default() };
    WasmNodeGroup::new(rt, &component, 7, &specs, limits).unwrap()
}

pub(super) fn gateways() -> (Vec<(&'static str, Config)>, Vec<Call>) {
    let gw = config(&[("destination", text("cloud")), ("window_s", ConfigValue::Float(2.0))]);
    let nodes = vec![("gw1", gw.clone()), ("gw2", gw)];
    let script = vec![
        Call::Step(0, vec![(0, Vec::new()), (1, Vec::new())]),
        Call::Step(1_000_000, vec![(0, vec![reading("s1", 21.5, 999_000)]), (1, vec![reading("s2", 19.0, 999_500)])]),
        Call::Step(1_000_100, vec![(0, Vec::new()), (1, Vec::new())]),
        Call::Crash(1, 1_500_000),
        Call::Step(2_000_000, vec![(0, vec![reading("s1", 22.5, 1_999_000), reading("s1", 40.0, 1_999_500)])]),
        Call::Restart(1, 2_500_000, 1),
        Call::Step(2_500_000, vec![(1, Vec::new())]),
        Call::Step(4_000_000, vec![(0, Vec::new()), (1, vec![reading("s2", 18.0, 3_999_000)])]),
        Call::Finish(vec![0, 1], 5_000_000),
    ];
    (nodes, script)
}

/// Hostile nodes that log (each step, and from `finish`) and one that traps at 1 s.
fn loggers() -> (Vec<(&'static str, Config)>, Vec<Call>) {
    let nodes = vec![
        ("nasty", config(&[("mode", text("nasty_log"))])),
        ("fin", config(&[("mode", text("finish_log"))])),
        ("print", config(&[("mode", text("unterminated"))])),
    ];
    let script = vec![
        Call::Step(0, vec![(0, Vec::new()), (1, Vec::new()), (2, Vec::new())]),
        Call::Step(1_000_000, vec![(0, Vec::new()), (2, Vec::new())]),
        Call::Step(2_000_000, vec![(1, Vec::new())]),
        Call::Finish(vec![0, 1, 2], 3_000_000),
    ];
    (nodes, script)
}

fn trapper() -> (Vec<(&'static str, Config)>, Vec<Call>) {
    let nodes = vec![("boom", config(&[("mode", text("panic")), ("at_us", ConfigValue::Integer(1_000_000))]))];
    let script = vec![
        Call::Step(0, vec![(0, Vec::new())]),
        Call::Step(1_000_000, vec![(0, Vec::new())]),
        Call::Finish(Vec::new(), 2_000_000),
    ];
    (nodes, script)
}

fn configs(nodes: &[(&str, Config)]) -> Vec<Config> {
    nodes.iter().map(|(_, c)| c.clone()).collect()
}

/// Records `script` on a fresh group; returns what it answered and the recorded nodes.
pub(super) fn record(
    component: &[u8],
    nodes: &[(&str, Config)],
    script: &[Call],
    group_number: u32,
) -> (Vec<String>, Vec<RecordedNode>) {
    let rt = runtime(None);
    let inner = group(&rt, component, nodes);
    let (mut recorded, tap) = RecordingGroup::new(Box::new(inner), RecordBudget::new(1 << 30));
    let seen = drive(&mut recorded, &configs(nodes), script);
    let events = tap.take().unwrap();
    let recorded_nodes = nodes
        .iter()
        .zip(events)
        .enumerate()
        .map(|(index, ((id, _), events))| RecordedNode {
            id: id.to_string(),
            group: Some(group_number),
            startup_fault: None,
            usage: recorded.usage(index),
            events,
        })
        .collect();
    (seen, recorded_nodes)
}

#[test]
fn a_replay_answers_as_the_recorded_wasm_groups_did_through_the_file() {
    let gateway = builtin_component("gateway").unwrap();
    let hostile = fixture_component("hostile").unwrap();
    let cases = [(gateway, gateways()), (hostile, loggers()), (hostile, trapper())];
    let mut recorded_nodes = Vec::new();
    let mut answers = Vec::new();
    for (number, (component, (nodes, script))) in cases.iter().enumerate() {
        // The group alone, then recorded: recording changes nothing of what passes.
        let alone = drive(&mut group(&runtime(None), component, nodes), &configs(nodes), script);
        let (seen, recorded) = record(component, nodes, script, number as u32);
        assert_eq!(seen, alone, "recording changed what group {number} answered");
        recorded_nodes.extend(recorded);
        answers.push(seen);
    }
    let all = answers.concat().join("\n");
    for needle in ["ALL NODES PASSED", "finishing after all", "no newline at 1000000", "Trap", "aggregate"] {
        assert!(all.contains(needle), "the script shows {needle:?}:\n{all}");
    }

    let dir = tempfile::tempdir().unwrap();
    let mut header = super::file::tests::header();
    header.nodes = recorded_nodes.iter().map(|n| (n.id.clone(), "component 00".to_string())).collect();
    let recording = Recording { header, nodes: recorded_nodes };
    let written = write(&dir.path().join(FILE_NAME), &recording).unwrap();
    let (read_back, sha256) = read(dir.path()).unwrap();
    assert_eq!(read_back, recording);
    assert_eq!(sha256, written.sha256);

    for (number, (_, (nodes, script))) in cases.iter().enumerate() {
        let members: Vec<RecordedNode> =
            read_back.nodes.iter().filter(|n| n.group == Some(number as u32)).cloned().collect();
        let (mut replay, report) = ReplayGroup::new(members, ReplayMode::Strict, "recording.xrec".into(), true);
        assert_eq!(drive(&mut replay, &configs(nodes), script), answers[number], "replay of group {number}");
        for stats in report.stats() {
            assert_eq!((stats.inputs_differed, stats.calls_unrecorded, stats.recorded_unused), (0, 0, 0), "{stats:?}");
        }
    }
}

#[test]
fn a_trapped_step_is_replayed_as_its_fault_and_counted_as_the_runtime_counted_it() {
    let hostile = fixture_component("hostile").unwrap();
    let (nodes, script) = trapper();
    let (_, recorded) = record(hostile, &nodes, &script, 0);
    assert_eq!(recorded[0].usage.steps, 1, "WASM does not count a step that trapped");
    let Event::Step { result: Err(fault), .. } = &recorded[0].events[1] else { panic!("{:?}", recorded[0].events) };
    assert_eq!(fault.kind, FaultKind::Trap);
    let (mut replay, report) = ReplayGroup::new(recorded, ReplayMode::Strict, "r".into(), true);
    drive(&mut replay, &[], &script);
    assert_eq!(replay.usage(0).steps, 1);
    assert_eq!(report.stats()[0].calls, 2);
}

#[test]
fn a_node_replayed_in_a_group_of_its_own_logs_after_its_own_calls() {
    let hostile = fixture_component("hostile").unwrap();
    let (nodes, script) = loggers();
    let (seen, recorded) = record(hostile, &nodes, &script, 0);
    // Node "fin" alone: its calls only, at index 0.
    let fin = recorded.into_iter().find(|n| n.id == "fin").unwrap();
    let (mut alone, _) = ReplayGroup::new(vec![fin], ReplayMode::Strict, "r".into(), false);
    let own: Vec<Call> = vec![
        Call::Step(0, vec![(0, Vec::new())]),
        Call::Step(2_000_000, vec![(0, Vec::new())]),
        Call::Finish(vec![0], 3_000_000),
    ];
    let replayed = drive(&mut alone, &[Config::new()], &own);
    let finish_at = replayed.iter().position(|l| l.starts_with("finish")).unwrap();
    assert_eq!(replayed[finish_at], "finish 3000000: [Ok([Metric { name: \"steps\", value: 2.0 }])]");
    assert!(replayed[finish_at + 1].contains("finishing after all"), "{replayed:#?}");
    assert!(replayed[finish_at + 1].contains("index: 0"), "lines carry this group's index: {replayed:#?}");
    assert_eq!(replayed.iter().filter(|l| l.contains("finishing after all")).count(), 1);
    // As recorded, in the group of three, the line came after the finish too.
    let recorded_finish = seen.iter().position(|l| l.starts_with("finish")).unwrap();
    assert!(seen[recorded_finish + 1].contains("finishing after all"), "{seen:#?}");
}

#[test]
fn past_its_budget_a_recording_keeps_nothing_and_says_where_while_calls_pass_unchanged() {
    let gateway = builtin_component("gateway").unwrap();
    let (nodes, script) = gateways();
    let rt = runtime(None);
    let alone = drive(&mut group(&rt, gateway, &nodes), &configs(&nodes), &script);
    let budget = RecordBudget::new(120);
    let (mut recorded, tap) = RecordingGroup::new(Box::new(group(&rt, gateway, &nodes)), Arc::clone(&budget));
    let (mut other, other_tap) = RecordingGroup::new(Box::new(group(&rt, gateway, &nodes)), Arc::clone(&budget));
    assert!(budget.exceeded().is_none());
    assert_eq!(drive(&mut recorded, &configs(&nodes), &script), alone);
    drive(&mut other, &configs(&nodes), &script[..1]);
    let e = budget.exceeded().expect("120 bytes are passed");
    let text = e.to_string();
    assert!(text.contains("cap of 120 bytes at t = 1.000000 s (node 'gw2')"), "{text}");
    assert!(matches!(tap.take(), Err(RecordError::CapExceeded { cap_bytes: 120, .. })));
    assert!(matches!(other_tap.take(), Err(RecordError::CapExceeded { .. })), "one budget for every group");
    assert_eq!(recorded.held_bytes(), 0, "what was held is dropped");
    assert_eq!(other.held_bytes(), 0, "in every group");
}

#[test]
fn a_budget_counts_exactly_the_bytes_it_holds() {
    let gateway = builtin_component("gateway").unwrap();
    let (nodes, script) = gateways();
    let budget = RecordBudget::new(1 << 20);
    let (mut recorded, tap) =
        RecordingGroup::new(Box::new(group(&runtime(None), gateway, &nodes)), Arc::clone(&budget));
    drive(&mut recorded, &configs(&nodes), &script);
    let mut bytes = Vec::new();
    for event in tap.take().unwrap().concat() {
        super::codec::put_event(&mut bytes, &event);
    }
    assert_eq!(budget.used_bytes(), bytes.len() as u64);
    assert!(budget.exceeded().is_none());
    assert_eq!(tap.take().unwrap(), tap.take().unwrap(), "taking leaves the events in place");
}

#[test]
fn an_interrupted_collect_passes_through_and_records_no_step() {
    let flag = Arc::new(AtomicBool::new(false));
    let rt = runtime(Some(Arc::clone(&flag)));
    let (nodes, _) = gateways();
    let inner = group(&rt, builtin_component("gateway").unwrap(), &nodes);
    let (mut recorded, tap) = RecordingGroup::new(Box::new(inner), RecordBudget::new(1 << 20));
    flag.store(true, Ordering::Relaxed);
    // The epoch moves every 20 ms while the flag is set: any guest call is then cut short.
    std::thread::sleep(std::time::Duration::from_millis(200));
    recorded.submit(vec![StepCall { index: 0, now_us: 0, inbox: Vec::new() }]);
    assert_eq!(recorded.collect(), Err(crate::runtime::Interrupted));
    assert!(tap.take().unwrap().iter().all(|events| !events.iter().any(|e| matches!(e, Event::Step { .. }))));
}
