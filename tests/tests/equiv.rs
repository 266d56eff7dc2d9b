//! Equivalence: one canonical snapshot, asserted for every implementation
//! of the gateway, a pair that differs on purpose, caught with its first
//! difference named, and trials as the library schedules them.

use std::path::Path;

use xedgesim::equiv::{CanonicalRun, EquivOptions, Runs, Side, canonical, compare, run_sides};
use xedgesim::run::{RunStatus, SandboxMode, Simulation};
use xedgesim_tests::{docker_engine, repo_root, run_label};

fn canonical_run(file: &Path, out: &Path) -> CanonicalRun {
    canonical_run_packed(file, out, SandboxMode::PerNode)
}

fn canonical_run_packed(file: &Path, out: &Path, packing: SandboxMode) -> CanonicalRun {
    let report = Simulation::from_file(file)
        .unwrap_or_else(|e| panic!("{e}"))
        .out_dir(out)
        .sandbox(packing)
        .record_deliveries(true)
        .run_label(run_label())
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    canonical(&report)
}

/// wasm_gateway.yaml with the gateway's window set to `window_s`.
fn with_window(dir: &Path, window_s: u32) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo_root().join("scenarios/wasm_gateway.yaml")).unwrap();
    let file = dir.join(format!("window{window_s}.yaml"));
    std::fs::write(&file, text.replace("window_s: 5", &format!("window_s: {window_s}"))).unwrap();
    file
}

#[test]
fn the_wasm_gateway_matches_its_snapshot_and_hand_counted_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let run = canonical_run(&repo_root().join("scenarios/wasm_gateway.yaml"), dir.path());
    // Worked out by hand (30 s, 2 ms sensor links, samples at whole periods
    // from one period on; a message due after 30 s is in flight): sensor1
    // and sensor3 at 1 Hz deliver 29 readings each, sensor2 at 2 Hz 59;
    // the gateway's 5 s windows close at 5 … 30 s and the one sent at 30 s
    // is still on its 25 ms link: 5 aggregates reach the cloud.
    let from = |dst: &str, src: &str| run.deliveries[dst].iter().filter(|d| d.src == src).count();
    assert_eq!((from("gateway", "sensor1"), from("gateway", "sensor2"), from("gateway", "sensor3")), (29, 59, 29));
    assert_eq!(run.deliveries["cloud"].len(), 5);
    assert!(run.deliveries["cloud"].iter().all(|d| d.topic == "aggregate"));
    // Readings are handled 100 µs after they arrive, so the first window
    // (0, 5 s] holds sensor1's and sensor3's of 1 … 4 s and sensor2's of
    // 0.5 … 4.5 s: 4 + 9 + 4 = 17; each later window 5 + 10 + 5 = 20.
    let counts: Vec<bool> = run.deliveries["cloud"]
        .iter()
        .enumerate()
        .map(|(i, d)| d.payload_text().contains(&format!("\"count\":{},", if i == 0 { 17 } else { 20 })))
        .collect();
    assert_eq!(counts, vec![true; 5], "{:?}", run.deliveries["cloud"]);
    insta::assert_yaml_snapshot!("gateway_canonical", run);
}

#[test]
fn the_wasm_gateway_packed_in_shared_instances_matches_the_same_snapshot() {
    // One snapshot, every packing: 2 nodes per instance puts sensor1 and
    // sensor2 in one instance and sensor3 in another; 1,000 all sensors in one.
    let dir = tempfile::tempdir().unwrap();
    for nodes_per_instance in [2, 1_000] {
        let packing = SandboxMode::Shared { nodes_per_instance };
        let run = canonical_run_packed(&repo_root().join("scenarios/wasm_gateway.yaml"), dir.path(), packing);
        insta::assert_yaml_snapshot!("gateway_canonical", run);
    }
}

