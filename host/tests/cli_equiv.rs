//! `xedgesim equiv` as a user runs it: exit 0 when equivalent, 1 with the
//! first differences when not, 2 on a scenario or usage error.

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

    // Trials: distributions per metric, a verdict, and the result as JSON.
    let json = dir.path().join("result.json");
    let trials = xedgesim(
        &[
            "equiv",
            "scenarios/wasm_gateway.yaml",
            other.to_str().unwrap(),
            "--trials",
            "3",
            "--out",
            out.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
        Some(&cache),
    );
    let stdout = output_text(&trials.stdout);
    assert_eq!(trials.status.code(), Some(1), "{stdout}{}", output_text(&trials.stderr));
    assert!(stdout.contains("NOT equivalent over 3 trials per side"), "{stdout}");
    let line = stdout.lines().find(|l| l.starts_with("gateway") && l.contains("windows_closed")).unwrap_or_default();
    // 30 s in 5 s windows against 3 s windows, whatever the seed: 6 against 10.
    assert!(
        line.contains("6.0000 ± 0.0000") && line.contains("10.0000 ± 0.0000") && line.ends_with("DIFFERS"),
        "{line}"
    );
    let result: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(result["equivalent"], false);
    assert_eq!(result["trials"], 3);
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("<table id=\"metrics\"") && page.contains("6.0000 ± 0.0000") && page.contains("DIFFERS"));

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
