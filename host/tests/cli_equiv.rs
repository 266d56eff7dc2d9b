//! `xedgesim equiv` as a user runs it: exit 0 when equivalent, 1 with the
//! first differences when not, 2 on a scenario or usage error; with
//! `--trials`, equivalence within stated margins (TOST), 3 when there are
//! too few trials to decide.

mod common;

use common::{output_text, root, xedgesim};

#[test]
fn equiv_exits_zero_one_or_two_and_names_the_first_difference() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("out");
    let run = |a: &str, b: &str| xedgesim(&["equiv", a, b, "--out", out.to_str().unwrap()], Some(&cache));
    let same = run("scenarios/wasm_gateway.yaml", "scenarios/wasm_gateway.yaml");
    assert_eq!(same.status.code(), Some(0), "{}", output_text(&same.stderr));
    assert!(output_text(&same.stdout).contains("equivalent: 122 deliveries"), "{}", output_text(&same.stdout));

    // One scenario, one store per node against shared instances: equal.
    let packed = xedgesim(
        &[
            "equiv",
            "scenarios/wasm_gateway.yaml",
            "--sandbox-a",
            "per-node",
            "--sandbox-b",
            "shared:2",
            "--out",
            out.to_str().unwrap(),
        ],
        Some(&cache),
    );
    assert_eq!(packed.status.code(), Some(0), "{}{}", output_text(&packed.stdout), output_text(&packed.stderr));
    assert!(output_text(&packed.stdout).contains("equivalent: 122 deliveries"), "{}", output_text(&packed.stdout));

    let text = std::fs::read_to_string(root().join("scenarios/wasm_gateway.yaml")).unwrap();
    let other = dir.path().join("window3.yaml");
    std::fs::write(&other, text.replace("window_s: 5", "window_s: 3")).unwrap();
    let differs = run("scenarios/wasm_gateway.yaml", other.to_str().unwrap());
    let stdout = output_text(&differs.stdout);
    assert_eq!(differs.status.code(), Some(1), "{stdout}{}", output_text(&differs.stderr));
    assert!(stdout.contains("NOT equivalent"), "{stdout}");
    assert!(stdout.contains("node 'cloud' at t = 5.029900 s: message 1 received: at another time"), "{stdout}");
    // The comparison's page: both sides on shared plots, and the differences.
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(stdout.contains(&format!("report        {}", out.join("report.html").display())), "{stdout}");
    assert!(page.contains("NOT equivalent") && page.contains("<table id=\"differences\""));
    assert!(page.contains("message 1 received: at another time"));
    for id in ["plot-latency", "plot-deliveries"] {
        assert!(page.contains(&format!("<figure id=\"{id}\"><svg")), "{id}");
    }

    // Trials: each metric tested per side, a verdict, and the result as JSON.
    let json = dir.path().join("result.json");
    let trials = xedgesim(
        &[
            "equiv",
            "scenarios/wasm_gateway.yaml",
            other.to_str().unwrap(),
            "--trials",
            "5",
            "--out",
            out.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
        Some(&cache),
    );
    let stdout = output_text(&trials.stdout);
    assert_eq!(trials.status.code(), Some(1), "{stdout}{}", output_text(&trials.stderr));
    assert!(stdout.contains("NOT shown equivalent"), "{stdout}");
    assert!(stdout.contains("(over 5 trials per side"), "{stdout}");
    let line = stdout.lines().find(|l| l.starts_with("gateway") && l.contains("windows_closed")).unwrap_or_default();
    // 30 s in 5 s windows against 3 s windows, whatever the seed: 6 against 10.
    assert!(
        line.contains("6.0000 ± 0.0000") && line.contains("10.0000 ± 0.0000") && line.ends_with("NOT SHOWN"),
        "{line}"
    );
    let result: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!((&result["equivalent"], &result["verdict"]), (&false.into(), &"not_equivalent".into()));
    assert_eq!(result["trials"], 5);
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("<table id=\"metrics\"") && page.contains("6.0000 ± 0.0000 (n = 5)"));
    assert!(page.contains("NOT shown equivalent") && page.contains("<strong>not equivalent</strong>"));

    // Side A's `equivalence:` section says what counts: here, not the gateway or the cloud.
    let lenient = dir.path().join("lenient.yaml");
    std::fs::write(&lenient, format!("{text}\nequivalence:\n  ignore_nodes: [gateway, cloud]\n")).unwrap();
    let ignoring = run(lenient.to_str().unwrap(), other.to_str().unwrap());
    assert_eq!(ignoring.status.code(), Some(0), "{}", output_text(&ignoring.stdout));

    let no_section = xedgesim(&["equiv", "scenarios/wasm_gateway.yaml", "--swap", "cloud=docker"], Some(&cache));
    assert_eq!(no_section.status.code(), Some(2));
    assert!(
        output_text(&no_section.stderr).contains("node 'cloud' has no `docker:` section"),
        "{}",
        output_text(&no_section.stderr)
    );

    let missing = run("scenarios/wasm_gateway.yaml", "scenarios/no-such-file.yaml");
    assert_eq!(missing.status.code(), Some(2));
    let bad_flag = xedgesim(&["equiv", "a.yaml", "b.yaml", "--metric-tolerance", "-1"], Some(&cache));
    assert_eq!(bad_flag.status.code(), Some(2), "{}", output_text(&bad_flag.stderr));
}

