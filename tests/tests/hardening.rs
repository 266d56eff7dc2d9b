//! Docker nodes are hardened by default, against a real engine: the
//! container as the engine made it (read back through its API), what the
//! program inside may do (capabilities, new privileges, the root file
//! system, how many processes), the named volumes a run creates and
//! removes; and, without an engine, the bounds `validate` puts on every
//! number of a `docker:` section.

use std::collections::BTreeMap;
use std::path::Path;

use xedgesim::run::{RunStatus, RunSummary, Simulation};
use xedgesim::runtime::NodeGroup;
use xedgesim::runtime::docker::image::ensure_image;
use xedgesim::runtime::docker::prune::{LeftoverKind, prune};
use xedgesim::runtime::docker::{
    DockerEngine, DockerNodeGroup, DockerNodeSpec, DockerOptions, InspectContainerOptions, LABEL_RUN_LABEL,
    remove_volume,
};
use xedgesim::scenario::{self, DEFAULT_DOCKER_PIDS_LIMIT, DockerNode, Implementation, ResolvedScenario};
use xedgesim_tests::{containers_of_node, docker_engine, read_metrics, repo_root, run_label};

/// Held by every test here whose runs make containers or volumes, and
/// alone by the prune test: `prune` takes what this very process labelled
/// for a dead run's (a CLI's own pid is no run), so beside it the other
/// tests' runs, in the same process, lost their containers and volumes.
static RUNS: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn runs_share() -> std::sync::RwLockReadGuard<'static, ()> {
    RUNS.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn runs_alone() -> std::sync::RwLockWriteGuard<'static, ()> {
    RUNS.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A hostile test container in `mode`, its `docker:` section ending with `extra` keys.
fn hostile(id: &str, mode: &str, extra: &str) -> String {
    format!(
        "  - id: {id}\n    type: hostile\n    implementation: docker\n    docker:\n      build_context: {root}/containers/hostile\n      build_command: ../build-static.sh xedgesim-container-hostile hostile\n      environment: {{HOSTILE: {mode}}}\n{extra}",
        root = repo_root().display()
    )
}

/// Loads `yaml` as `dir/scenario.yaml` would be.
fn load(dir: &Path, yaml: &str) -> Result<ResolvedScenario, String> {
    let file = dir.join("scenario.yaml");
    scenario::load_str(Path::new("scenario.yaml"), &file, yaml).map(|l| l.resolved).map_err(|e| e.to_string())
}

