//! Scripted faults end to end (WASM nodes): each kind's effect, counted
//! by hand from the scenario's parameters; the summary's lost messages,
//! gaps and recoveries; the order of faults against deliveries at one
//! instant; FIFO per link through a partition; same seed, same bytes,
//! whatever the packing and thread count; `--fault-free`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use xedgesim::run::{RunStatus, RunSummary, SandboxMode, Simulation, TraceLevel};
use xedgesim_tests::{first_divergence, read_metrics, repo_root};

/// Runs `yaml` with every trace event, outputs in `dir/out`.
fn run(dir: &Path, yaml: &str, configure: impl FnOnce(Simulation) -> Simulation) -> RunSummary {
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    let sim = Simulation::from_file(&file).unwrap_or_else(|e| panic!("{e}"));
    let report = configure(sim.out_dir(dir.join("out")).cache_dir(Some(dir.join("cache"))).trace(TraceLevel::All))
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    report
}

fn events(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("out/trace.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

fn dropped(report: &RunSummary, reason: &str) -> u64 {
    report.messages.dropped_by_reason.get(reason).copied().unwrap_or(0)
}

/// Sample times (µs) of a sensor of `rate_hz` in `[0, end_us]`: one period after its start at 0.
fn samples(rate_hz: u64, end_us: u64) -> impl Iterator<Item = u64> {
    let period = 1_000_000 / rate_hz;
    (1..).map(move |k| k * period).take_while(move |&t| t <= end_us)
}

#[test]
fn a_gateway_reboot_loses_what_reaches_it_while_down_and_the_cloud_sees_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let report = Simulation::from_file(repo_root().join("scenarios/gateway_reboot.yaml"))
        .unwrap()
        .out_dir(dir.path().join("out"))
        .cache_dir(Some(dir.path().join("cache")))
        .trace(TraceLevel::All)
        .run()
        .unwrap();
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    // From the file: sensors at 1, 2 and 1 Hz, 2 ms to the gateway, which is
    // down from 10 s (before anything at 10 s) until 15 s (restarted before
    // anything at 15 s). A reading is lost when it arrives in [10 s, 15 s).
    let (crash, restart, latency) = (10_000_000u64, 15_000_000u64, 2_000u64);
    let lost: u64 = [1, 2, 1]
        .iter()
        .map(|&rate| samples(rate, 30_000_000).filter(|t| (crash..restart).contains(&(t + latency))).count() as u64)
        .sum();
    assert_eq!(lost, 20);
    assert_eq!(dropped(&report, "node_down"), lost);
    let scripted = report.scripted_faults.as_ref().expect("the scenario has faults");
    assert_eq!(scripted.messages_lost, BTreeMap::from([("crash".to_string(), lost)]));
    let kinds: Vec<(u64, &str)> = scripted.applied.iter().map(|a| (a.time_us, a.kind)).collect();
    assert_eq!(kinds, vec![(crash, "crash"), (restart, "restart")]);

    // The cloud: aggregates leave the gateway when a window closes (5 s
    // windows from its start, at 0 and again at its restart) and take 25 ms
    // plus up to 5 ms of jitter. Windows close at 5 s; at 10 s the gateway
    // is already down; after the restart at 20 and 25 s (30 s lands after the end).
    let events = events(dir.path());
    let sent: Vec<u64> = of(&events, "send")
        .into_iter()
        .filter(|e| e["src"] == "gateway" && e["topic"] == "aggregate")
        .map(|e| e["t_us"].as_u64().unwrap())
        .collect();
    assert_eq!(sent, vec![5_000_000, 20_000_000, 25_000_000, 30_000_000]);
    let deliveries: Vec<u64> = of(&events, "deliver")
        .into_iter()
        .filter(|e| e["dst"] == "cloud")
        .map(|e| e["t_us"].as_u64().unwrap())
        .collect();
    let sink = &scripted.sinks["cloud"];
    assert_eq!(sink.deliveries, deliveries.len() as u64);
    // The longest gap, recomputed from the trace (the end of the run counts).
    let mut longest = (0, 0, 0);
    for pair in deliveries.windows(2) {
        if pair[1] - pair[0] > longest.0 {
            longest = (pair[1] - pair[0], pair[0], pair[1]);
        }
    }
    assert_eq!((sink.longest_gap_us, sink.longest_gap_from_us, sink.longest_gap_until_us), longest);
    // It spans the outage: from the 5 s aggregate (or an alert after it) to the 20 s one.
    assert!(longest.1 < crash && longest.2 > restart, "{longest:?}");
    let [recovery] = sink.recovery.as_slice() else { panic!("{:?}", sink.recovery) };
    assert_eq!((recovery.after.as_str(), recovery.ended_us), ("restart gateway", restart));
    let first_after = *deliveries.iter().find(|&&t| t >= restart).unwrap();
    assert_eq!(recovery.recovered_at_us, Some(first_after));
    assert_eq!(recovery.recovery_us, Some(first_after - restart));
    // Data resumed at the latest with the first window after the restart
    // (5 s + 25 ms + up to 5 ms of jitter), earlier only if an alert came first.
    let aggregate_id = of(&events, "send")
        .into_iter()
        .find(|e| e["topic"] == "aggregate" && e["t_us"] == 20_000_000)
        .map(|e| e["id"].clone())
        .unwrap();
    let aggregate_after = of(&events, "deliver")
        .into_iter()
        .find(|e| e["id"] == aggregate_id)
        .map(|e| e["t_us"].as_u64().unwrap())
        .unwrap();
    assert!((20_025_000..=20_030_000).contains(&aggregate_after), "{aggregate_after}");
    assert!(first_after <= aggregate_after);
    let m = read_metrics(&dir.path().join("out"));
    let get = |node: &str, metric: &str| m[&(node.to_string(), metric.to_string())];
    // The restarted gateway's own count: readings it got since its restart.
    assert_eq!(get("gateway", "windows_closed"), 3.0);
    assert_eq!(get("cloud", "messages_received"), deliveries.len() as f64);
    // The report page lists them too.
    let page = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(page.contains("<table id=\"scripted-faults\"") && page.contains("<table id=\"scripted-sinks\""));
    assert!(page.contains("Messages lost: 20 to crash."), "the page names the lost messages");
}

#[test]
fn fault_free_runs_the_file_without_its_faults_and_same_seed_gives_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let run_file = |name: &str, out: &str, fault_free: bool| {
        Simulation::from_file(repo_root().join("scenarios").join(name))
            .unwrap()
            .out_dir(dir.path().join(out))
            .cache_dir(Some(dir.path().join("cache")))
            .fault_free(fault_free)
            .trace(TraceLevel::All)
            .run()
            .unwrap()
    };
    let free = run_file("gateway_reboot.yaml", "free", true);
    let healthy = run_file("wasm_gateway.yaml", "healthy", false);
    let read = |out: &str| std::fs::read_to_string(dir.path().join(out).join("trace.jsonl")).unwrap();
    // gateway_reboot.yaml is wasm_gateway.yaml with a `faults:` section.
    assert_eq!(first_divergence(&read("free"), &read("healthy")), None);
    assert!(free.fault_free && free.scripted_faults.is_none());
    assert_eq!(free.messages, healthy.messages);
    let faulty = run_file("gateway_reboot.yaml", "faulty", false);
    let again = run_file("gateway_reboot.yaml", "again", false);
    assert_eq!(first_divergence(&read("faulty"), &read("again")), None);
    assert_eq!(faulty.scripted_faults, again.scripted_faults);
    assert!(faulty.messages.delivered < free.messages.delivered);
}

