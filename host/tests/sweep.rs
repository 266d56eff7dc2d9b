//! `xedgesim sweep` as a user runs it, without Slurm: planning (grid,
//! list, point order), bad paths and values at their lines, the local
//! executor and its resume, a plan mismatch, a failing point, the Slurm
//! script of a dry run, the Kubernetes manifest, and `run --set`.

mod common;

use std::path::Path;

use common::output_text as text;
use common::sweep::{point_processes, s, scenario, wait_until, xedgesim};

fn plan(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap()
}

/// Each point's (index, seed, values) as one line.
fn points(plan: &serde_json::Value) -> Vec<String> {
    plan["points"].as_array().unwrap().iter().map(|p| format!("{} {} {}", p["index"], p["seed"], p["values"])).collect()
}

#[test]
fn a_grid_varies_its_first_parameter_slowest_and_the_seeds_innermost() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "sweep:\n  seeds: [3, 4]\n  parameters:\n    gateway.config.window_s: [1, 2]\n    simulation.duration_s: [1, 1.5]\n",
    );
    let out = dir.path().join("sw");
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--dry-run"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("8 points: 4 parameter points × 2 seeds"), "{}", text(&o.stdout));
    let plan = plan(&out);
    assert_eq!(plan["parameters"], serde_json::json!(["gateway.config.window_s", "simulation.duration_s"]));
    assert_eq!(plan["scenario"], s(&std::fs::canonicalize(&file).unwrap()));
    assert_eq!(
        points(&plan),
        [
            r#"0 3 {"gateway.config.window_s":1,"simulation.duration_s":1}"#,
            r#"1 4 {"gateway.config.window_s":1,"simulation.duration_s":1}"#,
            r#"2 3 {"gateway.config.window_s":1,"simulation.duration_s":1.5}"#,
            r#"3 4 {"gateway.config.window_s":1,"simulation.duration_s":1.5}"#,
            r#"4 3 {"gateway.config.window_s":2,"simulation.duration_s":1}"#,
            r#"5 4 {"gateway.config.window_s":2,"simulation.duration_s":1}"#,
            r#"6 3 {"gateway.config.window_s":2,"simulation.duration_s":1.5}"#,
            r#"7 4 {"gateway.config.window_s":2,"simulation.duration_s":1.5}"#,
        ]
    );
    assert!(!out.join("points").exists(), "a dry run runs nothing");
    let o = xedgesim(&["validate", s(&file)], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("sweep: 8 points (4 parameter points × 2 seeds), each valid"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn a_list_of_points_runs_in_its_order_and_the_command_line_replaces_seeds_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "sweep:\n  seeds: 1..2\n  points:\n    - {gateway.config.window_s: 2, sensor.config.sample_rate_hz: 1}\n    - {gateway.config.window_s: 1, sensor.config.sample_rate_hz: 4}\n",
    );
    let out = dir.path().join("list");
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--dry-run", "--seeds", "7"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        points(&plan(&out)),
        [
            r#"0 7 {"gateway.config.window_s":2,"sensor.config.sample_rate_hz":1}"#,
            r#"1 7 {"gateway.config.window_s":1,"sensor.config.sample_rate_hz":4}"#,
        ]
    );
    // --set adds a parameter to a file without a sweep; --seeds a range.
    let plain = scenario(dir.path(), "");
    let out = dir.path().join("set");
    let o = xedgesim(
        &["sweep", s(&plain), "--out", s(&out), "--dry-run", "--seeds", "1..3", "--set", "gateway.config.window_s=1,4"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let plan = plan(&out);
    assert_eq!(plan["parameters"], serde_json::json!(["gateway.config.window_s"]));
    assert_eq!(points(&plan).len(), 6);
    assert_eq!(points(&plan)[3], r#"3 1 {"gateway.config.window_s":4}"#);
}

#[test]
fn a_path_that_does_not_exist_is_an_error_at_the_sweep_line_or_at_set() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "sweep:\n  parameters:\n    gateway.config.windw_s: [1, 2]\n    simulation.durration_s: [1]\n",
    );
    for command in ["validate", "run"] {
        let run_out = dir.path().join("r");
        let args: Vec<&str> =
            if command == "run" { vec![command, s(&file), "--out", s(&run_out)] } else { vec![command, s(&file)] };
        let o = xedgesim(&args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{command}: {}", text(&o.stderr));
        let all = text(&o.stdout) + &text(&o.stderr);
        // Line 10 is `gateway.config.windw_s`, line 11 `simulation.durration_s`.
        assert!(all.contains("s.yaml:10:5: error: with gateway.config.windw_s = 1"), "{command}: {all}");
        assert!(all.contains("did you mean 'window_s'?"), "{command}: {all}");
        assert!(
            all.contains("s.yaml:11:5: error: with simulation.durration_s = 1: unknown key 'durration_s'"),
            "{all}"
        );
        assert!(all.contains("did you mean 'duration_s'?"), "{all}");
        assert!(!all.contains("windw_s = 2"), "one error per path: {all}");
    }
    // On the command line: a node that does not exist.
    let plain = scenario(dir.path(), "");
    let o = xedgesim(
        &["sweep", s(&plain), "--out", s(&dir.path().join("x")), "--set", "gatewy.config.window_s=1"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let stderr = text(&o.stderr);
    assert!(stderr.contains("with --set gatewy.config.window_s=1: no node or section 'gatewy'"), "{stderr}");
    assert!(stderr.contains("did you mean 'gateway'?"), "{stderr}");
    assert!(!dir.path().join("x").exists(), "nothing is written for a bad sweep");
    // A key the model declares but the file does not set is fine.
    let o = xedgesim(
        &[
            "sweep",
            s(&plain),
            "--out",
            s(&dir.path().join("y")),
            "--dry-run",
            "--set",
            "gateway.config.processing_delay_us=10,20",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

#[test]
fn a_value_that_makes_one_point_invalid_names_that_point() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "sweep:\n  parameters:\n    simulation.duration_s: [1, -1]\n");
    let o = xedgesim(&["validate", s(&file)], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let all = text(&o.stdout) + &text(&o.stderr);
    assert!(all.contains("s.yaml:10:5: error: with simulation.duration_s = -1:"), "{all}");
    // Crossed with another parameter on the command line: the plan names the point.
    let plain = scenario(dir.path(), "");
    let o = xedgesim(
        &[
            "sweep",
            s(&plain),
            "--out",
            s(&dir.path().join("x")),
            "--set",
            "gateway.config.window_s=1,2",
            "--set",
            "simulation.duration_s=1,-1",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains("sweep point {gateway.config.window_s = 1, simulation.duration_s = -1} is invalid"),
        "{stderr}"
    );
    assert!(!dir.path().join("x").exists(), "no point ran: every point is checked first");
}

#[test]
fn a_local_sweep_resumes_running_only_the_points_not_finished() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "sweep:\n  seeds: 1..2\n  parameters:\n    gateway.config.window_s: [1, 2]\n");
    let out = dir.path().join("sw");
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--jobs", "2"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("point 0003 (seed 2, gateway.config.window_s = 2): done"), "{stdout}");
    assert!(stdout.contains("4 points: 4 done, 0 skipped (finished before), 0 failed, 0 missing"), "{stdout}");
    assert!(stdout.contains(&format!("collect with: xedgesim sweep collect {}", out.display())), "{stdout}");
    for i in 0..4 {
        let point = out.join(format!("points/{i:04}"));
        for f in ["point.json", "summary.json", "metrics.csv", "trace.jsonl"] {
            assert!(point.join(f).is_file(), "{i}: {f}");
        }
    }
    // A point is `run --set` with its values and seed: the same bytes.
    let single = dir.path().join("single");
    let o = xedgesim(
        &["run", s(&file), "--set", "gateway.config.window_s=2", "--seed", "1", "--out", s(&single), "--quiet"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    for f in ["metrics.csv", "trace.jsonl"] {
        assert_eq!(
            std::fs::read(single.join(f)).unwrap(),
            std::fs::read(out.join("points/0002").join(f)).unwrap(),
            "{f}"
        );
    }
    // Run again: nothing to do.
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out)], dir.path());
    assert_eq!(o.status.code(), Some(0));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("(this folder's plan: resuming it)"), "{stdout}");
    assert!(stdout.contains("4 points: 0 done, 4 skipped (finished before), 0 failed, 0 missing"), "{stdout}");
    // One summary gone: only that point runs again.
    std::fs::remove_file(out.join("points/0001/summary.json")).unwrap();
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out)], dir.path());
    let stdout = text(&o.stdout);
    assert!(stdout.contains("point 0001 (seed 2, gateway.config.window_s = 1): done"), "{stdout}");
    assert!(stdout.contains("4 points: 1 done, 3 skipped (finished before), 0 failed, 0 missing"), "{stdout}");
    // `sweep point` of a finished point says so and runs nothing.
    let o = xedgesim(&["sweep", "point", s(&out), "--index", "1"], dir.path());
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains("point 1 finished before"), "{}", text(&o.stdout));
    // The scenario edited since: a point refuses to run.
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap() + "# edited\n").unwrap();
    let o = xedgesim(&["sweep", "point", s(&out), "--index", "1", "--force"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("has changed since the sweep"), "{}", text(&o.stderr));
}

