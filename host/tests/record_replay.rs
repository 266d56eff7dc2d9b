//! Record and replay through the command line, without Docker (the
//! container runs are in `docker_record_replay.rs`): a WASM gateway
//! recorded with `--record-node` replays to the same bytes with the Docker
//! socket pointing nowhere; replayed in a scenario whose sensor sends at
//! another rate, strict mode names the first divergence and lenient mode
//! finishes and counts; `equiv --replay` answers it on both sides; a
//! container that could not start replays with its startup fault; the
//! summary and the report mark replayed nodes; a cut, edited or foreign
//! recording, a changed scenario, an unknown node, nothing to record and a
//! passed cap are each a clear error; an earlier run's recording never
//! passes for a later run's.

mod common;

use std::path::{Path, PathBuf};

use common::recorded::{NO_ENGINE, record_wasm_gateway, stderr, stdout, summary, xedgesim_without_docker};
use common::{root, xedgesim};
use sha2::{Digest, Sha256};

/// wasm_gateway.yaml with sensor2 sampling at 3 Hz instead of 2, in `dir`.
fn changed_rate(dir: &Path) -> PathBuf {
    let yaml = std::fs::read_to_string(root().join("scenarios/wasm_gateway.yaml")).unwrap();
    let changed = yaml.replace("{sample_rate_hz: 2}", "{sample_rate_hz: 3}");
    assert_ne!(yaml, changed, "the sensor's rate is in the file");
    let file = dir.join("changed.yaml");
    std::fs::write(&file, changed).unwrap();
    file
}

