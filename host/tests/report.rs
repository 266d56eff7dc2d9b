//! `report.html` and the `series.json` it is drawn from: the numbers
//! against a run worked out by hand, the page against a real browser, and
//! `xedgesim report` redrawing the same bytes.

mod common;

use std::path::Path;

use common::{output_text, xedgesim};
use xedgesim::engine::{Bucket, Series};

/// Two sensors at 1 Hz send to the cloud over 2 ms links for 10 s; a third
/// publishes on a topic, and there is no broker.
const SCENARIO: &str = "\
simulation: {duration_s: 10, seed: 3}
network: {model: latency, default_latency_us: 2000}
nodes:
  - {id: s1, type: sensor, config: {destination: cloud, sample_rate_hz: 1}}
  - {id: s2, type: sensor, config: {destination: cloud, sample_rate_hz: 1}}
  - {id: s3, type: sensor, config: {topic: readings, sample_rate_hz: 1}}
  - {id: cloud, type: cloud}
";

/// Writes `yaml` into `dir` and runs it (with `extra` flags) into `dir/out`.
fn run_yaml(dir: &Path, yaml: &str, extra: &[&str]) -> std::process::Output {
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = dir.join("out");
    let mut args = vec!["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend(extra);
    xedgesim(&args, None)
}

fn run(dir: &Path) -> std::process::Output {
    run_yaml(dir, SCENARIO, &["--quiet"])
}

/// The `series.json` of a run's output folder.
fn series_of(out: &Path) -> Series {
    serde_json::from_str(&std::fs::read_to_string(out.join("series.json")).unwrap()).unwrap()
}

#[test]
fn the_series_holds_the_counts_worked_out_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path());
    assert!(output.status.success(), "{}", output_text(&output.stderr));
    let series = series_of(&dir.path().join("out"));

    // 10 s in at most 200 intervals of a round width: 50 ms, 200 of them;
    // events at exactly 10 s count in the last, [9.95 s, 10 s].
    assert_eq!(series.bin_us, 50_000);
    assert_eq!(series.delivered.len(), 200);
    // Each sensor reads at 0, 1, …, 10 s: three sends every second (bin 20 k).
    // `n` in the interval of each whole second from `first` to `last`
    // (second k starts interval 20 k; 10 s falls in the last, 199).
    let every_second = |n: u64, first: usize, last: usize| -> Vec<u64> {
        let mut counts = vec![0; 200];
        for second in first..=last {
            counts[(second * 20).min(199)] += n;
        }
        counts
    };
    // A sensor steps at t = 0 and asks to wake at 1 s; it reads at 1, 2, …,
    // 10 s (ten readings, as xEdgeSim's): three sends a second from 1 s.
    assert_eq!(series.sent, every_second(3, 1, 10));
    // Two arrive 2 ms later, the same interval; those sent at 10 s arrive
    // after the end (in flight), so deliveries stop at 9 s.
    assert_eq!(series.delivered, every_second(2, 1, 9));
    // s3's ten go nowhere, each dropped when sent.
    assert_eq!(series.dropped_by_reason.keys().collect::<Vec<_>>(), ["no_broker"]);
    assert_eq!(series.dropped_by_reason["no_broker"], every_second(1, 1, 10));
    // All 18 deliveries took 2,000 µs: the bucket [1,024, 2,048).
    assert_eq!(series.latency, vec![Bucket { from_us: 1_024, to_us: 2_048, count: 18 }]);
    // Four nodes: steps per node. A sensor steps at 0 and at each reading;
    // the cloud at t = 0 and at each of the nine instants messages reach it.
    assert_eq!(series.steps.keys().collect::<Vec<_>>(), ["cloud", "s1", "s2", "s3"]);
    assert_eq!(series.steps["s1"], every_second(1, 0, 10));
    assert_eq!(series.steps["cloud"], every_second(1, 0, 9));
    // Links, busiest first, ties in node order; a message that reached no node (no broker) as `(unknown)`.
    let links: Vec<(&str, &str, u64, u64)> =
        series.links.iter().map(|l| (l.src.as_str(), l.dst.as_str(), l.delivered, l.dropped)).collect();
    assert_eq!(links, [("s3", "(unknown)", 0, 10), ("s1", "cloud", 9, 0), ("s2", "cloud", 9, 0)]);
    assert_eq!(series.links[0].dropped_by_reason["no_broker"], 10);
    // Every node listed (4 < 200), in node order; totals by type.
    assert_eq!(series.nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["s1", "s2", "s3", "cloud"]);
    let cloud = &series.nodes[3];
    assert_eq!((cloud.steps, cloud.messages_in, cloud.messages_out), (10, 18, 0));
    let sensors = series.node_types.iter().find(|t| t.kind == "sensor").unwrap();
    assert_eq!((sensors.nodes, sensors.steps, sensors.messages_out, sensors.dropped_out), (3, 33, 30, 10));
}

