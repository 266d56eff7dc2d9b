//! `xedgesim equiv`'s end-to-end latency at the sinks, side by side
//! (p50/p95/p99/max and the share over a deadline), and
//! `--expect-differ`'s exit codes, through the binary.

mod common;

use std::path::Path;

use common::{output_text, root, xedgesim};

/// Two sensors straight to a cloud: `fast` at 3 Hz over the default 2 ms
/// link, `slow` at 1 Hz over a link of `slow_us`. In 10 s, `fast` sends
/// at k/3 s for k = 1..=29 and `slow` at 1..=9 s (the readings at 10 s
/// arrive after the end): 38 deliveries, 29 of 2 ms and 9 of `slow_us`.
fn two_links(dir: &Path, name: &str, slow_us: u64, equivalence: &str) -> String {
    let path = dir.join(name);
    let text = format!(
        "simulation: {{duration_s: 10, seed: 7}}\n\
         network:\n  model: latency\n  default_latency_us: 2000\n  links:\n    - {{src: slow, dst: cloud, latency_us: {slow_us}}}\n\
         nodes:\n  - {{id: fast, type: sensor, config: {{destination: cloud, sample_rate_hz: 3}}}}\n  \
         - {{id: slow, type: sensor, config: {{destination: cloud}}}}\n  - {{id: cloud, type: cloud}}\n{equivalence}"
    );
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn equiv(args: &[&str], cache: &Path) -> (Option<i32>, String, String) {
    let mut all = vec!["equiv"];
    all.extend_from_slice(args);
    let out = xedgesim(&all, Some(cache));
    (out.status.code(), output_text(&out.stdout), output_text(&out.stderr))
}

#[test]
fn equiv_shows_end_to_end_latency_side_by_side_with_the_deadline_misses() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("out");
    let a = two_links(dir.path(), "a.yaml", 10_000, "");
    let b = two_links(dir.path(), "b.yaml", 40_000, "");
    let args = [a.as_str(), b.as_str(), "--deadline-ms", "20", "--expect-differ", "--out", out.to_str().unwrap()];
    let (code, stdout, stderr) = equiv(&args, &cache);
    assert_eq!(code, Some(0), "they differ, as expected: {stdout}{stderr}");
    // 38 sorted latencies, 29 of 2 ms then 9 of the slow link's: p50 is
    // the 19th (2 ms), p95 the 37th and p99 the 38th (the slow link's).
    // Over 20 ms: none on A, the 9 slow ones on B (9 / 38 = 23.7 %).
    for line in [
        "  A    cloud                38     2.000 ms    10.000 ms    10.000 ms    10.000 ms      0.0% (0 of 38)",
        "  B    cloud                38     2.000 ms    40.000 ms    40.000 ms    40.000 ms     23.7% (9 of 38)",
        "expected to differ: they differ (exit 0)",
    ] {
        assert!(stdout.contains(line), "{line}\n{stdout}");
    }
    assert!(stdout.contains("over 20 ms"), "{stdout}");
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("<table id=\"latency\""), "the page has the table");
    assert!(page.contains("40.000 ms") && page.contains("23.7% (9 of 38)"));
    assert!(page.contains("a difference (--expect-differ)"));

    // Same runs, same bytes: nothing of the wall clock in the figures.
    let (_, again, _) = equiv(&args, &cache);
    assert_eq!(stdout, again);

    // Equivalent, expected to differ: exit 1, said.
    let (code, stdout, _) = equiv(&[a.as_str(), "--expect-differ", "--out", out.to_str().unwrap()], &cache);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("expected to differ: they do NOT differ (exit 1)"), "{stdout}");
    // No deadline, no miss column; without --expect-differ, the old codes.
    assert!(!stdout.contains("over "), "{stdout}");
    let (code, _, _) = equiv(&[a.as_str(), b.as_str(), "--out", out.to_str().unwrap()], &cache);
    assert_eq!(code, Some(1));
}

#[test]
fn the_sinks_figures_are_the_clouds_own_and_move_with_its_link() {
    // wasm_gateway.yaml against a copy whose gateway-to-cloud link is
    // 35 ms longer: with one seed the jitter draws are the same, so every
    // figure moves by exactly 35 ms; and each equals the cloud's own
    // `latency_p*_us` (its summary's end_to_end_latency_us).
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("out");
    let text = std::fs::read_to_string(root().join("scenarios/wasm_gateway.yaml")).unwrap();
    let slow = dir.path().join("slow.yaml");
    std::fs::write(&slow, text.replace("latency_us: 25000, jitter_us: 5000", "latency_us: 60000, jitter_us: 5000"))
        .unwrap();
    let json = dir.path().join("result.json");
    let args = [
        "scenarios/wasm_gateway.yaml",
        slow.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ];
    let (code, stdout, stderr) = equiv(&args, &cache);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let result: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let latency = &result["latency"];
    for key in ["p50_us", "p95_us", "p99_us", "max_us"] {
        let (a, b) = (&latency["a"]["pooled"][key], &latency["b"]["pooled"][key]);
        assert_eq!(b.as_u64().unwrap() - a.as_u64().unwrap(), 35_000, "{key}");
        for (side, figure) in [("a", a), ("b", b)] {
            let summary: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(out.join(side).join("summary.json")).unwrap()).unwrap();
            let own = &summary["end_to_end_latency_us"][key.trim_end_matches("_us")];
            assert_eq!(own.as_f64(), figure.as_f64(), "{side} {key}");
        }
    }
    assert_eq!(latency["a"]["sinks"], serde_json::json!(["cloud"]));
    assert!(latency["deadline_ms"].is_null());
}

