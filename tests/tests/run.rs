//! `Simulation::run` end to end: determinism, the xEdgeSim baseline's
//! counts, outputs, fault policies and edge cases of the engine.

use std::path::Path;

use xedgesim::run::{RunStatus, Simulation, TraceLevel};
use xedgesim_tests::{first_divergence, fixture_file, read_metrics, repo_root, run_yaml};

fn run_example(name: &str, dir: &Path, seed: Option<u64>, trace: TraceLevel) -> xedgesim::run::RunSummary {
    let mut sim = Simulation::from_file(repo_root().join("scenarios").join(name)).unwrap();
    if let Some(seed) = seed {
        sim = sim.seed(seed);
    }
    sim.out_dir(dir).cache_dir(Some(dir.join("cache"))).trace(trace).run().unwrap()
}

fn trace_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("trace.jsonl")).unwrap()
}

#[test]
fn same_seed_gives_identical_trace_bytes() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_example("wasm_gateway.yaml", a.path(), None, TraceLevel::All);
    run_example("wasm_gateway.yaml", b.path(), None, TraceLevel::All);
    let (ta, tb) = (trace_of(a.path()), trace_of(b.path()));
    assert!(ta.lines().count() > 200, "a real trace");
    if let Some(d) = first_divergence(&ta, &tb) {
        panic!(
            "same seed, different traces; first divergence at {d}\nreproduce with: xedgesim run scenarios/wasm_gateway.yaml --seed 42 --trace all"
        );
    }
}

#[test]
fn another_seed_gives_another_trace() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_example("wasm_gateway.yaml", a.path(), Some(1), TraceLevel::All);
    run_example("wasm_gateway.yaml", b.path(), Some(2), TraceLevel::All);
    let divergence = first_divergence(&trace_of(a.path()), &trace_of(b.path())).expect("seeds matter");
    // Readings differ from the first one on; timing does not.
    assert!(divergence.contains("\"payload\""), "{divergence}");
}

#[test]
fn first_divergence_names_the_first_differing_event() {
    assert_eq!(first_divergence("a\nb\nc\n", "a\nb\nc\n"), None);
    assert_eq!(first_divergence("a\nb\nc\n", "a\nx\nc\n").unwrap(), "line 2: b / x");
    assert_eq!(first_divergence("a\n", "a\nb\n").unwrap(), "line 2: <end of trace> / b");
}

#[test]
fn xedgesim_m0_baseline_counts() {
    let dir = tempfile::tempdir().unwrap();
    let report = run_example("xedgesim_m0_baseline.yaml", dir.path(), None, TraceLevel::Messages);
    assert_eq!(report.status, RunStatus::Finished);
    let m = read_metrics(dir.path());
    let get = |node: &str, metric: &str| m[&(node.to_string(), metric.to_string())];
    for sensor in ["sensor1", "sensor2", "sensor3"] {
        // Readings at 1, 2, ..., 10 s: the run includes its end time.
        assert_eq!(get(sensor, "samples_sent"), 10.0, "{sensor}");
    }
    assert_eq!(get("gateway", "readings_received"), 30.0);
    // Windows close at 5 s and 10 s; the 10 s readings are due for handling
    // 100 µs after the end, so 27 are handled and 3 are pending.
    assert_eq!(get("gateway", "windows_closed"), 2.0);
    assert_eq!(get("gateway", "readings_processed"), 27.0);
    assert_eq!(get("gateway", "readings_pending"), 3.0);
    // No cloud in xEdgeSim's scenario: aggregates stay at the gateway, as there.
    assert_eq!(get("gateway", "aggregates_sent"), 0.0);
    assert_eq!(report.messages.sent, 30);
    assert_eq!(report.messages.delivered, 30);
}

#[test]
fn many_senders_due_at_the_same_instant_arrive_in_one_step_in_send_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from(
        "simulation: {duration_s: 3, seed: 1}\nnodes:\n  - {id: gw, type: gateway, config: {window_s: 1}}\n",
    );
    for i in 0..50 {
        yaml.push_str(&format!("  - {{id: s{i:02}, type: sensor}}\n"));
    }
    let report = run_yaml(dir.path(), &yaml);
    assert_eq!(report.messages.delivered, 150);
    let m = read_metrics(&dir.path().join("out"));
    // Once at 0; each second twice (its window-closing wake-up, then — in the
    // next round at the same instant — the 50 zero-latency readings, all in
    // one step); and 100 µs later to handle them, except after the last.
    assert_eq!(m[&("gw".into(), "steps".into())], 1.0 + 3.0 * 2.0 + 2.0);
    assert_eq!(m[&("gw".into(), "readings_received".into())], 150.0);
    let trace = std::fs::read_to_string(dir.path().join("out/trace.jsonl")).unwrap();
    let delivered: Vec<u64> = trace
        .lines()
        .filter(|l| l.contains("\"deliver\"") && l.contains("\"t_us\":1000000,"))
        .map(|l| l.split("\"id\":").nth(1).unwrap().split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(delivered.len(), 50);
    assert!(delivered.windows(2).all(|w| w[0] < w[1]), "FIFO at one instant: {delivered:?}");
}

#[test]
fn loss_rate_one_drops_everything_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let report = run_yaml(
        dir.path(),
        "simulation: {duration_s: 5}\nnetwork: {model: latency, default_loss_rate: 1.0}\nnodes:\n  - {id: s, type: sensor}\n  - {id: c, type: cloud}\n",
    );
    assert_eq!((report.messages.sent, report.messages.delivered, report.messages.dropped), (5, 0, 5));
    assert_eq!(report.messages.dropped_by_reason["loss"], 5);
    assert_eq!(report.drop_rate, 1.0);
    let trace = std::fs::read_to_string(dir.path().join("out/trace.jsonl")).unwrap();
    assert_eq!(trace.matches("\"reason\":\"loss\"").count(), 5);
}

#[test]
fn zero_latency_links_deliver_at_the_same_instant() {
    let dir = tempfile::tempdir().unwrap();
    let report = run_yaml(
        dir.path(),
        "simulation: {duration_s: 2}\nnetwork: {model: latency, default_latency_us: 0}\nnodes:\n  - {id: s, type: sensor}\n  - {id: c, type: cloud}\n",
    );
    assert_eq!(report.messages.delivered, 2);
    assert_eq!(report.message_latency_us.max, 0);
}

