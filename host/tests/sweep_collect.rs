//! `xedgesim sweep collect DIR` against sweep folders made the way the
//! executors make them: a `sweep.json` (here written by hand) and, for each
//! point, the output folder of a real `xedgesim run --seed S --out
//! points/NNNN` of the scenario at that point's values; a failed point's
//! `failed.json`, a missing point's nothing.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::Digest;

use common::{output_text, xedgesim};
use xedgesim::sweep::layout::{PointEntry, PointFailure, SweepPlan, point_dir};

/// A small scenario, 5 virtual seconds; `WINDOW` and `MODEL` are the swept values.
const SCENARIO: &str = "\
simulation: {duration_s: 5, seed: 1}
network: {model: MODEL, default_latency_us: 2000}
nodes:
  - {id: s1, type: sensor, config: {sample_rate_hz: 2}}
  - {id: s2, type: sensor, config: {noise_stddev: 0.5}}
  - {id: gateway, type: gateway, config: {window_s: WINDOW}}
  - {id: cloud, type: cloud}
";

const WINDOW: &str = "gateway.config.window_s";
const MODEL: &str = "network.model";

const COLLECT_FILES: [&str; 7] = [
    "points.csv",
    "points.json",
    "by_parameter.csv",
    "by_parameter.json",
    "by_point.csv",
    "by_point.json",
    "report.html",
];

/// What happens to a point when the sweep is made.
#[derive(Clone, Copy, PartialEq)]
enum Fate {
    Runs,
    Fails,
    Missing,
}

/// A sweep folder in `dir`: `windows` (× `models`, when given) × `seeds`,
/// first parameter slowest and seeds inner, as the planner orders them;
/// each point run for real unless `fate` says otherwise.
fn make_sweep(dir: &Path, windows: &[u64], models: &[&str], seeds: &[u64], fate: impl Fn(usize) -> Fate) {
    let scenarios = dir.join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    let base = scenarios.join("base.yaml");
    std::fs::write(&base, SCENARIO.replace("WINDOW", "5").replace("MODEL", "latency")).unwrap();
    let mut parameters = vec![WINDOW.to_string()];
    let mut combos: Vec<(u64, Option<&str>)> = Vec::new();
    for &w in windows {
        if models.is_empty() {
            combos.push((w, None));
        } else {
            combos.extend(models.iter().map(|&m| (w, Some(m))));
        }
    }
    if !models.is_empty() {
        parameters.push(MODEL.to_string());
    }
    let mut points = Vec::new();
    for (window, model) in combos {
        for &seed in seeds {
            let mut values = BTreeMap::new();
            values.insert(WINDOW.to_string(), serde_json::json!(window));
            if let Some(model) = model {
                values.insert(MODEL.to_string(), serde_json::json!(model));
            }
            points.push(PointEntry { index: points.len(), seed, values });
        }
    }
    let sha = sha2::Sha256::digest(std::fs::read(&base).unwrap()).iter().map(|b| format!("{b:02x}")).collect();
    let plan =
        SweepPlan { version: 1, scenario: base.clone(), scenario_sha256: sha, parameters, points: points.clone() };
    std::fs::create_dir_all(dir.join("sweep")).unwrap();
    std::fs::write(dir.join("sweep/sweep.json"), serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    for point in &points {
        let out = point_dir(&dir.join("sweep"), point.index);
        match fate(point.index) {
            Fate::Missing => {}
            Fate::Fails => {
                std::fs::create_dir_all(&out).unwrap();
                let failure = PointFailure {
                    exit_code: 1,
                    error: "node gateway trapped at 2.000 s: unreachable\n  the model's own words".into(),
                };
                std::fs::write(out.join("failed.json"), serde_json::to_string(&failure).unwrap()).unwrap();
            }
            Fate::Runs => {
                let window = point.values[WINDOW].to_string();
                let model = point.values.get(MODEL).and_then(|m| m.as_str()).unwrap_or("latency");
                let file = scenarios.join(format!("w{window}-{model}.yaml"));
                std::fs::write(&file, SCENARIO.replace("WINDOW", &window).replace("MODEL", model)).unwrap();
                let seed = point.seed.to_string();
                let run = xedgesim(
                    &["run", path(&file), "--seed", &seed, "--out", path(&out), "--quiet", "--trace", "off"],
                    None,
                );
                assert!(run.status.success(), "{}", output_text(&run.stderr));
                // Made the plan's run at its values, as `sweep point` makes it
                // (which would refuse the warning `direct` gives here).
                let mut summary: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
                summary["scenario_sha256"] = plan.scenario_sha256.clone().into();
                summary["overrides"] = serde_json::to_value(&point.values).unwrap();
                std::fs::write(out.join("summary.json"), summary.to_string()).unwrap();
            }
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `xedgesim sweep collect` with `args`.
fn collect(args: &[&str]) -> std::process::Output {
    let mut all = vec!["sweep", "collect"];
    all.extend(args);
    xedgesim(&all, None)
}

/// The records of a CSV file that quotes nothing (these tables' numbers and names).
fn csv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| l.split(',').map(String::from).collect()).collect()
}

/// Column `name` of a CSV's header.
fn column(table: &[Vec<String>], name: &str) -> usize {
    table[0].iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name} in {:?}", table[0]))
}

fn bytes_of(dir: &Path) -> BTreeMap<&'static str, Vec<u8>> {
    COLLECT_FILES.iter().map(|&name| (name, std::fs::read(dir.join(name)).unwrap())).collect()
}

