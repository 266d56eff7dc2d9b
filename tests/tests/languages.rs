//! Models in Python and JavaScript: the gateway written three times
//! (`models/gateway` in Rust, `models/python-gateway`,
//! `models/js-gateway`), built with the pinned toolchains, must behave as
//! one: the same trace bytes for every seed and packing, the same
//! canonical run as `equiv` compares. Hostile models in both languages are
//! stopped by fuel and by the memory cap, naming the node. The SDKs' and
//! the gateways' own tests run under each SDK's test harness (python3,
//! node), and each gateway's folder carries the SDK `xedgesim new` writes.
//!
//! The toolchains are installed on first use into `target/polyglot/`
//! (componentize-py 0.25.1 in a venv, unless it is on PATH; componentize-qjs
//! 0.4.5 by `npm ci` from `models/sdk-js/package-lock.json`), and each
//! component is built once per content of its sources, the SDK and the WIT.
//! Without python3 or npm these tests fail, saying what to install.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};
use xedgesim::equiv::{EquivOptions, canonical, compare};
use xedgesim::run::{FaultRecord, RunStatus, RunSummary, SandboxMode, Simulation};
use xedgesim_tests::polyglot::{componentize_py, polyglot_dir, run_tool};
use xedgesim_tests::{first_divergence, repo_root};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Lang {
    Python,
    Js,
}

/// componentize-qjs, as pinned in models/sdk-js/package-lock.json.
fn ensure_componentize_qjs() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let sdk = repo_root().join("models/sdk-js");
        if !sdk.join("node_modules/.bin/componentize-qjs").is_file() {
            run_tool(
                Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&sdk),
                "npm ci in models/sdk-js (JavaScript models need Node.js 20+ and npm)",
            );
        }
    });
}

/// SHA-256 over the files of `dirs` (names and contents, in order).
fn content_hash(dirs: &[PathBuf]) -> String {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name == "node_modules" || name == "__pycache__" {
                continue;
            }
            if path.is_dir() { walk(&path, files) } else { files.push(path) }
        }
    }
    let mut hash = Sha256::new();
    for dir in dirs {
        let mut files = Vec::new();
        walk(dir, &mut files);
        for file in files {
            hash.update(file.strip_prefix(repo_root()).unwrap().to_string_lossy().as_bytes());
            hash.update(std::fs::read(&file).unwrap());
        }
    }
    hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The component built from `models/<model>`, built once per content.
fn component(lang: Lang, model: &str) -> PathBuf {
    static BUILDS: Mutex<BTreeMap<(Lang, String), PathBuf>> = Mutex::new(BTreeMap::new());
    let mut builds = BUILDS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = builds.get(&(lang, model.to_string())) {
        return path.clone();
    }
    let root = repo_root();
    let sdk = root.join(match lang {
        Lang::Python => "models/sdk-python",
        Lang::Js => "models/sdk-js",
    });
    let source = root.join("models").join(model);
    let hash = content_hash(&[source.clone(), sdk.clone(), root.join("wit")]);
    let stem = model.replace('/', "-");
    let out = polyglot_dir().join(format!("{stem}-{hash}.wasm"));
    if !out.is_file() {
        std::fs::create_dir_all(polyglot_dir()).unwrap();
        let mut build = Command::new(sdk.join("build.sh"));
        build.arg(&source).arg(&out);
        match lang {
            Lang::Python => {
                build.env("COMPONENTIZE_PY", componentize_py());
            }
            Lang::Js => ensure_componentize_qjs(),
        }
        run_tool(&mut build, &format!("building models/{model}"));
        // Builds of older sources are never asked for again.
        for entry in std::fs::read_dir(polyglot_dir()).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let stale = name.strip_prefix(&format!("{stem}-")).is_some_and(|rest| rest.len() == 21);
            if stale && entry.path() != out {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    builds.insert((lang, model.to_string()), out.clone());
    out
}

/// The example `scenario` (in `scenarios/`) with the gateway's code from
/// `component` (the built-in one when `None`), written into `dir`.
fn scenario_with_gateway(scenario: &str, dir: &Path, name: &str, component: Option<&Path>) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join("scenarios").join(scenario)).unwrap();
    let text = match component {
        Some(c) => text.replace(
            "  - id: gateway\n    type: gateway\n",
            &format!("  - id: gateway\n    type: gateway\n    wasm: {{component: '{}'}}\n", c.display()),
        ),
        None => text,
    };
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(&file, text).unwrap();
    file
}

