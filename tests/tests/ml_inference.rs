//! The `ml_inference` model (models/ml-inference: tract in the sandbox):
//! its predictions against ONNX Runtime's, bad and hostile model files as
//! faults naming the node, and a run with it as reproducible as any.
//!
//! The component is built once (cargo, in the model's own folder) and
//! compiled once into a cache shared by this file's tests (under cargo's
//! temporary folder for tests): compiling it takes tens of seconds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use xedgesim::run::Simulation;
use xedgesim::runtime::wasm::{DataFiles, ModelComponent, NodeSpec, RuntimeOptions, WasmNodeGroup, WasmRuntime};
use xedgesim::runtime::{Address, FaultKind, Message, NodeFault, NodeGroup, StepCall};
use xedgesim::scenario::{SandboxLimits, ml_inference_folder};
use xedgesim_tests::{read_metrics, repo_root};

/// The cache this file's tests share, and host/tests/ml_placement.rs's runs.
fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("ml-inference-cache")
}

/// The runtime and the compiled component, made once for all tests here.
fn component() -> &'static Mutex<(WasmRuntime, Arc<ModelComponent>)> {
    static MADE: OnceLock<Mutex<(WasmRuntime, Arc<ModelComponent>)>> = OnceLock::new();
    MADE.get_or_init(|| {
        let cache = cache_dir();
        let built = xedgesim::runtime::wasm::build_folder(&ml_inference_folder(), Some(&cache), None, &mut |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        let runtime = WasmRuntime::new(&RuntimeOptions { cache_dir: Some(cache), ..Default::default() }).unwrap();
        let bytes = std::fs::read(&built).unwrap();
        let component = Arc::new(runtime.load_bytes("ml_inference".into(), &bytes).unwrap_or_else(|e| panic!("{e}")));
        Mutex::new((runtime, component))
    })
}

/// The inference container's model (made by containers/ml-inference/make_model.py).
fn model_onnx() -> PathBuf {
    repo_root().join("containers/ml-inference/model.onnx")
}

/// A node `ml` of the model, reading `model` as its `model.onnx`.
fn node(model: &Path, limits: SandboxLimits) -> Result<WasmNodeGroup, NodeFault> {
    let guard = component().lock().unwrap_or_else(|e| e.into_inner());
    let (runtime, component) = &*guard;
    let files = BTreeMap::from([("model.onnx".to_string(), model.to_path_buf())]);
    let data = DataFiles::stage(&files, limits.memory_limit_mb << 20).unwrap();
    let config = BTreeMap::new();
    let data = Some(std::sync::Arc::new(data));
    WasmNodeGroup::with_data(runtime, component, 1, &[NodeSpec { id: "ml", config: &config }], limits, data)
}

fn request(device_id: &str, features: &[f32]) -> Message {
    let features: Vec<String> = features.iter().map(|x| format!("{x}")).collect();
    Message {
        source: "broker".into(),
        destination: Address::Publish,
        topic: "ml/inference/request".into(),
        payload: format!(
            "{{\"device_id\":\"{device_id}\",\"timestamp_us\":1000,\"features\":[{}]}}",
            features.join(",")
        )
        .into_bytes(),
        sent_us: 0,
    }
}

/// Reference predictions of containers/ml-inference/model.onnx (SHA-256
/// b07e85ae…21175) by ONNX Runtime 1.32.0 (CPUExecutionProvider), run in
/// the image xedgesim/ml-inference (`docker run --rm --network none`,
/// `session.run` on each vector as float32 [1, 32]; the float32 output's
/// bits in the comment), recorded here on 2026-12-07.
const REFERENCE: &[(&str, f32)] = &[
    ("zeros", 0.434_109_93),      // 0x3ede43a8
    ("ramp", 0.460_680_6),        // 0x3eebde54
    ("alternating", 0.509_538_9), // 0x3f027124
    ("steps", 0.436_384_17),      // 0x3edf6dbf
];