fn run(dir: &Path, yaml: &str) -> RunSummary {
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    Simulation::from_file(&file)
        .unwrap_or_else(|e| panic!("{e}"))
        .out_dir(dir.join("out"))
        .cache_dir(Some(dir.join("cache")))
        .run_label(run_label())
        .run()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn docker_of(scenario: &ResolvedScenario, index: usize) -> &DockerNode {
    match &scenario.nodes[index].implementation {
        Implementation::Docker(d) => d,
        other => panic!("node {index} is not a docker node: {other:?}"),
    }
}

#[test]
fn the_engine_makes_each_container_without_capabilities_or_new_privileges_and_limited() {
    let Some(engine) = docker_engine() else { return };
    let _runs = runs_share();
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "nodes:\n{}{}",
        hostile("hd-inspect-default", "echo", ""),
        hostile(
            "hd-inspect-tight",
            "echo",
            "      memory_mb: 64\n      cpus: 0.5\n      pids_limit: 32\n      read_only_rootfs: true\n      user: \"65534:65534\"\n"
        ),
    );
    let scenario = load(dir.path(), &yaml).unwrap();
    let image = ensure_image(&engine, docker_of(&scenario, 0), &mut |_| {}, None).unwrap();
    let config = BTreeMap::new();
    let specs: Vec<DockerNodeSpec<'_>> = (0..2)
        .map(|i| DockerNodeSpec {
            id: &scenario.nodes[i].id,
            config: &config,
            docker: docker_of(&scenario, i),
            image_id: &image.id,
        })
        .collect();
    let label = run_label().unwrap_or_else(|| "hardening-test".to_string());
    let options = DockerOptions {
        run_id: format!("hd{}", std::process::id()),
        run_label: Some(label.clone()),
        time_quantum_us: 1_000,
        interrupt: None,
    };
    let (mut group, faults) = DockerNodeGroup::start(&engine, &specs, options);
    assert!(faults.is_empty(), "{faults:?}");
    let inspect = |node: &str| {
        let ids = containers_of_node(&engine, node);
        assert_eq!(ids.len(), 1, "one container for {node}");
        engine.block_on(engine.docker().inspect_container(&ids[0], None::<InspectContainerOptions>)).unwrap()
    };

    let default = inspect("hd-inspect-default");
    let host = default.host_config.unwrap();
    assert_eq!(host.cap_drop.unwrap(), vec!["ALL"]);
    assert_eq!(host.cap_add.unwrap_or_default(), Vec::<String>::new());
    assert_eq!(host.security_opt.unwrap(), vec!["no-new-privileges"]);
    assert_eq!(host.pids_limit, Some(256));
    assert_eq!(host.memory, Some(512 << 20));
    assert_eq!(host.nano_cpus, Some(1_000_000_000));
    assert_eq!(host.readonly_rootfs, Some(false));
    assert_eq!(host.network_mode.as_deref(), Some("none"));
    let config = default.config.unwrap();
    assert_eq!(config.user.as_deref().unwrap_or(""), "", "the image's user");
    assert_eq!(config.labels.unwrap()[LABEL_RUN_LABEL], label);

    let tight = inspect("hd-inspect-tight");
    let host = tight.host_config.unwrap();
    assert_eq!((host.pids_limit, host.memory, host.nano_cpus), (Some(32), Some(64 << 20), Some(500_000_000)));
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(host.tmpfs.unwrap()["/tmp"], "rw,nosuid,nodev,size=64m");
    assert_eq!(tight.config.unwrap().user.as_deref(), Some("65534:65534"));

    assert!(group.shutdown().is_empty());
    for node in ["hd-inspect-default", "hd-inspect-tight"] {
        assert!(containers_of_node(&engine, node).is_empty(), "{node}'s container was removed");
    }
}

#[test]
fn inside_a_container_no_capability_is_effective_no_privilege_can_be_gained_and_a_read_only_root_stays_unwritten() {
    let Some(engine) = docker_engine() else { return };
    let _runs = runs_share();
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "simulation: {{duration_s: 1}}\nnodes:\n{}{}{}",
        hostile("hd-probe", "probe", ""),
        hostile("hd-probe-ro", "probe", "      read_only_rootfs: true\n"),
        hostile("hd-probe-user", "probe", "      user: \"65534:65534\"\n"),
    );
    let report = run(dir.path(), &yaml);
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let metrics = read_metrics(&dir.path().join("out"));
    let metric = |node: &str, name: &str| {
        *metrics.get(&(node.to_string(), name.to_string())).unwrap_or_else(|| panic!("{node} {name}: {metrics:?}"))
    };
    for node in ["hd-probe", "hd-probe-ro", "hd-probe-user"] {
        assert_eq!(metric(node, "cap_eff"), 0.0, "{node}: CapEff in /proc/self/status");
        assert_eq!(metric(node, "no_new_privs"), 1.0, "{node}: NoNewPrivs in /proc/self/status");
    }
    assert_eq!(metric("hd-probe", "uid"), 0.0, "the image's user (root, without capabilities)");
    assert_eq!(metric("hd-probe", "root_writable"), 1.0, "a writable root by default");
    assert_eq!(metric("hd-probe-ro", "root_writable"), 0.0, "read_only_rootfs: writing / fails");
    assert_eq!(metric("hd-probe-ro", "tmp_writable"), 1.0, "read_only_rootfs: /tmp is a tmpfs");
    assert_eq!(metric("hd-probe-user", "uid"), 65534.0);
    assert_eq!(metric("hd-probe-user", "root_writable"), 0.0, "nobody may not write root's /");
    for node in ["hd-probe", "hd-probe-ro", "hd-probe-user"] {
        assert!(containers_of_node(&engine, node).is_empty(), "{node}'s container was removed");
    }
}

