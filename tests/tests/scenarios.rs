//! Golden tests over every scenario file in the repository: the resolved
//! form of each valid example, and the exact error text of each file in
//! `scenarios/invalid/`.

use std::path::Path;

use xedgesim::scenario::{self, ScenarioError};
use xedgesim_tests::{normalise_paths, repo_root, yaml_files};

/// Loads `relative` (from the root), naming it by its relative path in messages.
fn load(relative: &Path) -> Result<scenario::Loaded, ScenarioError> {
    let absolute = repo_root().join(relative);
    let text = std::fs::read_to_string(&absolute).expect("readable scenario");
    scenario::load_str(relative, &absolute, &text)
}

fn snapshot_name(file: &Path) -> String {
    file.file_stem().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_example_scenario_resolves() {
    let files = yaml_files("scenarios");
    assert!(files.len() >= 4, "the four example scenarios exist: {files:?}");
    for file in files {
        let loaded = load(&file).unwrap_or_else(|e| panic!("{} should be valid:\n{e}", file.display()));
        assert!(loaded.warnings.0.is_empty(), "{}: unexpected warnings:\n{}", file.display(), loaded.warnings);
        if loaded.resolved.nodes.len() > 100 {
            // A node group's thousand members: checked in `node_groups_*` below, not snapshotted.
            continue;
        }
        let yaml = normalise_paths(&scenario::resolved_to_yaml(&loaded.resolved));
        insta::assert_snapshot!(format!("resolved_{}", snapshot_name(&file)), yaml);
    }
}

#[test]
fn every_invalid_scenario_fails_with_its_golden_error() {
    let files = yaml_files("scenarios/invalid");
    assert!(files.len() >= 20, "one invalid file per rule: {files:?}");
    for file in files {
        let error = match load(&file) {
            Ok(_) => panic!("{} should be invalid", file.display()),
            Err(e) => e,
        };
        assert!(matches!(error, ScenarioError::Invalid { .. }), "{}: {error}", file.display());
        insta::assert_snapshot!(format!("invalid_{}", snapshot_name(&file)), normalise_paths(&error.to_string()));
    }
}

#[test]
fn a_hundred_thousand_sensors_before_their_gateway_resolve_with_the_gateway_as_destination() {
    // xEdgeSim writes sensors before their gateway: resolving looks the
    // default destination up once, not once per sensor (quadratic: 28 s for
    // 20,000 sensors before). Timed in the closing note, not here.
    let mut yaml = String::from("simulation: {duration_s: 1}\nnodes:\n");
    for i in 0..100_000 {
        yaml.push_str(&format!("  - {{id: s{i}, type: sensor}}\n"));
    }
    yaml.push_str("  - {id: gw, type: gateway}\n  - {id: cloud, type: cloud}\n");
    let loaded = scenario::load_str(Path::new("big.yaml"), Path::new("/big.yaml"), &yaml).unwrap();
    let nodes = &loaded.resolved.nodes;
    assert_eq!(nodes.len(), 100_002);
    let destination = |i: usize| nodes[i].config.get("destination").cloned();
    assert_eq!(destination(0), Some(xedgesim::scenario::ConfigValue::Text("gw".into())));
    assert_eq!(destination(99_999), Some(xedgesim::scenario::ConfigValue::Text("gw".into())));
    assert_eq!(destination(100_000), Some(xedgesim::scenario::ConfigValue::Text("cloud".into())));
}

#[test]
fn node_groups_make_their_members_with_the_index_filled_in() {
    let loaded = load(Path::new("scenarios/many_sensors.yaml")).unwrap();
    let nodes = &loaded.resolved.nodes;
    assert_eq!(nodes.len(), 1_011);
    let text = |i: usize, key: &str| nodes[i].config.get(key).cloned();
    assert_eq!((nodes[0].id.as_str(), nodes[999].id.as_str()), ("s0", "s999"));
    assert_eq!(text(0, "destination"), Some(scenario::ConfigValue::Text("gw0".into())));
    assert_eq!(text(250, "destination"), Some(scenario::ConfigValue::Text("gw2".into())));
    assert_eq!(text(999, "destination"), Some(scenario::ConfigValue::Text("gw9".into())));
    assert_eq!((nodes[1_000].id.as_str(), nodes[1_009].id.as_str(), nodes[1_010].id.as_str()), ("gw0", "gw9", "cloud"));
}

#[test]
fn node_group_mistakes_point_at_the_group() {
    let check = |text: &str, expected: &[&str]| {
        let e = scenario::load_str(Path::new("g.yaml"), Path::new("/g.yaml"), text).unwrap_err().to_string();
        for part in expected {
            assert!(e.contains(part), "{part}: {e}");
        }
    };
    check(
        "nodes:\n  - {id: s, count: 3, type: sensor}\n",
        &["g.yaml:2:10: error: the 3 nodes of group 's' would share one id", "`s{i}`"],
    );
    check("nodes:\n  - {id: \"s{i}\", count: 0, type: cloud}\n", &["g.yaml:2:25: error: count must be at least 1"]);
    check("nodes:\n  - {id: \"s{j}\", count: 2, type: cloud}\n", &["bad placeholder in 's{j}'", "`{j}` is not one of"]);
    // A member's mistake is shown at its group's entry, naming the member.
    check(
        "nodes:\n  - {id: s3, type: cloud}\n  - {id: \"s{i}\", count: 5, type: sensor}\n",
        &["g.yaml:3:10: error: duplicate node id 's3'", "'s3' is first used on line 2", "= node: s3"],
    );
}