#[test]
fn equiv_compares_a_faulty_scenario_with_its_fault_free_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = xedgesim(
        &["equiv", "scenarios/gateway_reboot.yaml", "--fault-free-b", "--out", out.to_str().unwrap()],
        Some(&dir.path().join("cache")),
    );
    let stdout = output_text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}{}", output_text(&o.stderr));
    assert!(stdout.contains("NOT equivalent"), "{stdout}");
    // The first thing the cloud misses: the aggregate the crash at 10 s took.
    assert!(stdout.contains("node 'cloud'"), "{stdout}");
    // Side B is the same file without its faults: the healthy run's 122 deliveries.
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("b/summary.json")).unwrap()).unwrap();
    assert_eq!((b["fault_free"].as_bool(), b["messages"]["delivered"].as_u64()), (Some(true), Some(122)));
    assert!(b.get("scripted_faults").is_none());
}

/// wasm_gateway.yaml with the gateway's link to the cloud `latency_us`
/// long, and no alerts (whose metrics only some seeds report).
fn with_cloud_latency(dir: &std::path::Path, latency_us: u32) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join("scenarios/wasm_gateway.yaml")).unwrap();
    let file = dir.join(format!("latency{latency_us}.yaml"));
    let link = "{src: gateway, dst: cloud, latency_us: 25000, jitter_us: 5000}";
    assert!(text.contains(link) && text.contains("alert_threshold: 25.0"), "the example is as it was");
    let text = text.replace(link, &link.replace("25000", &latency_us.to_string()));
    std::fs::write(&file, text.replace("alert_threshold: 25.0", "alert_threshold: 99.0")).unwrap();
    file
}