/// One scenario with every kind of fault, for determinism checks.
const EVERY_KIND: &str = r#"
simulation: {duration_s: 20, seed: 5}
network:
  model: latency
  default_latency_us: 3000
  default_jitter_us: 2000
  default_loss_rate: 0.05
nodes:
  - {id: "s{i}", count: 12, type: sensor, config: {sample_rate_hz: 4}}
  - {id: gateway, type: gateway, config: {window_s: 2}}
  - {id: cloud, type: cloud}
faults:
  - {crash: gateway, at_s: 4, until_s: 6.5}
  - {partition: [s0, s1, s2], at_s: 3, until_s: 9}
  - {degrade: {src: gateway, dst: cloud}, at_s: 8, until_s: 16, latency_us: 400000, jitter_us: 100000, loss_rate: 0.9}
  - {stall: cloud, at_s: 10, until_s: 14, delay_us: 700000}
  - {random: crash, type: sensor, count: 6, between_s: [1, 18], down_s: 1.5}
"#;

#[test]
fn every_fault_kind_gives_the_same_bytes_whatever_the_packing_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let runs = [
        (SandboxMode::PerNode, 1),
        (SandboxMode::Shared { nodes_per_instance: 1000 }, 1),
        (SandboxMode::Shared { nodes_per_instance: 5 }, 3),
    ];
    let mut traces = Vec::new();
    let mut summaries = Vec::new();
    for (k, (mode, threads)) in runs.into_iter().enumerate() {
        let d = dir.path().join(k.to_string());
        std::fs::create_dir_all(&d).unwrap();
        let report = run(&d, EVERY_KIND, |s| s.sandbox(mode).threads(threads));
        traces.push(std::fs::read_to_string(d.join("out/trace.jsonl")).unwrap());
        summaries.push(report);
    }
    for (k, trace) in traces.iter().enumerate().skip(1) {
        assert_eq!(first_divergence(&traces[0], trace), None, "run {k}");
        assert_eq!(summaries[0].scripted_faults, summaries[k].scripted_faults);
        assert_eq!(summaries[0].messages, summaries[k].messages);
    }
    let report = &summaries[0];
    let scripted = report.scripted_faults.as_ref().unwrap();
    // Every kind took effect and lost what it loses.
    for kind in ["crash", "restart", "partition", "heal", "degrade", "degrade_end", "stall", "stall_end"] {
        assert!(scripted.applied.iter().any(|a| a.kind == kind), "{kind}: {:?}", scripted.applied);
    }
    for reason in ["node_down", "partition", "degrade", "loss"] {
        assert!(dropped(report, reason) > 0, "{reason}: {:?}", report.messages.dropped_by_reason);
    }
    assert_eq!(scripted.messages_lost["crash"], dropped(report, "node_down"));
    assert_eq!(scripted.messages_lost["partition"], dropped(report, "partition"));
    assert_eq!(scripted.messages_lost["degrade"], dropped(report, "degrade"));
    // Another seed draws other random crashes.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let moved = run(&other, EVERY_KIND, |s| s.seed(6));
    let randoms = |r: &RunSummary| -> Vec<(u64, String)> {
        let s = r.scripted_faults.as_ref().unwrap();
        s.applied
            .iter()
            .filter(|a| a.kind == "crash" && a.target.starts_with('s'))
            .map(|a| (a.time_us, a.target.clone()))
            .collect()
    };
    assert_ne!(randoms(report), randoms(&moved));
}