#[test]
fn every_point_finished_is_one_row_each_with_the_runs_numbers() {
    let dir = tempfile::tempdir().unwrap();
    make_sweep(dir.path(), &[2, 5], &[], &[1, 2], |_| Fate::Runs);
    let sweep = dir.path().join("sweep");
    let output = collect(&[path(&sweep)]);
    let stdout = output_text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", output_text(&output.stderr));
    assert!(stdout.starts_with("4 points: 4 finished, 0 failed, 0 missing\n"), "{stdout}");
    let points = csv(&sweep.join("collect/points.csv"));
    assert_eq!(&points[0][..4], ["index", "seed", WINDOW, "status"]);
    assert_eq!(points[0].last().unwrap(), "note");
    assert!(!points[0].iter().any(|h| h.contains("wall_") || h.starts_with("model_metrics")));
    assert_eq!(points[0].iter().filter(|h| h.as_str() == "seed").count(), 1, "the seed is not a metric");
    assert_eq!(points.len(), 5);
    for (i, (window, seed)) in [(2, 1), (2, 2), (5, 1), (5, 2)].into_iter().enumerate() {
        let row = &points[i + 1];
        assert_eq!(row[..4], [i.to_string(), seed.to_string(), window.to_string(), "finished".to_string()]);
        // The run's own numbers: its summary's and its metrics.csv's.
        let point = point_dir(&sweep, i);
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(point.join("summary.json")).unwrap()).unwrap();
        assert_eq!(row[column(&points, "events")], summary["events"].to_string());
        assert_eq!(row[column(&points, "messages.delivered")], summary["messages"]["delivered"].to_string());
        let metrics = std::fs::read_to_string(point.join("metrics.csv")).unwrap();
        let find = |node: &str, source: &str, metric: &str| {
            let prefix = format!("{node},{source},{metric},");
            metrics.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap().to_string()
        };
        assert_eq!(row[column(&points, "gateway.windows_closed")], find("gateway", "model", "windows_closed"));
        assert_eq!(row[column(&points, "gateway.host.steps")], find("gateway", "host", "steps"));
        assert_eq!(row.last().unwrap(), "");
    }
    // The gateway closes a window every 2 s or every 5 s: 5 s of run.
    let closed = column(&points, "gateway.windows_closed");
    let by_parameter = csv(&sweep.join("collect/by_parameter.csv"));
    assert_eq!(by_parameter[0], ["parameter", "value", "metric", "n", "mean", "sd", "ci95_low", "ci95_high"]);
    for window in ["2", "5"] {
        let row = by_parameter.iter().find(|r| r[1] == window && r[2] == "gateway.windows_closed").unwrap();
        let runs: Vec<&Vec<String>> = points[1..].iter().filter(|p| p[2] == window).collect();
        let mean = (runs[0][closed].parse::<f64>().unwrap() + runs[1][closed].parse::<f64>().unwrap()) / 2.0;
        assert_eq!((row[3].as_str(), row[4].parse::<f64>().unwrap()), ("2", mean), "{row:?}");
    }
    let by_point = csv(&sweep.join("collect/by_point.csv"));
    assert_eq!(by_point[0][..2], [WINDOW, "metric"]);
    let metrics = points[0].len() - 5;
    assert_eq!(by_point.len(), 1 + 2 * metrics, "two parameter points, each metric a row");
    assert_eq!(by_parameter.len(), 1 + 2 * metrics);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sweep.join("collect/points.json")).unwrap()).unwrap();
    assert_eq!(json["points"][3]["values"][WINDOW], 5);
    assert_eq!(json["points"][3]["status"], "finished");
    assert_eq!(json["metrics"].as_array().unwrap().len(), metrics);
}

