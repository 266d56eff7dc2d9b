//! A sweep on a real Slurm (Debian's slurm-wlm, started by
//! `.ci/start-slurm`): the 20 points of scenarios/sweep_gateway.yaml (4
//! windows × 5 seeds) submitted as a job array and waited for, then the
//! same sweep on this machine: every point's outputs are the same bytes,
//! and so is what `sweep collect` makes of each folder.
//! Without Slurm the test says SKIPPED loudly and passes, unless
//! `XEDGESIM_REQUIRE_SLURM=1` (CI sets it): then it fails.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::output_text as text;

/// Hang guard for the whole array (a node that never comes up would
/// leave it pending for ever); far above the seconds it takes.
const ARRAY_DEADLINE: Duration = Duration::from_secs(600);

/// Whether Slurm runs here; says SKIPPED loudly when not, and fails
/// instead when `XEDGESIM_REQUIRE_SLURM=1` (CI, which started it).
fn slurm_or_skip() -> bool {
    if slurm_is_here() {
        return true;
    }
    if std::env::var("XEDGESIM_REQUIRE_SLURM").as_deref() == Ok("1") {
        panic!("XEDGESIM_REQUIRE_SLURM=1 but sbatch does not run: start Slurm with .ci/start-slurm");
    }
    eprintln!("SKIPPED: no Slurm (run .ci/start-slurm)");
    false
}

/// scenarios/sweep_gateway.yaml with points that run for minutes (an
/// array is cancelled long before), in `dir`.
fn slow_scenario(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("slow.yaml");
    let text = std::fs::read_to_string(common::root().join("scenarios/sweep_gateway.yaml")).unwrap();
    std::fs::write(&file, text.replacen("duration_s:", "duration_s: 1000000 #", 1)).unwrap();
    file
}

fn slurm_is_here() -> bool {
    Command::new("sbatch")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs xedgesim with `args` from the workspace root, killing it past `deadline`.
fn xedgesim_within(args: &[&str], cache: &Path, deadline: Duration) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(args)
        .current_dir(common::root())
        .env("XEDGESIM_CACHE_DIR", cache)
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let queue = Command::new("squeue").output().map(|o| text(&o.stdout)).unwrap_or_default();
            panic!("`xedgesim {}` still running after {deadline:?}; squeue:\n{queue}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    (status.code(), std::fs::read_to_string(out_path).unwrap(), std::fs::read_to_string(err_path).unwrap())
}

/// `summary.json` without its wall-clock figures (the one part that differs run to run).
fn summary_without_wall_times(point: &Path) -> serde_json::Value {
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(point.join("summary.json")).unwrap()).unwrap();
    summary.as_object_mut().unwrap().retain(|key, _| !key.starts_with("wall_"));
    summary
}

#[test]
fn a_sweep_run_by_slurm_gives_every_point_the_bytes_of_the_same_sweep_run_here() {
    if !slurm_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let on_slurm = dir.path().join("on-slurm");
    let here = dir.path().join("here");
    let scenario = "scenarios/sweep_gateway.yaml";

    let (code, stdout, stderr) = xedgesim_within(
        &["sweep", scenario, "--out", on_slurm.to_str().unwrap(), "--on", "slurm", "--wait"],
        dir.path(),
        ARRAY_DEADLINE,
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("20 of 20 points to run"), "{stdout}");
    assert!(stdout.contains("done: 20 finished, 0 failed, 0 missing"), "{stdout}");
    // Slurm ran them: one task output per point, of one job.
    let task_outputs: Vec<String> = std::fs::read_dir(on_slurm.join("slurm"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".out"))
        .collect();
    assert_eq!(task_outputs.len(), 20, "{task_outputs:?}");

    let (code, stdout, stderr) = xedgesim_within(
        &["sweep", scenario, "--out", here.to_str().unwrap(), "--jobs", "2"],
        dir.path(),
        ARRAY_DEADLINE,
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("20 points: 20 done"), "{stdout}");

    assert_eq!(std::fs::read(on_slurm.join("sweep.json")).unwrap(), std::fs::read(here.join("sweep.json")).unwrap());
    for i in 0..20 {
        let (a, b) = (on_slurm.join(format!("points/{i:04}")), here.join(format!("points/{i:04}")));
        for file in ["point.json", "metrics.csv", "trace.jsonl"] {
            assert_eq!(std::fs::read(a.join(file)).unwrap(), std::fs::read(b.join(file)).unwrap(), "point {i}: {file}");
        }
        assert_eq!(summary_without_wall_times(&a), summary_without_wall_times(&b), "point {i}: summary.json");
    }
    // Collected, the two sweeps are one table and one page, byte for byte.
    let mut collected = Vec::new();
    for folder in [&on_slurm, &here] {
        let (code, stdout, stderr) =
            xedgesim_within(&["sweep", "collect", folder.to_str().unwrap()], dir.path(), ARRAY_DEADLINE);
        assert_eq!(code, Some(0), "{stdout}\n{stderr}");
        assert!(stdout.contains("20 points: 20 finished, 0 failed, 0 missing"), "{stdout}");
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(folder.join("collect"))
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
            .collect();
        files.sort();
        collected.push(files);
    }
    let names: Vec<&str> = collected[0].iter().map(|(name, _)| name.as_str()).collect();
    for table in ["points.csv", "points.json", "by_parameter.csv", "by_parameter.json", "by_point.csv", "report.html"] {
        assert!(names.contains(&table), "{table} not collected: {names:?}");
    }
    assert_eq!(collected[0].len(), collected[1].len(), "{names:?}");
    for ((name, slurm_bytes), (_, local_bytes)) in collected[0].iter().zip(&collected[1]) {
        assert!(slurm_bytes == local_bytes, "collect/{name} differs between the Slurm and the local sweep");
    }
    let points = String::from_utf8(collected[0].iter().find(|(n, _)| n == "points.csv").unwrap().1.clone()).unwrap();
    assert_eq!(points.lines().count(), 21, "a header and a row per point:\n{points}");
}