#[test]
fn unreachable_destinations_and_missing_brokers_are_drops_not_silence() {
    let dir = tempfile::tempdir().unwrap();
    // `validate` refuses a declared destination that names no node; a model
    // that declares nothing (the probe) can still send to one at run time:
    // at t = 0, 1 and 2 s.
    let probe = xedgesim_tests::fixture_file(dir.path(), "probe");
    let report = run_yaml(
        dir.path(),
        &format!(
            "simulation: {{duration_s: 2}}\nnodes:\n  - {{id: lonely, type: probe, wasm: {{component: '{}'}}, config: {{destination: nobody}}}}\n  - {{id: pub, type: sensor, config: {{topic: t}}}}\n  - {{id: idle, type: cloud}}\n",
            probe.display()
        ),
    );
    assert_eq!(report.messages.dropped_by_reason["unknown_destination"], 3);
    assert_eq!(report.messages.dropped_by_reason["no_broker"], 2);
    assert_eq!(report.status, RunStatus::Finished, "a node with no links just idles");
}

#[test]
fn publish_subscribe_through_the_broker() {
    let dir = tempfile::tempdir().unwrap();
    run_yaml(
        dir.path(),
        "simulation: {duration_s: 10}\nnodes:\n  - {id: broker, type: broker}\n  - {id: s1, type: sensor, config: {topic: site/t}}\n  - {id: s2, type: sensor, config: {topic: site/t, sample_rate_hz: 2}}\n  - {id: gw, type: gateway, config: {subscribe: site/t}}\n  - {id: cloud, type: cloud}\n",
    );
    let m = read_metrics(&dir.path().join("out"));
    assert_eq!(m[&("broker".into(), "published".into())], 30.0);
    assert_eq!(m[&("gw".into(), "readings_received".into())], 30.0);
    assert_eq!(m[&("cloud".into(), "received_aggregate".into())], 2.0);
}

fn hostile_scenario(dir: &Path, policy: &str) -> String {
    let hostile = fixture_file(dir, "hostile");
    format!(
        "simulation: {{duration_s: 5, on_fault: {policy}}}\nnodes:\n  - {{id: s, type: sensor}}\n  - id: rogue\n    type: rogue\n    wasm: {{component: {}, fuel_per_step: 1000000}}\n    config: {{mode: loop, at_us: 2000000}}\n  - {{id: c, type: cloud}}\n",
        hostile.display()
    )
}

#[test]
fn under_isolate_a_faulting_node_stops_and_the_run_completes() {
    let dir = tempfile::tempdir().unwrap();
    let report = run_yaml(dir.path(), &hostile_scenario(dir.path(), "isolate"));
    assert_eq!(report.status, RunStatus::Finished);
    assert_eq!(report.faults.len(), 1);
    let fault = &report.faults[0];
    assert_eq!((fault.node.as_str(), fault.time_us, fault.kind.as_str()), ("rogue", 2_000_000, "out_of_fuel"));
    let m = read_metrics(&dir.path().join("out"));
    assert_eq!(m[&("c".into(), "messages_received".into())], 5.0, "the rest of the run went on");
    assert_eq!(m[&("rogue".into(), "faulted".into())], 1.0);
}

#[test]
fn under_abort_a_fault_fails_the_run_and_keeps_its_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let report = run_yaml(dir.path(), &hostile_scenario(dir.path(), "abort"));
    assert_eq!(report.status, RunStatus::Failed);
    let reason = report.reason.unwrap();
    assert!(
        reason.starts_with("node 'rogue' ran out of fuel (budget 1000000 for this call) at t = 2.000000 s"),
        "{reason}"
    );
    assert_eq!(report.virtual_time_reached_s, 2.0);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "failed");
    assert!(dir.path().join("out/trace.jsonl").is_file() && dir.path().join("out/metrics.csv").is_file());
}

#[test]
fn outputs_are_complete_files_with_no_temporary_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    run_example("wasm_gateway.yaml", dir.path(), None, TraceLevel::Messages);
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(
        names,
        ["cache", "metrics.csv", "report.html", "series.json", "summary.json", "trace.jsonl", "usage.csv"]
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "finished");
}

#[test]
fn trace_levels() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("trace.jsonl"), "stale").unwrap();
    run_example("wasm_gateway.yaml", dir.path(), None, TraceLevel::Off);
    assert!(!dir.path().join("trace.jsonl").exists(), "off writes no trace, and removes a stale one");
    run_example("wasm_gateway.yaml", dir.path(), None, TraceLevel::Messages);
    let messages = trace_of(dir.path());
    assert!(messages.contains("\"event\":\"send\"") && !messages.contains("\"event\":\"wake\""));
    run_example("wasm_gateway.yaml", dir.path(), None, TraceLevel::All);
    let all = trace_of(dir.path());
    assert!(all.contains("\"event\":\"wake\"") && all.contains("\"payload\":\"{\\\"temperature\\\""));
}

#[test]
fn an_interrupted_run_says_so_and_keeps_its_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sim = Simulation::from_file(repo_root().join("scenarios/wasm_gateway.yaml"))
        .unwrap()
        .out_dir(dir.path())
        .cache_dir(Some(dir.path().join("cache")))
        .interrupt_flag(flag.clone());
    // Stopped once the first node has stepped: after the compile, before the end.
    let sim = sim.on_progress(move |_| flag.store(true, std::sync::atomic::Ordering::Relaxed));
    let report = sim.run().unwrap();
    assert_eq!(report.status, RunStatus::Interrupted);
    let summary = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
    assert!(summary.contains("\"status\": \"interrupted\""), "{summary}");
}

