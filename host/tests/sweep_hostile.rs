//! `xedgesim sweep` against sweep folders someone else left behind or
//! tampered with, and sweep inputs that are contradictory: a point counts
//! as done only when its summary is its own finished run, point files are
//! never written through symbolic links, one sweep per folder at a time,
//! and the paths, values and sizes a sweep refuses.

mod common;

use std::path::Path;

use common::output_text as text;
use common::sweep::{point_processes, s, scenario, wait_until, xedgesim};

fn summary(out: &Path, index: usize) -> serde_json::Value {
    let path = out.join(format!("points/{index:04}/summary.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn only_a_points_own_finished_summary_counts_as_done() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "sweep:\n  seeds: 1..2\n  parameters:\n    gateway.config.window_s: [1, 2]\n");
    let out = dir.path().join("sw");
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--jobs", "2"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // The run records the values it was made with, and its page repeats them.
    assert_eq!(summary(&out, 2)["overrides"], serde_json::json!({"gateway.config.window_s": 2}));
    let page = std::fs::read_to_string(out.join("points/0002/report.html")).unwrap();
    assert!(page.contains("--seed 1 --set gateway.config.window_s=2"), "the page's reproduce line");
    // 0: interrupted (what a Ctrl-C can leave); 1: garbage; 2: point 3's
    // summary (another seed); 3: point 1's (another value, the same seed).
    let point = |i: usize| out.join(format!("points/{i:04}/summary.json"));
    let mut interrupted = summary(&out, 0);
    interrupted["status"] = "interrupted".into();
    std::fs::write(point(0), interrupted.to_string()).unwrap();
    let of_1 = std::fs::read(point(1)).unwrap();
    std::fs::write(point(1), "garbage{").unwrap();
    std::fs::copy(point(3), point(2)).unwrap();
    std::fs::write(point(3), &of_1).unwrap();
    // collect: each a failure that says why.
    let o = xedgesim(&["sweep", "collect", s(&out)], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let table = std::fs::read_to_string(out.join("collect/points.csv")).unwrap();
    assert!(table.contains("the run ended interrupted"), "{table}");
    assert!(table.contains("summary.json is not JSON"), "{table}");
    assert!(table.contains("summary.json is of seed 2, this point's is 1"), "{table}");
    assert!(table.contains(r#"summary.json is of the values {""gateway.config.window_s"":1}"#), "{table}");
    // Slurm's array and a local resume both run all four again.
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--on", "slurm", "--dry-run"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let script = std::fs::read_to_string(out.join("slurm/sweep.sbatch")).unwrap();
    assert!(script.contains("\n#SBATCH --array=0-3\n"), "{script}");
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--jobs", "2"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("4 points: 4 done, 0 skipped"), "{}", text(&o.stdout));
    for i in 0..4 {
        assert_eq!(summary(&out, i)["status"], "finished");
        assert_eq!(summary(&out, i)["seed"], [1, 2][i % 2]);
    }
    let o = xedgesim(&["sweep", "collect", s(&out)], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
}

#[test]
fn run_set_is_recorded_in_the_summary_and_the_pages_reproduce_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "");
    let out = dir.path().join("run");
    let o = xedgesim(&["run", s(&file), "--set", "gateway.config.window_s=2", "--out", s(&out), "--quiet"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["overrides"], serde_json::json!({"gateway.config.window_s": 2}));
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("--seed 42 --set gateway.config.window_s=2 --duration-s 2"), "reproduce line");
    // Without --set, no `overrides` at all.
    let plain = dir.path().join("plain");
    let o = xedgesim(&["run", s(&file), "--out", s(&plain), "--quiet"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(!std::fs::read_to_string(plain.join("summary.json")).unwrap().contains("overrides"));
}

#[test]
fn no_point_file_is_written_through_a_symbolic_link_and_a_bad_point_folder_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "sweep:\n  seeds: 1..3\n");
    let out = dir.path().join("sw");
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--jobs", "1"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // 0: its point.log a link to a file outside; 1: the folder a link to
    // a folder outside; 2: a file where the folder was.
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let point = |i: usize| out.join(format!("points/{i:04}"));
    std::fs::remove_file(point(0).join("summary.json")).unwrap();
    std::fs::remove_file(point(0).join("point.log")).unwrap();
    std::os::unix::fs::symlink(&victim, point(0).join("point.log")).unwrap();
    let outside = dir.path().join("outside");
    std::fs::rename(point(1), &outside).unwrap();
    std::fs::remove_file(outside.join("summary.json")).unwrap();
    std::os::unix::fs::symlink(&outside, point(1)).unwrap();
    std::fs::remove_dir_all(point(2)).unwrap();
    std::fs::write(point(2), "hi").unwrap();
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--jobs", "2"], dir.path());
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}{}", text(&o.stderr));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(point(0).join("summary.json").is_file() && !point(0).join("point.log").is_symlink());
    assert!(stdout.contains("point 0001 (seed 2): failed: ") && stdout.contains("is a symbolic link"), "{stdout}");
    assert!(stdout.contains("point 0002 (seed 3): failed: ") && stdout.contains("is a file, not a folder"), "{stdout}");
    assert!(stdout.contains("3 points: 1 done, 0 skipped (finished before), 2 failed, 0 missing"), "{stdout}");
    assert!(!outside.join("summary.json").exists(), "nothing written outside the sweep");
    // collect reads nothing through the link either.
    std::fs::write(outside.join("summary.json"), std::fs::read(point(0).join("summary.json")).unwrap()).unwrap();
    let o = xedgesim(&["sweep", "collect", s(&out)], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let table = std::fs::read_to_string(out.join("collect/points.csv")).unwrap();
    assert!(table.contains("is a symbolic link, not a folder of this sweep"), "{table}");
}

/// `args` (after `sweep FILE --out DIR --dry-run`) exit 2 with an error holding every one of `says`.
fn refused(dir: &Path, file: &Path, args: &[&str], says: &[&str]) {
    let out = dir.join("refused");
    let mut all = vec!["sweep", s(file), "--out", s(&out), "--dry-run"];
    all.extend(args);
    let o = xedgesim(&all, dir);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}{}", text(&o.stdout));
    for say in says {
        assert!(stderr.contains(say), "{args:?}: {say:?} not in {stderr}");
    }
    assert!(!out.join("sweep.json").exists(), "{args:?}: no plan written");
}

#[test]
fn contradictory_sweeps_on_the_command_line_are_refused_naming_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = scenario(d, "");
    let w = "gateway.config.window_s";
    refused(
        d,
        &file,
        &["--set", &format!("{w}=1,10"), "--set", "nodes.1.config.window_s=2"],
        &[
            "sets one value by two paths, gateway.config.window_s and nodes.1.config.window_s (both nodes.1.config.window_s)",
        ],
    );
    refused(
        d,
        &file,
        &["--set", &format!("{w}=1,2"), "--set", &format!("{w}=3")],
        &["--set gateway.config.window_s is given twice"],
    );
    refused(d, &file, &["--set", "simulation.seed=1,2"], &["--seeds"]);
    refused(d, &file, &["--set", &format!("{w}=1,1,5")], &["gives the value 1 twice"]);
    refused(d, &file, &["--set", &format!("{w}=1,1.0")], &["window_s gives the value 1 twice"]);
    let v = (1..=100).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let mut sets = Vec::new();
    for p in [
        "sensor.config.sample_rate_hz",
        "sensor.config.base",
        "gateway.config.processing_delay_us",
        w,
        "cloud.config.x",
    ] {
        sets.extend(["--set".to_string(), format!("{p}={v}")]);
    }
    let started = std::time::Instant::now();
    refused(d, &file, &sets.iter().map(String::as_str).collect::<Vec<_>>(), &["points; at most 100000"]);
    // A hang guard, not a timing: the old code expanded 10^10 points first.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    // run --set: the same path twice, two paths to one value.
    for sets in [[w, w], [w, "nodes.gateway.config.window_s"]] {
        let o = xedgesim(&["run", s(&file), "--set", &format!("{}=2", sets[0]), "--set", &format!("{}=3", sets[1])], d);
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("is set twice") || stderr.contains("set the same value (nodes.1.config.window_s)"),
            "{stderr}"
        );
    }
}

#[test]
fn contradictory_or_empty_sweep_sections_are_refused_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        ("sweep:\n  parameters:\n    simulation.seed: [1, 2]\n", ":10:5:", "the seed cannot be a sweep parameter"),
        ("sweep:\n  points:\n    - {simulation.seed: 1}\n", ":10:", "the seed cannot be a sweep parameter"),
        ("sweep:\n  parameters:\n    gateway.config.window_s: [1, 5, 1]\n", ":10:", "has the value 1 twice"),
        (
            "sweep:\n  points:\n    - {gateway.config.window_s: 1}\n    - {gateway.config.window_s: 1}\n",
            ":11:",
            "sweep point 1 is point 0 again",
        ),
        ("sweep: {}\n", ":8:", "`sweep:` is empty"),
        ("sweep:\n", ":8:", "`sweep:` is empty"),
        ("sweep:\n  parameters: {}\n", ":9:", "`sweep.parameters:` is empty"),
        ("sweep:\n  points: [{}]\n", ":9:", "sweep point 0 sets nothing"),
    ];
    for (section, at, says) in cases {
        let file = scenario(d, section);
        refused(d, &file, &[], &[at, says]);
        let o = xedgesim(&["validate", s(&file)], d);
        assert_eq!(o.status.code(), Some(2), "{section}: {}", text(&o.stdout));
        assert!(text(&o.stderr).contains(says), "{section}: {}", text(&o.stderr));
    }
}