#[test]
fn the_page_is_self_contained_and_redrawn_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path());
    assert!(output.status.success(), "{}", output_text(&output.stderr));
    let page_path = dir.path().join("out/report.html");
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
    for id in ["plot-latency", "plot-messages", "plot-steps"] {
        let at = page.find(&format!("<figure id=\"{id}\"><svg")).unwrap_or_else(|| panic!("{id} missing"));
        assert!(page[at..].contains("</svg>"));
    }
    // Nothing fetched: no links, sources or URLs but SVG's namespace.
    for banned in ["<link", " src=", "url(", "@import"] {
        assert!(!page.contains(banned), "{banned}");
    }
    assert!(page.replace("http://www.w3.org/2000/svg", "").find("http").is_none());
    assert!(page.contains("xedgesim run ") && page.contains("--seed 3"));

    // Drawn again from the folder: the same bytes, every time (plotters'
    // own histogram series ordered its bars by a HashMap, differently in
    // each process).
    for _ in 0..3 {
        std::fs::remove_file(&page_path).unwrap();
        let redrawn = xedgesim(&["report", dir.path().join("out").to_str().unwrap()], None);
        assert!(redrawn.status.success(), "{}", output_text(&redrawn.stderr));
        assert_eq!(std::fs::read_to_string(&page_path).unwrap(), page);
    }
}

#[test]
fn no_report_skips_the_page_and_report_of_a_wrong_folder_is_a_user_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = run_yaml(dir.path(), SCENARIO, &["--quiet", "--no-report"]);
    assert!(output.status.success());
    assert!(!out.join("report.html").exists() && out.join("series.json").exists());

    let wrong = xedgesim(&["report", dir.path().to_str().unwrap()], None);
    assert_eq!(wrong.status.code(), Some(2));
    let stderr = output_text(&wrong.stderr);
    assert!(stderr.contains("summary.json") && stderr.contains("run's output folder"), "{stderr}");
}

/// The page in a real browser: each plot is laid out with a non-empty box.
/// Needs Chromium (`.ci/test` installs Debian's); without it this fails,
/// saying so.
#[test]
fn the_page_shows_its_plots_in_a_real_browser() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().find(|p| Path::new(p).exists());
    let Some(chromium) = chromium else {
        panic!("Chromium is not installed: `apt-get install chromium` (bash .ci/test does) to run the browser test");
    };
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path());
    assert!(output.status.success(), "{}", output_text(&output.stderr));
    let page = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    // A copy with a probe that writes each plot's laid-out size into the DOM.
    let probe = r#"<pre id="boxes"></pre><script>
document.getElementById("boxes").textContent = [...document.querySelectorAll("figure")].map(f => {
  const svg = f.querySelector("svg"); const r = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return f.id + " " + Math.round(r.width) + "x" + Math.round(r.height) + " " + (svg ? svg.querySelectorAll("*").length : 0);
}).join("\n");
</script>"#;
    let probed = dir.path().join("probed.html");
    std::fs::write(&probed, page.replace("</body>", &format!("{probe}</body>"))).unwrap();
    let profile = dir.path().join("profile");
    let dump = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
            &format!("file://{}", probed.display()),
        ])
        .output()
        .unwrap();
    let dom = output_text(&dump.stdout);
    let boxes = dom
        .split("<pre id=\"boxes\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("no probe output; chromium said: {}", output_text(&dump.stderr)));
    let lines: Vec<&str> = boxes.lines().collect();
    assert_eq!(lines.len(), 3, "{boxes}");
    for line in lines {
        let parts: Vec<&str> = line.split(' ').collect();
        let (w, h) = parts[1].split_once('x').unwrap();
        let elements: u32 = parts[2].parse().unwrap();
        assert!(w.parse::<u32>().unwrap() >= 400 && h.parse::<u32>().unwrap() >= 200 && elements > 20, "{line}");
    }
    // The node table sorts: the script is there and its header cells are clickable.
    assert!(dom.contains("class=\"sortable\""));
}