#[test]
fn failed_and_missing_points_are_listed_in_the_output_the_tables_and_the_page() {
    let dir = tempfile::tempdir().unwrap();
    make_sweep(dir.path(), &[2, 5], &[], &[1, 2], |i| match i {
        1 => Fate::Fails,
        2 => Fate::Missing,
        _ => Fate::Runs,
    });
    let sweep = dir.path().join("sweep");
    let output = collect(&[path(&sweep)]);
    let stdout = output_text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}{}", output_text(&output.stderr));
    assert!(stdout.starts_with("4 points: 2 finished, 1 failed, 1 missing\n"), "{stdout}");
    assert!(
        stdout.contains("point 1 (seed 2, gateway.config.window_s = 2) failed: node gateway trapped at 2.000 s"),
        "{stdout}"
    );
    assert!(stdout.contains("point 2 (seed 1, gateway.config.window_s = 5) missing"), "{stdout}");
    // The tables are written all the same, every point a row.
    let points = csv(&sweep.join("collect/points.csv"));
    assert_eq!(points.len(), 5);
    let status = column(&points, "status");
    let statuses: Vec<&str> = points[1..].iter().map(|r| r[status].as_str()).collect();
    assert_eq!(statuses, ["finished", "failed", "missing", "finished"]);
    let events = column(&points, "events");
    assert_eq!((points[2][events].as_str(), points[3][events].as_str()), ("", ""));
    assert_eq!(points[2].last().unwrap(), "node gateway trapped at 2.000 s: unreachable");
    // Means are over the finished points only: one per window here.
    let by_parameter = csv(&sweep.join("collect/by_parameter.csv"));
    let row = by_parameter.iter().find(|r| r[1] == "2" && r[2] == "events").unwrap();
    assert_eq!((row[3].as_str(), row[4].as_str(), row[6].as_str()), ("1", points[1][events].as_str(), ""));
    let page = std::fs::read_to_string(sweep.join("collect/report.html")).unwrap();
    let unfinished = &page[page.find("<table id=\"unfinished\"").unwrap()..];
    let unfinished = &unfinished[..unfinished.find("</table>").unwrap()];
    assert!(unfinished.contains("<tr><td>1</td><td>2</td><td>2</td><td><span class=\"status-failed\">failed</span></td><td>node gateway trapped at 2.000 s: unreachable</td></tr>"), "{unfinished}");
    assert!(
        unfinished.contains(
            "<tr><td>2</td><td>1</td><td>5</td><td><span class=\"status-missing\">missing</span></td><td></td></tr>"
        ),
        "{unfinished}"
    );
}