#[test]
fn a_run_stopped_while_compiling_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let e = Simulation::from_file(repo_root().join("scenarios/wasm_gateway.yaml"))
        .unwrap()
        .out_dir(dir.path().join("out"))
        .cache_dir(Some(dir.path().join("cache")))
        .interrupt_flag(flag)
        .run()
        .unwrap_err();
    assert!(e.is_interrupt(), "{e}");
    assert!(e.to_string().starts_with("interrupted while compiling builtin:"), "{e}");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn an_interrupted_runs_throughput_is_over_the_time_it_reached() {
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from("simulation: {duration_s: 100}\nnodes:\n  - {id: cloud, type: cloud}\n");
    for i in 0..200 {
        yaml.push_str(&format!("  - {{id: s{i}, type: sensor, config: {{sample_rate_hz: 10}}}}\n"));
    }
    let file = dir.path().join("many.yaml");
    std::fs::write(&file, yaml).unwrap();
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = flag.clone();
    let report = Simulation::from_file(&file)
        .unwrap()
        .out_dir(dir.path().join("out"))
        .cache_dir(Some(dir.path().join("cache")))
        .trace(TraceLevel::Off)
        .interrupt_flag(flag)
        .on_progress(move |p| stop.store(p.now_us >= 20_000_000, std::sync::atomic::Ordering::Relaxed))
        .run()
        .unwrap();
    assert_eq!(report.status, RunStatus::Interrupted);
    let reached = report.virtual_time_reached_s;
    assert!((20.0..100.0).contains(&reached), "{reached}");
    let expected = report.messages.delivered as f64 / reached;
    assert!((report.throughput_msgs_per_s - expected).abs() < 1e-9, "{} vs {expected}", report.throughput_msgs_per_s);
}

#[test]
fn a_wake_up_after_the_end_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let report = run_yaml(
        dir.path(),
        "simulation: {duration_s: 0.5}\nnodes:\n  - {id: s, type: sensor}\n  - {id: c, type: cloud}\n",
    );
    // The sensor asks to wake at 1 s, after the end: it just never wakes.
    assert_eq!((report.status, report.messages.sent, report.steps), (RunStatus::Finished, 0, 2));
}

#[test]
fn a_message_to_a_stopped_node_is_a_drop_naming_that_node() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = fixture_file(dir.path(), "hostile");
    // The sink faults at 1.5 s; readings after that are dropped at its door.
    let yaml = format!(
        "simulation: {{duration_s: 3, on_fault: isolate}}\nnodes:\n  - {{id: s, type: sensor}}\n  - id: sink\n    type: cloud\n    wasm: {{component: {}}}\n    config: {{mode: panic, at_us: 1500000, period_us: 1000000000}}\n",
        hostile.display()
    );
    let report = run_yaml(dir.path(), &yaml);
    // The 2 s reading reaches the sink, which faults on it; the 3 s one is dropped.
    assert_eq!(report.messages.dropped_by_reason["node_stopped"], 1);
    let trace = std::fs::read_to_string(dir.path().join("out/trace.jsonl")).unwrap();
    let drop = trace.lines().find(|l| l.contains("\"reason\":\"node_stopped\"")).unwrap();
    assert!(drop.contains("\"dst\":\"sink\""), "{drop}");
    let m = read_metrics(&dir.path().join("out"));
    assert_eq!(m[&("s".into(), "messages_dropped".into())], 1.0, "the sender is charged");
}

/// Runs `yaml` (with `{hostile}` the hostile fixture's path) through `configure`.
fn run_hostile(dir: &Path, yaml: &str, configure: impl FnOnce(Simulation) -> Simulation) -> xedgesim::run::RunSummary {
    let hostile = fixture_file(dir, "hostile");
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, yaml.replace("{hostile}", &hostile.display().to_string())).unwrap();
    let sim = Simulation::from_file(&file).unwrap().out_dir(dir.join("out")).cache_dir(Some(dir.join("cache")));
    configure(sim).run().unwrap()
}

#[test]
fn a_node_flooding_itself_at_one_instant_is_stopped_by_the_work_bound_not_after_ten_thousand_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(
        dir.path(),
        "simulation: {duration_s: 1}\nnodes:\n  - id: flood\n    type: hostile\n    wasm: {component: '{hostile}'}\n    config: {mode: self_flood, count: 10000}\n",
        |sim| sim.trace(TraceLevel::Off),
    );
    assert_eq!(report.status, RunStatus::Failed);
    let reason = report.reason.unwrap();
    assert!(reason.contains("without time advancing") && reason.contains("'flood'"), "{reason}");
    // 10,000 messages a round, counted from the second round on (the first
    // round's wake-up was scheduled before the instant): past a million
    // events in round 102.
    assert!(reason.contains("(102 rounds, 1010000 events)"), "{reason}");
}

#[test]
fn payload_bytes_in_flight_are_bounded_naming_the_sender() {
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(
        dir.path(),
        "simulation: {duration_s: 30}\nnetwork: {model: latency, default_latency_us: 5000000}\nnodes:\n  - {id: sink, type: cloud}\n  - id: big\n    type: hostile\n    wasm: {component: '{hostile}'}\n    config: {mode: big_messages, count: 4, target: sink}\n",
        |sim| sim.max_queued_payload_bytes(16 << 20),
    );
    assert_eq!(report.status, RunStatus::Failed);
    let reason = report.reason.unwrap();
    // 4 MiB a second on a 5 s link, each message 1 MiB and 138 bytes (its
    // topic, ids and 128): the 16th is refused at t = 3 s.
    assert!(
        reason.starts_with(
            "messages in flight hold more than 16777216 bytes (payloads, topics and ids, and 128 a message) at t = 3.000000 s: 15730710 of them sent by node 'big'"
        ),
        "{reason}"
    );
}

