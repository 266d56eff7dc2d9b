//! `xedgesim run` as a user runs it: exit codes, the results table, the
//! reproduce line on failure.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::output_text as text;

fn xedgesim(args: &[&str], cache: &Path) -> Output {
    common::xedgesim(args, Some(cache))
}

#[test]
fn running_an_example_prints_results_and_writes_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o =
        xedgesim(&["run", "scenarios/wasm_gateway.yaml", "--out", out.to_str().unwrap(), "--seed", "7"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("status        Finished"), "{stdout}");
    assert!(stdout.contains("virtual time  30.000 s of 30.000 s, seed 7"), "{stdout}");
    for file in ["trace.jsonl", "metrics.csv", "usage.csv", "summary.json"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    // The summary says how the run was made: the path as given, the packing, the versions.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["scenario"], "scenarios/wasm_gateway.yaml");
    assert_eq!(summary["sandbox"], "per-node");
    assert_eq!(summary["versions"]["contract"], "0.2.0");
    assert_eq!(summary["versions"]["wasmtime"], "48.0.8");
}

#[test]
fn a_failed_run_exits_two_and_prints_how_to_reproduce_it() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.yaml");
    std::fs::write(
        &scenario,
        "nodes:\n  - {id: s, type: sensor, config: {sample_rate_hz: -1, destination: c}}\n  - {id: c, type: cloud}\n",
    )
    .unwrap();
    let o = xedgesim(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            dir.path().join("out").to_str().unwrap(),
            "--seed",
            "9",
            "--duration-s",
            "2",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let stderr = text(&o.stderr);
    assert!(stderr.contains("node 's' rejected its config at t = 0.000000 s"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "reproduce with: xedgesim run {} --seed 9 --duration-s 2 --out {}",
            scenario.display(),
            dir.path().join("out").display()
        )),
        "{stderr}"
    );
}

#[test]
fn errors_a_rerun_cannot_help_print_no_reproduce_line_and_leave_no_earlier_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("my outputs");
    let ok = xedgesim(&["run", "scenarios/wasm_gateway.yaml", "--out", out.to_str().unwrap()], dir.path());
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(out.join("summary.json").is_file());
    // A component that is not there: found before the run, nothing a rerun shows.
    let scenario = dir.path().join("missing.yaml");
    std::fs::write(&scenario, "nodes:\n  - {id: m, type: custom, wasm: {component: gone.wasm}}\n").unwrap();
    let file = scenario.to_str().unwrap();
    std::fs::write(dir.path().join("gone.wasm"), b"not wasm").unwrap();
    let failed = xedgesim(&["run", file, "--out", out.to_str().unwrap()], dir.path());
    assert_eq!(failed.status.code(), Some(2), "{}", text(&failed.stderr));
    assert!(!text(&failed.stderr).contains("reproduce with"), "{}", text(&failed.stderr));
    for name in ["summary.json", "metrics.csv", "usage.csv", "trace.jsonl"] {
        assert!(!out.join(name).exists(), "the earlier run's {name} was left to pass for this one's");
    }
}

#[test]
fn bad_arguments_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["run"][..],
        &["run", "scenarios/wasm_gateway.yaml", "--duration-s", "-3"][..],
        &["run", "scenarios/wasm_gateway.yaml", "--trace", "verbose"][..],
        &["run", "scenarios/invalid/bad_numbers.yaml"][..],
    ] {
        let o = xedgesim(args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
    }
}

