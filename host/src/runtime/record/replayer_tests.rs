use super::*;
use crate::runtime::record::tests::{config, drive, gateways, reading, record};
use crate::runtime::wasm::builtin_component;
use crate::runtime::{FaultKind, LogLevel, LogStream};

fn recorded_gateways() -> Vec<RecordedNode> {
    let (nodes, script) = gateways();
    record(builtin_component("gateway").unwrap(), &nodes, &script, 0).1
}

fn step(group: &mut ReplayGroup, index: usize, now_us: u64, inbox: Vec<Message>) -> Result<StepOutput, NodeFault> {
    group.step(vec![StepCall { index, now_us, inbox }]).remove(0)
}

fn strict() -> ReplayGroup {
    ReplayGroup::new(recorded_gateways(), ReplayMode::Strict, "/runs/a/recording.xrec".into(), true).0
}

#[test]
fn strict_names_the_first_step_whose_inbox_differs_and_stays_diverged() {
    let mut group = strict();
    step(&mut group, 0, 0, Vec::new()).unwrap();
    let changed = vec![reading("s1", 25.5, 999_000)];
    let fault = step(&mut group, 0, 1_000_000, changed).unwrap_err();
    assert_eq!((fault.kind.clone(), fault.time_us, fault.node.as_str()), (FaultKind::ReplayDiverged, 1_000_000, "gw1"));
    let text = fault.to_string();
    for needle in [
        "node 'gw1' diverged from its recording at t = 1.000000 s:",
        "recording: /runs/a/recording.xrec",
        "node 'gw1', step 2, at t = 1.000000 s: its inbox is not the recorded one",
        "expected (recorded) inbox, 1 message:\n    1. from 's1' to 'gw1', topic \"sensors/t\", 34 bytes, sent at t = 0.999000 s: \"{\\\"temperature\\\":21.5,",
        "received inbox, 1 message:\n    1. from 's1' to 'gw1', topic \"sensors/t\", 34 bytes, sent at t = 0.999000 s: \"{\\\"temperature\\\":25.5,",
        "first difference: message 1's payload",
        "= help: another node now sends it something else",
    ] {
        assert!(text.contains(needle), "{needle:?} in:\n{text}");
    }
    // Every later call of the node returns it again; the other node goes on.
    assert_eq!(step(&mut group, 0, 1_000_100, Vec::new()).unwrap_err(), fault);
    assert_eq!(group.finish(&[0], 5_000_000), vec![Err(fault)]);
    step(&mut group, 1, 0, Vec::new()).unwrap();
}

#[test]
fn strict_names_a_step_at_an_unrecorded_time_and_one_past_the_recording() {
    let mut group = strict();
    let fault = step(&mut group, 0, 500, vec![reading("s1", 25.5, 400)]).unwrap_err();
    assert!(
        fault.detail.ends_with(concat!(
            "step 1, at t = 0.000500 s: no recorded step at this time; next recorded at t = 0.000000 s, which never came\n",
            "  received inbox, 1 message:\n    1. from 's1' to 'gw1', topic \"sensors/t\", 31 bytes, sent at t = 0.000400 s: \"{\\\"temperature\\\":25.5,\\\"t_us\\\":400}\"",
        )),
        "{}",
        fault.detail
    );

    let mut group = strict();
    let (_, script) = gateways();
    drive(&mut group, &[config(&[]), config(&[])], &script);
    let fault = step(&mut group, 0, 6_000_000, Vec::new()).unwrap_err();
    assert!(
        fault.detail.ends_with(
            "no recorded step at this time; the recording ends at t = 5.000000 s\n  received inbox, 0 messages"
        ),
        "{}",
        fault.detail
    );

    let mut group = strict();
    for now in [0, 1_000_000, 1_000_100] {
        let _ = step(
            &mut group,
            1,
            now,
            vec![reading("s2", 19.0, 999_500)].into_iter().filter(|_| now == 1_000_000).collect(),
        );
    }
    // gw2's next recorded call is its crash at 1.5 s: a finish now is a divergence.
    let results = group.finish(&[1], 5_000_000);
    let fault = results[0].as_ref().unwrap_err();
    assert!(
        fault
            .detail
            .ends_with("no recorded finish at this time; next recorded: a crash at t = 1.500000 s, which never came"),
        "{}",
        fault.detail
    );
}

#[test]
fn strict_returns_a_crash_that_was_not_recorded_at_the_nodes_next_call() {
    let (mut group, report) = ReplayGroup::new(recorded_gateways(), ReplayMode::Strict, "r".into(), true);
    assert_eq!(report.divergence(), None);
    group.crash(0, 700);
    let reported = report.divergence().expect("the report has it at once");
    let fault = group.restart(0, 900, &config(&[]), 1).unwrap_err();
    assert_eq!(fault.time_us, 700);
    assert_eq!(fault, reported);
    assert!(
        fault
            .detail
            .ends_with("no recorded crash at this time; next recorded: a step at t = 0.000000 s, which never came"),
        "{}",
        fault.detail
    );
    // A restart with another count than recorded.
    let mut group = strict();
    let (_, script) = gateways();
    drive(&mut group, &[config(&[]), config(&[])], &script[..5]);
    let fault = group.restart(1, 2_500_000, &config(&[]), 2).unwrap_err();
    assert_eq!(fault.kind, FaultKind::ReplayDiverged);
    assert!(
        fault.detail.ends_with("the restart recorded at this time is another (its restart count differs)"),
        "{}",
        fault.detail
    );
}