#[test]
fn a_full_link_buffer_drops_at_the_sender_counted_as_queue_full() {
    let dir = tempfile::tempdir().unwrap();
    // Four messages of 1 MiB each second (t = 0, 1, ..., 5 s) on a link of
    // 1 MiB a second (8,388,608 bit/s: 1 s on the wire each) whose buffer
    // holds 3 MiB. At 0 the first three fit (backlog 0, 1, 2 MiB) and leave
    // at 1, 2 and 3 s; the fourth would make 4 MiB. From 1 s on, each
    // second the link has 2 s (2 MiB) left: one fits, three are dropped.
    // Sent 24; dropped 1 + 5 × 3 = 16; arriving at 1, 2, ..., 8 s, of which
    // 5 by the end and 3 in flight.
    let report = run_hostile(
        dir.path(),
        "simulation: {duration_s: 5}\nnetwork: {model: latency, default_latency_us: 0, default_bandwidth_bps: 8388608, default_queue_bytes: 3145728}\nnodes:\n  - {id: sink, type: cloud}\n  - id: big\n    type: hostile\n    wasm: {component: '{hostile}'}\n    config: {mode: big_messages, count: 4, target: sink}\n",
        |sim| sim,
    );
    assert_eq!(report.status, RunStatus::Finished);
    let m = &report.messages;
    assert_eq!((m.sent, m.delivered, m.dropped, m.in_flight), (24, 5, 16, 3));
    assert_eq!(m.dropped_by_reason.iter().collect::<Vec<_>>(), [(&"queue_full".to_string(), &16)]);
    let trace = std::fs::read_to_string(dir.path().join("out/trace.jsonl")).unwrap();
    let drops: Vec<&str> = trace.lines().filter(|l| l.contains("\"drop\"")).collect();
    assert_eq!(drops.len(), 16);
    assert!(
        drops.iter().all(|l| l.contains("\"reason\":\"queue_full\"") && l.contains("\"dst\":\"sink\"")),
        "{drops:?}"
    );
    // The fourth at 0, then three at each second.
    let at = |t: u64| drops.iter().filter(|l| l.contains(&format!("\"t_us\":{t},"))).count();
    assert_eq!([0, 1, 2, 3, 4, 5].map(|s| at(s * 1_000_000)), [1, 3, 3, 3, 3, 3]);
}

#[test]
fn topics_count_against_the_bound_on_bytes_in_flight() {
    // Empty payloads, the longest legal topics: 64 a second on a 5 s link,
    // 65,670 bytes each with their ids and 128. The 256th passes 16 MiB at
    // t = 3 s: the run stops there instead of holding topics without bound.
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(
        dir.path(),
        "simulation: {duration_s: 30}\nnetwork: {model: latency, default_latency_us: 5000000}\nnodes:\n  - {id: sink, type: cloud}\n  - id: big\n    type: hostile\n    wasm: {component: '{hostile}'}\n    config: {mode: big_topics, count: 64, size: 65535, target: sink}\n",
        |sim| sim.max_queued_payload_bytes(16 << 20).trace(TraceLevel::Off),
    );
    assert_eq!(report.status, RunStatus::Failed);
    let reason = report.reason.unwrap();
    assert!(
        reason.starts_with(
            "messages in flight hold more than 16777216 bytes (payloads, topics and ids, and 128 a message) at t = 3.000000 s: 16745850 of them sent by node 'big'"
        ),
        "{reason}"
    );
}

#[test]
fn the_cloud_takes_the_longest_legal_topics_and_a_longer_one_faults_its_sender() {
    // 200 topics of 65,535 bytes a second reach the cloud (counted, past
    // 256 bytes, as other topics); an 8 MiB topic is refused at its sender.
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(
        dir.path(),
        "simulation: {duration_s: 2.5, on_fault: isolate}\nnodes:\n  - {id: sink, type: cloud}\n  - {id: long, type: hostile, wasm: {component: '{hostile}'}, config: {mode: big_topics, count: 200, size: 65535, target: sink}}\n  - {id: huge, type: hostile, wasm: {component: '{hostile}'}, config: {mode: big_topics, count: 1, size: 8388608, target: sink}}\n",
        |sim| sim.trace(TraceLevel::Off),
    );
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert_eq!(report.faults.len(), 1, "{:?}", report.faults);
    let fault = &report.faults[0];
    assert_eq!((fault.node.as_str(), fault.kind.as_str()), ("huge", "trap"), "{fault:?}");
    assert!(fault.message.contains("a topic of 8388608 bytes; a topic may have at most 65535"), "{}", fault.message);
    let m = read_metrics(&dir.path().join("out"));
    assert_eq!(m[&("sink".into(), "messages_received".into())], 600.0);
    assert_eq!(m[&("sink".into(), "received_other_topics".into())], 600.0);
}

#[test]
fn the_cloud_names_only_topics_whose_metric_name_fits_and_loses_no_metric() {
    // `received_` and a topic of 250 or 251 bytes is past a metric name's
    // 256 bytes: cut there, the two names were one, reported twice (a
    // duplicate_metric fault at finish, every metric of the cloud lost).
    // A topic of 247 bytes is the longest counted by name.
    let dir = tempfile::tempdir().unwrap();
    let mut yaml =
        String::from("simulation: {duration_s: 1.5, on_fault: isolate}\nnodes:\n  - {id: sink, type: cloud}\n");
    for size in [247, 250, 251] {
        yaml.push_str(&format!("  - {{id: t{size}, type: hostile, wasm: {{component: '{{hostile}}'}}, config: {{mode: big_topics, count: 2, size: {size}, target: sink}}}}\n"));
    }
    let report = run_hostile(dir.path(), &yaml, |sim| sim.trace(TraceLevel::Off));
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let m = read_metrics(&dir.path().join("out"));
    // As many from each sender (two a step).
    let each = m[&("sink".into(), "messages_received".into())] / 3.0;
    assert!(each >= 2.0, "{each}");
    assert_eq!(m[&("sink".into(), format!("received_{}", "t".repeat(247)))], each);
    assert_eq!(m[&("sink".into(), "received_other_topics".into())], 2.0 * each);
}

