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