/// The feature vectors of [`REFERENCE`]: values exact in float32, so both
/// runtimes see the same input bits.
fn features(name: &str) -> Vec<f32> {
    (0..32)
        .map(|i| match name {
            "zeros" => 0.0,
            "ramp" => i as f32 / 8.0 - 2.0,
            "alternating" => {
                if i % 2 == 0 {
                    1.5
                } else {
                    -1.5
                }
            }
            "steps" => (i % 5) as f32 * 0.25 - 0.5,
            _ => unreachable!(),
        })
        .collect()
}

/// tract may sum in another order than ONNX Runtime, so a float32 result
/// may differ in its last bits (on 2026-12-07 all four were bit-identical).
/// 1e-6 is about 16 units in the last place at 0.5, and a thousand times
/// less than the smallest difference between two of the references.
const TOLERANCE: f64 = 1e-6;

#[test]
fn predictions_match_onnx_runtime() {
    let mut group = node(&model_onnx(), SandboxLimits::default()).unwrap_or_else(|f| panic!("{f}"));
    let inbox: Vec<Message> = REFERENCE.iter().map(|(name, _)| request(name, &features(name))).collect();
    let out = group.step(vec![StepCall { index: 0, now_us: 0, inbox }]).remove(0).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(out.outbox[0].topic, "$subscribe");
    assert_eq!(out.outbox[0].payload, b"ml/inference/request");
    assert_eq!(out.outbox.len(), 1 + REFERENCE.len());
    for ((name, expected), answer) in REFERENCE.iter().zip(&out.outbox[1..]) {
        assert_eq!(answer.topic, format!("ml/inference/result/{name}"));
        assert_eq!(answer.destination, Address::Publish);
        let json: serde_json::Value = serde_json::from_slice(&answer.payload).unwrap();
        assert_eq!(json["device_id"], *name);
        assert_eq!(json["timestamp_us"], 1000);
        assert_eq!(json["inference_time_ms"], 0.0, "virtual: the clock stands still within a step");
        let prediction = json["prediction"].as_f64().unwrap();
        let expected = f64::from(*expected);
        assert!((prediction - expected).abs() <= TOLERANCE, "{name}: tract {prediction}, ONNX Runtime {expected}");
    }
}

#[test]
fn a_request_it_cannot_use_is_refused_and_counted() {
    let mut group = node(&model_onnx(), SandboxLimits::default()).unwrap_or_else(|f| panic!("{f}"));
    let mut short = request("s1", &[1.0, 2.0]);
    short.topic = "ml/inference/request".into();
    let mut garbage = request("s2", &[]);
    garbage.payload = b"{not json".to_vec();
    let out = group
        .step(vec![StepCall { index: 0, now_us: 0, inbox: vec![short, garbage, request("ok", &features("zeros"))] }])
        .remove(0)
        .unwrap();
    assert_eq!(out.outbox.len(), 2, "the subscription and one answer");
    let metrics = group.finish(&[0], 1).remove(0).unwrap();
    let metric = |name: &str| metrics.iter().find(|m| m.name == name).unwrap().value;
    assert_eq!((metric("requests_answered"), metric("requests_refused")), (1.0, 2.0));
}

#[test]
fn a_malformed_model_is_a_constructor_fault_naming_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = std::fs::read(model_onnx()).unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        ("truncated", onnx[..onnx.len() / 2].to_vec()),
        ("garbage", (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect()),
        ("empty", Vec::new()),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let fault = node(&path, SandboxLimits::default()).err().unwrap_or_else(|| panic!("{name}: loaded"));
        assert_eq!(fault.node, "ml");
        assert_eq!(fault.kind, FaultKind::Config, "{name}: {fault}");
        let message = fault.to_string();
        assert!(message.contains("node 'ml'"), "{name}: {message}");
        assert!(message.contains("/data/model.onnx is not a model it can run"), "{name}: {message}");
    }
}