#[test]
fn slurm_options_and_folders_an_sbatch_line_cannot_carry_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = scenario(d, "");
    for name in ["sp ace", "pct%u", "q'uote", "q\"uote"] {
        let out = d.join(name);
        let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--on", "slurm", "--dry-run"], d);
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains("#SBATCH --output line cannot carry") && stderr.contains("--out"), "{stderr}");
        assert!(!out.exists(), "{name}: nothing written");
    }
    // A relative --out is judged where it resolves: the working folder's blank counts.
    let spaced = d.join("a b");
    std::fs::create_dir(&spaced).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(["sweep", s(&file), "--out", "o", "--on", "slurm", "--dry-run"])
        .current_dir(&spaced)
        .env("XEDGESIM_CACHE_DIR", d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let out = s(&d.join("ok")).to_string();
    for (option, says) in [
        ("--slurm-arg=--comment=a b", "cannot be carried by an #SBATCH line"),
        ("--slurm-arg=nodash", "is not an sbatch option"),
        ("--slurm-arg=--array=0-3", "--array is set by xedgesim"),
        ("--slurm-arg=-o/tmp/x", "is set by xedgesim"),
        ("--slurm-time=abc", "is not a Slurm time"),
        ("--slurm-time=1-2:3:4:5", "is not a Slurm time"),
        ("--slurm-mem=lots", "is not a Slurm memory size"),
        ("--slurm-partition=", "an empty value"),
    ] {
        let o = xedgesim(&["sweep", s(&file), "--out", &out, "--on", "slurm", "--dry-run", option], d);
        assert_eq!(o.status.code(), Some(2), "{option}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(says), "{option}: {}", text(&o.stderr));
    }
    for option in
        ["--slurm-time=10:00", "--slurm-time=2-12", "--slurm-time=90", "--slurm-mem=2G", "--slurm-arg=--account=p"]
    {
        let o = xedgesim(&["sweep", s(&file), "--out", &out, "--on", "slurm", "--dry-run", option], d);
        assert_eq!(o.status.code(), Some(0), "{option}: {}", text(&o.stderr));
    }
}

#[test]
fn one_sweep_per_folder_and_a_sweep_killed_outright_leaves_no_points_running() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Points that run for minutes: they are killed long before.
    let file = scenario(d, "sweep:\n  seeds: 1..4\n");
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap().replace("duration_s: 2,", "duration_s: 1000000,"))
        .unwrap();
    let out = d.canonicalize().unwrap().join("sw");
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_xedgesim"))
        .args(["sweep", s(&file), "--out", s(&out), "--jobs", "2"])
        .env("XEDGESIM_CACHE_DIR", d)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("two points running", || point_processes(&out, None).len() == 2);
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--jobs", "2"], d);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("another sweep is running in {}", out.display())), "{stderr}");
    // SIGKILL: no handler runs; the points die with their parent all the same.
    first.kill().unwrap();
    first.wait().unwrap();
    wait_until("the orphaned points to die", || point_processes(&out, None).is_empty());
    // The folder is free again.
    let o = xedgesim(&["sweep", s(&file), "--out", s(&out), "--dry-run"], d);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