#[test]
fn trials_pool_the_latencies_and_expect_differ_tests_difference() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("out");
    // The deadline from side A's file.
    let a = two_links(dir.path(), "a.yaml", 10_000, "equivalence: {deadline_ms: 5}\n");
    let b = two_links(dir.path(), "b.yaml", 40_000, "");
    let (code, stdout, stderr) =
        equiv(&[a.as_str(), b.as_str(), "--trials", "5", "--expect-differ", "--out", out.to_str().unwrap()], &cache);
    assert_eq!(code, Some(0), "Welch's test: the latencies differ: {stdout}{stderr}");
    assert!(stdout.contains("pooled over 5 trials"), "{stdout}");
    // 5 × 38 deliveries, 5 × 9 later than 5 ms on either side.
    assert!(stdout.contains("  B    cloud               190     2.000 ms    40.000 ms"), "{stdout}");
    assert!(stdout.contains("23.7% (45 of 190)"), "{stdout}");
    assert!(
        stdout.contains(
            "B per trial (mean [min, max] over 5 trials): p50 2.000 ms [2.000, 2.000]; p95 40.000 ms [40.000, 40.000]"
        ),
        "{stdout}"
    );
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("<table id=\"latency-per-trial\""), "each trial's figures on the page");
    assert!(page.contains("40.000 ms [40.000 ms, 40.000 ms]"), "B's p95 over its trials");
    let (code, stdout, _) =
        equiv(&[a.as_str(), "--trials", "5", "--expect-differ", "--out", out.to_str().unwrap()], &cache);
    assert_eq!(code, Some(1), "no difference shown: {stdout}");

    // Not shown equivalent is no difference: refused.
    let (code, _, stderr) =
        equiv(&[a.as_str(), b.as_str(), "--trials", "5", "--expect-differ", "--test", "equivalence"], &cache);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--expect-differ with --test equivalence"), "{stderr}");
}

#[test]
fn bad_deadlines_and_sinks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let a = two_links(dir.path(), "a.yaml", 10_000, "");
    for (flag, value, says) in [
        ("--deadline-ms", "0", "--deadline-ms must be a number of milliseconds > 0; found 0"),
        ("--deadline-ms", "NaN", "found NaN"),
        ("--latency-at", "clod", "no node 'clod' on either side"),
    ] {
        let (code, _, stderr) = equiv(&[a.as_str(), flag, value], &cache);
        assert_eq!(code, Some(2), "{flag} {value}: {stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
    let bad = two_links(dir.path(), "bad.yaml", 10_000, "equivalence: {deadline_ms: -1, latency_at: [clod]}\n");
    let out = xedgesim(&["validate", bad.as_str()], Some(&cache));
    let stderr = output_text(&out.stderr) + &output_text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("deadline_ms must be a number of milliseconds > 0; found -1"), "{stderr}");
    assert!(stderr.contains("no node 'clod' to measure latency at"), "{stderr}");
    // A sink named on the command line: the sensors' readings at 'cloud'
    // only, as the default, but said.
    let out = dir.path().join("out");
    let (code, stdout, _) = equiv(&[a.as_str(), "--latency-at", "cloud", "--out", out.to_str().unwrap()], &cache);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("  A    cloud                38"), "{stdout}");
}

/// A sink named twice is one sink: its deliveries are counted once.
#[test]
fn a_sink_named_twice_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = root().join("scenarios/wasm_gateway.yaml");
    let file = file.to_str().unwrap();
    let out = dir.path().join("out");
    let (once_code, once, _) =
        equiv(&[file, file, "--latency-at", "cloud", "--out", out.to_str().unwrap()], dir.path());
    let args = [file, file, "--latency-at", "cloud", "--latency-at", "cloud", "--out", out.to_str().unwrap()];
    let (twice_code, twice, stderr) = equiv(&args, dir.path());
    assert_eq!((once_code, twice_code), (Some(0), Some(0)), "{twice}{stderr}");
    let rows = |text: &str| {
        text.lines().filter(|l| l.starts_with("  A ") || l.starts_with("  B ")).map(String::from).collect::<Vec<_>>()
    };
    assert_eq!(rows(&twice), rows(&once), "{twice}");
    assert!(rows(&once)[0].contains("  cloud                 5 "), "{once}");
}
