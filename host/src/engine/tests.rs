//! The engine on its own, with fake node groups: each step answers from a
//! script and is written down, so the order the engine steps nodes in,
//! what their inboxes hold, and what faults and bounds do are seen
//! directly. No component is compiled and no file is written.

use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use super::fake_group::{FakeGroup, Fuel};
pub(super) use super::fake_group::{SUBMIT_PANICS, Script};
use super::{
    DEFAULT_MAX_QUEUED_PAYLOAD_BYTES, Engine, EngineError, EngineOptions, FaultState, MAX_EVENTS_PER_INSTANT,
    MAX_ROUNDS_PER_INSTANT, Outcome, Placement, Stop, Trace, TraceLevel, TraceSink,
};
use crate::runtime::{Address, FaultKind, Outgoing, StepOutput};
use crate::scenario::{FaultPolicy, Implementation, ResolvedScenario};

/// The trace, kept in memory.
#[derive(Clone, Default)]
struct Buffer(Rc<RefCell<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl TraceSink for Buffer {
    fn commit(self: Box<Self>) -> std::io::Result<()> {
        Ok(())
    }
}

/// A scenario of built-in node types (never compiled here: the fake groups stand in for them).
pub(super) fn scenario(network: &str, nodes: &str, faults: &str) -> ResolvedScenario {
    let yaml = format!("simulation: {{duration_s: 1, seed: 1}}\nnetwork: {network}\nnodes:\n{nodes}{faults}");
    let loaded = crate::scenario::load_str(Path::new("t.yaml"), Path::new("/t/t.yaml"), &yaml);
    loaded.unwrap_or_else(|e| panic!("{e}\n{yaml}")).resolved
}

/// A message to `dst` with `payload` as text.
pub(super) fn to(dst: &str, payload: &str) -> Outgoing {
    Outgoing { destination: Address::Node(dst.to_string()), topic: String::new(), payload: payload.as_bytes().to_vec() }
}

pub(super) fn send(outbox: Vec<Outgoing>) -> Result<StepOutput, FaultKind> {
    Ok(StepOutput { outbox, wake_at_us: None })
}

/// What a run of `scenario` did: its outcome, the calls its groups saw
/// (each group holding the nodes `groups` lists, by index, answering
/// from `script`), and the trace at level `all`.
pub(super) struct Ran {
    pub(super) outcome: Outcome,
    pub(super) calls: Vec<String>,
    pub(super) trace: String,
}

fn run_groups(scenario: &ResolvedScenario, groups: Vec<Vec<usize>>, script: Script, short: bool) -> Ran {
    run_fueled(scenario, groups, script, short, Arc::new(|_, _| 0))
}

/// [`run_groups`] with each step using the fuel `fuel` says.
fn run_fueled(scenario: &ResolvedScenario, groups: Vec<Vec<usize>>, script: Script, short: bool, fuel: Fuel) -> Ran {
    run_at(TraceLevel::All, scenario, groups, script, short, fuel)
}

/// [`run_fueled`] with the trace at `level`.
pub(super) fn run_at(
    level: TraceLevel,
    scenario: &ResolvedScenario,
    groups: Vec<Vec<usize>>,
    script: Script,
    short: bool,
    fuel: Fuel,
) -> Ran {
    run_on(On::default(), level, scenario, groups, script, short, fuel)
}

/// What a test run is stepped on: its threads, and the user's stop.
#[derive(Default)]
pub(super) struct On {
    /// 0 is taken as 1.
    pub(super) threads: usize,
    pub(super) interrupt: Option<Arc<AtomicBool>>,
}

/// [`run_at`] on `on`'s threads, stopped by its flag.
pub(super) fn run_on(
    on: On,
    level: TraceLevel,
    scenario: &ResolvedScenario,
    groups: Vec<Vec<usize>>,
    script: Script,
    short: bool,
    fuel: Fuel,
) -> Ran {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let mut placement = fake_placement(scenario, groups, script, short, fuel, &calls);
    let buffer = Buffer::default();
    let trace = Trace::new(level, Some(Box::new(buffer.clone())));
    let mut outcome = Engine::new(scenario, &mut placement, trace, options_on(on, scenario)).run(None);
    outcome.commit_trace().unwrap();
    let trace = String::from_utf8(buffer.0.borrow().clone()).unwrap();
    let calls = calls.lock().unwrap().clone();
    Ran { outcome, calls, trace }
}

/// `groups` (node indexes) as fake groups answering from `script`, each
/// call written down in `calls`.
fn fake_placement(
    scenario: &ResolvedScenario,
    groups: Vec<Vec<usize>>,
    script: Script,
    short: bool,
    fuel: Fuel,
    calls: &Arc<Mutex<Vec<String>>>,
) -> Placement {
    let script = Arc::new(Mutex::new(script));
    let mut placement = Placement::new(scenario.nodes.len());
    for members in groups {
        let shared = Arc::clone(&script);
        let group = FakeGroup {
            ids: members.iter().map(|&i| scenario.nodes[i].id.clone()).collect(),
            script: Box::new(move |id, now, inbox| (shared.lock().unwrap())(id, now, inbox)),
            fuel: Arc::clone(&fuel),
            last_fuel: vec![0; members.len()],
            pending: Vec::new(),
            steps: vec![0; members.len()],
            calls: Arc::clone(calls),
            short,
        };
        placement.add(scenario, members, Ok(Box::new(group)));
    }
    placement
}

/// The engine's options for `scenario` on `on`.
fn options_on(on: On, scenario: &ResolvedScenario) -> EngineOptions {
    let faults = FaultState::for_scenario(scenario, &scenario.faults, scenario.seed, scenario.duration_us).unwrap();
    EngineOptions {
        seed: scenario.seed,
        duration_us: scenario.duration_us,
        max_queued_payload_bytes: DEFAULT_MAX_QUEUED_PAYLOAD_BYTES,
        threads: on.threads.max(1),
        interrupt: on.interrupt,
        record_deliveries: true,
        log_tap: None,
        faults,
    }
}

/// A run with every node in one group.
fn run(scenario: &ResolvedScenario, script: Script) -> Ran {
    run_groups(scenario, vec![(0..scenario.nodes.len()).collect()], script, false)
}

/// The steps among `calls`, without the groups' finish calls.
pub(super) fn steps(calls: &[String]) -> Vec<&str> {
    calls.iter().map(String::as_str).filter(|c| !c.starts_with("finish")).collect()
}

pub(super) const LATENCY: &str = "{model: latency, default_latency_us: 2000}";

#[test]
fn every_node_steps_at_zero_in_file_order_then_when_it_asked_to_wake() {
    let s = scenario(LATENCY, "  - {id: a, type: sensor}\n  - {id: b, type: sensor}\n", "");
    let ran = run(
        &s,
        Box::new(|id, now, _| {
            // `a` asks for 1 ms, then for 5 ms, then for 3 ms: each request replaces the last.
            let wake_at_us = match (id, now) {
                ("a", 0) => Some(1_000),
                ("a", 1_000) => Some(5_000),
                ("b", 0) => Some(3_000),
                _ => None,
            };
            Ok(StepOutput { outbox: Vec::new(), wake_at_us })
        }),
    );
    assert_eq!(steps(&ran.calls), ["0 a []", "0 b []", "1000 a []", "3000 b []", "5000 a []"]);
    assert_eq!(ran.calls.last().unwrap(), "finish a,b at 1000000");
    assert!(ran.outcome.end.is_ok());
    assert_eq!((ran.outcome.steps, ran.outcome.events), (5, 5));
    assert!(ran.trace.contains(r#"{"t_us":1000,"event":"wake","node":"a"}"#), "{}", ran.trace);
}

#[test]
fn messages_due_at_one_instant_arrive_in_one_step_in_the_order_they_were_sent() {
    let nodes = "  - {id: s1, type: sensor}\n  - {id: s2, type: sensor}\n  - {id: gw, type: gateway}\n";
    let s = scenario(LATENCY, nodes, "");
    let ran = run(
        &s,
        Box::new(|id, now, _| match (id, now) {
            ("s1", 0) => send(vec![to("gw", "x")]),
            ("s2", 0) => send(vec![to("gw", "y"), to("gw", "z")]),
            _ => send(Vec::new()),
        }),
    );
    assert_eq!(steps(&ran.calls), ["0 s1 []", "0 s2 []", "0 gw []", "2000 gw [s1:x s2:y s2:z]"]);
    let counts = &ran.outcome.counts;
    assert_eq!((counts.sent, counts.delivered, counts.dropped, counts.in_flight), (3, 3, 0, 0));
    let order: Vec<&str> = ran.outcome.deliveries.as_ref().unwrap().iter().map(|d| d.src.as_str()).collect();
    assert_eq!(order, ["s1", "s2", "s2"]);
    assert_eq!(ran.outcome.latency.max(), 2_000);
}

#[test]
fn results_are_applied_in_node_order_whatever_group_each_node_is_in() {
    let nodes = "  - {id: a, type: sensor}\n  - {id: b, type: sensor}\n  - {id: c, type: sensor}\n  - {id: gw, type: gateway}\n";
    let s = scenario(LATENCY, nodes, "");
    // `b` lives in a group of its own, placed before the others' group.
    let script: Script =
        Box::new(|id, now, _| if now == 0 && id != "gw" { send(vec![to("gw", id)]) } else { send(vec![]) });
    let ran = run_groups(&s, vec![vec![1], vec![0, 2, 3]], script, false);
    assert_eq!(steps(&ran.calls).last().unwrap(), &"2000 gw [a:a b:b c:c]");
}

#[test]
fn zero_latency_messages_are_delivered_in_a_later_round_at_the_same_instant() {
    let s = scenario("{model: direct}", "  - {id: a, type: sensor}\n  - {id: b, type: cloud}\n", "");
    let ran = run(
        &s,
        Box::new(|id, _, inbox| match id {
            "a" if inbox.is_empty() => send(vec![to("b", "ping")]),
            "b" if !inbox.is_empty() => send(vec![to("a", "pong")]),
            _ => send(Vec::new()),
        }),
    );
    assert_eq!(steps(&ran.calls), ["0 a []", "0 b []", "0 b [a:ping]", "0 a [b:pong]"]);
}

#[test]
fn an_inbox_past_its_byte_bound_is_handed_over_in_further_steps_at_that_instant() {
    let mut s = scenario(LATENCY, "  - {id: s, type: sensor}\n  - {id: gw, type: gateway}\n", "");
    // Each message takes 1 (source) + 10 (payload) + 32 (header) bytes: two fit.
    let Implementation::Wasm(wasm) = &mut s.nodes[1].implementation else { unreachable!() };
    std::sync::Arc::make_mut(wasm).limits.max_inbox_bytes = 2 * 43;
    let ran = run(
        &s,
        Box::new(|id, now, _| match (id, now) {
            ("s", 0) => send((0..5).map(|i| to("gw", &format!("message-{i}"))).collect()),
            _ => send(Vec::new()),
        }),
    );
    assert_eq!(
        steps(&ran.calls)[2..],
        ["2000 gw [s:message-0 s:message-1]", "2000 gw [s:message-2 s:message-3]", "2000 gw [s:message-4]"]
    );
    // A split inbox is not a node stepping without end: 5 deliveries, one wake-up each at t = 0.
    assert_eq!((ran.outcome.events, ran.outcome.counts.delivered), (7, 5));
}

#[test]
fn a_stall_hands_a_node_its_messages_late_and_in_order() {
    let s = scenario(
        LATENCY,
        "  - {id: s, type: sensor}\n  - {id: gw, type: gateway}\n",
        "faults:\n  - {stall: gw, at_s: 0.001, until_s: 0.01, delay_us: 500}\n",
    );
    let ran = run(
        &s,
        Box::new(|id, now, _| match (id, now) {
            ("s", 0) => send(vec![to("gw", "x"), to("gw", "y")]),
            _ => send(Vec::new()),
        }),
    );
    // Due at 2 ms, handed over 0.5 ms later: the delivery is counted then.
    assert_eq!(steps(&ran.calls), ["0 s []", "0 gw []", "2500 gw [s:x s:y]"]);
    assert!(
        ran.trace.contains(r#"{"t_us":2500,"event":"deliver","id":0,"dst":"gw","latency_us":2500}"#),
        "{}",
        ran.trace
    );
    let scripted = ran.outcome.scripted_faults.as_ref().expect("a scenario with faults is summarised");
    assert_eq!(scripted.applied.len(), 2, "{scripted:?}");
}

#[test]
fn a_crashed_node_misses_what_comes_while_it_is_down_and_is_stepped_afresh_at_its_restart() {
    let s = scenario(
        LATENCY,
        "  - {id: s, type: sensor}\n  - {id: gw, type: gateway}\n",
        "faults:\n  - {crash: gw, at_s: 0.001}\n  - {restart: gw, at_s: 0.003}\n",
    );
    let ran = run(
        &s,
        Box::new(|id, now, _| match (id, now) {
            // One message reaches it while down (at 2 ms), one after the restart (at 4 ms).
            ("s", 0) => Ok(StepOutput { outbox: vec![to("gw", "lost")], wake_at_us: Some(2_000) }),
            ("s", 2_000) => send(vec![to("gw", "kept")]),
            // Its wake-up dies with it.
            ("gw", 0) => Ok(StepOutput { outbox: Vec::new(), wake_at_us: Some(1_500) }),
            _ => send(Vec::new()),
        }),
    );
    assert_eq!(
        steps(&ran.calls),
        [
            "0 s []",
            "0 gw []",
            "crash gw at 1000",
            "2000 s []",
            "restart gw at 3000 (1)",
            "3000 gw []",
            "4000 gw [s:kept]"
        ]
    );
    assert_eq!(ran.outcome.counts.dropped_by_reason.get("node_down"), Some(&1));
    assert!(ran.trace.contains(r#""event":"drop","id":0,"dst":"gw","reason":"node_down""#), "{}", ran.trace);
}

/// A gateway that faults at its first message, under `policy`.
fn faulting_gateway(policy: FaultPolicy) -> Ran {
    let mut s = scenario(LATENCY, "  - {id: s, type: sensor}\n  - {id: gw, type: gateway}\n", "");
    s.nodes[1].on_fault = policy;
    run(
        &s,
        Box::new(|id, now, inbox| match id {
            "s" if now < 10_000 => Ok(StepOutput { outbox: vec![to("gw", "x")], wake_at_us: Some(now + 5_000) }),
            "gw" if !inbox.is_empty() => Err(FaultKind::ModelError),
            _ => send(Vec::new()),
        }),
    )
}

#[test]
fn a_node_fault_stops_the_node_and_under_abort_the_run() {
    let isolated = faulting_gateway(FaultPolicy::Isolate);
    assert!(isolated.outcome.end.is_ok(), "isolate: the run goes on");
    assert_eq!(isolated.outcome.faults.len(), 1);
    assert_eq!((isolated.outcome.faults[0].node.as_str(), isolated.outcome.faults[0].time_us), ("gw", 2_000));
    // It is stepped no more: what it is sent later is dropped, and it is not finished.
    assert_eq!(steps(&isolated.calls).iter().filter(|c| c.contains(" gw ")).count(), 2);
    assert_eq!(isolated.outcome.counts.dropped_by_reason.get("node_stopped"), Some(&1));
    assert_eq!(isolated.calls.last().unwrap(), "finish s at 1000000");
    assert_eq!(isolated.outcome.node_metrics[1], Vec::new());
    assert!(isolated.outcome.stopped[1]);

    let aborted = faulting_gateway(FaultPolicy::Abort);
    match &aborted.outcome.end {
        Err(Stop::Error(EngineError::Fault(fault))) => assert_eq!((fault.node.as_str(), fault.time_us), ("gw", 2_000)),
        other => panic!("abort: the run stops at the fault, not {other:?}"),
    }
    assert_eq!((aborted.outcome.reached_us, aborted.outcome.faults.len()), (2_000, 1));
}

#[test]
fn a_node_that_never_lets_time_move_is_stopped_after_max_rounds() {
    let s = scenario("{model: direct}", "  - {id: a, type: sensor}\n", "");
    let ran = run(&s, Box::new(|_, _, _| send(vec![to("a", "again")])));
    match &ran.outcome.end {
        Err(Stop::Error(EngineError::Livelock { rounds, nodes, .. })) => {
            assert_eq!((*rounds, nodes.as_str()), (MAX_ROUNDS_PER_INSTANT + 1, "'a'"));
        }
        other => panic!("expected a livelock, not {other:?}"),
    }
    assert_eq!(ran.outcome.steps, MAX_ROUNDS_PER_INSTANT as u64);
}

#[test]
fn a_node_that_floods_one_instant_is_stopped_after_max_events() {
    let s = scenario("{model: direct}", "  - {id: a, type: sensor}\n", "");
    // 400 messages a round: the events bound is reached long before the rounds bound.
    let ran = run(&s, Box::new(|_, _, _| send((0..400).map(|_| to("a", "")).collect())));
    match &ran.outcome.end {
        Err(Stop::Error(EngineError::Livelock { rounds, events, .. })) => {
            assert!(*events > MAX_EVENTS_PER_INSTANT && *rounds < MAX_ROUNDS_PER_INSTANT, "{rounds} {events}");
        }
        other => panic!("expected a livelock, not {other:?}"),
    }
}

#[test]
fn a_group_that_answers_too_few_results_fails_the_run_naming_its_nodes() {
    let s = scenario(LATENCY, "  - {id: a, type: sensor}\n  - {id: b, type: sensor}\n", "");
    let ran = run_groups(&s, vec![vec![0, 1]], Box::new(|_, _, _| send(Vec::new())), true);
    match &ran.outcome.end {
        Err(Stop::Error(e @ EngineError::ResultCount { calls: 2, results: 1, .. })) => {
            assert!(e.to_string().contains("(nodes a, b)"), "{e}");
        }
        other => panic!("expected a result count error, not {other:?}"),
    }
}

/// When the message a sensor with `cpu` sends at t = 0, after a step of
/// `fuel`, leaves (its `send` in the trace), and the compute time counted.
fn sent_after_compute(cpu: &str, fuel: u64) -> (u64, Option<u64>) {
    let s = scenario(LATENCY, &format!("  - {{id: s, type: sensor, cpu: {cpu}}}\n  - {{id: c, type: cloud}}\n"), "");
    let script: Script = Box::new(|id, now, _| match (id, now) {
        ("s", 0) => send(vec![to("c", "x")]),
        _ => send(Vec::new()),
    });
    let fuel: Fuel = Arc::new(move |id, now| if (id, now) == ("s", 0) { fuel } else { 0 });
    let ran = run_fueled(&s, vec![vec![0, 1]], script, false, fuel);
    let send = ran.trace.lines().find(|l| l.contains(r#""event":"send""#)).expect("it sent");
    let at: serde_json::Value = serde_json::from_str(send).unwrap();
    assert_eq!(ran.outcome.compute_us[1], None, "no `cpu:`: no compute time");
    // It leaves at the end of the compute and crosses the 2 ms link as usual.
    let sent_us = at["t_us"].as_u64().unwrap();
    assert_eq!(steps(&ran.calls).last().unwrap(), &format!("{} c [s:x]", sent_us + 2_000));
    (sent_us, ran.outcome.compute_us[0])
}

#[test]
fn a_steps_compute_time_is_its_fuel_over_the_speed_rounded_up_and_its_messages_leave_after_it() {
    assert_eq!(sent_after_compute("{instructions_per_us: 1000}", 2_500_000), (2_500, Some(2_500)));
    assert_eq!(sent_after_compute("{instructions_per_us: 1000}", 2_500_001), (2_501, Some(2_501)), "rounded up");
    assert_eq!(sent_after_compute("{instructions_per_us: 0.5}", 3), (6, Some(6)), "a fraction, exactly");
    assert_eq!(sent_after_compute("{instructions_per_us: 1000}", 0), (0, Some(0)), "no work, no time");
}

#[test]
fn a_doubled_speed_halves_the_compute_time() {
    let (slow, _) = sent_after_compute("{instructions_per_us: 250}", 1_000_000);
    let (fast, _) = sent_after_compute("{instructions_per_us: 500}", 1_000_000);
    assert_eq!((slow, fast), (4_000, 2_000));
}

#[test]
fn a_busy_nodes_inbox_and_wake_ups_wait_and_are_handed_over_at_the_end_in_order() {
    let nodes = "  - {id: s1, type: sensor}\n  - {id: s2, type: sensor}\n  - {id: gw, type: gateway, cpu: {instructions_per_us: 1}}\n";
    let s = scenario(LATENCY, nodes, "");
    let script: Script = Box::new(|id, now, _| match (id, now) {
        ("s1", 0) => Ok(StepOutput { outbox: vec![to("gw", "x")], wake_at_us: Some(3_000) }),
        ("s1", 3_000) => send(vec![to("gw", "y")]),
        ("s2", 0) => Ok(StepOutput { outbox: Vec::new(), wake_at_us: Some(4_000) }),
        ("s2", 4_000) => Ok(StepOutput { outbox: vec![to("gw", "z")], wake_at_us: Some(5_000) }),
        // Due exactly when the compute ends: behind what waited.
        ("s2", 5_000) => send(vec![to("gw", "w")]),
        // Its wake-up falls while it computes.
        ("gw", 2_000) => Ok(StepOutput { outbox: Vec::new(), wake_at_us: Some(3_000) }),
        _ => send(Vec::new()),
    });
    // The step at 2 ms computes 5 ms: busy until 7 ms.
    let fuel: Fuel = Arc::new(|id, now| if (id, now) == ("gw", 2_000) { 5_000 } else { 0 });
    let ran = run_fueled(&s, vec![vec![0, 1, 2]], script, false, fuel);
    assert_eq!(
        steps(&ran.calls),
        [
            "0 s1 []",
            "0 s2 []",
            "0 gw []",
            "2000 gw [s1:x]",
            "3000 s1 []",
            "4000 s2 []",
            "5000 s2 []",
            "7000 gw [s1:y s2:z s2:w]"
        ]
    );
    // Delivered when handed over: the wait is in the latency.
    assert!(
        ran.trace.contains(r#"{"t_us":7000,"event":"deliver","id":1,"dst":"gw","latency_us":4000}"#),
        "{}",
        ran.trace
    );
    assert!(ran.trace.contains(r#"{"t_us":3000,"event":"wake","node":"gw"}"#), "{}", ran.trace);
    assert_eq!(ran.outcome.compute_us, [None, None, Some(5_000)]);
    assert_eq!((ran.outcome.counts.delivered, ran.outcome.counts.in_flight), (4, 0));
}

#[test]
fn what_waits_for_a_node_computing_at_the_end_is_in_flight_and_a_crash_drops_it() {
    let nodes = "  - {id: s, type: sensor}\n  - {id: gw, type: gateway, cpu: {instructions_per_us: 1}}\n";
    let script = || -> Script {
        Box::new(|id, now, _| match (id, now) {
            ("s", 0) => Ok(StepOutput { outbox: vec![to("gw", "a")], wake_at_us: Some(5_000) }),
            ("s", 5_000) => send(vec![to("gw", "b")]),
            ("gw", 2_000) => send(vec![to("s", "never")]),
            _ => send(Vec::new()),
        })
    };
    // The step at 2 ms computes past the end (1 s): "b" waits, and "never" never leaves.
    let fuel: Fuel = Arc::new(|id, now| if (id, now) == ("gw", 2_000) { 2_000_000 } else { 0 });
    let ran = run_fueled(&scenario(LATENCY, nodes, ""), vec![vec![0, 1]], script(), false, Arc::clone(&fuel));
    assert_eq!((ran.outcome.counts.sent, ran.outcome.counts.in_flight), (2, 1));
    assert_eq!(ran.outcome.compute_us[1], Some(2_000_000));
    let crash = "faults:\n  - {crash: gw, at_s: 0.01}\n";
    let ran = run_fueled(&scenario(LATENCY, nodes, crash), vec![vec![0, 1]], script(), false, fuel);
    assert_eq!(ran.outcome.counts.dropped_by_reason.get("crashed_while_held"), Some(&1));
    assert_eq!(ran.outcome.counts.in_flight, 0);
}

#[test]
fn what_waited_for_a_busy_node_that_a_stall_then_delays_is_handed_over_by_the_stall_in_order() {
    let s = scenario(
        LATENCY,
        "  - {id: s, type: sensor}\n  - {id: gw, type: gateway, cpu: {instructions_per_us: 1}}\n",
        "faults:\n  - {stall: gw, at_s: 0.004, until_s: 0.02, delay_us: 500}\n",
    );
    let script: Script = Box::new(|id, now, _| match (id, now) {
        ("s", 0) => Ok(StepOutput { outbox: vec![to("gw", "x")], wake_at_us: Some(2_000) }),
        ("s", 2_000) => Ok(StepOutput { outbox: vec![to("gw", "y")], wake_at_us: Some(3_200) }),
        ("s", 3_200) => send(vec![to("gw", "z")]),
        _ => send(Vec::new()),
    });
    // Busy from 2 ms to 5 ms; "y" waits for it, then the stall (from 4 ms) holds it 0.5 ms more.
    let fuel: Fuel = Arc::new(|id, now| if (id, now) == ("gw", 2_000) { 3_000 } else { 0 });
    let ran = run_fueled(&s, vec![vec![0, 1]], script, false, fuel);
    assert_eq!(
        steps(&ran.calls),
        ["0 s []", "0 gw []", "2000 s []", "2000 gw [s:x]", "3200 s []", "5500 gw [s:y]", "5700 gw [s:z]"]
    );
    assert_eq!((ran.outcome.counts.delivered, ran.outcome.counts.in_flight), (3, 0));
}

#[test]
fn the_default_in_flight_bound_grows_with_the_scenario_past_two_million_nodes() {
    use super::default_max_queued_payload_bytes;
    assert_eq!(default_max_queued_payload_bytes(4), 1 << 30);
    assert_eq!(default_max_queued_payload_bytes(2_097_152), 1 << 30);
    assert_eq!(default_max_queued_payload_bytes(2_097_153), (1 << 30) + 512);
    // Ten million sensors, each with a reading on the wire (about 230 bytes as the bound counts it).
    assert_eq!(default_max_queued_payload_bytes(10_000_000), 5_120_000_000);
    assert_eq!(default_max_queued_payload_bytes(usize::MAX), u64::MAX);
}

#[test]
fn a_part_that_panics_on_the_pool_leaves_the_groups_placed() {
    // The groups are lent to the pool's parts while they run: a part's
    // panic reaches the caller, and the placement still holds every group
    // (to be shut down, its usage read).
    let nodes = format!(
        "  - {{id: a, type: sensor}}\n  - {{id: b, type: sensor}}\n  - {{id: {SUBMIT_PANICS}, type: sensor}}\n  - {{id: d, type: sensor}}\n  - {{id: gw, type: gateway}}\n"
    );
    let s = scenario(LATENCY, &nodes, "");
    for threads in [1, 2] {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let script: Script = Box::new(|_, _, _| send(vec![]));
        let mut placement =
            fake_placement(&s, vec![vec![0, 1], vec![2, 3, 4]], script, false, Arc::new(|_, _| 0), &calls);
        let on = On { threads, interrupt: None };
        let options = options_on(on, &s);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Engine::new(&s, &mut placement, Trace::new(TraceLevel::Off, None), options).run(None)
        }));
        assert!(panicked.is_err(), "threads {threads}");
        assert_eq!(placement.groups.len(), 2, "threads {threads}: every group is still placed");
    }
}
