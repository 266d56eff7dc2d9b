//! Replaying a recorded run as its users do, without Docker (the basics
//! are in `record_replay.rs`): the replay packs WASM nodes as the recorded
//! run did (`--sandbox shared` is in the header); the CI recipe of
//! docs/running.md, a recording moved with its scenario to another path
//! and one kept without the run's outputs; a header holding run options no
//! run has is refused.

mod common;

use common::recorded::{
    NO_ENGINE, long_scenario, record_wasm_gateway, signal_once_under_way, stderr, stdout, summary,
    xedgesim_without_docker,
};
use common::{output_text, root, xedgesim};

/// A run packed with `--sandbox shared`, a probe that panics stopping its
/// instance's other probe: the packing is in the recording's header, so
/// the replay packs the same way (the fault and its fate are the recorded
/// run's), and so does `equiv` for a recorded side, whose packing no
/// `--sandbox-a` changes.
#[test]
fn a_replay_packs_wasm_nodes_as_the_recorded_run_did() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostile.wasm"), xedgesim::runtime::wasm::fixture_component("hostile").unwrap())
        .unwrap();
    let file = dir.path().join("fate.yaml");
    std::fs::write(
        &file,
        "simulation: {duration_s: 5, seed: 3}\nnodes:\n  - {id: sensor1, type: sensor}\n  - {id: h1, type: probe, on_fault: isolate, config: {mode: panic, at_us: 2000000}, wasm: {component: hostile.wasm}}\n  - {id: h2, type: probe, on_fault: isolate, config: {mode: none}, wasm: {component: hostile.wasm}}\n  - {id: cloud, type: cloud}\n",
    )
    .unwrap();
    let rec = dir.path().join("rec");
    let args = ["run", file.to_str().unwrap(), "--out", rec.to_str().unwrap(), "--sandbox", "shared", "--quiet"];
    let out = xedgesim(&[&args[..], &["--record", "--record-node", "cloud"]].concat(), None);
    assert!(out.status.success(), "{}", stderr(&out));
    let faults = summary(&rec)["faults"].clone();
    assert_eq!(faults[1]["kind"], "shared_sandbox", "h2 shares h1's fate: {faults}");
    let header = String::from_utf8_lossy(&std::fs::read(rec.join("recording.xrec")).unwrap()).to_string();
    assert!(header.contains("\"sandbox\": \"shared:1000\"") && header.contains("\"native\": false"), "{header}");

    let out = xedgesim_without_docker(&["replay", rec.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("identical"), "{}", stdout(&out));
    assert_eq!(summary(&rec.join("replay"))["faults"], faults);

    let eq = dir.path().join("eq");
    let args = ["equiv", rec.to_str().unwrap(), file.to_str().unwrap(), "--out", eq.to_str().unwrap()];
    let same = xedgesim_without_docker(&[&args[..], &["--sandbox-b", "shared"]].concat());
    assert_eq!(same.status.code(), Some(0), "{}{}", stdout(&same), stderr(&same));
    assert_eq!(summary(&eq.join("a"))["faults"], faults, "side A packed as recorded");
    // Side B, a scenario, packs as the recorded side did unless told otherwise.
    let inherited = xedgesim_without_docker(&args);
    assert_eq!(inherited.status.code(), Some(0), "{}{}", stdout(&inherited), stderr(&inherited));
    assert_eq!(summary(&eq.join("b"))["faults"], faults, "side B packed as side A was recorded");
    let refused = xedgesim_without_docker(&[&args[..], &["--sandbox-a", "per-node"]].concat());
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("was recorded with shared:1000 packing"), "{}", stderr(&refused));
}

