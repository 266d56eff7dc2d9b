//! Record and replay with real containers (needs a Docker engine; without
//! one these tests fail loudly, see `docker_engine`): `docker_gateway.yaml`
//! and `hybrid.yaml` recorded with `run --record` (every container node),
//! then replayed with the engine's socket pointing nowhere: the same
//! trace.jsonl and metrics.csv bytes and summary results, `deterministic:
//! true`, and no container started; the recorded container compared
//! with its WASM model by `equiv RUN_DIR wasm_gateway.yaml`, and replayed
//! inside it with a sensor at another rate (strict names the divergence,
//! lenient counts), no engine needed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{docker_engine, output_text, root};
use serde_json::Value;

fn run_with(args: &[&str], docker_host: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xedgesim"));
    command.args(args).current_dir(root());
    if let Some(host) = docker_host {
        command.env("DOCKER_HOST", host);
    }
    command.output().expect("the binary runs")
}

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).expect("summary.json")).unwrap()
}

/// Records `scenario` (its container `node`) into `dir/rec`, replays it
/// without an engine, and checks the replay is the recorded run, byte for byte.
fn record_then_replay_without_docker(dir: &Path, scenario: &str, node: &str) -> PathBuf {
    let rec = dir.join("rec");
    let out = run_with(
        &[
            "run",
            scenario,
            "--out",
            rec.to_str().unwrap(),
            "--record",
            "--quiet",
            "--allow",
            "build-command,bind:containers",
        ],
        None,
    );
    assert!(out.status.success(), "recording {scenario} failed: {}", output_text(&out.stderr));
    let recorded = summary(&rec);
    assert_eq!(recorded["deterministic"], false, "a live container ran");
    assert_eq!(recorded["recording"]["nodes"], serde_json::json!([node]), "every container node is recorded");

    let out = run_with(&["replay", rec.to_str().unwrap()], Some("unix:///nonexistent/docker.sock"));
    let (stdout, stderr) = (output_text(&out.stdout), output_text(&out.stderr));
    assert!(out.status.success(), "replay of {scenario} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("identical"), "{stdout}");
    let replay = rec.join("replay");
    for file in ["trace.jsonl", "metrics.csv"] {
        assert_eq!(
            std::fs::read(rec.join(file)).unwrap(),
            std::fs::read(replay.join(file)).unwrap(),
            "{scenario}: {file} is the recorded run's"
        );
    }
    let replayed = summary(&replay);
    assert_eq!(replayed["deterministic"], true, "no container ran");
    assert!(replayed.get("nondeterminism").is_none());
    assert!(replayed.get("images").is_none(), "no image was looked for");
    assert_eq!(replayed["replayed"][node]["mode"], "strict");
    assert_eq!(replayed["replayed"][node]["sha256"], recorded["recording"]["sha256"]);
    for key in xedgesim::run::RESULT_KEYS {
        assert_eq!(recorded.get(key), replayed.get(key), "{scenario}: summary's {key}");
    }
    rec
}

#[test]
fn a_recorded_docker_gateway_replays_byte_for_byte_without_an_engine() {
    let Some(_engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let rec = record_then_replay_without_docker(dir.path(), "scenarios/docker_gateway.yaml", "gateway");
    // Does the WASM model behave as the container did when it was recorded? No engine needed.
    let eq = dir.path().join("eq");
    let out = run_with(
        &["equiv", rec.to_str().unwrap(), "scenarios/wasm_gateway.yaml", "--out", eq.to_str().unwrap()],
        Some("unix:///nonexistent/docker.sock"),
    );
    let stdout = output_text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", output_text(&out.stderr));
    assert!(stdout.contains("equivalent: "), "{stdout}");

    // The recorded container inside wasm_gateway.yaml with sensor2 at another
    // rate: strict stops at the first divergence and names it; lenient
    // finishes and counts. No engine either way.
    let yaml = std::fs::read_to_string(root().join("scenarios/wasm_gateway.yaml")).unwrap();
    let changed = dir.path().join("changed.yaml");
    std::fs::write(&changed, yaml.replace("{sample_rate_hz: 2}", "{sample_rate_hz: 3}")).unwrap();
    let replay = format!("gateway={}", rec.display());
    let strict_dir = dir.path().join("strict");
    let args = ["run", changed.to_str().unwrap(), "--replay", &replay, "--out", strict_dir.to_str().unwrap()];
    let strict = run_with(&args, Some("unix:///nonexistent/docker.sock"));
    let err = output_text(&strict.stderr);
    assert_eq!(strict.status.code(), Some(2), "{err}");
    assert!(err.contains("node 'gateway' diverged from its recording at t = "), "{err}");
    assert!(err.contains("received inbox") && err.contains("--replay-mode lenient"), "{err}");
    let lenient_dir = dir.path().join("lenient");
    let args = [
        "run",
        changed.to_str().unwrap(),
        "--replay",
        &replay,
        "--replay-mode",
        "lenient",
        "--out",
        lenient_dir.to_str().unwrap(),
    ];
    let lenient = run_with(&args, Some("unix:///nonexistent/docker.sock"));
    assert!(lenient.status.success(), "{}", output_text(&lenient.stderr));
    let counts = &summary(&lenient_dir)["replayed"]["gateway"];
    assert!(counts["calls_unrecorded"].as_u64().unwrap() > 0, "{counts}");
    assert_eq!(summary(&lenient_dir)["deterministic"], true, "no container ran");
}

#[test]
fn a_recorded_hybrid_run_replays_byte_for_byte_without_an_engine() {
    let Some(_engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    record_then_replay_without_docker(dir.path(), "scenarios/hybrid.yaml", "edge-gw");
}

/// Two containers that cannot start, found in another order than the
/// scenario's when recorded (a missing image is found before a container
/// that exits at its start, the later node first) and when replayed (the
/// recorded startup faults, by node): the engine traces startup faults in
/// node order, so the replay's trace is the recorded run's.
#[test]
fn startup_faults_found_in_another_order_replay_in_the_same_order() {
    let Some(_engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("order.yaml");
    let yaml = format!(
        "simulation: {{duration_s: 2, seed: 1}}\nnodes:\n  - {{id: sensor1, type: sensor, config: {{destination: a}}}}\n  - id: a\n    type: hostile\n    implementation: docker\n    on_fault: isolate\n    docker:\n      build_context: {root}/containers/hostile\n      build_command: ../build-static.sh xedgesim-container-hostile hostile\n      environment: {{HOSTILE: exit_at_start}}\n  - id: b\n    type: gateway\n    implementation: docker\n    on_fault: isolate\n    docker: {{image: 'xedgesim-test/no-such-image:1'}}\n  - {{id: cloud, type: cloud}}\n",
        root = root().display()
    );
    std::fs::write(&file, yaml).unwrap();
    let rec = dir.path().join("rec");
    let out = run_with(
        &["run", file.to_str().unwrap(), "--out", rec.to_str().unwrap(), "--record", "--offline", "--quiet"]
            .into_iter()
            .chain(["--allow", "build-command,bind"])
            .collect::<Vec<_>>(),
        None,
    );
    assert!(out.status.success(), "both faults isolate their node: {}", output_text(&out.stderr));
    let faults = summary(&rec)["faults"].clone();
    let kinds: Vec<_> = faults.as_array().unwrap().iter().map(|f| (f["node"].clone(), f["kind"].clone())).collect();
    assert_eq!(
        kinds,
        [("a".into(), "container_exited".into()), ("b".into(), "image_missing".into())],
        "traced in node order: {faults}"
    );
    let out = run_with(&["replay", rec.to_str().unwrap()], Some("unix:///nonexistent/docker.sock"));
    let stdout = output_text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", output_text(&out.stderr));
    assert!(stdout.contains("identical"), "{stdout}");
}