#[test]
fn another_plan_in_the_folder_is_refused_naming_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "sweep:\n  seeds: 1..2\n");
    let out = dir.path().join("sw");
    assert_eq!(xedgesim(&["sweep", s(&file), "--out", s(&out), "--dry-run"], dir.path()).status.code(), Some(0));
    let before = std::fs::read(out.join("sweep.json")).unwrap();
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--seeds", "1..3", "--dry-run"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let stderr = text(&o.stderr);
    assert!(stderr.contains("holds another sweep's plan (it has 2 points, this one 3)"), "{stderr}");
    assert!(stderr.contains("choose another folder with --out"), "{stderr}");
    let o =
        xedgesim(&["sweep", s(&file), "--out", s(&out), "--set", "gateway.config.window_s=3", "--dry-run"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("it sweeps [], this one [gateway.config.window_s]"), "{}", text(&o.stderr));
    assert_eq!(std::fs::read(out.join("sweep.json")).unwrap(), before, "the plan there is untouched");
}

#[test]
fn a_failing_point_is_its_failed_json_and_exit_1_while_the_others_finish() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "sweep:\n  parameters:\n    gateway.config.window_s: [1, -1, 2]\n");
    let out = dir.path().join("sw");
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out)], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        stdout
            .contains("point 0001 (seed 42, gateway.config.window_s = -1): failed: node 'gateway' rejected its config"),
        "{stdout}"
    );
    assert!(stdout.contains("3 points: 2 done, 0 skipped (finished before), 1 failed, 0 missing"), "{stdout}");
    let failed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("points/0001/failed.json")).unwrap()).unwrap();
    assert_eq!(failed["exit_code"], 1);
    assert!(failed["error"].as_str().unwrap().contains("config key 'window_s' must be > 0"), "{failed}");
    assert!(!out.join("points/0001/summary.json").exists(), "a failed point is not finished");
    assert!(out.join("points/0001/failed-summary.json").is_file(), "the run's own summary is kept");
    for i in [0, 2] {
        assert!(out.join(format!("points/{i:04}/summary.json")).is_file());
    }
    // A rerun tries the failed point again (a Docker point may pass), and only it.
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out)], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("0 done, 2 skipped (finished before), 1 failed"), "{}", text(&o.stdout));
}

