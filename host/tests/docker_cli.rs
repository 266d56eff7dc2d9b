//! The CLI with Docker nodes, against a real engine: SIGTERM and Ctrl-C
//! while a container hangs end the run cleanly (status `interrupted`, no
//! container left); a killed run's containers are found by `prune`;
//! `build` builds once and then reports the image up to date.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{containers_of_node, docker_engine, output_text, root, xedgesim};

/// A scenario whose container `node` never answers its first step (and
/// would be waited for two minutes).
fn hanging_scenario(dir: &Path, node: &str) -> PathBuf {
    let file = dir.join("hang.yaml");
    let yaml = format!(
        "simulation: {{duration_s: 5, on_fault: isolate}}\nnodes:\n  - {{id: s, type: sensor, config: {{destination: {node}}}}}\n  - id: {node}\n    type: hostile\n    implementation: docker\n    docker:\n      build_context: {root}/containers/hostile\n      build_command: ../build-static.sh xedgesim-container-hostile hostile\n      environment: {{HOSTILE: hang_on_step}}\n      step_timeout_ms: 120000\n",
        root = root().display()
    );
    std::fs::write(&file, yaml).unwrap();
    file
}

fn spawn_run(file: &Path, out: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--allow", "build-command"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// Waits until node `node`'s container exists (its image may be built first).
fn wait_for_container(engine: &xedgesim::runtime::docker::DockerEngine, node: &str, child: &mut Child) {
    let started = Instant::now();
    while containers_of_node(engine, node).is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before its container started");
        assert!(started.elapsed() < Duration::from_secs(300), "no container for {node} after 5 minutes");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Past the handshake, into the step that hangs.
    std::thread::sleep(Duration::from_millis(700));
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the run did not stop within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn interrupted_cleanly_by(signal: &str, exit_code: i32, node: &str) {
    let Some(engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = hanging_scenario(dir.path(), node);
    let out = dir.path().join("out");
    let mut child = spawn_run(&file, &out);
    wait_for_container(&engine, node, &mut child);
    let sent = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let status = wait_exit(&mut child, Duration::from_secs(20));
    let stderr = output_text(&child.wait_with_output().unwrap().stderr);
    assert_eq!(status.code(), Some(exit_code), "128 + the signal: {stderr}");
    let summary = std::fs::read_to_string(out.join("summary.json")).expect("the summary is written");
    assert!(summary.contains("\"status\": \"interrupted\""), "{summary}");
    assert!(containers_of_node(&engine, node).is_empty(), "{signal} left the container behind");
}

#[test]
fn sigterm_while_a_container_hangs_ends_the_run_cleanly() {
    interrupted_cleanly_by("-TERM", 143, "hang-sigterm");
}

#[test]
fn ctrl_c_while_a_container_hangs_ends_the_run_cleanly() {
    interrupted_cleanly_by("-INT", 130, "hang-sigint");
}

#[test]
fn prune_removes_the_containers_of_a_killed_run() {
    let Some(engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let node = "hang-killed";
    let file = hanging_scenario(dir.path(), node);
    let mut child = spawn_run(&file, &dir.path().join("out"));
    wait_for_container(&engine, node, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(containers_of_node(&engine, node).len(), 1, "SIGKILL leaves the container behind");
    let o = xedgesim(&["prune"], None);
    assert!(o.status.success(), "{}", output_text(&o.stderr));
    assert!(output_text(&o.stdout).contains(&format!("node '{node}'")), "{}", output_text(&o.stdout));
    assert!(containers_of_node(&engine, node).is_empty(), "prune removed it");
}

#[test]
fn build_builds_each_image_once_then_reports_it_up_to_date() {
    let Some(_engine) = docker_engine() else { return };
    let cache = tempfile::tempdir().unwrap();
    let first = xedgesim(&["build", "scenarios/docker_gateway.yaml", "--allow", "build-command"], Some(cache.path()));
    assert!(first.status.success(), "{}{}", output_text(&first.stdout), output_text(&first.stderr));
    let second = xedgesim(&["build", "scenarios/docker_gateway.yaml", "--allow", "build-command"], Some(cache.path()));
    let stdout = output_text(&second.stdout);
    assert!(second.status.success(), "{stdout}");
    assert!(
        stdout.contains("image for node 'gateway':") && stdout.contains("up to date: xedgesim/gateway:"),
        "{stdout}"
    );
    assert!(stdout.contains("component builtin:sensor: ready"), "{stdout}");
}
