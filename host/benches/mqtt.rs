//! Benchmarks of containers that speak MQTT (`docker.protocol: mqtt`)
//! against a real engine, each beside a baseline measured in the same run
//! (the two sides interleaved, sample by sample, on a shared machine):
//!
//! - start: an internal network; a Mosquitto broker node (network and
//!   container start until it answers the host's CONNECT); an MQTT service
//!   node (network and container start until its CONNECT, plus the group's
//!   200 ms quiet window: shown with and without it), containers/mqtt-client's
//!   echo and containers/ml-inference; beside a stdio gateway container's start;
//! - messages per second through one MQTT echo node (1 and 100 messages a
//!   step, each answered) beside the stdio gateway container given 1 and
//!   100 readings a step;
//! - an ML request's round trip through an MQTT node of
//!   containers/ml-inference (one request a step, and two) against the
//!   inference time the service itself reports and the echo client's round
//!   trip (the way there and back with next to no work at the end); then
//!   scenarios/ml_inference_mqtt.yaml run by the library, its cloud
//!   summarising `inference_time_ms`, when the models here take the
//!   example's keys (else "not measured", naming them);
//! - 1, 4 and 16 MQTT echo containers due at one instant, one message each:
//!   stepped together (submit all, collect all) versus one after another.
//!
//! Run with `cargo bench -p xedgesim --bench mqtt` (docs/benchmarks.md says
//! which profile its figures came from). Without an engine, or an image
//! whose base is missing, the rows it cannot measure say "not measured" and
//! why; images are never pulled. Figures are medians of repeated samples.
//! Everything it makes (containers, networks) is removed; it checks, and
//! prints what was left.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::models::NetworkCreateRequest;
use xedgesim::run::{RunStatus, Simulation};
use xedgesim::runtime::docker::image::{ImageInfo, ensure_image_with};
use xedgesim::runtime::docker::{
    DockerEngine, DockerNodeGroup, DockerNodeSpec, DockerOptions, LABEL_PID, LABEL_RUN, ListContainersOptions,
    MqttBrokerGroup, MqttClientGroup,
};
use xedgesim::runtime::{Address, Message, NodeGroup, StepCall, StepOutput};
use xedgesim::scenario::{ConfigValue, ContainerProtocol, DockerNode, MqttRole, MqttSettings};

mod common;
use common::{median, ms, readings, us};

/// How long an MQTT client group waits, after a container's last packet
/// at start, before it counts the container as ready (client_group.rs).
const READY_QUIET: Duration = Duration::from_millis(200);
/// Timed samples, or why one failed.
type Samples = Vec<Result<Duration, String>>;

/// Features in an ML request (containers/ml-inference's model).
const FEATURES: usize = 32;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ sits in the workspace")
}