#[test]
fn a_slurm_dry_run_writes_a_job_array_of_the_unfinished_points_and_submits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "sweep:\n  seeds: 1..3\n  parameters:\n    gateway.config.window_s: [1, 2]\n");
    let out = dir.path().join("sw");
    assert_eq!(xedgesim(&["sweep", s(&file), "--out", s(&out)], dir.path()).status.code(), Some(0));
    for i in [1, 3, 4, 5] {
        std::fs::remove_file(out.join(format!("points/{i:04}/summary.json"))).unwrap();
    }
    let o = xedgesim(
        &[
            "sweep",
            s(&file),
            "--out",
            s(&out),
            "--on",
            "slurm",
            "--dry-run",
            "--slurm-partition",
            "short",
            "--slurm-time",
            "5:00",
            "--slurm-arg=--account=edge",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let script_path = out.join("slurm/sweep.sbatch");
    let stdout = text(&o.stdout);
    assert!(stdout.contains(&format!("4 of 6 points to run: {}", script_path.display())), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "--dry-run: nothing was submitted; submit with: sbatch --parsable {}",
            script_path.display()
        )),
        "{stdout}"
    );
    let script = std::fs::read_to_string(&script_path).unwrap();
    let binary = std::fs::canonicalize(env!("CARGO_BIN_EXE_xedgesim")).unwrap();
    for line in [
        "#!/bin/bash\n",
        "\n#SBATCH --array=1,3-5\n",
        &format!("\n#SBATCH --output={}/slurm/%A_%a.out\n", out.display()),
        "\n#SBATCH --cpus-per-task=1\n",
        "\n#SBATCH --partition=short\n",
        "\n#SBATCH --time=5:00\n",
        "\n#SBATCH --account=edge\n",
        &format!("\nexec {} sweep point {} --index \"$SLURM_ARRAY_TASK_ID\"\n", binary.display(), out.display()),
    ] {
        assert!(script.contains(line), "{line:?} in:\n{script}");
    }
    assert!(!out.join("points/0001/summary.json").exists(), "nothing ran");
    // Without Slurm's client: a user error that points at --dry-run.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(["sweep", s(&file), "--out", s(&out), "--on", "slurm"])
        .env("PATH", dir.path())
        .env("XEDGESIM_CACHE_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("sbatch was not found: this machine has no Slurm client; --dry-run"),
        "{}",
        text(&o.stderr)
    );
    // An option the executor does not use is refused, never ignored.
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--dry-run", "--slurm-time", "5:00"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--slurm-time is not used with --on local"), "{}", text(&o.stderr));
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--on", "slurm", "--dry-run", "--jobs", "2"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--jobs is not used with --on slurm"), "{}", text(&o.stderr));
    // A line break in an option would start a line of its own in the script.
    let o = xedgesim(
        &["sweep", s(&file), "--out", s(&out), "--on", "slurm", "--dry-run", "--slurm-time", "5:00\nrm -rf /"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn the_kubernetes_manifest_is_an_indexed_job_over_every_point() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "sweep:\n  seeds: 1..3\n");
    let out = dir.path().join("k8s-sweep");
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--on", "kubernetes"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--on kubernetes needs --image IMAGE"), "{}", text(&o.stderr));
    let o = xedgesim(
        &[
            "sweep",
            s(&file),
            "--out",
            s(&out),
            "--on",
            "kubernetes",
            "--image",
            "registry.example/xedgesim:1",
            "--pvc",
            "sweeps",
            "--jobs",
            "2",
            "--scenario-in-pod",
            "/work/s.yaml",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("nothing was applied"), "{}", text(&o.stdout));
    let job: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(out.join("kubernetes/job.yaml")).unwrap()).unwrap();
    let expected: serde_yaml::Value = serde_yaml::from_str(
        r#"
apiVersion: batch/v1
kind: Job
metadata: {name: xedgesim-sweep-k8s-sweep}
spec:
  completionMode: Indexed
  completions: 3
  parallelism: 2
  backoffLimitPerIndex: 0
  maxFailedIndexes: 3
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: point
          image: registry.example/xedgesim:1
          command: [xedgesim, sweep, point, /sweep, --index, "$(JOB_COMPLETION_INDEX)", --scenario, /work/s.yaml]
          volumeMounts: [{name: sweep, mountPath: /sweep}]
      volumes:
        - name: sweep
          persistentVolumeClaim: {claimName: sweeps}
"#,
    )
    .unwrap();
    assert_eq!(job, expected);
}