#[test]
fn a_sweep_folder_that_is_a_file_or_someone_elses_and_bad_kubernetes_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = scenario(d, "sweep:\n  seeds: 1..2\n");
    let o = xedgesim(&["sweep", s(&file), "--out", s(&file), "--dry-run"], d);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("is a file, not a folder"), "{}", text(&o.stderr));
    let run = d.join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::write(run.join("summary.json"), "{}").unwrap();
    let o = xedgesim(&["sweep", s(&file), "--out", s(&run), "--dry-run"], d);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("is not empty and holds no sweep"), "{}", text(&o.stderr));
    // An empty folder is fine.
    let empty = d.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = xedgesim(&["sweep", s(&file), "--out", s(&empty), "--dry-run"], d);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));

    let k8s = d.join("k8s");
    for (options, says) in [
        (&["--image", "img"][..], "needs --image IMAGE"),
        (&["--image", "img\"x", "--pvc", "p"][..], "cannot be in an image reference"),
        (&["--image", "img", "--pvc", "p: q\nr"][..], "is not a claim's name"),
        (&["--image", "img", "--pvc", "p", "--scenario-in-pod", "rel.yaml"][..], "is not absolute"),
    ] {
        let mut args = vec!["sweep", s(&file), "--out", s(&k8s), "--on", "kubernetes"];
        args.extend(options);
        let o = xedgesim(&args, d);
        assert_eq!(o.status.code(), Some(2), "{options:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(says), "{options:?}: {}", text(&o.stderr));
        assert!(!k8s.exists(), "{options:?}: nothing written");
    }
    let o =
        xedgesim(&["sweep", s(&file), "--out", s(&k8s), "--on", "kubernetes", "--image", "i:1", "--pvc", "sweeps"], d);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains(&format!("xedgesim sweep collect {}", k8s.display())), "{}", text(&o.stdout));
}