#[test]
fn a_large_run_lists_its_busiest_nodes_and_sums_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    // 250 sensors, the even ones at 2 Hz: those are the busiest 125.
    let yaml = "simulation: {duration_s: 2, seed: 1}\nnodes:\n\
         \x20 - {id: \"s{i}\", count: 125, type: sensor, config: {destination: cloud, sample_rate_hz: 2}}\n\
         \x20 - {id: \"t{i}\", count: 125, type: sensor, config: {destination: cloud, sample_rate_hz: 1}}\n\
         \x20 - {id: cloud, type: cloud}\n";
    let output = run_yaml(dir.path(), yaml, &["--quiet", "--sandbox", "shared"]);
    let out = dir.path().join("out");
    assert!(output.status.success(), "{}", output_text(&output.stderr));
    let series = series_of(&out);
    assert_eq!(series.node_count, 251);
    assert_eq!(series.nodes.len(), xedgesim::engine::MAX_NODE_ROWS);
    // The cloud (most messages), all 125 fast sensors, then the first 74 slow ones, in node order.
    let ids: Vec<&str> = series.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids[0], "s0");
    assert_eq!(ids[124], "s124");
    assert_eq!(ids[125], "t0");
    assert_eq!(ids[198], "t73");
    assert_eq!(ids[199], "cloud");
    // Steps per type, not per node, above a dozen nodes.
    assert_eq!(series.steps.keys().collect::<Vec<_>>(), ["all cloud nodes", "all sensor nodes"]);
    let sensors = series.node_types.iter().find(|t| t.kind == "sensor").unwrap();
    // 125 × 4 readings + 125 × 2 readings in 2 s.
    assert_eq!((sensors.nodes, sensors.messages_out), (250, 750));
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("The 200 busiest of 251 nodes are listed"));
}

#[test]
fn a_run_ends_by_naming_its_report_and_its_drops_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = run_yaml(dir.path(), SCENARIO, &[]);
    assert!(output.status.success(), "{}", output_text(&output.stderr));
    let stdout = output_text(&output.stdout);
    assert!(stdout.contains("dropped by    no_broker 10\n"), "{stdout}");
    assert!(stdout.trim_end().ends_with(&format!("report        {}", out.join("report.html").display())), "{stdout}");
}

#[test]
fn lost_messages_are_counted_per_interval_and_on_their_link() {
    let dir = tempfile::tempdir().unwrap();
    // s2's link to the cloud loses everything; s1's loses nothing.
    let yaml = "simulation: {duration_s: 4}\nnetwork:\n  model: latency\n  links:\n    - {src: s2, dst: cloud, loss_rate: 1.0}\n\
         nodes:\n  - {id: s1, type: sensor}\n  - {id: s2, type: sensor}\n  - {id: cloud, type: cloud}\n";
    let output = run_yaml(dir.path(), yaml, &["--quiet"]);
    assert!(output.status.success(), "{}", output_text(&output.stderr));
    let series = series_of(&dir.path().join("out"));
    // 4 s in 20 ms intervals; readings at 1, 2, 3 and 4 s (4 s: the last interval).
    assert_eq!(series.bin_us, 20_000);
    let lost = &series.dropped_by_reason["loss"];
    assert_eq!(lost.iter().sum::<u64>(), 4);
    assert_eq!((lost[50], lost[100], lost[150], lost[199]), (1, 1, 1, 1));
    let link = series.links.iter().find(|l| l.src == "s2").unwrap();
    assert_eq!((link.dst.as_str(), link.delivered, link.dropped, link.dropped_by_reason["loss"]), ("cloud", 0, 4, 4));
    // The reading at 4 s arrives after the end (the link has latency): in flight.
    let good = series.links.iter().find(|l| l.src == "s1").unwrap();
    assert_eq!((good.delivered, good.dropped), (3, 0));
}