#[test]
fn lenient_answers_by_time_counts_what_differed_and_wakes_at_recorded_times() {
    let (mut group, report) = ReplayGroup::new(recorded_gateways(), ReplayMode::Lenient, "r".into(), true);
    // gw1: at 0 as recorded; at 0.5 s, unrecorded; at 1 s, another inbox; 1.0001 s never asked.
    let first = step(&mut group, 0, 0, Vec::new()).unwrap();
    assert_eq!(first.wake_at_us, Some(1_000_000), "woken at its next recorded step, before its own wake-up");
    let unrecorded = step(&mut group, 0, 500_000, vec![reading("s9", 1.0, 1)]).unwrap();
    assert_eq!(unrecorded, StepOutput { outbox: Vec::new(), wake_at_us: Some(1_000_000) });
    assert_eq!(group.last_step_fuel(0), None);
    step(&mut group, 0, 1_000_000, vec![reading("s1", 30.0, 999_000)]).unwrap();
    assert!(group.last_step_fuel(0).is_some(), "the recorded step's fuel");
    // The step at 2 s answers as recorded though the one at 1.0001 s never came.
    let at_2s = step(&mut group, 0, 2_000_000, Vec::new()).unwrap();
    let metrics = group.finish(&[0, 1], 5_000_000);
    assert!(metrics.iter().all(Result::is_ok), "{metrics:?}");
    let stats = report.stats();
    assert_eq!(
        stats[0],
        ReplayStats { node: "gw1".into(), calls: 4, inputs_differed: 2, calls_unrecorded: 1, recorded_unused: 2 }
    );
    assert_eq!(stats[1], ReplayStats { node: "gw2".into(), recorded_unused: 5, ..ReplayStats::default() });
    assert!(at_2s.outbox.is_empty() || at_2s.outbox.iter().all(|m| m.topic == "alert" || m.topic == "aggregate"));
    assert_eq!(group.usage(0).steps, 4, "the calls answered, once the replay left its recording");
}

#[test]
fn lenient_crash_and_restart_answer_from_the_recording_or_go_through() {
    let (mut group, _) = ReplayGroup::new(recorded_gateways(), ReplayMode::Lenient, "r".into(), true);
    group.crash(1, 1_500_000);
    assert_eq!(group.restart(1, 2_500_000, &config(&[]), 1), Ok(()));
    group.crash(0, 100);
    assert_eq!(group.restart(0, 200, &config(&[]), 1), Ok(()), "nothing recorded: it goes through");
}

fn logs(after_calls: u64, text: &str) -> Event {
    let line = RecordedLog { time_us: 0, stream: LogStream::Log, level: LogLevel::Info, text: text.into() };
    Event::Logs { after_calls, lines: vec![line] }
}

fn empty_step(now_us: u64) -> Event {
    Event::Step { now_us, inbox: Vec::new(), result: Ok(StepOutput::default()), fuel: Some(now_us) }
}

fn node(id: &str, events: Vec<Event>) -> RecordedNode {
    RecordedNode { id: id.into(), group: Some(0), startup_fault: None, usage: NodeUsage::default(), events }
}

fn texts(lines: Vec<LogLine>) -> Vec<(usize, String)> {
    lines.into_iter().map(|l| (l.index, l.text)).collect()
}

#[test]
fn in_the_recorded_group_log_lines_come_back_after_the_very_call_they_followed() {
    // "b" logged after the group's 2nd call, though its own only call was the 1st.
    let nodes = vec![
        node("a", vec![empty_step(0), empty_step(10), logs(2, "a after 2")]),
        node("b", vec![empty_step(0), logs(1, "b after 1"), logs(2, "b after 2")]),
    ];
    let (mut same, _) = ReplayGroup::new(nodes.clone(), ReplayMode::Strict, "r".into(), true);
    same.step(vec![
        StepCall { index: 0, now_us: 0, inbox: Vec::new() },
        StepCall { index: 1, now_us: 0, inbox: Vec::new() },
    ]);
    assert_eq!(texts(same.take_logs()), vec![(1, "b after 1".to_string())]);
    same.step(vec![StepCall { index: 0, now_us: 10, inbox: Vec::new() }]);
    assert_eq!(texts(same.take_logs()), vec![(0, "a after 2".to_string()), (1, "b after 2".to_string())]);
    assert_eq!(same.last_step_fuel(0), Some(10));

    // Elsewhere, a node's lines come once its own calls before them are answered.
    let (mut alone, _) = ReplayGroup::new(vec![nodes[1].clone()], ReplayMode::Strict, "r".into(), false);
    alone.step(vec![StepCall { index: 0, now_us: 0, inbox: Vec::new() }]);
    assert_eq!(texts(alone.take_logs()), vec![(0, "b after 1".to_string()), (0, "b after 2".to_string())]);
}

#[test]
fn usage_is_the_recorded_one_with_the_steps_of_a_faithful_replay() {
    let usage = NodeUsage { steps: 7, fuel_used: Some(99), cpu_time_us: Some(3), ..NodeUsage::default() };
    let recorded = RecordedNode { usage, ..node("a", vec![empty_step(0), empty_step(5)]) };
    let (mut group, _) = ReplayGroup::new(vec![recorded], ReplayMode::Strict, "r".into(), true);
    step(&mut group, 0, 0, Vec::new()).unwrap();
    assert_eq!(group.usage(0), NodeUsage { steps: 1, ..usage }, "halfway: the calls answered so far");
    step(&mut group, 0, 5, Vec::new()).unwrap();
    assert_eq!(group.usage(0), usage, "every recorded step answered as recorded: the recorded figures");
    assert_eq!(group.usage(1), NodeUsage::default(), "no such member");
}