#[test]
fn equiv_trials_show_equivalence_within_stated_margins_and_refuse_what_they_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("out");
    let [a, near, far] = [25_000, 26_000, 30_000].map(|us| with_cloud_latency(dir.path(), us));
    let [a, near, far] = [&a, &near, &far].map(|f| f.to_str().unwrap().to_string());
    let (a, near, far) = (a.as_str(), near.as_str(), far.as_str());
    let equiv = |extra: &[&str]| {
        let mut args = vec!["equiv", "--out", out.to_str().unwrap()];
        args.extend(extra);
        let o = xedgesim(&args, Some(&cache));
        (o.status.code(), output_text(&o.stdout), output_text(&o.stderr))
    };
    let row = |stdout: &str, node: &str, metric: &str| -> String {
        stdout
            .lines()
            .find(|l| l.starts_with(node) && l.split_whitespace().nth(1) == Some(metric))
            .unwrap_or_default()
            .to_string()
    };
    let not_shown = |stdout: &str| stdout.lines().filter(|l| l.ends_with("NOT SHOWN")).count();

    // Too few trials to decide: nothing runs, exit 3.
    let (code, stdout, _) = equiv(&[a, near, "--trials", "3"]);
    assert_eq!(code, Some(3), "{stdout}");
    assert!(stdout.contains("not enough trials to decide: 3 per side, at least 5 needed"), "{stdout}");
    assert!(!stdout.contains("trial 1/3"), "nothing ran: {stdout}");
    let (code, stdout, _) = equiv(&[a, near, "--trials", "5", "--min-trials", "8"]);
    assert_eq!(code, Some(3), "{stdout}");
    let (code, _, stderr) = equiv(&[a, "--trials", "5", "--min-trials", "4"]);
    assert_eq!(code, Some(2), "{stderr}");

    // The cloud's link 1 ms longer: the latencies shift by 1 ms, and with
    // five trials their 95% intervals overlap (the rule that once passed
    // this). Without margins the metrics that vary cannot be shown
    // equivalent, and the output says what is missing.
    let (code, stdout, stderr) = equiv(&[a, near, "--trials", "5"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("NOT shown equivalent: 12 of 51 metrics"), "{stdout}");
    assert!(stdout.contains("  = help: 12 of them vary across trials and have no margin"), "{stdout}");
    // Against a margin of 200 µs for the median latency, still not; within 1% of every metric, yes.
    let (code, stdout, _) =
        equiv(&[a, near, "--trials", "5", "--margin-default", "1%", "--margin", "cloud/latency_p50_us=200"]);
    assert_eq!(code, Some(1), "{stdout}");
    let p50 = row(&stdout, "cloud", "latency_p50_us");
    assert!(p50.ends_with("NOT SHOWN") && p50.contains(" 200 "), "{p50}");
    assert_eq!(not_shown(&stdout), 1, "only the median latency: {stdout}");
    let (code, stdout, _) = equiv(&[a, near, "--trials", "5", "--margin-default", "1%"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("equivalent: for each of 51 metrics the 90% interval of B − A lies within its margin"));
    let p50 = row(&stdout, "cloud", "latency_p50_us");
    assert!(p50.ends_with("equivalent") && p50.contains("(1%)"), "{p50}");

    // Do they differ? At 1 ms, five trials show no difference (which is no
    // equivalence either); at 5 ms they do.
    let (code, stdout, _) = equiv(&[a, near, "--trials", "5", "--test", "difference"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("no difference shown in 51 metrics"), "{stdout}");
    let (code, stdout, _) = equiv(&[a, far, "--trials", "5", "--test", "difference"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(row(&stdout, "cloud", "latency_p50_us").ends_with("DIFFERS"), "{stdout}");
    assert!(stdout.contains("DIFFER: 5 of 51 metrics"), "{stdout}");

    // Deliveries and drops are compared too, and the engine's counts; the
    // result as JSON.
    let json = dir.path().join("same.json");
    let (code, stdout, stderr) =
        equiv(&[a, "--trials", "5", "--margin-default", "1%", "--json", json.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let result: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!((&result["verdict"], &result["rules"]["min_trials"]), (&"equivalent".into(), &5.into()));
    let metrics = result["metrics"].as_array().unwrap();
    let named = |node: &str, metric: &str| metrics.iter().any(|m| m["node"] == node && m["metric"] == metric);
    assert!(named("cloud", "deliveries.count") && named("cloud", "deliveries.mean_time_us"));
    assert!(named("cloud", "host.messages_in"));
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("<table id=\"metrics\"") && page.contains("90% interval of B − A"));
    assert!(page.contains("equivalence: two one-sided tests (TOST) against each metric&#39;s margin, alpha 0.05"));

    // Ignored topics and timing are honoured: the engine's counts, which
    // include the ignored messages, leave, and so do the arrival times.
    let (code, stdout, stderr) = equiv(&[
        a,
        "--trials",
        "5",
        "--margin-default",
        "1%",
        "--ignore-topic",
        "alert",
        "--ignore-timing",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let result: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let metrics = result["metrics"].as_array().unwrap();
    assert!(metrics.iter().any(|m| m["metric"] == "deliveries.count"));
    assert!(!metrics.iter().any(|m| m["metric"].as_str().unwrap().starts_with("host.messages")), "{metrics:?}");
    assert!(!metrics.iter().any(|m| m["metric"] == "deliveries.mean_time_us"), "timing ignored");

    // A margin for no metric: named, with the closest one.
    let (code, _, stderr) = equiv(&[a, "--trials", "5", "--margin", "latncy_p50_us=5"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "--margin 'latncy_p50_us=5': no metric 'latncy_p50_us' in any trial; did you mean 'latency_p50_us'?"
        ),
        "{stderr}"
    );
    // Trials' options without trials are refused, and bad options with them.
    for (args, named) in [
        (vec![a, "--margin", "x=1"], "--margin applies to --trials N"),
        (vec![a, "--test", "difference"], "--test applies to --trials N"),
        (vec![a, "--trials", "5", "--margin", "x"], "--margin 'x': expected METRIC=MARGIN"),
        (vec![a, "--trials", "5", "--margin-default", "-3%"], "--margin-default '-3%': a margin is a number >= 0"),
        (vec![a, "--trials", "5", "--alpha", "0.7"], "--alpha must be between 0 and 0.5"),
    ] {
        let (code, _, stderr) = equiv(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }

    // The margins may live in side A's file.
    let text = std::fs::read_to_string(a).unwrap();
    let with_margins = dir.path().join("margins.yaml");
    std::fs::write(
        &with_margins,
        format!("{text}\nequivalence:\n  margins:\n    cloud/latency_p50_us: 200\n  margin_default: 1%\n"),
    )
    .unwrap();
    let (code, stdout, _) = equiv(&[with_margins.to_str().unwrap(), near, "--trials", "5"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(not_shown(&stdout), 1, "only the median latency: {stdout}");
    // Used without trials, they are named as unused.
    let (code, _, stderr) = equiv(&[with_margins.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("note: equivalence.margins in") && stderr.contains("applies with --trials only"),
        "{stderr}"
    );
    // A file's payload rule applies to trials: each pair's messages are
    // compared (the longer link changes when they arrive, not what they say).
    let json_payloads = dir.path().join("json_payloads.yaml");
    std::fs::write(&json_payloads, format!("{text}\nequivalence:\n  payloads: json\n  margin_default: 1%\n")).unwrap();
    let (code, stdout, stderr) = equiv(&[json_payloads.to_str().unwrap(), near, "--trials", "5"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("messages: every pair of trials (trial i of A and of B) received the same (5 pairs)"));
    assert!(!stderr.contains("note: equivalence.payloads"), "{stderr}");
}

/// `equiv scenarios/wasm_gateway.yaml` with `flags`, with one trial and
/// with five: refused before anything runs (exit 2), saying each of `needles`.
fn refused_before_running(flags: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for trials in ["1", "5"] {
        let mut args = vec!["equiv", "scenarios/wasm_gateway.yaml", "--trials", trials, "--out", out.to_str().unwrap()];
        args.extend_from_slice(flags);
        let o = xedgesim(&args, Some(&dir.path().join("cache")));
        let (stdout, stderr) = (output_text(&o.stdout), output_text(&o.stderr));
        assert_eq!(o.status.code(), Some(2), "--trials {trials}: {stdout}{stderr}");
        for needle in needles {
            assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
        }
        assert!(!stdout.contains("running"), "nothing ran: {stdout}");
    }
}

#[test]
fn equiv_refuses_an_ignored_node_that_neither_side_has() {
    // A typo left every node in and, silently, the engine's counts and the
    // drops out of the comparison (they are left out whenever a node is ignored).
    refused_before_running(
        &["--ignore-node", "gatway"],
        &[
            "--ignore-node 'gatway': no node 'gatway' in scenarios/wasm_gateway.yaml or scenarios/wasm_gateway.yaml",
            "= help: did you mean 'gateway'?",
        ],
    );
}

#[test]
fn equiv_refuses_a_time_tolerance_with_timing_ignored() {
    // Arrival times are not compared, so the tolerance (with --trials: the
    // margin of deliveries.mean_time_us) was silently unused.
    refused_before_running(
        &["--ignore-timing", "--time-tolerance-us", "500"],
        &["--time-tolerance-us with --ignore-timing: arrival times are not compared", "= help: drop one of the two"],
    );
}

#[test]
fn equiv_names_side_bs_equivalence_section_as_unused() {
    // Only side A's file says what counts; B's section was silently ignored.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("scenarios/wasm_gateway.yaml")).unwrap();
    let b = dir.path().join("b.yaml");
    std::fs::write(&b, format!("{text}\nequivalence:\n  ignore_topics: [aggregate]\n")).unwrap();
    let out = dir.path().join("out");
    let args = ["equiv", "scenarios/wasm_gateway.yaml", b.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let o = xedgesim(&args, Some(&dir.path().join("cache")));
    let stderr = output_text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{}{stderr}", output_text(&o.stdout));
    assert!(
        stderr.contains(&format!(
            "note: the equivalence section of {} (side B) is not used; side A's file (scenarios/wasm_gateway.yaml) says what counts",
            b.display()
        )),
        "{stderr}"
    );
}

/// wasm_gateway.yaml with sensor3's readings 1e-7 higher (its `base`),
/// no alerts, and `equivalence` appended when given: two deterministic
/// scenarios whose payload numbers differ in the seventh decimal.
fn nudged_sensor(dir: &std::path::Path, name: &str, base: &str, equivalence: &str) -> String {
    let text = std::fs::read_to_string(root().join("scenarios/wasm_gateway.yaml")).unwrap();
    assert!(text.contains("base: 22.5,") && text.contains("alert_threshold: 25.0"), "the example is as it was");
    let text = text
        .replace("base: 22.5,", &format!("base: {base},"))
        .replace("alert_threshold: 25.0", "alert_threshold: 99.0");
    let file = dir.join(name);
    std::fs::write(&file, format!("{text}{equivalence}")).unwrap();
    file.to_str().unwrap().to_string()
}

#[test]
fn equiv_compares_payload_numbers_within_a_tolerance_per_field() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, out) = (dir.path().join("cache"), dir.path().join("out"));
    let equiv = |args: &[&str]| {
        let mut all = vec!["equiv"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--out", out.to_str().unwrap()]);
        let o = xedgesim(&all, Some(&cache));
        (o.status.code(), output_text(&o.stdout), output_text(&o.stderr))
    };
    // The readings' and the aggregates' numbers, within 1e-6.
    let tolerance = "\nequivalence:\n  payload_tolerance:\n    temperature: {abs: 1.0e-6}\n    \
                     mean: {abs: 1.0e-6, rel: 1.0e-9}\n    min: {abs: 1.0e-6}\n    max: {rel: 1.0e-7}\n";
    let a = nudged_sensor(dir.path(), "a.yaml", "22.5", "");
    let tolerant = nudged_sensor(dir.path(), "tolerant.yaml", "22.5", tolerance);
    let b = nudged_sensor(dir.path(), "b.yaml", "22.5000001", "");

    // Byte for byte, the first of sensor3's readings differs.
    let (code, stdout, stderr) = equiv(&[&a, &b]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("received: another payload\n"), "{stdout}");
    // As JSON without a tolerance, the field, both numbers and the rule are named.
    let (code, stdout, _) = equiv(&[&a, &b, "--payloads", "json"]);
    assert_eq!(code, Some(1), "{stdout}");
    let named = stdout.lines().find(|l| l.contains("another payload: field '")).unwrap_or_default();
    assert!(named.contains(" against ") && named.ends_with("(no tolerance)"), "{stdout}");
    // The readings alone within the tolerance: an aggregate's number is next.
    let (code, stdout, _) = equiv(&[&a, &b, "--payload-tolerance", "temperature=1e-6"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(!stdout.contains("field 'temperature'"), "{stdout}");
    assert!(stdout.contains("node 'cloud' at t = "), "{stdout}");
    // Every number within the file's tolerance: equivalent, as with the flags.
    let (code, stdout, stderr) = equiv(&[&tolerant, &b]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("equivalent: 122 deliveries"), "{stdout}");
    let flags = ["--payload-tolerance", "temperature=1e-6", "--payload-tolerance", "mean=1e-6,1e-9"];
    let more = ["--payload-tolerance", "min=1e-6", "--payload-tolerance", "max=0,1e-7"];
    let (code, stdout, _) = equiv(&[&[a.as_str(), &b], &flags[..], &more[..]].concat());
    assert_eq!(code, Some(0), "{stdout}");
    // A flag overrides the file's bound for its field.
    let (code, stdout, _) = equiv(&[&tolerant, &b, "--payload-tolerance", "temperature=0"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("field 'temperature'") && stdout.contains("(tolerance abs 0e0)"), "{stdout}");

    // Trials: each pair's messages within the tolerance, the metrics (the
    // cloud's latencies among them) as distributions.
    let (code, stdout, stderr) = equiv(&[&tolerant, &b, "--trials", "5", "--test", "difference"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("messages: every pair of trials (trial i of A and of B) received the same (5 pairs)"));
    assert!(stdout.lines().any(|l| l.starts_with("cloud") && l.contains("latency_p50_us")), "{stdout}");
    let (code, stdout, _) = equiv(&[&a, &b, "--trials", "5", "--test", "difference", "--payloads", "json"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("messages: 5 of 5 pairs of trials received different ones"), "{stdout}");
    assert!(stdout.contains("; the messages of 5 of 5 trial pairs differ"), "{stdout}");
    assert!(stdout.contains("  trials a0 and b0: node '"), "{stdout}");
    // The comparison's page lists them too.
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("<h2>Messages of each pair of trials</h2>\n<p>5 of 5 pairs"), "the page says how many");
    assert!(page.contains("<table id=\"payload-differences\"") && page.contains("another payload: field"));

    // Bad tolerances are user errors, before anything runs.
    for (flags, named) in [
        (
            vec!["--payload-tolerance", "mean=-1"],
            "--payload-tolerance 'mean=-1': the abs tolerance must be a number >= 0",
        ),
        (vec!["--payload-tolerance", "mean=0,NaN"], "the rel tolerance must be a number >= 0; found NaN"),
        (vec!["--payload-tolerance", "mean"], "--payload-tolerance 'mean': a payload field is named by its keys"),
        (vec!["--payloads", "exact", "--payload-tolerance", "mean=1"], "--payload-tolerance with --payloads exact"),
    ] {
        let (code, _, stderr) = equiv(&[&[a.as_str(), &b], &flags[..]].concat());
        assert_eq!(code, Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(named), "{flags:?}: {stderr}");
    }
}
