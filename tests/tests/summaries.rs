//! `summary.json` of every example scenario without Docker nodes, as a
//! golden file. Wall-clock fields vary between runs, and component hashes
//! with every change to a model or the toolchain: both are redacted.

use xedgesim::run::Simulation;
use xedgesim::scenario::Implementation;
use xedgesim_tests::{normalise_paths, repo_root, yaml_files};

#[test]
fn summaries_of_the_example_scenarios() {
    let mut ran = 0;
    for file in yaml_files("scenarios") {
        let sim = Simulation::from_file(repo_root().join(&file)).unwrap();
        if sim.scenario().nodes.iter().any(|n| matches!(n.implementation, Implementation::Docker(_))) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        sim.out_dir(dir.path()).cache_dir(Some(dir.path().join("cache"))).run().unwrap();
        let summary = normalise_paths(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap());
        let mut value: serde_json::Value = serde_json::from_str(&summary).unwrap();
        for field in ["wall_prepare_s", "wall_duration_s", "wall_events_per_s"] {
            value[field] = serde_json::Value::String("[wall clock]".into());
        }
        for (_, hash) in value["components"].as_object_mut().unwrap().iter_mut() {
            *hash = serde_json::Value::String("[sha256]".into());
        }
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_json_snapshot!(format!("summary_{name}"), value);
        ran += 1;
    }
    assert!(ran >= 2, "wasm_gateway and xedgesim_m0_baseline at least");
}
