//! `wasm.files`: read-only data for WASM nodes (docs/sandbox.md, "What a
//! node can read"). The `files` fixture reads its file and tries what it
//! must not do; the scenario's checks name the line; `summary.json` hashes
//! each node's files.

use std::path::Path;

use sha2::Digest;
use xedgesim::scenario::{self, CapabilityKind};
use xedgesim_tests::{fixture_file, read_metrics, run_yaml};

/// A scenario with one `files` fixture node reading `table.bin`.
fn reader_yaml() -> String {
    "simulation: {duration_s: 1, seed: 7}\nnodes:\n  - id: reader\n    type: reader\n    config: {read: table.bin}\n    wasm:\n      component: files.wasm\n      files: {table.bin: data/table.bin}\n".to_string()
}

fn write_table(dir: &Path) -> Vec<u8> {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/table.bin"), &bytes).unwrap();
    bytes
}

#[test]
fn a_node_reads_its_file_and_nothing_else_and_cannot_change_it() {
    let dir = tempfile::tempdir().unwrap();
    fixture_file(dir.path(), "files");
    let bytes = write_table(dir.path());
    run_yaml(dir.path(), &reader_yaml());
    let metrics = read_metrics(&dir.path().join("out"));
    let metric = |name: &str| metrics[&("reader".to_string(), name.to_string())];
    assert_eq!(metric("read_bytes"), bytes.len() as f64);
    assert_eq!(metric("read_sum"), bytes.iter().map(|&b| f64::from(b)).sum::<f64>());
    for refused in
        ["write_refused", "append_refused", "create_refused", "remove_refused", "escape_refused", "etc_refused"]
    {
        assert_eq!(metric(refused), 1.0, "{refused}: the guest did it");
    }
    assert_eq!(metric("data_entries"), 1.0, "/data holds its one file");
    assert_eq!(metric("root_entries"), -1.0, "/ is not there to list");
    assert_eq!(std::fs::read(dir.path().join("data/table.bin")).unwrap(), bytes, "the host's file is unchanged");
}

#[test]
fn a_node_without_files_sees_no_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    fixture_file(dir.path(), "files");
    let yaml = "simulation: {duration_s: 1}\nnodes:\n  - {id: reader, type: reader, config: {read: x}, wasm: {component: files.wasm}}\n";
    let summary = run_yaml(dir.path(), yaml);
    let metrics = read_metrics(&dir.path().join("out"));
    assert_eq!(metrics[&("reader".to_string(), "read_bytes".to_string())], -1.0);
    assert_eq!(metrics[&("reader".to_string(), "data_entries".to_string())], -1.0);
    assert!(summary.files.is_empty());
    let json = std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap();
    assert!(!json.contains("\"files\""), "a summary without files keeps its bytes: {json}");
}

#[test]
fn the_summary_hashes_each_nodes_files() {
    let dir = tempfile::tempdir().unwrap();
    fixture_file(dir.path(), "files");
    let bytes = write_table(dir.path());
    run_yaml(dir.path(), &reader_yaml());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap()).unwrap();
    let expected = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(summary["files"]["reader"]["table.bin"], serde_json::Value::String(expected));
}

/// Loads `yaml` as `dir/s.yaml`; the error's text.
fn load_error(dir: &Path, yaml: &str) -> String {
    let file = dir.join("s.yaml");
    match scenario::load_str(Path::new("s.yaml"), &file, yaml) {
        Ok(_) => panic!("expected an error for {yaml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_files_are_errors_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    fixture_file(dir.path(), "files");
    write_table(dir.path());
    let missing = load_error(dir.path(), &reader_yaml().replace("data/table.bin", "data/nope.bin"));
    assert!(missing.contains("s.yaml:8:") && missing.contains("file 'data/nope.bin' does not exist"), "{missing}");
    assert!(missing.contains("node: reader"), "{missing}");
    let folder = load_error(dir.path(), &reader_yaml().replace("data/table.bin", "data"));
    assert!(folder.contains("'data' is not a regular file"), "{folder}");
    for name in ["../x", "a/b", "..", ""] {
        let yaml = reader_yaml().replace("{table.bin:", &format!("{{'{name}':"));
        let text = load_error(dir.path(), &yaml);
        assert!(text.contains(&format!("wasm.files: '{name}' is not a file name")), "{name}: {text}");
    }
    std::fs::write(dir.path().join("data/big.bin"), vec![0u8; 2 << 20]).unwrap();
    let yaml =
        reader_yaml().replace("data/table.bin", "data/big.bin").replace("files:", "memory_limit_mb: 1\n      files:");
    let big = load_error(dir.path(), &yaml);
    assert!(big.contains("wasm.files hold 2097152 bytes; a node may have at most 1048576"), "{big}");
    assert!(big.contains("raise wasm.memory_limit_mb"), "{big}");
}

#[test]
fn a_file_outside_the_scenarios_folder_needs_read_allowed() {
    let home = tempfile::tempdir().unwrap();
    let home = std::fs::canonicalize(home.path()).unwrap();
    std::fs::create_dir_all(home.join("scenario")).unwrap();
    fixture_file(&home.join("scenario"), "files");
    fixture_file(&home, "files");
    write_table(&home);
    let file = home.join("scenario/s.yaml");
    let yaml = reader_yaml().replace("data/table.bin", "../data/table.bin");
    let loaded = scenario::load_str(Path::new("s.yaml"), &file, &yaml).unwrap();
    let read = loaded.capabilities.iter().find(|c| c.what.starts_with("reads the host file")).unwrap();
    assert_eq!(read.kind, CapabilityKind::HostRead(home.join("data/table.bin")));
    assert_eq!(read.position.map(|p| p.line), Some(8));
    let mut allow = scenario::Allowance::default();
    assert!(!allow.permits(read));
    allow.add(&format!("read:{}", home.join("data").display())).unwrap();
    assert!(allow.permits(read));
    // Inside the folder: allowed by default.
    let inside = scenario::load_str(Path::new("s.yaml"), &home.join("s.yaml"), &reader_yaml()).unwrap();
    let read = inside.capabilities.iter().find(|c| c.what.starts_with("reads the host file")).unwrap();
    assert_eq!(read.kind, CapabilityKind::LocalRead);
    assert!(scenario::Allowance::default().permits(read));
}

/// A guest that reads its file over and over runs out of fuel instead of
/// holding the host. (The host charges each read a unit of fuel a byte;
/// a Rust guest's own copying of what it reads costs it more than that,
/// so this holds without the charge too: the charge is for a component
/// that reads through WASI's calls directly.)
#[test]
fn reading_a_file_again_and_again_costs_fuel() {
    let dir = tempfile::tempdir().unwrap();
    fixture_file(dir.path(), "files");
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/table.bin"), vec![7u8; 1 << 20]).unwrap();
    let yaml = reader_yaml()
        .replace("config: {read: table.bin}", "config: {read: table.bin, rereads: 200}")
        .replace("files:", "fuel_per_step: 100000000\n      files:");
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    let summary = xedgesim::run::Simulation::from_file(&file)
        .unwrap_or_else(|e| panic!("{e}"))
        .out_dir(dir.path().join("out"))
        .cache_dir(Some(dir.path().join("cache")))
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    let faults = format!("{:?} {:?}", summary.reason, summary.faults);
    assert_eq!(summary.status, xedgesim::run::RunStatus::Failed, "{faults}");
    assert!(faults.contains("reader") && faults.contains("out_of_fuel"), "{faults}");
}