/// One cache for every run here: a Python component takes seconds to compile.
fn cache() -> PathBuf {
    polyglot_dir().join("wasm-cache")
}

fn run(file: &Path, out: &Path, seed: u64, duration_s: f64, packing: SandboxMode) -> RunSummary {
    let report = Simulation::from_file(file)
        .unwrap_or_else(|e| panic!("{e}"))
        .seed(seed)
        .duration_s(duration_s)
        .unwrap()
        .sandbox(packing)
        .out_dir(out)
        .cache_dir(Some(cache()))
        .trace(xedgesim::run::TraceLevel::All)
        .record_deliveries(true)
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.status, RunStatus::Finished, "{}: {:?}", file.display(), report.reason);
    assert!(report.faults.is_empty(), "{}: {:?}", file.display(), report.faults);
    report
}

/// Runs the Rust gateway and the other languages' with one seed, duration
/// and packing; asserts identical trace and metrics bytes and no
/// difference under `equiv`'s comparison.
fn assert_three_agree(seed: u64, duration_s: f64, packing: SandboxMode) {
    assert_three_agree_in("wasm_gateway.yaml", seed, duration_s, packing);
}

fn assert_three_agree_in(scenario: &str, seed: u64, duration_s: f64, packing: SandboxMode) {
    let gateway_scenario =
        |dir: &Path, name: &str, component: Option<&Path>| scenario_with_gateway(scenario, dir, name, component);
    let dir = tempfile::tempdir().unwrap();
    let rust_file = gateway_scenario(dir.path(), "rust", None);
    let rust = run(&rust_file, &dir.path().join("rust"), seed, duration_s, packing);
    let expected = canonical(&rust);
    assert!(expected.deliveries["cloud"].len() >= 3, "the cloud gets aggregates");
    for (lang, model) in [(Lang::Python, "python-gateway"), (Lang::Js, "js-gateway")] {
        let file = gateway_scenario(dir.path(), model, Some(&component(lang, model)));
        let out = dir.path().join(model);
        let report = run(&file, &out, seed, duration_s, packing);
        let what = format!("{model}, seed {seed}, {duration_s} s, {packing:?}");
        for name in ["trace.jsonl", "metrics.csv"] {
            let a = std::fs::read_to_string(dir.path().join("rust").join(name)).unwrap();
            let b = std::fs::read_to_string(out.join(name)).unwrap();
            assert!(a == b, "{what}: {name} differs; first divergence: {:?}", first_divergence(&a, &b));
        }
        let differences = compare(&expected, &canonical(&report), &EquivOptions::default());
        assert!(differences.is_empty(), "{what}: {differences:?}");
    }
}

#[test]
fn three_gateways_give_the_same_bytes_for_every_seed() {
    for seed in [1, 2, 42] {
        assert_three_agree(seed, 30.0, SandboxMode::PerNode);
    }
}

#[test]
fn three_gateways_agree_through_a_reboot() {
    // Restarted at 15 s, each starts its windows afresh from its restart.
    assert_three_agree_in("gateway_reboot.yaml", 42, 30.0, SandboxMode::PerNode);
}

#[test]
fn three_gateways_agree_over_a_long_run() {
    assert_three_agree(7, 3_000.0, SandboxMode::PerNode);
}