#[test]
fn run_set_changes_one_run_and_a_bad_set_is_a_user_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "");
    let out = dir.path().join("r");
    let o = xedgesim(&["run", s(&file), "--set", "simulation.duration_s=1.5", "--out", s(&out)], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["virtual_duration_s"], 1.5);
    let o = xedgesim(&["run", s(&file), "--set", "gateway.window_s=2", "--out", s(&out)], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let stderr = text(&o.stderr);
    assert!(stderr.contains("with --set gateway.window_s=2: unknown key 'window_s'"), "{stderr}");
    let o = xedgesim(&["run", s(&file), "--set", "window_s", "--out", s(&out)], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("is not PATH=VALUE"), "{}", text(&o.stderr));
}

#[test]
fn a_point_killed_is_a_failed_point_and_ctrl_c_kills_the_running_ones_leaving_them_missing() {
    let dir = tempfile::tempdir().unwrap();
    // Long points: a sensor sampling at 1 kHz for an hour of virtual time.
    let file = scenario(
        dir.path(),
        "sweep:\n  seeds: 1..3\n  parameters:\n    sensor.config.sample_rate_hz: [1000]\n    simulation.duration_s: [3600]\n",
    );
    let out = dir.path().join("sw");
    let stdout_path = dir.path().join("stdout");
    let stderr_path = dir.path().join("stderr");
    let mut sweep = std::process::Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(["sweep", s(&file), "--out", s(&out), "--jobs", "2"])
        .env("XEDGESIM_CACHE_DIR", dir.path())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let out = std::fs::canonicalize(dir.path()).unwrap().join("sw");
    // Point 1's process killed as the system kills one out of memory.
    wait_until("point 1 to start", || !point_processes(&out, Some(1)).is_empty());
    for pid in point_processes(&out, Some(1)) {
        assert!(std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success());
    }
    // The sweep goes on with point 2; then Ctrl-C.
    wait_until("point 2 to start", || !point_processes(&out, Some(2)).is_empty());
    assert!(std::process::Command::new("kill").args(["-INT", &sweep.id().to_string()]).status().unwrap().success());
    let mut status = None;
    wait_until("the sweep to stop", || {
        status = sweep.try_wait().unwrap();
        status.is_some()
    });
    let stdout = std::fs::read_to_string(&stdout_path).unwrap();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(status.unwrap().code(), Some(130), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("point 0001 (seed 2, sensor.config.sample_rate_hz = 1000, simulation.duration_s = 3600): failed: the point's process was killed by signal 9 (out of memory?)"),
        "{stdout}"
    );
    assert!(stdout.contains("3 points: 0 done, 0 skipped (finished before), 1 failed, 2 missing"), "{stdout}");
    assert!(stderr.contains("interrupted: the points not finished are missing"), "{stderr}");
    assert!(point_processes(&out, None).is_empty(), "no point outlives the sweep");
    let failed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("points/0001/failed.json")).unwrap()).unwrap();
    assert_eq!(failed["exit_code"], 137);
    for i in [0, 2] {
        let point = out.join(format!("points/{i:04}"));
        assert!(!point.join("summary.json").exists() && !point.join("failed.json").exists(), "point {i} is missing");
    }
}

#[test]
fn a_point_of_a_folder_that_is_no_sweep_or_of_no_such_index_is_a_user_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = xedgesim(&["sweep", "point", s(dir.path()), "--index", "0"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("is not a sweep folder: it has no sweep.json"), "{}", text(&o.stderr));
    std::fs::write(dir.path().join("sweep.json"), "{\"version\": 1}").unwrap();
    let o = xedgesim(&["sweep", "point", s(dir.path()), "--index", "0"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("sweep.json is not a sweep plan"), "{}", text(&o.stderr));
    let file = scenario(dir.path(), "sweep:\n  seeds: 1..2\n");
    let out = dir.path().join("sw");
    assert_eq!(xedgesim(&["sweep", s(&file), "--out", s(&out), "--dry-run"], dir.path()).status.code(), Some(0));
    let o = xedgesim(&["sweep", "point", s(&out), "--index", "2"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("has 2 points (0 to 1); there is no point 2"), "{}", text(&o.stderr));
    let o = xedgesim(&["sweep"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("say what to sweep"), "{}", text(&o.stderr));
}