fn median_f64(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn row(what: &str, figure: String, note: &str) {
    println!("{what:<66} {figure:>12}   {note}");
}

fn not_measured(what: &str, why: &str) {
    println!("{what:<66} {:>12}   not measured: {why}", "-");
}

/// The stdio gateway container of benches/docker.rs.
fn gateway_node() -> DockerNode {
    DockerNode {
        build_command: Some("../build-static.sh xedgesim-container-gateway gateway".into()),
        step_timeout_ms: 30_000,
        ..DockerNode::new(None, Some(root().join("containers/gateway")))
    }
}

/// containers/mqtt-client answering each message on `reply/<topic>`.
fn echo_node() -> DockerNode {
    DockerNode {
        build_command: Some("../build-static.sh xedgesim-container-mqtt-client mqtt-client".into()),
        protocol: ContainerProtocol::Mqtt,
        mqtt: Some(MqttSettings::resolve(None, MqttRole::Client)),
        environment: BTreeMap::from([("MODE".into(), "echo".into()), ("SUBSCRIBE".into(), "in/#".into())]),
        ..DockerNode::new(None, Some(root().join("containers/mqtt-client")))
    }
}

/// containers/ml-inference (its build runs pip install: `build_network`).
fn ml_node() -> DockerNode {
    DockerNode {
        build_network: true,
        build_timeout_s: 1_800,
        protocol: ContainerProtocol::Mqtt,
        mqtt: Some(MqttSettings::resolve(None, MqttRole::Client)),
        ..DockerNode::new(None, Some(root().join("containers/ml-inference")))
    }
}

/// containers/mosquitto as a broker node, run as its user (docs/container-protocol.md).
fn mosquitto_node() -> DockerNode {
    DockerNode {
        protocol: ContainerProtocol::Mqtt,
        mqtt: Some(MqttSettings::resolve(None, MqttRole::Broker)),
        user: Some("mosquitto".into()),
        ..DockerNode::new(None, Some(root().join("containers/mosquitto")))
    }
}

/// Builds (or finds) `node`'s image, never pulling: no registry is
/// reachable here, and a missing base image is a "not measured".
fn image(engine: &DockerEngine, what: &str, node: &DockerNode) -> Option<ImageInfo> {
    let start = Instant::now();
    match ensure_image_with(engine, node, true, &mut |_| {}, None) {
        Ok(image) => {
            let note = if image.built { "built now" } else { "was built already" };
            row(&format!("image: {what}"), ms(start.elapsed()), note);
            Some(image)
        }
        Err(e) => {
            let why = format!("{e} (base images: containers/stand-ins/make.sh)");
            not_measured(&format!("image: {what}"), &why);
            None
        }
    }
}

fn options(engine_run: &str) -> DockerOptions {
    DockerOptions {
        run_id: format!("benchmqtt{engine_run}{}", std::process::id()),
        run_label: None,
        time_quantum_us: 1_000,
        interrupt: None,
    }
}

/// `n` messages on `in/bench`, each answered by the echo client.
fn echo_inbox(n: usize) -> Vec<Message> {
    readings(n)
        .into_iter()
        .map(|m| Message { destination: Address::Node("svc".into()), topic: "in/bench".into(), ..m })
        .collect()
}

/// One ML request as the scenario's sensors send it.
fn ml_request(sample: usize, now_us: u64) -> Message {
    let features: Vec<String> =
        (0..FEATURES).map(|i| format!("{:.3}", ((sample * 7 + i) % 13) as f64 / 6.5 - 1.0)).collect();
    Message {
        source: "sensor1".into(),
        destination: Address::Node("ml".into()),
        topic: "ml/inference/request".into(),
        payload: format!(r#"{{"device_id":"sensor1","timestamp_us":{now_us},"features":[{}]}}"#, features.join(","))
            .into_bytes(),
        sent_us: now_us,
    }
}

/// Virtual time, a second a step: what a node answered leaves by its next step.
struct Clock(u64);

impl Clock {
    fn tick(&mut self) -> u64 {
        self.0 += 1_000_000;
        self.0
    }
}

/// One step of `calls`, timed; every result must be a success.
fn step(group: &mut dyn NodeGroup, calls: Vec<StepCall>) -> (Duration, Vec<StepOutput>) {
    let start = Instant::now();
    group.submit(calls);
    let results = group.collect().expect("no interrupt here");
    let elapsed = start.elapsed();
    let outputs = results.into_iter().map(|r| r.unwrap_or_else(|fault| panic!("{fault:?}"))).collect();
    (elapsed, outputs)
}

/// One node's spec.
fn spec<'a>(
    id: &'a str,
    config: &'a BTreeMap<String, ConfigValue>,
    docker: &'a DockerNode,
    image: &'a ImageInfo,
) -> [DockerNodeSpec<'a>; 1] {
    [DockerNodeSpec { id, config, docker, image_id: &image.id }]
}

fn start_mqtt_clients(
    engine: &DockerEngine,
    run: &str,
    specs: &[DockerNodeSpec<'_>],
) -> Result<(MqttClientGroup, Duration), String> {
    let start = Instant::now();
    let (group, faults) = MqttClientGroup::start(engine, specs, options(run));
    let elapsed = start.elapsed();
    if faults.is_empty() { Ok((group, elapsed)) } else { Err(format!("{faults:?}")) }
}

fn shut(mut group: impl NodeGroup) {
    let problems = group.shutdown();
    assert!(problems.is_empty(), "{problems:?}");
}

/// What this process made that is still there: containers and networks carrying its pid.
fn leftovers(engine: &DockerEngine) -> Vec<String> {
    let pid = std::process::id().to_string();
    let filters = HashMap::from([("label".to_string(), vec![format!("{LABEL_PID}={pid}")])]);
    let options = ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
    let docker = engine.docker();
    let containers = engine.block_on(docker.list_containers(Some(options))).unwrap_or_default();
    let networks = engine.block_on(docker.list_networks(None)).unwrap_or_default();
    let ours = |labels: &Option<HashMap<String, String>>| labels.as_ref().and_then(|l| l.get(LABEL_PID)) == Some(&pid);
    containers
        .into_iter()
        .map(|c| format!("container {:?}", c.names))
        .chain(networks.into_iter().filter(|n| ours(&n.labels)).map(|n| format!("network {:?}", n.name)))
        .collect()
}

fn main() {
    println!("{:<66} {:>12}   baseline / note", "measurement", "figure");
    let Some(engine) = common::docker_engine() else { return };
    row("engine API version (negotiated)", engine.api_version(), "");
    let profile = if cfg!(debug_assertions) { "dev (debug assertions on)" } else { "release" };
    row("this binary's profile", profile.to_string(), "");

    // --- Images ------------------------------------------------------------------------
    let (gateway, echo, ml, mosquitto) = (gateway_node(), echo_node(), ml_node(), mosquitto_node());
    let gateway_image = image(&engine, "stdio gateway (containers/gateway)", &gateway);
    let echo_image = image(&engine, "MQTT echo (containers/mqtt-client)", &echo);
    let ml_image = image(&engine, "ML inference (containers/ml-inference)", &ml);
    let mosquitto_image = image(&engine, "Mosquitto (containers/mosquitto)", &mosquitto);
    let no_config = BTreeMap::new();
    let gateway_config: BTreeMap<String, ConfigValue> = BTreeMap::from([
        ("destination".to_string(), ConfigValue::Text("cloud".into())),
        ("processing_delay_us".to_string(), ConfigValue::Integer(0)),
    ]);

    // --- Start ---------------------------------------------------------------------------
    // Each kind once a round, so the machine's load (2 shared cores) falls on all alike.
    const STARTS: usize = 5;
    let mut network_samples = Vec::new();
    let mut gateway_starts = Vec::new();
    let mut broker_starts = Vec::new();
    let mut echo_starts = Vec::new();
    let mut ml_starts = Vec::new();
    for round in 0..STARTS {
        network_samples.push(time_network(&engine, round));
        if let Some(image) = &gateway_image {
            let start = Instant::now();
            let (group, faults) = DockerNodeGroup::start(
                &engine,
                &spec("gw", &gateway_config, &gateway, image),
                options(&format!("g{round}")),
            );
            let elapsed = start.elapsed();
            shut(group);
            gateway_starts.push(if faults.is_empty() { Ok(elapsed) } else { Err(format!("{faults:?}")) });
        }
        if let Some(image) = &mosquitto_image {
            let start = Instant::now();
            let (group, faults) = MqttBrokerGroup::start(
                &engine,
                &spec("broker", &no_config, &mosquitto, image),
                options(&format!("b{round}")),
            );
            let elapsed = start.elapsed();
            shut(group);
            broker_starts.push(if faults.is_empty() { Ok(elapsed) } else { Err(format!("{faults:?}")) });
        }
        for (node, image, samples) in [(&echo, &echo_image, &mut echo_starts), (&ml, &ml_image, &mut ml_starts)] {
            if let Some(image) = image {
                let started = start_mqtt_clients(&engine, &format!("c{round}"), &spec("svc", &no_config, node, image));
                samples.push(started.map(|(group, elapsed)| {
                    shut(group);
                    elapsed
                }));
            }
        }
    }
    let starts: [(&str, Samples, bool); 5] = [
        ("internal network: create + inspect (bollard, as a run makes it)", network_samples, false),
        ("stdio gateway: container start to its hello (network none)", gateway_starts, false),
        ("Mosquitto broker: network + container start to the host's CONNACK", broker_starts, false),
        ("MQTT echo client", echo_starts, true),
        ("MQTT ML inference service", ml_starts, true),
    ];
    for (label, samples, quiet) in starts {
        let result = samples.into_iter().collect::<Result<Vec<_>, _>>();
        match result {
            Ok(samples) if samples.is_empty() => not_measured(label, "no image"),
            Ok(samples) if quiet => {
                let d = median(samples);
                row(&format!("{label}: network + start to CONNECT + 200 ms quiet"), ms(d), "");
                row(&format!("{label}: the same less the 200 ms quiet"), ms(d.saturating_sub(READY_QUIET)), "");
            }
            Ok(samples) => row(label, ms(median(samples)), ""),
            Err(e) => not_measured(label, &format!("it did not start: {e}")),
        }
    }

    // --- Messages per second through one node ---------------------------------------------
    let mut clock = Clock(0);
    let echo_group = echo_image.as_ref().map(|image| {
        let ids: Vec<String> = (0..16).map(|i| format!("svc{i}")).collect();
        let specs: Vec<DockerNodeSpec<'_>> = ids
            .iter()
            .map(|id| DockerNodeSpec { id, config: &no_config, docker: &echo, image_id: &image.id })
            .collect();
        start_mqtt_clients(&engine, "echo", &specs)
    });
    match &echo_group {
        Some(Err(e)) => not_measured("MQTT echo: 16 containers", &format!("they did not start: {e}")),
        None => not_measured("MQTT echo rows", "no image"),
        Some(Ok((_, started))) => row("16 MQTT echo containers started together (+ 200 ms quiet)", ms(*started), ""),
    }
    let mut echo_group = echo_group.and_then(Result::ok).map(|(group, _)| group);
    let mut gateway_group = gateway_image.as_ref().map(|image| {
        let (group, faults) =
            DockerNodeGroup::start(&engine, &spec("gw", &gateway_config, &gateway, image), options("gw"));
        assert!(faults.is_empty(), "{faults:?}");
        group
    });
    // The two sides a step each in turn, so both see the same load.
    let mut echo_p50_us = None;
    for (n, samples) in [(1usize, 200), (100, 50)] {
        let (echo_inbox, gateway_inbox) = (echo_inbox(n), readings(n));
        let (mut echo_steps, mut gateway_steps) = (Vec::new(), Vec::new());
        for _ in 0..samples {
            if let Some(group) = &mut echo_group {
                let call = StepCall { index: 0, now_us: clock.tick(), inbox: echo_inbox.clone() };
                echo_steps.push(step(group, vec![call]).0);
            }
            if let Some(group) = &mut gateway_group {
                let call = StepCall { index: 0, now_us: clock.tick(), inbox: gateway_inbox.clone() };
                gateway_steps.push(step(group, vec![call]).0);
            }
        }
        let rate = |d: Duration| format!("{:.0} msg/s", n as f64 / d.as_secs_f64());
        let echo_label = format!("MQTT echo node, {n:>3} message(s) a step, each answered");
        match echo_group.as_ref().map(|_| median(echo_steps)) {
            Some(d) => row(&echo_label, us(d), &rate(d)),
            None => not_measured(&echo_label, "no echo node"),
        }
        if n == 1
            && let Some(group) = &echo_group
        {
            echo_p50_us = group.usage(0).processing_us_p50;
            let p50 = echo_p50_us.map_or("-".into(), |p| format!("{p} µs"));
            row("  its processing_us_p50 (PUBLISH written to answer's arrival)", p50, "usage");
        }
        let gateway_label = format!("stdio gateway container, {n:>3} reading(s) a step");
        match gateway_group.as_ref().map(|_| median(gateway_steps)) {
            Some(d) => row(&gateway_label, us(d), &format!("{}, baseline", rate(d))),
            None => not_measured(&gateway_label, "no gateway node"),
        }
    }
    if let Some(group) = gateway_group {
        shut(group);
    }

    // --- An ML request's round trip against its own inference time ---------------------------
    // One request a step, and two (as the example's two sensors, sampling
    // at the same instants, deliver them): a node of its own each, so each
    // processing_us_p50 covers its own answers only.
    for per_step in [1, 2] {
        let label = format!("ML node, {per_step} request(s) a step");
        match &ml_image {
            None => not_measured(&label, "no image"),
            Some(image) => {
                match start_mqtt_clients(&engine, &format!("ml{per_step}"), &spec("ml", &no_config, &ml, image)) {
                    Err(e) => not_measured(&label, &format!("it did not start: {e}")),
                    Ok((group, _)) => ml_round_trips(group, &mut clock, per_step, echo_p50_us),
                }
            }
        }
    }

    ml_through_simulation(ml_image.is_some());

    // --- Many containers due at one instant ---------------------------------------------------
    if let Some(group) = &mut echo_group {
        let inbox = echo_inbox(1);
        for k in [1usize, 4, 16] {
            let (mut together, mut one_by_one) = (Vec::new(), Vec::new());
            for _ in 0..50 {
                let t = clock.tick();
                let calls = (0..k).map(|index| StepCall { index, now_us: t, inbox: inbox.clone() }).collect();
                together.push(step(group, calls).0);
                let t = clock.tick();
                let start = Instant::now();
                for index in 0..k {
                    step(group, vec![StepCall { index, now_us: t, inbox: inbox.clone() }]);
                }
                one_by_one.push(start.elapsed());
            }
            let (together, one_by_one) = (median(together), median(one_by_one));
            row(&format!("{k:>2} MQTT echo containers due at once, 1 message each: together"), us(together), "");
            row(&format!("{k:>2} MQTT echo containers due at once: one after another"), us(one_by_one), "baseline");
            let ratio = one_by_one.as_secs_f64() / together.as_secs_f64();
            row("  one after another / together", format!("{ratio:.1}x"), "");
        }
    }
    if let Some(group) = echo_group {
        shut(group);
    }
    let left = leftovers(&engine);
    row("containers and networks left behind", left.len().to_string(), &left.join(", "));
}

/// `per_step` requests to the ML service a step, 200 in all; the host's
/// step time and the node's processing time against the inference time
/// each answer reports, and (one a step) against `echo_p50_us`, the echo
/// client's (the way there and back with next to no work at the end).
fn ml_round_trips(mut group: MqttClientGroup, clock: &mut Clock, per_step: usize, echo_p50_us: Option<u64>) {
    const REQUESTS: usize = 200;
    let mut steps = Vec::new();
    let mut inference_ms = Vec::new();
    let mut read = |outputs: Vec<StepOutput>| {
        for out in outputs.into_iter().flat_map(|o| o.outbox) {
            if out.topic.starts_with("ml/inference/result/") {
                let answer: serde_json::Value = serde_json::from_slice(&out.payload).expect("JSON");
                inference_ms.push(answer["inference_time_ms"].as_f64().expect("inference_time_ms"));
            }
        }
    };
    for sample in 0..REQUESTS / per_step {
        let now_us = clock.tick();
        let inbox = (0..per_step).map(|i| ml_request(sample * per_step + i, now_us)).collect();
        let (d, outputs) = step(&mut group, vec![StepCall { index: 0, now_us, inbox }]);
        steps.push(d);
        read(outputs);
    }
    // What the last answers left waiting.
    read(step(&mut group, vec![StepCall { index: 0, now_us: clock.tick(), inbox: Vec::new() }]).1);
    let usage = group.usage(0);
    shut(group);
    assert_eq!(inference_ms.len(), REQUESTS, "one answer a request");
    let step_us = median(steps).as_secs_f64() * 1e6;
    let processing_us = usage.processing_us_p50.expect("answers") as f64;
    let inference_us = median_f64(inference_ms) * 1e3;
    let label = format!("ML node, {per_step} request(s) a step: host step (submit to collect)");
    row(&label, format!("{step_us:.0} µs"), "median, 200 requests");
    row("  processing_us_p50 (PUBLISH written to its answer's arrival)", format!("{processing_us:.0} µs"), "usage");
    row("  the service's own inference_time_ms, median", format!("{inference_us:.0} µs"), "baseline");
    let share = processing_us - inference_us;
    let note = format!("{:.0}% of processing_us_p50", share / processing_us * 100.0);
    row("  the rest: the host's endpoint, TCP, paho, JSON, Python", format!("{share:.0} µs"), &note);
    if per_step == 1 {
        match echo_p50_us {
            Some(echo) => {
                let note = format!("{:.0}% of processing_us_p50", echo as f64 / processing_us * 100.0);
                row("    of which the echo client's processing_us_p50 (same run)", format!("{echo} µs"), &note);
            }
            None => not_measured("    the echo client's processing_us_p50", "no echo node"),
        }
    }
}

/// scenarios/ml_inference_mqtt.yaml run by the library, its cloud
/// summarising the answers' `inference_time_ms` instead of `prediction`:
/// the ML node's processing time (usage) against the inference time the
/// service reports, and the virtual end-to-end latency against its links.
fn ml_through_simulation(have_image: bool) {
    let label = "ML example run by the library (scenarios/ml_inference_mqtt.yaml)";
    if !have_image {
        return not_measured(label, "no image");
    }
    let context = root().join("containers/ml-inference");
    let Ok(text) = std::fs::read_to_string(root().join("scenarios/ml_inference_mqtt.yaml")) else {
        return not_measured(label, "the scenario is not there");
    };
    let (from_context, from_field) = ("build_context: ../containers/ml-inference", "value_field: prediction");
    if !text.contains(from_context) || !text.contains(from_field) {
        return not_measured(label, &format!("the scenario no longer has `{from_context}` and `{from_field}`"));
    }
    let text = text
        .replace(from_context, &format!("build_context: {}", context.display()))
        .replace(from_field, "value_field: inference_time_ms");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("ml_inference_mqtt.yaml");
    std::fs::write(&file, text).expect("the scenario's copy is written");
    let simulation = match Simulation::from_file(&file) {
        Ok(simulation) => simulation,
        Err(e) => {
            let first = e.to_string().lines().next().unwrap_or_default().to_string();
            return not_measured(label, &format!("the scenario does not load here: {first}"));
        }
    };
    // Keys a model on this branch does not take are dropped with a warning: the run would not be the example.
    let dropped: std::collections::BTreeSet<&str> = simulation
        .warnings()
        .0
        .iter()
        .filter(|w| ["features", "value_field", "subscribe"].iter().any(|key| w.message.contains(key)))
        .map(|w| w.message.as_str())
        .collect();
    if !dropped.is_empty() {
        return not_measured(
            label,
            &format!("a model here lacks the example's keys: {}", Vec::from_iter(dropped).join("; ")),
        );
    }
    let out = dir.path().join("out");
    let start = Instant::now();
    let ran = simulation.out_dir(&out).cache_dir(Some(dir.path().join("cache"))).run();
    let wall = start.elapsed();
    match ran {
        Ok(summary) if summary.status == RunStatus::Finished && summary.faults.is_empty() => {}
        Ok(summary) => {
            return not_measured(label, &format!("{:?}: {:?} {:?}", summary.status, summary.reason, summary.faults));
        }
        Err(e) => return not_measured(label, &e.to_string()),
    }
    let metrics = read_csv(&out.join("metrics.csv"), [0, 2, 3]);
    let usage = read_csv(&out.join("usage.csv"), [0, 1, 2]);
    let get = |table: &BTreeMap<(String, String), f64>, node: &str, name: &str| {
        table.get(&(node.to_string(), name.to_string())).copied()
    };
    let (Some(processing_us), Some(inference_ms), Some(answers)) = (
        get(&usage, "ml-service", "processing_us_p50"),
        get(&metrics, "cloud", "inference_time_ms_mean"),
        get(&usage, "ml-service", "answers"),
    ) else {
        return not_measured(label, "no processing_us_p50 for ml-service or no inference_time_ms_mean from the cloud");
    };
    let inference_us = inference_ms * 1e3;
    row(&format!("{label}: wall time"), ms(wall), &format!("{answers:.0} requests answered"));
    row("  ml-service processing_us_p50 (usage)", format!("{processing_us:.0} µs"), "");
    row("  the service's own inference_time_ms, mean (cloud value_field)", format!("{inference_us:.0} µs"), "baseline");
    let share = processing_us - inference_us;
    let note = format!("{:.0}% of processing_us_p50", share / processing_us * 100.0);
    row("  the rest: the host's endpoint, TCP, paho, JSON, Python", format!("{share:.0} µs"), &note);
    if let Some(latency) = get(&metrics, "cloud", "latency_p50_us") {
        // The example's links: sensor to broker 5 ms, to the service and back 0.1 ms each, to the cloud 50 ms.
        row("  cloud latency_p50_us (virtual, end to end)", format!("{latency:.0} µs"), "links alone: 55,200 µs");
    }
}

/// `file`'s rows (CSV, plain fields) as (`columns[0]`th field, `columns[1]`th) → the `columns[2]`th.
fn read_csv(file: &Path, columns: [usize; 3]) -> BTreeMap<(String, String), f64> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let [a, b, value] = columns.map(|c| fields.get(c).copied());
            Some(((a?.to_string(), b?.to_string()), value?.parse().ok()?))
        })
        .collect()
}

/// Creates, inspects and removes an internal network as MQTT runs do; the create and inspect timed.
fn time_network(engine: &DockerEngine, round: usize) -> Result<Duration, String> {
    let name = format!("xedgesim-benchmqttnet{round}{}", std::process::id());
    let labels =
        HashMap::from([(LABEL_RUN.to_string(), name.clone()), (LABEL_PID.to_string(), std::process::id().to_string())]);
    let request = NetworkCreateRequest {
        name,
        driver: Some("bridge".into()),
        internal: Some(true),
        labels: Some(labels),
        ..Default::default()
    };
    let docker = engine.docker();
    let start = Instant::now();
    let created = engine.block_on(docker.create_network(request)).map_err(|e| e.to_string())?;
    let inspected = engine.block_on(docker.inspect_network(&created.id, None));
    let elapsed = start.elapsed();
    engine.block_on(docker.remove_network(&created.id)).map_err(|e| e.to_string())?;
    inspected.map(|_| elapsed).map_err(|e| e.to_string())
}
