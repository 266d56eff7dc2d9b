//! Docker nodes against a real engine: the example scenarios end to end,
//! xEdgeSim's line protocol, every container fault kind under both fault
//! policies, and that no container outlives its run. Without an engine
//! these tests fail loudly (see `docker_engine`).

use std::collections::BTreeMap;
use std::path::Path;

use xedgesim::run::{RunStatus, RunSummary, Simulation, TraceLevel};
use xedgesim_tests::{
    containers_of_node, docker_engine, first_divergence, node_name_lock, read_metrics, read_usage, repo_root, run_label,
};

/// Runs `yaml` (with `{root}` replaced by the workspace root) from `dir`.
fn run(dir: &Path, yaml: &str) -> RunSummary {
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, yaml.replace("{root}", &repo_root().to_string_lossy())).unwrap();
    Simulation::from_file(&file)
        .unwrap_or_else(|e| panic!("{e}"))
        .out_dir(dir.join("out"))
        .cache_dir(Some(dir.join("cache")))
        .trace(TraceLevel::All)
        .run_label(run_label())
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The fault `report` records for `node` (the test fails without one).
fn fault_of<'a>(report: &'a RunSummary, node: &str) -> &'a xedgesim::run::FaultRecord {
    report.faults.iter().find(|f| f.node == node).unwrap_or_else(|| panic!("no fault for {node}: {:?}", report.faults))
}