#[test]
fn random_crashes_fall_in_their_window_on_nodes_of_their_type_and_restart_after_down_s() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = r#"
simulation: {duration_s: 30, seed: 9}
nodes:
  - {id: "s{i}", count: 4, type: sensor}
  - {id: cloud, type: cloud}
faults:
  - {random: crash, type: sensor, count: 3, between_s: [5, 20], down_s: 2}
"#;
    let report = run(dir.path(), yaml, |s| s);
    let scripted = report.scripted_faults.unwrap();
    let crashes: Vec<_> = scripted.applied.iter().filter(|a| a.kind == "crash").collect();
    let restarts: Vec<_> = scripted.applied.iter().filter(|a| a.kind == "restart").collect();
    // Overlapping draws on one node are skipped, never applied twice.
    assert_eq!(crashes.len() as u64 + restarts.len() as u64 + scripted.skipped, 6);
    assert!(!crashes.is_empty());
    for c in &crashes {
        assert!((5_000_000..=20_000_000).contains(&c.time_us) && c.target.starts_with('s'), "{c:?}");
        assert!(restarts.iter().any(|r| r.target == c.target && r.time_us == c.time_us + 2_000_000), "{c:?}");
    }
    // A sensor down for 2 s on the direct network misses exactly the
    // samples due while it is down (it is not stepped), and then starts
    // afresh: its first sample is one period after its restart.
    let events = events(dir.path());
    for c in &crashes {
        let sends: Vec<u64> = of(&events, "send")
            .into_iter()
            .filter(|e| e["src"] == c.target.as_str())
            .map(|e| e["t_us"].as_u64().unwrap())
            .collect();
        assert!(!sends.iter().any(|&t| t >= c.time_us && t <= c.time_us + 2_000_000), "{}: {sends:?}", c.target);
        assert!(sends.contains(&(c.time_us + 3_000_000)), "first sample 1 s after the restart: {sends:?}");
    }
}