#[test]
fn the_cloud_counts_a_step_of_readings_on_a_thousand_long_topics_alike_within_its_fuel() {
    // Six senders, 9,000 readings each at t = 0, on 2,000 topics of 247
    // bytes alike but for their end: about 16 MiB, one step of the cloud,
    // which counts 1,000 of the topics by name. Its counters, compared a
    // byte at a time, cost more than a message's fuel to look up: the
    // cloud ran out of fuel.
    let dir = tempfile::tempdir().unwrap();
    let mut yaml =
        String::from("simulation: {duration_s: 0.5, on_fault: isolate}\nnodes:\n  - {id: sink, type: cloud}\n");
    for i in 0..6 {
        yaml.push_str(&format!("  - {{id: alike{i}, type: hostile, wasm: {{component: '{{hostile}}'}}, config: {{mode: alike_topics, count: 9000, size: 247, target: sink}}}}\n"));
    }
    let report = run_hostile(dir.path(), &yaml, |sim| sim.trace(TraceLevel::Off));
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let m = read_metrics(&dir.path().join("out"));
    assert_eq!(m[&("sink".into(), "messages_received".into())], 54_000.0);
    // Topic 999 is among the first 1,000 to arrive: 5 readings from each sender.
    assert_eq!(m[&("sink".into(), format!("received_{}000999", "t".repeat(241)))], 30.0);
    assert_eq!(m[&("sink".into(), "received_other_topics".into())], 24_000.0);
}

#[test]
fn the_broker_takes_a_flood_of_subscriptions_and_refuses_past_its_bound() {
    // 2,000 new subscriptions of 4 KB a second: the broker keeps 8 MiB of
    // them and refuses the rest, counted, instead of running out of memory.
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(
        dir.path(),
        "simulation: {duration_s: 5}\nnodes:\n  - {id: broker, type: broker}\n  - {id: subs, type: hostile, wasm: {component: '{hostile}'}, config: {mode: subscribe_flood, count: 2000, size: 4096}}\n",
        |sim| sim.trace(TraceLevel::Off),
    );
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let m = read_metrics(&dir.path().join("out"));
    // 8 MiB at 4,100 bytes a subscription (its topic and the id `subs`).
    assert_eq!(m[&("broker".into(), "subscriptions".into())], 2_046.0);
    assert_eq!(m[&("broker".into(), "subscriptions_refused".into())], 12_000.0 - 2_046.0);
}

#[test]
fn the_broker_takes_many_subscriptions_to_the_longest_topics_alike() {
    // At t = 0, 150 gateways subscribe to one topic of 65,535 bytes and
    // 150 to topics of as many bytes that differ only at their end: legal
    // traffic, 255 subscriptions in a step. Compared as strings a byte at
    // a time, 50 of the first kind ran the broker out of fuel. Its 8 MiB
    // table keeps 127 of them and refuses the rest, counted.
    let dir = tempfile::tempdir().unwrap();
    let shared = "T".repeat(65_535);
    let prefix = "T".repeat(65_532);
    let yaml = format!(
        "simulation: {{duration_s: 2}}\nnodes:\n  - {{id: broker, type: broker}}\n  - {{id: 'same{{i}}', count: 150, type: gateway, config: {{subscribe: '{shared}', destination: cloud}}}}\n  - {{id: 'near{{i}}', count: 150, type: gateway, config: {{subscribe: '{prefix}{{i}}', destination: cloud}}}}\n  - {{id: pub, type: sensor, config: {{topic: '{shared}'}}}}\n  - {{id: cloud, type: cloud}}\n"
    );
    let report = run_hostile(dir.path(), &yaml, |sim| sim.trace(TraceLevel::Off));
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let m = read_metrics(&dir.path().join("out"));
    let subscriptions = m[&("broker".into(), "subscriptions".into())];
    assert_eq!(subscriptions, 127.0);
    assert_eq!(m[&("broker".into(), "subscriptions_refused".into())], 300.0 - 127.0);
    // Each reading reaches every kept subscriber of the shared topic.
    let readings: Vec<f64> =
        (0..150).filter_map(|i| m.get(&(format!("same{i}"), "readings_received".into())).copied()).collect();
    let subscribed = readings.iter().filter(|r| **r > 0.0).count();
    assert!(subscribed > 0);
    assert_eq!(m[&("broker".into(), "forwarded".into())], readings.iter().sum::<f64>());
}

#[test]
fn a_broker_fans_one_large_publish_out_to_twenty_subscribers_one_copy_at_a_time() {
    // 9 MiB to 20 subscribers is 180 MiB: more than the broker's 64 MiB of
    // memory at once, and more than a step's fuel. It goes out over 20
    // steps at the publish's instant, each subscriber getting it whole.
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from(
        "simulation: {duration_s: 2}\nnodes:\n  - {id: broker, type: broker}\n  - {id: pub, type: hostile, wasm: {component: '{hostile}'}, config: {mode: big_publish, count: 9, at_us: 1000000}}\n",
    );
    for i in 0..20 {
        yaml.push_str(&format!(
            "  - {{id: sub{i}, type: hostile, wasm: {{component: '{{hostile}}'}}, config: {{mode: subscribe, target: big}}}}\n"
        ));
    }
    let report = run_hostile(dir.path(), &yaml, |sim| sim.trace(TraceLevel::Off));
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let m = read_metrics(&dir.path().join("out"));
    assert_eq!(m[&("broker".into(), "forwarded".into())], 20.0);
    for i in 0..20 {
        assert_eq!(m[&(format!("sub{i}"), "bytes_in".into())], (9 << 20) as f64, "sub{i}");
    }
}