#[test]
fn an_array_sbatch_refuses_is_a_user_error_that_says_why() {
    if !slurm_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big");
    // 1200 points: past Debian's default MaxArraySize (1001); sbatch refuses it, submitting nothing.
    let (code, stdout, stderr) = xedgesim_within(
        &[
            "sweep",
            "scenarios/sweep_gateway.yaml",
            "--seeds",
            "1..300",
            "--out",
            out.to_str().unwrap(),
            "--on",
            "slurm",
        ],
        dir.path(),
        ARRAY_DEADLINE,
    );
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("sbatch refused the job array") && stderr.contains("MaxArraySize"), "{stderr}");
    assert!(!stdout.contains("collect with"), "nothing was submitted: {stdout}");
}

#[test]
fn ctrl_c_while_waiting_for_an_array_leaves_it_to_slurm_and_says_how_to_cancel_it() {
    if !slurm_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A point that runs for minutes: the array is cancelled long before.
    let file = slow_scenario(dir.path());
    let out = dir.path().join("sl");
    let child = Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(["sweep", file.to_str().unwrap(), "--seeds", "1", "--set", "gateway.config.window_s=5"])
        .args(["--out", out.to_str().unwrap(), "--on", "slurm", "--wait"])
        .env("XEDGESIM_CACHE_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Submitted once Slurm has made the task's output file.
    let started = Instant::now();
    while std::fs::read_dir(out.join("slurm")).map_or(0, |d| d.count()) < 2 {
        assert!(started.elapsed() < ARRAY_DEADLINE, "the array never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let signalled = Instant::now();
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    // A hang guard, not a timing: before, it waited for the whole array.
    assert!(signalled.elapsed() < Duration::from_secs(60));
    let id = stderr.split("scancel ").nth(1).and_then(|t| t.split(')').next()).expect(&stderr).trim().to_string();
    assert!(stderr.contains(&format!("job {id} keeps running in Slurm")), "{stderr}");
    let queue = Command::new("squeue").args(["-h", "-j", &id]).output().unwrap();
    assert!(!text(&queue.stdout).trim().is_empty(), "the array is still in Slurm");
    Command::new("scancel").arg(&id).status().unwrap();
}

#[test]
fn a_folder_whose_array_is_still_in_slurm_is_not_swept_again() {
    if !slurm_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = slow_scenario(dir.path());
    let out = dir.path().join("sl");
    let args = |on: &'static str| {
        let mut a = vec!["sweep".to_string(), file.display().to_string(), "--seeds".into(), "1".into()];
        a.extend(["--set", "gateway.config.window_s=5", "--out", out.to_str().unwrap(), "--on", on].map(String::from));
        a
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        xedgesim_within(&a, dir.path(), ARRAY_DEADLINE)
    };
    let (code, stdout, stderr) = run(args("slurm"));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let id = std::fs::read_to_string(out.join("slurm/job")).unwrap().trim().to_string();
    assert!(stdout.contains(&format!("submitted job {id}")), "{stdout}");
    for on in ["slurm", "local"] {
        let (code, stdout, stderr) = run(args(on));
        assert_eq!(code, Some(2), "--on {on}: {stdout}\n{stderr}");
        assert!(stderr.contains(&format!("job {id}, this folder's job array, is still in Slurm")), "{stderr}");
        assert!(stderr.contains(&format!("scancel {id}")), "{stderr}");
    }
    Command::new("scancel").arg(&id).status().unwrap();
    let started = Instant::now();
    while Command::new("squeue").args(["-h", "-j", &id]).output().is_ok_and(|o| !o.stdout.trim_ascii().is_empty()) {
        assert!(started.elapsed() < ARRAY_DEADLINE, "scancel never took");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, stdout, stderr) = run([args("slurm"), vec!["--dry-run".into()]].concat());
    assert_eq!(code, Some(0), "once it is gone the folder is free: {stdout}\n{stderr}");
}
