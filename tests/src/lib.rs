//! Helpers shared by the workspace-level tests.

use std::path::{Path, PathBuf};

/// The workspace root (the folder holding `scenarios/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits inside the workspace").to_path_buf()
}

/// Files in `dir` (relative to the root) ending in `.yaml`, sorted, as
/// paths relative to the root.
pub fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join(dir))
        .expect("scenario folder exists")
        .map(|e| e.expect("readable folder").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.strip_prefix(repo_root()).expect("under the root").to_path_buf())
        .collect();
    files.sort();
    files
}

/// `text` with the absolute workspace root replaced by `<repo>`, so
/// snapshots are the same on every machine.
pub fn normalise_paths(text: &str) -> String {
    text.replace(&repo_root().to_string_lossy().into_owned(), "<repo>")
}

/// The first line where two traces differ, as `line N: <a> / <b>`, or
/// `None` when they are identical. Determinism failures print this.
pub fn first_divergence(a: &str, b: &str) -> Option<String> {
    let (mut la, mut lb) = (a.lines(), b.lines());
    for n in 1.. {
        match (la.next(), lb.next()) {
            (None, None) => return None,
            (x, y) if x == y => continue,
            (x, y) => {
                return Some(format!(
                    "line {n}: {} / {}",
                    x.unwrap_or("<end of trace>"),
                    y.unwrap_or("<end of trace>")
                ));
            }
        }
    }
    unreachable!("the loop returns")
}

/// Writes a built-in test fixture component (`hostile`, `probe`) to `dir`
/// and returns its path, for scenarios that name it in `wasm.component`.
pub fn fixture_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("{name}.wasm"));
    let bytes = xedgesim::runtime::wasm::fixture_component(name).expect("fixture exists");
    std::fs::write(&path, bytes).expect("writable temp dir");
    path
}

/// Runs the scenario `yaml` (written to `dir/scenario.yaml`), outputs in `dir/out`.
pub fn run_yaml(dir: &Path, yaml: &str) -> xedgesim::run::RunSummary {
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, yaml).expect("writable temp dir");
    xedgesim::run::Simulation::from_file(&file)
        .unwrap_or_else(|e| panic!("{e}"))
        .out_dir(dir.join("out"))
        .cache_dir(Some(dir.join("cache")))
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `metrics.csv` of a run as (node, metric) → value.
pub fn read_metrics(out_dir: &Path) -> std::collections::BTreeMap<(String, String), f64> {
    read_csv(out_dir, "metrics.csv", [0, 2, 3])
}

/// `file`'s rows as (the `columns[0]`th field, the `columns[1]`th) → the
/// `columns[2]`th, parsed (plain fields only: the tests' ids need no quoting).
fn read_csv(out_dir: &Path, file: &str, columns: [usize; 3]) -> std::collections::BTreeMap<(String, String), f64> {
    let csv = std::fs::read_to_string(out_dir.join(file)).unwrap_or_else(|e| panic!("{file} written: {e}"));
    csv.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let [node, metric, value] = columns;
            ((f[node].to_string(), f[metric].to_string()), f[value].parse().expect("numeric value"))
        })
        .collect()
}

/// `usage.csv` as `(node, metric) -> value`.
pub fn read_usage(out_dir: &Path) -> std::collections::BTreeMap<(String, String), f64> {
    read_csv(out_dir, "usage.csv", [0, 1, 2])
}

mod docker_support;
pub mod polyglot;
pub use docker_support::{containers_of_node, docker_engine, node_name_lock, run_label};