#[test]
fn the_docker_gateway_matches_the_same_snapshot() {
    let Some(_engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let run = canonical_run(&repo_root().join("scenarios/docker_gateway.yaml"), dir.path());
    // One snapshot, two implementations.
    insta::assert_yaml_snapshot!("gateway_canonical", run);
}

#[test]
fn a_gateway_with_another_window_is_caught_at_its_first_difference() {
    let dir = tempfile::tempdir().unwrap();
    let five = canonical_run(&with_window(dir.path(), 5), &dir.path().join("five"));
    let three = canonical_run(&with_window(dir.path(), 3), &dir.path().join("three"));
    let differences = compare(&five, &three, &EquivOptions::default());
    assert!(!differences.is_empty());
    let first = differences[0].to_string();
    // The first aggregate reaches the cloud after 3 s instead of after 5 s.
    assert!(first.starts_with("node 'cloud' at t = 5.0"), "{first}");
    assert!(first.contains("message 1 received: at another time"), "{first}");
    assert!(first.contains("found:    at 3.0"), "{first}");
    let all = compare(&five, &three, &EquivOptions { max_differences: usize::MAX, ..EquivOptions::default() });
    assert!(all.iter().any(|d| d.node == "cloud" && d.what == "5 messages received, against 9"), "{all:#?}");
    assert!(all.iter().any(|d| d.node == "gateway" && d.what == "metric windows_closed"), "{all:#?}");
    // And a run is equivalent to itself.
    assert!(compare(&five, &five, &EquivOptions::default()).is_empty());
}

#[test]
fn one_file_compared_with_itself_with_the_gateway_swapped_into_its_container() {
    let Some(_engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    // wasm_gateway.yaml, its gateway carrying the `docker:` section a swap uses.
    let text = std::fs::read_to_string(repo_root().join("scenarios/wasm_gateway.yaml")).unwrap();
    let section = format!(
        "      alert_threshold: 25.0\n    docker:\n      build_context: {root}/containers/gateway\n      build_command: ../build-static.sh xedgesim-container-gateway gateway\n",
        root = repo_root().display()
    );
    assert!(text.contains("      alert_threshold: 25.0\n"), "the example still has its gateway config");
    let file = dir.path().join("both.yaml");
    std::fs::write(&file, text.replacen("      alert_threshold: 25.0\n", &section, 1)).unwrap();
    let loaded = xedgesim::scenario::load(&file).unwrap();
    assert!(loaded.warnings.to_string().contains("used only by `xedgesim equiv --swap gateway=docker`"));
    let mut swapped = loaded.resolved.clone();
    xedgesim::equiv::swap(&mut swapped, "gateway=docker", dir.path()).unwrap();
    let run = |sim: Simulation, out: &str| {
        let report = sim.out_dir(dir.path().join(out)).record_deliveries(true).run_label(run_label()).run().unwrap();
        assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
        report
    };
    let wasm = run(Simulation::new(loaded.resolved), "wasm");
    let docker = run(Simulation::new(swapped), "docker");
    assert!(wasm.images.is_empty() && docker.images.contains_key("gateway"), "the swap ran the container");
    let differences = compare(&canonical(&wasm), &canonical(&docker), &EquivOptions::default());
    assert!(differences.is_empty(), "{differences:#?}");
}

/// The library schedules trials: run on one thread or on four, each
/// (trial, side) gets the same run, both sides of a trial its seed, each
/// trial a seed of its own, and each run its own folder.
#[test]
fn trials_give_the_same_runs_on_one_thread_or_many_each_trial_with_its_own_seed() {
    let dir = tempfile::tempdir().unwrap();
    let file = repo_root().join("scenarios/wasm_gateway.yaml");
    let side = |name| Side {
        name,
        file: file.clone(),
        swap: None,
        swap_base: dir.path().to_path_buf(),
        sandbox: SandboxMode::PerNode,
        fault_free: false,
        load: Default::default(),
        replay: Vec::new(),
        recorded: None,
    };
    let sides = [side("a"), side("b")];
    let runs = |threads, out: &str| Runs {
        seed: 7,
        trials: 3,
        out: dir.path().join(out),
        threads,
        cache_dir: Some(dir.path().join("cache")),
        docker_host: None,
        offline: true,
        run_label: run_label(),
        interrupt: Default::default(),
    };
    let heard = std::sync::Mutex::new(Vec::new());
    let one = run_sides(&sides, &runs(1, "one"), &|trial, side, finished| {
        heard.lock().unwrap().push((trial, side.name, finished));
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let order = [(0, "a"), (0, "b"), (1, "a"), (1, "b"), (2, "a"), (2, "b")].map(|(t, s)| (t, s, true));
    assert_eq!(heard.into_inner().unwrap(), order, "one thread runs them in order, each told");
    let many = run_sides(&sides, &runs(4, "many"), &|_, _, _| {}).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one, many, "the thread count changes no run");
    assert_eq!(one[0], one[1], "both sides of a trial share its seed");
    assert!(one[0][0] != one[0][1] && one[0][1] != one[0][2], "each trial has a seed of its own");
    assert!(dir.path().join("many/a0/trace.jsonl").is_file() && dir.path().join("many/b2/trace.jsonl").is_file());
}