#[test]
fn messages_count_in_the_singular_and_say_error_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = scenario(d, "sweep:\n  seeds: 7\n");
    let o = xedgesim(&["validate", s(&file)], d);
    assert!(text(&o.stdout).contains("sweep: 1 point (1 parameter point × 1 seed), each valid"), "{}", text(&o.stdout));
    let o = xedgesim(&["sweep", s(&file), "--out", s(&d.join("o")), "--dry-run"], d);
    assert!(text(&o.stdout).contains("1 point: 1 parameter point × 1 seed"), "{}", text(&o.stdout));
    let file = scenario(d, "sweep:\n  parameters:\n    gateway.config.windw_s: [1, 2]\n");
    let o = xedgesim(&["sweep", s(&file), "--out", s(&d.join("p")), "--dry-run"], d);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with(&format!("{}:10:5: error: ", file.display())), "{stderr}");
    let o = xedgesim(&["sweep", s(&file), "--seeds", "99999999999999999999", "--dry-run"], d);
    assert!(text(&o.stderr).contains("is too big: seeds are at most 18446744073709551615"), "{}", text(&o.stderr));
    let o = xedgesim(&["run", s(&file), "--set", "gateway.config.window_s=1 # one"], d);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("holds YAML syntax"), "{}", text(&o.stderr));
}

#[test]
fn an_error_a_set_causes_names_the_set_and_puts_no_caret_on_an_innocent_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = scenario(d, "sweep:\n  parameters:\n    gateway.config.window_s: [1, 2]\n");
    let sweep = |set: &str| {
        let o = xedgesim(&["sweep", s(&file), "--set", set, "--out", s(&d.join("o")), "--dry-run"], d);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        text(&o.stderr)
    };
    let stderr = sweep("gateway.type=gateway,sensor");
    assert!(stderr.contains("(and --set gateway.type=sensor): config key 'window_s' is ignored"), "{stderr}");
    let stderr = sweep("simulation.duration_s=1e400");
    assert!(stderr.contains("--set simulation.duration_s=1e400: invalid type"), "{stderr}");
    assert!(!stderr.contains("window_s: [1, 2]\n"), "no caret on the file's innocent line: {stderr}");
    let o = xedgesim(&["run", s(&file), "--set", "sensor.count=3"], d);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("error: with --set sensor.count=3: the 3 nodes"), "{}", text(&o.stderr));
}