#[test]
fn a_folder_that_is_not_a_sweep_is_a_user_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = collect(&[path(dir.path())]);
    let stderr = output_text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not a sweep folder: it has no sweep.json"), "{stderr}");
    assert!(stderr.contains("xedgesim sweep FILE"), "{stderr}");
    assert!(!dir.path().join("collect").exists(), "nothing written");

    std::fs::write(dir.path().join("sweep.json"), "{\"version\": 1, \"points\": [").unwrap();
    let output = collect(&[path(dir.path())]);
    let stderr = output_text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("sweep.json is not a sweep plan"), "{stderr}");
    assert!(!dir.path().join("collect").exists(), "nothing written");
}

/// A finished point as collect reads it, written by hand: a summary with
/// only what says whose run it is (of a plan of the scenario SHA-256 "")
/// and `events`, and one node metric.
fn hand_point(sweep: &Path, entry: &PointEntry, events: f64, received: &str) {
    let dir = point_dir(sweep, entry.index);
    std::fs::create_dir_all(&dir).unwrap();
    let summary = serde_json::json!({
        "status": "finished", "scenario_sha256": "", "seed": entry.seed, "overrides": entry.values,
        "events": events, "wall_duration_s": entry.index as f64 / 10.0,
    });
    std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
    std::fs::write(dir.join("metrics.csv"), format!("node,source,metric,value\ncloud,model,received,{received}\n"))
        .unwrap();
}

#[test]
fn the_interval_of_three_seeds_is_the_one_worked_out_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path();
    let points: Vec<PointEntry> = (0..3)
        .map(|i| PointEntry { index: i, seed: i as u64 + 1, values: BTreeMap::from([("x".into(), "a".into())]) })
        .collect();
    let plan = SweepPlan {
        version: 1,
        scenario: PathBuf::from("/nowhere/hand.yaml"),
        scenario_sha256: String::new(),
        parameters: vec!["x".into()],
        points: points.clone(),
    };
    std::fs::write(sweep.join("sweep.json"), serde_json::to_string(&plan).unwrap()).unwrap();
    // events 2, 4, 9: mean 5, sd √13 (squares 9 + 1 + 16 = 26, over n − 1 = 2);
    // t(0.975, 2) = 4.302653 (the usual tables): 5 ∓ 4.302653 · √13 / √3 = 5 ∓ 8.956686.
    // The cloud's metric is NaN at one point: left out of its mean (n = 2).
    hand_point(sweep, &points[0], 2.0, "1");
    hand_point(sweep, &points[1], 4.0, "NaN");
    hand_point(sweep, &points[2], 9.0, "3");
    let output = collect(&[path(sweep)]);
    assert_eq!(output.status.code(), Some(0), "{}", output_text(&output.stderr));
    let by_parameter = csv(&sweep.join("collect/by_parameter.csv"));
    assert_eq!(by_parameter.len(), 3, "{by_parameter:?}");
    let events = &by_parameter[1];
    assert_eq!(events[..6], ["x", "a", "events", "3", "5", "3.605551275463989"]);
    let (low, high): (f64, f64) = (events[6].parse().unwrap(), events[7].parse().unwrap());
    assert!((low - (5.0 - 8.956686)).abs() < 1e-6 && (high - (5.0 + 8.956686)).abs() < 1e-6, "{events:?}");
    // 1 and 3: mean 2, sd √2, t(0.975, 1) = 12.706205: 2 ∓ 12.706205.
    let received = &by_parameter[2];
    assert_eq!(received[..5], ["x", "a", "cloud.received", "2", "2"]);
    let (low, high): (f64, f64) = (received[6].parse().unwrap(), received[7].parse().unwrap());
    assert!((low - (2.0 - 12.706205)).abs() < 1e-5 && (high - (2.0 + 12.706205)).abs() < 1e-5, "{received:?}");
    // The NaN is in the points table as it was, and JSON names it.
    let points = std::fs::read_to_string(sweep.join("collect/points.csv")).unwrap();
    assert_eq!(
        points,
        "index,seed,x,status,events,cloud.received,note\n0,1,a,finished,2,1,\n1,2,a,finished,4,NaN,\n2,3,a,finished,9,3,\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sweep.join("collect/points.json")).unwrap()).unwrap();
    assert_eq!(json["points"][1]["metrics"]["cloud.received"], "NaN");
}

