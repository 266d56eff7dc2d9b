//! One scenario across two Docker engines (#27): the machine's own and a
//! second `dockerd` reached over TCP with TLS (`common/second_engine.rs`),
//! through the CLI. The same results as with every container on one
//! engine; each container's engine and its round trip in usage.csv and
//! summary.json; a recording of both that replays with no engine;
//! nothing left on either engine after a normal end, a container that dies, Ctrl-C, or SIGKILL followed by `xedgesim prune
//! FILE` (which prunes both, each under its name). One second engine for
//! the whole binary: the cases run in sequence in one test. And an engine
//! reached through the system's `ssh` (an `sshd` on 127.0.0.1 forwarding
//! the machine's own engine socket).

mod common;

#[path = "common/fake_engine.rs"]
mod fake_engine;
#[path = "common/second_engine.rs"]
mod second_engine;
#[path = "common/ssh_server.rs"]
mod ssh_server;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{docker_engine, output_text, root, wait_exit};
use fake_engine::FakeEngine;
use second_engine::{SecondEngine, labelled, scenario_file, test_label};
use xedgesim::runtime::docker::DockerEngine;

/// The `--allow` words every run here needs: the images' build commands,
/// their contexts in the repository, and the second engine.
const ALLOW: &str = "build-command,bind,engine:edge";

/// `engines:` naming the second engine `edge`.
fn engines_yaml(second: &SecondEngine) -> String {
    format!("engines:\n  edge:\n    endpoint: {}\n    tls: {}\n", second.tcp_endpoint(), second.tls_yaml())
}

/// A docker node `id` built from `containers/CONTAINER`, with `extra` keys
/// in its `docker:` (e.g. `engine: edge`).
fn container(id: &str, node_type: &str, container: &str, extra: &str) -> String {
    format!(
        "  - id: {id}\n    type: {node_type}\n    implementation: docker\n    docker: {{build_context: {root}/containers/{container}, build_command: ../build-static.sh xedgesim-container-{container} {container}, step_timeout_ms: 120000{extra}}}\n",
        root = root().display()
    )
}

/// Sensors to a gateway on each engine, and a cloud; with `edge` false,
/// both gateways on the default engine (the `engines:` entry unused).
fn gateways(second: &SecondEngine, edge: bool) -> String {
    let on_edge = if edge { ", engine: edge" } else { "" };
    format!(
        "simulation: {{duration_s: 5, seed: 11}}\n{}nodes:\n  - {{id: s1, type: sensor, config: {{destination: gw_edge}}}}\n  - {{id: s2, type: sensor, config: {{destination: gw_local, sample_rate_hz: 2}}}}\n{}{}  - {{id: cloud, type: cloud}}\n",
        engines_yaml(second),
        container("gw_edge", "gateway", "gateway", on_edge),
        container("gw_local", "gateway", "gateway", ""),
    )
}

/// A container on the edge engine in hostile `mode`, another on the
/// default one, faults isolated.
fn hostile(second: &SecondEngine, mode: &str) -> String {
    format!(
        "simulation: {{duration_s: 5, on_fault: isolate}}\n{}nodes:\n  - {{id: s1, type: sensor, config: {{destination: bad}}}}\n  - {{id: s2, type: sensor, config: {{destination: gw_local}}}}\n{}{}  - {{id: cloud, type: cloud}}\n",
        engines_yaml(second),
        container("bad", "hostile", "hostile", &format!(", engine: edge, environment: {{HOSTILE: {mode}}}")),
        container("gw_local", "gateway", "gateway", ""),
    )
}

fn command(args: &[&str], cache: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xedgesim"));
    command
        .args(args)
        .current_dir(root())
        .env("XEDGESIM_CACHE_DIR", cache)
        .env("XEDGESIM_RUN_LABEL", test_label())
        .env_remove("DOCKER_HOST");
    command
}

