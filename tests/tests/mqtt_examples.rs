//! The MQTT examples end to end against a real engine: the inference
//! container (containers/ml-inference, an unmodified MQTT client: Python,
//! ONNX Runtime, paho-mqtt) answering WASM sensors' requests through the
//! built-in broker (scenarios/ml_inference_mqtt.yaml) and through a
//! Mosquitto container as the broker node
//! (scenarios/ml_inference_mosquitto.yaml). Their base images come from
//! the engine: `.ci/test` makes stand-ins for them (containers/stand-ins).

use std::path::Path;

use xedgesim::run::{RunStatus, RunSummary, Simulation};
use xedgesim_tests::{
    containers_of_node, docker_engine, node_name_lock, read_metrics, read_usage, repo_root, run_label,
};

/// Fails loudly, naming the fix, when a base image the examples build on is missing.
fn require_base_images(engine: &xedgesim::runtime::docker::DockerEngine) {
    for image in ["python:3.9-slim", "eclipse-mosquitto:2.0"] {
        if engine.block_on(engine.docker().inspect_image(image)).is_err() {
            panic!(
                "this test builds on the image {image}, which the engine does not have: pull it where a registry \
                 answers, or make the local stand-ins with `containers/stand-ins/make.sh` (.ci/test does)"
            );
        }
    }
}

fn run_example(file: &str, out: &Path) -> RunSummary {
    Simulation::from_file(repo_root().join(file))
        .unwrap_or_else(|e| panic!("{e}"))
        .out_dir(out)
        .cache_dir(Some(out.join("cache")))
        .run_label(run_label())
        .run()
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn the_ml_inference_example_runs_end_to_end_with_the_built_in_broker_and_with_mosquitto() {
    let Some(engine) = docker_engine() else { return };
    require_base_images(&engine);
    // Both tests run a node `broker` and check that its container is gone.
    let _broker = node_name_lock();
    let dir = tempfile::tempdir().unwrap();
    let mut predictions = Vec::new();
    for (file, broker_metric) in
        [("scenarios/ml_inference_mqtt.yaml", "forwarded"), ("scenarios/ml_inference_mosquitto.yaml", "mqtt_forwarded")]
    {
        let out = dir.path().join(file.trim_start_matches("scenarios/").trim_end_matches(".yaml"));
        let report = run_example(file, &out);
        assert_eq!(report.status, RunStatus::Finished, "{file}: {:?}", report.reason);
        assert!(report.faults.is_empty(), "{file}: {:?}", report.faults);
        assert!(!report.deterministic, "{file}");
        let why = report.nondeterminism.as_deref().unwrap_or_default();
        assert!(why.contains("ml-service") && why.contains("came from MQTT containers' wall time"), "{why}");
        let metrics = read_metrics(&out);
        let m = |node: &str, name: &str| {
            *metrics.get(&(node.to_string(), name.to_string())).unwrap_or_else(|| panic!("{file}: no {node}/{name}"))
        };
        // Worked out by hand: two sensors at 10 Hz for 10 s send their
        // first request at 0.1 s and their last at 10.0 s: 200 requests.
        // A request reaches the service 5 ms + 0.1 ms after it is sent, so
        // the two sent at 10.0 s never do: 198 are delivered and answered.
        // An answer takes 0.1 ms to the broker and 50 ms to the cloud, plus
        // the service's processing time (about a millisecond), so those of
        // 9.9 s arrive at about 9.956 s: all 198 reach the cloud, unless a
        // processing time near the end passes 44 ms on a loaded machine.
        assert_eq!(m("ml-service", "mqtt_delivered"), 198.0, "{file}");
        assert_eq!(m("ml-service", "mqtt_published"), 198.0, "{file}");
        assert_eq!(m("ml-service", "mqtt_unanswered"), 0.0, "{file}");
        assert_eq!(m("ml-service", "mqtt_subscriptions"), 1.0, "{file}: ml/inference/request");
        let received = m("cloud", "messages_received");
        assert!((196.0..=198.0).contains(&received), "{file}: the cloud received {received}");
        assert_eq!(m("cloud", "prediction_count"), received, "{file}: every result carries a prediction");
        let (low, mean, high) =
            (m("cloud", "prediction_min"), m("cloud", "prediction_mean"), m("cloud", "prediction_max"));
        assert!(
            0.0 < low && low <= mean && mean <= high && high < 1.0,
            "{file}: a sigmoid's outputs: {low} {mean} {high}"
        );
        // The links alone: 5 ms + 0.1 ms to the service, 0.1 ms + 50 ms to the cloud.
        let p50 = m("cloud", "latency_p50_us");
        assert!((55_200.0..155_200.0).contains(&p50), "{file}: end-to-end latency p50 {p50} µs");
        assert!(m("broker", broker_metric) >= 2.0 * received, "{file}: requests and results both crossed the broker");
        let usage = read_usage(&out);
        let u = |name: &str| usage.get(&("ml-service".to_string(), name.to_string())).copied();
        assert_eq!(u("answers"), Some(198.0), "{file}");
        assert!(u("processing_us_p50").is_some_and(|p| p > 0.0), "{file}: {usage:?}");
        assert!(u("wall_to_virtual_us").is_some_and(|w| w > 0.0), "{file}");
        for node in ["ml-service", "broker"] {
            assert!(containers_of_node(&engine, node).is_empty(), "{file}: {node}'s container was removed");
        }
        predictions.push((low, high));
    }
    // The same requests (same seed) through the same model: the same predictions, whichever broker carried them.
    assert_eq!(predictions[0], predictions[1], "smallest and largest prediction, built-in broker vs Mosquitto");
}

#[test]
fn mosquitto_run_as_root_without_capabilities_is_a_named_exit_at_the_start() {
    let Some(engine) = docker_engine() else { return };
    require_base_images(&engine);
    // Both tests run a node `broker` and check that its container is gone.
    let _broker = node_name_lock();
    let dir = tempfile::tempdir().unwrap();
    // Mosquitto started as root drops to its own user itself, which needs
    // capabilities a hardened container has not: without `user: mosquitto`
    // it exits at once, and the fault says why in its own words.
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        format!(
            "simulation: {{duration_s: 1, on_fault: isolate}}\nnodes:\n  - id: broker\n    type: broker\n    implementation: docker\n    docker: {{build_context: {}/containers/mosquitto, protocol: mqtt}}\n  - {{id: s, type: sensor, config: {{topic: t}}}}\n",
            repo_root().display()
        ),
    )
    .unwrap();
    let report = Simulation::from_file(&file)
        .unwrap_or_else(|e| panic!("{e}"))
        .out_dir(dir.path().join("out"))
        .run_label(run_label())
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    let fault = report.faults.iter().find(|f| f.node == "broker").unwrap_or_else(|| panic!("{:?}", report.faults));
    assert_eq!((fault.kind.as_str(), fault.time_us), ("container_exited", 0), "{fault:?}");
    assert!(fault.message.contains("Error setting groups whilst dropping privileges"), "{}", fault.message);
    assert!(containers_of_node(&engine, "broker").is_empty(), "its container was removed");
}
