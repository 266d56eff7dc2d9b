//! What the sweep tests share: a small scenario with a `sweep:` section,
//! the binary with a cache of the test's own, and the point processes a
//! sweep has running.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::{Path, PathBuf};
use std::process::Output;

pub fn xedgesim(args: &[&str], cache: &Path) -> Output {
    super::xedgesim(args, Some(cache))
}

/// A small WASM scenario (2 virtual seconds) with `sweep` as its sweep section.
pub fn scenario(dir: &Path, sweep: &str) -> PathBuf {
    let file = dir.join("s.yaml");
    std::fs::write(
        &file,
        format!(
            "simulation: {{duration_s: 2, seed: 42}}\nnodes:\n  - {{id: sensor, type: sensor}}\n  - id: gateway\n    type: gateway\n    config: {{window_s: 1}}\n  - {{id: cloud, type: cloud}}\n{sweep}"
        ),
    )
    .unwrap();
    file
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The pids of the `sweep point DIR --index ...` processes now running
/// (of point `index` only, when given).
pub fn point_processes(dir: &Path, index: Option<usize>) -> Vec<i32> {
    let mut wanted = format!("sweep\0point\0{}\0", dir.display());
    if let Some(i) = index {
        wanted.push_str(&format!("--index\0{i}\0"));
    }
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(&wanted))
        })
        .collect()
}

/// Waits (a hang guard, far above what it takes) until `done` holds.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "waited 120 s for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