fn run_file(file: &str, out: &Path) -> RunSummary {
    Simulation::from_file(repo_root().join(file))
        .unwrap_or_else(|e| panic!("{e}"))
        .out_dir(out)
        .run_label(run_label())
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_docker_gateway_behaves_as_its_wasm_model_byte_for_byte() {
    let Some(engine) = docker_engine() else { return };
    let _one_at_a_time = node_name_lock();
    let dir = tempfile::tempdir().unwrap();
    let docker = run_file("scenarios/docker_gateway.yaml", &dir.path().join("docker"));
    let wasm = run_file("scenarios/wasm_gateway.yaml", &dir.path().join("wasm"));
    assert_eq!(docker.status, RunStatus::Finished, "{:?}", docker.reason);
    assert!(docker.faults.is_empty(), "{:?}", docker.faults);
    // The same gateway code, in a container and as a component: same trace.
    let a = std::fs::read_to_string(dir.path().join("docker/trace.jsonl")).unwrap();
    let b = std::fs::read_to_string(dir.path().join("wasm/trace.jsonl")).unwrap();
    assert!(first_divergence(&a, &b).is_none(), "first divergence: {:?}", first_divergence(&a, &b));
    assert_eq!(docker.messages, wasm.messages);
    assert!(!docker.deterministic && wasm.deterministic);
    assert!(docker.nondeterminism.as_deref().is_some_and(|r| r.contains("gateway")), "{:?}", docker.nondeterminism);
    assert!(docker.images["gateway"].starts_with("sha256:"), "{:?}", docker.images);
    let metrics = read_metrics(&dir.path().join("docker"));
    let key = |m: &str| ("gateway".to_string(), m.to_string());
    assert_eq!(metrics[&key("readings_processed")], metrics[&key("readings_received")]);
    let usage = read_usage(&dir.path().join("docker"));
    assert!(usage[&key("round_trip_us_total")] > 0.0);
    assert!(usage.contains_key(&key("cpu_time_us")), "the engine reports CPU time");
    assert!(!usage.contains_key(&key("fuel_used")), "no fuel outside WASM");
    assert!(!metrics.contains_key(&key("round_trip_us_total")), "costs are not results");
    assert!(containers_of_node(&engine, "gateway").is_empty(), "the container was removed");
}

#[test]
fn the_hybrid_example_runs_wasm_and_docker_nodes_together() {
    let Some(engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let report = run_file("scenarios/hybrid.yaml", dir.path());
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let metrics = read_metrics(dir.path());
    // The containerised gateway got the WASM sensors' readings through the WASM broker...
    assert!(metrics[&("edge-gw".to_string(), "readings_received".to_string())] > 40.0, "{metrics:?}");
    // ...and the WASM cloud its aggregates (2 s windows over 20 s).
    assert!(metrics[&("cloud".to_string(), "messages_in".to_string())] >= 9.0, "{metrics:?}");
    assert!(containers_of_node(&engine, "edge-gw").is_empty());
}

#[test]
fn an_xedgesim_protocol_container_runs_under_the_adapter() {
    let Some(engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let report = run(
        dir.path(),
        r#"
simulation: {duration_s: 6, seed: 3, time_quantum_us: 10000}
network: {model: latency, default_latency_us: 2000}
nodes:
  - {id: s1, type: sensor, port: 5001}
  - {id: s2, type: sensor, port: 5002}
  - id: adapter-gw
    type: gateway
    implementation: docker
    port: 5003
    config: {window_s: 2}
    docker:
      build_context: {root}/containers/xedgesim-adapter
      build_command: ../build-static.sh xedgesim-container-adapter adapter
      protocol: xedgesim-adapter
  - {id: cloud, type: cloud}
"#,
    );
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let metrics = read_metrics(&dir.path().join("out"));
    let get = |node: &str, m: &str| metrics[&(node.to_string(), m.to_string())];
    // Stepped on the 10 ms grid over [0, 6 s] (601 steps) and at the 5
    // instants readings arrive between grid points (1.002 … 5.002 s: both
    // sensors sample at 1 … 6 s, 2 ms away; the 6 s readings are in flight).
    assert_eq!(get("adapter-gw", "steps"), 606.0);
    assert_eq!(get("adapter-gw", "messages_in"), 10.0, "5 readings from each sensor");
    // Windows close at 2, 4 and 6 s; each aggregate crosses the network to the cloud.
    assert_eq!(get("adapter-gw", "messages_out"), 3.0);
    assert_eq!(get("cloud", "messages_in"), 2.0, "the 6 s aggregate is still in flight at the end");
    let trace = std::fs::read_to_string(dir.path().join("out/trace.jsonl")).unwrap();
    assert!(trace.contains(r#""topic":"aggregate""#), "events map to messages with their type as topic");
    assert!(containers_of_node(&engine, "adapter-gw").is_empty());
}

/// Every way a container can misbehave, in one run under `isolate`.
#[test]
fn each_container_fault_names_its_node_time_and_kind_and_isolate_lets_the_run_finish() {
    let Some(engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let hostile = |id: &str, mode: &str| {
        format!(
            "  - id: {id}\n    type: hostile\n    implementation: docker\n    docker:\n      build_context: {{root}}/containers/hostile\n      build_command: ../build-static.sh xedgesim-container-hostile hostile\n      environment: {{HOSTILE: {mode}}}\n      step_timeout_ms: 1500\n      max_frame_bytes: 65536\n"
        )
    };
    let mut yaml = String::from(
        "simulation: {duration_s: 3, seed: 1, on_fault: isolate}\nnetwork: {model: direct}\nnodes:\n  - {id: feeder, type: sensor, config: {destination: f-double}}\n  - {id: feeder2, type: sensor, config: {destination: f-echo}}\n",
    );
    for (id, mode) in [
        ("f-exit-start", "exit_at_start"),
        ("f-exit-step", "exit_on_step"),
        ("f-hang", "hang_on_step"),
        ("f-garbage", "garbage"),
        ("f-oversized", "oversized"),
        ("f-wrong", "wrong_reply"),
        ("f-double", "double_reply"),
        ("f-unknown", "unknown_field"),
        ("f-config", "bad_config"),
        ("f-echo", "echo"),
    ] {
        yaml.push_str(&hostile(id, mode));
    }
    yaml.push_str(
        "  - id: f-missing\n    type: hostile\n    implementation: docker\n    docker: {image: '127.0.0.1:9/xedgesim/no-such-image:1'}\n",
    );
    yaml.push_str(
        "  - id: f-build\n    type: hostile\n    implementation: docker\n    docker:\n      build_context: {root}/containers/hostile\n      build_command: \"echo compiling; echo 'error: linker exploded' >&2; exit 3\"\n",
    );
    let report = run(dir.path(), &yaml);
    assert_eq!(report.status, RunStatus::Finished, "isolate: the rest of the run completes; {:?}", report.reason);
    let fault = |node: &str| fault_of(&report, node);
    let expect = |node: &str, kind: &str, time_us: u64, needles: &[&str]| {
        let f = fault(node);
        assert_eq!((f.kind.as_str(), f.time_us), (kind, time_us), "{node}: {}", f.message);
        assert!(f.message.contains(&format!("node '{node}'")), "{}", f.message);
        for needle in needles {
            assert!(f.message.contains(needle), "{node}: expected {needle:?} in:\n{}", f.message);
        }
    };
    expect("f-exit-start", "container_exited", 0, &["exited with code 3", "exiting before the handshake"]);
    expect("f-exit-step", "container_exited", 0, &["exited with code 7", "sensor table corrupt", "stderr"]);
    expect("f-hang", "timeout", 0, &["did not answer within 1500 ms", "step_timeout_ms"]);
    expect("f-garbage", "protocol", 0, &["not a valid reply to `step`", "`this is not json`"]);
    expect("f-oversized", "protocol", 0, &["past the limit (`docker.max_frame_bytes`)", "{\"op\":\"output\""]);
    expect("f-wrong", "protocol", 0, &["answered `step` with `ready`"]);
    // Found while the host waits for the reply's stderr line, at the
    // reply's own time, if it arrives first (a race the container's two
    // streams decide); else before the next request, or as the next step's
    // answer naming the wrong step: at the next step.
    let double = fault("f-double");
    assert!(
        double.kind == "protocol" && [0, 1_000_000].contains(&double.time_us),
        "f-double: {} at {}: {}",
        double.kind,
        double.time_us,
        double.message
    );
    assert!(double.message.contains("(a second reply?)"), "{}", double.message);
    expect("f-unknown", "protocol", 0, &["unknown field `wake_at`"]);
    expect("f-config", "config", 0, &["config key 'threshold' is required"]);
    // Pulled from a registry on a closed local port: no traffic leaves the machine.
    expect(
        "f-missing",
        "image_missing",
        0,
        &["127.0.0.1:9/xedgesim/no-such-image:1", "could not be pulled", "docker load"],
    );
    expect("f-build", "image_build", 0, &["error: linker exploded", "exit status: 3"]);
    assert!(report.faults.iter().all(|f| f.node != "f-echo"), "{:?}", report.faults);
    let metrics = read_metrics(&dir.path().join("out"));
    assert_eq!(metrics[&("f-echo".to_string(), "messages_in".to_string())], 3.0, "the healthy container ran on");
    // The echo container's stderr reached the trace, at the virtual time of its step.
    let trace = std::fs::read_to_string(dir.path().join("out/trace.jsonl")).unwrap();
    assert!(trace.contains("hostile: step 2 at 1000000 with 1 messages"), "stderr is the node's log");
    for node in ["f-exit-start", "f-exit-step", "f-hang", "f-garbage", "f-double", "f-echo"] {
        assert!(containers_of_node(&engine, node).is_empty(), "{node}'s container was removed");
    }
}

#[test]
fn under_abort_a_container_fault_fails_the_run_and_removes_every_container() {
    let Some(engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let report = run(
        dir.path(),
        r#"
simulation: {duration_s: 2, seed: 1}
nodes:
  - {id: a-sensor, type: sensor, config: {destination: a-echo}}
  - id: a-echo
    type: hostile
    implementation: docker
    docker:
      build_context: {root}/containers/hostile
      build_command: ../build-static.sh xedgesim-container-hostile hostile
  - id: a-garbage
    type: hostile
    implementation: docker
    docker:
      build_context: {root}/containers/hostile
      build_command: ../build-static.sh xedgesim-container-hostile hostile
      environment: {HOSTILE: garbage}
"#,
    );
    assert_eq!(report.status, RunStatus::Failed);
    let reason = report.reason.unwrap();
    assert!(reason.contains("node 'a-garbage' broke the container protocol at t = 0.000000 s"), "{reason}");
    assert!(reason.contains("docs/container-protocol.md"), "{reason}");
    assert!(dir.path().join("out/summary.json").exists(), "outputs of a failed run are written");
    for node in ["a-echo", "a-garbage"] {
        assert!(containers_of_node(&engine, node).is_empty(), "{node}'s container was removed");
    }
}

#[test]
fn without_an_engine_docker_nodes_fault_naming_the_endpoint_and_the_fix() {
    // Needs no engine: it is about not having one.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.yaml");
    let yaml = "simulation: {duration_s: 1}\nnodes:\n  - {id: s, type: sensor}\n  - {id: g, type: gateway, implementation: docker, docker: {image: 'x:1'}}\n";
    std::fs::write(&file, yaml).unwrap();
    let report = Simulation::from_file(&file)
        .unwrap()
        .out_dir(dir.path().join("out"))
        .docker_host(Some("unix:///nonexistent/docker.sock".into()))
        .run()
        .unwrap();
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(report.faults[0].kind, "engine_unreachable");
    let reason = report.reason.unwrap();
    assert!(reason.contains("node 'g' found no Docker engine at unix:///nonexistent/docker.sock"), "{reason}");
    assert!(reason.contains("dockerd"), "{reason}");
}

#[test]
fn a_scenario_without_docker_nodes_never_touches_docker() {
    // A socket posing as the engine: any connection to it would be seen.
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("docker.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    let report = Simulation::from_file(repo_root().join("scenarios/wasm_gateway.yaml"))
        .unwrap()
        .out_dir(dir.path().join("out"))
        .docker_host(Some(format!("unix://{}", socket.display())))
        .run()
        .unwrap();
    assert_eq!(report.status, RunStatus::Finished);
    assert!(report.deterministic && report.images.is_empty());
    let touched = listener.accept();
    assert!(
        matches!(&touched, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the run connected to the engine: {touched:?}"
    );
}

#[test]
fn a_container_the_engine_will_not_start_is_a_container_start_fault() {
    let Some(engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Two containers publishing one host port: the engine starts only one.
    let node = |id: &str| {
        format!(
            "  - id: {id}\n    type: hostile\n    implementation: docker\n    docker:\n      build_context: {{root}}/containers/hostile\n      build_command: ../build-static.sh xedgesim-container-hostile hostile\n      ports: {{9000: 18765}}\n"
        )
    };
    let yaml =
        format!("simulation: {{duration_s: 1, on_fault: isolate}}\nnodes:\n{}{}", node("port-a"), node("port-b"));
    let report = run(dir.path(), &yaml);
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert_eq!(report.faults.len(), 1, "{:?}", report.faults);
    let fault = &report.faults[0];
    assert_eq!((fault.kind.as_str(), fault.time_us), ("container_start", 0), "{}", fault.message);
    assert!(fault.message.contains("could not have its container started"), "{}", fault.message);
    assert!(fault.message.contains("18765"), "the engine's reason names the port: {}", fault.message);
    for node in ["port-a", "port-b"] {
        assert!(containers_of_node(&engine, node).is_empty(), "{node}'s container was removed");
    }
}

#[test]
fn xedgesims_m2d_docker_file_runs_verbatim() {
    // scenarios/m2d/ holds xEdgeSim's file as it wrote it: its build context
    // is relative to its repository root, and its gateway has a key ours
    // does not take. Both are warnings, and the run goes on.
    let Some(engine) = docker_engine() else { return };
    let context = repo_root().join("containers/gateway");
    // The file names no build command: the binary must be in the context.
    let built = std::process::Command::new("../build-static.sh")
        .args(["xedgesim-container-gateway", "gateway"])
        .current_dir(&context)
        .status()
        .unwrap();
    assert!(built.success());
    let file = repo_root().join("scenarios/m2d/xedgesim_m2d_docker_gateway.yaml");
    let sim = Simulation::from_file(&file).unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<String> = sim.warnings().0.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("config key 'sample_rate_hz' is ignored: the built-in gateway model does not take it")
    );
    assert!(warnings[1].contains(&format!("using {}, 2 folders up", context.display())), "{}", warnings[1]);
    assert_eq!(sim.scenario().nodes[1].config.get("sample_rate_hz"), None, "the ignored key is not passed on");
    let dir = tempfile::tempdir().unwrap();
    let report = sim.out_dir(dir.path().join("out")).run_label(run_label()).run().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let metrics = read_metrics(&dir.path().join("out"));
    // One reading a second from t = 1 s, for 10 s; the last is due at the end time.
    assert!(metrics[&("gateway1".to_string(), "readings_received".to_string())] >= 9.0, "{metrics:?}");
    assert!(containers_of_node(&engine, "gateway1").is_empty(), "the container was removed");
    // The file's named volume `models` was made for the run and removed by
    // it (unless it was there before: then it is the user's, and kept).
}

/// Runs `scenarios/docker_gateway.yaml` (its context made absolute) with
/// `faults` appended, and `wasm_yaml`, into `dir/docker` and `dir/wasm`;
/// asserts the container's run finished with the WASM run's trace, byte
/// for byte. Returns (container, wasm).
fn docker_gateway_beside_wasm(dir: &Path, faults: &str, wasm_yaml: &str) -> (RunSummary, RunSummary) {
    let docker = std::fs::read_to_string(repo_root().join("scenarios/docker_gateway.yaml"))
        .unwrap()
        .replace("build_context: ../containers/gateway", "build_context: {root}/containers/gateway")
        + faults;
    let run_at = |name: &str, yaml: &str| {
        let file = dir.join(format!("{name}.yaml"));
        std::fs::write(&file, yaml.replace("{root}", &repo_root().to_string_lossy())).unwrap();
        Simulation::from_file(&file).unwrap().out_dir(dir.join(name)).run_label(run_label()).run().unwrap()
    };
    let container = run_at("docker", &docker);
    let wasm = run_at("wasm", wasm_yaml);
    assert_eq!(container.status, RunStatus::Finished, "{:?}", container.reason);
    let a = std::fs::read_to_string(dir.join("docker/trace.jsonl")).unwrap();
    let b = std::fs::read_to_string(dir.join("wasm/trace.jsonl")).unwrap();
    assert!(first_divergence(&a, &b).is_none(), "first divergence: {:?}", first_divergence(&a, &b));
    (container, wasm)
}

#[test]
fn a_docker_gateway_reboots_as_its_wasm_model_does_byte_for_byte() {
    let Some(engine) = docker_engine() else { return };
    let _one_at_a_time = node_name_lock();
    let dir = tempfile::tempdir().unwrap();
    let reboot = std::fs::read_to_string(repo_root().join("scenarios/gateway_reboot.yaml")).unwrap();
    let faults = &reboot[reboot.find("\nfaults:").expect("the file has faults")..];
    // Killed at 10 s, a new container from the same image at 15 s, made
    // afresh from the config: the same trace as the WASM gateway's reboot.
    let (container, wasm) = docker_gateway_beside_wasm(dir.path(), faults, &reboot);
    assert!(container.faults.is_empty(), "{:?}", container.faults);
    assert_eq!(container.scripted_faults, wasm.scripted_faults);
    assert_eq!(container.messages.dropped_by_reason.get("node_down"), Some(&20));
    let metrics = read_metrics(&dir.path().join("docker"));
    assert_eq!(metrics[&("gateway".to_string(), "windows_closed".to_string())], 3.0, "the new container's own count");
    assert!(containers_of_node(&engine, "gateway").is_empty(), "both containers were removed");
}

#[test]
fn partition_degrade_and_stall_act_on_a_docker_gateway_as_on_its_wasm_model() {
    let Some(engine) = docker_engine() else { return };
    let _one_at_a_time = node_name_lock();
    let dir = tempfile::tempdir().unwrap();
    // The gateway cut off from one sensor, its link to the cloud slowed and
    // lossy, and its steps stalled: faults of the engine, not of the
    // container, so the container's trace is the WASM gateway's.
    let faults = "\nfaults:\n  - {partition: [sensor1], at_s: 3, until_s: 8}\n  - {degrade: {src: gateway, dst: cloud}, at_s: 9, until_s: 21, latency_us: 300000, loss_rate: 0.5}\n  - {stall: gateway, at_s: 12, until_s: 18, delay_us: 400000}\n";
    let wasm = std::fs::read_to_string(repo_root().join("scenarios/wasm_gateway.yaml")).unwrap() + faults;
    let (container, model) = docker_gateway_beside_wasm(dir.path(), faults, &wasm);
    assert_eq!(container.scripted_faults, model.scripted_faults);
    let lost = &container.scripted_faults.as_ref().unwrap().messages_lost;
    // sensor1 at 1 Hz, cut off from 3 s to 8 s: its readings of 3 to 7 s (sent inside the cut).
    assert_eq!(lost["partition"], 5);
    assert!(lost["degrade"] > 0, "{lost:?}");
    assert!(containers_of_node(&engine, "gateway").is_empty());
}

/// A hostile node `id` in `mode`, with `extra` lines under `docker:`.
fn hostile_node(id: &str, mode: &str, extra: &str) -> String {
    format!(
        "  - id: {id}\n    type: hostile\n    implementation: docker\n    docker:\n      build_context: {{root}}/containers/hostile\n      build_command: ../build-static.sh xedgesim-container-hostile hostile\n      environment: {{HOSTILE: {mode}}}\n{extra}"
    )
}

/// Runs `yaml` as [`run`] does, on a thread: a run that has not ended
/// within `limit` fails the test (a hang guard, not a timing).
fn run_guarded(dir: &Path, yaml: &str, limit: std::time::Duration) -> RunSummary {
    let (dir, yaml) = (dir.to_path_buf(), yaml.to_string());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run(&dir, &yaml));
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| panic!("the run did not end within {limit:?}"))
}

/// The engine's `kill` and `destroy` events (Unix ms) of each xedgesim
/// container, read off `docker events` between `since` and `until` (Unix s).
fn removal_events(since: u64, until: u64) -> BTreeMap<String, (Option<u128>, Option<u128>)> {
    let output = std::process::Command::new("docker")
        .args(["events", "--since", &since.to_string(), "--until", &until.to_string(), "--filter", "type=container"])
        .args(["--format", "{{.TimeNano}} {{.Action}} {{index .Actor.Attributes \"xedgesim.node\"}}"])
        .output();
    let mut events: BTreeMap<String, (Option<u128>, Option<u128>)> = BTreeMap::new();
    let Ok(output) = output else { return events };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut words = line.split_whitespace();
        let (Some(nanos), Some(action), Some(node)) = (words.next(), words.next(), words.next()) else { continue };
        let Ok(ms) = nanos.parse::<u128>().map(|n| n / 1_000_000) else { continue };
        let entry = events.entry(node.to_string()).or_default();
        match action {
            "kill" => entry.0 = entry.0.or(Some(ms)),
            "destroy" => entry.1 = Some(ms),
            _ => {}
        }
    }
    events
}

fn unix_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// Containers that flood stdout: before `hello`, with 2 MiB before it,
/// after `hello`, after a reply, with blank lines, and with a line that
/// never ends. Each is a
/// `protocol` fault at the virtual time of the request it broke (the
/// next request, for a flood after a reply), and its container is removed
/// at once: the engine no longer waits on a reader of ours that stopped
/// reading (that wait ended only at the engine's 600 s request timeout).
/// The deadlines are a minute, so no fault here comes from a timeout.
/// Prints, for the record, how long each flood took to fault and its
/// container to go (read off the engine's events).
#[test]
fn a_container_flooding_stdout_is_a_protocol_fault_and_is_removed_at_once() {
    let Some(engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let deadlines = "      step_timeout_ms: 60000\n      start_timeout_ms: 60000\n      max_frame_bytes: 65536\n";
    let mut yaml = String::from(
        "simulation: {duration_s: 2, seed: 1, on_fault: isolate}\nnetwork: {model: direct}\nnodes:\n  - {id: feeder, type: sensor, config: {destination: fl-after-reply}}\n",
    );
    let nodes = [
        ("fl-before-hello", "flood_before_hello"),
        ("fl-print-2mib", "print_before_hello"),
        ("fl-after-hello", "flood_after_hello"),
        ("fl-after-reply", "flood_after_reply"),
        ("fl-blank", "blank_flood"),
        ("fl-endless-line", "endless_line"),
    ];
    for (id, mode) in nodes {
        yaml.push_str(&hostile_node(id, mode, deadlines));
    }
    let since = unix_s();
    let report = run_guarded(dir.path(), &yaml, std::time::Duration::from_secs(240));
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.shutdown_errors.is_empty(), "{:?}", report.shutdown_errors);
    let fault = |node: &str| fault_of(&report, node);
    let flooded = "`hostile: this line should have gone to stderr, not stdout`";
    for (node, time_us, needle) in [
        ("fl-before-hello", 0, "not a valid reply to `hello`".to_string()),
        ("fl-print-2mib", 0, "not a valid reply to `hello`".to_string()),
        ("fl-after-hello", 0, "not a valid reply to `new`".to_string()),
        // Found while the host waits for the reply's stderr line (at 0), or
        // at the next request (the feeder's reading at 1 s): before it is
        // sent if the flood has arrived, else as its answer.
        ("fl-after-reply", 1_000_000, flooded.to_string()),
        ("fl-blank", 0, "a flood of blank lines on stdout (4097 in a row; at most 4096 are ignored)".to_string()),
        // Reported once past the limit, not when (never) it ends.
        ("fl-endless-line", 0, "past the limit (`docker.max_frame_bytes`): `xxxx".to_string()),
    ] {
        let f = fault(node);
        let time_us = if node == "fl-after-reply" && f.time_us == 0 { 0 } else { time_us };
        assert_eq!((f.kind.as_str(), f.time_us), ("protocol", time_us), "{node}: {}", f.message);
        assert!(f.message.contains(&needle), "{node}: expected {needle:?} in:\n{}", f.message);
        assert!(containers_of_node(&engine, node).is_empty(), "{node}'s container was removed");
    }
    let events = removal_events(since, unix_s() + 1);
    for (node, _) in nodes {
        let f = fault(node);
        let flood_ms = f.message.split("flooding stdout from ").nth(1).and_then(|r| r.split(' ').next());
        let flood_ms = flood_ms.and_then(|ms| ms.parse::<u128>().ok());
        // The flood's start is known when its stderr line arrived before the fault.
        let Some((Some(kill), Some(destroy))) = events.get(node) else { continue };
        let to_fault = flood_ms.map_or("?".into(), |flood| kill.saturating_sub(flood).to_string());
        eprintln!(
            "{node}: flood start → fault (engine's kill) {to_fault} ms; removal (kill → destroy) {} ms",
            destroy - kill
        );
    }
}

/// stderr written just before a reply may reach the host after it; the
/// reply counts the lines (`stderr_lines`), and the host waits for them
/// before the next step: every line is stamped with the step that wrote
/// it (before, 2–48 of 200 had the next step's time).
#[test]
fn each_stderr_line_is_stamped_with_the_step_that_wrote_it() {
    let Some(_engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "simulation: {{duration_s: 0.3, seed: 1}}\nnodes:\n{}",
        hostile_node("stamped", "stderr_before_reply", "")
    );
    let report = run(dir.path(), &yaml);
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    let trace = std::fs::read_to_string(dir.path().join("out/trace.jsonl")).unwrap();
    let mut lines = 0;
    let mut wrong = Vec::new();
    for event in trace.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()) {
        let Some(text) = event["text"].as_str() else { continue };
        let Some(step) = text.strip_prefix("hostile: written during the step at ") else { continue };
        lines += 1;
        if event["t_us"].as_u64() != step.parse().ok() {
            wrong.push(event.to_string());
        }
    }
    assert_eq!(lines, 301, "a line for each step, every 1 ms from 0 to 0.3 s");
    let first = &wrong[..wrong.len().min(3)];
    assert!(wrong.is_empty(), "{} of {lines} lines stamped with another step's time, first: {first:?}", wrong.len());
}