#[test]
fn a_fork_bomb_stops_at_the_pids_limit() {
    let Some(engine) = docker_engine() else { return };
    let _runs = runs_share();
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "simulation: {{duration_s: 1}}\nnodes:\n{}{}",
        hostile("hd-fork", "fork_bomb", ""),
        hostile("hd-fork-32", "fork_bomb", "      pids_limit: 32\n"),
    );
    let report = run(dir.path(), &yaml);
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let metrics = read_metrics(&dir.path().join("out"));
    let forked = |node: &str| metrics[&(node.to_string(), "forked".to_string())];
    // The bomb itself is one of the processes; it stops at 1,000 without a limit.
    let default_limit = DEFAULT_DOCKER_PIDS_LIMIT as f64;
    assert!(forked("hd-fork") < default_limit, "{} copies under the default limit", forked("hd-fork"));
    assert!(forked("hd-fork") >= default_limit / 2.0, "stopped by the limit, not before: {}", forked("hd-fork"));
    assert!((16.0..32.0).contains(&forked("hd-fork-32")), "{} copies under pids_limit: 32", forked("hd-fork-32"));
    // The program went on answering after the refusal, and the copies went with the container.
    for node in ["hd-fork", "hd-fork-32"] {
        assert!(containers_of_node(&engine, node).is_empty(), "{node}'s container was removed");
    }
}

fn volume_exists(engine: &DockerEngine, name: &str) -> bool {
    match engine.block_on(engine.docker().inspect_volume(name)) {
        Ok(_) => true,
        Err(e) if e.to_string().contains("404") || e.to_string().contains("no such volume") => false,
        Err(e) => panic!("inspecting volume {name}: {e}"),
    }
}