#[test]
fn a_partition_drops_what_crosses_it_when_sent_or_when_due_and_keeps_each_link_in_order() {
    let dir = tempfile::tempdir().unwrap();
    // 10 Hz to the cloud over 150 ms with up to 40 ms of jitter (FIFO keeps
    // it in order); the sensor is cut off from 1 s to 2 s.
    let yaml = r#"
simulation: {duration_s: 4}
network: {model: latency, default_latency_us: 150000, default_jitter_us: 40000}
nodes:
  - {id: sensor, type: sensor, config: {sample_rate_hz: 10, destination: cloud}}
  - {id: cloud, type: cloud}
faults:
  - {partition: [sensor], at_s: 1, until_s: 2}
"#;
    let report = run(dir.path(), yaml, |s| s);
    let events = events(dir.path());
    let sends: BTreeMap<u64, (u64, u64)> = of(&events, "send")
        .into_iter()
        .map(|e| {
            let payload: Value = serde_json::from_str(e["payload"].as_str().unwrap()).unwrap();
            (e["id"].as_u64().unwrap(), (e["t_us"].as_u64().unwrap(), payload["sample_id"].as_u64().unwrap()))
        })
        .collect();
    // By send time (the trace has them as they happened: at sending, or on arrival).
    let mut drops: Vec<u64> = of(&events, "drop")
        .into_iter()
        .inspect(|e| assert_eq!(e["reason"], "partition"))
        .map(|e| sends[&e["id"].as_u64().unwrap()].0)
        .collect();
    drops.sort_unstable();
    // Lost when the cut is in force at sending (t in [1, 2)) or on arrival
    // (t + 150 ms + up to 40 ms in [1, 2)): every sample sent from 0.85 s
    // (0.9 s: arriving at 1.05 s or later) up to 2 s; 0.8 s arrives by 0.99 s.
    let expected: Vec<u64> = samples(10, 4_000_000).filter(|&t| t + 150_000 >= 1_000_000 && t < 2_000_000).collect();
    assert_eq!(expected.len(), 11);
    assert_eq!(drops, expected);
    assert_eq!(dropped(&report, "partition"), drops.len() as u64);
    // What gets through arrives in the order sent, before and after the cut.
    let delivered: Vec<u64> = of(&events, "deliver").into_iter().map(|e| sends[&e["id"].as_u64().unwrap()].1).collect();
    assert!(delivered.windows(2).all(|w| w[0] < w[1]), "{delivered:?}");
    assert!(delivered.contains(&20), "the sample sent at the heal (2 s) is delivered: {delivered:?}");
}

#[test]
fn faults_apply_before_deliveries_and_steps_at_their_instant() {
    let dir = tempfile::tempdir().unwrap();
    // Readings reach the gateway at k s + 2 ms; it crashes and restarts at
    // exactly such instants.
    let yaml = r#"
simulation: {duration_s: 8}
network: {model: latency, default_latency_us: 2000}
nodes:
  - {id: sensor, type: sensor}
  - {id: gateway, type: gateway, config: {destination: cloud}}
  - {id: cloud, type: cloud}
faults:
  - {crash: gateway, at_s: 3.002}
  - {restart: gateway, at_s: 5.002}
"#;
    let report = run(dir.path(), yaml, |s| s);
    let events = events(dir.path());
    let at = |t: u64| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["t_us"] == t)
            .map(|e| format!("{} {}", e["event"].as_str().unwrap(), e["reason"].as_str().unwrap_or("")))
            .collect()
    };
    // The reading due as the gateway crashes is dropped: the crash came first.
    assert_eq!(at(3_002_000), vec!["scripted_fault ", "drop node_down"]);
    // The reading due as it restarts is its first step's inbox.
    assert_eq!(at(5_002_000), vec!["scripted_fault ", "deliver ", "wake "]);
    assert_eq!(dropped(&report, "node_down"), 2, "the readings of 3 s and 4 s");
    let m = read_metrics(&dir.path().join("out"));
    // 5, 6 and 7 s (8 s arrives at 8.002 s, after the end).
    assert_eq!(m[&("gateway".to_string(), "readings_received".to_string())], 3.0);
}

#[test]
fn a_degrade_changes_its_link_for_its_interval_only() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = r#"
simulation: {duration_s: 9}
network: {model: latency, default_latency_us: 10000}
nodes:
  - {id: lossy, type: sensor, config: {destination: cloud}}
  - {id: slow, type: sensor, config: {destination: cloud}}
  - {id: cloud, type: cloud}
faults:
  - {degrade: {src: lossy, dst: cloud}, at_s: 3, until_s: 6, loss_rate: 1.0}
  - {degrade: {src: slow, dst: cloud}, at_s: 3, until_s: 6, latency_us: 300000}