/// Copies the folder `from` into `to`, recursively.
fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_same_points_give_the_same_bytes_wherever_the_folder_is() {
    let dir = tempfile::tempdir().unwrap();
    make_sweep(dir.path(), &[2, 5], &[], &[1, 2, 3], |i| if i == 4 { Fate::Fails } else { Fate::Runs });
    let sweep = dir.path().join("sweep");
    assert_eq!(collect(&[path(&sweep)]).status.code(), Some(1));
    let first = bytes_of(&sweep.join("collect"));
    assert_eq!(collect(&[path(&sweep)]).status.code(), Some(1));
    assert_eq!(bytes_of(&sweep.join("collect")), first, "collected twice");

    // Another path, another name; collected into a folder outside it.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("copied sweep");
    copy_folder(&sweep, &copy);
    std::fs::remove_dir_all(copy.join("collect")).unwrap();
    let out = elsewhere.path().join("tables");
    let output = collect(&[path(&copy), "--out", path(&out)]);
    assert_eq!(output.status.code(), Some(1), "{}", output_text(&output.stderr));
    assert!(!copy.join("collect").exists(), "--out is where it writes");
    let again = bytes_of(&out);
    for name in COLLECT_FILES {
        assert!(again[name] == first[name], "{name} differs from the copy at another path");
    }
    for (name, bytes) in &first {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(path(dir.path())), "{name} names the folder");
        assert!(!text.contains("wall"), "{name} holds a wall time");
    }
}

#[test]
fn the_page_is_self_contained_with_a_plot_per_metric_per_parameter() {
    let dir = tempfile::tempdir().unwrap();
    make_sweep(dir.path(), &[1, 2, 5], &["latency", "direct"], &[1, 2], |_| Fate::Runs);
    let sweep = dir.path().join("sweep");
    let output = collect(&[path(&sweep)]);
    assert_eq!(output.status.code(), Some(0), "{}", output_text(&output.stderr));
    let page = std::fs::read_to_string(sweep.join("collect/report.html")).unwrap();
    for banned in ["<link", " src=", "url(", "@import"] {
        assert!(!page.contains(banned), "the page loads something: {banned}");
    }
    assert!(page.replace("http://www.w3.org/2000/svg", "").find("http").is_none());
    assert!(!page.contains("could not be drawn"));

    // Every metric that varies between points is plotted against each
    // parameter: the summary's always, the nodes' while the page keeps
    // to its number of plots (else they are a table).
    let points = csv(&sweep.join("collect/points.csv"));
    let first_metric = column(&points, "status") + 1;
    let metrics = &points[0][first_metric..points[0].len() - 1];
    let varying: Vec<&String> = metrics
        .iter()
        .enumerate()
        .filter(|(m, _)| points[1..].iter().any(|r| r[first_metric + m] != points[1][first_metric + m]))
        .map(|(_, name)| name)
        .collect();
    assert!(varying.iter().any(|m| *m == "events") && varying.iter().any(|m| *m == "gateway.windows_closed"));
    let plots = page.matches("<figure id=\"plot-").count();
    let mut plotted = 0;
    for metric in &varying {
        let captions = [WINDOW, MODEL].map(|p| format!("<figcaption>{metric} against {p}</figcaption>"));
        let shown = captions.iter().filter(|c| page.contains(c.as_str())).count();
        let is_node = ["s1.", "s2.", "gateway.", "cloud."].iter().any(|node| metric.starts_with(node));
        if shown == 0 && is_node {
            assert!(
                page.contains(&format!("<tr><td>{metric}</td><td>{WINDOW}</td>")),
                "{metric} neither plotted nor listed"
            );
        } else {
            assert_eq!(shown, 2, "{metric}: a plot against each parameter");
            plotted += 1;
        }
    }
    assert_eq!(plots, 2 * plotted, "no plot of a metric that does not vary");
    assert!(plots <= xedgesim::sweep::collect::MAX_PLOTS.max(2 * plotted));
    // A numeric parameter on a numeric axis, the other by its names.
    assert!(page.contains(">\ndirect\n</text>") && page.contains(">\nlatency\n</text>"), "labelled by names");
    assert!(page.contains(">\n5.0\n</text>"), "numbered axis");
}