/// The CI recipe of docs/running.md: a recording committed beside its
/// scenario, in a checkout at another path (the header's absolute path is
/// gone), replays from the scenario's place relative to the recording;
/// with the run's outputs kept it compares them, without them there is
/// nothing to compare (exit 0); with the scenario gone too, the error
/// names both places tried and `--scenario`.
#[test]
fn a_recording_moved_with_its_scenario_replays_and_one_kept_alone_has_nothing_to_compare() {
    let dir = tempfile::tempdir().unwrap();
    let checkout = dir.path().join("checkout");
    std::fs::create_dir_all(checkout.join("scenarios")).unwrap();
    std::fs::copy(root().join("scenarios/wasm_gateway.yaml"), checkout.join("scenarios/gw.yaml")).unwrap();
    let rec = checkout.join("recordings/gw");
    let out = xedgesim(
        &[
            "run",
            checkout.join("scenarios/gw.yaml").to_str().unwrap(),
            "--out",
            rec.to_str().unwrap(),
            "--record",
            "--record-node",
            "gateway",
            "--quiet",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let moved = dir.path().join("elsewhere");
    std::fs::rename(&checkout, &moved).unwrap();
    let rec = moved.join("recordings/gw");
    let out = xedgesim_without_docker(&["replay", rec.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("identical"), "{text}");
    assert!(text.contains(&format!("(scenario {})", moved.join("scenarios/gw.yaml").display())), "{text}");

    for file in std::fs::read_dir(&rec).unwrap().map(|e| e.unwrap().path()) {
        if file.file_name().unwrap() != "recording.xrec" {
            if file.is_dir() { std::fs::remove_dir_all(&file) } else { std::fs::remove_file(&file) }.unwrap();
        }
    }
    let out = xedgesim_without_docker(&["replay", rec.join("recording.xrec").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("nothing to compare") && text.contains("keep trace.jsonl, metrics.csv and summary.json"));

    std::fs::rename(moved.join("scenarios/gw.yaml"), moved.join("gw.yaml")).unwrap();
    let out = xedgesim_without_docker(&["replay", rec.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    let recorded = checkout.join("scenarios/gw.yaml");
    assert!(err.contains(&format!("not at {}", recorded.display())), "the recorded path: {err}");
    assert!(err.contains(&rec.join("../../scenarios/gw.yaml").display().to_string()), "the relative one: {err}");
    assert!(err.contains("--scenario FILE"), "{err}");
    let out = xedgesim_without_docker(&[
        "replay",
        rec.to_str().unwrap(),
        "--scenario",
        moved.join("gw.yaml").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

/// Two checkouts on one machine: the one the recording was made in has an
/// edited scenario at the recorded absolute path; a copy of the checkout
/// replays with the scenario beside its recording, not the edited one.
#[test]
fn a_copy_of_a_checkout_replays_with_its_own_scenario_not_an_edited_one_at_the_old_path() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    std::fs::create_dir_all(first.join("scenarios")).unwrap();
    std::fs::copy(root().join("scenarios/wasm_gateway.yaml"), first.join("scenarios/gw.yaml")).unwrap();
    let rec = first.join("recordings/gw");
    let scenario = first.join("scenarios/gw.yaml");
    let args = ["run", scenario.to_str().unwrap(), "--out", rec.to_str().unwrap(), "--quiet"];
    let out = xedgesim(&[&args[..], &["--record", "--record-node", "gateway"]].concat(), None);
    assert!(out.status.success(), "{}", stderr(&out));
    let second = dir.path().join("second");
    std::fs::create_dir_all(second.join("scenarios")).unwrap();
    std::fs::create_dir_all(second.join("recordings")).unwrap();
    std::fs::copy(&scenario, second.join("scenarios/gw.yaml")).unwrap();
    std::fs::rename(&rec, second.join("recordings/gw")).unwrap();
    std::fs::write(&scenario, std::fs::read_to_string(&scenario).unwrap() + "# edited since\n").unwrap();
    let out = xedgesim_without_docker(&["replay", second.join("recordings/gw").to_str().unwrap()]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains(&format!("(scenario {})", second.join("scenarios/gw.yaml").display())), "{text}");
    assert!(text.contains("identical"), "{text}");
}

/// A header whose run options no run has (edited, or forged with a valid
/// checksum) is refused before anything runs, naming the file and field.
#[test]
fn a_recording_whose_header_holds_impossible_options_is_refused() {
    use xedgesim::runtime::record;
    let dir = tempfile::tempdir().unwrap();
    let rec = record_wasm_gateway(dir.path());
    let (recording, _) = record::read(&rec.join("recording.xrec")).unwrap();
    type Edit = fn(&mut record::RecordingHeader);
    let edits: [(&str, Edit); 4] = [
        ("duration_us", |h| h.duration_us = u64::MAX),
        ("duration_us", |h| h.duration_us = 0),
        ("max_queued_payload_bytes", |h| h.max_queued_payload_bytes = 0),
        ("sandbox", |h| h.sandbox = "shared:0".into()),
    ];
    for (n, (field, edit)) in edits.into_iter().enumerate() {
        let mut forged = recording.clone();
        edit(&mut forged.header);
        let folder = dir.path().join(format!("forged{n}"));
        std::fs::create_dir_all(&folder).unwrap();
        record::write(&folder.join("recording.xrec"), &forged).unwrap();
        // A hang guard: a run of u64::MAX µs would never end.
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_xedgesim"))
            .args(["replay", folder.to_str().unwrap(), "--quiet"])
            .current_dir(root())
            .env("DOCKER_HOST", NO_ENGINE)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > std::time::Duration::from_secs(120) {
                let _ = child.kill();
                panic!("{field}: the replay ran instead of being refused");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{field}: {}{}", stdout(&out), stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(folder.join("recording.xrec").to_str().unwrap()), "{err}");
        assert!(err.contains(&format!("`{field}`")) && err.contains("record again"), "{err}");
        assert!(!folder.join("replay").exists(), "nothing ran");
    }
}

/// A run with `--record` stopped by Ctrl-C writes no recording (one would
/// end where the run stopped, and its replay diverge there with nothing
/// changed), and says so; the run's other outputs are kept as ever.
#[test]
fn ctrl_c_during_a_recorded_run_writes_no_recording_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = long_scenario(dir.path());
    let out = dir.path().join("out");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .args(["--record", "--record-node", "c"])
        .env("XEDGESIM_CACHE_DIR", dir.path().join("cache"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    signal_once_under_way(&child, &out, "-INT");
    let done = child.wait_with_output().unwrap();
    let err = output_text(&done.stderr);
    assert_eq!(done.status.code(), Some(130), "{err}");
    assert!(err.contains("no recording was written"), "{err}");
    assert!(!out.join("recording.xrec").exists(), "no recording of an interrupted run");
    assert_eq!(summary(&out)["status"], "interrupted");
    assert!(summary(&out).get("recording").is_none(), "the summary names no recording");
}