"#;
    let report = run(dir.path(), yaml, |s| s);
    let events = events(dir.path());
    let src_of: BTreeMap<u64, (String, u64)> = of(&events, "send")
        .into_iter()
        .map(|e| (e["id"].as_u64().unwrap(), (e["src"].as_str().unwrap().to_string(), e["t_us"].as_u64().unwrap())))
        .collect();
    // Sent at 3, 4 and 5 s: inside [3 s, 6 s).
    let lost: Vec<u64> = of(&events, "drop").into_iter().map(|e| src_of[&e["id"].as_u64().unwrap()].1).collect();
    assert_eq!(lost, vec![3_000_000, 4_000_000, 5_000_000]);
    assert_eq!(dropped(&report, "degrade"), 3);
    let slow: Vec<(u64, u64)> = of(&events, "deliver")
        .into_iter()
        .filter(|e| src_of[&e["id"].as_u64().unwrap()].0 == "slow")
        .map(|e| (src_of[&e["id"].as_u64().unwrap()].1, e["latency_us"].as_u64().unwrap()))
        .collect();
    for (sent, latency) in slow {
        let expected = if (3_000_000..6_000_000).contains(&sent) { 300_000 } else { 10_000 };
        assert_eq!(latency, expected, "sent at {sent}");
    }
    let scripted = report.scripted_faults.unwrap();
    assert_eq!(scripted.messages_lost, BTreeMap::from([("degrade".to_string(), 3)]));
    let recovery = &scripted.sinks["cloud"].recovery;
    assert_eq!(recovery.len(), 2, "one per degrade's end");
    // Both end at 6 s; the first delivery at or after it is a 6 s reading, 10 ms later.
    assert!(recovery.iter().all(|r| r.recovery_us == Some(10_000)), "{recovery:?}");
}

#[test]
fn a_stall_delays_each_step_of_its_node_by_its_delay() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = r#"
simulation: {duration_s: 9}
network: {model: latency, default_latency_us: 10000}
nodes:
  - {id: sensor, type: sensor, config: {destination: cloud}}
  - {id: cloud, type: cloud}
faults:
  - {stall: sensor, at_s: 3, until_s: 6, delay_us: 200000}
  - {stall: cloud, at_s: 7, delay_us: 500000}
"#;
    let report = run(dir.path(), yaml, |s| s);
    let events = events(dir.path());
    let sends: Vec<u64> = of(&events, "send").into_iter().map(|e| e["t_us"].as_u64().unwrap()).collect();
    // The sensor's steps at 3, 4 and 5 s happen 200 ms late; from 6 s on, on time.
    assert_eq!(
        sends,
        vec![1_000_000, 2_000_000, 3_200_000, 4_200_000, 5_200_000, 6_000_000, 7_000_000, 8_000_000, 9_000_000]
    );
    assert_eq!(report.messages.dropped, 0);
    // The cloud, stalled from 7 s, takes in the 7 and 8 s readings 500 ms
    // late: its end-to-end latency (sample to its step) is 10 ms + 500 ms.
    let m = read_metrics(&dir.path().join("out"));
    let get = |metric: &str| m[&("cloud".to_string(), metric.to_string())];
    assert_eq!(get("latency_max_us"), 510_000.0);
    // The 9 s reading arrives at 9.01 s: its step would be at 9.51 s, after the end.
    assert_eq!(get("messages_received"), 8.0);
    let scripted = report.scripted_faults.unwrap();
    let sink = &scripted.sinks["cloud"];
    let [recovery] = sink.recovery.as_slice() else { panic!("{:?}", sink.recovery) };
    assert_eq!((recovery.after.as_str(), recovery.recovery_us), ("stall_end sensor", Some(10_000)));
}

#[test]
fn a_fault_free_run_has_an_output_folder_of_its_own() {
    let file = repo_root().join("scenarios/gateway_reboot.yaml");
    let faulty = Simulation::from_file(&file).unwrap().output_dir();
    let free = Simulation::from_file(&file).unwrap().fault_free(true).output_dir();
    assert_eq!(faulty, Path::new("runs/gateway_reboot-seed42"));
    assert_eq!(free, Path::new("runs/gateway_reboot-seed42-fault-free"));
    // A file without faults keeps its folder either way.
    let healthy = Simulation::from_file(repo_root().join("scenarios/wasm_gateway.yaml")).unwrap();
    assert_eq!(healthy.fault_free(true).output_dir(), Path::new("runs/wasm_gateway-seed42"));
}

#[test]
fn what_a_stall_releases_at_once_respects_the_inbox_bound_in_order() {
    let dir = tempfile::tempdir().unwrap();
    // 10 Hz straight to a cloud whose inbox holds two readings a step. The
    // cloud's steps from 1 s to 1.5 s are held 1 s (released at 2.0 … 2.4 s);
    // what arrives after the stall ends waits behind them, so 11 readings
    // (1.4 s to 2.4 s) come due together at 2.4 s: six steps at 2.4 s.
    let yaml = r#"
simulation: {duration_s: 3}
nodes:
  - {id: sensor, type: sensor, config: {sample_rate_hz: 10, destination: cloud}}
  - {id: cloud, type: cloud, wasm: {max_inbox_bytes: 300}}
faults:
  - {stall: cloud, at_s: 1, until_s: 1.5, delay_us: 1000000}
"#;
    let report = run(dir.path(), yaml, |s| s);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let m = read_metrics(&dir.path().join("out"));
    let get = |metric: &str| m[&("cloud".to_string(), metric.to_string())];
    assert_eq!(get("messages_received"), 30.0, "every reading of 0.1 to 3 s");
    // t = 0; 0.1 … 0.9 s; the held steps of 1.0 … 1.3 s; 2.4 s in six; 2.5 … 3.0 s.
    assert_eq!(get("steps"), (1 + 9 + 4 + 6 + 6) as f64);
    // In order: the cloud's latency is its step time minus the sample time,
    // largest for the reading held longest (1.4 s, handed over at 2.4 s).
    assert_eq!(get("latency_max_us"), 1_000_000.0);
}