#[test]
fn unreadable_and_hostile_point_files_are_failures_that_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path();
    let points: Vec<PointEntry> = (0..6).map(|i| PointEntry { index: i, seed: 7, values: BTreeMap::new() }).collect();
    let plan = SweepPlan {
        version: 1,
        scenario: PathBuf::from("hand.yaml"),
        scenario_sha256: String::new(),
        parameters: Vec::new(),
        points: points.clone(),
    };
    std::fs::write(sweep.join("sweep.json"), serde_json::to_string(&plan).unwrap()).unwrap();
    let write = |index: usize, name: &str, text: &str| {
        let dir = point_dir(sweep, index);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    };
    // 0: finished, with a node whose metric is named as a summary number.
    hand_point(sweep, &points[0], 3.0, "1");
    write(0, "metrics.csv", "node,source,metric,value\nevents,model,x,5\n\"a,b\",model,\"say \"\"hi\"\"\",6\n");
    let whose = "\"scenario_sha256\": \"\", \"seed\": 7";
    write(0, "summary.json", &format!("{{\"status\": \"finished\", {whose}, \"events\": 3, \"events.x\": 4}}"));
    write(1, "summary.json", "{\"status\": \"fini");
    write(2, "summary.json", "{\"status\": \"failed\", \"reason\": \"node gw faulted at 1.000000 s\", \"events\": 9}");
    write(3, "failed.json", "[1, 2");
    let long = "x".repeat(100_000);
    write(4, "failed.json", &serde_json::json!({"exit_code": 1, "error": format!("\n  {long}\nsecond")}).to_string());
    // 5: finished, but its metrics.csv is gone.
    write(5, "summary.json", &format!("{{\"status\": \"finished\", {whose}, \"events\": 4}}"));
    let output = collect(&[path(sweep)]);
    let stdout = output_text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}{}", output_text(&output.stderr));
    assert!(stdout.starts_with("6 points: 2 finished, 4 failed, 0 missing\n"), "{stdout}");
    let text = std::fs::read_to_string(sweep.join("collect/points.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "index,seed,status,events,events.x,events.x (node),\"a,b.say \"\"hi\"\"\",note");
    assert_eq!(lines[1], "0,7,finished,3,4,5,6,");
    assert!(lines[2].starts_with("1,7,failed,,,,,summary.json is not JSON: "), "{}", lines[2]);
    assert_eq!(lines[3], "2,7,failed,,,,,the run ended failed: node gw faulted at 1.000000 s");
    assert!(lines[4].starts_with("3,7,failed,,,,,\"failed.json is not a point failure: "), "{}", lines[4]);
    assert!(lines[5].starts_with("4,7,failed,,,,,xxxx") && lines[5].ends_with("… (100000 bytes)"), "{}", lines[5]);
    assert!(lines[5].len() < 600);
    assert!(lines[6].starts_with("5,7,finished,4,,,,cannot read metrics.csv: "), "{}", lines[6]);
    assert_eq!(lines.len(), 7);
}