fn docker_cli(args: &[&str]) {
    let out = std::process::Command::new("docker").args(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Removes what a test made with the docker CLI (containers, then volumes)
/// however the test ends.
struct Made {
    containers: Vec<String>,
    volumes: Vec<String>,
}

impl Drop for Made {
    fn drop(&mut self) {
        for id in &self.containers {
            let _ = std::process::Command::new("docker").args(["rm", "-f", id]).output();
        }
        for name in &self.volumes {
            let _ = std::process::Command::new("docker").args(["volume", "rm", name]).output();
        }
    }
}

#[test]
fn named_volumes_a_run_creates_are_removed_when_it_ends_and_the_users_own_are_kept() {
    let Some(engine) = docker_engine() else { return };
    let _runs = runs_share();
    let dir = tempfile::tempdir().unwrap();
    let made = format!("xedgesim-test-made-{}", std::process::id());
    let users = format!("xedgesim-test-users-{}", std::process::id());
    let _made = Made { containers: Vec::new(), volumes: vec![users.clone(), made.clone()] };
    docker_cli(&["volume", "create", &users]);
    let volumes = format!("      volumes: {{{made}: {{bind: /made, mode: rw}}, {users}: {{bind: /users}}}}\n");
    // Finished, and failed (under abort, a container that speaks garbage).
    for (mode, status) in [("echo", RunStatus::Finished), ("garbage", RunStatus::Failed)] {
        let yaml = format!("simulation: {{duration_s: 1}}\nnodes:\n{}", hostile("hd-volumes", mode, &volumes));
        let report = run(dir.path(), &yaml);
        assert_eq!(report.status, status, "{mode}: {:?}", report.reason);
        let cleanup = &report.shutdown_errors;
        assert!(!volume_exists(&engine, &made), "{mode}: the volume the run created was removed: {cleanup:?}");
        assert!(volume_exists(&engine, &users), "{mode}: the user's volume was kept");
        assert!(containers_of_node(&engine, "hd-volumes").is_empty());
    }
}

#[test]
fn a_volume_still_in_use_is_asked_again_for_seconds_then_named_in_the_error() {
    let Some(engine) = docker_engine() else { return };
    let _runs = runs_share();
    let name = format!("xedgesim-test-held-{}", std::process::id());
    let mut made = Made { containers: Vec::new(), volumes: vec![name.clone()] };
    docker_cli(&["volume", "create", &name]);
    let mount = format!("{name}:/held");
    let args = ["run", "-d", "--network", "none", "-v", &mount, "python:3.9-slim", "sleep", "300"];
    let out = std::process::Command::new("docker").args(args).output().unwrap();
    assert!(out.status.success(), "docker run: {}", String::from_utf8_lossy(&out.stderr));
    made.containers.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    let started = std::time::Instant::now();
    let error = engine.block_on(remove_volume(&engine, &name)).expect_err("a volume in use is not removed").to_string();
    assert!(error.contains(&format!("volume '{name}'")) && error.contains("in use"), "{error}");
    // The engine was asked again for about 3 s (a volume is released a moment after its container goes).
    assert!(started.elapsed() >= std::time::Duration::from_millis(3000), "asked again: {:?}", started.elapsed());
    docker_cli(&["rm", "-f", &made.containers[0]]);
    engine.block_on(remove_volume(&engine, &name)).unwrap();
    assert!(!volume_exists(&engine, &name));
}

#[test]
fn prune_removes_the_volumes_of_a_run_that_died_and_keeps_those_of_a_live_one() {
    let Some(engine) = docker_engine() else { return };
    let _runs = runs_alone();
    // A process that has ended, and one that lives (this one's parent).
    let mut child = std::process::Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    let dead = child.id().to_string();
    let live = std::os::unix::process::parent_id().to_string();
    let host = xedgesim::runtime::docker::this_host();
    let name = |what: &str| format!("xedgesim-test-prune-{what}-{}", std::process::id());
    for (what, pid) in [("dead", &dead), ("live", &live)] {
        let mut args = vec!["volume".to_string(), "create".into()];
        for label in
            [format!("xedgesim.run=test{what}"), format!("xedgesim.pid={pid}"), format!("xedgesim.host={host}")]
                .into_iter()
                .chain(run_label().map(|l| format!("{LABEL_RUN_LABEL}={l}")))
        {
            args.extend(["--label".to_string(), label]);
        }
        args.push(name(what));
        docker_cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let found = prune(&engine, false).unwrap();
    let of = |what: &str| {
        found
            .iter()
            .find(|l| l.kind == LeftoverKind::Volume && l.id == name(what))
            .unwrap_or_else(|| panic!("prune did not list volume {}: {found:?}", name(what)))
    };
    assert_eq!((of("dead").removed.clone(), of("dead").run.as_str()), (Ok(true), "testdead"));
    assert!(!volume_exists(&engine, &name("dead")));
    assert_eq!((of("live").removed.clone(), of("live").kept_because), (Ok(false), Some("its run is still going")));
    assert!(volume_exists(&engine, &name("live")));
    docker_cli(&["volume", "rm", &name("live")]);
}

#[test]
fn every_number_of_a_docker_section_is_bounded_at_validate_naming_line_node_and_range() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |key: &str, value: &str, message: &str| {
        let yaml = format!(
            "nodes:\n  - id: gw\n    type: gateway\n    implementation: docker\n    docker:\n      image: x:1\n      {key}: {value}\n"
        );
        let error = load(dir.path(), &yaml).expect_err(&format!("{key}: {value} is refused"));
        assert!(error.starts_with("scenario.yaml:7:"), "{key}: at its line: {error}");
        assert!(error.contains(message), "{key}: {value}: expected {message:?} in:\n{error}");
        assert!(error.contains("= node: gw"), "{error}");
    };
    // 2^44 MiB is 2^64 bytes: it wrapped to 0, no limit at all.
    refused("memory_mb", "17592186044416", "memory_mb is 17592186044416; allowed 6 ..= 1048576");
    refused("memory_mb", "1", "memory_mb is 1; allowed 6 ..= 1048576");
    refused("memory_mb", "0", "memory_mb is 0; allowed 6 ..= 1048576");
    let max = u64::MAX.to_string();
    refused("step_timeout_ms", &max, &format!("step_timeout_ms is {max}; allowed 1 ..= 3600000"));
    refused("start_timeout_ms", &max, &format!("start_timeout_ms is {max}; allowed 1 ..= 3600000"));
    refused("start_timeout_ms", "0", "start_timeout_ms is 0; allowed 1 ..= 3600000");
    refused("max_frame_bytes", &max, &format!("max_frame_bytes is {max}; allowed 1024 ..= 268435456"));
    refused("max_frame_bytes", "100", "max_frame_bytes is 100; allowed 1024 ..= 268435456");
    refused("pids_limit", "0", "pids_limit is 0; allowed 8 ..= 65536");
    refused("pids_limit", "1000000", "pids_limit is 1000000; allowed 8 ..= 65536");
    refused("cpus", "0.001", "cpus is 0.001; allowed 0.01 ..= 1024");
    refused("cpus", "1e6", "cpus is 1000000; allowed 0.01 ..= 1024");
    refused("cpus", ".nan", "cpus is NaN; allowed 0.01 ..= 1024");
    refused("user", "\"root user\"", "user must be a name or uid[:gid] without spaces");
    refused("volumes", "{\"a b\": {bind: /x}}", "'a b' is neither a host path nor a Docker volume name");
    refused("read_only_root", "true", "read_only_root");
}

#[test]
fn the_hardening_keys_resolve_to_their_defaults_or_the_files_values() {
    let dir = tempfile::tempdir().unwrap();
    let base = "nodes:\n  - id: gw\n    type: gateway\n    implementation: docker\n    docker:\n      image: x:1\n";
    let scenario = load(dir.path(), base).unwrap();
    let d = docker_of(&scenario, 0);
    assert_eq!((d.memory_mb, d.cpus, d.pids_limit), (512, 1.0, 256));
    assert_eq!((d.read_only_rootfs, d.user.as_deref()), (false, None));
    let set = format!(
        "{base}      memory_mb: 6\n      cpus: 0.01\n      pids_limit: 8\n      read_only_rootfs: true\n      user: nobody\n      step_timeout_ms: 3600000\n      max_frame_bytes: 268435456\n"
    );
    let scenario = load(dir.path(), &set).unwrap();
    let d = docker_of(&scenario, 0);
    assert_eq!((d.memory_mb, d.cpus, d.pids_limit), (6, 0.01, 8));
    assert_eq!((d.read_only_rootfs, d.user.as_deref()), (true, Some("nobody")));
    assert_eq!((d.step_timeout_ms, d.max_frame_bytes), (3_600_000, 256 << 20));
    // A scenario built in code is held to the same bounds before it runs.
    let mut built = scenario.clone();
    let Implementation::Docker(d) = &mut built.nodes[0].implementation else { unreachable!() };
    d.memory_mb = 1;
    let error = built.check().unwrap_err();
    assert!(error.contains("node 'gw': docker.memory_mb is 1; allowed 6 ..= 1048576"), "{error}");
}

#[test]
fn a_container_past_its_default_memory_limit_is_killed_and_its_node_faults() {
    let Some(engine) = docker_engine() else { return };
    let _runs = runs_share();
    let dir = tempfile::tempdir().unwrap();
    // It fills up to 1 GiB, twice the default limit.
    let yaml =
        format!("simulation: {{duration_s: 1, on_fault: isolate}}\nnodes:\n{}", hostile("hd-alloc", "alloc", ""));
    let report = run(dir.path(), &yaml);
    assert_eq!(report.status, RunStatus::Finished, "{:?}", report.reason);
    let fault = report.faults.iter().find(|f| f.node == "hd-alloc").expect("the node faulted");
    assert_eq!((fault.kind.as_str(), fault.time_us), ("container_exited", 0), "{}", fault.message);
    assert!(fault.message.contains("exited with code 137"), "killed by the kernel: {}", fault.message);
    assert!(containers_of_node(&engine, "hd-alloc").is_empty());
}