#[test]
fn what_reaches_a_node_as_its_held_steps_are_released_waits_behind_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    // As above over 50 ms links: readings reach the cloud at 0.15, 0.25 … s.
    // Held from 1.05 s to 1.45 s, released at 2.05 … 2.45 s; the reading that
    // arrives at 2.05 s, as the first held one is released, waits behind the
    // 1.15 … 1.95 s ones (still held), so the release steps take one reading
    // each and 2.45 s takes eleven (1.45 … 2.45 s), two a step.
    let yaml = r#"
simulation: {duration_s: 3}
network: {model: latency, default_latency_us: 50000}
nodes:
  - {id: sensor, type: sensor, config: {sample_rate_hz: 10, destination: cloud}}
  - {id: cloud, type: cloud, wasm: {max_inbox_bytes: 300}}
faults:
  - {stall: cloud, at_s: 1, until_s: 1.5, delay_us: 1000000}
"#;
    let report = run(dir.path(), yaml, |s| s);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let m = read_metrics(&dir.path().join("out"));
    let get = |metric: &str| m[&("cloud".to_string(), metric.to_string())];
    assert_eq!(get("messages_received"), 29.0, "0.1 to 2.9 s (3 s lands after the end)");
    // t = 0; 0.15 … 0.95 s; 2.05 … 2.35 s one each; 2.45 s in six; 2.55 … 2.95 s.
    assert_eq!(get("steps"), (1 + 9 + 4 + 6 + 5) as f64);
}

#[test]
fn a_timed_restart_does_not_revive_a_node_a_later_crash_keeps_down() {
    let dir = tempfile::tempdir().unwrap();
    // The random crash (one draw, at 5 s, down 5 s) would restart the
    // gateway at 10 s; the explicit crash at 8 s came while it was down,
    // and keeps it down to the end: every reading from 5 s on is lost.
    let report = run(
        dir.path(),
        "simulation: {duration_s: 20, seed: 4}\nnodes:\n  - {id: s, type: sensor, config: {destination: gw}}\n  - {id: gw, type: gateway, config: {destination: c}}\n  - {id: c, type: cloud}\nfaults:\n  - {random: crash, type: gateway, count: 1, between_s: [5, 5], down_s: 5}\n  - {crash: gw, at_s: 8}\n",
        |s| s,
    );
    // Readings at 1..=20 s over a direct network: those at 5..=20 s (16) reach a node that is down.
    assert_eq!(dropped(&report, "node_down"), 16);
    let events = events(dir.path());
    assert!(of(&events, "scripted_fault").iter().all(|e| e["kind"] != "restart"), "no restart took effect");
}

#[test]
fn back_to_back_degrades_in_either_file_order_both_apply() {
    // The second interval starts as the first ends: at that instant the
    // end is applied first, whatever their order in the file.
    let yaml = |first: &str, second: &str| {
        format!(
            "simulation: {{duration_s: 20}}\nnetwork: {{model: latency, default_latency_us: 1000}}\nnodes:\n  - {{id: s, type: sensor, config: {{destination: c}}}}\n  - {{id: c, type: cloud}}\nfaults:\n  - {first}\n  - {second}\n"
        )
    };
    let a = "{degrade: {src: s, dst: c}, at_s: 4.5, until_s: 10.5, latency_us: 100000}";
    let b = "{degrade: {src: s, dst: c}, at_s: 10.5, until_s: 15.5, latency_us: 300000}";
    for (first, second) in [(a, b), (b, a)] {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), &yaml(first, second), |s| s);
        let latencies: BTreeMap<u64, u64> = of(&events(dir.path()), "deliver")
            .iter()
            .map(|e| (e["t_us"].as_u64().unwrap() / 1_000_000, e["latency_us"].as_u64().unwrap()))
            .collect();
        // Readings at 5..=10 s take 100 ms, at 11..=15 s 300 ms, the rest 1 ms.
        for (at_s, latency) in &latencies {
            let expected = match at_s {
                5..=10 => 100_000,
                11..=15 => 300_000,
                _ => 1_000,
            };
            assert_eq!(*latency, expected, "reading delivered at {at_s} s ({first} then {second})");
        }
    }
}