#[test]
fn a_plan_too_big_of_another_version_or_with_stray_values_and_an_out_inside_points_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path();
    let entry = |values: BTreeMap<String, serde_json::Value>| PointEntry { index: 0, seed: 1, values };
    let plan = |version: u32, values| SweepPlan {
        version,
        scenario: PathBuf::from("/nowhere/hand.yaml"),
        scenario_sha256: String::new(),
        parameters: vec!["x".into()],
        points: vec![entry(values)],
    };
    let x = BTreeMap::from([("x".to_string(), serde_json::json!(1))]);
    let refused = |plan: &SweepPlan, says: &str| {
        std::fs::write(sweep.join("sweep.json"), serde_json::to_string(plan).unwrap()).unwrap();
        let output = collect(&[path(sweep)]);
        let stderr = output_text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{says:?} not in {stderr}");
        assert!(!sweep.join("collect").exists(), "nothing written");
    };
    refused(&plan(99, x.clone()), "it is of plan version 99; this xedgesim reads version 1");
    refused(&plan(1, BTreeMap::from([("y".to_string(), serde_json::json!(1))])), "point 0's values set [y]");
    refused(&plan(1, BTreeMap::new()), "point 0's values set [], the plan's parameters are [x]");
    // Over the size cap: refused before it is parsed (zeros are not JSON).
    let big = std::fs::File::create(sweep.join("sweep.json")).unwrap();
    big.set_len(64 * 1024 * 1024 + 1).unwrap();
    let output = collect(&[path(sweep)]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output_text(&output.stderr).contains("it is over 64 MiB"), "{}", output_text(&output.stderr));
    // A good plan; --out inside points/ would overwrite the point's page.
    let plan = plan(1, x);
    std::fs::write(sweep.join("sweep.json"), serde_json::to_string(&plan).unwrap()).unwrap();
    hand_point(sweep, &plan.points[0], 1.0, "1");
    let point = point_dir(sweep, 0);
    std::fs::write(point.join("report.html"), "the run's page").unwrap();
    for out in [point.clone(), sweep.join("points/new"), sweep.join("./points/../points/0000/x")] {
        let output = collect(&[path(sweep), "--out", path(&out)]);
        assert_eq!(output.status.code(), Some(2), "{}", output_text(&output.stderr));
        assert!(output_text(&output.stderr).contains("is inside the sweep's"), "{}", output_text(&output.stderr));
    }
    assert_eq!(std::fs::read_to_string(point.join("report.html")).unwrap(), "the run's page");
    let output = collect(&[path(sweep), "--out", path(&sweep.join("sweep.json"))]);
    assert_eq!(output.status.code(), Some(2), "{}", output_text(&output.stderr));
    assert!(output_text(&output.stderr).contains("is a file, not a folder"));
}

#[test]
fn control_characters_in_a_note_are_escaped_in_the_tables_and_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path();
    let plan = SweepPlan {
        version: 1,
        scenario: PathBuf::from("hand.yaml"),
        scenario_sha256: String::new(),
        parameters: Vec::new(),
        points: vec![PointEntry { index: 0, seed: 7, values: BTreeMap::new() }],
    };
    std::fs::write(sweep.join("sweep.json"), serde_json::to_string(&plan).unwrap()).unwrap();
    let failure = PointFailure { exit_code: 1, error: "bad \u{0}\u{1b}[2J<b>x</b>".into() };
    std::fs::create_dir_all(point_dir(sweep, 0)).unwrap();
    std::fs::write(point_dir(sweep, 0).join("failed.json"), serde_json::to_string(&failure).unwrap()).unwrap();
    let output = collect(&[path(sweep)]);
    assert_eq!(output.status.code(), Some(1), "{}", output_text(&output.stderr));
    let table = std::fs::read_to_string(sweep.join("collect/points.csv")).unwrap();
    assert!(table.contains(r"bad \0\u{1b}[2J<b>x</b>"), "{table}");
    let page = std::fs::read_to_string(sweep.join("collect/report.html")).unwrap();
    assert!(page.contains(r"bad \0\u{1b}[2J&lt;b&gt;x&lt;/b&gt;"), "the page escapes both");
    for file in ["points.csv", "points.json", "report.html"] {
        let text = std::fs::read_to_string(sweep.join("collect").join(file)).unwrap();
        assert!(!text.contains(['\u{0}', '\u{1b}']), "{file} holds a raw control character");
    }
}