#[test]
fn three_gateways_agree_packed_in_shared_instances() {
    // Ten gateways of each language share one instance per language.
    let dir = tempfile::tempdir().unwrap();
    let many = |component: Option<&Path>| {
        let wasm = component.map(|c| format!(", wasm: {{component: '{}'}}", c.display())).unwrap_or_default();
        let mut yaml = String::from("simulation: {duration_s: 60, seed: 3}\nnodes:\n  - {id: cloud, type: cloud}\n");
        for g in 0..10 {
            yaml.push_str(&format!(
                "  - {{id: gw{g}, type: gateway{wasm}, config: {{window_s: {}, alert_threshold: 23.5, destination: cloud}}}}\n",
                [0.3333333, 1.0, 2.5, 5.0][g % 4]
            ));
            for s in 0..4 {
                yaml.push_str(&format!(
                    "  - {{id: s{g}_{s}, type: sensor, config: {{destination: gw{g}, sample_rate_hz: {}}}}}\n",
                    s + 1
                ));
            }
        }
        yaml
    };
    let rust_file = dir.path().join("rust.yaml");
    std::fs::write(&rust_file, many(None)).unwrap();
    let packing = SandboxMode::Shared { nodes_per_instance: usize::MAX };
    run(&rust_file, &dir.path().join("rust"), 3, 60.0, packing);
    for (lang, model) in [(Lang::Python, "python-gateway"), (Lang::Js, "js-gateway")] {
        let file = dir.path().join(format!("{model}.yaml"));
        std::fs::write(&file, many(Some(&component(lang, model)))).unwrap();
        let out = dir.path().join(model);
        run(&file, &out, 3, 60.0, packing);
        let a = std::fs::read_to_string(dir.path().join("rust/trace.jsonl")).unwrap();
        let b = std::fs::read_to_string(out.join("trace.jsonl")).unwrap();
        assert!(a == b, "{model}: first divergence: {:?}", first_divergence(&a, &b));
    }
}

/// Runs one hostile node of `lang` in `mode` and returns its fault.
fn hostile_fault(lang: Lang, model: &str, mode: &str, wasm_extra: &str) -> FaultRecord {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.yaml");
    let component = component(lang, model);
    std::fs::write(
        &file,
        format!(
            "simulation: {{duration_s: 3, on_fault: isolate}}\nnodes:\n  - {{id: bad_{mode}, type: hostile, wasm: {{component: '{}'{wasm_extra}}}, config: {{mode: {mode}}}}}\n",
            component.display()
        ),
    )
    .unwrap();
    let report = Simulation::from_file(&file)
        .unwrap_or_else(|e| panic!("{e}"))
        .out_dir(dir.path().join("out"))
        .cache_dir(Some(cache()))
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.faults.len(), 1, "{:?}", report.faults);
    report.faults[0].clone()
}

#[test]
fn a_python_model_that_loops_or_hoards_is_stopped_naming_it() {
    let fault = hostile_fault(Lang::Python, "fixtures/python-hostile", "loop", "");
    assert_eq!((fault.node.as_str(), fault.time_us), ("bad_loop", 1_000_000));
    assert_eq!(fault.kind, "out_of_fuel", "{fault:?}");
    let fault = hostile_fault(Lang::Python, "fixtures/python-hostile", "grow", "");
    assert_eq!(fault.node, "bad_grow");
    assert_eq!(fault.kind, "memory_limit", "{fault:?}");
    assert!(fault.message.contains("(64 MiB)"), "{fault:?}");
}

#[test]
fn a_javascript_model_that_loops_or_hoards_is_stopped_naming_it() {
    let fault = hostile_fault(Lang::Js, "fixtures/js-hostile", "loop", "");
    assert_eq!((fault.node.as_str(), fault.time_us), ("bad_loop", 1_000_000));
    assert_eq!(fault.kind, "out_of_fuel", "{fault:?}");
    // Filling each buffer costs fuel per byte: a budget that lets memory speak first.
    let fault = hostile_fault(Lang::Js, "fixtures/js-hostile", "grow", ", fuel_per_step: 100000000000");
    assert_eq!(fault.node, "bad_grow");
    assert_eq!(fault.kind, "memory_limit", "{fault:?}");
    assert!(fault.message.contains("(64 MiB)"), "{fault:?}");
}

/// The draws of the probe nodes (`p0` …), in send order, as sent.
fn probe_draws(lang: Lang, model: &str, seed: u64, packing: SandboxMode) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let component = component(lang, model);
    let mut yaml = String::from("simulation: {duration_s: 2}\nnodes:\n  - {id: cloud, type: cloud}\n");
    for p in 0..3 {
        yaml.push_str(&format!("  - {{id: p{p}, type: probe, wasm: {{component: '{}'}}}}\n", component.display()));
    }
    let file = dir.path().join("probe.yaml");
    std::fs::write(&file, yaml).unwrap();
    let report = run(&file, &dir.path().join("out"), seed, 2.0, packing);
    report.deliveries.iter().map(|d| String::from_utf8_lossy(&d.payload).into_owned()).collect()
}