#[test]
fn what_a_stall_holds_counts_as_delivered_only_when_a_step_receives_it_and_a_crash_drops_it() {
    let dir = tempfile::tempdir().unwrap();
    // 10 Hz straight to a cloud (readings reach it as sent, at 0.1 … 3 s),
    // stalled 2 s from 1 s to the end and down from 2 s to 2.5 s. The
    // readings of 0.1 … 0.9 s are received as they come; those of 1.0 …
    // 1.9 s are held (their steps would be at 3.0 … 3.9 s) when the crash
    // takes the cloud; 2.0 … 2.4 s reach it down; 2.5 … 3.0 s reach the
    // restarted cloud, still stalled, and are held past the end.
    let yaml = r#"
simulation: {duration_s: 3}
nodes:
  - {id: sensor, type: sensor, config: {sample_rate_hz: 10, destination: cloud}}
  - {id: cloud, type: cloud}
faults:
  - {stall: cloud, at_s: 1, delay_us: 2000000}
  - {crash: cloud, at_s: 2, until_s: 2.5}
"#;
    let report = run(dir.path(), yaml, |s| s);
    let m = &report.messages;
    assert_eq!((m.sent, m.delivered, m.dropped, m.in_flight), (30, 9, 15, 6));
    assert_eq!(dropped(&report, "crashed_while_held"), 10);
    assert_eq!(dropped(&report, "node_down"), 5);
    let scripted = report.scripted_faults.as_ref().unwrap();
    assert_eq!(scripted.messages_lost, BTreeMap::from([("crash".to_string(), 15)]));

    // The trace agrees: a delivery for each reading a step received, and
    // the held ones dropped at the crash, each once.
    let events = events(dir.path());
    let sent_at: BTreeMap<u64, u64> =
        of(&events, "send").iter().map(|e| (e["id"].as_u64().unwrap(), e["t_us"].as_u64().unwrap())).collect();
    let delivered: Vec<u64> = of(&events, "deliver").iter().map(|e| sent_at[&e["id"].as_u64().unwrap()]).collect();
    assert_eq!(delivered, (1..=9).map(|k| k * 100_000).collect::<Vec<_>>());
    let held: Vec<(u64, u64)> = of(&events, "drop")
        .iter()
        .filter(|e| e["reason"] == "crashed_while_held")
        .map(|e| (e["t_us"].as_u64().unwrap(), sent_at[&e["id"].as_u64().unwrap()]))
        .collect();
    assert_eq!(held, (10..=19).map(|k| (2_000_000, k * 100_000)).collect::<Vec<_>>());

    // The sink's figures count what it received: nothing after 0.9 s, and
    // no recovery after the restart (what reached it then is still held).
    let sink = &scripted.sinks["cloud"];
    assert_eq!(sink.deliveries, 9);
    assert_eq!((sink.longest_gap_from_us, sink.longest_gap_until_us), (900_000, 3_000_000));
    let [recovery] = sink.recovery.as_slice() else { panic!("{:?}", sink.recovery) };
    assert_eq!((recovery.after.as_str(), recovery.recovered_at_us), ("restart cloud", None));
    let metrics = read_metrics(&dir.path().join("out"));
    let get = |metric: &str| metrics[&("cloud".to_string(), metric.to_string())];
    assert_eq!(get("messages_in"), 9.0);
    assert_eq!(get("messages_received"), 0.0, "the restarted cloud received nothing");
}

#[test]
fn what_a_stall_holds_is_dropped_when_a_node_fault_stops_its_node() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = xedgesim_tests::fixture_file(dir.path(), "hostile");
    // The hostile node fails its first step at or after 1.5 s. Stalled
    // 0.5 s from 1 s, its steps of 1.0 … 1.4 s come at 1.5 … 1.9 s: the
    // first (the 1.0 s reading) fails, and the readings of 1.1 … 1.4 s,
    // held for the steps after it, are lost with the node.
    let yaml = format!(
        "simulation: {{duration_s: 3, on_fault: isolate}}\nnodes:\n  - {{id: sensor, type: sensor, config: {{sample_rate_hz: 10, destination: rogue}}}}\n  - {{id: rogue, type: rogue, wasm: {{component: '{}'}}, config: {{mode: error, at_us: 1500000}}}}\nfaults:\n  - {{stall: rogue, at_s: 1, delay_us: 500000}}\n",
        hostile.display()
    );
    let report = run(dir.path(), &yaml, |s| s);
    assert_eq!(report.faults.len(), 1);
    assert_eq!((report.faults[0].time_us, report.faults[0].kind.as_str()), (1_500_000, "model_error"));
    let m = &report.messages;
    // 0.1 … 1.0 s received; 1.1 … 1.4 s held and lost; 1.5 … 3.0 s reach a stopped node.
    assert_eq!((m.sent, m.delivered, m.in_flight), (30, 10, 0));
    assert_eq!(dropped(&report, "stopped_while_held"), 4);
    assert_eq!(dropped(&report, "node_stopped"), 16);
    let events = events(dir.path());
    let lost: Vec<u64> = of(&events, "drop")
        .iter()
        .filter(|e| e["reason"] == "stopped_while_held")
        .map(|e| e["t_us"].as_u64().unwrap())
        .collect();
    assert_eq!(lost, vec![1_500_000; 4]);
}