/// Protocol buffers, as much as an ONNX file needs: a length-delimited
/// field, a varint field.
fn field(number: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = varint(u64::from(number << 3 | 2));
    out.extend(varint(bytes.len() as u64));
    out.extend_from_slice(bytes);
    out
}

fn varint_field(number: u32, value: u64) -> Vec<u8> {
    let mut out = varint(u64::from(number << 3));
    out.extend(varint(value));
    out
}

fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// A well-formed ONNX model (IR 8, opset 13) whose one weight tensor,
/// `floats` float32 zeros, is all of it: `y = Identity(w)`.
fn weights_model(floats: usize) -> Vec<u8> {
    let tensor = [
        varint_field(1, floats as u64),   // dims
        varint_field(2, 1),               // data_type FLOAT
        field(8, b"w"),                   // name
        field(9, &vec![0u8; floats * 4]), // raw_data
    ]
    .concat();
    let node = [field(1, b"w"), field(2, b"y"), field(4, b"Identity")].concat();
    let output = [field(1, b"y"), field(2, &field(1, &varint_field(1, 1)))].concat();
    let graph = [field(1, &node), field(2, b"g"), field(5, &tensor), field(12, &output)].concat();
    let opset = [field(1, b""), varint_field(2, 13)].concat();
    [varint_field(1, 8), field(7, &graph), field(8, &opset)].concat()
}

#[test]
fn a_model_that_needs_more_memory_than_the_cap_is_a_memory_fault() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("heavy.onnx");
    // 40 MiB of weights: the file fits the 64 MiB cap, the file and the
    // decoded model together do not.
    std::fs::write(&path, weights_model(10 << 20)).unwrap();
    let limits = SandboxLimits { fuel_per_step: 20_000_000_000, ..SandboxLimits::default() };
    let fault = node(&path, limits).expect_err("past the cap");
    assert_eq!(fault.node, "ml");
    assert_eq!(fault.kind, FaultKind::MemoryLimit { memory_limit_mb: 64 }, "{fault}");
}

/// The sensors, broker and cloud of scenarios/ml_inference_mqtt.yaml,
/// with the WASM ml_inference node in place of the container.
const SCENARIO: &str = "\
simulation: {duration_s: 3, seed: 42}
network:
  model: latency
  default_latency_us: 1000
  links:
    - {src: sensor1, dst: broker, latency_us: 5000}
    - {src: sensor2, dst: broker, latency_us: 5000}
    - {src: broker, dst: cloud, latency_us: 50000}
nodes:
  - {id: broker, type: broker}
  - id: sensor1
    type: sensor
    config: {topic: ml/inference/request, sample_rate_hz: 10, features: 32, base: 0.0, noise_stddev: 1.0}
  - id: sensor2
    type: sensor
    config: {topic: ml/inference/request, sample_rate_hz: 10, features: 32, base: 0.5, noise_stddev: 1.0}
  - id: ml-service
    type: ml_inference
    wasm: {files: {model.onnx: model.onnx}}
  - id: cloud
    type: cloud
    config: {subscribe: ml/inference/result/+, value_field: prediction}
";