#[test]
fn a_duration_the_file_would_refuse_is_refused_on_the_command_line_too() {
    let dir = tempfile::tempdir().unwrap();
    for (value, why) in [
        ("1e300", "at most 31536000 (a year); found 1e300"),
        ("31536001", "found 31536001"),
        ("1e-9", "less than virtual time's 1 µs resolution"),
        ("NaN", "found NaN"),
        ("0", "found 0"),
    ] {
        let o = xedgesim(&["run", "scenarios/wasm_gateway.yaml", "--duration-s", value], dir.path());
        assert_eq!(o.status.code(), Some(2), "{value}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(why), "{value}: {}", text(&o.stderr));
    }
    // The file's own check says the same.
    let file = dir.path().join("long.yaml");
    std::fs::write(&file, "simulation: {duration_s: 31536001}\nnodes:\n  - {id: c, type: cloud}\n").unwrap();
    let o = xedgesim(&["validate", file.to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("duration_s must be greater than 0 and at most 31536000 (a year); found 31536001")
    );
}

#[test]
fn a_guests_words_reach_the_terminal_escaped_and_bounded_and_the_files_bounded() {
    // A megabyte of words with terminal escapes and a fake line, from a
    // step's error and from a constructor's.
    for mode in ["nasty_error", "nasty_constructor"] {
        let dir = tempfile::tempdir().unwrap();
        let hostile = hostile_component(dir.path());
        let scenario = dir.path().join("nasty.yaml");
        std::fs::write(
            &scenario,
            format!(
                "nodes:\n  - {{id: nasty, type: hostile, wasm: {{component: '{}'}}, config: {{mode: {mode}}}}}\n",
                hostile.display()
            ),
        )
        .unwrap();
        let out = dir.path().join("out");
        let o = xedgesim(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()], dir.path());
        assert_eq!(o.status.code(), Some(2), "{mode}");
        let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
        for printed in [&stdout, &stderr] {
            assert!(!printed.contains('\x1b') && !printed.contains('\x07'), "{mode}: raw escapes reached the terminal");
            assert!(!printed.lines().any(|l| l.starts_with("ALL NODES PASSED")), "{mode}: a guest faked a line");
        }
        assert!(stderr.contains(r"\u{1b}[2J\u{1b}]0;pwned\u{7}\nALL NODES PASSED\n"), "{mode}: {}", &stderr[..300]);
        assert!(stdout.len() + stderr.len() < 20_000, "{mode}: {} + {} bytes printed", stdout.len(), stderr.len());
        assert!(stderr.contains("more characters; summary.json and trace.jsonl keep them all"), "{mode}");
        // The files keep what the host kept of it: 16 KiB, and how much was cut.
        let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
        assert!(summary.len() < 100_000, "{mode}: {} bytes", summary.len());
        assert!(summary.contains("more bytes cut by the host"), "{mode}");
    }
}

#[test]
fn quiet_prints_nothing_on_success() {
    let dir = tempfile::tempdir().unwrap();
    let o = xedgesim(
        &["run", "scenarios/xedgesim_m0_baseline.yaml", "--quiet", "--out", dir.path().join("o").to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty() && o.stderr.is_empty());
}

#[test]
fn ctrl_c_and_sigterm_stop_the_run_cleanly_and_keep_its_outputs() {
    // SIGINT exits 130, SIGTERM (CI timeouts, `docker stop`) 143: 128 + the signal.
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let dir = tempfile::tempdir().unwrap();
        // Long enough (2,000 sensors for an hour of virtual time) never to finish first.
        let mut yaml = String::from("simulation: {duration_s: 3600}\nnodes:\n  - {id: c, type: cloud}\n");
        for i in 0..2_000 {
            yaml.push_str(&format!("  - {{id: s{i}, type: sensor, config: {{sample_rate_hz: 10}}}}\n"));
        }
        let scenario = dir.path().join("long.yaml");
        std::fs::write(&scenario, yaml).unwrap();
        let out = dir.path().join("out");
        let mut child = Command::new(env!("CARGO_BIN_EXE_xedgesim"))
            .args(["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
            .env("XEDGESIM_CACHE_DIR", dir.path().join("cache"))
            .spawn()
            .unwrap();
        // Wait until the run is under way (its trace is being written), then signal it.
        let started = std::time::Instant::now();
        while !has_partial(&out) && started.elapsed() < std::time::Duration::from_secs(60) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let sent = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
        assert!(sent.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{signal}");
        let summary = std::fs::read_to_string(out.join("summary.json")).expect("summary written");
        assert!(summary.contains("\"status\": \"interrupted\""), "{signal}: {summary}");
        assert!(out.join("metrics.csv").is_file() && out.join("trace.jsonl").is_file());
        assert!(!has_partial(&out), "{signal}: no temporary files left behind");
    }
}

/// Whether `dir` holds a file being written (`*.partial`).
fn has_partial(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
    })
}

/// Sends `signal` to `child` once `ready` holds (or after 60 s), and
/// returns its exit code and how long it took to exit after the signal.
fn signal_when(
    child: &mut std::process::Child,
    signal: &str,
    ready: impl Fn() -> bool,
) -> (Option<i32>, std::time::Duration) {
    let started = std::time::Instant::now();
    while !ready() && started.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let sent = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let signalled = std::time::Instant::now();
    let status = child.wait().unwrap();
    (status.code(), signalled.elapsed())
}

#[test]
fn ctrl_c_stops_a_guest_call_that_would_run_for_minutes() {
    // A node that loops with fuel for about 10^12 instructions: without
    // epoch interruption, Ctrl-C would wait for it to run out.
    let dir = tempfile::tempdir().unwrap();
    let hostile = hostile_component(dir.path());
    let scenario = dir.path().join("spin.yaml");
    std::fs::write(
        &scenario,
        format!(
            "simulation: {{duration_s: 60}}\nnodes:\n  - {{id: c, type: cloud}}\n  - {{id: s, type: sensor}}\n  - {{id: spin, type: hostile, wasm: {{component: '{}', fuel_per_step: 1000000000000}}, config: {{mode: loop}}}}\n",
            hostile.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .env("XEDGESIM_CACHE_DIR", dir.path().join("cache"))
        .spawn()
        .unwrap();
    // Signalled a second after the run began writing, when only the loop
    // can still be in a guest: the sensor's and the cloud's first steps
    // take microseconds, but on a loaded machine they can still be running
    // when the trace file appears, and Ctrl-C interrupts whatever guest runs.
    let began = std::cell::Cell::new(None::<std::time::Instant>);
    let (code, took) = signal_when(&mut child, "-INT", || {
        if has_partial(&out) && began.get().is_none() {
            began.set(Some(std::time::Instant::now()));
        }
        began.get().is_some_and(|t| t.elapsed() > std::time::Duration::from_secs(1))
    });
    assert_eq!(code, Some(130));
    assert!(took < std::time::Duration::from_secs(10), "took {took:?} to stop");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary written")).unwrap();
    assert_eq!(summary["status"], "interrupted");
    // The looping node says why it has no metrics; the others finished.
    let faults = summary["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert_eq!(faults[0]["node"], "spin");
    assert_eq!(faults[0]["kind"], "interrupted");
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(metrics.lines().any(|l| l.starts_with("s,model,samples_sent,")), "{metrics}");
    assert!(!has_partial(&out));
}

#[test]
fn ctrl_c_stops_a_long_compile() {
    // 48 functions of 60,000 multiply-adds each: many seconds of compiling
    // even on an idle machine (the signal comes at 1.5 s).
    let body = "local.get 0 i32.const 7 i32.mul i32.const 3 i32.add local.set 0 ".repeat(60_000);
    let funcs: String = (0..48).map(|_| format!("(func (param i32) (local.set 0 (local.get 0)) {body})")).collect();
    let wat = format!(
        "(component (core module {funcs}) (instance $model) (export \"xedgesim:node/model@0.2.0\" (instance $model)))"
    );
    let dir = tempfile::tempdir().unwrap();
    let component = dir.path().join("slow.wasm");
    std::fs::write(&component, wat::parse_str(&wat).unwrap()).unwrap();
    let scenario = dir.path().join("slow.yaml");
    std::fs::write(
        &scenario,
        format!("nodes:\n  - {{id: n, type: slow, wasm: {{component: '{}'}}}}\n", component.display()),
    )
    .unwrap();
    let out = dir.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .env("XEDGESIM_CACHE_DIR", dir.path().join("cache"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let (code, took) = signal_when(&mut child, "-TERM", || started.elapsed() > std::time::Duration::from_millis(1_500));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(code, Some(143), "{stderr}");
    assert!(stderr.contains("interrupted while compiling"), "{stderr}");
    assert!(took < std::time::Duration::from_secs(2), "took {took:?} to stop");
    // Nothing half-written in the cache.
    let leftovers: Vec<_> = walk(&dir.path().join("cache")).into_iter().filter(|p| !p.is_dir()).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        found.push(entry.path());
        if entry.path().is_dir() {
            found.extend(walk(&entry.path()));
        }
    }
    found
}

/// The hostile fixture component, written into `dir`.
fn hostile_component(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("hostile.wasm");
    std::fs::write(&path, xedgesim::runtime::wasm::fixture_component("hostile").unwrap()).unwrap();
    path
}

#[test]
fn log_prints_model_lines_live_with_time_and_node_and_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = dir.path().join("hostile.wasm");
    std::fs::write(&hostile, xedgesim::runtime::wasm::fixture_component("hostile").unwrap()).unwrap();
    let scenario = dir.path().join("log.yaml");
    std::fs::write(
        &scenario,
        format!(
            "simulation: {{duration_s: 2}}\nnodes:\n  - {{id: h, type: hostile, wasm: {{component: '{}'}}, config: {{mode: nasty_log}}}}\n",
            hostile.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = |level: &str| {
        Command::new(env!("CARGO_BIN_EXE_xedgesim"))
            .args(["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--log", level])
            .env("XEDGESIM_CACHE_DIR", dir.path().join("cache"))
            .output()
            .unwrap()
    };
    let warn = run("warn");
    assert_eq!(warn.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&warn.stderr).into_owned();
    // One line per step (t = 0, 1 and 2 s), each whole: no raw control
    // character reaches the terminal, and the fake line stays on its line.
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("] h  warn  ")).collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(lines[1].starts_with("[    1.000000 s] h  warn  "), "{stderr}");
    assert!(lines[1].ends_with("ALL NODES PASSED"), "{stderr}");
    assert!(!stderr.contains(['\x1b', '\x07', '\r']), "{stderr:?}");
    assert!(!stderr.lines().any(|l| l.starts_with("ALL NODES PASSED")), "{stderr}");
    // Below the level asked for, nothing.
    let error = run("error");
    assert!(!String::from_utf8_lossy(&error.stderr).contains("ALL NODES PASSED"));
}

#[test]
fn a_faulty_scenario_prints_what_its_faults_cost_and_runs_without_them_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = xedgesim(&["run", "scenarios/gateway_reboot.yaml", "--out", out.to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("scripted      2 fault events applied; messages lost: 20 to crash"), "{stdout}");
    assert!(
        stdout.contains("sink cloud    longest gap 14.997 s (5.030–20.026 s); recovered 5.026 s after restart gateway"),
        "{stdout}"
    );
    let free =
        xedgesim(&["run", "scenarios/gateway_reboot.yaml", "--fault-free", "--out", out.to_str().unwrap()], dir.path());
    assert_eq!(free.status.code(), Some(0), "{}", text(&free.stderr));
    let stdout = text(&free.stdout);
    assert!(stdout.contains("fault-free    the scenario's `faults:` section was left out"), "{stdout}");
    assert!(stdout.contains("messages      126 sent, 122 delivered, 0 dropped"), "{stdout}");
    assert!(!stdout.contains("scripted "), "{stdout}");
    // A mistake in the section is a user error, with its line.
    let bad = xedgesim(&["run", "scenarios/invalid/bad_faults.yaml"], dir.path());
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("bad_faults.yaml:12:13: error: fault names node 'gatway'"),
        "{}",
        text(&bad.stderr)
    );
}

/// A reader that closes the output early (`| head`) ends the command as it
/// ends any Unix tool (141, 128 + SIGPIPE), never in a panic.
#[test]
fn a_closed_output_ends_the_command_quietly_not_in_a_panic() {
    // Far more than a pipe holds (390 kB), so writing goes on after `head` is gone.
    let script =
        r#"set -o pipefail; "$0" validate --resolved --no-models scenarios/many_sensors.yaml | head -c 1 >/dev/null"#;
    let out = Command::new("bash")
        .args(["-c", script, env!("CARGO_BIN_EXE_xedgesim")])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