#[test]
fn crashes_validate_and_run_alike_in_either_file_order() {
    // The gateway is down 5 … 10 s, and crashed again at 10 s: at 10 s the
    // first crash's restart comes before the second crash, whatever the
    // order of the entries, in `validate` as in the run.
    let yaml = |first: &str, second: &str| {
        format!(
            "simulation: {{duration_s: 15}}\nnodes:\n  - {{id: s, type: sensor, config: {{destination: gateway}}}}\n  - {{id: gateway, type: gateway, config: {{destination: c}}}}\n  - {{id: c, type: cloud}}\nfaults:\n  - {first}\n  - {second}\n"
        )
    };
    let later = "{crash: gateway, at_s: 10}";
    let interval = "{crash: gateway, at_s: 5, until_s: 10}";
    let mut runs = Vec::new();
    for (first, second) in [(later, interval), (interval, later)] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("scenario.yaml");
        std::fs::write(&file, yaml(first, second)).unwrap();
        if let Err(e) = xedgesim::scenario::load(&file) {
            panic!("{first} then {second} is refused: {e}");
        }
        let report = run(dir.path(), &yaml(first, second), |s| s);
        let scripted = report.scripted_faults.as_ref().unwrap();
        let applied: Vec<(u64, &str)> = scripted.applied.iter().map(|a| (a.time_us, a.kind)).collect();
        assert_eq!(applied, vec![(5_000_000, "crash"), (10_000_000, "restart"), (10_000_000, "crash")]);
        // Readings at 5 … 15 s reach a gateway that is down.
        assert_eq!(dropped(&report, "node_down"), 11);
        runs.push(std::fs::read_to_string(dir.path().join("out/trace.jsonl")).unwrap());
    }
    assert_eq!(first_divergence(&runs[0], &runs[1]), None);
}

/// A stall on a node with `cpu:`: what the stall released while the node
/// was computing waits for it, and then goes ahead of what the stall held
/// since, so every link stays in order (it came in behind later arrivals).
#[test]
fn a_stall_on_a_computing_node_keeps_each_link_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = r"simulation: {duration_s: 30, seed: 42}
network:
  model: latency
  default_latency_us: 2000
  links:
    - {src: gateway, dst: cloud, latency_us: 0}
nodes:
  - {id: sensor1, type: sensor, config: {sample_rate_hz: 20}}
  - {id: sensor2, type: sensor, config: {sample_rate_hz: 20}}
  - {id: gateway, type: gateway, cpu: {instructions_per_us: 0.5}, config: {window_s: 1}}
  - {id: cloud, type: cloud, cpu: {instructions_per_us: 1}}
faults:
  - {stall: cloud, at_s: 5, until_s: 20, delay_us: 300000}
  - {stall: gateway, at_s: 16, until_s: 25, delay_us: 70000}
";
    run(dir.path(), yaml, |sim| sim);
    let events = events(dir.path());
    let mut link_of = BTreeMap::new();
    let mut sent: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for e in of(&events, "send") {
        let link = (e["src"].as_str().unwrap().to_string(), e["dst"].as_str().unwrap().to_string());
        link_of.insert(e["id"].as_u64().unwrap(), link.clone());
        sent.entry(link).or_default().push(e["id"].as_u64().unwrap());
    }
    let mut delivered: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for e in of(&events, "deliver") {
        let id = e["id"].as_u64().unwrap();
        delivered.entry(link_of[&id].clone()).or_default().push(id);
    }
    assert!(delivered[&("sensor1".to_string(), "gateway".to_string())].len() > 500);
    for (link, ids) in &delivered {
        let mut in_send_order = ids.clone();
        in_send_order.sort_by_key(|id| sent[link].iter().position(|s| s == id));
        assert_eq!(ids, &in_send_order, "link {link:?} delivered out of order");
    }
}