#[test]
fn a_node_sent_more_than_its_inbox_holds_at_once_gets_it_over_several_steps_not_a_fault() {
    // Four senders send 15 one-MiB messages each to the cloud at once: 60
    // MiB would not fit its 64 MiB memory in one step. It gets them 16 MiB
    // at a time, at the same instant, in order: steps at 0 s and 4 at 1 ms.
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from(
        "simulation: {duration_s: 0.5}\nnetwork: {model: latency, default_latency_us: 1000}\nnodes:\n  - {id: sink, type: cloud}\n",
    );
    for i in 0..4 {
        yaml.push_str(&format!("  - {{id: big{i}, type: hostile, wasm: {{component: '{{hostile}}'}}, config: {{mode: big_messages, count: 15, target: sink}}}}\n"));
    }
    let report = run_hostile(dir.path(), &yaml, |sim| sim.trace(TraceLevel::Messages));
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let m = read_metrics(&dir.path().join("out"));
    assert_eq!(m[&("sink".into(), "messages_in".into())], 60.0);
    assert_eq!(m[&("sink".into(), "steps".into())], 5.0);
    let trace = trace_of(&dir.path().join("out"));
    let delivered: Vec<&str> = trace.lines().filter(|l| l.contains(r#""event":"deliver""#)).collect();
    assert_eq!(delivered.len(), 60);
    assert!(delivered.iter().all(|l| l.starts_with(r#"{"t_us":1000,"#)), "all at the instant they arrived");
    // In send order: message ids 0..60 (ids count sends from 0).
    let ids: Vec<u64> = delivered
        .iter()
        .map(|l| l.split(r#""id":"#).nth(1).unwrap().split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[test]
fn a_broker_fanning_out_one_large_publish_is_not_blamed_for_it() {
    // 9 MiB published once, to two subscribers: 18 MiB out of the broker,
    // past a node's 16 MiB outbox, and no fault of the broker's.
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(
        dir.path(),
        "simulation: {duration_s: 2}\nnodes:\n  - {id: broker, type: broker}\n  - {id: pub, type: hostile, wasm: {component: '{hostile}'}, config: {mode: big_publish, count: 9, at_us: 1000000}}\n  - {id: sub1, type: hostile, wasm: {component: '{hostile}'}, config: {mode: subscribe, target: big}}\n  - {id: sub2, type: hostile, wasm: {component: '{hostile}'}, config: {mode: subscribe, target: big}}\n",
        |sim| sim,
    );
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let m = read_metrics(&dir.path().join("out"));
    assert_eq!(m[&("broker".into(), "forwarded".into())], 2.0);
    for sub in ["sub1", "sub2"] {
        assert_eq!(m[&(sub.into(), "bytes_in".into())], (9 << 20) as f64, "{sub}");
    }
}

#[test]
fn a_superseded_wake_up_is_not_counted_as_an_event() {
    // Direct network (no delay). h wakes every second and re-arms its
    // wake-up at every step; s sends it a reading at 1 s and 2 s.
    // t = 0: wakes of h and s (2). t = 1: wakes of h and s, then the
    // reading (3); h stepped twice, so its wake-up for 2 s is replaced.
    // t = 2: the replaced wake-up is not an event; wakes of h and s, the
    // reading (3). 8 events, 8 steps (2 + 3 + 3).
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(
        dir.path(),
        "simulation: {duration_s: 2.5}\nnodes:\n  - {id: h, type: hostile, wasm: {component: '{hostile}'}, config: {mode: none}}\n  - {id: s, type: sensor, config: {destination: h, sample_rate_hz: 1}}\n",
        |sim| sim,
    );
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert_eq!((report.events, report.steps, report.messages.delivered), (8, 8, 2));
}

#[test]
fn a_fault_in_finish_fails_a_run_under_abort_and_is_recorded_under_isolate() {
    for (policy, status) in [("abort", RunStatus::Failed), ("isolate", RunStatus::Finished)] {
        let dir = tempfile::tempdir().unwrap();
        let report = run_hostile(
            dir.path(),
            &format!(
                "simulation: {{duration_s: 2, on_fault: {policy}}}\nnodes:\n  - {{id: c, type: cloud}}\n  - {{id: s, type: sensor}}\n  - {{id: spin, type: hostile, wasm: {{component: '{{hostile}}', fuel_per_step: 1000000}}, config: {{mode: finish_loop}}}}\n"
            ),
            |sim| sim,
        );
        assert_eq!(report.status, status, "{policy}: {:?}", report.reason);
        assert_eq!(report.faults.len(), 1, "{policy}");
        assert_eq!((report.faults[0].node.as_str(), report.faults[0].kind.as_str()), ("spin", "out_of_fuel"));
        if policy == "abort" {
            assert!(
                report.reason.as_deref().unwrap_or_default().contains("node 'spin' ran out of fuel"),
                "{:?}",
                report.reason
            );
        }
        // The other nodes' metrics are kept either way: readings at 1 s and 2 s
        // (no network section: no delay, so the one sent at the end arrives).
        let m = read_metrics(&dir.path().join("out"));
        assert_eq!(m[&("c".into(), "messages_received".into())], 2.0, "{policy}");
    }
}

#[test]
fn finish_gets_a_budget_that_grows_with_the_messages_a_node_received() {
    // 200 sensors at 10 Hz for 10 s, no network delay: 20,000 readings (0.1
    // … 10 s) reach the sink, whose
    // `finish` does about 10,000 instructions for each, some 200 M in all:
    // twice one step's 100 M, well within the 100 M + 100 k per message.
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from(
        "simulation: {duration_s: 10}\nnodes:\n  - {id: sink, type: hostile, wasm: {component: '{hostile}'}, config: {mode: finish_per_message}}\n",
    );
    for i in 0..200 {
        yaml.push_str(&format!("  - {{id: s{i}, type: sensor, config: {{destination: sink, sample_rate_hz: 10}}}}\n"));
    }
    let report = run_hostile(dir.path(), &yaml, |sim| sim.trace(TraceLevel::Off));
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    assert_eq!(report.messages.delivered, 20_000);
    let usage = xedgesim_tests::read_usage(&dir.path().join("out"));
    assert!(usage[&("sink".into(), "fuel_used".into())] > 150e6, "{usage:?}");
}

#[test]
fn non_finite_metrics_stay_visible_in_the_summary() {
    // Two sinks: the built-in cloud, and one reporting NaN and +inf. The
    // worst over clouds keeps both; JSON, having no NaN, gets their names.
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(
        dir.path(),
        "simulation: {duration_s: 3}\nnodes:\n  - {id: s, type: sensor}\n  - {id: good, type: cloud}\n  - {id: broken, type: cloud, wasm: {component: '{hostile}'}, config: {mode: nan_metrics}}\n",
        |sim| sim,
    );
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap()).unwrap();
    let e2e = &summary["end_to_end_latency_us"];
    assert_eq!(e2e["p50"], "NaN", "{e2e}");
    assert_eq!(e2e["max"], "inf", "{e2e}");
    let csv = std::fs::read_to_string(dir.path().join("out/metrics.csv")).unwrap();
    assert!(
        csv.contains("broken,model,latency_p50_us,NaN\n") && csv.contains("broken,model,latency_max_us,inf\n"),
        "{csv}"
    );
}

#[test]
fn a_model_reporting_one_metric_name_twice_faults_naming_the_node_and_the_name() {
    let yaml = |policy: &str| {
        format!(
            "simulation: {{duration_s: 2, on_fault: {policy}}}\nnodes:\n  - {{id: s, type: sensor, config: {{destination: twice}}}}\n  - {{id: twice, type: tally, wasm: {{component: '{{hostile}}'}}, config: {{mode: duplicate_metrics}}}}\n"
        )
    };
    // Isolated: the fault is recorded and none of the node's values is kept.
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(dir.path(), &yaml("isolate"), |sim| sim);
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    let [fault] = report.faults.as_slice() else { panic!("{:?}", report.faults) };
    assert_eq!((fault.node.as_str(), fault.time_us, fault.kind.as_str()), ("twice", 2_000_000, "duplicate_metric"));
    assert!(
        fault.message.starts_with(
            "node 'twice' reported one metric name twice from `finish` at t = 2.000000 s: 'received' comes 2 times among its 3 metrics"
        ),
        "{}",
        fault.message
    );
    let m = read_metrics(&dir.path().join("out"));
    assert!(!m.contains_key(&("twice".into(), "received".into())), "no value passes for the metric");
    assert_eq!(m[&("twice".into(), "faulted".into())], 1.0);
    assert!(report.model_metrics["tally"].metrics.is_empty(), "{:?}", report.model_metrics);
    // Under abort (the default), the run fails saying so.
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(dir.path(), &yaml("abort"), |sim| sim);
    assert_eq!(report.status, RunStatus::Failed);
    assert!(report.reason.as_deref().unwrap_or("").contains("'received' comes 2 times"), "{:?}", report.reason);
}

/// A metric's name with terminal controls reached metrics.csv raw (`cat`
/// ran the escape); every output keeps it escaped, as the table shows it.
#[test]
fn a_metric_name_with_terminal_controls_is_kept_escaped_in_every_output() {
    let yaml = "simulation: {duration_s: 2}\nnodes:\n  - {id: s, type: sensor, config: {destination: loud}}\n  - {id: loud, type: tally, wasm: {component: '{hostile}'}, config: {mode: control_metric}}\n";
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(dir.path(), yaml, |sim| sim);
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    let escaped = r#"steps\u{1b}]0;owned\u{7}\n"fake",9"#;
    let csv = std::fs::read(dir.path().join("out/metrics.csv")).unwrap();
    assert!(!csv.iter().any(|&b| b == 0x1b || b == 0x07), "no control byte in metrics.csv");
    assert!(String::from_utf8_lossy(&csv).contains(&escaped.replace('"', "\"\"")), "the name, escaped and quoted");
    assert!(report.model_metrics["tally"].metrics.contains_key(escaped), "{:?}", report.model_metrics);
}

#[test]
fn a_model_reporting_a_metric_under_the_engines_name_faults_instead_of_replacing_the_engines_count() {
    // `host.messages_in` is the engine's count, compared by `equiv` beside
    // the model's metrics: the model's value silently replaced it there.
    let yaml = "simulation: {duration_s: 2, on_fault: isolate}\nnodes:\n  - {id: s, type: sensor, config: {destination: posing}}\n  - {id: posing, type: tally, wasm: {component: '{hostile}'}, config: {mode: host_metric}}\n";
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(dir.path(), yaml, |sim| sim.record_deliveries(true));
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    let [fault] = report.faults.as_slice() else { panic!("{:?}", report.faults) };
    assert_eq!((fault.node.as_str(), fault.kind.as_str()), ("posing", "duplicate_metric"));
    assert!(
        fault.message.contains("'host.messages_in' is named as the engine's own counts are (host.…)"),
        "{}",
        fault.message
    );
    // What equivalence compares is the engine's count: 2 readings in 2 s.
    assert_eq!(report.node_metrics["posing"]["host.messages_in"], 2.0, "{:?}", report.node_metrics["posing"]);
}

#[test]
fn preparation_is_timed_apart_from_the_run_and_the_event_rate_is_the_runs_alone() {
    let dir = tempfile::tempdir().unwrap();
    // A cold cache: the built-in components are compiled before the first event.
    let started = std::time::Instant::now();
    let report = run_example("wasm_gateway.yaml", dir.path(), None, TraceLevel::Off);
    let elapsed = started.elapsed().as_secs_f64();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap()).unwrap();
    let seconds = |field: &str| summary[field].as_f64().unwrap_or_else(|| panic!("{field} in {summary}"));
    let (prepare, run) = (seconds("wall_prepare_s"), seconds("wall_duration_s"));
    assert!(prepare > 0.0 && run > 0.0, "{prepare} {run}");
    // Two parts of the call, one after the other.
    assert!(prepare + run <= elapsed, "{prepare} + {run} > {elapsed}");
    assert_eq!(report.wall_events_per_s, report.events as f64 / report.wall_duration_s);
    // serde_json reads a float back to within one unit in the last place
    // (it is built without `float_roundtrip`), so the file's is compared so.
    let (in_file, computed) = (seconds("wall_events_per_s"), report.events as f64 / run);
    assert!((in_file - computed).abs() <= computed * 1e-12, "{in_file} against {computed}");
    let table = report.to_string();
    let line = table.lines().find(|l| l.starts_with("wall time")).unwrap();
    assert!(line.ends_with(&format!("after {prepare:.3} s preparing (builds, compiling, containers)")), "{line}");
}

#[test]
fn lines_logged_in_finish_reach_the_trace() {
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(
        dir.path(),
        "simulation: {duration_s: 1}\nnodes:\n  - id: quiet\n    type: hostile\n    wasm: {component: '{hostile}'}\n    config: {mode: finish_log}\n",
        |sim| sim.trace(TraceLevel::All),
    );
    assert_eq!(report.status, RunStatus::Finished);
    let trace = trace_of(&dir.path().join("out"));
    assert!(trace.contains("finishing after all"), "{trace}");
}

#[test]
fn an_unterminated_last_line_reaches_the_trace_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(
        dir.path(),
        "simulation: {duration_s: 2}\nnodes:\n  - id: terse\n    type: hostile\n    wasm: {component: '{hostile}'}\n    config: {mode: unterminated}\n",
        |sim| sim.trace(TraceLevel::All),
    );
    assert_eq!(report.status, RunStatus::Finished);
    let trace = trace_of(&dir.path().join("out"));
    // Three steps (0, 1 and 2 s) print without a newline: one line, flushed when the run ends.
    assert!(trace.contains("no newline at 0no newline at 1000000no newline at 2000000"), "{trace}");
}

#[test]
fn a_scenario_built_in_code_is_checked_before_it_runs_and_its_strings_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let base = Simulation::from_file(repo_root().join("scenarios/wasm_gateway.yaml")).unwrap().scenario().clone();
    // A link to a node that does not exist: an error, not a panic.
    let mut ghost = base.clone();
    let mut link = ghost.network.links[0].clone();
    link.dst = "ghost".into();
    ghost.network.links.push(link);
    let e = Simulation::new(ghost).out_dir(dir.path().join("a")).run().unwrap_err();
    assert!(e.to_string().starts_with("the scenario cannot run: a link's dst 'ghost' is not a node"), "{e}");
    let mut twice = base.clone();
    twice.nodes[1].id = twice.nodes[0].id.clone();
    let e = Simulation::new(twice).out_dir(dir.path().join("b")).run().unwrap_err();
    assert!(e.to_string().contains("node id 'sensor1' is used twice"), "{e}");
    // Ids a file would refuse still make a valid trace: every string is escaped.
    let mut odd = base;
    odd.nodes[0].id = "sensor \"1\"\n".into();
    let out = dir.path().join("c");
    let report = Simulation::new(odd)
        .out_dir(&out)
        .cache_dir(Some(dir.path().join("cache")))
        .trace(TraceLevel::All)
        .run()
        .unwrap();
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    let trace = trace_of(&out);
    for line in trace.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    assert!(trace.contains(r#""src":"sensor \"1\"\n""#), "the odd id, escaped");
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(csv.contains("\"sensor \"\"1\"\"\n\",host,steps,"), "quoted per RFC 4180: {csv}");
}

#[test]
fn an_inbox_split_over_many_rounds_is_not_taken_for_a_livelock() {
    // 10,001 readings reach the sink at 1 s; its inbox holds one at a time:
    // 10,001 rounds at one instant, each a step, none of them stuck.
    let dir = tempfile::tempdir().unwrap();
    let report = run_hostile(
        dir.path(),
        "simulation: {duration_s: 1}\nnodes:\n  - {id: sink, type: cloud, wasm: {max_inbox_bytes: 1}}\n  - {id: \"s{i}\", count: 10001, type: sensor}\n",
        |sim| sim.trace(TraceLevel::Off),
    );
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert_eq!(report.messages.delivered, 10_001);
    let m = read_metrics(&dir.path().join("out"));
    assert_eq!(m[&("sink".into(), "steps".into())], 10_002.0, "one step at 0 s, then one per reading");
}

#[test]
fn the_native_baseline_does_the_same_work_as_wasm_to_the_byte() {
    // Native nodes read the same virtual time and draw from the same
    // per-node streams as their components: the benchmark's two sides
    // compute the same thing.
    for file in ["scenarios/wasm_gateway.yaml", "scenarios/many_sensors.yaml", "scenarios/xedgesim_m0_baseline.yaml"] {
        let dir = tempfile::tempdir().unwrap();
        for (side, native) in [("wasm", false), ("native", true)] {
            let report = Simulation::from_file(repo_root().join(file))
                .unwrap()
                .native_models(native)
                .out_dir(dir.path().join(side))
                .cache_dir(Some(dir.path().join("cache")))
                .run()
                .unwrap();
            assert_eq!(report.status, RunStatus::Finished, "{file} {side}: {:?}", report.reason);
        }
        for name in ["trace.jsonl", "metrics.csv"] {
            let a = std::fs::read_to_string(dir.path().join("wasm").join(name)).unwrap();
            let b = std::fs::read_to_string(dir.path().join("native").join(name)).unwrap();
            assert!(a == b, "{file} {name}: first divergence {:?}", first_divergence(&a, &b));
        }
    }
}

#[test]
fn hostile_nodes_fault_alike_on_worker_threads() {
    // 40 nodes due at t = 0, so stepped on the pool: stack overflows,
    // traps and fuel exhaustion are caught there as on the engine's thread.
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from("simulation: {duration_s: 2, on_fault: isolate}\nnodes:\n  - {id: c, type: cloud}\n");
    for i in 0..40 {
        let mode = ["recurse", "panic", "loop", "none"][i % 4];
        yaml.push_str(&format!(
            "  - {{id: h{i}, type: hostile, wasm: {{component: '{{hostile}}', fuel_per_step: 2000000}}, config: {{mode: {mode}}}}}\n"
        ));
    }
    let faults = |threads: usize| {
        let run_dir = dir.path().join(threads.to_string());
        std::fs::create_dir_all(&run_dir).unwrap();
        let report = run_hostile(&run_dir, &yaml, |sim| sim.threads(threads));
        assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
        report.faults.iter().map(|f| format!("{} {} {}", f.node, f.time_us, f.kind)).collect::<Vec<_>>()
    };
    let serial = faults(1);
    assert_eq!(serial.len(), 30, "{serial:?}");
    assert!(serial.iter().any(|f| f.ends_with("stack_overflow")), "{serial:?}");
    assert_eq!(faults(2), serial);
}

#[test]
fn the_native_baseline_refuses_a_node_with_a_cpu_it_could_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("computed.yaml");
    std::fs::write(&file, "nodes:\n  - {id: s, type: sensor}\n  - {id: gw, type: gateway, cpu: edge_gateway}\n")
        .unwrap();
    let run = |native: bool| {
        Simulation::from_file(&file)
            .unwrap()
            .native_models(native)
            .out_dir(dir.path().join(if native { "native" } else { "wasm" }))
            .cache_dir(Some(dir.path().join("cache")))
            .run()
    };
    let e = run(true).expect_err("refused").to_string();
    assert!(e.contains("node 'gw' has `cpu:`") && e.contains("without `--native`"), "{e}");
    assert_eq!(run(false).unwrap().status, RunStatus::Finished);
}
