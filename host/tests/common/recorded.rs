//! What the record-and-replay tests share: the binary run with Docker
//! pointed nowhere, a run's summary, and a recorded WASM gateway.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use super::{output_text, root, xedgesim};

/// Where no Docker engine answers: a replay must not need one.
pub const NO_ENGINE: &str = "unix:///nonexistent/docker.sock";

/// The binary with `args`, from the workspace root, Docker pointed nowhere.
pub fn xedgesim_without_docker(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(args)
        .current_dir(root())
        .env("DOCKER_HOST", NO_ENGINE)
        .output()
        .expect("the binary runs")
}

/// The run's `summary.json` in `dir`.
pub fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).expect("summary.json")).unwrap()
}

pub fn stderr(out: &Output) -> String {
    output_text(&out.stderr)
}

pub fn stdout(out: &Output) -> String {
    output_text(&out.stdout)
}

/// `scenarios/wasm_gateway.yaml` run with its gateway recorded, into `dir/rec`.
pub fn record_wasm_gateway(dir: &Path) -> PathBuf {
    let rec = dir.join("rec");
    let out = xedgesim(
        &["run", "scenarios/wasm_gateway.yaml", "--out", rec.to_str().unwrap(), "--record", "--record-node", "gateway"],
        None,
    );
    assert!(out.status.success(), "recording failed: {}", stderr(&out));
    assert!(stdout(&out).contains("recording     "), "the terminal says where the recording is: {}", stdout(&out));
    rec
}

/// Whether `dir` holds a file being written (`*.partial`): a run under way.
pub fn has_partial(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
    })
}

/// A scenario too long ever to finish first (2,000 sensors for an hour of
/// virtual time), to be stopped by a signal.
pub fn long_scenario(dir: &Path) -> PathBuf {
    let mut yaml = String::from("simulation: {duration_s: 3600}\nnodes:\n  - {id: c, type: cloud}\n");
    for i in 0..2_000 {
        yaml.push_str(&format!("  - {{id: s{i}, type: sensor, config: {{sample_rate_hz: 10}}}}\n"));
    }
    let scenario = dir.join("long.yaml");
    std::fs::write(&scenario, yaml).unwrap();
    scenario
}

/// Sends `signal` to `child` once its run writes into `out` (or after 60 s).
pub fn signal_once_under_way(child: &std::process::Child, out: &Path, signal: &str) {
    let started = std::time::Instant::now();
    while !has_partial(out) && started.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let sent = std::process::Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
}
