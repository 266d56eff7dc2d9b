//! The CLI with Docker nodes, against a real engine: SIGTERM and Ctrl-C
//! while a container hangs (in a step, in its start, in a scripted restart
//! or in `finish`) end the run at once and cleanly (status `interrupted`,
//! every output written, no container left); a killed run's containers
//! are found by `prune`; `build` builds once and then reports the image up
//! to date; `XEDGESIM_RUN_LABEL` labels a run's containers and volumes;
//! an image the engine lacks is pulled from a registry on 127.0.0.1
//! (Debian's `docker-registry`), and `--offline` refuses to.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{containers_of_node, docker_engine, output_text, root, wait_exit, xedgesim};

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
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
            "--allow",
            "build-command,bind",
        ])
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
    let left = containers_of_node(&engine, node);
    assert_eq!(left.len(), 1, "SIGKILL leaves the container behind");
    // The engine keeps no log of its own: after a flood of short lines it
    // took seconds to drain one before the container could be removed.
    let inspected = engine.block_on(engine.docker().inspect_container(&left[0], None)).unwrap();
    let log_driver = inspected.host_config.and_then(|h| h.log_config).and_then(|l| l.typ);
    assert_eq!(log_driver.as_deref(), Some("none"));
    let o = xedgesim(&["prune"], None);
    assert!(o.status.success(), "{}", output_text(&o.stderr));
    assert!(output_text(&o.stdout).contains(&format!("node '{node}'")), "{}", output_text(&o.stdout));
    assert!(containers_of_node(&engine, node).is_empty(), "prune removed it");
}

#[test]
fn build_builds_each_image_once_then_reports_it_up_to_date() {
    let Some(_engine) = docker_engine() else { return };
    let cache = tempfile::tempdir().unwrap();
    let first = xedgesim(
        &["build", "scenarios/docker_gateway.yaml", "--allow", "build-command,bind:containers"],
        Some(cache.path()),
    );
    assert!(first.status.success(), "{}{}", output_text(&first.stdout), output_text(&first.stderr));
    let second = xedgesim(
        &["build", "scenarios/docker_gateway.yaml", "--allow", "build-command,bind:containers"],
        Some(cache.path()),
    );
    let stdout = output_text(&second.stdout);
    assert!(second.status.success(), "{stdout}");
    assert!(
        stdout.contains("image for node 'gateway':") && stdout.contains("up to date: xedgesim/gateway:"),
        "{stdout}"
    );
    assert!(stdout.contains("component builtin:sensor: ready"), "{stdout}");
}

/// A hostile node `id` in `mode` (its deadlines two minutes), with `extra`
/// lines under `docker:`.
fn hostile_node(id: &str, mode: &str, extra: &str) -> String {
    format!(
        "  - id: {id}\n    type: hostile\n    implementation: docker\n    docker:\n      build_context: {root}/containers/hostile\n      build_command: ../build-static.sh xedgesim-container-hostile hostile\n      environment: {{HOSTILE: {mode}}}\n      step_timeout_ms: 120000\n      start_timeout_ms: 120000\n{extra}",
        root = root().display()
    )
}