#[test]
fn a_recorded_wasm_gateway_replays_to_the_same_bytes_without_docker() {
    let dir = tempfile::tempdir().unwrap();
    let rec = record_wasm_gateway(dir.path());
    let recording = std::fs::read(rec.join("recording.xrec")).expect("the run folder holds recording.xrec");
    let recorded = summary(&rec);
    assert_eq!(recorded["recording"]["file"], "recording.xrec");
    assert_eq!(recorded["recording"]["nodes"], serde_json::json!(["gateway"]));
    assert_eq!(recorded["recording"]["bytes"], recording.len() as u64);
    let sha: String = Sha256::digest(&recording).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(recorded["recording"]["sha256"], sha.as_str());
    assert!(recording.starts_with(b"XEDGESIM"), "the file opens with its magic bytes");

    let out = xedgesim_without_docker(&["replay", rec.to_str().unwrap()]);
    assert!(out.status.success(), "replay failed: {}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("identical"), "{}", stdout(&out));
    let replay = rec.join("replay");
    for file in ["trace.jsonl", "metrics.csv", "usage.csv"] {
        assert_eq!(
            std::fs::read(rec.join(file)).unwrap(),
            std::fs::read(replay.join(file)).unwrap(),
            "{file} is the recorded run's"
        );
    }
    let replayed = summary(&replay);
    assert_eq!(replayed["deterministic"], true);
    let gateway = &replayed["replayed"]["gateway"];
    assert_eq!(gateway["mode"], "strict");
    assert_eq!(gateway["sha256"], sha.as_str());
    assert!(gateway["calls"].as_u64().unwrap() > 0, "{gateway}");
    assert_eq!(gateway["inputs_differed"], 0);
    for key in ["events", "steps", "messages", "faults", "model_metrics", "end_to_end_latency_us"] {
        assert_eq!(recorded[key], replayed[key], "summary's {key}");
    }
    let page = std::fs::read_to_string(replay.join("report.html")).unwrap();
    assert!(page.contains("replayed from recording.xrec (sha256 "), "the report marks the gateway");
    assert!(page.contains(&sha[..12]), "with its recording's hash");
}

#[test]
fn strict_replay_in_a_changed_scenario_names_the_first_divergence() {
    let dir = tempfile::tempdir().unwrap();
    let rec = record_wasm_gateway(dir.path());
    let replay = format!("gateway={}", rec.display());
    // sensor2 at another rate: a step at a time the recording has none;
    // sensor3 at another temperature: a step whose inbox differs.
    let payload = dir.path().join("payload.yaml");
    let yaml = std::fs::read_to_string(root().join("scenarios/wasm_gateway.yaml")).unwrap();
    std::fs::write(&payload, yaml.replace("base: 22.5", "base: 30.5")).unwrap();
    for (file, says) in [
        (changed_rate(dir.path()), &["no recorded step at this time", "received inbox", "from 'sensor2'"][..]),
        (payload, &["expected (recorded) inbox", "received inbox", "from 'sensor3'", "t = 1.000000 s"][..]),
    ] {
        let out_dir = dir.path().join("strict");
        let out = xedgesim_without_docker(&[
            "run",
            file.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--replay",
            &replay,
        ]);
        assert_eq!(out.status.code(), Some(2), "a divergence stops the run as a fault that aborts it does");
        let err = stderr(&out);
        assert!(err.contains("node 'gateway' diverged from its recording at t = "), "{err}");
        assert!(err.contains("recording.xrec"), "names the recording: {err}");
        assert!(err.contains("--replay-mode lenient"), "says what to do: {err}");
        for words in says {
            assert!(err.contains(words), "{words}: {err}");
        }
        let s = summary(&out_dir);
        assert_eq!(s["status"], "failed", "the outputs are written as for an aborted run");
        assert_eq!(s["faults"][0]["kind"], "replay_diverged", "{}", s["faults"]);
    }
}

#[test]
fn lenient_replay_in_a_changed_scenario_finishes_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let rec = record_wasm_gateway(dir.path());
    let file = changed_rate(dir.path());
    let replay = format!("gateway={}", rec.display());
    let out_dir = dir.path().join("lenient");
    let args = ["run", file.to_str().unwrap(), "--out", out_dir.to_str().unwrap(), "--replay", &replay];
    let out = xedgesim_without_docker(&[&args[..], &["--replay-mode", "lenient"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("replayed      gateway from "), "{}", stdout(&out));
    let s = summary(&out_dir);
    assert_eq!(s["status"], "finished");
    let gateway = &s["replayed"]["gateway"];
    assert_eq!(gateway["mode"], "lenient");
    let differed = gateway["inputs_differed"].as_u64().unwrap() + gateway["calls_unrecorded"].as_u64().unwrap();
    assert!(differed > 0, "a sensor at another rate changes the gateway's inputs: {gateway}");
    assert_eq!(s["deterministic"], true);
}

#[test]
fn a_cut_edited_or_foreign_recording_is_a_clear_error_naming_the_file_and_byte() {
    let dir = tempfile::tempdir().unwrap();
    let rec = record_wasm_gateway(dir.path());
    let bytes = std::fs::read(rec.join("recording.xrec")).unwrap();
    let damaged = |name: &str, bytes: &[u8]| {
        let folder = dir.path().join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("recording.xrec"), bytes).unwrap();
        folder
    };
    let mut edited = bytes.clone();
    let last = edited.len() - 20;
    edited[last] ^= 0x55;
    for (folder, what) in [
        (damaged("cut", &bytes[..bytes.len() / 2]), "byte"),
        (damaged("edited", &edited), "byte"),
        (damaged("foreign", b"nodes:\n  - {id: a, type: sensor}\n"), "not an xedgesim recording"),
    ] {
        let file = folder.join("recording.xrec");
        let out = xedgesim_without_docker(&["replay", folder.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(file.to_str().unwrap()) && err.contains(what), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        let replay = format!("gateway={}", folder.display());
        let out = xedgesim(&["run", "scenarios/wasm_gateway.yaml", "--replay", &replay], None);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(what), "{}", stderr(&out));
    }
    let none = dir.path().join("no-recording");
    std::fs::create_dir_all(&none).unwrap();
    let out = xedgesim_without_docker(&["replay", none.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("recording.xrec"), "{}", stderr(&out));
}

#[test]
fn replay_refuses_a_scenario_changed_since_it_was_recorded_and_an_unrecorded_node() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gw.yaml");
    std::fs::copy(root().join("scenarios/wasm_gateway.yaml"), &file).unwrap();
    let rec = dir.path().join("rec");
    let out = xedgesim(
        &["run", file.to_str().unwrap(), "--out", rec.to_str().unwrap(), "--record", "--record-node", "gateway"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap().replace("seed: 42", "seed: 43")).unwrap();
    let out = xedgesim_without_docker(&["replay", rec.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("not the scenario") && err.contains("SHA-256") && err.contains("--scenario"), "{err}");
    // The original, kept elsewhere, replays.
    let kept = dir.path().join("kept.yaml");
    std::fs::copy(root().join("scenarios/wasm_gateway.yaml"), &kept).unwrap();
    let out = xedgesim_without_docker(&["replay", rec.to_str().unwrap(), "--scenario", kept.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    let replay = format!("sensor1={}", rec.display());
    let out = xedgesim(&["run", "scenarios/wasm_gateway.yaml", "--replay", &replay], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("'sensor1' is not in this recording") && err.contains("'gateway'"), "{err}");
    let replay = format!("gateway={}", rec.display());
    let out = xedgesim(&["run", "scenarios/wasm_gateway.yaml", "--replay", &replay, "--replay", &replay], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("node 'gateway' is named by two --replay"), "{}", stderr(&out));
}

#[test]
fn a_passed_cap_writes_the_outputs_and_no_recording() {
    use xedgesim::run::{RecordError, RecordOptions, RunError, Simulation};
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let result = Simulation::from_file(root().join("scenarios/wasm_gateway.yaml"))
        .unwrap()
        .out_dir(&out_dir)
        .record(Some(RecordOptions { nodes: vec!["gateway".into()], max_bytes: 1_000 }))
        .run();
    let Err(RunError::Recording(e @ RecordError::CapExceeded { .. })) = result else {
        panic!("the cap of 1000 bytes is passed: {result:?}")
    };
    assert!(e.to_string().contains("--record-max-mb"), "{e}");
    for file in ["trace.jsonl", "metrics.csv", "summary.json"] {
        assert!(out_dir.join(file).exists(), "{file} is written");
    }
    assert!(!out_dir.join("recording.xrec").exists(), "no recording");
    assert!(summary(&out_dir).get("recording").is_none());
    // A cap past what a replay reads would make a recording no one can replay.
    let result = Simulation::from_file(root().join("scenarios/wasm_gateway.yaml"))
        .unwrap()
        .out_dir(dir.path().join("big"))
        .record(Some(RecordOptions { nodes: vec!["gateway".into()], max_bytes: (1 << 30) + 1 }))
        .run();
    let Err(e) = result else { panic!("a cap past 1 GiB is refused") };
    assert!(e.to_string().contains("reads at most 1 GiB"), "{e}");
}

#[test]
fn record_without_a_docker_node_or_a_named_one_has_nothing_to_record() {
    let out = xedgesim(&["run", "scenarios/wasm_gateway.yaml", "--record", "--quiet"], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("nothing to record") && err.contains("--record-node"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unknown_node_to_record_or_replay_is_named_with_the_known_ones() {
    let out = xedgesim(&["run", "scenarios/wasm_gateway.yaml", "--record", "--record-node", "gatewey"], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("cannot record node 'gatewey'") && err.contains("'gateway'"), "{err}");
}

#[test]
fn record_and_replay_flags_are_checked_before_anything_runs() {
    for (args, says) in [
        (&["--record-node", "gateway"][..], "--record"),
        (&["--record-max-mb", "5"][..], "--record"),
        (&["--replay-mode", "lenient"][..], "--replay"),
        (&["--record", "--record-max-mb", "0"][..], "0"),
        (&["--record", "--record-max-mb", "1025"][..], "1..=1024"),
        (&["--replay", "gateway"][..], "expected NODE=RUN_DIR"),
        (&["--replay", "=runs/x"][..], "expected NODE=RUN_DIR"),
        (&["--replay", "gateway=x", "--replay-mode", "loose"][..], "loose"),
    ] {
        let out = xedgesim(&[&["run", "scenarios/wasm_gateway.yaml"][..], args].concat(), None);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    let out = xedgesim(&["replay"], None);
    assert_eq!(out.status.code(), Some(2), "replay needs a run folder: {}", stderr(&out));
}

#[test]
fn a_replay_never_writes_over_the_run_it_is_compared_with() {
    let dir = tempfile::tempdir().unwrap();
    let rec = record_wasm_gateway(dir.path());
    let trace = std::fs::read(rec.join("trace.jsonl")).unwrap();
    let out = xedgesim_without_docker(&["replay", rec.to_str().unwrap(), "--out", rec.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is the recorded run's folder"), "{}", stderr(&out));
    assert_eq!(std::fs::read(rec.join("trace.jsonl")).unwrap(), trace, "untouched");
    // From inside the folder, the recording named bare (its parent is "")
    // and the folder as `.`, or as a path through one not made yet.
    for out_dir in [".", "later/..", "./"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_xedgesim"))
            .args(["replay", "recording.xrec", "--out", out_dir])
            .current_dir(&rec)
            .env("DOCKER_HOST", NO_ENGINE)
            .output()
            .expect("the binary runs");
        assert_eq!(out.status.code(), Some(2), "--out {out_dir}: {}{}", stdout(&out), stderr(&out));
        assert!(stderr(&out).contains("is the recorded run's folder"), "{}", stderr(&out));
        assert_eq!(std::fs::read(rec.join("trace.jsonl")).unwrap(), trace, "untouched");
    }
}

#[test]
fn the_report_marks_replayed_nodes_from_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = xedgesim(&["run", "scenarios/wasm_gateway.yaml", "--out", out_dir.to_str().unwrap(), "--quiet"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(!page.contains("replayed from"), "a run without replay marks nothing");
    // A summary as a run replaying the gateway writes it, the page redrawn from it.
    let mut s = summary(&out_dir);
    s["replayed"] = serde_json::json!({"gateway": {
        "recording": "runs/rec/recording.xrec", "sha256": "0123456789abcdef", "mode": "lenient",
        "calls": 31, "inputs_differed": 4, "calls_unrecorded": 2, "recorded_unused": 1}});
    std::fs::write(out_dir.join("summary.json"), serde_json::to_string_pretty(&s).unwrap()).unwrap();
    let out = xedgesim(&["report", out_dir.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(
        page.contains("gateway <span class=\"replayed\">replayed from recording.xrec (sha256 0123456789ab)</span>")
    );
    assert!(page.contains("<h3>Replayed nodes</h3>") && page.contains("runs/rec/recording.xrec"));
    assert!(page.contains(" --replay gateway=runs/rec/recording.xrec --replay-mode lenient</code>"), "run it again");
}

#[test]
fn equiv_replays_a_node_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let rec = record_wasm_gateway(dir.path());
    let replay = format!("gateway={}", rec.display());
    let out = dir.path().join("equiv");
    let same = xedgesim_without_docker(&[
        "equiv",
        "scenarios/wasm_gateway.yaml",
        "--out",
        out.to_str().unwrap(),
        "--replay",
        &replay,
    ]);
    assert_eq!(same.status.code(), Some(0), "{}{}", stdout(&same), stderr(&same));
    for side in ["a", "b"] {
        let s = summary(&out.join(side));
        assert_eq!(s["replayed"]["gateway"]["mode"], "strict", "side {side} replays the gateway");
    }
    let file = changed_rate(dir.path());
    let differs = xedgesim_without_docker(&[
        "equiv",
        "scenarios/wasm_gateway.yaml",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--replay",
        &replay,
        "--replay-mode",
        "lenient",
    ]);
    assert_eq!(differs.status.code(), Some(1), "{}{}", stdout(&differs), stderr(&differs));
    let bad = xedgesim(&["equiv", "scenarios/wasm_gateway.yaml", "--replay", "gateway"], None);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("expected NODE=RUN_DIR"), "{}", stderr(&bad));
}

#[test]
fn a_container_that_could_not_start_is_recorded_with_its_fault_and_replayed_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    let args = ["run", "scenarios/docker_gateway.yaml", "--out", rec.to_str().unwrap(), "--record"];
    let out = xedgesim_without_docker(&[&args[..], &["--allow", "build-command,bind:containers"]].concat());
    assert_eq!(out.status.code(), Some(2), "no engine: the gateway's startup fault aborts the run: {}", stderr(&out));
    let recorded = summary(&rec);
    assert_eq!(recorded["faults"][0]["kind"], "engine_unreachable", "{}", recorded["faults"]);
    assert_eq!(recorded["recording"]["nodes"], serde_json::json!(["gateway"]), "recorded, with its fault");

    let out = xedgesim_without_docker(&["replay", rec.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("identical"), "{}", stdout(&out));
    assert_eq!(summary(&rec.join("replay"))["faults"], recorded["faults"]);
}

#[test]
fn a_run_into_a_folder_removes_an_earlier_runs_recording() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::write(out_dir.join("recording.xrec"), b"an earlier run's").unwrap();
    let out = xedgesim(&["run", "scenarios/wasm_gateway.yaml", "--out", out_dir.to_str().unwrap(), "--quiet"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!out_dir.join("recording.xrec").exists(), "it is not this run's");
    assert!(summary(&out_dir).get("recording").is_none());
}

#[test]
fn a_passed_cap_on_the_command_line_is_exit_2_with_the_outputs_written() {
    let dir = tempfile::tempdir().unwrap();
    // About 24,000 messages of 76-byte payloads into the gateway: past 1 MiB recorded.
    let sensors: String = (0..20)
        .map(|i| format!("  - {{id: s{i}, type: sensor, config: {{destination: gateway, sample_rate_hz: 20}}}}\n"))
        .collect();
    let file = dir.path().join("busy.yaml");
    std::fs::write(
        &file,
        format!(
            "simulation: {{duration_s: 60, seed: 1}}\nnetwork: {{model: latency, default_latency_us: 2000}}\nnodes:\n{sensors}  - {{id: gateway, type: gateway}}\n  - {{id: cloud, type: cloud}}\n"
        ),
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = xedgesim(
        &[
            "run",
            file.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--record",
            "--record-node",
            "gateway",
            "--record-max-mb",
            "1",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("passed its cap of 1048576 bytes") && err.contains("'gateway'"), "{err}");
    assert!(err.contains("other outputs are in"), "{err}");
    assert_eq!(summary(&out_dir)["status"], "finished", "the run itself finished");
    assert!(!out_dir.join("recording.xrec").exists());
}

/// `equiv RUN_DIR B.yaml`: the recorded run is one side, replayed with its
/// own scenario and seed, no Docker. Against the scenario it was recorded
/// from it is equivalent; against one whose sensor sends at another rate
/// it is not; what a recording cannot do (trials, another seed, a swap in
/// it) is refused before anything runs.
#[test]
fn equiv_compares_a_recorded_run_with_a_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let rec = record_wasm_gateway(dir.path());
    let rec_arg = rec.to_str().unwrap();
    let out = dir.path().join("eq");
    let same =
        xedgesim_without_docker(&["equiv", rec_arg, "scenarios/wasm_gateway.yaml", "--out", out.to_str().unwrap()]);
    assert_eq!(same.status.code(), Some(0), "{}{}", stdout(&same), stderr(&same));
    assert!(stdout(&same).contains("with seed 42"), "the recording's seed: {}", stdout(&same));
    assert!(stdout(&same).contains("equivalent: "), "{}", stdout(&same));
    assert_eq!(summary(&out.join("a"))["replayed"]["gateway"]["mode"], "strict", "side A is the replay");
    // Its recording file names the run as well as its folder does, on either side.
    let xrec = rec.join("recording.xrec");
    let flipped = xedgesim_without_docker(&[
        "equiv",
        "scenarios/wasm_gateway.yaml",
        xrec.to_str().unwrap(),
        "--out",
        dir.path().join("eq2").to_str().unwrap(),
    ]);
    assert_eq!(flipped.status.code(), Some(0), "{}{}", stdout(&flipped), stderr(&flipped));

    let changed = changed_rate(dir.path());
    let other = dir.path().join("eq3");
    let differ =
        xedgesim_without_docker(&["equiv", rec_arg, changed.to_str().unwrap(), "--out", other.to_str().unwrap()]);
    assert_eq!(differ.status.code(), Some(1), "{}{}", stdout(&differ), stderr(&differ));
    let text = stdout(&differ);
    assert!(text.contains("NOT equivalent") && text.contains("from 'sensor2'"), "the sensor's rate differs: {text}");

    let replay_too = format!("gateway={rec_arg}");
    for (args, expected) in [
        (vec!["--trials", "3"], "a recording is one run"),
        (vec!["--seed", "7"], "was recorded with seed 42"),
        (vec!["--replay", &replay_too], "is answered from its own recording already"),
    ] {
        let mut all = vec!["equiv", rec_arg, "scenarios/wasm_gateway.yaml"];
        all.extend(args);
        let refused = xedgesim_without_docker(&all);
        assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
        assert!(stderr(&refused).contains(expected) && stderr(&refused).contains(rec_arg), "{}", stderr(&refused));
    }
    let swapped = xedgesim_without_docker(&["equiv", "scenarios/wasm_gateway.yaml", rec_arg, "--swap", "gateway=wasm"]);
    assert_eq!(swapped.status.code(), Some(2), "{}", stderr(&swapped));
    assert!(stderr(&swapped).contains("is a recorded run"), "{}", stderr(&swapped));
}

/// What the terminal says names what was done: `equiv` of two recordings
/// of other seeds says each replays its own; a replay of a run without a
/// trace says it compared the metrics and results, not a trace.
#[test]
fn the_terminal_names_a_recordings_own_seed_and_only_the_files_compared() {
    let dir = tempfile::tempdir().unwrap();
    let rec = record_wasm_gateway(dir.path());
    let rec7 = dir.path().join("rec7");
    let args = ["run", "scenarios/wasm_gateway.yaml", "--seed", "7", "--trace", "off", "--quiet"];
    let out = xedgesim(
        &[&args[..], &["--out", rec7.to_str().unwrap(), "--record", "--record-node", "gateway"]].concat(),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let eq = xedgesim_without_docker(&[
        "equiv",
        rec.to_str().unwrap(),
        rec7.to_str().unwrap(),
        "--out",
        dir.path().join("eq").to_str().unwrap(),
    ]);
    assert!(stdout(&eq).contains("with seed 42 (B replays its recording's seed 7)"), "{}", stdout(&eq));
    assert_eq!(summary(&dir.path().join("eq/b"))["seed"], 7);

    let replay = xedgesim_without_docker(&["replay", rec7.to_str().unwrap()]);
    assert!(replay.status.success(), "{}{}", stdout(&replay), stderr(&replay));
    assert!(stdout(&replay).contains("identical: metrics.csv, the summary's results"), "{}", stdout(&replay));
}