fn run(file: &Path, out: &Path, cache: &Path) -> Output {
    let args = ["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--allow", ALLOW];
    command(&args, cache).output().expect("the binary runs")
}

fn spawn(file: &Path, out: &Path, cache: &Path) -> Child {
    let args = ["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--allow", ALLOW];
    command(&args, cache).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary starts")
}

/// Nothing of this test's runs on either engine.
fn assert_clean(engines: &[(&str, &DockerEngine)], after: &str) {
    assert_clean_of(&test_label(), engines, after);
}

/// Nothing labelled `label` on any of `engines`.
fn assert_clean_of(label: &str, engines: &[(&str, &DockerEngine)], after: &str) {
    for (name, engine) in engines {
        let left = labelled(engine, label);
        assert!(left.is_empty(), "{after}: left on the {name} engine: {left:?}");
    }
}

/// Waits until a container of this test runs on each engine, and a little
/// more (past the handshake, into the first steps).
fn wait_for_containers(engines: &[(&str, &DockerEngine)], child: &mut Child) {
    let started = Instant::now();
    for (name, engine) in engines {
        while labelled(engine, &test_label()).iter().all(|l| !l.starts_with("container")) {
            if let Some(status) = child.try_wait().unwrap() {
                let mut stderr = String::new();
                if let Some(mut err) = child.stderr.take() {
                    std::io::Read::read_to_string(&mut err, &mut stderr).unwrap();
                }
                panic!("the run ended ({status}) before a container started on the {name} engine: {stderr}");
            }
            assert!(started.elapsed() < Duration::from_secs(300), "no container on the {name} engine after 5 minutes");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_scenario_spans_two_engines_and_leaves_nothing_on_either() {
    let Some(local) = docker_engine() else { return };
    let Some(second) = SecondEngine::start() else { return };
    let edge = second.connect_unix().expect("the second engine answers");
    let engines = [("default", &local), ("edge", &edge)];
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");

    // Two engines, the same results as one.
    let two = scenario_file(dir.path(), "two.yaml", &gateways(&second, true));
    let one = scenario_file(dir.path(), "one.yaml", &gateways(&second, false));
    for (file, out) in [(&two, "two"), (&one, "one")] {
        let o = run(file, &dir.path().join(out), &cache);
        assert!(o.status.success(), "{out}: {}{}", output_text(&o.stdout), output_text(&o.stderr));
    }
    for name in ["trace.jsonl", "metrics.csv"] {
        let (a, b) = (read(dir.path().join("two").join(name)), read(dir.path().join("one").join(name)));
        assert!(a.len() > 100 && a == b, "{name} differs between two engines and one");
    }
    let usage = read(dir.path().join("two/usage.csv"));
    for node in ["gw_edge", "gw_local"] {
        let round_trip: u64 = usage
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{node},engine_round_trip_us,")))
            .unwrap_or_else(|| panic!("{node} has no engine round trip: {usage}"))
            .parse()
            .unwrap();
        assert!(round_trip > 0, "{usage}");
    }
    let summary: serde_json::Value = serde_json::from_str(&read(dir.path().join("two/summary.json"))).unwrap();
    let used = &summary["engines"];
    assert_eq!(used["edge"]["nodes"], serde_json::json!(["gw_edge"]), "{used}");
    assert_eq!(used["edge"]["endpoint"], second.tcp_endpoint().as_str(), "{used}");
    assert_eq!(used["default"]["nodes"], serde_json::json!(["gw_local"]), "{used}");
    assert!(used["edge"]["round_trip_us"].as_u64().unwrap() > 0, "{used}");
    assert_eq!(
        read(dir.path().join("one/summary.json")).matches("\"edge\"").count(),
        0,
        "an unused entry is not connected"
    );
    assert_clean(&engines, "a normal end");

    // `build` builds (here: finds built) each image on the engine its node runs on.
    let built = command(&["build", two.to_str().unwrap(), "--allow", ALLOW], &cache).output().unwrap();
    let stdout = output_text(&built.stdout);
    assert!(built.status.success(), "{stdout}{}", output_text(&built.stderr));
    assert!(stdout.contains("image for node 'gw_edge' on engine 'edge':"), "{stdout}");
    assert!(stdout.contains("image for node 'gw_local':") && stdout.matches("up to date:").count() == 2, "{stdout}");

    // Recorded on two engines, replayed with no engine at all: the recording does not need them.
    let rec = dir.path().join("rec");
    let args = ["run", two.to_str().unwrap(), "--out", rec.to_str().unwrap(), "--quiet", "--record", "--allow", ALLOW];
    let o = command(&args, &cache).output().unwrap();
    assert!(o.status.success(), "{}", output_text(&o.stderr));
    let replayed = command(&["replay", rec.to_str().unwrap()], &cache)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let stdout = output_text(&replayed.stdout);
    assert!(replayed.status.success() && stdout.contains("identical"), "{stdout}{}", output_text(&replayed.stderr));
    assert_eq!(read(rec.join("replay/trace.jsonl")), read(rec.join("trace.jsonl")));
    assert_clean(&engines, "a recorded run");

    // A container on the second engine dies: its node is isolated, the rest runs, nothing is left.
    let dies = scenario_file(dir.path(), "dies.yaml", &hostile(&second, "exit_on_step"));
    let o = run(&dies, &dir.path().join("dies"), &cache);
    assert!(o.status.success(), "{}", output_text(&o.stderr));
    let summary = read(dir.path().join("dies/summary.json"));
    assert!(summary.contains("\"status\": \"finished\"") && summary.contains("node 'bad'"), "{summary}");
    assert_clean(&engines, "a container that died");

    // An engine that does not answer faults its own nodes, naming it; the other engine's run.
    let gone = gateways(&second, true)
        .replace(&second.tcp_endpoint(), "tcp://127.0.0.1:1")
        .replace("simulation: {duration_s: 5, seed: 11}", "simulation: {duration_s: 5, seed: 11, on_fault: isolate}");
    let gone = scenario_file(dir.path(), "gone.yaml", &gone);
    let o = run(&gone, &dir.path().join("gone"), &cache);
    assert!(o.status.success(), "{}", output_text(&o.stderr));
    let summary: serde_json::Value = serde_json::from_str(&read(dir.path().join("gone/summary.json"))).unwrap();
    let faults = summary["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert_eq!(faults[0]["node"], "gw_edge");
    assert!(faults[0]["message"].as_str().unwrap().contains("tcp://127.0.0.1:1"), "{faults:?}");
    assert_eq!(summary["engines"]["default"]["nodes"], serde_json::json!(["gw_local"]));
    assert!(read(dir.path().join("gone/metrics.csv")).contains("gw_local,host,steps"), "gw_local ran");
    assert_clean(&engines, "an engine that did not answer");

    // A TLS engine reached by a name its certificate does not hold: rustls' reason is told.
    let misnamed = gateways(&second, true)
        .replace(&second.tcp_endpoint(), &second.tcp_endpoint().replace("127.0.0.1", "localhost"));
    let misnamed = misnamed.replace("seed: 11}", "seed: 11, on_fault: isolate}");
    let misnamed = scenario_file(dir.path(), "misnamed.yaml", &misnamed);
    let o = run(&misnamed, &dir.path().join("misnamed"), &cache);
    assert!(o.status.success(), "{}", output_text(&o.stderr));
    let summary = read(dir.path().join("misnamed/summary.json"));
    assert!(summary.contains("engine_unreachable") && summary.contains("invalid peer certificate"), "{summary}");

    // Ctrl-C while the second engine's container hangs in a step.
    let hangs = scenario_file(dir.path(), "hangs.yaml", &hostile(&second, "hang_on_step"));
    let mut child = spawn(&hangs, &dir.path().join("hangs"), &cache);
    wait_for_containers(&engines, &mut child);
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(130), "{}", output_text(&child.wait_with_output().unwrap().stderr));
    assert_clean(&engines, "Ctrl-C");

    // SIGKILL leaves containers on both engines; `prune FILE` removes them from both.
    let mut child = spawn(&hangs, &dir.path().join("killed"), &cache);
    wait_for_containers(&engines, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    for (name, engine) in engines {
        assert!(!labelled(engine, &test_label()).is_empty(), "SIGKILL leaves the {name} engine's container");
    }
    let refused = command(&["prune", hangs.to_str().unwrap()], &cache).output().unwrap();
    let stderr = output_text(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("--allow engine:edge"), "{stderr}");
    assert!(!labelled(&edge, &test_label()).is_empty(), "a refused engine is not pruned");
    let pruned = command(&["prune", hangs.to_str().unwrap(), "--allow", "engine:edge"], &cache).output().unwrap();
    let stdout = output_text(&pruned.stdout);
    assert!(pruned.status.success(), "{stdout}{}", output_text(&pruned.stderr));
    assert!(stdout.contains("engine default:") && stdout.contains("engine edge:"), "{stdout}");
    assert!(stdout.contains("edge: removed:") && stdout.contains("node 'bad'"), "{stdout}");
    assert_clean(&engines, "SIGKILL and prune FILE");
}

/// Engines that answer the version request and then go silent (one at its
/// pings, one at the image inspect) fault their own nodes as
/// `engine_unreachable` within a bound, naming what did not answer; the
/// default engine's node runs. Ctrl-C during either wait ends the run at once.
#[test]
fn an_engine_that_goes_silent_after_connecting_faults_its_nodes_and_ctrl_c_ends_the_wait() {
    let Some(local) = docker_engine() else { return };
    let (pings, images) = (FakeEngine::start(false), FakeEngine::start(true));
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let engines = format!(
        "engines:\n  p: {{endpoint: '{}', tls: false}}\n  q: {{endpoint: '{}', tls: false}}\n",
        pings.endpoint(),
        images.endpoint()
    );
    let on = |id: &str, engine: &str| {
        format!(
            "  - {{id: {id}, type: gateway, implementation: docker, docker: {{image: 'xedgesim/none:1', engine: {engine}}}}}\n"
        )
    };
    let yaml = format!(
        "simulation: {{duration_s: 2, on_fault: isolate}}\n{engines}nodes:\n  - {{id: s1, type: sensor, config: {{destination: gw_local}}}}\n{}{}{}  - {{id: cloud, type: cloud}}\n",
        container("gw_local", "gateway", "gateway", ""),
        on("gw_p", "p"),
        on("gw_q", "q"),
    );
    let file = scenario_file(dir.path(), "silent.yaml", &yaml);
    let allow = format!("{ALLOW},engine:p,engine:q");
    let args = |out: &str| {
        let out = dir.path().join(out);
        ["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--offline", "--allow", &allow]
            .map(String::from)
    };
    let started = Instant::now();
    // A label of its own: the two-engine test checks the default engine for its label meanwhile.
    let label = format!("{}-silent", test_label());
    let mut silent = command(&args("silent").each_ref().map(String::as_str), &cache);
    let o = silent.env("XEDGESIM_RUN_LABEL", &label).output().unwrap();
    assert!(o.status.success(), "{}", output_text(&o.stderr));
    assert!(started.elapsed() < Duration::from_secs(120), "took {:?}", started.elapsed());
    let summary: serde_json::Value = serde_json::from_str(&read(dir.path().join("silent/summary.json"))).unwrap();
    let faults = summary["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 2, "{faults:?}");
    for (fault, (node, what)) in faults.iter().zip([("gw_p", "/_ping"), ("gw_q", "/images/xedgesim/none:1/json")]) {
        assert_eq!(fault["node"], node, "{faults:?}");
        assert_eq!(fault["kind"], "engine_unreachable", "{faults:?}");
        let message = fault["message"].as_str().unwrap();
        assert!(message.contains(what) && !message.contains("\\n"), "{faults:?}");
    }
    assert!(read(dir.path().join("silent/metrics.csv")).contains("gw_local,host,steps"), "gw_local ran");
    assert!(labelled(&local, &label).is_empty(), "nothing left on the default engine");

    // Ctrl-C while waiting for the silent engine's ping, then for its image inspect.
    for (engine, node, path) in [(&pings, "gw_q", "/_ping"), (&images, "gw_p", "/images/")] {
        engine.forget();
        let only = yaml
            .replace(&container("gw_local", "gateway", "gateway", ""), "")
            .replace(&on(node, if node == "gw_p" { "p" } else { "q" }), "")
            .replace("gw_local", "cloud");
        let only = scenario_file(dir.path(), "only.yaml", &only);
        let out = dir.path().join("interrupted");
        let _ = std::fs::remove_dir_all(&out);
        let a =
            ["run", only.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--offline", "--allow", &allow];
        let mut child = command(&a, &cache).stderr(Stdio::piped()).spawn().unwrap();
        let waiting = Instant::now();
        while !engine.got(path) {
            assert!(waiting.elapsed() < Duration::from_secs(60), "no {path} request");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
        // Well under the 10 s a silent engine is given: the wait itself noticed.
        let status = wait_exit(&mut child, Duration::from_secs(5));
        assert_eq!(status.code(), Some(130), "{path}: {}", output_text(&child.wait_with_output().unwrap().stderr));
    }

    // `prune FILE`: an engine silent at the listing is an error line for it, in bounded time.
    images.forget();
    let started = Instant::now();
    let o = command(&["prune", file.to_str().unwrap(), "--allow", "engine:q"], &cache).output().unwrap();
    let stderr = output_text(&o.stderr);
    assert!(started.elapsed() < Duration::from_secs(120), "took {:?}", started.elapsed());
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("q: no Docker engine answers") && stderr.contains("`GET /containers/json` within 10 s"),
        "{stderr}"
    );

    // An engine silent at the volume look-up: that node's start fails within the bound, naming the request.
    let volumes = FakeEngine::start_with(true, true);
    let yaml = format!(
        "simulation: {{duration_s: 2, on_fault: isolate}}\nengines:\n  v: {{endpoint: '{}', tls: false}}\nnodes:\n  - {{id: gw_v, type: gateway, implementation: docker, docker: {{image: 'xedgesim/none:1', engine: v, volumes: {{data: {{bind: /data}}}}}}}}\n  - {{id: s1, type: sensor, config: {{destination: cloud}}}}\n  - {{id: cloud, type: cloud}}\n",
        volumes.endpoint()
    );
    let file = scenario_file(dir.path(), "volume.yaml", &yaml);
    let out = dir.path().join("volume");
    let a =
        ["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--offline", "--allow", "engine:v"];
    let started = Instant::now();
    let o = command(&a, &cache).output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(120), "took {:?}", started.elapsed());
    let summary = read(out.join("summary.json"));
    assert!(o.status.success() && volumes.got("/volumes/data"), "{summary}{}", output_text(&o.stderr));
    assert!(summary.contains("did not answer `GET /volumes/data` within 10 s"), "{summary}");

    // Ctrl-C while ssh waits for a server that accepts and never speaks (ssh would wait 15 s).
    let mute = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = mute.local_addr().unwrap().port();
    std::thread::spawn(move || mute.incoming().flatten().for_each(std::mem::forget));
    let ssh = format!(
        "simulation: {{duration_s: 2}}\nengines:\n  s: {{endpoint: 'ssh://nobody@127.0.0.1:{port}'}}\nnodes:\n{}",
        on("gw_s", "s")
    );
    let ssh = scenario_file(dir.path(), "ssh.yaml", &ssh);
    let out = dir.path().join("ssh");
    let a =
        ["run", ssh.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--offline", "--allow", "engine:s"];
    let mut child = command(&a, &cache).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert_eq!(status.code(), Some(130), "ssh: {}", output_text(&child.wait_with_output().unwrap().stderr));
}

/// `build FILE` builds for the engines it reaches after one it cannot,
/// naming that engine and its nodes, and exits 2 at the end.
#[test]
fn build_goes_on_past_an_engine_it_cannot_reach() {
    let Some(_local) = docker_engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "simulation: {{duration_s: 1}}\nengines:\n  a: {{endpoint: 'tcp://127.0.0.1:1', tls: false}}\n  b: {{endpoint: 'unix:///var/run/docker.sock'}}\nnodes:\n{}{}",
        container("gw_a", "gateway", "gateway", ", engine: a"),
        container("gw_b", "gateway", "gateway", ", engine: b"),
    );
    let file = scenario_file(dir.path(), "b.yaml", &yaml);
    let o =
        command(&["build", file.to_str().unwrap(), "--allow", "build-command,bind,engine"], &dir.path().join("cache"))
            .output()
            .unwrap();
    let (stdout, stderr) = (output_text(&o.stdout), output_text(&o.stderr));
    assert_eq!(o.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("engine 'a' (for node 'gw_a')") && stderr.contains("check engine 'a'"), "{stderr}");
    assert!(stdout.contains("image for node 'gw_b' on engine 'b':"), "{stdout}{stderr}");
    assert!(stdout.contains("built xedgesim/") || stdout.contains("up to date:"), "{stdout}{stderr}");
}

/// `validate` and `run` of `yaml` written to `dir/s.yaml`: (exit code, stderr).
fn check(dir: &Path, yaml: &str, args: &[&str]) -> (Option<i32>, String) {
    let file = scenario_file(dir, "s.yaml", yaml);
    let mut all = vec![args[0], file.to_str().unwrap()];
    all.extend(&args[1..]);
    let o = command(&all, &dir.join("cache")).output().unwrap();
    (o.status.code(), format!("{}{}", output_text(&o.stdout), output_text(&o.stderr)))
}

#[test]
fn engines_are_checked_at_their_lines_and_refused_without_the_users_yes() {
    let dir = tempfile::tempdir().unwrap();
    let node = |docker: &str| {
        format!(
            "  - id: gw\n    type: gateway\n    implementation: docker\n    docker: {{image: 'xedgesim/gateway:latest'{docker}}}\n"
        )
    };
    let tls = "{ca: ca.pem, cert: cert.pem, key: key.pem}";
    for (engines, docker, says) in [
        (
            format!("engines:\n  edge-box: {{endpoint: 'tcp://127.0.0.1:1', tls: {tls}}}\n"),
            ", engine: edge-bx",
            vec!["s.yaml:7:", "engine 'edge-bx' is not in `engines:`", "did you mean 'edge-box'?", "node: gw"],
        ),
        (String::new(), ", engine: lab", vec!["the file has no `engines:`"]),
        (
            "engines:\n  lab: {endpoint: 'http://10.0.0.7:2375'}\n".into(),
            "",
            vec!["s.yaml:2:", "the scheme 'http' is not one of unix, tcp, ssh", "tcp://host:2376 with `tls:`"],
        ),
        (
            "engines:\n  lab: {endpoint: 'tcp://10.0.0.7:2375'}\n".into(),
            "",
            vec!["engine 'lab' is plain TCP without `tls:`", "`tls: false` if you mean it", "root on its machine"],
        ),
        (
            "engines:\n  lab: {endpoint: 'tcp://10.0.0.7:2376', tls: {ca: a, cert: c, kye: k}}\n".into(),
            "",
            vec!["unknown key `kye`", "did you mean 'key'?", "lacks key"],
        ),
        (
            "engines:\n  lab: {endpoint: 'ssh://pi@10.0.0.7', certs: x}\n".into(),
            "",
            vec!["s.yaml:2:", "certs", "endpoint"],
        ),
        (
            "engines:\n  lab: {endpoint: 'unix:///run/d.sock', tls: false}\n".into(),
            "",
            vec!["has `tls:`, but unix:///run/d.sock is not a tcp endpoint"],
        ),
        (
            "engines:\n  default: {endpoint: 'unix:///run/d.sock'}\n".into(),
            "",
            vec!["`default` names the default engine"],
        ),
        (
            "engines:\n  lab: {endpoint: 'ssh://pi@10.0.0.7'}\n".into(),
            ", engine: lab, volumes: {/srv/data: {bind: /data}}",
            vec!["s.yaml:7:61:", "the bind '/srv/data' would be a path on engine 'lab's machine"],
        ),
        ("engines:\n  lab: {endpoint: 'tcp://::1:2376', tls: false}\n".into(), "", vec!["[ADDRESS]:PORT"]),
        ("engines:\n  lab: {endpoint: 'ssh://pi@host:99999'}\n".into(), "", vec!["not a number from 1 to 65535"]),
        ("engines:\n  lab: ~\n".into(), "", vec!["an engine entry, `{endpoint: …}`"]),
    ] {
        let yaml = format!("{engines}nodes:\n{}", node(docker));
        let (code, out) = check(dir.path(), &yaml, &["validate"]);
        assert_eq!(code, Some(2), "{yaml}\n{out}");
        for s in says {
            assert!(out.contains(s), "{yaml}\nshould say {s:?}:\n{out}");
        }
        assert!(!out.contains("panicked"), "{out}");
    }

    // Plain TCP to another machine is a warning; to this machine's loopback, not.
    for (address, warned) in [("203.0.113.5:2375", true), ("[::1]:2375", false), ("127.0.0.1:2375", false)] {
        let yaml =
            format!("engines:\n  lab: {{endpoint: 'tcp://{address}', tls: false}}\nnodes:\n{}", node(", engine: lab"));
        let (code, out) = check(dir.path(), &yaml, &["validate"]);
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(out.contains("another machine, without TLS"), warned, "{address}: {out}");
    }

    // A valid file: `validate` lists the engine as something to allow,
    // `run` refuses without the yes, naming the engine and the fix, and
    // connects to nothing (the endpoint answers nowhere).
    let yaml = format!(
        "engines:\n  edge-box: {{endpoint: 'tcp://127.0.0.1:1', tls: {tls}}}\n  unused: {{endpoint: 'ssh://pi@10.0.0.7'}}\nnodes:\n{}",
        node(", engine: edge-box")
    );
    let (code, out) = check(dir.path(), &yaml, &["validate"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("on the Docker engine 'edge-box': tcp://127.0.0.1:1 over TLS")
            && out.contains("--allow engine:edge-box"),
        "{out}"
    );
    let real = std::fs::canonicalize(dir.path()).unwrap();
    assert!(out.contains(&format!("reading the host files {}/ca.pem,", real.display())), "relative to the file: {out}");
    assert!(!out.contains("unused"), "an entry no node names asks nothing: {out}");
    let (code, out) = check(dir.path(), &yaml, &["run", "--out", dir.path().join("out").to_str().unwrap()]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("s.yaml:8:") && out.contains("engine 'edge-box'") && out.contains("--allow engine:edge-box"),
        "{out}"
    );
    assert!(out.contains("nothing was run") && !dir.path().join("out/summary.json").exists(), "{out}");
    // With the yes, an engine that does not answer is that node's startup fault, naming its endpoint.
    let (code, out) =
        check(dir.path(), &yaml, &["run", "--out", dir.path().join("out").to_str().unwrap(), "--allow", "engine"]);
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("tcp://127.0.0.1:1") && out.contains("ca.pem"), "{out}");
    // `engine:NAME=ENDPOINT` allows that name at that endpoint only: an
    // allow file pinned so covers no other file's `edge-box`.
    let allow_dir = tempfile::tempdir().unwrap();
    let allow = allow_dir.path().join("ok.txt");
    let out_dir = dir.path().join("pinned");
    for (pin, allowed) in [("tcp://127.0.0.1:2", false), ("tcp://127.0.0.1:1", true)] {
        std::fs::write(&allow, format!("engine:edge-box={pin}\n")).unwrap();
        let args = ["run", "--out", out_dir.to_str().unwrap(), "--allow-file", allow.to_str().unwrap()];
        let (code, out) = check(dir.path(), &yaml, &args);
        assert_eq!(out.contains("not allowed without your yes"), !allowed, "{pin}: {out}");
        assert_eq!(out.contains("(engine 'edge-box')"), allowed, "{pin}: reached only when pinned to it: {out}");
        assert_ne!(code, Some(0), "{out}");
    }
    let (code, out) = check(dir.path(), &yaml, &["run", "--allow", "engine:edge-box=http://x:1"]);
    assert!(code == Some(2) && out.contains("not one of unix, tcp, ssh"), "{out}");
}

#[test]
fn an_engine_over_ssh_is_reached_through_the_systems_ssh_and_its_forwarder_stopped() {
    let Some(local) = docker_engine() else { return };
    let Some(sshd) = ssh_server::SshServer::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "simulation: {{duration_s: 3, seed: 5}}\nengines:\n  lab: {{endpoint: 'ssh://root@127.0.0.1:{}'}}\nnodes:\n  - {{id: s1, type: sensor, config: {{destination: gw_ssh}}}}\n{}  - {{id: cloud, type: cloud}}\n",
        sshd.port,
        container("gw_ssh", "gateway", "gateway", ", engine: lab"),
    );
    let file = scenario_file(dir.path(), "ssh.yaml", &yaml);
    let out = dir.path().join("out");
    let args = [
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--allow",
        "build-command,bind,engine:lab",
    ];
    // A label of its own: the two-engine test runs beside it on the same
    // default engine, and its containers are not this run's leftovers.
    let label = format!("{}-ssh", test_label());
    let ssh_run = || {
        command(&args, &dir.path().join("cache"))
            .env("PATH", sshd.path_env())
            .env("XEDGESIM_RUN_LABEL", &label)
            .output()
            .unwrap()
    };
    let o = ssh_run();
    assert!(o.status.success(), "{}\nsshd: {}", output_text(&o.stderr), sshd.log());
    let summary: serde_json::Value = serde_json::from_str(&read(out.join("summary.json"))).unwrap();
    assert_eq!(summary["engines"]["lab"]["endpoint"], format!("ssh://root@127.0.0.1:{}", sshd.port));
    assert_eq!(summary["engines"]["lab"]["nodes"], serde_json::json!(["gw_ssh"]));
    assert!(sshd.log().contains("Accepted publickey for root"), "{}", sshd.log());
    assert!(read(out.join("metrics.csv")).contains("gw_ssh,"), "the container ran");
    assert_clean_of(&label, &[("default", &local)], "a run over ssh");
    // The forwarder is gone: no ssh of the run's runs.
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    let port = format!("-p {}", sshd.port);
    assert!(
        !output_text(&ps.stdout).lines().any(|l| l.starts_with("/usr/bin/ssh") && l.contains(&port)),
        "an ssh of the run outlived it"
    );

    // An ssh that cannot log in is that engine's fault, in ssh's words.
    std::fs::write(sshd.dir().join("authorized_keys"), "").unwrap();
    let o = ssh_run();
    let stderr = output_text(&o.stderr);
    assert!(!o.status.success(), "{stderr}");
    let said = format!("ssh to root@127.0.0.1:{} ended", sshd.port);
    assert!(stderr.contains("node 'gw_ssh' found no Docker engine at ssh://") && stderr.contains(&said), "{stderr}");
    assert!(stderr.contains("Permission denied"), "{stderr}");
}