/// Sends SIGINT to `child`; it must end within 20 s (its containers' deadlines
/// are two minutes) with 130 and every output of an interrupted run
/// written. Returns the summary.
fn interrupt_promptly(child: &mut Child, out: &Path) -> serde_json::Value {
    let sent_at = Instant::now();
    let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let status = wait_exit(child, Duration::from_secs(20));
    // For the record, not asserted: what stopping cost.
    eprintln!("the run exited {} ms after SIGINT", sent_at.elapsed().as_millis());
    let mut stderr = String::new();
    if let Some(pipe) = child.stderr.as_mut() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert_eq!(status.code(), Some(130), "{stderr}");
    for file in ["trace.jsonl", "metrics.csv", "usage.csv", "series.json", "summary.json"] {
        assert!(out.join(file).exists(), "{file} is written: {stderr}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "interrupted", "{summary}");
    summary
}

/// Ctrl-C while one container hangs in `new` (its start) and another has
/// already faulted in its own: the start is cut short at once, and the
/// other's start fault is in the summary as it happened (it was lost, and
/// `finish` then reported a `stopped` fault pointing at it).
#[test]
fn ctrl_c_during_a_container_start_ends_the_run_at_once_and_keeps_start_faults() {
    let Some(engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("start.yaml");
    let yaml = format!(
        "simulation: {{duration_s: 5, on_fault: isolate}}\nnodes:\n{}{}",
        hostile_node("start-exits", "exit_at_start", ""),
        hostile_node("start-hangs", "hang_in_start", "")
    );
    std::fs::write(&file, yaml).unwrap();
    let out = dir.path().join("out");
    let mut child = spawn_run(&file, &out);
    wait_for_container(&engine, "start-hangs", &mut child);
    let started = Instant::now();
    while !containers_of_node(&engine, "start-exits").is_empty() || started.elapsed() < Duration::from_secs(1) {
        assert!(started.elapsed() < Duration::from_secs(60), "start-exits' container was not removed");
        std::thread::sleep(Duration::from_millis(100));
    }
    let summary = interrupt_promptly(&mut child, &out);
    let faults = summary["faults"].as_array().expect("faults listed");
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert_eq!(
        (faults[0]["node"].as_str(), faults[0]["kind"].as_str()),
        (Some("start-exits"), Some("container_exited"))
    );
    for node in ["start-exits", "start-hangs"] {
        assert!(containers_of_node(&engine, node).is_empty(), "{node}'s container was removed");
    }
}

/// Ctrl-C while a container hangs in `finish`: no metrics from it, and the
/// run ends at once (it waited for the two-minute deadline).
#[test]
fn ctrl_c_while_a_container_hangs_in_finish_ends_the_run_at_once() {
    let Some(engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("finish.yaml");
    let yaml = format!("simulation: {{duration_s: 1}}\nnodes:\n{}", hostile_node("finish-hangs", "hang_in_finish", ""));
    std::fs::write(&file, yaml).unwrap();
    let out = dir.path().join("out");
    let mut child = spawn_run(&file, &out);
    wait_for_container(&engine, "finish-hangs", &mut child);
    // A second of virtual time is a few steps: the run is in `finish` by now.
    std::thread::sleep(Duration::from_millis(1500));
    let summary = interrupt_promptly(&mut child, &out);
    assert!(summary["faults"].as_array().is_none_or(Vec::is_empty), "{summary}");
    assert!(containers_of_node(&engine, "finish-hangs").is_empty(), "the container was removed");
}

/// Ctrl-C while the container of a scripted restart hangs in `new`.
#[test]
fn ctrl_c_during_a_scripted_restart_ends_the_run_at_once() {
    let Some(engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    // Whatever user the container runs as may leave its mark.
    let mut permissions = std::fs::metadata(&state).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o777);
    std::fs::set_permissions(&state, permissions).unwrap();
    let file = dir.path().join("restart.yaml");
    let yaml = format!(
        "simulation: {{duration_s: 30}}\nnodes:\n{}faults:\n  - {{crash: restart-hangs, at_s: 1}}\n  - {{restart: restart-hangs, at_s: 2}}\n",
        hostile_node("restart-hangs", "hang_on_restart", "      volumes: {./state: {bind: /state, mode: rw}}\n")
    );
    std::fs::write(&file, yaml).unwrap();
    let out = dir.path().join("out");
    let mut child = spawn_run(&file, &out);
    let started = Instant::now();
    // The first container has made the node; its successor then hangs.
    while !state.join("restarted").exists() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before the restart");
        assert!(started.elapsed() < Duration::from_secs(300), "the first container never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "the run ended: the restarted container did not hang");
    let summary = interrupt_promptly(&mut child, &out);
    assert!(summary["faults"].as_array().is_none_or(Vec::is_empty), "{summary}");
    assert!(containers_of_node(&engine, "restart-hangs").is_empty(), "the container was removed");
}

#[test]
fn xedgesim_run_label_from_the_environment_labels_the_runs_containers_and_volumes() {
    let Some(engine) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let node = "hang-labelled";
    let volume = format!("xedgesim-test-cli-label-{}", std::process::id());
    let file = hanging_scenario(dir.path(), node);
    let yaml = std::fs::read_to_string(&file).unwrap() + &format!("      volumes: {{{volume}: {{bind: /v}}}}\n");
    std::fs::write(&file, yaml).unwrap();
    let label = format!("cli-test-{}", std::process::id());
    let mut child = Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            dir.path().join("out").to_str().unwrap(),
            "--quiet",
            "--allow",
            "build-command,bind",
        ])
        .env("XEDGESIM_RUN_LABEL", &label)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_container(&engine, node, &mut child);
    let label_filter = |what: &str| {
        let list = if what == "ps" { ["ps", "-a"] } else { ["volume", "ls"] };
        let o = Command::new("docker")
            .args(list)
            .args(["-q", "--filter", &format!("label=xedgesim.run_label={label}")])
            .output()
            .unwrap();
        output_text(&o.stdout).lines().map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(label_filter("ps").len(), 1, "the container carries the label");
    assert_eq!(label_filter("volume"), vec![volume.clone()], "the volume the run made carries it too");
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    wait_exit(&mut child, Duration::from_secs(20));
    assert!(label_filter("ps").is_empty() && label_filter("volume").is_empty(), "both removed at the end");
}

/// A registry of Debian's `docker-registry` on 127.0.0.1, its storage in a
/// folder of its own; stopped when dropped.
struct Registry {
    child: Child,
    port: u16,
    _storage: tempfile::TempDir,
}

impl Registry {
    /// Started and answering, or `None` with `XEDGESIM_SKIP_DOCKER=1` when
    /// `docker-registry` is not installed; without it, that is a loud failure.
    fn start() -> Option<Registry> {
        if Command::new("docker-registry").arg("--version").output().is_err() {
            if std::env::var("XEDGESIM_SKIP_DOCKER").is_ok_and(|v| v == "1") {
                eprintln!("SKIPPED (XEDGESIM_SKIP_DOCKER=1): this test needs `docker-registry` (Debian's package)");
                return None;
            }
            panic!(
                "this test needs `docker-registry` (Debian's package) on PATH: `apt-get install docker-registry` (`bash .ci/test` installs it), or set XEDGESIM_SKIP_DOCKER=1 to skip the Docker tests knowingly"
            );
        }
        let storage = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = storage.path().join("config.yml");
        let yaml = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.path().join("data").display()
        );
        std::fs::write(&config, yaml).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        let mut registry = Registry { child, port, _storage: storage };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(registry.child.try_wait().unwrap().is_none(), "docker-registry ended at once");
            assert!(started.elapsed() < Duration::from_secs(30), "docker-registry did not answer within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(registry)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn docker(args: &[&str]) {
    let output = Command::new("docker").args(args).output().expect("the docker CLI runs");
    assert!(output.status.success(), "docker {args:?}: {}", output_text(&output.stderr));
}

/// An `image:` the engine does not have is pulled from a real registry on
/// 127.0.0.1 (holding an image of the hostile program the test imported
/// and pushed, its one layer its own), its progress on the terminal, and
/// the node runs; so is a base image a Dockerfile names. `--offline`,
/// `run` faults the node (`image_missing`: exit 2 under the default
/// `on_fault: abort`), `equiv` fails (exit 2) and `build` refuses (exit 2), for the image and the
/// base image alike, each saying that `--offline` forbids the pull.
#[test]
fn an_image_missing_locally_is_pulled_from_a_registry_and_offline_refuses_to() {
    let Some(engine) = docker_engine() else { return };
    let Some(registry) = Registry::start() else { return };
    // The hostile program, built as its own image builds it.
    let recipe = xedgesim::scenario::DockerNode {
        build_command: Some("../build-static.sh xedgesim-container-hostile hostile".into()),
        ..xedgesim::scenario::DockerNode::new(None, Some(root().join("containers/hostile")))
    };
    xedgesim::runtime::docker::image::ensure_image(&engine, &recipe, &mut |_| {}, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layer = dir.path().join("layer");
    std::fs::create_dir(&layer).unwrap();
    std::fs::copy(root().join("containers/hostile/bin/hostile"), layer.join("hostile")).unwrap();
    // A layer no other image has: the pull downloads it.
    std::fs::write(layer.join("marker"), format!("{:?} {}", Instant::now(), std::process::id())).unwrap();
    let image = format!("127.0.0.1:{}/xedgesim-test/hostile-{}:1", registry.port, std::process::id());
    let imported = Command::new("sh")
        .arg("-c")
        .arg(r#"tar -C "$1" -cf - hostile marker | docker import --change 'ENTRYPOINT ["/hostile"]' - "$2""#)
        .args(["sh", layer.to_str().unwrap(), &image])
        .output()
        .unwrap();
    assert!(imported.status.success(), "{}", output_text(&imported.stderr));
    docker(&["push", &image]);
    docker(&["rmi", &image]);

    let file = dir.path().join("pulled.yaml");
    std::fs::write(
        &file,
        format!(
            "simulation: {{duration_s: 2}}\nnodes:\n  - {{id: s, type: sensor, config: {{destination: pulled}}}}\n  - id: pulled\n    type: hostile\n    implementation: docker\n    docker:\n      image: '{image}'\n      environment: {{HOSTILE: echo}}\n"
        ),
    )
    .unwrap();
    let context = dir.path().join("context");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(context.join("Dockerfile"), format!("FROM {image}\n")).unwrap();
    let built = format!("xedgesim-test/from-pulled-{}:1", std::process::id());
    let based = dir.path().join("based.yaml");
    std::fs::write(
        &based,
        format!(
            "simulation: {{duration_s: 2}}\nnodes:\n  - {{id: s, type: sensor, config: {{destination: based}}}}\n  - id: based\n    type: hostile\n    implementation: docker\n    docker:\n      image: '{built}'\n      build_context: context\n      environment: {{HOSTILE: echo}}\n"
        ),
    )
    .unwrap();
    let (file, based) = (file.to_str().unwrap(), based.to_str().unwrap());
    let out = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let text = |o: &std::process::Output| format!("{}{}", output_text(&o.stdout), output_text(&o.stderr));

    let offline = xedgesim(&["run", file, "--out", &out("offline"), "--offline"], None);
    assert_eq!(offline.status.code(), Some(2), "{}", text(&offline));
    assert!(!text(&offline).contains("pulling image"), "{}", text(&offline));
    let summary = std::fs::read_to_string(dir.path().join("offline/summary.json")).unwrap();
    assert!(summary.contains("image_missing") && summary.contains("--offline forbids pulling it"), "{summary}");
    let refused = xedgesim(&["build", file, "--offline"], None);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let expected =
        format!("node 'pulled': image '{image}' is not in the local engine, and --offline forbids pulling it");
    assert!(text(&refused).contains(&expected), "{}", text(&refused));
    let refused = xedgesim(&["equiv", file, "--offline", "--out", &out("equiv")], None);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("--offline forbids pulling it"), "{}", text(&refused));
    let refused = xedgesim(&["build", based, "--offline"], None);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let expected = format!("base image '{image}' ({}, line 1)", context.join("Dockerfile").display());
    assert!(
        text(&refused).contains(&expected) && text(&refused).contains("--offline forbids pulling it"),
        "{}",
        text(&refused)
    );

    let pulled = xedgesim(&["run", file, "--out", &out("pulled")], None);
    let stderr = output_text(&pulled.stderr);
    assert!(pulled.status.success(), "{}", text(&pulled));
    eprintln!("the pull, as the terminal showed it:\n{stderr}");
    assert!(stderr.contains(&format!("  build | pulling image {image}\n")), "{stderr}");
    assert!(stderr.contains(": Pull complete") && stderr.contains("Status: Downloaded newer image"), "{stderr}");
    assert!(stderr.lines().filter(|l| l.contains("build |")).count() < 50, "progress is rate-limited: {stderr}");
    let summary = std::fs::read_to_string(dir.path().join("pulled/summary.json")).unwrap();
    assert!(!summary.contains("image_missing"), "{summary}");
    assert!(containers_of_node(&engine, "pulled").is_empty());

    docker(&["rmi", &image]);
    let from_base = xedgesim(&["build", based], None);
    assert!(from_base.status.success(), "{}", text(&from_base));
    assert!(
        output_text(&from_base.stdout).contains(&format!("  build | pulling image {image}\n")),
        "{}",
        text(&from_base)
    );
    docker(&["rmi", &built, &image]);
    drop(registry);
}

/// Ctrl-C while an image is pulled from a registry that never answers (a
/// listener on 127.0.0.1 that accepts and stays silent) ends the run at
/// once (130, status `interrupted`), not when the engine gives up.
#[test]
fn ctrl_c_stops_a_pull_that_hangs() {
    let Some(_engine) = docker_engine() else { return };
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let holder = held.clone();
    std::thread::spawn(move || {
        for stream in silent.incoming().flatten() {
            holder.lock().unwrap().push(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("silent.yaml");
    std::fs::write(
        &file,
        format!(
            "simulation: {{duration_s: 2}}\nnodes:\n  - id: stuck\n    type: hostile\n    implementation: docker\n    docker: {{image: '127.0.0.1:{port}/xedgesim-test/never:1'}}\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let started = Instant::now();
    while held.lock().unwrap().is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before the engine reached the registry");
        assert!(started.elapsed() < Duration::from_secs(60), "the engine never reached the registry");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "the pull ended by itself");
    // The registry was reached: the pull is what Ctrl-C stops.
    interrupt_promptly(&mut child, &out);
}