#[test]
fn randomness_is_per_node_and_per_seed_whatever_the_packing_in_python_and_javascript() {
    // Python's `random` and `os.urandom`, JavaScript's Math.random: drawn in
    // the constructor and in two steps of three nodes.
    for (lang, model) in [(Lang::Python, "fixtures/python-probe"), (Lang::Js, "fixtures/js-probe")] {
        let draws = probe_draws(lang, model, 5, SandboxMode::PerNode);
        assert_eq!(draws.len(), 6, "{model}: {draws:?}");
        let distinct: std::collections::BTreeSet<&String> = draws.iter().collect();
        assert_eq!(distinct.len(), 6, "{model}: every node and step draws its own: {draws:?}");
        for packing in [SandboxMode::Shared { nodes_per_instance: 2 }, SandboxMode::Shared { nodes_per_instance: 3 }] {
            assert_eq!(probe_draws(lang, model, 5, packing), draws, "{model}: {packing:?} changed the draws");
        }
        assert_eq!(probe_draws(lang, model, 5, SandboxMode::PerNode), draws, "{model}: same seed, same draws");
        let other = probe_draws(lang, model, 6, SandboxMode::PerNode);
        assert!(other.iter().all(|d| !draws.contains(d)), "{model}: another seed, other draws");
    }
}

/// Runs `program args` in `models/<dir>`, failing with its output. No
/// `__pycache__` is left in the repository.
fn run_in_models(dir: &str, program: &str, args: &[&str]) {
    let folder = repo_root().join("models").join(dir);
    let out = Command::new(program)
        .args(args)
        .current_dir(&folder)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot start {program} in models/{dir} ({e}): Python 3 and Node.js 20+ are needed")
        });
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "`{program} {}` in models/{dir} failed:\n{text}", args.join(" "));
}

#[test]
fn the_python_sdk_and_gateway_pass_their_tests_under_the_harness() {
    // The SDK's own harness tests, then the gateway's, stepped in-process by
    // xedgesim_model.testing.TestNode under a plain CPython.
    run_in_models("sdk-python", "python3", &["-m", "unittest", "-v"]);
    run_in_models("python-gateway", "python3", &["-m", "unittest", "-v"]);
}

#[test]
fn the_javascript_sdk_and_gateway_pass_their_tests_under_the_harness() {
    // The same tests in JavaScript, by testing.js's TestNode under plain Node.js.
    run_in_models("sdk-js", "node", &["test_sdk.js"]);
    run_in_models("js-gateway", "node", &["test.js"]);
}

/// Every file under `dir`, as (path relative to it, bytes), `node_modules`
/// and `__pycache__` left out.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name == "node_modules" || name == "__pycache__" {
                continue;
            }
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let relative = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The repository's Python and JavaScript gateways are model folders like
/// those `xedgesim new` makes: each carries the SDK of its language and
/// the WIT beside its own files, byte for byte as `xedgesim sdk` writes
/// them (models/copy-sdks.sh copies them again after an edit).
#[test]
fn the_gateway_folders_carry_the_sdk_xedgesim_new_writes() {
    use xedgesim::scaffold::{Language, write_sdk};
    for (language, model) in [(Language::Python, "python-gateway"), (Language::JavaScript, "js-gateway")] {
        let dir = tempfile::tempdir().unwrap();
        let sdk = dir.path().join("sdk");
        write_sdk(&sdk, language).unwrap();
        let written = files_under(&sdk);
        assert!(written.contains_key("wit/node.wit"), "{:?}", written.keys());
        let folder = repo_root().join("models").join(model);
        let held = files_under(&folder);
        let stale: Vec<&String> =
            written.iter().filter(|(path, bytes)| held.get(*path) != Some(bytes)).map(|(p, _)| p).collect();
        assert!(
            stale.is_empty(),
            "models/{model} differs from the SDK `xedgesim new` writes in {stale:?}\n  = help: run models/copy-sdks.sh"
        );
    }
}