/// Runs [`SCENARIO`] from `dir` into `dir/<out>`; summary.json and the trace.
fn run(dir: &Path, out: &str) -> (String, String) {
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, SCENARIO).unwrap();
    std::fs::copy(model_onnx(), dir.join("model.onnx")).unwrap();
    let summary = Simulation::from_file(&file)
        .unwrap_or_else(|e| panic!("{e}"))
        .out_dir(dir.join(out))
        .cache_dir(Some(cache_dir()))
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary.files["ml-service"]["model.onnx"], sha256_hex(&dir.join("model.onnx")));
    let text = |name: &str| std::fs::read_to_string(dir.join(out).join(name)).unwrap();
    let summary_json: String = text("summary.json").lines().filter(|l| !l.contains("\"wall_")).collect();
    (summary_json, text("trace.jsonl"))
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn sensors_through_the_broker_to_ml_inference_give_the_same_bytes_each_run() {
    // Compiled once for the file's tests, before the run looks in the cache.
    drop(component().lock());
    let dir = tempfile::tempdir().unwrap();
    let first = run(dir.path(), "a");
    let metrics = read_metrics(&dir.path().join("a"));
    let answered = metrics[&("ml-service".to_string(), "requests_answered".to_string())];
    // 10 Hz from each sensor for 3 s, less what is still on its way at the end.
    assert!((50.0..=60.0).contains(&answered), "{answered} answered");
    assert_eq!(metrics[&("ml-service".to_string(), "requests_refused".to_string())], 0.0);
    let at_cloud = metrics[&("cloud".to_string(), "received_ml/inference/result/sensor1".to_string())];
    assert!(at_cloud > 20.0, "{at_cloud} results of sensor1 at the cloud");
    let second = run(dir.path(), "b");
    assert!(first.0 == second.0, "summary.json differs between two runs of one seed");
    assert!(first.1 == second.1, "the trace differs between two runs of one seed");
    assert!(first.1.contains("ml/inference/result/sensor2"), "answers are in the trace");
}

/// A model file past the node's memory cap never reaches the node: the
/// scenario's check refuses it at its line (tests/tests/data_files.rs), and
/// staging refuses it if it grew after the check.
#[test]
fn an_oversized_model_file_is_refused_before_the_node_starts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.onnx"), vec![0u8; 2 << 20]).unwrap();
    let yaml =
        "nodes:\n  - id: ml\n    type: ml_inference\n    wasm: {memory_limit_mb: 1, files: {model.onnx: model.onnx}}\n";
    let file = dir.path().join("s.yaml");
    let Err(error) = xedgesim::scenario::load_str(Path::new("s.yaml"), &file, yaml) else { panic!("loaded") };
    let error = error.to_string();
    assert!(error.starts_with("s.yaml:4:"), "{error}");
    assert!(error.contains("wasm.files hold 2097152 bytes; a node may have at most 1048576"), "{error}");
    assert!(error.contains("node: ml"), "{error}");
    let files = BTreeMap::from([("model.onnx".to_string(), model_onnx())]);
    let staged = DataFiles::stage(&files, 1000).expect_err("past the bound");
    assert!(staged.to_string().contains("over 1000 bytes together"), "{staged}");
}

/// `type: ml_inference` without a component is xedgesim's own model
/// folder, which needs no yes to build; with `implementation: docker` it
/// is a container's type as before.
#[test]
fn the_type_resolves_to_xedgesims_own_folder() {
    use xedgesim::scenario::{CapabilityKind, ComponentSource, Implementation};
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(model_onnx(), dir.path().join("model.onnx")).unwrap();
    let yaml = "nodes:\n  - {id: ml, type: ml_inference, wasm: {files: {model.onnx: model.onnx}}}\n";
    let Ok(loaded) = xedgesim::scenario::load_str(Path::new("s.yaml"), &dir.path().join("s.yaml"), yaml) else {
        panic!("refused")
    };
    let Implementation::Wasm(wasm) = &loaded.resolved.nodes[0].implementation else { panic!("not wasm") };
    assert_eq!(wasm.component, ComponentSource::Folder(ml_inference_folder()));
    assert!(ml_inference_folder().join("Cargo.toml").is_file());
    assert!(!loaded.capabilities.iter().any(|c| c.kind == CapabilityKind::ModelBuild), "{:?}", loaded.capabilities);
    let docker = "nodes:\n  - {id: ml, type: ml_inference, implementation: docker, docker: {image: x}}\n";
    let Ok(loaded) = xedgesim::scenario::load_str(Path::new("s.yaml"), &dir.path().join("s.yaml"), docker) else {
        panic!("refused")
    };
    assert!(loaded.resolved.nodes[0].implementation.is_docker());
}
